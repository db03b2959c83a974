// GIFEncoder: GIF output — stills quantised by libgd (median cut, dithered); animations with one refined palette, only what changed written, frames cropped; cgif writes them.

internal import CCGIF
internal import CGD
import FastResizePipeline
import FastResizePixels
#if canImport(Glibc)
import Glibc
#endif

/// Writes GIF (libimagequant, the usual quantiser, is GPL-3.0 and cannot be linked into an
/// Apache-2.0 program). A still gets a palette of up to 255 colours from libgd's median-cut
/// quantiser with Floyd–Steinberg dithering, plus one transparent entry when it has pixels less
/// than half opaque (GIF transparency is all or nothing). An animation gets one palette for all its
/// frames — their exact colours when there are few enough (merged down a table size while that
/// costs under `Quantiser.mergeFloor` dB), else median cut refined by k-means with the commonest
/// colours kept exact — and each frame writes only the pixels that changed, cropped by cgif to
/// their rectangle; a frame the shared palette serves poorly gets a table of its own. cgif does the
/// LZW coding.
public struct GIFEncoder: AnimationEncoding {
    public init() {}

    public var acceptedFormats: Set<PixelFormat> { [.rgb, .rgba] }

    public func encode(_ image: PixelBuffer, options: EncodeOptions, metadata: ImageMetadata) throws(CodecError) -> [UInt8] {
        try encode(Animation(frames: [image], durations: [0], loopCount: 0), options: options)
    }

    public func encode(_ animation: Animation, options: EncodeOptions) throws(CodecError) -> [UInt8] {
        let first = animation.frames[0]
        guard first.width <= 65535 && first.height <= 65535 else {
            throw .encodeFailed(.gif, "GIF images are limited to 65535 x 65535 pixels")
        }
        let quantiser = try Quantiser.load()
        let animated = animation.frames.count > 1
        let output = OutputCollector()
        var config = CGIF_Config()
        config.width = UInt16(first.width)
        config.height = UInt16(first.height)
        config.pWriteFn = { context, data, count in
            let collector = Unmanaged<OutputCollector>.fromOpaque(context!).takeUnretainedValue()
            collector.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: count))
            return Int32(CGIF_OK.rawValue)
        }
        config.pContext = Unmanaged.passUnretained(output).toOpaque()
        guard animated else {
            // A still: its own palette, Floyd–Steinberg dithered (nothing moves, so nothing shimmers).
            config.attrFlags = UInt32(CGIF_ATTR_NO_GLOBAL_TABLE)
            var (palette, indices, transparent) = try quantiser.quantise(first.narrowed())
            return try Self.write(config: &config, output: output) { gif throws(CodecError) in
                try Self.add(gif, palette: &palette, indices: &indices, transparent: transparent, clears: false, duration: 0)
            }
        }
        // An animation: one palette for every frame, so a pixel that does not change keeps its
        // index and is written as transparent (and the frame cropped to what changed); no error
        // diffusion, which would make still areas shimmer and change from frame to frame.
        let frames = animation.frames.map { $0.narrowed() }
        var palette = try quantiser.palette(for: frames)
        let mapper = PaletteMapper(palette: palette)
        let transparent = UInt8(palette.count / 3)
        palette += [0, 0, 0]
        config.attrFlags = UInt32(CGIF_ATTR_IS_ANIMATED) | (animation.loopCount == 1 ? UInt32(CGIF_ATTR_NO_LOOP) : 0)
        // GIF counts repetitions after the first showing; 0 plays for ever.
        config.numLoops = UInt16(clamping: animation.loopCount > 1 ? animation.loopCount - 1 : 0)
        config.pGlobalPalette = nil
        return try palette.withUnsafeMutableBufferPointer { table throws(CodecError) -> [UInt8] in
            config.pGlobalPalette = table.baseAddress
            config.numGlobalPaletteEntries = UInt16(table.count / 3)
            return try Self.write(config: &config, output: output) { gif throws(CodecError) in
                var state = FrameState(count: first.width * first.height)
                for (frame, duration) in zip(frames, animation.durations) {
                    var frameTable: [UInt8] = []
                    var (indices, frameTransparent, clears) = try state.next(frame, mapper: mapper, transparent: transparent,
                                                                            quantiser: quantiser, localTable: &frameTable)
                    try Self.add(gif, palette: &frameTable, indices: &indices, transparent: frameTransparent, clears: clears,
                                 duration: duration)
                }
            }
        }
    }

    /// Starts a GIF, lets `frames` add its frames, and finishes it.
    private static func write(config: inout CGIF_Config, output: OutputCollector,
                              frames: (OpaquePointer) throws(CodecError) -> Void) throws(CodecError) -> [UInt8] {
        guard let gif = cgif_newgif(&config) else { throw .encodeFailed(.gif, "cannot start the GIF") }
        do {
            try frames(gif)
        } catch {
            _ = cgif_close(gif)
            throw error
        }
        guard cgif_close(gif) == Int32(CGIF_OK.rawValue) else { throw .encodeFailed(.gif, "cannot finish the GIF") }
        return output.bytes
    }

    /// Adds one frame: with its own `palette` when one is given (else the global one), `transparent`
    /// the index of what shows through. A frame that `clears` has the canvas cleared before it (the
    /// frame before is disposed of to the background); otherwise it is drawn over what was shown,
    /// cropped by cgif to the rectangle that changed.
    private static func add(_ gif: OpaquePointer, palette: inout [UInt8], indices: inout [UInt8], transparent: UInt8?,
                            clears: Bool, duration: Int) throws(CodecError) {
        var frameConfig = CGIF_FrameConfig()
        if let transparent {
            frameConfig.attrFlags |= UInt32(clears ? CGIF_FRAME_ATTR_HAS_ALPHA : CGIF_FRAME_ATTR_HAS_SET_TRANS)
            frameConfig.transIndex = transparent
        }
        if !clears { frameConfig.genFlags = UInt32(CGIF_FRAME_GEN_USE_DIFF_WINDOW) }
        frameConfig.delay = UInt16(clamping: (duration + 5) / 10)
        let status = palette.withUnsafeMutableBufferPointer { table in
            indices.withUnsafeMutableBufferPointer { indices in
                if !table.isEmpty {
                    frameConfig.attrFlags |= UInt32(CGIF_FRAME_ATTR_USE_LOCAL_TABLE)
                    frameConfig.pLocalPalette = table.baseAddress
                    frameConfig.numLocalPaletteEntries = UInt16(table.count / 3)
                }
                frameConfig.pImageData = indices.baseAddress
                return cgif_addframe(gif, &frameConfig)
            }
        }
        guard status == Int32(CGIF_OK.rawValue) else { throw .encodeFailed(.gif, "cannot add a frame (cgif error \(status))") }
    }
}

