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
