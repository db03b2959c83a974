// JobStoreBehaviourTests: what every job store backend must do alike (SQLite, and PostgreSQL on a throwaway server) — attempts, leases, the queue, tallies.

import FastResize
import FastResizeJobs
import FastResizePostgres
import FastResizeSQLite
import Foundation
import Synchronization
import Testing
import TestSupport

/// A backend to run a behaviour on.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// A new, empty store: a file in `folder`, or a schema of its own on the test server (a case
    /// is skipped, saying why, where PostgreSQL is not installed).
    func store(in folder: ScratchFolder) throws -> any JobStore {
        switch self {
        case .sqlite: return try SQLiteJobStore(path: folder.path("state.db"))
        case .postgres: return try PostgresJobStore(address: try Self.server().address(schema: PostgresCluster.schema()),
                                                    driverPaths: Self.driverPaths)
        }
    }

    static func server() throws -> PostgresCluster {
        switch PostgresCluster.shared {
        case .success(let cluster): return cluster
        case .failure(let why): try Test.cancel("no PostgreSQL server for this case: \(why)")
        }
    }

    /// The driver library SwiftPM built beside the test bundle.
    static var driverPaths: [String] {
        [Bundle.main.bundleURL.appendingPathComponent(PostgresJobStore.driverLibrary).path,
         Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(PostgresJobStore.driverLibrary).path]
    }
}

@Suite struct JobStoreBehaviourTests {
    /// One input's record as a run that starts making it gives it.
    static func running(_ folder: ScratchFolder) -> InputState {
        InputState(input: "a.bmp", path: folder.path("in/a.bmp"), stamp: FileStamp(size: 1, modifiedNs: 1, inode: 1, device: 1),
                   contentHash: nil, fingerprint: "fp", status: "running", stampedNs: 1, outputs: [])
    }

    /// An attempt marks its input running with its planned outputs (FastResize's from then on);
    /// its end records the outputs as written and counts the attempt once.
    @Test(arguments: StoreKind.allCases) func attemptsMoveTheInputState(_ kind: StoreKind) throws {
        let folder = try ScratchFolder()
        let store = try kind.store(in: folder)
        let job = try store.createJob(SQLiteJobStoreTests.job(folder))
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
        #expect(attempts[0].stageMilliseconds == ["decode": 1.5] && attempts[0].owner == lease.owner)
        // Another output folder knows nothing of it.
        #expect(try store.inputStates(outputFolder: folder.path("elsewhere")).isEmpty)
    }

