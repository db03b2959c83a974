// ConfigFile: a TOML or YAML configuration file read into one neutral tree; syntax errors name the file and the line.

import FastResize
import Foundation
internal import TOMLKit
internal import Yams

/// A value in a configuration file, whichever syntax it was written in.
public indirect enum ConfigValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case list([ConfigValue])
    case table([String: ConfigValue])

    /// The value as a user wrote it, for messages: strings quoted, lists and tables by kind.
    public var shown: String {
        switch self {
        case .string(let text): "\"\(text)\""
        case .integer(let value): String(value)
        case .number(let value): String(value)
        case .bool(let value): String(value)
        case .list: "a list"
        case .table: "a table"
        }
    }

    /// What the same setting says on the command line; nil for lists and tables.
    var optionText: String? {
        switch self {
        case .string(let text): text
        case .integer(let value): String(value)
        case .number(let value): String(value)
        case .bool(let value): String(value)
        case .list, .table: nil
        }
    }
}

/// A configuration file: its path and its top-level table.
public struct ConfigFile: Sendable {
    public enum Syntax: Sendable { case toml, yaml }

    public let path: String
    public let root: [String: ConfigValue]

    public init(path: String, root: [String: ConfigValue]) {
        self.path = path
        self.root = root
    }

    /// Reads `path` as TOML (.toml) or YAML (.yaml, .yml).
    public static func load(_ path: String) throws(UsageError) -> ConfigFile {
        let syntax: Syntax
        switch (path as NSString).pathExtension.lowercased() {
        case "toml": syntax = .toml
        case "yaml", "yml": syntax = .yaml
        default: throw UsageError("\(path): expected a config file ending in .toml, .yaml or .yml")
        }
        let bytes: Data
        do {
            bytes = try FilePipeline.readFile(path)
        } catch .unreadable(let reason) {
            throw UsageError("\(path): cannot read the config file: \(reason)")
        } catch {
            throw UsageError("\(path): cannot read the config file: \(error)")
        }
        guard let text = String(data: bytes, encoding: .utf8) else { throw UsageError("\(path): expected UTF-8 text") }
        return try parse(text, syntax: syntax, path: path)
    }

    public static func parse(_ text: String, syntax: Syntax, path: String) throws(UsageError) -> ConfigFile {
        switch syntax {
        case .toml:
            let table: TOMLTable
            do {
                table = try TOMLTable(string: text)
            } catch let error as TOMLParseError {
                let at = error.source.begin
                throw UsageError("\(path): line \(at.line), column \(at.column): \(error.description)")
            } catch {
                throw UsageError("\(path): \(error)")
            }
            guard case .table(let root) = value(table) else { throw UsageError("\(path): expected a table of settings") }
            return ConfigFile(path: path, root: root)
        case .yaml:
            let document: Any?
            do {
                document = try Yams.load(yaml: text)
            } catch {
                throw UsageError("\(path): \(String(describing: error).trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            // An empty file is an empty configuration.
            guard let document else { return ConfigFile(path: path, root: [:]) }
            guard case .table(let root) = try value(document, at: "", path: path) else {
                throw UsageError("\(path): expected a mapping of settings at the top of the file")
            }
            return ConfigFile(path: path, root: root)
        }
    }

    private static func value(_ node: any TOMLValueConvertible) -> ConfigValue {
        switch node.type {
        case .table:
            let table = node.table!
            return .table(Dictionary(uniqueKeysWithValues: table.keys.map { ($0, value(table[$0]!)) }))
        case .array: return .list(node.array!.map { value($0) })
        case .string: return .string(node.string!)
        case .int: return .integer(node.int!)
        case .double: return .number(node.double!)
        case .bool: return .bool(node.bool!)
        // Dates and times are no setting's value; kept as text, they fail where a value is read.
        default: return .string(node.tomlValue.debugDescription)
        }
    }

    private static func value(_ node: Any, at key: String, path: String) throws(UsageError) -> ConfigValue {
        switch node {
        case let value as Bool: return .bool(value)
        case let value as Int: return .integer(value)
        case let value as Double: return .number(value)
        case let value as String: return .string(value)
        case let list as [Any]:
            var values: [ConfigValue] = []
            for (index, element) in list.enumerated() { values.append(try value(element, at: "\(key)[\(index)]", path: path)) }
            return .list(values)
        case let mapping as [AnyHashable: Any]:
            var table: [String: ConfigValue] = [:]
            for (name, element) in mapping {
                let name = String(describing: name.base)
                table[name] = try value(element, at: key.isEmpty ? name : key + "." + name, path: path)
            }
            return .table(table)
        case is NSNull:
            throw UsageError("\(path): \(key): expected a value, got nothing")
        default:
            return .string(String(describing: node))
        }
    }
}
