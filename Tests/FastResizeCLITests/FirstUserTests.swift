// FirstUserTests: what a first user hit (issue 14) — names that are not UTF-8, outputs beside their inputs, streams as inputs, and what a run says about what it left out.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct FirstUserTests {
    /// `in/ok.jpg`, `in/caf\xe9.jpg`, `in/d\xff/x.png`: all three are resized, under their own
    /// bytes, and the report names them with \xNN (two were skipped silently, exit 0).
    @Test func namesThatAreNotUTF8() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/ok.jpg")
        let cafe = FileSystemPath.string(Array("caf".utf8) + [0xE9] + Array(".jpg".utf8))
        let odd = FileSystemPath.string(Array("d".utf8) + [0xFF])
        try FileSystem.makeFolders(scratch.path("in") + "/" + odd)
        for (path, bytes) in [("in/" + cafe, try Inputs.jpeg(60, 40)), ("in/" + odd + "/x.png", try Inputs.png(60, 40))] {
            let descriptor = FileSystem.open(scratch.path("") + "/" + path, O_WRONLY | O_CREAT, 0o644)
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
        }
        let result = try CommandRunner.run(["in", "-o", "out", "--fit", "50x50", "--report", "r.json"], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("3 written"))
        for path in ["out/ok.jpg", "out/" + cafe, "out/" + odd + "/x.png"] {
            #expect(FileSystem.exists(scratch.path("") + "/" + path), "\(FileSystemPath.shown(path))")
        }
        let report = try String(contentsOfFile: scratch.path("r.json"), encoding: .utf8)
        #expect(report.contains(#""input" : "in/caf\\xe9.jpg""#))
        #expect(report.contains(#""input" : "in/d\\xff/x.png""#))
        // Named on the command line (argv's bytes, through a shell), it is found too.
        let named = try CommandRunner.run(["-c", #"exec "$0" "$(printf 'in/caf\351.jpg')" -o out2 --fit 40x40 -v"#, CommandRunner.binary.path],
                                          in: scratch.url, executable: "/bin/sh")
        #expect(named.status == 0, "\(named.stderr)")
        #expect(named.stdout.contains(#"in/caf\xe9.jpg -> "#))
        #expect(FileSystem.exists(scratch.path("out2") + "/" + cafe))
    }

    /// Thumbnails beside originals, run twice (from cron): the second run finds its own outputs
    /// and leaves them alone (it made a-small-small.jpg, and with --format webp failed every file).
    @Test func outputsBesideTheirInputsAreNotInputs() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(400, 300), to: "in/a.jpg")
        try scratch.write(try Inputs.png(300, 300), to: "in/sub/b.png")
        for _ in 0..<2 {
            let result = try CommandRunner.run(["in", "-o", "in", "--fit", "200x200", "--name", "{stem}-small.{ext}"], in: scratch.url)
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(scratch.files(under: "in") == ["a-small.jpg", "a.jpg", "sub/b-small.png", "sub/b.png"])
        // (Outputs of another template are another run's business: a fresh folder for this one.)
        try scratch.write(try Inputs.jpeg(400, 300), to: "web/a.jpg")
        try scratch.write(try Inputs.png(300, 300), to: "web/sub/b.png")
        for round in 0..<2 {
            let result = try CommandRunner.run(["web", "-o", "web", "--fit", "100x100", "--format", "webp"], in: scratch.url)
            #expect(result.status == 0, "round \(round): \(result.stderr)")
            if round == 1 { #expect(result.stderr.contains("nothing to do: 2 up to date; 2 earlier outputs left alone")) }
        }
        #expect(scratch.files(under: "web") == ["a.jpg", "a.webp", "sub/b.png", "sub/b.webp"])
    }

    /// `-` is standard input, written as stdin.<ext>; a FIFO nobody writes to is given up at
    /// --timeout (it hung forever).
    @Test func streamsAsInputs() throws {
        let scratch = try ScratchFolder()
        let piped = try CommandRunner.run(["-", "-o", "out", "--fit", "30x30"], in: scratch.url,
                                          standardInput: Data(try Inputs.jpeg(60, 40)))
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(scratch.files(under: "out") == ["stdin.jpg"])
        #expect(try decodeFile(scratch.path("out/stdin.jpg")).width == 30)
        let named = try CommandRunner.run(["-", "-o", "out", "--fit", "30x30", "--name", "upload.{ext}"], in: scratch.url,
                                          standardInput: Data(try Inputs.png(60, 40)))
        #expect(named.status == 0, "\(named.stderr)")
        #expect(scratch.files(under: "out") == ["stdin.jpg", "upload.png"])
        // `cat a.jpg | fastresize /dev/stdin …` said "not a supported image".
        let device = try CommandRunner.run(["/dev/stdin", "-o", "dev", "--fit", "30x30"], in: scratch.url,
                                           standardInput: Data(try Inputs.jpeg(60, 40)))
        #expect(device.status == 0, "\(device.stderr)")
        #expect(scratch.files(under: "dev") == ["stdin.jpg"])

        #expect(mkfifo(scratch.path("pipe"), 0o644) == 0)
        let start = Date()
        let silent = try CommandRunner.run(["pipe", "-o", "out", "--fit", "30x30", "--timeout", "1"], in: scratch.url)
        #expect(silent.status == 1)
        #expect(silent.stderr.contains("pipe: gave up after 1 s"))
        #expect(Date().timeIntervalSince(start) < 10)
    }

    /// A name cannot drive the terminal: control characters are shown escaped, on one line.
    @Test func namesAreEscapedWhenPrinted() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/a\u{1B}[31mred\nforged.jpg")
        let result = try CommandRunner.run(["in", "-o", "out", "--fit", "30x30", "-v"], in: scratch.url)
        #expect(result.status == 0)
        #expect(!result.stdout.contains("\u{1B}"))
        #expect(result.stdout.contains(#"in/a\x1b[31mred\x0aforged.jpg -> "#))
        #expect(result.stdout.split(separator: "\n").count == 1)
    }

    /// A dry run ends with a summary and writes the report, every output `planned`.
    @Test func aDryRunSummarisesAndReports() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/a.jpg")
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/b.jpg")
        try scratch.write(try Inputs.jpeg(60, 40), to: "out/b.jpg")
        let result = try CommandRunner.run(["in", "-o", "out", "--fit", "30x30", "--dry-run", "--report", "r.json"], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("dry run: 1 to write, 1 up to date"))
        let report = try loadReport(scratch.path("r.json"))
        #expect(report.summary.dryRun && report.summary.planned == 1 && report.summary.skipped == 1)
        #expect(report.files.map(\.status) == [.planned, .skipped])
        #expect(report.files[0].outputs.map(\.status) == [.planned])
        #expect(scratch.files(under: "out") == ["b.jpg"])
    }

    /// A run that finds nothing says why; what patterns left out is counted.
    @Test func whatWasLeftOutIsSaid() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "real/a.jpg")
        try FileManager.default.createDirectory(atPath: scratch.path("links"), withIntermediateDirectories: true)
        #expect(symlink(scratch.path("real/a.jpg"), scratch.path("links/a.jpg")) == 0)
        let links = try CommandRunner.run(["links", "-o", "out", "--fit", "30x30"], in: scratch.url)
        #expect(links.status == 0)
        #expect(links.stderr.contains("no images found: 1 symbolic link skipped, see --follow-symlinks"))
        let empty = try CommandRunner.run(["links", "-o", "out", "--fit", "30x30", "--follow-symlinks", "--exclude", "*.JPG"],
                                          in: scratch.url)
        #expect(empty.stderr.contains("no images found: 1 excluded"), "\(empty.stderr)")
        let dangling = try CommandRunner.run(["links", "-o", "out", "--fit", "30x30", "--follow-symlinks"], in: scratch.url)
        #expect(dangling.status == 0)
        #expect(symlink(scratch.path("gone.jpg"), scratch.path("links/b.jpg")) == 0)
        let broken = try CommandRunner.run(["links", "-o", "out2", "--fit", "30x30", "--follow-symlinks"], in: scratch.url)
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("links/b.jpg: cannot read: symbolic link to nothing"))
    }

    /// An output in the input's own format keeps the input's spelling of the extension
    /// (IMG_1.JPG was renamed IMG_1.jpg, breaking links into a site); another format takes its own.
    @Test func theExtensionKeepsItsSpelling() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/IMG_1.JPG")
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/a.jpeg")
        let same = try CommandRunner.run(["in", "-o", "out", "--fit", "30x30"], in: scratch.url)
        #expect(same.status == 0, "\(same.stderr)")
        #expect(scratch.files(under: "out") == ["IMG_1.JPG", "a.jpeg"])
        let webp = try CommandRunner.run(["in", "-o", "webp", "--fit", "30x30", "--format", "webp"], in: scratch.url)
        #expect(webp.status == 0)
        #expect(scratch.files(under: "webp") == ["IMG_1.webp", "a.webp"])
    }

    /// `shoot/day1 shoot/day2`: each folder keeps its name, so their IMG_1.jpg do not collide.
    @Test func severalFoldersKeepTheirNames() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "shoot/day1/IMG_1.jpg")
        try scratch.write(try Inputs.jpeg(60, 40), to: "shoot/day2/IMG_1.jpg")
        let result = try CommandRunner.run(["shoot/day1", "shoot/day2", "-o", "out", "--fit", "30x30"], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(scratch.files(under: "out") == ["day1/IMG_1.jpg", "day2/IMG_1.jpg"])
    }

    /// The command line as make and getopt users write it: -j4, negative values refused as bad
    /// values (they were "missing"), a suggestion only for a near miss.
    @Test func commandLineHabits() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/a.jpg")
        let attached = try CommandRunner.run(["in", "-oout", "-j4", "--fit", "30x30"], in: scratch.url)
        #expect(attached.status == 0, "\(attached.stderr)")
        #expect(scratch.files(under: "out") == ["a.jpg"])
        for (arguments, message) in [(["--scale", "-1"], "expected a positive number for --scale but got \"-1\""),
                                     (["--fit", "3x3", "--jobs", "-1"], "expected a positive integer for --jobs but got \"-1\""),
                                     (["--fit", "3x3", "-j", "-2"], "expected a positive integer for --jobs but got \"-2\""),
                                     (["--fit", "3x3", "--timeout", "-1"], "expected a positive number for --timeout but got \"-1\""),
                                     (["--fit", "3x3", "--qualty", "5"], "Unknown option '--qualty'. Did you mean '--quality'?")] {
            let result = try CommandRunner.run(["in", "-o", "out2"] + arguments, in: scratch.url)
            #expect(result.status == 2)
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let bogus = try CommandRunner.run(["in", "-o", "out2", "--bogus"], in: scratch.url)
        #expect(bogus.stderr.contains("Unknown option '--bogus'") && !bogus.stderr.contains("Did you mean"), "\(bogus.stderr)")
        let short = try CommandRunner.run(["in", "-o", "out2", "-Z"], in: scratch.url)
        #expect(short.stderr.hasPrefix("Error: Unknown option '-Z'"), "\(short.stderr)")
    }

    /// `fastresize config` says what it can do; `config check` takes a run's options and shows
    /// that they win.
    @Test func configSubcommands() throws {
        let scratch = try ScratchFolder()
        try scratch.write(Array("quality = 50\n".utf8), to: "fastresize.toml")
        let bare = try CommandRunner.run(["config"], in: scratch.url)
        #expect(bare.status == 0)
        #expect(bare.stdout.contains("fastresize config check"))
        let check = try CommandRunner.run(["config", "check", "--quality", "91", "--no-report"], in: scratch.url)
        #expect(check.status == 0, "\(check.stderr)")
        let line = check.stdout.split(separator: "\n").first { $0.contains("quality =") }
        #expect(line?.contains("91") == true && line?.contains("--quality") == true, "\(check.stdout)")
    }

    /// A setting the output's format does not read is said once, not ignored silently.
    @Test func settingsAFormatIgnoresAreSaid() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/a.jpg")
        try scratch.write(try Inputs.jpeg(60, 40), to: "in/b.jpg")
        let png = try CommandRunner.run(["in", "-o", "out", "--fit", "30x30", "--format", "png", "--quality", "50"], in: scratch.url)
        #expect(png.status == 0)
        #expect(png.stderr.components(separatedBy: "warning: --quality does nothing for PNG outputs").count == 2, "\(png.stderr)")
        let jpeg = try CommandRunner.run(["in", "-o", "out2", "--fit", "30x30", "--format", "jpeg", "--lossless"], in: scratch.url)
        #expect(jpeg.stderr.contains("warning: --lossless does nothing for JPEG outputs (it is for WebP, JPEG XL)"), "\(jpeg.stderr)")
        let fine = try CommandRunner.run(["in", "-o", "out3", "--fit", "30x30", "--format", "jpeg", "--quality", "70", "--no-progressive"],
                                         in: scratch.url)
        #expect(!fine.stderr.contains("warning"))
    }

    /// --version: the version, the commit, and each codec library as it reports itself — libwebp's
    /// the version pkg-config knows of the installed library.
    @Test func versionNamesTheLibraries() throws {
        let result = try CommandRunner.run(["--version"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("fastresize 0.1.0 (commit ") == true, "\(lines)")
        #expect(lines.contains("resize kernels: \(ResizeBackend.best.rawValue)"), "\(lines)")
        for library in ["libjpeg-turbo", "libspng", "libwebp", "libtiff", "giflib", "lcms2", "libheif", "libavif", "libjxl"] {
            let line = lines.first { $0.hasPrefix("  \(library) ") }
            #expect(line?.range(of: #"^  \S+ \d+\.\d+"#, options: .regularExpression) != nil, "\(library): \(result.stdout)")
        }
        let webp = try CommandRunner.run(["--modversion", "libwebp"], executable: "/usr/bin/pkg-config").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(lines.contains("  libwebp \(webp)"), "pkg-config says \(webp): \(result.stdout)")
    }
}
