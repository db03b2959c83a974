// DCDecoderTests: the shims' own decoder of DC terms at 1/8 scale gives libjpeg's pixels and warnings, and leaves it every file it should not decode.

@testable import FastResizeCodecs
import FastResize
import Foundation
import Testing
import TestSupport

@Suite struct DCDecoderTests {
    /// A decode at 1/8 scale, row by row as the pipeline reads it: its pixels (or why it failed),
    /// what it warned about, and whether the DC decoder made every row.
    struct Eighth: Equatable {
        var pixels: [UInt8]?
        var failure: String?
        var warnings: [String]
        var decodedDCTerms: Bool
    }

    static func eighth(_ data: [UInt8], dcTerms: Bool, toleratingTruncation: Bool = false) -> Eighth {
        var decoder = JPEGDecoder()
        decoder.decodesDCTermsItself = dcTerms
        let log = DecodeLog()
        let logging = decoder.logging(to: log, toleratingTruncation: toleratingTruncation) as! JPEGDecoder
        return data.withUnsafeBytes { bytes in
            do throws(CodecError) {
                guard let reader = try logging.rowReader(bytes, shrinkingBy: 8, releasingInput: false) as? JPEGRowReader else {
                    return Eighth(pixels: nil, failure: "no row reader", warnings: [], decodedDCTerms: false)
                }
                let pixels = try reader.readAll()
                return Eighth(pixels: pixels, failure: nil, warnings: log.warnings, decodedDCTerms: reader.decodedDCTerms)
            } catch {
                return Eighth(pixels: nil, failure: "\(error)", warnings: log.warnings, decodedDCTerms: false)
            }
        }
    }

    /// A grey picture with detail in every block (so AC runs of every length are skipped), as JPEG.
    static func grayJPEG(width: Int, height: Int, quality: Int) throws -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height)
        var state: UInt32 = 12345
        for y in 0..<height {
            for x in 0..<width {
                state = state &* 1_103_515_245 &+ 12345
                pixels[y * width + x] = UInt8(truncatingIfNeeded: (x * 3 + y * 2) / 4 + Int(state >> 28))
            }
        }
        let image = PixelBuffer(width: width, height: height, format: .gray, pixels: pixels)
        return try JPEGEncoder().encode(image, options: EncodeOptions(quality: quality))
    }

    /// Grey JPEGs (every component DC-only at 1/8): the DC decoder makes them, byte for byte as libjpeg.
    @Test(arguments: [(517, 333, 95), (64, 8, 50), (1000, 1, 80), (9, 1203, 100)])
    func grayMatchesLibjpeg(width: Int, height: Int, quality: Int) throws {
        let data = try Self.grayJPEG(width: width, height: height, quality: quality)
        let own = Self.eighth(data, dcTerms: true)
        let libjpeg = Self.eighth(data, dcTerms: false)
        #expect(own.decodedDCTerms && !libjpeg.decodedDCTerms)
        #expect(own.pixels != nil && own.pixels == libjpeg.pixels && own.warnings.isEmpty)
    }

    /// Colour with 4:2:0 chroma, which libjpeg makes with a 2x2 inverse DCT at 1/8: left to it.
    @Test func subsampledChromaIsLeftToLibjpeg() throws {
        let image = TestImages.pattern(width: 300, height: 200, format: .rgb)
        let data = try JPEGEncoder().encode(image, options: EncodeOptions(quality: 90))
        let own = Self.eighth(data, dcTerms: true)
        #expect(!own.decodedDCTerms && own.pixels != nil && own.pixels == Self.eighth(data, dcTerms: false).pixels)
    }

    /// Damage the DC decoder does not draw past: libjpeg takes over where it stopped, so the
    /// pixels, the warnings and the failures are libjpeg's own.
    @Test func damagedFilesAreLibjpegs() throws {
        let data = try Self.grayJPEG(width: 640, height: 480, quality: 90)
        let scan = try #require((0..<data.count - 1).last { data[$0] == 0xFF && data[$0 + 1] == 0xDA })
        var flipped = data
        for offset in stride(from: scan + 400, to: data.count - 2, by: 997) where flipped[offset] != 0xFF && flipped[offset] != 0x7F {
            flipped[offset] ^= 0x80
        }
        let cut = Array(data[..<(scan + (data.count - scan) / 2)])
        var extraneous = data
        extraneous.insert(contentsOf: [0x12, 0x34, 0x56], at: data.count - 2)
        for (name, damaged, tolerating) in [("flipped bits", flipped, false), ("cut in half", cut, false),
                                            ("cut in half, drawn past", cut, true), ("bytes before the end", extraneous, false)] {
            let own = Self.eighth(damaged, dcTerms: true, toleratingTruncation: tolerating)
            let libjpeg = Self.eighth(damaged, dcTerms: false, toleratingTruncation: tolerating)
            #expect(own == libjpeg, "\(name)")
            #expect(own.failure != nil || !own.warnings.isEmpty, "\(name): libjpeg says something is wrong")
        }
    }

    /// Every JPEG of the corpus at 1/8 scale: libjpeg's pixels, warnings and failures either way;
    /// the DC decoder makes those of every kind it takes (4:4:4, 4:2:2, 4:4:0, grey, restart
    /// markers), and no 4:2:0 one.
    @Test(.enabled(if: Corpus.folder != nil, Comment(rawValue: Corpus.missingReason)))
    func corpusMatchesLibjpeg() throws {
        var made: Set<String> = []
        for entry in try Corpus.entries() where [".jpg", ".jpeg", ".mpo"].contains(where: entry.path.lowercased().hasSuffix) {
            let data = [UInt8](try Data(contentsOf: Corpus.url(entry)))
            guard data.starts(with: [0xFF, 0xD8]) else { continue }
            let own = Self.eighth(data, dcTerms: true)
            let libjpeg = Self.eighth(data, dcTerms: false)
            #expect(own == Eighth(pixels: libjpeg.pixels, failure: libjpeg.failure, warnings: libjpeg.warnings,
                                  decodedDCTerms: own.decodedDCTerms), "\(entry.path)")
            if own.decodedDCTerms { made.insert(entry.path) }
        }
        for path in ["photos/large_image.jpg", "edge/giant-image.jpg", "photos/Reconyx_HC500_Hyperfire.jpg",
                     "photos/28-hex_value.jpg", "photos/42_IndexError.jpg", "photos/nikon-e950.jpg", "color/xmp_test.jpg"] {
            #expect(made.contains(path), "\(path) was not made by the DC decoder")
        }
        #expect(!made.contains { $0.hasPrefix("orientation/") || $0 == "photos/2569067123_aca715a2ee_o.jpg" })
    }
}
