// RunStore: opens a run's job store (--state) and records the run as a job — before any file is touched, so a store that cannot be written stops the run with its reason.

import FastResize
import FastResizeConfig
import FastResizeJobs
import FastResizePostgres
import FastResizeSQLite
import Foundation

enum RunStore {
    /// The settings that decide what an output's bytes are, as one value: their fingerprint keys
    /// incremental runs (same fingerprint, same outputs from the same input).
    struct OutputSettings: Codable {
        var outputs: [ResizeSettings]
        var failOn: FailOn
    }

    /// How a run takes part in the job store beyond recording itself.
    struct Role {
        /// Runs a job already in the store (a worker's run of a submitted job) instead of recording
        /// a new one.
        var job: Int64?
        /// Makes only the files that failed in this earlier job (`jobs retry`).
        var retrying: Int64?
        /// Takes files as they arrive, for as long as it runs (a watch): the store is asked one
        /// input at a time, and none of the folder's records is held.
        var openEnded = false
    }

    /// Whether this run makes a new store: an ordinary run (not a dry run, not a queued job's or
    /// a retry's) whose store does not exist yet. Such a store has nothing to recall, so the run
    /// may plan while it is made.
    static func isNew(for resolved: ResolvedSettings, role: Role) -> Bool {
        guard !resolved.dryRun, role.job == nil, role.retrying == nil, !role.openEnded else { return false }
        return !exists(resolved.state, outputFolder: resolved.options.outputDirectory)
    }

    /// Opens the store `state` names for outputs in `outputFolder`: a PostgreSQL database, or an
    /// SQLite file (made when missing, with `create`); nil with --no-state.
    static func open(_ state: StateLocation, outputFolder: String, create: Bool = true, durable: Bool = true) throws(StoreError) -> (any JobStore)? {
        switch state {
        case .none: return nil
        case .postgres(let address):
            return try PostgresJobStore(address: address, driverPaths: FastResizeCommand.libraryPaths(PostgresJobStore.driverLibrary))
        case .file, .underOutput:
            guard let path = state.path(outputFolder: outputFolder) else { return nil }
            return try SQLiteJobStore(path: path, create: create, durable: durable)
        }
    }

    /// Whether the store `state` names is there (a database always is: it is made on first use).
    static func exists(_ state: StateLocation, outputFolder: String) -> Bool {
        if case .postgres = state { return true }
        return state.path(outputFolder: outputFolder).map(FileSystem.exists) ?? false
    }

    /// A store being opened (and the run recorded in it) on a thread of its own.
    final class Opening: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var outcome: Result<StoreRecorder?, StoreError>?

        init(_ open: @escaping @Sendable () throws(StoreError) -> StoreRecorder?) {
            DetachedThread.start(name: "fastresize.store") { [self] in
                do throws(StoreError) {
                    outcome = .success(try open())
                } catch {
                    outcome = .failure(error)
                }
                done.signal()
            }
        }

