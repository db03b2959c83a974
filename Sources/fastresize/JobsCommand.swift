// JobsCommand: `fastresize jobs` and `fastresize jobs show ID` — the history a job store keeps, for people and (--json) for scripts.

import ArgumentParser
import FastResize
import FastResizeCodecs
import FastResizeConfig
import FastResizeJobs
import FastResizeSQLite
import Foundation

/// Where the store is and how to show it: shared by every `jobs` command.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The job store (default: OUTPUT/.fastresize/state.db of -o, FASTRESIZE_STATE, or the config's state/output).", valueName: "file"))
    var state: String?

    @Option(name: [.short, .long], help: ArgumentHelp("The output folder whose job store to read.", valueName: "dir"))
    var output: String?

    @Flag(help: "JSON for scripts instead of text.")
    var json = false

    /// The store, found as a run would find it (command line, environment, config file); never created.
    func open() throws(UsageError) -> SQLiteJobStore {
        var given: [String: SettingValue] = [:]
        if let state { given[SettingKey.state.name] = .text(state) }
        if let output { given[SettingKey.output.name] = .text(output) }
        let resolved = try SettingsResolver.resolve(SettingsResolver.Sources(commandLine: given, outputFormats: Codecs.all.outputFormats),
                                                    requireSize: false, applyingProfile: false)
        guard let path = resolved.state.path(outputFolder: resolved.outputFolder ?? "") , resolved.outputFolder != nil || state != nil else {
            throw UsageError("expected --state FILE or -o DIR: which job store to read")
        }
        do throws(StoreError) {
            return try SQLiteJobStore(path: path, create: false)
        } catch {
            throw UsageError(error.description)
        }
    }

    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self) + "\n"
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
        var attempts: [AttemptRecord]
    }

    func report() throws(UsageError) -> String {
        let opened = try store.open()
        let shown: Shown
        do throws(StoreError) {
            guard let job = try opened.job(id) else { throw StoreError("no job \(id) in \(opened.location)") }
            shown = Shown(job: JobsFormat.alive(job), attempts: try opened.attempts(job: id))
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
        guard job.status == .running, job.host == RunStore.hostName, kill(job.pid, 0) != 0, errno == ESRCH else { return job }
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
