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
        if let status = FileSystem.status(path, followLinks: false), (status.st_mode & S_IFMT) != S_IFREG {
            if FileSystem.isFolder(path) {
                throw UsageError("cannot write the report to \(path): it is a folder")
            }
            guard FileSystem.access(path, W_OK) else { throw Self.unwritable(path, String(cString: strerror(errno))) }
            self = .through(path)
            return
        }
        let folder = PathNames.folder(of: path)
        guard FileSystem.access(folder.isEmpty ? "." : folder, W_OK | X_OK) else {
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
            var output = stat()
            guard let report = FileSystem.status(path), fstat(STDOUT_FILENO, &output) == 0 else { return false }
            return report.st_dev == output.st_dev && report.st_ino == output.st_ino
        }
    }

    /// Writes `bytes` there whole.
    func write(_ bytes: [UInt8]) throws {
        switch self {
        case .standardOutput:
            try Self.writeAll(bytes, to: STDOUT_FILENO)
        case .through(let path):
            // A FIFO nobody reads fails at once (ENXIO) instead of blocking the end of the run.
            let descriptor = FileSystem.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0o666)
            guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            defer { close(descriptor) }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
            try Self.writeAll(bytes, to: descriptor)
        case .replacing(let path):
            _ = try AtomicFile.write(bytes, to: path, overwrite: true)
        }
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) throws {
        guard bytes.withUnsafeBytes({ FileSystem.writeAll($0, to: descriptor) }) else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
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
            try target.write(Array(encoder.encode(Self.shown(report))) + [0x0A])
        } catch {
            failure.withLock { $0 = "\(error)" }
        }
    }

    /// The report with every name as text JSON can hold: a byte that is not UTF-8 (a name from an
    /// old camera) written `\xNN` (as the console shows it).
    static func shown(_ report: BatchReport) -> BatchReport {
        var report = report
        for index in report.files.indices {
            report.files[index].input = FileSystemPath.shown(report.files[index].input)
            report.files[index].error = report.files[index].error.map { FileSystemPath.shown($0) }
            for output in report.files[index].outputs.indices {
                report.files[index].outputs[output].path = FileSystemPath.shown(report.files[index].outputs[output].path)
                report.files[index].outputs[output].error = report.files[index].outputs[output].error.map { FileSystemPath.shown($0) }
            }
        }
        return report
    }
}
