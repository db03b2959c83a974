// Codecs: the registry of every decoder and encoder FastResize ships.

import FastResizePipeline
import FastResizePixels

public enum Codecs {
    /// All formats: decoders for the eight inputs, encoders for the five outputs, lcms2 for colour.
    public static let all = CodecRegistry(
        decoders: [
            .jpeg: JPEGDecoder(),
            .png: PNGDecoder(),
            .webp: WebPDecoder(),
            .gif: GIFDecoder(),
            .tiff: TIFFDecoder(),
            .bmp: BMPDecoder(),
            .avif: HEIFDecoder(format: .avif),
            .heic: HEIFDecoder(format: .heic),
        ],
        encoders: [
            .jpeg: JPEGEncoder(),
            .png: PNGEncoder(),
            .webp: WebPEncoder(),
            .avif: AVIFEncoder(),
            .gif: GIFEncoder(),
        ],
        color: LittleCMS.shared
    )
}
