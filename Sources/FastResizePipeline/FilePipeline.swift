// FilePipeline: one input file through probe, decode, resize, encode and an atomic write.

import FastResizePixels
import Foundation

/// One encoded output, before it is written.
public struct RenderedImage: Sendable {
    /// The file's bytes; empty when `render` was given a sink (they are there).
    public var bytes: [UInt8]
    /// The file's size, wherever its bytes are.
    public var byteCount: Int
    public var width: Int
    public var height: Int
    public var format: ImageFormat
    /// For WebP: "lossless" or "lossy" (with " (by content)" when FastResize chose).
    public var webpMode: String?
    /// Frames written (1 for still images).
    public var frames: Int
    /// Damage the decoder drew past (see `FailOn`).
    public var warnings: [String] = []

    package init(bytes: [UInt8], width: Int, height: Int, format: ImageFormat, webpMode: String?, frames: Int) {
        self.bytes = bytes
        byteCount = bytes.count
        self.width = width
        self.height = height
        self.format = format
        self.webpMode = webpMode
        self.frames = frames
    }
}

/// Counts what passes on to another sink.
private final class CountingSink: ByteSink {
    let base: any ByteSink
    var count = 0

    init(_ base: any ByteSink) { self.base = base }

    func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        count += bytes.count
        return base.append(bytes)
    }
}

/// Processes single files with one set of settings; safe to share between worker threads.
public struct FilePipeline: Sendable {
    public let codecs: CodecRegistry
    public let settings: ResizeSettings
    /// Inputs with more pixels than this are refused from their header, before any allocation.
    public let maxPixels: Int
    /// How much damage an input may have and still be drawn.
    public let failOn: FailOn

    /// sharp's default input limit, 0x3FFF × 0x3FFF.
    public static let defaultMaxPixels = 16383 * 16383

    public init(codecs: CodecRegistry, settings: ResizeSettings, maxPixels: Int = FilePipeline.defaultMaxPixels,
                failOn: FailOn = .error) {
        self.codecs = codecs
        self.settings = settings
        self.maxPixels = maxPixels
        self.failOn = failOn
    }

    /// The decoder for `format`, telling `log` what damage it draws past (and drawing truncated
    /// files as far as they go when `failOn` allows).
    func decoder(for format: ImageFormat, log: DecodeLog?) -> (any ImageDecoding)? {
        guard let base = codecs.decoders[format] else { return nil }
        guard let log, let logging = base as? any LoggingDecoding else { return base }
        return logging.logging(to: log, toleratingTruncation: failOn.toleratesTruncation)
    }

    /// What the decoder logged, by `failOn`: a failure (`.warning`), or warnings the output carries.
    func judged(_ rendered: RenderedImage, format: ImageFormat, log: DecodeLog) throws(FileError) -> RenderedImage {
        let warnings = log.warnings
        if failOn == .warning, let first = warnings.first {
            throw .codec(.decodeFailed(format, first + " (--fail-on warning)"))
        }
        var judged = rendered
        judged.warnings = warnings
        return judged
    }

    /// Maps a file read-only into memory (the page cache serves repeated reads).
    public static func readFile(_ path: String) throws(FileError) -> Data {
        try mapFile(path).data
    }

    /// Maps a file read-only and privately (mmap), so pages can be given back while decoding
    /// streams through it and read again from the file if touched: `mapped` says the bytes are
    /// such a mapping (an empty or small file is read instead, see `readLimit`). Falls back to
    /// reading for what cannot be mapped.
    public static func mapFile(_ path: String) throws(FileError) -> (data: Data, mapped: Bool) {
        let descriptor = FileSystem.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        let size = Int(status.st_size)
        let regular = (status.st_mode & S_IFMT) == S_IFREG
        guard regular && size > readLimit else {
            // Not a regular file (a pipe, say), or a small one: read it whole.
            guard let data = FileSystem.readAll(descriptor, size: regular ? size : nil) else {
                throw .unreadable(String(cString: strerror(errno)))
            }
            return (data, false)
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw .unreadable(String(cString: strerror(errno)))
        }
        let data = Data(bytesNoCopy: address, count: size, deallocator: .custom { pointer, count in
            munmap(pointer, count)
        })
        return (data, true)
    }

    /// Files up to this size are read into memory rather than mapped: a small file's pages are
    /// all resident either way, and unmapping in a process of several threads interrupts the
    /// others to flush their TLBs (the executable serves such blocks from its heap: its malloc's
    /// mmap threshold is 1 MiB). Larger ones stay mapped, so that decoding can give back the
    /// pages it has passed.
    static let readLimit = 1 << 18

    /// Recognises the format by content and reads the header, checking the pixel limit.
    public func inspect(_ data: Data) throws(FileError) -> ImageInfo {
        guard !data.isEmpty else { throw .empty }
        guard let format = codecs.detect(data.prefix(ImageFormat.headerLength)) else {
            if let name = codecs.foreignName(data.prefix(ImageFormat.headerLength)) {
                throw .unsupportedFormat(name)
            }
            throw .notAnImage
        }
        guard let decoder = codecs.decoders[format] else { throw .unsupportedFormat(format.displayName) }
        let info = try Self.withBytes(of: data) { bytes throws(CodecError) in try decoder.probe(bytes) }
        try checkLimit(width: info.width, height: info.height)
        return info
    }

