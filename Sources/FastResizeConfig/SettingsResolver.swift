// SettingsResolver: every setting from where it wins — command line > environment > config file > built-in default — and the batch they make.

import FastResize
import Foundation

/// A run's settings, resolved: the batch to run, and every value with where it came from.
public struct ResolvedSettings: Sendable {
    /// The config file read, and how it was found ("--config", "FASTRESIZE_CONFIG", …).
    public var config: ConfigSettings?
    public var configFoundBy: String?
    /// The profile in use, if any.
    public var profile: String?
    /// The run's settings that were given (built-in defaults are not listed).
    public var run: [String: Setting]
    /// Each output's settings that were given, one table per output.
    public var outputs: [[String: Setting]]
    /// The batch: `inputs` empty and `outputDirectory` the `output` setting (or empty) until the caller fills them.
    public var options: BatchOptions
    public var outputFolder: String?
    public var report: String?
    public var quiet: Bool
    public var verbose: Bool
    public var dryRun: Bool
    /// Where the job store is (--state, --no-state).
    public var state: StateLocation = .underOutput
    /// Make every file again, whatever the job store says is up to date (--force).
    public var force = false
    /// How long a claim on a file holds without renewal (--lease): a run that dies holds its
    /// files this long, where no process check can tell (another machine).
    public var leaseSeconds = 60.0
    /// Logs and metrics.
    public var observability = ObservabilitySettings()
    /// Whether the process and its decoding workers restrict themselves (--sandbox).
    public var sandbox = SandboxMode.auto
}

/// --sandbox: decoding workers and the run itself restricted to what they need (Landlock,
/// seccomp, no_new_privs).
public enum SandboxMode: String, Sendable, CaseIterable {
    /// Where the kernel offers it; a one-line notice where it does not.
    case auto
    /// Required: a run that cannot have it does not start (exit 2).
    case on
    case off
}

/// Where a run keeps its job store.
public enum StateLocation: Sendable, Equatable {
    /// `OUTPUT/.fastresize/state.db` (hidden, so no walk takes it for an input).
    case underOutput
    /// A file named by --state.
    case file(String)
    /// A PostgreSQL database named by --state postgres://…, shared by runs and workers on many machines.
    case postgres(String)
    /// None (--no-state): nothing is remembered between runs.
    case none

    public static let defaultPath = ".fastresize/state.db"

    /// The store's file for outputs in `outputFolder`, or its PostgreSQL address; nil without a store.
    public func path(outputFolder: String) -> String? {
        switch self {
        case .underOutput: (outputFolder.hasSuffix("/") ? outputFolder : outputFolder + "/") + Self.defaultPath
        case .file(let path), .postgres(let path): path
        case .none: nil
        }
    }

    /// Whether `text` names a PostgreSQL database rather than a file.
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }
}

public enum SettingsResolver {
    /// What a run is told, before anything is checked.
    public struct Sources: Sendable {
        /// Options given on the command line, by long name (flags given as `--x` or `--no-x`).
        public var commandLine: [String: SettingValue]
        /// Settings the command line clears (`--no-report`, `--no-profile`): whatever the
        /// environment or a config file gives them is dropped, leaving the built-in default.
        public var cleared: Set<String>
        public var environment: [String: String]
        /// Skip looking for a config file (an explicit --config or FASTRESIZE_CONFIG is still read).
        public var noConfig: Bool
        /// Where ./fastresize.toml is looked for.
        public var workingDirectory: String
        /// The formats outputs can be written in (the codecs'), for --format; empty takes any name.
        public var outputFormats: [ImageFormat]

        public init(commandLine: [String: SettingValue], cleared: Set<String> = [],
                    environment: [String: String] = ProcessInfo.processInfo.environment, noConfig: Bool = false, workingDirectory: String = FileManager.default.currentDirectoryPath,
                    outputFormats: [ImageFormat] = []) {
            self.commandLine = commandLine
            self.cleared = cleared
            self.environment = environment
            self.noConfig = noConfig
            self.workingDirectory = workingDirectory
            self.outputFormats = outputFormats
        }
    }

    /// The names a config file is looked for under in the working folder.
    public static let localNames = ["fastresize.toml", "fastresize.yaml", "fastresize.yml"]

