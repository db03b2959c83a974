// ReadmeExampleTests: every command in the README's shell examples, run exactly as written (in a scratch folder holding the folders they name, with the README's own config file), does what the README says.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct ReadmeExampleTests {
    static let readme: String = (try? String(contentsOf: Corpus.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""

    /// The fenced blocks of one language, in order.
    static func blocks(_ language: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```" + language {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    /// The commands of the shell examples that run fastresize.
    static var commands: [String] {
        blocks("sh").flatMap { $0.split(separator: "\n").map(String.init) }.filter { $0.hasPrefix("fastresize ") }
    }

    @Test func theReadmeHasExamples() {
        #expect(Self.commands.count >= 6)
        #expect(Self.blocks("toml").first?.contains("[profiles.web]") == true)
    }

    @Test(arguments: commands)
    func anExampleRunsAsWritten(_ command: String) throws {
        let scratch = try ScratchFolder()
        for (name, bytes) in [("photos/beach.jpg", try Inputs.jpeg(1600, 1200)), ("photos/small.jpg", try Inputs.jpeg(640, 480)),
                              ("photos/logo.png", try Inputs.png(900, 700, alpha: true)),
                              ("scans/a.jpg", try Inputs.jpeg(800, 600)), ("scans/a.png", try Inputs.png(800, 600)),
                              ("library/x.jpg", try Inputs.jpeg(2000, 1000)), ("library/raw/y.jpg", try Inputs.jpeg(2000, 1000)),
                              ("library/z.png", try Inputs.png(500, 500))] {
            try scratch.write(bytes, to: name)
        }
        // The README's annotated config file, as the profile example reads it (and every other
        // example runs beside it, as in a folder that has one).
        try scratch.write(Array(try #require(Self.blocks("toml").first).utf8), to: "fastresize.toml")
        let path = CommandRunner.binary.deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try CommandRunner.run(["-c", command], in: scratch.url, environment: ["PATH": path], executable: "/bin/sh")
        #expect(result.status == 0, "\(command)\n\(result.stderr)")
        #expect(!result.stderr.contains("failed ("), "\(result.stderr)")
        let words = command.split(separator: " ").map(String.init)
        guard let flag = words.firstIndex(of: "-o"), flag + 1 < words.count else { return }
        let folder = words[flag + 1]
        let written = scratch.files(under: folder)
        if words.contains("--dry-run") {
            #expect(written.isEmpty)
            #expect(result.stdout.contains(" -> "))
            return
        }
        #expect(!written.isEmpty, "\(command) wrote nothing")
        if words.contains("--fill") {
            // Cards keep the box's shape, enlarged or not.
            for file in written {
                let image = try decodeFile(scratch.path(folder + file))
                #expect(abs(Double(image.width) / Double(image.height) - 1200.0 / 630) < 0.01, "\(file): \(image.width)x\(image.height)")
            }
        }
        if words.contains("--exclude") { #expect(!written.contains { $0.hasPrefix("raw/") }) }
        if words.contains("{stem}.{srcext}.{ext}") || command.contains("'{stem}.{srcext}.{ext}'") {
            #expect(written == ["a.jpg.jpg", "a.png.png"])
        }
        if words.contains("--profile") {
            #expect(written.contains("beach-320.webp") && written.contains("thumbs/beach.png") && written.contains("beach-card.jpg"))
        }
        if words.contains("--report") { #expect(FileManager.default.fileExists(atPath: scratch.path("report.json"))) }
    }
}
