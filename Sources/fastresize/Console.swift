// Console: what a person sees — the live progress line, per-file errors and the final summary.

import FastResize
import Foundation
import Synchronization

/// Writes progress to a terminal (and only a terminal), errors and the summary always.
final class Console: Sendable {
    private let quiet: Bool
    private let verbose: Bool
    private let interactive: Bool
    /// When the progress line was last drawn, and whether one is on screen.
    private let state = Mutex((lastDraw: 0.0, showing: false))

    init(quiet: Bool, verbose: Bool) {
        self.quiet = quiet
        self.verbose = verbose
        self.interactive = !quiet && isatty(STDERR_FILENO) == 1
    }

    func error(_ line: String) {
        state.withLock { state in
            clearLine(&state)
            Self.write(line + "\n", to: STDERR_FILENO)
        }
    }

    /// Called from worker threads after each file.
    func update(_ progress: BatchProgress) {
        state.withLock { state in
            let file = progress.file
            if file.status == .failed {
                clearLine(&state)
                Self.write("\(file.input): \(file.error ?? "failed")\n", to: STDERR_FILENO)
            } else if verbose {
                clearLine(&state)
                Self.write(Self.describe(file) + "\n", to: STDOUT_FILENO)
            }
            guard interactive, progress.elapsed - state.lastDraw >= 0.1 || progress.done == progress.total else { return }
            state.lastDraw = progress.elapsed
            state.showing = true
            let percent = progress.total > 0 ? 100 * progress.done / progress.total : 100
            let rate = progress.elapsed > 0 ? Double(progress.done) / progress.elapsed : 0
            let remaining = rate > 0 ? Double(progress.total - progress.done) / rate : 0
            let line = String(format: "%d/%d  %d%%  %.1f images/s  ETA %@", progress.done, progress.total, percent,
                              rate, Self.duration(remaining))
            Self.write("\r\u{1B}[K" + line, to: STDERR_FILENO)
        }
    }

    func finish(_ report: BatchReport) {
        state.withLock { clearLine(&$0) }
        guard !quiet else { return }
        let s = report.summary
        let failed = s.failed > 0 ? "\(s.failed) failed (\(s.failureKindsText))" : "0 failed"
        var line = "\(s.written) written, \(s.skipped) skipped, \(failed), "
            + String(format: "%d not images in %.2f s (%.1f images/s)", s.notImages, s.seconds, s.imagesPerSecond)
        if let signal = s.stoppedBy { line += "; stopped by \(signal): \(s.cancelled) not started" }
        Self.write(line + "\n", to: STDERR_FILENO)
    }

    func printPlan(_ planned: [PlannedFile]) {
        for file in planned {
            switch file.action {
            case .process:
                for output in file.outputs {
                    let planned = "\(output.path) (\(output.width)x\(output.height) \(output.format.displayName))"
                    Self.write("\(file.input.path) -> \(planned)\(output.status == .skipped ? ": skipped, exists" : "")\n",
                               to: STDOUT_FILENO)
                }
            case .skip:
                let paths = file.outputs.map(\.path).joined(separator: ", ")
                Self.write("\(file.input.path): skipped, \(paths.isEmpty ? "output" : paths) exists\n", to: STDOUT_FILENO)
            case .notImage:
                if verbose { Self.write("\(file.input.path): not an image\n", to: STDOUT_FILENO) }
            case .fail(let error):
                Self.write("\(file.input.path): \(error)\n", to: STDERR_FILENO)
            }
        }
    }

    private func clearLine(_ state: inout (lastDraw: Double, showing: Bool)) {
        if state.showing {
            Self.write("\r\u{1B}[K", to: STDERR_FILENO)
            state.showing = false
        }
    }

    private static func describe(_ file: FileReport) -> String {
        switch file.status {
        case .written:
            let outputs = file.outputs.filter { $0.status == .written }
                .map { "\($0.path) (\($0.width)x\($0.height) \($0.format.displayName), \($0.bytes) bytes)" }
            return "\(file.input) -> \(outputs.joined(separator: ", ")) in \(Int(file.ms.rounded())) ms"
        case .skipped: return "\(file.input): skipped (output exists)"
        case .notImage: return "\(file.input): not an image"
        case .failed: return "\(file.input): \(file.error ?? "failed")"
        case .cancelled: return "\(file.input): not started (stopped)"
        }
    }

    private static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 60 ? "\(total / 60)m\(String(format: "%02d", total % 60))s" : "\(total)s"
    }

    /// Unbuffered, so progress, errors and the summary interleave in the order they happen.
    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}

/// Writes the JSON report atomically, like every other output.
enum ReportWriter {
    static func write(_ report: BatchReport, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(report)
        _ = try AtomicFile.write(Array(data) + [0x0A], to: path, overwrite: true)
    }
}
