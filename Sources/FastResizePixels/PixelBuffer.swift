// PixelBuffer: an interleaved 8- or 16-bit image in memory, and the pixel layouts FastResize handles.

/// How the channels of one pixel are laid out (each 8 or 16 bits, as the buffer says).
public enum PixelFormat: String, Sendable, CaseIterable {
    case gray
    case grayAlpha
    case rgb
    case rgba

    /// Channels per pixel (bytes per pixel at 8 bits).
    public var channelCount: Int {
        switch self {
        case .gray: 1
        case .grayAlpha: 2
        case .rgb: 3
        case .rgba: 4
        }
    }

    public var hasAlpha: Bool { self == .grayAlpha || self == .rgba }

    public var isGray: Bool { self == .gray || self == .grayAlpha }

    /// The layout a pixel format becomes when its alpha channel is dropped.
    public var withoutAlpha: PixelFormat {
        switch self {
        case .gray, .grayAlpha: .gray
        case .rgb, .rgba: .rgb
        }
    }

    public init(channelCount: Int) {
        switch channelCount {
        case 1: self = .gray
        case 2: self = .grayAlpha
        case 3: self = .rgb
        default: self = .rgba
        }
    }
}

/// A width × height image whose rows are tightly packed (row stride = width × bytesPerPixel).
///
/// Samples are 8 bits, or 16 bits in the machine's byte order (`bitDepth` 16: 16-bit PNG and TIFF,
/// kept at full precision through the float resampler). Storage is a Swift array, so buffers are
/// value types that copy only on write; decoders fill it in place through `withUnsafeMutableBytes`
/// rather than copying from a C allocation.
public struct PixelBuffer: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let format: PixelFormat
    /// 8 or 16.
    public let bitDepth: Int
    public var pixels: [UInt8]
    /// Its bytes counted by the `PictureMeter` measuring when it was made, if one was.
    private let charge: PictureCharge?

    /// A zero-filled buffer.
    public init(width: Int, height: Int, format: PixelFormat, bitDepth: Int = 8) {
        self.init(width: width, height: height, format: format, bitDepth: bitDepth,
                  pixels: [UInt8](repeating: 0, count: Self.byteCount(width, height, format, bitDepth)))
    }

    /// A buffer whose contents the caller promises to overwrite entirely (a decoder's target), so
    /// the pages are not zeroed first.
    public init(uninitializedWidth width: Int, height: Int, format: PixelFormat, bitDepth: Int = 8) {
        let count = Self.byteCount(width, height, format, bitDepth)
        self.init(width: width, height: height, format: format, bitDepth: bitDepth,
                  pixels: [UInt8](unsafeUninitializedCapacity: count) { _, initialised in initialised = count })
    }

    /// Wraps existing pixel data, which must hold exactly width × height pixels.
    public init(width: Int, height: Int, format: PixelFormat, bitDepth: Int = 8, pixels: [UInt8]) {
        precondition(pixels.count == Self.byteCount(width, height, format, bitDepth), "pixel data does not match the size")
        self.width = width
        self.height = height
        self.format = format
        self.bitDepth = bitDepth
        self.pixels = pixels
        charge = PictureMeter.charge(pixels.count)
    }

    /// Bytes of a width × height picture, its size and depth checked first.
    private static func byteCount(_ width: Int, _ height: Int, _ format: PixelFormat, _ bitDepth: Int) -> Int {
        precondition(width > 0 && height > 0, "a pixel buffer needs a positive size")
        precondition(bitDepth == 8 || bitDepth == 16, "samples are 8 or 16 bits")
        return width * height * format.channelCount * bitDepth / 8
    }

    /// Equal when they hold the same pixels the same way.
    public static func == (lhs: PixelBuffer, rhs: PixelBuffer) -> Bool {
        lhs.width == rhs.width && lhs.height == rhs.height && lhs.format == rhs.format && lhs.bitDepth == rhs.bitDepth
            && lhs.pixels == rhs.pixels
    }

    public var bytesPerPixel: Int { format.channelCount * bitDepth / 8 }

    /// The same picture, counted apart by the `PictureMeter`: for a copy kept while the original
    /// is drawn on (copy on write then parts them, and each is memory of its own).
    package func countedApart() -> PixelBuffer {
        PixelBuffer(width: width, height: height, format: format, bitDepth: bitDepth, pixels: pixels)
    }

    public var bytesPerRow: Int { width * bytesPerPixel }

    /// Whether any pixel is less than fully opaque (false for formats without alpha).
    public var hasTransparency: Bool {
        guard format.hasAlpha else { return false }
        if bitDepth == 16 { return narrowed().hasTransparency }
        let step = format.channelCount
        return pixels.withUnsafeBufferPointer { p in
            var index = step - 1
            while index < p.count {
                if p[index] != 255 { return true }
                index += step
            }
            return false
        }
    }

    /// The rectangle `rect` of this image, copied row by row.
    public func cropped(to rect: PixelRect) -> PixelBuffer {
        precondition(rect.x >= 0 && rect.y >= 0 && rect.width > 0 && rect.height > 0
                     && rect.x + rect.width <= width && rect.y + rect.height <= height, "crop outside the image")
        if rect.x == 0 && rect.y == 0 && rect.width == width && rect.height == height { return self }
        var result = PixelBuffer(width: rect.width, height: rect.height, format: format, bitDepth: bitDepth)
        let channels = bytesPerPixel
        let rowBytes = rect.width * channels
        pixels.withUnsafeBufferPointer { source in
            result.pixels.withUnsafeMutableBufferPointer { target in
                for row in 0..<rect.height {
                    let from = ((rect.y + row) * width + rect.x) * channels
                    let to = row * rowBytes
                    for i in 0..<rowBytes { target[to + i] = source[from + i] }
                }
            }
        }
        return result
    }

    /// The same pixels in another layout: alpha dropped (after flattening onto `background`) or
    /// added (opaque), gray expanded to RGB or RGB reduced to gray by Rec. 601 luma.
    public func converted(to target: PixelFormat, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) -> PixelBuffer {
        if target == format { return self }
        if bitDepth == 16 { return narrowed().converted(to: target, background: background) }
        var result = PixelBuffer(width: width, height: height, format: target)
        let sourceChannels = format.channelCount
        let targetChannels = target.channelCount
        let count = width * height
        pixels.withUnsafeBufferPointer { s in
            result.pixels.withUnsafeMutableBufferPointer { t in
                for i in 0..<count {
                    let base = i * sourceChannels
                    var r, g, b: Int
                    let a: Int
                    if format.isGray {
                        r = Int(s[base]); g = r; b = r
                    } else {
                        r = Int(s[base]); g = Int(s[base + 1]); b = Int(s[base + 2])
                    }
                    a = format.hasAlpha ? Int(s[base + sourceChannels - 1]) : 255
                    if format.hasAlpha && !target.hasAlpha && a != 255 {
                        // Flatten: out = colour × α + background × (1 − α), rounded.
                        r = (r * a + Int(background.0) * (255 - a) + 127) / 255
                        g = (g * a + Int(background.1) * (255 - a) + 127) / 255
                        b = (b * a + Int(background.2) * (255 - a) + 127) / 255
                    }
                    let out = i * targetChannels
                    if target.isGray {
                        t[out] = format.isGray ? UInt8(r) : UInt8((299 * r + 587 * g + 114 * b + 500) / 1000)
                    } else {
                        t[out] = UInt8(r); t[out + 1] = UInt8(g); t[out + 2] = UInt8(b)
                    }
                    if target.hasAlpha { t[out + targetChannels - 1] = UInt8(a) }
                }
            }
        }
        return result
    }
}

