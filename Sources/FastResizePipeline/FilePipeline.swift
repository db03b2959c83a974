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

    init(bytes: [UInt8], width: Int, height: Int, format: ImageFormat, webpMode: String?, frames: Int) {
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
    /// such a mapping (an empty file is not). Falls back to reading for what cannot be mapped.
    public static func mapFile(_ path: String) throws(FileError) -> (data: Data, mapped: Bool) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            // Not a regular file (a pipe, say): read it whole.
            do {
                return (try FileHandle(fileDescriptor: descriptor, closeOnDealloc: false).readToEnd() ?? Data(), false)
            } catch {
                throw .unreadable(Self.describe(error))
            }
        }
        let size = Int(status.st_size)
        if size == 0 { return (Data(), false) }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw .unreadable(String(cString: strerror(errno)))
        }
        let data = Data(bytesNoCopy: address, count: size, deallocator: .custom { pointer, count in
            munmap(pointer, count)
        })
        return (data, true)
    }

    /// Recognises the format by content and reads the header, checking the pixel limit.
    public func inspect(_ data: Data) throws(FileError) -> ImageInfo {
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

    private func checkLimit(width: Int, height: Int) throws(FileError) {
        // Multiply in a way that cannot overflow for hostile 32-bit sizes.
        if width <= 0 || height <= 0 || width > maxPixels || height > maxPixels / width {
            throw .pixelLimit(width: width, height: height)
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

    private func orientation(of info: ImageInfo) -> Orientation {
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
        let info = try facts(known, of: data)
        let format = settings.outputFormat(for: info, in: codecs)
        guard let encoder = codecs.encoders[format] else { throw .noEncoder(format) }
        let log = DecodeLog()
        if decodeMode(for: info) == .frames {
            let rendered = try judged(Self.renderAnimations(data, info: info, pipelines: [self], workspace: workspace,
                                                            threads: threads, clock: clock, log: log)[0].get(),
                                      format: info.format, log: log)
            return try clock.measure(.write) { () throws(FileError) in try Self.deliver(rendered, to: sink) }
        }
        if let rendered = try renderStreamed(data, info: info, format: format, workspace: workspace, threads: threads,
                                             releasingInput: releasingInput, into: sink, clock: clock, log: log) {
            return try judged(rendered, format: info.format, log: log)
        }
        let image = try resized(data, info: info, workspace: workspace, threads: threads, releasingInput: releasingInput,
                                clock: clock, log: log)
        let encoded = try judged(clock.measure(.encode) { () throws(FileError) in
            try encodeStill(image, info: info, encoder: encoder, format: format)
        }, format: info.format, log: log)
        return try clock.measure(.write) { () throws(FileError) in try Self.deliver(encoded, to: sink) }
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
    /// one decode of `data`: the decoder shrinks on load only as far as the largest output allows
    /// (streamed files are box-averaged as their rows come, by the largest output's factor), then
    /// each output is resized, converted and encoded from that picture. Animated outputs resize
    /// every frame into each of them as the frame is decoded. A decoding failure fails every
    /// output; an encoding failure only its own. One output goes the single-output way
    /// (`render`), streaming included. Given `sinks` (one per output), each file's bytes go to its own.
    public static func render(_ data: Data, info: ImageInfo, outputs pipelines: [FilePipeline],
                              workspace: ResizeWorkspace = ResizeWorkspace(), threads: Int = 1, releasingInput: Bool = false,
                              into sinks: [any ByteSink]? = nil, clock: StageClock? = nil) -> [Result<RenderedImage, FileError>] {
        if pipelines.count == 1 {
            return [Result { () throws(FileError) in
                try pipelines[0].render(data, info: info, workspace: workspace, threads: threads, releasingInput: releasingInput,
                                        into: sinks?[0], clock: clock)
            }]
        }
        let log = DecodeLog()
        let results = renderShared(data, info: info, pipelines: pipelines, workspace: workspace, threads: threads,
                                   releasingInput: releasingInput, clock: clock, log: log).map { result in
            result.flatMap { rendered in
                Result { () throws(FileError) in try pipelines[0].judged(rendered, format: info.format, log: log) }
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

    /// Several outputs from one decode (see `render(_:info:outputs:)`).
    private static func renderShared(_ data: Data, info: ImageInfo, pipelines: [FilePipeline], workspace: ResizeWorkspace,
                                     threads: Int, releasingInput: Bool, clock: StageClock?,
                                     log: DecodeLog) -> [Result<RenderedImage, FileError>] {
        var results = [Result<RenderedImage, FileError>?](repeating: nil, count: pipelines.count)
        for (index, pipeline) in pipelines.enumerated() {
            let format = pipeline.settings.outputFormat(for: info, in: pipeline.codecs)
            if pipeline.codecs.encoders[format] == nil { results[index] = .failure(.noEncoder(format)) }
        }
        let animated = pipelines.indices.filter { results[$0] == nil && pipelines[$0].animates(info) }
        if !animated.isEmpty {
            do {
                let rendered = try renderAnimations(data, info: info, pipelines: animated.map { pipelines[$0] },
                                                    workspace: workspace, threads: threads, clock: clock, log: log)
                for (position, index) in animated.enumerated() { results[index] = rendered[position] }
            } catch {
                for index in animated { results[index] = .failure(error) }
            }
        }
        let stills = pipelines.indices.filter { results[$0] == nil }
        if !stills.isEmpty {
            let geometries = pipelines.map { Geometry(pipeline: $0, info: info) }
            do {
                let decoded = try clock.measure(.decode) { () throws(FileError) in
                    try decodeShared(data, info: info, pipelines: stills.map { pipelines[$0] },
                                     geometries: stills.map { geometries[$0] }, releasingInput: releasingInput, log: log)
                }
                // Largest output first; each smaller one is box-averaged from the picture the one
                // before it was (when its settings allow the box step), so the big decoded picture
                // is averaged down once rather than once per output.
                var cascade = decoded
                for index in stills.sorted(by: { geometries[$0].width * geometries[$0].height > geometries[$1].width * geometries[$1].height }) {
                    let pipeline = pipelines[index]
                    let format = pipeline.settings.outputFormat(for: info, in: pipeline.codecs)
                    var source = decoded
                    if pipeline.cheapStepsAllowed && !decoded.pixels.format.hasAlpha && decoded.pixels.bitDepth == 8 {
                        cascade = clock.measure(.resize) { Self.boxed(cascade, toward: geometries[index]) }
                        source = cascade
                    }
                    results[index] = Result { () throws(FileError) in
                        let image = clock.measure(.resize) {
                            pipeline.finish(source, geometry: geometries[index],
                                            profile: pipeline.profileToApply(info, decodedInSRGB: decoded.inSRGB),
                                            workspace: workspace, threads: threads)
                        }
                        return try clock.measure(.encode) { () throws(FileError) in
                            try pipeline.encodeStill(image, info: info, encoder: pipeline.codecs.encoders[format]!, format: format)
                        }
                    }
                }
            } catch {
                for index in stills { results[index] = .failure(error) }
            }
        }
        return results.map { $0! }
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

    /// The decode several outputs share: shrunk on load by the smallest factor any of them allows.
    private static func decodeShared(_ data: Data, info: ImageInfo, pipelines: [FilePipeline], geometries: [Geometry],
                                     releasingInput: Bool, log: DecodeLog) throws(FileError) -> DecodedImage {
        let first = pipelines[0]
        let decoder = first.decoder(for: info.format, log: log)!
        let factor = zip(pipelines, geometries).map { $0.decoderFactor($1) }.min() ?? 1
        if !pipelines.contains(where: \.settings.linear), let streaming = decoder as? any RowStreaming {
            let decoded = try withBytes(of: data) { bytes throws(CodecError) -> DecodedImage? in
                guard let reader = try first.openReader(bytes, decoder: streaming, format: info.format, factor: factor,
                                                        releasingInput: releasingInput) else { return nil }
                // The rows are box-averaged as they come, as far as the largest output allows.
                var box = (x: Int.max, y: Int.max)
                for (pipeline, geometry) in zip(pipelines, geometries) {
                    let allowed = pipeline.cheapStepsAllowed && !reader.format.hasAlpha
                    let factors = allowed ? geometry.boxFactors(in: geometry.region(scaleX: reader.scaleX, scaleY: reader.scaleY)) : (x: 1, y: 1)
                    box = (min(box.x, factors.x), min(box.y, factors.y))
                }
                let rows = BoxRows(reader: reader, factorX: box.x, factorY: box.y)
                var image = PixelBuffer(uninitializedWidth: rows.width, height: rows.height, format: reader.format)
                try image.pixels.withUnsafeMutableBufferPointer { target throws(CodecError) in
                    try rows.read(into: target.baseAddress!, rows: rows.height)
                }
                return DecodedImage(pixels: image, scaleX: reader.scaleX / Double(box.x), scaleY: reader.scaleY / Double(box.y))
            }
            if let decoded { return decoded }
        }
        let decoded = try withBytes(of: data) { bytes throws(CodecError) in try decoder.decode(bytes, shrinkingBy: factor) }
        try first.checkLimit(width: decoded.pixels.width, height: decoded.pixels.height)
        return decoded
    }

    /// Encodes one still output: 16 bits rounded for encoders without them, the encoder's layout,
    /// the metadata kept, WebP's mode.
    private func encodeStill(_ image: PixelBuffer, info: ImageInfo, encoder: any ImageEncoding,
                             format: ImageFormat) throws(FileError) -> RenderedImage {
        var image = image
        var options = settings.encoding
        let webpMode = codecs.description(of: format)?.losslessByContent == true ? chooseWebPMode(&options, for: image) : nil
        if image.bitDepth == 16 && !encoder.writesSixteenBits { image = image.narrowed() }
        image = Self.prepare(image, for: encoder, background: settings.background)
        let metadata = outputMetadata(info.metadata, pixels: image.format)
        do {
            let bytes = try encoder.encode(image, options: options, metadata: metadata)
            return RenderedImage(bytes: bytes, width: image.width, height: image.height, format: format,
                                 webpMode: webpMode, frames: 1)
        } catch {
            throw .codec(error)
        }
    }

    /// Decode, resize and encode all streamed, for outputs whose encoder takes rows and gains by
    /// it (`RowEncoding.streamsRows`: any PNG, large JPEG): finished output rows go to the encoder
    /// group by group, converted to sRGB and to the encoder's layout on the way, so neither the
    /// decoded picture nor the output picture ever exists whole. Nil when this file or output
    /// cannot go this way: not streamable, linear light, or to be turned upright (turning needs
    /// the whole output; it is small next to the input).
    private func renderStreamed(_ data: Data, info: ImageInfo, format: ImageFormat, workspace: ResizeWorkspace,
                                threads: Int, releasingInput: Bool, into given: (any ByteSink)?,
                                clock: StageClock?, log: DecodeLog) throws(FileError) -> RenderedImage? {
        let geometry = Geometry(pipeline: self, info: info)
        guard let encoder = rowEncoder(for: info, geometry: geometry),
              let decoder = decoder(for: info.format, log: log) as? any RowStreaming else { return nil }
        let profile = profileToApply(info, decodedInSRGB: false)
        let resizer = Resizer(filter: settings.filter)
        let buffer = ByteBuffer()
        let sink = CountingSink(given ?? buffer)
        // Interleaved: rows read count as decode, rows handed to the encoder (and written) as
        // encode, the rest as resize.
        let done: Void? = try clock.measure(.resize) { () throws(FileError) in
          try withStreamedSource(data, decoder: decoder, format: info.format, geometry: geometry, threads: threads,
                                 releasingInput: releasingInput, clock: clock) { source throws(CodecError) in
            let layout = Self.layout(of: source.format, for: encoder)
            let writer = try encoder.rowWriter(width: geometry.width, height: geometry.height, format: layout,
                                               options: settings.encoding,
                                               metadata: outputMetadata(info.metadata, pixels: layout), into: sink)
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
        var rendered = RenderedImage(bytes: buffer.bytes, width: geometry.width, height: geometry.height, format: format,
                                     webpMode: nil, frames: 1)
        rendered.byteCount = sink.count
        return rendered
    }

    /// The encoder that takes `info`'s output row by row as it is resized, or nil when the output
    /// is made whole (see `renderStreamed`).
    func rowEncoder(for info: ImageInfo, geometry: Geometry) -> (any RowEncoding)? {
        guard info.streamsRows, !settings.linear, geometry.orientation == .up,
              let encoder = codecs.encoders[settings.outputFormat(for: info, in: codecs)] as? any RowEncoding,
              encoder.streamsRows(settings.encoding, outputBytes: geometry.width * geometry.height * (info.hasAlpha ? 4 : 3))
        else { return nil }
        return encoder
    }

    /// Every frame resized the same way into each of `pipelines`' outputs as it is decoded
    /// (only the small frames are kept), timing and loop count kept. A decoding failure throws;
    /// an encoding failure fails its output.
    private static func renderAnimations(_ data: Data, info: ImageInfo, pipelines: [FilePipeline], workspace: ResizeWorkspace,
                                         threads: Int, clock: StageClock?,
                                         log: DecodeLog) throws(FileError) -> [Result<RenderedImage, FileError>] {
        let decoder = pipelines[0].decoder(for: info.format, log: log) as! any AnimationDecoding
        let geometries = pipelines.map { Geometry(pipeline: $0, info: info) }
        let profiles = pipelines.map { $0.profileToApply(info, decodedInSRGB: false) }
        var frames = [[PixelBuffer]](repeating: [], count: pipelines.count)
        var durations: [Int] = []
        let loopCount = try clock.measure(.decode) { () throws(FileError) in
            try withBytes(of: data) { bytes throws(CodecError) in
                try decoder.decodeFrames(bytes) { frame, duration in
                    let decoded = DecodedImage(pixels: frame, scaleX: 1, scaleY: 1)
                    for (index, pipeline) in pipelines.enumerated() {
                        frames[index].append(clock.measure(.resize) {
                            pipeline.finish(decoded, geometry: geometries[index], profile: profiles[index],
                                            workspace: workspace, threads: threads)
                        })
                    }
                    durations.append(duration)
                }
            }
        }
        return pipelines.enumerated().map { index, pipeline in
            Result { () throws(FileError) in
                let format = pipeline.settings.outputFormat(for: info, in: pipeline.codecs)
                let encoder = pipeline.codecs.encoders[format] as! any AnimationEncoding
                let animation = Animation(frames: frames[index], durations: durations, loopCount: loopCount)
                var options = pipeline.settings.encoding
                let webpMode = pipeline.codecs.description(of: format)?.losslessByContent == true
                    ? pipeline.chooseWebPMode(&options, for: animation.frames[0]) : nil
                do throws(CodecError) {
                    let bytes = try clock.measure(.encode) { () throws(CodecError) in try encoder.encode(animation, options: options) }
                    let first = animation.frames[0]
                    return RenderedImage(bytes: bytes, width: first.width, height: first.height, format: format,
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
    /// does not describe the written pixels (CMYK, converted on decoding) is never kept.
    private func outputMetadata(_ input: ImageMetadata, pixels format: PixelFormat) -> ImageMetadata {
        var output = ImageMetadata()
        if settings.keepMetadata {
            output = settings.autoOrient ? input.uprighted() : input
            output.iccProfile = input.iccProfile != nil && !format.isGray ? codecs.color?.sRGBProfile : nil
        }
        if settings.keepProfile, let profile = input.iccProfile, codecs.color?.fits(profile, format) ?? false {
            output.iccProfile = profile
        }
        output.orientation = .up
        return output
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

    /// Decodes and resizes: shrink on load where the decoder can, box averaging while the
    /// reduction left is still large, then the filter (see `ShrinkOnLoad`); then the colour
    /// conversion to sRGB and the turn upright.
    public func resized(_ data: Data, info known: ImageInfo? = nil, workspace: ResizeWorkspace = ResizeWorkspace(),
                        threads: Int = 1, releasingInput: Bool = false, clock: StageClock? = nil,
                        log: DecodeLog? = nil) throws(FileError) -> PixelBuffer {
        let info = try facts(known, of: data)
        let decoder = decoder(for: info.format, log: log)!
        let geometry = Geometry(pipeline: self, info: info)
        if decodeMode(for: info) == .rows, let streaming = decoder as? any RowStreaming {
            let resizer = Resizer(filter: settings.filter)
            // Rows read count as decode (see `withStreamedSource`), the rest as resize.
            let image = try clock.measure(.resize) { () throws(FileError) in
                try withStreamedSource(data, decoder: streaming, format: info.format, geometry: geometry, threads: threads,
                                       releasingInput: releasingInput, clock: clock) { source throws(CodecError) in
                    try resizer.resizeStreaming(sourceWidth: source.width, sourceHeight: source.height, format: source.format,
                                                region: source.region, width: geometry.width, height: geometry.height,
                                                threads: threads, workspace: workspace, read: source.read)
                }.map { finishResized($0, geometry: geometry, profile: profileToApply(info, decodedInSRGB: false)) }
            }
            if let image { return image }
        }
        let factor = decoderFactor(geometry)
        let decoded = try clock.measure(.decode) { () throws(FileError) in
            try Self.withBytes(of: data) { bytes throws(CodecError) in try decoder.decode(bytes, shrinkingBy: factor) }
        }
        try checkLimit(width: decoded.pixels.width, height: decoded.pixels.height)
        return clock.measure(.resize) {
            finish(decoded, geometry: geometry, profile: profileToApply(info, decodedInSRGB: decoded.inSRGB),
                   workspace: workspace, threads: threads)
        }
    }

    private var cheapStepsAllowed: Bool { settings.filter != .nearest && !settings.linear }

    /// How much the decoder may shrink while decoding. Point sampling asks for source pixels as
    /// they are, and linear light for averages of intensities: neither may have a gamma-space
    /// averaging step (DCT scaling, box) first.
    func decoderFactor(_ geometry: Geometry) -> Int {
        cheapStepsAllowed ? ShrinkOnLoad.decoderFactor(shrink: geometry.shrink) : 1
    }

    /// The profile still to apply: none when the decoder applied it, the user keeps it, or it is sRGB's.
    private func profileToApply(_ info: ImageInfo, decodedInSRGB: Bool) -> [UInt8]? {
        guard !decodedInSRGB, !settings.keepProfile, let profile = info.metadata.iccProfile,
              let color = codecs.color, !color.isSRGB(profile) else { return nil }
        return profile
    }

    /// Resize, colour conversion to sRGB through `profile`, and orientation of one decoded picture
    /// (or animation frame).
    private func finish(_ decoded: DecodedImage, geometry: Geometry, profile: [UInt8]?, workspace: ResizeWorkspace,
                        threads: Int) -> PixelBuffer {
        var image = decoded.pixels
        var region = geometry.region(scaleX: decoded.scaleX, scaleY: decoded.scaleY)
        var profile = profile
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
            if cheapStepsAllowed && !image.format.hasAlpha {
                let box = geometry.boxFactors(in: region)
                if box.x > 1 || box.y > 1 {
                    image = image.boxShrunk(byX: box.x, byY: box.y)
                    region = SourceRegion(x: region.x / Double(box.x), y: region.y / Double(box.y),
                                          width: region.width / Double(box.x), height: region.height / Double(box.y))
                }
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
    private func withStreamedSource<R>(_ data: Data, decoder: any RowStreaming, format: ImageFormat, geometry: Geometry,
                                       threads: Int, releasingInput: Bool, clock: StageClock?,
                                       _ body: (StreamedSource) throws(CodecError) -> R) throws(FileError) -> R? {
        let factor = decoderFactor(geometry)
        let cheapSteps = cheapStepsAllowed
        return try Self.withBytes(of: data) { bytes throws(CodecError) -> R? in
            guard let reader = try openReader(bytes, decoder: decoder, format: format, factor: factor,
                                              releasingInput: releasingInput) else { return nil }
            var region = geometry.region(scaleX: reader.scaleX, scaleY: reader.scaleY)
            let box = cheapSteps && !reader.format.hasAlpha ? geometry.boxFactors(in: region) : (x: 1, y: 1)
            let rows = BoxRows(reader: reader, factorX: box.x, factorY: box.y)
            region = SourceRegion(x: region.x / Double(box.x), y: region.y / Double(box.y),
                                  width: min(region.width / Double(box.x), Double(rows.width) - region.x / Double(box.x)),
                                  height: min(region.height / Double(box.y), Double(rows.height) - region.y / Double(box.y)))
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
    static func layout(of format: PixelFormat, for encoder: any ImageEncoding) -> PixelFormat {
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
