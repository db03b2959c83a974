// JobsCommand: `fastresize jobs`, `jobs show ID`, `jobs stats`, `jobs resume` — the history a job store keeps, for people and (--json) for scripts.

import ArgumentParser
import FastResize
import FastResizeCodecs
import FastResizeConfig
import FastResizeJobs
import FastResizePostgres
import Foundation

/// Where the store is and how to show it: shared by every `jobs` command.
struct StoreOptions: ParsableArguments {
    @OptionGroup var location: StoreLocation

    @Flag(help: "JSON for scripts instead of text.")
    var json = false

    func open() throws(UsageError) -> any JobStore {
        try location.open()
    }

    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self) + "\n"
    }
}

/// Which job store a command works on (`jobs`, `worker`): never created by it.
struct StoreLocation: ParsableArguments {
    @Option(help: ArgumentHelp("The job store: a file or a postgres:// address (default: OUTPUT/.fastresize/state.db of -o, FASTRESIZE_STATE, or the config's state/output).", valueName: "file|url"))
    var state: String?

    @Option(name: [.short, .long], help: ArgumentHelp("The output folder whose job store to use.", valueName: "dir"))
    var output: String?

    /// `store` as a child process in another folder must be told it: a file from the root, a
    /// database by its whole address.
    static func forChild(_ store: any JobStore) -> String {
        if let database = store as? PostgresJobStore { return database.address }
        let path = store.location
        return path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// The store, found as a run would find it (command line, environment, config file); never created.
    func open() throws(UsageError) -> any JobStore {
        var given: [String: SettingValue] = [:]
        if let state { given[SettingKey.state.name] = .text(state) }
        if let output { given[SettingKey.output.name] = .text(output) }
        let resolved = try SettingsResolver.resolve(SettingsResolver.Sources(commandLine: given, outputFormats: Codecs.all.outputFormats),
                                                    requireSize: false, applyingProfile: false)
        let opened: (any JobStore)?
        do throws(StoreError) {
            opened = resolved.outputFolder != nil || resolved.state != .underOutput
                ? try RunStore.open(resolved.state, outputFolder: resolved.outputFolder ?? "", create: false) : nil
        } catch {
            throw UsageError(error.description)
        }
        guard let opened else { throw UsageError("expected --state FILE or -o DIR: which job store to read") }
        return opened
    }
}

/// `fastresize jobs`: one line per job, newest first.
struct JobsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fastresize jobs",
        abstract: "List the jobs a job store remembers, newest first.",
        discussion: "fastresize jobs show ID gives one job's files, attempts and errors."
    )

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("Show at most N jobs (default 20; 0 for all).", valueName: "N"))
    var limit = 20

    func report() throws(UsageError) -> String {
        let opened = try store.open()
        let jobs: [JobRecord]
        do throws(StoreError) {
            jobs = try opened.jobs(limit: limit > 0 ? limit : nil).map(JobsFormat.alive)
        } catch {
            throw UsageError(error.description)
        }
        if store.json { return StoreOptions.json(jobs) }
        guard !jobs.isEmpty else { return "no jobs in \(opened.location)\n" }
        var lines = ["ID  STARTED              STATUS       WRITTEN SKIPPED FAILED  TIME     OUTPUTS           INPUTS -> OUTPUT"]
        for job in jobs {
            let counts = job.counts
            let cells = [
                String(job.id).padding(4),
                JobsFormat.time(job.startedNs ?? job.createdNs).padding(21),
                job.status.rawValue.padding(13),
                (counts.map { String($0.written) } ?? "-").padding(8),
                (counts.map { String($0.skipped) } ?? "-").padding(8),
                (counts.map { String($0.failed) } ?? "-").padding(8),
                (counts.map { JobsFormat.seconds($0.seconds) } ?? "-").padding(9),
                JobsFormat.outputs(job.settings).padding(18),
                job.inputs.joined(separator: " ") + " -> " + job.outputFolder,
            ]
            lines.append(cells.joined())
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `fastresize jobs show ID`: a job and every attempt it made.
struct JobsShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fastresize jobs show",
        abstract: "Show one job: its command, settings, counts, and every file it worked on with its attempts and errors."
    )

    @Argument(help: "The job's id (from fastresize jobs).")
    var id: Int64

    @OptionGroup var store: StoreOptions

    struct Shown: Encodable {
        var job: JobRecord
        /// Each run's share, when the job was shared (submitted for workers, or runs at once).
        var workers: [WorkerShare]
        var attempts: [AttemptRecord]
    }

    /// One run's share of a job: what it made, what it has in hand, how fast, whether it holds
    /// files now.
    struct WorkerShare: Encodable, Equatable {
        /// "host:pid" (with the run's token when one process ran the job twice).
        var worker: String
        var written = 0, failed = 0, abandoned = 0, inHand = 0
        var filesPerSecond: Double?
        /// Its leases are current: it is making files now.
        var active = false

        /// The shares of `attempts`' runs, in the order they first started a file.
        static func of(_ attempts: [AttemptRecord], holders: [Lease]) -> [WorkerShare] {
            var order: [String] = []
            var byOwner: [String: [AttemptRecord]] = [:]
            for attempt in attempts {
                guard let owner = attempt.owner else { continue }
                if byOwner[owner] == nil { order.append(owner) }
                byOwner[owner, default: []].append(attempt)
            }
            let processes = order.map { Lease(owner: $0, expiresNs: 0).process.map { "\($0.host):\($0.pid)" } ?? $0 }
            let runsOf = Dictionary(processes.map { ($0, 1) }, uniquingKeysWith: +)
            return zip(order, processes).map { owner, process in
                let mine = byOwner[owner] ?? []
                var share = WorkerShare(worker: runsOf[process, default: 0] > 1 ? owner : process)
                share.written = mine.count { $0.status == FileReport.Status.written.rawValue }
                share.failed = mine.count { $0.status == FileReport.Status.failed.rawValue }
                share.abandoned = mine.count { $0.status == "abandoned" }
                share.inHand = mine.count { $0.status == "running" }
                if let first = mine.map(\.startedNs).min(), let last = mine.compactMap(\.finishedNs).max(), last > first {
                    share.filesPerSecond = Double(share.written) / (Double(last - first) / 1e9)
                }
                share.active = holders.contains { $0.owner == owner }
                return share
            }
        }
    }

    func report() throws(UsageError) -> String {
        let opened = try store.open()
        let shown: Shown
        do throws(StoreError) {
            guard let job = try opened.job(id) else { throw StoreError("no job \(id) in \(opened.location)") }
            let attempts = try opened.attempts(job: id)
            var workers = WorkerShare.of(attempts, holders: try opened.holders(job: id, at: StoreRecorder.now))
            if workers.count < 2 && !job.submitted { workers = [] }
            shown = Shown(job: JobsFormat.alive(job), workers: workers, attempts: attempts)
        } catch {
            throw UsageError(error.description)
        }
        if store.json { return StoreOptions.json(shown) }
        let job = shown.job
        var lines = [
            "job \(job.id): \(job.status.rawValue)",
            "  command   fastresize \(job.command.joined(separator: " "))",
            "  outputs   \(JobsFormat.outputs(job.settings)) (settings \(job.fingerprint))",
            "  inputs    \(job.inputs.joined(separator: " ")) -> \(job.outputFolder)",
            "  started   \(JobsFormat.time(job.startedNs ?? job.createdNs)) on \(job.host), pid \(job.pid)",
        ]
        if let finished = job.finishedNs { lines.append("  ended     \(JobsFormat.time(finished))") }
        if let counts = job.counts {
            lines.append("  files     \(counts.total): \(counts.written) written, \(counts.skipped) skipped, \(counts.failed) failed, "
                         + "\(counts.notImages) not images, \(counts.cancelled) not started, in \(JobsFormat.seconds(counts.seconds))")
        }
        if !shown.workers.isEmpty { lines.append("  workers") }
        for share in shown.workers {
            var line = "    \(share.worker.padding(24)) \(share.written) written, \(share.failed) failed"
            if share.abandoned > 0 { line += ", \(share.abandoned) abandoned" }
            if share.inHand > 0 { line += ", \(share.inHand) in hand" }
            if let rate = share.filesPerSecond { line += String(format: ", %.1f files/s", rate) }
            lines.append(line + (share.active ? ", making files now" : ""))
        }
        lines.append(shown.attempts.isEmpty ? "  no file was made (all up to date, or none found)" : "  attempts")
        for attempt in shown.attempts {
            let took = attempt.finishedNs.map { " in " + JobsFormat.seconds(Double($0 - attempt.startedNs) / 1e9) } ?? ""
            var line = "    \(attempt.status.padding(9)) \(attempt.path)\(took)"
            if let failure = attempt.failure { line += ": \(failure) (\(attempt.failureKind ?? "?"))" }
            lines.append(FileSystemPath.shown(line, controls: true))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

enum JobsFormat {
    /// A job recorded as running whose process is gone (killed, or the machine rebooted) is shown
    /// as interrupted: only a live process can be running it.
    static func alive(_ job: JobRecord) -> JobRecord {
        guard job.status == .running, job.host == StoreRecorder.hostName, !ProcessLiveness.isAlive(job.pid) else { return job }
        var shown = job
        shown.status = .interrupted
        return shown
    }

    static func time(_ nanoseconds: Int64) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    static func seconds(_ value: Double) -> String {
        value >= 60 ? "\(Int(value) / 60)m\(String(format: "%02d", Int(value) % 60))s" : String(format: "%.1fs", value)
    }

    /// The outputs' sizes and formats, from the job's settings: "fit 800x800 jpeg", "3 outputs".
    static func outputs(_ settings: String) -> String {
        guard let decoded = try? JSONDecoder().decode(RunStore.OutputSettings.self, from: Data(settings.utf8)) else { return "?" }
        guard decoded.outputs.count == 1, let output = decoded.outputs.first else { return "\(decoded.outputs.count) outputs" }
        let format: String
        switch output.format {
        case .same: format = "same"
        case .fixed(let fixed): format = fixed.rawValue
        }
        return "\(mode(output.mode)) \(format)"
    }

    static func mode(_ mode: ResizeMode) -> String {
        switch mode {
        case .scale(let factor): "scale \(factor)"
        case .width(let width): "width \(width)"
        case .height(let height): "height \(height)"
        case .fit(let width, let height): "fit \(width)x\(height)"
        case .fill(let width, let height, let gravity): "fill \(width)x\(height)" + (gravity == .center ? "" : " \(gravity.rawValue)")
        }
    }
}

private extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

/// `fastresize jobs resume [ID]`: runs an interrupted job's command again, in the folder it was
/// given in — the store then makes only what that job did not finish.
struct JobsResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fastresize jobs resume",
        abstract: "Run an interrupted job's command again (default: the newest job, if it was interrupted); only what it did not finish is made.",
        discussion: "The command runs as it was typed, in the folder it was typed in; FASTRESIZE_* variables are today's."
    )

    @Argument(help: "The job's id (from fastresize jobs).")
    var id: Int64?

    @OptionGroup var store: StoreOptions

    /// The job to resume, checked: it must be interrupted (its process gone), not finished or running.
    func job() throws(UsageError) -> JobRecord {
        let opened = try store.open()
        do throws(StoreError) {
            if let id {
                guard let job = try opened.job(id).map(JobsFormat.alive) else { throw StoreError("no job \(id) in \(opened.location)") }
                guard job.status == .interrupted else {
                    throw StoreError("job \(id) is \(job.status.rawValue), not interrupted: nothing to resume")
                }
                return job
            }
            // The newest job, when it is the one interrupted (an older one is resumed by its id:
            // once resumed, the newest job is the run that finished it).
            guard let job = try opened.jobs(limit: 1).map(JobsFormat.alive).first else {
                throw StoreError("no job in \(opened.location)")
            }
            guard job.status == .interrupted else {
                throw StoreError("no interrupted job to resume: the newest, \(job.id), is \(job.status.rawValue) (give an id to resume an older one)")
            }
            return job
        } catch {
            throw UsageError(error.description)
        }
    }

    /// Becomes the job's command (exec: the same program, its arguments, its folder); returns only on failure.
    func resume() throws(UsageError) -> Never {
        let job = try job()
        Console.writeError("resuming job \(job.id): fastresize \(job.command.joined(separator: " ")) (in \(job.workingDirectory))\n")
        try Self.exec(job, extra: [])
    }

    /// Becomes `job`'s command, `extra` options first, in the folder it was given in; returns only on failure.
    static func exec(_ job: JobRecord, extra: [String]) throws(UsageError) -> Never {
        guard FileSystemPath.withCString(job.workingDirectory, { chdir($0) }) == 0 else {
            throw UsageError("cannot enter \(job.workingDirectory), where job \(job.id) ran: \(String(cString: strerror(errno)))")
        }
        let program = FastResizeCommand.executablePath
        let arguments = [program] + extra + job.command
        // Each argument as the bytes it was given as (a file name need not be UTF-8).
        var pointers = arguments.map { argument in FileSystemPath.withCString(argument) { strdup($0) } } + [nil]
        execv(program, &pointers)
        throw UsageError("cannot run \(program): \(String(cString: strerror(errno)))")
    }
}

/// `fastresize jobs stats`: the figures over past jobs.
struct JobsStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fastresize jobs stats",
        abstract: "Figures over past jobs: files and megapixels per second, bytes in and out, failures by kind, the slowest files."
    )

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("Over the newest N jobs (default: all).", valueName: "N"))
    var last: Int?

    func report() throws(UsageError) -> String {
        let opened = try store.open()
        let stats: JobStats
        do throws(StoreError) {
            stats = try opened.stats(limit: last)
        } catch {
            throw UsageError(error.description)
        }
        if store.json { return StoreOptions.json(stats) }
        func megabytes(_ bytes: Int) -> String {
            bytes < 1_000_000 ? String(format: "%.1f kB", Double(bytes) / 1e3) : String(format: "%.1f MB", Double(bytes) / 1e6)
        }
        var lines = [
            "\(stats.jobs) job\(stats.jobs == 1 ? "" : "s"): \(stats.written) written, \(stats.skipped) skipped, \(stats.failed) failed "
                + "in \(JobsFormat.seconds(stats.seconds))",
            String(format: "  speed     %.1f files/s, %.1f megapixels/s (%.1f megapixels read)", stats.filesPerSecond,
                   stats.megapixelsPerSecond, stats.megapixels),
            "  bytes     \(megabytes(stats.bytesIn)) read, \(megabytes(stats.bytesOut)) written"
                + (stats.bytesIn > 0 ? String(format: " (%.1f%%)", 100 * Double(stats.bytesOut) / Double(stats.bytesIn)) : ""),
        ]
        if !stats.failuresByKind.isEmpty {
            lines.append("  failures  " + stats.failuresByKind.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        }
        if !stats.slowest.isEmpty { lines.append("  slowest") }
        for slow in stats.slowest {
            let size = slow.megapixels.map { String(format: ", %.1f megapixels", $0) } ?? ""
            let took = slow.seconds < 10 ? String(format: "%6.0f ms", slow.seconds * 1000) : JobsFormat.seconds(slow.seconds)
            lines.append(FileSystemPath.shown("    \(took)  \(slow.input) (job \(slow.job)\(size))", controls: true))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
