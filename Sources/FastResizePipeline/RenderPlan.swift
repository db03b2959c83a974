// RenderPlan: everything decided about making a file's outputs from its header, once, before a pixel is decoded — read by the memory budget, the renderer and the report alike.

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

/// One output of one file, planned: where its pixels come from, the steps that make them, and the
/// memory they take.
public struct RenderPlan: Sendable {
    /// The output's settings and the codecs that make it.
    public let pipeline: FilePipeline
    /// The input's header facts the plan was made from.
    public let info: ImageInfo
    /// The format written.
    public let format: ImageFormat
    /// The region of the stored picture it shows, the output size and the turn upright.
    let geometry: FilePipeline.Geometry
    /// How much the decoder shrinks while decoding (shared by every output of a profile).
    public let decoderFactor: Int
    /// The decoded picture's size after that shrink, as the codec describes its shrinking.
    public let decodedWidth: Int
    public let decodedHeight: Int
    /// The box pre-shrink of the decoded picture on each axis (1: none; see `ShrinkOnLoad`); for
    /// a profile's output averaged from another's rows as they pass, of those rows.
    public let boxFactors: (x: Int, y: Int)
    /// The colour step: the profile the output is converted from to sRGB (after the resize; before
    /// it in linear light), unless the decoder converts while decoding. Nil: no conversion.
    public let profile: [UInt8]?
    public let decode: DecodeMode
    public let encode: EncodeMode
    /// Bytes of pictures the decode holds at its peak: the decoded picture (a strip of rows when
    /// streamed) and the work buffers.
    public let decodedNeed: Int
    /// Bytes of pictures the output holds at its peak: the output (every frame of an animation)
    /// and its copy in the encoder's layout, or a group of rows when encoded from rows.
    public let outputNeed: Int
    /// The codecs' own buffers, beyond the pictures: an allowance, not a count.
    public let codecNeed: Int

    /// The output's size as stored, before the turn upright.
    public var width: Int { geometry.width }
    public var height: Int { geometry.height }

    /// Bytes of pictures this output alone holds at its peak: what a `PictureMeter` counts.
    public var pictureNeed: Int { decodedNeed + outputNeed }

    /// What this output alone holds at its peak, the codecs' own buffers included (see
    /// `FilePlan.memoryNeed` for a profile's).
    public var memoryNeed: Int { pictureNeed + codecNeed }
}

/// A file's outputs, planned together: each output alone takes its own path (streamed where it
/// can); a profile's several outputs share one decode (by rows where the decoder streams, else
/// whole; frame by frame for animations), shrunk on load only as far as the largest output allows.
public struct FilePlan: Sendable {
    public let info: ImageInfo
    public let outputs: [RenderPlan]

    /// Bytes of pictures the file holds at its peak: the largest decode, and every output.
    public var pictureNeed: Int { (outputs.map(\.decodedNeed).max() ?? 0) + outputs.reduce(0) { $0 + $1.outputNeed } }

    /// What the file holds at its peak, the codecs' own buffers included.
    public var memoryNeed: Int { pictureNeed + outputs.reduce(0) { $0 + $1.codecNeed } }

    /// How the file is decoded, when all its outputs agree (the report says it).
    public var decode: DecodeMode? {
        let modes = Set(outputs.map(\.decode))
        return modes.count == 1 ? modes.first : nil
    }
}

extension FilePipeline {
    /// This output of `info`'s file made alone, on `threads` threads: streamed where the decoder
    /// and encoder can.
    public func renderPlan(for info: ImageInfo, threads: Int = 1) -> RenderPlan {
        let geometry = Geometry(pipeline: self, info: info)
        let animated = animates(info)
        let decode: DecodeMode = animated ? .frames : (info.streamsRows && !settings.linear ? .rows : .whole)
        let encode: EncodeMode = animated ? .animation : (rowEncoder(for: info, geometry: geometry) != nil ? .rows : .whole)
        return RenderPlan(self, info: info, geometry: geometry, decoderFactor: decoderFactor(geometry),
                          decode: decode, encode: encode, threads: threads)
    }

