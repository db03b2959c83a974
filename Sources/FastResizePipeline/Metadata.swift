// Metadata: EXIF orientation, the colour profile, EXIF and XMP blocks, read from containers and reset for outputs.

import FastResizePixels

/// How stored pixels must be turned to show the picture upright (the EXIF/TIFF Orientation tag).
public enum Orientation: Int, Sendable, CaseIterable {
    case up = 1, mirrored = 2, rotated180 = 3, flipped = 4, transposed = 5, rotated90 = 6, transverse = 7, rotated270 = 8

    /// Values outside 1…8 (0 is common) mean "as stored", as every viewer treats them.
    public init(exifValue: Int) {
        self = Orientation(rawValue: exifValue) ?? .up
    }

    /// True when the upright picture's width is the stored height.
    public var swapsAxes: Bool { rawValue >= 5 }

    /// The stored pixel that upright pixel (u, v) shows, for an upright picture of `width` × `height`.
    func storedPosition(u: Int, v: Int, width: Int, height: Int) -> (x: Int, y: Int) {
        switch self {
        case .up: (u, v)
        case .mirrored: (width - 1 - u, v)
        case .rotated180: (width - 1 - u, height - 1 - v)
        case .flipped: (u, height - 1 - v)
        case .transposed: (v, u)
        case .rotated90: (v, width - 1 - u)
        case .transverse: (height - 1 - v, width - 1 - u)
        case .rotated270: (height - 1 - v, u)
        }
    }

    /// The stored-image region that shows `region` of the upright picture (`width` × `height`).
    public func storedRegion(_ region: SourceRegion, uprightWidth width: Double, uprightHeight height: Double) -> SourceRegion {
        let (x, y, w, h) = (region.x, region.y, region.width, region.height)
        switch self {
        case .up: return region
        case .mirrored: return SourceRegion(x: width - x - w, y: y, width: w, height: h)
        case .rotated180: return SourceRegion(x: width - x - w, y: height - y - h, width: w, height: h)
        case .flipped: return SourceRegion(x: x, y: height - y - h, width: w, height: h)
        case .transposed: return SourceRegion(x: y, y: x, width: h, height: w)
        case .rotated90: return SourceRegion(x: y, y: width - x - w, width: h, height: w)
        case .transverse: return SourceRegion(x: height - y - h, y: width - x - w, width: h, height: w)
        case .rotated270: return SourceRegion(x: height - y - h, y: x, width: h, height: w)
        }
    }
}

/// What travels with the pixels: orientation, colour profile, EXIF and XMP, as the input stored them.
public struct ImageMetadata: Sendable, Equatable {
    /// How the stored pixels are to be turned; `.up` when the decoder already turned them.
    public var orientation: Orientation
    /// The ICC profile describing the stored pixels; nil means sRGB.
    public var iccProfile: [UInt8]?
    /// The EXIF block as a TIFF structure (starting "II*\0" or "MM\0*"), without JPEG's "Exif\0\0".
    public var exif: [UInt8]?
    /// The XMP packet (XML).
    public var xmp: [UInt8]?

    public init(orientation: Orientation = .up, iccProfile: [UInt8]? = nil, exif: [UInt8]? = nil, xmp: [UInt8]? = nil) {
        self.orientation = orientation
        self.iccProfile = iccProfile
        self.exif = exif
        self.xmp = xmp
    }

    public static let none = ImageMetadata()

    /// Orientation from EXIF, else from XMP's tiff:Orientation (some PNGs carry only that).
    public mutating func resolveOrientation() {
        if let exif, let value = EXIF.orientation(in: exif) {
            orientation = Orientation(exifValue: value)
        } else if let xmp, let value = XMP.orientation(in: xmp) {
            orientation = Orientation(exifValue: value)
        }
    }

    /// The EXIF and XMP blocks with their orientation set to 1, for an output whose pixels are upright.
    public func uprighted() -> ImageMetadata {
        var copy = self
        copy.orientation = .up
        copy.exif = exif.map(EXIF.resettingOrientation)
        copy.xmp = xmp.map(XMP.resettingOrientation)
        return copy
    }
}

/// The few EXIF facts FastResize needs, read and written in place in the TIFF structure.
public enum EXIF {
    public static let jpegPrefix: [UInt8] = Array("Exif\0\0".utf8)
    static let orientationTag: UInt16 = 0x0112

    /// The TIFF structure of an EXIF block, dropping a leading "Exif\0\0" when present; nil if not TIFF.
    public static func payload(_ bytes: some Collection<UInt8>) -> [UInt8]? {
        var block = Array(bytes)
        if block.starts(with: jpegPrefix) { block.removeFirst(jpegPrefix.count) }
        guard block.count >= 8, block.starts(with: [0x49, 0x49, 0x2A, 0]) || block.starts(with: [0x4D, 0x4D, 0, 0x2A]) else {
            return nil
        }
        return block
    }

