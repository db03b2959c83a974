// Codecs: the registry of every decoder and encoder FastResize ships.

import FastResize

public enum Codecs {
    /// All formats: decoders for the eight inputs, encoders for the four outputs.
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
        ]
    )
}
