// WorkerProtocolTests: a worker answers requests that carry their own settings (no argv of the parent), and its failures come back typed.

@testable import FastResize
@testable import FastResizePipeline
@testable import FastResizePixels
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct WorkerProtocolTests {
    /// A worker served on a thread over two pipes, and the parent's end of the conversation.
    static func startWorker() -> LineChannel {
        var requests: [Int32] = [0, 0], replies: [Int32] = [0, 0]
        _ = pipe(&requests)
        _ = pipe(&replies)
        let (input, output) = (requests[0], replies[1])
        DetachedThread.start(name: "test") {
            BatchRunner.serveWorker(codecs: Codecs.all, input: input, output: output)
            close(input)
            close(output)
        }
        return LineChannel(input: replies[0], output: requests[1])
    }

    /// The parent plans an isolated file from the header its worker read: the same plan, memory
    /// need and all, as from the file itself (a 16-bit PNG with a colour profile).
    /// A library caller's far deadline (a timeout of 1e300 s) waits, rather than overflowing poll's milliseconds.
    @Test func aFarDeadlineWaitsForTheAnswer() throws {
        var ends: [Int32] = [0, 0]
        _ = pipe(&ends)
        let writer = LineChannel(input: -1, output: ends[1])
        var reader = LineChannel(input: ends[0], output: -1)
        defer { close(ends[0]); close(ends[1]) }
        #expect(writer.send(WorkerJob(BatchOptions(inputs: [], outputDirectory: "/out", outputs: [ResizeSettings(mode: .width(9))]))))
        let job = try reader.receive(WorkerJob.self, deadline: Date().addingTimeInterval(1e300)).get()
        #expect(job.outputDirectory == "/out")
    }

    @Test func aHeaderFromAWorkerPlansTheSame() throws {
        let picture = PixelBuffer(width: 300, height: 200, format: .rgb, bitDepth: 16)
        var metadata = ImageMetadata()
        metadata.iccProfile = LittleCMS.shared.sRGBProfile
        let bytes = try PNGEncoder().encode(picture, options: EncodeOptions(), metadata: metadata)
        let pipeline = FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: .width(100), format: .fixed(.webp)))
        let info = try pipeline.inspect(Data(bytes))
        let sent = try JSONDecoder().decode(WorkerHeader.self, from: JSONEncoder().encode(WorkerHeader(info))).info
        #expect(sent.layout == .rgb && sent.bitDepth == 16 && sent.metadata.iccProfile == info.metadata.iccProfile)
        #expect(info.metadata.iccProfile != nil)
        let (here, there) = (pipeline.renderPlan(for: info), pipeline.renderPlan(for: sent))
        #expect(here.memoryNeed == there.memoryNeed && here.decode == there.decode && here.encode == there.encode)
    }

    @Test func eachRequestIsMadeWithTheSettingsItCarries() throws {
        let folder = try ScratchFolder()
        try folder.write(JPEGEncoder().encode(TestImages.smooth(width: 400, height: 300, format: .rgb), options: EncodeOptions()),
                         to: "in/a.jpg")
        try folder.write([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], to: "in/broken.jpg")
        var channel = Self.startWorker()
        defer { close(channel.output); close(channel.input) }

        // Two runs' worth of settings through one worker: each output as its own request says.
        for (mode, format, size) in [(ResizeMode.width(100), ImageFormat.png, (100, 75)), (.fit(width: 60, height: 60), .webp, (60, 45))] {
            var options = BatchOptions(inputs: [], outputDirectory: folder.path("out-\(format)"),
                                       outputs: [ResizeSettings(mode: mode, format: .fixed(format))])
            options.fsync = false
            // The run makes its output folder before any file starts (where outputs land is checked on it).
            try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
            let planned = OutputRecord(path: folder.path("out-\(format)/a.\(format.fileExtension)"),
                                       width: size.0, height: size.1, format: format, bytes: 0)
            #expect(channel.send(WorkerRequest.render(input: folder.path("in/a.jpg"), outputs: [planned], job: WorkerJob(options))))
            guard case .encoded(let outputs, let failed, let stages) = try channel.receive(WorkerReply.self).get() else {
                Issue.record("not a render reply"); continue
            }
            #expect(failed.isEmpty, "\(failed.map(\.error))")
            #expect(outputs.count == 1 && outputs.first?.index == 0 && outputs.first?.format == format)
            #expect(stages[.decode] != nil && stages[.encode] != nil)
            // The file comes over the pipe, after the line; the worker wrote nothing.
            var file: [UInt8] = []
            try channel.receive(bytes: outputs[0].byteCount) { file.append(contentsOf: $0) }.get()
            #expect(!FileManager.default.fileExists(atPath: planned.path))
            let info = try file.withUnsafeBytes { try Codecs.all.decoders[format]!.probe($0) }
            #expect(info.width == size.0 && info.height == size.1)
        }

        // A header read with a pixel limit the request sets, and a corrupt file: typed failures.
        var small = BatchOptions(inputs: [], outputDirectory: folder.path("out"), outputs: [ResizeSettings(mode: .width(10))])
        small.maxPixels = 1000
        #expect(channel.send(WorkerRequest.header(input: folder.path("in/a.jpg"), job: WorkerJob(small))))
        guard case .failed(let refused) = try channel.receive(WorkerReply.self).get() else {
            Issue.record("the header read was not refused"); return
        }
        #expect(refused == .pixelLimit(width: 400, height: 300))
        #expect(refused.kind == .tooLarge)
        small.maxPixels = FilePipeline.defaultMaxPixels
        try FileManager.default.createDirectory(atPath: small.outputDirectory, withIntermediateDirectories: true)
        let output = OutputRecord(path: folder.path("out/broken.jpg"), width: 10, height: 10, format: .jpeg, bytes: 0)
        #expect(channel.send(WorkerRequest.render(input: folder.path("in/broken.jpg"), outputs: [output], job: WorkerJob(small))))
        // Failed as a whole (the header), or its one output failed: nothing comes back.
        let failure: FileError? = switch try channel.receive(WorkerReply.self).get() {
        case .failed(let error): error
        case .encoded(let made, let failed, _) where made.isEmpty && failed.map(\.index) == [0]: failed[0].error
        default: nil
        }
        #expect(failure?.kind == .corrupt, "\(String(describing: failure))")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    /// A worker is the side that may be subverted: one that answers for an output it was not
    /// asked for (here a script playing the worker) fails its file; the run neither crashes nor
    /// writes anything.
    @Test func aWorkerAnsweringOutOfTurnFailsItsFile() throws {
        let folder = try ScratchFolder()
        try folder.write(JPEGEncoder().encode(TestImages.smooth(width: 64, height: 48, format: .rgb), options: EncodeOptions()),
                         to: "in/a.jpg")
        let header = try JSONEncoder().encode(WorkerReply.header(WorkerHeader(
            try FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: .width(10))).inspect(Data(contentsOf: folder.url.appendingPathComponent("in/a.jpg"))))))
        let image = RenderedImage(bytes: [], width: 10, height: 8, format: .jpeg, webpMode: nil, frames: 1)
        let stray = try JSONEncoder().encode(WorkerReply.encoded(outputs: [WorkerOutput(index: 7, image: image, byteCount: 3)],
                                                                  failed: [], stages: [:]))
        // Answers the header request, then the render request with output 7 of 1, and its 3 bytes.
        try folder.write(Array("""
            read request; printf '%s\\n' '\(String(decoding: header, as: UTF8.self))'
            read request; printf '%s\\nabc' '\(String(decoding: stray, as: UTF8.self))'
            read request
            """.utf8), to: "worker.sh")
        var options = BatchOptions(inputs: [folder.path("in")], outputDirectory: folder.path("out"),
                                   outputs: [ResizeSettings(mode: .width(10))], jobs: 1)
        options.isolation = .all
        options.retries = 0
        options.workerCommand = ["/bin/sh", folder.path("worker.sh")]
        let runner = BatchRunner(options: options, codecs: Codecs.all)
        let report = runner.run(runner.plan())
        let file = try #require(report.files.first)
        #expect(file.status == .failed && file.errorKind == .crashed, "\(file)")
        #expect(file.error?.contains("not asked for") == true, "\(String(describing: file.error))")
        #expect(folder.files(under: "out").isEmpty)
    }
}
