// JPEGCodec: JPEG decoding and encoding through libjpeg-turbo, via the setjmp shim.

internal import CCodecShims
import FastResizePipeline
import FastResizePixels

/// Decodes JPEG to gray or RGB. CMYK and YCCK become sRGB through their embedded profile (lcms2),
/// else through the fallback CMYK profile, else by the plain formula.
public struct JPEGDecoder: RowStreaming, LoggingDecoding {
    /// Where damage drawn past is told, and whether data that ends early is drawn past (grey).
    private var log: DecodeLog?
    private var toleratesTruncation = false
    /// Files libjpeg would make from DC terms alone at 1/8 scale are decoded by the shims' DC
    /// decoder (the same pixels, faster); off, libjpeg decodes them, as the tests compare.
    var decodesDCTermsItself = true

    public init() {}

    public func logging(to log: DecodeLog, toleratingTruncation: Bool) -> any ImageDecoding {
        var decoder = self
        decoder.log = log
        decoder.toleratesTruncation = toleratingTruncation
        return decoder
    }

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        let info = try header(data, scaleDenominator: 1)
        let metadata = ContainerMetadata.jpeg(data)
        // CMYK with a profile (its own or the fallback) is converted whole (see rowReader).
        let convertedWhole = info.cmyk != 0 && Self.cmykProfile(metadata) != nil
        var probed = ImageInfo(format: .jpeg, width: Int(info.width), height: Int(info.height), hasAlpha: false,
                               metadata: metadata, streamsRows: !convertedWhole, layout: info.components == 1 ? .gray : .rgb)
        // CMYK converted whole: the four inks a pixel, then RGB.
        if convertedWhole { probed.decodeScratchPerPixel = 4 }
        return probed
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        try decode(data, scaleDenominator: 1).pixels
    }

    /// Shrinks by the largest of 8, 4 or 2 that is at most `factor`, in the inverse DCT (libjpeg's
    /// scaled decoding): the decoder does less work and the resampler gets up to 64× fewer pixels.
    public func decode(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int) throws(CodecError) -> DecodedImage {
        try decode(data, scaleDenominator: DecoderShrink.powersOfTwo.divisor(for: factor))
    }

    /// Decodes at 1/`scaleDenominator` of the stored size (1, 2, 4 or 8), using libjpeg's DCT scaling:
    /// every row of the same stream the row reader gives, into one buffer.
    public func decode(_ data: UnsafeRawBufferPointer, scaleDenominator: Int) throws(CodecError) -> DecodedImage {
        let scale = 1 / Double(scaleDenominator)
        var reader = try open(data, scaleDenominator: scaleDenominator, rawCMYK: false, releasingInput: false)
        if reader.isCMYK, let profile = Self.cmykProfile(ContainerMetadata.jpeg(data)) {
            reader = try open(data, scaleDenominator: scaleDenominator, rawCMYK: true, releasingInput: false)
            let cmyk = try reader.readAll()
            let held = PictureMeter.charge(cmyk.count)
            defer { withExtendedLifetime(held) {} }
            if let rgb = LittleCMS.shared.convertCMYK(cmyk, width: reader.width, height: reader.height,
                                                       kind: reader.adobeInverted ? .inverted : .normal, profile: profile) {
                return DecodedImage(pixels: rgb, scaleX: scale, scaleY: scale, inSRGB: true)
            }
            // lcms2 could not use the profile: the plain formula, as for CMYK without one.
            reader = try open(data, scaleDenominator: scaleDenominator, rawCMYK: false, releasingInput: false)
        }
        let image = PixelBuffer(width: reader.width, height: reader.height, format: reader.format, pixels: try reader.readAll())
        return DecodedImage(pixels: image, scaleX: scale, scaleY: scale, inSRGB: reader.isCMYK)
    }

    /// Rows as libjpeg produces them; CMYK files with a profile are decoded whole instead (their
    /// conversion goes through lcms2 on the full picture).
    public func rowReader(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int,
                          releasingInput: Bool) throws(CodecError) -> (any RowReader)? {
        let reader = try open(data, scaleDenominator: DecoderShrink.powersOfTwo.divisor(for: factor), rawCMYK: false,
                              releasingInput: releasingInput)
        return reader.isCMYK && Self.cmykProfile(ContainerMetadata.jpeg(data)) != nil ? nil : reader
    }

    /// The profile CMYK samples are converted through: the file's own, else the fallback one.
    private static func cmykProfile(_ metadata: ImageMetadata) -> [UInt8]? {
        metadata.iccProfile ?? LittleCMS.shared.fallbackCMYKProfile
    }

    private func open(_ data: UnsafeRawBufferPointer, scaleDenominator: Int, rawCMYK: Bool,
                      releasingInput: Bool) throws(CodecError) -> JPEGRowReader {
        var info = fr_jpeg_info()
        var message = ShimMessage()
        let stream = message.withBuffer { text in
            fr_jpeg_stream_open(data.bindMemory(to: UInt8.self).baseAddress, data.count, Int32(scaleDenominator),
                                rawCMYK ? 1 : 0, toleratesTruncation ? 1 : 0, decodesDCTermsItself ? 1 : 0, &info, text)
        }
        guard let stream else { throw .decodeFailed(.jpeg, message.text(or: "cannot read header")) }
        let reader = JPEGRowReader(stream: stream, info: info, scale: 1 / Double(scaleDenominator), releasingInput: releasingInput,
                                   log: log)
        guard info.width > 0 && info.height > 0 else { throw .decodeFailed(.jpeg, "image has no pixels") }
        return reader
    }

    private func header(_ data: UnsafeRawBufferPointer, scaleDenominator: Int) throws(CodecError) -> fr_jpeg_info {
        var info = fr_jpeg_info()
        var message = ShimMessage()
        let status = message.withBuffer { text in
            fr_jpeg_probe(data.bindMemory(to: UInt8.self).baseAddress, data.count, Int32(scaleDenominator), &info, text)
        }
        guard status == 0 else { throw .decodeFailed(.jpeg, message.text(or: "cannot read header")) }
        guard info.width > 0 && info.height > 0 else { throw .decodeFailed(.jpeg, "image has no pixels") }
        return info
    }
}