    func checkLimit(width: Int, height: Int) throws(FileError) {
        // Multiply in a way that cannot overflow for hostile 32-bit sizes.
        if width <= 0 || height <= 0 || width > maxPixels || height > maxPixels / width {
            throw .pixelLimit(width: width, height: height)
        }
    }

    /// Refuses an output of `width` × `height` in `format` that is larger than the pixel limit or
    /// than the format holds: from the plan, before anything is decoded.
    public func checkOutput(width: Int, height: Int, format: ImageFormat) throws(FileError) {
        if width > maxPixels / max(1, height) {
            throw .outputTooLarge(width: width, height: height, reason: "more than --max-pixels allows (\(maxPixels))")
        }
        if let largest = codecs.description(of: format)?.largestSide, max(width, height) > largest {
            throw .outputTooLarge(width: width, height: height,
                                  reason: "more than \(format.displayName) holds (\(largest) on a side)")
        }
    }

    /// The output size and the source region, planned on the picture as it will be shown
    /// (upright, when orientation is applied).
    public func plan(for info: ImageInfo) -> ResizePlan {
        let orientation = self.orientation(of: info)
        return settings.mode.plan(sourceWidth: orientation.swapsAxes ? info.height : info.width,
                                  sourceHeight: orientation.swapsAxes ? info.width : info.height,
                                  enlarge: settings.enlarge)
    }

    func orientation(of info: ImageInfo) -> Orientation {
        settings.autoOrient ? info.metadata.orientation : .up
    }

    /// Decodes, resizes and encodes `data`; returns the encoded output and its facts.
    /// `info`, when the caller already inspected the file, saves reading the header again.
    /// `releasingInput` may be true only for bytes from `mapFile` that say `mapped`: decoding then
    /// gives back input pages it has passed (on other memory that would erase them). Given a
    /// `sink`, the file's bytes go there (the result's `bytes` stay empty); an output encoded from
    /// rows as they come (see `renderStreamed`) then writes them as they are made, so not even the
    /// encoded file is held. Given a `clock`, the time of each stage is added to it.
    public func render(_ data: Data, info known: ImageInfo? = nil, workspace: ResizeWorkspace = ResizeWorkspace(),
                       threads: Int = 1, releasingInput: Bool = false,
                       into sink: (any ByteSink)? = nil, clock: StageClock? = nil) throws(FileError) -> RenderedImage {
        try Self.render(data, plan: renderPlan(for: facts(known, of: data), threads: threads), workspace: workspace, threads: threads,
                        releasingInput: releasingInput, into: sink, clock: clock)
    }

    /// One output the way `plan` says (see `render(_:info:)`).
    public static func render(_ data: Data, plan: RenderPlan, workspace: ResizeWorkspace = ResizeWorkspace(),
                              threads: Int = 1, releasingInput: Bool = false,
                              into sink: (any ByteSink)? = nil, clock: StageClock? = nil) throws(FileError) -> RenderedImage {
        let pipeline = plan.pipeline
        guard let encoder = pipeline.codecs.encoders[plan.format] else { throw .noEncoder(plan.format) }
        try pipeline.checkOutput(width: plan.width, height: plan.height, format: plan.format)
        let log = DecodeLog()
        if plan.decode == .frames {
            let rendered = try pipeline.judged(renderAnimations(data, plans: [plan], workspace: workspace, threads: threads,
                                                                clock: clock, log: log)[0].get(),
                                               format: plan.info.format, log: log)
            return try clock.measure(.write) { () throws(FileError) in try deliver(rendered, to: sink) }
        }
        if plan.encode == .rows,
           let rendered = try pipeline.renderStreamed(data, plan: plan, workspace: workspace, threads: threads,
                                                      releasingInput: releasingInput, into: sink, clock: clock, log: log) {
            return try pipeline.judged(rendered, format: plan.info.format, log: log)
        }
        let image = try pipeline.resized(data, plan: plan, workspace: workspace, threads: threads,
                                         releasingInput: releasingInput, clock: clock, log: log)
        let encoded = try pipeline.judged(clock.measure(.encode) { () throws(FileError) in
            try pipeline.encodeStill(image, plan: plan, encoder: encoder)
        }, format: plan.info.format, log: log)
        return try clock.measure(.write) { () throws(FileError) in try deliver(encoded, to: sink) }
    }

    /// A file made whole, handed to `sink` when there is one (its bytes then leave the result).
    private static func deliver(_ rendered: RenderedImage, to sink: (any ByteSink)?) throws(FileError) -> RenderedImage {
        guard let sink else { return rendered }
        guard rendered.bytes.withUnsafeBytes({ sink.append($0) }) else { throw .writeFailed("write failed") }
        var delivered = rendered
        delivered.bytes = []
        return delivered
    }

    /// Every output of a profile (`pipelines`: the same codecs, each output's own settings) from
    /// one decode of `data`, as `plan(for:outputs:)` plans them (see `render(_:plan:)`).
    public static func render(_ data: Data, info: ImageInfo, outputs pipelines: [FilePipeline],
                              workspace: ResizeWorkspace = ResizeWorkspace(), threads: Int = 1, releasingInput: Bool = false,
                              into sinks: [any ByteSink]? = nil, clock: StageClock? = nil) -> [Result<RenderedImage, FileError>] {
        render(data, plan: plan(for: info, outputs: pipelines, threads: threads), workspace: workspace, threads: threads,
               releasingInput: releasingInput, into: sinks, clock: clock)
    }