/// What a viewer shows after each frame of an animation, and how the next frame is best written
/// over it: only what changed, from the shared palette, or from a table of its own when that is
/// markedly truer to the changed pixels (a moving figure whose colours the shared palette, built
/// mostly from the still background, serves poorly) — at most 768 bytes more for the frame.
private struct FrameState {
    /// Per pixel: 0 where nothing shows, else 1 << 24 | RGB of what shows.
    private var shown: [UInt32]
    /// The previous frame's own colours, in the same form.
    private var previous: [UInt32]

    init(count: Int) {
        shown = [UInt32](repeating: 0, count: count)
        previous = shown
    }

    /// A frame as 1 << 24 | RGB per pixel less than half transparent, else 0.
    static func colours(of frame: PixelBuffer) -> [UInt32] {
        let channels = frame.format.channelCount, hasAlpha = frame.format.hasAlpha
        var colours = [UInt32](repeating: 0, count: frame.width * frame.height)
        frame.pixels.withUnsafeBufferPointer { p in
            for pixel in colours.indices where !hasAlpha || p[pixel * channels + 3] >= 128 {
                let base = pixel * channels
                colours[pixel] = 1 << 24 | UInt32(p[base]) << 16 | UInt32(p[base + 1]) << 8 | UInt32(p[base + 2])
            }
        }
        return colours
    }

