// PNGCodec: PNG decoding and encoding through libspng.

internal import CCodecShims
internal import CSPNG
import FastResizePipeline
import FastResizePixels

/// Decodes PNG (every bit depth, palette, tRNS, interlacing) to gray, gray+alpha, RGB or RGBA:
/// 16-bit files at 16 bits, the others at 8.
public struct PNGDecoder: RowStreaming, LoggingDecoding {
    /// Where damage drawn past is told, and whether rows past damaged or missing data are drawn
    /// (transparent black) rather than failing the file.
    private var log: DecodeLog?
    private var toleratesTruncation = false

    public init() {}

    public func logging(to log: DecodeLog, toleratingTruncation: Bool) -> any ImageDecoding {
        var decoder = self
        decoder.log = log
        decoder.toleratesTruncation = toleratingTruncation
        return decoder
    }

    /// What a tolerant decode logs when the rows stop at `row`.
    private func damaged(at row: Int, of height: Int, status: Int32) {
        log?.warn("image data ends after row \(row) of \(height) (\(String(cString: spng_strerror(status)))); the rest is left blank")
    }

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        let context = try PNGContext(reading: data)
        let header = try context.header()
        let output = context.output(for: header)
        var info = ImageInfo(format: .png, width: Int(header.width), height: Int(header.height),
                             hasAlpha: context.hasAlpha(header), metadata: context.metadata(),
                             streamsRows: Self.streams(header, output: output), layout: output.layout, bitDepth: output.bitDepth)
        if output.narrowToGray {
            // Decoded as RGB(A), then narrowed to the gray it is.
            info.layout = output.layout.hasAlpha ? .grayAlpha : .gray
            info.decodeScratchPerPixel = output.layout.channelCount
        }
        return info
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        let context = try PNGContext(reading: data)
        let header = try context.header()
        let output = context.output(for: header)
        var image = PixelBuffer(uninitializedWidth: Int(header.width), height: Int(header.height), format: output.layout,
                                bitDepth: output.bitDepth)
        var size = 0
        try context.check(spng_decoded_image_size(context.pointer, Int32(output.format.rawValue), &size))
        guard size == image.pixels.count else { throw .decodeFailed(.png, "unexpected decoded size") }
        if toleratesTruncation && header.interlace_method == 0 {
            // Row by row, so what comes before damage is kept.
            try context.check(spng_decode_image(context.pointer, nil, 0, Int32(output.format.rawValue),
                                                Int32(SPNG_DECODE_TRNS.rawValue | SPNG_DECODE_PROGRESSIVE.rawValue)))
            let height = Int(header.height)
            image.pixels.withUnsafeMutableBytes { pixels in
                let rowBytes = pixels.count / height
                for row in 0..<height {
                    let status = spng_decode_row(context.pointer, pixels.baseAddress! + row * rowBytes, rowBytes)
                    if status != 0 && !(status == Int32(SPNG_EOI.rawValue) && row == height - 1) {
                        pixels.baseAddress!.advanced(by: row * rowBytes).initializeMemory(as: UInt8.self, repeating: 0,
                                                                                         count: (height - row) * rowBytes)
                        damaged(at: row, of: height, status: status)
                        break
                    }
                }
            }
            return output.narrowToGray ? image.converted(to: output.layout.hasAlpha ? .grayAlpha : .gray) : image
        }
        let status = image.pixels.withUnsafeMutableBytes { pixels in
            spng_decode_image(context.pointer, pixels.baseAddress, pixels.count, Int32(output.format.rawValue),
                              Int32(SPNG_DECODE_TRNS.rawValue))
        }
        try context.check(status)
        return output.narrowToGray ? image.converted(to: output.layout.hasAlpha ? .grayAlpha : .gray) : image
    }

    /// Whether `rowReader` streams this file.
    private static func streams(_ header: spng_ihdr, output: (format: spng_format, layout: PixelFormat, bitDepth: Int, narrowToGray: Bool)) -> Bool {
        output.bitDepth == 8 && !output.narrowToGray && header.interlace_method == 0
    }

    /// Rows through libspng's progressive decoding, for 8-bit-or-less files that are not
    /// interlaced and come out in one of our layouts (others are decoded whole).
    public func rowReader(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int,
                          releasingInput: Bool) throws(CodecError) -> (any RowReader)? {
        let cursor = PNGContext.Cursor(data)
        let context = try PNGContext(streaming: cursor)
        let header = try context.header()
        let output = context.output(for: header)
        guard Self.streams(header, output: output) else { return nil }
        let status = spng_decode_image(context.pointer, nil, 0, Int32(output.format.rawValue),
                                       Int32(SPNG_DECODE_TRNS.rawValue | SPNG_DECODE_PROGRESSIVE.rawValue))
        try context.check(status)
        return PNGRowReader(context: context, width: Int(header.width), height: Int(header.height), format: output.layout,
                            cursor: releasingInput ? cursor : nil,
                            damaged: toleratesTruncation ? { row, height, status in damaged(at: row, of: height, status: status) } : nil)
    }
}

