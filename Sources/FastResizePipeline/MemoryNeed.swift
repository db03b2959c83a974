// MemoryNeed: the path a file takes (decoded by rows, whole or frame by frame; encoded from rows, whole or as an animation), decided once, and how much memory it will hold at its peak.

import FastResizePixels
import Foundation

/// How a file is decoded.
public enum DecodeMode: String, Sendable, Codable {
    /// A strip of rows at a time (the decoder streams).
    case rows
    /// The whole picture (shrunk on load where the codec can).
    case whole
    /// Every frame of an animation, one canvas at a time.
    case frames
}

/// How an output is encoded.
public enum EncodeMode: String, Sendable, Codable {
    /// From groups of rows as the resampler finishes them.
    case rows
    /// From the whole output picture.
    case whole
    /// Every frame, as an animation.
    case animation
}

extension FilePipeline {
    /// How `info`'s file is decoded for this output alone: the renderer takes this path, the
    /// memory budget counts it, the report says it.
    public func decodeMode(for info: ImageInfo) -> DecodeMode {
        if animates(info) { return .frames }
        // The decoder's probe says whether it can hand this file over by rows.
        return info.streamsRows && !settings.linear ? .rows : .whole
    }

    /// How this output of `info`'s file is encoded (the renderer, the budget and the report alike).
    public func encodeMode(for info: ImageInfo) -> EncodeMode {
        if animates(info) { return .animation }
        return rowEncoder(for: info, geometry: Geometry(pipeline: self, info: info)) != nil ? .rows : .whole
    }

    /// The need of a file making every output of `pipelines` from one decode: the picture they
    /// share, decoded whole (shrunk on load only as far as the largest output allows), and every
    /// output. One output is `memoryNeed(for:)`'s, streaming and all.
    public static func memoryNeed(for info: ImageInfo, outputs pipelines: [FilePipeline]) -> Int {
        guard pipelines.count > 1 else { return pipelines.first?.memoryNeed(for: info) ?? 0 }
        var whole = info
        whole.streamsRows = false
        let decoded = pipelines.map { $0.decodedNeed(for: whole) }.max() ?? 0
        return decoded + pipelines.reduce(0) { sum, pipeline in sum + pipeline.outputNeed(for: info) }
    }

    /// What decoding and resizing `info`'s file is expected to hold at its peak, in bytes: the
    /// decoded picture after shrink-on-load (or, for files the decoder streams, a strip of rows),
    /// the float or int16 work buffers, and the output (or, for outputs encoded from rows, a
    /// group of rows). An estimate from the header, made before
    /// anything is decoded; codecs' own buffers (a progressive JPEG's coefficients) come on top.
    public func memoryNeed(for info: ImageInfo) -> Int {
        decodedNeed(for: info) + outputNeed(for: info)
    }

    /// The decoded picture, or the strip of it a streamed decode holds, and the work buffers.
    func decodedNeed(for info: ImageInfo) -> Int {
        let geometry = Geometry(pipeline: self, info: info)
        let factor = decoderFactor(geometry)
        let scale = switch codecs.description(of: info.format)?.decoderShrink ?? DecoderShrink.none {
        case .powersOfTwo: [8, 4, 2, 1].first { $0 <= factor } ?? 1
        case .coarse: max(1, factor / 2)
        case .none: 1
        }
        let decodedWidth = (info.width + scale - 1) / scale
        let decodedHeight = (info.height + scale - 1) / scale
        // Four bytes a pixel covers RGBA; 16-bit and float work take more on the paths that use them.
        let perPixel = settings.linear ? 16 : 4
        guard decodeMode(for: info) == .rows else { return decodedWidth * decodedHeight * perPixel }
        // The strip: a band of output rows' worth of input rows, plus the kernel's reach.
        let rowsPerOutputRow = Double(decodedHeight) / Double(max(1, geometry.height))
        return decodedWidth * min(decodedHeight, Int(Double(Resizer.bandRows * 2) * rowsPerOutputRow) + 64) * perPixel
    }

    /// The output (every frame of an animation) and its copy in the encoder's layout; or, for an
    /// output encoded from rows, a group of rows.
    func outputNeed(for info: ImageInfo) -> Int {
        let geometry = Geometry(pipeline: self, info: info)
        let outputPixels = geometry.width * geometry.height
        let mode = encodeMode(for: info)
        if mode == .rows {
            // A group of output rows (and its converted copy); the encoded bytes go to the output's
            // temporary file as they are made (the batch hands `render` that file), past the
            // encoder's own buffers (a megabyte covers libjpeg's and zlib's).
            let groupRows = Resizer.bandRows * ProcessInfo.processInfo.activeProcessorCount
            return geometry.width * groupRows * 4 * 2 + (1 << 20)
        }
        // Only an animation keeps every frame (a GIF written as PNG is its first frame).
        let frames = mode == .animation ? info.frameCount : 1
        return outputPixels * 4 * frames + outputPixels * 4
    }
}
