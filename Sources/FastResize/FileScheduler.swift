// FileScheduler: runs a batch's files on worker threads, with a per-file time limit and a switch that stops new files starting.

import Foundation

/// Stops a batch from outside (a signal handler): files not yet started are not started, files in
/// flight finish; or abandons it at once. Thread-safe. Each run given this control lends it its
/// temporaries and worker processes, and only those.
public final class BatchControl: @unchecked Sendable {
    fileprivate let condition = NSCondition()
    private var signal: Int32?
    private var temporaries: [TemporaryFiles] = []
    private var pools: [WorkerPool] = []
    /// What the runs under this control are doing now, for health checks and metrics.
    public let gauges = RunGauges()
    private var stalled = false

    public init() {}

    /// For a test of health checks only: the scheduler stops beating, as a deadlocked one would
    /// (its workers go on).
    public func stallForTesting() {
        condition.lock()
        stalled = true
        condition.unlock()
    }

    fileprivate func beat() {
        if !stalled { gauges.beat() }
    }

    /// A run's temporaries and worker pool, for `abandon`.
    func adopt(_ files: TemporaryFiles, _ pool: WorkerPool?) {
        condition.lock()
        temporaries.append(files)
        if let pool {
            pools.append(pool)
            pool.gauges.withLock { $0 = gauges }
        }
        condition.unlock()
    }

    /// For an exit that cannot wait (a second signal): removes the temporaries of the runs under
    /// this control and SIGKILLs their worker processes. The caller then exits.
    public func abandon() {
        condition.lock()
        let (files, workers) = (temporaries, pools)
        condition.unlock()
        files.forEach { $0.removeAll() }
        workers.forEach { $0.killAll() }
    }

    /// Asks the batch to stop; the first caller's signal number is kept (it picks the exit code).
    public func stop(signal: Int32) {
        condition.lock()
        if self.signal == nil { self.signal = signal }
        condition.broadcast()
        condition.unlock()
    }

    /// The signal that stopped the batch, nil while it runs on.
    public var stoppedBy: Int32? {
        condition.lock()
        defer { condition.unlock() }
        return signal
    }

    fileprivate var stoppedLocked: Bool { signal != nil }
}

/// One worker thread's state, which the work sees: its workspace, and the gate before an output
/// is moved into place.
public final class WorkerSlot: @unchecked Sendable {
    fileprivate enum State { case idle, running, committing, abandoned }

    /// Scratch buffers and weight tables, reused for every file this worker runs.
    public let workspace = ResizeWorkspace()
    fileprivate var state = State.idle
    fileprivate var index = 0
    fileprivate var started = Date()
    /// The file's time is counted (from `startClock`: a file waiting for memory is not timed).
    fileprivate var timing = false
    /// The work keeps its own time (an isolated process it can kill): the scheduler leaves it be.
    fileprivate var selfTimed = false
    fileprivate var onAbandon: (() -> Void)?
    private unowned let control: BatchControl

    fileprivate init(control: BatchControl) {
        self.control = control
    }

    /// Called just before an output is moved into place: true unless the file has been given up
    /// for taking too long, and from then on it cannot be given up (a file's outputs are all
    /// encoded before the first is moved, so the rest follow at once).
    public func mayCommit() -> Bool {
        control.condition.lock()
        defer { control.condition.unlock() }
        guard state == .running || state == .committing else { return false }
        state = .committing
        return true
    }

    /// The file's time starts now: until then (while it waits for memory admission, which is
    /// not the file's fault) it cannot be given up for taking too long.
    public func startClock() {
        control.condition.lock()
        started = Date()
        timing = true
        control.condition.broadcast()       // the scheduler sets its next wake-up by this deadline
        control.condition.unlock()
    }

    /// The work enforces the time limit itself from here on.
    public func keepsOwnTime() {
        control.condition.lock()
        selfTimed = true
        control.condition.unlock()
    }

    /// Runs `action` if the file is given up (to hand back what it holds); at most once.
    public func whenAbandoned(_ action: @escaping () -> Void) {
        control.condition.lock()
        onAbandon = action
        control.condition.unlock()
    }
}

/// What a file's work hands back to the scheduler: its report, or the last step still to run —
/// moving outputs into place after flushing them to disk — which the scheduler's committer
/// thread runs while the worker thread goes on to the next file (a flush waits on the disk, not
/// on a core).
enum FileOutcome: Sendable {
    case done(FileReport)
    case finishing(@Sendable () -> FileReport)
    /// Not now (another run holds the file): taken again after this many seconds, as the same
    /// attempt, with no report for this turn.
    case later(Double)
}

