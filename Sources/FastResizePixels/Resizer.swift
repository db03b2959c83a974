// Resizer: separable 8-bit convolution in fixed point, band by band, vertical pass then horizontal pass.

/// Resamples images with one filter.
///
/// The output is made in bands of `bandRows` rows. For each band, the vertical pass filters the
/// input rows it needs into int16 rows; the band is then transposed, so that the horizontal pass is
/// the same contiguous row operation as the vertical one (every SIMD lane doing useful work, for
/// any number of channels); the result is written back transposed. Alpha is premultiplied on the
/// way in and divided out on the way back, so transparent pixels never bleed their colour.
/// Bands are independent, so one image can use several threads.
public struct Resizer: Sendable {
    public let filter: ResampleFilter
    public let backend: ResizeBackend

    /// Output rows per band: 16 makes every transposed row a whole number of 16-lane vectors.
    package static let bandRows = 16

    /// How much premultiplied input (pictures with alpha) a band filters at once: well inside a
    /// core's L2 cache.
    package static let premultipliedStripBytes = 128 << 10

    /// A path this processor cannot run (`avx2` asked for where there is none) falls back to `simd`.
    public init(filter: ResampleFilter = .default, backend: ResizeBackend = .best) {
        self.filter = filter
        self.backend = backend.isAvailable ? backend : .simd
    }

    /// Resizes the whole of `image` to `width` × `height`.
    public func resize(_ image: PixelBuffer, width: Int, height: Int) -> PixelBuffer {
        resize(image, region: SourceRegion(image), width: width, height: height)
    }

    /// Resizes the part `region` of `image` (which may have fractional edges) to `width` × `height`,
    /// using `threads` threads and the buffers and weight tables of `workspace`.
    public func resize(_ image: PixelBuffer, region: SourceRegion, width: Int, height: Int,
                       threads: Int = 1, workspace: ResizeWorkspace = ResizeWorkspace()) -> PixelBuffer {
        let horizontal = workspace.weights(inputCount: image.width, outputCount: width, filter: filter,
                                           offset: region.x, span: region.width)
        let vertical = workspace.weights(inputCount: image.height, outputCount: height, filter: filter,
                                         offset: region.y, span: region.height)
        if horizontal.isIdentity && vertical.isIdentity { return image }
        // Every output pixel is written by exactly one band.
        var output = PixelBuffer(uninitializedWidth: width, height: height, format: image.format)
        let bandCount = (height + Self.bandRows - 1) / Self.bandRows
        let scratch = workspace.scratchSets(max(1, min(threads, bandCount)))
        image.pixels.withUnsafeBufferPointer { source in
            output.pixels.withUnsafeMutableBufferPointer { target in
                let job = BandJob(source: source.baseAddress!, sourceWidth: image.width, format: image.format,
                                  target: target.baseAddress!, horizontal: horizontal, vertical: vertical,
                                  backend: backend, columns: horizontal.inputSpan)
                ParallelWork.forEach(count: bandCount, workers: scratch.count) { band, worker in
                    job.run(band: band, scratch: scratch[worker])
                }
            }
        }
        return output
    }
}

extension Resizer {
    /// Resizes a picture whose rows arrive in order (a decoder streaming them): `read(buffer, n)`
    /// must fill the next `n` rows of `sourceWidth` pixels. Only the input rows the next bands
    /// need are kept, in a strip that slides down the picture, so memory is a few dozen input rows
    /// however tall the picture is. The output is the same, byte for byte, as `resize` gives.
    public func resizeStreaming<E: Error>(sourceWidth: Int, sourceHeight: Int, format: PixelFormat, region: SourceRegion,
                                          width: Int, height: Int, threads: Int = 1,
                                          workspace: ResizeWorkspace = ResizeWorkspace(),
                                          read: (UnsafeMutablePointer<UInt8>, Int) throws(E) -> Void) throws(E) -> PixelBuffer {
        var output = PixelBuffer(uninitializedWidth: width, height: height, format: format)
        try output.pixels.withUnsafeMutableBufferPointer { target throws(E) in
            try streamBands(sourceWidth: sourceWidth, sourceHeight: sourceHeight, format: format, region: region,
                            width: width, height: height, threads: threads, workspace: workspace, read: read,
                            into: target.baseAddress!, emit: { _, _ throws(E) in })
        }
        return output
    }

