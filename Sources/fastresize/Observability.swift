// Observability: a command's console, logs, metrics and health endpoints, made from its settings; the metrics server only when --metrics-listen asks.

import FastResize
import FastResizeConfig
import FastResizeLog
import FastResizeMetrics
import Foundation
import Logging
import Synchronization

/// The run in progress, shared with the server's threads.
private final class CurrentRun: Sendable {
    private let state = Mutex<BatchControl?>(nil)

    var control: BatchControl? {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}

/// What a run, a watch or a worker tells those who operate it. Built once per process; a
/// command tells it which run is current (`began`), for the health checks and the live gauges.
final class Observability: Sendable {
    let console: Console
    let metrics: RunMetrics?
    private let settings: ObservabilitySettings
    private let destination: LogDestination?
    private let server: MetricsServer?
    private let current: CurrentRun

    /// A scheduler that has not beaten for this long is stuck: /livez says 503.
    static let staleAfter = 5.0

    /// The console, logs and metrics `resolved` asks for; `queueDepth` for a command with a
    /// queue. A log file that cannot be opened, or an address that cannot be listened on, is a
    /// usage error: nothing has started.
    convenience init(_ resolved: ResolvedSettings, watching: Bool = false, reportTakesStandardOutput: Bool = false,
                     queueDepth: (@Sendable () -> Int)? = nil) throws(UsageError) {
        try self.init(resolved.observability, quiet: resolved.quiet, verbose: resolved.verbose, watching: watching,
                      reportTakesStandardOutput: reportTakesStandardOutput, queueDepth: queueDepth)
    }

    /// `health`: the probes' answers for a command without a run of its own (a worker); by
    /// default they follow the current run.
    init(_ settings: ObservabilitySettings, quiet: Bool, verbose: Bool, watching: Bool = false, reportTakesStandardOutput: Bool = false,
         queueDepth: (@Sendable () -> Int)? = nil, health: HealthChecks? = nil) throws(UsageError) {
        self.settings = settings
        let current = CurrentRun()
        self.current = current
        // Log lines go through swift-log when JSON is asked for or a log file is named; else the
        // console writes a person's lines as it always has.
        var log: Logger?
        if settings.logFormat == .json || settings.logFile != nil {
            let destination: LogDestination
            if let path = settings.logFile {
                do throws(LogFileError) {
                    destination = try LogDestination(path: path)
                } catch {
                    throw UsageError("--log-file: \(error)")
                }
            } else {
                destination = LogDestination()
            }
            self.destination = destination
            var level = Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info
            if !settings.logLevelGiven && quiet { level = .warning }
            if !settings.logLevelGiven && verbose { level = .debug }
            let format: LogFormat = settings.logFormat == .json ? .json : .text
            log = Logger(label: "fastresize") { _ in LineLogHandler(format: format, level: level, destination: destination) }
            log?.logLevel = level
        } else {
            destination = nil
        }
        // On a terminal, --log-level speaks as --quiet and --verbose do.
        let level = settings.logLevel
        let terse = quiet || settings.logLevelGiven && level >= .warning
        let wordy = verbose || settings.logLevelGiven && level <= .debug
        console = Console(quiet: terse, verbose: wordy && !terse, reportTakesStandardOutput: reportTakesStandardOutput,
                          watching: watching, log: log, progress: settings.logFormat == .text)
        metrics = settings.wantsMetrics ? RunMetrics(gauges: { current.control?.gauges }, queueDepth: queueDepth) : nil
        if let metrics, let address = settings.metricsListen {
            do throws(MetricsServerError) {
                server = try MetricsServer(host: address.host, port: address.port, metrics: metrics,
                                           health: health ?? HealthChecks(live: { Self.live(current.control) },
                                                                          ready: { Self.ready(current.control) }))
            } catch {
                throw UsageError("--metrics-listen: \(error)")
            }
            let served = ListenAddress(host: address.host, port: server?.port ?? address.port)
            console.note("metrics: http://\(served)/metrics; health: /livez, /readyz")
        } else {
            server = nil
        }
    }

    /// The run's subscribers: the console, and the metrics when kept.
    var subscribers: [any BatchEventSubscriber] { [console] + (metrics.map { [$0] } ?? []) }

    /// `control` is the run in progress now.
    func began(_ control: BatchControl) {
        current.control = control
    }

    /// SIGHUP: the log file is opened again (logrotate moved the old one away).
    func reopenLog() {
        do throws(LogFileError) {
            try destination?.reopen()
        } catch {
            console.error("warning: \(error); still writing to the file open before")
        }
    }

    /// The command is done: the final metrics are written (--metrics-file) and the server stops.
    /// A metrics file that cannot be written is said, and makes the exit status 1.
    func finish() -> Bool {
        server?.stop()
        guard let metrics, let path = settings.metricsFile else { return true }
        do throws(FileError) {
            try metrics.write(to: path)
            return true
        } catch {
            console.error("\(path): cannot write the metrics: \(error)")
            return false
        }
    }

    /// Alive while no run has started, and while the run's scheduler beats.
    static func live(_ control: BatchControl?) -> (ok: Bool, reason: String) {
        guard let since = control?.gauges.sinceLastBeat() else { return (true, "alive: starting") }
        if since > staleAfter { return (false, String(format: "stuck: the scheduler has not run for %.0f s", since)) }
        return (true, "alive")
    }

    /// Ready while a run takes work: not while starting, stopping (files in flight finish) or
    /// with every byte of the memory budget taken (files wait for memory).
    static func ready(_ control: BatchControl?) -> (ok: Bool, reason: String) {
        guard let control, control.gauges.sinceLastBeat() != nil else { return (false, "starting") }
        if let signal = control.stoppedBy {
            return (false, "draining: stopping (signal \(signal)), files in flight finish")
        }
        let now = control.gauges.snapshot
        if now.waitingForMemory > 0 {
            return (false, "memory at the limit: \(now.waitingForMemory) file\(now.waitingForMemory == 1 ? "" : "s") wait for --memory-limit")
        }
        return (true, "ready")
    }
}
