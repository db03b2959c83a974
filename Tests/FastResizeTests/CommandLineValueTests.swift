// CommandLineValueTests: option parsing messages, name templates, glob patterns and format detection.

import FastResize
import Testing

@Suite struct OptionParsingTests {
    @Test func messagesSayWhatWasExpectedAndWhatCame() {
        #expect(throws: UsageError("expected a positive integer for --width but got \"abc\"")) {
            try OptionParsing.positiveInteger("abc", for: "--width")
        }
        #expect(throws: UsageError("expected a positive integer for --width but got \"-3\"")) {
            try OptionParsing.positiveInteger("-3", for: "--width")
        }
        #expect(throws: UsageError("expected an integer from 1 to 100 for --quality but got \"101\"")) {
            try OptionParsing.integer("101", in: 1...100, for: "--quality")
        }
        #expect(throws: UsageError("expected WIDTHxHEIGHT with positive integers (e.g. 800x600) for --fit but got \"800\"")) {
            try OptionParsing.size("800", for: "--fit")
        }
        #expect(throws: UsageError("expected a positive number for --scale but got \"0\"")) {
            try OptionParsing.positiveNumber("0", for: "--scale")
        }
        #expect(throws: UsageError.self) { try OptionParsing.positiveNumber("nan", for: "--scale") }
    }

    @Test func parsesGoodValues() throws {
        #expect(try OptionParsing.size("800x600", for: "--fit") == (800, 600))
        #expect(try OptionParsing.size("10X20", for: "--fit") == (10, 20))
        #expect(try OptionParsing.positiveNumber("0.25", for: "--scale") == 0.25)
        let filter: ResampleFilter = try OptionParsing.choice("Lanczos2", for: "--filter")
        #expect(filter == .lanczos2)
        #expect(throws: UsageError("expected one of nearest, bilinear, bicubic, mitchell, lanczos2, lanczos3 for --filter but got \"box\"")) {
            let _: ResampleFilter = try OptionParsing.choice("box", for: "--filter")
        }
    }
}

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
        #expect(throws: UsageError.self) { try NameTemplate("{name}.{ext}") }
        #expect(throws: UsageError.self) { try NameTemplate("{stem.{ext}") }
        #expect(throws: UsageError.self) { try NameTemplate("/tmp/{stem}.{ext}") }
        #expect(throws: UsageError.self) { try NameTemplate("") }
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
