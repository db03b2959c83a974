// QueueCommands: `fastresize submit`, `fastresize worker`, `jobs cancel` and `jobs retry` — the job store as a queue with priorities, run by worker processes.

import ArgumentParser
import FastResize
import FastResizeConfig
import FastResizeJobs
import Foundation
import Synchronization

/// `fastresize submit [--priority N] INPUT... -o OUT [options]`: checks the command as a run would,
/// records it as a queued job and prints its id (alone on stdout, for scripts); a worker runs it.
enum SubmitCommand {
    static let usage = """
        Usage: fastresize submit [--priority <n>] <input> ... -o <dir> [<run options>]
          Queue a run as a job in its job store (--state, else OUTPUT/.fastresize/state.db) and print
          its id; `fastresize worker` runs queued jobs, highest priority first (default 0; higher
          first, oldest first within a priority).
        """

    static func run(_ arguments: [String]) -> Int32 {
        if arguments.isEmpty || arguments.contains(where: { ["--help", "-h"].contains($0) }) {
            print(usage)
            return arguments.isEmpty ? 2 : 0
        }
        let own: OwnOptions
        do throws(UsageError) {
            own = try OwnOptions(arguments, values: ["priority"])
        } catch {
            return fail(error.message)
        }
        let rest = own.rest
        var priority = 0
        if let value = own.values["priority"] {
            guard let number = Int(value), abs(number) <= 1_000_000 else {
                return fail("--priority must be a whole number between -1000000 and 1000000, not \(value)")
            }
            priority = number
        }
        let command = Main.parsed(FastResizeCommand.self, rest)
        let resolved: ResolvedSettings
        do {
            (resolved, _) = try command.resolve()
        } catch {
            Console.writeError(FastResizeCommand.fullMessage(for: ValidationError(error.message)) + "\n")
            return 2
        }
        guard !resolved.dryRun else { return fail("--dry-run cannot be queued: run it directly") }
        do throws(StoreError) {
            guard let store = try RunStore.open(resolved.state, outputFolder: resolved.options.outputDirectory, durable: resolved.options.fsync) else {
                return fail("a queued job lives in a job store: not with --no-state")
            }
            let path = store.location
            let (settings, fingerprint) = RunStore.fingerprinted(resolved.options)
            var job = RunStore.record(resolved, command: rest, settings: settings, fingerprint: fingerprint, status: .queued)
            job.priority = priority
            job.submitted = true
            let id = try store.createJob(job)
            print(id)
            Console.writeError("queued job \(id) (priority \(priority)) in \(path); run it with: fastresize worker --state \(path)\n")
            return 0
        } catch {
            Console.writeError("fastresize: error: job store: \(error)\n")
            return 2
        }
    }

    private static func fail(_ message: String) -> Int32 {
        Console.writeError("Error: \(message)\n")
        return 2
    }
}

