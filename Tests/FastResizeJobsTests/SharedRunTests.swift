// SharedRunTests: two runs at once on the same outputs, in process over fake codecs and a real SQLite store — each file made by one of them only.

@testable import FastResize
import FastResizeJobs
import FastResizeSQLite
import Foundation
import Synchronization
import Testing
import TestSupport

@Suite struct SharedRunTests {
    /// A run of `folder/in` into `folder/out` recorded in `folder/state.db`, as its own job (or in `job`).
    static func runner(_ folder: ScratchFolder, decoder: SlowDecoder, job: Int64? = nil) throws -> (BatchRunner, StoreRecorder) {
        let store = try SQLiteJobStore(path: folder.path("state.db"))
        let settings = IncrementalRunTests.settings
        let id = try job ?? store.createJob(JobRecord(status: .running, createdNs: 1, command: ["test"], settings: "{}",
                                                      fingerprint: settings.fingerprint, inputs: [folder.path("in")],
                                                      outputFolder: folder.path("out"), host: "test", pid: getpid()))
        var options = BatchOptions(inputs: [folder.path("in")], outputDirectory: folder.path("out"), outputs: [settings], jobs: 2)
        options.timeout = nil
        var runner = BatchRunner(options: options, codecs: FakeCodecs.registry(decoder))
        let recorder = StoreRecorder(store: store, job: id, outputFolder: folder.path("out"), fingerprint: settings.fingerprint,
                                     shared: job != nil)
        runner.recorder = recorder
        return (runner, recorder)
    }

    /// Runs `body` on `count` threads at once (concurrentPerform may run them one after another)
    /// and waits for all.
    static func together(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            DetachedThread.start(name: "test") {
                body(index)
                group.leave()
            }
        }
        group.wait()
    }

    /// Two runs started together over the same 24 inputs: each input is decoded once in all,
    /// each run reports every input (written by it, or up to date as the other made it), and the
    /// store holds one written attempt per input.
    @Test func twoRunsMakeEachFileOnce() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(24, in: folder)
        let decoders = [SlowDecoder(delay: 0.05), SlowDecoder(delay: 0.05)]
        let runs = try decoders.map { try Self.runner(folder, decoder: $0) }
        // Both planned before either starts: each has all 24 to make.
        let plans = runs.map { $0.0.planBatch() }
        let reports = Mutex([BatchReport?](repeating: nil, count: 2))
        Self.together(2) { index in
            let report = runs[index].0.run(plans[index])
            reports.withLock { $0[index] = report }
        }
        let both = reports.withLock { $0.compactMap { $0 } }
        #expect(decoders[0].decodes + decoders[1].decodes == 24)
        #expect(decoders[0].decodes > 0 && decoders[1].decodes > 0, "both runs took a share")
        for report in both {
            #expect(report.summary.written + report.summary.skipped == 24 && report.summary.failed == 0)
            #expect(report.files.filter { $0.status == .skipped }.allSatisfy { $0.reason == .upToDate && $0.outputs.first?.width == 32 })
        }
        let written = Set(both.flatMap { $0.files.filter { $0.status == .written }.map(\.input) })
        #expect(written.count == 24)
        #expect(runs.allSatisfy { $0.1.problem == nil })
        let store = try SQLiteJobStore(path: folder.path("state.db"))
        let attempts = try store.attempts(job: runs[0].1.job!) + store.attempts(job: runs[1].1.job!)
        #expect(attempts.filter { $0.status == "written" }.count == 24)
        #expect(Set(attempts.map(\.input)).count == 24)
    }

    /// A run claims files ahead of their start; stopped, it lets go of those it never started:
    /// their attempts are recorded cancelled, nothing stays held, and the next run makes exactly
    /// the rest at once (it waits for no lease).
    @Test func claimsAheadNotStartedAreLetGo() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(24, in: folder)
        let (runner, recorder) = try Self.runner(folder, decoder: SlowDecoder(delay: 0.05))
        let control = BatchControl()
        DetachedThread.start(name: "test") {
            usleep(150_000)
            control.stop(signal: SIGTERM)
        }
        let first = runner.run(runner.planBatch(), control: control)
        #expect(first.summary.written > 0 && first.summary.written < 24, "stopped part way")
        let store = recorder.store
        let attempts = try store.attempts(job: recorder.job!)
        #expect(attempts.filter { $0.status == "written" }.count == first.summary.written)
        #expect(attempts.contains { $0.status == "cancelled" }, "files were claimed ahead of their start")
        #expect(!attempts.contains { $0.status == "running" })
        #expect(try store.holders(job: recorder.job!, at: StoreRecorder.now).isEmpty)

        let (again, _) = try Self.runner(folder, decoder: SlowDecoder(delay: 0))
        let started = Date()
        let second = again.run(again.planBatch())
        #expect(second.summary.written == 24 - first.summary.written && second.summary.failed == 0)
        #expect(Date().timeIntervalSince(started) < 10, "no lease of the stopped run was waited for")
    }

    /// A file another live run holds waits for it; when that run ends without making it (its
    /// lease dropped), this run makes it.
    @Test func heldFileWaitsForItsHolder() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(1, in: folder)
        let (runner, recorder) = try Self.runner(folder, decoder: SlowDecoder(delay: 0))
        let store = recorder.store
        // Another run of this process holds the file for 0.6 s, then ends without making it.
        let holder = "\(StoreRecorder.hostName):\(getpid()):other"
        let input = try #require(runner.plan().first?.input)
        let state = InputState(input: input.relativePath, path: input.path, stamp: input.stamp, contentHash: nil,
                               fingerprint: recorder.fingerprint, status: "running", stampedNs: 1, outputs: [])
        let now = StoreRecorder.now
        guard case .started = try store.startAttempt(job: recorder.job!, outputFolder: folder.path("out"), state: state,
                                                     lease: Lease(owner: holder, expiresNs: now + 600_000_000), basedOn: nil,
                                                     takingOver: nil, at: now, finishing: []) else {
            throw StoreError("the other run could not take the file")
        }
        let started = Date()
        let report = runner.run(runner.planBatch())
        #expect(report.summary.written == 1)
        #expect(Date().timeIntervalSince(started) >= 0.5, "it waited for the lease to expire")
    }

    /// A job shared by two runs (two workers on one queued job) is counted whole by each.
    @Test func sharedJobIsCountedWhole() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(10, in: folder)
        let store = try SQLiteJobStore(path: folder.path("state.db"))
        var job = JobRecord(status: .queued, createdNs: 1, command: ["test"], settings: "{}", fingerprint: "",
                            inputs: [folder.path("in")], outputFolder: folder.path("out"), host: "test", pid: getpid())
        job.submitted = true
        let id = try store.createJob(job)
        _ = try store.attachJob(id, host: "test", pid: getpid(), at: StoreRecorder.now)
        let runs = try (0..<2).map { _ in try Self.runner(folder, decoder: SlowDecoder(delay: 0.02), job: id) }
        Self.together(2) { index in _ = runs[index].0.run(runs[index].0.planBatch()) }
        let counts = try #require(try store.job(id)?.counts)
        #expect(counts.written == 10 && counts.skipped == 0 && counts.total == 10)
        #expect(try store.job(id)?.status == .finished)
    }
}
