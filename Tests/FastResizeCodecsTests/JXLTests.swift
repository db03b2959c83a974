// JXLTests: JPEG XL through libjxl — lossless and lossy round trips, alpha, profile and EXIF kept, libvips' quality mapping, and libvips as the oracle both ways.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct JXLTests {
    static let vips = ["/usr/bin/vips", "/usr/local/bin/vips"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func decode(_ bytes: [UInt8]) throws -> PixelBuffer {
        try bytes.withUnsafeBytes { try JXLDecoder().decode($0) }
    }

    @Test(arguments: PixelFormat.allCases)
    func losslessGivesTheSamePixels(_ format: PixelFormat) throws {
        let image = TestImages.pattern(width: 67, height: 41, format: format, seed: 9)
        let bytes = try JXLEncoder().encode(image, options: EncodeOptions(lossless: true))
        #expect(Codecs.all.detect(bytes) == .jxl)
        let info = try bytes.withUnsafeBytes { try JXLDecoder().probe($0) }
        #expect(info.width == 67 && info.height == 41 && info.hasAlpha == format.hasAlpha && info.format == .jxl)
        #expect(try Self.decode(bytes) == image)
    }

    /// Quality maps to libjxl's distance as libvips maps it; more quality, a closer and larger file.
    @Test func qualityMapsToDistanceAsLibvipsDoes() throws {
        #expect(abs(JXLEncoder.distance(quality: 90) - 1.0) < 0.001)
        #expect(abs(JXLEncoder.distance(quality: 100) - 0.1) < 0.001)
        #expect(abs(JXLEncoder.distance(quality: 75) - 2.35) < 0.001)
        #expect(abs(JXLEncoder.distance(quality: 10) - (53.0 / 30.0 - 11.5 + 25)) < 0.001)
        let image = TestImages.smooth(width: 160, height: 120, format: .rgb)
        let low = try JXLEncoder().encode(image, options: EncodeOptions(quality: 40))
        let high = try JXLEncoder().encode(image, options: EncodeOptions(quality: 95))
        #expect(low.count < high.count)
        let lowPSNR = TestImages.psnr(try Self.decode(low), image), highPSNR = TestImages.psnr(try Self.decode(high), image)
        #expect(highPSNR > lowPSNR && highPSNR > 40, "\(lowPSNR) → \(highPSNR) dB")
    }

    @Test func profileAndExifAreKept() throws {
        let image = TestImages.smooth(width: 64, height: 48, format: .rgb)
        let profile = Codecs.all.color!.sRGBProfile
        let exif: [UInt8] = Array("II*\0".utf8) + [8, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        let bytes = try JXLEncoder().encode(image, options: EncodeOptions(quality: 90),
                                            metadata: ImageMetadata(iccProfile: profile, exif: exif))
        let info = try bytes.withUnsafeBytes { try JXLDecoder().probe($0) }
        #expect(info.metadata.exif == exif)
        #expect(info.metadata.iccProfile.map { Codecs.all.color!.isSRGB($0) } == true)
    }

    /// libvips (which reads and writes JPEG XL through the same libjxl) is the oracle both ways.
    @Test(.enabled(if: vips != nil, "vips is not installed (scripts/install-deps.sh installs it)"))
    func libvipsReadsOursAndWeReadLibvips() throws {
        let vips = try #require(Self.vips)
        let folder = try ScratchFolder()
        let image = TestImages.pattern(width: 90, height: 70, format: .rgba, seed: 4)
        try folder.write(try PNGEncoder().encode(image, options: EncodeOptions()), to: "source.png")
        // Theirs, lossless, read by us: the same pixels.
        #expect(try runTool(vips, ["copy", folder.path("source.png"), folder.path("theirs.jxl[lossless]")]) == 0)
        let theirs = try Self.decode(Array(Data(contentsOf: URL(fileURLWithPath: folder.path("theirs.jxl")))))
        #expect(theirs == image)
        // Ours, lossless, read by them: the same pixels.
        try folder.write(try JXLEncoder().encode(image, options: EncodeOptions(lossless: true)), to: "ours.jxl")
        #expect(try runTool(vips, ["copy", folder.path("ours.jxl"), folder.path("back.png")]) == 0)
        let back = try Data(contentsOf: URL(fileURLWithPath: folder.path("back.png"))).withUnsafeBytes { try PNGDecoder().decode($0) }
        #expect(back == image)
    }

    /// Through the batch: `--format jxl` writes .jxl files, graphics lossless and photographs lossy by content.
    @Test func theBatchWritesJPEGXL() throws {
        let folder = try ScratchFolder()
        // A graphic: four flat colours, one of them half transparent.
        var graphic = PixelBuffer(width: 200, height: 100, format: .rgba)
        for y in 0..<100 {
            for x in 0..<200 {
                let colour: [UInt8] = x < 100 ? (y < 50 ? [200, 30, 30, 255] : [30, 200, 30, 255])
                                               : (y < 50 ? [30, 30, 200, 255] : [250, 250, 250, 128])
                for c in 0..<4 { graphic.pixels[(y * 200 + x) * 4 + c] = colour[c] }
            }
        }
        try folder.write(try PNGEncoder().encode(graphic, options: EncodeOptions()), to: "in/graphic.png")
        try folder.write(try JPEGEncoder().encode(TestImages.smooth(width: 300, height: 200, format: .rgb),
                                                  options: EncodeOptions(quality: 90)), to: "in/photo.jpg")
        var options = BatchOptions(inputs: [folder.path("in")], outputDirectory: folder.path("out"),
                                   outputs: [ResizeSettings(mode: .width(100), format: .fixed(.jxl))], jobs: 1)
        options.fsync = false
        let runner = BatchRunner(options: options, codecs: Codecs.all)
        let report = runner.run(runner.plan())
        #expect(report.summary.written == 2, "\(report.files.compactMap(\.error))")
        for file in report.files {
            let output = try #require(file.outputs.first)
            #expect(output.path.hasSuffix(".jxl") && output.format == .jxl)
            let picture = try Self.decode(Array(Data(contentsOf: URL(fileURLWithPath: output.path))))
            #expect(picture.width == 100 && picture.format.hasAlpha == file.input.hasSuffix(".png"))
        }
        #expect(report.files.first { $0.input.hasSuffix(".png") }?.outputs.first?.webpMode?.hasPrefix("lossless") == true)
    }
}
