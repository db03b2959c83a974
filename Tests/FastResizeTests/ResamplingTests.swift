// ResamplingTests: filters, weights and the resizer checked against the float64 reference and invariants.

import FastResize
import Testing
import TestSupport

@Suite struct FilterTests {
    @Test(arguments: ResampleFilter.allCases)
    func kernelIsZeroBeyondSupport(filter: ResampleFilter) {
        #expect(filter.weight(at: filter.support + 0.001) == 0)
        #expect(filter.weight(at: -(filter.support + 0.5)) == 0)
        #expect(filter.weight(at: 0) > 0)
    }

    @Test func interpolatingKernelsPassThroughSamples() {
        for filter in [ResampleFilter.bilinear, .bicubic, .lanczos2, .lanczos3] {
            #expect(filter.weight(at: 0) == 1)
            #expect(abs(filter.weight(at: 1)) < 1e-12)
            #expect(abs(filter.weight(at: 2)) < 1e-12)
        }
        // Mitchell–Netravali (B = C = 1/3) does not interpolate: its value at 0 is (6 − 2B)/6 = 8/9.
        #expect(abs(ResampleFilter.mitchell.weight(at: 0) - 8.0 / 9.0) < 1e-12)
        #expect(abs(ResampleFilter.mitchell.weight(at: 1) - 1.0 / 18.0) < 1e-12)
    }
}

@Suite struct WeightTests {
    @Test(arguments: ResampleFilter.allCases, [(100, 37), (37, 100), (5, 1), (1, 9), (640, 639), (3000, 20)])
    func runsAreNormalisedAndInRange(filter: ResampleFilter, sizes: (Int, Int)) {
        let weights = ResampleWeights(inputCount: sizes.0, outputCount: sizes.1, filter: filter)
        #expect(weights.starts.count == sizes.1)
        for i in 0..<sizes.1 {
            let start = Int(weights.starts[i])
            #expect(start >= 0 && start + weights.tapCount <= max(sizes.0, weights.tapCount))
            let run = weights.weights[(i * weights.tapCount)..<((i + 1) * weights.tapCount)]
            #expect(abs(run.reduce(0, +) - 1) < 1e-5)
            for k in 0..<weights.tapCount where run[run.startIndex + k] != 0 {
                #expect(start + k < sizes.0, "tap reads past the edge")
            }
        }
    }

    /// Trimming the taps that are zero in every run moves a run's start by its own leading zeros,
    /// so starts need not rise with the output index (411 → 699 rows, ×1.7, does this): the input
    /// rows a band of outputs reads must come from every run of the band, not its first and last.
    @Test(arguments: ResampleFilter.allCases, [(411, 699), (613, 1042), (100, 37), (37, 100), (640, 639), (3000, 20), (201, 342)])
    func bandsReadOnlyTheirInputRange(filter: ResampleFilter, sizes: (Int, Int)) {
        let weights = FixedPointWeights(ResampleWeights(inputCount: sizes.0, outputCount: sizes.1, filter: filter))
        #expect(weights.inputSpan == weights.inputRange(outputs: 0..<sizes.1))
        for band in [1, 5, 16] {
            for first in stride(from: 0, to: sizes.1, by: band) {
                let outputs = first..<min(first + band, sizes.1)
                let range = weights.inputRange(outputs: outputs)
                #expect(range.lowerBound >= 0 && range.upperBound <= sizes.0)
                for i in outputs {
                    let start = Int(weights.starts[i])
                    #expect(range.contains(start) && start + weights.tapCount <= max(range.upperBound, weights.tapCount),
                            "output \(i) reads \(start)..<\(start + weights.tapCount), outside \(range)")
                }
            }
        }
    }

    @Test func nearestPicksThePixelUnderTheCentre() {
        let weights = ResampleWeights(inputCount: 10, outputCount: 4, filter: .nearest)
        // Output centres map to 1.25, 3.75, 6.25, 8.75.
        #expect(weights.starts == [1, 3, 6, 8])
        #expect(weights.tapCount == 1)
    }

    @Test func halvingWithBilinearAveragesPairs() {
        let weights = ResampleWeights(inputCount: 8, outputCount: 4, filter: .bilinear)
        // Centre of output 1 is input 2.5; the tent stretched ×2 gives 1/8, 3/8, 3/8, 1/8.
        let start = Int(weights.starts[1])
        var byIndex: [Int: Float] = [:]
        for k in 0..<weights.tapCount { byIndex[start + k] = weights.weights[weights.tapCount + k] }
        #expect(abs(byIndex[1, default: 0] - 0.125) < 1e-6)
        #expect(abs(byIndex[2, default: 0] - 0.375) < 1e-6)
        #expect(abs(byIndex[3, default: 0] - 0.375) < 1e-6)
        #expect(abs(byIndex[4, default: 0] - 0.125) < 1e-6)
    }
}

