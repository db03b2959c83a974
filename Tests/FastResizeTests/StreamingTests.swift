// StreamingTests: resizing rows as they arrive gives exactly what resizing the whole picture gives.

@testable import FastResize
@testable import FastResizePipeline
@testable import FastResizePixels
import Foundation
import Testing
import TestSupport

@Suite struct StreamingTests {
    /// Feeds `image` to the streaming resizer in chunks of `chunk` rows, counting what it asked for.
    static func streamed(_ image: PixelBuffer, region: SourceRegion, width: Int, height: Int, threads: Int,
                         filter: ResampleFilter = .lanczos3) -> (PixelBuffer, Int) {
        var next = 0
        let output = Resizer(filter: filter).resizeStreaming(
            sourceWidth: image.width, sourceHeight: image.height, format: image.format, region: region,
            width: width, height: height, threads: threads) { (target: UnsafeMutablePointer<UInt8>, count: Int) in
            image.pixels.withUnsafeBufferPointer { source in
                target.update(from: source.baseAddress! + next * image.bytesPerRow, count: count * image.bytesPerRow)
            }
            next += count
        }
        return (output, next)
    }

    @Test(arguments: PixelFormat.allCases, [1, 2, 3])
    func sameBytesAsTheWholePicture(_ format: PixelFormat, threads: Int) {
        let image = TestImages.pattern(width: 173, height: 391, format: format, seed: 17)
        for (width, height) in [(40, 90), (173, 100), (60, 391), (300, 500)] {
            let region = SourceRegion(image)
            let whole = Resizer().resize(image, region: region, width: width, height: height, threads: threads)
            let (streamed, rowsRead) = Self.streamed(image, region: region, width: width, height: height, threads: threads)
            #expect(streamed == whole, "\(format) \(width)x\(height) threads \(threads)")
            #expect(rowsRead == image.height)
        }
    }

    /// A crop (fill) reads only part of the picture: rows above are skipped, rows below still read.
    @Test func cropsAndIdentity() {
        let image = TestImages.pattern(width: 120, height: 200, format: .rgb, seed: 5)
        let region = SourceRegion(x: 10.5, y: 60.25, width: 90, height: 70.5)
        let whole = Resizer().resize(image, region: region, width: 30, height: 23)
        #expect(Self.streamed(image, region: region, width: 30, height: 23, threads: 2).0 == whole)
        #expect(Self.streamed(image, region: SourceRegion(image), width: 120, height: 200, threads: 1).0 == image)
        let nearest = Resizer(filter: .nearest).resize(image, region: region, width: 30, height: 23)
        #expect(Self.streamed(image, region: region, width: 30, height: 23, threads: 1, filter: .nearest).0 == nearest)
    }
}

@Suite struct RowPrefetcherTests {
    /// Rows taken in uneven counts come out in order, exactly as the source gave them; a source
    /// error reaches the reader; stopping early leaves the producer's thread.
    @Test func rowsArriveInOrderAndErrorsCarry() throws {
        let rowBytes = 7, height = 101
        let prefetcher = RowPrefetcher(rowBytes: rowBytes, height: height, chunkRows: 8, format: ImageFormat(rawValue: "png")) { target, count in
            for i in 0..<(count * rowBytes) { target[i] = UInt8(truncatingIfNeeded: i / rowBytes) }
        }
        var next = 0, all = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 13 * rowBytes)
        for count in [1, 13, 5, 8, 9, 13, 13, 13, 13, 13] where next + count <= height {
            try buffer.withUnsafeMutableBufferPointer { try prefetcher.read(into: $0.baseAddress!, rows: count) }
            all += buffer.prefix(count * rowBytes)
            next += count
        }
        prefetcher.stop()
        // Each chunk numbers its rows from 0: row r of the picture is r % 8.
        #expect(all == (0..<next).flatMap { [UInt8](repeating: UInt8($0 % 8), count: rowBytes) })

