// BatchReport: what happened to every file, as printed in the summary and written by --report.

import Foundation

/// One input's outcome.
public struct FileReport: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case written
        case skipped
        case failed
        case notImage = "not-image"
        /// Not started: the batch was stopped (SIGINT, SIGTERM) first.
        case cancelled
        /// A dry run's: would be written.
        case planned
        /// Its input is gone (or no longer selected) and FastResize's outputs of it were removed (--prune).
        case removed

        /// A file's status from its outputs': failed if any failed, skipped if all were, else written.
        static func combining(_ outputs: [OutputRecord]) -> Status {
            if outputs.contains(where: { $0.status == .failed }) { return .failed }
            return outputs.allSatisfy { $0.status == .skipped } ? .skipped : .written
        }
    }

    /// Why a file or an output was skipped.
    public enum SkipReason: String, Sendable, Codable {
        /// The job store says input, settings and outputs are as the run that made them left them.
        case upToDate = "up-to-date"
        /// The output exists, and FastResize did not write it (or --overwrite was not given).
        case exists
    }

    public var input: String
    public var status: Status
    /// Why it was skipped (skipped files only).
    public var reason: SkipReason?
    /// Every output planned for this input, each with its own status (empty when none was planned).
    public var outputs: [OutputRecord]
    public var error: String?
    /// What kind of failure `error` is (failed and cancelled files only).
    public var errorKind: FailureKind?
    /// Wall time spent on this file, in milliseconds (its last attempt's).
    public var ms: Double
    /// How many attempts it took, when more than one (--retries).
    public var attempts: Int?
    /// Whether trying again in this run may help (not in the JSON): its kind's `retryable`, but not
    /// for a full disk, which stays full for the rest of the run (`FullDisks`).
    public var retryable = false
    /// Milliseconds in each stage ("decode", "resize", "encode", "write") of files that were worked on.
    public var stageMilliseconds: [String: Double]?
    /// How the file was decoded (rows, whole, frames), for a file making one output.
    public var decode: DecodeMode?
    /// The input's pixels (width × height, as its header says), once it was read.
    public var inputPixels: Int?
    /// The input's size in bytes, when the walk or the watch saw it (logs and metrics; not in the JSON report).
    public var inputBytes: Int?

    /// A file's outcome; a failed or cancelled file's planned outputs that were not written take
    /// its status (and, when it failed, its error's kind).
    public init(input: String, status: Status, outputs: [OutputRecord], error: FileError? = nil, ms: Double) {
        self.input = input
        self.status = status
        self.error = error?.description
        errorKind = status == .cancelled ? .cancelled : error?.kind
        retryable = status == .failed && error.map { error in
            if case .outputDiskFull = error { return false }        // not attempted: the disk is full
            return error.kind.retryable && !error.isDiskFull
        } == true
        self.ms = ms
        self.outputs = outputs.map { output in
            var output = output
            switch (status, output.status) {
            case (.failed, nil):
                output.status = .failed
                output.errorKind = error?.kind
            case (.failed, .failed?):
                output.errorKind = output.errorKind ?? error?.kind
            case (.cancelled, nil):
                output.status = .cancelled
            default: break
            }
            return output
        }
    }

    enum CodingKeys: String, CodingKey {
        case input, status, reason, outputs, error, errorKind = "error_kind", ms, attempts, stageMilliseconds = "stage_ms", decode,
             inputPixels = "input_pixels"
    }
}

/// Counts over a whole run.
public struct BatchSummary: Sendable, Codable, Equatable {
    public var total: Int
    public var written: Int
    public var skipped: Int
    public var failed: Int
    public var notImages: Int
    public var cancelled: Int
    /// Inputs gone whose outputs were removed (--prune).
    public var removed = 0
    /// A dry run's files that would be written.
    public var planned = 0
    /// Whether this is a dry run's report: nothing was written.
    public var dryRun = false
    /// The signal that stopped the run ("SIGINT", "SIGTERM"), absent when it ran to the end.
    public var stoppedBy: String?
    public var seconds: Double
    /// Images written per second of wall time (failures and skips are not work done).
    public var imagesPerSecond: Double
    /// The process's peak resident memory so far, in KiB (Linux's VmHWM), when known.
    public var peakRSSKiB: Int?
    /// Failed files by the kind of their failure (`FailureKind`'s names); kinds that did not occur are absent.
    public var failuresByKind: [String: Int] = [:]
    /// What the walk left out on purpose (not in `total`).
    public var passedOver = PassedOver()
    /// Files not attempted because an earlier output found their disk full (counted in `failed`).
    public var notAttemptedDiskFull = 0
    /// Which shard of the inputs this run made ("2/7", --shard), absent when it made them all.
    public var shard: String?

    enum CodingKeys: String, CodingKey {
        case total, written, skipped, failed, notImages = "not_images", cancelled, stoppedBy = "stopped_by", seconds,
             imagesPerSecond = "images_per_second", peakRSSKiB = "peak_rss_kib", failuresByKind = "failures_by_kind",
             passedOver = "passed_over", planned, dryRun = "dry_run", notAttemptedDiskFull = "not_attempted_disk_full", removed, shard
    }

