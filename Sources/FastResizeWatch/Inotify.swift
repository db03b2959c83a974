// Inotify: Linux's file change notification through Glibc — one descriptor, a watch per folder, events read without blocking.

import FastResize
import Foundation

/// One inotify event: which watch, what happened, and the name in the watched folder it
/// happened to (empty for the folder itself).
struct InotifyEvent: Sendable, Equatable {
    var watch: Int32
    var mask: UInt32
    var name: String

    func has(_ flag: Int32) -> Bool { mask & UInt32(flag) != 0 }
    var isFolder: Bool { has(IN_ISDIR) }
}

/// An inotify instance. Watches are not recursive: a watch covers one folder's entries.
final class Inotify {
    let descriptor: Int32
    /// What a folder's watch reports: files written and closed, created, moved in and out,
    /// deleted, and the folder itself gone.
    static let mask = UInt32(IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE
        | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

    init() throws(WatchError) {
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw errno == EMFILE
                ? .cannotWatch("cannot start inotify: \(reason) (the kernel's fs.inotify.max_user_instances is reached)")
                : .cannotWatch("cannot start inotify: \(reason)")
        }
    }

    deinit { close(descriptor) }

    /// Watches the folder at `path` (a link to a folder followed when `followLinks`); the watch's
    /// number, or errno.
    func watch(_ path: String, followLinks: Bool) -> Result<Int32, Errno> {
        let watch = FileSystemPath.withCString(path) {
            inotify_add_watch(descriptor, $0, Self.mask | (followLinks ? 0 : UInt32(IN_DONT_FOLLOW)))
        }
        return watch >= 0 ? .success(watch) : .failure(Errno(errno))
    }

    func unwatch(_ watch: Int32) {
        inotify_rm_watch(descriptor, watch)
    }

    /// Every event waiting now (none when none is: the descriptor does not block).
    func read() -> [InotifyEvent] {
        var events: [InotifyEvent] = []
        // Big enough for many events at once, and for any one (16 bytes and a name of NAME_MAX).
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        let header = MemoryLayout<inotify_event>.size
        while true {
            let count = buffer.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return events }
            buffer.withUnsafeBytes { bytes in
                var offset = 0
                while offset + header <= count {
                    let event = bytes.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    let length = Int(event.len)
                    // Swift drops the flexible `name[]`: it follows the header, NUL-padded.
                    let nameBytes = bytes[(offset + header)..<min(count, offset + header + length)].prefix { $0 != 0 }
                    let name = FileSystemPath.string(nameBytes)
                    events.append(InotifyEvent(watch: event.wd, mask: event.mask, name: name))
                    offset += header + length
                }
            }
        }
    }
}

/// A system error number, for what a caller decides by it (ENOSPC: out of watches).
struct Errno: Error, Equatable {
    let code: Int32
    init(_ code: Int32) { self.code = code }
    var text: String { String(cString: strerror(code)) }
}

/// Why a watch cannot go on.
public enum WatchError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotWatch(String)

    public var description: String {
        switch self {
        case .cannotWatch(let reason): reason
        }
    }
}
