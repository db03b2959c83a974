// Console: what a person sees — the live progress line, per-file errors and the final summary.

import FastResize
import FastResizeLog
import Foundation
import Logging
import Synchronization

/// Writes progress to a terminal (and only a terminal), errors and the summary always. A subscriber
/// of the run's events: a slow terminal delays only this, never the workers.
final class Console: BatchEventSubscriber {
    private let quiet: Bool
    private let verbose: Bool
    private let interactive: Bool
    /// Where the lines a script reads go (per-file lines, the plan of a dry run): standard
    /// output, unless the JSON report takes it.
    private let lines: Int32
    /// When the progress line was last drawn, and whether one is on screen.
    private let state = Mutex((lastDraw: 0.0, showing: false))
    /// A watch's console: each file made gets its line (not only with --verbose), and the
    /// progress line is the watch's status (`status`).
    private let watching: Bool
    private let statusText = Mutex<(@Sendable () -> String)?>(nil)
    /// Where every line goes instead, as a log record with its fields (--log-format json,
    /// --log-file); the logger's level decides what is written.
    private let log: Logger?

    /// `progress`: whether a progress line may be drawn on a terminal (not with JSON logs).
    init(quiet: Bool, verbose: Bool, reportTakesStandardOutput: Bool = false, watching: Bool = false,
         log: Logger? = nil, progress: Bool = true) {
        self.quiet = quiet
        self.verbose = verbose
        self.watching = watching
        self.log = log
        lines = reportTakesStandardOutput ? STDERR_FILENO : STDOUT_FILENO
        self.interactive = progress && !quiet && isatty(STDERR_FILENO) == 1
    }

    /// Hands a line to the log, if there is one: true when it took it.
    private func logged(_ level: Logger.Level, _ line: String, _ fields: Logger.Metadata? = nil) -> Bool {
        guard let log else { return false }
        state.withLock { clearLine(&$0) }
        log.log(level: level, Logger.Message(stringLiteral: line), metadata: fields)
        return true
    }

    func error(_ line: String) {
        if line.hasPrefix("warning: "), logged(.warning, String(line.dropFirst("warning: ".count))) { return }
        if logged(.error, line) { return }
        state.withLock { state in
            clearLine(&state)
            Self.writeLine(line, to: STDERR_FILENO)
        }
    }

    func receive(_ event: BatchEvent) {
        switch event {
        case .finished(let file, let done, let total, let elapsed):
            update(file, done: done, total: total, elapsed: elapsed)
        case .retrying(let failure, let attempt, let attempts, let delay):
            // Said as it happens (not quiet: a failure that may recur is worth knowing about).
            var fields = failure.logFields
            fields["attempt"] = .stringConvertible(attempt)
            fields["delay_s"] = .stringConvertible(delay)
            if logged(.warning, failure.line + String(format: "; trying again in %.1f s", delay), fields) { return }
            guard !quiet else { return }
            error("\(failure.input): \(failure.error ?? "failed"); trying again in \(String(format: "%.1f", delay)) s "
                  + "(attempt \(attempt) of \(attempts))")
        default:
            return
        }
    }

    /// After each file: its error (or, with --verbose, its line) and the progress line.
    private func update(_ file: FileReport, done: Int, total: Int?, elapsed: Double) {
        if let log {
            var fields = file.logFields
            fields["done"] = .stringConvertible(done)
            if let total { fields["total"] = .stringConvertible(total) }
            log.log(level: file.logLevel, Logger.Message(stringLiteral: file.line), metadata: fields)
            guard interactive else { return }
        }
        state.withLock { state in
            if log != nil {
                // Logged above: only the progress line here.
            } else if file.status == .failed {
                clearLine(&state)
                Self.writeLine("\(file.input): \(file.error ?? "failed")", to: STDERR_FILENO)
            } else if verbose || watching && !quiet && file.status == .written {
                clearLine(&state)
                Self.writeLine(file.line, to: lines)
            }
            guard interactive, Self.redraws(at: elapsed, lastDrawn: state.lastDraw, done: done, total: total) else { return }
            state.lastDraw = elapsed
            draw(statusText.withLock { $0 }?() ?? Self.progressLine(done: done, total: total, elapsed: elapsed), &state)
        }
    }