    /// Every output of `plan` from one decode of `data`: the decoder shrinks on load only as far
    /// as the largest output allows; from rows, the largest output is resized as they come and
    /// each other box-averaged from them as they pass (`renderStreamedStills`), else each output is
    /// resized, converted and encoded from the whole picture. Animated outputs resize every frame into each of them as the frame is decoded. A
    /// decoding failure fails every output; an encoding failure only its own. One output goes its
    /// own way (`render(_:plan:)` with a `RenderPlan`), streaming included. Given `sinks` (one per
    /// output), each file's bytes go to its own.
    public static func render(_ data: Data, plan: FilePlan, workspace: ResizeWorkspace = ResizeWorkspace(), threads: Int = 1,
                              releasingInput: Bool = false, into sinks: [any ByteSink]? = nil,
                              clock: StageClock? = nil) -> [Result<RenderedImage, FileError>] {
        if plan.outputs.count == 1 {
            return [Result { () throws(FileError) in
                try render(data, plan: plan.outputs[0], workspace: workspace, threads: threads, releasingInput: releasingInput,
                           into: sinks?[0], clock: clock)
            }]
        }
        let log = DecodeLog()
        let results = renderShared(data, plans: plan.outputs, workspace: workspace, threads: threads,
                                   releasingInput: releasingInput, clock: clock, log: log).map { result in
            result.flatMap { rendered in
                Result { () throws(FileError) in try plan.outputs[0].pipeline.judged(rendered, format: plan.info.format, log: log) }
            }
        }
        guard let sinks else { return results }
        return zip(results, sinks).map { result, sink in
            result.flatMap { rendered in
                Result { () throws(FileError) in
                    try clock.measure(.write) { () throws(FileError) in try deliver(rendered, to: sink) }
                }
            }
        }
    }

    /// Several outputs from one decode (see `render(_:plan:)` with a `FilePlan`).
    private static func renderShared(_ data: Data, plans: [RenderPlan], workspace: ResizeWorkspace, threads: Int,
                                     releasingInput: Bool, clock: StageClock?, log: DecodeLog) -> [Result<RenderedImage, FileError>] {
        var results = [Result<RenderedImage, FileError>?](repeating: nil, count: plans.count)
        for (index, plan) in plans.enumerated() {
            do throws(FileError) {
                guard plan.pipeline.codecs.encoders[plan.format] != nil else { throw .noEncoder(plan.format) }
                try plan.pipeline.checkOutput(width: plan.width, height: plan.height, format: plan.format)
            } catch {
                results[index] = .failure(error)
            }
        }
        let animated = plans.indices.filter { results[$0] == nil && plans[$0].decode == .frames }
        if !animated.isEmpty {
            do {
                let rendered = try renderAnimations(data, plans: animated.map { plans[$0] }, workspace: workspace,
                                                    threads: threads, clock: clock, log: log)
                for (position, index) in animated.enumerated() { results[index] = rendered[position] }
            } catch {
                for index in animated { results[index] = .failure(error) }
            }
        }
        let stills = plans.indices.filter { results[$0] == nil }
        // By rows where the plan says so (see `renderStreamedStills`); whole when it does not, or
        // when this file turns out not to stream.
        if !stills.isEmpty, stills.allSatisfy({ plans[$0].decode == .rows }) {
            do {
                if let streamed = try renderStreamedStills(data, plans: stills.map { plans[$0] }, workspace: workspace,
                                                           threads: threads, releasingInput: releasingInput, clock: clock, log: log) {
                    for (position, index) in stills.enumerated() { results[index] = streamed[position] }
                    return results.map { $0! }
                }
            } catch {
                for index in stills { results[index] = .failure(error) }
                return results.map { $0! }
            }
        }
        if !stills.isEmpty {
            do {
                let decoded = try clock.measure(.decode) { () throws(FileError) in
                    try decodeShared(data, plans: stills.map { plans[$0] }, log: log)
                }
                // Largest output first; each smaller one is box-averaged from the picture the one
                // before it was (when its settings allow the box step), so the big decoded picture
                // is averaged down once rather than once per output.
                var cascade = decoded
                for index in Self.largestFirst(stills.map { plans[$0].geometry }).map({ stills[$0] }) {
                    let plan = plans[index]
                    let pipeline = plan.pipeline
                    var source = decoded
                    if pipeline.boxAllowed(decoded.pixels.format.hasAlpha) && decoded.pixels.bitDepth == 8 {
                        cascade = clock.measure(.resize) { Self.boxed(cascade, toward: plan.geometry) }
                        source = cascade
                    }
                    results[index] = Result { () throws(FileError) in
                        let image = clock.measure(.resize) {
                            pipeline.finish(source, plan: plan, workspace: workspace, threads: threads)
                        }
                        return try clock.measure(.encode) { () throws(FileError) in
                            try pipeline.encodeStill(image, plan: plan, encoder: pipeline.codecs.encoders[plan.format]!)
                        }
                    }
                }
            } catch {
                for index in stills { results[index] = .failure(error) }
            }
        }
        return results.map { $0! }
    }