/// libjpeg's scanline decoding behind `RowReader`.
final class JPEGRowReader: RowReader {
    private let stream: OpaquePointer
    let width: Int
    let height: Int
    let scaleX: Double
    let scaleY: Double
    /// Samples per pixel as delivered: 1, 3, or 4 for CMYK as stored.
    let components: Int
    let isCMYK: Bool
    let adobeInverted: Bool
    private let releasingInput: Bool
    private let log: DecodeLog?
    private var rowsRead = 0

    init(stream: OpaquePointer, info: fr_jpeg_info, scale: Double, releasingInput: Bool, log: DecodeLog?) {
        self.log = log
        self.stream = stream
        width = Int(info.width)
        height = Int(info.height)
        components = Int(info.components)
        isCMYK = info.cmyk != 0
        adobeInverted = info.adobe_inverted != 0
        scaleX = scale
        scaleY = scale
        self.releasingInput = releasingInput
    }

    /// Gray or RGB (a raw CMYK stream is only read whole, by `readAll`).
    var format: PixelFormat { components == 1 ? .gray : .rgb }

    /// Every row, `components` samples a pixel.
    func readAll() throws(CodecError) -> [UInt8] {
        let count = width * height * components
        var samples = [UInt8](unsafeUninitializedCapacity: count) { _, initialised in initialised = count }
        try samples.withUnsafeMutableBufferPointer { buffer throws(CodecError) in
            try read(into: buffer.baseAddress!, rows: height)
        }
        return samples
    }

    deinit { fr_jpeg_stream_close(stream) }

