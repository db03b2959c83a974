// JXLCodec: JPEG XL decoding and encoding through Debian's libjxl (BSD licence).

internal import CCodecShims
internal import CJXL
import FastResizePipeline
import FastResizePixels

extension ImageFormat {
    public static let jxl = ImageFormat("jxl", displayName: "JPEG XL")
}

extension Formats {
    /// A bare codestream (FF 0A) or the ISO-BMFF container ("JXL " box first). Read in a worker
    /// process by default: libjxl is young, and libvips marks its loader untrusted too.
    static let jxl = FormatDescription(format: .jxl, extensions: ["jxl"], isolatedByDefault: true, losslessByContent: true,
                                       encoderSettings: [.quality, .lossless]) {
        FormatDescription.bytes($0, start: [0xFF, 0x0A])
            || FormatDescription.bytes($0, start: [0, 0, 0, 0x0C, 0x4A, 0x58, 0x4C, 0x20, 0x0D, 0x0A, 0x87, 0x0A])
    }
}

/// Decodes the first frame of a JPEG XL file to 8-bit gray, gray+alpha, RGB or RGBA as libjxl
/// renders it (its colour profile, orientation and EXIF box kept as metadata for the pipeline).
public struct JXLDecoder: ImageDecoding {
    public init() {}

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        try JXLReading(data, pixels: false).info
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        try JXLReading(data, pixels: true).pixels!
    }
}

/// libjxl, opened on first use (lazy.c): nil when loaded, else why not.
private let jxlLoaded: String? = {
    var message = ShimMessage()
    guard message.withBuffer(fr_jxl_load) == 0 else {
        return "JPEG XL needs libjxl (Debian package libjxl0.7): " + message.text(or: "cannot load it")
    }
    return nil
}()

/// One pass of libjxl's decoder over a file: the header facts, the metadata, and the pixels when asked.
private struct JXLReading {
    var info: ImageInfo
    var pixels: PixelBuffer?

