// SettingKeys: every setting by its long option name — what it takes, where it may be set, its environment variable.

import FastResize

/// One setting: the same name on the command line (`--name`), in a config file (`name = …`) and
/// in the environment (`FASTRESIZE_NAME`).
public struct SettingKey: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Takes a value (text, a number).
        case value
        /// On or off: `--x` / `--no-x`, `x = true`, `FASTRESIZE_X=1`.
        case flag
        /// Repeatable: `--x a --x b`, `x = ["a", "b"]`, `FASTRESIZE_X=a:b`.
        case list
    }

    public enum Scope: Sendable, Equatable {
        /// Shapes one output: may be set for every output (top of a config file), for a profile,
        /// or for one output of a profile.
        case output
        /// Applies to the whole run: the top of a config file, the environment, the command line.
        case run
        /// Says which config file to read: the command line and the environment only.
        case locator
    }

    public let name: String
    public let kind: Kind
    public let scope: Scope

    /// `FASTRESIZE_` and the name in capitals, dashes as underscores.
    public var environmentName: String {
        "FASTRESIZE_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    public var option: String { "--" + name }

    /// The keys that choose the resize; an output takes exactly one of them (with `gravity` for `fill`).
    public static let modeNames = ["scale", "width", "height", "fit", "fill"]

    public static let all: [SettingKey] = [
        // What each output looks like.
        .init(name: "scale", kind: .value, scope: .output),
        .init(name: "width", kind: .value, scope: .output),
        .init(name: "height", kind: .value, scope: .output),
        .init(name: "fit", kind: .value, scope: .output),
        .init(name: "fill", kind: .value, scope: .output),
        .init(name: "gravity", kind: .value, scope: .output),
        .init(name: "enlarge", kind: .flag, scope: .output),
        .init(name: "filter", kind: .value, scope: .output),
        .init(name: "format", kind: .value, scope: .output),
        .init(name: "quality", kind: .value, scope: .output),
        .init(name: "progressive", kind: .flag, scope: .output),
        .init(name: "lossless", kind: .flag, scope: .output),
        .init(name: "lossy", kind: .flag, scope: .output),
        .init(name: "compression-level", kind: .value, scope: .output),
        .init(name: "background", kind: .value, scope: .output),
        .init(name: "auto-orient", kind: .flag, scope: .output),
        .init(name: "keep-profile", kind: .flag, scope: .output),
        .init(name: "keep-metadata", kind: .flag, scope: .output),
        .init(name: "linear", kind: .flag, scope: .output),
        .init(name: "first-frame", kind: .flag, scope: .output),
        .init(name: "name", kind: .value, scope: .output),
        // The run.
        .init(name: "output", kind: .value, scope: .run),
        .init(name: "profile", kind: .value, scope: .run),
        .init(name: "jobs", kind: .value, scope: .run),
        .init(name: "memory-limit", kind: .value, scope: .run),
        .init(name: "max-pixels", kind: .value, scope: .run),
        .init(name: "fail-on", kind: .value, scope: .run),
        .init(name: "timeout", kind: .value, scope: .run),
        .init(name: "isolate", kind: .value, scope: .run),
        .init(name: "overwrite", kind: .flag, scope: .run),
        .init(name: "fsync", kind: .flag, scope: .run),
        .init(name: "include", kind: .list, scope: .run),
        .init(name: "exclude", kind: .list, scope: .run),
        .init(name: "follow-symlinks", kind: .flag, scope: .run),
        .init(name: "report", kind: .value, scope: .run),
        .init(name: "quiet", kind: .flag, scope: .run),
        .init(name: "verbose", kind: .flag, scope: .run),
        .init(name: "dry-run", kind: .flag, scope: .run),
        // Which config file.
        .init(name: "config", kind: .value, scope: .locator),
    ]

    public static func named(_ name: String) -> SettingKey? {
        all.first { $0.name == name }
    }

    /// The known name closest to a misspelt one (at most two edits away), for "did you mean".
    static func suggestion(for name: String, among names: [String] = all.map(\.name)) -> String? {
        names.map { ($0, editDistance($0, name)) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// A setting's value as given, before it is checked.
public enum SettingValue: Sendable, Equatable {
    case text(String)
    case flag(Bool)
    case list([String])

    /// As shown by `config check`.
    var display: String {
        switch self {
        case .text(let text): text
        case .flag(let on): on ? "true" : "false"
        case .list(let items): items.isEmpty ? "(none)" : items.joined(separator: ", ")
        }
    }
}

/// Where a setting's value came from, in the order they win.
public enum SettingOrigin: Sendable, Equatable, CustomStringConvertible {
    case commandLine(String)
    case environment(String)
    case config(file: String, key: String)
    case builtIn

    public var description: String {
        switch self {
        case .commandLine(let option): option
        case .environment(let variable): variable
        case .config(let file, let key): "\(file): \(key)"
        case .builtIn: "default"
        }
    }
}

/// A value and where it came from; `shown` is how it was written, for messages.
public struct Setting: Sendable, Equatable {
    public var value: SettingValue
    public var origin: SettingOrigin
    public var shown: String

    public init(value: SettingValue, origin: SettingOrigin, shown: String? = nil) {
        self.value = value
        self.origin = origin
        self.shown = shown ?? {
            if case .text(let text) = value { return "\"\(text)\"" }
            return value.display
        }()
    }

    /// `error` (about this setting's value) reworded for where the value came from: the command
    /// line keeps "expected … for --x but got …"; a variable or a config key leads its message.
    func relabel(_ error: UsageError) -> UsageError {
        guard let expectation = error.expectation else { return error }
        switch origin {
        case .commandLine, .builtIn: return error
        case .environment(let variable): return UsageError("\(variable): expected \(expectation), got \(shown)")
        case .config(let file, let key): return UsageError("\(file): \(key): expected \(expectation), got \(shown)")
        }
    }

    /// Where this setting is, for messages that are not about a value: "--x", "FILE: KEY", "FASTRESIZE_X".
    var place: String { origin.description }
}