    /// The next frame's indices (`transparent` where what shows stays), the transparent index, and
    /// whether the canvas is cleared first; `localTable` is filled when the frame has its own.
    /// Only pixels whose colour changed since the last frame are looked up in a palette.
    mutating func next(_ frame: PixelBuffer, mapper: PaletteMapper, transparent: UInt8, quantiser: Quantiser,
                       localTable: inout [UInt8]) throws(CodecError) -> (indices: [UInt8], transparent: UInt8, clears: Bool) {
        let truth = Self.colours(of: frame)
        // A pixel shown before and transparent now can only be had by clearing the canvas first:
        // then every visible pixel is drawn.
        let clears = zip(shown, truth).contains { $0 != 0 && $1 == 0 }
        var written: [Int] = [], chosen: [UInt8] = []
        for pixel in truth.indices where truth[pixel] != 0 && (clears || truth[pixel] != previous[pixel]) {
            let index = mapper.index(of: truth[pixel])
            // A new colour the shared palette shows as what is shown already stays as it is.
            if !clears && mapper.colour(at: index) == shown[pixel] { continue }
            written.append(pixel)
            chosen.append(index)
        }
        var palette = mapper
        var frameTransparent = transparent
        if written.count >= 64 {
            let sharedError = zip(written, chosen).reduce(0) { $0 + PaletteMapper.distance(truth[$1.0], mapper.colour(at: $1.1)) }
            // Only where the shared palette falls short of what eyes cannot tell apart.
            let floor = 255.0 * 255.0 * 3 * Double(written.count) / pow(10, Quantiser.mergeFloor / 10)
            if Double(sharedError) > floor {
                var pixels = [UInt8]()
                pixels.reserveCapacity(written.count * 3)
                for pixel in written { pixels += [UInt8(truth[pixel] >> 16 & 0xFF), UInt8(truth[pixel] >> 8 & 0xFF), UInt8(truth[pixel] & 0xFF)] }
                // Its table is paid for whatever its size: exact colours, none merged.
                let own = try quantiser.palette(for: [PixelBuffer(width: written.count, height: 1, format: .rgb, pixels: pixels)],
                                                mergeFloor: .infinity)
                let ownMapper = PaletteMapper(palette: own)
                let ownIndices = written.map { ownMapper.index(of: truth[$0]) }
                let ownError = zip(written, ownIndices).reduce(0) { $0 + PaletteMapper.distance(truth[$1.0], ownMapper.colour(at: $1.1)) }
                // Four times as true (6 dB) pays for the table; less is not worth its bytes.
                if ownError * 4 < sharedError {
                    localTable = own + [0, 0, 0]
                    frameTransparent = UInt8(own.count / 3)
                    chosen = ownIndices
                    palette = ownMapper
                }
            }
        }
        // Everything not written shows through.
        var indices = [UInt8](repeating: frameTransparent, count: truth.count)
        if clears { shown = [UInt32](repeating: 0, count: truth.count) }
        for (pixel, index) in zip(written, chosen) {
            indices[pixel] = index
            shown[pixel] = palette.colour(at: index)
        }
        previous = truth
        return (indices, frameTransparent, clears)
    }
}

/// Maps colours (1 << 24 | RGB, as `FrameState` holds them) to the nearest entry of a fixed
/// palette (squared RGB distance), each colour found once: the same colour always gets the same
/// index, in every frame.
final class PaletteMapper {
    private let entries: [SIMD3<Int32>]
    private var found: [UInt32: UInt8] = [:]

    init(palette: [UInt8]) {
        entries = stride(from: 0, to: palette.count, by: 3).map { SIMD3<Int32>(Int32(palette[$0]), Int32(palette[$0 + 1]), Int32(palette[$0 + 2])) }
    }

    static func distance(_ a: SIMD3<Int32>, _ b: SIMD3<Int32>) -> Int32 {
        let d = a &- b
        return (d &* d).wrappedSum()
    }

    static func distance(_ a: UInt32, _ b: UInt32) -> Int {
        Int(distance(unpacked(a), unpacked(b)))
    }

    static func unpacked(_ colour: UInt32) -> SIMD3<Int32> {
        SIMD3(Int32(colour >> 16 & 0xFF), Int32(colour >> 8 & 0xFF), Int32(colour & 0xFF))
    }

    static func nearest(_ colour: SIMD3<Int32>, in entries: [SIMD3<Int32>]) -> Int {
        var best = 0, bestDistance = Int32.max
        for (index, entry) in entries.enumerated() {
            let distance = distance(entry, colour)
            if distance < bestDistance { (best, bestDistance) = (index, distance) }
        }
        return best
    }

