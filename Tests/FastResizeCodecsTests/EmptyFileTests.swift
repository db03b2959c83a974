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
