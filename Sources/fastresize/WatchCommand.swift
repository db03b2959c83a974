// WatchCommand: `fastresize watch` — keeps an output folder up to date with watched input folders until stopped; SIGHUP reloads the settings.

import FastResize
import FastResizeCodecs
import FastResizeConfig
import FastResizeJobs
import FastResizeWatch
import Foundation
import Synchronization

/// `fastresize watch [--settle T] [--delete-outputs] [--rescan-interval S] FOLDER... -o OUT [run options]`.
enum WatchCommand {
    static let usage = """
        Usage: fastresize watch [--settle <time>] [--delete-outputs] [--rescan-interval <s>] <folder> ... -o <dir> [<run options>]
          Bring the output folder up to date with the input folders (as a run would, from the job
          store: only what changed, also while nobody watched), then watch them with inotify and make
          each file that arrives or changes once it is complete: closed after writing or moved in,
          then quiet for --settle (default 300ms; also 2s, 0.5). Names of temporaries (*.part,
          *.crdownload, *.tmp, *~, hidden names) are never read. Runs until SIGINT or SIGTERM (files
          in flight finish; exit 0); SIGHUP reloads the config file (a bad one keeps the settings in use).
          --delete-outputs     an input deleted or moved away takes the outputs FastResize wrote for it
          --rescan-interval S  also walk the whole tree every S seconds (for network file systems,
                               where inotify sees nothing; used anyway when inotify runs out of watches)
        """

    static func run(_ arguments: [String]) -> Int32 {
        if arguments.isEmpty || arguments.contains(where: { ["--help", "-h"].contains($0) }) {
            print(usage)
            return arguments.isEmpty ? 2 : 0
        }
        let settings: WatchSettings
        let rest: [String]
        do throws(UsageError) {
            let own = try OwnOptions(arguments, values: ["settle", "rescan-interval"], flags: ["delete-outputs"])
            settings = try watchSettings(own)
            rest = own.rest
        } catch {
            return fail(error.message)
        }
        let command = Main.parsed(FastResizeCommand.self, rest)
        var resolved: ResolvedSettings
        let restricted: Bool
        do throws(UsageError) {
            resolved = try checked(command)
            // --sandbox on: restricted before any thread starts, its config's folder left
            // readable for SIGHUP (an editor replaces the file by another).
            let configFolder = resolved.config.map { FastResizeCommand.folder(of: $0.file.path) }
            restricted = try FastResizeCommand.restrictRun(resolved, report: nil, alsoReadable: configFolder.map {
                [FileSystem.realPath($0) ?? $0]
            } ?? [], auto: false)
        } catch {
            return fail(error.message)
        }
        let current = CurrentControl()
        let first = resolved
        // Logs and metrics are set up once, by the settings the watch starts with (a reload
        // changes what is made, not where the watch reports).
        let observability: Observability
        do throws(UsageError) {
            observability = try Observability(resolved, watching: true) { current.session?.queueDepth ?? 0 }
        } catch {
            return fail(error.message)
        }
        let console = observability.console
        // SIGINT and SIGTERM end the watch as they end a run (files in flight finish), with exit 0:
        // the clean stop of a service.
        let signals = FastResizeCommand.stopOnSignals(console: console) { (current.control, current.firstStop()) }
        // SIGHUP: the settings read again (the config file, the environment); the watch goes on
        // with them, or, when they are wrong, with those in use.
        let hangUp = SignalWatch.watch(SIGHUP) {
            observability.reopenLog()
            do throws(UsageError) {
                let fresh = try checked(command)
                // A restricted watch can reach no other folder or file than those it started with.
                if restricted, Self.placesDiffer(fresh, first) {
                    throw UsageError("under --sandbox on the output folder, job store, log and metrics files stay as the watch "
                                     + "started: restart it to move them")
                }
                current.reload(with: fresh)
                console.note("SIGHUP: settings read again; the watch starts over with them (files in flight finish first)")
            } catch {
                console.note("SIGHUP: the settings cannot be read again: \(error.message); going on with those in use")
            }
        }
        // A test's way to freeze the scheduler, which /livez must notice: SIGUSR2, only with
        // FASTRESIZE_TEST_HOOKS=1.
        var stall: (any DispatchSourceSignal)?
        if ProcessInfo.processInfo.environment["FASTRESIZE_TEST_HOOKS"] == "1" {
            stall = SignalWatch.watch(SIGUSR2) { current.control.stallForTesting() }
        }
        defer {
            hangUp.cancel()
            stall?.cancel()
            signals.forEach { $0.cancel() }
        }
        while true {
            let control = current.control
            observability.began(control)
            let recorder: StoreRecorder?
            do throws(StoreError) {
                recorder = try RunStore.recorder(for: resolved, command: ["watch"] + arguments, role: RunStore.Role(openEnded: true))
            } catch {
                console.error("fastresize: error: job store: \(error)")
                return 2
            }
            var runner = BatchRunner(options: resolved.options, codecs: Codecs.all)
            runner.recorder = recorder
            let session = WatchSession(runner: runner, settings: settings,
                                       output: WatchOutput(note: { console.note($0) }, removed: { console.removed($0) }))
            current.session = session
            let started = Date()
            console.showStatus {
                let status = session.status
                return "watching \(status.folders) folder\(status.folders == 1 ? "" : "s")\(status.rescanning ? " (rescanning)" : ""): "
                    + "\(status.done) done, \(status.inHand) queued, \(status.settling) settling, \(status.failed) failed; "
                    + "up \(Int(Date().timeIntervalSince(started))) s"
            }
            let ticker = Ticker(every: 1, name: "fastresize-status") { console.refresh() }
            let report: BatchReport
            do throws(WatchError) {
                report = try session.run(control: control, events: observability.subscribers)
            } catch {
                ticker.stop()
                console.error("fastresize: error: \(error)")
                _ = observability.finish()
                return 2
            }
            ticker.stop()
            RunStore.finish(report.summary)
            if let problem = recorder?.problem {
                console.error("warning: job store: \(problem) (this watch's record is incomplete; its outputs are as reported)")
            }
            if control.stoppedBy == SIGHUP, let fresh = current.takeReload() {
                resolved = fresh
                continue
            }
            console.finish(report)
            return observability.finish() ? 0 : 1
        }
    }