    /// The entry nearest a visible colour.
    func index(of colour: UInt32) -> UInt8 {
        if let index = found[colour] { return index }
        let index = UInt8(Self.nearest(Self.unpacked(colour), in: entries))
        found[colour] = index
        return index
    }

    /// An entry as a visible colour.
    func colour(at index: UInt8) -> UInt32 {
        let entry = entries[Int(index)]
        return 1 << 24 | UInt32(entry.x) << 16 | UInt32(entry.y) << 8 | UInt32(entry.z)
    }
}

/// Where cgif's write callback puts the file.
private final class OutputCollector {
    var bytes: [UInt8] = []
}

/// libgd's quantiser, reached through dlopen (see Sources/CGD/shim.h for why).
struct Quantiser: @unchecked Sendable {
    typealias Create = @convention(c) (Int32, Int32) -> gdImagePtr?
    typealias Destroy = @convention(c) (gdImagePtr?) -> Void
    typealias SetMethod = @convention(c) (gdImagePtr?, Int32, Int32) -> Int32
    typealias ToPalette = @convention(c) (gdImagePtr?, Int32, Int32) -> Int32

    let create: Create
    let destroy: Destroy
    let setMethod: SetMethod
    let toPalette: ToPalette

    private static let loaded: Result<Quantiser, CodecError> = {
        guard let library = dlopen("libgd.so.3", RTLD_NOW | RTLD_LOCAL) else {
            return .failure(.encodeFailed(.gif, "GIF output needs libgd (Debian package libgd3): "
                                          + (dlerror().map { String(cString: $0) } ?? "cannot load it")))
        }
        func symbol<T>(_ name: String, as type: T.Type) -> T? {
            dlsym(library, name).map { unsafeBitCast($0, to: type) }
        }
        guard let create = symbol("gdImageCreateTrueColor", as: Create.self),
              let destroy = symbol("gdImageDestroy", as: Destroy.self),
              let setMethod = symbol("gdImageTrueColorToPaletteSetMethod", as: SetMethod.self),
              let toPalette = symbol("gdImageTrueColorToPalette", as: ToPalette.self) else {
            return .failure(.encodeFailed(.gif, "the installed libgd lacks its quantiser"))
        }
        return .success(Quantiser(create: create, destroy: destroy, setMethod: setMethod, toPalette: toPalette))
    }()

    static func load() throws(CodecError) -> Quantiser {
        try loaded.get()
    }

    /// One palette (RGB triples, at most 255 colours: an index stays free for transparency) for
    /// every frame of an animation, from the visible pixels of all of them (a sample of at most
    /// about a million, spread over the frames and over each frame).
    func palette(for frames: [PixelBuffer], mergeFloor: Double = Quantiser.mergeFloor) throws(CodecError) -> [UInt8] {
        let total = frames.reduce(0) { $0 + $1.width * $1.height }
        let stride = max(1, total / (1 << 20))
        var samples: [Int32] = []
        samples.reserveCapacity(total / stride + 1)
        var offset = 0
        for frame in frames {
            let channels = frame.format.channelCount, hasAlpha = frame.format.hasAlpha
            frame.pixels.withUnsafeBufferPointer { p in
                var pixel = offset
                while pixel < frame.width * frame.height {
                    let base = pixel * channels
                    if !hasAlpha || p[base + 3] >= 128 {
                        samples.append(Int32(p[base]) << 16 | Int32(p[base + 1]) << 8 | Int32(p[base + 2]))
                    }
                    pixel += stride
                }
                // The next frame starts elsewhere in the pattern, so rows and columns are not skipped alike.
                offset = (pixel - frame.width * frame.height + 7919) % stride
            }
        }
        if samples.isEmpty { samples = [0] }
        // The colours the sample holds, with how often: few enough, they are the palette itself
        // (a resized animation of flat graphics keeps its exact colours).
        var counts: [Int32: Int] = [:]
        for colour in samples { counts[colour, default: 0] += 1 }
        if counts.count <= 255 {
            return Self.merged(counts, samples: samples.count, floor: mergeFloor).flatMap { [UInt8($0.x), UInt8($0.y), UInt8($0.z)] }
        }
        let width = min(samples.count, 1024), height = (samples.count + width - 1) / width
        guard let picture = create(Int32(width), Int32(height)) else { throw .encodeFailed(.gif, "out of memory") }
        defer { destroy(picture) }
        for index in 0..<(width * height) {
            picture.pointee.tpixels[index / width]![index % width] = samples[index % samples.count]
        }
        _ = setMethod(picture, Int32(GD_QUANT_JQUANT.rawValue), 0)
        guard toPalette(picture, 0, 255) != 0 else { throw .encodeFailed(.gif, "colour quantisation failed") }
        return Self.refined(Self.colours(of: picture), counts: counts)
    }