    /// The same, with the output handed on as it is finished: `emit(rows, n)` gets the next `n`
    /// output rows (`width` pixels each, valid during the call), so the output never exists whole
    /// either. Output rows come in groups of one band per thread.
    public func resizeStreaming<E: Error>(sourceWidth: Int, sourceHeight: Int, format: PixelFormat, region: SourceRegion,
                                          width: Int, height: Int, threads: Int = 1,
                                          workspace: ResizeWorkspace = ResizeWorkspace(),
                                          read: (UnsafeMutablePointer<UInt8>, Int) throws(E) -> Void,
                                          emit: (UnsafePointer<UInt8>, Int) throws(E) -> Void) throws(E) {
        try streamBands(sourceWidth: sourceWidth, sourceHeight: sourceHeight, format: format, region: region,
                        width: width, height: height, threads: threads, workspace: workspace, read: read,
                        into: nil, emit: emit)
    }

    /// Both of the above: the bands write into `whole` (the full output) when it is given, else
    /// into a buffer of one group of bands that `emit` is handed once the group is done.
    private func streamBands<E: Error>(sourceWidth: Int, sourceHeight: Int, format: PixelFormat, region: SourceRegion,
                                       width: Int, height: Int, threads: Int, workspace: ResizeWorkspace,
                                       read: (UnsafeMutablePointer<UInt8>, Int) throws(E) -> Void,
                                       into whole: UnsafeMutablePointer<UInt8>?,
                                       emit: (UnsafePointer<UInt8>, Int) throws(E) -> Void) throws(E) {
        let horizontal = workspace.weights(inputCount: sourceWidth, outputCount: width, filter: filter,
                                           offset: region.x, span: region.width)
        let vertical = workspace.weights(inputCount: sourceHeight, outputCount: height, filter: filter,
                                         offset: region.y, span: region.height)
        let rowBytes = sourceWidth * format.channelCount
        let outputRowBytes = width * format.channelCount
        let bandCount = (height + Self.bandRows - 1) / Self.bandRows
        let workers = max(1, min(threads, bandCount))
        // Without `whole`, one group of output rows at a time.
        let groupRows = workers * Self.bandRows
        var groupBuffer = whole == nil
            ? [UInt8](unsafeUninitializedCapacity: groupRows * outputRowBytes) { _, count in count = groupRows * outputRowBytes }
            : []
        let groupCharge = PictureMeter.charge(groupBuffer.count)
        defer { withExtendedLifetime(groupCharge) {} }
        if horizontal.isIdentity && vertical.isIdentity {
            if let whole { return try read(whole, height) }
            try groupBuffer.withUnsafeMutableBufferPointer { buffer throws(E) in
                for first in stride(from: 0, to: height, by: groupRows) {
                    let count = min(groupRows, height - first)
                    try read(buffer.baseAddress!, count)
                    try emit(buffer.baseAddress!, count)
                }
            }
            return
        }
        // Bands go in groups, one per worker; a group needs input rows [first tap of its first
        // output row, last tap of its last output row).
        var groups = stride(from: 0, to: bandCount, by: workers).map { first -> (bands: Range<Int>, rows: Range<Int>) in
            let bands = first..<min(bandCount, first + workers)
            let lastOutputRow = min(height, bands.upperBound * Self.bandRows) - 1
            return (bands, vertical.inputRange(outputs: (bands.lowerBound * Self.bandRows)..<(lastOutputRow + 1)))
        }
        // Rows are read once, in order: a group's first row may not come before a later group's.
        for index in groups.indices.dropLast().reversed() where groups[index].rows.lowerBound > groups[index + 1].rows.lowerBound {
            groups[index].rows = groups[index + 1].rows.lowerBound..<groups[index].rows.upperBound
        }
        let capacity = groups.map(\.rows.count).max() ?? 1
        var strip = [UInt8](unsafeUninitializedCapacity: capacity * rowBytes) { _, count in count = capacity * rowBytes }
        let stripCharge = PictureMeter.charge(strip.count)
        defer { withExtendedLifetime(stripCharge) {} }
        let scratch = workspace.scratchSets(workers)
        var stripRows = 0..<0           // input rows the strip holds, from its start
        var nextRow = 0                 // the next row the reader gives
        for group in groups {
            try strip.withUnsafeMutableBufferPointer { buffer throws(E) in
                let base = buffer.baseAddress!
                // Keep the rows this group shares with the last one, move them to the front.
                let keepFrom = min(max(stripRows.lowerBound, group.rows.lowerBound), stripRows.upperBound)
                let kept = keepFrom..<stripRows.upperBound
                if !kept.isEmpty && kept.lowerBound > stripRows.lowerBound {
                    (base).update(from: base + (kept.lowerBound - stripRows.lowerBound) * rowBytes, count: kept.count * rowBytes)
                }
                var filled = kept.isEmpty ? 0 : kept.count
                // Rows before the group's first that no band reads are read and dropped.
                while nextRow < group.rows.lowerBound {
                    try read(base, 1)
                    nextRow += 1
                }
                if filled == 0 { stripRows = nextRow..<nextRow } else { stripRows = kept }
                let missing = group.rows.upperBound - nextRow
                if missing > 0 {
                    try read(base + filled * rowBytes, missing)
                    nextRow += missing
                    filled += missing
                }
                stripRows = stripRows.lowerBound..<(stripRows.lowerBound + filled)
            }
            let firstOutputRow = group.bands.lowerBound * Self.bandRows
            try groupBuffer.withUnsafeMutableBufferPointer { groupTarget throws(E) in
                strip.withUnsafeBufferPointer { source in
                    var job = BandJob(source: source.baseAddress!, sourceWidth: sourceWidth, format: format,
                                      target: whole ?? groupTarget.baseAddress!, horizontal: horizontal,
                                      vertical: vertical, backend: backend, columns: horizontal.inputSpan)
                    job.firstSourceRow = stripRows.lowerBound
                    job.firstTargetRow = whole == nil ? firstOutputRow : 0
                    let bands = group.bands, bandJob = job
                    ParallelWork.forEach(count: bands.count, workers: workers) { index, worker in
                        bandJob.run(band: bands.lowerBound + index, scratch: scratch[worker])
                    }
                }
                if whole == nil {
                    try emit(groupTarget.baseAddress!, min(height, group.bands.upperBound * Self.bandRows) - firstOutputRow)
                }
            }
        }
        // The decoder is read to the end, so it can check the rest of the file.
        if nextRow < sourceHeight {
            try strip.withUnsafeMutableBufferPointer { buffer throws(E) in
                while nextRow < sourceHeight {
                    try read(buffer.baseAddress!, 1)
                    nextRow += 1
                }
            }
        }
    }
}

