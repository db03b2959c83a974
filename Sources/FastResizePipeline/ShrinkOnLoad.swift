// ShrinkOnLoad: how much of a large reduction is done cheaply (in the decoder, then by box averaging) before the real filter, and how much is always left to the filter.

import FastResizePixels

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
        var sums = [UInt32](repeating: 0, count: width * channels)
        pixels.withUnsafeBufferPointer { source in
            output.pixels.withUnsafeMutableBufferPointer { target in
                sums.withUnsafeMutableBufferPointer { sums in
                    for outputY in 0..<outputHeight {
                        let firstRow = outputY * factorY
                        BoxKernel.average(source.baseAddress! + firstRow * width * channels, rows: min(factorY, height - firstRow),
                                          width: width, channels: channels, factorX: factorX, sums: sums.baseAddress!,
                                          into: target.baseAddress! + outputY * outputWidth * channels)
                    }
                }
            }
        }
        return output
    }
}

/// Box averaging's one kernel, shared by whole pictures and rows (pulled or pushed) so all give
/// the same bytes: the rows' columns are summed first (a straight run over the bytes, which the
/// compiler vectorises), then each block of `factorX` column sums is rounded to its mean, by a
/// multiplication where that is exact. No division or index arithmetic per input sample: that
/// made the box step a quarter of a profile's time.
enum BoxKernel {
    /// `rows` rows of `width` pixels (`channels` samples each, packed) averaged into one row of
    /// ⌈width / factorX⌉ pixels. `sums` has room for width × channels.
    static func average(_ source: UnsafePointer<UInt8>, rows: Int, width: Int, channels: Int, factorX: Int,
                        sums: UnsafeMutablePointer<UInt32>, into out: UnsafeMutablePointer<UInt8>) {
        let samples = width * channels
        for row in 0..<max(rows, 1) { add(source + row * samples, samples: samples, to: sums, first: row == 0) }
        means(sums, rows: max(rows, 1), width: width, channels: channels, factorX: factorX, into: out)
    }

    /// A row's samples added to `sums`, or put in them for a block's `first` row.
    @inline(__always)
    static func add(_ row: UnsafePointer<UInt8>, samples: Int, to sums: UnsafeMutablePointer<UInt32>, first: Bool) {
        RowKernels.addColumns(row, to: sums, count: samples, first: first, backend: backend)
    }

    /// The kernels' fastest path here (the `FASTRESIZE_KERNELS` choice included).
    private static let backend = ResizeBackend.best

    /// The rounded means of `rows` rows summed in `sums`, a block of `factorX` columns a pixel.
    static func means(_ sums: UnsafePointer<UInt32>, rows: Int, width: Int, channels: Int, factorX: Int,
                      into out: UnsafeMutablePointer<UInt8>) {
        // A full block's count d: n / d is (n × ⌈2³² / d⌉) >> 32 exactly while n < 2³² / d, and
        // n ≤ 256 d here, so for every d below 4096 (a 64 × 64 block).
        let full = UInt32(factorX * rows)
        let reciprocal = full < 4096 ? (UInt64(1) << 32 + UInt64(full) - 1) / UInt64(full) : 0
        @inline(__always) func mean(_ total: UInt32, _ pixels: UInt32) -> UInt8 {
            let rounded = total &+ pixels / 2
            return pixels == full && reciprocal != 0
                ? UInt8(truncatingIfNeeded: (UInt64(rounded) &* reciprocal) >> 32) : UInt8(rounded / pixels)
        }
        var first = 0
        var outputIndex = 0
        if channels == 3 {
            // RGB, the usual case, with its three totals held apart.
            while first < width {
                let count = min(factorX, width - first)
                var (red, green, blue): (UInt32, UInt32, UInt32) = (0, 0, 0)
                var index = first &* 3
                for _ in 0..<count {
                    red &+= sums[index]
                    green &+= sums[index &+ 1]
                    blue &+= sums[index &+ 2]
                    index &+= 3
                }
                let pixels = UInt32(count * rows)
                out[outputIndex] = mean(red, pixels)
                out[outputIndex &+ 1] = mean(green, pixels)
                out[outputIndex &+ 2] = mean(blue, pixels)
                first &+= count
                outputIndex &+= 3
            }
            return
        }
        while first < width {
            let count = min(factorX, width - first)
            let pixels = UInt32(count * rows)
            for channel in 0..<channels {
                var total: UInt32 = 0
                var index = first * channels + channel
                for _ in 0..<count {
                    total &+= sums[index]
                    index += channels
                }
                out[outputIndex + channel] = mean(total, pixels)
            }
            first += count
            outputIndex += channels
        }
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
        sums = needsBlock ? [UInt32](repeating: 0, count: reader.width * reader.format.channelCount) : []
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
            block.withUnsafeBufferPointer { block in
                sums.withUnsafeMutableBufferPointer { sums in
                    BoxKernel.average(block.baseAddress!, rows: rowCount, width: inputWidth, channels: channels, factorX: factorX,
                                      sums: sums.baseAddress!, into: target + row * width * channels)
                }
            }
        }
    }
}

