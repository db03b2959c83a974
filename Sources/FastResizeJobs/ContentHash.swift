// ContentHash: a file's bytes summed up by XXH3-128 (libxxhash), to tell a touched file from a changed one.

internal import CXXHash
import FastResize
import Foundation

/// The hash of a file's content: fast enough to read every byte (several GB/s), wide enough
/// (128 bits) that two different pictures do not share one by chance. Not a defence against a
/// forged collision: it tells whether a file changed, not whether someone tampered with it.
public enum ContentHash {
    /// "xxh3-128:" and 32 hex digits, or nil when the file cannot be read. The file is read
    /// through a buffer of 64 KiB, never mapped: a mapping's pages count in the process's memory
    /// (a big input's would add to workload 5's peak), and unmapping in a process of several
    /// threads interrupts the others to flush their TLBs. Mapped, two a file (input and output),
    /// 2,000 small photos took 2.5% longer (`bench/small.py`).
    public static func of(file path: String) -> String? {
        let descriptor = FileSystem.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard let state = XXH3_createState() else { return nil }
        defer { XXH3_freeState(state) }
        XXH3_128bits_reset(state)
        // Below malloc's mmap threshold, so it comes from the heap without a system call.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer, 1 << 16)
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            fr_xxh3_128bits_update(state, buffer, count)
        }
        return text(XXH3_128bits_digest(state))
    }

    /// The same hash of bytes in memory (a file's, as the engine holds them to decode).
    public static func of(bytes: UnsafeRawBufferPointer) -> String {
        text(fr_xxh3_128bits(bytes.baseAddress, bytes.count))
    }

    private static func text(_ hash: XXH128_hash_t) -> String {
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return "xxh3-128:" + hex(hash.high64) + hex(hash.low64)
    }
}

/// A file's content hash read on a thread of its own (a large input's, while it is being made
/// with a core to spare); `value` waits until it is read.
public final class ContentHashAlongside: @unchecked Sendable {     // `hash` is written once, before `read` is signalled
    private let read = DispatchSemaphore(value: 0)
    private var hash: String?

    public init(file path: String) {
        DetachedThread.start(name: "fastresize.hash") { [self] in
            hash = ContentHash.of(file: path)
            read.signal()
        }
    }

    /// The hash, nil when the file could not be read.
    public var value: String? {
        read.wait()
        read.signal()       // for whoever asks next
        return hash
    }
}
