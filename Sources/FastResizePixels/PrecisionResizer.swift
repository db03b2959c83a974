// PrecisionResizer: float convolution for 16-bit images and for resizing in linear light.

import Foundation

/// Resamples with 32-bit float intermediates, for the cases the 8-bit fixed-point `Resizer` would
/// lose precision in: 16-bit samples, and linear light (where 8 bits of linear intensity would band
/// in the shadows). Slower than `Resizer`; the pipeline uses it only for those cases.
///
/// Samples are decoded to floats (through the sRGB curve when `linear`), colour is premultiplied by
/// alpha, the horizontal pass runs over just the rows the vertical pass reads, and each output
/// sample is unpremultiplied, re-encoded and rounded to the output depth.
public struct PrecisionResizer: Sendable {
    public let filter: ResampleFilter
    /// Resample linear intensities: remove the sRGB transfer curve first, restore it after.
    public let linear: Bool

    public init(filter: ResampleFilter = .default, linear: Bool = false) {
        self.filter = filter
        self.linear = linear
    }

    /// Resizes `region` of `image` to `width` × `height`, writing samples of `outputBitDepth` bits.
    public func resize(_ image: PixelBuffer, region: SourceRegion, width: Int, height: Int,
                       outputBitDepth: Int, threads: Int = 1) -> PixelBuffer {
        let horizontal = ResampleWeights(inputCount: image.width, outputCount: width, filter: filter,
                                         offset: region.x, span: region.width)
        let vertical = ResampleWeights(inputCount: image.height, outputCount: height, filter: filter,
                                       offset: region.y, span: region.height)
        // The input rows the vertical pass reads, filtered horizontally into float pixels (every
        // layout held as 4 lanes, alpha last, so one vector operation handles a whole pixel).
        let firstRow = Int(vertical.starts.first!)
        let rowCount = min(Int(vertical.starts.last!) + vertical.tapCount, image.height) - firstRow
        var rows = [SIMD4<Float>](repeating: .zero, count: rowCount * width)
        let rowsCharge = PictureMeter.charge(rows.count * MemoryLayout<SIMD4<Float>>.stride)
        defer { withExtendedLifetime(rowsCharge) {} }
        let job = PrecisionJob(image: image, linear: linear, outputBitDepth: outputBitDepth)
        // Rows go to the workers in chunks, each chunk with one work buffer, not one per row.
        let chunk = 16
        image.pixels.withUnsafeBytes { raw in
            rows.withUnsafeMutableBufferPointer { rowsBuffer in
                let target = UnsafeSendable(rowsBuffer.baseAddress!)
                let source = SharedBytes(raw)
                ParallelWork.forEach(count: (rowCount + chunk - 1) / chunk, workers: threads) { index, _ in
                    var line = [SIMD4<Float>](repeating: .zero, count: image.width)
                    for row in (index * chunk)..<min(rowCount, (index + 1) * chunk) {
                        job.horizontal(source: source.read, row: firstRow + row, line: &line, weights: horizontal,
                                       into: target.pointer + row * width)
                    }
                }
            }
        }
        var output = PixelBuffer(uninitializedWidth: width, height: height, format: image.format, bitDepth: outputBitDepth)
        rows.withUnsafeBufferPointer { rowsBuffer in
            output.pixels.withUnsafeMutableBytes { target in
                let rowsBase = UnsafeSendable(rowsBuffer.baseAddress!)
                let output = SharedBytes(target)
                ParallelWork.forEach(count: (height + chunk - 1) / chunk, workers: threads) { index, _ in
                    var sums = [SIMD4<Float>](repeating: .zero, count: width)
                    sums.withUnsafeMutableBufferPointer { sums in
                        for y in (index * chunk)..<min(height, (index + 1) * chunk) {
                            sums.update(repeating: .zero)
                            let start = Int(vertical.starts[y]) - firstRow
                            for tap in 0..<vertical.tapCount {
                                let weight = vertical.weights[y * vertical.tapCount + tap]
                                if weight == 0 { continue }
                                let row = rowsBase.pointer + (start + tap) * width
                                for x in 0..<width { sums[x] += weight * row[x] }
                            }
                            job.store(sums, row: y, into: output)
                        }
                    }
                }
            }
        }
        return output
    }

    /// Sample value → float in 0…1 (through the inverse sRGB curve when `linear`).
    static func decodingTable(bitDepth: Int, linear: Bool) -> [Float] {
        let maximum = bitDepth == 16 ? 65535 : 255
        return (0...maximum).map { value in
            let v = Double(value) / Double(maximum)
            return Float(linear ? (v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)) : v)
        }
    }

    /// Linear intensity → sRGB-encoded value, both 0…1.
    static func encodeSRGB(_ v: Float) -> Float {
        v <= 0.0031308 ? v * 12.92 : 1.055 * powf(v, 1 / 2.4) - 0.055
    }
}

