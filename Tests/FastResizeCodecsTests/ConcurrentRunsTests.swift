// ConcurrentRunsTests: two batches in one process (a server using the library) keep their temporaries, workers and outputs apart.

@testable import FastResize
@testable import FastResizePipeline
@testable import FastResizePixels
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct ConcurrentRunsTests {
    /// Real JPEG and PNG inputs of a few sizes below `folder/relative`.
    static func inputs(_ folder: ScratchFolder, _ relative: String, count: Int, seed: UInt64) throws {
        for index in 0..<count {
            let width = 200 + index * 23, height = 150 + index * 17
            let picture = TestImages.pattern(width: width, height: height, format: index % 3 == 0 ? .rgba : .rgb,
                                             seed: seed + UInt64(index))
            if index % 3 == 0 {
                try folder.write(PNGEncoder().encode(picture, options: EncodeOptions()), to: "\(relative)/p\(index).png")
            } else {
                try folder.write(JPEGEncoder().encode(picture, options: EncodeOptions(quality: 90)), to: "\(relative)/sub/j\(index).jpg")
            }
        }
    }

    static func run(_ folder: ScratchFolder, input: String, output: String, mode: ResizeMode) -> BatchReport {
        let options = BatchOptions(inputs: [folder.path(input)], outputDirectory: folder.path(output),
                                   outputs: [ResizeSettings(mode: mode)], jobs: 2)
        let runner = BatchRunner(options: options, codecs: Codecs.all)
        return runner.run(runner.plan())
    }

    /// Every file below `relative`, by relative path, with its bytes.
    static func contents(_ folder: ScratchFolder, _ relative: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for path in folder.files(under: relative) {
            files[path] = try Data(contentsOf: URL(fileURLWithPath: folder.path("\(relative)/\(path)")))
        }
        return files
    }

    @Test func twoBatchesAtOnceGiveWhatEachGivesAlone() async throws {
        let folder = try ScratchFolder()
        try Self.inputs(folder, "a", count: 12, seed: 1)
        try Self.inputs(folder, "b", count: 24, seed: 100)
        let alone = (Self.run(folder, input: "a", output: "alone-a", mode: .fit(width: 120, height: 120)),
                     Self.run(folder, input: "b", output: "alone-b", mode: .width(90)))
        #expect(alone.0.summary.written == 12 && alone.1.summary.written == 24)

        // The short run ends while the long one is writing: its end must not touch the other's files.
        async let first = Task.detached { Self.run(folder, input: "a", output: "together-a", mode: .fit(width: 120, height: 120)) }.value
        async let second = Task.detached { Self.run(folder, input: "b", output: "together-b", mode: .width(90)) }.value
        let (reportA, reportB) = await (first, second)
        #expect(reportA.summary.written == 12 && reportA.summary.failed == 0, "\(reportA.files.compactMap(\.error))")
        #expect(reportB.summary.written == 24 && reportB.summary.failed == 0, "\(reportB.files.compactMap(\.error))")
        #expect(try Self.contents(folder, "together-a") == Self.contents(folder, "alone-a"))
        #expect(try Self.contents(folder, "together-b") == Self.contents(folder, "alone-b"))
        #expect(!folder.files().contains { $0.hasSuffix(AtomicFile.temporarySuffix) })
    }

    /// One run's end removes its own unfinished temporaries and leaves another run's alone.
    @Test func aRunRemovesOnlyItsOwnTemporaries() throws {
        let folder = try ScratchFolder()
        let mine = TemporaryFiles(), theirs = TemporaryFiles()
        let abandoned = AtomicFile.Pending(path: folder.path("out/mine.png"), temporaries: mine)
        let writing = AtomicFile.Pending(path: folder.path("out/theirs.png"), temporaries: theirs)
        for file in [abandoned, writing] { _ = [UInt8]("bytes".utf8).withUnsafeBytes { file.append($0) } }
        #expect(mine.count == 1 && theirs.count == 1)
        mine.removeAll()
        #expect(folder.files(under: "out").count == 1)
        #expect(try writing.commit(overwrite: false, commit: { true }) == .written)
        #expect(try String(contentsOfFile: folder.path("out/theirs.png"), encoding: .utf8) == "bytes")
        #expect(theirs.count == 0)
    }
}
