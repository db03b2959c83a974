// ProfileRunTests: the binary with a config file — a profile's outputs checked one by one, precedence, config check, mistakes.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

private let webConfig = """
    # Three outputs of every input, from one decode each.
    quality = 85

    [profiles.web]
    outputs = [
      { width = 320, format = "webp", quality = 70, name = "{stem}-320.{ext}" },
      { fit = "100x100", format = "png", name = "thumbs/{stem}.{ext}" },
      { fill = "64x64", format = "jpeg", name = "{stem}-{width}x{height}.{ext}" },
    ]
    """

@Suite struct ProfileRunTests {
    /// Every output of every input, checked file by file and in the report; run again, all are
    /// skipped; one removed, only it is made again. With --isolate all the workers do the same.
    @Test(arguments: ["auto", "all"])
    func everyOutputOfAProfile(isolate: String) throws {
        let scratch = try ScratchFolder()
        try scratch.write(Array(webConfig.utf8), to: "fastresize.toml")
        try scratch.write(try Inputs.jpeg(800, 600), to: "in/a.jpg")
        try scratch.write(try Inputs.png(300, 400, alpha: true), to: "in/sub/b.png")
        let arguments = ["in", "-o", "out", "--profile", "web", "--isolate", isolate, "--report", "report.json"]
        let result = try CommandRunner.run(arguments, in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        let expected: [(String, Int, Int, ImageFormat)] = [
            ("out/a-320.webp", 320, 240, .webp), ("out/thumbs/a.png", 100, 75, .png), ("out/a-64x64.jpg", 64, 64, .jpeg),
            ("out/sub/b-320.webp", 300, 400, .webp), ("out/sub/thumbs/b.png", 75, 100, .png),
            ("out/sub/b-64x64.jpg", 64, 64, .jpeg),
        ]
        #expect(scratch.files(under: "out") == expected.map { String($0.0.dropFirst(4)) }.sorted())
        for (path, width, height, format) in expected {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: scratch.path(path)))
            #expect(Codecs.all.detect(bytes.prefix(ImageFormat.headerLength)) == format, "\(path)")
            let image = try decodeFile(scratch.path(path))
            #expect((image.width, image.height) == (width, height), "\(path)")
        }
        // The PNG input keeps its alpha in PNG and WebP; JPEG flattens it.
        #expect(try decodeFile(scratch.path("out/sub/thumbs/b.png")).format == .rgba)
        #expect(try decodeFile(scratch.path("out/sub/b-64x64.jpg")).format == .rgb)

        let report = try loadReport(scratch.path("report.json"))
        #expect(report.summary.written == 2)
        for file in report.files {
            #expect(file.status == .written)
            #expect(file.outputs.count == 3)
            #expect(file.outputs.allSatisfy { $0.status == .written && $0.bytes > 0 })
        }
        let a = try #require(report.files.first { $0.input == "in/a.jpg" })
        #expect(a.outputs.map { ($0.path as NSString).lastPathComponent } == ["a-320.webp", "a.png", "a-64x64.jpg"])
        #expect(a.outputs.map(\.format) == [.webp, .png, .jpeg])

