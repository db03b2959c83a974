// RowKernelTests: each row kernel on each path this processor runs, against the scalar reference, over random and extreme inputs.

@testable import FastResizePixels
import Foundation
import Testing

@Suite struct RowKernelTests {
    /// A small deterministic generator (the same cases every run).
    struct Numbers {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        /// Full-range values most of the time, the extremes now and then.
        mutating func int16() -> Int16 {
            switch next() % 8 {
            case 0: return .min
            case 1: return .max
            default: return Int16(truncatingIfNeeded: next())
            }
        }
    }

    /// The vector paths: every one this machine runs, the reference left out.
    static var paths: [ResizeBackend] { ResizeBackend.available.filter { $0 != .scalar } }

    /// Odd and even tap counts, lengths around the 16- and 32-lane steps, shifts from 1 to 22; samples
    /// and weights over their whole range (sums that wrap included), so any lane or order mix-up shows.
    @Test(arguments: paths)
    func kernelsGiveTheReferenceValues(path: ResizeBackend) {
        var numbers = Numbers(state: 7)
        for taps in [1, 2, 3, 4, 7, 12] {
            for count in [0, 1, 15, 16, 17, 31, 32, 33, 48, 64, 70] {
                let stride = count + 3
                let shift = Int(numbers.next() % 22) + 1
                let bytes = (0..<taps * stride).map { _ in UInt8(truncatingIfNeeded: numbers.next()) }
                let words = (0..<taps * stride).map { _ in numbers.int16() }
                let weights = (0..<taps).map { _ in numbers.int16() }
                func compare<In, Out: Equatable>(_ input: [In], _ zero: Out, _ run: (Rows<In>, UnsafeMutablePointer<Out>, ResizeBackend) -> Void) {
                    var reference = [Out](repeating: zero, count: count + 1)
                    var fast = reference
                    input.withUnsafeBufferPointer { samples in
                        let rows = Rows(base: samples.baseAddress!, stride: stride)
                        reference.withUnsafeMutableBufferPointer { run(rows, $0.baseAddress!, .scalar) }
                        fast.withUnsafeMutableBufferPointer { run(rows, $0.baseAddress!, path) }
                    }
                    #expect(fast == reference, "\(In.self) → \(Out.self), \(taps) taps, \(count) samples, shift \(shift)")
                }
                weights.withUnsafeBufferPointer { w in
                    let w = w.baseAddress!
                    compare(bytes, Int16(0)) { RowKernels.weightedSum($0, weights: w, taps: taps, count: count, shift: shift, into: $1, backend: $2) }
                    compare(words, Int16(0)) { RowKernels.weightedSum($0, weights: w, taps: taps, count: count, shift: shift, into: $1, backend: $2) }
                    compare(words, UInt8(0)) { RowKernels.weightedSum($0, weights: w, taps: taps, count: count, shift: shift, into: $1, backend: $2) }
                    compare(words, Int32(0)) { RowKernels.weightedSum($0, weights: w, taps: taps, count: count, into: $1, backend: $2) }
                }
            }
        }
    }

