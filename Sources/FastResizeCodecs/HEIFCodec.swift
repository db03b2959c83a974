// HEIFCodec: HEIC and AVIF decoding through libheif (which uses libde265 and dav1d here).

internal import CCodecShims
internal import CHeif
import FastResizePipeline
import FastResizePixels

/// Decodes the primary image of a HEIF container (HEIC or AVIF) to RGB or RGBA.
public struct HEIFDecoder: ImageDecoding {
    /// The format this decoder is registered for, used in messages.
    public let format: ImageFormat

    public init(format: ImageFormat) {
        self.format = format
    }

    public func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        let container = try HEIFContainer(data, format: format)
        let handle = try container.primaryImage()
        defer { heif_image_handle_release(handle) }
        return ImageInfo(format: format, width: Int(heif_image_handle_get_width(handle)),
                         height: Int(heif_image_handle_get_height(handle)),
                         hasAlpha: heif_image_handle_has_alpha_channel(handle) != 0, metadata: Self.metadata(handle))
    }

    /// The ICC profile, EXIF and XMP blocks. Orientation stays `.up`: libheif applies the
    /// container's rotation and mirroring (irot/imir) itself, and HEIF says those, not EXIF, rule.
    private static func metadata(_ handle: OpaquePointer) -> ImageMetadata {
        var metadata = ImageMetadata()
        let profileSize = heif_image_handle_get_raw_color_profile_size(handle)
        if profileSize > 0 {
            var profile = [UInt8](repeating: 0, count: profileSize)
            if heif_image_handle_get_raw_color_profile(handle, &profile).code == heif_error_Ok {
                metadata.iccProfile = profile
            }
        }
        let count = Int(heif_image_handle_get_number_of_metadata_blocks(handle, nil))
        guard count > 0 else { return metadata }
        var ids = [heif_item_id](repeating: 0, count: count)
        let filled = Int(heif_image_handle_get_list_of_metadata_block_IDs(handle, nil, &ids, Int32(count)))
        for id in ids.prefix(filled) {
            let size = heif_image_handle_get_metadata_size(handle, id)
            guard size > 0 else { continue }
            var block = [UInt8](repeating: 0, count: size)
            guard heif_image_handle_get_metadata(handle, id, &block).code == heif_error_Ok else { continue }
            let type = heif_image_handle_get_metadata_type(handle, id).map { String(cString: $0) } ?? ""
            let contentType = heif_image_handle_get_metadata_content_type(handle, id).map { String(cString: $0) } ?? ""
            if type == "Exif", block.count > 4 {
                // A 4-byte big-endian offset to the TIFF header comes first.
                let offset = 4 + (Int(block[0]) << 24 | Int(block[1]) << 16 | Int(block[2]) << 8 | Int(block[3]))
                if offset < block.count { metadata.exif = EXIF.payload(block[offset...]) }
            } else if type == "mime", contentType == "application/rdf+xml" {
                metadata.xmp = block
            }
        }
        return metadata
    }

    public func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        let container = try HEIFContainer(data, format: format)
        let handle = try container.primaryImage()
        defer { heif_image_handle_release(handle) }
        let hasAlpha = heif_image_handle_has_alpha_channel(handle) != 0
        var decoded: OpaquePointer?
        try container.check(heif_decode_image(handle, &decoded, heif_colorspace_RGB,
                                              hasAlpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, nil))
        guard let decoded else { throw .decodeFailed(format, "decoder returned no image") }
        defer { heif_image_release(decoded) }
        let width = Int(heif_image_get_width(decoded, heif_channel_interleaved))
        let height = Int(heif_image_get_height(decoded, heif_channel_interleaved))
        var stride: Int32 = 0
        guard width > 0, height > 0, let plane = heif_image_get_plane_readonly(decoded, heif_channel_interleaved, &stride) else {
            throw .decodeFailed(format, "decoded image has no pixels")
        }
        var image = PixelBuffer(width: width, height: height, format: hasAlpha ? .rgba : .rgb)
        let rowBytes = image.bytesPerRow
        guard Int(stride) >= rowBytes else { throw .decodeFailed(format, "decoded rows are too short") }
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            for y in 0..<height {
                (pixels.baseAddress! + y * rowBytes).update(from: plane + y * Int(stride), count: rowBytes)
            }
        }
        return image
    }
}

/// A libheif context reading a caller-owned buffer, freed on deinit.
private final class HEIFContainer {
    let context: OpaquePointer
    let format: ImageFormat

    /// libheif is opened on first use (lazy.c) and registers its decoder plugins then; both once,
    /// before any two threads race to.
    private static let loaded: String? = {
        var message = ShimMessage()
        guard message.withBuffer(fr_heif_load) == 0 else {
            return "HEIC and AVIF input need libheif (Debian package libheif1): " + message.text(or: "cannot load it")
        }
        _ = heif_init(nil)
        return nil
    }()

    init(_ data: UnsafeRawBufferPointer, format: ImageFormat) throws(CodecError) {
        if let failure = Self.loaded { throw .decodeFailed(format, failure) }
        guard let context = heif_context_alloc() else { throw .decodeFailed(format, "out of memory") }
        self.context = context
        self.format = format
        try check(heif_context_read_from_memory_without_copy(context, data.baseAddress, data.count, nil))
    }

    deinit { heif_context_free(context) }

    func primaryImage() throws(CodecError) -> OpaquePointer {
        var handle: OpaquePointer?
        try check(heif_context_get_primary_image_handle(context, &handle))
        guard let handle else { throw .decodeFailed(format, "no primary image") }
        return handle
    }

    func check(_ error: heif_error) throws(CodecError) {
        guard error.code != heif_error_Ok else { return }
        let text = error.message.map { String(cString: $0) } ?? ""
        throw .decodeFailed(format, text.isEmpty ? "error \(error.code.rawValue)" : text)
    }
}