    /// A file is held by one run's lease at a time: another run is told who holds it until the
    /// lease expires (or the holder is known dead), and the attempt it takes over is recorded
    /// abandoned; once made, a run that read the record before is told it changed rather than
    /// making it again.
    @Test(arguments: StoreKind.allCases) func leasesHoldAFileForOneRunAtATime(_ kind: StoreKind) throws {
        let folder = try ScratchFolder()
        let store = try kind.store(in: folder)
        let job = try store.createJob(SQLiteJobStoreTests.job(folder))
        let out = folder.path("out")
        var state = Self.running(folder)
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
        // Taking over, it is told what the dead run had planned (nothing, here).
        guard case .tookOver(_, let planned) = try start("h:2:b", until: 2_600, at: 2_100, takingOver: "h:1:a"), planned.isEmpty else {
            throw StoreError("B did not take over")
        }
        guard case .tookOver(let third, _) = try start("h:3:c", until: 9_000, at: 3_000) else { throw StoreError("C did not take over") }
        #expect(third > first)
        // The attempts taken over are over, not left running with nobody on them.
        #expect(try store.attempts(job: job).map(\.status) == ["abandoned", "abandoned", "running"])
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

    /// Several claims go in one call (a run claims the next files it will start with the one it
    /// starts): each has its own outcome, in order, the ends passed with them are recorded first,
    /// and claims never started are let go: their attempts cancelled, their files held by nobody.
    @Test(arguments: StoreKind.allCases) func claimsTakenTogetherAreEachDecidedAndLetGo(_ kind: StoreKind) throws {
        let folder = try ScratchFolder()
        let store = try kind.store(in: folder)
        let job = try store.createJob(SQLiteJobStoreTests.job(folder))
        let out = folder.path("out")
        func state(_ name: String, _ status: String = "running") -> InputState {
            InputState(input: name, path: folder.path("in/" + name), stamp: FileStamp(size: 1, modifiedNs: 1, inode: 1, device: 1),
                       contentHash: nil, fingerprint: "fp", status: status, stampedNs: 1, outputs: [])
        }
        func claim(_ name: String) -> AttemptClaim { AttemptClaim(state: state(name), basedOn: nil, takingOver: nil) }
        guard case .started(let early) = try store.startAttempt(job: job, outputFolder: out, state: state("a"),
                                                                lease: Lease(owner: "h:1:a", expiresNs: 1_000), basedOn: nil,
                                                                takingOver: nil, at: 100, finishing: []) else {
            throw StoreError("a did not start")
        }
        // Another run holds "b"; this run's earlier attempt at "a" ends with the claims.
        _ = try store.startAttempt(job: job, outputFolder: out, state: state("b"), lease: Lease(owner: "h:2:b", expiresNs: 5_000),
                                   basedOn: nil, takingOver: nil, at: 150, finishing: [])
        let ended = FinishedAttempt(attempt: early, state: state("a", "written"), stageMilliseconds: nil,
                                    input: AttemptInput(bytes: 1, pixels: 1), at: 190)
        let starts = try store.startAttempts(job: job, outputFolder: out, claims: [claim("c"), claim("b"), claim("d")],
                                             lease: Lease(owner: "h:1:a", expiresNs: 2_000), at: 200, finishing: [ended])
        #expect(starts.count == 3)
        #expect(starts[1] == .held(Lease(owner: "h:2:b", expiresNs: 5_000)))
        guard case .started(let c) = starts[0], case .started(let d) = starts[2] else { throw StoreError("c and d did not start: \(starts)") }
        #expect(try store.inputStates(outputFolder: out)["a"]?.status == "written")
        // "d" is never started: let go, nobody holds it, and another run takes it at once.
        try store.releaseClaims([HeldClaim(input: "d", attempt: d)], outputFolder: out, owner: "h:1:a", at: 300)
        let statuses = Dictionary(uniqueKeysWithValues: try store.attempts(job: job).map { ($0.id, $0.status) })
        #expect(statuses[d] == "cancelled" && statuses[c] == "running" && statuses[early] == "written")
        #expect(try store.holders(job: job, at: 300).map(\.owner).sorted() == ["h:1:a", "h:2:b"], "c and b are still held")
        // Ends passed with no claim (a run's last files left nothing to claim) are recorded all the same.
        let cEnded = FinishedAttempt(attempt: c, state: state("c", "written"), stageMilliseconds: nil,
                                     input: AttemptInput(bytes: 1, pixels: 1), at: 350)
        #expect(try store.startAttempts(job: job, outputFolder: out, claims: [], lease: Lease(owner: "h:1:a", expiresNs: 2_000),
                                        at: 350, finishing: [cEnded]).isEmpty)
        #expect(try store.attempts(job: job).first { $0.id == c }?.status == "written")
        switch try store.startAttempt(job: job, outputFolder: out, state: state("d"), lease: Lease(owner: "h:3:c", expiresNs: 9_000),
                                      basedOn: nil, takingOver: nil, at: 400, finishing: []) {
        case .started, .tookOver: break
        case let other: Issue.record("a claim let go still held d: \(other)")
        }
    }

    /// Workers take submitted jobs highest priority first, oldest first within one; ordinary runs'
    /// jobs, jobs passed over and cancelled ones are not taken; a cancelled job stays cancelled.
    @Test(arguments: StoreKind.allCases) func queueByPriority(_ kind: StoreKind) throws {
        let folder = try ScratchFolder()
        let store = try kind.store(in: folder)
        func submit(_ priority: Int) throws -> Int64 {
            var job = SQLiteJobStoreTests.job(folder)
            job.status = .queued
            job.priority = priority
            job.submitted = true
            return try store.createJob(job)
        }
        let low = try submit(0), high = try submit(5), alsoHigh = try submit(5)
        _ = try store.createJob(SQLiteJobStoreTests.job(folder))
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
    @Test(arguments: StoreKind.allCases) func tallyCountsEachFileOnce(_ kind: StoreKind) throws {
        let folder = try ScratchFolder()
        let store = try kind.store(in: folder)
        let job = try store.createJob(SQLiteJobStoreTests.job(folder))
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

    /// A run that stalled past its lease finds, as it is about to put its outputs in place, that
    /// another run took the file over: it is told so, its attempt is recorded abandoned, and its
    /// late record of the attempt leaves the file the other's; the holder's hold is confirmed.
    @Test(arguments: StoreKind.allCases) func aStalledRunLosesItsFile(_ kind: StoreKind) throws {
        let folder = try ScratchFolder()
        let store = try kind.store(in: folder)
        let job = try store.createJob(SQLiteJobStoreTests.job(folder))
        let out = folder.path("out")
        var state = Self.running(folder)
        func start(_ owner: String, until: Int64, at: Int64) throws -> Int64 {
            let started = try store.startAttempt(job: job, outputFolder: out, state: state, lease: Lease(owner: owner, expiresNs: until),
                                                 basedOn: nil, takingOver: nil, at: at, finishing: [])
            return try #require(started.attempt, "\(owner) did not start")
        }
        let stalled = try start("h:1:a", until: 1_000, at: 100)
        #expect(try store.confirmHold(owner: "h:1:a", outputFolder: out, input: "a.bmp", attempt: stalled, until: 1_900, at: 900))
        // Its lease (renewed to 1,900) lapses; another run takes the file over.
        let other = try start("h:2:b", until: 9_000, at: 2_000)
        #expect(try !store.confirmHold(owner: "h:1:a", outputFolder: out, input: "a.bmp", attempt: stalled, until: 3_000, at: 2_100))
        #expect(try store.confirmHold(owner: "h:2:b", outputFolder: out, input: "a.bmp", attempt: other, until: 9_500, at: 2_200))
        state.status = "written"
        try store.finishAttempts([FinishedAttempt(attempt: stalled, state: state, stageMilliseconds: nil,
                                                  input: AttemptInput(bytes: 1, pixels: 1), at: 2_300)],
                                 job: job, outputFolder: out, owner: "h:1:a")
        let record = try #require(try store.inputState(outputFolder: out, input: "a.bmp"))
        #expect(record.status == "running" && record.attempt == other, "the file stays the other run's")
        let attempts = try store.attempts(job: job)
        #expect(attempts.map(\.status) == ["abandoned", "running"])
    }

    /// A run whose hold ran out, done with an input, takes more in the same step: that input is not
    /// handed back to it (in PostgreSQL the step is one statement, whose parts see the queue as
    /// it was before it).
    @Test(arguments: StoreKind.allCases) func anInputDoneIsNotTakenAgainInTheSameStep(_ kind: StoreKind) throws {
        let folder = try ScratchFolder()
        let store = try kind.store(in: folder)
        let job = try store.createJob(SQLiteJobStoreTests.job(folder))
        try store.offerInputs(job: job, inputs: [OfferedInput(input: "big.jpg", size: 9), OfferedInput(input: "small.jpg", size: 1)])
        #expect(try store.takeInputs(job: job, owner: "a", limit: 1, until: 100, at: 10, done: [], freeing: []).map(\.input) == ["big.jpg"])
        let next = try store.takeInputs(job: job, owner: "a", limit: 2, until: 900, at: 500, done: ["big.jpg"], freeing: []).map(\.input)
        #expect(next == ["small.jpg"])
        #expect(try store.pendingInputs(job: job, except: nil) == 1)
    }

    /// Runs sharing a job take no more than their fair share of what is free — half of it over the
    /// runs holding inputs — so that the job's last inputs are spread over its runs; a take that
    /// does not share gets its whole limit.
    @Test(arguments: StoreKind.allCases) func sharingRunsTakeAFairShareOfTheLastInputs(_ kind: StoreKind) throws {
        let folder = try ScratchFolder()
        let store = try kind.store(in: folder)
        let job = try store.createJob(SQLiteJobStoreTests.job(folder))
        try store.offerInputs(job: job, inputs: (0..<12).map { OfferedInput(input: "f\($0).jpg", size: 100 + $0) })
        func take(_ owner: String, _ limit: Int, done: Set<String> = [], sharing: Bool = true) throws -> Set<String> {
            Set(try store.takeInputs(job: job, owner: owner, limit: limit, until: 1_000, at: 10, done: done.sorted(), freeing: [],
                                     sharing: sharing).map(\.input))
        }
        // Alone, 12 free: half of them is more than the limit.
        let first = try take("a", 4)
        #expect(first == ["f11.jpg", "f10.jpg", "f9.jpg", "f8.jpg"])
        // 8 free, a holding some: a quarter each.
        #expect(try take("b", 4) == ["f7.jpg", "f6.jpg"])
        // a done with its four, 6 free, b holding two: 2.
        #expect(try take("a", 4, done: first) == ["f5.jpg", "f4.jpg"])
        // 4 free, two other runs: 1; and one at least, of the last.
        #expect(try take("c", 4) == ["f3.jpg"])
        #expect(try take("d", 4).count == 1)
        // Not sharing: the whole limit, of what is left.
        #expect(try take("e", 4, sharing: false) == ["f1.jpg", "f0.jpg"])
        #expect(try take("f", 4).isEmpty)
    }

    /// A shared job's inputs are taken a few at a time, largest first, each by one run: runs taking
    /// at once get different inputs; what a run is done with is never handed out again; what it
    /// took and did not do goes back at its end, or when its time runs out, or at once when its
    /// process is known dead; its holds count as the job's holders and are renewed with its leases.
    @Test(arguments: StoreKind.allCases) func sharedInputsAreTakenOnce(_ kind: StoreKind) throws {
        let folder = try ScratchFolder()
        let store = try kind.store(in: folder)
        let job = try store.createJob(SQLiteJobStoreTests.job(folder))
        let inputs = (0..<10).map { OfferedInput(input: "f\($0).jpg", size: 100 + $0) }
        try store.offerInputs(job: job, inputs: inputs)
        // A second run's walk offers them again, and one more: nothing already there changes.
        try store.offerInputs(job: job, inputs: Array(inputs.prefix(3)) + [OfferedInput(input: "late.jpg", size: 1)])
        let first = try store.takeInputs(job: job, owner: "a", limit: 3, until: 1_000, at: 10, done: [], freeing: []).map(\.input)
        #expect(Set(first) == ["f9.jpg", "f8.jpg", "f7.jpg"], "the largest first")
        #expect(try store.pendingInputs(job: job, except: "a") == 8 && store.pendingInputs(job: job, except: nil) == 11)
        let second = try store.takeInputs(job: job, owner: "b", limit: 4, until: 1_000, at: 10, done: [], freeing: []).map(\.input)
        #expect(Set(second) == ["f6.jpg", "f5.jpg", "f4.jpg", "f3.jpg"])
        #expect(Set(try store.holders(job: job, at: 20).map(\.owner)) == ["a", "b"])
        // A walk that finds f6 made already: it is done, though b holds it.
        try store.offerInputs(job: job, inputs: [OfferedInput(input: "f6.jpg", size: 106, done: true)])
        #expect(try store.pendingInputs(job: job, except: nil) == 10)
        // Done with f9 and f8, a takes more; f7 stays its own.
        let third = try store.takeInputs(job: job, owner: "a", limit: 2, until: 1_000, at: 30, done: ["f9.jpg", "f8.jpg"], freeing: [])
            .map(\.input)
        #expect(Set(third) == ["f2.jpg", "f1.jpg"])
        // b's run ends having done f6 only: the rest of what it took goes back, and is taken next.
        try store.returnInputs(job: job, owner: "b", done: ["f6.jpg"])
        let fourthTaken = try store.takeInputs(job: job, owner: "c", limit: 10, until: 500, at: 40, done: [], freeing: [])
        #expect(fourthTaken.allSatisfy { !$0.heldBefore }, "given back, they are held by nobody")
        let fourth = fourthTaken.map(\.input)
        #expect(Set(fourth) == ["f5.jpg", "f4.jpg", "f3.jpg", "f0.jpg", "late.jpg"])
        #expect(try store.takeInputs(job: job, owner: "d", limit: 10, until: 2_000, at: 50, done: [], freeing: []).isEmpty)
        // a renews its holds; c's run dies: its inputs are taken once its time has run out ...
        _ = try store.renewLeases(owner: "a", until: 5_000, job: job)
        #expect(try store.holders(job: job, at: 1_500).map(\.owner) == ["a"])
        let afterExpiry = try store.takeInputs(job: job, owner: "d", limit: 2, until: 3_000, at: 600, done: [], freeing: [])
        #expect(Set(afterExpiry.map(\.input)).isSubset(of: Set(fourth)) && afterExpiry.count == 2)
        #expect(afterExpiry.allSatisfy { $0.heldBefore }, "taken from a run whose time ran out: its record is read again")
        // ... or at once, when its process is known to be gone.
        let freed = try store.takeInputs(job: job, owner: "e", limit: 10, until: 3_000, at: 700, done: [], freeing: ["d"]).map(\.input)
        #expect(Set(freed) == Set(fourth), "c's rest, lapsed, and d's two, freed")
        // Every input was handed out, and each done one never again.
        try store.returnInputs(job: job, owner: "e", done: freed)
        try store.returnInputs(job: job, owner: "a", done: ["f7.jpg", "f2.jpg", "f1.jpg"])
        #expect(try store.takeInputs(job: job, owner: "f", limit: 10, until: 9_000, at: 800, done: [], freeing: []).isEmpty)
        #expect(try store.holders(job: job, at: 800).isEmpty && store.pendingInputs(job: job, except: nil) == 0)
    }

    /// A run waiting on the inputs another run holds hears when that run gives them back (as each
    /// does at its end), rather than at its next look: PostgreSQL tells it (LISTEN/NOTIFY on the
    /// store's own connection); SQLite cannot, and says so.
    @Test(arguments: StoreKind.allCases) func aRunHearsAnotherGiveItsInputsBack(_ kind: StoreKind) throws {
        let folder = try ScratchFolder()
        let holding: any JobStore
        let waiting: any JobStore
        switch kind {
        case .sqlite:
            holding = try kind.store(in: folder)
            waiting = try SQLiteJobStore(path: folder.path("state.db"))
        case .postgres:
            let address = try StoreKind.server().address(schema: PostgresCluster.schema())
            holding = try PostgresJobStore(address: address, driverPaths: StoreKind.driverPaths)
            waiting = try PostgresJobStore(address: address, driverPaths: StoreKind.driverPaths)
        }
        let job = try holding.createJob(SQLiteJobStoreTests.job(folder))
        try holding.offerInputs(job: job, inputs: [OfferedInput(input: "a.jpg", size: 1)])
        #expect(try holding.takeInputs(job: job, owner: "b", limit: 1, until: 1_000, at: 10, done: [], freeing: []).map(\.input) == ["a.jpg"])
        guard kind == .postgres else {
            #expect(waiting.awaitReturns(job: job, seconds: 0.1) == nil)
            return
        }
        #expect(waiting.awaitReturns(job: job, seconds: 5) == true, "the listening began: look again")
        #expect(waiting.awaitReturns(job: job, seconds: 0.2) == false, "nothing was given back")
        // Another job's run giving its inputs back is no word for this one.
        let other = try holding.createJob(SQLiteJobStoreTests.job(folder))
        try holding.offerInputs(job: other, inputs: [OfferedInput(input: "b.jpg", size: 1)])
        _ = try holding.takeInputs(job: other, owner: "c", limit: 1, until: 1_000, at: 10, done: [], freeing: [])
        try holding.returnInputs(job: other, owner: "c", done: ["b.jpg"])
        #expect(waiting.awaitReturns(job: job, seconds: 0.3) == false, "another job's return woke it")
        let heard = Mutex<(Bool?, TimeInterval)?>(nil)
        let listener = Thread {
            let start = Date()
            let answer = waiting.awaitReturns(job: job, seconds: 60)
            heard.withLock { $0 = (answer, Date().timeIntervalSince(start)) }
        }
        listener.start()
        Thread.sleep(forTimeInterval: 0.3)
        try holding.returnInputs(job: job, owner: "b", done: ["a.jpg"])
        let deadline = Date().addingTimeInterval(30)
        while heard.withLock({ $0 }) == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let (answer, seconds) = try #require(heard.withLock { $0 })
        #expect(answer == true && seconds < 20, "heard at the return, not at the end of the wait (\(seconds) s)")
    }

    /// A submission is announced on a channel whose name PostgreSQL keeps whole however long the
    /// schema's name is: with a schema of 63 characters, `<schema>_jobs` was refused by pg_notify
    /// and no job could be submitted.
    @Test func aSchemaOfTheLongestNameTakesSubmissions() throws {
        let address = try StoreKind.server().address(schema: PostgresCluster.schema(String(repeating: "s", count: 46)))
        let worker = try PostgresJobStore(address: address, driverPaths: StoreKind.driverPaths)
        let submitter = try PostgresJobStore(address: address, driverPaths: StoreKind.driverPaths)
        #expect(worker.awaitSubmission(seconds: 5) == true, "the listening began: look again")
        let folder = try ScratchFolder()
        var job = SQLiteJobStoreTests.job(folder)
        job.status = .queued
        job.submitted = true
        let id = try submitter.createJob(job)
        #expect(worker.awaitSubmission(seconds: 20) == true, "the submission was heard")
        #expect(try worker.nextJob(skipping: [])?.id == id)
    }
}
