// FilePipeline: one input file through probe, decode, resize, encode and an atomic write.

import Foundation

/// Which format outputs are written in.
public enum OutputFormatChoice: Sendable, Equatable {
    /// The input's format when FastResize can write it; otherwise PNG for images with alpha, else JPEG.
    case same
    case fixed(ImageFormat)
}

/// Everything that decides what one output looks like.
public struct ResizeSettings: Sendable {
    public var mode: ResizeMode
    public var enlarge: Bool
    public var filter: ResampleFilter
    public var format: OutputFormatChoice
    public var encoding: EncodeOptions
    public var nameTemplate: NameTemplate
    /// Inputs with more pixels than this are refused from their header, before any allocation.
    public var maxPixels: Int
    /// Colour that alpha is flattened onto when the output format has no alpha.
    public var background: (red: UInt8, green: UInt8, blue: UInt8)

    /// sharp's default input limit, 0x3FFF × 0x3FFF.
    public static let defaultMaxPixels = 16383 * 16383

    public init(mode: ResizeMode, enlarge: Bool = false, filter: ResampleFilter = .default,
                format: OutputFormatChoice = .same, encoding: EncodeOptions = EncodeOptions(),
                nameTemplate: NameTemplate = .default, maxPixels: Int = ResizeSettings.defaultMaxPixels,
                background: (red: UInt8, green: UInt8, blue: UInt8) = (255, 255, 255)) {
        self.mode = mode
        self.enlarge = enlarge
        self.filter = filter
        self.format = format
        self.encoding = encoding
        self.nameTemplate = nameTemplate
        self.maxPixels = maxPixels
        self.background = background
    }

    /// The format an input described by `info` is written in.
    public func outputFormat(for info: ImageInfo) -> ImageFormat {
        switch format {
        case .fixed(let format): format
        case .same: info.format.canEncode ? info.format : (info.hasAlpha ? .png : .jpeg)
        }
    }
}

/// Why one file could not be processed; `description` is the text after "path: ".
public enum FileError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(String)
    case notAnImage
    case unsupportedFormat(String)
    case pixelLimit(width: Int, height: Int)
    case codec(CodecError)
    case noEncoder(ImageFormat)
    case outputIsInput
    case outsideOutputFolder(String)
    case collision(otherInput: String)
    case writeFailed(String)

    public var description: String {
        switch self {
        case .unreadable(let reason): "cannot read: \(reason)"
        case .notAnImage: "not a supported image (content is not JPEG, PNG, WebP, GIF, TIFF, BMP, AVIF or HEIF)"
        case .unsupportedFormat(let name): "unsupported image format: \(name)"
        case .pixelLimit(let width, let height): "input image exceeds pixel limit (\(width) x \(height))"
        case .codec(let error): error.description
        case .noEncoder(let format): "no encoder for \(format.displayName)"
        case .outputIsInput: "output path is the input itself; refusing to replace an input"
        case .outsideOutputFolder(let path): "output path \(path) is outside the output folder"
        case .collision(let other): "output collides with \(other)"
        case .writeFailed(let reason): "cannot write output: \(reason)"
        }
    }
}

/// The result of writing one output.
public struct OutputRecord: Sendable, Equatable, Codable {
    public var path: String
    public var width: Int
    public var height: Int
    public var format: ImageFormat
    public var bytes: Int

    public init(path: String, width: Int, height: Int, format: ImageFormat, bytes: Int) {
        self.path = path
        self.width = width
        self.height = height
        self.format = format
        self.bytes = bytes
    }
}

/// Processes single files with one set of settings; safe to share between worker threads.
public struct FilePipeline: Sendable {
    public let codecs: CodecRegistry
    public let settings: ResizeSettings

    public init(codecs: CodecRegistry, settings: ResizeSettings) {
        self.codecs = codecs
        self.settings = settings
    }

