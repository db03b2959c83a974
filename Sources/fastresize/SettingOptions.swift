// SettingOptions: every setting as a command-line option — the run's and `config check`'s, read generically into the settings table's names.

import ArgumentParser
import FastResizeConfig

/// The options that are settings (`SettingKey`), shared by a run and by `config check` (which
/// shows where command-line settings win without running anything).
struct SettingOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Folder the outputs are written to.", valueName: "dir"))
    var output: String?

    @Option(help: ArgumentHelp("Make every output of this config profile from one decode of each input.", valueName: "name"))
    var profile: String?

    @Option(help: ArgumentHelp("Read settings from this TOML or YAML file.", valueName: "file"))
    var config: String?

    @Flag(help: "Do not look for a config file (one named by --config or FASTRESIZE_CONFIG is still read).")
    var noConfig = false

    @Option(help: ArgumentHelp("Multiply both sides by F (e.g. 0.5).", valueName: "F"))
    var scale: String?

    @Option(help: ArgumentHelp("Output width; the height keeps the aspect ratio.", valueName: "W"))
    var width: String?

    @Option(help: ArgumentHelp("Output height; the width keeps the aspect ratio.", valueName: "H"))
    var height: String?

    @Option(help: ArgumentHelp("Largest size that fits inside the box, aspect ratio kept.", valueName: "WxH"))
    var fit: String?

    @Option(help: ArgumentHelp("Cover the box and crop to exactly WxH.", valueName: "WxH"))
    var fill: String?

    @Option(help: ArgumentHelp("Which part --fill keeps: center, north, south, east, west, northeast, northwest, southeast, southwest.", valueName: "gravity"))
    var gravity: String?

    @Flag(inversion: .prefixedNo, help: "Allow upscaling (by default an image already small enough keeps its size).")
    var enlarge: Bool?

    @Option(help: ArgumentHelp("Resampling filter: nearest, bilinear, bicubic, mitchell, lanczos2, lanczos3 (default).", valueName: "name"))
    var filter: String?

    @Option(help: ArgumentHelp("Output format: jpeg, png, webp, avif, gif, jxl or same (default).", valueName: "format"))
    var format: String?

    @Option(help: ArgumentHelp("Quality 1-100 for JPEG (default 80), WebP (80), AVIF (50) and JPEG XL (75).", valueName: "1..100"))
    var quality: String?

    @Flag(inversion: .prefixedNo, help: "Write progressive JPEG.")
    var progressive: Bool?

    @Flag(inversion: .prefixedNo, help: "Write lossless WebP (default: lossless for graphics, lossy for photographs).")
    var lossless: Bool?

    @Flag(inversion: .prefixedNo, help: "Write lossy WebP whatever the content.")
    var lossy: Bool?

    @Option(help: ArgumentHelp("Colour transparent parts are flattened onto for outputs without alpha (JPEG): #RRGGBB, R,G,B or a name; default white.", valueName: "color"))
    var background: String?

    @Flag(inversion: .prefixedNo, help: "Turn pictures upright by their EXIF orientation (the default; --no-auto-orient keeps pixels as stored).")
    var autoOrient: Bool?

    @Flag(inversion: .prefixedNo, help: "Keep the embedded colour profile and pixel values (by default they are converted to sRGB).")
    var keepProfile: Bool?

    @Flag(inversion: .prefixedNo, help: "Copy EXIF (orientation reset), XMP and the colour profile into the outputs.")
    var keepMetadata: Bool?

    @Flag(inversion: .prefixedNo, help: "Resize in linear light (slower; truer on fine detail and high contrast).")
    var linear: Bool?

    @Flag(inversion: .prefixedNo, help: "Write only the first frame of animated GIF and WebP.")
    var firstFrame: Bool?

    @Option(help: ArgumentHelp("PNG zlib level 0-9 (default 6).", valueName: "0..9"))
    var compressionLevel: String?

    @Option(help: ArgumentHelp("Memory for decoded pictures across all files at once, e.g. 512M or 2G (default: a quarter of RAM, at most 2G).", valueName: "size"))
    var memoryLimit: String?

    @Option(help: ArgumentHelp("Refuse inputs with more pixels than N, from their header, and outputs that would have more (default 268402689 = 16383²).", valueName: "N"))
    var maxPixels: String?

    @Option(help: ArgumentHelp("Give up a file that takes longer than this many seconds (default 120; 0 for no limit).", valueName: "seconds"))
    var timeout: String?

    @Option(help: ArgumentHelp("Try a file again this many times when its failure may not recur (an I/O error, a timeout, a crashed worker); 0 for never (default 2).", valueName: "N"))
    var retries: String?

    @Option(help: ArgumentHelp("Seconds before the first retry, doubled for each one after, with jitter (default 1).", valueName: "seconds"))
    var retryDelay: String?

    @Option(help: ArgumentHelp("Damage that fails a file: none (draw truncated files as far as they go), truncated, error (the default) or warning (even damage a decoder recovers from).", valueName: "level"))
    var failOn: String?

    @Option(help: ArgumentHelp("Decode in separate worker processes, so a codec crash fails one file: auto (TIFF, HEIF, AVIF, JPEG XL; the default), all or none.", valueName: "mode"))
    var isolate: String?

    @Option(help: ArgumentHelp("Restrict the run and its decoding workers to what they need (Landlock, seccomp): auto (where the kernel can; the default), on (refuse to run without) or off.", valueName: "mode"))
    var sandbox: String?

    @Option(help: ArgumentHelp("Output file name: {stem} {ext} {srcext} {width} {height} {format}; default \"{stem}.{ext}\".", valueName: "template"))
    var name: String?

    @Flag(inversion: .prefixedNo, help: "Replace existing outputs (by default they are kept and reported as skipped).")
    var overwrite: Bool?

    @Flag(inversion: .prefixedNo, help: "Flush each output to disk before it takes its final name (the default; --no-fsync for scratch outputs).")
    var fsync: Bool?

    @Option(name: [.short, .long], help: ArgumentHelp("Files processed at once (default: all cores).", valueName: "N"))
    var jobs: String?

    @Option(help: ArgumentHelp("Only files matching this glob, relative to the input folder (repeatable; *.{jpg,jpeg}).", valueName: "glob"))
    var include: [String] = []

    @Option(help: ArgumentHelp("Skip files and folders matching this glob, relative to the input folder (repeatable).", valueName: "glob"))
    var exclude: [String] = []

    @Flag(inversion: .prefixedNo, help: "Match --include and --exclude with case (by default *.jpg matches IMG_1.JPG).")
    var caseSensitive: Bool?

    @Flag(inversion: .prefixedNo, help: "Follow symbolic links while walking folders.")
    var followSymlinks: Bool?

    @Flag(inversion: .prefixedNo, help: "Say what would be written; write nothing.")
    var dryRun: Bool?

    @Option(help: ArgumentHelp("Write a JSON report of every file to this path.", valueName: "file"))
    var report: String?

    @Option(help: ArgumentHelp("The job store that makes re-runs incremental and keeps history: an SQLite file (default: OUTPUT/.fastresize/state.db; --no-state for none) or postgres://user@host:port/db[?schema=NAME] for workers on several machines.", valueName: "file|url"))
    var state: String?

    @Flag(inversion: .prefixedNo, help: "Make every file again, even those the job store says are up to date.")
    var force: Bool?

    @Flag(inversion: .prefixedNo, help: "Remove the outputs FastResize wrote for inputs that are gone or no longer selected (the job store says which).")
    var prune: Bool?

    @Option(help: ArgumentHelp("Make only shard K of N of the inputs (a stable hash of each path below its input folder): N runs with K = 0…N-1 make every input once; auto/N takes K from an array job (JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, SLURM_ARRAY_TASK_ID).", valueName: "K/N"))
    var shard: String?

    @Option(help: ArgumentHelp("Seconds a claim on a file holds without renewal (default 60; renewed every third of it): a run or worker that dies on another machine holds its files this long.", valueName: "seconds"))
    var lease: String?

    @Flag(name: .shortAndLong, inversion: .prefixedNo, help: "Print only errors.")
    var quiet: Bool?

    @Flag(name: .shortAndLong, inversion: .prefixedNo, help: "Print a line for every file.")
    var verbose: Bool?

    @Option(help: ArgumentHelp("Log lines as text (what a person reads) or json (one object per line: ts, level, msg and the fields; no progress line).", valueName: "format"))
    var logFormat: String?

    @Option(help: ArgumentHelp("The least important records logged: trace, debug, info, notice, warning or error (default info; debug lists every file).", valueName: "level"))
    var logLevel: String?

    @Option(help: ArgumentHelp("Append log lines to this file instead of standard error; opened again on SIGHUP (for logrotate).", valueName: "file"))
    var logFile: String?

    @Option(help: ArgumentHelp("Serve /metrics (Prometheus), /livez, /readyz and /healthz on this address: HOST:PORT, or :PORT for loopback.", valueName: "address"))
    var metricsListen: String?

    @Option(help: ArgumentHelp("Write the final metrics to this file, at once, in Prometheus's text format (node_exporter's textfile collector).", valueName: "file"))
    var metricsFile: String?

    @OptionGroup var cleared: ClearedSettings

    /// The settings given on this command line, by their long names: every option that is a
    /// setting (`SettingKey`), read from the parsed properties themselves (ArgumentParser names
    /// each option after its property), so a setting added to the command cannot be left out here.
    var givenOptions: [String: SettingValue] {
        var given: [String: SettingValue] = [:]
        for child in Mirror(reflecting: self).children {
            guard let label = child.label, label.hasPrefix("_") else { continue }
            let name = Self.optionName(of: String(label.dropFirst()))
            guard SettingKey.named(name) != nil else { continue }
            switch child.value {
            case let option as Option<String?>: given[name] = option.wrappedValue.map(SettingValue.text)
            case let flag as Flag<Bool?>: given[name] = flag.wrappedValue.map(SettingValue.flag)
            case let list as Option<[String]>: given[name] = list.wrappedValue.isEmpty ? nil : .list(list.wrappedValue)
            default: continue
            }
        }
        return given
    }

    /// The long option ArgumentParser makes of a property's name: `memoryLimit` → `memory-limit`.
    static func optionName(of property: String) -> String {
        property.reduce(into: "") { name, character in
            if character.isUppercase { name += "-" + character.lowercased() } else { name.append(character) }
        }
    }

}

