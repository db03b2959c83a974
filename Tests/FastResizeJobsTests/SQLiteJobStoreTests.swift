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

    /// A new store's schema, made at once, is the one its migrations make one by one (on a store
    /// that has a file but no schema yet), with every migration recorded as applied: the next
    /// FastResize's migrations apply to either alike.
    @Test func newStoreSchemaIsTheMigratedOne() throws {
        let folder = try ScratchFolder()
        _ = try SQLiteJobStore(path: folder.path("new.db"))
        try DatabaseQueue(path: folder.path("old.db")).write { db in
            try db.execute(sql: "CREATE TABLE placeholder (x); DROP TABLE placeholder")
        }
        _ = try SQLiteJobStore(path: folder.path("old.db"))
        func schema(_ name: String) throws -> [[String?]] {
            try DatabaseQueue(path: folder.path(name)).read { db in
                try Row.fetchAll(db, sql: "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").map { row in
                    [row["type"], row["name"], row["tbl_name"], row["sql"]]
                }
            }
        }
        func applied(_ name: String) throws -> [String] {
            try DatabaseQueue(path: folder.path(name)).read { db in
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
            }
        }
        let made = try schema("new.db")
        let migrated = try schema("old.db")
        #expect(made.count > 10 && made == migrated)
        let applied = (new: try applied("new.db"), old: try applied("old.db"))
        #expect(applied.new.count == 5 && applied.new == applied.old)
    }

    /// Several inputs claimed in one transaction each get their attempt, timed from its start, not
    /// its claim; an attempt's stage times and outputs, written as JSON by SQLite, read back as they were — paths with quotes,
    /// backslashes, control characters and non-ASCII letters, and outputs not yet measured (nulls).
    @Test func claimsTogetherAndKeepsAttemptsExactly() throws {
        let folder = try ScratchFolder()
        let store = try SQLiteJobStore(path: folder.path("state.db"))
        let job = try store.createJob(Self.job(folder))
        let stamp = FileStamp(size: 10, modifiedNs: 5, inode: 7, device: 1)
        let odd = folder.path("out/\"quoted\" back\\slash\ttab\nline é 写真 🙂.jpg")
        let outputs = [OutputState(path: odd, size: 1234, modifiedNs: 99, width: 64, height: 48, format: "jpeg",
                                   contentHash: "xxh3-128:00112233445566778899aabbccddeeff"),
                       OutputState(path: folder.path("out/b.webp"), size: nil, modifiedNs: nil, width: 32, height: 24, format: "webp",
                                   contentHash: nil)]
        func state(_ input: String, status: String, outputs: [OutputState]) -> InputState {
            InputState(input: input, path: "in/" + input, stamp: stamp, contentHash: nil, fingerprint: "fp", status: status,
                       stampedNs: 1, outputs: outputs)
        }
        let lease = Lease(owner: "me", expiresNs: 10_000)
        let started = try store.startAttempts(job: job, outputFolder: folder.path("out"),
                                              claims: ["a.jpg", "b.jpg", "c.jpg"].map {
                                                  AttemptClaim(state: state($0, status: "running", outputs: []), basedOn: nil, takingOver: nil)
                                              }, lease: lease, at: 2_000, finishing: [])
        let attempts = started.compactMap(\.attempt)
        #expect(attempts.count == 3 && Set(attempts).count == 3)
        let stages = ["decode": 12.5, "resize": 0.25, "encode": 3.0, "write": 1e-3]
        try store.finishAttempts([FinishedAttempt(attempt: attempts[0], state: state("a.jpg", status: "written", outputs: outputs),
                                                  stageMilliseconds: stages, input: AttemptInput(bytes: 10, pixels: 100), at: 3_000,
                                                  startedNs: 2_500)],
                                 job: job, outputFolder: folder.path("out"), owner: "me")
        let recorded = try #require(try store.attempts(job: job).first { $0.id == attempts[0] })
        #expect(recorded.status == "written" && recorded.stageMilliseconds == stages && recorded.outputs == outputs)
        // Claimed at 2,000 with the others, started at 2,500: its time is its own.
        #expect(recorded.startedNs == 2_500 && recorded.finishedNs == 3_000)
        #expect(try store.inputState(outputFolder: folder.path("out"), input: "a.jpg")?.outputs.map(\.path).sorted() == outputs.map(\.path).sorted())
        // The two claimed and never started are let go: cancelled, and no longer held.
        try store.releaseClaims([HeldClaim(input: "b.jpg", attempt: attempts[1]), HeldClaim(input: "c.jpg", attempt: attempts[2])],
                                outputFolder: folder.path("out"), owner: "me", at: 4_000)
        #expect(try store.attempts(job: job).filter { $0.status == "cancelled" }.map(\.id).sorted() == Array(attempts[1...]).sorted())
        #expect(try store.holders(job: job, at: 5_000).isEmpty)
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