extension PixelBuffer {
    /// 8-bit samples, each 16-bit value correctly rounded (v × 255 / 65535 to nearest).
    public func narrowed() -> PixelBuffer {
        if bitDepth == 8 { return self }
        var result = PixelBuffer(uninitializedWidth: width, height: height, format: format)
        pixels.withUnsafeBytes { raw in
            let source = raw.bindMemory(to: UInt16.self)
            result.pixels.withUnsafeMutableBufferPointer { target in
                for i in 0..<target.count { target[i] = UInt8((UInt32(source[i]) * 255 + 32767) / 65535) }
            }
        }
        return result
    }

    /// 16-bit samples (v × 257, exact).
    public func widened() -> PixelBuffer {
        if bitDepth == 16 { return self }
        var result = PixelBuffer(uninitializedWidth: width, height: height, format: format, bitDepth: 16)
        pixels.withUnsafeBufferPointer { source in
            result.pixels.withUnsafeMutableBytes { raw in
                let target = raw.bindMemory(to: UInt16.self)
                for i in 0..<source.count { target[i] = UInt16(source[i]) &* 257 }
            }
        }
        return result
    }
}

/// An integer rectangle in pixel coordinates.
public struct PixelRect: Sendable, Equatable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)x\(height)+\(x)+\(y)" }
}
