// ReferenceResizer: a slow, obviously-correct float64 resampler that the fast paths are checked against.

import FastResize
import Foundation

/// Computes every output sample directly from the kernel, in Double, with no shared weight tables:
/// the definition the real resizer must agree with (within ±1 on 8-bit).
public enum ReferenceResizer {
    public static func resize(_ image: PixelBuffer, width: Int, height: Int, filter: ResampleFilter,
                              region: SourceRegion? = nil) -> PixelBuffer {
        let region = region ?? SourceRegion(image)
        let channels = image.format.channelCount
        let alpha = image.format.hasAlpha ? channels - 1 : nil
        let columns = taps(inputCount: image.width, outputCount: width, offset: region.x, span: region.width, filter: filter)
        let rows = taps(inputCount: image.height, outputCount: height, offset: region.y, span: region.height, filter: filter)
        // Separable, in Double, with nothing rounded between the passes: the same sum as the 2-D
        // definition Σ_y Σ_x w_y w_x s(x, y), in a time the tests can afford on real photos.
        var horizontal = [Double](repeating: 0, count: width * image.height * channels)
        var output = PixelBuffer(width: width, height: height, format: image.format)
        image.pixels.withUnsafeBufferPointer { source in
            horizontal.withUnsafeMutableBufferPointer { middle in
                var sample = [Double](repeating: 0, count: channels)
                for y in 0..<image.height {
                    for x in 0..<width {
                        for c in 0..<channels { sample[c] = 0 }
                        for (sx, w) in columns[x] {
                            let base = (y * image.width + sx) * channels
                            // Premultiplied: colour × α/255.
                            let a = alpha.map { Double(source[base + $0]) / 255 } ?? 1
                            for c in 0..<channels {
                                let value = Double(source[base + c])
                                sample[c] += w * (c == alpha ? value : value * a)
                            }
                        }
                        for c in 0..<channels { middle[(y * width + x) * channels + c] = sample[c] }
                    }
                }
                output.pixels.withUnsafeMutableBufferPointer { target in
                    var sums = [Double](repeating: 0, count: channels)
                    for y in 0..<height {
                        for x in 0..<width {
                            for c in 0..<channels { sums[c] = 0 }
                            for (sy, w) in rows[y] {
                                let base = (sy * width + x) * channels
                                for c in 0..<channels { sums[c] += w * middle[base + c] }
                            }
                            let out = (y * width + x) * channels
                            if let alpha {
                                let a = min(max(sums[alpha], 0), 255)
                                let rounded = a.rounded()
                                target[out + alpha] = UInt8(rounded)
                                for c in 0..<channels where c != alpha {
                                    target[out + c] = rounded == 0 ? 0 : byte(sums[c] * 255 / a)
                                }
                            } else {
                                for c in 0..<channels { target[out + c] = byte(sums[c]) }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// (input index, weight) pairs for each output index, edge-clamped and normalised.
    static func taps(inputCount: Int, outputCount: Int, offset: Double, span: Double,
                     filter: ResampleFilter) -> [[(Int, Double)]] {
        let scale = span / Double(outputCount)
        if inputCount == outputCount && offset == 0 && span == Double(inputCount) {
            return (0..<outputCount).map { [($0, 1.0)] }
        }
        if filter == .nearest {
            return (0..<outputCount).map { i in
                [(min(max(Int(floor(offset + (Double(i) + 0.5) * scale)), 0), inputCount - 1), 1.0)]
            }
        }
        let stretch = max(scale, 1)
        let radius = filter.support * stretch
        return (0..<outputCount).map { i in
            let centre = offset + (Double(i) + 0.5) * scale - 0.5
            var weights: [Int: Double] = [:]
            var total = 0.0
            for j in Int(floor(centre - radius))...Int(ceil(centre + radius)) {
                let w = kernel(filter, (Double(j) - centre) / stretch)
                guard w != 0 else { continue }
                weights[min(max(j, 0), inputCount - 1), default: 0] += w
                total += w
            }
            return weights.map { ($0.key, $0.value / total) }
        }
    }

    /// The kernels written out again from their published definitions, independent of ResampleFilter.
    static func kernel(_ filter: ResampleFilter, _ x: Double) -> Double {
        let x = abs(x)
        func sinc(_ v: Double) -> Double { v == 0 ? 1 : sin(.pi * v) / (.pi * v) }
        switch filter {
        case .nearest: return x < 0.5 ? 1 : 0
        case .bilinear: return max(0, 1 - x)
        case .bicubic:   // Keys (1981), a = -0.5
            let a = -0.5
            if x < 1 { return (a + 2) * x * x * x - (a + 3) * x * x + 1 }
            if x < 2 { return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a }
            return 0
        case .mitchell:  // B = C = 1/3
            if x < 1 { return (7 * x * x * x - 12 * x * x + 16.0 / 3) / 6 }
            if x < 2 { return (-7.0 / 3 * x * x * x + 12 * x * x - 20 * x + 32.0 / 3) / 6 }
            return 0
        case .lanczos2: return x < 2 ? sinc(x) * sinc(x / 2) : 0
        case .lanczos3: return x < 3 ? sinc(x) * sinc(x / 3) : 0
        }
    }

    static func byte(_ value: Double) -> UInt8 {
        UInt8(min(max(value.rounded(), 0), 255))
    }
}
