// CommandLineTests: the fastresize binary run as a user or a script would, on files made for each case.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

/// Real encoded inputs, made with the project's encoders from synthetic pixels.
enum Inputs {
    static func jpeg(_ width: Int, _ height: Int) throws -> [UInt8] {
        try JPEGEncoder().encode(TestImages.smooth(width: width, height: height, format: .rgb), options: EncodeOptions(quality: 90))
    }

    static func png(_ width: Int, _ height: Int, alpha: Bool = false) throws -> [UInt8] {
        try PNGEncoder().encode(TestImages.pattern(width: width, height: height, format: alpha ? .rgba : .rgb), options: EncodeOptions())
    }

    static func bmp(_ width: Int, _ height: Int) -> [UInt8] {
        let row = [UInt8](repeating: 90, count: width * 3)
        return BMPWriter.make(width: width, height: height, bitsPerPixel: 24,
                              pixelData: BMPWriter.padRows(Array(repeating: row, count: height)))
    }
}

/// Decodes an output file with the project's decoders.
func decodeFile(_ path: String) throws -> PixelBuffer {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let format = try #require(Codecs.all.detect(data.prefix(64)), "\(path) is not an image")
    return try data.withUnsafeBytes { try Codecs.all.decoders[format]!.decode($0) }
}

func loadReport(_ path: String) throws -> BatchReport {
    try JSONDecoder().decode(BatchReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
}

@Suite struct UsageTests {
    static let cases: [([String], String)] = [
        (["in", "-o", "out"], "expected one of --scale, --width, --height, --fit or --fill"),
        (["in", "--width", "10"], "expected an output folder for -o/--output"),
        (["in", "-o", "out", "--width", "abc"], "expected a positive integer for --width but got \"abc\""),
        (["in", "-o", "out", "--width", "10", "--height", "10"],
         "expected exactly one of --scale, --width, --height, --fit or --fill but got --width, --height"),
        (["in", "-o", "out", "--fit", "10by10"], "expected WIDTHxHEIGHT with positive integers (e.g. 800x600) for --fit but got \"10by10\""),
        (["in", "-o", "out", "--scale=-1"], "expected a positive number for --scale but got \"-1\""),
        (["in", "-o", "out", "--width", "10", "--quality", "0"], "expected an integer from 1 to 100 for --quality but got \"0\""),
        (["in", "-o", "out", "--width", "10", "--format", "tiff"], "expected one of jpeg, png, webp, avif, gif, jxl, same for --format but got \"tiff\""),
        (["in", "-o", "out", "--width", "10", "--filter", "box"],
         "expected one of nearest, bilinear, bicubic, mitchell, lanczos2, lanczos3 for --filter but got \"box\""),
        (["in", "-o", "out", "--width", "10", "--gravity", "north"], "expected --gravity only together with --fill"),
        (["in", "-o", "out", "--fill", "10x10", "--gravity", "up"],
         "expected one of center, north, south, east, west, northeast, northwest, southeast, southwest for --gravity but got \"up\""),
        (["in", "-o", "out", "--width", "10", "--jobs", "0"], "expected a positive integer for --jobs but got \"0\""),
        (["in", "-o", "out", "--width", "10", "--name", "{nope}"],
         "expected placeholders among {stem} {ext} {srcext} {width} {height} {format} (unknown placeholder {nope}) for --name but got \"{nope}\""),
        (["in", "-o", "out", "--width", "10", "--frobnicate"], "Unknown option '--frobnicate'"),
        // Names that could only go wrong, refused before any file: out of the output folder, one
        // name for a whole folder, an extension that contradicts the format.
        (["in", "-o", "out", "--width", "10", "--name", "../{stem}.{ext}"],
         "expected a relative file name that stays in the output folder for --name but got \"../{stem}.{ext}\""),
        (["in", "-o", "out", "--width", "10", "--name", "thumb.jpg"],
         "--name \"thumb.jpg\" has no {stem}, so every input would be written to the same file"),
        (["in", "-o", "out", "--width", "10", "--format", "webp", "--name", "{stem}.png"],
         "--name \"{stem}.png\" names PNG files but --format is webp"),
        // Sizes past the largest an output may have: refused up front, not an arithmetic trap.
        (["in", "-o", "out", "--height", "3000000000", "--enlarge"], "expected at most 1048576 for --height but got \"3000000000\""),
        (["in", "-o", "out", "--scale", "1e9", "--enlarge"], "expected at most 1048576 for --scale but got \"1e9\""),
        (["in", "-o", "out", "--scale", "1e300", "--enlarge"], "expected at most 1048576 for --scale but got \"1e300\""),
        (["in", "-o", "out", "--fill", "99999999999x99999999999", "--enlarge"],
         "expected at most 1048576 for --fill but got \"99999999999x99999999999\""),
        (["in", "-o", "out", "--width", "10", "--max-pixels", "9000000000000000000"],
         "expected an integer from 1 to 1099511627776 for --max-pixels but got \"9000000000000000000\""),
        (["in", "-o", "out", "--width", "10", "--timeout", "1e300"], "expected at most 604800 for --timeout but got \"1e300\""),
        (["in", "-o", "out", "--width", "10", "--jobs", "9223372036854775807"],
         "expected at most 1024 for --jobs but got \"9223372036854775807\""),
        // An output folder that cannot be made or written: one error up front (it was one per input).
        (["in", "-o", "/proc/nope", "--width", "10"], "cannot create the output folder /proc/nope: /proc/nope: No such file or directory"),
        (["in", "-o", "in/a.jpg", "--width", "10"], "cannot write outputs into in/a.jpg: in/a.jpg is not a folder"),
        (["in", "-o", "in/a.jpg/sub", "--width", "10"], "cannot create the output folder in/a.jpg/sub: in/a.jpg/sub: Not a directory"),
        (["in", "-o", "in/a.jpg/sub", "--width", "10", "--dry-run"], "cannot write outputs into in/a.jpg/sub: in/a.jpg is not a folder"),
    ]

    @Test(arguments: cases)
    func badCommandLinesExitTwoAndWriteNothing(arguments: [String], message: String) throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(20, 20), to: "in/a.jpg")
        let result = try CommandRunner.run(arguments, in: scratch.url)
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "stderr was: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out")))
    }

    @Test func helpExitsZero() throws {
        let result = try CommandRunner.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("--fill <WxH>"))
    }
}