        var calls = 0
        let failing = RowPrefetcher(rowBytes: 4, height: 50, chunkRows: 10, format: ImageFormat(rawValue: "jpeg")) { (_: UnsafeMutablePointer<UInt8>, _: Int) throws(CodecError) in
            calls += 1
            if calls == 2 { throw .decodeFailed(ImageFormat(rawValue: "jpeg"), "broken") }
        }
        var row = [UInt8](repeating: 0, count: 4 * 20)
        #expect(throws: CodecError.decodeFailed(ImageFormat(rawValue: "jpeg"), "broken")) {
            try row.withUnsafeMutableBufferPointer { try failing.read(into: $0.baseAddress!, rows: 20) }
        }
        failing.stop()
    }
}

@Suite struct MemoryBudgetTests {
    /// Two files that each need 60% of the budget never run together; small ones share it.
    @Test func admitsWhileTheSumFits() {
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var now = 0, most = 0
            func add(_ bytes: Int) { lock.withLock { now += bytes; most = max(most, now) } }
        }
        let budget = MemoryBudget(limit: 100)
        let tally = Tally()
        let needs = [60, 60, 60, 30, 30]
        DispatchQueue.concurrentPerform(iterations: needs.count) { index in
            let admission = budget.acquire(needs[index])
            tally.add(needs[index])
            usleep(20_000)
            tally.add(-needs[index])
            admission.release()
            admission.release()     // a second release gives nothing back twice
        }
        #expect(tally.most <= 100)
        #expect(tally.most >= 60)
        #expect(tally.now == 0)
    }

    /// The estimate follows the plan: a file the decoder streams needs a strip, not the picture.
    @Test func needFollowsThePlan() {
        // JPEG as its codec describes it: shrunk on load by powers of two.
        let codecs = CodecRegistry(formats: [FormatDescription(format: ImageFormat(rawValue: "jpeg"), extensions: [],
                                                               decoderShrink: .powersOfTwo) { _ in false }])
        let pipeline = FilePipeline(codecs: codecs, settings: ResizeSettings(mode: .fit(width: 1024, height: 1024)))
        let jpeg = ImageInfo(format: ImageFormat(rawValue: "jpeg"), width: 16000, height: 13064, hasAlpha: false, streamsRows: true)
        let tiff = ImageInfo(format: ImageFormat(rawValue: "tiff"), width: 16000, height: 13064, hasAlpha: false, streamsRows: true)
        let wholeTIFF = ImageInfo(format: ImageFormat(rawValue: "tiff"), width: 16000, height: 13064, hasAlpha: false)
        #expect(pipeline.renderPlan(for: jpeg).memoryNeed < 16 << 20)
        #expect(pipeline.renderPlan(for: tiff).memoryNeed < 64 << 20)
        #expect(pipeline.renderPlan(for: wholeTIFF).memoryNeed > 16000 * 13064 * 3)      // the RGB picture, whole
    }
}

@Suite struct StreamedOutputTests {
    /// The output handed on group by group (as encoders that take rows get it) is, row for row,
    /// what the whole output holds: with and without alpha, one to three threads, a crop, and
    /// the identity (no resampling at all).
    @Test(arguments: PixelFormat.allCases, [1, 2, 3])
    func emittedRowsAreTheWholeOutput(_ format: PixelFormat, threads: Int) {
        let image = TestImages.pattern(width: 151, height: 287, format: format, seed: 3)
        let cases = [(SourceRegion(image), 40, 90), (SourceRegion(image), 151, 300),
                     (SourceRegion(x: 10.5, y: 60.25, width: 90, height: 70.5), 30, 23), (SourceRegion(image), 151, 287)]
        for (region, width, height) in cases {
            let whole = Resizer().resize(image, region: region, width: width, height: height, threads: threads)
            var next = 0, emitted: [UInt8] = [], groups = 0
            Resizer().resizeStreaming(sourceWidth: image.width, sourceHeight: image.height, format: image.format,
                                      region: region, width: width, height: height, threads: threads,
                                      read: { (target: UnsafeMutablePointer<UInt8>, count: Int) in
                image.pixels.withUnsafeBufferPointer { source in
                    target.update(from: source.baseAddress! + next * image.bytesPerRow, count: count * image.bytesPerRow)
                }
                next += count
            }, emit: { rows, count in
                emitted += UnsafeBufferPointer(start: rows, count: count * width * format.channelCount)
                groups += 1
            })
            #expect(emitted == whole.pixels, "\(format) \(width)x\(height) threads \(threads)")
            #expect(next == image.height)
            // Never the whole output at once: groups of one 16-row band per thread.
            #expect(groups == (height + 16 * threads - 1) / (16 * threads))
        }
    }
}