    /// Whether the shims' DC decoder made every row read so far (libjpeg did not take over).
    var decodedDCTerms: Bool { fr_jpeg_stream_decoded_dc_terms(stream) != 0 }

    func read(into target: UnsafeMutablePointer<UInt8>, rows count: Int) throws(CodecError) {
        try ShimMessage.decoding(.jpeg, or: "cannot read image data") { text in
            fr_jpeg_stream_read(stream, target, Int32(count), releasingInput ? 1 : 0, text)
        }
        rowsRead += count
        // Once the picture is read, what libjpeg warned about on the way (pictures are always
        // read to their last row).
        if let log, rowsRead == height {
            var message = ShimMessage()
            if message.withBuffer({ text in fr_jpeg_stream_warning(stream, text) }) != 0 {
                log.warn(message.text(or: "damaged data"))
            }
        }
    }
}

/// Encodes gray or RGB to baseline (or progressive) JPEG with the EXIF (APP1), XMP (APP1) and ICC
/// profile (APP2) it is given. Baseline files keep libjpeg's standard Huffman tables, as libvips
/// and Pillow write them: optimising the tables takes a second pass over every coefficient, which
/// cost a 682x557 output 2.6 times the encoding time for 1.0 to 1.4% fewer bytes, and it would stop
/// the output being encoded from rows as they are resized. Progressive files, which hold every
/// coefficient anyway, get optimised tables.
public struct JPEGEncoder: RowEncoding {
    /// Quality when none is given, as libvips and sharp have it.
    public static let defaultQuality = 80

    public init() {}

    public var acceptedFormats: Set<PixelFormat> { [.gray, .rgb] }

    public func encode(_ image: PixelBuffer, options: EncodeOptions, metadata: ImageMetadata) throws(CodecError) -> [UInt8] {
        precondition(acceptedFormats.contains(image.format) && image.bitDepth == 8, "JPEG takes 8-bit gray or RGB")
        return try image.encoded { sink throws(CodecError) in
            try JPEGRowWriter(width: image.width, height: image.height, format: image.format, options: options,
                              optimizeCoding: options.progressive, metadata: metadata, sink: sink)
        }
    }

    /// Baseline files are written from rows as they come; progressive ones need every coefficient.
    public func streamsRows(_ options: EncodeOptions) -> Bool {
        !options.progressive
    }

    public func rowWriter(width: Int, height: Int, format: PixelFormat, options: EncodeOptions, metadata: ImageMetadata,
                          into sink: any ByteSink) throws(CodecError) -> any RowWriter {
        precondition(acceptedFormats.contains(format), "JPEG takes 8-bit gray or RGB")
        return try JPEGRowWriter(width: width, height: height, format: format, options: options,
                                 optimizeCoding: options.progressive, metadata: metadata, sink: sink)
    }
}

/// libjpeg's compressor behind `RowWriter` (the shim keeps its setjmp).
final class JPEGRowWriter: RowWriter {
    private let writer: OpaquePointer
    /// Kept alive here: the shim holds its pointer.
    private let sink: SinkContext

    init(width: Int, height: Int, format: PixelFormat, options: EncodeOptions, optimizeCoding: Bool,
         metadata: ImageMetadata, sink: any ByteSink) throws(CodecError) {
        let quality = options.quality ?? JPEGEncoder.defaultQuality
        let context = SinkContext(sink)
        var message = ShimMessage()
        let writer = message.withBuffer { text in
            withMetadataBlocks(metadata) { blocks in
                fr_jpeg_writer_open(Int32(width), Int32(height), Int32(format.channelCount), Int32(quality),
                                    options.progressive ? 1 : 0, optimizeCoding ? 1 : 0, blocks,
                                    { context, bytes, count in SinkContext.append(context, bytes, count) ? 0 : 1 },
                                    context.pointer, text)
            }
        }
        guard let writer else { throw .encodeFailed(.jpeg, message.text(or: "cannot start the encoder")) }
        self.writer = writer
        self.sink = context
    }

