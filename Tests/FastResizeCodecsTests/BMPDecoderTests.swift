// BMPDecoderTests: our own BMP decoder on hand-built files with known pixels.

import FastResize
import FastResizeCodecs
import Testing
import TestSupport

@Suite struct BMPDecoderTests {
    func decode(_ bytes: [UInt8]) throws -> PixelBuffer {
        try bytes.withUnsafeBytes { try BMPDecoder().decode($0) }
    }

    @Test func twentyFourBitBottomUp() throws {
        // Stored bottom row first, BGR.
        let data = BMPWriter.padRows([[30, 20, 10, 60, 50, 40], [3, 2, 1, 6, 5, 4]])
        let image = try decode(BMPWriter.make(width: 2, height: 2, bitsPerPixel: 24, pixelData: data))
        #expect(image.format == .rgb)
        #expect(image.pixels == [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60])
    }

    @Test func eightBitPaletteTopDown() throws {
        let palette: [(UInt8, UInt8, UInt8)] = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
        let data = BMPWriter.padRows([[0, 1, 2], [2, 1, 0]])
        let image = try decode(BMPWriter.make(width: 3, height: 2, bitsPerPixel: 8, topDown: true, palette: palette, pixelData: data))
        #expect(image.pixels == [255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 255, 0, 255, 0, 255, 0, 0])
    }

    @Test func oneBitGrayPaletteBecomesGray() throws {
        let palette: [(UInt8, UInt8, UInt8)] = [(0, 0, 0), (255, 255, 255)]
        let data = BMPWriter.padRows([[0b1010_0000]])
        let image = try decode(BMPWriter.make(width: 3, height: 1, bitsPerPixel: 1, palette: palette, pixelData: data))
        #expect(image.format == .gray)
        #expect(image.pixels == [255, 0, 255])
    }

    @Test func thirtyTwoBitFieldsWithAlpha() throws {
        // Pixels stored as little-endian words A8R8G8B8.
        let data: [UInt8] = [0x30, 0x20, 0x10, 0x80, 0x03, 0x02, 0x01, 0xFF]
        let bmp = BMPWriter.make(width: 2, height: 1, bitsPerPixel: 32, compression: 3,
                                 masks: (0x00FF_0000, 0x0000_FF00, 0x0000_00FF, 0xFF00_0000), pixelData: data)
        let image = try decode(bmp)
        #expect(image.format == .rgba)
        #expect(image.pixels == [0x10, 0x20, 0x30, 0x80, 0x01, 0x02, 0x03, 0xFF])
        #expect(try bmp.withUnsafeBytes { try BMPDecoder().probe($0) }.hasAlpha)
    }

    @Test func sixteenBit565() throws {
        // Pure red, green and blue in R5 G6 B5.
        let words: [UInt16] = [0xF800, 0x07E0, 0x001F]
        let data = BMPWriter.padRows([words.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }])
        let image = try decode(BMPWriter.make(width: 3, height: 1, bitsPerPixel: 16, compression: 3,
                                              masks: (0xF800, 0x07E0, 0x001F, 0), pixelData: data))
        #expect(image.pixels == [255, 0, 0, 0, 255, 0, 0, 0, 255])
    }

    /// A mask whose bits are not one run is refused (the fuzzer's first finding: it used to trap).
    @Test func scatteredMaskIsRefused() {
        let data = BMPWriter.padRows([[0xFF, 0xFF, 0xFF, 0xFF]])
        let bmp = BMPWriter.make(width: 1, height: 1, bitsPerPixel: 32, compression: 3,
                                 masks: (0x0022_FF00, 0x0000_00FF, 0xFF00_0000, 0), pixelData: data)
        #expect(throws: CodecError.decodeFailed(.bmp, "bit-field mask 0x22ff00 is not one run of bits")) { try decode(bmp) }
    }

    @Test func runLengthEightBit() throws {
        let palette: [(UInt8, UInt8, UInt8)] = [(0, 0, 0), (10, 10, 10), (200, 100, 50)]
        // Bottom row: run of 3 × index 2, end of line; top row: absolute run [1, 2, 1] (padded), end of bitmap.
        let data: [UInt8] = [3, 2, 0, 0, 0, 3, 1, 2, 1, 0, 0, 1]
        let image = try decode(BMPWriter.make(width: 3, height: 2, bitsPerPixel: 8, compression: 1, palette: palette, pixelData: data))
        #expect(image.pixels == [10, 10, 10, 200, 100, 50, 10, 10, 10, 200, 100, 50, 200, 100, 50, 200, 100, 50])
    }

    @Test func damagedHeadersAreRefused() {
        let good = BMPWriter.make(width: 2, height: 2, bitsPerPixel: 24, pixelData: BMPWriter.padRows([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]))
        let truncated = Array(good.prefix(good.count - 5))
        #expect(throws: CodecError.decodeFailed(.bmp, "file is truncated")) { try decode(truncated) }
        var badBits = good
        badBits[28] = 7
        #expect(throws: CodecError.decodeFailed(.bmp, "unsupported bit count 7")) { try decode(badBits) }
        #expect(throws: CodecError.self) { try decode(Array(good.prefix(20))) }
    }
}
