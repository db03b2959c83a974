// TIFFCMYKAlphaTests: a CMYK TIFF with an alpha channel keeps its alpha; only the inks go through the CMYK profile.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct TIFFCMYKAlphaTests {
    static let width = 16, height = 8

    /// Inks varying across the picture; alpha opaque on the left, clear on the right, half between.
    static func inks(_ x: Int, _ y: Int) -> [UInt8] { [UInt8(x * 15), UInt8(y * 30), UInt8((x + y) * 7), UInt8(x * y)] }
    static func alpha(_ x: Int) -> UInt8 { x < 6 ? 255 : x < 11 ? 128 : 0 }

    static func tiff(alpha kind: Int?) -> [UInt8] {
        var samples: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                let a = Int(alpha(x))
                // Associated alpha (1) stores the inks premultiplied.
                samples += kind == 1 ? inks(x, y).map { UInt8((Int($0) * a + 127) / 255) } : inks(x, y)
                if kind != nil { samples.append(UInt8(a)) }
            }
        }
        return TIFFWriter.make(width: width, height: height, samplesPerPixel: kind == nil ? 4 : 5, photometric: 5,
                               extraSamples: kind.map { [$0] } ?? [], pixelData: samples)
    }

    static func decode(_ bytes: [UInt8]) throws -> DecodedImage {
        try bytes.withUnsafeBytes { try Codecs.all.decoders[.tiff]!.decode($0, shrinkingBy: 1) }
    }

    @Test(arguments: [2, 1])
    func alphaIsKeptBesideTheConvertedInks(kind: Int) throws {
        let opaque = try Self.decode(Self.tiff(alpha: nil))
        #expect(opaque.pixels.format == .rgb && opaque.inSRGB)
        let info = try Self.tiff(alpha: kind).withUnsafeBytes { try Codecs.all.decoders[.tiff]!.probe($0) }
        #expect(info.hasAlpha)
        let decoded = try Self.decode(Self.tiff(alpha: kind))
        #expect(decoded.pixels.format == .rgba && decoded.inSRGB)
        for y in 0..<Self.height {
            for x in 0..<Self.width {
                let rgba = Array(decoded.pixels.pixels[(y * Self.width + x) * 4..<(y * Self.width + x) * 4 + 4])
                let rgb = Array(opaque.pixels.pixels[(y * Self.width + x) * 3..<(y * Self.width + x) * 3 + 3])
                #expect(rgba[3] == Self.alpha(x), "alpha at \(x),\(y)")
                // Unassociated: the same inks exactly; associated: inks recovered from their
                // premultiplied values (exact where opaque, rounding where half clear).
                if kind == 2 || Self.alpha(x) == 255 {
                    #expect(Array(rgba[0..<3]) == rgb, "colour at \(x),\(y)")
                } else if Self.alpha(x) == 128 {
                    #expect(zip(rgba[0..<3], rgb).allSatisfy { abs(Int($0) - Int($1)) <= 6 }, "colour at \(x),\(y): \(rgba) vs \(rgb)")
                }
            }
        }
    }

    /// Through the whole pipeline to PNG: the output is transparent where the input was.
    @Test func resizedOutputKeepsTheAlpha() throws {
        let pipeline = FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: .width(8), format: .fixed(.png)))
        let rendered = try pipeline.render(Data(Self.tiff(alpha: 2)))
        let output = try rendered.bytes.withUnsafeBytes { try Codecs.all.decoders[.png]!.decode($0) }
        #expect(output.format == .rgba)
        let alphas = stride(from: 3, to: output.pixels.count, by: 4).map { output.pixels[$0] }
        #expect(alphas.contains(255) && alphas.contains(0))
    }
}
