// AnimatedGIFSizeTests: animated GIF outputs against vipsthumbnail's on every animated GIF of the corpus — no larger, and at least as close to the resized frames (issue 14, defect 12).

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite(.serialized, .enabled(if: Corpus.folder != nil, Comment(rawValue: Corpus.missingReason)))
struct AnimatedGIFSizeTests {
    static let vipsthumbnail = "/usr/bin/vipsthumbnail"

    /// The corpus's animated GIFs (more than one frame).
    static func animations() throws -> [CorpusEntry] {
        try Corpus.entries().filter { entry in
            guard entry.path.hasSuffix(".gif"), entry.expected == "ok",
                  let data = try? Data(contentsOf: Corpus.url(entry)) else { return false }
            return ((try? frames(data))?.frames.count ?? 0) > 1
        }
    }

    static func frames(_ data: Data) throws -> Animation {
        let format = try #require(Codecs.all.detect(data.prefix(64)))
        let decoder = try #require(Codecs.all.decoders[format] as? any AnimationDecoding)
        return try data.withUnsafeBytes { try decoder.decodeAnimation($0) }
    }

    /// PSNR of `output`'s frames against `reference`'s, each reference frame compared with the
    /// output frame on screen at its middle; a pixel transparent in one and not the other counts
    /// as wholly wrong, one transparent in both as right.
    static func psnr(_ output: Animation, against reference: Animation) -> Double {
        guard output.frames[0].width == reference.frames[0].width, output.frames[0].height == reference.frames[0].height else {
            return -1
        }
        var squared = 0.0, count = 0.0
        var start = 0
        for (frame, duration) in zip(reference.frames, reference.durations) {
            let middle = start + duration / 2
            start += duration
            var elapsed = 0, shown = output.frames.count - 1
            for (index, length) in output.durations.enumerated() {
                if middle < elapsed + max(length, 1) { shown = index; break }
                elapsed += max(length, 1)
            }
            let a = frame, b = output.frames[shown]
            let ca = a.format.channelCount, cb = b.format.channelCount
            a.pixels.withUnsafeBufferPointer { pa in
                b.pixels.withUnsafeBufferPointer { pb in
                    for pixel in 0..<(a.width * a.height) {
                        let visibleA = ca < 4 || pa[pixel * ca + 3] >= 128, visibleB = cb < 4 || pb[pixel * cb + 3] >= 128
                        if visibleA != visibleB {
                            squared += 3 * 255 * 255
                        } else if visibleA {
                            for c in 0..<3 {
                                let d = Double(pa[pixel * ca + c]) - Double(pb[pixel * cb + c])
                                squared += d * d
                            }
                        }
                        count += 3
                    }
                }
            }
        }
        let mse = squared / max(count, 1)
        return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
    }

    /// Each animation at half size and fitted to 100x100 (the Muybridge film, 380 frames, only at
    /// the issue's 100x63, to keep the debug build's time in bounds). The reference is the same
    /// run's lossless WebP of the same frames: one decode makes both.
    static let cases: [(size: String, skip: String?)] = [("scale = 0.5", "gifplayer-muybridge.gif"), ("fit = \"100x100\"", nil)]

    @Test(arguments: 0..<2)
    func noLargerThanLibvipsAndAsClose(_ which: Int) throws {
        let (size, skip) = Self.cases[which]
        let entries = try Self.animations().filter { !$0.path.hasSuffix(skip ?? "-") }
        #expect(entries.count >= 5, "the corpus has animated GIFs")
        let scratch = try ScratchFolder()
        try scratch.write(Array("""
            [profiles.check]
            outputs = [ { \(size), format = "gif" }, { \(size), format = "webp", lossless = true, name = "{stem}-reference.{ext}" } ]
            """.utf8), to: "check.toml")
        for entry in entries {
            let name = (entry.path as NSString).lastPathComponent, stem = (name as NSString).deletingPathExtension
            let ours = try CommandRunner.run([Corpus.url(entry).path, "-o", scratch.path("ours"), "--config", scratch.path("check.toml"),
                                              "--profile", "check"])
            #expect(ours.status == 0, "\(ours.stderr)")
            let oursData = try Data(contentsOf: URL(fileURLWithPath: scratch.path("ours/" + name)))
            let oursFrames = try Self.frames(oursData)
            let (width, height) = (oursFrames.frames[0].width, oursFrames.frames[0].height)
            let referenceFrames = try Self.frames(Data(contentsOf: URL(fileURLWithPath: scratch.path("ours/\(stem)-reference.webp"))))
            let vipsOutput = scratch.path("vips-" + name)
            #expect(try runTool(Self.vipsthumbnail, [Corpus.url(entry).path + "[n=-1]", "--size", "\(width)x\(height)!", "-o", vipsOutput]) == 0)
            let vipsData = try Data(contentsOf: URL(fileURLWithPath: vipsOutput))
            let vipsFrames = try Self.frames(vipsData)
            let oursPSNR = Self.psnr(oursFrames, against: referenceFrames), vipsPSNR = Self.psnr(vipsFrames, against: referenceFrames)
            print("\(name) \(size): ours \(oursData.count) B \(String(format: "%.2f", oursPSNR)) dB; "
                  + "vipsthumbnail \(vipsData.count) B \(String(format: "%.2f", vipsPSNR)) dB")
            #expect(oursData.count <= vipsData.count, "\(name) \(size): \(oursData.count) bytes, vipsthumbnail \(vipsData.count)")
            #expect(oursPSNR >= vipsPSNR, "\(name) \(size): \(oursPSNR) dB, vipsthumbnail \(vipsPSNR) dB")
        }
    }
}