@Suite struct BatchTests {
    /// FASTRESIZE_KERNELS pins a kernel path (the processor's fastest otherwise, AVX2 where it has
    /// it); every path writes the same bytes, RGB and RGBA, JPEG and PNG.
    @Test func everyKernelPathWritesTheSameFiles() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(400, 300), to: "in/a.jpg")
        try scratch.write(try Inputs.png(333, 250, alpha: true), to: "in/b.png")
        var outputs: [String: [[UInt8]]] = [:]
        for path in ["", "scalar", "simd", "avx2"] {
            let folder = "out-\(path.isEmpty ? "default" : path)"
            let result = try CommandRunner.run(["in", "-o", folder, "--fit", "97x61", "--no-state"], in: scratch.url,
                                               environment: path.isEmpty ? [:] : ["FASTRESIZE_KERNELS": path])
            #expect(result.status == 0, "\(path): \(result.stderr)")
            // The path taken is the one asked for, or the portable one where AVX2 is missing.
            let version = try CommandRunner.run(["--version"], environment: path.isEmpty ? [:] : ["FASTRESIZE_KERNELS": path])
            let taken = path.isEmpty || !(ResizeBackend(rawValue: path)?.isAvailable ?? false) ? ResizeBackend.best.rawValue : path
            #expect(version.stdout.contains("resize kernels: \(taken)\n"), "\(path): \(version.stdout)")
            outputs[path] = try ["a.jpg", "b.png"].map { try Array(Data(contentsOf: URL(fileURLWithPath: scratch.path("\(folder)/\($0)")))) }
        }
        #expect(outputs["scalar"]?.count == 2)
        #expect(Set(outputs.values).count == 1, "the paths wrote different bytes")
    }

    @Test func walksATreeMirroringPathsAndReportsEveryFile() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(400, 300), to: "in/a.jpg")
        try scratch.write(try Inputs.png(300, 400, alpha: true), to: "in/sub/deeper/b.png")
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/.hidden.jpg")
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/.cache/c.jpg")
        try scratch.write(Array("just notes".utf8), to: "in/notes.txt")
        try scratch.write(Array("<html>not a picture</html>".utf8), to: "in/broken.jpg")
        try scratch.write(Inputs.bmp(64, 32), to: "in/sub/picture.bmp")

        let result = try CommandRunner.run(["in", "-o", "out", "--fit", "100x100", "--report", "report.json"], in: scratch.url)
        #expect(result.status == 1)
        #expect(scratch.files(under: "out") == ["a.jpg", "sub/deeper/b.png", "sub/picture.jpg"])
        #expect(result.stderr.contains("in/broken.jpg: not a supported image"))
        #expect(result.stdout.isEmpty)

        let a = try decodeFile(scratch.path("out/a.jpg"))
        #expect((a.width, a.height, a.format) == (100, 75, .rgb))
        let b = try decodeFile(scratch.path("out/sub/deeper/b.png"))
        #expect((b.width, b.height, b.format) == (75, 100, .rgba))
        let bmp = try decodeFile(scratch.path("out/sub/picture.jpg"))
        #expect((bmp.width, bmp.height) == (64, 32))     // already fits: kept at its size

        let report = try loadReport(scratch.path("report.json"))
        #expect(report.version == 1)
        #expect(report.summary.written == 3 && report.summary.failed == 1 && report.summary.notImages == 1)
        #expect(report.summary.total == 5)
        let byInput = Dictionary(uniqueKeysWithValues: report.files.map { ($0.input, $0) })
        #expect(byInput["in/notes.txt"]?.status == .notImage)
        #expect(byInput["in/broken.jpg"]?.status == .failed)
        #expect(byInput["in/broken.jpg"]?.error?.hasPrefix("not a supported image") == true)
        #expect(byInput["in/broken.jpg"]?.errorKind == .unsupported)
        #expect(byInput["in/broken.jpg"]?.outputs.allSatisfy { $0.errorKind == .unsupported } == true)
        #expect(byInput["in/a.jpg"]?.errorKind == nil)
        #expect(report.summary.failuresByKind == ["unsupported": 1])
        let written = try #require(byInput["in/a.jpg"])
        #expect(written.status == .written)
        #expect(written.outputs.count == 1)
        #expect(written.outputs[0].width == 100 && written.outputs[0].height == 75 && written.outputs[0].format == .jpeg)
        let size = try FileManager.default.attributesOfItem(atPath: scratch.path("out/a.jpg"))[.size] as? Int
        #expect(written.outputs[0].bytes == size)
        #expect(result.stderr.contains("3 written, 0 skipped, 1 failed (1 unsupported), 1 not images"))

        // The report's keys are the documented ones.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scratch.path("report.json")))) as! [String: Any]
        #expect(Set(json.keys) == ["version", "summary", "files"])
        let file = (json["files"] as! [[String: Any]]).first { ($0["status"] as? String) == "written" }!
        #expect(Set(file.keys).isSuperset(of: ["input", "status", "outputs", "ms", "decode", "stage_ms"]))
        #expect(Set((file["outputs"] as! [[String: Any]])[0].keys) == ["path", "width", "height", "format", "bytes", "status", "encode"])
    }

    @Test func namedNonImageIsAnError() throws {
        let scratch = try ScratchFolder()
        try scratch.write(Array("hello".utf8), to: "readme.txt")
        try scratch.write(try Inputs.jpeg(20, 20), to: "ok.jpg")
        let result = try CommandRunner.run(["readme.txt", "ok.jpg", "missing.jpg", "-o", "out", "--width", "10"], in: scratch.url)
        #expect(result.status == 1)
        #expect(result.stderr.contains("readme.txt: not a supported image"))
        #expect(result.stderr.contains("missing.jpg: cannot read: no such file or folder"))
        #expect(scratch.files(under: "out") == ["ok.jpg"])
    }

    /// A truncated JPEG fails by default; `--fail-on none` (or the config key) draws it, and the
    /// report says what was wrong.
    @Test func failOnNoneDrawsATruncatedFile() throws {
        let scratch = try ScratchFolder()
        let whole = try Inputs.jpeg(400, 300)
        try scratch.write(Array(whole.prefix(whole.count / 2)), to: "in/cut.jpg")
        let refused = try CommandRunner.run(["in", "-o", "out", "--width", "100"], in: scratch.url)
        #expect(refused.status == 1 && refused.stderr.contains("1 failed (1 corrupt)"), "\(refused.stderr)")
        try scratch.write(Array("fail-on = \"none\"\n".utf8), to: "fastresize.toml")
        // --force: the second run's settings are the first's (from the config file instead), and
        // the job store would find its output up to date.
        for extra in [["--fail-on", "none"], []] {
            let drawn = try CommandRunner.run(["in", "-o", "out", "--width", "100", "--force", "--report", "r.json"] + extra,
                                              in: scratch.url)
            #expect(drawn.status == 0, "\(drawn.stderr)")
            let output = try #require(try loadReport(scratch.path("r.json")).files.first?.outputs.first)
            #expect(output.status == .written && output.warnings?.isEmpty == false)
            #expect(try decodeFile(scratch.path("out/cut.jpg")).width == 100)
        }
        let bad = try CommandRunner.run(["in", "-o", "out", "--width", "100", "--fail-on", "never"], in: scratch.url)
        #expect(bad.status == 2 && bad.stderr.contains("expected one of none, truncated, error, warning for --fail-on"))
    }

    /// An output FastResize did not write (here: a run without a job store made it) is kept
    /// unless --overwrite says otherwise.
    @Test func existingOutputsAreSkippedUnlessOverwriting() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(200, 100), to: "in/a.jpg")
        #expect(try CommandRunner.run(["in", "-o", "out", "--width", "50", "--no-state"], in: scratch.url).status == 0)
        let second = try CommandRunner.run(["in", "-o", "out", "--width", "80", "--report", "r.json"], in: scratch.url)
        #expect(second.status == 0)
        #expect(try loadReport(scratch.path("r.json")).files[0].status == .skipped)
        #expect(try loadReport(scratch.path("r.json")).files[0].reason == .exists)
        #expect(try decodeFile(scratch.path("out/a.jpg")).width == 50)
        let third = try CommandRunner.run(["in", "-o", "out", "--width", "80", "--overwrite"], in: scratch.url)
        #expect(third.status == 0)
        #expect(try decodeFile(scratch.path("out/a.jpg")).width == 80)
    }

    @Test func collidingOutputsAreRefusedBeforeWork() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/a.jpg")
        try scratch.write(try Inputs.png(60, 40), to: "in/a.png")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "30", "--format", "jpeg"], in: scratch.url)
        #expect(result.status == 1)
        #expect(result.stderr.contains("in/a.png: output collides with in/a.jpg"))
        #expect(scratch.files(under: "out") == ["a.jpg"])
        let kept = try decodeFile(scratch.path("out/a.jpg"))
        #expect(kept.width == 30)

        let apart = try CommandRunner.run(["in", "-o", "apart", "--width", "30", "--format", "jpeg", "--name", "{stem}.{srcext}.{ext}"],
                                          in: scratch.url)
        #expect(apart.status == 0)
        #expect(scratch.files(under: "apart") == ["a.jpg.jpg", "a.png.jpg"])
    }

    /// A literal extension in the name says the format when --format is same: a JPEG named
    /// `{stem}.png` is written as PNG, never JPEG bytes under .png (issue 14, defect 8).
    @Test func aNamedExtensionChoosesTheFormat() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/a.jpg")
        try scratch.write(try Inputs.png(60, 40), to: "in/b.png")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "30", "--name", "{stem}.png", "--report", "r.json"],
                                           in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(scratch.files(under: "out") == ["a.png", "b.png"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: scratch.path("out/a.png")))
        #expect(Codecs.all.detect(bytes.prefix(64))?.rawValue == "png")
        let report = try loadReport(scratch.path("r.json"))
        #expect(report.files.flatMap(\.outputs).allSatisfy { $0.format.rawValue == "png" })
        let jpegs = try CommandRunner.run(["in", "-o", "out2", "--width", "30", "--name", "{stem}-small.JPEG"], in: scratch.url)
        #expect(jpegs.status == 0, "\(jpegs.stderr)")
        for name in ["a-small.JPEG", "b-small.JPEG"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: scratch.path("out2/" + name)))
            #expect(Codecs.all.detect(data.prefix(64))?.rawValue == "jpeg", "\(name)")
        }
    }

    @Test func anOutputNeverReplacesItsInput() throws {
        let scratch = try ScratchFolder()
        let original = try Inputs.jpeg(60, 40)
        try scratch.write(original, to: "in/a.jpg")
        let result = try CommandRunner.run(["in", "-o", "in", "--width", "30", "--overwrite"], in: scratch.url)
        #expect(result.status == 1)
        #expect(result.stderr.contains("in/a.jpg: output path is the input itself"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("in/a.jpg"))) == Data(original))
    }

    @Test func outputFolderInsideTheInputIsNotWalked() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/a.jpg")
        #expect(try CommandRunner.run(["in", "-o", "in/small", "--width", "30"], in: scratch.url).status == 0)
        let again = try CommandRunner.run(["in", "-o", "in/small", "--width", "30", "--report", "r.json"], in: scratch.url)
        #expect(again.status == 0)
        #expect(try loadReport(scratch.path("r.json")).summary.total == 1)
    }

    @Test func dryRunWritesNothing() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/a.jpg")
        let result = try CommandRunner.run(["in", "-o", "out", "--fill", "20x20", "--format", "webp", "--dry-run"], in: scratch.url)
        #expect(result.status == 0)
        #expect(result.stdout.contains("in/a.jpg -> "))
        #expect(result.stdout.contains("out/a.webp (20x20 WebP)"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out")))
    }

    @Test func includeAndExcludeMatchRelativePaths() throws {
        let scratch = try ScratchFolder()
        for name in ["keep/a.jpg", "keep/b.png", "skip/c.jpg", "d.jpg"] {
            try scratch.write(name.hasSuffix("png") ? try Inputs.png(20, 20) : try Inputs.jpeg(20, 20), to: "in/" + name)
        }
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "10", "--include", "*.jpg", "--exclude", "skip/**"],
                                           in: scratch.url)
        #expect(result.status == 0)
        #expect(scratch.files(under: "out") == ["d.jpg", "keep/a.jpg"])
    }

    @Test func symbolicLinksAreFollowedOnlyOnRequest() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(20, 20), to: "elsewhere/x.jpg")
        try scratch.write(try Inputs.jpeg(20, 20), to: "in/real.jpg")
        try FileManager.default.createSymbolicLink(atPath: scratch.path("in/link.jpg"), withDestinationPath: scratch.path("elsewhere/x.jpg"))
        try FileManager.default.createSymbolicLink(atPath: scratch.path("in/dir"), withDestinationPath: scratch.path("elsewhere"))
        #expect(try CommandRunner.run(["in", "-o", "out", "--width", "10"], in: scratch.url).status == 0)
        #expect(scratch.files(under: "out") == ["real.jpg"])
        #expect(try CommandRunner.run(["in", "-o", "followed", "--width", "10", "--follow-symlinks"], in: scratch.url).status == 0)
        #expect(scratch.files(under: "followed") == ["dir/x.jpg", "link.jpg", "real.jpg"])
    }

    @Test func formatSameKeepsOutputFormatsAndChoosesForTheRest() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.png(40, 40, alpha: true), to: "in/alpha.png")
        try scratch.write(Inputs.bmp(40, 20), to: "in/plain.bmp")
        try scratch.write(try WebPEncoder().encode(TestImages.smooth(width: 40, height: 40, format: .rgb), options: EncodeOptions()),
                          to: "in/w.webp")
        if let corpus = Corpus.folder {
            // GIF is written as GIF; HEIC, which FastResize does not write, with alpha becomes PNG.
            try scratch.write(Array(try Data(contentsOf: corpus.appendingPathComponent("alpha/grey-plus-alpha.gif"))), to: "in/t.gif")
            try scratch.write(Array(try Data(contentsOf: corpus.appendingPathComponent("alpha/with-alpha-512x512.heic"))), to: "in/h.heic")
        }
        let result = try CommandRunner.run(["in", "-o", "out", "--scale", "0.5", "--name", "{stem}-{width}x{height}.{ext}"], in: scratch.url)
        #expect(result.status == 0)
        var expected = ["alpha-20x20.png", "plain-20x10.jpg", "w-20x20.webp"]
        if Corpus.folder != nil { expected += ["t-1x1.gif", "h-256x256.png"] }
        #expect(scratch.files(under: "out") == expected.sorted())
        #expect(try decodeFile(scratch.path("out/alpha-20x20.png")).format == .rgba)
    }

    @Test func fillCropsToTheExactBoxAndFormatsConvert() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.png(300, 100, alpha: true), to: "in/wide.png")
        for format in ["jpeg", "png", "webp", "avif"] {
            let result = try CommandRunner.run(["in", "-o", format, "--fill", "64x48", "--gravity", "east", "--format", format],
                                               in: scratch.url)
            #expect(result.status == 0, "\(format): \(result.stderr)")
            let file = try #require(scratch.files(under: format).first)
            let image = try decodeFile(scratch.path("\(format)/\(file)"))
            #expect((image.width, image.height) == (64, 48), "\(format)")
            #expect(image.format.hasAlpha == (format != "jpeg"), "\(format) alpha")
        }
    }

    @Test func enlargeIsNeededToUpscale() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/small.jpg")
        #expect(try CommandRunner.run(["in", "-o", "same", "--width", "400"], in: scratch.url).status == 0)
        #expect(try decodeFile(scratch.path("same/small.jpg")).width == 40)
        #expect(try CommandRunner.run(["in", "-o", "big", "--width", "400", "--enlarge"], in: scratch.url).status == 0)
        let big = try decodeFile(scratch.path("big/small.jpg"))
        #expect((big.width, big.height) == (400, 300))
    }

    @Test func manyFilesInParallelLeaveNoTemporaries() throws {
        let scratch = try ScratchFolder()
        let jpeg = try Inputs.jpeg(120, 90)
        for i in 0..<40 { try scratch.write(jpeg, to: "in/\(i / 10)/img\(i).jpg") }
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "60", "-j", "4", "--quiet"], in: scratch.url)
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "quiet run printed: \(result.stderr)")
        let written = scratch.files(under: "out")
        #expect(written.count == 40)
        #expect(!written.contains { $0.contains(AtomicFile.temporarySuffix) })
        let all = scratch.files()
        #expect(!all.contains { $0.hasSuffix(AtomicFile.temporarySuffix) })
    }

    @Test func verboseListsEveryFileAndNoProgressWhenNotATerminal() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/a.jpg")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "30", "-v"], in: scratch.url)
        #expect(result.status == 0)
        #expect(result.stdout.contains("in/a.jpg -> "))
        #expect(result.stdout.contains("(30x20 JPEG"))
        #expect(!result.stderr.contains("\r"))
        #expect(result.stderr.contains("1 written, 0 skipped, 0 failed, 0 not images"))
    }
}

@Suite struct OutputFolderTests {
    @Test func aNameTemplateCannotLeaveTheOutputFolder() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(20, 20), to: "in/a.jpg")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "10", "--name", "../../{stem}.{ext}"], in: scratch.url)
        #expect(result.status == 2)
        #expect(result.stderr.contains("a relative file name that stays in the output folder"))
        #expect(!FileManager.default.fileExists(atPath: scratch.url.deletingLastPathComponent().appendingPathComponent("a.jpg").path))
        #expect(scratch.files() == ["in/a.jpg"])
    }
}
