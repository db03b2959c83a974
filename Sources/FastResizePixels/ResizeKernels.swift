// ResizeKernels: the inner loops of the 8-bit convolution: a scalar reference, a portable SIMD twin and an AVX2 one.

internal import CResizeKernels
import Foundation

/// How a pass is computed. `scalar` is the reference; `simd` (Swift's SIMD types: SSE2 in a
/// default x86-64 build, NEON on arm64) and `avx2` (C kernels built for AVX2 alone, see
/// Sources/CResizeKernels) must produce the same bytes.
public enum ResizeBackend: String, Sendable, CaseIterable {
    case scalar
    case simd
    case avx2

    /// The path resizers take unless told otherwise, decided once: AVX2 where CPUID says the
    /// processor and the system run it, else the portable SIMD one, so a default build (no
    /// -target-cpu) runs AVX2 code where it can. `FASTRESIZE_KERNELS=simd` (or `scalar`) pins a
    /// slower path, to compare paths or to rule the vector code out when a pixel looks wrong, as
    /// VIPS_NOVECTOR does for libvips; a path the processor lacks is not taken.
    public static let best: ResizeBackend = {
        let fastest: ResizeBackend = hasAVX2 ? .avx2 : .simd
        guard let name = ProcessInfo.processInfo.environment[kernelsVariable], let asked = ResizeBackend(rawValue: name),
              asked.isAvailable else { return fastest }
        return asked
    }()

    /// The environment variable that pins a path.
    public static let kernelsVariable = "FASTRESIZE_KERNELS"

    private static let hasAVX2 = fr_cpu_has_avx2() != 0

    /// Whether this processor can run the path (`avx2` needs the instructions; the others run anywhere).
    public var isAvailable: Bool { self != .avx2 || Self.hasAVX2 }

    /// The paths this processor can run, the reference first.
    public static var available: [ResizeBackend] { allCases.filter(\.isAvailable) }
}

/// Fixed-point layout between the passes: int16 samples with this many fractional bits. Six bits
/// leave room for the overshoot of sharp kernels (±512) while keeping rounding error under 1/128.
let intermediateFractionBits = 6
/// Premultiplied colour carries seven fractional bits, so dark, nearly transparent pixels keep their hue.
let premultipliedFractionBits = 7

/// Evenly spaced rows of one buffer: row k starts at `base + k × stride`.
struct Rows<Element> {
    var base: UnsafePointer<Element>
    var stride: Int

    @inline(__always)
    subscript(_ k: Int) -> UnsafePointer<Element> { base + k &* stride }
}