    private func draw(_ line: String, _ state: inout (lastDraw: Double, showing: Bool)) {
        state.showing = true
        Self.write("\r\u{1B}[K" + Self.fitted(line, width: Self.terminalWidth()), to: STDERR_FILENO)
    }

    /// A watch's status line, drawn (on a terminal) after each file and by `refresh`.
    func showStatus(_ text: @escaping @Sendable () -> String) {
        statusText.withLock { $0 = text }
    }

    /// Draws the status line again (a watch's clock: the line moves while no file is done).
    func refresh() {
        guard interactive, let text = statusText.withLock({ $0 }) else { return }
        state.withLock { draw(text(), &$0) }
    }

    /// A line of a watch's own (what it watches, a rescan, an input gone): on standard error,
    /// not to be mixed with the lines of files made.
    func note(_ line: String) {
        if logged(.notice, line) { return }
        guard !quiet else { return }
        error(line)
    }

    /// An input found gone whose outputs were removed: its line, as a run's --prune reports it.
    func removed(_ file: FileReport) {
        if logged(file.logLevel, file.line, file.logFields) { return }
        if file.status == .failed { return error("\(file.input): \(file.error ?? "failed")") }
        guard !quiet else { return }
        state.withLock { state in
            clearLine(&state)
            Self.writeLine(file.line, to: lines)
        }
    }

    /// Whether the progress line is drawn again: at most ten times a second (a terminal that
    /// redraws on every file of a fast batch slows it), and always for the last file.
    static func redraws(at elapsed: Double, lastDrawn: Double, done: Int, total: Int?) -> Bool {
        elapsed - lastDrawn >= 0.1 || done == total
    }

    /// The line cut to one column less than the terminal is wide: a line that wraps cannot be
    /// cleared by the next \r, and the terminal fills with copies of it.
    static func fitted(_ line: String, width: Int?) -> String {
        guard let width, width > 1, line.count >= width else { return line }
        return String(line.prefix(width - 1))
    }