    /// Several still outputs from one row-by-row decode, the picture never whole: the largest
    /// output is resized from the rows as they come (box-averaged as its own run would), and as
    /// they pass, each other output box-averages them into a small picture of its own, finished
    /// whole once the rows are done. One pass over the file's bytes, no full-size picture: a
    /// shared whole decode paid as much in page faults and a second pass over the picture as the
    /// separate runs it replaced. Nil when the file cannot be read by rows (or an output wants
    /// linear light); a decoding failure fails every output, an encoding failure only its own.
    private static func renderStreamedStills(_ data: Data, plans: [RenderPlan], workspace: ResizeWorkspace, threads: Int,
                                             releasingInput: Bool, clock: StageClock?,
                                             log: DecodeLog) throws(FileError) -> [Result<RenderedImage, FileError>]? {
        let first = plans[0].pipeline
        let info = plans[0].info
        guard let decoder = first.decoder(for: info.format, log: log) as? any RowStreaming else { return nil }
        let order = largestFirst(plans.map(\.geometry))
        let largest = plans[order[0]]
        return try withBytes(of: data) { bytes throws(CodecError) -> [Result<RenderedImage, FileError>]? in
            guard let reader = try first.openReader(bytes, decoder: decoder, format: info.format, factor: plans[0].decoderFactor,
                                                    releasingInput: releasingInput) else { return nil }
            // The other outputs' sinks in a chain, largest first, each averaging the rows of the one
            // before it (by the factors its output leaves room for at that scale), so the full rows
            // are summed once, not once an output.
            var links: [(index: Int, width: Int, height: Int, box: (x: Int, y: Int), scale: (x: Double, y: Double))] = []
            var (width, height, scaleX, scaleY) = (reader.width, reader.height, reader.scaleX, reader.scaleY)
            for index in order.dropFirst() {
                let box = plans[index].boxFactors(decodedAtX: scaleX, y: scaleY, hasAlpha: reader.format.hasAlpha)
                (scaleX, scaleY) = (scaleX / Double(box.x), scaleY / Double(box.y))
                links.append((index, width, height, box, (scaleX, scaleY)))
                (width, height) = ((width + box.x - 1) / box.x, (height + box.y - 1) / box.y)
            }
            var sinks: [(index: Int, sink: BoxSink, scale: (x: Double, y: Double))] = []
            for link in links.reversed() {
                let sink = BoxSink(width: link.width, height: link.height, format: reader.format, factorX: link.box.x,
                                   factorY: link.box.y, next: sinks.first?.sink)
                sinks.insert((link.index, sink, link.scale), at: 0)
            }
            let tee = TeeRows(reader: reader, sink: sinks.first?.sink, clock: clock)
            let box = largest.boxFactors(decodedAtX: reader.scaleX, y: reader.scaleY, hasAlpha: reader.format.hasAlpha)
            let rows = BoxRows(reader: tee, factorX: box.x, factorY: box.y)
            let region = boxedRegion(largest.geometry.region(scaleX: reader.scaleX, scaleY: reader.scaleY), box: box, rows: rows)
            let geometry = largest.geometry
            let resized = try clock.measure(.resize) { () throws(CodecError) in
                try Resizer(filter: largest.pipeline.settings.filter)
                    .resizeStreaming(sourceWidth: rows.width, sourceHeight: rows.height, format: reader.format, region: region,
                                     width: geometry.width, height: geometry.height, threads: threads, workspace: workspace,
                                     read: rows.read)
            }
            // The rows the largest output did not need (a crop) still feed the others.
            try tee.drain()
            var results = [Result<RenderedImage, FileError>?](repeating: nil, count: plans.count)
            results[order[0]] = Result { () throws(FileError) in
                let image = clock.measure(.resize) { largest.pipeline.finishResized(resized, geometry: geometry, profile: largest.profile) }
                return try clock.measure(.encode) { () throws(FileError) in
                    try largest.pipeline.encodeStill(image, plan: largest, encoder: largest.pipeline.codecs.encoders[largest.format]!)
                }
            }
            for (index, sink, scale) in sinks {
                let plan = plans[index]
                let decoded = DecodedImage(pixels: sink.finish(), scaleX: scale.x, scaleY: scale.y)
                results[index] = Result { () throws(FileError) in
                    let image = clock.measure(.resize) { plan.pipeline.finish(decoded, plan: plan, workspace: workspace, threads: threads) }
                    return try clock.measure(.encode) { () throws(FileError) in
                        try plan.pipeline.encodeStill(image, plan: plan, encoder: plan.pipeline.codecs.encoders[plan.format]!)
                    }
                }
            }
            return results.map { $0! }
        }
    }

    /// The output's region in rows box-averaged by `box`, kept inside them.
    private static func boxedRegion(_ region: SourceRegion, box: (x: Int, y: Int), rows: BoxRows) -> SourceRegion {
        SourceRegion(x: region.x / Double(box.x), y: region.y / Double(box.y),
                     width: min(region.width / Double(box.x), Double(rows.width) - region.x / Double(box.x)),
                     height: min(region.height / Double(box.y), Double(rows.height) - region.y / Double(box.y)))
    }