        /// Waits for the store: its recorder, or why it could not be opened.
        func result() throws(StoreError) -> StoreRecorder? {
            done.wait()
            done.signal()
            return try outcome!.get()
        }
    }

    /// The recorder for this run, or nil without a store (--no-state). A dry run reads an existing
    /// store and records nothing.
    static func recorder(for resolved: ResolvedSettings, command: [String], role: Role = Role()) throws(StoreError) -> StoreRecorder? {
        let options = resolved.options
        if case .none = resolved.state {
            if role.job != nil || role.retrying != nil { throw StoreError("a queued or retried job needs its store: not with --no-state") }
            return nil
        }
        let (settings, fingerprint) = fingerprinted(options)
        let folder = FileSystem.realPath(options.outputDirectory) ?? options.outputDirectory
        if resolved.dryRun {
            guard exists(resolved.state, outputFolder: options.outputDirectory),
                  let store = try open(resolved.state, outputFolder: options.outputDirectory, create: false) else { return nil }
            let recorder = StoreRecorder(store: store, job: nil, outputFolder: folder, fingerprint: fingerprint, force: resolved.force)
            try recorder.load()
            return recorder
        }
        guard let store = try open(resolved.state, outputFolder: options.outputDirectory, durable: options.fsync) else { return nil }
        // Left open at exit (`finish`), as a crash would leave it, which SQLite is made for: the
        // next run folds the write-ahead log in. Closing would checkpoint now — two flushes and
        // every page copied, a tenth of the store's cost on a 40-photo run.
        Self.keptOpen = store
        // Read before the job is recorded: a damaged store stops the run and records nothing.
        // (An open-ended run reads one record only: the folder's may be 100,000.)
        let known = role.openEnded ? nil : try store.inputStates(outputFolder: folder)
        if role.openEnded { _ = try store.inputState(outputFolder: folder, input: "") }
        let id: Int64
        if let attached = role.job {
            guard let job = try store.attachJob(attached, host: StoreRecorder.hostName, pid: getpid(), at: StoreRecorder.now) else {
                throw StoreError("\(store.location): no job \(attached)")
            }
            // Another worker may have finished it, or someone cancelled it, since it was picked.
            guard job.status == .running else {
                throw StoreError("job \(attached) is \(job.status.rawValue): nothing to do", nothingToDo: true)
            }
            id = attached
        } else {
            var job = record(resolved, command: command, settings: settings, fingerprint: fingerprint, status: .running)
            job.startedNs = job.createdNs
            id = try store.createJob(job)
        }
        return StoreRecorder(store: store, job: id, outputFolder: folder, fingerprint: fingerprint, force: resolved.force,
                             known: known, shared: role.job != nil, leaseSeconds: resolved.leaseSeconds, openEnded: role.openEnded)
    }

    /// A job as the store records it: the command as typed and where, the settings that decide
    /// the outputs, and this process.
    static func record(_ resolved: ResolvedSettings, command: [String], settings: OutputSettings, fingerprint: String,
                       status: JobStatus) -> JobRecord {
        let options = resolved.options
        return JobRecord(status: status, createdNs: StoreRecorder.now, command: command,
                         workingDirectory: FileManager.default.currentDirectoryPath, settings: StoredJSON.text(settings),
                         fingerprint: fingerprint, inputs: options.inputs,
                         outputFolder: FileSystem.realPath(options.outputDirectory) ?? options.outputDirectory,
                         host: StoreRecorder.hostName, pid: getpid())
    }

    static func fingerprinted(_ options: BatchOptions) -> (OutputSettings, String) {
        let settings = OutputSettings(outputs: options.outputs, failOn: options.failOn)
        return (settings, Fingerprint.of(settings))
    }

    /// The inputs (by their path below their input folder) whose last attempt in `job` failed.
    static func failedInputs(of job: Int64, resolved: ResolvedSettings) throws(StoreError) -> Set<String> {
        guard let store = try open(resolved.state, outputFolder: resolved.options.outputDirectory, create: false) else {
            throw StoreError("a retried job needs its store: not with --no-state")
        }
        guard try store.job(job) != nil else { throw StoreError("\(store.location): no job \(job)") }
        return failed(try store.attempts(job: job))
    }

    /// The inputs whose last attempt among `attempts` failed.
    static func failed(_ attempts: [AttemptRecord]) -> Set<String> {
        var last: [String: String] = [:]
        for attempt in attempts { last[attempt.input] = attempt.status }
        return Set(last.filter { $0.value == FileReport.Status.failed.rawValue }.keys)
    }

    nonisolated(unsafe) private static var keptOpen: (any JobStore)?

    /// After the run: a run that recorded many files closes its store as it ends (the checkpoint
    /// is little beside its work, and the next run then starts from a folded, small log: a
    /// 10,000-file re-run otherwise replays 4 MB of log and peaks 6 MiB higher); a small run
    /// leaves it open.
    static func finish(_ summary: BatchSummary) {
        if summary.written + summary.failed >= 256 { keptOpen = nil }
    }
}
