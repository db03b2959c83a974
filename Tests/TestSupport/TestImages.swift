// TestImages: deterministic synthetic images and comparisons (max difference, PSNR) for the tests.

import FastResize
import Foundation

public enum TestImages {
    /// Smooth gradients plus seeded noise and hard edges: exercises every part of a kernel.
    public static func pattern(width: Int, height: Int, format: PixelFormat, seed: UInt64 = 1) -> PixelBuffer {
        var generator = SplitMix64(seed: seed)
        var image = PixelBuffer(width: width, height: height, format: format)
        let channels = format.channelCount
        for y in 0..<height {
            for x in 0..<width {
                let base = (y * width + x) * channels
                let edge = ((x / 7) + (y / 5)) % 2 == 0 ? 60 : 0
                for c in 0..<channels {
                    let gradient = (x * 255 / max(width - 1, 1) + y * 128 / max(height - 1, 1) + c * 40) % 256
                    let noise = Int(generator.next() % 32)
                    var value = min(255, gradient / 2 + edge + noise)
                    if format.hasAlpha && c == channels - 1 {
                        // Opaque, transparent and partial regions.
                        value = x < width / 3 ? 255 : (y < height / 2 ? 0 : min(255, 40 + noise * 6))
                    }
                    image.pixels[base + c] = UInt8(value)
                }
            }
        }
        return image
    }

    /// Gradients and soft shapes without noise: what lossy codecs are made for.
    public static func smooth(width: Int, height: Int, format: PixelFormat) -> PixelBuffer {
        var image = PixelBuffer(width: width, height: height, format: format)
        let channels = format.channelCount
        for y in 0..<height {
            for x in 0..<width {
                let dx = Double(x) - Double(width) / 2, dy = Double(y) - Double(height) / 3
                let disc = (dx * dx + dy * dy).squareRoot() < Double(min(width, height)) / 4 ? 90.0 : 0
                for c in 0..<channels {
                    var value = Double(x) * 200 / Double(width) + Double(y) * 50 / Double(height) + disc - Double(c * 30)
                    if format.hasAlpha && c == channels - 1 { value = 255 }
                    image.pixels[(y * width + x) * channels + c] = UInt8(min(max(value, 0), 255))
                }
            }
        }
        return image
    }

    /// Every pixel the same value.
    public static func constant(width: Int, height: Int, format: PixelFormat, value: UInt8 = 173) -> PixelBuffer {
        PixelBuffer(width: width, height: height, format: format,
                    pixels: [UInt8](repeating: value, count: width * height * format.channelCount))
    }

    /// Largest absolute difference between two images of the same size and layout.
    public static func maxDifference(_ a: PixelBuffer, _ b: PixelBuffer) -> Int {
        precondition(a.width == b.width && a.height == b.height && a.format == b.format, "images differ in shape")
        var worst = 0
        for i in 0..<a.pixels.count { worst = max(worst, abs(Int(a.pixels[i]) - Int(b.pixels[i]))) }
        return worst
    }

    /// The largest difference that can be seen: alpha and premultiplied colour (colour × α / 255)
    /// everywhere, straight colour where α ≥ `visibleAlpha`. A nearly transparent pixel's straight
    /// colour is its premultiplied colour magnified 255/α times, so there it shows rounding, not error.
    public static func maxVisibleDifference(_ a: PixelBuffer, _ b: PixelBuffer, visibleAlpha: Int = 32) -> Int {
        guard a.format.hasAlpha else { return maxDifference(a, b) }
        precondition(a.width == b.width && a.height == b.height && a.format == b.format, "images differ in shape")
        let channels = a.format.channelCount
        var worst = 0
        for p in 0..<(a.width * a.height) {
            let base = p * channels
            let alphaA = Int(a.pixels[base + channels - 1]), alphaB = Int(b.pixels[base + channels - 1])
            worst = max(worst, abs(alphaA - alphaB))
            for c in 0..<(channels - 1) {
                let colourA = Int(a.pixels[base + c]), colourB = Int(b.pixels[base + c])
                let premultipliedA = Double(colourA * alphaA) / 255, premultipliedB = Double(colourB * alphaB) / 255
                worst = max(worst, Int(abs(premultipliedA - premultipliedB).rounded(.up)))
                if min(alphaA, alphaB) >= visibleAlpha { worst = max(worst, abs(colourA - colourB)) }
            }
        }
        return worst
    }