    /// Every output of `pipelines` (a profile: the same codecs, each output's own settings) from
    /// one decode of `info`'s file. One output is planned alone (`renderPlan(for:)`).
    public static func plan(for info: ImageInfo, outputs pipelines: [FilePipeline], threads: Int = 1) -> FilePlan {
        guard pipelines.count > 1 else {
            return FilePlan(info: info, outputs: pipelines.map { $0.renderPlan(for: info, threads: threads) })
        }
        let geometries = pipelines.map { Geometry(pipeline: $0, info: info) }
        let stills = pipelines.indices.filter { !pipelines[$0].animates(info) }
        // The still outputs share one decode, shrunk on load as far as the largest allows: by rows
        // when the decoder streams and no output wants linear light (the largest resized from the
        // rows as they come, each other box-averaged from them as they pass), else whole.
        let shared = stills.map { pipelines[$0].decoderFactor(geometries[$0]) }.min() ?? 1
        let streamed = info.streamsRows && !stills.contains { pipelines[$0].settings.linear }
        var plans = pipelines.indices.map { index in
            stills.contains(index)
                ? RenderPlan(pipelines[index], info: info, geometry: geometries[index], decoderFactor: shared,
                             decode: streamed ? .rows : .whole, encode: .whole, threads: threads)
                : RenderPlan(pipelines[index], info: info, geometry: geometries[index], decoderFactor: 1, decode: .frames,
                             encode: .animation, threads: threads)
        }
        // By rows, the outputs after the largest are box-averaged in a chain, each from the rows
        // of the one before it (as `renderStreamedStills` does).
        let order = largestFirst(stills.map { geometries[$0] }).map { stills[$0] }
        if streamed, let top = order.first.map({ plans[$0] }) {
            var rows = BoxedRows(width: top.decodedWidth, height: top.decodedHeight,
                                 scaleX: Double(top.decodedWidth) / Double(info.width),
                                 scaleY: Double(top.decodedHeight) / Double(info.height))
            for index in order.dropFirst() {
                plans[index] = RenderPlan(pipelines[index], info: info, geometry: geometries[index], decoderFactor: shared,
                                          decode: .rows, encode: .whole, threads: threads, boxedFrom: rows)
                let box = plans[index].boxFactors
                rows = BoxedRows(width: (rows.width + box.x - 1) / box.x, height: (rows.height + box.y - 1) / box.y,
                                 scaleX: rows.scaleX / Double(box.x), scaleY: rows.scaleY / Double(box.y))
            }
        }
        return FilePlan(info: info, outputs: plans)
    }

    /// Rows an output of a profile is box-averaged from: their size, and their scale of the
    /// stored picture.
    struct BoxedRows {
        let width: Int
        let height: Int
        let scaleX: Double
        let scaleY: Double
    }

    /// The positions of `geometries` by output area, largest first (the first of equals first):
    /// the order a profile's still outputs are made in.
    static func largestFirst(_ geometries: [Geometry]) -> [Int] {
        geometries.indices.sorted { geometries[$0].width * geometries[$0].height > geometries[$1].width * geometries[$1].height }
    }

    /// How one picture maps onto its output: the upright plan turned back into stored coordinates.
    struct Geometry {
        let orientation: Orientation
        /// Region of the stored image and the output size before turning upright.
        let region: SourceRegion
        let width: Int
        let height: Int

        init(pipeline: FilePipeline, info: ImageInfo) {
            orientation = pipeline.orientation(of: info)
            let plan = pipeline.plan(for: info)
            let uprightWidth = Double(orientation.swapsAxes ? info.height : info.width)
            let uprightHeight = Double(orientation.swapsAxes ? info.width : info.height)
            region = orientation.storedRegion(plan.region, uprightWidth: uprightWidth, uprightHeight: uprightHeight)
            width = orientation.swapsAxes ? plan.height : plan.width
            height = orientation.swapsAxes ? plan.width : plan.height
        }

        /// How much smaller than the region the output is, on the less-shrunk axis.
        var shrink: Double { min(region.width / Double(width), region.height / Double(height)) }

        /// The region in a picture decoded at `scaleX` × `scaleY` of the stored one.
        func region(scaleX: Double, scaleY: Double) -> SourceRegion {
            SourceRegion(x: region.x * scaleX, y: region.y * scaleY, width: region.width * scaleX, height: region.height * scaleY)
        }

        /// The box pre-shrink on each axis that still leaves the filter enough to do, for a
        /// picture in which the output's region is `scaled` (see `ShrinkOnLoad.boxFactor`).
        func boxFactors(in scaled: SourceRegion) -> (x: Int, y: Int) {
            (ShrinkOnLoad.boxFactor(remaining: scaled.width / Double(width)),
             ShrinkOnLoad.boxFactor(remaining: scaled.height / Double(height)))
        }
    }
}

