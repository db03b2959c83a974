// FidelityTests: orientation, EXIF/XMP handling, the float resampler (16-bit, linear light) and the content classifier.

import FastResize
import Foundation
import Testing
import TestSupport

@Suite struct OrientationTests {
    /// Rotations and flips written out independently of `Orientation.storedPosition`.
    static func rotatedClockwise(_ image: PixelBuffer) -> PixelBuffer {
        var out = PixelBuffer(width: image.height, height: image.width, format: image.format)
        let c = image.format.channelCount
        for y in 0..<image.height {
            for x in 0..<image.width {
                // Stored (x, y) moves to (height - 1 - y, x) when turned a quarter clockwise.
                let to = (x * out.width + (image.height - 1 - y)) * c
                for k in 0..<c { out.pixels[to + k] = image.pixels[(y * image.width + x) * c + k] }
            }
        }
        return out
    }

    static func mirrored(_ image: PixelBuffer) -> PixelBuffer {
        var out = image
        let c = image.format.channelCount
        for y in 0..<image.height {
            for x in 0..<image.width {
                for k in 0..<c { out.pixels[(y * image.width + image.width - 1 - x) * c + k] = image.pixels[(y * image.width + x) * c + k] }
            }
        }
        return out
    }

    /// What each EXIF value means, as the EXIF specification words it, built from the two primitives.
    static func expected(_ image: PixelBuffer, _ orientation: Orientation) -> PixelBuffer {
        let r90 = rotatedClockwise, m = mirrored
        switch orientation {
        case .up: return image
        case .mirrored: return m(image)
        case .rotated180: return r90(r90(image))
        case .flipped: return m(r90(r90(image)))
        case .transposed: return m(r90(image))
        case .rotated90: return r90(image)
        case .transverse: return m(r90(r90(r90(image))))
        case .rotated270: return r90(r90(r90(image)))
        }
    }

    @Test(arguments: Orientation.allCases)
    func orientedMatchesTheDefinition(_ orientation: Orientation) {
        let image = TestImages.pattern(width: 7, height: 4, format: .rgb, seed: 9)
        #expect(image.oriented(orientation) == Self.expected(image, orientation))
    }

    @Test(arguments: Orientation.allCases)
    func sixteenBitPixelsTurnWhole(_ orientation: Orientation) {
        let image = TestImages.pattern(width: 5, height: 3, format: .grayAlpha, seed: 4)
        #expect(image.widened().oriented(orientation) == image.oriented(orientation).widened())
    }

    /// Cropping a region of the upright picture equals cropping the mapped region of the stored one,
    /// then turning it upright.
    @Test(arguments: Orientation.allCases)
    func storedRegionShowsTheUprightRegion(_ orientation: Orientation) {
        let stored = TestImages.pattern(width: 9, height: 6, format: .rgba, seed: 3)
        let upright = stored.oriented(orientation)
        let region = SourceRegion(x: 1, y: 2, width: 5, height: 3)
        let mapped = orientation.storedRegion(region, uprightWidth: Double(upright.width), uprightHeight: Double(upright.height))
        let fromUpright = upright.cropped(to: PixelRect(x: 1, y: 2, width: 5, height: 3))
        let fromStored = stored.cropped(to: PixelRect(x: Int(mapped.x), y: Int(mapped.y), width: Int(mapped.width),
                                                     height: Int(mapped.height))).oriented(orientation)
        #expect(fromStored == fromUpright)
    }

    @Test func unknownValuesMeanUpright() {
        #expect(Orientation(exifValue: 0) == .up)
        #expect(Orientation(exifValue: 9) == .up)
        #expect(Orientation(exifValue: 6) == .rotated90)
    }
}

@Suite struct EXIFTests {
    static func exif(orientation: UInt16, bigEndian: Bool) -> [UInt8] {
        TestImages.exifBlock(orientation: orientation, bigEndian: bigEndian)
    }

    @Test(arguments: [false, true])
    func orientationIsReadAndReset(bigEndian: Bool) {
        let block = Self.exif(orientation: 6, bigEndian: bigEndian)
        #expect(EXIF.orientation(in: block) == 6)
        let reset = EXIF.resettingOrientation(block)
        #expect(EXIF.orientation(in: reset) == 1)
        #expect(reset.count == block.count)
        // Nothing but the orientation value changed.
        #expect(zip(block, reset).filter { $0 != $1 }.count == 1)
    }

    @Test func jpegPrefixIsDroppedAndNonTIFFRefused() {
        let block = Self.exif(orientation: 3, bigEndian: false)
        #expect(EXIF.payload(Array("Exif\0\0".utf8) + block) == block)
        #expect(EXIF.payload(Array("not exif at all".utf8)) == nil)
    }

    @Test func truncatedBlocksHaveNoOrientation() {
        let block = Self.exif(orientation: 8, bigEndian: true)
        for length in [0, 4, 8, 12, 20] {
            #expect(EXIF.orientation(in: Array(block.prefix(length))) == nil)
        }
    }

