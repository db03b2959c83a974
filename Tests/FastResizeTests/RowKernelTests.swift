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