extension RenderPlan {
    /// `boxedFrom`: a profile's output made from rows that pass on their way to another (see
    /// `FilePlan.plan`), box-averaged into a picture of its own and resized from it once the rows
    /// end; its box factors are then of those rows.
    fileprivate init(_ pipeline: FilePipeline, info: ImageInfo, geometry: FilePipeline.Geometry, decoderFactor: Int,
                     decode: DecodeMode, encode: EncodeMode, threads: Int, boxedFrom rows: FilePipeline.BoxedRows? = nil) {
        self.pipeline = pipeline
        self.info = info
        self.geometry = geometry
        self.decoderFactor = decoderFactor
        self.decode = decode
        self.encode = encode
        format = pipeline.settings.outputFormat(for: info, in: pipeline.codecs)
        profile = pipeline.profileToApply(info, decodedInSRGB: false)
        // The decoded size, as the codec says it shrinks (rounded up, as libjpeg and libwebp do);
        // frames are decoded whole.
        let shrink = decode == .frames ? .none : pipeline.codecs.description(of: info.format)?.decoderShrink ?? .none
        let scale = shrink.divisor(for: decoderFactor)
        decodedWidth = (info.width + scale - 1) / scale
        decodedHeight = (info.height + scale - 1) / scale
        let scaled = rows.map { geometry.region(scaleX: $0.scaleX, scaleY: $0.scaleY) }
            ?? geometry.region(scaleX: Double(decodedWidth) / Double(info.width), scaleY: Double(decodedHeight) / Double(info.height))
        boxFactors = pipeline.boxAllowed(info.layout.hasAlpha) && info.bitDepth == 8 ? geometry.boxFactors(in: scaled) : (1, 1)
        if let rows {
            // Held all through the decode, beside the other outputs' (so all of it counts as this
            // output's): the column sums and the averaged picture; then what resizing that
            // picture whole takes.
            let box = boxFactors
            let boxed = (width: (rows.width + box.x - 1) / box.x, height: (rows.height + box.y - 1) / box.y)
            let sums = rows.width * info.layout.channelCount * 4
            let resize = Self.need(pipeline, info: info, format: format, geometry: geometry, decode: .whole, encode: encode,
                                   decoded: boxed, box: (1, 1), profile: profile != nil, threads: threads)
            (decodedNeed, outputNeed) = (0, sums + resize.decoded + resize.output)
        } else {
            let need = Self.need(pipeline, info: info, format: format, geometry: geometry, decode: decode, encode: encode,
                                 decoded: (decodedWidth, decodedHeight), box: boxFactors, profile: profile != nil, threads: threads)
            (decodedNeed, outputNeed) = (need.decoded, need.output)
        }
        // A megabyte covers libjpeg's and zlib's buffers for an output encoded from rows.
        codecNeed = encode == .rows ? 1 << 20 : 0
    }

