// SettingKeys: every setting by its long option name — what it takes, where it may be set, its environment variable.

import FastResize
import Foundation

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
    /// What the setting is when nothing sets it, as `config check` shows it (nil: nothing to show).
    public let defaultText: String?

    /// A flag is off unless its row says otherwise.
    init(name: String, kind: Kind, scope: Scope, default defaultText: String? = nil) {
        self.name = name
        self.kind = kind
        self.scope = scope
        self.defaultText = defaultText ?? (kind == .flag ? "false" : nil)
    }

    /// `FASTRESIZE_` and the name in capitals, dashes as underscores.
    public var environmentName: String {
        "FASTRESIZE_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    public var option: String { "--" + name }

    /// The keys that choose the resize; an output takes exactly one of them (with `gravity` for `fill`).
    public static let modes: [SettingKey] = [.scale, .width, .height, .fit, .fill]
    public static let modeNames = modes.map(\.name)

    // Each setting, by the name it goes by everywhere; the resolver reads them by these members.
    // What each output looks like.
    public static let scale = SettingKey(name: "scale", kind: .value, scope: .output)
    public static let width = SettingKey(name: "width", kind: .value, scope: .output)
    public static let height = SettingKey(name: "height", kind: .value, scope: .output)
    public static let fit = SettingKey(name: "fit", kind: .value, scope: .output)
    public static let fill = SettingKey(name: "fill", kind: .value, scope: .output)
    public static let gravity = SettingKey(name: "gravity", kind: .value, scope: .output, default: "center")
    public static let enlarge = SettingKey(name: "enlarge", kind: .flag, scope: .output)
    public static let filter = SettingKey(name: "filter", kind: .value, scope: .output, default: "lanczos3")
    public static let format = SettingKey(name: "format", kind: .value, scope: .output, default: "same")
    public static let quality = SettingKey(name: "quality", kind: .value, scope: .output, default: "per format (JPEG 80, WebP 80, AVIF 50, JPEG XL 75)")
    public static let progressive = SettingKey(name: "progressive", kind: .flag, scope: .output)
    public static let lossless = SettingKey(name: "lossless", kind: .flag, scope: .output)
    public static let lossy = SettingKey(name: "lossy", kind: .flag, scope: .output)
    public static let compressionLevel = SettingKey(name: "compression-level", kind: .value, scope: .output, default: "5")
    public static let background = SettingKey(name: "background", kind: .value, scope: .output, default: "white")
    public static let autoOrient = SettingKey(name: "auto-orient", kind: .flag, scope: .output, default: "true")
    public static let keepProfile = SettingKey(name: "keep-profile", kind: .flag, scope: .output)
    public static let keepMetadata = SettingKey(name: "keep-metadata", kind: .flag, scope: .output)
    public static let linear = SettingKey(name: "linear", kind: .flag, scope: .output)
    public static let firstFrame = SettingKey(name: "first-frame", kind: .flag, scope: .output)
    public static let name = SettingKey(name: "name", kind: .value, scope: .output, default: NameTemplate.default.text)
    // The run.
    public static let output = SettingKey(name: "output", kind: .value, scope: .run, default: "(none)")
    public static let profile = SettingKey(name: "profile", kind: .value, scope: .run, default: "(none)")
    public static let jobs = SettingKey(name: "jobs", kind: .value, scope: .run, default: String(ProcessInfo.processInfo.activeProcessorCount))
    public static let memoryLimit = SettingKey(name: "memory-limit", kind: .value, scope: .run, default: "\(MemoryBudget.defaultLimit >> 20)M")
    public static let maxPixels = SettingKey(name: "max-pixels", kind: .value, scope: .run, default: String(FilePipeline.defaultMaxPixels))
    public static let failOn = SettingKey(name: "fail-on", kind: .value, scope: .run, default: FailOn.error.rawValue)
    public static let timeout = SettingKey(name: "timeout", kind: .value, scope: .run, default: String(Int(BatchOptions.defaultTimeout)))
    public static let retries = SettingKey(name: "retries", kind: .value, scope: .run, default: "2")
    public static let retryDelay = SettingKey(name: "retry-delay", kind: .value, scope: .run, default: "1")
    public static let isolate = SettingKey(name: "isolate", kind: .value, scope: .run, default: IsolationMode.auto.rawValue)
    public static let sandbox = SettingKey(name: "sandbox", kind: .value, scope: .run, default: SandboxMode.auto.rawValue)
    public static let overwrite = SettingKey(name: "overwrite", kind: .flag, scope: .run)
    public static let fsync = SettingKey(name: "fsync", kind: .flag, scope: .run, default: "true")
    public static let include = SettingKey(name: "include", kind: .list, scope: .run, default: "(every file)")
    public static let exclude = SettingKey(name: "exclude", kind: .list, scope: .run, default: "(none)")
    public static let caseSensitive = SettingKey(name: "case-sensitive", kind: .flag, scope: .run)
    public static let followSymlinks = SettingKey(name: "follow-symlinks", kind: .flag, scope: .run)
    public static let report = SettingKey(name: "report", kind: .value, scope: .run, default: "(none)")
    public static let quiet = SettingKey(name: "quiet", kind: .flag, scope: .run)
    public static let verbose = SettingKey(name: "verbose", kind: .flag, scope: .run)
    public static let dryRun = SettingKey(name: "dry-run", kind: .flag, scope: .run)
    public static let state = SettingKey(name: "state", kind: .value, scope: .run, default: "OUTPUT/\(StateLocation.defaultPath)")
    public static let force = SettingKey(name: "force", kind: .flag, scope: .run)
    public static let prune = SettingKey(name: "prune", kind: .flag, scope: .run)
    public static let shard = SettingKey(name: "shard", kind: .value, scope: .run, default: "(every input)")
    public static let lease = SettingKey(name: "lease", kind: .value, scope: .run, default: "60")
    public static let logFormat = SettingKey(name: "log-format", kind: .value, scope: .run, default: "text")
    public static let logLevel = SettingKey(name: "log-level", kind: .value, scope: .run, default: "info")
    public static let logFile = SettingKey(name: "log-file", kind: .value, scope: .run, default: "(standard error)")
    public static let metricsListen = SettingKey(name: "metrics-listen", kind: .value, scope: .run, default: "(none)")
    public static let metricsFile = SettingKey(name: "metrics-file", kind: .value, scope: .run, default: "(none)")
    // Which config file.
    public static let config = SettingKey(name: "config", kind: .value, scope: .locator)

    /// Every setting: the one list the command line (checked against it by a test), config files,
    /// the environment and `config check` go by.
    public static let all: [SettingKey] = [
        .scale, .width, .height, .fit, .fill, .gravity, .enlarge, .filter, .format, .quality, .progressive,
        .lossless, .lossy, .compressionLevel, .background, .autoOrient, .keepProfile, .keepMetadata, .linear,
        .firstFrame, .name, .output, .profile, .jobs, .memoryLimit, .maxPixels, .failOn, .timeout, .retries, .retryDelay, .isolate, .sandbox,
        .overwrite, .fsync, .include, .exclude, .caseSensitive, .followSymlinks, .report, .quiet, .verbose, .dryRun, .state, .force, .prune, .shard, .lease,
        .logFormat, .logLevel, .logFile, .metricsListen, .metricsFile, .config,
    ]

    public static func named(_ name: String) -> SettingKey? {
        all.first { $0.name == name }
    }

    /// The known name closest to a misspelt one (at most two edits away), for "did you mean".
    public static func suggestion(for name: String, among names: [String] = all.map(\.name)) -> String? {
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
    public var place: String { origin.description }
}
