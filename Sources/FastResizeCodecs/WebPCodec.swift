// WebPCodec: WebP decoding (still and the first frame of animations) and encoding through libwebp.

internal import CWebP
import FastResize

/// Decodes lossy, lossless and animated WebP (first frame) to RGB or RGBA.
public struct WebPDecoder: ImageDecoding {
    public init() {}

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        let features = try Self.features(data)
        // An animation's first frame is composited on a canvas that starts transparent.
        return ImageInfo(format: .webp, width: Int(features.width), height: Int(features.height),
                         hasAlpha: features.has_alpha != 0 || features.has_animation != 0)
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        try decode(data, shrinkingBy: 1).pixels
    }

    /// Still images shrink inside libwebp's decoder (its area-averaging rescaler works on the
    /// decoded rows as they come, so the full-size picture never exists); animations do not.
    public func decode(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int) throws(CodecError) -> DecodedImage {
        let features = try Self.features(data)
        if features.has_animation != 0 { return DecodedImage(pixels: try firstFrame(data), scaleX: 1, scaleY: 1) }
        let hasAlpha = features.has_alpha != 0
        // libwebp's rescaler averages areas, coarser than DCT scaling: let it do half as much, so the
        // filter keeps twice the usual room (measured: 39 dB at the full factor, see the quality test).
        let factor = max(1, factor / 2)
        let width = (Int(features.width) + factor - 1) / factor, height = (Int(features.height) + factor - 1) / factor
        var config = WebPDecoderConfig()
        guard WebPInitDecoderConfigInternal(&config, WEBP_DECODER_ABI_VERSION) != 0 else {
            throw .decodeFailed(.webp, "libwebp version mismatch")
        }
        if factor > 1 {
            config.options.use_scaling = 1
            config.options.scaled_width = Int32(width)
            config.options.scaled_height = Int32(height)
        }
        var image = PixelBuffer(uninitializedWidth: width, height: height, format: hasAlpha ? .rgba : .rgb)
        let stride = Int32(image.bytesPerRow)
        let status = image.pixels.withUnsafeMutableBufferPointer { pixels -> VP8StatusCode in
            config.output.colorspace = hasAlpha ? MODE_RGBA : MODE_RGB
            config.output.is_external_memory = 1
            config.output.u.RGBA.rgba = pixels.baseAddress
            config.output.u.RGBA.stride = stride
            config.output.u.RGBA.size = pixels.count
            defer { WebPFreeDecBuffer(&config.output) }
            return WebPDecode(data.bindMemory(to: UInt8.self).baseAddress, data.count, &config)
        }
        guard status == VP8_STATUS_OK else { throw .decodeFailed(.webp, Self.describe(status)) }
        return DecodedImage(pixels: image, scaleX: Double(width) / Double(features.width),
                            scaleY: Double(height) / Double(features.height))
    }

    /// The first frame of an animation, composited on its canvas.
    private func firstFrame(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        var webpData = WebPData(bytes: data.bindMemory(to: UInt8.self).baseAddress, size: data.count)
        var options = WebPAnimDecoderOptions()
        guard WebPAnimDecoderOptionsInit(&options) != 0 else { throw .decodeFailed(.webp, "libwebp version mismatch") }
        options.color_mode = MODE_RGBA
        options.use_threads = 0
        guard let decoder = WebPAnimDecoderNew(&webpData, &options) else {
            throw .decodeFailed(.webp, "corrupt animation")
        }
        defer { WebPAnimDecoderDelete(decoder) }
        var info = WebPAnimInfo()
        guard WebPAnimDecoderGetInfo(decoder, &info) != 0, info.canvas_width > 0, info.canvas_height > 0 else {
            throw .decodeFailed(.webp, "corrupt animation header")
        }
        var frame: UnsafeMutablePointer<UInt8>?
        var timestamp: Int32 = 0
        guard WebPAnimDecoderGetNext(decoder, &frame, &timestamp) != 0, let frame else {
            throw .decodeFailed(.webp, "cannot decode the first frame")
        }
        let count = Int(info.canvas_width) * Int(info.canvas_height) * 4
        return PixelBuffer(width: Int(info.canvas_width), height: Int(info.canvas_height), format: .rgba,
                           pixels: Array(UnsafeBufferPointer(start: frame, count: count)))
    }

    private static func features(_ data: UnsafeRawBufferPointer) throws(CodecError) -> WebPBitstreamFeatures {
        var features = WebPBitstreamFeatures()
        let status = WebPGetFeaturesInternal(data.bindMemory(to: UInt8.self).baseAddress, data.count, &features,
                                             WEBP_DECODER_ABI_VERSION)
        guard status == VP8_STATUS_OK else { throw .decodeFailed(.webp, describe(status)) }
        guard features.width > 0 && features.height > 0 else { throw .decodeFailed(.webp, "image has no pixels") }
        return features
    }

    static func describe(_ status: VP8StatusCode) -> String {
        switch status {
        case VP8_STATUS_OUT_OF_MEMORY: "out of memory"
        case VP8_STATUS_INVALID_PARAM: "invalid parameter"
        case VP8_STATUS_BITSTREAM_ERROR: "corrupt bitstream"
        case VP8_STATUS_UNSUPPORTED_FEATURE: "unsupported feature"
        case VP8_STATUS_NOT_ENOUGH_DATA: "file is truncated"
        default: "decoding failed"
        }
    }
}