    /// The bytes of pictures the render holds at its peak, in two parts: what decoding and
    /// resizing hold beyond the output, and the output's own (with the copies made of it). The
    /// steps counted are those `FilePipeline` takes, in its order: the decoded picture (or, decoded
    /// by rows, the box's block of rows, the resampler's strip and the prefetcher's chunks), the
    /// box-averaged copy, the float rows of the precise resampler, the output, its colour-converted
    /// and its upright copies; then, to encode, the output in 8 bits and in the encoder's layout.
    private static func need(_ pipeline: FilePipeline, info: ImageInfo, format: ImageFormat, geometry: FilePipeline.Geometry,
                             decode: DecodeMode, encode: EncodeMode, decoded: (width: Int, height: Int), box: (x: Int, y: Int),
                             profile: Bool, threads: Int) -> (decoded: Int, output: Int) {
        let settings = pipeline.settings
        let layout = info.layout
        let precise = info.bitDepth == 16 || settings.linear
        let pixelBytes = info.bytesPerPixel
        let outputPixels = geometry.width * geometry.height
        let outputBytes = outputPixels * layout.channelCount * (precise ? info.bitDepth / 8 : 1)
        // Colour conversion (after the resize; in linear light it is done before) and the turn
        // upright each copy the output.
        let copies = (profile && !settings.linear ? 1 : 0) + (geometry.orientation != .up ? 1 : 0)
        // To encode: the output narrowed to 8 bits, and in the encoder's layout, where they differ
        // (bytes a pixel).
        var encodeCopyBytes = 0
        if let encoder = pipeline.codecs.encoders[format] {
            if info.bitDepth == 16 && !encoder.writesSixteenBits { encodeCopyBytes += layout.channelCount }
            let target = FilePipeline.layout(of: layout, for: encoder)
            if target != layout { encodeCopyBytes += target.channelCount * (encoder.writesSixteenBits ? info.bitDepth / 8 : 1) }
        }
        let encodeCopies = outputPixels * encodeCopyBytes
        let boxedWidth = (decoded.width + box.x - 1) / box.x
        let boxedHeight = (decoded.height + box.y - 1) / box.y
        let scale = Double(boxedHeight) * (geometry.region.height / Double(info.height)) / Double(max(1, geometry.height))
        let taps = min(Int((2 * settings.filter.support * max(scale, 1)).rounded(.up)) + 2, boxedHeight)
        switch decode {
        case .rows:
            let bands = (geometry.height + Resizer.bandRows - 1) / Resizer.bandRows
            let workers = max(1, min(threads, bands))
            let groupRows = workers * Resizer.bandRows
            let stripRows = min(boxedHeight, Int((Double(groupRows - 1) * scale).rounded(.up)) + taps + 1)
            // Nothing to resample (the output is the decoded size): rows go straight through.
            let identity = boxedWidth == geometry.width && boxedHeight == geometry.height
            var holding = identity ? 0 : stripRows * boxedWidth * pixelBytes
            // The box's block of input rows and its column sums (4 bytes a sample, input wide).
            if box.x > 1 || box.y > 1 { holding += box.y * decoded.width * pixelBytes + decoded.width * layout.channelCount * 4 }
            if threads > 1 { holding += 2 * Resizer.bandRows * 2 * boxedWidth * pixelBytes }
            if encode == .rows {
                // A group of output rows; when it needs converting, its copy, the colour-converted
                // copy and the copy in the encoder's layout (each as many pixels as the group has).
                let group = groupRows * geometry.width * pixelBytes
                let groupPixels = min(groupRows, geometry.height) * geometry.width
                let converting = profile || encodeCopyBytes > 0
                let converted = converting ? groupPixels * (pixelBytes * (profile ? 2 : 1) + encodeCopyBytes) : 0
                return (holding, group + converted)
            }
            return (holding, max(outputBytes * (1 + copies), outputBytes + encodeCopies))
        case .whole, .frames:
            let picture = decoded.width * decoded.height * pixelBytes
            let scratch = decoded.width * decoded.height * info.decodeScratchPerPixel
            var work = 0
            if precise {
                // Float rows, 4 lanes a pixel: every input row the region covers, output wide; in
                // linear light the picture converted first.
                let rows = Int(Double(decoded.height) * geometry.region.height / Double(info.height)) + taps
                work = rows * geometry.width * 16
                if settings.linear && profile { work += picture }
            } else if box.x > 1 || box.y > 1 {
                work = boxedWidth * boxedHeight * pixelBytes
            }
            let identity = !precise && boxedWidth == geometry.width && boxedHeight == geometry.height
            let resized = identity ? 0 : outputBytes
            if decode == .frames {
                // The frame handed over and what the decoder holds beside it; every frame's output is kept.
                let frames = encode == .animation ? info.frameCount : 1
                let held = picture + decoded.width * decoded.height * info.framesScratchPerPixel
                return (held + work + outputBytes * copies, outputBytes * frames + encodeCopies)
            }
            let decodedPeak = max(picture + scratch, picture + work + resized + outputBytes * copies)
            // Nothing resampled, the output is the decoded picture (shared by a profile's outputs
            // of that size): only its copy for the encoder is its own.
            return (decodedPeak - resized, identity ? encodeCopies : max(resized, outputBytes + encodeCopies))
        }
    }
}

extension RenderPlan {
    /// The box pre-shrink for the picture the decoder did make, at `scaleX` × `scaleY` of the stored
    /// one: by the rule `boxFactors` was planned by (the two agree when the decoder shrank as its
    /// codec describes; a header can lie about the size).
    func boxFactors(decodedAtX scaleX: Double, y scaleY: Double, hasAlpha: Bool) -> (x: Int, y: Int) {
        guard pipeline.boxAllowed(hasAlpha) else { return (1, 1) }
        return geometry.boxFactors(in: geometry.region(scaleX: scaleX, scaleY: scaleY))
    }
}
