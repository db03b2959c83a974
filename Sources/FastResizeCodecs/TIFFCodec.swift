// TIFFCodec: the first page of a TIFF through libtiff's RGBA interface (every photometric and compression it knows).

internal import CCodecShims
import FastResize

/// Decodes a TIFF's first page to RGB, or RGBA when it has an alpha channel.
public struct TIFFDecoder: ImageDecoding {
    public init() {}

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        var width: UInt32 = 0, height: UInt32 = 0
        var hasAlpha: Int32 = 0
        var message = ShimMessage()
        let status = message.withBuffer { text in
            fr_tiff_probe(data.bindMemory(to: UInt8.self).baseAddress, data.count, &width, &height, &hasAlpha, text)
        }
        guard status == 0 else { throw .decodeFailed(.tiff, message.text(or: "cannot read header")) }
        return ImageInfo(format: .tiff, width: Int(width), height: Int(height), hasAlpha: hasAlpha != 0)
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        let info = try probe(data)
        var image = PixelBuffer(width: info.width, height: info.height, format: .rgba)
        var message = ShimMessage()
        let status = image.pixels.withUnsafeMutableBytes { pixels in
            message.withBuffer { text in
                // libtiff packs each pixel as R | G << 8 | B << 16 | A << 24: on a little-endian
                // machine that is the byte order R, G, B, A, so it can fill our buffer directly.
                fr_tiff_decode_rgba(data.bindMemory(to: UInt8.self).baseAddress, data.count,
                                    pixels.bindMemory(to: UInt32.self).baseAddress, UInt32(info.width),
                                    UInt32(info.height), text)
            }
        }
        guard status == 0 else { throw .decodeFailed(.tiff, message.text(or: "cannot read image data")) }
        guard info.hasAlpha else { return image.converted(to: .rgb) }
        Self.unpremultiply(&image)
        return image
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
}