/// Encodes RGB or RGBA to lossy or lossless WebP.
public struct WebPEncoder: ImageEncoding {
    /// libwebp's speed/size trade-off, 0 (fast) … 6 (small). Measured on sharp's photo → 720x588 at
    /// quality 80: method 2 takes 35% fewer instructions than libwebp's default 4 for 4% more bytes
    /// and 0.3 dB, its files still 1% smaller than libvips' (method 4) in the benchmark; method 3
    /// does the same work as 4 there, and method 1 makes files 11% larger.
    public var method: Int

    public init(method: Int = 2) {
        self.method = method
    }

    public var acceptedFormats: Set<PixelFormat> { [.rgb, .rgba] }

    public func encode(_ image: PixelBuffer, options: EncodeOptions) throws(CodecError) -> [UInt8] {
        precondition(acceptedFormats.contains(image.format), "WebP takes RGB or RGBA")
        guard image.width <= 16383 && image.height <= 16383 else {
            throw .encodeFailed(.webp, "WebP images are limited to 16383 x 16383 pixels")
        }
        var config = WebPConfig()
        let quality = Float(options.quality ?? EncodeOptions.defaultQuality(for: .webp))
        guard WebPConfigInitInternal(&config, WEBP_PRESET_DEFAULT, quality, WEBP_ENCODER_ABI_VERSION) != 0 else {
            throw .encodeFailed(.webp, "libwebp version mismatch")
        }
        config.method = Int32(method)
        config.lossless = options.lossless ? 1 : 0
        guard WebPValidateConfig(&config) != 0 else { throw .encodeFailed(.webp, "invalid settings") }
        var picture = WebPPicture()
        guard WebPPictureInitInternal(&picture, WEBP_ENCODER_ABI_VERSION) != 0 else {
            throw .encodeFailed(.webp, "libwebp version mismatch")
        }
        defer { WebPPictureFree(&picture) }
        picture.width = Int32(image.width)
        picture.height = Int32(image.height)
        picture.use_argb = options.lossless ? 1 : 0
        let stride = Int32(image.bytesPerRow)
        let imported = image.pixels.withUnsafeBufferPointer { pixels in
            image.format == .rgba ? WebPPictureImportRGBA(&picture, pixels.baseAddress, stride)
                                  : WebPPictureImportRGB(&picture, pixels.baseAddress, stride)
        }
        guard imported != 0 else { throw .encodeFailed(.webp, "out of memory") }
        var writer = WebPMemoryWriter()
        WebPMemoryWriterInit(&writer)
        defer { WebPMemoryWriterClear(&writer) }
        let encoded = withUnsafeMutablePointer(to: &writer) { writerPointer -> Int32 in
            picture.writer = WebPMemoryWrite
            picture.custom_ptr = UnsafeMutableRawPointer(writerPointer)
            return WebPEncode(&config, &picture)
        }
        guard encoded != 0, let memory = writer.mem else {
            throw .encodeFailed(.webp, "encoder failed (error \(picture.error_code.rawValue))")
        }
        return Array(UnsafeBufferPointer(start: memory, count: writer.size))
    }
}