    /// Premultiplying gives round(colour × α × 128 / 255) and α × 128 on every path, for every
    /// colour and alpha; the pixels a path leaves are at the end, fewer than a vector's worth.
    @Test(arguments: paths)
    func premultiplyGivesTheReferenceValues(path: ResizeBackend) {
        // Pixel i: red i % 256, green and blue other values, alpha i / 256, and three left over.
        let pixels = 256 * 256 + 3
        var row = [UInt8](repeating: 0, count: pixels * 4)
        for i in 0..<pixels {
            let red = i & 255, alpha = (i >> 8) & 255
            row[4 * i] = UInt8(red)
            row[4 * i + 1] = UInt8((i &* 7) & 255)
            row[4 * i + 2] = UInt8(255 - red)
            row[4 * i + 3] = UInt8(alpha)
        }
        var output = [Int16](repeating: -1, count: pixels * 4)
        let done = row.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { RowKernels.premultiplyRGBA(source.baseAddress!, into: $0.baseAddress!, pixels: pixels, backend: path) }
        }
        #expect(done <= pixels && pixels - done < 8, "\(done) of \(pixels)")
        var wrong = 0
        for i in 0..<done * 4 {
            let alpha = Int(row[i | 3])
            let expected = i & 3 == 3 ? alpha << 7 : (Int(row[i]) * alpha * 128 + 127) / 255
            if Int(output[i]) != expected { wrong += 1 }
        }
        #expect(wrong == 0, "\(wrong) samples differ from the reference")
    }

    /// Box averaging's column sums, set by a block's first row and added to by the next, are the
    /// plain sums on every path, a length that leaves the vector kernel a tail included.
    @Test(arguments: paths)
    func columnSumsAreThePlainSums(path: ResizeBackend) {
        let count = 1000 + 5
        let rows = (0..<3).map { row in (0..<count).map { UInt8(truncatingIfNeeded: $0 &* (row + 3) &+ row * 101) } }
        var sums = [UInt32](repeating: 0xDEAD_BEEF, count: count)
        sums.withUnsafeMutableBufferPointer { sums in
            for (index, row) in rows.enumerated() {
                row.withUnsafeBufferPointer {
                    RowKernels.addColumns($0.baseAddress!, to: sums.baseAddress!, count: count, first: index == 0, backend: path)
                }
            }
        }
        #expect(sums == (0..<count).map { i in rows.reduce(0) { $0 + UInt32($1[i]) } })
    }

    /// Unpremultiplying gives the reference's bytes on every path that has a kernel for it: sums
    /// below zero, past 255 × scale, colour above alpha, alpha rounding to zero, for the shifts a
    /// resize uses.
    @Test(arguments: paths)
    func unpremultiplyGivesTheReferenceValues(path: ResizeBackend) {
        var numbers = Numbers(state: 11)
        for shift in [14, 18, 20, 21] {
            let scale = Int64(1) << shift
            let pixels = 4096
            var sums = [Int32](repeating: 0, count: pixels * 4)
            for i in 0..<pixels {
                let alpha = Int64(numbers.next() % UInt64(257 * scale)) - scale / 2 - Int64(i % 3 == 0 ? scale : 0)
                sums[4 * i + 3] = Int32(clamping: alpha)
                for c in 0..<3 {
                    // Mostly within alpha (valid premultiplied colour), now and then above it or below zero.
                    let colour = Int64(numbers.next() % UInt64(max(1, alpha + scale))) - (numbers.next() % 8 == 0 ? scale : 0)
                    sums[4 * i + c] = Int32(clamping: colour)
                }
            }
            var reference = [UInt8](repeating: 1, count: pixels * 4)
            var fast = [UInt8](repeating: 2, count: pixels * 4)
            var handled = false
            sums.withUnsafeBufferPointer { sums in
                reference.withUnsafeMutableBufferPointer { out in
                    for j in 0..<pixels { RowKernels.unpremultiply(sums.baseAddress! + 4 * j, channels: 4, shift: shift, into: out.baseAddress! + 4 * j) }
                }
                fast.withUnsafeMutableBufferPointer { out in
                    handled = RowKernels.unpremultiplyRGBA(sums.baseAddress!, pixels: pixels, shift: shift, into: out.baseAddress!,
                                                           stride: 4, backend: path)
                }
            }
            #expect(handled == (path == .avx2))
            if handled { #expect(fast == reference, "shift \(shift)") }
        }
    }

    /// The path a resizer runs is one this processor has: asked for AVX2 where there is none, it
    /// falls back to the portable one instead of stopping on an illegal instruction.
    @Test func resizerRunsAnAvailablePath() {
        #expect(ResizeBackend.best.isAvailable)
        #expect(Resizer().backend == ResizeBackend.best)
        if ProcessInfo.processInfo.environment[ResizeBackend.kernelsVariable] == nil {
            #expect(ResizeBackend.best == (ResizeBackend.avx2.isAvailable ? .avx2 : .simd), "the fastest path")
        }
        #expect(Resizer(backend: .avx2).backend == (ResizeBackend.avx2.isAvailable ? .avx2 : .simd))
    }
}