    /// The least the colours may lose to a smaller table: 50 dB is past what eyes tell apart.
    static let mergeFloor = 55.0

    /// Exact colours, fewer when that costs almost nothing: a GIF table holds a power of two, and
    /// its size sets both the table's bytes and every LZW code's width, so 139 colours cost a
    /// 256-entry table where 127 would take 128. The rarest colours are merged into their nearest
    /// neighbours, one halving at a time, while the whole keeps `mergeFloor` dB against the exact.
    private static func merged(_ counts: [Int32: Int], samples: Int, floor: Double) -> [SIMD3<Int32>] {
        var colours = counts.sorted { $0.key < $1.key }.map { (colour: SIMD3<Int32>($0.key >> 16 & 0xFF, $0.key >> 8 & 0xFF, $0.key & 0xFF), weight: $0.value) }
        let budget = 255.0 * 255.0 / pow(10, floor / 10) * 3 * Double(samples)     // squared error allowed
        var spent = 0.0
        while true {
            var size = 2
            while size < colours.count + 1 { size *= 2 }
            let target = size / 2 - 1      // one halving of the table, an entry left for transparency
            guard target >= 1, colours.count > target else { break }
            var trial = colours, cost = spent
            while trial.count > target {
                // The colour whose merge into its nearest costs least.
                var best = (index: 0, into: 0, cost: Double.infinity)
                for (index, entry) in trial.enumerated() {
                    var nearest = (into: 0, distance: Int32.max)
                    for (other, candidate) in trial.enumerated() where other != index {
                        let d = candidate.colour &- entry.colour
                        let distance = (d &* d).wrappedSum()
                        if distance < nearest.distance { nearest = (other, distance) }
                    }
                    let price = Double(entry.weight) * Double(nearest.distance)
                    if price < best.cost { best = (index, nearest.into, price) }
                }
                trial[best.into].weight += trial[best.index].weight
                cost += best.cost
                trial.remove(at: best.index)
            }
            guard cost <= budget else { break }
            (colours, spent) = (trial, cost)
        }
        return colours.map(\.colour)
    }

    /// Median cut works on a histogram of 5, 6 and 5 bits, so its colours sit up to 4 levels off
    /// the ones they stand for (45 dB at best, visible as banding on grey film): a few rounds of
    /// k-means over the sampled colours at full precision move each entry to the mean of the
    /// colours nearest it.
    private static func refined(_ palette: [UInt8], counts: [Int32: Int]) -> [UInt8] {
        var entries = stride(from: 0, to: palette.count, by: 3).map { SIMD3<Int32>(Int32(palette[$0]), Int32(palette[$0 + 1]), Int32(palette[$0 + 2])) }
        // At most 2^16 distinct colours take part (the most frequent), weighted by their counts.
        var colours = counts.map { (SIMD3<Int32>($0.key >> 16 & 0xFF, $0.key >> 8 & 0xFF, $0.key & 0xFF), $0.value) }
        // Most frequent first, ties by colour: the same input gives the same palette in every run.
        colours.sort { $0.1 != $1.1 ? $0.1 > $1.1 : ($0.0.x, $0.0.y, $0.0.z) < ($1.0.x, $1.0.y, $1.0.z) }
        if colours.count > 1 << 16 { colours.removeLast(colours.count - (1 << 16)) }
        // Colours that cover much of the picture (a flat background, seen in every frame) are kept
        // exactly, as anchors k-means does not move: averaged with their rarer neighbours they
        // would be a little off everywhere they are.
        let total = colours.reduce(0) { $0 + $1.1 }
        let anchors = colours.prefix(128).filter { $0.1 * 1000 >= total }.map(\.0)
        if !anchors.isEmpty {
            let kept = entries.filter { entry in !anchors.contains { PaletteMapper.distance($0, entry) < 16 } }
            entries = anchors + kept.prefix(255 - anchors.count)
        }
        // Median cut may fill fewer entries than allowed (its histogram cells hold several of the
        // colours): the rest go to the colours served worst, each added where the error is largest.
        if entries.count < 255 && colours.count > entries.count {
            var errors = colours.map { colour, weight in
                Double(weight) * Double(PaletteMapper.distance(colour, entries[PaletteMapper.nearest(colour, in: entries)]))
            }
            while entries.count < 255, let worst = errors.indices.max(by: { errors[$0] < errors[$1] }), errors[worst] > 0 {
                let added = colours[worst].0
                entries.append(added)
                for (index, (colour, weight)) in colours.enumerated() {
                    errors[index] = min(errors[index], Double(weight) * Double(PaletteMapper.distance(colour, added)))
                }
            }
        }
        for _ in 0..<12 {
            var sums = [SIMD3<Int>](repeating: .zero, count: entries.count)
            var weights = [Int](repeating: 0, count: entries.count)
            for (colour, weight) in colours {
                let nearest = PaletteMapper.nearest(colour, in: entries)
                sums[nearest] &+= SIMD3<Int>(truncatingIfNeeded: colour) &* weight
                weights[nearest] += weight
            }
            for index in entries.indices where weights[index] > 0 && index >= anchors.count {
                let mean = (sums[index] &+ weights[index] / 2) / weights[index]
                entries[index] = SIMD3<Int32>(truncatingIfNeeded: mean)
            }
        }
        return entries.flatMap { [UInt8($0.x), UInt8($0.y), UInt8($0.z)] }
    }

