// TIFFCodec: the first page of a TIFF through libtiff: 8-bit gray/RGB(A) row by row, 16-bit as stored, the rest via its RGBA interface.

internal import CCodecShims
import FastResizePipeline
import FastResizePixels

/// Decodes a TIFF's first page: 8-bit gray or RGB(A) (and JPEG-compressed YCbCr) strip by strip or
/// tile row by tile row, so they can stream; 16-bit unsigned gray or RGB(A) at 16 bits; CMYK and
/// CIELAB through lcms2; every other layout libtiff knows (palette, bilevel, YCbCr, ...) to 8-bit
/// RGB or RGBA through its RGBA interface.
public struct TIFFDecoder: RowStreaming {
    public init() {}

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        let header = try Self.header(data)
        var metadata = ImageMetadata(orientation: Orientation(exifValue: Int(header.orientation)))
        metadata.iccProfile = header.icc
        metadata.xmp = header.xmp
        var info = ImageInfo(format: .tiff, width: Int(header.info.width), height: Int(header.info.height),
                             hasAlpha: header.info.has_alpha != 0, metadata: metadata, streamsRows: header.info.streamable != 0)
        // The picture each way of decoding (see `decodePage`) hands over, and what it holds beside.
        let samples = Int(header.info.samples_per_pixel)
        if header.info.streamable != 0 {
            info.layout = PixelFormat(channelCount: samples)
        } else if header.info.sixteen_bit_direct != 0 {
            (info.layout, info.bitDepth) = (PixelFormat(channelCount: samples), 16)
        } else if header.info.cmyk_direct != 0 || header.info.lab_direct != 0 {
            info.decodeScratchPerPixel = samples * Int(header.info.bits_per_sample) / 8 + (samples == 5 ? 5 : 0)
        } else if header.info.has_alpha == 0 {
            info.decodeScratchPerPixel = 4      // libtiff's RGBA raster, converted to RGB
        }
        return info
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        try decodePage(data).image
    }

    /// The page, saying whether CMYK or CIELAB was already converted to sRGB here (so the pipeline
    /// does not apply the file's CMYK profile again).
    public func decode(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int) throws(CodecError) -> DecodedImage {
        let page = try decodePage(data)
        return DecodedImage(pixels: page.image, scaleX: 1, scaleY: 1, inSRGB: page.inSRGB)
    }

    /// The rows of an 8-bit gray or RGB(A) page as stored, or nil for the other layouts.
    public func rowReader(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int,
                          releasingInput: Bool) throws(CodecError) -> (any RowReader)? {
        let header = try Self.header(data)
        guard header.info.streamable != 0 else { return nil }
        return try TIFFRowReader(data, width: Int(header.info.width), height: Int(header.info.height),
                                 premultiplied: header.info.alpha_premultiplied != 0, releasingInput: releasingInput)
    }

    private func decodePage(_ data: UnsafeRawBufferPointer) throws(CodecError) -> (image: PixelBuffer, inSRGB: Bool) {
        let header = try Self.header(data)
        let width = Int(header.info.width), height = Int(header.info.height)
        if header.info.streamable != 0 {
            let reader = try TIFFRowReader(data, width: width, height: height,
                                           premultiplied: header.info.alpha_premultiplied != 0, releasingInput: false)
            var image = PixelBuffer(uninitializedWidth: width, height: height, format: reader.format)
            try image.pixels.withUnsafeMutableBufferPointer { pixels throws(CodecError) in
                try reader.read(into: pixels.baseAddress!, rows: height)
            }
            return (image, false)
        }
        if header.info.sixteen_bit_direct != 0 {
            var image = PixelBuffer(width: width, height: height, format: PixelFormat(channelCount: Int(header.info.samples_per_pixel)),
                                    bitDepth: 16, pixels: try Self.samples(data, count: width * height * Int(header.info.samples_per_pixel) * 2))
            if header.info.alpha_premultiplied != 0 { Self.unpremultiply16(&image) }
            return (image, false)
        }
        // CMYK through its profile (or the fallback CMYK profile), as for JPEG; an alpha channel
        // beside the inks is kept.
        if header.info.cmyk_direct != 0, let profile = header.icc ?? LittleCMS.shared.fallbackCMYKProfile {
            let channels = Int(header.info.samples_per_pixel)
            var samples = try Self.samples(data, count: width * height * channels)
            let held = PictureMeter.charge(samples.count)
            defer { withExtendedLifetime(held) {} }
            var alpha: [UInt8]?
            if channels == 5 {
                (samples, alpha) = Self.splitAlpha(samples, premultiplied: header.info.alpha_premultiplied != 0)
            }
            if let rgb = LittleCMS.shared.convertCMYK(samples, width: width, height: height, kind: .normal, profile: profile) {
                return (alpha.map { Self.joined(rgb, alpha: $0) } ?? rgb, true)
            }
        }
        // CIELAB through lcms2 (libtiff's own Lab conversion is approximate).
        if header.info.lab_direct != 0 {
            let bitDepth = Int(header.info.bits_per_sample)
            let samples = try Self.samples(data, count: width * height * 3 * bitDepth / 8)
            let held = PictureMeter.charge(samples.count)
            defer { withExtendedLifetime(held) {} }
            if let rgb = LittleCMS.shared.convertLab(samples, bitDepth: bitDepth, width: width, height: height) { return (rgb, true) }
        }
        var image = PixelBuffer(width: width, height: height, format: .rgba)
        var message = ShimMessage()
        let status = image.pixels.withUnsafeMutableBytes { pixels in
            message.withBuffer { text in
                // libtiff packs each pixel as R | G << 8 | B << 16 | A << 24: on a little-endian
                // machine that is the byte order R, G, B, A, so it can fill our buffer directly.
                fr_tiff_decode_rgba(data.bindMemory(to: UInt8.self).baseAddress, data.count,
                                    pixels.bindMemory(to: UInt32.self).baseAddress, UInt32(width),
                                    UInt32(height), text)
            }
        }
        guard status == 0 else { throw .decodeFailed(.tiff, message.text(or: "cannot read image data")) }
        guard header.info.has_alpha != 0 else { return (image.converted(to: .rgb), false) }
        image.pixels.withUnsafeMutableBufferPointer { Self.unpremultiply($0.baseAddress!, count: $0.count, channels: 4) }
        return (image, false)
    }

    /// CMYKA samples as four inks a pixel and the alphas apart; premultiplied (associated) inks
    /// are divided by their alpha first.
    private static func splitAlpha(_ cmyka: [UInt8], premultiplied: Bool) -> (cmyk: [UInt8], alpha: [UInt8]) {
        let count = cmyka.count / 5
        var cmyk = [UInt8](repeating: 0, count: count * 4)
        var alpha = [UInt8](repeating: 0, count: count)
        for pixel in 0..<count {
            let a = Int(cmyka[pixel * 5 + 4])
            alpha[pixel] = UInt8(a)
            for ink in 0..<4 {
                let value = Int(cmyka[pixel * 5 + ink])
                cmyk[pixel * 4 + ink] = premultiplied ? (a == 0 ? 0 : UInt8(min(255, (value * 255 + a / 2) / a))) : UInt8(value)
            }
        }
        return (cmyk, alpha)
    }

    /// RGB pixels with an alpha channel beside them.
    private static func joined(_ rgb: PixelBuffer, alpha: [UInt8]) -> PixelBuffer {
        var rgba = PixelBuffer(uninitializedWidth: rgb.width, height: rgb.height, format: .rgba)
        for pixel in 0..<alpha.count {
            rgba.pixels[pixel * 4] = rgb.pixels[pixel * 3]
            rgba.pixels[pixel * 4 + 1] = rgb.pixels[pixel * 3 + 1]
            rgba.pixels[pixel * 4 + 2] = rgb.pixels[pixel * 3 + 2]
            rgba.pixels[pixel * 4 + 3] = alpha[pixel]
        }
        return rgba
    }

    /// The page's samples as stored (for the layouts fr_tiff_decode_direct takes).
    private static func samples(_ data: UnsafeRawBufferPointer, count: Int) throws(CodecError) -> [UInt8] {
        var samples = [UInt8](unsafeUninitializedCapacity: count) { _, initialised in initialised = count }
        var message = ShimMessage()
        let status = samples.withUnsafeMutableBufferPointer { pixels in
            message.withBuffer { text in
                fr_tiff_decode_direct(data.bindMemory(to: UInt8.self).baseAddress, data.count, pixels.baseAddress,
                                      pixels.count, text)
            }
        }
        guard status == 0 else { throw .decodeFailed(.tiff, message.text(or: "cannot read image data")) }
        return samples
    }

    /// The header facts, with the metadata blocks copied out of libtiff's memory.
    private static func header(_ data: UnsafeRawBufferPointer) throws(CodecError)
        -> (info: fr_tiff_info, orientation: Int32, icc: [UInt8]?, xmp: [UInt8]?) {
        var info = fr_tiff_info()
        var message = ShimMessage()
        let status = message.withBuffer { text in
            fr_tiff_probe(data.bindMemory(to: UInt8.self).baseAddress, data.count, &info, text)
        }
        guard status == 0 else { throw .decodeFailed(.tiff, message.text(or: "cannot read header")) }
        defer {
            fr_free(info.icc)
            fr_free(info.xmp)
        }
        let icc = info.icc.map { Array(UnsafeBufferPointer(start: $0, count: Int(info.icc_size))) }
        let xmp = info.xmp.map { Array(UnsafeBufferPointer(start: $0, count: Int(info.xmp_size))) }
        return (info, info.orientation, icc, xmp)
    }

    /// Associated (premultiplied) alpha to the straight alpha the pipeline works with: libtiff's RGBA
    /// interface always premultiplies, and some files store it so.
    static func unpremultiply(_ p: UnsafeMutablePointer<UInt8>, count: Int, channels: Int) {
        var i = 0
        while i < count {
            let alpha = Int(p[i + channels - 1])
            if alpha != 0 && alpha != 255 {
                for c in 0..<(channels - 1) { p[i + c] = UInt8(min(255, (Int(p[i + c]) * 255 + alpha / 2) / alpha)) }
            }
            i += channels
        }
    }

    /// The same for 16-bit pages stored with associated alpha.
    static func unpremultiply16(_ image: inout PixelBuffer) {
        let channels = image.format.channelCount
        image.pixels.withUnsafeMutableBytes { raw in
            let p = raw.bindMemory(to: UInt16.self)
            var i = 0
            while i < p.count {
                let alpha = Int(p[i + channels - 1])
                if alpha != 0 && alpha != 65535 {
                    for c in 0..<(channels - 1) { p[i + c] = UInt16(min(65535, (Int(p[i + c]) * 65535 + alpha / 2) / alpha)) }
                }
                i += channels
            }
        }
    }
}