    @Test func xmpOrientationAttributeAndElement() {
        let attribute = Array(#"<rdf:Description tiff:Orientation="8" other="1"/>"#.utf8)
        let element = Array("<tiff:Orientation>3</tiff:Orientation>".utf8)
        #expect(XMP.orientation(in: attribute) == 8)
        #expect(XMP.orientation(in: element) == 3)
        #expect(XMP.orientation(in: XMP.resettingOrientation(attribute)) == 1)
        #expect(XMP.orientation(in: Array("<x>no orientation</x>".utf8)) == nil)
    }

    @Test func uprightedMetadataResetsBothBlocks() {
        let metadata = ImageMetadata(orientation: .rotated90, exif: Self.exif(orientation: 6, bigEndian: false),
                                     xmp: Array(#"tiff:Orientation="6""#.utf8))
        let upright = metadata.uprighted()
        #expect(upright.orientation == .up)
        #expect(upright.exif.flatMap { EXIF.orientation(in: $0) } == 1)
        #expect(upright.xmp.flatMap { XMP.orientation(in: $0) } == 1)
    }
}

@Suite struct PrecisionResizerTests {
    @Test(arguments: PixelFormat.allCases)
    func eightBitMatchesTheReference(_ format: PixelFormat) {
        let image = TestImages.pattern(width: 53, height: 37, format: format, seed: 5)
        let region = SourceRegion(image)
        let fast = PrecisionResizer().resize(image, region: region, width: 20, height: 15, outputBitDepth: 8)
        let reference = ReferenceResizer.resize(image, width: 20, height: 15, filter: .lanczos3)
        #expect(TestImages.maxVisibleDifference(fast, reference) <= 1)
    }

    /// 16-bit samples of an 8-bit picture (× 257) resize to 16-bit samples that round back to the
    /// 8-bit reference, also where ringing overshoots (hard edges).
    @Test(arguments: [PixelFormat.rgb, .rgba, .gray])
    func sixteenBitMatchesTheReference(_ format: PixelFormat) {
        let image = TestImages.pattern(width: 40, height: 31, format: format, seed: 7)
        let fast = PrecisionResizer().resize(image.widened(), region: SourceRegion(image), width: 17, height: 12,
                                             outputBitDepth: 16)
        #expect(fast.bitDepth == 16)
        let reference = ReferenceResizer.resize(image, width: 17, height: 12, filter: .lanczos3)
        #expect(TestImages.maxVisibleDifference(fast.narrowed(), reference) <= 1)
    }

    @Test func threadsDoNotChangeTheResult() {
        let image = TestImages.pattern(width: 64, height: 48, format: .rgba, seed: 2).widened()
        let one = PrecisionResizer(linear: true).resize(image, region: SourceRegion(image), width: 30, height: 21, outputBitDepth: 16)
        let two = PrecisionResizer(linear: true).resize(image, region: SourceRegion(image), width: 30, height: 21,
                                                        outputBitDepth: 16, threads: 2)
        #expect(one == two)
    }

    /// Brasseur's test: black and white lines averaged in gamma space give 128 (too dark); in
    /// linear light half the intensity, which sRGB encodes as 188.
    @Test func linearLightAveragesIntensities() {
        var stripes = PixelBuffer(width: 8, height: 8, format: .gray)
        for y in stride(from: 0, to: 8, by: 2) { for x in 0..<8 { stripes.pixels[y * 8 + x] = 255 } }
        let gamma = PrecisionResizer(filter: .bilinear).resize(stripes, region: SourceRegion(stripes), width: 4, height: 4,
                                                               outputBitDepth: 8)
        let linear = PrecisionResizer(filter: .bilinear, linear: true)
            .resize(stripes, region: SourceRegion(stripes), width: 4, height: 4, outputBitDepth: 8)
        // Rows away from the edges (where the kernel folds onto the border row) average two lines.
        let inner = 4..<12
        #expect(gamma.pixels[inner].allSatisfy { abs(Int($0) - 128) <= 1 }, "\(gamma.pixels)")
        #expect(linear.pixels[inner].allSatisfy { abs(Int($0) - 188) <= 1 }, "\(linear.pixels)")
    }

    /// A smooth 16-bit ramp keeps more than 256 distinct levels: no 8-bit banding on the way.
    @Test func sixteenBitRampKeepsItsLevels() {
        var ramp = PixelBuffer(width: 4096, height: 2, format: .gray, bitDepth: 16)
        ramp.pixels.withUnsafeMutableBytes { raw in
            let samples = raw.bindMemory(to: UInt16.self)
            for i in samples.indices { samples[i] = UInt16((i % 4096) * 16) }
        }
        let out = PrecisionResizer(linear: true).resize(ramp, region: SourceRegion(ramp), width: 2048, height: 1,
                                                        outputBitDepth: 16)
        let levels = out.pixels.withUnsafeBytes { Set($0.bindMemory(to: UInt16.self)) }
        #expect(levels.count > 1000)
    }
}

@Suite struct ContentClassifierTests {
    @Test func flatColoursAreGraphics() {
        var logo = PixelBuffer(width: 120, height: 80, format: .rgb)
        for y in 0..<80 {
            for x in 0..<120 {
                let colour: [UInt8] = x < 40 ? [200, 30, 30] : (y < 40 ? [255, 255, 255] : [20, 60, 160])
                for c in 0..<3 { logo.pixels[(y * 120 + x) * 3 + c] = colour[c] }
            }
        }
        // Still graphics after resampling has blended the edges.
        let resized = Resizer().resize(logo, width: 77, height: 51)
        #expect(ContentClassifier.looksLikeGraphics(logo))
        #expect(ContentClassifier.looksLikeGraphics(resized))
    }

    @Test func noisyPicturesAreNot() {
        #expect(!ContentClassifier.looksLikeGraphics(TestImages.pattern(width: 120, height: 80, format: .rgb, seed: 11)))
        #expect(!ContentClassifier.looksLikeGraphics(TestImages.smooth(width: 300, height: 200, format: .rgb)))
    }
}