    /// Where a config file is looked for, as messages say it.
    public static let searchedPlaces = localNames.map { "./" + $0 }.joined(separator: ", ")
        + ", then $XDG_CONFIG_HOME/fastresize/config.toml"

    /// Resolves every setting. `configFile`, when given, is read instead of looking for one.
    /// Without `requireSize`, an output that no one gave a size still has its other settings
    /// checked, and without `applyingProfile` the profile named is not used (`config check` shows
    /// the defaults every output starts from, then each profile on its own).
    public static func resolve(_ sources: Sources, configFile: String? = nil, requireSize: Bool = true,
                               applyingProfile: Bool = true) throws(UsageError) -> ResolvedSettings {
        let commandLine = Dictionary(uniqueKeysWithValues: sources.commandLine.map { name, value in
            (name, Setting(value: value, origin: .commandLine("--" + name)))
        })
        if let both = sources.cleared.first(where: { sources.commandLine[$0] != nil }) {
            throw UsageError("expected at most one of --\(both) and --no-\(both)")
        }
        let environment = try environmentSettings(sources.environment).filter { !sources.cleared.contains($0.key) }
        var config: ConfigSettings?
        var foundBy: String?
        if let configFile {
            config = try ConfigSettings(ConfigFile.load(configFile))
            foundBy = "named"
        } else if let (path, how) = try findConfig(commandLine: commandLine, environment: environment, sources: sources) {
            config = try ConfigSettings(ConfigFile.load(path))
            foundBy = how
        }
        let top = (config?.top ?? [:]).filter { !sources.cleared.contains($0.key) }
        // The run's settings: command line, then environment, then the top of the config file.
        var run = merged([commandLine, environment, top].map { $0.filter { SettingKey.named($0.key)?.scope != .output } })

        // The outputs: one from the command line, environment and config top, or a profile's.
        var outputLayers = [commandLine, environment].map { $0.filter { SettingKey.named($0.key)?.scope == .output } }
        let topOutput = top.filter { SettingKey.named($0.key)?.scope == .output }
        // A size and a profile are two answers to one question: the one set higher up wins (a
        // size on the command line is a one-off run beside a config file's profile, and a profile
        // on the command line overrides FASTRESIZE_FIT); both on one level is a mistake.
        if let chosen = run[SettingKey.profile.name] {
            let profileLevel = [commandLine, environment, top].firstIndex { $0[SettingKey.profile.name] != nil } ?? 2
            if let sizeLevel = outputLayers.firstIndex(where: choosesSize) {
                if sizeLevel < profileLevel {
                    run[SettingKey.profile.name] = nil
                } else if sizeLevel == profileLevel {
                    let given = SettingKey.modeNames.lazy.compactMap { outputLayers[sizeLevel][$0] }.first!
                    throw UsageError("\(given.place): not with \(chosen.place): each output of a profile sets its own size")
                } else {
                    outputLayers[sizeLevel] = outputLayers[sizeLevel].filter { !SettingKey.modeNames.contains($0.key) }
                }
            }
        }
        var outputs: [[String: Setting]] = []
        var places: [String] = []
        var profileName: String?
        if applyingProfile, let chosen = run[SettingKey.profile.name], case .text(let name) = chosen.value {
            guard let config else {
                throw UsageError("\(chosen.place): no config file to find profile \"\(name)\" in (looked for \(searchedPlaces))")
            }
            let profile = try config.profile(name, for: chosen)
            profileName = name
            for (index, own) in profile.outputs.enumerated() {
                outputs.append(merged(outputLayers + [own, profile.shared, topOutput]))
                places.append("\(config.file.path): profiles.\(name).outputs[\(index)]")
            }
        } else {
            outputs = [merged(outputLayers + [topOutput])]
            places = [""]
            if !requireSize && !choosesSize(outputs[0]) {
                outputs[0][SettingKey.scale.name] = Setting(value: .text("1"), origin: .builtIn)
            }
        }

        var settings: [ResizeSettings] = []
        for (values, place) in zip(outputs, places) {
            settings.append(try resizeSettings(values, place: place, formats: sources.outputFormats))
        }
        try checkNames(settings, places: places)
        var resolved = try batch(run: run, outputs: outputs, settings: settings, config: config, foundBy: foundBy, profile: profileName,
                                 environment: sources.environment)
        if sources.cleared.contains(SettingKey.state.name) {
            resolved.state = .none
        } else if let path = try Reader(values: run).value(.state, { text, option throws(UsageError) in
            guard !text.isEmpty else { throw .expected("a file for the job store", for: option, got: text) }
            return text
        }) {
            resolved.state = StateLocation.isPostgres(path) ? .postgres(path) : .file(path)
        }
        resolved.force = Reader(values: run).flag(.force) ?? false
        if let lease = try Reader(values: run).value(.lease, { text, option throws(UsageError) -> Double in
            let seconds = try OptionParsing.positiveNumber(text, for: option)
            guard seconds >= 1 else { throw .expected("at least 1 second", for: option, got: text) }
            try OptionParsing.atMost(seconds, 86_400, text, for: option)
            return seconds
        }) {
            resolved.leaseSeconds = lease
        }
        return resolved
    }