/// Everything one band needs to know; the pointers stay valid for the duration of `resize`.
private struct BandJob: @unchecked Sendable {
    let source: UnsafePointer<UInt8>
    /// The input row `source` holds first (non-zero when only a strip of the input is in memory).
    var firstSourceRow = 0
    /// The output row `target` holds first (non-zero when only a group of bands is in memory).
    var firstTargetRow = 0
    let sourceWidth: Int
    let format: PixelFormat
    let target: UnsafeMutablePointer<UInt8>
    let horizontal: FixedPointWeights
    let vertical: FixedPointWeights
    let backend: ResizeBackend
    /// The input columns the horizontal pass reads (a crop reads fewer), worked out once.
    let columns: Range<Int>

    var channels: Int { format.channelCount }

    func run(band: Int, scratch: BandScratch) {
        let firstRow = band * Resizer.bandRows
        let rows = min(Resizer.bandRows, vertical.outputCount - firstRow)
        // Only the columns the horizontal pass reads are filtered vertically.
        let columnCount = columns.count
        let rowLength = columnCount * channels
        let verticalRows = scratch.vertical.reserve(Resizer.bandRows * rowLength)

        verticalPass(firstRow: firstRow, rows: rows, columns: columns, into: verticalRows, scratch: scratch)

        // Transpose: one row per input column holding that column's `bandRows` pixels.
        let transposedLength = Resizer.bandRows * channels
        let transposed = scratch.transposed.reserve(columnCount * transposedLength)
        if rows < Resizer.bandRows {
            transposed.update(repeating: 0, count: columnCount * transposedLength)
        }
        for j in 0..<rows {
            transpose(row: verticalRows + j * rowLength, columns: columnCount, into: transposed + j * channels,
                      stride: transposedLength)
        }

        horizontalPass(firstRow: firstRow, rows: rows, firstColumn: columns.lowerBound, transposed: transposed,
                       scratch: scratch)
    }

