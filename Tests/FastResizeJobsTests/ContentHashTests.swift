// ContentHashTests: a file's content hash is XXH3-128 of its bytes, the same whatever kernel computes it, however the file is sliced, and from memory.

import CXXHash
import FastResizeJobs
import Testing
import TestSupport

struct ContentHashTests {
    /// Stores keep these hashes from run to run and build to build: the value for known bytes is
    /// xxHash's (as `xxh128sum` prints it; the empty input's is XXH3-128's published one).
    @Test func knownBytesHaveXXH3Values() throws {
        let folder = try ScratchFolder()
        try folder.write(Array("FastResize".utf8), to: "name")
        try folder.write([], to: "empty")
        #expect(ContentHash.of(file: folder.path("name")) == "xxh3-128:efc4fe566ddd37efff55867b44bc6e16")
        #expect(ContentHash.of(file: folder.path("empty")) == "xxh3-128:99aa06d3014798d86001c324468d497f")
        #expect(ContentHash.of(file: folder.path("missing")) == nil)
    }

    /// Files hashed a buffer at a time by the kernel chosen for this processor give the library's
    /// one-shot hash (its portable kernel), around the buffer's size and odd lengths.
    @Test(arguments: [1, 239, 241, 1 << 16, (1 << 16) + 1, 3 * (1 << 20) + 333])
    func slicesAndKernelsAgreeWithOneShot(length: Int) throws {
        let folder = try ScratchFolder()
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try folder.write(bytes, to: "file")
        let expected = bytes.withUnsafeBytes { XXH3_128bits($0.baseAddress, $0.count) }
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        #expect(ContentHash.of(file: folder.path("file")) == "xxh3-128:" + hex(expected.high64) + hex(expected.low64))
        // Bytes the engine holds in memory hash as their file does.
        #expect(bytes.withUnsafeBytes(ContentHash.of(bytes:)) == ContentHash.of(file: folder.path("file")))
    }
}
