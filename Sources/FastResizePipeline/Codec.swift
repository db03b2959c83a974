// Codec: the decoder and encoder roles the pipeline relies on; implementations live in FastResizeCodecs.

import FastResizePixels

/// What an image's header says, read without decoding pixels.
public struct ImageInfo: Sendable, Equatable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    public var hasAlpha: Bool
    /// Orientation, colour profile, EXIF and XMP as stored in the file.
    public var metadata: ImageMetadata
    /// Frames in the file (1 for still images).
    public var frameCount: Int
    /// The decoder can hand this file over a few rows at a time (`RowStreaming`), so decoding it
    /// holds a strip of rows rather than the picture.
    public var streamsRows: Bool
    /// The layout and bits per sample of the picture the decoder hands over (RGB or RGBA at 8 bits
    /// unless the header says otherwise): what the memory plan counts.
    public var layout: PixelFormat
    public var bitDepth: Int
    /// Bytes a pixel the decoder holds beside the picture it hands over while decoding it whole (a
    /// raster in another layout, converted after).
    public var decodeScratchPerPixel = 0
    /// Bytes a pixel the decoder holds beside each frame it hands over while decoding an animation
    /// frame by frame (the canvas it draws on, say).
    public var framesScratchPerPixel = 0

    public init(format: ImageFormat, width: Int, height: Int, hasAlpha: Bool, metadata: ImageMetadata = .none,
                frameCount: Int = 1, streamsRows: Bool = false, layout: PixelFormat? = nil, bitDepth: Int = 8) {
        self.format = format
        self.width = width
        self.height = height
        self.hasAlpha = hasAlpha
        self.metadata = metadata
        self.frameCount = frameCount
        self.streamsRows = streamsRows
        self.layout = layout ?? (hasAlpha ? .rgba : .rgb)
        self.bitDepth = bitDepth
    }

    /// Bytes of one pixel of the decoded picture.
    public var bytesPerPixel: Int { layout.channelCount * bitDepth / 8 }

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
    /// True when the decoder already converted the pixels to sRGB through the file's profile (CMYK
    /// JPEG, which the resampler cannot take as it is).
    public var inSRGB: Bool

    public init(pixels: PixelBuffer, scaleX: Double, scaleY: Double, inSRGB: Bool = false) {
        self.pixels = pixels
        self.scaleX = scaleX
        self.scaleY = scaleY
        self.inSRGB = inSRGB
    }
}

/// A picture being decoded row by row, top to bottom (see `RowStreaming`).
public protocol RowReader: AnyObject {
    var width: Int { get }
    var height: Int { get }
    var format: PixelFormat { get }
    /// Decoded x = stored x × scaleX, as for `DecodedImage`.
    var scaleX: Double { get }
    var scaleY: Double { get }
    /// The next `count` rows into `target` (width × channels bytes each).
    func read(into target: UnsafeMutablePointer<UInt8>, rows count: Int) throws(CodecError)
}

/// Decoders that can hand over a picture a few rows at a time, so a huge picture never exists
/// whole in memory.
public protocol RowStreaming: ImageDecoding {
    /// A reader shrinking on load as `decode(_:shrinkingBy:)` would, or nil when this file cannot
    /// be read row by row as 8-bit gray or RGB(A) (the whole picture is decoded then). `data` must
    /// outlive the reader. With `releasingInput`, input pages already decoded are dropped from
    /// memory (the file mapping can read them again).
    func rowReader(_ data: UnsafeRawBufferPointer, shrinkingBy factor: Int,
                   releasingInput: Bool) throws(CodecError) -> (any RowReader)?
}

/// Every frame of an animation, each composited onto the full canvas, with its timing.
public struct Animation: Sendable {
    public var frames: [PixelBuffer]
    /// Display time of each frame in milliseconds.
    public var durations: [Int]
    /// How many times the animation plays; 0 means for ever.
    public var loopCount: Int

    public init(frames: [PixelBuffer], durations: [Int], loopCount: Int) {
        precondition(!frames.isEmpty && frames.count == durations.count, "an animation needs frames and their durations")
        self.frames = frames
        self.durations = durations
        self.loopCount = loopCount
    }
}