    /// `decoded` box-averaged as far as `geometry`'s output leaves the filter enough to do (see
    /// `ShrinkOnLoad.boxFactor`), its scale kept in step.
    private static func boxed(_ decoded: DecodedImage, toward geometry: Geometry) -> DecodedImage {
        let box = geometry.boxFactors(in: geometry.region(scaleX: decoded.scaleX, scaleY: decoded.scaleY))
        guard box.x > 1 || box.y > 1 else { return decoded }
        return DecodedImage(pixels: decoded.pixels.boxShrunk(byX: box.x, byY: box.y), scaleX: decoded.scaleX / Double(box.x),
                            scaleY: decoded.scaleY / Double(box.y), inSRGB: decoded.inSRGB)
    }

    /// Whether this output of `info`'s file is an animation (the file has frames, both codecs
    /// animate, and the user did not ask for the first frame only).
    package func animates(_ info: ImageInfo) -> Bool {
        info.frameCount > 1 && !settings.firstFrameOnly
            && codecs.encoders[settings.outputFormat(for: info, in: codecs)] is any AnimationEncoding
            && codecs.decoders[info.format] is any AnimationDecoding
    }

    /// The whole decode several outputs share, shrunk on load by the factor their plans share.
    private static func decodeShared(_ data: Data, plans: [RenderPlan], log: DecodeLog) throws(FileError) -> DecodedImage {
        let first = plans[0].pipeline
        let info = plans[0].info
        let decoder = first.decoder(for: info.format, log: log)!
        let factor = plans[0].decoderFactor
        let decoded = try withBytes(of: data) { bytes throws(CodecError) in try decoder.decode(bytes, shrinkingBy: factor) }
        try first.checkLimit(width: decoded.pixels.width, height: decoded.pixels.height)
        return decoded
    }

    /// Encodes one still output: 16 bits rounded for encoders without them, the encoder's layout,
    /// the metadata kept, WebP's mode.
    private func encodeStill(_ image: PixelBuffer, plan: RenderPlan, encoder: any ImageEncoding) throws(FileError) -> RenderedImage {
        var image = image
        var options = settings.encoding
        let webpMode = codecs.description(of: plan.format)?.losslessByContent == true ? chooseWebPMode(&options, for: image) : nil
        if image.bitDepth == 16 && !encoder.writesSixteenBits { image = image.narrowed() }
        image = Self.prepare(image, for: encoder, background: settings.background)
        let metadata = outputMetadata(plan.info.metadata, pixels: image.format, width: image.width, height: image.height)
        do {
            let bytes = try encoder.encode(image, options: options, metadata: metadata)
            return RenderedImage(bytes: bytes, width: image.width, height: image.height, format: plan.format,
                                 webpMode: webpMode, frames: 1)
        } catch {
            throw .codec(error)
        }
    }

    /// Decode, resize and encode all streamed, for outputs planned so (`EncodeMode.rows`: the
    /// encoder takes rows and gains by it, `RowEncoding.streamsRows`: any PNG, large JPEG):
    /// finished output rows go to the encoder group by group, converted to sRGB and to the
    /// encoder's layout on the way, so neither the decoded picture nor the output picture ever
    /// exists whole. Nil when the decoder turns out unable to stream this file after all.
    private func renderStreamed(_ data: Data, plan: RenderPlan, workspace: ResizeWorkspace, threads: Int,
                                releasingInput: Bool, into given: (any ByteSink)?,
                                clock: StageClock?, log: DecodeLog) throws(FileError) -> RenderedImage? {
        let geometry = plan.geometry
        guard let encoder = codecs.encoders[plan.format] as? any RowEncoding,
              let decoder = decoder(for: plan.info.format, log: log) as? any RowStreaming else { return nil }
        let profile = plan.profile
        let resizer = Resizer(filter: settings.filter)
        let buffer = ByteBuffer()
        let sink = CountingSink(given ?? buffer)
        // Interleaved: rows read count as decode, rows handed to the encoder (and written) as
        // encode, the rest as resize.
        let done: Void? = try clock.measure(.resize) { () throws(FileError) in
          try withStreamedSource(data, decoder: decoder, plan: plan, threads: threads,
                                 releasingInput: releasingInput, clock: clock) { source throws(CodecError) in
            let layout = Self.layout(of: source.format, for: encoder)
            let writer = try encoder.rowWriter(width: geometry.width, height: geometry.height, format: layout,
                                               options: settings.encoding,
                                               metadata: outputMetadata(plan.info.metadata, pixels: layout,
                                                                        width: geometry.width, height: geometry.height),
                                               into: sink)
            try resizer.resizeStreaming(sourceWidth: source.width, sourceHeight: source.height, format: source.format,
                                        region: source.region, width: geometry.width, height: geometry.height,
                                        threads: threads, workspace: workspace, read: source.read) { rows, count throws(CodecError) in
                try clock.measure(.encode) { () throws(CodecError) in
                    if profile == nil && layout == source.format { return try writer.write(rows, count: count) }
                    // The group converted as a whole output would be (its orientation is upright).
                    let group = PixelBuffer(width: geometry.width, height: count, format: source.format,
                                            pixels: Array(UnsafeBufferPointer(start: rows, count: geometry.width * count * source.format.channelCount)))
                    let prepared = Self.prepare(finishResized(group, geometry: geometry, profile: profile), for: encoder,
                                                background: settings.background)
                    try prepared.pixels.withUnsafeBufferPointer { pixels throws(CodecError) in
                        try writer.write(pixels.baseAddress!, count: count)
                    }
                }
            }
            try clock.measure(.encode) { () throws(CodecError) in try writer.finish() }
          }
        }
        guard done != nil else { return nil }
        var rendered = RenderedImage(bytes: buffer.bytes, width: geometry.width, height: geometry.height, format: plan.format,
                                     webpMode: nil, frames: 1)
        rendered.byteCount = sink.count
        return rendered
    }

