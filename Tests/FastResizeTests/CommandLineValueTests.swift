// CommandLineValueTests: name templates, glob patterns and format detection.

import FastResize
import Testing

@Suite struct NameTemplateTests {
    @Test func expandsEveryPlaceholder() throws {
        let template = try NameTemplate("{stem}-{width}x{height}.{srcext}.{format}.{ext}")
        #expect(template.expand(inputName: "holiday.photo.JPG", format: .jpeg, width: 320, height: 240)
                == "holiday.photo-320x240.JPG.jpeg.jpg")
        #expect(template.usesSize)
        #expect(NameTemplate.default.expand(inputName: "noext", format: .webp, width: 1, height: 1) == "noext.webp")
        #expect(NameTemplate.default.expand(inputName: ".hidden", format: .png, width: 1, height: 1) == ".hidden.png")
    }

    @Test func refusesUnknownPlaceholdersAndAbsolutePaths() {
        #expect(throws: NameTemplate.Invalid.self) { try NameTemplate("{name}.{ext}") }
        #expect(throws: NameTemplate.Invalid.self) { try NameTemplate("{stem.{ext}") }
        #expect(throws: NameTemplate.Invalid.self) { try NameTemplate("/tmp/{stem}.{ext}") }
        #expect(throws: NameTemplate.Invalid.self) { try NameTemplate("") }
    }
}

@Suite struct GlobTests {
    @Test func patternWithoutSlashMatchesTheNameAtAnyDepth() {
        let jpegs = GlobPattern("*.jpg")
        #expect(jpegs.matches(relativePath: "a.jpg"))
        #expect(jpegs.matches(relativePath: "deep/er/b.jpg"))
        #expect(!jpegs.matches(relativePath: "c.jpeg"))
        #expect(GlobPattern("img_??.png").matches(relativePath: "x/img_01.png"))
        #expect(GlobPattern("[a-c]*.gif").matches(relativePath: "b1.gif"))
        #expect(!GlobPattern("[!a-c]*.gif").matches(relativePath: "b1.gif"))
    }

    @Test func patternWithSlashMatchesTheRelativePath() {
        #expect(GlobPattern("raw/*.tif").matches(relativePath: "raw/a.tif"))
        #expect(!GlobPattern("raw/*.tif").matches(relativePath: "raw/sub/a.tif"))
        #expect(GlobPattern("raw/**").matches(relativePath: "raw/sub/a.tif"))
        #expect(GlobPattern("**/thumbs/*").matches(relativePath: "a/b/thumbs/x.png"))
        #expect(GlobPattern("**/thumbs/*").matches(relativePath: "thumbs/x.png"))
        #expect(!GlobPattern("raw/**").matches(relativePath: "cooked/raw.tif"))
    }
}

@Suite struct FormatDetectionTests {
    @Test func recognisesEachSignature() {
        func detect(_ bytes: [UInt8]) -> ImageFormat? { ImageFormat.detect(bytes + [UInt8](repeating: 0, count: 32)) }
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
        #expect(ImageFormat.detect([UInt8]()) == nil)
    }

    @Test func namesWellKnownUnsupportedFormats() {
        #expect(ImageFormat.describeUnsupported(Array("8BPS".utf8)) == "Photoshop PSD")
        #expect(ImageFormat.describeUnsupported([0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A]) == "JPEG 2000")
        #expect(ImageFormat.describeUnsupported(Array("just text".utf8)) == nil)
    }
}

@Suite struct PixelBufferTests {
    @Test func flatteningBlendsOntoTheBackground() {
        let image = PixelBuffer(width: 2, height: 1, format: .rgba, pixels: [255, 0, 0, 128, 10, 20, 30, 255])
        let flat = image.converted(to: .rgb, background: (255, 255, 255))
        #expect(flat.pixels == [255, 127, 127, 10, 20, 30])
        let gray = PixelBuffer(width: 1, height: 1, format: .gray, pixels: [77]).converted(to: .rgba)
        #expect(gray.pixels == [77, 77, 77, 255])
    }

    @Test func cropCopiesTheRectangle() {
        let image = PixelBuffer(width: 3, height: 2, format: .gray, pixels: [1, 2, 3, 4, 5, 6])
        #expect(image.cropped(to: PixelRect(x: 1, y: 0, width: 2, height: 2)).pixels == [2, 3, 5, 6])
    }
}
