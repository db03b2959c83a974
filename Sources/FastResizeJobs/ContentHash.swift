// ContentHash: a file's bytes summed up by XXH3-128 (libxxhash), to tell a touched file from a changed one.

internal import CXXHash
import FastResize
import Foundation

/// The hash of a file's content: fast enough to read every byte (several GB/s), wide enough
/// (128 bits) that two different pictures do not share one by chance. Not a defence against a
/// forged collision: it tells whether a file changed, not whether someone tampered with it.
public enum ContentHash {
    /// "xxh3-128:" and 32 hex digits, or nil when the file cannot be read. The file is mapped
    /// (its pages are in the page cache when it was just made: no copy into a buffer), a slice at
    /// a time, so a large file never has all its pages resident at once. The slice is 1 MiB:
    /// with 8 MiB, hashing a big input added 7 MiB to the peak of a run making one thumbnail of
    /// it (workload 5: 36 MiB against 28.4 without a store); the extra mmap calls cost nothing
    /// measurable (a 3 MB photo takes 3 instead of 1).
    public static func of(file path: String) -> String? {
        let descriptor = FileSystem.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, let state = XXH3_createState() else { return nil }
        defer { XXH3_freeState(state) }
        XXH3_128bits_reset(state)
        let size = Int(status.st_size)
        let slice = 1 << 20
        var offset = 0
        while offset < size {
            let length = min(slice, size - offset)
            guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, descriptor, off_t(offset)),
                  mapped != MAP_FAILED else { return nil }
            fr_xxh3_128bits_update(state, mapped, length)
            munmap(mapped, length)
            offset += length
        }
        return text(XXH3_128bits_digest(state))
    }

    private static func text(_ hash: XXH128_hash_t) -> String {
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return "xxh3-128:" + hex(hash.high64) + hex(hash.low64)
    }
}
