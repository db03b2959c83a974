// ResampleWeights: the per-output-pixel filter taps of one axis, computed once and reused.

/// For each output pixel of one axis: the first input pixel it reads and the normalised weights
/// of a contiguous run of input pixels. Every run has `tapCount` slots; unused slots weigh zero.
///
/// Geometry follows the pixel-centre convention: output pixel `i` covers input position
/// `(i + 0.5) × inputSize / outputSize − 0.5`. When shrinking, the kernel is stretched by the
/// scale so it integrates over every input pixel it covers. Taps that fall outside the image are
/// folded onto the nearest edge pixel (edge clamping), so the taps stay in range.
public struct ResampleWeights: Sendable, Equatable {
    public let inputCount: Int
    public let outputCount: Int
    /// Slots per output pixel.
    public let tapCount: Int
    /// First input index read by each output pixel.
    public let starts: [Int32]
    /// `outputCount × tapCount` weights, each run summing to 1.
    public let weights: [Float]

    public init(inputCount: Int, outputCount: Int, filter: ResampleFilter) {
        self.init(inputCount: inputCount, outputCount: outputCount, filter: filter,
                  offset: 0, span: Double(inputCount))
    }

    /// Weights that map the input interval `[offset, offset + span)` onto `outputCount` pixels.
    public init(inputCount: Int, outputCount: Int, filter: ResampleFilter, offset: Double, span: Double) {
        precondition(inputCount > 0 && outputCount > 0, "weights need positive sizes")
        self.inputCount = inputCount
        self.outputCount = outputCount
        let scale = span / Double(outputCount)           // input pixels per output pixel
        let stretch = max(scale, 1)
        if filter == .nearest {
            tapCount = 1
            var starts = [Int32](repeating: 0, count: outputCount)
            for i in 0..<outputCount {
                let centre = offset + (Double(i) + 0.5) * scale
                starts[i] = Int32(min(max(Int(centre.rounded(.down)), 0), inputCount - 1))
            }
            self.starts = starts
            self.weights = [Float](repeating: 1, count: outputCount)
            self.isIdentity = inputCount == outputCount && offset == 0 && span == Double(inputCount)
            return
        }
        let radius = filter.support * stretch
        // The widest run a pixel can need, bounded by the image itself.
        let taps = min(Int((2 * radius).rounded(.up)) + 2, inputCount)
        tapCount = taps
        var starts = [Int32](repeating: 0, count: outputCount)
        var weights = [Float](repeating: 0, count: outputCount * taps)
        var scratch = [Double](repeating: 0, count: taps)
        for i in 0..<outputCount {
            let centre = offset + (Double(i) + 0.5) * scale - 0.5
            let first = Int((centre - radius).rounded(.up))
            let last = Int((centre + radius).rounded(.down))
            // Fold the contributions of out-of-range pixels onto the edge pixels.
            let start = min(max(first, 0), max(inputCount - taps, 0))
            for k in 0..<taps { scratch[k] = 0 }
            var total = 0.0
            if first <= last {
                for j in first...last {
                    let w = filter.weight(at: (Double(j) - centre) / stretch)
                    if w == 0 { continue }
                    let clamped = min(max(j, 0), inputCount - 1)
                    scratch[clamped - start] += w
                    total += w
                }
            }
            if total == 0 {
                // Degenerate (cannot happen for these kernels, but keep the output defined).
                scratch[min(max(Int(centre.rounded()), 0), inputCount - 1) - start] = 1
                total = 1
            }
            starts[i] = Int32(start)
            for k in 0..<taps { weights[i * taps + k] = Float(scratch[k] / total) }
        }
        self.starts = starts
        self.weights = weights
        // Not every kernel interpolates (Mitchell blurs even at unit scale), so an unchanged axis
        // is declared the identity rather than convolved.
        self.isIdentity = inputCount == outputCount && offset == 0 && span == Double(inputCount)
    }

    /// True when the weights copy input pixel i to output pixel i (same size, no crop).
    public let isIdentity: Bool
}
