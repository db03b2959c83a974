// StreamingMemoryTests: decompression bombs refused from their header with the process small; the memory limit.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

/// A PNG whose header claims `width` × `height` and whose image data is a few kilobytes of zeros.
private func bombPNG(width: UInt32, height: UInt32) -> [UInt8] {
    func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in typed {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        return be(UInt32(body.count)) + typed + be(crc)
    }
    func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    let header = be(width) + be(height) + [8, 2, 0, 0, 0]
    // A stored (uncompressed) zlib block of zeros: valid data for the first rows only.
    let zeros = [UInt8](repeating: 0, count: 4096)
    let idat: [UInt8] = [0x78, 0x01, 0x01, 0x00, 0x10, 0xFF, 0xEF] + zeros
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", idat) + chunk("IEND", [])
}

@Suite struct DecompressionBombTests {
    /// A header claiming 100000 x 100000 (10 gigapixels): refused from the header, exit 1, and the
    /// process never grows past 100 MiB (its own high-water mark, from the report).
    @Test func bombIsRefusedWithoutAllocating() throws {
        let scratch = try ScratchFolder()
        try scratch.write(bombPNG(width: 100_000, height: 100_000), to: "bomb.png")
        let result = try CommandRunner.run([scratch.path("bomb.png"), "-o", scratch.path("out"), "--fit", "100x100",
                                            "--report", scratch.path("report.json")])
        #expect(result.status == 1)
        let stderr = result.stderr
        #expect(stderr.contains("bomb.png: input image exceeds pixel limit (100000 x 100000)"), "\(stderr)")
        let peak = try #require(try loadReport(scratch.path("report.json")).summary.peakRSSKiB)
        #expect(peak > 1024 && peak < 100 * 1024, "peak RSS \(peak) KiB")
        #expect(scratch.files(under: "out").isEmpty)
    }

    /// --max-pixels lowers the limit; under it the same kind of file is decoded (and fails on its
    /// missing data with a decoder error, not the limit).
    @Test func maxPixelsSetsTheLimit() throws {
        let scratch = try ScratchFolder()
        try scratch.write(bombPNG(width: 3000, height: 2000), to: "six.png")
        let refused = try CommandRunner.run([scratch.path("six.png"), "-o", scratch.path("out"), "--fit", "100x100",
                                       "--max-pixels", "5000000"])
        #expect(refused.stderr.contains("input image exceeds pixel limit (3000 x 2000)"), "\(refused.stderr)")
        let decoded = try CommandRunner.run([scratch.path("six.png"), "-o", scratch.path("out"), "--fit", "100x100",
                                       "--max-pixels", "6000000"])
        #expect(decoded.status == 1)
        #expect(decoded.stderr.contains("cannot decode PNG"), "\(decoded.stderr)")
        #expect(try CommandRunner.run(["x.png", "-o", "out", "--fit", "1x1", "--max-pixels", "0"]).status == 2)
    }
}

@Suite struct MemoryLimitTests {
    /// A file that needs more than --memory-limit fails with a clear error; the rest of the batch
    /// runs under the same limit. (Progressive output is made whole: a baseline JPEG would be
    /// streamed from rows and need far less.)
    @Test func tooBigForTheLimitFailsAlone() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try JPEGEncoder().encode(TestImages.smooth(width: 1600, height: 1200, format: .rgb),
                                                   options: EncodeOptions()), to: "in/big.jpg")
        try scratch.write(try JPEGEncoder().encode(TestImages.smooth(width: 64, height: 48, format: .rgb),
                                                   options: EncodeOptions()), to: "in/small.jpg")
        let result = try CommandRunner.run(["in", "-o", "out", "--scale", "0.9", "--progressive", "--memory-limit", "2M"], in: scratch.url)
        #expect(result.status == 1)
        #expect(result.stderr.contains("big.jpg: needs about"), "\(result.stderr)")
        #expect(result.stderr.contains("more than --memory-limit allows (2 MiB)"))
        #expect(scratch.files(under: "out") == ["small.jpg"])
        #expect(try CommandRunner.run(["in", "-o", "out", "--scale", "0.5", "--memory-limit", "lots"], in: scratch.url).status == 2)
    }
}
