// ImageFormat: a format's name, and what its codecs say of it (FormatDescription): the pipeline reads descriptions, it knows no format itself.

import Synchronization

/// An image file format, by name ("jpeg", "png", …). The codecs declare the formats they read or
/// write (`FormatDescription`); inputs are recognised by content, never by file name.
public struct ImageFormat: Hashable, Sendable, Codable, RawRepresentable, CustomStringConvertible {
    /// The name reports, settings and `--format` use.
    public let rawValue: String
    /// The name people know the format by, used in messages ("cannot decode JPEG: …").
    public let displayName: String
    /// The extension given to files written in this format.
    public let fileExtension: String

    /// Declares a format (as its codecs do); later lookups by name (`init(rawValue:)`, decoding)
    /// find its display name and extension.
    public init(_ name: String, displayName: String, fileExtension: String? = nil) {
        rawValue = name
        self.displayName = displayName
        self.fileExtension = fileExtension ?? name
        Self.declared.withLock { $0[name] = self }
    }

    /// The format of that name: as declared, or with the name for its display name and extension.
    public init(rawValue: String) {
        self = Self.declared.withLock { $0[rawValue] } ?? ImageFormat(undeclared: rawValue)
    }

    private init(undeclared name: String) {
        rawValue = name
        displayName = name.uppercased()
        fileExtension = name
    }

    /// Formats declared so far, by name.
    private static let declared = Mutex([String: ImageFormat]())

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    // Equal and hashed by name alone.
    public static func == (left: ImageFormat, right: ImageFormat) -> Bool { left.rawValue == right.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    public var description: String { rawValue }

    /// How many leading bytes signatures are checked against.
    public static let headerLength = 64
}

/// How a format's decoder can shrink while decoding ("shrink on load").
public enum DecoderShrink: Sendable, Equatable {
    /// Not at all: the picture is decoded whole.
    case none
    /// By 2, 4 or 8 (libjpeg's DCT scaling).
    case powersOfTwo
    /// By any factor, coarsely: it is allowed half the factor the filter could take (libwebp's rescaler).
    case coarse

    /// What the decoder divides each side by when the filter allows `factor` (see
    /// `ShrinkOnLoad.decoderFactor`): the one rule the codecs decode by and the render plan counts.
    public func divisor(for factor: Int) -> Int {
        switch self {
        case .powersOfTwo: [8, 4, 2, 1].first { $0 <= factor } ?? 1
        case .coarse: max(1, factor / 2)
        case .none: 1
        }
    }
}

/// What a format's codecs say of it, for the pipeline and the engine to read instead of knowing
/// formats themselves.
public struct FormatDescription: Sendable {
    public let format: ImageFormat
    /// Whether a file's first bytes (`ImageFormat.headerLength` of them, or fewer) are this format's.
    public let matches: @Sendable ([UInt8]) -> Bool
    /// File name extensions that claim the format (a file so named whose content is no image is
    /// an error, not a bystander), lower case.
    public let extensions: [String]
    /// How the decoder shrinks on load.
    public let decoderShrink: DecoderShrink
    /// Whether its files are read in a worker process by default (`--isolate auto`): the
    /// libraries with a record of crashers.
    public let isolatedByDefault: Bool
    /// Whether outputs choose lossless for graphics and lossy for photographs unless told
    /// (`ResizeSettings.lossless` nil).
    public let losslessByContent: Bool
    /// The longest side its encoder writes, when it has a limit below `ResizeMode.largestSide`
    /// (libjpeg's 65,500): larger outputs are refused when planned, not after decoding.
    public let largestSide: Int?
    /// The encoder settings its encoder reads; the others are ignored for its outputs, which a
    /// run says once rather than silently.
    public let encoderSettings: Set<EncoderSetting>

    /// A setting an encoder may read.
    public enum EncoderSetting: String, Sendable, Hashable, CaseIterable {
        case quality
        case progressive
        case lossless
        case compressionLevel = "compression-level"
    }

    public init(format: ImageFormat, extensions: [String], decoderShrink: DecoderShrink = .none,
                isolatedByDefault: Bool = false, losslessByContent: Bool = false, largestSide: Int? = nil,
                encoderSettings: Set<EncoderSetting> = [], matches: @escaping @Sendable ([UInt8]) -> Bool) {
        self.format = format
        self.extensions = extensions
        self.decoderShrink = decoderShrink
        self.isolatedByDefault = isolatedByDefault
        self.losslessByContent = losslessByContent
        self.largestSide = largestSide
        self.encoderSettings = encoderSettings
        self.matches = matches
    }

    /// Whether `bytes` hold `signature` at `offset`.
    public static func bytes(_ bytes: [UInt8], start signature: [UInt8], at offset: Int = 0) -> Bool {
        bytes.count >= offset + signature.count && Array(bytes[offset..<offset + signature.count]) == signature
    }
}
