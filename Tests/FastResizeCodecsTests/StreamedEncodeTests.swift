// StreamedEncodeTests: outputs encoded from rows as they are resized are the files whole encoding gives.

import FastResize
@testable import FastResizeCodecs
import Foundation
import Testing
import TestSupport

/// The same encoder without its row interface, so the pipeline encodes the whole output.
private struct WholeEncoder: ImageEncoding {
    let base: any ImageEncoding
    var acceptedFormats: Set<PixelFormat> { base.acceptedFormats }
    var writesSixteenBits: Bool { base.writesSixteenBits }
    func encode(_ image: PixelBuffer, options: EncodeOptions, metadata: ImageMetadata) throws(CodecError) -> [UInt8] {
        try base.encode(image, options: options, metadata: metadata)
    }
}

@Suite struct StreamedEncodeTests {
    /// Codecs.all, whose JPEG and PNG encoders take rows, and the same with whole encoders.
    static let streaming = Codecs.all
    static let whole: CodecRegistry = {
        var codecs = Codecs.all
        codecs.encoders = codecs.encoders.mapValues { WholeEncoder(base: $0) }
        return codecs
    }()

    static func render(_ data: Data, _ settings: ResizeSettings, threads: Int) throws -> (streamed: RenderedImage, whole: RenderedImage) {
        (try FilePipeline(codecs: streaming, settings: settings).render(data, threads: threads),
         try FilePipeline(codecs: whole, settings: settings).render(data, threads: threads))
    }

    static func decode(_ bytes: [UInt8]) throws -> PixelBuffer {
        try bytes.withUnsafeBytes { bytes in
            let format = try #require(Codecs.all.detect(Data(bytes.prefix(ImageFormat.headerLength))))
            return try #require(Codecs.all.decoders[format]).decode(bytes)
        }
    }

    /// PNG and JPEG outputs are the very same bytes (baseline JPEG keeps libjpeg's standard Huffman
    /// tables either way). Alpha flattened for JPEG, gray kept, crops, no resampling at all, one and
    /// two threads.
    @Test(arguments: [ResizeMode.fit(width: 100, height: 100), .fill(width: 50, height: 20, gravity: .southeast),
                      .scale(1), .scale(1.7)])
    func sameFilesAsWholeEncoding(_ mode: ResizeMode) throws {
        let inputs: [(String, Data)] = [
            ("rgb jpeg", Data(try JPEGEncoder().encode(TestImages.pattern(width: 613, height: 411, format: .rgb, seed: 8),
                                                       options: EncodeOptions(quality: 92)))),
            ("rgba png", Data(try PNGEncoder().encode(TestImages.pattern(width: 300, height: 200, format: .rgba),
                                                      options: EncodeOptions()))),
            ("gray png", Data(try PNGEncoder().encode(TestImages.pattern(width: 300, height: 201, format: .gray),
                                                      options: EncodeOptions()))),
        ]
        for (name, data) in inputs {
            for format in [ImageFormat.png, .jpeg] {
                var settings = ResizeSettings(mode: mode, enlarge: true, format: .fixed(format))
                settings.keepMetadata = true
                for threads in [1, 2] {
                    let (streamed, whole) = try Self.render(data, settings, threads: threads)
                    let label = "\(name) → \(format) \(mode) threads \(threads)"
                    #expect((streamed.width, streamed.height) == (whole.width, whole.height), "\(label)")
                    #expect(streamed.bytes == whole.bytes, "\(label)")
                }
            }
        }
    }

