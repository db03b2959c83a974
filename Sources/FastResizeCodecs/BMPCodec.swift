// BMPCodec: our own BMP decoder (Windows and OS/2 headers; 1–32 bits; RLE4/RLE8; bit fields).

import FastResizePipeline
import FastResizePixels

/// Decodes BMP to gray (gray palettes), RGB, or RGBA (when an alpha mask carries real alpha).
///
/// Written here because Debian's stb_image lacks 1-bit and RLE bitmaps, which are common. Every read
/// is bounds-checked; a file shorter than its header promises is an error, not a guess.
public struct BMPDecoder: ImageDecoding {
    public init() {}

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        let header = try BMPHeader(data)
        return ImageInfo(format: .bmp, width: header.width, height: header.height, hasAlpha: header.alphaMask != 0,
                         layout: header.layout)
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        let header = try BMPHeader(data)
        switch header.compression {
        case 0, 3, 6: return try decodeUncompressed(data, header)
        case 1, 2: return try decodeRunLength(data, header)
        case 4: throw .unsupported(.bmp, "unsupported compression (embedded JPEG)")
        case 5: throw .unsupported(.bmp, "unsupported compression (embedded PNG)")
        default: throw .decodeFailed(.bmp, "unknown compression \(header.compression)")
        }
    }

    private func decodeUncompressed(_ data: UnsafeRawBufferPointer, _ header: BMPHeader) throws(CodecError) -> PixelBuffer {
        let bits = header.bitsPerPixel
        let stride = ((header.width * bits + 31) / 32) * 4
        guard header.dataOffset + stride * header.height <= data.count else {
            throw .decodeFailed(.bmp, "file is truncated")
        }
        let palette = header.palette
        let format = header.layout
        var image = PixelBuffer(width: header.width, height: header.height, format: format)
        let channels = format.channelCount
        let fields = bits > 8 ? header.bitFields : []
        var sawAlpha = false
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            for row in 0..<header.height {
                let y = header.topDown ? row : header.height - 1 - row
                let rowStart = header.dataOffset + row * stride
                for x in 0..<header.width {
                    let out = (y * header.width + x) * channels
                    if bits <= 8 {
                        let bitOffset = x * bits
                        let byte = data[rowStart + bitOffset / 8]
                        let shift = 8 - bits - bitOffset % 8
                        let index = Int(byte >> UInt8(shift)) & ((1 << bits) - 1)
                        let color = index < palette.count ? palette[index] : (0, 0, 0)
                        if channels == 1 {
                            pixels[out] = color.0
                        } else {
                            pixels[out] = color.0; pixels[out + 1] = color.1; pixels[out + 2] = color.2
                        }
                        continue
                    }
                    let at = rowStart + x * bits / 8
                    var value: UInt32 = 0
                    for i in 0..<(bits / 8) { value |= UInt32(data[at + i]) << (8 * i) }
                    if bits == 24 {
                        pixels[out] = UInt8(value >> 16 & 0xFF); pixels[out + 1] = UInt8(value >> 8 & 0xFF)
                        pixels[out + 2] = UInt8(value & 0xFF)
                        continue
                    }
                    for c in 0..<channels {
                        pixels[out + c] = fields[c].extract(value)
                    }
                    if channels == 4 && pixels[out + 3] != 0 { sawAlpha = true }
                }
            }
        }
        // Many writers leave the alpha bytes zero; an all-zero alpha channel means "no alpha".
        if format == .rgba && !sawAlpha {
            var opaque = image.converted(to: .rgb)
            opaque = PixelBuffer(width: opaque.width, height: opaque.height, format: .rgba,
                                 pixels: opaque.converted(to: .rgba).pixels)
            return opaque
        }
        return image
    }

    private func decodeRunLength(_ data: UnsafeRawBufferPointer, _ header: BMPHeader) throws(CodecError) -> PixelBuffer {
        let fourBit = header.compression == 2
        guard header.bitsPerPixel == (fourBit ? 4 : 8), !header.topDown else {
            throw .decodeFailed(.bmp, "run-length compression with \(header.bitsPerPixel) bits per pixel")
        }
        let palette = header.palette
        let format: PixelFormat = header.isGrayPalette ? .gray : .rgb
        var image = PixelBuffer(width: header.width, height: header.height, format: format)
        let channels = format.channelCount
        var position = header.dataOffset
        var x = 0, row = 0
        func put(_ index: Int, _ pixels: inout [UInt8]) {
            guard x < header.width && row < header.height else { return }
            let color = index < palette.count ? palette[index] : (0, 0, 0)
            let out = ((header.height - 1 - row) * header.width + x) * channels
            pixels[out] = color.0
            if channels == 3 { pixels[out + 1] = color.1; pixels[out + 2] = color.2 }
            x += 1
        }
        func byte() throws(CodecError) -> Int {
            guard position < data.count else { throw .decodeFailed(.bmp, "run-length data is truncated") }
            defer { position += 1 }
            return Int(data[position])
        }
        decoding: while row < header.height {
            let count = try byte()
            let value = try byte()
            if count > 0 {
                for i in 0..<count {
                    put(fourBit ? (i % 2 == 0 ? value >> 4 : value & 0x0F) : value, &image.pixels)
                }
                continue
            }
            switch value {
            case 0: x = 0; row += 1                         // end of line
            case 1: break decoding                          // end of bitmap
            case 2: x += try byte(); row += try byte()      // delta
            default:                                        // absolute run of `value` pixels
                var read = 0
                for i in 0..<value {
                    if fourBit {
                        if i % 2 == 0 { read = try byte() }
                        put(i % 2 == 0 ? read >> 4 : read & 0x0F, &image.pixels)
                    } else {
                        put(try byte(), &image.pixels)
                    }
                }
                let used = fourBit ? (value + 1) / 2 : value
                if used % 2 == 1 { position += 1 }          // runs are padded to 16 bits
            }
        }
        return image
    }
}