@Suite struct ResizerTests {
    static let shapes: [(Int, Int, Int, Int)] = [
        (64, 48, 20, 15), (50, 50, 17, 33), (23, 19, 61, 40), (40, 30, 40, 7), (1, 30, 1, 9), (30, 1, 7, 1),
        (9, 9, 1, 1), (2, 3, 5, 7),
    ]

    @Test(arguments: ResampleFilter.allCases, PixelFormat.allCases)
    func matchesFloat64Reference(filter: ResampleFilter, format: PixelFormat) {
        for (w, h, ow, oh) in Self.shapes {
            let image = TestImages.pattern(width: w, height: h, format: format, seed: UInt64(w * 31 + h))
            let fast = Resizer(filter: filter).resize(image, width: ow, height: oh)
            let reference = ReferenceResizer.resize(image, width: ow, height: oh, filter: filter)
            #expect(TestImages.maxVisibleDifference(fast, reference) <= 1, "\(w)x\(h) → \(ow)x\(oh)")
        }
    }

    /// With alpha, a band's rows are premultiplied and filtered a strip of columns at a time: a
    /// picture wide enough for several strips, the last one ragged, still matches the reference.
    @Test(arguments: [PixelFormat.rgba, .grayAlpha])
    func widePicturesWithAlphaAreFilteredInStrips(format: PixelFormat) {
        let (w, h, ow, oh) = (1001, 300, 500, 150)
        // A band of 16 output rows at half height reads about 44 input rows (32 plus the filter's reach).
        let stripPixels = Resizer.premultipliedStripBytes / (44 * format.channelCount * 2)
        #expect(w > stripPixels, "the picture spans more than one strip")
        let image = TestImages.pattern(width: w, height: h, format: format, seed: 5)
        let fast = Resizer(filter: .lanczos3).resize(image, width: ow, height: oh)
        let reference = ReferenceResizer.resize(image, width: ow, height: oh, filter: .lanczos3)
        #expect(TestImages.maxVisibleDifference(fast, reference) <= 1)
    }

    /// Every vector path this processor runs (portable SIMD, and AVX2 where CPUID has it) gives
    /// the scalar reference's bytes.
    @Test(arguments: ResampleFilter.allCases, PixelFormat.allCases)
    func everyPathGivesTheScalarBytes(filter: ResampleFilter, format: PixelFormat) {
        // Sizes that leave every remainder (rows not a multiple of 16 lanes, partial bands).
        for (w, h, ow, oh) in Self.shapes + [(203, 117, 61, 35), (97, 250, 130, 300), (640, 17, 33, 16)] {
            let image = TestImages.pattern(width: w, height: h, format: format, seed: UInt64(w + h))
            let scalar = Resizer(filter: filter, backend: .scalar).resize(image, width: ow, height: oh)
            for backend in ResizeBackend.available where backend != .scalar {
                let fast = Resizer(filter: filter, backend: backend).resize(image, width: ow, height: oh)
                #expect(fast == scalar, "\(backend): \(w)x\(h) → \(ow)x\(oh)")
            }
        }
    }

    @Test(arguments: PixelFormat.allCases)
    func threadsGiveTheSameBytes(format: PixelFormat) {
        let image = TestImages.pattern(width: 300, height: 211, format: format)
        let workspace = ResizeWorkspace()
        let one = Resizer().resize(image, region: SourceRegion(image), width: 97, height: 70, threads: 1, workspace: workspace)
        let three = Resizer().resize(image, region: SourceRegion(image), width: 97, height: 70, threads: 3, workspace: workspace)
        #expect(one == three)
    }

