// AnimationAndMetadataTests: animations kept through GIF and WebP, WebP chosen by content, metadata kept or stripped.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

/// The frames libvips decodes from an animation (`[n=-1]` stacks them in one tall picture).
private func vipsFrames(_ path: String, count: Int, in scratch: ScratchFolder) throws -> [PixelBuffer] {
    let output = scratch.path("frames-\(UUID().uuidString).png")
    _ = try runTool((Oracle.vipsthumbnail! as NSString).deletingLastPathComponent + "/vips", ["copy", path + "[n=-1]", output],
                    errors: .inherit)
    let strip = try decodeFile(output).converted(to: .rgba)
    let height = strip.height / count
    return (0..<count).map { strip.cropped(to: PixelRect(x: 0, y: $0 * height, width: strip.width, height: height)) }
}

private func decodeAnimation(_ path: String) throws -> Animation {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return try data.withUnsafeBytes { bytes in
        switch Codecs.all.detect(data.prefix(ImageFormat.headerLength)) {
        case .gif: try GIFDecoder().decodeAnimation(bytes)
        default: try WebPDecoder().decodeAnimation(bytes)
        }
    }
}

@Suite(.enabled(if: Oracle.available, Comment(rawValue: Oracle.missingReason)))
struct AnimationTests {
    /// Frame compositing (sub-rectangles, transparency, both disposal methods) as libvips does it.
    @Test(arguments: ["formats/dispose-background.gif", "formats/dispose-previous.gif", "formats/cogs.gif",
                      "formats/animated-loop-3.webp", "formats/iss634.webp"])
    func framesCompositeLikeLibvips(_ file: String) throws {
        let scratch = try ScratchFolder()
        let ours = try decodeAnimation(Oracle.corpus(file))
        let vips = try vipsFrames(Oracle.corpus(file), count: ours.frames.count, in: scratch)
        for (index, (a, b)) in zip(ours.frames, vips).enumerated() {
            let psnr = ColorDifference.premultipliedPSNR(a, b)
            #expect(psnr >= 35, "\(file) frame \(index): \(psnr) dB")
        }
    }

    /// GIF and WebP stay animated: every frame resized, timing and loop count kept.
    @Test(arguments: [("formats/animated-loop-3.gif", "gif"), ("formats/animated-loop-3.webp", "webp"),
                      ("formats/rotating-squares.gif", "webp"), ("formats/animated-loop-3.webp", "gif")])
    func animationsStayAnimated(_ file: String, _ format: String) throws {
        let scratch = try ScratchFolder()
        let input = try decodeAnimation(Oracle.corpus(file))
        let output = try decodeAnimation(Oracle.oursFile(Oracle.corpus(file), size: 100, format: format, in: scratch))
        #expect(output.loopCount == input.loopCount)
        // Encoders may merge frames that no longer differ (adding up their times), so compare what
        // shows at each input frame's start, and the total running time (GIF keeps 1/100 s).
        #expect(abs(output.durations.reduce(0, +) - input.durations.reduce(0, +)) < 10 * input.frames.count)
        #expect(output.frames.count <= input.frames.count && output.frames.count > 1)
        let plan = ResizeMode.fit(width: 100, height: 100).plan(sourceWidth: input.frames[0].width,
                                                                 sourceHeight: input.frames[0].height, enlarge: false)
        let ends = output.durations.reduce(into: [Int]()) { $0.append(($0.last ?? 0) + $1) }
        var start = 0
        for (index, source) in input.frames.enumerated() {
            defer { start += input.durations[index] }
            let ours = output.frames[ends.firstIndex { $0 > start + 5 } ?? output.frames.count - 1]
            #expect((ours.width, ours.height) == (plan.width, plan.height))
            let reference = ReferenceResizer.resize(source, width: plan.width, height: plan.height, filter: .lanczos3)
            // Palette quantisation (GIF) and lossy WebP cost some fidelity; each frame must still be that frame.
            let psnr = ColorDifference.premultipliedPSNR(ours, reference)
            #expect(psnr >= 25, "\(file) → \(format) frame \(index): \(psnr) dB")
        }
    }

    @Test func firstFrameOnlyWhenAsked() throws {
        let scratch = try ScratchFolder()
        let file = Oracle.corpus("formats/animated-loop-3.gif")
        let path = try Oracle.oursFile(file, size: 100, format: "gif", extra: ["--first-frame"], in: scratch)
        #expect(try decodeAnimation(path).frames.count == 1)
        // Formats that cannot animate take the first frame.
        let png = try Oracle.ours(file, size: 100, in: scratch)
        let first = try decodeAnimation(file).frames[0]
        let reference = ReferenceResizer.resize(first, width: png.width, height: png.height, filter: .lanczos3)
        #expect(ColorDifference.premultipliedPSNR(png, reference) >= 35)
    }
}