/// One channel of a bit-field pixel: where its bits are and how to widen them to 8 bits.
private struct BitField {
    var mask: UInt32
    var shift: UInt32
    var bits: UInt32

    init(mask: UInt32) {
        self.mask = mask
        shift = mask == 0 ? 0 : UInt32(mask.trailingZeroBitCount)
        bits = UInt32((mask >> shift).trailingZeroBitCount == 0 ? (~(mask >> shift)).trailingZeroBitCount : 0)
    }

    func extract(_ value: UInt32) -> UInt8 {
        guard mask != 0, bits > 0 else { return 255 }
        let raw = (value & mask) >> shift
        let maximum = (UInt64(1) << UInt64(bits)) - 1
        return UInt8((UInt64(raw) * 255 + maximum / 2) / maximum)
    }
}

/// The facts of a BMP's file and info headers, validated.
private struct BMPHeader {
    var width = 0, height = 0
    var topDown = false
    var bitsPerPixel = 0
    var compression = 0
    var dataOffset = 0
    var palette: [(UInt8, UInt8, UInt8)] = []
    var masks: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    var alphaMask: UInt32 { bitsPerPixel > 8 ? masks.3 : 0 }

    /// The layout decoded: gray for gray palettes, RGBA when an alpha mask is given.
    var layout: PixelFormat { bitsPerPixel <= 8 ? (isGrayPalette ? .gray : .rgb) : (alphaMask != 0 ? .rgba : .rgb) }

    var isGrayPalette: Bool { !palette.isEmpty && palette.allSatisfy { $0.0 == $0.1 && $0.1 == $0.2 } }

    var bitFields: [BitField] {
        [BitField(mask: masks.0), BitField(mask: masks.1), BitField(mask: masks.2), BitField(mask: masks.3)]
    }

    init(_ data: UnsafeRawBufferPointer) throws(CodecError) {
        func u16(_ at: Int) -> Int { Int(data[at]) | Int(data[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 {
            UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24
        }
        guard data.count >= 26, data[0] == 0x42, data[1] == 0x4D else { throw .decodeFailed(.bmp, "file is truncated") }
        dataOffset = Int(u32(10))
        let infoSize = Int(u32(14))
        guard data.count >= 14 + infoSize else { throw .decodeFailed(.bmp, "file is truncated") }
        var paletteEntrySize = 4
        var colorsUsed = 0
        if infoSize == 12 {
            // OS/2 1.x BITMAPCOREHEADER: 16-bit sizes, 3-byte palette entries.
            width = u16(18)
            height = u16(20)
            bitsPerPixel = u16(24)
            paletteEntrySize = 3
        } else {
            guard infoSize >= 16 else { throw .decodeFailed(.bmp, "unknown header size \(infoSize)") }
            width = Int(Int32(bitPattern: u32(18)))
            let signedHeight = Int(Int32(bitPattern: u32(22)))
            topDown = signedHeight < 0
            height = abs(signedHeight)
            bitsPerPixel = u16(28)
            if infoSize >= 40 {
                compression = Int(u32(30))
                colorsUsed = Int(u32(46))
            }
        }
        guard width > 0, height > 0 else { throw .decodeFailed(.bmp, "invalid size \(width) x \(height)") }
        guard [1, 2, 4, 8, 16, 24, 32].contains(bitsPerPixel) else {
            throw .decodeFailed(.bmp, "unsupported bit count \(bitsPerPixel)")
        }
        if compression == 3 || compression == 6 {
            // Masks follow a 40-byte header, or sit inside a V2+ header at the same place.
            let fieldCount = (compression == 6 || infoSize >= 56) ? 4 : 3
            guard data.count >= 54 + 4 * fieldCount else { throw .decodeFailed(.bmp, "file is truncated") }
            masks = (u32(54), u32(58), u32(62), fieldCount == 4 ? u32(66) : 0)
            guard bitsPerPixel == 16 || bitsPerPixel == 32 else {
                throw .decodeFailed(.bmp, "bit fields with \(bitsPerPixel) bits per pixel")
            }
            // Each channel's bits must be one run (found by fuzzing: a mask such as 0x22FF00 made
            // the widened value overflow a byte and trap).
            for mask in [masks.0, masks.1, masks.2, masks.3] where mask != 0 {
                let run = mask >> UInt32(mask.trailingZeroBitCount)
                guard run & (run &+ 1) == 0 else {
                    throw .decodeFailed(.bmp, "bit-field mask 0x\(String(mask, radix: 16)) is not one run of bits")
                }
            }
        } else if bitsPerPixel == 16 {
            masks = (0x7C00, 0x03E0, 0x001F, 0)
        } else if bitsPerPixel == 32 {
            masks = (0x00FF_0000, 0x0000_FF00, 0x0000_00FF, 0)
        }
        if bitsPerPixel <= 8 {
            let count = colorsUsed > 0 && colorsUsed <= 1 << bitsPerPixel ? colorsUsed : 1 << bitsPerPixel
            var at = 14 + infoSize + (compression == 3 && infoSize == 40 ? 12 : 0)
            for _ in 0..<count where at + 3 <= data.count && at + 3 <= dataOffset {
                palette.append((data[at + 2], data[at + 1], data[at]))
                at += paletteEntrySize
            }
            guard !palette.isEmpty else { throw .decodeFailed(.bmp, "missing colour palette") }
        }
        guard dataOffset > 0 && dataOffset < data.count else { throw .decodeFailed(.bmp, "file is truncated") }
    }
}
