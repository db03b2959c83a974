// OutputLimitTests: outputs larger than --max-pixels or than their format holds are refused from the plan — in a batch when planned, in the library before decoding.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct OutputLimitTests {
    static func planned(_ settings: ResizeSettings, maxPixels: Int = FilePipeline.defaultMaxPixels) throws -> PlannedFile {
        let folder = try ScratchFolder()
        try folder.write(JPEGEncoder().encode(TestImages.smooth(width: 60, height: 40, format: .rgb), options: EncodeOptions()),
                         to: "in/a.jpg")
        var options = BatchOptions(inputs: [folder.path("in")], outputDirectory: folder.path("out"), outputs: [settings])
        options.maxPixels = maxPixels
        return try #require(BatchRunner(options: options, codecs: Codecs.all).plan().first)
    }

    /// `--width 100000 --enlarge` ran until the timeout; it is refused when planned.
    @Test func anOutputOverThePixelLimitFailsWhenPlanned() throws {
        let file = try Self.planned(ResizeSettings(mode: .width(100_000), enlarge: true))
        let expected = FileError.outputTooLarge(width: 100_000, height: 66_667,
                                                reason: "more than --max-pixels allows (\(FilePipeline.defaultMaxPixels))")
        #expect(file.action == .fail(expected))
        #expect(expected.kind == .tooLarge)
        #expect(file.outputs.first?.width == 100_000 && file.outputs.first?.height == 66_667)
    }

    /// libjpeg's 65,500-pixel side was found only after decoding and resizing.
    @Test func anOutputPastItsFormatsLargestSideFailsWhenPlanned() throws {
        let jpeg = try Self.planned(ResizeSettings(mode: .width(70_000), enlarge: true, format: .fixed(.jpeg)), maxPixels: 1 << 40)
        #expect(jpeg.action == .fail(.outputTooLarge(width: 70_000, height: 46_667, reason: "more than JPEG holds (65500 on a side)")))
        let webp = try Self.planned(ResizeSettings(mode: .width(20_000), enlarge: true, format: .fixed(.webp)), maxPixels: 1 << 40)
        #expect(webp.action == .fail(.outputTooLarge(width: 20_000, height: 13_333, reason: "more than WebP holds (16383 on a side)")))
        let png = try Self.planned(ResizeSettings(mode: .width(20_000), enlarge: true, format: .fixed(.png)), maxPixels: 1 << 40)
        #expect(png.action == .process)
    }

    /// A library caller rendering such a plan gets the same error, before anything is decoded
    /// (the bytes here are not even an image past their header).
    @Test func aLibraryRenderIsRefusedBeforeDecoding() throws {
        let bytes = try JPEGEncoder().encode(TestImages.smooth(width: 60, height: 40, format: .rgb), options: EncodeOptions())
        let pipeline = FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: .scale(1e300), enlarge: true))
        let info = try pipeline.inspect(Data(bytes))
        let truncated = Data(bytes.prefix(200))
        #expect(throws: FileError.outputTooLarge(width: ResizeMode.largestSide, height: ResizeMode.largestSide,
                                                 reason: "more than --max-pixels allows (\(FilePipeline.defaultMaxPixels))")) {
            try pipeline.render(truncated, info: info)
        }
    }
}