    /// The encoder that can take `info`'s output row by row as it is resized and gains by it, or
    /// nil when the output is made whole: a streamed decode, not linear light, and nothing to turn
    /// upright (turning needs the whole output; it is small next to the input).
    func rowEncoder(for info: ImageInfo, geometry: Geometry) -> (any RowEncoding)? {
        guard info.streamsRows, !settings.linear, geometry.orientation == .up,
              let encoder = codecs.encoders[settings.outputFormat(for: info, in: codecs)] as? any RowEncoding,
              encoder.streamsRows(settings.encoding)
        else { return nil }
        return encoder
    }

    /// Every frame resized the same way into each of `plans`' outputs as it is decoded
    /// (only the small frames are kept), timing and loop count kept. A decoding failure throws;
    /// an encoding failure fails its output.
    private static func renderAnimations(_ data: Data, plans: [RenderPlan], workspace: ResizeWorkspace, threads: Int,
                                         clock: StageClock?, log: DecodeLog) throws(FileError) -> [Result<RenderedImage, FileError>] {
        let decoder = plans[0].pipeline.decoder(for: plans[0].info.format, log: log) as! any AnimationDecoding
        var frames = [[PixelBuffer]](repeating: [], count: plans.count)
        var durations: [Int] = []
        let loopCount = try clock.measure(.decode) { () throws(FileError) in
            try withBytes(of: data) { bytes throws(CodecError) in
                try decoder.decodeFrames(bytes) { frame, duration in
                    let decoded = DecodedImage(pixels: frame, scaleX: 1, scaleY: 1)
                    for (index, plan) in plans.enumerated() {
                        frames[index].append(clock.measure(.resize) {
                            plan.pipeline.finish(decoded, plan: plan, workspace: workspace, threads: threads)
                        })
                    }
                    durations.append(duration)
                }
            }
        }
        return plans.enumerated().map { index, plan in
            Result { () throws(FileError) in
                let pipeline = plan.pipeline
                let encoder = pipeline.codecs.encoders[plan.format] as! any AnimationEncoding
                let animation = Animation(frames: frames[index], durations: durations, loopCount: loopCount)
                var options = pipeline.settings.encoding
                let webpMode = pipeline.codecs.description(of: plan.format)?.losslessByContent == true
                    ? pipeline.chooseWebPMode(&options, for: animation.frames[0]) : nil
                do throws(CodecError) {
                    let bytes = try clock.measure(.encode) { () throws(CodecError) in try encoder.encode(animation, options: options) }
                    let first = animation.frames[0]
                    return RenderedImage(bytes: bytes, width: first.width, height: first.height, format: plan.format,
                                         webpMode: webpMode, frames: animation.frames.count)
                } catch {
                    throw .codec(error)
                }
            }
        }
    }

    /// Lossless or lossy WebP: as the user said, else lossless for graphics and lossy for
    /// photographs (judged on `image`, an animation's first frame). Returns what the report says.
    private func chooseWebPMode(_ options: inout EncodeOptions, for image: PixelBuffer) -> String {
        let byContent = settings.lossless == nil
        options.lossless = settings.lossless ?? ContentClassifier.looksLikeGraphics(image)
        return (options.lossless ? "lossless" : "lossy") + (byContent ? " (by content)" : "")
    }

    /// The metadata an output carries: none by default; the profile with --keep-profile; EXIF, XMP
    /// and a profile (sRGB's, when the pixels were converted) with --keep-metadata. A profile that
    /// does not describe the written pixels (CMYK, converted on decoding) is never kept. Kept EXIF
    /// says the output's size and loses its thumbnail, a picture of the input that no longer matches.
    private func outputMetadata(_ input: ImageMetadata, pixels format: PixelFormat, width: Int, height: Int) -> ImageMetadata {
        var output = ImageMetadata()
        if settings.keepMetadata {
            output = settings.autoOrient ? input.uprighted() : input
            output.exif = output.exif.map { EXIF.describing($0, width: width, height: height) }
            output.iccProfile = input.iccProfile != nil && !format.isGray ? codecs.color?.sRGBProfile : nil
        }
        if settings.keepProfile, let profile = input.iccProfile, codecs.color?.fits(profile, format) ?? false {
            output.iccProfile = profile
        }
        output.orientation = .up
        return output
    }

