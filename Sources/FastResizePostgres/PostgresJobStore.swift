// PostgresJobStore: the job store in PostgreSQL, for runs and workers on several machines — the same behaviour as the SQLite store, its schema (in a schema of its own) made and moved on by migrations.

import FastResize
import FastResizeJobs
import FastResizeSQLWire
import Foundation

/// The job store on a PostgreSQL server: `postgres://user[:password]@host[:port]/database`, with
/// `?schema=NAME` for a schema other than `fastresize`. Every call is one transaction on the
/// store's connection (calls from several threads take turns). Two runs that start the same file
/// at once are serialised by a transaction-level advisory lock on the file, so exactly one of them
/// holds it. A connection lost mid-call (the server restarted, the network gone) is made again,
/// with backoff, for up to `reconnectFor` seconds, and the call runs again: a run or a worker
/// waits for its database rather than failing its files.
public final class PostgresJobStore: JobStore, @unchecked Sendable {
    public let location: String
    /// The address as given (with its password, if it has one), for a child process.
    public let address: String
    private let schema: String
    private let driver: PostgresDriver
    private let reconnectFor: Double
    // The connection, used under `lock` (one statement at a time, one transaction at a time).
    private let lock = NSLock()
    private var session: PostgresSession?
    // A second connection, made when a worker first waits, that only listens for submissions.
    private let listenLock = NSLock()
    private var listener: PostgresSession?
    /// The channel a submission is announced on (NOTIFY), one per schema.
    private var channel: String { Self.channel(schema, "jobs") }
    /// The channel a run of `job` announces its end on (its inputs given back): one per job, so
    /// that a run waiting on its job's last inputs is not woken by other jobs' runs.
    private func returnsChannel(_ job: Int64) -> String { Self.channel(schema, "returns_\(job)") }
    /// The connection and channel listened on, once a run waits on another's inputs.
    private weak var returnsHeard: PostgresSession?
    private var returnsHeardChannel: String?

    /// The driver library's file name (the command looks for it beside itself).
    public static let driverLibrary = "libFastResizePostgresDriver.so"

    /// The schema name when none is given.
    public static let defaultSchema = "fastresize"

    /// Loads the driver library from the first of `paths` there is, ahead of any store (a worker's
    /// spare run: its loading and the runtime's first look through it paid between jobs). Starts
    /// no thread: a run still restricts itself before its first.
    public static func loadDriver(from paths: [String]) throws(StoreError) {
        _ = try PostgresDriver.load(from: paths)
    }