/// Encodes any layout to PNG, at 8 or 16 bits, with the profile, EXIF and XMP it is given. Rows
/// can be handed over as they come (libspng's progressive encoding): the file is the same.
public struct PNGEncoder: RowEncoding {
    /// zlib level used when none is given: one below libpng's and libvips' 6. Measured on sharp's
    /// RGBA photo halved (workload 3) and on the corpus's PNGs halved, level 6 took a third more
    /// encoding time than 5 (zlib looks much further for matches there) for 1.1 to 1.6% fewer
    /// bytes; 4 saves little more and 3 gives up 18%. The outputs stay smaller than libvips' at 6.
    public static let defaultCompressionLevel = 5

    public init() {}

    public var acceptedFormats: Set<PixelFormat> { Set(PixelFormat.allCases) }

    public var writesSixteenBits: Bool { true }

    public func encode(_ image: PixelBuffer, options: EncodeOptions, metadata: ImageMetadata) throws(CodecError) -> [UInt8] {
        // 16-bit samples go in host order: libspng writes them big-endian itself.
        try image.encoded { sink throws(CodecError) in
            try PNGRowWriter(width: image.width, height: image.height, format: image.format, bitDepth: image.bitDepth,
                             options: options, metadata: metadata, sink: sink)
        }
    }

    /// Streaming costs nothing here: the same bytes come out.
    public func streamsRows(_ options: EncodeOptions) -> Bool { true }

    public func rowWriter(width: Int, height: Int, format: PixelFormat, options: EncodeOptions, metadata: ImageMetadata,
                          into sink: any ByteSink) throws(CodecError) -> any RowWriter {
        try PNGRowWriter(width: width, height: height, format: format, bitDepth: 8, options: options, metadata: metadata,
                         sink: sink)
    }
}

/// libspng's progressive encoder behind `RowWriter`, its bytes going to a `ByteSink` as made.
final class PNGRowWriter: RowWriter {
    private let pointer: OpaquePointer
    /// Kept alive here: libspng holds its pointer.
    private let sink: SinkContext
    private let rowBytes: Int
    private let height: Int
    private var rowsWritten = 0
    /// libspng may keep pointers to the chunk data until the image is written: copies held here.
    private var buffers: [UnsafeMutableBufferPointer<CChar>] = []