    /// A colour profile is applied to each group of rows as it comes: the same file as applying
    /// it to the whole output.
    @Test(.enabled(if: Corpus.folder != nil, Comment(rawValue: Corpus.missingReason)))
    func profilesConvertGroupByGroup() throws {
        let data = try Data(contentsOf: Corpus.folder!.appendingPathComponent("color/xmp_test.jpg"))
        let info = try FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: .scale(1))).inspect(data)
        let profile = try #require(info.metadata.iccProfile)
        #expect(!LittleCMS.shared.isSRGB(profile))
        let (streamed, whole) = try Self.render(data, ResizeSettings(mode: .fit(width: 300, height: 300), format: .fixed(.png)),
                                                threads: 2)
        #expect(streamed.bytes == whole.bytes)
    }

    /// Rows handed over in uneven counts make the file `encode` makes; a writer finished early,
    /// or given rows past the last, fails with the reason.
    @Test(arguments: [PixelFormat.gray, .rgb])
    func writersTakeRowsInAnyCounts(_ format: PixelFormat) throws {
        let image = TestImages.pattern(width: 97, height: 61, format: format, seed: 2)
        let metadata = ImageMetadata(orientation: .up, iccProfile: LittleCMS.shared.sRGBProfile,
                                     exif: TestImages.exifBlock(orientation: 1, bigEndian: false))
        let encoders: [(any RowEncoding, EncodeOptions)] = [(PNGEncoder(), EncodeOptions()),
                                                            (JPEGEncoder(), EncodeOptions(quality: 90))]
        for (encoder, options) in encoders {
            let buffer = ByteBuffer()
            let writer = try encoder.rowWriter(width: image.width, height: image.height, format: format, options: options,
                                               metadata: metadata, into: buffer)
            var row = 0
            for count in [1, 7, 16, 30, 7] {
                try image.pixels.withUnsafeBufferPointer { pixels in
                    try writer.write(pixels.baseAddress! + row * image.bytesPerRow, count: count)
                }
                row += count
            }
            try writer.finish()
            let streamed = buffer.bytes
            let whole = try encoder.encode(image, options: options, metadata: metadata)
            if encoder is PNGEncoder {
                #expect(streamed == whole)
            } else {
                #expect(try Self.decode(streamed) == Self.decode(whole))
            }
            #expect(try Codecs.all.detect(Data(streamed.prefix(ImageFormat.headerLength))).map { format in
                try Data(streamed).withUnsafeBytes { try Codecs.all.decoders[format]!.probe($0) }.metadata.exif != nil
            } == true)

            let early = try encoder.rowWriter(width: image.width, height: image.height, format: format, options: options,
                                              metadata: .none, into: ByteBuffer())
            try image.pixels.withUnsafeBufferPointer { try early.write($0.baseAddress!, count: 10) }
            #expect(throws: CodecError.self) { try early.finish() }
            let past = try encoder.rowWriter(width: image.width, height: 5, format: format, options: options, metadata: .none,
                                             into: ByteBuffer())
            #expect(throws: CodecError.self) {
                try image.pixels.withUnsafeBufferPointer { try past.write($0.baseAddress!, count: 6) }
            }
        }
    }

    /// A sink that stops taking bytes (a full disk) stops the encoder with an error.
    @Test func aRefusingSinkStopsTheEncoder() throws {
        final class Refusing: ByteSink {
            var taken = 0
            func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
                guard taken < 1000 else { return false }
                taken += bytes.count
                return true
            }
        }
        let image = TestImages.pattern(width: 400, height: 300, format: .rgb, seed: 4)
        for encoder in [PNGEncoder() as any RowEncoding, JPEGEncoder()] {
            let sink = Refusing()
            #expect(throws: CodecError.self) {
                let writer = try encoder.rowWriter(width: image.width, height: image.height, format: .rgb,
                                                   options: EncodeOptions(quality: 100), metadata: .none, into: sink)
                try image.pixels.withUnsafeBufferPointer { try writer.write($0.baseAddress!, count: image.height) }
                try writer.finish()
            }
        }
    }

    /// Progressive JPEG needs the whole picture's coefficients anyway, so it is not streamed;
    /// baseline JPEG and PNG always are.
    @Test func whatStreamsByDefault() {
        #expect(JPEGEncoder().streamsRows(EncodeOptions()))
        #expect(!JPEGEncoder().streamsRows(EncodeOptions(progressive: true)))
        #expect(PNGEncoder().streamsRows(EncodeOptions()))
    }
}

@Suite struct StreamedEncodeBudgetTests {
    /// The memory budget counts a group of rows and the encoded file for outputs encoded from
    /// rows, the whole output otherwise.
    @Test func needCountsWhatIsHeld() {
        let info = ImageInfo(format: .png, width: 8000, height: 6532, hasAlpha: false, streamsRows: true)
        let raw = 8000 * 6532 * 3          // the picture, RGB
        let streamed = FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: .scale(1), format: .fixed(.png)))
        #expect(streamed.renderPlan(for: info).memoryNeed < raw)
        var linear = ResizeSettings(mode: .scale(1), format: .fixed(.png))
        linear.linear = true
        #expect(FilePipeline(codecs: Codecs.all, settings: linear).renderPlan(for: info).memoryNeed > raw * 2)
        let webp = FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: .scale(1), format: .fixed(.webp)))
        #expect(webp.renderPlan(for: info).memoryNeed >= raw)
    }
}