@Suite struct BoxAveragingTests {
    /// Rows of a picture handed over a few at a time, as a decoder's reader hands them.
    final class PictureRows: RowReader {
        let picture: PixelBuffer
        var next = 0
        init(_ picture: PixelBuffer) { self.picture = picture }
        var width: Int { picture.width }
        var height: Int { picture.height }
        var format: PixelFormat { picture.format }
        var scaleX: Double { 1 }
        var scaleY: Double { 1 }
        func read(into target: UnsafeMutablePointer<UInt8>, rows count: Int) throws(CodecError) {
            picture.pixels.withUnsafeBufferPointer { source in
                target.update(from: source.baseAddress! + next * picture.bytesPerRow, count: count * picture.bytesPerRow)
            }
            next += count
        }
    }

    /// Each output pixel the rounded mean of its block, the last blocks over the pixels they have:
    /// the whole picture, its rows pulled and its rows pushed give exactly that, for every layout
    /// box averaging takes, factors that divide the size and factors that leave partial blocks,
    /// blocks just under the 4096 pixels the mean is taken by multiplication for and over them.
    @Test(arguments: [PixelFormat.gray, .rgb], [(2, 2), (1, 3), (3, 1), (5, 4), (7, 7), (16, 9), (67, 61), (68, 61)])
    func blocksAreRoundedMeans(_ format: PixelFormat, factors: (Int, Int)) throws {
        let (factorX, factorY) = factors
        let image = TestImages.pattern(width: 103, height: 61, format: format, seed: 7)
        let channels = format.channelCount
        let width = (image.width + factorX - 1) / factorX, height = (image.height + factorY - 1) / factorY
        var expected = [UInt8]()
        for y in 0..<height {
            for x in 0..<width {
                let columns = x * factorX..<min((x + 1) * factorX, image.width)
                let rows = y * factorY..<min((y + 1) * factorY, image.height)
                for channel in 0..<channels {
                    var sum = 0
                    for row in rows { for column in columns { sum += Int(image.pixels[(row * image.width + column) * channels + channel]) } }
                    let count = columns.count * rows.count
                    expected.append(UInt8((sum + count / 2) / count))
                }
            }
        }
        let whole = image.boxShrunk(byX: factorX, byY: factorY)
        #expect(whole.width == width && whole.height == height && whole.pixels == expected)
        let rows = BoxRows(reader: PictureRows(image), factorX: factorX, factorY: factorY)
        var streamed = [UInt8](repeating: 0, count: width * height * channels)
        try streamed.withUnsafeMutableBufferPointer { target throws(CodecError) in
            // Two calls, the second taking the rest: a reader's state carries across calls.
            try rows.read(into: target.baseAddress!, rows: height / 2)
            try rows.read(into: target.baseAddress! + height / 2 * width * channels, rows: height - height / 2)
        }
        #expect(streamed == expected)
        // Pushed in uneven runs, and on down a chain: the second sink averages the first's rows.
        let next = BoxSink(width: width, height: height, format: format, factorX: 2, factorY: 3)
        let sink = BoxSink(width: image.width, height: image.height, format: format, factorX: factorX, factorY: factorY, next: next)
        image.pixels.withUnsafeBufferPointer { pixels in
            var row = 0
            while row < image.height {
                let count = min(1 + row % 5, image.height - row)
                sink.push(pixels.baseAddress! + row * image.width * channels, count: count)
                row += count
            }
        }
        #expect(sink.finish().pixels == expected)
        #expect(next.finish() == whole.boxShrunk(byX: 2, byY: 3))
    }
}
