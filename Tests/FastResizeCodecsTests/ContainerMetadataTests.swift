// ContainerMetadataTests: the codecs' readers of container metadata blocks.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct ContainerMetadataTests {
    @Test func imageMagickRawProfileIsHexDecoded() {
        let block = Array("Exif\0\0".utf8) + TestImages.exifBlock(orientation: 3, bigEndian: false)
        let hex = block.map { String(format: "%02x", $0) }.joined()
        let text = Array("\nexif\n      \(block.count)\n\(hex)\n".utf8)
        let decoded = ContainerMetadata.imageMagickRawProfile(text)
        #expect(decoded.flatMap { EXIF.orientation(in: $0) } == 3)
    }
}

@Suite struct KeptExifTests {
    /// A kept EXIF block says the output's size and carries no thumbnail of the input (it said
    /// ExifImageWidth 640 on a 300-pixel output, with the original's thumbnail inside).
    @Test(arguments: [false, true])
    func theBlockDescribesTheOutput(bigEndian: Bool) {
        let thumbnail = [UInt8](repeating: 0xAB, count: 300)
        let block = TestImages.cameraExifBlock(width: 640, height: 480, thumbnail: thumbnail, bigEndian: bigEndian)
        let kept = EXIF.describing(block, width: 300, height: 225)
        let facts = TestImages.exifSizeAndThumbnail(kept)
        #expect(facts.width == 300 && facts.height == 225 && !facts.linksThumbnail)
        #expect(kept.count < block.count - thumbnail.count && !kept.contains(0xAB))
        #expect(EXIF.orientation(in: kept) == 1)
    }

    /// Through a real run with --keep-metadata, in a JPEG output.
    @Test func aResizedJPEGSaysItsSize() throws {
        let pixels = TestImages.smooth(width: 640, height: 480, format: .rgb)
        let exif = TestImages.cameraExifBlock(width: 640, height: 480, thumbnail: [UInt8](repeating: 0xAB, count: 500), bigEndian: false)
        let input = try JPEGEncoder().encode(pixels, options: EncodeOptions(quality: 90), metadata: ImageMetadata(exif: exif))
        var settings = ResizeSettings(mode: .width(300))
        settings.keepMetadata = true
        let output = try FilePipeline(codecs: Codecs.all, settings: settings).render(Data(input))
        let info = try FilePipeline(codecs: Codecs.all, settings: settings).inspect(Data(output.bytes))
        let kept = try #require(info.metadata.exif)
        let facts = TestImages.exifSizeAndThumbnail(kept)
        #expect(facts.width == 300 && facts.height == 225 && !facts.linksThumbnail)
    }
}