    /// The terminal's width in columns (asked each time: it may be resized), or nil.
    private static func terminalWidth() -> Int? {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// "12/40  30%  9.5 images/s  ETA 3s" when the total is known, "12  9.5 images/s" when files
    /// keep arriving (a queue, a watched folder).
    static func progressLine(done: Int, total: Int?, elapsed: Double) -> String {
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        guard let total else { return "\(done)  " + String(format: "%.1f images/s", rate) }
        let percent = total > 0 ? 100 * done / total : 100
        let remaining = rate > 0 ? Double(total - done) / rate : 0
        return "\(done)/\(total)  \(percent)%  " + String(format: "%.1f images/s", rate) + "  ETA " + duration(remaining)
    }

    func finish(_ report: BatchReport) {
        state.withLock { clearLine(&$0) }
        var fields = report.summary.logFields
        fields["event"] = "run finished"
        if logged(.notice, Self.summaryLine(report.summary), fields) { return }
        guard !quiet else { return }
        Self.writeLine(Self.summaryLine(report.summary), to: STDERR_FILENO)
    }

    /// The last line of a run: what happened, and what was passed over on purpose, so a run that
    /// found nothing says why.
    static func summaryLine(_ s: BatchSummary) -> String {
        let p = s.passedOver
        var passed: [String] = []
        if p.excluded > 0 { passed.append("\(p.excluded) excluded") }
        if p.excludedFolders > 0 { passed.append("\(p.excludedFolders) folder\(p.excludedFolders == 1 ? "" : "s") excluded") }
        if p.earlierOutputs > 0 { passed.append("\(p.earlierOutputs) earlier output\(p.earlierOutputs == 1 ? "" : "s") left alone") }
        if p.symbolicLinks > 0 {
            passed.append("\(p.symbolicLinks) symbolic link\(p.symbolicLinks == 1 ? "" : "s") skipped, see --follow-symlinks")
        }
        if s.removed > 0 { passed.append("\(s.removed) gone, FastResize's outputs of \(s.removed == 1 ? "it" : "them") removed") }
        if let shard = s.shard { passed.append("shard \(shard)") }
        let aside = passed.isEmpty ? "" : "; " + passed.joined(separator: ", ")
        if s.total == s.notImages && s.stoppedBy == nil {
            let reasons = (s.notImages > 0 ? ["\(s.notImages) file\(s.notImages == 1 ? "" : "s") not images"] : []) + passed
            return "no images found" + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: ", "))
        }
        if s.dryRun {
            let failed = s.failed > 0 ? ", \(s.failed) would fail" : ""
            return "dry run: \(s.planned) to write, \(s.skipped) up to date\(failed), \(s.notImages) not images\(aside)"
        }
        if s.written == 0 && s.failed == 0 && s.cancelled == 0 && s.skipped > 0 {
            let others = s.notImages > 0 ? ", \(s.notImages) not images" : ""
            return "nothing to do: \(s.skipped) up to date\(others)\(aside)"
        }
        let failed = s.failed > 0 ? "\(s.failed) failed (\(s.failureKindsText))" : "0 failed"
        var line = "\(s.written) written, \(s.skipped) skipped, \(failed), "
            + String(format: "%d not images in %.2f s (%.1f images/s)", s.notImages, s.seconds, s.imagesPerSecond)
        if let signal = s.stoppedBy { line += "; stopped by \(signal): \(s.cancelled) not started" }
        if s.notAttemptedDiskFull > 0 {
            line += "; the output disk filled up: \(s.notAttemptedDiskFull) file\(s.notAttemptedDiskFull == 1 ? "" : "s") not attempted"
        }
        return line + aside
    }

    func printPlan(_ planned: [PlannedFile]) {
        if let log {
            for file in planned {
                let outputs: Logger.Metadata.Value = .array(file.outputs.map { .string($0.path) })
                let action: String
                switch file.action {
                case .process: action = "write"
                case .skip: action = file.skipReason == .upToDate ? "up-to-date" : "exists"
                case .notImage: action = "not-image"
                case .fail(let error): action = "fail: \(error)"
                }
                var level = Logger.Level.info
                if case .fail = file.action { level = .error }
                log.log(level: level, "\(file.input.path): \(action)", metadata: ["input": .string(file.input.path), "plan": .string(action), "outputs": outputs])
            }
            return
        }
        for file in planned {
            switch file.action {
            case .process:
                for output in file.outputs {
                    let planned = "\(output.path) (\(output.width)x\(output.height) \(output.format.displayName))"
                    Self.writeLine("\(file.input.path) -> \(planned)\(output.status == .skipped ? ": skipped, exists" : "")",
                                   to: lines)
                }
            case .skip:
                let paths = file.outputs.map(\.path).joined(separator: ", ")
                Self.writeLine(file.skipReason == .upToDate ? "\(file.input.path): up to date"
                               : "\(file.input.path): skipped, \(paths.isEmpty ? "output" : paths) exists", to: lines)
            case .notImage:
                if verbose { Self.writeLine("\(file.input.path): not an image", to: lines) }
            case .fail(let error):
                Self.writeLine("\(file.input.path): \(error)", to: STDERR_FILENO)
            }
        }
    }

    private func clearLine(_ state: inout (lastDraw: Double, showing: Bool)) {
        if state.showing {
            Self.write("\r\u{1B}[K", to: STDERR_FILENO)
            state.showing = false
        }
    }

    private static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 60 ? "\(total / 60)m\(String(format: "%02d", total % 60))s" : "\(total)s"
    }

    /// One line, its control characters and bytes that are not UTF-8 escaped (`\x1b`, `\xe9`): a
    /// file name cannot move the cursor, colour the terminal or forge a line of its own.
    private static func writeLine(_ text: String, to descriptor: Int32) {
        write(FileSystemPath.shown(text, controls: true) + "\n", to: descriptor)
    }

    /// A message on standard error as it is (the caller ends it with a newline). Not through
    /// FileHandle, whose write traps when a signal (SIGCHLD, in a worker) interrupts it.
    static func writeError(_ text: String) {
        write(text, to: STDERR_FILENO)
    }

    /// Unbuffered, so progress, errors and the summary interleave in the order they happen.
    private static func write(_ text: String, to descriptor: Int32) {
        FileSystem.writeAll(text, to: descriptor)
    }
}