    /// Scatters one row's pixels down a column of the transposed band, a whole pixel per move.
    private func transpose(row: UnsafePointer<Int16>, columns: Int, into column: UnsafeMutablePointer<Int16>, stride: Int) {
        let source = UnsafeRawPointer(row)
        var target = UnsafeMutableRawPointer(column)
        let byteStride = stride * MemoryLayout<Int16>.size
        switch channels {
        case 1:
            for x in 0..<columns { target.storeBytes(of: row[x], as: Int16.self); target += byteStride }
        case 2:
            for x in 0..<columns {
                target.storeBytes(of: source.loadUnaligned(fromByteOffset: x * 4, as: UInt32.self), as: UInt32.self)
                target += byteStride
            }
        case 4:
            for x in 0..<columns {
                target.storeBytes(of: source.loadUnaligned(fromByteOffset: x * 8, as: UInt64.self), as: UInt64.self)
                target += byteStride
            }
        default:
            for x in 0..<columns {
                target.storeBytes(of: source.loadUnaligned(fromByteOffset: x * 6, as: UInt32.self), as: UInt32.self)
                target.storeBytes(of: source.loadUnaligned(fromByteOffset: x * 6 + 4, as: UInt16.self), toByteOffset: 4,
                                  as: UInt16.self)
                target += byteStride
            }
        }
    }

    /// Output rows `firstRow ..< firstRow + rows`, every needed column, as int16 with 6 fractional bits.
    private func verticalPass(firstRow: Int, rows: Int, columns: Range<Int>, into output: UnsafeMutablePointer<Int16>,
                              scratch: BandScratch) {
        let taps = vertical.tapCount
        let rowLength = columns.count * channels
        let sourceStride = sourceWidth * channels
        vertical.values.withUnsafeBufferPointer { weights in
            if !format.hasAlpha {
                for j in 0..<rows {
                    let y = firstRow + j
                    let first = source + (Int(vertical.starts[y]) - firstSourceRow) * sourceStride + columns.lowerBound * channels
                    RowKernels.weightedSum(Rows(base: first, stride: sourceStride), weights: weights.baseAddress! + y * taps,
                                           taps: taps, count: rowLength, shift: vertical.precision - intermediateFractionBits,
                                           into: output + j * rowLength, backend: backend)
                }
                return
            }
            // With alpha, the rows this band reads are premultiplied once, then filtered: a strip
            // of columns at a time, so that the premultiplied strip is still in the cache when it is
            // filtered (the whole band's rows are megabytes on a large picture).
            let inputs = vertical.inputRange(outputs: firstRow..<(firstRow + rows))
            let firstInput = inputs.lowerBound, lastInput = inputs.upperBound
            // (A multiple of 8 pixels, so that only the last strip leaves the vector kernels a tail.)
            let stripPixels = Swift.max(64, Resizer.premultipliedStripBytes / ((lastInput - firstInput) * channels * 2) & ~7)
            let premultiplied = scratch.premultiplied.reserve((lastInput - firstInput) * Swift.min(stripPixels, columns.count) * channels)
            for strip in Swift.stride(from: 0, to: columns.count, by: stripPixels) {
                let pixels = Swift.min(stripPixels, columns.count - strip)
                let stripLength = pixels * channels
                for y in firstInput..<lastInput {
                    premultiply(source + (y - firstSourceRow) * sourceStride + (columns.lowerBound + strip) * channels,
                                into: premultiplied + (y - firstInput) * stripLength, pixels: pixels)
                }
                for j in 0..<rows {
                    let y = firstRow + j
                    let first = premultiplied + (Int(vertical.starts[y]) - firstInput) * stripLength
                    RowKernels.weightedSum(Rows(base: first, stride: stripLength), weights: weights.baseAddress! + y * taps,
                                           taps: taps, count: stripLength,
                                           shift: vertical.precision + premultipliedFractionBits - intermediateFractionBits,
                                           into: output + j * rowLength + strip * channels, backend: backend)
                }
            }
        }
    }

