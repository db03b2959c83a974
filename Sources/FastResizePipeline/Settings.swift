// Settings: what one output is to be (size, filter, format, encoder options, colour, metadata), as a value with a stable fingerprint.

import FastResizePixels
import Foundation

/// Which format outputs are written in. Coded as the format's name, or "same".
public enum OutputFormatChoice: Sendable, Hashable, Codable {
    /// The input's format when FastResize can write it; otherwise PNG for images with alpha, else JPEG.
    case same
    case fixed(ImageFormat)

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        if name == "same" {
            self = .same
        } else {
            self = .fixed(ImageFormat(rawValue: name))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .same: try container.encode("same")
        case .fixed(let format): try container.encode(format.rawValue)
        }
    }
}

/// An opaque colour, 8 bits a channel (what transparency is flattened onto).
public struct RGBColor: Sendable, Hashable, Codable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let white = RGBColor(red: 255, green: 255, blue: 255)
}

/// Everything that decides what one output looks like: a value, so it can be compared, hashed,
/// sent to a worker process and remembered by a job store (`fingerprint`). What applies to a whole
/// run (the pixel limit, overwriting, the output folder) is `BatchOptions`', not an output's.
public struct ResizeSettings: Sendable, Hashable, Codable {
    public var mode: ResizeMode
    public var enlarge: Bool
    public var filter: ResampleFilter
    public var format: OutputFormatChoice
    /// 1…100 for JPEG, lossy WebP and AVIF; nil for the encoder's default.
    public var quality: Int?
    /// Progressive JPEG.
    public var progressive: Bool = false
    /// zlib level 0…9 for PNG; nil for the encoder's default.
    public var compressionLevel: Int?
    /// WebP outputs: true lossless, false lossy, nil chosen by content (graphics lossless, photos lossy).
    public var lossless: Bool?
    public var nameTemplate: NameTemplate
    /// Colour that alpha is flattened onto when the output format has no alpha.
    public var background: RGBColor
    /// Turn pictures upright by their EXIF/TIFF orientation (sizes then refer to the upright picture).
    public var autoOrient: Bool = true
    /// Keep the input's colour profile and pixel values instead of converting to sRGB.
    public var keepProfile: Bool = false
    /// Copy EXIF (orientation reset), XMP and the colour profile into outputs that can hold them.
    public var keepMetadata: Bool = false
    /// Resample in linear light (the sRGB curve removed first and restored after).
    public var linear: Bool = false
    /// Write only the first frame of animations even when the output format could animate.
    public var firstFrameOnly: Bool = false

    public init(mode: ResizeMode, enlarge: Bool = false, filter: ResampleFilter = .default,
                format: OutputFormatChoice = .same, quality: Int? = nil, nameTemplate: NameTemplate = .default,
                background: RGBColor = .white) {
        self.mode = mode
        self.enlarge = enlarge
        self.filter = filter
        self.format = format
        self.quality = quality
        self.nameTemplate = nameTemplate
        self.background = background
    }

    /// What the encoder is told; WebP's lossless or lossy is decided per picture when `lossless` is nil.
    public var encoding: EncodeOptions {
        EncodeOptions(quality: quality, progressive: progressive, lossless: lossless ?? false,
                      compressionLevel: compressionLevel)
    }

    /// The format an input described by `info` is written in, by what `codecs` can write.
    public func outputFormat(for info: ImageInfo, in codecs: CodecRegistry) -> ImageFormat {
        switch format {
        case .fixed(let format): format
        case .same: codecs.sameFormat(as: info.format, hasAlpha: info.hasAlpha)
        }
    }

    /// The same for equal settings in every run and every build (a job store keys incremental
    /// runs on it, as ninja keys outputs on their command), different when any setting differs.
    public var fingerprint: String { Self.fingerprint(of: [self]) }

    /// One fingerprint for a list of outputs (a profile's), in their order.
    public static func fingerprint(of outputs: [ResizeSettings]) -> String {
        Fingerprint.of(outputs)
    }
}

/// Stable fingerprints of Codable values: FNV-1a (64 bits) over their canonical JSON (sorted keys),
/// behind a version that changes whenever that encoding would. Not cryptographic: it tells
/// settings apart, it does not defend against someone forging a collision.
public enum Fingerprint {
    /// Bumped when the coding of settings changes in a way that must not match old fingerprints.
    public static let version = 1

    public static func of(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Settings always encode (plain numbers, strings and enums); a failure is a programming error.
        let json = try! encoder.encode(value)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in json {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return "v\(version)-" + String(repeating: "0", count: 16 - digits.count) + digits
    }
}
