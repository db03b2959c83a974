// RenderModeTests: the path a file takes (decoded by rows, whole or by frames; encoded from rows, whole or as an animation) is decided in one place, and the budget and the report read the same decision.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct RenderModeTests {
    static func pipeline(_ format: ImageFormat, _ mode: ResizeMode = .width(200)) -> FilePipeline {
        FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: mode, format: .fixed(format)))
    }

    /// An animated GIF written as PNG is its first frame: decoded and encoded whole, and
    /// budgeted as one frame (it was budgeted as all of them).
    @Test func anAnimationWrittenStillIsBudgetedAsOneFrame() {
        let animated = ImageInfo(format: .gif, width: 400, height: 300, hasAlpha: true, frameCount: 40)
        let still = ImageInfo(format: .gif, width: 400, height: 300, hasAlpha: true, frameCount: 1)
        let png = Self.pipeline(.png)
        #expect(png.renderPlan(for: animated).decode == .whole)
        #expect(png.renderPlan(for: animated).encode != .animation)
        #expect(png.renderPlan(for: animated).memoryNeed == png.renderPlan(for: still).memoryNeed)
        let gif = Self.pipeline(.gif)
        #expect(gif.renderPlan(for: animated).decode == .frames && gif.renderPlan(for: animated).encode == .animation)
        #expect(gif.renderPlan(for: animated).memoryNeed > 5 * gif.renderPlan(for: still).memoryNeed)
    }

    @Test func streamedFilesAndOutputs() {
        let jpeg = ImageInfo(format: .jpeg, width: 4000, height: 3000, hasAlpha: false, streamsRows: true)
        #expect(Self.pipeline(.jpeg).renderPlan(for: jpeg).decode == .rows)
        #expect(Self.pipeline(.jpeg).renderPlan(for: jpeg).encode == .rows)
        #expect(Self.pipeline(.png).renderPlan(for: jpeg).encode == .rows)
        var linear = ResizeSettings(mode: .width(200), format: .fixed(.png))
        linear.linear = true
        #expect(FilePipeline(codecs: Codecs.all, settings: linear).renderPlan(for: jpeg).decode == .whole)
    }

    /// The report says which path each file and output took.
    @Test func theReportSaysThePath() throws {
        let folder = try ScratchFolder()
        try folder.write(try PNGEncoder().encode(TestImages.pattern(width: 300, height: 200, format: .rgb), options: EncodeOptions()),
                         to: "in/a.png")
        let frames = (0..<3).map { TestImages.pattern(width: 120, height: 90, format: .rgba, seed: UInt64($0)) }
        try folder.write(try GIFEncoder().encode(Animation(frames: frames, durations: [100, 100, 100], loopCount: 0),
                                                 options: EncodeOptions()), to: "in/b.gif")
        var options = BatchOptions(inputs: [folder.path("in")], outputDirectory: folder.path("out"),
                                   outputs: [ResizeSettings(mode: .width(60), format: .fixed(.png))], jobs: 1)
        options.fsync = false
        let runner = BatchRunner(options: options, codecs: Codecs.all)
        let report = runner.run(runner.plan())
        let png = try #require(report.files.first { $0.input.hasSuffix("a.png") })
        let gif = try #require(report.files.first { $0.input.hasSuffix("b.gif") })
        #expect(png.decode == .rows && png.outputs.first?.encode == .rows)
        #expect(gif.decode == .whole && gif.outputs.first?.encode == .whole)   // its first frame, made whole
    }
}
