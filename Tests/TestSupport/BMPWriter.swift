// BMPWriter: builds small BMP files byte by byte, so the BMP decoder is tested on known pixels.

public enum BMPWriter {
    /// A BITMAPINFOHEADER (40 bytes) or BITMAPV4HEADER (108 bytes, with masks) bitmap.
    public static func make(width: Int, height: Int, bitsPerPixel: Int, topDown: Bool = false,
                            compression: Int = 0, palette: [(UInt8, UInt8, UInt8)] = [],
                            masks: (UInt32, UInt32, UInt32, UInt32)? = nil, pixelData: [UInt8]) -> [UInt8] {
        let infoSize = masks == nil ? 40 : 108
        let paletteBytes = palette.count * 4
        let offset = 14 + infoSize + paletteBytes
        var bytes: [UInt8] = Array("BM".utf8)
        bytes += le32(UInt32(offset + pixelData.count)) + [0, 0, 0, 0] + le32(UInt32(offset))
        bytes += le32(UInt32(infoSize)) + le32(UInt32(width))
        bytes += le32(UInt32(bitPattern: Int32(topDown ? -height : height)))
        bytes += [1, 0] + [UInt8(bitsPerPixel), 0] + le32(UInt32(compression)) + le32(UInt32(pixelData.count))
        bytes += le32(2835) + le32(2835) + le32(UInt32(palette.count)) + le32(0)
        if let masks {
            bytes += le32(masks.0) + le32(masks.1) + le32(masks.2) + le32(masks.3)
            bytes += [UInt8](repeating: 0, count: 108 - 56)
        }
        for color in palette { bytes += [color.2, color.1, color.0, 0] }
        return bytes + pixelData
    }

    /// Rows padded to four bytes, in the order given.
    public static func padRows(_ rows: [[UInt8]]) -> [UInt8] {
        rows.flatMap { row in row + [UInt8](repeating: 0, count: (4 - row.count % 4) % 4) }
    }

    static func le32(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }
}