    deinit { fr_jpeg_writer_close(writer) }

    func write(_ rows: UnsafePointer<UInt8>, count: Int) throws(CodecError) {
        try ShimMessage.encoding(.jpeg, or: "cannot write rows") { text in
            fr_jpeg_writer_write(writer, rows, Int32(count), text)
        }
    }

    func finish() throws(CodecError) {
        try ShimMessage.encoding(.jpeg, or: "cannot finish the file") { text in fr_jpeg_writer_finish(writer, text) }
    }
}

extension PixelBuffer {
    /// The whole picture through a row writer made by `writer` (encoders encode whole pictures
    /// this way, so each format has one way to encode), its bytes kept in memory.
    func encoded(_ writer: (any ByteSink) throws(CodecError) -> any RowWriter) throws(CodecError) -> [UInt8] {
        let buffer = ByteBuffer()
        let rows = try writer(buffer)
        try pixels.withUnsafeBufferPointer { samples throws(CodecError) in try rows.write(samples.baseAddress!, count: height) }
        try rows.finish()
        return buffer.bytes
    }
}

/// A `ByteSink` behind a C callback's context pointer (the encoder's owner keeps it alive).
final class SinkContext {
    let sink: any ByteSink

    init(_ sink: any ByteSink) { self.sink = sink }

    var pointer: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// What the C callbacks call: the bytes handed to the sink behind `context`.
    static func append(_ context: UnsafeMutableRawPointer?, _ bytes: UnsafeRawPointer?, _ count: Int) -> Bool {
        guard let context else { return false }
        return Unmanaged<SinkContext>.fromOpaque(context).takeUnretainedValue().sink
            .append(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}

/// Hands the shim pointers to the metadata blocks, valid for the duration of `body`.
func withMetadataBlocks<R>(_ metadata: ImageMetadata, _ body: (UnsafePointer<fr_metadata>) -> R) -> R {
    let exif = metadata.exif ?? [], xmp = metadata.xmp ?? [], icc = metadata.iccProfile ?? []
    return exif.withUnsafeBufferPointer { exif in
        xmp.withUnsafeBufferPointer { xmp in
            icc.withUnsafeBufferPointer { icc in
                var blocks = fr_metadata(exif: exif.baseAddress, exif_size: exif.count, xmp: xmp.baseAddress,
                                         xmp_size: xmp.count, icc: icc.baseAddress, icc_size: icc.count)
                return body(&blocks)
            }
        }
    }
}

/// A fixed buffer the C shims write their failure messages into.
struct ShimMessage {
    private var storage = [CChar](repeating: 0, count: Int(FR_MESSAGE_SIZE))

    mutating func withBuffer<R>(_ body: (UnsafeMutablePointer<CChar>) -> R) -> R {
        storage.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    /// Runs a shim call that fills the message on failure (a non-zero status): the decode error
    /// for `format`, in the shim's words, else `fallback`.
    static func decoding(_ format: ImageFormat, or fallback: String,
                         _ call: (UnsafeMutablePointer<CChar>) -> Int32) throws(CodecError) {
        try run(call) { text in .decodeFailed(format, text.isEmpty ? fallback : text) }
    }

    /// The same for an encoder's call.
    static func encoding(_ format: ImageFormat, or fallback: String,
                         _ call: (UnsafeMutablePointer<CChar>) -> Int32) throws(CodecError) {
        try run(call) { text in .encodeFailed(format, text.isEmpty ? fallback : text) }
    }

    private static func run(_ call: (UnsafeMutablePointer<CChar>) -> Int32,
                            failure: (String) -> CodecError) throws(CodecError) {
        var message = ShimMessage()
        guard message.withBuffer(call) == 0 else { throw failure(message.text(or: "")) }
    }

    func text(or fallback: String) -> String {
        let text = storage.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return text.isEmpty ? fallback : text
    }
}