    @Test(arguments: ResampleFilter.allCases)
    func croppedRegionMatchesReference(filter: ResampleFilter) {
        let image = TestImages.pattern(width: 80, height: 60, format: .rgb)
        let region = SourceRegion(x: 10.5, y: 3.25, width: 45, height: 40.5)
        let fast = Resizer(filter: filter).resize(image, region: region, width: 30, height: 27)
        let reference = ReferenceResizer.resize(image, width: 30, height: 27, filter: filter, region: region)
        #expect(TestImages.maxDifference(fast, reference) <= 1)
    }

    @Test(arguments: ResampleFilter.allCases, PixelFormat.allCases)
    func constantImageStaysConstant(filter: ResampleFilter, format: PixelFormat) {
        for (w, h, ow, oh) in Self.shapes {
            let image = TestImages.constant(width: w, height: h, format: format, value: 201)
            let resized = Resizer(filter: filter).resize(image, width: ow, height: oh)
            #expect(resized.pixels.allSatisfy { $0 == 201 }, "\(w)x\(h) → \(ow)x\(oh)")
        }
    }

    @Test(arguments: ResampleFilter.allCases, PixelFormat.allCases)
    func sameSizeIsIdentity(filter: ResampleFilter, format: PixelFormat) {
        let image = TestImages.pattern(width: 33, height: 21, format: format)
        let resized = Resizer(filter: filter).resize(image, width: 33, height: 21)
        if format.hasAlpha {
            // Fully transparent pixels carry no colour after premultiplication; all others are exact.
            let channels = format.channelCount
            for p in 0..<(33 * 21) where image.pixels[p * channels + channels - 1] != 0 {
                #expect(Array(resized.pixels[(p * channels)..<((p + 1) * channels)])
                        == Array(image.pixels[(p * channels)..<((p + 1) * channels)]))
            }
        } else {
            #expect(resized == image)
        }
    }

    @Test func oneAxisUnchangedKeepsThatAxisExact() {
        // Mitchell blurs at unit scale, so an unchanged axis must be copied, not convolved.
        let image = TestImages.pattern(width: 40, height: 1, format: .gray)
        let resized = Resizer(filter: .mitchell).resize(image, width: 40, height: 1)
        #expect(resized == image)
        let tall = TestImages.pattern(width: 1, height: 40, format: .gray)
        let narrowed = Resizer(filter: .mitchell).resize(tall, width: 1, height: 10)
        let reference = ReferenceResizer.resize(tall, width: 1, height: 10, filter: .mitchell)
        #expect(TestImages.maxDifference(narrowed, reference) <= 1)
    }

    @Test func transparentPixelsDoNotBleedColour() {
        // Left half opaque red, right half fully transparent green: no green may appear anywhere.
        var image = PixelBuffer(width: 40, height: 4, format: .rgba)
        for y in 0..<4 {
            for x in 0..<40 {
                let base = (y * 40 + x) * 4
                image.pixels[base..<(base + 4)] = x < 20 ? [255, 0, 0, 255] : [0, 255, 0, 0]
            }
        }
        let resized = Resizer(filter: .lanczos3).resize(image, width: 13, height: 3)
        for p in 0..<(13 * 3) {
            let pixel = resized.pixels[(p * 4)..<(p * 4 + 4)]
            #expect(pixel[pixel.startIndex + 1] == 0, "green bled into pixel \(p)")
            if pixel[pixel.startIndex + 3] > 0 { #expect(pixel[pixel.startIndex] >= 250) }
        }
    }

    @Test func meanIsPreservedWhenHalving() {
        let image = TestImages.pattern(width: 128, height: 96, format: .gray)
        let resized = Resizer(filter: .lanczos3).resize(image, width: 64, height: 48)
        let before = Double(image.pixels.reduce(0) { $0 + Int($1) }) / Double(image.pixels.count)
        let after = Double(resized.pixels.reduce(0) { $0 + Int($1) }) / Double(resized.pixels.count)
        #expect(abs(before - after) < 1.0)
    }
}
