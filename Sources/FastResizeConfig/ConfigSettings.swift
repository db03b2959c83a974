// ConfigSettings: a config file's keys checked — known names, in places they may be set, of the right kind — and its profiles.

import FastResize

/// The settings of one config file: the top of the file and its named profiles.
public struct ConfigSettings: Sendable {
    /// One named list of outputs.
    public struct Profile: Sendable {
        public let name: String
        /// Settings shared by every output of the profile (`[profiles.NAME]` beside `outputs`).
        public let shared: [String: Setting]
        /// Each output's own settings, in the file's order.
        public let outputs: [[String: Setting]]
    }

    public let file: ConfigFile
    /// Run settings and defaults for every output.
    public let top: [String: Setting]
    public let profiles: [String: Profile]

    public init(_ file: ConfigFile) throws(UsageError) {
        self.file = file
        var top: [String: Setting] = [:]
        var profiles: [String: Profile] = [:]
        for key in file.root.keys.sorted() {
            let value = file.root[key]!
            guard key == "profiles" else {
                top[key] = try Self.setting(key, value, at: key, allowing: [.output, .run], in: file)
                continue
            }
            guard case .table(let table) = value else {
                throw UsageError("\(file.path): profiles: expected a table of named profiles, got \(value.shown)")
            }
            for name in table.keys.sorted() { profiles[name] = try Self.profile(name, table[name]!, in: file) }
        }
        self.top = top
        self.profiles = profiles
    }

    /// The profile called `name`, or an error listing those there are.
    public func profile(_ name: String, for setting: Setting) throws(UsageError) -> Profile {
        guard let profile = profiles[name] else {
            let known = profiles.keys.sorted()
            throw UsageError("\(setting.place): no profile \"\(name)\" in \(file.path) ("
                             + (known.isEmpty ? "it has none" : "it has " + known.joined(separator: ", ")) + ")")
        }
        return profile
    }

    private static func profile(_ name: String, _ value: ConfigValue, in file: ConfigFile) throws(UsageError) -> Profile {
        let path = "profiles.\(name)"
        guard case .table(let table) = value else {
            throw UsageError("\(file.path): \(path): expected a table holding outputs = [ … ], got \(value.shown)")
        }
        guard let outputsValue = table["outputs"] else {
            throw UsageError("\(file.path): \(path): expected outputs = [ … ], the profile's list of outputs")
        }
        guard case .list(let list) = outputsValue, !list.isEmpty else {
            throw UsageError("\(file.path): \(path).outputs: expected a list of one or more outputs, got \(outputsValue.shown)")
        }
        var shared: [String: Setting] = [:]
        for key in table.keys.sorted() where key != "outputs" {
            shared[key] = try setting(key, table[key]!, at: "\(path).\(key)", allowing: [.output], in: file)
        }
        var outputs: [[String: Setting]] = []
        for (index, item) in list.enumerated() {
            let at = "\(path).outputs[\(index)]"
            guard case .table(let entries) = item else {
                throw UsageError("\(file.path): \(at): expected a table of settings such as { width = 320, format = \"webp\" }, got \(item.shown)")
            }
            var output: [String: Setting] = [:]
            for key in entries.keys.sorted() {
                output[key] = try setting(key, entries[key]!, at: "\(at).\(key)", allowing: [.output], in: file)
            }
            outputs.append(output)
        }
        return Profile(name: name, shared: shared, outputs: outputs)
    }

    /// One `key = value` checked: a known setting, allowed here, of the right kind.
    private static func setting(_ name: String, _ value: ConfigValue, at path: String, allowing scopes: [SettingKey.Scope],
                                in file: ConfigFile) throws(UsageError) -> Setting {
        func failure(_ text: String) -> UsageError { UsageError("\(file.path): \(path): \(text)") }
        guard let key = SettingKey.named(name) else {
            let hint = SettingKey.suggestion(for: name).map { " (did you mean \($0)?)" } ?? ""
            throw failure("unknown setting\(hint)")
        }
        guard scopes.contains(key.scope) else {
            switch key.scope {
            case .locator: throw failure("a config file cannot name another; use --config or FASTRESIZE_CONFIG")
            default: throw failure("applies to the whole run, so it belongs at the top of the file, not in a profile")
            }
        }
        let origin = SettingOrigin.config(file: file.path, key: path)
        switch key.kind {
        case .flag:
            guard case .bool(let on) = value else { throw failure("expected true or false, got \(value.shown)") }
            return Setting(value: .flag(on), origin: origin, shown: value.shown)
        case .list:
            if case .string(let single) = value { return Setting(value: .list([single]), origin: origin, shown: value.shown) }
            guard case .list(let items) = value else { throw failure("expected a list of patterns, got \(value.shown)") }
            var patterns: [String] = []
            for item in items {
                guard case .string(let pattern) = item else { throw failure("expected a list of patterns, got \(item.shown) in it") }
                patterns.append(pattern)
            }
            return Setting(value: .list(patterns), origin: origin, shown: patterns.map { "\"\($0)\"" }.joined(separator: ", "))
        case .value:
            guard let text = value.optionText else { throw failure("expected a single value, got \(value.shown)") }
            return Setting(value: .text(text), origin: origin, shown: value.shown)
        }
    }
}