    /// Decodes and resizes: shrink on load where the decoder can, box averaging while the
    /// reduction left is still large, then the filter (see `ShrinkOnLoad`); then the colour
    /// conversion to sRGB and the turn upright.
    public func resized(_ data: Data, info known: ImageInfo? = nil, workspace: ResizeWorkspace = ResizeWorkspace(),
                        threads: Int = 1, releasingInput: Bool = false, clock: StageClock? = nil,
                        log: DecodeLog? = nil) throws(FileError) -> PixelBuffer {
        try resized(data, plan: renderPlan(for: facts(known, of: data), threads: threads), workspace: workspace, threads: threads,
                    releasingInput: releasingInput, clock: clock, log: log)
    }

    /// Decodes and resizes the way `plan` says: by rows or whole.
    private func resized(_ data: Data, plan: RenderPlan, workspace: ResizeWorkspace, threads: Int, releasingInput: Bool,
                         clock: StageClock?, log: DecodeLog?) throws(FileError) -> PixelBuffer {
        let info = plan.info
        let decoder = decoder(for: info.format, log: log)!
        let geometry = plan.geometry
        if plan.decode == .rows, let streaming = decoder as? any RowStreaming {
            let resizer = Resizer(filter: settings.filter)
            // Rows read count as decode (see `withStreamedSource`), the rest as resize.
            let image = try clock.measure(.resize) { () throws(FileError) in
                try withStreamedSource(data, decoder: streaming, plan: plan, threads: threads,
                                       releasingInput: releasingInput, clock: clock) { source throws(CodecError) in
                    try resizer.resizeStreaming(sourceWidth: source.width, sourceHeight: source.height, format: source.format,
                                                region: source.region, width: geometry.width, height: geometry.height,
                                                threads: threads, workspace: workspace, read: source.read)
                }.map { finishResized($0, geometry: geometry, profile: plan.profile) }
            }
            if let image { return image }
        }
        let decoded = try clock.measure(.decode) { () throws(FileError) in
            try Self.withBytes(of: data) { bytes throws(CodecError) in try decoder.decode(bytes, shrinkingBy: plan.decoderFactor) }
        }
        try checkLimit(width: decoded.pixels.width, height: decoded.pixels.height)
        return clock.measure(.resize) { finish(decoded, plan: plan, workspace: workspace, threads: threads) }
    }

    private var cheapStepsAllowed: Bool { settings.filter != .nearest && !settings.linear }

    /// Whether a picture (with alpha or not) may be box-averaged before the filter: not with
    /// point sampling or linear light, and not with alpha (averaging unpremultiplied samples
    /// would bleed the colour of transparent pixels).
    func boxAllowed(_ hasAlpha: Bool) -> Bool { cheapStepsAllowed && !hasAlpha }

    /// How much the decoder may shrink while decoding. Point sampling asks for source pixels as
    /// they are, and linear light for averages of intensities: neither may have a gamma-space
    /// averaging step (DCT scaling, box) first.
    func decoderFactor(_ geometry: Geometry) -> Int {
        cheapStepsAllowed ? ShrinkOnLoad.decoderFactor(shrink: geometry.shrink) : 1
    }

    /// The profile still to apply: none when the decoder applied it, the user keeps it, or it is sRGB's.
    func profileToApply(_ info: ImageInfo, decodedInSRGB: Bool) -> [UInt8]? {
        guard !decodedInSRGB, !settings.keepProfile, let profile = info.metadata.iccProfile,
              let color = codecs.color, !color.isSRGB(profile) else { return nil }
        return profile
    }

    /// Resize, colour conversion to sRGB (unless the decoder converted), and orientation of one
    /// decoded picture (or animation frame), as `plan` says.
    private func finish(_ decoded: DecodedImage, plan: RenderPlan, workspace: ResizeWorkspace, threads: Int) -> PixelBuffer {
        let geometry = plan.geometry
        var image = decoded.pixels
        var region = geometry.region(scaleX: decoded.scaleX, scaleY: decoded.scaleY)
        var profile = decoded.inSRGB ? nil : plan.profile
        let precise = image.bitDepth == 16 || settings.linear
        if precise {
            // Linear light is sRGB's: convert first, so the curve removed is the right one.
            if settings.linear, let pending = profile {
                image = codecs.color?.convertToSRGB(image, profile: pending) ?? image
                profile = nil
            }
            region = Self.clamped(region, to: image)
            image = PrecisionResizer(filter: settings.filter, linear: settings.linear)
                .resize(image, region: region, width: geometry.width, height: geometry.height,
                        outputBitDepth: image.bitDepth, threads: threads)
        } else {
            let box = plan.boxFactors(decodedAtX: decoded.scaleX, y: decoded.scaleY, hasAlpha: image.format.hasAlpha)
            if box.x > 1 || box.y > 1 {
                image = image.boxShrunk(byX: box.x, byY: box.y)
                region = SourceRegion(x: region.x / Double(box.x), y: region.y / Double(box.y),
                                      width: region.width / Double(box.x), height: region.height / Double(box.y))
            }
            region = Self.clamped(region, to: image)
            image = Resizer(filter: settings.filter).resize(image, region: region, width: geometry.width,
                                                            height: geometry.height, threads: threads, workspace: workspace)
        }
        return finishResized(image, geometry: geometry, profile: profile)
    }