    /// The Orientation value of IFD0, if the block has one.
    public static func orientation(in exif: [UInt8]) -> Int? {
        orientationOffset(in: exif).map { readShort(exif, at: $0, bigEndian: exif[0] == 0x4D) }
    }

    /// The block with IFD0's Orientation set to 1 (same length, nothing else touched).
    public static func resettingOrientation(_ exif: [UInt8]) -> [UInt8] {
        guard let offset = orientationOffset(in: exif) else { return exif }
        var copy = exif
        let bigEndian = exif[0] == 0x4D
        copy[offset] = bigEndian ? 0 : 1
        copy[offset + 1] = bigEndian ? 1 : 0
        return copy
    }

    /// Where IFD0's Orientation value sits (a SHORT stored inline in its entry).
    private static func orientationOffset(in exif: [UInt8]) -> Int? {
        guard exif.count >= 8 else { return nil }
        let bigEndian = exif[0] == 0x4D
        let ifd = readLong(exif, at: 4, bigEndian: bigEndian)
        guard ifd >= 8, ifd + 2 <= exif.count else { return nil }
        let count = readShort(exif, at: ifd, bigEndian: bigEndian)
        for index in 0..<count {
            let entry = ifd + 2 + index * 12
            guard entry + 12 <= exif.count else { return nil }
            if readShort(exif, at: entry, bigEndian: bigEndian) == Int(orientationTag)
                && readShort(exif, at: entry + 2, bigEndian: bigEndian) == 3 {
                return entry + 8
            }
        }
        return nil
    }

    static let exifIFDTag = 0x8769, gpsIFDTag = 0x8825, interoperabilityIFDTag = 0xA005
    static let thumbnailOffsetTag = 0x0201, thumbnailLengthTag = 0x0202
    /// Tags that hold a size: ImageWidth, ImageLength (IFD0), PixelXDimension, PixelYDimension (Exif IFD).
    static let widthTags: Set = [0x0100, 0xA002], heightTags: Set = [0x0101, 0xA003]

    /// The block as an output of `width` × `height` should carry it: its size tags say that size,
    /// and the thumbnail (IFD1, a small picture of the input) is gone — cut off when it ends the
    /// block, as cameras write it, else unlinked and zeroed — so it can neither mislead nor show
    /// what a crop left out.
    public static func describing(_ exif: [UInt8], width: Int, height: Int) -> [UInt8] {
        guard exif.count >= 8 else { return exif }
        var copy = exif
        let bigEndian = exif[0] == 0x4D
        let ifd0 = readLong(exif, at: 4, bigEndian: bigEndian)
        var end = 8     // where the data IFD0 and its sub-IFDs reach ends
        var pending = [ifd0]
        var seen = Set<Int>()
        var ifd1 = 0
        while let ifd = pending.popLast() {
            guard ifd >= 8, ifd + 2 <= exif.count, seen.insert(ifd).inserted else { continue }
            let count = readShort(exif, at: ifd, bigEndian: bigEndian)
            guard ifd + 2 + count * 12 + 4 <= exif.count else { continue }
            end = max(end, ifd + 2 + count * 12 + 4)
            for index in 0..<count {
                let entry = ifd + 2 + index * 12
                let tag = readShort(exif, at: entry, bigEndian: bigEndian), type = readShort(exif, at: entry + 2, bigEndian: bigEndian)
                let values = readLong(exif, at: entry + 4, bigEndian: bigEndian)
                let size = [1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8][type] ?? 1
                if values * size > 4 { end = max(end, min(exif.count, readLong(exif, at: entry + 8, bigEndian: bigEndian) + values * size)) }
                if [exifIFDTag, gpsIFDTag, interoperabilityIFDTag].contains(tag) { pending.append(readLong(exif, at: entry + 8, bigEndian: bigEndian)) }
                let size32 = widthTags.contains(tag) ? width : heightTags.contains(tag) ? height : nil
                if let value = size32, values == 1 {
                    if type == 3 && value <= 0xFFFF { writeShort(&copy, at: entry + 8, value, bigEndian: bigEndian) }
                    if type == 4 { writeLong(&copy, at: entry + 8, value, bigEndian: bigEndian) }
                }
            }
            if ifd == ifd0 {
                ifd1 = readLong(exif, at: ifd + 2 + count * 12, bigEndian: bigEndian)
                writeLong(&copy, at: ifd + 2 + count * 12, 0, bigEndian: bigEndian)
            }
        }
        guard ifd1 >= 8, ifd1 + 2 <= exif.count else { return copy }
        // What IFD1 holds: its entries and the thumbnail's bytes.
        let count = readShort(exif, at: ifd1, bigEndian: bigEndian)
        var start = ifd1, stop = min(exif.count, ifd1 + 2 + count * 12 + 4)
        var thumbnail: (offset: Int, length: Int)?
        var offset = 0, length = 0
        for index in 0..<count where ifd1 + 2 + index * 12 + 12 <= exif.count {
            let entry = ifd1 + 2 + index * 12
            let tag = readShort(exif, at: entry, bigEndian: bigEndian)
            if tag == thumbnailOffsetTag { offset = readLong(exif, at: entry + 8, bigEndian: bigEndian) }
            if tag == thumbnailLengthTag { length = readLong(exif, at: entry + 8, bigEndian: bigEndian) }
        }
        if offset >= 8, length > 0, offset + length <= exif.count {
            thumbnail = (offset, length)
            start = min(start, offset)
            stop = max(stop, offset + length)
        }
        if start >= end { return Array(copy[..<start]) }
        for index in ifd1..<min(exif.count, ifd1 + 2 + count * 12 + 4) { copy[index] = 0 }
        if let thumbnail { for index in thumbnail.offset..<thumbnail.offset + thumbnail.length { copy[index] = 0 } }
        return copy
    }

