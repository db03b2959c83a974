// JPEGCodec: JPEG decoding and encoding through libjpeg-turbo, via the setjmp shim.

internal import CCodecShims
import FastResize

/// Decodes JPEG to gray or RGB (CMYK and YCCK are converted to RGB).
public struct JPEGDecoder: ImageDecoding {
    public init() {}

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        let info = try header(data, scaleDenominator: 1)
        return ImageInfo(format: .jpeg, width: Int(info.width), height: Int(info.height), hasAlpha: false)
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        try decode(data, scaleDenominator: 1)
    }

    /// Shrinks by the largest of 8, 4 or 2 that is at most `factor`, in the inverse DCT (libjpeg's
    /// scaled decoding): the decoder does less work and the resampler gets up to 64× fewer pixels.
    public func decode(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int) throws(CodecError) -> DecodedImage {
        let denominator = [8, 4, 2, 1].first { $0 <= factor } ?? 1
        let pixels = try decode(data, scaleDenominator: denominator)
        return DecodedImage(pixels: pixels, scaleX: 1 / Double(denominator), scaleY: 1 / Double(denominator))
    }

    /// Decodes at 1/`scaleDenominator` of the stored size (1, 2, 4 or 8), using libjpeg's DCT scaling.
    public func decode(_ data: UnsafeRawBufferPointer, scaleDenominator: Int) throws(CodecError) -> PixelBuffer {
        let info = try header(data, scaleDenominator: scaleDenominator)
        var image = PixelBuffer(uninitializedWidth: Int(info.width), height: Int(info.height),
                                format: info.components == 1 ? .gray : .rgb)
        var message = ShimMessage()
        let status = image.pixels.withUnsafeMutableBytes { pixels in
            message.withBuffer { text in
                fr_jpeg_decode(data.bindMemory(to: UInt8.self).baseAddress, data.count, Int32(scaleDenominator),
                               pixels.bindMemory(to: UInt8.self).baseAddress, pixels.count, text)
            }
        }
        guard status == 0 else { throw .decodeFailed(.jpeg, message.text(or: "unknown error")) }
        return image
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

/// Encodes gray or RGB to baseline (or progressive) JPEG with optimised Huffman tables.
public struct JPEGEncoder: ImageEncoding {
    public init() {}

    public var acceptedFormats: Set<PixelFormat> { [.gray, .rgb] }

    public func encode(_ image: PixelBuffer, options: EncodeOptions) throws(CodecError) -> [UInt8] {
        precondition(acceptedFormats.contains(image.format), "JPEG takes gray or RGB")
        let quality = options.quality ?? EncodeOptions.defaultQuality(for: .jpeg)
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = ShimMessage()
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            message.withBuffer { text in
                fr_jpeg_encode(pixels.baseAddress, Int32(image.width), Int32(image.height),
                               Int32(image.format.channelCount), Int32(quality), options.progressive ? 1 : 0,
                               1, &output, &size, text)
            }
        }
        guard status == 0, let output else { throw .encodeFailed(.jpeg, message.text(or: "unknown error")) }
        defer { fr_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }
}

/// A fixed buffer the C shims write their failure messages into.
struct ShimMessage {
    private var storage = [CChar](repeating: 0, count: Int(FR_MESSAGE_SIZE))

    mutating func withBuffer<R>(_ body: (UnsafeMutablePointer<CChar>) -> R) -> R {
        storage.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    func text(or fallback: String) -> String {
        let text = storage.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return text.isEmpty ? fallback : text
    }
}
