// ContainerMetadata: the metadata blocks of JPEG segments, WebP chunks and ImageMagick's PNG text, read by their codecs.

import FastResizePipeline

/// Reads metadata blocks out of the containers whose layout is simple enough to walk here.
public enum ContainerMetadata {
    static let xmpSignature = Array("http://ns.adobe.com/xap/1.0/\0".utf8)
    static let iccSignature = Array("ICC_PROFILE\0".utf8)

    /// JPEG: APP1 EXIF and XMP, APP2 ICC (reassembled from its numbered chunks), up to the first scan.
    public static func jpeg(_ data: UnsafeRawBufferPointer) -> ImageMetadata {
        var metadata = ImageMetadata()
        var iccChunks: [Int: ArraySlice<UInt8>] = [:]
        let bytes = data.bindMemory(to: UInt8.self)
        var at = 2
        while at + 4 <= bytes.count {
            guard bytes[at] == 0xFF else { break }
            let marker = bytes[at + 1]
            if marker == 0xFF { at += 1; continue }
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { at += 2; continue }
            if marker == 0xDA || marker == 0xD9 { break }
            let length = Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            guard length >= 2, at + 2 + length <= bytes.count else { break }
            let body = Array(bytes[(at + 4)..<(at + 2 + length)])
            if marker == 0xE1, metadata.exif == nil, let exif = EXIF.payload(body), body.starts(with: EXIF.jpegPrefix) {
                metadata.exif = exif
            } else if marker == 0xE1, metadata.xmp == nil, body.starts(with: xmpSignature) {
                metadata.xmp = Array(body[xmpSignature.count...])
            } else if marker == 0xE2, body.count > iccSignature.count + 2, body.starts(with: iccSignature) {
                iccChunks[Int(body[iccSignature.count])] = body[(iccSignature.count + 2)...]
            }
            at += 2 + length
        }
        if !iccChunks.isEmpty {
            metadata.iccProfile = iccChunks.keys.sorted().flatMap { iccChunks[$0]! }
        }
        metadata.resolveOrientation()
        return metadata
    }

    /// WebP (RIFF): the ICCP, EXIF and "XMP " chunks of the extended format.
    public static func webp(_ data: UnsafeRawBufferPointer) -> ImageMetadata {
        var metadata = ImageMetadata()
        let bytes = data.bindMemory(to: UInt8.self)
        var at = 12
        while at + 8 <= bytes.count {
            let tag = String(decoding: bytes[at..<(at + 4)], as: UTF8.self)
            let size = Int(bytes[at + 4]) | Int(bytes[at + 5]) << 8 | Int(bytes[at + 6]) << 16 | Int(bytes[at + 7]) << 24
            guard size >= 0, at + 8 + size <= bytes.count else { break }
            let body = bytes[(at + 8)..<(at + 8 + size)]
            switch tag {
            case "ICCP": metadata.iccProfile = Array(body)
            case "EXIF": metadata.exif = EXIF.payload(body)
            case "XMP ": metadata.xmp = Array(body)
            default: break
            }
            at += 8 + size + (size & 1)
        }
        metadata.resolveOrientation()
        return metadata
    }

    /// ImageMagick's "Raw profile type exif" text: a name line, a length line, then hex digits.
    public static func imageMagickRawProfile(_ text: [UInt8]) -> [UInt8]? {
        var lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        guard lines.count >= 3 else { return nil }
        lines.removeFirst(2)
        var bytes: [UInt8] = []
        var high: UInt8?
        for line in lines {
            for character in line {
                let nibble: UInt8
                switch character {
                case 0x30...0x39: nibble = character - 0x30
                case 0x61...0x66: nibble = character - 0x61 + 10
                case 0x41...0x46: nibble = character - 0x41 + 10
                default: continue
                }
                if let first = high { bytes.append(first << 4 | nibble); high = nil } else { high = nibble }
            }
        }
        return EXIF.payload(bytes)
    }
}