/// When a failed file is run again within its run (--retries, --retry-delay): a failure that may
/// not recur (`FileReport.retryable`: an I/O error other than a full disk, a timeout, a crashed
/// worker) is tried again
/// after an exponential backoff with jitter — `delay`, doubled for each attempt made, times a
/// random factor in [0.5, 1.5) — so files that failed together (a disk that filled, a busy NFS
/// server) do not all come back at the same instant.
public struct RetryPolicy: Sendable {
    /// Attempts after the first.
    public var retries: Int
    /// Seconds before the first retry.
    public var delay: Double

    public init(retries: Int, delay: Double) {
        self.retries = retries
        self.delay = delay
    }

    /// Whether a file's report calls for another attempt.
    func retries(_ file: PlannedFile, _ report: FileReport) -> Bool {
        file.attempt < retries && report.retryable
    }

    /// Seconds to wait before the attempt after `attempt` (0-based).
    func backoff(after attempt: Int) -> Double {
        delay * Double(1 << min(attempt, 20)) * Double.random(in: 0.5..<1.5)
    }
}

enum FileScheduler {
    /// Takes files from `source` on up to `workers` threads, runs `work` for each and returns every
    /// file taken with its report, as each was done, then those never started (after a stop)
    /// as `notStarted` reports them; with `keep` false only the latter (an open-ended run that
    /// lasts months keeps no file's report once `finished` has seen it). A file running longer
    /// than `timeout` seconds after its work called `WorkerSlot.startClock` is reported by
    /// `timedOut` and given up: its thread is left to finish on its own (C decoders cannot be
    /// interrupted), its output is never moved into place, and a new thread takes its place. Work that hands back a `.finishing` step (after
    /// `WorkerSlot.mayCommit`, so it can no longer be given up) has it run in order on one
    /// committer thread, at most `2 × workers` waiting. Once `control` stops the run, the source is
    /// closed: no file starts, files in flight finish. `finished` sees each report as it is made
    /// (under the scheduler's lock, so it must not wait on the scheduler).
    /// With a `retry` policy, a file whose failure may not recur is taken again (`attempt` one more)
    /// after its backoff; `retrying` is told instead of `finished`, and every attempt's report is
    /// returned (the caller keeps the last). A stop drops the retries still waiting: their last
    /// failure stands. Work may also hand a file back for `later` (held elsewhere): it waits like
    /// a retry, and a stop reports it with those never started.
    static func run(source: any FileSource, workers: Int, timeout: Double?, control: BatchControl,
                    retry: RetryPolicy? = nil, keep: Bool = true,
                    work: @escaping @Sendable (PlannedFile, WorkerSlot) -> FileOutcome,
                    timedOut: @escaping @Sendable (PlannedFile) -> FileReport,
                    notStarted: (PlannedFile) -> FileReport,
                    retrying: @escaping @Sendable (PlannedFile, FileReport, Double) -> Void = { _, _, _ in },
                    finished: @escaping @Sendable (PlannedFile, FileReport) -> Void) -> [(PlannedFile, FileReport)] {
        let state = SchedulerState()
        let condition = control.condition
        let committer = DispatchQueue(label: "fastresize.committer")
        let workers = min(max(1, workers), BatchOptions.maxJobs)     // a library caller's too
        let maxFinishing = 2 * workers

        /// Records a file's report (under the lock).
        @Sendable func record(_ index: Int, _ report: FileReport) {
            guard let file = state.inFlight.removeValue(forKey: index) else { return }
            control.gauges.update { $0.filesInFlight = state.inFlight.count }
            if keep { state.taken.append((file, report)) }
            if let retry, !control.stoppedLocked, retry.retries(file, report) {
                let delay = retry.backoff(after: file.attempt)
                var again = file
                again.attempt += 1
                state.retries.append((again, Date().addingTimeInterval(delay), false))
                retrying(file, report, delay)
                condition.broadcast()
                return
            }
            // Reported before it counts as done: once the count is full the batch may end
            // and the process exit, and a report still on its way would be lost.
            finished(file, report)
            condition.broadcast()
        }

        /// A worker thread leaves (under the lock).
        @Sendable func leave(_ slot: WorkerSlot) {
            slot.state = .idle
            state.workers -= 1
            condition.broadcast()
        }

        @Sendable func startWorker() {
            let slot = WorkerSlot(control: control)
            state.slots.append(slot)
            state.workers += 1
            DetachedThread.start(name: "fastresize.work") {
                while true {
                    condition.lock()
                    // Too many files waiting for the committer: let it catch up (it holds their
                    // temporaries open).
                    while state.finishing >= maxFinishing && !control.stoppedLocked { condition.wait() }
                    guard !control.stoppedLocked else {
                        leave(slot)
                        condition.unlock()
                        return
                    }
                    // A retry whose time has come goes first.
                    var next: PlannedFile?
                    if let due = state.retries.indices.min(by: { state.retries[$0].due < state.retries[$1].due }),
                       state.retries[due].due <= Date() {
                        next = state.retries.remove(at: due).file
                    } else if !state.sourceDone {
                        condition.unlock()
                        // Outside the lock: an open-ended source waits here for its next file.
                        next = source.next()
                        condition.lock()
                        if next == nil { state.sourceDone = true }
                    }
                    guard let file = next else {
                        // The source is done; stay while a retry waits or a file in flight may
                        // still fail into one.
                        let inFlight = state.slots.contains { $0 !== slot && ($0.state == .running || $0.state == .committing) }
                        if !control.stoppedLocked,
                           !state.retries.isEmpty || (retry != nil || state.deferred) && (inFlight || state.finishing > 0) {
                            if let soonest = state.retries.map(\.due).min() { _ = condition.wait(until: soonest) } else { condition.wait() }
                            condition.unlock()
                            continue
                        }
                        leave(slot)
                        condition.unlock()
                        return
                    }
                    slot.index = state.nextIndex
                    state.nextIndex += 1
                    state.inFlight[slot.index] = file
                    control.gauges.update { $0.filesInFlight = state.inFlight.count }
                    slot.timing = false
                    slot.state = .running
                    slot.selfTimed = false
                    slot.onAbandon = nil
                    condition.unlock()

                    let outcome = work(file, slot)

                    condition.lock()
                    if slot.state == .abandoned {       // reported already; a new thread took over
                        condition.unlock()
                        return
                    }
                    slot.state = .idle
                    switch outcome {
                    case .done(let report):
                        record(slot.index, report)
                    case .later(let delay):
                        // The same attempt, again; this turn leaves no report.
                        state.deferred = true
                        state.inFlight[slot.index] = nil
                        control.gauges.update { $0.filesInFlight = state.inFlight.count }
                        state.retries.append((file, Date().addingTimeInterval(delay), true))
                        condition.broadcast()
                    case .finishing(let step):
                        state.finishing += 1
                        let index = slot.index
                        committer.async {
                            let report = step()
                            condition.lock()
                            state.finishing -= 1
                            record(index, report)
                            condition.unlock()
                        }
                    }
                    condition.unlock()
                }
            }
        }

        condition.lock()
        // No more threads than files, when the source knows how many.
        for _ in 0..<max(1, min(workers, source.expectedCount ?? workers)) { startWorker() }
        var closed = false
        control.beat()
        while state.workers > 0 || state.finishing > 0 {
            if control.stoppedLocked && !closed {
                // No file starts from now on; a worker waiting on an open-ended source is let go.
                closed = true
                condition.unlock()
                let rest = source.close()
                condition.lock()
                state.unstarted = rest
                continue
            }
            // Awake at least once a second, to beat: health checks tell a live scheduler from a stuck one.
            control.beat()
            var wakeUp = Date().addingTimeInterval(RunGauges.beatInterval)
            if let timeout {
                let now = Date()
                for slot in state.slots where slot.state == .running && slot.timing && !slot.selfTimed {
                    let deadline = slot.started.addingTimeInterval(timeout)
                    if deadline <= now {
                        slot.state = .abandoned
                        slot.onAbandon?()
                        record(slot.index, timedOut(state.inFlight[slot.index]!))
                        state.workers -= 1
                        if !control.stoppedLocked { startWorker() }
                    } else {
                        wakeUp = min(wakeUp, deadline)
                    }
                }
            }
            if state.workers > 0 || state.finishing > 0 { _ = condition.wait(until: wakeUp) }
        }
        let taken = state.taken
        // Files handed back for later and not taken again before a stop were never made.
        let unstarted = state.unstarted + state.retries.filter(\.deferred).map(\.file)
        condition.unlock()
        return taken + unstarted.map { ($0, notStarted($0)) }
    }
}

/// What the scheduler's threads share, always under the control's lock.
private final class SchedulerState: @unchecked Sendable {
    /// Files taken and not yet reported, by the number of their turn.
    var inFlight: [Int: PlannedFile] = [:]
    var nextIndex = 0
    /// Every turn's report, as made (when the run keeps them).
    var taken: [(PlannedFile, FileReport)] = []
    /// Worker threads still taking files (a thread given up on no longer counts).
    var workers = 0
    /// Files whose last step waits for, or runs on, the committer.
    var finishing = 0
    /// What the source still held when the run stopped.
    var unstarted: [PlannedFile] = []
    /// The source has no more files.
    var sourceDone = false
    /// Files to be taken again, and when: failed ones (a retry) and `deferred` ones handed back
    /// for later.
    var retries: [(file: PlannedFile, due: Date, deferred: Bool)] = []
    /// A file was handed back for later: workers wait for those in flight, which may be too.
    var deferred = false
    var slots: [WorkerSlot] = []
}
