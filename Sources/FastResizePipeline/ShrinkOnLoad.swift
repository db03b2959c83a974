// ShrinkOnLoad: how much of a large reduction is done cheaply (in the decoder, then by box

import FastResizePixels
// averaging) before the real filter, and how much is always left to the filter.

/// The rule, after libvips' thumbnail: shrink while decoding (JPEG's DCT scaling, WebP's rescaler)
/// and then by integer box averaging, but always leave the filter at least `kernelRoom` times to
/// reduce, so its sharpness and antialiasing decide the result. The cheap steps only ever remove
/// detail the filter would have removed anyway; the quality test (PSNR against a float64
/// full-decode Lanczos3 reference on the corpus photos) holds the rule to that. The `nearest`
/// filter gets neither step: point sampling means source pixels as they are.
public enum ShrinkOnLoad {
    /// The least reduction left for the filter.
    public static let kernelRoom = 1.5

    /// The largest integer factor a decoder may shrink by, for a total reduction of `shrink`.
    public static func decoderFactor(shrink: Double) -> Int {
        max(1, Int((shrink / kernelRoom).rounded(.down)))
    }

    /// The integer box factor for what is left after decoding (1 when the filter can do it alone).
    public static func boxFactor(remaining shrink: Double) -> Int {
        max(1, Int((shrink / kernelRoom).rounded(.down)))
    }
}

extension PixelBuffer {
    /// Averages `factorX` × `factorY` blocks (the last, partial blocks over the pixels they have).
    /// Only for layouts without alpha: averaging straight colour across transparency would bleed.
    public func boxShrunk(byX factorX: Int, byY factorY: Int) -> PixelBuffer {
        precondition(!format.hasAlpha, "box shrinking needs premultiplied colour")
        if factorX == 1 && factorY == 1 { return self }
        let outputWidth = (width + factorX - 1) / factorX
        let outputHeight = (height + factorY - 1) / factorY
        let channels = format.channelCount
        var output = PixelBuffer(uninitializedWidth: outputWidth, height: outputHeight, format: format)
        var sums = [UInt32](repeating: 0, count: outputWidth * channels)
        pixels.withUnsafeBufferPointer { source in
            output.pixels.withUnsafeMutableBufferPointer { target in
                sums.withUnsafeMutableBufferPointer { sums in
                    for outputY in 0..<outputHeight {
                        let firstRow = outputY * factorY
                        let rowCount = min(factorY, height - firstRow)
                        sums.update(repeating: 0)
                        for y in firstRow..<(firstRow + rowCount) {
                            let row = source.baseAddress! + y * width * channels
                            for x in 0..<width {
                                let sum = (x / factorX) * channels
                                for c in 0..<channels { sums[sum + c] &+= UInt32(row[x * channels + c]) }
                            }
                        }
                        let out = target.baseAddress! + outputY * outputWidth * channels
                        for outputX in 0..<outputWidth {
                            let count = UInt32(min(factorX, width - outputX * factorX) * rowCount)
                            for c in 0..<channels {
                                out[outputX * channels + c] = UInt8((sums[outputX * channels + c] + count / 2) / count)
                            }
                        }
                    }
                }
            }
        }
        return output
    }
}

/// Box averaging on rows as a `RowReader` delivers them: each output row averages `factorY` input
/// rows and each pixel `factorX` columns, rounded as `PixelBuffer.boxShrunk` rounds, so streaming
/// and whole-picture decoding give the same bytes.
final class BoxRows {
    let reader: any RowReader
    let factorX: Int
    let factorY: Int
    let width: Int
    let height: Int
    private var inputRowsLeft: Int
    private var block: [UInt8]
    private var sums: [UInt32]
    /// The block and sums, counted by the `PictureMeter` measuring, if one is.
    private let charge: PictureCharge?

    init(reader: any RowReader, factorX: Int, factorY: Int) {
        self.reader = reader
        self.factorX = factorX
        self.factorY = factorY
        width = (reader.width + factorX - 1) / factorX
        height = (reader.height + factorY - 1) / factorY
        inputRowsLeft = reader.height
        let needsBlock = factorX > 1 || factorY > 1
        block = needsBlock ? [UInt8](repeating: 0, count: factorY * reader.width * reader.format.channelCount) : []
        sums = needsBlock ? [UInt32](repeating: 0, count: width * reader.format.channelCount) : []
        charge = PictureMeter.charge(block.count + sums.count * 4)
    }

    func read(into target: UnsafeMutablePointer<UInt8>, rows count: Int) throws(CodecError) {
        if factorX == 1 && factorY == 1 {
            try reader.read(into: target, rows: count)
            return
        }
        let channels = reader.format.channelCount
        let inputWidth = reader.width
        for row in 0..<count {
            let rowCount = min(factorY, inputRowsLeft)
            try block.withUnsafeMutableBufferPointer { block throws(CodecError) in
                try reader.read(into: block.baseAddress!, rows: rowCount)
            }
            inputRowsLeft -= rowCount
            let out = target + row * width * channels
            block.withUnsafeBufferPointer { block in
                sums.withUnsafeMutableBufferPointer { sums in
                    sums.update(repeating: 0)
                    for y in 0..<rowCount {
                        let line = block.baseAddress! + y * inputWidth * channels
                        for x in 0..<inputWidth {
                            let sum = (x / factorX) * channels
                            for c in 0..<channels { sums[sum + c] &+= UInt32(line[x * channels + c]) }
                        }
                    }
                    for outputX in 0..<width {
                        let pixels = UInt32(min(factorX, inputWidth - outputX * factorX) * rowCount)
                        for c in 0..<channels {
                            out[outputX * channels + c] = UInt8((sums[outputX * channels + c] + pixels / 2) / pixels)
                        }
                    }
                }
            }
        }
    }
}
