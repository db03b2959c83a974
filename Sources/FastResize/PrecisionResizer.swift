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
        let channels = image.format.channelCount
        let alpha = image.format.hasAlpha ? channels - 1 : -1
        let decode = Self.decodingTable(bitDepth: image.bitDepth, linear: linear)
        let identityDecode = Self.decodingTable(bitDepth: image.bitDepth, linear: false)

        // The input rows the vertical pass reads.
        let firstRow = Int(vertical.starts.first!)
        let lastRow = Int(vertical.starts.last!) + vertical.tapCount
        let rowCount = min(lastRow, image.height) - firstRow
        let rowLength = width * channels
        var rows = [Float](repeating: 0, count: rowCount * rowLength)

        image.pixels.withUnsafeBytes { raw in
            rows.withUnsafeMutableBufferPointer { rowsBuffer in
                let job = PrecisionJob(source: raw, image: image, channels: channels, alpha: alpha,
                                       rows: rowsBuffer.baseAddress!, rowLength: rowLength,
                                       decode: decode, identityDecode: identityDecode)
                ParallelWork.forEach(count: rowCount, workers: threads) { index, _ in
                    job.horizontal(row: firstRow + index, into: index, weights: horizontal)
                }
            }
        }

        var output = PixelBuffer(uninitializedWidth: width, height: height, format: image.format, bitDepth: outputBitDepth)
        let maximum = Float(outputBitDepth == 16 ? 65535 : 255)
        let linear = self.linear
        rows.withUnsafeBufferPointer { rowsBuffer in
            output.pixels.withUnsafeMutableBytes { target in
                let writer = SampleWriter(target: target, bitDepth: outputBitDepth)
                let rowsBase = UnsafeSendable(rowsBuffer.baseAddress!)
                ParallelWork.forEach(count: height, workers: threads) { y, _ in
                    var sums = [Float](repeating: 0, count: rowLength)
                    let start = Int(vertical.starts[y]) - firstRow
                    for tap in 0..<vertical.tapCount {
                        let weight = vertical.weights[y * vertical.tapCount + tap]
                        if weight == 0 { continue }
                        let row = rowsBase.pointer + (start + tap) * rowLength
                        for i in 0..<rowLength { sums[i] += weight * row[i] }
                    }
                    for x in 0..<width {
                        let base = x * channels
                        let a = alpha >= 0 ? min(max(sums[base + alpha], 0), 1) : 1
                        for c in 0..<channels {
                            var value = sums[base + c]
                            if c == alpha {
                                value = a
                            } else {
                                value = a > 0 ? min(max(value / a, 0), 1) : 0
                                if linear { value = Self.encodeSRGB(value) }
                            }
                            writer.write((value * maximum).rounded(), at: (y * width + x) * channels + c)
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

/// Writes rounded samples into an 8- or 16-bit buffer.
private struct SampleWriter: @unchecked Sendable {
    let target: UnsafeMutableRawBufferPointer
    let bitDepth: Int

    func write(_ value: Float, at index: Int) {
        if bitDepth == 16 {
            target.storeBytes(of: UInt16(value), toByteOffset: index * 2, as: UInt16.self)
        } else {
            target[index] = UInt8(value)
        }
    }
}

/// The horizontal pass of one input row into the float row buffer.
private struct PrecisionJob: @unchecked Sendable {
    let source: UnsafeRawBufferPointer
    let image: PixelBuffer
    let channels: Int
    let alpha: Int
    let rows: UnsafeMutablePointer<Float>
    let rowLength: Int
    let decode: [Float]
    let identityDecode: [Float]

    func horizontal(row y: Int, into index: Int, weights: ResampleWeights) {
        let width = image.width
        var line = [Float](repeating: 0, count: width * channels)
        // Decode the row, premultiplying colour by alpha (in linear light when asked).
        decode.withUnsafeBufferPointer { decode in
            identityDecode.withUnsafeBufferPointer { plain in
                for x in 0..<width {
                    let base = x * channels
                    let sampleIndex = (y * width + x) * channels
                    let a = alpha >= 0 ? plain[sample(sampleIndex + alpha)] : 1
                    for c in 0..<channels {
                        let value = sample(sampleIndex + c)
                        line[base + c] = c == alpha ? a : decode[value] * a
                    }
                }
            }
        }
        let out = rows + index * rowLength
        let outputWidth = rowLength / channels
        for x in 0..<outputWidth {
            let start = Int(weights.starts[x])
            for c in 0..<channels {
                var sum: Float = 0
                for tap in 0..<weights.tapCount {
                    sum += weights.weights[x * weights.tapCount + tap] * line[(start + tap) * channels + c]
                }
                out[x * channels + c] = sum
            }
        }
    }

    private func sample(_ index: Int) -> Int {
        image.bitDepth == 16 ? Int(source.load(fromByteOffset: index * 2, as: UInt16.self)) : Int(source[index])
    }
}