/// A pointer handed to worker threads that each touch their own part of it.
private struct UnsafeSendable<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
    init(_ pointer: UnsafePointer<T>) { self.pointer = UnsafeMutablePointer(mutating: pointer) }
}

/// Sample bytes shared with worker threads: read by all, or written by each at its own places.
private struct SharedBytes: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    init(_ bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = UnsafeMutableRawBufferPointer(mutating: bytes) }
    var read: UnsafeRawBufferPointer { UnsafeRawBufferPointer(bytes) }
}

/// Decoding into and encoding out of the float pixels of one resize.
private struct PrecisionJob: Sendable {
    let image: PixelBuffer
    let channels: Int
    /// Lane of alpha in the float pixels (3), or nil without alpha.
    let hasAlpha: Bool
    let linear: Bool
    let outputBitDepth: Int
    /// Sample value → 0…1, through the inverse sRGB curve when `linear` (colour lanes only).
    let decode: [Float]
    let plain: [Float]

    init(image: PixelBuffer, linear: Bool, outputBitDepth: Int) {
        self.image = image
        channels = image.format.channelCount
        hasAlpha = image.format.hasAlpha
        self.linear = linear
        self.outputBitDepth = outputBitDepth
        decode = PrecisionResizer.decodingTable(bitDepth: image.bitDepth, linear: linear)
        plain = PrecisionResizer.decodingTable(bitDepth: image.bitDepth, linear: false)
    }

    /// One input row decoded into `line` (premultiplied, colour in lanes 0…2 or lane 0 for gray,
    /// alpha in lane 3), then filtered horizontally into `out`.
    func horizontal(source: UnsafeRawBufferPointer, row y: Int, line: inout [SIMD4<Float>], weights: ResampleWeights,
                    into out: UnsafeMutablePointer<SIMD4<Float>>) {
        let width = image.width
        let colours = hasAlpha ? channels - 1 : channels
        let sixteen = image.bitDepth == 16
        decode.withUnsafeBufferPointer { decode in
            plain.withUnsafeBufferPointer { plain in
                line.withUnsafeMutableBufferPointer { line in
                    let base = y * width * channels
                    for x in 0..<width {
                        let at = base + x * channels
                        func sample(_ i: Int) -> Int {
                            sixteen ? Int(source.load(fromByteOffset: (at + i) * 2, as: UInt16.self)) : Int(source[at + i])
                        }
                        let a: Float = hasAlpha ? plain[sample(channels - 1)] : 1
                        var pixel = SIMD4<Float>(0, 0, 0, a)
                        for c in 0..<colours { pixel[c] = decode[sample(c)] * a }
                        line[x] = pixel
                    }
                }
            }
        }
        weights.weights.withUnsafeBufferPointer { taps in
            line.withUnsafeBufferPointer { line in
                let tapCount = weights.tapCount
                for x in 0..<weights.outputCount {
                    let start = Int(weights.starts[x])
                    var sum = SIMD4<Float>.zero
                    for tap in 0..<tapCount { sum += taps[x * tapCount + tap] * line[start + tap] }
                    out[x] = sum
                }
            }
        }
    }

    /// Unpremultiplies, re-encodes and rounds one output row.
    func store(_ sums: UnsafeMutableBufferPointer<SIMD4<Float>>, row y: Int, into output: SharedBytes) {
        let maximum: Float = outputBitDepth == 16 ? 65535 : 255
        let colours = hasAlpha ? channels - 1 : channels
        let width = sums.count
        for x in 0..<width {
            let pixel = sums[x]
            let a = hasAlpha ? min(max(pixel[3], 0), 1) : 1
            let at = (y * width + x) * channels
            for c in 0..<colours {
                var value = a > 0 ? min(max(pixel[c] / a, 0), 1) : 0
                if linear { value = PrecisionResizer.encodeSRGB(value) }
                write((value * maximum).rounded(), at: at + c, output)
            }
            if hasAlpha { write((a * maximum).rounded(), at: at + channels - 1, output) }
        }
    }

    private func write(_ value: Float, at index: Int, _ output: SharedBytes) {
        if outputBitDepth == 16 {
            output.bytes.storeBytes(of: UInt16(value), toByteOffset: index * 2, as: UInt16.self)
        } else {
            output.bytes[index] = UInt8(value)
        }
    }
}
