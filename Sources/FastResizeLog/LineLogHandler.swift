// LineLogHandler: swift-log's handler for FastResize — one line per record, as JSON (`ts`, `level`, `msg` and the fields) or as text.

import FastResize
import Foundation
import Logging

/// How a log line is written.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-12-03T06:30:00.123Z info in/a.jpg -> out/a.jpg … input=in/a.jpg status=written`
    case text
    /// `{"ts":"2026-12-03T06:30:00.123Z","level":"info","msg":"…","input":"in/a.jpg",…}`
    case json
}

/// Writes each record as one line to a destination. Field values keep their types in JSON
/// (numbers and booleans given as `.stringConvertible` stay numbers and booleans); every string,
/// a file name with bytes that are not UTF-8 or with control characters included, is a valid
/// JSON string (such bytes shown as `\xNN`, as the report shows them).
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let format: LogFormat
    public let destination: LogDestination

    public init(format: LogFormat, level: Logger.Level, destination: LogDestination) {
        self.format = format
        logLevel = level
        self.destination = destination
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let given = event.metadata { fields.merge(given) { _, new in new } }
        destination.write(line: Self.line(format: format, time: Self.timestamp(), level: event.level,
                                          message: event.message.description, fields: fields))
    }

    /// One record as a line.
    public static func line(format: LogFormat, time: String, level: Logger.Level, message: String,
                            fields: Logger.Metadata) -> String {
        let keys = fields.keys.sorted()
        switch format {
        case .json:
            var line = "{\"ts\":\(json(time)),\"level\":\(json(level.rawValue)),\"msg\":\(json(message))"
            for key in keys where !["ts", "level", "msg"].contains(key) { line += "," + json(key) + ":" + json(fields[key]!) }
            return line + "}"
        case .text:
            var line = "\(time) \(level.rawValue) " + FileSystemPath.shown(message, controls: true)
            for key in keys { line += " \(key)=" + text(fields[key]!) }
            return line
        }
    }

    /// Now, as RFC 3339 in UTC to the millisecond: `2026-12-03T06:30:00.123Z`.
    public static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), now.tv_nsec / 1_000_000)
    }

    static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): return json(string)
        case .stringConvertible(let value):
            switch value {
            case let flag as Bool: return flag ? "true" : "false"
            case let number as any BinaryInteger: return "\(number)"
            case let number as Double: return number.isFinite ? String(format: "%.3f", number).trimmedDecimal : "null"
            default: return json(value.description)
            }
        case .array(let values): return "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let values):
            return "{" + values.keys.sorted().map { json($0) + ":" + json(values[$0]!) }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped, bytes that are not
    /// UTF-8 shown as `\xNN` first.
    static func json(_ string: String) -> String {
        var out = "\""
        for scalar in FileSystemPath.shown(string).unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string):
            let shown = FileSystemPath.shown(string, controls: true)
            return shown.contains(" ") || shown.contains("\"") || shown.isEmpty ? json(string) : shown
        case .stringConvertible(let value):
            if let number = value as? Double, number.isFinite { return String(format: "%.3f", number).trimmedDecimal }
            return FileSystemPath.shown(value.description, controls: true)
        case .array, .dictionary: return json(value)
        }
    }
}

extension String {
    /// "12.500" as "12.5", "3.000" as "3".
    var trimmedDecimal: String {
        guard contains(".") else { return self }
        var text = self
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
