// StreamingMemoryTests: decompression bombs are refused from their header, and the process stays small.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Runs the binary and returns its exit status, standard error and peak resident size (KiB), from
/// wait4's resource usage of that one child. posix_spawn, not Foundation's Process, which reaps its
/// children itself.
private func runMeasured(_ arguments: [String]) throws -> (status: Int32, stderr: String, peakKiB: Int) {
    let scratch = try ScratchFolder()
    let errorPath = scratch.path("stderr.txt")
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let argv = ([CommandRunner.binary.path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, CommandRunner.binary.path, &actions, nil, argv, environ)
    try #require(spawned == 0, "posix_spawn failed: \(spawned)")
    var status: Int32 = 0
    var usage = rusage()
    let reaped = wait4(pid, &status, 0, &usage)
    try #require(reaped == pid)
    let text = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
    return ((status >> 8) & 0xFF, text, usage.ru_maxrss)
}

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
    /// process never grows past 100 MiB.
    @Test func bombIsRefusedWithoutAllocating() throws {
        let scratch = try ScratchFolder()
        try scratch.write(bombPNG(width: 100_000, height: 100_000), to: "bomb.png")
        let (status, stderr, peak) = try runMeasured([scratch.path("bomb.png"), "-o", scratch.path("out"), "--fit", "100x100"])
        #expect(status == 1)
        #expect(stderr.contains("bomb.png: input image exceeds pixel limit (100000 x 100000)"), "\(stderr)")
        #expect(peak < 100 * 1024, "peak RSS \(peak) KiB")
        #expect(scratch.files(under: "out").isEmpty)
    }

    /// --max-pixels lowers the limit; under it the same kind of file is decoded (and fails on its
    /// missing data with a decoder error, not the limit).
    @Test func maxPixelsSetsTheLimit() throws {
        let scratch = try ScratchFolder()
        try scratch.write(bombPNG(width: 3000, height: 2000), to: "six.png")
        let refused = try runMeasured([scratch.path("six.png"), "-o", scratch.path("out"), "--fit", "100x100",
                                       "--max-pixels", "5000000"])
        #expect(refused.stderr.contains("input image exceeds pixel limit (3000 x 2000)"), "\(refused.stderr)")
        let decoded = try runMeasured([scratch.path("six.png"), "-o", scratch.path("out"), "--fit", "100x100",
                                       "--max-pixels", "6000000"])
        #expect(decoded.status == 1)
        #expect(decoded.stderr.contains("cannot decode PNG"), "\(decoded.stderr)")
        #expect(try CommandRunner.run(["x.png", "-o", "out", "--fit", "1x1", "--max-pixels", "0"]).status == 2)
    }
}