/// Decoders of formats that can hold animations (GIF, WebP).
public protocol AnimationDecoding: ImageDecoding {
    /// Calls `body` with every frame in order, composited onto the full canvas, and its display
    /// time in milliseconds; returns the loop count (0 = for ever). One canvas is alive at a time,
    /// so a long animation costs the memory of what `body` keeps.
    func decodeFrames(_ data: UnsafeRawBufferPointer, _ body: (PixelBuffer, Int) -> Void) throws(CodecError) -> Int
}

extension AnimationDecoding {
    /// Every frame at full size (for small animations and tests).
    public func decodeAnimation(_ data: UnsafeRawBufferPointer) throws(CodecError) -> Animation {
        var frames: [PixelBuffer] = []
        var durations: [Int] = []
        let loopCount = try decodeFrames(data) { frame, duration in
            frames.append(frame)
            durations.append(duration)
        }
        return Animation(frames: frames, durations: durations, loopCount: loopCount)
    }
}

/// Encoders of formats that can hold animations.
public protocol AnimationEncoding: ImageEncoding {
    func encode(_ animation: Animation, options: EncodeOptions) throws(CodecError) -> [UInt8]
}

/// Converts pixels between colour spaces given by ICC profiles (lcms2, in FastResizeCodecs).
public protocol ColorManaging: Sendable {
    /// `image` (described by `profile`) converted to sRGB, or nil when the profile does not fit
    /// the pixels or cannot be used (the pixels are then taken as sRGB, as libvips does).
    func convertToSRGB(_ image: PixelBuffer, profile: [UInt8]) -> PixelBuffer?
    /// True for profiles that describe sRGB itself (nothing to convert).
    func isSRGB(_ profile: [UInt8]) -> Bool
    /// True when the profile describes pixels of this layout (gray or RGB).
    func fits(_ profile: [UInt8], _ format: PixelFormat) -> Bool
    /// An sRGB profile to embed in outputs that keep their metadata.
    var sRGBProfile: [UInt8] { get }
}

/// Writes one image format.
public protocol ImageEncoding: Sendable {
    /// The layouts this encoder writes as they are; others are converted before encoding.
    var acceptedFormats: Set<PixelFormat> { get }
    /// Whether 16-bit samples are written as they are (else they are rounded to 8 bits first).
    var writesSixteenBits: Bool { get }
    /// Encodes `image`, embedding the profile, EXIF and XMP of `metadata` where the format can.
    func encode(_ image: PixelBuffer, options: EncodeOptions, metadata: ImageMetadata) throws(CodecError) -> [UInt8]
}

/// Where an encoder's bytes go as it makes them: an output file being written, or memory.
public protocol ByteSink: AnyObject {
    /// Takes the next bytes; false when they could not be kept (the sink says why elsewhere).
    func append(_ bytes: UnsafeRawBufferPointer) -> Bool
}

/// Bytes kept in memory.
public final class ByteBuffer: ByteSink {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        self.bytes.append(contentsOf: bytes)
        return true
    }
}

/// A file being encoded from rows handed over top to bottom into a `ByteSink` (see `RowEncoding`).
public protocol RowWriter: AnyObject {
    /// The next `count` rows, width × channels samples each, in the layout the writer was opened for.
    func write(_ rows: UnsafePointer<UInt8>, count: Int) throws(CodecError)
    /// Ends the file after the last row (its last bytes reach the sink).
    func finish() throws(CodecError)
}

/// Encoders that can take a picture a few rows at a time, so a large output never exists whole.
public protocol RowEncoding: ImageEncoding {
    /// Whether outputs with these options are encoded from rows as they come (false when the
    /// options need the whole picture anyway, or streaming would change the file for the worse).
    func streamsRows(_ options: EncodeOptions) -> Bool
    /// A writer for 8-bit pictures of `format` (one of `acceptedFormats`), its bytes going to `sink`
    /// as they are made.
    func rowWriter(width: Int, height: Int, format: PixelFormat, options: EncodeOptions, metadata: ImageMetadata,
                   into sink: any ByteSink) throws(CodecError) -> any RowWriter
}

extension ImageEncoding {
    public var writesSixteenBits: Bool { false }

    public func encode(_ image: PixelBuffer, options: EncodeOptions) throws(CodecError) -> [UInt8] {
        try encode(image, options: options, metadata: .none)
    }
}