    /// Nothing counted yet.
    public init() {
        (total, written, skipped, failed, notImages, cancelled) = (0, 0, 0, 0, 0, 0)
        (seconds, imagesPerSecond) = (0, 0)
    }

    /// Counts one more file's report in: its status, and a failure's kind (every failed file
    /// carries one: FileReport.init). Outputs removed for inputs that are gone are no inputs of
    /// the run, so not in `total`.
    public mutating func count(_ file: FileReport) {
        switch file.status {
        case .written: written += 1
        case .skipped: skipped += 1
        case .failed:
            failed += 1
            if let kind = file.errorKind { failuresByKind[kind.rawValue, default: 0] += 1 }
        case .notImage: notImages += 1
        case .cancelled: cancelled += 1
        case .planned: planned += 1
        case .removed: removed += 1
        }
        if file.status != .removed { total += 1 }
    }

    /// The failure counts in `FailureKind`'s order, for people: "2 corrupt, 1 timeout".
    public var failureKindsText: String {
        FailureKind.allCases.compactMap { kind in failuresByKind[kind.rawValue].map { "\($0) \(kind.rawValue)" } }
            .joined(separator: ", ")
    }

    /// VmHWM from /proc/self/status: the high-water mark of this process's own memory (unlike
    /// getrusage's, which can carry the parent's size over from a vfork-style spawn).
    public static func currentPeakRSSKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
}

/// The whole run, in the shape of the JSON report (version 1).
public struct BatchReport: Sendable, Codable, Equatable {
    public var version = 1
    public var summary: BatchSummary
    public var files: [FileReport]

    public init(files: [FileReport], seconds: Double, stoppedBy signal: Int32? = nil) {
        var counts = BatchSummary()
        for file in files { counts.count(file) }
        self.init(counted: counts, files: files, seconds: seconds, stoppedBy: signal)
    }

    /// A report whose files were counted as they were done (`BatchSummary.count`), listing
    /// `files` (an open-ended run keeps none).
    public init(counted: BatchSummary, files: [FileReport], seconds: Double, stoppedBy signal: Int32? = nil) {
        self.files = files
        summary = counted
        summary.stoppedBy = signal.map(Self.signalName)
        summary.seconds = seconds
        summary.imagesPerSecond = seconds > 0 ? Double(counted.written) / seconds : 0
        summary.peakRSSKiB = BatchSummary.currentPeakRSSKiB()
        stopSignal = signal
    }

    /// A dry run's report: each file as its plan has it, outputs to be made `planned`.
    public init(dryRun plan: BatchPlan) {
        let files = plan.files.map { file in
            switch file.action {
            case .process:
                let outputs = file.outputs.map { output in
                    var output = output
                    output.status = output.status ?? .planned
                    return output
                }
                return FileReport(input: file.input.path, status: .planned, outputs: outputs, ms: 0)
            case .skip:
                var report = FileReport(input: file.input.path, status: .skipped, outputs: file.outputs, ms: 0)
                report.reason = file.skipReason
                return report
            case .notImage: return FileReport(input: file.input.path, status: .notImage, outputs: [], ms: 0)
            case .fail(let error): return FileReport(input: file.input.path, status: .failed, outputs: file.outputs, error: error, ms: 0)
            }
        }
        self.init(files: files, seconds: 0)
        summary.passedOver = plan.passedOver
        summary.dryRun = true
    }

    /// Not in the JSON: the number behind `summary.stoppedBy`.
    private var stopSignal: Int32?

    enum CodingKeys: String, CodingKey { case version, summary, files }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(signal)"
        }
    }

    /// 128 + the signal when a signal stopped the run (130 for SIGINT, 143 for SIGTERM, as shells
    /// report), else 1 when any file failed, else 0.
    public var exitCode: Int32 {
        if let stopSignal { return 128 + stopSignal }
        return summary.failed > 0 ? 1 : 0
    }
}

/// The result of writing one output.
public struct OutputRecord: Sendable, Equatable, Codable {
    public var path: String
    public var width: Int
    public var height: Int
    public var format: ImageFormat
    public var bytes: Int
    /// WebP outputs only: "lossless" or "lossy", and whether that was chosen by content.
    public var webpMode: String?
    /// Animated outputs only: the number of frames written.
    public var frames: Int?
    /// In reports: written, skipped (`reason` says why) or failed; nil while only planned.
    public var status: FileReport.Status?
    /// Why it was skipped.
    public var reason: FileReport.SkipReason?
    /// Why this output failed, when its file made several outputs.
    public var error: String?
    /// What kind of failure this output met, when it failed.
    public var errorKind: FailureKind?
    /// Damage the decoder drew past in making it (`--fail-on none` draws truncated files).
    public var warnings: [String]?
    /// How it is encoded: from rows as they come, whole, or as an animation (as planned).
    public var encode: EncodeMode?

    public init(path: String, width: Int, height: Int, format: ImageFormat, bytes: Int, webpMode: String? = nil,
                frames: Int? = nil) {
        self.path = path
        self.width = width
        self.height = height
        self.format = format
        self.bytes = bytes
        self.webpMode = webpMode
        self.frames = frames
    }

    enum CodingKeys: String, CodingKey {
        case path, width, height, format, bytes, webpMode = "webp_mode", frames, status, reason, error, errorKind = "error_kind",
             warnings, encode
    }
}
