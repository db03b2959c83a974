// GIFEncoder: GIF output, stills and animations: colours quantised by libgd (median cut, dithered), written by cgif.

internal import CCGIF
internal import CGD
import FastResizePipeline
import FastResizePixels
#if canImport(Glibc)
import Glibc
#endif

/// Writes GIF. Each frame gets its own palette of up to 255 colours from libgd's median-cut
/// quantiser with Floyd–Steinberg dithering (the IJG algorithm; libimagequant, the usual choice, is
/// GPL-3.0 and cannot be linked into an Apache-2.0 program), plus one transparent entry when the frame
/// has pixels less than half opaque (GIF transparency is all or nothing). cgif does the LZW coding.
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
        let output = OutputCollector()
        let animated = animation.frames.count > 1
        var config = CGIF_Config()
        config.attrFlags = UInt32(CGIF_ATTR_NO_GLOBAL_TABLE) | (animated ? UInt32(CGIF_ATTR_IS_ANIMATED) : 0)
            | (animated && animation.loopCount == 1 ? UInt32(CGIF_ATTR_NO_LOOP) : 0)
        config.width = UInt16(first.width)
        config.height = UInt16(first.height)
        // GIF counts repetitions after the first showing; 0 plays for ever.
        config.numLoops = UInt16(clamping: animation.loopCount > 1 ? animation.loopCount - 1 : 0)
        config.pWriteFn = { context, data, count in
            let collector = Unmanaged<OutputCollector>.fromOpaque(context!).takeUnretainedValue()
            collector.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: count))
            return Int32(CGIF_OK.rawValue)
        }
        config.pContext = Unmanaged.passUnretained(output).toOpaque()
        guard let gif = cgif_newgif(&config) else { throw .encodeFailed(.gif, "cannot start the GIF") }
        var closed = false
        defer { if !closed { _ = cgif_close(gif) } }
        for (frame, duration) in zip(animation.frames, animation.durations) {
            precondition(frame.width == first.width && frame.height == first.height, "frames share the canvas size")
            var (palette, indices, transparent) = try quantiser.quantise(frame.narrowed())
            var frameConfig = CGIF_FrameConfig()
            frameConfig.attrFlags = UInt32(CGIF_FRAME_ATTR_USE_LOCAL_TABLE)
            if let transparent {
                frameConfig.attrFlags |= UInt32(CGIF_FRAME_ATTR_HAS_SET_TRANS)
                frameConfig.transIndex = transparent
            }
            frameConfig.numLocalPaletteEntries = UInt16(palette.count / 3)
            frameConfig.delay = UInt16(clamping: (duration + 5) / 10)
            let status = palette.withUnsafeMutableBufferPointer { palette in
                indices.withUnsafeMutableBufferPointer { indices in
                    frameConfig.pLocalPalette = palette.baseAddress
                    frameConfig.pImageData = indices.baseAddress
                    return cgif_addframe(gif, &frameConfig)
                }
            }
            guard status == Int32(CGIF_OK.rawValue) else { throw .encodeFailed(.gif, "cannot add a frame (cgif error \(status))") }
        }
        closed = true
        guard cgif_close(gif) == Int32(CGIF_OK.rawValue) else { throw .encodeFailed(.gif, "cannot finish the GIF") }
        return output.bytes
    }
}

/// Where cgif's write callback puts the file.
private final class OutputCollector {
    var bytes: [UInt8] = []
}

/// libgd's quantiser, reached through dlopen (see Sources/CGD/shim.h for why).
private struct Quantiser: @unchecked Sendable {
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
