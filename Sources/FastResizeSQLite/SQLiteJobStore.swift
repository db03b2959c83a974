// SQLiteJobStore: the job store in one SQLite file (WAL, through GRDB), its schema made and moved on by migrations.

import FastResize
import FastResizeJobs
import Foundation
import GRDB

/// The embedded job store: one SQLite file in WAL mode, shared safely by the threads of a run and
/// by several processes (readers never wait on the writer; writers wait for each other up to the
/// busy timeout instead of failing). `synchronous = NORMAL`: a crash of the process loses nothing;
/// a power loss may lose the last transactions, never the file's consistency — an output whose
/// record was lost is then protected as a file FastResize did not write, never overwritten blindly.
public final class SQLiteJobStore: JobStore {
    public let location: String
    private let database: DatabaseQueue

    /// Opens (creating it and its folder when missing) the store at `path`. Refuses a file that is
    /// not a FastResize store, is damaged, or was written by a newer FastResize, saying what to do.
    /// Not `durable` (a run with --no-fsync, for scratch outputs), SQLite never flushes either:
    /// a crash of the process still loses nothing, a power loss may damage the store.
    public init(path: String, create: Bool = true, durable: Bool = true) throws(StoreError) {
        location = path
        let advice = "run with --no-state, or move \(path) away to start a new one"
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw StoreError("\(path): no job store there")
        }
        if create {
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty {
                do throws(FileSystem.FolderError) {
                    try FileSystem.makeFolders(folder)
                } catch {
                    throw StoreError("cannot create the job store's folder \(error.folder): \(error.reason)")
                }
            }
        }
        // Checked from its header before SQLite sees it (O(1), where PRAGMA quick_check reads the
        // whole file: 90 ms of a 0.6 s re-run of 10,000 files): a file that is not SQLite, or
        // shorter than its header says (a copy cut short). Damage elsewhere surfaces as SQLite
        // reads the run's records, before any file is made (StoreRecorder.load).
        if let problem = Self.headerProblem(path) {
            throw StoreError("\(path): not a usable job store: \(problem); \(advice)")
        }
        var configuration = Configuration()
        // Several runs and workers share a store: a writer waits its turn rather than failing.
        configuration.busyMode = .timeout(60)
        configuration.label = "fastresize-state"
        // WAL set here rather than by GRDB's journalMode, which would put synchronous back to NORMAL.
        // Opened unsynchronised: a new store's switch to WAL and its schema would otherwise cost
        // six flushes (20 ms, a fifth of a 40-photo run); a store damaged by a power loss in
        // those first milliseconds is refused at the next run, with what to do. Durable from then on.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = OFF")
            // Sorts and temporary tables in memory, not in /var/tmp: a sandboxed run (--sandbox)
            // may write its output folder and its store's folder only.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
        }
        // Two runs started at once on a new store both make it: SQLite's busy timeout does not
        // cover a switch to WAL, and both may find the schema missing and make it; the one that
        // loses tries again (the other's schema then stands).
        let isNew = (FileStamp.of(path)?.size ?? 0) == 0
        var tries = 0
        while true {
            do {
                database = try Self.open(path, configuration: configuration, isNew: isNew, durable: durable, advice: advice)
                break
            } catch let error as DatabaseError where tries < 100 && Self.isContention(error) {
                tries += 1
                usleep(UInt32.random(in: 5_000...30_000))
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError("\(path): not a usable job store: \(Self.reason(error, at: path)); \(advice)")
            }
        }
    }

    /// The store opened and its schema brought up to date (`isNew`: the file was missing or empty).
    private static func open(_ path: String, configuration: Configuration, isNew: Bool, durable: Bool,
                             advice: String) throws -> DatabaseQueue {
        let database: DatabaseQueue
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
        } catch let error as DatabaseError where isContention(error) {
            throw error
        } catch {
            throw StoreError("\(path): cannot open the job store: \(Self.reason(error, at: path)); \(advice)")
        }
        if try !(isNew && made(database)) {
            let migrator = Self.migrator
            let superseded = try database.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded {
                throw StoreError("\(path): the job store was written by a newer FastResize; use that version, or \(advice)")
            }
            try migrator.migrate(database)
        }
        if durable { try database.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = NORMAL") } }
        return database
    }

    /// Another process making the same new store at the same moment (a schema change both made:
    /// the loser's transaction was rolled back, and its next try finds the change made).
    private static func isContention(_ error: DatabaseError) -> Bool {
        let message = error.message ?? ""
        return [.SQLITE_BUSY, .SQLITE_LOCKED].contains(error.resultCode) || message.hasSuffix("already exists")
            || message.hasPrefix("duplicate column name")
    }

    /// What is wrong with the file at `path` by its first 100 bytes and its size, if anything (a
    /// file that does not exist or is empty is a new store).
    private static func headerProblem(_ path: String) -> String? {
        let descriptor = FileSystem.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return errno == ENOENT ? nil : String(cString: strerror(errno)) }
        defer { close(descriptor) }
        var header = [UInt8](repeating: 0, count: 100)
        let count = header.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, 100) }
        guard count != 0 else { return nil }
        guard count == 100, header.starts(with: Array("SQLite format 3\0".utf8)) else { return "not an SQLite file" }
        func bigEndian(_ offset: Int, _ length: Int) -> Int { header[offset..<offset + length].reduce(0) { $0 << 8 | Int($1) } }
        let pageSize = bigEndian(16, 2) == 1 ? 65536 : bigEndian(16, 2)
        // The page count is valid when the change counter matches its "valid for" copy.
        let pages = bigEndian(24, 4) == bigEndian(92, 4) ? bigEndian(28, 4) : 0
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return String(cString: strerror(errno)) }
        if Int(status.st_size) < pages * pageSize {
            return "cut short (\(status.st_size) bytes of the \(pages * pageSize) its header says)"
        }
        return nil
    }

    /// SQLite's words for what went wrong, without GRDB's statement dump; for an I/O failure,
    /// what the file system says of the store's folder (SQLite only says "disk I/O error" when its
    /// write-ahead log finds the disk full).
    private static func reason(_ error: any Error, at path: String? = nil) -> String {
        guard let error = error as? DatabaseError else { return "\(error)" }
        let words = error.message ?? "\(error.resultCode)"
        guard [.SQLITE_IOERR, .SQLITE_FULL, .SQLITE_CANTOPEN, .SQLITE_READONLY].contains(error.resultCode),
              let path, let cause = diskTrouble(under: (path as NSString).deletingLastPathComponent) else { return words }
        return "\(words) (\(cause))"
    }

    /// Why a folder cannot take writes, if the file system says so: full, read-only or forbidden.
    private static func diskTrouble(under folder: String) -> String? {
        let place = folder.isEmpty ? "." : folder
        var status = statvfs()
        guard statvfs(place, &status) == 0 else { return String(cString: strerror(errno)) }
        if status.f_flag & UInt(ST_RDONLY) != 0 { return String(cString: strerror(EROFS)) }
        if status.f_bavail == 0 { return String(cString: strerror(ENOSPC)) }
        if !FileSystem.access(place, W_OK) { return String(cString: strerror(errno)) }
        return nil
    }

    /// The schema, one migration per change (its identifier, its SQL); a store's applied migrations
    /// say which FastResize wrote it. Append only: a store records the identifiers it has.
    static let migrations: [(identifier: String, sql: String)] = [
        ("v1: jobs, files, outputs, attempts", """
            CREATE TABLE job (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'interrupted', 'cancelled')),
                priority INTEGER NOT NULL DEFAULT 0,
                created_ns INTEGER NOT NULL,
                started_ns INTEGER,
                finished_ns INTEGER,
                command TEXT NOT NULL,
                working_directory TEXT NOT NULL,
                settings TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                inputs TEXT NOT NULL,
                output_folder TEXT NOT NULL,
                host TEXT NOT NULL,
                pid INTEGER NOT NULL,
                counts TEXT
            );
            CREATE INDEX job_queue ON job (status, priority DESC, id);
            CREATE TABLE file (
                id INTEGER PRIMARY KEY,
                output_folder TEXT NOT NULL,
                input TEXT NOT NULL,
                path TEXT NOT NULL,
                size INTEGER,
                mtime_ns INTEGER,
                inode INTEGER,
                device INTEGER,
                content_hash TEXT,
                fingerprint TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                failure_kind TEXT,
                failure TEXT,
                stamped_ns INTEGER NOT NULL,
                job_id INTEGER REFERENCES job (id),
                UNIQUE (output_folder, input)
            );
            CREATE TABLE output (
                path TEXT PRIMARY KEY,
                file_id INTEGER NOT NULL REFERENCES file (id) ON DELETE CASCADE,
                size INTEGER,
                mtime_ns INTEGER,
                width INTEGER NOT NULL,
                height INTEGER NOT NULL,
                format TEXT NOT NULL,
                content_hash TEXT
            ) WITHOUT ROWID;
            CREATE INDEX output_file ON output (file_id);
            CREATE TABLE attempt (
                id INTEGER PRIMARY KEY,
                job_id INTEGER NOT NULL REFERENCES job (id) ON DELETE CASCADE,
                file_id INTEGER NOT NULL REFERENCES file (id) ON DELETE CASCADE,
                status TEXT NOT NULL,
                started_ns INTEGER NOT NULL,
                finished_ns INTEGER,
                failure_kind TEXT,
                failure TEXT,
                stage_ms TEXT,
                outputs TEXT
            );
            CREATE INDEX attempt_job ON attempt (job_id);
            CREATE INDEX attempt_file ON attempt (file_id);
            """),
        ("v2: what each attempt read", """
            ALTER TABLE attempt ADD COLUMN input_bytes INTEGER;
            ALTER TABLE attempt ADD COLUMN input_pixels INTEGER;
            """),
        ("v3: the queue and leases", """
            ALTER TABLE job ADD COLUMN submitted INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE file ADD COLUMN attempt_id INTEGER;
            ALTER TABLE file ADD COLUMN lease_owner TEXT;
            ALTER TABLE file ADD COLUMN lease_expires_ns INTEGER;
            CREATE INDEX file_lease ON file (lease_owner) WHERE lease_expires_ns IS NOT NULL;
            """),
        ("v4: which run made each attempt", "ALTER TABLE attempt ADD COLUMN owner TEXT"),
        ("v5: each shared job's inputs, taken a few at a time", """
            CREATE TABLE job_input (
                job_id INTEGER NOT NULL REFERENCES job (id) ON DELETE CASCADE,
                input TEXT NOT NULL,
                size INTEGER NOT NULL,
                owner TEXT,
                until_ns INTEGER,
                done INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (job_id, input)
            );
            CREATE INDEX job_input_open ON job_input (job_id, size DESC, input) WHERE NOT done;
            CREATE INDEX job_input_owner ON job_input (owner) WHERE owner IS NOT NULL AND NOT done;
            """)
    ]

    /// A new store's schema made at once: every migration in one transaction, and all recorded
    /// as applied the way GRDB's migrator records them, so that later ones apply to it as to any
    /// (a new store's schema took 2.5 ms migration by migration, most of a new store's opening).
    /// False, and nothing done, when the store has a schema already (another process made it).
    private static func made(_ database: DatabaseQueue) throws -> Bool {
        try database.writeWithoutTransaction { db in
            var made = false
            try db.inTransaction(.immediate) {
                guard try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") == 0 else { return .rollback }
                try db.execute(sql: migrations.map(\.sql).joined(separator: ";\n"))
                try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                for migration in migrations {
                    try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [migration.identifier])
                }
                made = true
                return .commit
            }
            return made
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.identifier) { db in try db.execute(sql: migration.sql) }
        }
        return migrator
    }

    // MARK: Jobs

    public func createJob(_ job: JobRecord) throws(StoreError) -> Int64 {
        try write { db in
            try db.execute(sql: """
                INSERT INTO job (status, priority, created_ns, started_ns, command, working_directory, settings, fingerprint,
                                 inputs, output_folder, host, pid, submitted)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [job.status.rawValue, job.priority, job.createdNs, job.startedNs, StoredJSON.text(job.command),
                                 job.workingDirectory, job.settings, job.fingerprint, StoredJSON.text(job.inputs), job.outputFolder,
                                 job.host, job.pid, job.submitted])
            return db.lastInsertedRowID
        }
    }

    public func updateJob(_ id: Int64, status: JobStatus, counts: JobCounts?, at nanoseconds: Int64) throws(StoreError) {
        let ends = [.finished, .interrupted, .cancelled].contains(status)
        // A job cancelled stays cancelled, whatever its runs say as they stop.
        try write { db in
            try db.execute(sql: """
                UPDATE job SET status = CASE WHEN status = 'cancelled' THEN status ELSE ? END, counts = coalesce(?, counts),
                               finished_ns = CASE WHEN ? THEN ? ELSE finished_ns END
                WHERE id = ?
                """, arguments: [status.rawValue, counts.map(StoredJSON.text), ends, nanoseconds, id])
        }
    }

    public func jobs(limit: Int?) throws(StoreError) -> [JobRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM job ORDER BY id DESC LIMIT ?", arguments: [limit ?? -1]).map(Self.job)
        }
    }

    public func queuedCount() throws(StoreError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE status = 'queued'") ?? 0 }
    }

    public func job(_ id: Int64) throws(StoreError) -> JobRecord? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [id]).map(Self.job) }
    }

    private static func job(_ row: Row) -> JobRecord {
        var job = JobRecord(status: JobStatus(rawValue: row["status"]) ?? .interrupted, createdNs: row["created_ns"],
                            command: StoredJSON.value(row["command"]) ?? [], workingDirectory: row["working_directory"],
                            settings: row["settings"], fingerprint: row["fingerprint"],
                            inputs: StoredJSON.value(row["inputs"]) ?? [], outputFolder: row["output_folder"], host: row["host"],
                            pid: row["pid"])
        job.id = row["id"]
        job.priority = row["priority"]
        job.startedNs = row["started_ns"]
        job.finishedNs = row["finished_ns"]
        job.counts = StoredJSON.value(row["counts"])
        job.submitted = row["submitted"]
        return job
    }

    public func nextJob(skipping: Set<Int64>) throws(StoreError) -> JobRecord? {
        try read { db in
            let candidates = try Row.fetchCursor(db, sql: """
                SELECT * FROM job WHERE submitted = 1 AND status IN ('queued', 'running') ORDER BY priority DESC, id
                """)
            while let row = try candidates.next() {
                if !skipping.contains(row["id"]) { return Self.job(row) }
            }
            return nil
        }
    }

    public func attachJob(_ id: Int64, host: String, pid: Int32, at nanoseconds: Int64) throws(StoreError) -> JobRecord? {
        try write { db in
            try db.execute(sql: """
                UPDATE job SET status = 'running', host = ?, pid = ?, started_ns = coalesce(started_ns, ?)
                WHERE id = ? AND status IN ('queued', 'running', 'interrupted')
                """, arguments: [host, pid, nanoseconds, id])
            return try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [id]).map(Self.job)
        }
    }

    public func cancelJob(_ id: Int64, at nanoseconds: Int64) throws(StoreError) -> JobStatus? {
        try write { db in
            guard let before = try String.fetchOne(db, sql: "SELECT status FROM job WHERE id = ?", arguments: [id]) else { return nil }
            try db.execute(sql: """
                UPDATE job SET status = 'cancelled', finished_ns = ? WHERE id = ? AND status IN ('queued', 'running', 'interrupted')
                """, arguments: [nanoseconds, id])
            return JobStatus(rawValue: before)
        }
    }

    public func tally(job: Int64) throws(StoreError) -> (written: Int, failed: Int) {
        try read { db in
            var tally = (written: 0, failed: 0)
            for row in try Row.fetchAll(db, sql: """
                SELECT status, count(*) AS n FROM attempt AS last WHERE job_id = ?
                    AND id = (SELECT max(id) FROM attempt WHERE file_id = last.file_id AND job_id = last.job_id)
                GROUP BY status
                """, arguments: [job]) {
                switch row["status"] as String {
                case FileReport.Status.written.rawValue: tally.written = row["n"]
                case FileReport.Status.failed.rawValue: tally.failed = row["n"]
                default: break
                }
            }
            return tally
        }
    }

    public func holders(job: Int64, at nanoseconds: Int64) throws(StoreError) -> [Lease] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT owner, max(expires) AS expires FROM (
                    SELECT lease_owner AS owner, lease_expires_ns AS expires FROM file
                    WHERE job_id = ?1 AND status = 'running' AND lease_expires_ns > ?2
                    UNION ALL
                    SELECT owner, until_ns FROM job_input WHERE job_id = ?1 AND NOT done AND owner IS NOT NULL AND until_ns > ?2
                ) GROUP BY owner
                """, arguments: [job, nanoseconds]).map { Lease(owner: $0["owner"], expiresNs: $0["expires"]) }
        }
    }

    public func confirmHold(owner: String, outputFolder: String, input: String, attempt: Int64, until: Int64,
                            at nanoseconds: Int64) throws(StoreError) -> Bool {
        try write { db in
            try db.execute(sql: """
                UPDATE file SET lease_expires_ns = ?
                WHERE output_folder = ? AND input = ? AND lease_owner = ? AND attempt_id = ? AND status = 'running'
                """, arguments: [until, outputFolder, input, owner, attempt])
            if db.changesCount == 1 { return true }
            try db.execute(sql: "UPDATE attempt SET status = 'abandoned', finished_ns = ? WHERE id = ? AND status = 'running'",
                           arguments: [nanoseconds, attempt])
            return false
        }
    }

    public func renewLeases(owner: String, until: Int64, job: Int64) throws(StoreError) -> JobStatus? {
        try write { db in
            try db.execute(sql: "UPDATE file SET lease_expires_ns = ? WHERE lease_owner = ? AND lease_expires_ns IS NOT NULL",
                           arguments: [until, owner])
            try db.execute(sql: "UPDATE job_input SET until_ns = ? WHERE owner = ? AND NOT done", arguments: [until, owner])
            return try String.fetchOne(db, sql: "SELECT status FROM job WHERE id = ?", arguments: [job]).flatMap(JobStatus.init)
        }
    }

    public func offerInputs(job: Int64, inputs: [OfferedInput]) throws(StoreError) {
        guard !inputs.isEmpty else { return }
        try write { db in
            try db.execute(sql: """
                INSERT INTO job_input (job_id, input, size, done)
                SELECT ?, json_extract(value, '$.input'), json_extract(value, '$.size'), json_extract(value, '$.done') FROM json_each(?)
                WHERE true
                ON CONFLICT (job_id, input) DO UPDATE SET done = 1, owner = NULL WHERE excluded.done AND NOT job_input.done
                """, arguments: [job, StoredJSON.text(inputs)])
        }
    }

    public func takeInputs(job: Int64, owner: String, limit: Int, until: Int64, at nanoseconds: Int64, done: [String],
                           freeing: [String], sharing: Bool) throws(StoreError) -> [TakenInput] {
        // One writer at a time: SQLite has no rows to skip, the whole store is this transaction's
        // (what is picked is still free when it is taken).
        try write { db in
            if !done.isEmpty {
                try db.execute(sql: """
                    UPDATE job_input SET done = 1, owner = NULL WHERE job_id = ? AND input IN (SELECT value FROM json_each(?))
                    """, arguments: [job, StoredJSON.text(done)])
            }
            let free = "job_id = ?1 AND NOT done AND (owner IS NULL OR until_ns < ?2 OR owner IN (SELECT value FROM json_each(?3)))"
            var take = limit
            if sharing {
                let others = try Int.fetchOne(db, sql: """
                    SELECT count(DISTINCT owner) FROM job_input
                    WHERE job_id = ?1 AND NOT done AND owner IS NOT NULL AND owner <> ?2 AND until_ns >= ?3
                    """, arguments: [job, owner, nanoseconds]) ?? 0
                let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM job_input WHERE \(free) LIMIT ?4)",
                                             arguments: [job, nanoseconds, StoredJSON.text(freeing), 2 * (others + 1) * limit]) ?? 0
                take = Self.fairShare(free: count, others: others, limit: limit)
            }
            let picked = try Row.fetchAll(db, sql: """
                SELECT input, owner FROM job_input WHERE \(free)
                ORDER BY size DESC, input LIMIT ?4
                """, arguments: [job, nanoseconds, StoredJSON.text(freeing), take]).map {
                TakenInput(input: $0["input"], heldBefore: ($0["owner"] as String?) != nil)
            }
            try db.execute(sql: """
                UPDATE job_input SET owner = ?, until_ns = ? WHERE job_id = ? AND input IN (SELECT value FROM json_each(?))
                """, arguments: [owner, until, job, StoredJSON.text(picked.map(\.input))])
            return picked
        }
    }

    public func pendingInputs(job: Int64, except owner: String?) throws(StoreError) -> Int {
        try read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM job_input WHERE job_id = ?1 AND NOT done AND (?2 IS NULL OR owner IS NOT ?2)",
                             arguments: [job, owner]) ?? 0
        }
    }

    public func returnInputs(job: Int64, owner: String, done: [String]) throws(StoreError) {
        try write { db in
            try db.execute(sql: """
                UPDATE job_input SET done = input IN (SELECT value FROM json_each(?3)), owner = NULL
                WHERE job_id = ?1 AND owner = ?2 AND NOT done
                """, arguments: [job, owner, StoredJSON.text(done)])
        }
    }

    // MARK: Files and attempts

    public func inputStates(outputFolder: String) throws(StoreError) -> [String: InputState] {
        try read { db in
            var outputs: [Int64: [OutputState]] = [:]
            let outputRows = try Row.fetchCursor(db, sql: """
                SELECT output.* FROM output JOIN file ON file.id = output.file_id WHERE file.output_folder = ?
                """, arguments: [outputFolder])
            while let row = try outputRows.next() {
                outputs[row["file_id"], default: []].append(Self.output(row))
            }
            var states: [String: InputState] = [:]
            let fileRows = try Row.fetchCursor(db, sql: "SELECT * FROM file WHERE output_folder = ?", arguments: [outputFolder])
            while let row = try fileRows.next() {
                let state = Self.state(row, outputs: outputs[row["id"]] ?? [])
                states[state.input] = state
            }
            return states
        }
    }

    public func inputState(outputFolder: String, input: String) throws(StoreError) -> InputState? {
        try read { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM file WHERE output_folder = ? AND input = ?"),
                                             arguments: [outputFolder, input]) else { return nil }
            let outputs = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM output WHERE file_id = ?"),
                                           arguments: [row["id"] as Int64]).map(Self.output)
            return Self.state(row, outputs: outputs)
        }
    }

    public func startAttempt(job: Int64, outputFolder: String, state: InputState, lease: Lease, basedOn: Int64?,
                             takingOver: String?, at nanoseconds: Int64, finishing: [FinishedAttempt]) throws(StoreError) -> AttemptStart {
        try startAttempts(job: job, outputFolder: outputFolder, claims: [AttemptClaim(state: state, basedOn: basedOn, takingOver: takingOver)],
                          lease: lease, at: nanoseconds, finishing: finishing)[0]
    }

    /// A transaction costs as much as a file's own statements (taking the write lock, writing the
    /// log, and caches gone cold while the file was decoded): a run claims the file it starts and
    /// the next seven of its plan in one, and records the attempts that ended meanwhile with them.
    public var claimsAhead: Int { 8 }

    public func startAttempts(job: Int64, outputFolder: String, claims: [AttemptClaim], lease: Lease, at nanoseconds: Int64,
                              finishing: [FinishedAttempt]) throws(StoreError) -> [AttemptStart] {
        try write { db in
            for finished in finishing { try Self.finish(finished, job: job, outputFolder: outputFolder, owner: lease.owner, db: db) }
            if try String.fetchOne(db.cachedStatement(sql: "SELECT status FROM job WHERE id = ?"), arguments: [job])
                == JobStatus.cancelled.rawValue {
                return claims.map { _ in .cancelled }
            }
            return try claims.map { claim in
                try Self.claim(claim, job: job, outputFolder: outputFolder, lease: lease, at: nanoseconds, db: db)
            }
        }
    }

    /// One claim, inside the caller's transaction.
    private static func claim(_ claim: AttemptClaim, job: Int64, outputFolder: String, lease: Lease, at nanoseconds: Int64,
                              db: Database) throws -> AttemptStart {
        let state = claim.state
        var tookOver: [String]?
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM file WHERE output_folder = ? AND input = ?"),
                                      arguments: [outputFolder, state.input]) {
            let owner: String? = row["lease_owner"]
            let status: String = row["status"]
            if status == "running", let owner, owner != lease.owner, owner != claim.takingOver,
               let expires: Int64 = row["lease_expires_ns"], expires > nanoseconds {
                return .held(Lease(owner: owner, expiresNs: expires))
            }
            if status == "running", owner != lease.owner {
                tookOver = try String.fetchAll(db.cachedStatement(sql: "SELECT path FROM output WHERE file_id = ?"),
                                               arguments: [row["id"] as Int64])
                // The attempt taken over is over: its run died or stalled past its lease (should
                // it wake, its late record finds the file another's and leaves it so).
                try db.cachedStatement(sql: "UPDATE attempt SET status = 'abandoned', finished_ns = ? WHERE id = ? AND status = 'running'")
                    .execute(arguments: [nanoseconds, row["attempt_id"] as Int64?])
            }
            if status != "running", owner != lease.owner, row["attempt_id"] as Int64? != claim.basedOn {
                let outputs = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM output WHERE file_id = ?"),
                                               arguments: [row["id"] as Int64]).map(Self.output)
                return .newer(Self.state(row, outputs: outputs))
            }
        }
        let file = try upsert(state, outputFolder: outputFolder, job: job, attempt: true, lease: lease, db: db)!
        try db.cachedStatement(sql: "INSERT INTO attempt (job_id, file_id, status, started_ns, owner) VALUES (?, ?, 'running', ?, ?)")
            .execute(arguments: [job, file, nanoseconds, lease.owner])
        let attempt = db.lastInsertedRowID
        try db.cachedStatement(sql: "UPDATE file SET attempt_id = ? WHERE id = ?").execute(arguments: [attempt, file])
        return tookOver.map { .tookOver(attempt, outputs: $0) } ?? .started(attempt)
    }

    public func releaseClaims(_ claims: [HeldClaim], outputFolder: String, owner: String, at nanoseconds: Int64) throws(StoreError) {
        guard !claims.isEmpty else { return }
        try write { db in
            for claim in claims {
                try db.cachedStatement(sql: "UPDATE attempt SET status = 'cancelled', finished_ns = ? WHERE id = ? AND status = 'running'")
                    .execute(arguments: [nanoseconds, claim.attempt])
                try db.cachedStatement(sql: """
                    UPDATE file SET lease_expires_ns = NULL
                    WHERE output_folder = ? AND input = ? AND attempt_id = ? AND lease_owner = ?
                    """).execute(arguments: [outputFolder, claim.input, claim.attempt, owner])
            }
        }
    }

    public func finishAttempts(_ finished: [FinishedAttempt], job: Int64, outputFolder: String, owner: String) throws(StoreError) {
        guard !finished.isEmpty else { return }
        try write { db in
            for attempt in finished { try Self.finish(attempt, job: job, outputFolder: outputFolder, owner: owner, db: db) }
        }
    }

    /// One ended attempt, inside the caller's transaction: its file no longer held, still marked
    /// as the owner's doing.
    private static func finish(_ finished: FinishedAttempt, job: Int64, outputFolder: String, owner: String, db: Database) throws {
        let state = finished.state
        guard let file = try upsert(state, outputFolder: outputFolder, job: job, attempt: finished.attempt == nil,
                                    lease: Lease(owner: owner, expiresNs: 0), held: false, ifAttempt: finished.attempt, db: db) else {
            // Taken over meanwhile (this run stalled past its lease; the other's attempt is the
            // file's now): this one is over, and the file's record stays the other's.
            try db.cachedStatement(sql: "UPDATE attempt SET status = 'abandoned', finished_ns = ? WHERE id = ?")
                .execute(arguments: [finished.nanoseconds, finished.attempt])
            return
        }
        // The stage times and outputs go in as JSON that SQLite writes (its JSON functions, one
        // statement per shape): JSONEncoder took 0.09 ms a file, a third of the store's cost.
        let stages = finished.stageMilliseconds?.sorted { $0.key < $1.key }
        let stagesJSON = stages.map { "json_object(\(repeatElement("?, ?", count: $0.count).joined(separator: ", ")))" } ?? "NULL"
        let outputsJSON = "json_array(\(repeatElement(outputJSON, count: state.outputs.count).joined(separator: ", ")))"
        var values: [(any DatabaseValueConvertible)?] = [state.status, finished.nanoseconds, state.failureKind, state.failure]
        for (stage, milliseconds) in stages ?? [] { values += [stage, milliseconds] }
        for output in state.outputs {
            values += [output.contentHash, output.format, output.height, output.modifiedNs, output.path, output.size, output.width]
        }
        values += [finished.input.bytes, finished.input.pixels]
        if let attempt = finished.attempt {
            try db.cachedStatement(sql: """
                UPDATE attempt SET status = ?, finished_ns = ?, failure_kind = ?, failure = ?, stage_ms = \(stagesJSON),
                                   outputs = \(outputsJSON), input_bytes = ?, input_pixels = ?, started_ns = coalesce(?, started_ns)
                WHERE id = ?
                """).execute(arguments: StatementArguments(values + [finished.startedNs, attempt]))
        } else {
            try db.cachedStatement(sql: """
                INSERT INTO attempt (status, finished_ns, failure_kind, failure, stage_ms, outputs, input_bytes, input_pixels,
                                     job_id, file_id, started_ns, owner)
                VALUES (?, ?, ?, ?, \(stagesJSON), \(outputsJSON), ?, ?, ?, ?, ?, ?)
                """).execute(arguments: StatementArguments(values + [job, file, finished.startedNs ?? finished.nanoseconds, owner]))
            try db.cachedStatement(sql: "UPDATE file SET attempt_id = ? WHERE id = ?").execute(arguments: [db.lastInsertedRowID, file])
        }
    }

    /// One output as the JSON of `OutputState` (its coding keys, in order), from seven arguments.
    private static let outputJSON = """
        json_object('contentHash', ?, 'format', ?, 'height', ?, 'modifiedNs', ?, 'path', ?, 'size', ?, 'width', ?)
        """

    public func stats(limit: Int?) throws(StoreError) -> JobStats {
        try read { db in
            var stats = JobStats()
            let jobs = try Row.fetchAll(db, sql: "SELECT id, counts FROM job ORDER BY id DESC LIMIT ?", arguments: [limit ?? -1])
            stats.jobs = jobs.count
            guard let oldest: Int64 = jobs.last?["id"] else { return stats }
            for row in jobs {
                guard let counts: JobCounts = StoredJSON.value(row["counts"]) else { continue }
                stats.written += counts.written
                stats.skipped += counts.skipped
                stats.failed += counts.failed
                stats.seconds += counts.seconds
            }
            var megapixels = 0.0
            let written = try Row.fetchCursor(db, sql: """
                SELECT input_bytes, input_pixels, outputs FROM attempt WHERE job_id >= ? AND status = 'written'
                """, arguments: [oldest])
            while let row = try written.next() {
                stats.bytesIn += row["input_bytes"] ?? 0
                megapixels += Double(row["input_pixels"] ?? 0) / 1e6
                let outputs: [OutputState] = StoredJSON.value(row["outputs"]) ?? []
                stats.bytesOut += outputs.reduce(0) { $0 + ($1.size ?? 0) }
            }
            stats.megapixels = megapixels
            if stats.seconds > 0 {
                stats.filesPerSecond = Double(stats.written) / stats.seconds
                stats.megapixelsPerSecond = megapixels / stats.seconds
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT failure_kind, count(*) AS n FROM attempt WHERE job_id >= ? AND status = 'failed' GROUP BY failure_kind
                """, arguments: [oldest]) {
                stats.failuresByKind[row["failure_kind"] ?? "unknown"] = row["n"]
            }
            stats.slowest = try Row.fetchAll(db, sql: """
                SELECT attempt.job_id, file.path, attempt.finished_ns - attempt.started_ns AS ns, attempt.input_pixels
                FROM attempt JOIN file ON file.id = attempt.file_id
                WHERE attempt.job_id >= ? AND attempt.status = 'written' ORDER BY ns DESC LIMIT 5
                """, arguments: [oldest]).map { row in
                JobStats.Slow(job: row["job_id"], input: row["path"], seconds: Double(row["ns"] as Int64? ?? 0) / 1e9,
                              megapixels: (row["input_pixels"] as Int?).map { Double($0) / 1e6 })
            }
            return stats
        }
    }

    public func markRemoved(outputFolder: String, input: String, at nanoseconds: Int64) throws(StoreError) {
        try write { db in
            try db.execute(sql: """
                DELETE FROM output WHERE file_id IN (SELECT id FROM file WHERE output_folder = ? AND input = ?)
                """, arguments: [outputFolder, input])
            try db.execute(sql: "UPDATE file SET status = 'removed', stamped_ns = ? WHERE output_folder = ? AND input = ?",
                           arguments: [nanoseconds, outputFolder, input])
        }
    }

    public func restamp(outputFolder: String, stamps: [String: FileStamp], at nanoseconds: Int64) throws(StoreError) {
        guard !stamps.isEmpty else { return }
        try write { db in
            let update = try db.cachedStatement(sql: """
                UPDATE file SET size = ?, mtime_ns = ?, inode = ?, device = ?, stamped_ns = ?
                WHERE output_folder = ? AND input = ?
                """)
            for (input, stamp) in stamps {
                try update.execute(arguments: [stamp.size, stamp.modifiedNs, Int64(bitPattern: stamp.inode),
                                               Int64(bitPattern: stamp.device), nanoseconds, outputFolder, input])
            }
        }
    }

    public func attempts(job: Int64) throws(StoreError) -> [AttemptRecord] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT attempt.*, file.input, file.path FROM attempt JOIN file ON file.id = attempt.file_id
                WHERE attempt.job_id = ? ORDER BY attempt.id
                """, arguments: [job]).map { row in
                AttemptRecord(id: row["id"], job: row["job_id"], input: row["input"], path: row["path"], status: row["status"],
                              startedNs: row["started_ns"], finishedNs: row["finished_ns"], failureKind: row["failure_kind"],
                              failure: row["failure"], stageMilliseconds: StoredJSON.value(row["stage_ms"]),
                              outputs: StoredJSON.value(row["outputs"]) ?? [], owner: row["owner"])
            }
        }
    }

    /// The input's row made to say `state` (its outputs replaced by the state's), as `lease`'s
    /// owner's doing, `held` by it till the lease expires or not held; returns its id. `attempt`
    /// counts one more attempt.
    /// `ifAttempt`: only while that attempt is the file's (nil, and nothing written, when another
    /// run's attempt took it over).
    private static func upsert(_ state: InputState, outputFolder: String, job: Int64, attempt: Bool, lease: Lease, held: Bool = true,
                               ifAttempt: Int64? = nil, db: Database) throws -> Int64? {
        let stamp = state.stamp
        // Cached statements: each is compiled once per run, not once per file.
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO file (output_folder, input, path, size, mtime_ns, inode, device, content_hash, fingerprint, status,
                              attempts, failure_kind, failure, stamped_ns, job_id, lease_owner, lease_expires_ns)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (output_folder, input) DO UPDATE SET
                path = excluded.path, size = excluded.size, mtime_ns = excluded.mtime_ns, inode = excluded.inode,
                device = excluded.device, content_hash = excluded.content_hash, fingerprint = excluded.fingerprint,
                status = excluded.status, attempts = attempts + excluded.attempts, failure_kind = excluded.failure_kind,
                failure = excluded.failure, stamped_ns = excluded.stamped_ns, job_id = excluded.job_id,
                lease_owner = excluded.lease_owner, lease_expires_ns = excluded.lease_expires_ns
            WHERE ?18 IS NULL OR file.attempt_id IS NULL OR file.attempt_id = ?18
            RETURNING id
            """)
        guard let id = try Int64.fetchOne(upsert, arguments: [outputFolder, state.input, state.path, stamp?.size, stamp?.modifiedNs,
                                                             stamp.map { Int64(bitPattern: $0.inode) },
                                                             stamp.map { Int64(bitPattern: $0.device) }, state.contentHash,
                                                             state.fingerprint, state.status, attempt ? 1 : 0, state.failureKind,
                                                             state.failure, state.stampedNs, job, lease.owner,
                                                             held ? lease.expiresNs : nil, ifAttempt]) else { return nil }
        // The file's outputs become `state.outputs`: those it no longer has go, the others are
        // updated where they are (an attempt's end finds the rows its start made, and changes no
        // index), or added. A path another input's row held (the same name made from another
        // folder) is this one's now.
        try db.cachedStatement(sql: """
            DELETE FROM output WHERE file_id = ? AND path NOT IN (SELECT value FROM json_each(json_array(\(
                repeatElement("?", count: state.outputs.count).joined(separator: ", ")))))
            """).execute(arguments: StatementArguments([id] + state.outputs.map(\.path)))
        let put = try db.cachedStatement(sql: """
            INSERT INTO output (path, file_id, size, mtime_ns, width, height, format, content_hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (path) DO UPDATE SET
                file_id = excluded.file_id, size = excluded.size, mtime_ns = excluded.mtime_ns, width = excluded.width,
                height = excluded.height, format = excluded.format, content_hash = excluded.content_hash
            """)
        for output in state.outputs {
            try put.execute(arguments: [output.path, id, output.size, output.modifiedNs, output.width, output.height,
                                        output.format, output.contentHash])
        }
        return id
    }

    private static func state(_ row: Row, outputs: [OutputState]) -> InputState {
        var stamp: FileStamp?
        if let size: Int = row["size"], let modified: Int64 = row["mtime_ns"], let inode: Int64 = row["inode"],
           let device: Int64 = row["device"] {
            stamp = FileStamp(size: size, modifiedNs: modified, inode: UInt64(bitPattern: inode), device: UInt64(bitPattern: device))
        }
        return InputState(input: row["input"], path: row["path"], stamp: stamp, contentHash: row["content_hash"],
                          fingerprint: row["fingerprint"], status: row["status"], attempts: row["attempts"],
                          failureKind: row["failure_kind"], failure: row["failure"], stampedNs: row["stamped_ns"],
                          outputs: outputs, attempt: row["attempt_id"])
    }

    private static func output(_ row: Row) -> OutputState {
        OutputState(path: row["path"], size: row["size"], modifiedNs: row["mtime_ns"], width: row["width"], height: row["height"],
                    format: row["format"], contentHash: row["content_hash"])
    }

    // MARK: Plumbing

    private func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try database.write(body)
        } catch {
            throw StoreError("\(location): \(Self.reason(error, at: location))")
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try database.read(body)
        } catch {
            throw StoreError("\(location): \(Self.reason(error))")
        }
    }

}
