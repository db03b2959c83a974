// TIFFCodec: the first page of a TIFF through libtiff: 16-bit gray/RGB(A) as stored, everything else via its RGBA interface.

internal import CCodecShims
import FastResize

/// Decodes a TIFF's first page: 16-bit unsigned gray or RGB(A) at 16 bits, CMYK and CIELAB through
/// lcms2, every other layout
/// libtiff knows (palette, bilevel, CMYK, YCbCr, JPEG-in-TIFF, ...) to 8-bit RGB or RGBA.
public struct TIFFDecoder: ImageDecoding {
    public init() {}

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        let header = try Self.header(data)
        var metadata = ImageMetadata(orientation: Orientation(exifValue: Int(header.orientation)))
        metadata.iccProfile = header.icc
        metadata.xmp = header.xmp
        return ImageInfo(format: .tiff, width: Int(header.info.width), height: Int(header.info.height),
                         hasAlpha: header.info.has_alpha != 0, metadata: metadata)
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

    private func decodePage(_ data: UnsafeRawBufferPointer) throws(CodecError) -> (image: PixelBuffer, inSRGB: Bool) {
        let header = try Self.header(data)
        let width = Int(header.info.width), height = Int(header.info.height)
        if header.info.sixteen_bit_direct != 0 {
            var image = PixelBuffer(width: width, height: height, format: PixelFormat(channelCount: Int(header.info.samples_per_pixel)),
                                    bitDepth: 16, pixels: try Self.samples(data, count: width * height * Int(header.info.samples_per_pixel) * 2))
            if header.info.alpha_premultiplied != 0 { Self.unpremultiply16(&image) }
            return (image, false)
        }
        // CMYK through its profile (or the fallback CMYK profile), as for JPEG.
        if header.info.cmyk_direct != 0, let profile = header.icc ?? LittleCMS.shared.fallbackCMYKProfile,
           let rgb = LittleCMS.shared.convertCMYK(try Self.samples(data, count: width * height * 4), width: width,
                                                  height: height, kind: .normal, profile: profile) {
            return (rgb, true)
        }
        // CIELAB through lcms2 (libtiff's own Lab conversion is approximate).
        if header.info.lab_direct != 0 {
            let bitDepth = Int(header.info.bits_per_sample)
            let samples = try Self.samples(data, count: width * height * 3 * bitDepth / 8)
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
        Self.unpremultiply(&image)
        return (image, false)
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

    /// libtiff hands alpha images back premultiplied; the pipeline works with straight alpha.
    static func unpremultiply(_ image: inout PixelBuffer) {
        image.pixels.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i < p.count {
                let alpha = Int(p[i + 3])
                if alpha != 0 && alpha != 255 {
                    for c in 0..<3 { p[i + c] = UInt8(min(255, (Int(p[i + c]) * 255 + alpha / 2) / alpha)) }
                }
                i += 4
            }
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