    static func writeShort(_ bytes: inout [UInt8], at offset: Int, _ value: Int, bigEndian: Bool) {
        guard offset + 2 <= bytes.count else { return }
        let (a, b) = (UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value))
        (bytes[offset], bytes[offset + 1]) = bigEndian ? (a, b) : (b, a)
    }

    static func writeLong(_ bytes: inout [UInt8], at offset: Int, _ value: Int, bigEndian: Bool) {
        guard offset + 4 <= bytes.count else { return }
        writeShort(&bytes, at: bigEndian ? offset : offset + 2, value >> 16, bigEndian: bigEndian)
        writeShort(&bytes, at: bigEndian ? offset + 2 : offset, value & 0xFFFF, bigEndian: bigEndian)
    }

    static func readShort(_ bytes: [UInt8], at offset: Int, bigEndian: Bool) -> Int {
        let a = Int(bytes[offset]), b = Int(bytes[offset + 1])
        return bigEndian ? a << 8 | b : b << 8 | a
    }

    static func readLong(_ bytes: [UInt8], at offset: Int, bigEndian: Bool) -> Int {
        guard offset + 4 <= bytes.count else { return 0 }
        let high = readShort(bytes, at: bigEndian ? offset : offset + 2, bigEndian: bigEndian)
        let low = readShort(bytes, at: bigEndian ? offset + 2 : offset, bigEndian: bigEndian)
        return high << 16 | low
    }
}

/// tiff:Orientation in an XMP packet, as an attribute or an element.
public enum XMP {
    private static let name = Array("tiff:Orientation".utf8)

    public static func orientation(in xmp: [UInt8]) -> Int? {
        valueRange(in: xmp).map { Int(xmp[$0] - 0x30) }
    }

    public static func resettingOrientation(_ xmp: [UInt8]) -> [UInt8] {
        guard let at = valueRange(in: xmp) else { return xmp }
        var copy = xmp
        copy[at] = 0x31
        return copy
    }

    /// The index of the digit that follows `tiff:Orientation="` or `tiff:Orientation>`.
    private static func valueRange(in xmp: [UInt8]) -> Int? {
        guard xmp.count > name.count + 2 else { return nil }
        var index = 0
        while index + name.count + 2 < xmp.count {
            if xmp[index] == name[0] && xmp[index..<(index + name.count)].elementsEqual(name) {
                var at = index + name.count
                if xmp[at] == UInt8(ascii: "=") { at += 2 } else if xmp[at] == UInt8(ascii: ">") { at += 1 } else {
                    index += 1
                    continue
                }
                if at < xmp.count, (0x31...0x38).contains(xmp[at]) { return at }
            }
            index += 1
        }
        return nil
    }
}

extension ImageMetadata {
    /// Fills in orientation from the blocks present (for decoders that collect blocks themselves).
    public func resolved() -> ImageMetadata {
        var copy = self
        copy.resolveOrientation()
        return copy
    }
}

extension PixelBuffer {
    /// The picture turned upright: the stored pixels read through `orientation`.
    public func oriented(_ orientation: Orientation) -> PixelBuffer {
        if orientation == .up { return self }
        let uprightWidth = orientation.swapsAxes ? height : width
        let uprightHeight = orientation.swapsAxes ? width : height
        var result = PixelBuffer(uninitializedWidth: uprightWidth, height: uprightHeight, format: format, bitDepth: bitDepth)
        let pixelBytes = bytesPerPixel
        pixels.withUnsafeBufferPointer { source in
            result.pixels.withUnsafeMutableBufferPointer { target in
                var out = 0
                for v in 0..<uprightHeight {
                    for u in 0..<uprightWidth {
                        let (x, y) = orientation.storedPosition(u: u, v: v, width: uprightWidth, height: uprightHeight)
                        let from = (y * width + x) * pixelBytes
                        for b in 0..<pixelBytes { target[out + b] = source[from + b] }
                        out += pixelBytes
                    }
                }
            }
        }
        return result
    }
}