    /// Peak signal-to-noise ratio in dB over all channels (infinity for identical images).
    public static func psnr(_ a: PixelBuffer, _ b: PixelBuffer) -> Double {
        precondition(a.width == b.width && a.height == b.height && a.format == b.format, "images differ in shape")
        var squared = 0.0
        for i in 0..<a.pixels.count {
            let d = Double(Int(a.pixels[i]) - Int(b.pixels[i]))
            squared += d * d
        }
        if squared == 0 { return .infinity }
        return 10 * log10(255 * 255 / (squared / Double(a.pixels.count)))
    }
}

/// A small, seedable generator so test images are the same on every run.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension TestImages {
    /// A minimal EXIF block: TIFF header and IFD0 with Make (ASCII) and Orientation.
    public static func exifBlock(orientation: UInt16, bigEndian: Bool) -> [UInt8] {
        func short(_ v: UInt16) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func long(_ v: UInt32) -> [UInt8] {
            bigEndian ? short(UInt16(v >> 16)) + short(UInt16(v & 0xFFFF)) : short(UInt16(v & 0xFFFF)) + short(UInt16(v >> 16))
        }
        var bytes: [UInt8] = bigEndian ? [0x4D, 0x4D, 0, 0x2A] : [0x49, 0x49, 0x2A, 0]
        bytes += long(8) + short(2)
        bytes += short(0x010F) + short(2) + long(4) + Array("Cam\0".utf8)       // Make
        bytes += short(0x0112) + short(3) + long(1) + short(orientation) + [0, 0]  // Orientation
        bytes += long(0)
        return bytes
    }
}

extension TestImages {
    /// An EXIF block as a camera writes one: IFD0 (Orientation, a pointer to the Exif IFD), the
    /// Exif IFD with PixelXDimension (LONG) and PixelYDimension (SHORT), then IFD1 pointing to a
    /// thumbnail at the end of the block.
    public static func cameraExifBlock(width: Int, height: Int, thumbnail: [UInt8], bigEndian: Bool) -> [UInt8] {
        func short(_ v: Int) -> [UInt8] {
            bigEndian ? [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)]
        }
        func long(_ v: Int) -> [UInt8] { bigEndian ? short(v >> 16) + short(v & 0xFFFF) : short(v & 0xFFFF) + short(v >> 16) }
        let ifd0 = 8, exifIFD = ifd0 + 2 + 2 * 12 + 4, ifd1 = exifIFD + 2 + 2 * 12 + 4, data = ifd1 + 2 + 2 * 12 + 4
        var bytes: [UInt8] = bigEndian ? [0x4D, 0x4D, 0, 0x2A] : [0x49, 0x49, 0x2A, 0]
        bytes += long(ifd0)
        bytes += short(2) + short(0x0112) + short(3) + long(1) + short(1) + [0, 0] + short(0x8769) + short(4) + long(1) + long(exifIFD)
        bytes += long(ifd1)
        bytes += short(2) + short(0xA002) + short(4) + long(1) + long(width) + short(0xA003) + short(3) + long(1) + short(height) + [0, 0]
        bytes += long(0)
        bytes += short(2) + short(0x0201) + short(4) + long(1) + long(data) + short(0x0202) + short(4) + long(1) + long(thumbnail.count)
        bytes += long(0)
        return bytes + thumbnail
    }

    /// The Exif IFD's PixelXDimension and PixelYDimension, and whether IFD0 links an IFD1.
    public static func exifSizeAndThumbnail(_ exif: [UInt8]) -> (width: Int, height: Int, linksThumbnail: Bool) {
        let bigEndian = exif[0] == 0x4D
        func short(_ at: Int) -> Int { bigEndian ? Int(exif[at]) << 8 | Int(exif[at + 1]) : Int(exif[at + 1]) << 8 | Int(exif[at]) }
        func long(_ at: Int) -> Int { bigEndian ? short(at) << 16 | short(at + 2) : short(at + 2) << 16 | short(at) }
        let ifd0 = long(4), count0 = short(ifd0)
        var exifIFD = 0
        for index in 0..<count0 where short(ifd0 + 2 + index * 12) == 0x8769 { exifIFD = long(ifd0 + 2 + index * 12 + 8) }
        var width = 0, height = 0
        for index in 0..<short(exifIFD) {
            let entry = exifIFD + 2 + index * 12
            let value = short(entry + 2) == 3 ? short(entry + 8) : long(entry + 8)
            if short(entry) == 0xA002 { width = value }
            if short(entry) == 0xA003 { height = value }
        }
        return (width, height, long(ifd0 + 2 + count0 * 12) != 0)
    }
}