/// libtiff's strip/tile reading behind `RowReader` (fr_tiff_stream in the shim).
final class TIFFRowReader: RowReader {
    private let stream: OpaquePointer
    let width: Int
    let height: Int
    let format: PixelFormat
    var scaleX: Double { 1 }
    var scaleY: Double { 1 }
    private let premultiplied: Bool
    private let releasingInput: Bool

    init(_ data: UnsafeRawBufferPointer, width: Int, height: Int, premultiplied: Bool,
         releasingInput: Bool) throws(CodecError) {
        var samples: Int32 = 0
        var message = ShimMessage()
        let stream = message.withBuffer { text in
            fr_tiff_stream_open(data.bindMemory(to: UInt8.self).baseAddress, data.count, &samples, text)
        }
        guard let stream else { throw .decodeFailed(.tiff, message.text(or: "cannot read header")) }
        self.stream = stream
        self.width = width
        self.height = height
        format = PixelFormat(channelCount: Int(samples))
        self.premultiplied = premultiplied && format.hasAlpha
        self.releasingInput = releasingInput
    }

    deinit { fr_tiff_stream_close(stream) }

    func read(into target: UnsafeMutablePointer<UInt8>, rows count: Int) throws(CodecError) {
        try ShimMessage.decoding(.tiff, or: "cannot read image data") { text in
            fr_tiff_stream_read(stream, target, Int32(count), releasingInput ? 1 : 0, text)
        }
        if premultiplied {
            TIFFDecoder.unpremultiply(target, count: count * width * format.channelCount, channels: format.channelCount)
        }
    }
}
