// Resizer: separable convolution of a PixelBuffer with precomputed weights (horizontal, then vertical).

/// Resamples images with one filter. Alpha is premultiplied during the convolution so transparent
/// pixels never bleed their colour into visible neighbours.
public struct Resizer: Sendable {
    public let filter: ResampleFilter

    public init(filter: ResampleFilter = .default) {
        self.filter = filter
    }

    /// Resizes the whole of `image` to `width` × `height`.
    public func resize(_ image: PixelBuffer, width: Int, height: Int) -> PixelBuffer {
        resize(image, region: SourceRegion(image), width: width, height: height)
    }

    /// Resizes the part `region` of `image` (which may have fractional edges) to `width` × `height`.
    public func resize(_ image: PixelBuffer, region: SourceRegion, width: Int, height: Int) -> PixelBuffer {
        let horizontal = ResampleWeights(inputCount: image.width, outputCount: width, filter: filter,
                                         offset: region.x, span: region.width)
        let vertical = ResampleWeights(inputCount: image.height, outputCount: height, filter: filter,
                                       offset: region.y, span: region.height)
        return resize(image, horizontal: horizontal, vertical: vertical)
    }

    /// Resizes with weights prepared by the caller (so a batch can reuse them across images).
    public func resize(_ image: PixelBuffer, horizontal: ResampleWeights, vertical: ResampleWeights) -> PixelBuffer {
        precondition(horizontal.inputCount == image.width && vertical.inputCount == image.height,
                     "weights prepared for another size")
        if horizontal.isIdentity && vertical.isIdentity { return image }
        let channels = image.format.channelCount
        let alphaIndex = image.format.hasAlpha ? channels - 1 : -1
        // Only the input rows the vertical pass reads are filtered horizontally.
        let firstRow = Int(vertical.starts.first!)
        let lastRow = min(Int(vertical.starts.last!) + vertical.tapCount, image.height)
        let rowCount = lastRow - firstRow
        let outputWidth = horizontal.outputCount
        let rowFloats = outputWidth * channels

        var intermediate = [Float](repeating: 0, count: rowFloats * rowCount)
        var premultiplied = [Float](repeating: 0, count: image.width * channels)
        image.pixels.withUnsafeBufferPointer { source in
            intermediate.withUnsafeMutableBufferPointer { middle in
                premultiplied.withUnsafeMutableBufferPointer { row in
                    for y in 0..<rowCount {
                        let sourceRow = source.baseAddress! + (firstRow + y) * image.bytesPerRow
                        loadPremultiplied(sourceRow, into: row.baseAddress!, width: image.width,
                                          channels: channels, alphaIndex: alphaIndex)
                        convolveRow(row.baseAddress!, into: middle.baseAddress! + y * rowFloats,
                                    weights: horizontal, channels: channels)
                    }
                }
            }
        }

        var output = PixelBuffer(width: outputWidth, height: vertical.outputCount, format: image.format)
        var accumulator = [Float](repeating: 0, count: rowFloats)
        intermediate.withUnsafeBufferPointer { middle in
            output.pixels.withUnsafeMutableBufferPointer { target in
                accumulator.withUnsafeMutableBufferPointer { sum in
                    let taps = vertical.tapCount
                    vertical.weights.withUnsafeBufferPointer { weights in
                        for y in 0..<vertical.outputCount {
                            if vertical.isIdentity {
                                storeUnpremultiplied(middle.baseAddress! + (y - firstRow) * rowFloats,
                                                     into: target.baseAddress! + y * rowFloats,
                                                     width: outputWidth, channels: channels, alphaIndex: alphaIndex)
                                continue
                            }
                            for i in 0..<rowFloats { sum[i] = 0 }
                            let start = Int(vertical.starts[y]) - firstRow
                            for k in 0..<taps {
                                let w = weights[y * taps + k]
                                if w == 0 { continue }
                                let inputRow = middle.baseAddress! + (start + k) * rowFloats
                                for i in 0..<rowFloats { sum[i] += w * inputRow[i] }
                            }
                            storeUnpremultiplied(sum.baseAddress!, into: target.baseAddress! + y * rowFloats,
                                                 width: outputWidth, channels: channels, alphaIndex: alphaIndex)
                        }
                    }
                }
            }
        }
        return output
    }

    /// One row of bytes to floats, colour multiplied by alpha/255 when there is alpha.
    private func loadPremultiplied(_ source: UnsafePointer<UInt8>, into row: UnsafeMutablePointer<Float>,
                                   width: Int, channels: Int, alphaIndex: Int) {
        if alphaIndex < 0 {
            for i in 0..<(width * channels) { row[i] = Float(source[i]) }
            return
        }
        for x in 0..<width {
            let base = x * channels
            let alpha = Float(source[base + alphaIndex])
            let factor = alpha * (1 / 255)
            for c in 0..<alphaIndex { row[base + c] = Float(source[base + c]) * factor }
            row[base + alphaIndex] = alpha
        }
    }

    /// Horizontal convolution of one float row.
    private func convolveRow(_ row: UnsafeMutablePointer<Float>, into target: UnsafeMutablePointer<Float>,
                             weights: ResampleWeights, channels: Int) {
        if weights.isIdentity {
            target.update(from: row, count: weights.outputCount * channels)
            return
        }
        let taps = weights.tapCount
        weights.weights.withUnsafeBufferPointer { w in
            weights.starts.withUnsafeBufferPointer { starts in
                for x in 0..<weights.outputCount {
                    let start = Int(starts[x]) * channels
                    let out = x * channels
                    for c in 0..<channels {
                        var sum: Float = 0
                        for k in 0..<taps { sum += w[x * taps + k] * row[start + k * channels + c] }
                        target[out + c] = sum
                    }
                }
            }
        }
    }

    /// One row of floats back to bytes: alpha clamped, colour divided by it, all rounded.
    private func storeUnpremultiplied(_ row: UnsafePointer<Float>, into target: UnsafeMutablePointer<UInt8>,
                                      width: Int, channels: Int, alphaIndex: Int) {
        if alphaIndex < 0 {
            for i in 0..<(width * channels) { target[i] = Self.clampToByte(row[i]) }
            return
        }
        for x in 0..<width {
            let base = x * channels
            let alpha = min(max(row[base + alphaIndex], 0), 255)
            let alphaByte = Self.clampToByte(alpha)
            target[base + alphaIndex] = alphaByte
            if alphaByte == 0 {
                for c in 0..<alphaIndex { target[base + c] = 0 }
            } else {
                let factor = 255 / alpha
                for c in 0..<alphaIndex { target[base + c] = Self.clampToByte(row[base + c] * factor) }
            }
        }
    }

    @inline(__always)
    static func clampToByte(_ value: Float) -> UInt8 {
        if !(value > 0) { return 0 }          // also catches NaN
        if value >= 254.5 { return 255 }
        return UInt8(value + 0.5)
    }
}

/// The part of a source image that is resized, in input pixels; edges may be fractional so a crop
/// to an exact aspect ratio loses no precision.
public struct SourceRegion: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The whole of `image`.
    public init(_ image: PixelBuffer) {
        self.init(x: 0, y: 0, width: Double(image.width), height: Double(image.height))
    }
}
