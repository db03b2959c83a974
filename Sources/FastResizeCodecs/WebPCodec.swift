// WebPCodec: WebP decoding and encoding (stills and animations, with metadata) through libwebp.

internal import CWebP
import FastResizePipeline
import FastResizePixels

/// Decodes lossy, lossless and animated WebP to RGB or RGBA.
public struct WebPDecoder: AnimationDecoding {
    public init() {}

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        let features = try Self.features(data)
        let frameCount = features.has_animation != 0 ? Self.frameCount(data) : 1
        // An animation's first frame is composited on a canvas that starts transparent.
        return ImageInfo(format: .webp, width: Int(features.width), height: Int(features.height),
                         hasAlpha: features.has_alpha != 0 || features.has_animation != 0,
                         metadata: ContainerMetadata.webp(data), frameCount: frameCount)
    }

    public func decodeFrames(_ data: UnsafeRawBufferPointer, _ body: (PixelBuffer, Int) -> Void) throws(CodecError) -> Int {
        let reader = try AnimationReader(data)
        var previous = 0
        var count = 0
        while let (frame, timestamp) = try reader.next() {
            body(frame, timestamp - previous)
            previous = timestamp
            count += 1
        }
        guard count > 0 else { throw .decodeFailed(.webp, "animation has no frames") }
        return reader.loopCount
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
        let factor = DecoderShrink.coarse.divisor(for: factor)
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
        guard status == VP8_STATUS_OK else { throw Self.failure(status) }
        return DecodedImage(pixels: image, scaleX: Double(width) / Double(features.width),
                            scaleY: Double(height) / Double(features.height))
    }

    /// The first frame of an animation, composited on its canvas.
    private func firstFrame(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        guard let (frame, _) = try AnimationReader(data).next() else {
            throw .decodeFailed(.webp, "cannot decode the first frame")
        }
        return frame
    }

    /// Frames in an animation, from the container alone (no canvas allocated).
    private static func frameCount(_ data: UnsafeRawBufferPointer) -> Int {
        var webpData = WebPData(bytes: data.bindMemory(to: UInt8.self).baseAddress, size: data.count)
        guard let demux = WebPDemux(&webpData) else { return 1 }
        defer { WebPDemuxDelete(demux) }
        return max(1, Int(WebPDemuxGetI(demux, WEBP_FF_FRAME_COUNT)))
    }

    private static func features(_ data: UnsafeRawBufferPointer) throws(CodecError) -> WebPBitstreamFeatures {
        var features = WebPBitstreamFeatures()
        let status = WebPGetFeaturesInternal(data.bindMemory(to: UInt8.self).baseAddress, data.count, &features,
                                             WEBP_DECODER_ABI_VERSION)
        guard status == VP8_STATUS_OK else { throw failure(status) }
        guard features.width > 0 && features.height > 0 else { throw .decodeFailed(.webp, "image has no pixels") }
        return features
    }

    /// libwebp's status as an error: a feature it lacks is `unsupported`, anything else the file's fault.
    static func failure(_ status: VP8StatusCode) -> CodecError {
        status == VP8_STATUS_UNSUPPORTED_FEATURE ? .unsupported(.webp, describe(status)) : .decodeFailed(.webp, describe(status))
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

/// libwebp's animation decoder: every frame composited onto the canvas, in order.
private final class AnimationReader {
    let decoder: OpaquePointer
    let info: WebPAnimInfo

    init(_ data: UnsafeRawBufferPointer) throws(CodecError) {
        var webpData = WebPData(bytes: data.bindMemory(to: UInt8.self).baseAddress, size: data.count)
        var options = WebPAnimDecoderOptions()
        guard WebPAnimDecoderOptionsInit(&options) != 0 else { throw .decodeFailed(.webp, "libwebp version mismatch") }
        options.color_mode = MODE_RGBA
        options.use_threads = 0
        guard let decoder = WebPAnimDecoderNew(&webpData, &options) else {
            throw .decodeFailed(.webp, "corrupt animation")
        }
        self.decoder = decoder
        var info = WebPAnimInfo()
        guard WebPAnimDecoderGetInfo(decoder, &info) != 0, info.canvas_width > 0, info.canvas_height > 0 else {
            WebPAnimDecoderDelete(decoder)
            throw .decodeFailed(.webp, "corrupt animation header")
        }
        self.info = info
    }

    deinit { WebPAnimDecoderDelete(decoder) }

    var loopCount: Int { Int(info.loop_count) }

    /// The next frame and the time it ends (milliseconds from the start), or nil after the last.
    func next() throws(CodecError) -> (PixelBuffer, Int)? {
        guard WebPAnimDecoderHasMoreFrames(decoder) != 0 else { return nil }
        var frame: UnsafeMutablePointer<UInt8>?
        var timestamp: Int32 = 0
        guard WebPAnimDecoderGetNext(decoder, &frame, &timestamp) != 0, let frame else {
            throw .decodeFailed(.webp, "corrupt animation frame")
        }
        let count = Int(info.canvas_width) * Int(info.canvas_height) * 4
        let image = PixelBuffer(width: Int(info.canvas_width), height: Int(info.canvas_height), format: .rgba,
                                pixels: Array(UnsafeBufferPointer(start: frame, count: count)))
        return (image, Int(timestamp))
    }
}

/// Encodes RGB or RGBA to lossy or lossless WebP, stills and animations, adding the ICC profile,
/// EXIF and XMP chunks it is given.
public struct WebPEncoder: AnimationEncoding {
    /// Quality when none is given, as libvips and sharp have it.
    public static let defaultQuality = 80

    /// libwebp's speed/size trade-off, 0 (fast) … 6 (small). Measured on sharp's photo → 720x588 at
    /// quality 80: method 2 takes 35% fewer instructions than libwebp's default 4 for 4% more bytes
    /// and 0.3 dB, its files still 1% smaller than libvips' (method 4) in the benchmark; method 3
    /// does the same work as 4 there, and method 1 makes files 11% larger.
    public var method: Int

    public init(method: Int = 2) {
        self.method = method
    }

    public var acceptedFormats: Set<PixelFormat> { [.rgb, .rgba] }

    public func encode(_ image: PixelBuffer, options: EncodeOptions, metadata: ImageMetadata) throws(CodecError) -> [UInt8] {
        var config = try configuration(options)
        var picture = try Self.picture(image, argb: options.lossless)
        defer { WebPPictureFree(&picture) }
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
        let bytes = Array(UnsafeBufferPointer(start: memory, count: writer.size))
        return try Self.adding(metadata, to: bytes)
    }

    /// Every frame, lossy or lossless as asked; libwebp keeps only what changes between frames.
    public func encode(_ animation: Animation, options: EncodeOptions) throws(CodecError) -> [UInt8] {
        let first = animation.frames[0]
        var config = try configuration(options)
        var encoderOptions = WebPAnimEncoderOptions()
        guard WebPAnimEncoderOptionsInit(&encoderOptions) != 0 else { throw .encodeFailed(.webp, "libwebp version mismatch") }
        encoderOptions.anim_params.loop_count = Int32(animation.loopCount)
        guard let encoder = WebPAnimEncoderNew(Int32(first.width), Int32(first.height), &encoderOptions) else {
            throw .encodeFailed(.webp, "cannot create the animation encoder")
        }
        defer { WebPAnimEncoderDelete(encoder) }
        var timestamp = 0
        for (frame, duration) in zip(animation.frames, animation.durations) {
            var picture = try Self.picture(frame.format == .rgba ? frame : frame.converted(to: .rgba), argb: true)
            defer { WebPPictureFree(&picture) }
            guard WebPAnimEncoderAdd(encoder, &picture, Int32(timestamp), &config) != 0 else {
                throw .encodeFailed(.webp, "cannot add a frame (error \(picture.error_code.rawValue))")
            }
            timestamp += duration
        }
        guard WebPAnimEncoderAdd(encoder, nil, Int32(timestamp), nil) != 0 else {
            throw .encodeFailed(.webp, "cannot finish the animation")
        }
        var assembled = WebPData()
        guard WebPAnimEncoderAssemble(encoder, &assembled) != 0, let bytes = assembled.bytes else {
            throw .encodeFailed(.webp, "cannot assemble the animation")
        }
        defer { WebPFree(UnsafeMutableRawPointer(mutating: bytes)) }
        return Array(UnsafeBufferPointer(start: bytes, count: assembled.size))
    }

    private func configuration(_ options: EncodeOptions) throws(CodecError) -> WebPConfig {
        var config = WebPConfig()
        let quality = Float(options.quality ?? Self.defaultQuality)
        guard WebPConfigInitInternal(&config, WEBP_PRESET_DEFAULT, quality, WEBP_ENCODER_ABI_VERSION) != 0 else {
            throw .encodeFailed(.webp, "libwebp version mismatch")
        }
        config.method = Int32(method)
        config.lossless = options.lossless ? 1 : 0
        guard WebPValidateConfig(&config) != 0 else { throw .encodeFailed(.webp, "invalid settings") }
        return config
    }

    /// A libwebp picture holding a copy of `image` (ARGB for lossless and animation, else YUV).
    private static func picture(_ image: PixelBuffer, argb: Bool) throws(CodecError) -> WebPPicture {
        precondition([.rgb, .rgba].contains(image.format) && image.bitDepth == 8, "WebP takes 8-bit RGB or RGBA")
        guard image.width <= 16383 && image.height <= 16383 else {
            throw .encodeFailed(.webp, "WebP images are limited to 16383 x 16383 pixels")
        }
        var picture = WebPPicture()
        guard WebPPictureInitInternal(&picture, WEBP_ENCODER_ABI_VERSION) != 0 else {
            throw .encodeFailed(.webp, "libwebp version mismatch")
        }
        picture.width = Int32(image.width)
        picture.height = Int32(image.height)
        picture.use_argb = argb ? 1 : 0
        let stride = Int32(image.bytesPerRow)
        let imported = image.pixels.withUnsafeBufferPointer { pixels in
            image.format == .rgba ? WebPPictureImportRGBA(&picture, pixels.baseAddress, stride)
                                  : WebPPictureImportRGB(&picture, pixels.baseAddress, stride)
        }
        guard imported != 0 else {
            WebPPictureFree(&picture)
            throw .encodeFailed(.webp, "out of memory")
        }
        return picture
    }

    /// The file with ICCP, EXIF and XMP chunks added by libwebp's muxer (which also writes the
    /// extended header they need).
    static func adding(_ metadata: ImageMetadata, to bitstream: [UInt8]) throws(CodecError) -> [UInt8] {
        let chunks: [(String, [UInt8])] = [("ICCP", metadata.iccProfile), ("EXIF", metadata.exif), ("XMP ", metadata.xmp)]
            .compactMap { tag, bytes in bytes.map { (tag, $0) } }
        if chunks.isEmpty { return bitstream }
        return try bitstream.withUnsafeBufferPointer { stream throws(CodecError) -> [UInt8] in
            var image = WebPData(bytes: stream.baseAddress, size: stream.count)
            guard let mux = WebPMuxCreate(&image, 0) else { throw .encodeFailed(.webp, "cannot add metadata") }
            defer { WebPMuxDelete(mux) }
            for (tag, bytes) in chunks {
                let status = bytes.withUnsafeBufferPointer { body in
                    var chunk = WebPData(bytes: body.baseAddress, size: body.count)
                    return WebPMuxSetChunk(mux, tag, &chunk, 1)
                }
                guard status == WEBP_MUX_OK else { throw .encodeFailed(.webp, "cannot add the \(tag) chunk") }
            }
            var assembled = WebPData()
            guard WebPMuxAssemble(mux, &assembled) == WEBP_MUX_OK, let bytes = assembled.bytes else {
                throw .encodeFailed(.webp, "cannot assemble the file")
            }
            defer { WebPFree(UnsafeMutableRawPointer(mutating: bytes)) }
            return Array(UnsafeBufferPointer(start: bytes, count: assembled.size))
        }
    }
}
