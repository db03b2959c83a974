// MultiOutputTests: a profile's outputs come from one decode of each input, each as its own settings say.

import FastResize
import FastResizeCodecs
import Foundation
import Synchronization
import Testing
import TestSupport

/// A decoder that counts how often the file is decoded (whole, streamed or frame by frame).
private final class CountingDecoder: RowStreaming, AnimationDecoding, @unchecked Sendable {
    let base: any ImageDecoding
    let decodes = Mutex(0)
    init(_ base: any ImageDecoding) { self.base = base }

    func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo { try base.probe(data) }
    func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        decodes.withLock { $0 += 1 }
        return try base.decode(data)
    }
    func decode(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int) throws(CodecError) -> DecodedImage {
        decodes.withLock { $0 += 1 }
        return try base.decode(data, shrinkingBy: factor)
    }
    func rowReader(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int,
                   releasingInput: Bool) throws(CodecError) -> (any RowReader)? {
        guard let streaming = base as? any RowStreaming,
              let reader = try streaming.rowReader(data, shrinkingBy: factor, releasingInput: releasingInput) else { return nil }
        decodes.withLock { $0 += 1 }
        return reader
    }
    func decodeFrames(_ data: UnsafeRawBufferPointer, _ body: (PixelBuffer, Int) -> Void) throws(CodecError) -> Int {
        decodes.withLock { $0 += 1 }
        return try (base as! any AnimationDecoding).decodeFrames(data, body)
    }
}

@Suite struct MultiOutputTests {
    static func outputs(_ codecs: CodecRegistry, linear withLinear: Bool = true) -> [FilePipeline] {
        var webp = ResizeSettings(mode: .width(320), format: .fixed(.webp))
        webp.quality = 70
        let thumb = ResizeSettings(mode: .fit(width: 100, height: 100), format: .fixed(.png))
        let square = ResizeSettings(mode: .fill(width: 64, height: 64, gravity: .north), format: .fixed(.jpeg))
        var linear = ResizeSettings(mode: .scale(0.5), format: .fixed(.png))
        linear.linear = true
        return (withLinear ? [webp, thumb, square, linear] : [webp, thumb, square]).map { FilePipeline(codecs: codecs, settings: $0) }
    }

    /// JPEG (by rows, or whole when an output wants linear light), 16-bit PNG (whole), RGBA PNG:
    /// every output from one decode, each the size and format its settings say, and close to what
    /// a run of that output alone makes.
    @Test(arguments: ["jpeg", "jpeg-rows", "png16", "rgba"])
    func everyOutputFromOneDecode(_ kind: String) throws {
        let data: Data
        switch kind {
        case "jpeg", "jpeg-rows":
            data = Data(try JPEGEncoder().encode(TestImages.smooth(width: 1200, height: 800, format: .rgb), options: EncodeOptions(quality: 95)))
        case "png16":
            data = Data(try PNGEncoder().encode(TestImages.smooth(width: 900, height: 600, format: .rgb).widened(),
                                                options: EncodeOptions()))
        default:
            data = Data(try PNGEncoder().encode(TestImages.smooth(width: 900, height: 600, format: .rgba), options: EncodeOptions()))
        }
        var codecs = Codecs.all
        let format = try #require(Codecs.all.detect(data.prefix(ImageFormat.headerLength)))
        let counting = CountingDecoder(codecs.decoders[format]!)
        codecs.decoders[format] = counting
        let pipelines = Self.outputs(codecs, linear: kind != "jpeg-rows")
        let info = try pipelines[0].inspect(data)
        let modes = FilePipeline.plan(for: info, outputs: pipelines).outputs.map(\.decode)
        #expect(modes.allSatisfy { $0 == (kind == "jpeg-rows" ? .rows : .whole) }, "\(kind): \(modes)")
        let rendered = try FilePipeline.render(data, info: info, outputs: pipelines, threads: 2).map { try $0.get() }
        #expect(counting.decodes.withLock { $0 } == 1, "\(kind)")
        for (pipeline, output) in zip(pipelines, rendered) {
            let plan = pipeline.plan(for: info)
            #expect((output.width, output.height) == (plan.width, plan.height), "\(kind) \(pipeline.settings.mode)")
            #expect(output.format == pipeline.settings.outputFormat(for: info, in: Codecs.all))
            let decoded = try Data(output.bytes).withUnsafeBytes { try Codecs.all.decoders[output.format]!.decode($0) }
            #expect((decoded.width, decoded.height) == (plan.width, plan.height))
            // Alone, the same output (decoded for itself): the same picture, up to the lossy codecs.
            let alone = try FilePipeline(codecs: Codecs.all, settings: pipeline.settings).render(data, info: info)
            let reference = try Data(alone.bytes).withUnsafeBytes { try Codecs.all.decoders[alone.format]!.decode($0) }
            #expect(TestImages.psnr(decoded.narrowed(), reference.narrowed()) >= 38, "\(kind) \(pipeline.settings.mode)")
        }
    }

    /// An animated GIF to an animated WebP and a still PNG of its first frame: one pass of frames
    /// feeds the animation, one decode the still.
    @Test func animationsAndStillsTogether() throws {
        let frames = (0..<4).map { TestImages.pattern(width: 120, height: 90, format: .rgba, seed: UInt64($0 + 1)) }
        let gif = try GIFEncoder().encode(Animation(frames: frames, durations: [100, 100, 100, 100], loopCount: 0),
                                          options: EncodeOptions())
        var codecs = Codecs.all
        let counting = CountingDecoder(codecs.decoders[.gif]!)
        codecs.decoders[.gif] = counting
        let animated = FilePipeline(codecs: codecs, settings: ResizeSettings(mode: .width(60), format: .fixed(.webp)))
        let still = FilePipeline(codecs: codecs, settings: ResizeSettings(mode: .width(30), format: .fixed(.png)))
        let info = try animated.inspect(Data(gif))
        let rendered = try FilePipeline.render(Data(gif), info: info, outputs: [animated, still]).map { try $0.get() }
        #expect(rendered[0].frames == 4 && rendered[0].width == 60)
        #expect(rendered[1].frames == 1 && rendered[1].width == 30)
        #expect(counting.decodes.withLock { $0 } == 2)
    }

    /// A file that cannot be decoded fails every output with the decoder's reason.
    @Test func aBrokenFileFailsEveryOutput() throws {
        let bytes = try JPEGEncoder().encode(TestImages.smooth(width: 300, height: 200, format: .rgb), options: EncodeOptions())
        let cut = Data(bytes.prefix(bytes.count / 2))
        let pipelines = Self.outputs(Codecs.all)
        let results = FilePipeline.render(cut, info: try pipelines[0].inspect(cut), outputs: pipelines)
        for result in results {
            #expect(throws: FileError.self) { try result.get() }
        }
    }
}
