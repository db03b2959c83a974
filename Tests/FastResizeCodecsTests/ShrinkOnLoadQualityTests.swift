// ShrinkOnLoadQualityTests: shrink on load and box pre-shrinking hold PSNR ≥ 38 dB against a float64
// Lanczos3 resize of the fully decoded photo (skipped, saying why, without ../shared/corpus).

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

@Suite(.enabled(if: Corpus.folder != nil, Comment(rawValue: Corpus.missingReason)))
struct ShrinkOnLoadQualityTests {
    /// The benchmark workloads' shapes: sharp's photo to 720x588, the photos to fit 1024x1024,
    /// plus a small thumbnail where every cheap step (DCT 1/8, then a box) is used.
    static let cases: [(path: String, mode: ResizeMode)] = [
        ("photos/2569067123_aca715a2ee_o.jpg", .fit(width: 720, height: 588)),
        ("photos/nexus6p_4032x3024.jpg", .fit(width: 1024, height: 1024)),
        ("photos/HMD_Nokia_8.3_5G.jpg", .fit(width: 1024, height: 1024)),
        ("photos/jolla.jpg", .fit(width: 1024, height: 1024)),
        ("photos/bryce.webp", .fit(width: 1024, height: 1024)),
        ("photos/42_IndexError.jpg", .fit(width: 120, height: 120)),
        ("photos/hato.jpg", .fill(width: 300, height: 300, gravity: .center)),
    ]

    @Test(arguments: cases)
    func cheapStepsKeepTheFilterQuality(path: String, mode: ResizeMode) throws {
        let data = try Data(contentsOf: Corpus.folder!.appendingPathComponent(path))
        let pipeline = FilePipeline(codecs: Codecs.all, settings: ResizeSettings(mode: mode))
        let fast = try pipeline.resized(data)

        let format = try #require(Codecs.all.detect(data.prefix(64)))
        let full = try data.withUnsafeBytes { try Codecs.all.decoders[format]!.decode($0) }
        let plan = mode.plan(sourceWidth: full.width, sourceHeight: full.height, enlarge: false)
        let reference = ReferenceResizer.resize(full, width: plan.width, height: plan.height, filter: .lanczos3,
                                                region: plan.region)
        let psnr = TestImages.psnr(fast, reference)
        #expect(psnr >= 38, "\(path): \(psnr) dB")
    }
}
