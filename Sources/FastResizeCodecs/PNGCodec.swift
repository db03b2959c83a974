// PNGCodec: PNG decoding and encoding through libspng.

internal import CSPNG
import FastResize

/// Decodes PNG (every bit depth, palette, tRNS, interlacing) to 8-bit gray, gray+alpha, RGB or RGBA.
public struct PNGDecoder: ImageDecoding {
    public init() {}

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        let context = try PNGContext(reading: data)
        let header = try context.header()
        return ImageInfo(format: .png, width: Int(header.width), height: Int(header.height),
                         hasAlpha: context.hasAlpha(header))
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        let context = try PNGContext(reading: data)
        let header = try context.header()
        let hasAlpha = context.hasAlpha(header)
        let isGray = header.color_type == UInt8(SPNG_COLOR_TYPE_GRAYSCALE.rawValue)
            || header.color_type == UInt8(SPNG_COLOR_TYPE_GRAYSCALE_ALPHA.rawValue)
        // 8-bit files without palette or tRNS are already in one of our layouts: take the rows
        // as stored (SPNG_FMT_PNG), no conversion. Otherwise libspng converts to G8 (8-bit gray
        // without alpha), RGB8 or RGBA8; other gray images come out as RGB(A) and are narrowed below.
        let format: spng_format
        let layout: PixelFormat
        let native: [UInt8: PixelFormat] = [
            UInt8(SPNG_COLOR_TYPE_GRAYSCALE.rawValue): .gray, UInt8(SPNG_COLOR_TYPE_GRAYSCALE_ALPHA.rawValue): .grayAlpha,
            UInt8(SPNG_COLOR_TYPE_TRUECOLOR.rawValue): .rgb, UInt8(SPNG_COLOR_TYPE_TRUECOLOR_ALPHA.rawValue): .rgba,
        ]
        if header.bit_depth == 8, let stored = native[header.color_type], stored.hasAlpha == hasAlpha {
            format = SPNG_FMT_PNG; layout = stored
        } else if isGray && !hasAlpha && header.bit_depth <= 8 {
            format = SPNG_FMT_G8; layout = .gray
        } else if hasAlpha {
            format = SPNG_FMT_RGBA8; layout = .rgba
        } else {
            format = SPNG_FMT_RGB8; layout = .rgb
        }
        var size = 0
        try context.check(spng_decoded_image_size(context.pointer, Int32(format.rawValue), &size))
        var image = PixelBuffer(uninitializedWidth: Int(header.width), height: Int(header.height), format: layout)
        guard size == image.pixels.count else { throw .decodeFailed(.png, "unexpected decoded size") }
        let status = image.pixels.withUnsafeMutableBytes { pixels in
            spng_decode_image(context.pointer, pixels.baseAddress, pixels.count, Int32(format.rawValue),
                              Int32(SPNG_DECODE_TRNS.rawValue))
        }
        try context.check(status)
        if isGray && !layout.isGray {
            image = image.converted(to: hasAlpha ? .grayAlpha : .gray)
        }
        return image
    }
}

/// Encodes any 8-bit layout to PNG.
public struct PNGEncoder: ImageEncoding {
    /// zlib level used when none is given (the libpng/libvips default).
    public static let defaultCompressionLevel = 6

    public init() {}

    public var acceptedFormats: Set<PixelFormat> { Set(PixelFormat.allCases) }

    public func encode(_ image: PixelBuffer, options: EncodeOptions) throws(CodecError) -> [UInt8] {
        guard let pointer = spng_ctx_new(Int32(SPNG_CTX_ENCODER.rawValue)) else {
            throw .encodeFailed(.png, "cannot create encoder")
        }
        defer { spng_ctx_free(pointer) }
        let colorType: spng_color_type
        switch image.format {
        case .gray: colorType = SPNG_COLOR_TYPE_GRAYSCALE
        case .grayAlpha: colorType = SPNG_COLOR_TYPE_GRAYSCALE_ALPHA
        case .rgb: colorType = SPNG_COLOR_TYPE_TRUECOLOR
        case .rgba: colorType = SPNG_COLOR_TYPE_TRUECOLOR_ALPHA
        }
        var header = spng_ihdr(width: UInt32(image.width), height: UInt32(image.height), bit_depth: 8,
                               color_type: UInt8(colorType.rawValue), compression_method: 0,
                               filter_method: 0, interlace_method: 0)
        func check(_ status: Int32) throws(CodecError) {
            if status != 0 { throw .encodeFailed(.png, String(cString: spng_strerror(status))) }
        }
        try check(spng_set_option(pointer, SPNG_ENCODE_TO_BUFFER, 1))
        try check(spng_set_ihdr(pointer, &header))
        try check(spng_set_option(pointer, SPNG_IMG_COMPRESSION_LEVEL,
                                  Int32(options.compressionLevel ?? Self.defaultCompressionLevel)))
        // Adaptive filtering over all five filters costs several times more than it saves here;
        // Paeth alone compresses photographs and graphics well and is fast.
        try check(spng_set_option(pointer, SPNG_FILTER_CHOICE, Int32(SPNG_FILTER_CHOICE_PAETH.rawValue)))
        let status = image.pixels.withUnsafeBytes { pixels in
            spng_encode_image(pointer, pixels.baseAddress, pixels.count, Int32(SPNG_FMT_PNG.rawValue),
                              Int32(SPNG_ENCODE_FINALIZE.rawValue))
        }
        try check(status)
        var length = 0
        var error: Int32 = 0
        guard let buffer = spng_get_png_buffer(pointer, &length, &error) else {
            try check(error)
            throw .encodeFailed(.png, "no output")
        }
        defer { free(buffer) }
        return Array(UnsafeRawBufferPointer(start: buffer, count: length))
    }
}

/// An spng decoding context over a caller-owned buffer, freed on deinit.
private final class PNGContext {
    let pointer: OpaquePointer

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
}
