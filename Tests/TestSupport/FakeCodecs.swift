// FakeCodecs: a codec registry whose decoding takes as long as a test says, so the batch engine's
// scheduling (timeouts, memory admission, cancellation) is tested in process in milliseconds.

import FastResize
import Foundation
import Synchronization

/// Decodes any BMP (recognised by its real header) as a gray-and-noise picture of the header's
/// size after sleeping `delay` seconds, counting how many decodes run at once.
public final class SlowDecoder: ImageDecoding, @unchecked Sendable {
    public let delay: Double
    /// Only the first this many decodes take `delay`; later ones are instant (a file that is
    /// slow once, then fine: a retry's case).
    public let slowDecodes: Int
    private let counts = Mutex((running: 0, peak: 0, total: 0, probes: 0))

    public init(delay: Double, slowDecodes: Int = .max) {
        self.delay = delay
        self.slowDecodes = slowDecodes
    }

    /// The most decodes that ever ran at the same time, and how many ran in all.
    public var peakConcurrency: Int { counts.withLock { $0.peak } }
    public var decodes: Int { counts.withLock { $0.total } }
    /// How many headers were read (a file not read at all adds none).
    public var probes: Int { counts.withLock { $0.probes } }

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        counts.withLock { $0.probes += 1 }
        guard data.count >= 26 else { throw .decodeFailed(FakeCodecs.input, "short header") }
        let width = Int(data.loadUnaligned(fromByteOffset: 18, as: Int32.self).littleEndian)
        let height = abs(Int(data.loadUnaligned(fromByteOffset: 22, as: Int32.self).littleEndian))
        return ImageInfo(format: FakeCodecs.input, width: width, height: height, hasAlpha: false)
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        guard data.count >= 26 else { throw .decodeFailed(FakeCodecs.input, "short header") }
        let width = Int(data.loadUnaligned(fromByteOffset: 18, as: Int32.self).littleEndian)
        let height = abs(Int(data.loadUnaligned(fromByteOffset: 22, as: Int32.self).littleEndian))
        let slow = counts.withLock { counts in
            counts.running += 1
            counts.total += 1
            counts.peak = max(counts.peak, counts.running)
            return counts.total <= slowDecodes
        }
        defer { counts.withLock { $0.running -= 1 } }
        if slow { Thread.sleep(forTimeInterval: delay) }
        return TestImages.pattern(width: width, height: height, format: .rgb)
    }
}

/// "Encodes" any picture as a short text naming its size (the engine never looks inside).
public struct SizeEncoder: ImageEncoding {
    public init() {}

    public var acceptedFormats: Set<PixelFormat> { [.gray, .grayAlpha, .rgb, .rgba] }

    public func encode(_ image: PixelBuffer, options: EncodeOptions, metadata: ImageMetadata) throws(CodecError) -> [UInt8] {
        Array("\(image.width)x\(image.height)\n".utf8)
    }
}

public enum FakeCodecs {
    /// The engine knows formats only as the codecs describe them: these two are the fakes'.
    public static let input = ImageFormat("bmp", displayName: "BMP")
    public static let output = ImageFormat("png", displayName: "PNG")

    /// BMP inputs (recognised by their real signature) decoded by `decoder`, PNG outputs by `SizeEncoder`.
    public static func registry(_ decoder: any ImageDecoding) -> CodecRegistry {
        CodecRegistry(formats: [
                          FormatDescription(format: input, extensions: ["bmp"]) { FormatDescription.bytes($0, start: Array("BM".utf8)) },
                          FormatDescription(format: output, extensions: ["png"]) { _ in false },
                      ],
                      decoders: [input: decoder], encoders: [output: SizeEncoder()])
    }

    /// Writes `count` small real BMP files (`name0.bmp`, …) into `folder` and returns their paths.
    @discardableResult
    public static func inputs(_ count: Int, in folder: ScratchFolder, under relative: String = "in",
                              width: Int = 64, height: Int = 48) throws -> [String] {
        let stride = ((width * 24 + 31) / 32) * 4
        let bytes = BMPWriter.make(width: width, height: height, bitsPerPixel: 24,
                                   pixelData: [UInt8](repeating: 128, count: stride * height))
        return try (0..<count).map { index in
            try folder.write(bytes, to: "\(relative)/name\(index).bmp")
            return folder.path("\(relative)/name\(index).bmp")
        }
    }
}