    /// Colour conversion (converting the small output costs far less than converting the decoded
    /// picture) and the turn upright.
    private func finishResized(_ image: PixelBuffer, geometry: Geometry, profile: [UInt8]?) -> PixelBuffer {
        guard let profile, let converted = codecs.color?.convertToSRGB(image, profile: profile) else {
            return image.oriented(geometry.orientation)
        }
        return converted.oriented(geometry.orientation)
    }

    /// The decoder's row reader, shrinking on load by `factor`, its size checked against the
    /// pixel limit (a header can lie); nil when the file cannot be read row by row.
    private func openReader(_ bytes: UnsafeRawBufferPointer, decoder: any RowStreaming, format: ImageFormat, factor: Int,
                            releasingInput: Bool) throws(CodecError) -> (any RowReader)? {
        guard let reader = try decoder.rowReader(bytes, shrinkingBy: factor, releasingInput: releasingInput) else { return nil }
        guard reader.width > 0, reader.height > 0, reader.height <= maxPixels / reader.width else {
            throw .decodeFailed(format, "decoded size \(reader.width) x \(reader.height) is out of bounds")
        }
        return reader
    }

    /// A streamed decode ready to resize: its rows (box-averaged as they come) and the region of
    /// them to resize.
    struct StreamedSource {
        let width: Int
        let height: Int
        let format: PixelFormat
        let region: SourceRegion
        /// Fills the next rows, as `Resizer.resizeStreaming` asks.
        let read: (UnsafeMutablePointer<UInt8>, Int) throws(CodecError) -> Void
    }

    /// Opens a row-by-row decode, for decoders that can (8-bit JPEG, PNG, TIFF), and hands it to
    /// `body`: the decoded picture never exists whole, and input pages already decoded are given
    /// back, so memory stays a strip of rows whatever the picture's size. The box pre-shrink runs
    /// on the rows as they come. Nil when this file cannot be streamed.
    private func withStreamedSource<R>(_ data: Data, decoder: any RowStreaming, plan: RenderPlan,
                                       threads: Int, releasingInput: Bool, clock: StageClock?,
                                       _ body: (StreamedSource) throws(CodecError) -> R) throws(FileError) -> R? {
        let format = plan.info.format
        return try Self.withBytes(of: data) { bytes throws(CodecError) -> R? in
            guard let reader = try openReader(bytes, decoder: decoder, format: format, factor: plan.decoderFactor,
                                              releasingInput: releasingInput) else { return nil }
            let box = plan.boxFactors(decodedAtX: reader.scaleX, y: reader.scaleY, hasAlpha: reader.format.hasAlpha)
            let rows = BoxRows(reader: reader, factorX: box.x, factorY: box.y)
            let region = Self.boxedRegion(plan.geometry.region(scaleX: reader.scaleX, scaleY: reader.scaleY), box: box, rows: rows)
            // With cores to spare (a lone file), the decoder runs ahead on a thread of its own.
            let prefetcher = threads > 1
                ? RowPrefetcher(rowBytes: rows.width * reader.format.channelCount, height: rows.height,
                                chunkRows: Resizer.bandRows * 2, format: format) { target, count throws(CodecError) in
                    try rows.read(into: target, rows: count)
                }
                : nil
            defer { prefetcher?.stop() }
            let source = StreamedSource(width: rows.width, height: rows.height, format: reader.format, region: region) {
                target, count throws(CodecError) in
                // Waiting for rows a prefetcher decodes ahead counts as decoding.
                try clock.measure(.decode) { () throws(CodecError) in
                    if let prefetcher {
                        try prefetcher.read(into: target, rows: count)
                    } else {
                        try rows.read(into: target, rows: count)
                    }
                }
            }
            return try body(source)
        }
    }

    /// The region kept inside the (possibly rounded-up) decoded image.
    private static func clamped(_ region: SourceRegion, to image: PixelBuffer) -> SourceRegion {
        var region = region
        region.width = min(region.width, Double(image.width) - region.x)
        region.height = min(region.height, Double(image.height) - region.y)
        return region
    }

    /// The header facts: those the caller already has, else read now.
    private func facts(_ known: ImageInfo?, of data: Data) throws(FileError) -> ImageInfo {
        if let known { return known }
        return try inspect(data)
    }

    /// Converts to a layout the encoder takes: alpha flattened for encoders without it, gray
    /// expanded where the encoder has no gray.
    static func prepare(_ image: PixelBuffer, for encoder: any ImageEncoding,
                        background: RGBColor) -> PixelBuffer {
        let target = layout(of: image.format, for: encoder)
        if target == image.format { return image }
        return image.converted(to: target, background: (background.red, background.green, background.blue))
    }

    /// The layout `encoder` is given pictures of `format` in: the same when it takes it, else the nearest it takes.
    package static func layout(of format: PixelFormat, for encoder: any ImageEncoding) -> PixelFormat {
        let accepted = encoder.acceptedFormats
        if accepted.contains(format) { return format }
        let candidates: [PixelFormat]
        switch format {
        case .gray: candidates = [.rgb, .rgba, .grayAlpha]
        case .grayAlpha: candidates = [.rgba, .gray, .rgb]
        case .rgb: candidates = [.rgba, .gray]
        case .rgba: candidates = [.rgb, .grayAlpha, .gray]
        }
        return candidates.first(where: accepted.contains) ?? .rgb
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

    package static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        return nsError.localizedDescription
    }
}
