// RunMetrics: a run's events counted through swift-metrics into a Prometheus registry, with the engine's live gauges and the process's own figures read at each scrape.

import CoreMetrics
import FastResize
import Foundation
import Prometheus
import Synchronization

/// The metrics of one process (a run, a watch, a worker), by Prometheus's conventions: counters
/// end in `_total`, durations are in seconds, sizes in bytes, and no file name is ever a label.
/// A subscriber of the run's events; the gauges of the run in progress are read when the
/// metrics are (`exposition`).
public final class RunMetrics: BatchEventSubscriber, Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// The gauges of the run in progress (a watch starts a new run on SIGHUP), nil between runs.
    private let gauges: @Sendable () -> RunGauges?
    /// Inputs waiting to be made (a watch's queue, a worker's queued jobs), when there is a queue.
    private let queueDepth: (@Sendable () -> Int)?

    private let files = Mutex<[String: CoreMetrics.Counter]>([:])
    private let failures = Mutex<[String: CoreMetrics.Counter]>([:])
    private let stages = Mutex<[String: CoreMetrics.Timer]>([:])
    private let inputBytes: CoreMetrics.Counter
    private let outputBytes: CoreMetrics.Counter
    private let inputPixels: CoreMetrics.Counter
    private let inFlight: Meter
    private let queued: Meter
    private let memoryLimit: Meter
    private let memoryAdmitted: Meter
    private let workerRestarts: CoreMetrics.Counter
    /// The restarts already counted, of which run's gauges.
    private let restartsSeen = Mutex<(run: ObjectIdentifier?, count: Int)>((nil, 0))
    private let process: ProcessMetrics

    static let filesHelp = "Files done, by status (written, skipped, failed, not-image, cancelled, removed) and output format."

    /// A metric's whole name and its help (the name is not split into namespace and unit: it
    /// reads as Prometheus shows it).
    static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Stage durations from 1 ms to 60 s.
    public static let stageBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60),
    ]

    public init(gauges: @escaping @Sendable () -> RunGauges?, queueDepth: (@Sendable () -> Int)? = nil) {
        self.gauges = gauges
        self.queueDepth = queueDepth
        let registry = registry
        func counter(_ name: String, _ help: String) -> CoreMetrics.Counter {
            CoreMetrics.Counter(label: name, dimensions: [], handler: registry.makeCounter(descriptor: Self.named(name, help), labels: []))
        }
        func meter(_ name: String, _ help: String, labels: [(String, String)] = []) -> Meter {
            Meter(label: name, dimensions: labels, handler: registry.makeGauge(descriptor: Self.named(name, help), labels: labels))
        }
        inputBytes = counter("fastresize_input_bytes_total", "Bytes of the input files worked on.")
        outputBytes = counter("fastresize_output_bytes_total", "Bytes of the outputs written.")
        inputPixels = counter("fastresize_input_pixels_total", "Pixels of the inputs read (width times height, as their headers say).")
        inFlight = meter("fastresize_files_in_flight", "Files being made now.")
        queued = meter("fastresize_queue_depth", "Inputs waiting to be made (a watch's files, a worker's queued jobs).")
        let memoryHelp = "The memory budget of decoded pictures: its limit (--memory-limit), and the bytes admitted now."
        memoryLimit = meter("fastresize_memory_budget_bytes", memoryHelp, labels: [("state", "limit")])
        memoryAdmitted = meter("fastresize_memory_budget_bytes", memoryHelp, labels: [("state", "admitted")])
        workerRestarts = counter("fastresize_worker_restarts_total", "Isolated decoder processes started again after one crashed or timed out.")
        process = ProcessMetrics()
    }

    public func receive(_ event: BatchEvent) {
        switch event {
        case .stage(_, let stage, let seconds):
            timer(stage.rawValue).recordNanoseconds(Int64(seconds * 1e9))
        case .finished(let report, _, _, _):
            count(report)
        default:
            return
        }
    }

    /// One file's outcome: its status and format, its failure's kind, its bytes and pixels.
    private func count(_ report: FileReport) {
        // The format of what it was made into (its first output's), or "none" when nothing was planned.
        filesCounter(status: report.status.rawValue, format: report.outputs.first?.format.rawValue ?? "none").increment()
        if report.status == .failed, let kind = report.errorKind?.rawValue { failuresCounter(kind: kind).increment() }
        if report.status == .written || report.status == .failed {
            if let bytes = report.inputBytes { inputBytes.increment(by: bytes) }
            if let pixels = report.inputPixels { inputPixels.increment(by: pixels) }
        }
        let written = report.outputs.filter { $0.status == .written }.reduce(0) { $0 + $1.bytes }
        if written > 0 { outputBytes.increment(by: written) }
    }

    private func filesCounter(status: String, format: String) -> CoreMetrics.Counter {
        labelled(files, "\(status) \(format)") {
            CoreMetrics.Counter(label: "fastresize_files_total", dimensions: [("status", status), ("format", format)],
                                handler: registry.makeCounter(descriptor: Self.named("fastresize_files_total", Self.filesHelp),
                                                              labels: [("status", status), ("format", format)]))
        }
    }

    private func failuresCounter(kind: String) -> CoreMetrics.Counter {
        labelled(failures, kind) {
            CoreMetrics.Counter(label: "fastresize_failures_total", dimensions: [("kind", kind)],
                                handler: registry.makeCounter(descriptor: Self.named("fastresize_failures_total", "Files that failed, by the kind of failure."),
                                                              labels: [("kind", kind)]))
        }
    }

    /// Adds the counters of another process's final metrics (`write(to:)`) to these: a worker's
    /// jobs run as processes of their own, and the worker's metrics are the sum of theirs. Their
    /// stage histograms are not carried over.
    public func absorb(_ exposition: String) {
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]), value > 0 else { continue }
            let series = line[..<space]
            let name = series.prefix { $0 != "{" }
            var labels: [String: String] = [:]
            for match in series.matches(of: /(\w+)="([^"]*)"/) { labels[String(match.1)] = String(match.2) }
            let amount = Int(value)
            switch name {
            case "fastresize_files_total":
                filesCounter(status: labels["status"] ?? "unknown", format: labels["format"] ?? "none").increment(by: amount)
            case "fastresize_failures_total": failuresCounter(kind: labels["kind"] ?? "unknown").increment(by: amount)
            case "fastresize_input_bytes_total": inputBytes.increment(by: amount)
            case "fastresize_output_bytes_total": outputBytes.increment(by: amount)
            case "fastresize_input_pixels_total": inputPixels.increment(by: amount)
            case "fastresize_worker_restarts_total": workerRestarts.increment(by: amount)
            default: continue
            }
        }
    }

    private func timer(_ stage: String) -> CoreMetrics.Timer {
        labelled(stages, stage) {
            CoreMetrics.Timer(label: "fastresize_stage_duration_seconds", dimensions: [("stage", stage)],
                              handler: registry.makeDurationHistogram(descriptor: Self.named("fastresize_stage_duration_seconds",
                                                                                             "Time files spent in each stage: decode, resize, encode, write."),
                                                                      labels: [("stage", stage)], buckets: Self.stageBuckets))
        }
    }

    private func labelled<Metric>(_ table: borrowing Mutex<[String: Metric]>, _ key: String, _ make: () -> Metric) -> Metric {
        table.withLock { table in
            if let metric = table[key] { return metric }
            let metric = make()
            table[key] = metric
            return metric
        }
    }

    /// The metrics now, in Prometheus's text format (what `/metrics` serves): the live gauges and
    /// the process's figures are read first.
    public func exposition() -> String {
        process.refresh()
        return runExposition() + process.registry.emitToString()
    }

    /// The run's final metrics written to `path` at once (a temporary renamed into place), for
    /// node_exporter's textfile collector: without the process_* metrics, which node_exporter
    /// exports for itself.
    public func write(to path: String) throws(FileError) {
        _ = try AtomicFile.write(Array(runExposition().utf8), to: path, overwrite: true)
    }

    private func runExposition() -> String {
        let run = gauges()
        let now = run?.snapshot ?? RunGauges.Snapshot()
        inFlight.set(now.filesInFlight)
        memoryLimit.set(now.memoryLimit)
        memoryAdmitted.set(now.admittedBytes)
        // The run's count grows; a new run (a watch's reload) counts from zero again.
        let restarts = restartsSeen.withLock { seen -> Int in
            let id = run.map(ObjectIdentifier.init)
            let new = now.workerRestarts - (seen.run == id ? seen.count : 0)
            seen = (id, now.workerRestarts)
            return max(0, new)
        }
        if restarts > 0 { workerRestarts.increment(by: restarts) }
        if let queueDepth { queued.set(queueDepth()) }
        return registry.emitToString()
    }
}