/// Box averaging on rows pushed to it (where `BoxRows` pulls them), rounded as `BoxRows` rounds:
/// the rows a decode hands one output also make another's smaller picture as they pass. Each row
/// it makes goes on to `next`, if any, so a third output averages this one's rows, not the
/// decoder's (a chain of sinks reads the full rows once); finish them in the chain's order.
final class BoxSink {
    let factorX: Int
    let factorY: Int
    /// The width and height of the rows pushed, and those of the picture made from them.
    let inputWidth: Int
    let inputHeight: Int
    let width: Int
    let height: Int
    private let channels: Int
    private let next: BoxSink?
    private var picture: PixelBuffer
    private var sums: [UInt32]
    private var filled = 0
    private var outputRow = 0
    private let charge: PictureCharge?

    init(width: Int, height: Int, format: PixelFormat, factorX: Int, factorY: Int, next: BoxSink? = nil) {
        self.factorX = factorX
        self.factorY = factorY
        inputWidth = width
        inputHeight = height
        self.width = (width + factorX - 1) / factorX
        self.height = (height + factorY - 1) / factorY
        self.next = next
        channels = format.channelCount
        picture = PixelBuffer(uninitializedWidth: self.width, height: self.height, format: format)
        sums = [UInt32](repeating: 0, count: width * channels)
        charge = PictureMeter.charge(sums.count * 4)
    }

    /// The next `count` rows of the picture.
    func push(_ rows: UnsafePointer<UInt8>, count: Int) {
        let rowBytes = inputWidth * channels
        sums.withUnsafeMutableBufferPointer { sums in
            for row in 0..<count {
                BoxKernel.add(rows + row * rowBytes, samples: rowBytes, to: sums.baseAddress!, first: filled == 0)
                filled += 1
                if filled == factorY { emit(sums.baseAddress!) }
            }
        }
    }

    /// The averaged picture, its last block over the rows it has (and handed on to `next`).
    func finish() -> PixelBuffer {
        if filled > 0 { sums.withUnsafeBufferPointer { emit($0.baseAddress!) } }
        return picture
    }

    private func emit(_ sums: UnsafePointer<UInt32>) {
        let outputBytes = width * channels
        picture.pixels.withUnsafeMutableBufferPointer { target in
            let row = target.baseAddress! + outputRow * outputBytes
            BoxKernel.means(sums, rows: filled, width: inputWidth, channels: channels, factorX: factorX, into: row)
            next?.push(row, count: 1)
        }
        outputRow += 1
        filled = 0
    }
}

/// A decoder's rows, handed on as read and pushed to `sink` as they pass (reading them counts as
/// decoding); `drain` reads what the reader's user left, so the sink gets the whole picture.
final class TeeRows: RowReader {
    private let reader: any RowReader
    private let sink: BoxSink?
    private let clock: StageClock?
    private var rowsRead = 0

    init(reader: any RowReader, sink: BoxSink?, clock: StageClock?) {
        self.reader = reader
        self.sink = sink
        self.clock = clock
    }

    var width: Int { reader.width }
    var height: Int { reader.height }
    var format: PixelFormat { reader.format }
    var scaleX: Double { reader.scaleX }
    var scaleY: Double { reader.scaleY }

    func read(into target: UnsafeMutablePointer<UInt8>, rows count: Int) throws(CodecError) {
        try clock.measure(.decode) { () throws(CodecError) in try reader.read(into: target, rows: count) }
        sink?.push(target, count: count)
        rowsRead += count
    }

    /// The rows not read yet, read for the sinks only.
    func drain() throws(CodecError) {
        guard rowsRead < height, sink != nil else { return }
        let chunk = 16
        var rows = [UInt8](repeating: 0, count: chunk * width * format.channelCount)
        try rows.withUnsafeMutableBufferPointer { rows throws(CodecError) in
            while rowsRead < height { try read(into: rows.baseAddress!, rows: min(chunk, height - rowsRead)) }
        }
    }
}
