// EncoderDecoderTests: every encoder's output read back by our decoders, and damaged input refused cleanly.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct RoundTripTests {
    func decode(_ bytes: [UInt8], with decoder: any ImageDecoding) throws -> PixelBuffer {
        try bytes.withUnsafeBytes { try decoder.decode($0) }
    }

    @Test(arguments: PixelFormat.allCases)
    func pngIsLossless(format: PixelFormat) throws {
        let image = TestImages.pattern(width: 37, height: 23, format: format)
        for level in [0, 1, 6, 9] {
            let bytes = try PNGEncoder().encode(image, options: EncodeOptions(compressionLevel: level))
            #expect(Codecs.all.detect(bytes) == .png)
            #expect(try decode(bytes, with: PNGDecoder()) == image)
        }
    }

    @Test(arguments: [PixelFormat.gray, .rgb])
    func jpegKeepsLayoutAndQuality(format: PixelFormat) throws {
        let image = TestImages.smooth(width: 64, height: 48, format: format)
        let high = try JPEGEncoder().encode(image, options: EncodeOptions(quality: 95))
        let low = try JPEGEncoder().encode(image, options: EncodeOptions(quality: 20))
        let progressive = try JPEGEncoder().encode(image, options: EncodeOptions(quality: 95, progressive: true))
        #expect(low.count < high.count)
        let decoded = try decode(high, with: JPEGDecoder())
        #expect(decoded.format == format)
        #expect(TestImages.psnr(decoded, image) > 30)
        #expect(try decode(progressive, with: JPEGDecoder()).width == 64)
        // Progressive scans are marked by SOF2.
        #expect(progressive.indices.dropLast().contains { progressive[$0] == 0xFF && progressive[$0 + 1] == 0xC2 })
    }

    @Test func jpegScaledDecodeUsesDCTScaling() throws {
        let image = TestImages.pattern(width: 101, height: 60, format: .rgb)
        let bytes = try JPEGEncoder().encode(image, options: EncodeOptions(quality: 90))
        let half = try bytes.withUnsafeBytes { try JPEGDecoder().decode($0, scaleDenominator: 2).pixels }
        let eighth = try bytes.withUnsafeBytes { try JPEGDecoder().decode($0, scaleDenominator: 8).pixels }
        #expect((half.width, half.height) == (51, 30))
        #expect((eighth.width, eighth.height) == (13, 8))
    }

    @Test(arguments: [PixelFormat.rgb, .rgba])
    func webpLossyAndLossless(format: PixelFormat) throws {
        let image = TestImages.pattern(width: 50, height: 40, format: format)
        let lossy = try WebPEncoder().encode(image, options: EncodeOptions(quality: 90))
        let decodedLossy = try decode(lossy, with: WebPDecoder())
        #expect(decodedLossy.format == format)
        let lossless = try WebPEncoder().encode(image, options: EncodeOptions(lossless: true))
        let decoded = try decode(lossless, with: WebPDecoder())
        // Lossless WebP may rewrite the colour of fully transparent pixels; every visible pixel is exact.
        let channels = format.channelCount
        for p in 0..<(50 * 40) where !format.hasAlpha || image.pixels[p * channels + 3] != 0 {
            #expect(decoded.pixels[(p * channels)..<((p + 1) * channels)] == image.pixels[(p * channels)..<((p + 1) * channels)])
        }
        let opaque = TestImages.smooth(width: 50, height: 40, format: .rgb)
        let opaqueLossy = try decode(try WebPEncoder().encode(opaque, options: EncodeOptions(quality: 90)), with: WebPDecoder())
        #expect(TestImages.psnr(opaqueLossy, opaque) > 30)
    }

    @Test(arguments: [PixelFormat.rgb, .rgba])
    func avifReadsBackThroughLibheif(format: PixelFormat) throws {
        let image = TestImages.pattern(width: 48, height: 32, format: format)
        let bytes = try AVIFEncoder().encode(image, options: EncodeOptions(quality: 80))
        #expect(Codecs.all.detect(bytes) == .avif)
        let decoded = try decode(bytes, with: HEIFDecoder(format: .avif))
        #expect(decoded.format == format)
        #expect((decoded.width, decoded.height) == (48, 32))
        let opaque = TestImages.smooth(width: 48, height: 32, format: .rgb)
        let opaqueBytes = try AVIFEncoder().encode(opaque, options: EncodeOptions(quality: 90))
        #expect(TestImages.psnr(try decode(opaqueBytes, with: HEIFDecoder(format: .avif)), opaque) > 30)
    }

    @Test func probeReadsTheHeaderOnly() throws {
        let image = TestImages.pattern(width: 31, height: 17, format: .rgba)
        let png = try PNGEncoder().encode(image, options: EncodeOptions())
        let info = try png.withUnsafeBytes { try PNGDecoder().probe($0) }
        #expect(info == ImageInfo(format: .png, width: 31, height: 17, hasAlpha: true, streamsRows: true))
        let jpeg = try JPEGEncoder().encode(image.converted(to: .rgb), options: EncodeOptions())
        let jpegInfo = try jpeg.withUnsafeBytes { try JPEGDecoder().probe($0) }
        #expect(jpegInfo == ImageInfo(format: .jpeg, width: 31, height: 17, hasAlpha: false, streamsRows: true))
    }
}

