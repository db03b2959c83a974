// Codec: the decoder and encoder roles the pipeline relies on; implementations live in FastResizeCodecs.

/// What an image's header says, read without decoding pixels.
public struct ImageInfo: Sendable, Equatable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    public var hasAlpha: Bool

    public init(format: ImageFormat, width: Int, height: Int, hasAlpha: Bool) {
        self.format = format
        self.width = width
        self.height = height
        self.hasAlpha = hasAlpha
    }

    public var pixelCount: Int { width * height }
}

/// Reads one image format.
public protocol ImageDecoding: Sendable {
    /// The header's facts, without decoding pixels (so limits can be checked before allocating).
    func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo
    /// The first frame / primary image, in the pixel layout closest to the file's.
    func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer
    /// The image made smaller while decoding ("shrink on load"), by at most `factor` on each side;
    /// decoders that cannot do that cheaply return it at full size.
    func decode(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int) throws(CodecError) -> DecodedImage
}

extension ImageDecoding {
    public func decode(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int) throws(CodecError) -> DecodedImage {
        DecodedImage(pixels: try decode(data), scaleX: 1, scaleY: 1)
    }
}

/// Decoded pixels and how they map onto the stored image: decoded x = stored x × scaleX.
public struct DecodedImage: Sendable {
    public var pixels: PixelBuffer
    public var scaleX: Double
    public var scaleY: Double

    public init(pixels: PixelBuffer, scaleX: Double, scaleY: Double) {
        self.pixels = pixels
        self.scaleX = scaleX
        self.scaleY = scaleY
    }
}

/// Writes one image format.
public protocol ImageEncoding: Sendable {
    /// The layouts this encoder writes as they are; others are converted before encoding.
    var acceptedFormats: Set<PixelFormat> { get }
    func encode(_ image: PixelBuffer, options: EncodeOptions) throws(CodecError) -> [UInt8]
}

/// Settings for the encoders. A nil quality means the encoder's own default.
public struct EncodeOptions: Sendable, Equatable {
    /// 1…100 for JPEG, lossy WebP and AVIF.
    public var quality: Int?
    /// Progressive JPEG.
    public var progressive: Bool
    /// Lossless WebP.
    public var lossless: Bool
    /// zlib level 0…9 for PNG.
    public var compressionLevel: Int?

    public init(quality: Int? = nil, progressive: Bool = false, lossless: Bool = false, compressionLevel: Int? = nil) {
        self.quality = quality
        self.progressive = progressive
        self.lossless = lossless
        self.compressionLevel = compressionLevel
    }

    /// Quality used when none is given, matching common practice (libvips, sharp, cwebp).
    public static func defaultQuality(for format: ImageFormat) -> Int {
        switch format {
        case .jpeg: 80
        case .webp: 80
        case .avif: 50
        default: 100
        }
    }
}

/// A codec failure, with the format and the library's own reason.
public enum CodecError: Error, Sendable, Equatable, CustomStringConvertible {
    case decodeFailed(ImageFormat, String)
    case encodeFailed(ImageFormat, String)

    public var description: String {
        switch self {
        case .decodeFailed(let format, let reason): "cannot decode \(format.displayName): \(reason)"
        case .encodeFailed(let format, let reason): "cannot encode \(format.displayName): \(reason)"
        }
    }
}

/// The decoders and encoders available to a pipeline, by format.
public struct CodecRegistry: Sendable {
    public var decoders: [ImageFormat: any ImageDecoding]
    public var encoders: [ImageFormat: any ImageEncoding]

    public init(decoders: [ImageFormat: any ImageDecoding] = [:], encoders: [ImageFormat: any ImageEncoding] = [:]) {
        self.decoders = decoders
        self.encoders = encoders
    }
}