/// Settings for the encoders. A nil quality means the encoder's own default.
public struct EncodeOptions: Sendable, Hashable, Codable {
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
}

/// A codec failure, with the format and the library's own reason.
public enum CodecError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    /// The bytes are damaged or break the format's rules.
    case decodeFailed(ImageFormat, String)
    /// A valid file using a feature this decoder does not read (a BMP holding a JPEG, say).
    case unsupported(ImageFormat, String)
    case encodeFailed(ImageFormat, String)

    /// Decoding failures are the file's (`corrupt`) unless the decoder says it lacks a feature;
    /// an encoder refusing a picture (too large for WebP, say) is a limit of the output format.
    public var kind: FailureKind {
        switch self {
        case .decodeFailed: .corrupt
        case .unsupported, .encodeFailed: .unsupported
        }
    }

    public var description: String {
        switch self {
        case .decodeFailed(let format, let reason), .unsupported(let format, let reason):
            "cannot decode \(format.displayName): \(reason)"
        case .encodeFailed(let format, let reason): "cannot encode \(format.displayName): \(reason)"
        }
    }
}

/// A format no codec here reads, known by its signature so the error can name it ("unsupported
/// image format: Photoshop PSD") instead of calling the file garbage.
public struct ForeignFormat: Sendable {
    public let name: String
    public let extensions: [String]
    public let matches: @Sendable ([UInt8]) -> Bool

    public init(name: String, extensions: [String], matches: @escaping @Sendable ([UInt8]) -> Bool) {
        self.name = name
        self.extensions = extensions
        self.matches = matches
    }
}

/// The formats, decoders and encoders available to a pipeline: all it knows of formats.
public struct CodecRegistry: Sendable {
    /// The formats read or written, in the order they are tried and listed.
    public var formats: [FormatDescription]
    public var decoders: [ImageFormat: any ImageDecoding]
    public var encoders: [ImageFormat: any ImageEncoding]
    /// Colour management; without it embedded profiles are ignored (pixels taken as sRGB).
    public var color: (any ColorManaging)?
    /// What `--format same` writes for inputs whose own format cannot be written.
    public var fallbackOutputs: (alpha: ImageFormat, opaque: ImageFormat)?
    /// Formats recognised only to be named in errors.
    public var foreign: [ForeignFormat]

    public init(formats: [FormatDescription] = [], decoders: [ImageFormat: any ImageDecoding] = [:],
                encoders: [ImageFormat: any ImageEncoding] = [:], color: (any ColorManaging)? = nil,
                fallbackOutputs: (alpha: ImageFormat, opaque: ImageFormat)? = nil, foreign: [ForeignFormat] = []) {
        self.formats = formats
        self.decoders = decoders
        self.encoders = encoders
        self.color = color
        self.fallbackOutputs = fallbackOutputs
        self.foreign = foreign
    }

    /// The format whose signature starts `header`, or nil.
    public func detect(_ header: some Collection<UInt8>) -> ImageFormat? {
        let bytes = Array(header.prefix(ImageFormat.headerLength))
        return formats.first { $0.matches(bytes) }?.format
    }

    /// The name of a format nothing here reads, when `header` is one.
    public func foreignName(_ header: some Collection<UInt8>) -> String? {
        let bytes = Array(header.prefix(ImageFormat.headerLength))
        return foreign.first { $0.matches(bytes) }?.name
    }

    public func description(of format: ImageFormat) -> FormatDescription? {
        formats.first { $0.format == format }
    }

    /// Formats outputs can be written in, in order.
    public var outputFormats: [ImageFormat] { formats.map(\.format).filter { encoders[$0] != nil } }

    /// Whether a file named with this extension claims to be an image (garbage so named is an
    /// error, not a bystander).
    public func claimsImage(extension name: String) -> Bool {
        let name = name.lowercased()
        return formats.contains { $0.extensions.contains(name) } || foreign.contains { $0.extensions.contains(name) }
    }

    /// What an input in `format` is written as when its own format is asked for: itself when it
    /// can be written, else the fallback for its alpha.
    public func sameFormat(as format: ImageFormat, hasAlpha: Bool) -> ImageFormat {
        if encoders[format] != nil { return format }
        guard let fallback = fallbackOutputs else { return format }
        return hasAlpha ? fallback.alpha : fallback.opaque
    }
}