/// `--no-x` for each setting that takes a value: drops what the environment or a config file gives
/// it (a flag's own `--no-x` turns it off). Hidden from `--help`, which says so in one line.
struct ClearedSettings: ParsableArguments {
    @Flag(help: .hidden) var noOutput = false
    @Flag(help: .hidden) var noProfile = false
    @Flag(help: .hidden) var noScale = false
    @Flag(help: .hidden) var noWidth = false
    @Flag(help: .hidden) var noHeight = false
    @Flag(help: .hidden) var noFit = false
    @Flag(help: .hidden) var noFill = false
    @Flag(help: .hidden) var noGravity = false
    @Flag(help: .hidden) var noFilter = false
    @Flag(help: .hidden) var noFormat = false
    @Flag(help: .hidden) var noQuality = false
    @Flag(help: .hidden) var noBackground = false
    @Flag(help: .hidden) var noCompressionLevel = false
    @Flag(help: .hidden) var noMemoryLimit = false
    @Flag(help: .hidden) var noMaxPixels = false
    @Flag(help: .hidden) var noTimeout = false
    @Flag(help: .hidden) var noFailOn = false
    @Flag(help: .hidden) var noRetries = false
    @Flag(help: .hidden) var noRetryDelay = false
    @Flag(help: .hidden) var noIsolate = false
    @Flag(help: .hidden) var noSandbox = false
    @Flag(help: .hidden) var noName = false
    @Flag(help: .hidden) var noJobs = false
    @Flag(help: .hidden) var noInclude = false
    @Flag(help: .hidden) var noExclude = false
    @Flag(help: .hidden) var noReport = false
    @Flag(help: .hidden) var noShard = false
    @Flag(help: .hidden) var noLease = false
    @Flag(help: .hidden) var noLogFormat = false
    @Flag(help: .hidden) var noLogLevel = false
    @Flag(help: .hidden) var noLogFile = false
    @Flag(help: .hidden) var noMetricsListen = false
    @Flag(help: .hidden) var noMetricsFile = false
    @Flag(help: "Keep no job store: nothing is remembered between runs.") var noState = false

    /// The settings cleared, by name (read from the properties, as `givenOptions` reads the
    /// options: `noMemoryLimit` is ArgumentParser's `--no-memory-limit`, clearing `memory-limit`).
    var names: Set<String> {
        Set(Mirror(reflecting: self).children.compactMap { child in
            guard let label = child.label, label.hasPrefix("_"), (child.value as? Flag<Bool>)?.wrappedValue == true else { return nil }
            return String(SettingOptions.optionName(of: String(label.dropFirst())).dropFirst("no-".count))
        })
    }
}
