// SQLiteJobStoreTests: the SQLite job store on real files — WAL, jobs and attempts kept, and every store it must refuse refused with what to do.

import FastResize
import FastResizeJobs
import FastResizeSQLite
import Foundation
import GRDB
import Testing
import TestSupport

@Suite struct SQLiteJobStoreTests {
    static func job(_ folder: ScratchFolder) -> JobRecord {
        JobRecord(status: .running, createdNs: 1_000, command: ["in", "-o", "out", "--fit", "10x10"], settings: "{\"outputs\":[]}",
                  fingerprint: "fp", inputs: ["in"], outputFolder: folder.path("out"), host: "here", pid: 42)
    }

    /// A new store is made with its folder, in WAL mode, and keeps a job as it was given.
    @Test func keepsJobs() throws {
        let folder = try ScratchFolder()
        let store = try SQLiteJobStore(path: folder.path("deep/er/state.db"))
        let id = try store.createJob(Self.job(folder))
        var counts = JobCounts()
        counts.written = 3
        try store.updateJob(id, status: .finished, counts: counts, at: 2_000)
        let reopened = try SQLiteJobStore(path: folder.path("deep/er/state.db"))
        let job = try #require(try reopened.job(id))
        #expect(job.status == .finished && job.finishedNs == 2_000 && job.counts?.written == 3)
        #expect(job.command == ["in", "-o", "out", "--fit", "10x10"] && job.pid == 42 && job.outputFolder == folder.path("out"))
        let mode = try DatabaseQueue(path: folder.path("deep/er/state.db")).read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    /// An attempt marks its input running with its planned outputs (FastResize's from then on);
    /// its end records the outputs as written and counts the attempt once.
    @Test func attemptsMoveTheInputState() throws {
        let folder = try ScratchFolder()
        let store = try SQLiteJobStore(path: folder.path("state.db"))
        let job = try store.createJob(Self.job(folder))
        let stamp = FileStamp(size: 10, modifiedNs: 5, inode: UInt64.max, device: 7)
        let planned = OutputState(path: folder.path("out/a.png"), size: nil, modifiedNs: nil, width: 4, height: 3,
                                  format: "png", contentHash: nil)
        var state = InputState(input: "a.bmp", path: folder.path("in/a.bmp"), stamp: stamp, contentHash: nil,
                               fingerprint: "fp", status: "running", stampedNs: 100, outputs: [planned])
        let lease = Lease(owner: "here:42:a", expiresNs: 1_000)
        guard case .started(let attempt) = try store.startAttempt(job: job, outputFolder: folder.path("out"), state: state, lease: lease,
                                                                  basedOn: nil, takingOver: nil, at: 200, finishing: []) else {
            Issue.record("the attempt did not start")
            return
        }
        let running = try #require(try store.inputStates(outputFolder: folder.path("out"))["a.bmp"])
        #expect(running.status == "running" && running.outputs == [planned] && running.stamp == stamp)
        state.status = "written"
        state.contentHash = "xxh3-128:00"
        state.outputs[0].size = 99
        state.outputs[0].modifiedNs = 300
        try store.finishAttempts([FinishedAttempt(attempt: attempt, state: state, stageMilliseconds: ["decode": 1.5],
                                                  input: AttemptInput(bytes: 10, pixels: 12), at: 400)],
                                 job: job, outputFolder: folder.path("out"), owner: lease.owner)
        let done = try #require(try store.inputStates(outputFolder: folder.path("out"))["a.bmp"])
        #expect(done.status == "written" && done.attempts == 1 && done.outputs[0].size == 99 && done.contentHash == "xxh3-128:00")
        let attempts = try store.attempts(job: job)
        #expect(attempts.count == 1 && attempts[0].status == "written" && attempts[0].finishedNs == 400)
        #expect(attempts[0].stageMilliseconds == ["decode": 1.5])
        // Another output folder knows nothing of it.
        #expect(try store.inputStates(outputFolder: folder.path("elsewhere")).isEmpty)
    }

    /// A file is held by one run's lease at a time: another run is told who holds it until the
    /// lease expires (or the holder is known dead); once made, a run that read the record before
    /// is told it changed rather than making it again.
    @Test func leasesHoldAFileForOneRunAtATime() throws {
        let folder = try ScratchFolder()
        let store = try SQLiteJobStore(path: folder.path("state.db"))
        let job = try store.createJob(Self.job(folder))
        let out = folder.path("out")
        var state = InputState(input: "a.bmp", path: folder.path("in/a.bmp"), stamp: FileStamp(size: 1, modifiedNs: 1, inode: 1, device: 1),
                               contentHash: nil, fingerprint: "fp", status: "running", stampedNs: 1, outputs: [])
        func start(_ owner: String, until: Int64, at: Int64, basedOn: Int64? = nil, takingOver: String? = nil) throws -> AttemptStart {
            try store.startAttempt(job: job, outputFolder: out, state: state, lease: Lease(owner: owner, expiresNs: until),
                                   basedOn: basedOn, takingOver: takingOver, at: at, finishing: [])
        }
        guard case .started(let first) = try start("h:1:a", until: 1_000, at: 100) else { throw StoreError("A did not start") }
        #expect(try start("h:2:b", until: 1_500, at: 500) == .held(Lease(owner: "h:1:a", expiresNs: 1_000)))
        // Renewed, A holds it past its first term.
        #expect(try store.renewLeases(owner: "h:1:a", until: 3_000, job: job) == .running)
        #expect(try start("h:2:b", until: 2_500, at: 2_000) == .held(Lease(owner: "h:1:a", expiresNs: 3_000)))
        // Known dead, A holds nothing; once expired, nothing either.
        guard case .started = try start("h:2:b", until: 2_600, at: 2_100, takingOver: "h:1:a") else { throw StoreError("B did not take over") }
        guard case .started(let third) = try start("h:3:c", until: 9_000, at: 3_000) else { throw StoreError("C did not start") }
        #expect(third > first)
        state.status = "written"
        try store.finishAttempts([FinishedAttempt(attempt: third, state: state, stageMilliseconds: nil,
                                                  input: AttemptInput(bytes: 1, pixels: 1), at: 3_100)],
                                 job: job, outputFolder: out, owner: "h:3:c")
        // D read the record before C's attempt: told it changed; knowing that, it may go on.
        guard case .newer(let newer) = try start("h:4:d", until: 9_000, at: 3_200, basedOn: first) else {
            throw StoreError("D was not told of C's attempt")
        }
        #expect(newer.status == "written" && newer.attempt == third)
        guard case .started = try start("h:4:d", until: 9_000, at: 3_300, basedOn: third) else { throw StoreError("D did not start") }
        let process = Lease(owner: "web-1.example:4321:x1", expiresNs: 0).process
        #expect(process?.host == "web-1.example" && process?.pid == 4321)
    }

    /// Workers take submitted jobs highest priority first, oldest first within one; ordinary runs'
    /// jobs, jobs passed over and cancelled ones are not taken; a cancelled job stays cancelled.
    @Test func queueByPriority() throws {
        let folder = try ScratchFolder()
        let store = try SQLiteJobStore(path: folder.path("state.db"))
        func submit(_ priority: Int) throws -> Int64 {
            var job = Self.job(folder)
            job.status = .queued
            job.priority = priority
            job.submitted = true
            return try store.createJob(job)
        }
        let low = try submit(0), high = try submit(5), alsoHigh = try submit(5)
        _ = try store.createJob(Self.job(folder))
        #expect(try store.nextJob(skipping: [])?.id == high)
        #expect(try store.nextJob(skipping: [high])?.id == alsoHigh)
        #expect(try store.nextJob(skipping: [high, alsoHigh])?.id == low)
        let attached = try #require(try store.attachJob(high, host: "w", pid: 7, at: 50))
        #expect(attached.status == .running && attached.pid == 7 && attached.startedNs == 50)
        #expect(try store.cancelJob(low, at: 60) == .queued)
        #expect(try store.nextJob(skipping: [high, alsoHigh]) == nil)
        #expect(try store.attachJob(low, host: "w", pid: 7, at: 70)?.status == .cancelled)
        try store.updateJob(low, status: .finished, counts: JobCounts(), at: 80)
        #expect(try store.job(low)?.status == .cancelled)
        #expect(try store.cancelJob(999, at: 90) == nil)
    }

    /// A job's tally counts each file by its last attempt in it.
    @Test func tallyCountsEachFileOnce() throws {
        let folder = try ScratchFolder()
        let store = try SQLiteJobStore(path: folder.path("state.db"))
        let job = try store.createJob(Self.job(folder))
        for (input, statuses) in [("a", ["failed", "written"]), ("b", ["failed", "failed"]), ("c", ["written"])] {
            for status in statuses {
                let state = InputState(input: input, path: input, stamp: nil, contentHash: nil, fingerprint: "fp", status: status,
                                       stampedNs: 1, outputs: [])
                try store.finishAttempts([FinishedAttempt(attempt: nil, state: state, stageMilliseconds: nil,
                                                          input: AttemptInput(bytes: nil, pixels: nil), at: 2)],
                                         job: job, outputFolder: folder.path("out"), owner: "h:1:a")
            }
        }
        let tally = try store.tally(job: job)
        #expect(tally.written == 2 && tally.failed == 1)
    }

    /// A file that is not SQLite is refused, never replaced: the message names it and what to do.
    @Test func refusesAFileThatIsNotAStore() throws {
        let folder = try ScratchFolder()
        let text = Array(String(repeating: "not a database at all\n", count: 300).utf8)
        try folder.write(text, to: "state.db")
        let error = try #require(throws: StoreError.self) { try SQLiteJobStore(path: folder.path("state.db")) }
        #expect(error.description.contains(folder.path("state.db")))
        #expect(error.description.contains("--no-state"))
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder.path("state.db")))) == text)
    }

    /// A store cut short (a copy that stopped half way) is refused.
    @Test func refusesATruncatedStore() throws {
        let folder = try ScratchFolder()
        do {
            let store = try SQLiteJobStore(path: folder.path("state.db"))
            for _ in 0..<200 { _ = try store.createJob(Self.job(folder)) }
        }
        // Checkpointed into the main file (the WAL would otherwise hold the pages), then cut.
        let path = folder.path("state.db")
        try? FileManager.default.removeItem(atPath: path + "-wal")
        try? FileManager.default.removeItem(atPath: path + "-shm")
        let size = try #require(FileStamp.of(path)?.size)
        #expect(truncate(path, off_t(size / 2)) == 0)
        #expect(throws: StoreError.self) {
            let store = try SQLiteJobStore(path: path)
            _ = try store.jobs(limit: nil)
        }
    }

    /// A store a newer FastResize wrote (a migration this one does not know) is refused.
    @Test func refusesAStoreFromANewerVersion() throws {
        let folder = try ScratchFolder()
        _ = try SQLiteJobStore(path: folder.path("state.db"))
        let database = try DatabaseQueue(path: folder.path("state.db"))
        try database.write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('v99: from the future')") }
        let error = try #require(throws: StoreError.self) { try SQLiteJobStore(path: folder.path("state.db")) }
        #expect(error.description.contains("newer FastResize"))
    }

    /// A store whose folder cannot be made fails with the system's reason.
    @Test func unwritablePlaceFailsWithTheReason() throws {
        let error = try #require(throws: StoreError.self) { try SQLiteJobStore(path: "/proc/self/fastresize/state.db") }
        #expect(error.description.contains("/proc/self/fastresize"))
    }
}