    /// Filters the transposed band along the old rows and writes each output column back in place.
    private func horizontalPass(firstRow: Int, rows: Int, firstColumn: Int, transposed: UnsafeMutablePointer<Int16>,
                                scratch: BandScratch) {
        let taps = horizontal.tapCount
        let length = Resizer.bandRows * channels
        let sums = scratch.sums.reserve(length)
        let bytes = scratch.bytes.reserve(length)
        let shift = horizontal.precision + intermediateFractionBits
        let outputWidth = horizontal.outputCount
        horizontal.values.withUnsafeBufferPointer { weights in
            for x in 0..<outputWidth {
                let columnRows = Rows(base: UnsafePointer(transposed + (Int(horizontal.starts[x]) - firstColumn) * length),
                                      stride: length)
                let columnWeights = weights.baseAddress! + x * taps
                if format.hasAlpha {
                    RowKernels.weightedSum(columnRows, weights: columnWeights, taps: taps, count: length, into: sums,
                                           backend: backend)
                    RowKernels.unpremultiply(sums, pixels: rows, channels: channels, shift: shift,
                                             into: target + ((firstRow - firstTargetRow) * outputWidth + x) * channels,
                                             stride: outputWidth * channels, backend: backend)
                } else {
                    RowKernels.weightedSum(columnRows, weights: columnWeights, taps: taps, count: length, shift: shift,
                                           into: bytes, backend: backend)
                    scatter(bytes, rows: rows, into: target + ((firstRow - firstTargetRow) * outputWidth + x) * channels,
                            stride: outputWidth * channels)
                }
            }
        }
    }

    /// Puts an output column's pixels (`rows` of them, packed) down the output rows, a whole pixel
    /// per move: this runs for every output pixel, so it is written per layout, without overflow
    /// checks (the offsets stay inside the band, whose size was checked when the output was made).
    /// Only gray and RGB come here: pictures with alpha are divided by it on their way out.
    private func scatter(_ column: UnsafePointer<UInt8>, rows: Int, into first: UnsafeMutablePointer<UInt8>, stride: Int) {
        let source = UnsafeRawPointer(column)
        var target = UnsafeMutableRawPointer(first)
        if channels == 1 {
            for j in 0..<rows { target.storeBytes(of: column[j], as: UInt8.self); target += stride }
            return
        }
        precondition(channels == 3, "only gray and RGB are scattered")
        for j in 0..<rows {
            target.storeBytes(of: source.loadUnaligned(fromByteOffset: j &* 3, as: UInt16.self), as: UInt16.self)
            target.storeBytes(of: source.load(fromByteOffset: j &* 3 &+ 2, as: UInt8.self), toByteOffset: 2, as: UInt8.self)
            target += stride
        }
    }

    /// Colour × alpha / 255 with 7 fractional bits; alpha itself scaled the same way. A table of
    /// every (alpha, colour) product turns the division into one load per sample.
    private func premultiply(_ row: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Int16>, pixels: Int) {
        let alphaIndex = channels - 1
        var first = 0
        if backend != .scalar && channels == 4 {
            first = RowKernels.premultiplyRGBA(row, into: output, pixels: pixels, backend: backend)
        }
        premultipliedTable.withUnsafeBufferPointer { table in
            for x in first..<pixels {
                let base = x * channels
                let alpha = Int(row[base + alphaIndex])
                let products = table.baseAddress! + alpha << 8
                for c in 0..<alphaIndex { output[base + c] = products[Int(row[base + c])] }
                output[base + alphaIndex] = Int16(alpha << premultipliedFractionBits)
            }
        }
    }

}

/// round(colour × alpha × 128 / 255) for every alpha (row) and colour (column).
private let premultipliedTable: [Int16] = (0..<(256 * 256)).map { (index: Int) -> Int16 in
    let colour = Int32(index & 255), alpha = Int32(index >> 8)
    let product: Int32 = colour * alpha * Int32(1 << premultipliedFractionBits)
    return Int16((product + 127) / 255)
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
