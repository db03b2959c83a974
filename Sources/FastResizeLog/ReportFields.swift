// ReportFields: a file's or a run's outcome as a log record — the line a person reads, its level, and the fields a log search filters on.

import FastResize
import Logging

extension FileReport {
    /// The line a person reads: `in/a.jpg -> out/a.jpg (720x588 JPEG, 51234 bytes) in 34 ms`.
    public var line: String {
        switch status {
        case .written:
            let outputs = outputs.filter { $0.status == .written }
                .map { "\($0.path) (\($0.width)x\($0.height) \($0.format.displayName), \($0.bytes) bytes)" }
            return "\(input) -> \(outputs.joined(separator: ", ")) in \(Int(ms.rounded())) ms"
        case .skipped: return "\(input): skipped (\(reason == .upToDate ? "up to date" : "output exists"))"
        case .notImage: return "\(input): not an image"
        case .failed: return "\(input): \(error ?? "failed")"
        case .cancelled: return "\(input): not started (stopped)"
        case .planned: return "\(input): planned"
        case .removed:
            let removed = outputs.filter { $0.status == .removed }.map(\.path)
            let kept = outputs.filter { $0.status == .skipped }.map(\.path)
            return "\(input): gone" + (removed.isEmpty ? "" : "; removed \(removed.joined(separator: ", "))")
                + (kept.isEmpty ? "" : "; kept, changed since written: \(kept.joined(separator: ", "))")
        }
    }

    /// How much a log reader wants to see it: failures are errors; files made, removed or not
    /// started are news; files passed over (up to date, not images) are detail.
    public var logLevel: Logger.Level {
        switch status {
        case .failed: .error
        case .written, .removed, .cancelled, .planned: .info
        case .skipped, .notImage: .debug
        }
    }

    /// The fields of its log record: `input`, `status`, `reason`, `error_kind`, `error`, `ms`,
    /// `attempts`, `stage_ms` (decode, resize, encode, write), `input_pixels` and `outputs`
    /// (each with `path`, `width`, `height`, `bytes`, `format`, `status`).
    public var logFields: Logger.Metadata {
        var fields: Logger.Metadata = ["input": .string(input), "status": .string(status.rawValue), "ms": .stringConvertible(ms)]
        if let reason { fields["reason"] = .string(reason.rawValue) }
        if let errorKind { fields["error_kind"] = .string(errorKind.rawValue) }
        if let error { fields["error"] = .string(error) }
        if let attempts { fields["attempts"] = .stringConvertible(attempts) }
        if let stages = stageMilliseconds { fields["stage_ms"] = .dictionary(stages.mapValues { .stringConvertible($0) }) }
        if let inputPixels { fields["input_pixels"] = .stringConvertible(inputPixels) }
        if !outputs.isEmpty {
            fields["outputs"] = .array(outputs.map { output in
                var record: Logger.Metadata = ["path": .string(output.path), "width": .stringConvertible(output.width),
                                               "height": .stringConvertible(output.height), "bytes": .stringConvertible(output.bytes),
                                               "format": .string(output.format.rawValue)]
                if let status = output.status { record["status"] = .string(status.rawValue) }
                if let errorKind = output.errorKind { record["error_kind"] = .string(errorKind.rawValue) }
                return .dictionary(record)
            })
        }
        return fields
    }
}

extension BatchSummary {
    /// The fields of a run's last record: its counts, time, rate, peak memory and failures by kind.
    public var logFields: Logger.Metadata {
        var fields: Logger.Metadata = [
            "total": .stringConvertible(total), "written": .stringConvertible(written), "skipped": .stringConvertible(skipped),
            "failed": .stringConvertible(failed), "not_images": .stringConvertible(notImages),
            "cancelled": .stringConvertible(cancelled), "removed": .stringConvertible(removed),
            "seconds": .stringConvertible(seconds), "images_per_second": .stringConvertible(imagesPerSecond),
        ]
        if let peakRSSKiB { fields["peak_rss_kib"] = .stringConvertible(peakRSSKiB) }
        if !failuresByKind.isEmpty { fields["failures_by_kind"] = .dictionary(failuresByKind.mapValues { .stringConvertible($0) }) }
        if let stoppedBy { fields["stopped_by"] = .string(stoppedBy) }
        if let shard { fields["shard"] = .string(shard) }
        if dryRun { fields["dry_run"] = .stringConvertible(true) }
        return fields
    }
}