    /// Layers of settings merged, highest first: the first layer that sets a key wins, except
    /// that the size (scale, width, height, fit, fill) is taken whole from the first layer that
    /// chooses one.
    private static func merged(_ layers: [[String: Setting]]) -> [String: Setting] {
        var result: [String: Setting] = [:]
        for layer in layers.reversed() {
            result.merge(layer.filter { !SettingKey.modeNames.contains($0.key) }) { _, higher in higher }
        }
        if let sized = layers.first(where: choosesSize) {
            for name in SettingKey.modeNames { result[name] = sized[name] }
        }
        return result
    }

    private static func choosesSize(_ layer: [String: Setting]) -> Bool {
        SettingKey.modeNames.contains { layer[$0] != nil }
    }

    /// Variables that start with FASTRESIZE_ but set no setting: the test suite's, the fuzzer's and
    /// the benchmarks' (FASTRESIZE_TEST_WATCH_LIMIT: the inotify watches a watch may take, to run
    /// out in a test; FASTRESIZE_BENCH_DIR: where bench/ puts its scratch folders;
    /// FASTRESIZE_BENCH_NO_RENDER: bench/queue.py's runs that render nothing).
    static let otherVariables: Set = ["FASTRESIZE_BINARY", "FASTRESIZE_CORPUS", "FASTRESIZE_BENCH_DIR", "FASTRESIZE_BENCH_NO_RENDER", "FASTRESIZE_FUZZ", "FASTRESIZE_TEST_WATCH_LIMIT",
                                      "FASTRESIZE_TEST_HOOKS", "FASTRESIZE_TEST_RUN_PROBE", "FASTRESIZE_KERNELS"]

    /// FASTRESIZE_* variables for the known settings (an empty variable counts as unset). Any
    /// other FASTRESIZE_ variable is a mistake, as an unknown key in a config file is: a typo must
    /// not leave a setting silently at its default.
    private static func environmentSettings(_ environment: [String: String]) throws(UsageError) -> [String: Setting] {
        let known = Set(SettingKey.all.map(\.environmentName)).union(otherVariables)
        for variable in environment.keys.sorted() where variable.hasPrefix("FASTRESIZE_") && !known.contains(variable) {
            let name = variable.dropFirst("FASTRESIZE_".count).lowercased().replacingOccurrences(of: "_", with: "-")
            let hint = SettingKey.suggestion(for: name).flatMap(SettingKey.named).map { " (did you mean \($0.environmentName)?)" } ?? ""
            throw UsageError("\(variable): no such setting\(hint)")
        }
        var settings: [String: Setting] = [:]
        for key in SettingKey.all {
            guard let text = environment[key.environmentName], !text.isEmpty else { continue }
            let origin = SettingOrigin.environment(key.environmentName)
            switch key.kind {
            case .value:
                settings[key.name] = Setting(value: .text(text), origin: origin)
            case .list:
                settings[key.name] = Setting(value: .list(text.split(separator: ":").map(String.init)), origin: origin,
                                             shown: "\"\(text)\"")
            case .flag:
                switch text.lowercased() {
                case "1", "true", "yes", "on": settings[key.name] = Setting(value: .flag(true), origin: origin)
                case "0", "false", "no", "off": settings[key.name] = Setting(value: .flag(false), origin: origin)
                default:
                    throw UsageError("\(key.environmentName): expected 1, true, yes or on (or 0, false, no, off), got \"\(text)\"")
                }
            }
        }
        return settings
    }