@Suite struct WebPByContentTests {
    /// A flat-colour graphic goes lossless, a photograph lossy, and the report says which and why.
    @Test func losslessForGraphicsLossyForPhotos() throws {
        let scratch = try ScratchFolder()
        var logo = PixelBuffer(width: 200, height: 100, format: .rgb)
        for i in 0..<(200 * 100) {
            let colour: [UInt8] = i % 200 < 70 ? [220, 20, 60] : [250, 250, 250]
            for c in 0..<3 { logo.pixels[i * 3 + c] = colour[c] }
        }
        try scratch.write(try PNGEncoder().encode(logo, options: EncodeOptions()), to: "in/logo.png")
        try scratch.write(try JPEGEncoder().encode(TestImages.pattern(width: 200, height: 100, format: .rgb), options: EncodeOptions()),
                          to: "in/photo.jpg")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "100", "--format", "webp", "--report", "r.json"],
                                           in: scratch.url)
        #expect(result.status == 0)
        let report = try loadReport(scratch.path("r.json"))
        let modes = Dictionary(uniqueKeysWithValues: report.files.map { (($0.input as NSString).lastPathComponent, $0.outputs[0].webpMode) })
        #expect(modes["logo.png"] == "lossless (by content)")
        #expect(modes["photo.jpg"] == "lossy (by content)")
        // The bitstream agrees: VP8L for lossless, VP8 for lossy.
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("out/logo.webp")))[12..<16] == Data("VP8L".utf8))
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("out/photo.webp")))[12..<16] == Data("VP8 ".utf8))
        // An explicit choice wins.
        #expect(try CommandRunner.run(["in/logo.png", "-o", "lossy", "--width", "100", "--format", "webp", "--lossy"],
                                      in: scratch.url).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path("lossy/logo.webp")))[12..<16] == Data("VP8 ".utf8))
    }
}

@Suite(.enabled(if: Corpus.folder != nil, Comment(rawValue: Corpus.missingReason)))
struct MetadataTests {
    static func probe(_ path: String) throws -> ImageInfo {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: .scale(1))).inspect(data)
    }

    /// By default EXIF, XMP and the profile are gone; --keep-metadata carries EXIF (orientation 1),
    /// XMP and an sRGB profile into every format that can hold them.
    @Test(arguments: ["jpeg", "png", "webp", "avif"])
    func strippedByDefaultKeptOnRequest(_ format: String) throws {
        let scratch = try ScratchFolder()
        let file = Oracle.corpus("orientation/Landscape_6.jpg")
        let source = try Self.probe(file)
        #expect(source.metadata.exif != nil && source.metadata.orientation == .rotated90)
        let stripped = try Self.probe(Oracle.oursFile(file, size: 300, format: format, in: scratch))
        #expect(stripped.metadata == .none)
        let kept = try Self.probe(Oracle.oursFile(file, size: 300, format: format, extra: ["--keep-metadata"], in: scratch))
        #expect(kept.metadata.orientation == .up)
        #expect(kept.metadata.exif.flatMap { EXIF.orientation(in: $0) } == 1)
        #expect(kept.metadata.exif?.count == source.metadata.exif?.count)

        let xmpFile = Oracle.corpus("color/xmp_test.jpg")
        let xmpSource = try Self.probe(xmpFile)
        let withXMP = try Self.probe(Oracle.oursFile(xmpFile, size: 300, format: format, extra: ["--keep-metadata"], in: scratch))
        #expect(withXMP.metadata.xmp == xmpSource.metadata.xmp)
        #expect(withXMP.metadata.iccProfile.map(LittleCMS.shared.isSRGB) == true)
    }

    /// --no-auto-orient keeps the stored pixels and, with --keep-metadata, the tag that turns them.
    @Test func noAutoOrientKeepsTheTag() throws {
        let scratch = try ScratchFolder()
        let file = Oracle.corpus("orientation/Landscape_6.jpg")
        let output = try Oracle.oursFile(file, size: 300, format: "jpeg", extra: ["--no-auto-orient", "--keep-metadata"], in: scratch)
        let info = try Self.probe(output)
        #expect(info.metadata.orientation == .rotated90)
        #expect((info.width, info.height) == (200, 300))
    }
}
