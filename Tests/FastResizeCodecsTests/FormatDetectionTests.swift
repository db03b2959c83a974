// FormatDetectionTests: the codecs' descriptions recognise each format by its first bytes, and name formats nothing here reads.

import FastResize
import FastResizeCodecs
import Testing

@Suite struct FormatDetectionTests {
    @Test func recognisesEachSignature() {
        func detect(_ bytes: [UInt8]) -> ImageFormat? { Codecs.all.detect(bytes + [UInt8](repeating: 0, count: 32)) }
        #expect(detect([0xFF, 0xD8, 0xFF, 0xE0]) == .jpeg)
        #expect(detect([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) == .png)
        #expect(detect(Array("GIF89a".utf8)) == .gif)
        #expect(detect(Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBPVP8 ".utf8)) == .webp)
        #expect(detect([0x49, 0x49, 0x2A, 0x00]) == .tiff)
        #expect(detect([0x4D, 0x4D, 0x00, 0x2A]) == .tiff)
        #expect(detect(Array("BM".utf8) + [UInt8](repeating: 0, count: 12) + [40, 0, 0, 0]) == .bmp)
        #expect(detect(Array("BMW is not a bitmap".utf8)) == nil)
        #expect(detect([0, 0, 0, 0x1C] + Array("ftypavif".utf8) + [0, 0, 0, 0] + Array("mif1miaf".utf8)) == .avif)
        #expect(detect([0, 0, 0, 0x18] + Array("ftypheic".utf8) + [0, 0, 0, 0] + Array("mif1".utf8)) == .heic)
        #expect(detect([0, 0, 0, 0x18] + Array("ftypmif1".utf8) + [0, 0, 0, 0] + Array("avif".utf8)) == .avif)
        #expect(detect(Array("hello world".utf8)) == nil)
        #expect(Codecs.all.detect([UInt8]()) == nil)
    }

    @Test func namesWellKnownUnsupportedFormats() {
        #expect(Codecs.all.foreignName(Array("8BPS".utf8)) == "Photoshop PSD")
        #expect(Codecs.all.foreignName([0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A]) == "JPEG 2000")
        #expect(Codecs.all.foreignName([0xFF, 0x0A, 0xFA]) == nil)     // JPEG XL is read now
        #expect(Codecs.all.detect([0xFF, 0x0A, 0xFA] + [UInt8](repeating: 0, count: 20)) == .jxl)
        #expect(Codecs.all.foreignName(Array("just text".utf8)) == nil)
        #expect(Codecs.all.claimsImage(extension: "PSD") && Codecs.all.claimsImage(extension: "jpe"))
        #expect(!Codecs.all.claimsImage(extension: "txt"))
    }
}
