// CommandLineValueTests: name templates and glob patterns.

import FastResize
import Testing

@Suite struct NameTemplateTests {
    /// The template takes a format's name and extension as its codecs declare them.
    static let jpeg = ImageFormat("jpeg", displayName: "JPEG", fileExtension: "jpg")

    @Test func expandsEveryPlaceholder() throws {
        let template = try NameTemplate("{stem}-{width}x{height}.{srcext}.{format}.{ext}")
        #expect(template.expand(inputName: "holiday.photo.JPG", format: Self.jpeg, width: 320, height: 240)
                == "holiday.photo-320x240.JPG.jpeg.jpg")
        #expect(template.usesSize)
        #expect(NameTemplate.default.expand(inputName: "noext", format: ImageFormat(rawValue: "webp"), width: 1, height: 1) == "noext.webp")
        #expect(NameTemplate.default.expand(inputName: ".hidden", format: ImageFormat(rawValue: "png"), width: 1, height: 1) == ".hidden.png")
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
