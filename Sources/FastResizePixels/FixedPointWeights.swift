// FixedPointWeights: one axis's taps as int16 integers, the form the 8-bit convolution kernels multiply by.

/// `values[i × tapCount + k]` is round(weight × 2^precision); every run sums to exactly 2^precision,
/// so a flat area stays exactly flat. The precision is the largest (at most 15) for which the biggest
/// weight still fits in an Int16, so small weights of wide kernels keep their accuracy.
public struct FixedPointWeights: Sendable, Equatable {
    public let inputCount: Int
    public let outputCount: Int
    public let tapCount: Int
    public let starts: [Int32]
    public let values: [Int16]
    public let precision: Int
    public let isIdentity: Bool

    public init(_ weights: ResampleWeights) {
        inputCount = weights.inputCount
        outputCount = weights.outputCount
        isIdentity = weights.isIdentity
        if weights.isIdentity {
            tapCount = 1
            precision = 14
            starts = (0..<Int32(weights.outputCount)).map { $0 }
            values = [Int16](repeating: 1 << 14, count: weights.outputCount)
            return
        }
        let largest = Double(weights.weights.map { abs($0) }.max() ?? 1)
        var precision = 15
        // Leave room for the run's rounding correction on the largest weight.
        while precision > 1 && (largest * Double(1 << precision)).rounded() + Double(weights.tapCount) > 32767 { precision -= 1 }
        self.precision = precision
        let one = 1 << precision
        var values = [Int16](repeating: 0, count: weights.weights.count)
        for run in 0..<weights.outputCount {
            let base = run * weights.tapCount
            var total = 0
            var largestTap = base
            for k in base..<(base + weights.tapCount) {
                let q = Int((Double(weights.weights[k]) * Double(one)).rounded())
                values[k] = Int16(q)
                total += q
                if abs(weights.weights[k]) > abs(weights.weights[largestTap]) { largestTap = k }
            }
            values[largestTap] = Int16(Int(values[largestTap]) + one - total)
            // The kernels keep int16 intermediates without saturating, which holds while a run's
            // absolute weights sum to at most 2 (Lanczos3, the sharpest here, stays below 1.3).
            precondition(values[base..<(base + weights.tapCount)].reduce(0) { $0 + abs(Int($1)) } <= 2 * one,
                         "kernel too sharp for int16 intermediates")
        }
        // Drop the taps that are zero in every run (kernel edges and the slack ResampleWeights
        // leaves): the kernels then multiply only what counts.
        var first = [Int](repeating: 0, count: weights.outputCount)
        var width = 1
        for run in 0..<weights.outputCount {
            let taps = values[(run * weights.tapCount)..<((run + 1) * weights.tapCount)]
            let low = taps.firstIndex { $0 != 0 } ?? taps.startIndex
            let high = taps.lastIndex { $0 != 0 } ?? taps.startIndex
            first[run] = low - taps.startIndex
            width = max(width, high - low + 1)
        }
        tapCount = width
        var trimmed = [Int16](repeating: 0, count: weights.outputCount * width)
        var starts = [Int32](repeating: 0, count: weights.outputCount)
        for run in 0..<weights.outputCount {
            let firstInput = Int(weights.starts[run]) + first[run]
            let start = max(0, min(firstInput, weights.inputCount - width))
            starts[run] = Int32(start)
            for k in 0..<(weights.tapCount - first[run]) where firstInput - start + k < width {
                trimmed[run * width + firstInput - start + k] = values[run * weights.tapCount + first[run] + k]
            }
        }
        self.starts = starts
        self.values = trimmed
    }

    /// The input range all the runs read.
    public var inputSpan: Range<Int> { inputRange(outputs: 0..<outputCount) }

    /// The input range the runs of `outputs` read. Starts need not rise with the output index:
    /// trimming moved each run's start by its own leading zero taps, so every run is looked at.
    public func inputRange(outputs: Range<Int>) -> Range<Int> {
        var low = Int.max, high = 0
        for start in starts[outputs] {
            low = min(low, Int(start))
            high = max(high, Int(start))
        }
        return low..<min(high + tapCount, inputCount)
    }
}
