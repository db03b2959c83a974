// Codecs: the registry of every decoder and encoder FastResize ships.

import FastResizePipeline
import FastResizePixels

public enum Codecs {
    /// All formats: decoders for the nine inputs, encoders for the six outputs, lcms2 for colour.
    public static let all = CodecRegistry(
        formats: Formats.all,
        decoders: [
            .jpeg: JPEGDecoder(),
            .png: PNGDecoder(),
            .webp: WebPDecoder(),
            .gif: GIFDecoder(),
            .tiff: TIFFDecoder(),
            .bmp: BMPDecoder(),
            .avif: HEIFDecoder(format: .avif),
            .heic: HEIFDecoder(format: .heic),
            .jxl: JXLDecoder(),
        ],
        encoders: [
            .jpeg: JPEGEncoder(),
            .png: PNGEncoder(),
            .webp: WebPEncoder(),
            .avif: AVIFEncoder(),
            .gif: GIFEncoder(),
            .jxl: JXLEncoder(),
        ],
        color: LittleCMS.shared,
        // --format same, for inputs whose format cannot be written (TIFF, BMP, HEIF).
        fallbackOutputs: (alpha: .png, opaque: .jpeg),
        foreign: Formats.foreign
    )
}