/// `fastresize worker`: runs queued jobs, one at a time, each in a child run of its own command
/// (in the folder it was submitted from). Several workers on one store share a job file by file
/// (the runs' leases), so none makes a file another has taken.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fastresize worker",
        abstract: "Run the queued jobs of a job store, highest priority first, until stopped.",
        discussion: """
        Each job runs as `fastresize` with the command it was submitted with, in the folder it was \
        submitted from. Start several workers on one store to share the work (on this machine with \
        an SQLite store, on any machines sharing the folders with a PostgreSQL one): a file is \
        made by one of them only; a worker killed mid-file leaves it to the others. \
        SIGINT or SIGTERM stops the job in hand gently (its files in flight finish) and the worker. \
        Exit codes: 0 every job ran without failed files, 1 some file failed, 2 usage or store \
        error, 130/143 stopped by SIGINT/SIGTERM.
        """
    )

    @OptionGroup var location: StoreLocation

    @Flag(help: "Exit when no job is queued instead of waiting for one.")
    var exitWhenEmpty = false

    @Option(help: ArgumentHelp("Seconds between looks at an empty queue (default 1); with a PostgreSQL store a submitted job also wakes the worker at once (LISTEN/NOTIFY).", valueName: "S"))
    var poll = 1.0

    @Option(help: ArgumentHelp("Serve /metrics (the jobs' counts summed, the queue's depth), /livez, /readyz and /healthz on this address: HOST:PORT, or :PORT for loopback.", valueName: "address"))
    var metricsListen: String?

    @Option(help: ArgumentHelp("Write the final metrics to this file when the worker stops (Prometheus's text format).", valueName: "file"))
    var metricsFile: String?

    func validate() throws {
        guard poll > 0, poll <= 3600 else { throw ValidationError("--poll must be between 0 and 3600 seconds") }
    }

    func work() throws(UsageError) -> Int32 {
        let store = try location.open()
        let storePath = StoreLocation.forChild(store)
        let stop = WorkerStop()
        var watching = ObservabilitySettings()
        watching.metricsListen = try metricsListen.map { text throws(UsageError) in try ListenAddress(parsing: text, for: "--metrics-listen") }
        watching.metricsFile = metricsFile
        // Alive while its loop turns or a job's run is under way; ready until told to stop.
        let staleAfter = max(Observability.staleAfter, 3 * poll)
        let observability = try Observability(
            watching, quiet: false, verbose: false, queueDepth: { (try? store.queuedCount()) ?? 0 },
            health: HealthChecks(live: { stop.alive(staleAfter: staleAfter) ? (true, "alive") : (false, "stuck: the worker's loop has not turned") },
                                 ready: { stop.signalNumber == nil ? (true, "ready") : (false, "draining: stopping, the job in hand finishes") }))
        // Each job's run writes its final metrics here, for the worker to add to its own.
        let jobMetrics = observability.metrics.map { _ in FileManager.default.temporaryDirectory.appendingPathComponent("fastresize-worker-\(getpid())").path }
        if let jobMetrics { try? FileManager.default.createDirectory(atPath: jobMetrics, withIntermediateDirectories: true) }
        defer {
            if let jobMetrics { try? FileManager.default.removeItem(atPath: jobMetrics) }
            _ = observability.finish()
        }
        let signals = [SIGINT, SIGTERM].map { number in SignalWatch.watch(number) { stop.signal(number) } }
        defer { signals.forEach { $0.cancel() } }
        var done: Set<Int64> = []
        var retaken: [Int64: Int] = [:]
        var failed = false
        // The next job's run, started while the worker waits (not by one that leaves when the
        // queue is empty: it would only be dismissed).
        var spare: SpareRun?
        defer { spare?.dismiss() }
        while stop.signalNumber == nil {
            let job: JobRecord?
            do throws(StoreError) {
                if let next = try store.nextJob(skipping: done) {
                    job = next
                } else {
                    job = try abandoned(among: &done, retaken: &retaken, in: store)
                }
            } catch {
                throw UsageError(error.description)
            }
            guard let job else {
                if exitWhenEmpty { break }
                if spare == nil { spare = SpareRun(state: storePath) }
                stop.idle(poll, store: store)
                continue
            }
            done.insert(job.id)
            Console.writeError("worker: job \(job.id) (priority \(job.priority)): fastresize \(job.command.joined(separator: " ")) (in \(job.workingDirectory))\n")
            // Before the job's own words, which may end its options with `--`.
            let metricsPath = jobMetrics.map { "\($0)/job-\(job.id).prom" }
            let arguments = ["--state", storePath, "--job-id", String(job.id)] + (metricsPath.map { ["--metrics-file", $0] } ?? []) + job.command
            let run: ChildExit
            let waiting = spare
            spare = nil
            if let waiting, waiting.hand(directory: job.workingDirectory, arguments: arguments) {
                run = waiting.ended
                stop.adopt(run.process)
            } else {
                let child = Process()
                child.executableURL = URL(fileURLWithPath: FastResizeCommand.executablePath)
                child.arguments = arguments
                child.currentDirectoryURL = URL(fileURLWithPath: job.workingDirectory)
                run = ChildExit(child)
                do {
                    try stop.run(child)
                } catch {
                    Console.writeError("worker: job \(job.id): cannot start its run in \(job.workingDirectory): \(error)\n")
                    failed = true
                    continue
                }
            }
            run.wait()
            stop.finished()
            if let metricsPath, let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) {
                observability.metrics?.absorb(text)
                try? FileManager.default.removeItem(atPath: metricsPath)
            }
            // A job cancelled under its run stopped as asked: not a failure.
            let cancelled = (try? store.job(job.id))??.status == .cancelled
            if run.process.terminationStatus != 0 && !cancelled { failed = true }
        }
        if let number = stop.signalNumber { return 128 + number }
        return failed ? 1 : 0
    }

    /// A job this worker has run that is still running with nobody on it (the other workers on it
    /// died mid-file): taken up again, for the files they left. Jobs since ended are forgotten.
    /// (A job whose run cannot even start stays as it is: this worker tries it at most three times.)
    private func abandoned(among done: inout Set<Int64>, retaken: inout [Int64: Int], in store: any JobStore) throws(StoreError) -> JobRecord? {
        for id in done.sorted() where retaken[id, default: 0] < 3 {
            guard let job = try store.job(id), [.queued, .running, .interrupted].contains(job.status) else {
                done.remove(id)
                continue
            }
            guard job.status == .running,
                  try !store.holders(job: id, at: StoreRecorder.now).contains(where: { !StoreRecorder.isDead($0) }) else { continue }
            retaken[id, default: 0] += 1
            done.remove(id)
            return job
        }
        return nil
    }
}

