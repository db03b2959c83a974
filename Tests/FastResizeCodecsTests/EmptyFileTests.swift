// EmptyFileTests: a 0-byte file says it is empty; the summary's rate counts images written.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct EmptyFileTests {
    /// A 0-byte file said "content is not JPEG, PNG, …": it says it is empty — a failure when named
    /// on the command line or when its name claims an image, left alone otherwise.
    @Test func anEmptyFileSaysSo() throws {
        let folder = try ScratchFolder()
        try folder.write([], to: "in/a.jpg")
        try folder.write([], to: "in/notes.txt")
        try folder.write([], to: "other/named.txt")
        let options = BatchOptions(inputs: [folder.path("in"), folder.path("other/named.txt")], outputDirectory: folder.path("out"),
                                   outputs: [ResizeSettings(mode: .width(10))])
        let planned = BatchRunner(options: options, codecs: Codecs.all).plan()
        let actions = Dictionary(planned.map { ("\($0.input.isExplicit ? "named " : "")\($0.input.relativePath)", $0.action) }) { a, _ in a }
        #expect(actions["a.jpg"] == .fail(.empty))
        #expect(actions["notes.txt"] == .notImage)
        #expect(actions["named named.txt"] == .fail(.empty))
        #expect(FileError.empty.description == "empty file (0 bytes)" && FileError.empty.kind == .corrupt)
    }

    /// The rate counts images written: failures are not work done, and a run with nothing to do reads 0.
    @Test func theRateCountsImagesWritten() {
        func file(_ status: FileReport.Status) -> FileReport { FileReport(input: "x", status: status, outputs: [], ms: 1) }
        #expect(BatchReport(files: [file(.written), file(.written), file(.failed)], seconds: 1).summary.imagesPerSecond == 2)
        #expect(BatchReport(files: [file(.skipped)], seconds: 1).summary.imagesPerSecond == 0)
    }
}

@Suite struct SkippedOutputTests {
    /// After a --fit 100x100 run, one at --fit 300x300 reported the skipped output as 300x200,
    /// 0 bytes: it reports the file on disk.
    @Test func aSkippedOutputIsReportedAsItIsOnDisk() throws {
        let folder = try ScratchFolder()
        try folder.write(JPEGEncoder().encode(TestImages.smooth(width: 600, height: 400, format: .rgb), options: EncodeOptions()),
                         to: "in/a.jpg")
        func run(_ mode: ResizeMode, format: ImageFormat = .jpeg) -> BatchReport {
            var options = BatchOptions(inputs: [folder.path("in")], outputDirectory: folder.path("out"),
                                       outputs: [ResizeSettings(mode: mode, format: .fixed(format))])
            options.fsync = false
            let runner = BatchRunner(options: options, codecs: Codecs.all)
            return runner.run(runner.plan())
        }
        #expect(run(.fit(width: 100, height: 100)).summary.written == 1)
        let again = try #require(run(.fit(width: 300, height: 300)).files.first?.outputs.first)
        let size = try FileManager.default.attributesOfItem(atPath: folder.path("out/a.jpg"))[.size] as? Int
        #expect(again.status == .skipped)
        #expect(again.width == 100 && again.height == 67 && again.format == .jpeg)
        #expect(again.bytes == size && again.bytes > 0)
    }
}