    init(width: Int, height: Int, format: PixelFormat, bitDepth: Int, options: EncodeOptions,
         metadata: ImageMetadata, sink: any ByteSink) throws(CodecError) {
        guard let pointer = spng_ctx_new(Int32(SPNG_CTX_ENCODER.rawValue)) else {
            throw .encodeFailed(.png, "cannot create encoder")
        }
        self.pointer = pointer
        self.sink = SinkContext(sink)
        rowBytes = width * format.channelCount * bitDepth / 8
        self.height = height
        let colorType: spng_color_type
        switch format {
        case .gray: colorType = SPNG_COLOR_TYPE_GRAYSCALE
        case .grayAlpha: colorType = SPNG_COLOR_TYPE_GRAYSCALE_ALPHA
        case .rgb: colorType = SPNG_COLOR_TYPE_TRUECOLOR
        case .rgba: colorType = SPNG_COLOR_TYPE_TRUECOLOR_ALPHA
        }
        var header = spng_ihdr(width: UInt32(width), height: UInt32(height), bit_depth: UInt8(bitDepth),
                               color_type: UInt8(colorType.rawValue), compression_method: 0,
                               filter_method: 0, interlace_method: 0)
        try check(spng_set_png_stream(pointer, { _, context, bytes, count in
            SinkContext.append(context, bytes, count) ? 0 : Int32(SPNG_IO_ERROR.rawValue)
        }, self.sink.pointer))
        try check(spng_set_ihdr(pointer, &header))
        try check(spng_set_option(pointer, SPNG_IMG_COMPRESSION_LEVEL,
                                  Int32(options.compressionLevel ?? PNGEncoder.defaultCompressionLevel)))
        // Adaptive filtering over all five filters costs several times more than it saves here;
        // Paeth alone compresses photographs and graphics well and is fast.
        try check(spng_set_option(pointer, SPNG_FILTER_CHOICE, Int32(SPNG_FILTER_CHOICE_PAETH.rawValue)))
        if let profile = metadata.iccProfile {
            var chunk = spng_iccp()
            withUnsafeMutableBytes(of: &chunk.profile_name) { name in name.copyBytes(from: "icc".utf8) }
            chunk.profile_len = profile.count
            chunk.profile = hold(profile).baseAddress
            try check(spng_set_iccp(pointer, &chunk))
        }
        if let exif = metadata.exif {
            var chunk = spng_exif(length: exif.count, data: hold(exif).baseAddress)
            try check(spng_set_exif(pointer, &chunk))
        }
        if let xmp = metadata.xmp {
            // iTXt needs a language tag and a translated keyword, both empty here.
            let empty = hold([])
            var chunk = spng_text()
            withUnsafeMutableBytes(of: &chunk.keyword) { name in name.copyBytes(from: PNGContext.xmpKeyword.utf8) }
            chunk.type = Int32(SPNG_ITXT.rawValue)
            chunk.length = xmp.count
            chunk.text = hold(xmp).baseAddress
            chunk.language_tag = empty.baseAddress
            chunk.translated_keyword = empty.baseAddress
            try check(spng_set_text(pointer, &chunk, 1))
        }
        try check(spng_encode_image(pointer, nil, 0, Int32(SPNG_FMT_PNG.rawValue),
                                    Int32(SPNG_ENCODE_PROGRESSIVE.rawValue | SPNG_ENCODE_FINALIZE.rawValue)))
    }

    deinit {
        spng_ctx_free(pointer)
        buffers.forEach { $0.deallocate() }
    }

    private func hold(_ bytes: [UInt8]) -> UnsafeMutableBufferPointer<CChar> {
        let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: bytes.count + 1)
        for (i, byte) in bytes.enumerated() { buffer[i] = CChar(bitPattern: byte) }
        buffer[bytes.count] = 0
        buffers.append(buffer)
        return buffer
    }

    private func check(_ status: Int32) throws(CodecError) {
        if status != 0 { throw .encodeFailed(.png, String(cString: spng_strerror(status))) }
    }

    func write(_ rows: UnsafePointer<UInt8>, count: Int) throws(CodecError) {
        guard rowsWritten + count <= height else { throw .encodeFailed(.png, "written past the last row") }
        for i in 0..<count {
            let status = spng_encode_row(pointer, rows + i * rowBytes, rowBytes)
            rowsWritten += 1
            // The last row ends the image: libspng says so with SPNG_EOI.
            if status == Int32(SPNG_EOI.rawValue) && rowsWritten == height { break }
            try check(status)
        }
    }

    /// The last row already ended the file (SPNG_ENCODE_FINALIZE): only the count is checked.
    func finish() throws(CodecError) {
        guard rowsWritten == height else {
            throw .encodeFailed(.png, "finished after \(rowsWritten) of \(height) rows")
        }
    }
}

/// libspng's progressive decoding behind `RowReader`.
final class PNGRowReader: RowReader {
    private let context: PNGContext
    let width: Int
    let height: Int
    let format: PixelFormat
    let scaleX = 1.0
    let scaleY = 1.0
    /// Where libspng is in the input, when pages behind it are to be given back.
    private let cursor: PNGContext.Cursor?
    private var rowsRead = 0
    private var released = 0
    /// Given, rows past damaged or missing data are blank and this is told where they stopped;
    /// else such a file fails.
    private let damaged: ((Int, Int, Int32) -> Void)?
    private var blank = false

