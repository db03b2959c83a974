// ImageFormat: the formats FastResize reads and writes, recognised by their magic bytes.

import FastResizePixels

/// An image file format. Inputs are recognised by content, never by file name.
public enum ImageFormat: String, Sendable, CaseIterable, Codable {
    case jpeg, png, webp, gif, tiff, bmp, avif, heic

    /// Formats FastResize can write.
    public static let outputFormats: [ImageFormat] = [.jpeg, .png, .webp, .avif, .gif]

    public var canEncode: Bool { Self.outputFormats.contains(self) }

    /// The extension used for files written in this format.
    public var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .tiff: "tif"
        default: rawValue
        }
    }

    /// The name people know the format by, used in messages ("cannot decode JPEG: …").
    public var displayName: String {
        switch self {
        case .jpeg: "JPEG"
        case .png: "PNG"
        case .webp: "WebP"
        case .gif: "GIF"
        case .tiff: "TIFF"
        case .bmp: "BMP"
        case .avif: "AVIF"
        case .heic: "HEIF"
        }
    }

    /// How many leading bytes `detect` wants to see.
    public static let headerLength = 64

    /// The format whose signature starts `header`, or nil.
    public static func detect(_ header: some Collection<UInt8>) -> ImageFormat? {
        let bytes = Array(header.prefix(headerLength))
        func starts(with signature: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + signature.count && Array(bytes[offset..<offset + signature.count]) == signature
        }
        if starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(with: Array("GIF87a".utf8)) || starts(with: Array("GIF89a".utf8)) { return .gif }
        if starts(with: Array("RIFF".utf8)) && starts(with: Array("WEBP".utf8), at: 8) { return .webp }
        if starts(with: [0x49, 0x49, 0x2A, 0x00]) || starts(with: [0x4D, 0x4D, 0x00, 0x2A])
            || starts(with: [0x49, 0x49, 0x2B, 0x00]) || starts(with: [0x4D, 0x4D, 0x00, 0x2B]) { return .tiff }
        if starts(with: Array("BM".utf8)) && bytes.count >= 18 {
            // The info header size distinguishes a bitmap from text that happens to start with "BM".
            let infoSize = Int(bytes[14]) | Int(bytes[15]) << 8 | Int(bytes[16]) << 16 | Int(bytes[17]) << 24
            if [12, 16, 40, 52, 56, 64, 108, 124].contains(infoSize) { return .bmp }
        }
        if starts(with: Array("ftyp".utf8), at: 4) { return isobmffBrand(bytes) }
        return nil
    }

    /// AVIF or HEIF, from an ISO-BMFF `ftyp` box's major and compatible brands.
    private static func isobmffBrand(_ bytes: [UInt8]) -> ImageFormat? {
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

    /// A name for well-known image formats FastResize does not read, so the error can say what the
    /// file is ("unsupported image format: Photoshop PSD") instead of calling it garbage.
    public static func describeUnsupported(_ header: some Collection<UInt8>) -> String? {
        let bytes = Array(header.prefix(headerLength))
        func starts(with signature: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + signature.count && Array(bytes[offset..<offset + signature.count]) == signature
        }
        if starts(with: Array("8BPS".utf8)) { return "Photoshop PSD" }
        if starts(with: [0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || starts(with: [0xFF, 0x4F, 0xFF, 0x51]) { return "JPEG 2000" }
        if starts(with: [0xFF, 0x0A]) || starts(with: [0, 0, 0, 0x0C, 0x4A, 0x58, 0x4C, 0x20]) { return "JPEG XL" }
        if starts(with: Array("%PDF".utf8)) { return "PDF" }
        if starts(with: Array("qoif".utf8)) { return "QOI" }
        if starts(with: [0x00, 0x00, 0x01, 0x00]) { return "Windows icon" }
        if starts(with: Array("P".utf8)) && bytes.count > 2 && (0x31...0x37).contains(bytes[1])
            && [0x0A, 0x0D, 0x20, 0x09].contains(bytes[2]) { return "Netpbm" }
        if starts(with: Array("ftyp".utf8), at: 4) { return "ISO media that is neither AVIF nor HEIF" }
        return nil
    }

    /// File extensions that claim to be images; a walked file with one of these whose content is
    /// not an image is reported as a failure rather than quietly passed over.
    public static let imageLikeExtensions: Set<String> = [
        "jpg", "jpeg", "jpe", "jfif", "png", "apng", "webp", "gif", "tif", "tiff", "bmp", "dib",
        "avif", "avifs", "heic", "heif", "hif", "tga", "psd", "jp2", "j2k", "jxl", "ico", "qoi",
        "ppm", "pgm", "pbm", "pnm", "mpo",
    ]
}
