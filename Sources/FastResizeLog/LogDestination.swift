// LogDestination: where log lines go — standard error, or a file appended to and opened again on SIGHUP (logrotate's way).

import FastResize
import Foundation

/// A log's file descriptor. Each line is one `write` on a descriptor opened with O_APPEND, so
/// lines from several threads (or processes sharing the file) never interleave within a line.
public final class LogDestination: @unchecked Sendable {
    /// The file, or nil for standard error.
    public let path: String?
    private var descriptor: Int32
    private let lock = NSLock()

    /// Standard error.
    public init() {
        path = nil
        descriptor = STDERR_FILENO
    }

    /// `path`, made if missing and appended to; a path that cannot be opened says why.
    public init(path: String) throws(LogFileError) {
        self.path = path
        descriptor = try Self.open(path)
    }

    deinit {
        if path != nil { close(descriptor) }
    }

    private static func open(_ path: String) throws(LogFileError) -> Int32 {
        let descriptor = FileSystemPath.withCString(path) { Foundation.open($0, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644) }
        guard descriptor >= 0 else { throw LogFileError(path: path, reason: String(cString: strerror(errno))) }
        return descriptor
    }

    /// Opens the file again by its name (after logrotate moved it away); on failure the old
    /// descriptor stays in use and the error says why.
    public func reopen() throws(LogFileError) {
        guard let path else { return }
        let fresh = try Self.open(path)
        lock.lock()
        let old = descriptor
        descriptor = fresh
        lock.unlock()
        close(old)
    }

    /// Writes `line` and a newline in one call (again where a signal interrupted it).
    public func write(line: String) {
        lock.lock()
        defer { lock.unlock() }
        FileSystem.writeAll(line + "\n", to: descriptor)
    }
}

/// A log file that cannot be opened.
public struct LogFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public var description: String { "cannot open the log file \(FileSystemPath.shown(path)): \(reason)" }
}