    /// Maps a file read-only into memory (the page cache serves repeated reads).
    public static func readFile(_ path: String) throws(FileError) -> Data {
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if (attributes[.size] as? NSNumber)?.intValue == 0 { return Data() }
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw .unreadable(Self.describe(error))
        }
    }

    /// Recognises the format by content and reads the header, checking the pixel limit.
    public func inspect(_ data: Data) throws(FileError) -> ImageInfo {
        guard let format = ImageFormat.detect(data.prefix(ImageFormat.headerLength)) else {
            if let name = ImageFormat.describeUnsupported(data.prefix(ImageFormat.headerLength)) {
                throw .unsupportedFormat(name)
            }
            throw .notAnImage
        }
        guard let decoder = codecs.decoders[format] else { throw .unsupportedFormat(format.displayName) }
        let info = try Self.withBytes(of: data) { bytes throws(CodecError) in try decoder.probe(bytes) }
        try checkLimit(width: info.width, height: info.height)
        return info
    }

    private func checkLimit(width: Int, height: Int) throws(FileError) {
        // Multiply in a way that cannot overflow for hostile 32-bit sizes.
        if width <= 0 || height <= 0 || width > settings.maxPixels || height > settings.maxPixels / width {
            throw .pixelLimit(width: width, height: height)
        }
    }

    /// Decodes, resizes and encodes `data`; returns the encoded output and its facts.
    /// `info`, when the caller already inspected the file, saves reading the header again.
    public func render(_ data: Data, info known: ImageInfo? = nil, workspace: ResizeWorkspace = ResizeWorkspace(),
                       threads: Int = 1) throws(FileError) -> (bytes: [UInt8], width: Int, height: Int, format: ImageFormat) {
        let info = try facts(known, of: data)
        let format = settings.outputFormat(for: info)
        guard let encoder = codecs.encoders[format] else { throw .noEncoder(format) }
        var image = try resized(data, info: info, workspace: workspace, threads: threads)
        image = Self.prepare(image, for: encoder, background: settings.background)
        do {
            let bytes = try encoder.encode(image, options: settings.encoding)
            return (bytes, image.width, image.height, format)
        } catch {
            throw .codec(error)
        }
    }

    /// Decodes and resizes: shrink on load where the decoder can, box averaging while the
    /// reduction left is still large, then the filter (see `ShrinkOnLoad`).
    public func resized(_ data: Data, info known: ImageInfo? = nil, workspace: ResizeWorkspace = ResizeWorkspace(),
                        threads: Int = 1) throws(FileError) -> PixelBuffer {
        let info = try facts(known, of: data)
        let decoder = codecs.decoders[info.format]!
        // The plan is made on the stored size, so shrinking on load never changes the output size.
        let plan = settings.mode.plan(sourceWidth: info.width, sourceHeight: info.height, enlarge: settings.enlarge)
        let shrink = min(plan.region.width / Double(plan.width), plan.region.height / Double(plan.height))
        // Point sampling asks for source pixels as they are: no averaging step may come first.
        let cheapSteps = settings.filter != .nearest
        let factor = cheapSteps ? ShrinkOnLoad.decoderFactor(shrink: shrink) : 1
        let decoded = try Self.withBytes(of: data) { bytes throws(CodecError) in
            try decoder.decode(bytes, shrinkingBy: factor)
        }
        var image = decoded.pixels
        try checkLimit(width: image.width, height: image.height)
        var region = SourceRegion(x: plan.region.x * decoded.scaleX, y: plan.region.y * decoded.scaleY,
                                  width: plan.region.width * decoded.scaleX, height: plan.region.height * decoded.scaleY)
        if cheapSteps && !image.format.hasAlpha {
            let boxX = ShrinkOnLoad.boxFactor(remaining: region.width / Double(plan.width))
            let boxY = ShrinkOnLoad.boxFactor(remaining: region.height / Double(plan.height))
            if boxX > 1 || boxY > 1 {
                image = image.boxShrunk(byX: boxX, byY: boxY)
                region = SourceRegion(x: region.x / Double(boxX), y: region.y / Double(boxY),
                                      width: region.width / Double(boxX), height: region.height / Double(boxY))
            }
        }
        // Keep the region inside the (possibly rounded-up) decoded image.
        region.width = min(region.width, Double(image.width) - region.x)
        region.height = min(region.height, Double(image.height) - region.y)
        return Resizer(filter: settings.filter).resize(image, region: region, width: plan.width, height: plan.height,
                                                       threads: threads, workspace: workspace)
    }

    /// The header facts: those the caller already has, else read now.
    private func facts(_ known: ImageInfo?, of data: Data) throws(FileError) -> ImageInfo {
        if let known { return known }
        return try inspect(data)
    }

    /// Converts to a layout the encoder takes: alpha flattened for encoders without it, gray
    /// expanded where the encoder has no gray.
    static func prepare(_ image: PixelBuffer, for encoder: any ImageEncoding,
                        background: (red: UInt8, green: UInt8, blue: UInt8)) -> PixelBuffer {
        let accepted = encoder.acceptedFormats
        if accepted.contains(image.format) { return image }
        let candidates: [PixelFormat]
        switch image.format {
        case .gray: candidates = [.rgb, .rgba, .grayAlpha]
        case .grayAlpha: candidates = [.rgba, .gray, .rgb]
        case .rgb: candidates = [.rgba, .gray]
        case .rgba: candidates = [.rgb, .grayAlpha, .gray]
        }
        let target = candidates.first(where: accepted.contains) ?? .rgb
        return image.converted(to: target, background: (background.red, background.green, background.blue))
    }

    /// Runs a codec over the bytes of `data`, turning its error into a file error.
    static func withBytes<R>(of data: Data, _ body: (UnsafeRawBufferPointer) throws(CodecError) -> R) throws(FileError) -> R {
        let result = data.withUnsafeBytes { bytes in
            Result { () throws(CodecError) in try body(bytes) }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw .codec(error)
        }
    }

    static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        return nsError.localizedDescription
    }
}