    /// Whether two settings write in different places (output folder, job store, log or metrics file).
    private static func placesDiffer(_ one: ResolvedSettings, _ other: ResolvedSettings) -> Bool {
        one.options.outputDirectory != other.options.outputDirectory || one.state != other.state
            || one.observability.logFile != other.observability.logFile || one.observability.metricsFile != other.observability.metricsFile
    }

    /// The run's settings, checked as a watch needs them: folders to watch, a job store to
    /// decide what changed, no end report.
    private static func checked(_ command: FastResizeCommand) throws(UsageError) -> ResolvedSettings {
        let (resolved, _) = try command.resolve { resolved throws(UsageError) in
            if resolved.report != nil { throw UsageError("a watch has no end, so no end report: not with --report") }
            if resolved.dryRun { throw UsageError("--dry-run shows what a run would do: run it without watch") }
            if case .none = resolved.state {
                throw UsageError("a watch decides what changed from its job store: not with --no-state")
            }
            for input in command.inputs where !FileSystem.isFolder(input) {
                throw UsageError("\(input): a watch watches folders (to make one file, run fastresize on it)")
            }
        }
        return resolved
    }

    private static func watchSettings(_ own: OwnOptions) throws(UsageError) -> WatchSettings {
        var settings = WatchSettings()
        settings.deleteOutputs = own.flags.contains("delete-outputs")
        if let text = own.values["settle"] {
            guard let seconds = duration(text), seconds >= 0, seconds <= 3600 else {
                throw UsageError("expected a time between 0 and 1h for --settle, such as 300ms or 2s, but got \"\(text)\"")
            }
            settings.settle = seconds
        }
        if let text = own.values["rescan-interval"] {
            guard let seconds = duration(text), seconds >= 1, seconds <= 86_400 else {
                throw UsageError("expected seconds between 1 and 86400 for --rescan-interval, such as 60 or 5m, but got \"\(text)\"")
            }
            settings.rescanInterval = seconds
        }
        if let limit = ProcessInfo.processInfo.environment["FASTRESIZE_TEST_WATCH_LIMIT"].flatMap(Int.init) {
            settings.watchLimit = limit
        }
        return settings
    }

    /// Seconds from "300ms", "2s", "5m", or a bare number of seconds.
    static func duration(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * scale }
        }
        return Double(text)
    }

    private static func fail(_ message: String) -> Int32 {
        Console.writeError("Error: \(message)\n")
        return 2
    }
}

/// The control of the watch's current stretch, shared with the signal handlers: SIGHUP stops it
/// to start the next stretch with settings read again; SIGINT and SIGTERM stop the watch.
final class CurrentControl: Sendable {
    private let state = Mutex<(control: BatchControl, reload: ResolvedSettings?, stopping: Bool)>((BatchControl(), nil, false))
    private let currentSession = Mutex<WatchSession?>(nil)

    var control: BatchControl { state.withLock { $0.control } }

    /// The stretch of the watch going on now (its queue is the metrics' queue depth).
    var session: WatchSession? {
        get { currentSession.withLock { $0 } }
        set { currentSession.withLock { $0 = newValue } }
    }

    /// Stops the current stretch; the next starts with `settings` — unless a stop came first.
    func reload(with settings: ResolvedSettings) {
        let stopped = state.withLock { state -> BatchControl? in
            guard !state.stopping else { return nil }
            state.reload = settings
            return state.control
        }
        stopped?.stop(signal: SIGHUP)
    }

    /// The settings to go on with, and a fresh control for them.
    func takeReload() -> ResolvedSettings? {
        state.withLock { state in
            guard let settings = state.reload, !state.stopping else { return nil }
            state.reload = nil
            state.control = BatchControl()
            return settings
        }
    }

    /// True the first time the watch is told to stop.
    func firstStop() -> Bool {
        state.withLock { state in
            defer { state.stopping = true }
            return !state.stopping
        }
    }
}
