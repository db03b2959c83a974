// RunStore: opens a run's job store (--state) and records the run as a job — before any file is touched, so a store that cannot be written stops the run with its reason.

import FastResize
import FastResizeConfig
import FastResizeJobs
import FastResizeSQLite
import Foundation

enum RunStore {
    /// The settings that decide what an output's bytes are, as one value: their fingerprint keys
    /// incremental runs (same fingerprint, same outputs from the same input).
    struct OutputSettings: Codable {
        var outputs: [ResizeSettings]
        var failOn: FailOn
    }

    /// The recorder for this run, or nil without a store (--no-state). A dry run reads an existing
    /// store and records nothing.
    static func recorder(for resolved: ResolvedSettings, command: [String]) throws(StoreError) -> StoreRecorder? {
        let options = resolved.options
        guard let path = resolved.state.path(outputFolder: options.outputDirectory) else { return nil }
        let settings = OutputSettings(outputs: options.outputs, failOn: options.failOn)
        let fingerprint = Fingerprint.of(settings)
        let folder = FileSystem.realPath(options.outputDirectory) ?? options.outputDirectory
        if resolved.dryRun {
            guard FileSystem.exists(path) else { return nil }
            let store = try SQLiteJobStore(path: path, create: false)
            let recorder = StoreRecorder(store: store, job: nil, outputFolder: folder, fingerprint: fingerprint, force: resolved.force)
            try recorder.load()
            return recorder
        }
        let store = try SQLiteJobStore(path: path, durable: options.fsync)
        // Left open at exit (`finish`), as a crash would leave it, which SQLite is made for: the
        // next run folds the write-ahead log in. Closing would checkpoint now — two flushes and
        // every page copied, a tenth of the store's cost on a 40-photo run.
        Self.keptOpen = store
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let now = StoreRecorder.now
        var job = JobRecord(status: .running, createdNs: now, command: command,
                            workingDirectory: FileManager.default.currentDirectoryPath,
                            settings: String(decoding: (try? encoder.encode(settings)) ?? Data(), as: UTF8.self),
                            fingerprint: fingerprint, inputs: options.inputs, outputFolder: folder, host: hostName,
                            pid: getpid())
        job.startedNs = now
        // Read before the job is recorded: a damaged store stops the run and records nothing.
        let known = try store.inputStates(outputFolder: folder)
        let id = try store.createJob(job)
        return StoreRecorder(store: store, job: id, outputFolder: folder, fingerprint: fingerprint, force: resolved.force,
                             known: known)
    }

    nonisolated(unsafe) private static var keptOpen: SQLiteJobStore?

    /// After the run: a run that recorded many files closes its store as it ends (the checkpoint
    /// is little beside its work, and the next run then starts from a folded, small log: a
    /// 10,000-file re-run otherwise replays 4 MB of log and peaks 6 MiB higher); a small run
    /// leaves it open.
    static func finish(_ summary: BatchSummary) {
        if summary.written + summary.failed >= 256 { keptOpen = nil }
    }

    static var hostName: String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        return String(cString: name)
    }
}
