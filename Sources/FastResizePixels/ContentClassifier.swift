// ContentClassifier: tells graphics (few flat colours, hard edges) from photographs, to pick lossless or lossy WebP.

/// Graphics — logos, screenshots, diagrams, pixel art — are mostly a few flat colours: lossless
/// WebP keeps their edges exact and is often smaller than lossy. Photographs spread over thousands
/// of colours, where lossy WebP is far smaller. The test: how much of the picture its most common
/// colours cover. Resampling adds blended colours along the edges of graphics, but those are a thin
/// minority of the pixels, so the share stays high; in a photograph it stays low.
public enum ContentClassifier {
    /// The number of most common colours counted.
    static let topColours = 32
    /// The share of pixels they must cover for the picture to count as graphics.
    static let graphicsShare = 0.75
    /// Pixels examined at most: a regular sample of larger pictures. 4096 estimates the share to
    /// within about ±1.5% (binomial error), and sorting that few keys costs microseconds.
    static let sampleLimit = 4096

    public static func looksLikeGraphics(_ image: PixelBuffer) -> Bool {
        let image = image.narrowed()
        let count = image.width * image.height
        let step = max(1, count / sampleLimit)
        let channels = image.format.channelCount
        var keys: [UInt32] = []
        keys.reserveCapacity(min(count, sampleLimit + 1))
        image.pixels.withUnsafeBufferPointer { p in
            var index = 0
            while index < count {
                let base = index * channels
                var key: UInt32 = 0
                for c in 0..<channels { key = key << 8 | UInt32(p[base + c]) }
                // Fully transparent pixels are one colour whatever their stored RGB.
                if image.format.hasAlpha && p[base + channels - 1] == 0 { key = 0 }
                keys.append(key)
                index += step
            }
        }
        // Equal colours become runs once sorted; the longest runs are the most common colours.
        keys.sort()
        var runs: [Int] = []
        var start = 0
        for i in 1...keys.count where i == keys.count || keys[i] != keys[start] {
            runs.append(i - start)
            start = i
        }
        let covered = runs.sorted(by: >).prefix(topColours).reduce(0, +)
        return Double(covered) >= graphicsShare * Double(keys.count)
    }
}
