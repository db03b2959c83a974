// FailOnTests: --fail-on decides what damage fails a file — truncated JPEG, PNG and GIF drawn as far as they go with "none", recovered damage failing with "warning".

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite struct FailOnTests {
    static func jpeg() throws -> [UInt8] {
        try JPEGEncoder().encode(TestImages.smooth(width: 320, height: 240, format: .rgb), options: EncodeOptions(quality: 90))
    }

    static func png(bitDepth16: Bool = false) throws -> [UInt8] {
        var image = TestImages.pattern(width: 200, height: 160, format: .rgb)
        if bitDepth16 { image = image.widened() }
        return try PNGEncoder().encode(image, options: EncodeOptions(compressionLevel: 1))
    }

    static func gif() throws -> [UInt8] {
        let frames = (0..<3).map { TestImages.pattern(width: 120, height: 90, format: .rgba, seed: UInt64($0)) }
        return try GIFEncoder().encode(Animation(frames: frames, durations: [100, 100, 100], loopCount: 0), options: EncodeOptions())
    }

    /// Runs one file through a batch with `failOn`, into `format`.
    static func run(_ bytes: [UInt8], name: String, failOn: FailOn, format: ImageFormat = .png) throws -> FileReport {
        let folder = try ScratchFolder()
        try folder.write(bytes, to: "in/\(name)")
        var options = BatchOptions(inputs: [folder.path("in")], outputDirectory: folder.path("out"),
                                   outputs: [ResizeSettings(mode: .width(100), format: .fixed(format))], jobs: 1)
        options.failOn = failOn
        options.fsync = false
        options.isolation = .none
        let runner = BatchRunner(options: options, codecs: Codecs.all)
        let report = runner.run(runner.plan())
        let file = try #require(report.files.first)
        if file.status == .written {
            // What was written decodes whole.
            let data = try Data(contentsOf: URL(fileURLWithPath: file.outputs[0].path))
            _ = try data.withUnsafeBytes { try Codecs.all.decoders[format]!.decode($0) }
        }
        return file
    }

    /// JPEG (streamed), 8-bit PNG (streamed), 16-bit PNG (decoded whole), a GIF's first frame
    /// (to PNG) and a GIF animation (to GIF: the frames before the damage, and the damaged one).
    @Test(arguments: ["jpeg", "png", "png16", "gif-first", "gif-animated"])
    func truncatedFilesAreDrawnAsFarAsTheyGoWithNone(_ kind: String) throws {
        let whole: [UInt8] = switch kind {
        case "jpeg": try Self.jpeg()
        case "png": try Self.png()
        case "png16": try Self.png(bitDepth16: true)
        default: try Self.gif()
        }
        // Inside the first frame for the still GIF; inside the last of three for the animation
        // (its header read, so the file still counts as animated).
        let truncated = Array(whole.prefix(whole.count * (kind == "gif-first" ? 2 : kind == "gif-animated" ? 9 : 6) / 10))
        let name = "cut." + (kind.hasPrefix("gif") ? "gif" : kind == "jpeg" ? "jpg" : "png")
        let format = kind == "gif-animated" ? ImageFormat.gif : .png
        // As before by default: a truncated file fails, as corrupt.
        for failOn in [FailOn.error, .truncated] {
            let refused = try Self.run(truncated, name: name, failOn: failOn, format: format)
            #expect(refused.status == .failed && refused.errorKind == .corrupt, "\(kind) \(failOn)")
        }
        let drawn = try Self.run(truncated, name: name, failOn: .none, format: format)
        #expect(drawn.status == .written, "\(kind): \(drawn.error ?? "")")
        #expect(drawn.outputs.first?.warnings?.isEmpty == false, "\(kind) carries no warning")
        if kind == "gif-animated" { #expect((drawn.outputs.first?.frames ?? 1) >= 2) }
        // A whole file has nothing to warn about.
        let clean = try Self.run(whole, name: name, failOn: .none, format: format)
        #expect(clean.status == .written && clean.outputs.first?.warnings == nil)
    }

    /// Damage libjpeg recovers from (scrambled bytes in the middle of the entropy-coded data: the
    /// decoder loses step and finds bytes it did not expect) is drawn by default, with a warning,
    /// and fails with `warning`.
    @Test func recoveredDamageFailsOnlyWithWarning() throws {
        var damaged = try Self.jpeg()
        let middle = damaged.count / 2
        // No marker made or broken: 0xFF and the byte after it are left alone.
        for index in middle..<middle + 40 where damaged[index] != 0xFF && damaged[index - 1] != 0xFF && damaged[index] ^ 0x5A != 0xFF {
            damaged[index] ^= 0x5A
        }
        let drawn = try Self.run(damaged, name: "junk.jpg", failOn: .error, format: .jpeg)
        #expect(drawn.status == .written, "\(drawn.error ?? "")")
        #expect(drawn.outputs.first?.warnings?.first?.hasPrefix("Corrupt JPEG data") == true, "\(drawn.outputs)")
        let refused = try Self.run(damaged, name: "junk.jpg", failOn: .warning, format: .jpeg)
        #expect(refused.status == .failed && refused.errorKind == .corrupt)
        #expect(refused.error?.contains("--fail-on warning") == true, "\(refused.error ?? "")")
    }
}
