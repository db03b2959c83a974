// StreamingDecodeTests: JPEG and PNG decoded row by row through the pipeline give the bytes whole decoding gives.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

/// The same decoder without its row interface, so the pipeline decodes the whole picture.
private struct WholeDecoder: ImageDecoding {
    let base: any ImageDecoding
    func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo { try base.probe(data) }
    func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer { try base.decode(data) }
    func decode(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int) throws(CodecError) -> DecodedImage {
        try base.decode(data, shrinkingBy: factor)
    }
}

@Suite struct StreamingDecodeTests {
    static func both(_ data: Data, _ mode: ResizeMode) throws -> (streamed: PixelBuffer, whole: PixelBuffer) {
        var whole = Codecs.all
        whole.decoders = whole.decoders.mapValues { WholeDecoder(base: $0) }
        let settings = ResizeSettings(mode: mode)
        return (try FilePipeline(codecs: Codecs.all, settings: settings).resized(data),
                try FilePipeline(codecs: whole, settings: settings).resized(data))
    }

    /// DCT scaling, the row-wise box pre-shrink and crops: the same bytes either way.
    @Test(arguments: [ResizeMode.fit(width: 100, height: 100), .fit(width: 37, height: 37), .scale(0.7),
                      .fill(width: 50, height: 20, gravity: .southeast), .scale(1)])
    func jpegAndPNGStreamTheSame(_ mode: ResizeMode) throws {
        let image = TestImages.pattern(width: 613, height: 411, format: .rgb, seed: 8)
        let jpeg = Data(try JPEGEncoder().encode(image, options: EncodeOptions(quality: 92)))
        let png = Data(try PNGEncoder().encode(image, options: EncodeOptions()))
        let alpha = Data(try PNGEncoder().encode(TestImages.pattern(width: 300, height: 200, format: .rgba), options: EncodeOptions()))
        let gray = Data(try PNGEncoder().encode(TestImages.pattern(width: 300, height: 200, format: .gray), options: EncodeOptions()))
        for (name, data) in [("jpeg", jpeg), ("png", png), ("rgba png", alpha), ("gray png", gray)] {
            let (streamed, whole) = try Self.both(data, mode)
            #expect(streamed == whole, "\(name) \(mode)")
        }
    }

    /// A truncated file still fails, with the decoder's reason, when read row by row.
    @Test func truncationFailsWhileStreaming() throws {
        let image = TestImages.pattern(width: 400, height: 300, format: .rgb)
        for bytes in [try JPEGEncoder().encode(image, options: EncodeOptions()), try PNGEncoder().encode(image, options: EncodeOptions())] {
            let cut = Data(bytes.prefix(bytes.count * 2 / 3))
            let pipeline = FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: .fit(width: 50, height: 50)))
            #expect(throws: FileError.self) { try pipeline.resized(cut) }
        }
    }
}
