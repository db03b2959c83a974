// Formats: the formats FastResize reads and writes, as its codecs describe them (names, signatures, extensions, what the pipeline may ask of them), and those it only recognises.

import FastResizePipeline

extension ImageFormat {
    public static let jpeg = ImageFormat("jpeg", displayName: "JPEG", fileExtension: "jpg")
    public static let png = ImageFormat("png", displayName: "PNG")
    public static let webp = ImageFormat("webp", displayName: "WebP")
    public static let gif = ImageFormat("gif", displayName: "GIF")
    public static let tiff = ImageFormat("tiff", displayName: "TIFF", fileExtension: "tif")
    public static let bmp = ImageFormat("bmp", displayName: "BMP")
    public static let avif = ImageFormat("avif", displayName: "AVIF")
    public static let heic = ImageFormat("heic", displayName: "HEIF")
}

/// The descriptions, in the order signatures are tried.
enum Formats {
    static let all: [FormatDescription] = [
        // libjpeg's JPEG_MAX_DIMENSION; WebP's 14-bit sizes; GIF's 16-bit ones.
        FormatDescription(format: .jpeg, extensions: ["jpg", "jpeg", "jpe", "jfif", "mpo"], decoderShrink: .powersOfTwo,
                          largestSide: 65500, encoderSettings: [.quality, .progressive]) {
            FormatDescription.bytes($0, start: [0xFF, 0xD8, 0xFF])
        },
        FormatDescription(format: .png, extensions: ["png", "apng"], encoderSettings: [.compressionLevel]) {
            FormatDescription.bytes($0, start: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        },
        FormatDescription(format: .webp, extensions: ["webp"], decoderShrink: .coarse, losslessByContent: true,
                          largestSide: 16383, encoderSettings: [.quality, .lossless]) {
            FormatDescription.bytes($0, start: Array("RIFF".utf8)) && FormatDescription.bytes($0, start: Array("WEBP".utf8), at: 8)
        },
        FormatDescription(format: .avif, extensions: ["avif", "avifs"], isolatedByDefault: true,
                          encoderSettings: [.quality]) { isobmffBrand($0) == .avif },
        FormatDescription(format: .gif, extensions: ["gif"], largestSide: 65535) {
            FormatDescription.bytes($0, start: Array("GIF87a".utf8)) || FormatDescription.bytes($0, start: Array("GIF89a".utf8))
        },
        FormatDescription(format: .tiff, extensions: ["tif", "tiff"], isolatedByDefault: true) { bytes in
            [[0x49, 0x49, 0x2A, 0x00], [0x4D, 0x4D, 0x00, 0x2A], [0x49, 0x49, 0x2B, 0x00], [0x4D, 0x4D, 0x00, 0x2B]]
                .contains { FormatDescription.bytes(bytes, start: $0) }
        },
        FormatDescription(format: .bmp, extensions: ["bmp", "dib"]) { bytes in
            guard FormatDescription.bytes(bytes, start: Array("BM".utf8)), bytes.count >= 18 else { return false }
            // The info header size distinguishes a bitmap from text that happens to start with "BM".
            let infoSize = Int(bytes[14]) | Int(bytes[15]) << 8 | Int(bytes[16]) << 16 | Int(bytes[17]) << 24
            return [12, 16, 40, 52, 56, 64, 108, 124].contains(infoSize)
        },
        FormatDescription(format: .heic, extensions: ["heic", "heif", "hif"], isolatedByDefault: true) { isobmffBrand($0) == .heic },
        jxl,
    ]

    /// AVIF or HEIF, from an ISO-BMFF `ftyp` box's major and compatible brands.
    static func isobmffBrand(_ bytes: [UInt8]) -> ImageFormat? {
        guard bytes.count >= 12, FormatDescription.bytes(bytes, start: Array("ftyp".utf8), at: 4) else { return nil }
        let boxSize = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        var brands: [String] = []
        var offset = 8
        let end = min(max(boxSize, 16), bytes.count)
        while offset + 4 <= end {
            if offset != 12 {  // bytes 12..<16 are the minor version, not a brand
                brands.append(String(decoding: bytes[offset..<offset + 4], as: UTF8.self))
            }
            offset += 4
        }
        let avifBrands: Set = ["avif", "avis"]
        let heifBrands: Set = ["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1", "jpeg"]
        if let major = brands.first {
            if avifBrands.contains(major) { return .avif }
            if ["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs"].contains(major) { return .heic }
        }
        if brands.contains(where: avifBrands.contains) { return .avif }
        if brands.contains(where: heifBrands.contains) { return .heic }
        return nil
    }

    /// Well-known formats FastResize does not read, so the error can say what a file is.
    static let foreign: [ForeignFormat] = [
        ForeignFormat(name: "Photoshop PSD", extensions: ["psd"]) { FormatDescription.bytes($0, start: Array("8BPS".utf8)) },
        ForeignFormat(name: "JPEG 2000", extensions: ["jp2", "j2k"]) {
            FormatDescription.bytes($0, start: [0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || FormatDescription.bytes($0, start: [0xFF, 0x4F, 0xFF, 0x51])
        },
        ForeignFormat(name: "PDF", extensions: []) { FormatDescription.bytes($0, start: Array("%PDF".utf8)) },
        ForeignFormat(name: "QOI", extensions: ["qoi"]) { FormatDescription.bytes($0, start: Array("qoif".utf8)) },
        ForeignFormat(name: "Windows icon", extensions: ["ico"]) { FormatDescription.bytes($0, start: [0x00, 0x00, 0x01, 0x00]) },
        ForeignFormat(name: "Netpbm", extensions: ["ppm", "pgm", "pbm", "pnm"]) { bytes in
            FormatDescription.bytes(bytes, start: Array("P".utf8)) && bytes.count > 2 && (0x31...0x37).contains(bytes[1])
                && [0x0A, 0x0D, 0x20, 0x09].contains(bytes[2])
        },
        // No signature to go by (a Targa file starts with its header's field sizes): known by name only.
        ForeignFormat(name: "Targa", extensions: ["tga"]) { _ in false },
        ForeignFormat(name: "ISO media that is neither AVIF nor HEIF", extensions: []) {
            FormatDescription.bytes($0, start: Array("ftyp".utf8), at: 4)
        },
    ]
}