        let again = try CommandRunner.run(arguments, in: scratch.url)
        #expect(again.status == 0)
        #expect(again.stderr.contains("nothing to do: 2 up to date"), "\(again.stderr)")     // said so, not "0 written … (0.0 images/s)"
        #expect(try loadReport(scratch.path("report.json")).files.allSatisfy { file in
            file.status == .skipped && file.outputs.count == 3 && file.outputs.allSatisfy { $0.status == .skipped }
        })

        try FileManager.default.removeItem(atPath: scratch.path("out/thumbs/a.png"))
        let refill = try CommandRunner.run(arguments, in: scratch.url)
        #expect(refill.stderr.contains("1 written, 1 skipped"), "\(refill.stderr)")
        let refilled = try #require(try loadReport(scratch.path("report.json")).files.first { $0.input == "in/a.jpg" })
        #expect(refilled.outputs.map(\.status) == [.skipped, .written, .skipped])
        #expect(try decodeFile(scratch.path("out/thumbs/a.png")).width == 100)
    }

    /// Command line over environment over config file, seen in the sizes a dry run plans.
    @Test func precedenceThroughTheProcess() throws {
        let scratch = try ScratchFolder()
        try scratch.write(Array("width = 100\noutput = \"from-config\"\n".utf8), to: "fastresize.toml")
        try scratch.write(try Inputs.jpeg(400, 300), to: "in/a.jpg")
        func planned(_ extra: [String], _ environment: [String: String] = [:]) throws -> String {
            let result = try CommandRunner.run(["in", "--dry-run"] + extra, in: scratch.url, environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout
        }
        #expect(try planned([]).contains("from-config/a.jpg (100x75 JPEG)"))
        #expect(try planned([], ["FASTRESIZE_WIDTH": "50"]).contains("(50x38 JPEG)"))
        #expect(try planned(["--width", "20"], ["FASTRESIZE_WIDTH": "50"]).contains("(20x15 JPEG)"))
        #expect(try planned(["-o", "elsewhere", "--fit", "40x40"], ["FASTRESIZE_FORMAT": "png"]).contains("elsewhere/a.png (40x30 PNG)"))
        #expect(try planned(["--no-config", "-o", "x", "--width", "10"]).contains("x/a.jpg (10x8 JPEG)"))
        // A flag turned off on the command line beats the file turning it on (without a job
        // store, which would find the output up to date either way).
        try scratch.write(Array("width = 100\noverwrite = true\n".utf8), to: "fastresize.toml")
        _ = try CommandRunner.run(["in", "-o", "out", "--no-state"], in: scratch.url)
        let kept = try CommandRunner.run(["in", "-o", "out", "--no-overwrite", "--no-state"], in: scratch.url)
        #expect(kept.stderr.contains("nothing to do: 1 up to date"), "\(kept.stderr)")
        let replaced = try CommandRunner.run(["in", "-o", "out", "--no-state"], in: scratch.url)
        #expect(replaced.stderr.contains("1 written, 0 skipped"), "\(replaced.stderr)")
    }

    /// `config check` shows each value with where it came from; `profiles` lists the profiles.
    @Test func configCheckAndProfiles() throws {
        let scratch = try ScratchFolder()
        try scratch.write(Array(webConfig.utf8), to: "fastresize.toml")
        let check = try CommandRunner.run(["config", "check"], in: scratch.url, environment: ["FASTRESIZE_JOBS": "3"])
        #expect(check.status == 0, "\(check.stderr)")
        let lines = check.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines.contains("config file: \(scratch.path("fastresize.toml")) (found in the working folder)"))
        #expect(lines.contains("jobs = 3 FASTRESIZE_JOBS"))
        #expect(lines.contains("quality = 85 \(scratch.path("fastresize.toml")): quality"))
        #expect(lines.contains("timeout = 120 default"))
        #expect(lines.contains("profile web: 3 outputs"))
        #expect(lines.contains("width = 320 \(scratch.path("fastresize.toml")): profiles.web.outputs[0].width"))
        #expect(lines.last == "valid")

        let profiles = try CommandRunner.run(["profiles"], in: scratch.url)
        #expect(profiles.status == 0)
        #expect(profiles.stdout.contains("web (\(scratch.path("fastresize.toml"))): 3 outputs"))
        #expect(profiles.stdout.contains("1. width=320 format=webp quality=70 name={stem}-320.{ext}"))
        #expect(profiles.stdout.contains("2. fit=100x100 format=png quality=85 name=thumbs/{stem}.{ext}"))
    }

    /// A bad config stops the run before any work: exit 2, the file, the key and what was expected.
    @Test func badConfigFailsBeforeAnyWork() throws {
        let scratch = try ScratchFolder()
        try scratch.write(Array("[profiles.web]\noutputs = [ { width = 320 }, { width = -3 } ]\n".utf8), to: "fastresize.toml")
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/a.jpg")
        let run = try CommandRunner.run(["in", "-o", "out", "--profile", "web"], in: scratch.url)
        #expect(run.status == 2)
        #expect(run.stderr.contains("fastresize.toml: profiles.web.outputs[1].width: expected a positive integer, got -3"),
                "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out")))
        let check = try CommandRunner.run(["config", "check", scratch.path("fastresize.toml")], in: scratch.url)
        #expect(check.status == 2)
        #expect(check.stderr.contains("profiles.web.outputs[1].width: expected a positive integer, got -3"))
        let missing = try CommandRunner.run(["in", "-o", "out", "--width", "5", "--config", "nope.yaml"], in: scratch.url)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.yaml: cannot read the config file: No such file or directory"))
        let noConfig = try CommandRunner.run(["profiles"], in: scratch.url, environment: ["FASTRESIZE_CONFIG": "gone.toml"])
        #expect(noConfig.status == 2)
    }
}
