// FastResizeCommand: the command line — options, validation, and turning them into a batch.

import ArgumentParser
import FastResize
import FastResizeCodecs
import Foundation

struct FastResizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fastresize",
        abstract: "Resize a tree of images, in parallel, with real filters.",
        discussion: """
        Give exactly one of --scale, --width, --height, --fit or --fill. Folders are walked \
        recursively and the output mirrors each file's path below its input folder.
        Exit codes: 0 every file written or skipped, 1 one or more files failed, 2 usage error, \
        130/143 stopped by SIGINT/SIGTERM.
        """,
        version: "0.1.0"
    )

    @Argument(help: ArgumentHelp("Image files and folders to resize.", valueName: "input"))
    var inputs: [String] = []

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Folder the outputs are written to.", valueName: "dir"))
    var output: String?

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

    @Flag(help: "Allow upscaling (by default an image already small enough keeps its size).")
    var enlarge = false

    @Option(help: ArgumentHelp("Resampling filter: nearest, bilinear, bicubic, mitchell, lanczos2, lanczos3 (default).", valueName: "name"))
    var filter: String?

    @Option(help: ArgumentHelp("Output format: jpeg, png, webp, avif, gif or same (default).", valueName: "format"))
    var format: String?

    @Option(help: ArgumentHelp("Quality 1-100 for JPEG (default 80), WebP (80) and AVIF (50).", valueName: "1..100"))
    var quality: String?

    @Flag(help: "Write progressive JPEG.")
    var progressive = false

    @Flag(help: "Write lossless WebP (default: lossless for graphics, lossy for photographs).")
    var lossless = false

    @Flag(help: "Write lossy WebP whatever the content.")
    var lossy = false

    @Option(help: ArgumentHelp("Colour transparent parts are flattened onto for outputs without alpha (JPEG): #RRGGBB, R,G,B or a name; default white.", valueName: "color"))
    var background: String?

    @Flag(name: .customLong("no-auto-orient"), help: "Keep pixels as stored instead of turning them upright by their EXIF orientation.")
    var noAutoOrient = false

    @Flag(name: .customLong("keep-profile"), help: "Keep the embedded colour profile and pixel values (by default they are converted to sRGB).")
    var keepProfile = false

    @Flag(name: .customLong("keep-metadata"), help: "Copy EXIF (orientation reset), XMP and the colour profile into the outputs.")
    var keepMetadata = false

    @Flag(help: "Resize in linear light (slower; truer on fine detail and high contrast).")
    var linear = false

    @Flag(name: .customLong("first-frame"), help: "Write only the first frame of animated GIF and WebP.")
    var firstFrame = false

    @Option(name: .customLong("compression-level"), help: ArgumentHelp("PNG zlib level 0-9 (default 6).", valueName: "0..9"))
    var compressionLevel: String?

    @Option(name: .customLong("memory-limit"), help: ArgumentHelp("Memory for decoded pictures across all files at once, e.g. 512M or 2G (default: a quarter of RAM, at most 2G).", valueName: "size"))
    var memoryLimit: String?

    @Option(name: .customLong("max-pixels"), help: ArgumentHelp("Refuse inputs with more pixels than N, from their header (default 268402689 = 16383²).", valueName: "N"))
    var maxPixels: String?

    @Option(help: ArgumentHelp("Give up a file that takes longer than this many seconds (default 120; 0 for no limit).", valueName: "seconds"))
    var timeout: String?

    @Option(help: ArgumentHelp("Decode in separate worker processes, so a codec crash fails one file: auto (TIFF, HEIF, AVIF; the default), all or none.", valueName: "mode"))
    var isolate: String?

    /// Internal: serve as an isolated worker for the fastresize process that started this one.
    @Flag(help: ArgumentHelp(visibility: .private))
    var worker = false

    @Option(help: ArgumentHelp("Output file name: {stem} {ext} {srcext} {width} {height} {format}; default \"{stem}.{ext}\".", valueName: "template"))
    var name: String?

    @Flag(help: "Replace existing outputs (by default they are kept and reported as skipped).")
    var overwrite = false

    @Option(name: [.short, .customLong("jobs")], help: ArgumentHelp("Files processed at once (default: all cores).", valueName: "N"))
    var jobs: String?

    @Option(help: ArgumentHelp("Only files matching this glob, relative to the input folder (repeatable).", valueName: "glob"))
    var include: [String] = []

    @Option(help: ArgumentHelp("Skip files matching this glob, relative to the input folder (repeatable).", valueName: "glob"))
    var exclude: [String] = []

    @Flag(name: .customLong("follow-symlinks"), help: "Follow symbolic links while walking folders.")
    var followSymlinks = false

    @Flag(name: .customLong("dry-run"), help: "Say what would be written; write nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Write a JSON report of every file to this path.", valueName: "file"))
    var report: String?

    @Flag(name: .shortAndLong, help: "Print only errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print a line for every file.")
    var verbose = false

    /// Filled in by `validate()`: the batch this command line describes.
    var batch: BatchOptions?

    enum CodingKeys: String, CodingKey {
        case inputs, output, scale, width, height, fit, fill, gravity, enlarge, filter, format, quality,
             progressive, lossless, lossy, background, noAutoOrient, keepProfile, keepMetadata, linear, firstFrame,
             compressionLevel, memoryLimit, maxPixels, timeout, isolate, worker, name, overwrite, jobs, include, exclude,
             followSymlinks, dryRun, report, quiet, verbose
    }

    mutating func validate() throws {
        do {
            batch = try makeBatch()
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// Checks every option and builds the batch, before any file is touched.
    func makeBatch() throws(UsageError) -> BatchOptions {
        guard !inputs.isEmpty else { throw UsageError("expected at least one input file or folder") }
        guard let output, !output.isEmpty else { throw UsageError("expected an output folder for -o/--output") }
        if quiet && verbose { throw UsageError("expected at most one of --quiet and --verbose") }

        let given = [("--scale", scale), ("--width", width), ("--height", height), ("--fit", fit), ("--fill", fill)]
            .filter { $0.1 != nil }
        guard given.count == 1, let (option, value) = given.first, let text = value else {
            let names = given.map(\.0).joined(separator: ", ")
            throw UsageError(given.isEmpty
                ? "expected one of --scale, --width, --height, --fit or --fill"
                : "expected exactly one of --scale, --width, --height, --fit or --fill but got \(names)")
        }
        if gravity != nil && fill == nil { throw UsageError("expected --gravity only together with --fill") }
        let mode: ResizeMode
        switch option {
        case "--scale": mode = .scale(try OptionParsing.positiveNumber(text, for: option))
        case "--width": mode = .width(try OptionParsing.positiveInteger(text, for: option))
        case "--height": mode = .height(try OptionParsing.positiveInteger(text, for: option))
        case "--fit":
            let size = try OptionParsing.size(text, for: option)
            mode = .fit(width: size.width, height: size.height)
        default:
            let size = try OptionParsing.size(text, for: option)
            let gravity: Gravity = try gravity.map { (g) throws(UsageError) in try OptionParsing.choice(g, for: "--gravity") } ?? .center
            mode = .fill(width: size.width, height: size.height, gravity: gravity)
        }

        var settings = ResizeSettings(mode: mode, enlarge: enlarge)
        if let filter { settings.filter = try OptionParsing.choice(filter, for: "--filter") }
        if let format {
            if format.lowercased() == "same" {
                settings.format = .same
            } else {
                let names = ImageFormat.outputFormats.map(\.rawValue)
                let aliases = ["jpg": "jpeg"]
                let key = aliases[format.lowercased()] ?? format.lowercased()
                guard names.contains(key), let chosen = ImageFormat(rawValue: key) else {
                    throw .expected("one of \((names + ["same"]).joined(separator: ", "))", for: "--format", got: format)
                }
                settings.format = .fixed(chosen)
            }
        }
        if let quality { settings.encoding.quality = try OptionParsing.integer(quality, in: 1...100, for: "--quality") }
        if let compressionLevel {
            settings.encoding.compressionLevel = try OptionParsing.integer(compressionLevel, in: 0...9, for: "--compression-level")
        }
        settings.encoding.progressive = progressive
        if lossless && lossy { throw UsageError("expected at most one of --lossless and --lossy") }
        settings.encoding.lossless = lossless
        settings.webpLossless = lossless ? true : lossy ? false : nil
        if let background { settings.background = try OptionParsing.color(background, for: "--background") }
        settings.autoOrient = !noAutoOrient
        settings.keepProfile = keepProfile
        settings.keepMetadata = keepMetadata
        settings.linear = linear
        settings.firstFrameOnly = firstFrame
        if let name { settings.nameTemplate = try NameTemplate(name) }
        if let maxPixels { settings.maxPixels = try OptionParsing.positiveInteger(maxPixels, for: "--max-pixels") }

        var batch = BatchOptions(inputs: inputs, outputDirectory: output, settings: settings, overwrite: overwrite)
        if let jobs { batch.jobs = try OptionParsing.positiveInteger(jobs, for: "--jobs") }
        batch.include = include.map(GlobPattern.init)
        batch.exclude = exclude.map(GlobPattern.init)
        batch.followSymlinks = followSymlinks
        if let memoryLimit { batch.memoryLimit = try OptionParsing.byteSize(memoryLimit, for: "--memory-limit") }
        if let timeout {
            batch.timeout = Double(timeout.trimmingCharacters(in: .whitespaces)) == 0
                ? nil : try OptionParsing.positiveNumber(timeout, for: "--timeout")
        }
        if let isolate { batch.isolation = try OptionParsing.choice(isolate, for: "--isolate") }
        // Workers are this same program with the same options, plus --worker.
        batch.workerCommand = [Self.executablePath] + CommandLine.arguments.dropFirst() + ["--worker"]
        return batch
    }

    /// This program's own file, for starting workers (argv[0] may be relative or a bare name).
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Runs the batch and returns the process exit code.
    func execute() -> Int32 {
        guard let batch else { return 2 }
        let runner = BatchRunner(options: batch, codecs: Codecs.all)
        if worker {
            runner.serveWorker()
            return 0
        }
        let console = Console(quiet: quiet, verbose: verbose)
        // From before planning: a signal while headers are read stops the run before any file starts.
        let control = BatchControl()
        let signals = Self.stopOnSignals(control, console: console)
        let planned = runner.plan()
        if dryRun {
            console.printPlan(planned)
            return planned.contains { if case .fail = $0.action { true } else { false } } ? 1 : 0
        }
        let result = runner.run(planned, control: control) { progress in console.update(progress) }
        signals.forEach { $0.cancel() }
        console.finish(result)
        if let report {
            do {
                try ReportWriter.write(result, to: report)
            } catch {
                console.error("\(report): cannot write report: \(error)")
                return 1
            }
        }
        return result.exitCode
    }
}

extension FastResizeCommand {
    /// SIGINT and SIGTERM stop the batch gently: no new file starts, files in flight finish (or
    /// reach --timeout), the summary is printed, and the exit code is 130 or 143. A second signal
    /// does not wait: temporaries are removed, workers killed, and the process exits at once.
    static func stopOnSignals(_ control: BatchControl, console: Console) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)     // delivered to the dispatch source instead
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if control.stoppedBy == nil {
                    control.stop(signal: number)
                    console.error("stopping: no new files start; files in flight finish (signal again to abandon them)")
                } else {
                    AtomicFile.removeInFlight()
                    WorkerPool.killAll()
                    console.error("stopped at once: files in flight abandoned, their temporaries removed")
                    _exit(128 + number)
                }
            }
            source.resume()
            return source
        }
    }
}

extension UsageError {
    var message: String { description }
}