    /// The config file to read: --config, else FASTRESIZE_CONFIG, else ./fastresize.toml or
    /// ./fastresize.yaml, else $XDG_CONFIG_HOME/fastresize/config.toml (or .yaml); nil when none.
    private static func findConfig(commandLine: [String: Setting], environment: [String: Setting],
                                   sources: Sources) throws(UsageError) -> (path: String, foundBy: String)? {
        for layer in [commandLine, environment] {
            if let setting = layer[SettingKey.config.name], case .text(let path) = setting.value { return (path, setting.place) }
        }
        if sources.noConfig { return nil }
        let present = localNames.filter {
            FileManager.default.fileExists(atPath: (sources.workingDirectory as NSString).appendingPathComponent($0))
        }
        if present.count > 1 {
            throw UsageError("both " + present.map { "./" + $0 }.joined(separator: " and ")
                             + " are here: say which to read with --config")
        }
        if let local = present.first { return ((sources.workingDirectory as NSString).appendingPathComponent(local), "the working folder") }
        let variables = sources.environment
        let base = variables["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((variables["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".config")
        for name in ["config.toml", "config.yaml", "config.yml"] {
            let path = ((base as NSString).appendingPathComponent("fastresize") as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { return (path, "$XDG_CONFIG_HOME") }
        }
        return nil
    }

    /// One output's settings checked and turned into `ResizeSettings`. `place` names the output
    /// of a profile in messages (empty for the command line's one output).
    static func resizeSettings(_ values: [String: Setting], place: String,
                               formats: [ImageFormat] = []) throws(UsageError) -> ResizeSettings {
        let read = Reader(values: values)
        let modes = SettingKey.modes.compactMap { key in values[key.name].map { (key, $0) } }
        guard modes.count == 1, let (mode, modeSetting) = modes.first, case .text(let text) = modeSetting.value else {
            if modes.isEmpty {
                throw UsageError(place.isEmpty ? "expected one of --scale, --width, --height, --fit or --fill (or --profile)"
                                               : "\(place): expected one of scale, width, height, fit or fill")
            }
            let given = modes.map(\.1.place).joined(separator: ", ")
            throw UsageError(place.isEmpty ? "expected exactly one of --scale, --width, --height, --fit or --fill but got \(given)"
                                           : "\(place): expected exactly one of scale, width, height, fit or fill but got \(given)")
        }
        if mode != .fill, let gravity = values[SettingKey.gravity.name], sameTable(gravity.origin, modeSetting.origin) {
            throw UsageError(place.isEmpty ? "expected --gravity only together with --fill"
                                           : "\(gravity.place): expected only together with fill")
        }
        let option = mode.option
        let resize: ResizeMode
        do {
            switch mode {
            case .scale: resize = .scale(try OptionParsing.scale(text, for: option))
            case .width: resize = .width(try OptionParsing.side(text, for: option))
            case .height: resize = .height(try OptionParsing.side(text, for: option))
            case .fit:
                let size = try OptionParsing.size(text, for: option)
                resize = .fit(width: size.width, height: size.height)
            default:
                let size = try OptionParsing.size(text, for: option)
                resize = .fill(width: size.width, height: size.height, gravity: .center)
            }
        } catch {
            throw modeSetting.relabel(error)
        }
        var settings = ResizeSettings(mode: resize, enlarge: read.flag(.enlarge) ?? false)
        if case .fill(let width, let height, _) = resize, let gravity: Gravity = try read.value(.gravity, OptionParsing.choice) {
            settings.mode = .fill(width: width, height: height, gravity: gravity)
        }
        if let filter: ResampleFilter = try read.value(.filter, OptionParsing.choice) { settings.filter = filter }
        if let format = try read.value(.format, { text, option throws(UsageError) in
            try outputFormat(text, for: option, among: formats)
        }) {
            settings.format = format
        }
        settings.quality = try read.value(.quality) { text, option throws(UsageError) in
            try OptionParsing.integer(text, in: 1...100, for: option)
        }
        settings.compressionLevel = try read.value(.compressionLevel) { text, option throws(UsageError) in
            try OptionParsing.integer(text, in: 0...9, for: option)
        }
        settings.progressive = read.flag(.progressive) ?? false
        let lossless = read.flag(.lossless) ?? false, lossy = read.flag(.lossy) ?? false
        if lossless && lossy {
            throw UsageError(place.isEmpty ? "expected at most one of --lossless and --lossy"
                                           : "\(place): expected at most one of lossless and lossy")
        }
        settings.lossless = lossless ? true : lossy ? false : nil
        if let background = try read.value(.background, OptionParsing.color) { settings.background = background }
        settings.autoOrient = read.flag(.autoOrient) ?? true
        settings.keepProfile = read.flag(.keepProfile) ?? false
        settings.keepMetadata = read.flag(.keepMetadata) ?? false
        settings.linear = read.flag(.linear) ?? false
        settings.firstFrameOnly = read.flag(.firstFrame) ?? false
        if let name = try read.value(.name, { text, option throws(UsageError) in
            do throws(NameTemplate.Invalid) {
                return try NameTemplate(text)
            } catch {
                throw .expected(error.expected, for: option, got: text)
            }
        }) {
            settings.nameTemplate = name
        }
        try matchFormatToName(&settings, values: values, formats: formats)
        return settings
    }

    /// A name that ends in a format's extension (`{stem}.png`) says the format: with `format =
    /// same` the outputs are written in it; with another format the two disagree, refused, so
    /// a file's bytes never contradict its extension.
    private static func matchFormatToName(_ settings: inout ResizeSettings, values: [String: Setting],
                                          formats: [ImageFormat]) throws(UsageError) {
        guard let ext = settings.nameTemplate.literalExtension?.lowercased(),
              let named = formats.first(where: { $0.fileExtension == ext || $0.rawValue == ext }) else { return }
        switch settings.format {
        case .same:
            settings.format = .fixed(named)
        case .fixed(let chosen) where chosen != named:
            let name = values[SettingKey.name.name]?.place ?? SettingKey.name.option
            let format = values[SettingKey.format.name]?.place ?? SettingKey.format.option
            throw UsageError("\(name) \"\(settings.nameTemplate.text)\" names \(named.displayName) files but \(format) "
                             + "is \(chosen.rawValue): use {ext} in the name, or the same format in both")
        case .fixed:
            break
        }
    }

    /// A format's name or its files' extension ("jpeg" or "jpg"), among `formats` (any name
    /// when none are given), or "same".
    private static func outputFormat(_ text: String, for option: String,
                                     among formats: [ImageFormat]) throws(UsageError) -> OutputFormatChoice {
        let key = text.lowercased()
        if key == "same" { return .same }
        guard !formats.isEmpty else { return .fixed(ImageFormat(rawValue: key)) }
        guard let chosen = formats.first(where: { $0.rawValue == key || $0.fileExtension == key }) else {
            throw .expected("one of \((formats.map(\.rawValue) + ["same"]).joined(separator: ", "))", for: option, got: text)
        }
        return .fixed(chosen)
    }

    /// Whether two settings were written side by side: on the command line, in the environment,
    /// or in the same table of a file below its top (at the top, `gravity` is a default for
    /// whichever output fills, so it may sit beside another size).
    private static func sameTable(_ a: SettingOrigin, _ b: SettingOrigin) -> Bool {
        func table(_ key: String) -> Substring? { key.lastIndex(of: ".").map { key[..<$0] } }
        switch (a, b) {
        case (.commandLine, .commandLine), (.environment, .environment): return true
        case (.config(let fileA, let keyA), .config(let fileB, let keyB)):
            guard fileA == fileB, let tableA = table(keyA), let tableB = table(keyB) else { return false }
            return tableA == tableB
        default: return false
        }
    }

    /// Refuses two outputs of a profile that would get the same name for every input.
    private static func checkNames(_ outputs: [ResizeSettings], places: [String]) throws(UsageError) {
        var seen: [String: Int] = [:]
        for (index, settings) in outputs.enumerated() {
            let format: (ext: String, name: String)
            switch settings.format {
            case .fixed(let fixed): format = (fixed.fileExtension, fixed.rawValue)
            case .same: format = ("{ext}", "{format}")
            }
            // Sizes known before any input is seen are filled in; others stand for themselves,
            // told apart by the resize that makes them.
            let symbol = "\(settings.mode)" + (settings.enlarge ? " enlarged" : "")
            var width = "{width of \(symbol)}", height = "{height of \(symbol)}"
            if case .width(let value) = settings.mode, settings.enlarge { width = String(value) }
            if case .height(let value) = settings.mode, settings.enlarge { height = String(value) }
            if case .fill(let w, let h, _) = settings.mode, settings.enlarge { (width, height) = (String(w), String(h)) }
            let pattern = settings.nameTemplate.pattern(fileExtension: format.ext, format: format.name, width: width, height: height)
            if let other = seen[pattern] {
                throw UsageError("\(places[index]) would be written to the same file as \(places[other]) (\(pattern)); "
                                 + "give them different names, e.g. name = \"{stem}-{width}.{ext}\"")
            }
            seen[pattern] = index
        }
    }

    /// The run's settings checked, and the batch they make.
    private static func batch(run: [String: Setting], outputs: [[String: Setting]], settings: [ResizeSettings],
                              config: ConfigSettings?, foundBy: String?, profile: String?,
                              environment: [String: String]) throws(UsageError) -> ResolvedSettings {
        let read = Reader(values: run)
        let folder: String? = try read.value(.output) { text, _ throws(UsageError) in text }
        var options = BatchOptions(inputs: [], outputDirectory: folder ?? "", outputs: settings,
                                   overwrite: read.flag(.overwrite) ?? false)
        // At most the largest side squared, so a pixel count times bytes and frames stays far from overflow.
        if let maxPixels = try read.value(.maxPixels, { text, option throws(UsageError) in
            try OptionParsing.integer(text, in: 1...(ResizeMode.largestSide * ResizeMode.largestSide), for: option)
        }) {
            options.maxPixels = maxPixels
        }
        if let jobs = try read.value(.jobs, { text, option throws(UsageError) in
            let jobs = try OptionParsing.positiveInteger(text, for: option)
            try OptionParsing.atMost(Double(jobs), Double(BatchOptions.maxJobs), text, for: option)
            return jobs
        }) {
            options.jobs = jobs
        }
        let caseSensitive = read.flag(.caseSensitive) ?? false
        options.include = read.list(.include).map { GlobPattern($0, caseSensitive: caseSensitive) }
        options.exclude = read.list(.exclude).map { GlobPattern($0, caseSensitive: caseSensitive) }
        options.followSymlinks = read.flag(.followSymlinks) ?? false
        options.fsync = read.flag(.fsync) ?? true
        options.prune = read.flag(.prune) ?? false
        if let limit = try read.value(.memoryLimit, { text, option throws(UsageError) in
            // Under a megabyte not even a thumbnail's rows fit: a typo (a unit left out), not a budget.
            let limit = try OptionParsing.byteSize(text, for: option)
            guard limit >= MemoryBudget.smallestLimit else { throw .expected("a size of at least 1M", for: option, got: text) }
            return limit
        }) {
            options.memoryLimit = limit
        }
        if let timeout = try read.value(.timeout, { text, option throws(UsageError) -> Double? in
            guard Double(text.trimmingCharacters(in: .whitespaces)) != 0 else { return nil }
            let seconds = try OptionParsing.positiveNumber(text, for: option)
            try OptionParsing.atMost(seconds, BatchOptions.longestTimeout, text, for: option)
            return seconds
        }) {
            options.timeout = timeout
        }
        if let retries = try read.value(.retries, { text, option throws(UsageError) in
            let retries = try OptionParsing.integer(text, in: 0...100, for: option)
            return retries
        }) {
            options.retries = retries
        }
        if let delay = try read.value(.retryDelay, { text, option throws(UsageError) -> Double in
            guard Double(text.trimmingCharacters(in: .whitespaces)) != 0 else { return 0 }
            let seconds = try OptionParsing.positiveNumber(text, for: option)
            try OptionParsing.atMost(seconds, 3600, text, for: option)
            return seconds
        }) {
            options.retryDelay = delay
        }
        options.shard = try read.value(.shard) { text, option throws(UsageError) in try shard(text, for: option, environment: environment) }
        if let isolation: IsolationMode = try read.value(.isolate, OptionParsing.choice) { options.isolation = isolation }
        if let failOn: FailOn = try read.value(.failOn, OptionParsing.choice) { options.failOn = failOn }
        let quiet = read.flag(.quiet) ?? false, verbose = read.flag(.verbose) ?? false
        if quiet && verbose { throw UsageError("expected at most one of --quiet and --verbose") }
        var resolved = ResolvedSettings(config: config, configFoundBy: foundBy, profile: profile, run: run, outputs: outputs,
                                        options: options, outputFolder: folder,
                                        report: try read.value(.report) { text, _ throws(UsageError) in text },
                                        quiet: quiet, verbose: verbose, dryRun: read.flag(.dryRun) ?? false)
        resolved.observability = try observability(read)
        if let sandbox: SandboxMode = try read.value(.sandbox, OptionParsing.choice) { resolved.sandbox = sandbox }
        return resolved
    }

    /// The array-job index variables `--shard auto/N` reads, in the order they are looked for.
    public static let shardIndexVariables = ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "SLURM_ARRAY_TASK_ID"]