/// The row operation both passes reduce to: `Σ_k weight[k] × rows[k][i]` for i < count, in Int32.
/// The weighted sum of one run is exact in Int32 for these inputs: |sample| < 2^15, Σ|weight| < 2^16.
package enum RowKernels {
    /// 8-bit samples to int16: the sums rounded and shifted right by `shift`.
    static func weightedSum(_ rows: Rows<UInt8>, weights: UnsafePointer<Int16>, taps: Int, count: Int, shift: Int,
                            into output: UnsafeMutablePointer<Int16>, backend: ResizeBackend) {
        var start = 0
        if backend == .avx2 {
            start = fr_avx2_sum_u8_i16(rows.base, rows.stride, weights, taps, count, Int32(shift), output)
        } else if backend == .simd {
            let bias = SIMD16<Int32>(repeating: Int32(1) << (shift - 1))
            let shifts = SIMD16<Int32>(repeating: Int32(shift))
            // 32 samples an iteration: each weight is broadcast once for two vectors.
            while start + 32 <= count {
                var low = bias, high = bias
                for k in 0..<taps {
                    let row = UnsafeRawPointer(rows[k] + start)
                    let weight = SIMD16<Int32>(repeating: Int32(weights[k]))
                    low &+= SIMD16<Int32>(truncatingIfNeeded: row.loadUnaligned(as: SIMD16<UInt8>.self)) &* weight
                    high &+= SIMD16<Int32>(truncatingIfNeeded: row.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)) &* weight
                }
                storeNarrowed(low &>> shifts, to: output + start)
                storeNarrowed(high &>> shifts, to: output + start + 16)
                start += 32
            }
            while start + 16 <= count {
                var sum = bias
                for k in 0..<taps {
                    let bytes = UnsafeRawPointer(rows[k] + start).loadUnaligned(as: SIMD16<UInt8>.self)
                    sum &+= SIMD16<Int32>(truncatingIfNeeded: bytes) &* SIMD16<Int32>(repeating: Int32(weights[k]))
                }
                storeNarrowed(sum &>> shifts, to: output + start)
                start += 16
            }
        }
        for i in start..<count {
            var sum = Int32(1) << (shift - 1)
            for k in 0..<taps { sum &+= Int32(rows[k][i]) &* Int32(weights[k]) }
            output[i] = Int16(truncatingIfNeeded: sum >> Int32(shift))
        }
    }

    /// int16 samples to int16: the sums rounded and shifted right by `shift`.
    static func weightedSum(_ rows: Rows<Int16>, weights: UnsafePointer<Int16>, taps: Int, count: Int, shift: Int,
                            into output: UnsafeMutablePointer<Int16>, backend: ResizeBackend) {
        var start = 0
        if backend == .avx2 {
            start = fr_avx2_sum_i16_i16(rows.base, rows.stride, weights, taps, count, Int32(shift), output)
        } else if backend == .simd {
            let bias = SIMD16<Int32>(repeating: Int32(1) << (shift - 1))
            while start + 16 <= count {
                let sum = bias &+ dotProduct(rows, weights: weights, taps: taps, at: start)
                storeNarrowed(sum &>> SIMD16<Int32>(repeating: Int32(shift)), to: output + start)
                start += 16
            }
        }
        for i in start..<count {
            output[i] = Int16(truncatingIfNeeded: (scalarDotProduct(rows, weights: weights, taps: taps, at: i) &+ (Int32(1) << (shift - 1))) >> Int32(shift))
        }
    }

    /// int16 samples to bytes: the sums rounded, shifted right by `shift` and clamped to 0…255.
    static func weightedSum(_ rows: Rows<Int16>, weights: UnsafePointer<Int16>, taps: Int, count: Int, shift: Int,
                            into output: UnsafeMutablePointer<UInt8>, backend: ResizeBackend) {
        var start = 0
        if backend == .avx2 {
            start = fr_avx2_sum_i16_u8(rows.base, rows.stride, weights, taps, count, Int32(shift), output)
        } else if backend == .simd {
            let bias = SIMD16<Int32>(repeating: Int32(1) << (shift - 1))
            while start + 16 <= count {
                let sum = (bias &+ dotProduct(rows, weights: weights, taps: taps, at: start)) &>> SIMD16<Int32>(repeating: Int32(shift))
                UnsafeMutableRawPointer(output + start).storeBytes(of: clampToBytes(sum), as: SIMD16<UInt8>.self)
                start += 16
            }
        }
        for i in start..<count {
            output[i] = UInt8(clamping: (scalarDotProduct(rows, weights: weights, taps: taps, at: i) &+ (Int32(1) << (shift - 1))) >> Int32(shift))
        }
    }

    /// int16 samples to the unshifted sums, for the last pass of an image with alpha.
    static func weightedSum(_ rows: Rows<Int16>, weights: UnsafePointer<Int16>, taps: Int, count: Int,
                            into output: UnsafeMutablePointer<Int32>, backend: ResizeBackend) {
        var start = 0
        if backend == .avx2 {
            start = fr_avx2_sum_i16_i32(rows.base, rows.stride, weights, taps, count, output)
        } else if backend == .simd {
            while start + 16 <= count {
                UnsafeMutableRawPointer(output + start).storeBytes(of: dotProduct(rows, weights: weights, taps: taps, at: start),
                                                                   as: SIMD16<Int32>.self)
                start += 16
            }
        }
        for i in start..<count { output[i] = scalarDotProduct(rows, weights: weights, taps: taps, at: i) }
    }

    /// Box averaging's column sums: `sums[i] += row[i]` (`=` for a block's `first` row), i < count.
    @inline(__always)
    package static func addColumns(_ row: UnsafePointer<UInt8>, to sums: UnsafeMutablePointer<UInt32>, count: Int,
                                   first: Bool, backend: ResizeBackend) {
        let start = backend == .avx2 ? fr_avx2_add_columns(row, sums, count, first ? 1 : 0) : 0
        if first {
            for index in start..<count { sums[index] = UInt32(row[index]) }
        } else {
            for index in start..<count { sums[index] &+= UInt32(row[index]) }
        }
    }

    /// RGBA to premultiplied int16 (colour × α × 128 / 255, rounded; α × 128), four pixels a
    /// vector (eight with AVX2); returns how many pixels it did (the caller finishes the rest).
    static func premultiplyRGBA(_ row: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Int16>, pixels: Int,
                                backend: ResizeBackend) -> Int {
        if backend == .avx2 { return fr_avx2_premultiply_rgba(row, output, pixels) }
        let source = UnsafeRawPointer(row)
        var x = 0
        while x + 4 <= pixels {
            let words = source.loadUnaligned(fromByteOffset: x * 4, as: SIMD4<UInt32>.self)
            // Each pixel's alpha copied into its four bytes; its alpha byte replaced by 255, so the
            // one formula gives α × 128 there.
            let alphas = unsafeBitCast((words &>> 24) &* 0x0101_0101, to: SIMD16<UInt8>.self)
            let colours = unsafeBitCast(words | 0xFF00_0000, to: SIMD16<UInt8>.self)
            let products = SIMD16<UInt32>(truncatingIfNeeded: colours) &* SIMD16<UInt32>(truncatingIfNeeded: alphas)
            let scaled = ((products &<< UInt32(premultipliedFractionBits)) &+ 127) / 255
            UnsafeMutableRawPointer(output + x * 4).storeBytes(of: SIMD16<Int16>(truncatingIfNeeded: scaled),
                                                               as: SIMD16<Int16>.self)
            x += 4
        }
        return x
    }

    /// From premultiplied sums (scaled by 2^shift) of one pixel of `channels` channels, alpha
    /// last, to straight 8-bit colour: alpha clamped and rounded, colour divided by the clamped
    /// alpha and rounded; fully transparent pixels are zero. The reference of every path.
    static func unpremultiply(_ sums: UnsafePointer<Int32>, channels: Int, shift: Int, into pixel: UnsafeMutablePointer<UInt8>) {
        let alphaIndex = channels - 1
        let scale = Int64(1) << Int64(shift)
        let alpha = min(max(Int64(sums[alphaIndex]), 0), 255 * scale)
        let alphaByte = UInt8((alpha + scale / 2) >> Int64(shift))
        pixel[alphaIndex] = alphaByte
        guard alphaByte > 0 else {
            for c in 0..<alphaIndex { pixel[c] = 0 }
            return
        }
        // One division per pixel; colour × 255 / alpha then costs a multiply per channel.
        let factor = 255 / Double(alpha)
        for c in 0..<alphaIndex {
            pixel[c] = UInt8(min(Double(max(sums[c], 0)) * factor + 0.5, 255))
        }
    }

    /// Premultiplied sums of `pixels` pixels (`channels` apiece, consecutive) to straight bytes,
    /// pixel j at `output + j × stride`: the path's kernel where it has one (AVX2, RGBA), the
    /// reference pixel by pixel otherwise.
    static func unpremultiply(_ sums: UnsafePointer<Int32>, pixels: Int, channels: Int, shift: Int,
                              into output: UnsafeMutablePointer<UInt8>, stride: Int, backend: ResizeBackend) {
        if channels == 4 && unpremultiplyRGBA(sums, pixels: pixels, shift: shift, into: output, stride: stride, backend: backend) {
            return
        }
        for j in 0..<pixels { unpremultiply(sums + j * channels, channels: channels, shift: shift, into: output + j * stride) }
    }

    /// Premultiplied RGBA sums (scaled by 2^shift) of `pixels` pixels to straight bytes, pixel j
    /// at `output + j × stride`, where the path has a kernel for it (AVX2); false otherwise.
    static func unpremultiplyRGBA(_ sums: UnsafePointer<Int32>, pixels: Int, shift: Int, into output: UnsafeMutablePointer<UInt8>,
                                  stride: Int, backend: ResizeBackend) -> Bool {
        guard backend == .avx2 else { return false }
        _ = fr_avx2_unpremultiply_rgba(sums, pixels, Int32(shift), output, stride)
        return true
    }

    /// Σ_k weight[k] × rows[k][start ..< start + 16].
    @inline(__always)
    static func dotProduct(_ rows: Rows<Int16>, weights: UnsafePointer<Int16>, taps: Int, at start: Int) -> SIMD16<Int32> {
        var sum = SIMD16<Int32>()
        for k in 0..<taps {
            let samples = UnsafeRawPointer(rows[k] + start).loadUnaligned(as: SIMD16<Int16>.self)
            sum &+= SIMD16<Int32>(truncatingIfNeeded: samples) &* SIMD16<Int32>(repeating: Int32(weights[k]))
        }
        return sum
    }

    @inline(__always)
    static func scalarDotProduct(_ rows: Rows<Int16>, weights: UnsafePointer<Int16>, taps: Int, at i: Int) -> Int32 {
        var sum: Int32 = 0
        for k in 0..<taps { sum &+= Int32(rows[k][i]) &* Int32(weights[k]) }
        return sum
    }

    /// Narrows to int16. The fixed-point scales keep every intermediate inside ±2^15 (see
    /// `FixedPointWeights`: |sample| ≤ 255, Σ|weight| ≤ 2, 6 fractional bits), so no lane saturates.
    @inline(__always)
    static func storeNarrowed(_ value: SIMD16<Int32>, to output: UnsafeMutablePointer<Int16>) {
        UnsafeMutableRawPointer(output).storeBytes(of: SIMD16<Int16>(truncatingIfNeeded: value), as: SIMD16<Int16>.self)
    }

    /// Clamps to 0…255 with shifts and masks (the generic SIMD clamps are out-of-line calls here).
    @inline(__always)
    static func clampToBytes(_ value: SIMD16<Int32>) -> SIMD16<UInt8> {
        let nonNegative = value & ~(value &>> 31)
        // Lanes above 255 become all ones, whose low byte is 255.
        let capped = nonNegative | ((SIMD16<Int32>(repeating: 255) &- nonNegative) &>> 31)
        return SIMD16<UInt8>(truncatingIfNeeded: capped)
    }
}
