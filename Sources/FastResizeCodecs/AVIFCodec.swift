// AVIFCodec: AVIF encoding through libavif (with the aom AV1 encoder Debian builds in).

internal import CAVIF
internal import CCodecShims
import FastResizePipeline
import FastResizePixels

/// Encodes RGB or RGBA to AVIF (YUV 4:2:0, 8-bit), with the ICC profile, EXIF and XMP it is given.
public struct AVIFEncoder: ImageEncoding {
    /// Quality when none is given, as libvips has it.
    public static let defaultQuality = 50

    /// aom speed 0 (slowest, smallest) … 10; 8 keeps encoding within a few times a JPEG's cost.
    public var speed: Int

    public init(speed: Int = 8) {
        self.speed = speed
    }

    /// libavif is opened on the first AVIF output (lazy.c): nil once loaded, else why not.
    private static let loadFailure: String? = {
        var message = ShimMessage()
        guard message.withBuffer(fr_avif_load) == 0 else {
            return "AVIF output needs libavif (Debian package libavif15): " + message.text(or: "cannot load it")
        }
        return nil
    }()

    public var acceptedFormats: Set<PixelFormat> { [.rgb, .rgba] }

    public func encode(_ image: PixelBuffer, options: EncodeOptions, metadata: ImageMetadata) throws(CodecError) -> [UInt8] {
        precondition(acceptedFormats.contains(image.format) && image.bitDepth == 8, "AVIF takes 8-bit RGB or RGBA")
        if let failure = Self.loadFailure { throw .encodeFailed(.avif, failure) }
        guard let avif = avifImageCreate(UInt32(image.width), UInt32(image.height), 8, AVIF_PIXEL_FORMAT_YUV420) else {
            throw .encodeFailed(.avif, "out of memory")
        }
        defer { avifImageDestroy(avif) }
        // libavif copies the blocks. The EXIF block's orientation is already 1 (the pixels are upright).
        if let icc = metadata.iccProfile { avifImageSetProfileICC(avif, icc, icc.count) }
        if let exif = metadata.exif { avifImageSetMetadataExif(avif, exif, exif.count) }
        if let xmp = metadata.xmp { avifImageSetMetadataXMP(avif, xmp, xmp.count) }
        var result = image.pixels.withUnsafeBufferPointer { pixels -> avifResult in
            var rgb = avifRGBImage()
            avifRGBImageSetDefaults(&rgb, avif)
            rgb.format = image.format == .rgba ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB
            rgb.depth = 8
            rgb.pixels = UnsafeMutablePointer(mutating: pixels.baseAddress)
            rgb.rowBytes = UInt32(image.bytesPerRow)
            return avifImageRGBToYUV(avif, &rgb)
        }
        guard result == AVIF_RESULT_OK else { throw .encodeFailed(.avif, String(cString: avifResultToString(result))) }

        guard let encoder = avifEncoderCreate() else { throw .encodeFailed(.avif, "out of memory") }
        defer { avifEncoderDestroy(encoder) }
        // libavif 0.11 has no quality setting: map 1…100 onto AV1's quantizer 63…0 (as later libavif does).
        let quality = options.quality ?? Self.defaultQuality
        let quantizer = Int32(((100 - quality) * 63 + 50) / 100)
        encoder.pointee.minQuantizer = quantizer
        encoder.pointee.maxQuantizer = quantizer
        encoder.pointee.minQuantizerAlpha = quantizer
        encoder.pointee.maxQuantizerAlpha = quantizer
        encoder.pointee.speed = Int32(speed)
        encoder.pointee.maxThreads = 1     // files run in parallel already

        var output = avifRWData(data: nil, size: 0)
        result = avifEncoderWrite(encoder, avif, &output)
        defer { avifRWDataFree(&output) }
        guard result == AVIF_RESULT_OK, let data = output.data else {
            throw .encodeFailed(.avif, String(cString: avifResultToString(result)))
        }
        return Array(UnsafeBufferPointer(start: data, count: output.size))
    }
}