    private static func colours(of picture: gdImagePtr) -> [UInt8] {
        let colours = Int(picture.pointee.colorsTotal)
        var palette = [UInt8]()
        palette.reserveCapacity((colours + 1) * 3)
        withUnsafeBytes(of: picture.pointee.red) { red in
            withUnsafeBytes(of: picture.pointee.green) { green in
                withUnsafeBytes(of: picture.pointee.blue) { blue in
                    let r = red.bindMemory(to: Int32.self), g = green.bindMemory(to: Int32.self)
                    let b = blue.bindMemory(to: Int32.self)
                    for i in 0..<colours { palette += [UInt8(r[i]), UInt8(g[i]), UInt8(b[i])] }
                }
            }
        }
        return palette
    }

    /// The palette (RGB triples), one index per pixel, and the transparent index if any.
    func quantise(_ image: PixelBuffer) throws(CodecError) -> (palette: [UInt8], indices: [UInt8], transparent: UInt8?) {
        let width = image.width, height = image.height
        guard let picture = create(Int32(width), Int32(height)) else { throw .encodeFailed(.gif, "out of memory") }
        defer { destroy(picture) }
        let channels = image.format.channelCount
        let hasAlpha = image.format.hasAlpha
        var transparentPixels = false
        image.pixels.withUnsafeBufferPointer { p in
            for y in 0..<height {
                let row = picture.pointee.tpixels[y]!
                for x in 0..<width {
                    let base = (y * width + x) * channels
                    if hasAlpha && p[base + 3] < 128 { transparentPixels = true }
                    // libgd's true colour: 7-bit alpha (0 = opaque) << 24 | R << 16 | G << 8 | B.
                    row[x] = Int32(p[base]) << 16 | Int32(p[base + 1]) << 8 | Int32(p[base + 2])
                }
            }
        }
        _ = setMethod(picture, Int32(GD_QUANT_JQUANT.rawValue), 0)
        guard toPalette(picture, 1, transparentPixels ? 255 : 256) != 0 else {
            throw .encodeFailed(.gif, "colour quantisation failed")
        }
        let colours = Int(picture.pointee.colorsTotal)
        var palette = Self.colours(of: picture)
        let transparent: UInt8? = transparentPixels ? UInt8(colours) : nil
        if transparentPixels { palette += [0, 0, 0] }
        var indices = [UInt8](repeating: 0, count: width * height)
        image.pixels.withUnsafeBufferPointer { p in
            for y in 0..<height {
                let row = picture.pointee.pixels[y]!
                for x in 0..<width {
                    let index = y * width + x
                    indices[index] = hasAlpha && p[index * channels + 3] < 128 ? UInt8(colours) : row[x]
                }
            }
        }
        return (palette, indices, transparent)
    }
}