    init(context: PNGContext, width: Int, height: Int, format: PixelFormat, cursor: PNGContext.Cursor?,
         damaged: ((Int, Int, Int32) -> Void)? = nil) {
        self.context = context
        self.width = width
        self.height = height
        self.format = format
        self.cursor = cursor
        self.damaged = damaged
    }

    func read(into target: UnsafeMutablePointer<UInt8>, rows count: Int) throws(CodecError) {
        let rowBytes = width * format.channelCount
        for row in 0..<count {
            if blank {
                (target + row * rowBytes).initialize(repeating: 0, count: rowBytes)
                continue
            }
            let status = spng_decode_row(context.pointer, target + row * rowBytes, rowBytes)
            // SPNG_EOI comes with the last row: the image data is complete.
            if status != 0 && !(status == Int32(SPNG_EOI.rawValue) && rowsRead + row == height - 1) {
                guard let damaged else { try context.check(status); continue }
                damaged(rowsRead + row, height, status)
                blank = true
                (target + row * rowBytes).initialize(repeating: 0, count: rowBytes)
            }
        }
        rowsRead += count
        // Everything before the read position has been copied out: give those pages back.
        if let cursor, let base = cursor.data.baseAddress, cursor.position - released > (1 << 20) {
            let start = base.assumingMemoryBound(to: UInt8.self)
            fr_release_pages(start, cursor.data.count, start + released, start + cursor.position)
            released = cursor.position
        }
    }
}

/// An spng decoding context over a caller-owned buffer, freed on deinit.
final class PNGContext {
    let pointer: OpaquePointer

    /// Where a streaming context has read up to, in the caller's buffer.
    final class Cursor {
        let data: UnsafeRawBufferPointer
        var position = 0
        init(_ data: UnsafeRawBufferPointer) { self.data = data }
    }

    private var cursor: Cursor?

    /// A context that pulls the file through a read callback, so `cursor` knows exactly how much
    /// of it libspng has consumed.
    init(streaming cursor: Cursor) throws(CodecError) {
        guard cursor.data.count >= 8, let pointer = spng_ctx_new(Int32(SPNG_CTX_IGNORE_ADLER32.rawValue)) else {
            throw .decodeFailed(.png, "file too short")
        }
        self.pointer = pointer
        self.cursor = cursor
        spng_set_chunk_limits(pointer, 8 << 20, 64 << 20)
        try check(spng_set_png_stream(pointer, { _, user, destination, length in
            let cursor = Unmanaged<Cursor>.fromOpaque(user!).takeUnretainedValue()
            guard length <= cursor.data.count - cursor.position, let destination else {
                return Int32(SPNG_IO_EOF.rawValue)
            }
            destination.copyMemory(from: cursor.data.baseAddress! + cursor.position, byteCount: length)
            cursor.position += length
            return 0
        }, Unmanaged.passUnretained(cursor).toOpaque()))
    }

    init(reading data: UnsafeRawBufferPointer) throws(CodecError) {
        // Adler-32 is not checked: every IDAT chunk's CRC-32 already is, and the zlib checksum over
        // the same bytes cost 6% of a PNG-to-PNG resize.
        guard data.count >= 8, let pointer = spng_ctx_new(Int32(SPNG_CTX_IGNORE_ADLER32.rawValue)) else {
            throw .decodeFailed(.png, "file too short")
        }
        self.pointer = pointer
        // Bound what ancillary chunks may take (a zTXt bomb must not inflate into memory).
        spng_set_chunk_limits(pointer, 8 << 20, 64 << 20)
        try check(spng_set_png_buffer(pointer, data.baseAddress, data.count))
    }

    deinit { spng_ctx_free(pointer) }

    func header() throws(CodecError) -> spng_ihdr {
        var header = spng_ihdr()
        try check(spng_get_ihdr(pointer, &header))
        return header
    }