    /// Connects to the store at `address`, making its schema or bringing it up to date. The driver
    /// library is looked for at `driverPaths`, in order.
    public init(address: String, driverPaths: [String], reconnectFor: Double = 600) throws(StoreError) {
        guard var parts = URLComponents(string: address), ["postgres", "postgresql"].contains(parts.scheme ?? "") else {
            throw StoreError("\(address): not a postgres://user@host:port/database address")
        }
        schema = parts.queryItems?.first { $0.name == "schema" }?.value ?? Self.defaultSchema
        if parts.password != nil { parts.password = "…" }
        location = parts.string ?? address
        guard schema.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
            throw StoreError("\(location): the schema name \(schema) is not one of lower-case letters, digits and _")
        }
        self.address = address
        self.reconnectFor = reconnectFor
        driver = try PostgresDriver.load(from: driverPaths)
        do throws(SQLFailure) {
            let session = try PostgresSession(driver: driver, address: address)
            try Self.migrate(session, schema: schema, location: location)
            try Self.prepare(session, schema: schema)
            self.session = session
        } catch {
            throw StoreError("\(location): \(error.connectionLost ? "cannot connect: " : "")\(error)")
        }
    }

    // MARK: Schema

    /// The schema, one migration per change, applied in order; a store whose newest migration this
    /// FastResize does not know was written by a newer one and is refused.
    static let migrations: [(version: Int64, name: String, statements: [String])] = [
        (1, "jobs, files, outputs, attempts, the queue and leases", statements(of: """
            CREATE TABLE job (
                id BIGSERIAL PRIMARY KEY,
                status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'interrupted', 'cancelled')),
                priority BIGINT NOT NULL DEFAULT 0,
                created_ns BIGINT NOT NULL,
                started_ns BIGINT,
                finished_ns BIGINT,
                command TEXT NOT NULL,
                working_directory TEXT NOT NULL,
                settings TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                inputs TEXT NOT NULL,
                output_folder TEXT NOT NULL,
                host TEXT NOT NULL,
                pid BIGINT NOT NULL,
                counts TEXT,
                submitted BOOLEAN NOT NULL DEFAULT false
            );
            CREATE INDEX job_queue ON job (status, priority DESC, id);
            CREATE TABLE file (
                id BIGSERIAL PRIMARY KEY,
                output_folder TEXT NOT NULL,
                input TEXT NOT NULL,
                path TEXT NOT NULL,
                size BIGINT,
                mtime_ns BIGINT,
                inode BIGINT,
                device BIGINT,
                content_hash TEXT,
                fingerprint TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts BIGINT NOT NULL DEFAULT 0,
                failure_kind TEXT,
                failure TEXT,
                stamped_ns BIGINT NOT NULL,
                job_id BIGINT REFERENCES job (id),
                attempt_id BIGINT,
                lease_owner TEXT,
                lease_expires_ns BIGINT,
                UNIQUE (output_folder, input)
            );
            CREATE INDEX file_lease ON file (lease_owner) WHERE lease_expires_ns IS NOT NULL;
            CREATE INDEX file_job ON file (job_id);
            CREATE TABLE output (
                path TEXT PRIMARY KEY,
                file_id BIGINT NOT NULL REFERENCES file (id) ON DELETE CASCADE,
                size BIGINT,
                mtime_ns BIGINT,
                width BIGINT NOT NULL,
                height BIGINT NOT NULL,
                format TEXT NOT NULL,
                content_hash TEXT
            );
            CREATE INDEX output_file ON output (file_id);
            CREATE TABLE attempt (
                id BIGSERIAL PRIMARY KEY,
                job_id BIGINT NOT NULL REFERENCES job (id) ON DELETE CASCADE,
                file_id BIGINT NOT NULL REFERENCES file (id) ON DELETE CASCADE,
                status TEXT NOT NULL,
                started_ns BIGINT NOT NULL,
                finished_ns BIGINT,
                failure_kind TEXT,
                failure TEXT,
                stage_ms TEXT,
                outputs TEXT,
                input_bytes BIGINT,
                input_pixels BIGINT
            );
            CREATE INDEX attempt_job ON attempt (job_id);
            CREATE INDEX attempt_file ON attempt (file_id);
            """)),
        (2, "which run made each attempt", ["ALTER TABLE attempt ADD COLUMN owner TEXT"]),
        (3, "each shared job's inputs, taken a few at a time", statements(of: """
            CREATE TABLE job_input (
                job_id BIGINT NOT NULL REFERENCES job (id) ON DELETE CASCADE,
                input TEXT NOT NULL,
                size BIGINT NOT NULL,
                owner TEXT,
                until_ns BIGINT,
                done BOOLEAN NOT NULL DEFAULT false,
                PRIMARY KEY (job_id, input)
            );
            CREATE INDEX job_input_open ON job_input (job_id, size DESC, input) WHERE NOT done;
            CREATE INDEX job_input_owner ON job_input (owner) WHERE owner IS NOT NULL AND NOT done
            """)),
        (4, "an attempt's start and end as server functions", functions),
        (5, "a taken-over attempt recorded abandoned at once", [startAttempt]),
    ]

    /// A migration's statements, one by one (the extended protocol takes one at a time).
    private static func statements(of sql: String) -> [String] {
        sql.split(separator: ";").map(String.init).filter { !$0.allSatisfy(\.isWhitespace) }
    }

    /// A session-level advisory lock key: processes opening the same database at once take turns
    /// making its schema.
    private static let migrationLock: Int64 = 0x4661_7374_5265_7331

    private static func migrate(_ session: PostgresSession, schema: String, location: String) throws(SQLFailure) {
        // Almost every open finds the schema as this FastResize leaves it: one statement says so,
        // with no lock taken (a round trip is a millisecond of every run's and worker's start).
        // Anything else (no schema yet, older, newer, an error) goes the careful way below.
        let known = migrations.last?.version ?? 0
        if let newest = try? session.run("SELECT max(version) AS newest FROM \(schema).migration").first("newest")?.integer,
           newest == known {
            return
        }
        try session.run("SELECT pg_advisory_lock($1)", [.integer(migrationLock)])
        defer { _ = try? session.run("SELECT pg_advisory_unlock($1)", [.integer(migrationLock)]) }
        try session.run("CREATE SCHEMA IF NOT EXISTS \(schema)")
        try session.run("SET search_path TO \(schema)")
        try session.run("CREATE TABLE IF NOT EXISTS migration (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ns BIGINT NOT NULL)")
        let newest = try session.run("SELECT max(version) AS newest FROM migration").first("newest")?.integer ?? 0
        if newest > known {
            throw SQLFailure(code: "", message: "the job store (schema \(schema)) was written by a newer FastResize "
                             + "(migration \(newest), this one knows up to \(known)); use that version, or another ?schema=",
                             connectionLost: false)
        }
        for migration in migrations where migration.version > newest {
            try session.run("BEGIN")
            do throws(SQLFailure) {
                for statement in migration.statements { try session.run(statement) }
                try session.run("INSERT INTO migration (version, name, applied_ns) VALUES ($1, $2, $3)",
                                [.integer(migration.version), .text(migration.name), .integer(Self.now())])
                try session.run("COMMIT")
            } catch {
                if !error.connectionLost { _ = try? session.run("ROLLBACK") }
                throw error
            }
        }
    }

    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    // MARK: Jobs

    public func createJob(_ job: JobRecord) throws(StoreError) -> Int64 {
        // One statement, its own transaction. Idle workers hear of a submitted job as it commits,
        // not at their next look.
        try transaction(single: true) { db throws(SQLFailure) in
            try db.run("""
                WITH made AS (
                    INSERT INTO job (status, priority, created_ns, started_ns, command, working_directory, settings, fingerprint,
                                     inputs, output_folder, host, pid, submitted)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id
                )
                SELECT id, CASE WHEN $13 THEN pg_notify($14, id::text) END AS told FROM made
                """, [.text(job.status.rawValue), .integer(Int64(job.priority)), .integer(job.createdNs), Self.value(job.startedNs),
                      .text(StoredJSON.text(job.command)), .text(job.workingDirectory), .text(job.settings), .text(job.fingerprint),
                      .text(StoredJSON.text(job.inputs)), .text(job.outputFolder), .text(job.host), .integer(Int64(job.pid)),
                      .boolean(job.submitted), .text(channel)]).first("id")?.integer ?? 0
        }
    }

    public func awaitSubmission(seconds: Double) -> Bool? {
        listenLock.lock()
        defer { listenLock.unlock() }
        do throws(SQLFailure) {
            guard let listener else {
                let made = try PostgresSession(driver: driver, address: address)
                try made.listen(channel)
                listener = made
                // A job submitted before the listening began was not heard of: look again now.
                return true
            }
            return try listener.wait(seconds: seconds)
        } catch {
            // The server is away: the caller looks at the queue (and reconnects) as it polls.
            listener = nil
            usleep(UInt32(min(seconds, 1) * 1e6))
            return false
        }
    }

    public func awaitReturns(job: Int64, seconds: Double) -> Bool? {
        // On the store's own connection, which is idle while the run waits: a connection of its
        // own would cost more to open than the wait saves. Held here, so that one made again
        // meanwhile does not close it under the wait.
        let listening: PostgresSession
        let channel = returnsChannel(job)
        do throws(StoreError) {
            let (session, began) = try transaction(single: true) { db throws(SQLFailure) in
                if returnsHeard === db && returnsHeardChannel == channel { return (db, false) }
                try db.listen(channel)
                returnsHeard = db
                returnsHeardChannel = channel
                return (db, true)
            }
            // A return before the listening began was not heard of: look again now.
            if began { return true }
            listening = session
        } catch {
            return false
        }
        return (try? listening.wait(seconds: seconds)) ?? false
    }

    public func updateJob(_ id: Int64, status: JobStatus, counts: JobCounts?, at nanoseconds: Int64) throws(StoreError) {
        let ends = [.finished, .interrupted, .cancelled].contains(status)
        // A job cancelled stays cancelled, whatever its runs say as they stop.
        try transaction(single: true) { db throws(SQLFailure) in
            try db.run("""
                UPDATE job SET status = CASE WHEN status = 'cancelled' THEN status ELSE $1 END, counts = coalesce($2, counts),
                               finished_ns = CASE WHEN $3 THEN $4 ELSE finished_ns END
                WHERE id = $5
                """, [.text(status.rawValue), counts.map { .text(StoredJSON.text($0)) } ?? .null, .boolean(ends), .integer(nanoseconds),
                      .integer(id)])
        }
    }

    public func jobs(limit: Int?) throws(StoreError) -> [JobRecord] {
        try transaction(single: true) { db throws(SQLFailure) in
            try db.run("SELECT * FROM job ORDER BY id DESC LIMIT $1", [limit.map { .integer(Int64($0)) } ?? .null]).records.map(Self.job)
        }
    }

    public func queuedCount() throws(StoreError) -> Int {
        try transaction(single: true) { db throws(SQLFailure) in
            Int(try db.run("SELECT count(*) AS n FROM job WHERE status = 'queued'").first("n")?.integer ?? 0)
        }
    }

    public func job(_ id: Int64) throws(StoreError) -> JobRecord? {
        try transaction { db throws(SQLFailure) in try db.run("SELECT * FROM job WHERE id = $1", [.integer(id)]).records.first.map(Self.job) }
    }

    private static func job(_ row: SQLRecord) -> JobRecord {
        var job = JobRecord(status: JobStatus(rawValue: row["status"].text ?? "") ?? .interrupted, createdNs: row["created_ns"].integer ?? 0,
                            command: StoredJSON.value(row["command"].text) ?? [], workingDirectory: row["working_directory"].text ?? "",
                            settings: row["settings"].text ?? "", fingerprint: row["fingerprint"].text ?? "",
                            inputs: StoredJSON.value(row["inputs"].text) ?? [], outputFolder: row["output_folder"].text ?? "",
                            host: row["host"].text ?? "", pid: Int32(truncatingIfNeeded: row["pid"].integer ?? 0))
        job.id = row["id"].integer ?? 0
        job.priority = Int(row["priority"].integer ?? 0)
        job.startedNs = row["started_ns"].integer
        job.finishedNs = row["finished_ns"].integer
        job.counts = StoredJSON.value(row["counts"].text)
        job.submitted = row["submitted"].boolean ?? false
        return job
    }

    public func nextJob(skipping: Set<Int64>) throws(StoreError) -> JobRecord? {
        let skipped = skipping.map(String.init).joined(separator: ",")
        return try transaction(single: true) { db throws(SQLFailure) in
            try db.run("""
                SELECT * FROM job WHERE submitted AND status IN ('queued', 'running')
                    AND NOT (id = ANY (string_to_array($1, ',')::bigint[]))
                ORDER BY priority DESC, id LIMIT 1
                """, [.text(skipped)]).records.first.map(Self.job)
        }
    }

    public func attachJob(_ id: Int64, host: String, pid: Int32, at nanoseconds: Int64) throws(StoreError) -> JobRecord? {
        // One statement: the job as attached, or as it is when it cannot be (finished, cancelled).
        try transaction(single: true) { db throws(SQLFailure) in
            try db.run("""
                WITH attached AS (
                    UPDATE job SET status = 'running', host = $1, pid = $2, started_ns = coalesce(started_ns, $3)
                    WHERE id = $4 AND status IN ('queued', 'running', 'interrupted') RETURNING *
                )
                SELECT * FROM attached UNION ALL SELECT * FROM job WHERE id = $4 AND NOT EXISTS (SELECT 1 FROM attached)
                """, [.text(host), .integer(Int64(pid)), .integer(nanoseconds), .integer(id)]).records.first.map(Self.job)
        }
    }

    public func cancelJob(_ id: Int64, at nanoseconds: Int64) throws(StoreError) -> JobStatus? {
        try transaction { db throws(SQLFailure) in
            guard let before = try db.run("SELECT status FROM job WHERE id = $1 FOR UPDATE", [.integer(id)]).first("status")?.text else {
                return nil
            }
            try db.run("""
                UPDATE job SET status = 'cancelled', finished_ns = $1 WHERE id = $2 AND status IN ('queued', 'running', 'interrupted')
                """, [.integer(nanoseconds), .integer(id)])
            return JobStatus(rawValue: before)
        }
    }

    public func tally(job: Int64) throws(StoreError) -> (written: Int, failed: Int) {
        try transaction(single: true) { db throws(SQLFailure) in
            var tally = (written: 0, failed: 0)
            for row in try db.run("""
                SELECT status, count(*) AS n FROM (
                    SELECT DISTINCT ON (file_id) status FROM attempt WHERE job_id = $1 ORDER BY file_id, id DESC
                ) AS last GROUP BY status
                """, [.integer(job)]).records {
                switch row["status"].text {
                case FileReport.Status.written.rawValue: tally.written = Int(row["n"].integer ?? 0)
                case FileReport.Status.failed.rawValue: tally.failed = Int(row["n"].integer ?? 0)
                default: break
                }
            }
            return tally
        }
    }

    public func holders(job: Int64, at nanoseconds: Int64) throws(StoreError) -> [Lease] {
        try transaction(single: true) { db throws(SQLFailure) in
            try db.run("""
                SELECT owner, max(expires) AS expires FROM (
                    SELECT lease_owner AS owner, lease_expires_ns AS expires FROM file
                    WHERE job_id = $1 AND status = 'running' AND lease_expires_ns > $2
                    UNION ALL
                    SELECT owner, until_ns FROM job_input WHERE job_id = $1 AND NOT done AND owner IS NOT NULL AND until_ns > $2
                ) AS held GROUP BY owner
                """, [.integer(job), .integer(nanoseconds)]).records.map {
                Lease(owner: $0["owner"].text ?? "", expiresNs: $0["expires"].integer ?? 0)
            }
        }
    }

    public func confirmHold(owner: String, outputFolder: String, input: String, attempt: Int64, until: Int64,
                            at nanoseconds: Int64) throws(StoreError) -> Bool {
        try transaction { db throws(SQLFailure) in
            let kept = try db.run("""
                UPDATE file SET lease_expires_ns = $1
                WHERE output_folder = $2 AND input = $3 AND lease_owner = $4 AND attempt_id = $5 AND status = 'running'
                """, [.integer(until), .text(outputFolder), .text(input), .text(owner), .integer(attempt)]).affected == 1
            if !kept {
                try db.run("UPDATE attempt SET status = 'abandoned', finished_ns = $1 WHERE id = $2 AND status = 'running'",
                           [.integer(nanoseconds), .integer(attempt)])
            }
            return kept
        }
    }

    public func renewLeases(owner: String, until: Int64, job: Int64) throws(StoreError) -> JobStatus? {
        try transaction { db throws(SQLFailure) in
            try db.run("UPDATE file SET lease_expires_ns = $1 WHERE lease_owner = $2 AND lease_expires_ns IS NOT NULL",
                       [.integer(until), .text(owner)])
            try db.run("UPDATE job_input SET until_ns = $1 WHERE owner = $2 AND NOT done", [.integer(until), .text(owner)])
            return try db.run("SELECT status FROM job WHERE id = $1", [.integer(job)]).first("status")?.text.flatMap(JobStatus.init)
        }
    }

    public func offerInputs(job: Int64, inputs: [OfferedInput]) throws(StoreError) {
        guard !inputs.isEmpty else { return }
        let done = inputs.filter(\.done).map(\.input)
        // One statement for the whole walk, its inputs as one JSON array; then those found up to
        // date marked done. (Not one upsert: an upsert locks every row it finds there already,
        // and sixteen workers offering the same 2,000 inputs waited on each other's locks.) With
        // none up to date, the insert is the transaction: no BEGIN and COMMIT round trips.
        try transaction(single: done.isEmpty) { db throws(SQLFailure) in
            try db.run("""
                INSERT INTO job_input (job_id, input, size, done)
                SELECT $1, offered->>'input', (offered->>'size')::bigint, (offered->>'done')::boolean
                FROM jsonb_array_elements($2::jsonb) AS offered
                ON CONFLICT DO NOTHING
                """, [.integer(job), .text(StoredJSON.text(inputs))])
            if !done.isEmpty {
                try db.run("""
                    UPDATE job_input SET done = true, owner = NULL
                    WHERE job_id = $1 AND NOT done AND input IN (SELECT jsonb_array_elements_text($2::jsonb))
                    """, [.integer(job), .text(StoredJSON.text(done))])
            }
        }
    }

    public func takeInputs(job: Int64, owner: String, limit: Int, until: Int64, at nanoseconds: Int64, done: [String],
                           freeing: [String], sharing: Bool) throws(StoreError) -> [TakenInput] {
        // One statement, so one round trip where a transaction of two took four. The inputs done
        // are marked in a CTE (run whether read or not) and left out of the pick: the statement's
        // parts see one snapshot, where they are not done yet. Rows another run is taking at this
        // moment are passed over, not waited for. (Picked in a CTE: as an IN (…) test the pick
        // was planned as a subquery run again for every row.) Sharing, the pick is capped in
        // `share` as `fairShare` caps it, counting no more free rows than the cap can use.
        let free = """
            job_id = $1 AND NOT done AND input NOT IN (SELECT jsonb_array_elements_text($7::jsonb))
                AND (owner IS NULL OR until_ns < $4 OR owner = ANY (ARRAY(SELECT jsonb_array_elements_text($6::jsonb))))
            """
        return try transaction(single: true) { db throws(SQLFailure) in
            try db.run("""
                WITH marked AS (
                    UPDATE job_input SET done = true, owner = NULL
                    WHERE job_id = $1 AND input IN (SELECT jsonb_array_elements_text($7::jsonb))),
                others AS (
                    SELECT count(DISTINCT owner) AS n FROM job_input
                    WHERE $8 AND job_id = $1 AND NOT done AND owner IS NOT NULL AND owner <> $2 AND until_ns >= $4),
                share AS (
                    SELECT CASE WHEN $8 THEN greatest(1, least($5, ceil(
                        (SELECT count(*) FROM (SELECT 1 FROM job_input WHERE \(free) LIMIT 2 * (others.n + 1) * $5) AS counted)
                        / (2.0 * (others.n + 1)))))
                        ELSE $5 END AS n FROM others),
                picked AS (
                    SELECT input, owner AS held_by FROM job_input WHERE \(free)
                    ORDER BY size DESC, input LIMIT (SELECT n FROM share)::bigint FOR UPDATE SKIP LOCKED)
                UPDATE job_input SET owner = $2, until_ns = $3 FROM picked
                WHERE job_input.job_id = $1 AND job_input.input = picked.input
                RETURNING job_input.input, picked.held_by IS NOT NULL AS held_before
                """, [.integer(job), .text(owner), .integer(until), .integer(nanoseconds), .integer(Int64(limit)),
                      .text(StoredJSON.text(freeing)), .text(StoredJSON.text(done)), .boolean(sharing)]).records.compactMap { row in
                row["input"].text.map { TakenInput(input: $0, heldBefore: row["held_before"].boolean == true) }
            }
        }
    }

    public func pendingInputs(job: Int64, except owner: String?) throws(StoreError) -> Int {
        try transaction(single: true) { db throws(SQLFailure) in
            Int(try db.run("""
                SELECT count(*) AS n FROM job_input
                WHERE job_id = $1 AND NOT done AND ($2::text IS NULL OR owner IS DISTINCT FROM $2::text)
                """, [.integer(job), owner.map { .text($0) } ?? .null]).first("n")?.integer ?? 0)
        }
    }

    public func returnInputs(job: Int64, owner: String, done: [String]) throws(StoreError) {
        // Told (NOTIFY, at the commit) when the run gave any back, for a run that waits on them.
        try transaction(single: true) { db throws(SQLFailure) in
            try db.run("""
                WITH returned AS (
                    UPDATE job_input SET done = input IN (SELECT jsonb_array_elements_text($3::jsonb)), owner = NULL
                    WHERE job_id = $1 AND owner = $2 AND NOT done RETURNING 1)
                SELECT pg_notify($4, '') FROM (SELECT 1) AS once WHERE EXISTS (SELECT 1 FROM returned)
                """, [.integer(job), .text(owner), .text(StoredJSON.text(done)), .text(returnsChannel(job))])
        }
    }

    // MARK: Files and attempts

    public func inputStates(outputFolder: String) throws(StoreError) -> [String: InputState] {
        // One statement (one snapshot, one round trip): each file's row once per output it has.
        try transaction(single: true) { db throws(SQLFailure) in
            var states: [String: InputState] = [:]
            for row in try db.run("""
                SELECT file.*, output.path AS output_path, output.size AS output_size, output.mtime_ns AS output_mtime_ns,
                       output.width AS output_width, output.height AS output_height, output.format AS output_format,
                       output.content_hash AS output_content_hash
                FROM file LEFT JOIN output ON output.file_id = file.id WHERE file.output_folder = $1
                """, [.text(outputFolder)]).records {
                let input = row["input"].text ?? ""
                if states[input] == nil { states[input] = Self.state(row, outputs: []) }
                if row["output_path"].text != nil { states[input]?.outputs.append(Self.output(row, prefix: "output_")) }
            }
            return states
        }
    }

    public func inputState(outputFolder: String, input: String) throws(StoreError) -> InputState? {
        try transaction(single: true) { db throws(SQLFailure) in
            guard let row = try db.run("SELECT * FROM file WHERE output_folder = $1 AND input = $2",
                                       [.text(outputFolder), .text(input)]).records.first else { return nil }
            return Self.state(row, outputs: try Self.outputs(of: row["id"], db: db))
        }
    }

    public func startAttempt(job: Int64, outputFolder: String, state: InputState, lease: Lease, basedOn: Int64?,
                             takingOver: String?, at nanoseconds: Int64, finishing: [FinishedAttempt]) throws(StoreError) -> AttemptStart {
        try startAttempts(job: job, outputFolder: outputFolder, claims: [AttemptClaim(state: state, basedOn: basedOn, takingOver: takingOver)],
                          lease: lease, at: nanoseconds, finishing: finishing)[0]
    }

    /// A claim costs a round trip to the server beside its statements: a run claims the file it
    /// starts and the next few it will (as SQLite's store does, for its commits).
    public var claimsAhead: Int { 8 }

    public func startAttempts(job: Int64, outputFolder: String, claims: [AttemptClaim], lease: Lease, at nanoseconds: Int64,
                              finishing: [FinishedAttempt]) throws(StoreError) -> [AttemptStart] {
        // The ends go with the first claim: with none, on their own.
        guard !claims.isEmpty else {
            try finishAttempts(finishing, job: job, outputFolder: outputFolder, owner: lease.owner)
            return []
        }
        let requests = claims.enumerated().map { index, claim in
            StartFields(folder: outputFolder, state: FileFields(claim.state), job: job, owner: lease.owner, expires: lease.expiresNs,
                        at: nanoseconds, basedOn: claim.basedOn, takingOver: claim.takingOver,
                        finishing: index == 0 ? finishing.map(EndedFields.init) : [])
        }
        // One statement, its own transaction: the ends, then for each claim in order the lock on
        // its file, the checks and the start.
        let texts = try transaction(single: true) { db throws(SQLFailure) in
            try db.run("""
                SELECT start_attempt(claim)::text AS answer
                FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS claims (claim, n) ORDER BY n
                """, [.text(Self.json(requests))]).records.map { $0["answer"].text }
        }
        guard texts.count == claims.count else {
            throw StoreError("\(location): start_attempt gave \(texts.count) answers for \(claims.count) claims")
        }
        var started: [AttemptStart] = []
        for (claim, text) in zip(claims, texts) { started.append(try answer(text, to: claim.state, outputFolder: outputFolder)) }
        return started
    }

    /// What became of one claim, from `start_attempt`'s answer.
    private func answer(_ text: String?, to state: InputState, outputFolder: String) throws(StoreError) -> AttemptStart {
        guard let text, let answer = try? JSONDecoder().decode(StartAnswer.self, from: Data(text.utf8)) else {
            throw StoreError("\(location): start_attempt gave no answer")
        }
        switch answer.outcome {
        case "cancelled": return .cancelled
        case "held": return .held(Lease(owner: answer.owner ?? "", expiresNs: answer.expires ?? 0))
        case "tookOver": return .tookOver(answer.attempt ?? 0, outputs: answer.outputs ?? [])
        case "started": return .started(answer.attempt ?? 0)
        default:
            // Another run changed the record since the caller read it: the record as it is now.
            guard let now = try inputState(outputFolder: outputFolder, input: state.input) else {
                throw StoreError("\(location): \(state.input) is newer on record, yet not on record")
            }
            return .newer(now)
        }
    }

    /// The outputs recorded for a file (by its row's id).
    private static func outputs(of file: SQLValue, db: PostgresSession) throws(SQLFailure) -> [OutputState] {
        try db.run("SELECT * FROM output WHERE file_id = $1", [file]).records.map { Self.output($0) }
    }

    public func releaseClaims(_ claims: [HeldClaim], outputFolder: String, owner: String, at nanoseconds: Int64) throws(StoreError) {
        guard !claims.isEmpty else { return }
        struct Released: Encodable { var input: String; var attempt: Int64 }
        try transaction(single: true) { db throws(SQLFailure) in
            try db.run("""
                WITH released AS (
                    SELECT c->>'input' AS input, (c->>'attempt')::bigint AS attempt FROM jsonb_array_elements($1::jsonb) AS c
                ), cancelled AS (
                    UPDATE attempt SET status = 'cancelled', finished_ns = $2
                    WHERE id IN (SELECT attempt FROM released) AND status = 'running'
                )
                UPDATE file SET lease_expires_ns = NULL FROM released
                WHERE file.output_folder = $3 AND file.input = released.input AND file.attempt_id = released.attempt
                    AND file.lease_owner = $4
                """, [.text(Self.json(claims.map { Released(input: $0.input, attempt: $0.attempt) })), .integer(nanoseconds),
                      .text(outputFolder), .text(owner)])
        }
    }

    public func finishAttempts(_ finished: [FinishedAttempt], job: Int64, outputFolder: String, owner: String) throws(StoreError) {
        guard !finished.isEmpty else { return }
        try transaction(single: true) { db throws(SQLFailure) in
            try db.run("SELECT finish_attempts($1::jsonb, $2, $3, $4)",
                       [.text(Self.json(finished.map(EndedFields.init))), .integer(job), .text(outputFolder), .text(owner)])
        }
    }

    public func stats(limit: Int?) throws(StoreError) -> JobStats {
        try transaction { db throws(SQLFailure) in
            var stats = JobStats()
            let jobs = try db.run("SELECT id, counts FROM job ORDER BY id DESC LIMIT $1", [limit.map { .integer(Int64($0)) } ?? .null]).records
            stats.jobs = jobs.count
            guard let oldest = jobs.last?["id"].integer else { return stats }
            for row in jobs {
                guard let counts: JobCounts = StoredJSON.value(row["counts"].text) else { continue }
                stats.written += counts.written
                stats.skipped += counts.skipped
                stats.failed += counts.failed
                stats.seconds += counts.seconds
            }
            var megapixels = 0.0
            for row in try db.run("SELECT input_bytes, input_pixels, outputs FROM attempt WHERE job_id >= $1 AND status = 'written'",
                                  [.integer(oldest)]).records {
                stats.bytesIn += Int(row["input_bytes"].integer ?? 0)
                megapixels += Double(row["input_pixels"].integer ?? 0) / 1e6
                let outputs: [OutputState] = StoredJSON.value(row["outputs"].text) ?? []
                stats.bytesOut += outputs.reduce(0) { $0 + ($1.size ?? 0) }
            }
            stats.megapixels = megapixels
            if stats.seconds > 0 {
                stats.filesPerSecond = Double(stats.written) / stats.seconds
                stats.megapixelsPerSecond = megapixels / stats.seconds
            }
            for row in try db.run("""
                SELECT failure_kind, count(*) AS n FROM attempt WHERE job_id >= $1 AND status = 'failed' GROUP BY failure_kind
                """, [.integer(oldest)]).records {
                stats.failuresByKind[row["failure_kind"].text ?? "unknown"] = Int(row["n"].integer ?? 0)
            }
            stats.slowest = try db.run("""
                SELECT attempt.job_id, file.path, attempt.finished_ns - attempt.started_ns AS ns, attempt.input_pixels
                FROM attempt JOIN file ON file.id = attempt.file_id
                WHERE attempt.job_id >= $1 AND attempt.status = 'written' ORDER BY ns DESC NULLS LAST LIMIT 5
                """, [.integer(oldest)]).records.map { row in
                JobStats.Slow(job: row["job_id"].integer ?? 0, input: row["path"].text ?? "",
                              seconds: Double(row["ns"].integer ?? 0) / 1e9, megapixels: row["input_pixels"].integer.map { Double($0) / 1e6 })
            }
            return stats
        }
    }

    public func markRemoved(outputFolder: String, input: String, at nanoseconds: Int64) throws(StoreError) {
        try transaction { db throws(SQLFailure) in
            try db.run("DELETE FROM output WHERE file_id IN (SELECT id FROM file WHERE output_folder = $1 AND input = $2)",
                       [.text(outputFolder), .text(input)])
            try db.run("UPDATE file SET status = 'removed', stamped_ns = $1 WHERE output_folder = $2 AND input = $3",
                       [.integer(nanoseconds), .text(outputFolder), .text(input)])
        }
    }

    public func restamp(outputFolder: String, stamps: [String: FileStamp], at nanoseconds: Int64) throws(StoreError) {
        guard !stamps.isEmpty else { return }
        try transaction { db throws(SQLFailure) in
            for (input, stamp) in stamps {
                try db.run("""
                    UPDATE file SET size = $1, mtime_ns = $2, inode = $3, device = $4, stamped_ns = $5
                    WHERE output_folder = $6 AND input = $7
                    """, [.integer(Int64(stamp.size)), .integer(stamp.modifiedNs), .integer(Int64(bitPattern: stamp.inode)),
                          .integer(Int64(bitPattern: stamp.device)), .integer(nanoseconds), .text(outputFolder), .text(input)])
            }
        }
    }

    public func attempts(job: Int64) throws(StoreError) -> [AttemptRecord] {
        try transaction(single: true) { db throws(SQLFailure) in
            try db.run("""
                SELECT attempt.*, file.input, file.path FROM attempt JOIN file ON file.id = attempt.file_id
                WHERE attempt.job_id = $1 ORDER BY attempt.id
                """, [.integer(job)]).records.map { row in
                AttemptRecord(id: row["id"].integer ?? 0, job: row["job_id"].integer ?? 0, input: row["input"].text ?? "",
                              path: row["path"].text ?? "", status: row["status"].text ?? "", startedNs: row["started_ns"].integer ?? 0,
                              finishedNs: row["finished_ns"].integer, failureKind: row["failure_kind"].text, failure: row["failure"].text,
                              stageMilliseconds: StoredJSON.value(row["stage_ms"].text), outputs: StoredJSON.value(row["outputs"].text) ?? [],
                              owner: row["owner"].text)
            }
        }
    }

    private static func state(_ row: SQLRecord, outputs: [OutputState]) -> InputState {
        var stamp: FileStamp?
        if let size = row["size"].integer, let modified = row["mtime_ns"].integer, let inode = row["inode"].integer,
           let device = row["device"].integer {
            stamp = FileStamp(size: Int(size), modifiedNs: modified, inode: UInt64(bitPattern: inode), device: UInt64(bitPattern: device))
        }
        return InputState(input: row["input"].text ?? "", path: row["path"].text ?? "", stamp: stamp, contentHash: row["content_hash"].text,
                          fingerprint: row["fingerprint"].text ?? "", status: row["status"].text ?? "",
                          attempts: Int(row["attempts"].integer ?? 0), failureKind: row["failure_kind"].text, failure: row["failure"].text,
                          stampedNs: row["stamped_ns"].integer ?? 0, outputs: outputs, attempt: row["attempt_id"].integer)
    }

    /// An output's row (`prefix`: its columns' names prefixed, beside its file's in a join).
    private static func output(_ row: SQLRecord, prefix: String = "") -> OutputState {
        OutputState(path: row[prefix + "path"].text ?? "", size: row[prefix + "size"].integer.map { Int($0) },
                    modifiedNs: row[prefix + "mtime_ns"].integer, width: Int(row[prefix + "width"].integer ?? 0),
                    height: Int(row[prefix + "height"].integer ?? 0), format: row[prefix + "format"].text ?? "",
                    contentHash: row[prefix + "content_hash"].text)
    }

    private static func value(_ integer: Int64?) -> SQLValue { integer.map { .integer($0) } ?? .null }
    private static func value(_ integer: Int?) -> SQLValue { integer.map { .integer(Int64($0)) } ?? .null }
    private static func value(_ text: String?) -> SQLValue { text.map { .text($0) } ?? .null }

    // MARK: Plumbing

    /// Runs `body` in one transaction on the connection (made again when it was lost, with
    /// backoff, for up to `reconnectFor` seconds; `body` then runs again from its start). A
    /// transaction PostgreSQL gave up for a deadlock or a serialisation conflict runs again too.
    /// `single`: `body` runs one statement, which is a transaction of its own (no BEGIN and COMMIT
    /// round trips around it).
    @discardableResult
    private func transaction<T>(single: Bool = false, _ body: (PostgresSession) throws(SQLFailure) -> T) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        let deadline = Self.now() + Int64(reconnectFor * 1e9)
        var delay = 0.05
        while true {
            do throws(SQLFailure) {
                let db = try connected()
                if single { return try body(db) }
                try db.run("BEGIN")
                do throws(SQLFailure) {
                    let value = try body(db)
                    try db.run("COMMIT")
                    return value
                } catch {
                    if !error.connectionLost { _ = try? db.run("ROLLBACK") }
                    throw error
                }
            } catch {
                if error.connectionLost {
                    session = nil
                    guard Self.now() < deadline else { throw StoreError("\(location): the database is unreachable: \(error)") }
                    usleep(UInt32(Double.random(in: 0.5...1.0) * delay * 1e6))
                    delay = min(delay * 2, 5)
                } else if ["40001", "40P01"].contains(error.code) {
                    continue
                } else {
                    throw StoreError("\(location): \(error)")
                }
            }
        }
    }

    /// The channel of `event` in `schema`: `<schema>_<event>`, or, past the 63 bytes PostgreSQL
    /// keeps of a name (LISTEN cuts a longer one, pg_notify refuses it), its first 46 bytes and a
    /// hash of the whole, the same in every process.
    static func channel(_ schema: String, _ event: String) -> String {
        let name = schema + "_" + event
        guard name.utf8.count > 63 else { return name }
        let hash = name.utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        return String(name.prefix(46)) + "_" + String(hash, radix: 16)
    }

    /// The connection, made again (with the schema as the search path) after one was lost.
    private func connected() throws(SQLFailure) -> PostgresSession {
        if let session { return session }
        let made = try PostgresSession(driver: driver, address: address)
        try Self.prepare(made, schema: schema)
        session = made
        return made
    }

    /// A new connection's settings: the store's schema; a transaction left idle (its process
    /// stopped or hung mid-call, holding the locks of a file) ended by the server after 5 s so
    /// that it blocks nobody (its process, if it wakes, finds the connection gone and runs the
    /// call again); and commits that do not wait for the server's disk — the SQLite store's
    /// durability (a crash of the server may lose its last transactions, never their
    /// consistency, and an output whose record was lost is protected, never overwritten blindly)
    /// at a fraction of the cost: waiting for the flush was 6 ms of every file.
    /// (One statement: each is a round trip.)
    private static func prepare(_ session: PostgresSession, schema: String) throws(SQLFailure) {
        try session.run("""
            SELECT set_config('search_path', $1, false), set_config('idle_in_transaction_session_timeout', '5000', false),
                   set_config('synchronous_commit', 'off', false)
            """, [.text(schema)])
    }
}
