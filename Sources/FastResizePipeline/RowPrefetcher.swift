// RowPrefetcher: decodes rows ahead on a thread of its own, so a lone huge picture decodes on one core while it is resized on another.

import FastResizePixels
import Foundation

/// Double-buffered rows between a producer thread (the decoder, and the box pre-shrink) and the
/// resampler asking for rows. Decoding a huge PNG or JPEG is one sequential stream; with a
/// second core idle, handing it to its own thread takes the decode off the resize's critical
/// path. Memory: two chunks of rows.
final class RowPrefetcher: @unchecked Sendable {
    private let rowBytes: Int
    private let format: ImageFormat
    private let condition = NSCondition()
    /// The two chunks; `filled[i]` rows of chunk i are ready (0 = free for the producer).
    private var chunks: [UnsafeMutablePointer<UInt8>]
    /// The chunks, counted by the `PictureMeter` measuring, if one is.
    private let charge: PictureCharge?
    private var filled = [0, 0]
    private let chunkRows: Int
    private var failure: CodecError?
    private var stopping = false
    private var producerDone = false
    /// The consumer's place: which chunk, and how many of its rows it has taken.
    private var current = 0
    private var taken = 0

    /// Starts reading `height` rows of `rowBytes` each through `source`, `chunkRows` at a time.
    /// `source` runs on the prefetcher's thread only, until `stop()` returns.
    init(rowBytes: Int, height: Int, chunkRows: Int, format: ImageFormat,
         source: @escaping (UnsafeMutablePointer<UInt8>, Int) throws(CodecError) -> Void) {
        self.rowBytes = rowBytes
        self.format = format
        self.chunkRows = max(1, chunkRows)
        chunks = (0..<2).map { _ in UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, rowBytes * max(1, chunkRows))) }
        charge = PictureMeter.charge(2 * max(1, rowBytes * max(1, chunkRows)))
        // The source (a decoder) is used by the new thread alone until stop(): handed over, not shared.
        let handOver = HandOver(source)
        DetachedThread.start(name: "fastresize.rows") { [self] in produce(height: height, source: handOver.source) }
    }

    deinit {
        chunks.forEach { $0.deallocate() }
    }

    private func produce(height: Int, source: (UnsafeMutablePointer<UInt8>, Int) throws(CodecError) -> Void) {
        var next = 0, chunk = 0
        while next < height {
            condition.lock()
            while filled[chunk] != 0 && !stopping { condition.wait() }
            let stop = stopping
            condition.unlock()
            if stop { break }
            let count = min(chunkRows, height - next)
            do throws(CodecError) {
                try source(chunks[chunk], count)
            } catch {
                condition.lock()
                failure = error
                condition.broadcast()
                condition.unlock()
                break
            }
            next += count
            condition.lock()
            filled[chunk] = count
            condition.broadcast()
            condition.unlock()
            chunk ^= 1
        }
        condition.lock()
        producerDone = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next `count` rows, as the source would have given them.
    func read(into target: UnsafeMutablePointer<UInt8>, rows count: Int) throws(CodecError) {
        var written = 0
        condition.lock()
        defer { condition.unlock() }
        while written < count {
            while filled[current] == 0 {
                if let failure { throw failure }
                if producerDone { throw .decodeFailed(format, "asked for rows past the last") }
                condition.wait()
            }
            let rows = min(count - written, filled[current] - taken)
            (target + written * rowBytes).update(from: chunks[current] + taken * rowBytes, count: rows * rowBytes)
            written += rows
            taken += rows
            if taken == filled[current] {
                filled[current] = 0
                taken = 0
                current ^= 1
                condition.broadcast()
            }
        }
    }

    /// Stops the producer and waits for its thread to leave the source (whose bytes the caller
    /// may release right after).
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !producerDone { condition.wait() }
        condition.unlock()
    }
}

/// Moves a non-Sendable closure to the one thread that will use it.
private struct HandOver: @unchecked Sendable {
    let source: (UnsafeMutablePointer<UInt8>, Int) throws(CodecError) -> Void

    init(_ source: @escaping (UnsafeMutablePointer<UInt8>, Int) throws(CodecError) -> Void) {
        self.source = source
    }
}
