// ReportWriter: where --report goes (standard output, a file written through, or a file replaced whole), checked before the batch, and the JSON written when the run ends.

import FastResize
import FastResizeConfig
import Foundation
import Synchronization

/// Where the JSON report goes, decided (and checked writable) before any file is touched, so an
/// unwritable path is a usage error up front rather than a failure after an hour of work.
enum ReportTarget: Equatable {
    /// `-`: standard output.
    case standardOutput
    /// Anything but a regular file — a FIFO, a terminal, `/dev/stdout`, a process substitution,
    /// a symbolic link (to whatever it names): opened and written through, never renamed over.
    case through(String)
    /// A regular file, or nothing yet: written beside it and renamed into place, so it is never
    /// seen half-written (as every output is).
    case replacing(String)

    init(path: String) throws(UsageError) {
        if path == "-" {
            self = .standardOutput
            return
        }
        var status = stat()
        if lstat(path, &status) == 0, (status.st_mode & S_IFMT) != S_IFREG {
            var target = stat()
            if stat(path, &target) == 0, (target.st_mode & S_IFMT) == S_IFDIR {
                throw UsageError("cannot write the report to \(path): it is a folder")
            }
            guard access(path, W_OK) == 0 else { throw Self.unwritable(path, String(cString: strerror(errno))) }
            self = .through(path)
            return
        }
        let folder = PathNames.folder(of: path)
        guard access(folder.isEmpty ? "." : folder, W_OK | X_OK) == 0 else {
            throw Self.unwritable(path, "\(folder): \(String(cString: strerror(errno)))")
        }
        self = .replacing(path)
    }

    private static func unwritable(_ path: String, _ reason: String) -> UsageError {
        UsageError("cannot write the report to \(path): \(reason)")
    }

    /// The path as given, for messages.
    var path: String {
        switch self {
        case .standardOutput: "-"
        case .through(let path), .replacing(let path): path
        }
    }

    /// Whether the report takes standard output (so the console's lines there go to standard error).
    var takesStandardOutput: Bool {
        switch self {
        case .standardOutput: return true
        case .replacing: return false
        case .through(let path):
            var report = stat(), output = stat()
            return stat(path, &report) == 0 && fstat(STDOUT_FILENO, &output) == 0
                && report.st_dev == output.st_dev && report.st_ino == output.st_ino
        }
    }

    /// Writes `bytes` there whole.
    func write(_ bytes: [UInt8]) throws {
        switch self {
        case .standardOutput:
            try Self.writeAll(bytes, to: STDOUT_FILENO)
        case .through(let path):
            // A FIFO nobody reads fails at once (ENXIO) instead of blocking the end of the run.
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0o666)
            guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            defer { close(descriptor) }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
            try Self.writeAll(bytes, to: descriptor)
        case .replacing(let path):
            _ = try AtomicFile.write(bytes, to: path, overwrite: true)
        }
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) throws {
        var rest = bytes[...]
        while !rest.isEmpty {
            let written = rest.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            rest = rest.dropFirst(written)
        }
    }
}

/// Writes the JSON report to its target when the run's last event comes.
final class ReportWriter: BatchEventSubscriber {
    let target: ReportTarget
    /// Why the report could not be written, once that happened.
    private let failure = Mutex<String?>(nil)

    init(_ target: ReportTarget) {
        self.target = target
    }

    var error: String? { failure.withLock { $0 } }

    func receive(_ event: BatchEvent) {
        guard case .runFinished(let report) = event else { return }
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try target.write(Array(encoder.encode(report)) + [0x0A])
        } catch {
            failure.withLock { $0 = "\(error)" }
        }
    }
}