    /// `K/N`, or `auto/N` with K from the array job's index: Kubernetes' Indexed Job, AWS Batch's
    /// array, Slurm's array (counted from its SLURM_ARRAY_TASK_MIN, which may be 1).
    static func shard(_ text: String, for option: String, environment: [String: String]) throws(UsageError) -> Shard {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[1]), count >= 1, count <= 1_000_000 else {
            throw .expected("K/N or auto/N, with N from 1 to 1000000 (such as 0/4)", for: option, got: text)
        }
        var index: Int
        if parts[0] == "auto" {
            guard let variable = shardIndexVariables.first(where: { environment[$0]?.isEmpty == false }) else {
                throw UsageError("\(option) \(text): none of \(shardIndexVariables.joined(separator: ", ")) is set, so the shard's "
                                 + "number is unknown (give it as \(option) K/\(count), or run as an array job)")
            }
            guard let value = Int(environment[variable]!) else {
                throw UsageError("\(option) \(text): \(variable) is \"\(environment[variable]!)\", not a number")
            }
            index = value
            if variable == "SLURM_ARRAY_TASK_ID", let first = environment["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) { index -= first }
            guard (0..<count).contains(index) else {
                throw UsageError("\(option) \(text): \(variable) makes this shard \(index), but shards of \(count) are 0 to \(count - 1)")
            }
        } else {
            guard let given = Int(parts[0]), (0..<count).contains(given) else {
                throw .expected("K/N with 0 <= K < N (such as 0/\(count))", for: option, got: text)
            }
            index = given
        }
        return Shard(index: index, count: count)
    }