    func hasAlpha(_ header: spng_ihdr) -> Bool {
        if header.color_type == UInt8(SPNG_COLOR_TYPE_GRAYSCALE_ALPHA.rawValue)
            || header.color_type == UInt8(SPNG_COLOR_TYPE_TRUECOLOR_ALPHA.rawValue) { return true }
        var transparency = spng_trns()
        return spng_get_trns(pointer, &transparency) == 0
    }

    func check(_ status: Int32) throws(CodecError) {
        if status != 0 { throw .decodeFailed(.png, String(cString: spng_strerror(status))) }
    }

    /// What libspng is asked for and what it gives. 8-bit files without palette or tRNS are
    /// already in one of our layouts: their rows are taken as stored (SPNG_FMT_PNG). Other files of
    /// up to 8 bits become G8 (gray without alpha), RGB8 or RGBA8 — gray with alpha among them,
    /// which is narrowed back to gray afterwards (`narrowToGray`). 16-bit files keep their 16 bits:
    /// as stored (in the machine's byte order), or RGBA16 when a tRNS chunk adds alpha.
    func output(for header: spng_ihdr) -> (format: spng_format, layout: PixelFormat, bitDepth: Int, narrowToGray: Bool) {
        let hasAlpha = hasAlpha(header)
        let native: [UInt8: PixelFormat] = [
            UInt8(SPNG_COLOR_TYPE_GRAYSCALE.rawValue): .gray, UInt8(SPNG_COLOR_TYPE_GRAYSCALE_ALPHA.rawValue): .grayAlpha,
            UInt8(SPNG_COLOR_TYPE_TRUECOLOR.rawValue): .rgb, UInt8(SPNG_COLOR_TYPE_TRUECOLOR_ALPHA.rawValue): .rgba,
        ]
        let stored = native[header.color_type]
        if header.bit_depth == 16 {
            let layout = stored ?? .rgba
            return layout.hasAlpha == hasAlpha ? (SPNG_FMT_PNG, layout, 16, false) : (SPNG_FMT_RGBA16, .rgba, 16, false)
        }
        if header.bit_depth == 8, let stored, stored.hasAlpha == hasAlpha { return (SPNG_FMT_PNG, stored, 8, false) }
        let isGray = stored?.isGray ?? false
        if isGray && !hasAlpha { return (SPNG_FMT_G8, .gray, 8, false) }
        return hasAlpha ? (SPNG_FMT_RGBA8, .rgba, 8, isGray) : (SPNG_FMT_RGB8, .rgb, 8, isGray)
    }

    /// The iTXt keyword under which Adobe's XMP specification stores the packet in PNG.
    static let xmpKeyword = "XML:com.adobe.xmp"

    /// iCCP, eXIf, XMP (iTXt) and ImageMagick's hex-encoded EXIF text. Damaged ancillary chunks
    /// are ignored: the picture matters more than its metadata.
    func metadata() -> ImageMetadata {
        var metadata = ImageMetadata()
        var profile = spng_iccp()
        if spng_get_iccp(pointer, &profile) == 0, let bytes = profile.profile, profile.profile_len > 0 {
            metadata.iccProfile = Array(UnsafeRawBufferPointer(start: bytes, count: profile.profile_len))
        }
        var exif = spng_exif()
        if spng_get_exif(pointer, &exif) == 0, let bytes = exif.data, exif.length > 0 {
            metadata.exif = EXIF.payload(UnsafeRawBufferPointer(start: bytes, count: exif.length))
        }
        var count: UInt32 = 0
        if spng_get_text(pointer, nil, &count) == 0, count > 0 {
            var texts = [spng_text](repeating: spng_text(), count: Int(count))
            if spng_get_text(pointer, &texts, &count) == 0 {
                for text in texts.prefix(Int(count)) {
                    guard let body = text.text else { continue }
                    let keyword = withUnsafeBytes(of: text.keyword) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    let bytes = Array(UnsafeRawBufferPointer(start: body, count: text.length))
                    if keyword == Self.xmpKeyword {
                        metadata.xmp = bytes
                    } else if metadata.exif == nil, keyword == "Raw profile type exif" || keyword == "Raw profile type APP1" {
                        metadata.exif = ContainerMetadata.imageMagickRawProfile(bytes)
                    }
                }
            }
        }
        return metadata.resolved()
    }
}