/// A worker's stop: the signal that asked for it, passed on to the job's run in hand.
private final class WorkerStop: @unchecked Sendable {
    private let condition = NSCondition()
    private var child: Process?
    private(set) var signalNumber: Int32? {
        get { condition.withLock { stored } }
        set { condition.withLock { stored = newValue } }
    }
    private var stored: Int32?

    func signal(_ number: Int32) {
        condition.lock()
        if stored == nil { stored = number }
        // The run stops as it would at a terminal: gently at the first signal, at once at the second.
        if let child, child.isRunning { kill(child.processIdentifier, number) }
        condition.broadcast()
        condition.unlock()
    }

    func run(_ process: Process) throws {
        condition.lock()
        defer { condition.unlock() }
        guard stored == nil else { return }
        try process.run()
        child = process
    }

    /// A spare run handed its job (`SpareRun`) is the job's run: signals go to it from now on.
    func adopt(_ process: Process) {
        condition.lock()
        defer { condition.unlock() }
        child = process
        if let stored { kill(process.processIdentifier, stored) }
    }

    func finished() {
        condition.withLock {
            child = nil
            lastTurn = Date()
        }
    }

    /// Waits `seconds`, or until a signal.
    func sleep(_ seconds: Double) {
        condition.lock()
        lastTurn = Date()
        if stored == nil { _ = condition.wait(until: Date().addingTimeInterval(seconds)) }
        lastTurn = Date()
        condition.unlock()
    }

    /// Waits `seconds` for work: until a job is submitted where the store hears of that
    /// (PostgreSQL), else the whole time; a signal ends the wait either way.
    func idle(_ seconds: Double, store: any JobStore) {
        let end = Date().addingTimeInterval(seconds)
        var left = seconds
        while left > 0, signalNumber == nil {
            // In short slices, so that a signal is seen within a fifth of a second.
            guard let heard = store.awaitSubmission(seconds: min(left, 0.2)) else { return sleep(left) }
            condition.withLock { lastTurn = Date() }
            if heard { return }
            left = end.timeIntervalSinceNow
        }
    }

    /// When the loop last turned: between jobs it sleeps at most --poll.
    private var lastTurn = Date()

    /// Whether the worker is alive: a job's run is under way, or its loop turned lately.
    func alive(staleAfter: Double) -> Bool {
        condition.withLock { child?.isRunning == true || Date().timeIntervalSince(lastTurn) < staleAfter }
    }
}

/// `fastresize jobs cancel ID`: a queued job is never run; a running one stops as at SIGTERM
/// (its files in flight finish) at its next claim or lease renewal, whichever comes first.
struct JobsCancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fastresize jobs cancel",
        abstract: "Cancel a queued or running job (a running one starts no more files; those in flight finish)."
    )

    @Argument(help: "The job's id (from fastresize jobs).")
    var id: Int64

    @OptionGroup var location: StoreLocation

    func report() throws(UsageError) -> String {
        let store = try location.open()
        do throws(StoreError) {
            guard let before = try store.cancelJob(id, at: StoreRecorder.now) else {
                throw StoreError("no job \(id) in \(store.location)")
            }
            switch before {
            case .queued: return "job \(id) cancelled: it will not run\n"
            case .running: return "job \(id) cancelled: its run starts no more files, and stops when those in flight finish\n"
            case .interrupted: return "job \(id) cancelled: it will not be resumed by workers\n"
            case .finished, .cancelled: throw StoreError("job \(id) is \(before.rawValue): nothing to cancel")
            }
        } catch {
            throw UsageError(error.description)
        }
    }
}

/// `fastresize jobs retry ID`: runs the job's command again for the files that failed in it only
/// (after the disk was freed, the network share came back), as a new job.
struct JobsRetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fastresize jobs retry",
        abstract: "Make again the files that failed in a past job (its command, in its folder, for those files only).",
        discussion: "A file changed since is made from what it is now; one made since by another run is left as it is."
    )

    @Argument(help: "The job's id (from fastresize jobs).")
    var id: Int64

    @OptionGroup var location: StoreLocation

    func retry() throws(UsageError) -> Never {
        let store = try location.open()
        let job: JobRecord
        let failed: Int
        do throws(StoreError) {
            guard let found = try store.job(id) else { throw StoreError("no job \(id) in \(store.location)") }
            job = found
            failed = RunStore.failed(try store.attempts(job: id)).count
        } catch {
            throw UsageError(error.description)
        }
        guard failed > 0 else {
            print("job \(id) has no failed files: nothing to retry")
            Glibc.exit(0)
        }
        let storePath = StoreLocation.forChild(store)
        Console.writeError("retrying the \(failed) failed file\(failed == 1 ? "" : "s") of job \(id)\n")
        try JobsResumeCommand.exec(job, extra: ["--state", storePath, "--retry-of", String(id)])
    }
}
