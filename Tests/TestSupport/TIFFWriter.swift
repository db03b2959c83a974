// TIFFWriter: builds small uncompressed little-endian TIFF files byte by byte, for layouts the tests need and no tool here writes (CMYK with alpha).

public enum TIFFWriter {
    /// One strip of 8-bit contiguous samples. `photometric` 5 is CMYK (separated, ink set CMYK);
    /// `extraSamples` lists the ExtraSamples values (1 associated alpha, 2 unassociated).
    public static func make(width: Int, height: Int, samplesPerPixel: Int, photometric: Int,
                            extraSamples: [Int] = [], pixelData: [UInt8]) -> [UInt8] {
        precondition(pixelData.count == width * height * samplesPerPixel, "one byte per sample")
        precondition(extraSamples.count <= 1, "at most one extra sample")
        var entries: [(tag: Int, type: Int, count: Int, value: Int)] = []
        let entryCount = 10 + (photometric == 5 ? 1 : 0) + (extraSamples.isEmpty ? 0 : 1)
        let ifdSize = 2 + entryCount * 12 + 4
        let bitsOffset = 8 + ifdSize
        let extraOffset = bitsOffset + samplesPerPixel * 2
        let dataOffset = extraOffset + extraSamples.count * 2
        let short = 3, long = 4
        entries.append((256, long, 1, width))
        entries.append((257, long, 1, height))
        entries.append((258, short, samplesPerPixel, samplesPerPixel <= 2 ? 8 | (samplesPerPixel == 2 ? 8 << 16 : 0) : bitsOffset))
        entries.append((259, short, 1, 1))
        entries.append((262, short, 1, photometric))
        entries.append((273, long, 1, dataOffset))
        entries.append((277, short, 1, samplesPerPixel))
        entries.append((278, long, 1, height))
        entries.append((279, long, 1, pixelData.count))
        entries.append((284, short, 1, 1))
        if photometric == 5 { entries.append((332, short, 1, 1)) }
        if !extraSamples.isEmpty {
            entries.append((338, short, extraSamples.count, extraSamples[0]))
        }
        var bytes: [UInt8] = [0x49, 0x49, 42, 0] + le32(8) + le16(entries.count)
        for entry in entries {
            bytes += le16(entry.tag) + le16(entry.type) + le32(entry.count)
            bytes += entry.type == short && entry.count == 1 ? le16(entry.value) + [0, 0] : le32(entry.value)
        }
        bytes += le32(0)
        for _ in 0..<samplesPerPixel { bytes += le16(8) }
        for value in extraSamples { bytes += le16(value) }
        return bytes + pixelData
    }

    private static func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
    private static func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(value >> ($0 * 8) & 0xFF) } }
}