@Suite struct DamagedInputTests {
    static let decoders: [(ImageFormat, any ImageDecoding, any ImageEncoding)] = [
        (.jpeg, JPEGDecoder(), JPEGEncoder()),
        (.png, PNGDecoder(), PNGEncoder()),
        (.webp, WebPDecoder(), WebPEncoder()),
        (.avif, HEIFDecoder(format: .avif), AVIFEncoder()),
    ]

    @Test func truncatedFilesFailWithTheFormatNamed() throws {
        let image = TestImages.pattern(width: 64, height: 64, format: .rgb)
        for (format, decoder, encoder) in Self.decoders {
            let bytes = try encoder.encode(image, options: EncodeOptions(quality: 90))
            let truncated = Array(bytes.prefix(bytes.count * 2 / 3))
            let result = truncated.withUnsafeBytes { bytes in
                Result { () throws(CodecError) in try decoder.decode(bytes) }
            }
            switch result {
            case .success:
                Issue.record("\(format) decoder accepted a truncated file")
            case .failure(let error):
                guard case .decodeFailed(let named, let reason) = error else {
                    Issue.record("unexpected error \(error)"); continue
                }
                #expect(named == format)
                #expect(!reason.isEmpty)
                #expect(error.description.hasPrefix("cannot decode \(format.displayName): "))
            }
        }
    }

    @Test func garbageAfterASignatureIsRefused() {
        var generator = SplitMix64(seed: 7)
        let signatures: [(ImageFormat, [UInt8])] = [
            (.jpeg, [0xFF, 0xD8, 0xFF]), (.png, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
            (.gif, Array("GIF89a".utf8)), (.tiff, [0x49, 0x49, 0x2A, 0x00]),
            (.webp, Array("RIFF".utf8) + [64, 0, 0, 0] + Array("WEBP".utf8)),
        ]
        let registry = Codecs.all
        for (format, signature) in signatures {
            for length in [0, 1, 16, 300] {
                let bytes = signature + (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                #expect(throws: CodecError.self, "\(format) with \(length) random bytes") {
                    _ = try bytes.withUnsafeBytes { try registry.decoders[format]!.decode($0) }
                }
            }
        }
    }
}

@Suite struct LibraryUseTests {
    /// The in-process use the README shows, kept compiling and correct here.
    @Test func renderAFileAsTheReadmeShows() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try JPEGEncoder().encode(TestImages.smooth(width: 1000, height: 500, format: .rgb),
                                                   options: EncodeOptions()), to: "photo.jpg")
        let settings = ResizeSettings(mode: .fit(width: 800, height: 800), format: .fixed(.webp))
        let pipeline = FilePipeline(codecs: Codecs.all, settings: settings)
        let output = try pipeline.render(try FilePipeline.readFile(scratch.path("photo.jpg")))
        #expect((output.width, output.height, output.format) == (800, 400, .webp))
        #expect(Codecs.all.detect(output.bytes) == .webp)
    }
}

@Suite struct PointSamplingTests {
    /// `nearest` must pick source pixels as they are, so no averaging shrink may run before it.
    @Test func nearestSkipsTheCheapShrinkSteps() throws {
        let image = TestImages.pattern(width: 800, height: 600, format: .rgb)
        let png = try PNGEncoder().encode(image, options: EncodeOptions(compressionLevel: 1))
        let settings = ResizeSettings(mode: .fit(width: 100, height: 75), filter: .nearest)
        let resized = try FilePipeline(codecs: Codecs.all, settings: settings).resized(Data(png))
        #expect(resized == ReferenceResizer.resize(image, width: 100, height: 75, filter: .nearest))
    }
}