    init(_ data: UnsafeRawBufferPointer, pixels wanted: Bool) throws(CodecError) {
        if let missing = jxlLoaded { throw .unsupported(.jxl, missing) }
        guard let decoder = JxlDecoderCreate(nil) else { throw .decodeFailed(.jxl, "cannot create the decoder") }
        defer { JxlDecoderDestroy(decoder) }
        var events = JXL_DEC_BASIC_INFO.rawValue | JXL_DEC_COLOR_ENCODING.rawValue | JXL_DEC_BOX.rawValue
        if wanted { events |= JXL_DEC_FULL_IMAGE.rawValue }
        guard JxlDecoderSubscribeEvents(decoder, Int32(events)) == JXL_DEC_SUCCESS,
              JxlDecoderSetKeepOrientation(decoder, 1) == JXL_DEC_SUCCESS,     // the pipeline turns pictures
              JxlDecoderSetDecompressBoxes(decoder, 1) == JXL_DEC_SUCCESS,
              JxlDecoderSetInput(decoder, data.bindMemory(to: UInt8.self).baseAddress, data.count) == JXL_DEC_SUCCESS
        else { throw .decodeFailed(.jxl, "cannot start decoding") }
        JxlDecoderCloseInput(decoder)
        var basic = JxlBasicInfo()
        var metadata = ImageMetadata()
        var format = JxlPixelFormat(num_channels: 3, data_type: JXL_TYPE_UINT8, endianness: JXL_NATIVE_ENDIAN, align: 0)
        // libjxl writes boxes into this after the call that hands it over returns: memory of our own.
        let box = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
        defer { box.deallocate() }
        var exif: [UInt8] = []
        var readingExif = false
        var gotInfo = false

        /// Runs the decoder until it wants a buffer for the picture (true) or is done (false).
        func advance() throws(CodecError) -> Bool {
            while true {
                switch JxlDecoderProcessInput(decoder) {
                case JXL_DEC_ERROR:
                    throw .decodeFailed(.jxl, "corrupt or unsupported data")
                case JXL_DEC_NEED_MORE_INPUT:
                    // The whole file was given: the data ends early.
                    if gotInfo && !wanted { return false }
                    throw .decodeFailed(.jxl, "file is truncated")
                case JXL_DEC_BASIC_INFO:
                    guard JxlDecoderGetBasicInfo(decoder, &basic) == JXL_DEC_SUCCESS, basic.xsize > 0, basic.ysize > 0 else {
                        throw .decodeFailed(.jxl, "cannot read the image header")
                    }
                    gotInfo = true
                    metadata.orientation = Orientation(rawValue: Int(basic.orientation.rawValue)) ?? .up
                    format.num_channels = basic.num_color_channels + (basic.alpha_bits > 0 ? 1 : 0)
                case JXL_DEC_COLOR_ENCODING:
                    var size = 0
                    if JxlDecoderGetICCProfileSize(decoder, nil, JXL_COLOR_PROFILE_TARGET_DATA, &size) == JXL_DEC_SUCCESS, size > 0 {
                        var profile = [UInt8](repeating: 0, count: size)
                        if JxlDecoderGetColorAsICCProfile(decoder, nil, JXL_COLOR_PROFILE_TARGET_DATA, &profile, size) == JXL_DEC_SUCCESS {
                            metadata.iccProfile = profile
                        }
                    }
                case JXL_DEC_BOX:
                    if readingExif { exif += Self.released(decoder, box) }
                    var type: JxlBoxType = (0, 0, 0, 0)
                    readingExif = JxlDecoderGetBoxType(decoder, &type, 1) == JXL_DEC_SUCCESS
                        && [type.0, type.1, type.2, type.3].map { UInt8(bitPattern: $0) } == Array("Exif".utf8)
                    if readingExif {
                        exif = []
                        _ = JxlDecoderSetBoxBuffer(decoder, box.baseAddress!.assumingMemoryBound(to: UInt8.self), box.count)
                    }
                case JXL_DEC_BOX_NEED_MORE_OUTPUT:
                    // A large EXIF box: keep what came, and take the rest in the same buffer again.
                    exif += Self.released(decoder, box)
                    _ = JxlDecoderSetBoxBuffer(decoder, box.baseAddress!.assumingMemoryBound(to: UInt8.self), box.count)
                case JXL_DEC_NEED_IMAGE_OUT_BUFFER:
                    return true
                case JXL_DEC_FULL_IMAGE, JXL_DEC_SUCCESS:
                    // The first frame is enough.
                    return false
                default:
                    continue
                }
            }
        }

        if try advance() {
            // libjxl decodes straight into the picture's storage, during the rest of the run
            // (so that rest runs while the storage is lent out), not into a buffer copied after.
            let layout: PixelFormat = switch format.num_channels {
            case 1: .gray
            case 2: .grayAlpha
            case 3: .rgb
            default: .rgba
            }
            var size = 0
            guard JxlDecoderImageOutBufferSize(decoder, &format, &size) == JXL_DEC_SUCCESS,
                  size == Int(basic.xsize) * Int(basic.ysize) * layout.channelCount else {
                throw .decodeFailed(.jxl, "unexpected picture size")
            }
            var image = PixelBuffer(uninitializedWidth: Int(basic.xsize), height: Int(basic.ysize), format: layout)
            var failure: CodecError?
            image.pixels.withUnsafeMutableBytes { bytes in
                guard JxlDecoderSetImageOutBuffer(decoder, &format, bytes.baseAddress, bytes.count) == JXL_DEC_SUCCESS else {
                    failure = .decodeFailed(.jxl, "cannot decode into the picture")
                    return
                }
                do throws(CodecError) {
                    if try advance() { failure = .decodeFailed(.jxl, "asked twice for the picture's buffer") }
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            pixels = image
        }
        if readingExif { exif += Self.released(decoder, box) }
        // JPEG XL's Exif box starts with a 4-byte offset to the TIFF header.
        if exif.count > 4 {
            let offset = Int(exif[0]) << 24 | Int(exif[1]) << 16 | Int(exif[2]) << 8 | Int(exif[3])
            if offset + 4 < exif.count { metadata.exif = EXIF.payload(exif[(4 + offset)...]) }
        }
        guard gotInfo else { throw .decodeFailed(.jxl, "no image header") }
        guard !wanted || pixels != nil else { throw .decodeFailed(.jxl, "no picture") }
        info = ImageInfo(format: .jxl, width: Int(basic.xsize), height: Int(basic.ysize), hasAlpha: basic.alpha_bits > 0,
                         metadata: metadata.resolved())
    }

    /// What libjxl wrote into the box buffer since it was handed over.
    private static func released(_ decoder: OpaquePointer, _ box: UnsafeMutableRawBufferPointer) -> [UInt8] {
        let unused = JxlDecoderReleaseBoxBuffer(decoder)
        return Array(box.prefix(box.count - unused))
    }
}

/// Encodes gray or RGB, with or without alpha, to JPEG XL: lossy at libvips' mapping of quality
/// to butteraugli distance, or lossless; the colour profile and EXIF it is given are kept.
public struct JXLEncoder: ImageEncoding {
    /// Quality when none is given, as libvips' jxlsave has it.
    public static let defaultQuality = 75
    /// libjxl's effort (1 fastest … 9 slowest), libvips' default.
    public static let effort = 7

    public init() {}

    public var acceptedFormats: Set<PixelFormat> { Set(PixelFormat.allCases) }

    /// libvips' mapping (after cjxl's): quality 100 is distance 0.1, 90 is 1.0 (visually lossless), 75 is 2.35.
    public static func distance(quality: Int) -> Float {
        let q = Float(quality)
        return q >= 30 ? 0.1 + (100 - q) * 0.09 : 53.0 / 3000.0 * q * q - 23.0 / 20.0 * q + 25.0
    }

    public func encode(_ image: PixelBuffer, options: EncodeOptions, metadata: ImageMetadata) throws(CodecError) -> [UInt8] {
        if let missing = jxlLoaded { throw .encodeFailed(.jxl, missing) }
        guard let encoder = JxlEncoderCreate(nil) else { throw .encodeFailed(.jxl, "cannot create the encoder") }
        defer { JxlEncoderDestroy(encoder) }
        func check(_ status: JxlEncoderStatus, _ what: String) throws(CodecError) {
            guard status == JXL_ENC_SUCCESS else { throw .encodeFailed(.jxl, what) }
        }
        let channels = image.format.channelCount
        let alpha = image.format.hasAlpha
        var basic = JxlBasicInfo()
        JxlEncoderInitBasicInfo(&basic)
        basic.xsize = UInt32(image.width)
        basic.ysize = UInt32(image.height)
        basic.bits_per_sample = 8
        basic.num_color_channels = image.format.isGray ? 1 : 3
        basic.alpha_bits = alpha ? 8 : 0
        basic.num_extra_channels = alpha ? 1 : 0
        // Lossless and kept profiles need the pixels' own colour space, not libjxl's XYB.
        basic.uses_original_profile = options.lossless || metadata.iccProfile != nil ? 1 : 0
        if metadata.exif != nil { try check(JxlEncoderUseBoxes(encoder), "cannot add boxes") }
        try check(JxlEncoderSetBasicInfo(encoder, &basic), "unsupported picture (\(image.width) x \(image.height))")
        if let profile = metadata.iccProfile {
            try check(profile.withUnsafeBufferPointer { JxlEncoderSetICCProfile(encoder, $0.baseAddress, $0.count) },
                      "cannot embed the colour profile")
        } else {
            var color = JxlColorEncoding()
            JxlColorEncodingSetToSRGB(&color, image.format.isGray ? 1 : 0)
            try check(JxlEncoderSetColorEncoding(encoder, &color), "cannot set sRGB")
        }
        if let exif = metadata.exif {
            // The box holds a 4-byte offset to the TIFF header first (0: it follows at once).
            let box = [0, 0, 0, 0] + exif
            let added = box.withUnsafeBufferPointer { contents in
                "Exif".withCString { type in JxlEncoderAddBox(encoder, type, contents.baseAddress, contents.count, 0) }
            }
            try check(added, "cannot add the EXIF box")
            JxlEncoderCloseBoxes(encoder)
        }
        guard let settings = JxlEncoderFrameSettingsCreate(encoder, nil) else { throw .encodeFailed(.jxl, "out of memory") }
        try check(JxlEncoderFrameSettingsSetOption(settings, JXL_ENC_FRAME_SETTING_EFFORT, Int64(Self.effort)), "bad effort")
        if options.lossless {
            try check(JxlEncoderSetFrameLossless(settings, 1), "cannot encode lossless")
        } else {
            try check(JxlEncoderSetFrameDistance(settings, Self.distance(quality: options.quality ?? Self.defaultQuality)),
                      "bad quality")
        }
        var format = JxlPixelFormat(num_channels: UInt32(channels), data_type: JXL_TYPE_UINT8, endianness: JXL_NATIVE_ENDIAN,
                                    align: 0)
        let pixels = image.bitDepth == 16 ? image.narrowed() : image
        try check(pixels.pixels.withUnsafeBytes { JxlEncoderAddImageFrame(settings, &format, $0.baseAddress, $0.count) },
                  "cannot take the picture")
        JxlEncoderCloseInput(encoder)
        var output = [UInt8](repeating: 0, count: max(4096, image.width * image.height * channels / 4))
        var written = 0
        while true {
            var status = JXL_ENC_ERROR
            output.withUnsafeMutableBufferPointer { buffer in
                var next: UnsafeMutablePointer<UInt8>? = buffer.baseAddress! + written
                var available = buffer.count - written
                status = JxlEncoderProcessOutput(encoder, &next, &available)
                written = buffer.count - available
            }
            if status == JXL_ENC_SUCCESS { break }
            guard status == JXL_ENC_NEED_MORE_OUTPUT else { throw .encodeFailed(.jxl, "encoding failed") }
            output.append(contentsOf: [UInt8](repeating: 0, count: output.count))
        }
        return Array(output.prefix(written))
    }
}