    private static func observability(_ read: Reader) throws(UsageError) -> ObservabilitySettings {
        var settings = ObservabilitySettings()
        if let format: ObservabilitySettings.LogFormat = try read.value(.logFormat, OptionParsing.choice) { settings.logFormat = format }
        if let level: ObservabilitySettings.LogLevel = try read.value(.logLevel, OptionParsing.choice) {
            settings.logLevel = level
            settings.logLevelGiven = true
        }
        settings.logFile = try read.value(.logFile) { text, _ throws(UsageError) in text }
        settings.metricsListen = try read.value(.metricsListen) { text, option throws(UsageError) in
            try ListenAddress(parsing: text, for: option)
        }
        settings.metricsFile = try read.value(.metricsFile) { text, _ throws(UsageError) in text }
        return settings
    }

    /// Typed reads of a table of settings; a bad value's message says where it came from.
    private struct Reader {
        let values: [String: Setting]

        func value<T>(_ key: SettingKey, _ parse: (String, String) throws(UsageError) -> T) throws(UsageError) -> T? {
            guard let setting = values[key.name], case .text(let text) = setting.value else { return nil }
            do {
                return try parse(text, key.option)
            } catch {
                throw setting.relabel(error)
            }
        }

        func flag(_ key: SettingKey) -> Bool? {
            guard let setting = values[key.name], case .flag(let on) = setting.value else { return nil }
            return on
        }

        func list(_ key: SettingKey) -> [String] {
            guard let setting = values[key.name], case .list(let items) = setting.value else { return [] }
            return items
        }
    }
}
