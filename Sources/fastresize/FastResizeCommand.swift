// FastResizeCommand: the command line — options, validation, and turning them into a batch.

import ArgumentParser
import CCodecShims
import FastResize
import FastResizeCodecs
import FastResizeConfig
import FastResizeJobs
import FastResizeSandbox
import Foundation

struct FastResizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fastresize",
        abstract: "Resize a tree of images, in parallel, with real filters.",
        discussion: """
        Give exactly one of --scale, --width, --height, --fit or --fill, or a config profile \
        (--profile) whose outputs each have a size. Folders are walked recursively and the output \
        mirrors each file's path below its input folder.
        Every option has a --no- form: a flag's turns it off, a value's (--no-profile, \
        --no-report, --no-quality, …) drops what the environment or a config file gives it.
        Every option can also be set by an environment variable (FASTRESIZE_ and the option's \
        name in capitals, dashes as underscores: FASTRESIZE_JOBS=4) or in a config file \
        (--config FILE, else ./fastresize.toml or ./fastresize.yaml, else \
        $XDG_CONFIG_HOME/fastresize/config.toml); the command line wins over the environment, \
        which wins over the file. `fastresize config check [FILE]` shows where each setting \
        comes from; `fastresize profiles` lists the config's profiles.
        Other commands: `fastresize watch FOLDER... -o OUT` (keep OUT up to date as files \
        arrive), `fastresize jobs` (history, resume, retry, cancel), `fastresize submit` and \
        `fastresize worker` (a queue of runs); each has --help.
        Exit codes: 0 every file written or skipped, 1 one or more files failed, 2 usage or \
        config error, 130/143 stopped by SIGINT/SIGTERM.
        """,
        version: version
    )

    static let version = "0.1.0"

    /// `fastresize --version`: the version, the commit a release was built from, the resize
    /// kernels this processor runs, and the codec libraries this process runs with.
    static var versionText: String {
        let commit = fr_build_commit().map { String(cString: $0) } ?? "unknown: not built by scripts/release.sh"
        let libraries = LibraryVersions.codecs().map { "  \($0.library) \($0.version)" }
        return (["fastresize \(version) (commit \(commit))", "resize kernels: \(ResizeBackend.best.rawValue)", "codec libraries:"]
            + libraries).joined(separator: "\n")
    }

    @Argument(help: ArgumentHelp("Image files and folders to resize.", valueName: "input"))
    var inputs: [String] = []

    @OptionGroup var settings: SettingOptions

    /// Set by a worker for the job it runs (`fastresize worker`): this run is that job's.
    @Option(name: .customLong("job-id"), help: ArgumentHelp(visibility: .private))
    var jobID: Int64?

    /// Set by `fastresize jobs retry ID`: only the files that failed in job ID are made.
    @Option(name: .customLong("retry-of"), help: ArgumentHelp(visibility: .private))
    var retryOf: Int64?

    /// Resolves every setting (command line > environment > config file > defaults) and checks
    /// it, and where the report goes, then makes the output folder: before any input is read.
    /// `check` is a wrapping command's own check of the settings, made before anything is touched.
    func resolve(check: (ResolvedSettings) throws(UsageError) -> Void = { _ throws(UsageError) in })
        throws(UsageError) -> (settings: ResolvedSettings, report: ReportTarget?) {
        var resolved = try SettingsResolver.resolve(SettingsResolver.Sources(commandLine: settings.givenOptions, cleared: settings.cleared.names,
                                                                            noConfig: settings.noConfig,
                                                                            outputFormats: Codecs.all.outputFormats))
        guard !inputs.isEmpty else { throw UsageError("expected at least one input file or folder") }
        guard let folder = resolved.outputFolder, !folder.isEmpty else {
            throw UsageError("expected an output folder for -o/--output")
        }
        // A name without {stem} is one file for every input: with more than one, all but one collide.
        if let fixed = resolved.options.outputs.first(where: { !$0.nameTemplate.usesStem }),
           inputs.count > 1 || inputs.contains(where: FileSystem.isFolder) {
            throw UsageError("--name \"\(fixed.nameTemplate.text)\" has no {stem}, so every input would be written to "
                             + "the same file: add {stem}, or give one file")
        }
        // Where the report goes is checked before the output folder is made: a mistake touches nothing.
        let report = try resolved.report.map { path throws(UsageError) in try ReportTarget(path: path) }
        try check(resolved)
        try Self.prepareOutputFolder(folder, create: !resolved.dryRun)
        resolved.options.inputs = inputs
        resolved.options.outputDirectory = folder
        for warning in Self.ignoredSettings(resolved) {
            Console.writeError("warning: \(warning)\n")
        }
        // Workers are this same program in worker mode; each request carries the settings.
        resolved.options.workerCommand = try Self.workerCommand(resolved.sandbox, inputs: inputs) { Console.writeError($0 + "\n") }
        return (resolved, report)
    }

    /// Settings given for outputs whose format does not read them (--quality for PNG, --lossless
    /// for JPEG): said once each, as a warning, instead of ignored silently.
    static func ignoredSettings(_ resolved: ResolvedSettings) -> [String] {
        var warnings: [String] = []
        for (settings, given) in zip(resolved.options.outputs, resolved.outputs) {
            guard case .fixed(let format) = settings.format, let description = Codecs.all.description(of: format) else { continue }
            for setting in FormatDescription.EncoderSetting.allCases where !description.encoderSettings.contains(setting) {
                let readers = Codecs.all.formats.filter { $0.encoderSettings.contains(setting) && Codecs.all.encoders[$0.format] != nil }
                    .map(\.format.displayName)
                // --lossy is the other side of --lossless; a flag given off (--no-progressive) asks nothing.
                for name in setting == .lossless ? [setting.rawValue, SettingKey.lossy.name] : [setting.rawValue] {
                    guard let value = given[name], value.value != .flag(false) else { continue }
                    let warning = "\(value.place) does nothing for \(format.displayName) outputs (it is for \(readers.joined(separator: ", ")))"
                    if !warnings.contains(warning) { warnings.append(warning) }
                }
            }
        }
        return warnings
    }

    /// The output folder made (a dry run only checks it could be) and writable, before any file is
    /// touched: one error with the system's reason, not one per input.
    static func prepareOutputFolder(_ path: String, create: Bool) throws(UsageError) {
        if create {
            // Made folder by folder, so the message names the one that could not be made, and why.
            do throws(FileSystem.FolderError) {
                try FileSystem.makeFolders(path)
            } catch {
                throw UsageError("cannot create the output folder \(path): \(error.folder): \(error.reason)")
            }
        }
        // The folder, or (for a dry run) the nearest one that exists, where the rest would be made.
        guard let (existing, status) = FileSystem.nearestExisting(path) else {
            throw UsageError("cannot write outputs into \(path): \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFDIR else {
            throw UsageError("cannot write outputs into \(path): \(existing) is not a folder")
        }
        guard FileSystem.access(existing, W_OK | X_OK) else {
            throw UsageError("cannot write outputs into \(path): \(existing): \(String(cString: strerror(errno)))")
        }
    }

    /// This program's own file, for starting workers (argv[0] may be relative or a bare name).
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Runs the batch and returns the process exit code.
    func execute() -> Int32 {
        let resolved: ResolvedSettings
        let reportTarget: ReportTarget?
        do {
            (resolved, reportTarget) = try resolve()
            if !resolved.dryRun { try Self.restrictRun(resolved, report: reportTarget) }
        } catch {
            // Worded as ArgumentParser words a mistake on the command line, usage and all.
            Console.writeError(Self.fullMessage(for: ValidationError(error.message)) + "\n")
            return 2
        }
        var options = resolved.options
        // bench/queue.py's measure of the queue alone: files planned, claimed and recorded, not rendered.
        options.renderNothing = ProcessInfo.processInfo.environment["FASTRESIZE_BENCH_NO_RENDER"] == "1"
        if let retryOf {
            do throws(StoreError) {
                options.only = try RunStore.failedInputs(of: retryOf, resolved: resolved)
                options.prune = false
            } catch {
                return Self.storeFailed(error)
            }
        }
        // The job store is opened, and the run recorded in it, before any file is made. A store
        // that does not exist yet knows no input, so nothing waits for it: it is made while the
        // headers are read, and joined before the first file starts (10 ms of a run's start).
        let role = RunStore.Role(job: jobID, retrying: retryOf)
        let command = Array(CommandLine.arguments.dropFirst())
        let opening = RunStore.isNew(for: resolved, role: role)
            ? RunStore.Opening { () throws(StoreError) in try RunStore.recorder(for: resolved, command: command, role: role) }
            : nil
        var recorder: StoreRecorder?
        if opening == nil {
            do throws(StoreError) {
                recorder = try RunStore.recorder(for: resolved, command: command, role: role)
            } catch {
                return Self.storeFailed(error)
            }
        }
        var runner = BatchRunner(options: options, codecs: Codecs.all)
        runner.recorder = recorder
        let observability: Observability
        do throws(UsageError) {
            observability = try Observability(resolved, reportTakesStandardOutput: reportTarget?.takesStandardOutput ?? false)
        } catch {
            Console.writeError("Error: \(error.message)\n")
            return 2
        }
        let console = observability.console
        // From before planning: a signal while headers are read stops the run before any file starts.
        let control = BatchControl()
        observability.began(control)
        let signals = Self.stopOnSignals(control, console: console) + Self.reopenLogOnHangUp(observability, resolved)
        // `fastresize jobs cancel` on this run's job stops it as SIGTERM would.
        let stopOnCancel = { (recorder: StoreRecorder?) in
            let jobNumber = recorder?.job ?? 0
            recorder?.onCancel {
                console.error("job \(jobNumber) was cancelled: no new files start; files in flight finish")
                control.stop(signal: SIGTERM)
            }
        }
        stopOnCancel(recorder)
        // A worker's run of a queued job takes its files from the job's queue, a few at a time,
        // sharing them with the other workers' runs; any other run plans every file first.
        if let recorder, recorder.shared {
            let shared = runner.planShared(recorder, control: control)
            let reportFile = reportTarget.map(ReportWriter.init)
            let result = runner.run(shared, control: control, events: observability.subscribers + (reportFile.map { [$0] } ?? []))
            return finish(result, reportFile: reportFile, signals: signals, observability: observability, recorder: recorder)
        }
        let plan = runner.planBatch(control: control)
        if let opening {
            do throws(StoreError) {
                recorder = try opening.result()
            } catch {
                signals.forEach { $0.cancel() }
                return Self.storeFailed(error)
            }
            runner.recorder = recorder
            stopOnCancel(recorder)
        }
        let reportFile = reportTarget.map(ReportWriter.init)
        if resolved.dryRun {
            console.printPlan(plan.files)
            var report = BatchReport(dryRun: plan)
            report.summary.shard = options.shard?.description
            reportFile?.receive(.runFinished(report))
            console.finish(report)
            let metricsWritten = observability.finish()
            if let reportFile, let error = reportFile.error {
                console.error("\(reportFile.target.path): cannot write report: \(error)")
                return 1
            }
            return report.summary.failed > 0 || !metricsWritten ? 1 : 0
        }
        // The console, the metrics and the report are the run's event subscribers.
        let result = runner.run(plan, control: control, events: observability.subscribers + (reportFile.map { [$0] } ?? []))
        return finish(result, reportFile: reportFile, signals: signals, observability: observability, recorder: recorder)
    }

    /// A run's end: the summary, the metrics, what the store could not record, the report's fate,
    /// and the exit code.
    private func finish(_ result: BatchReport, reportFile: ReportWriter?, signals: [any DispatchSourceSignal],
                        observability: Observability, recorder: StoreRecorder?) -> Int32 {
        let console = observability.console
        signals.forEach { $0.cancel() }
        console.finish(result)
        let metricsWritten = observability.finish()
        RunStore.finish(result.summary)
        // The outputs stand whatever the store did; what it could not record is said once.
        if let problem = recorder?.problem {
            console.error("warning: job store: \(problem) (this run's record is incomplete; its outputs are as reported)")
        }
        if let reportFile, let error = reportFile.error {
            console.error("\(reportFile.target.path): cannot write report: \(error)")
            return 1
        }
        return result.exitCode == 0 && !metricsWritten ? 1 : result.exitCode
    }

    /// The exit of a run whose job store failed before any file was made.
    static func storeFailed(_ error: StoreError) -> Int32 {
        if error.nothingToDo {
            Console.writeError("\(error)\n")
            return 0
        }
        Console.writeError("fastresize: error: job store: \(error)\n")
        return 2
    }

    /// With --log-file, SIGHUP opens the log file again (logrotate's `postrotate`); without one
    /// a hang-up ends a run as it always has.
    static func reopenLogOnHangUp(_ observability: Observability, _ resolved: ResolvedSettings) -> [any DispatchSourceSignal] {
        guard resolved.observability.logFile != nil else { return [] }
        return [SignalWatch.watch(SIGHUP) { observability.reopenLog() }]
    }
}

extension FastResizeCommand {
    /// SIGINT and SIGTERM stop the batch gently: no new file starts, files in flight finish (or
    /// reach --timeout), the summary is printed, and the exit code is 130 or 143. A second signal
    /// does not wait: temporaries are removed, workers killed, and the process exits at once.
    static func stopOnSignals(_ control: BatchControl, console: Console) -> [any DispatchSourceSignal] {
        stopOnSignals(console: console) { (control, control.stoppedBy == nil) }
    }

    /// The same, for a command whose control changes as it goes (a watch): `stopping` gives the
    /// control in use and whether this is the first stop asked for.
    static func stopOnSignals(console: Console,
                              stopping: @escaping @Sendable () -> (control: BatchControl, first: Bool)) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            SignalWatch.watch(number) {
                let (control, first) = stopping()
                if first {
                    control.stop(signal: number)
                    console.error("stopping: no new files start; files in flight finish (signal again to abandon them)")
                } else {
                    control.abandon()
                    console.error("stopped at once: files in flight abandoned, their temporaries removed")
                    _exit(128 + number)
                }
            }
        }
    }
}

extension FastResizeCommand {
    /// Worker mode (`--worker`, started by the parent's `--isolate`). A Ctrl-C at the terminal
    /// reaches the whole process group, but the parent decides, so it is ignored here; the worker
    /// also leaves when its parent is gone, even in the middle of a stuck file. With `--sandbox
    /// --read PATH…` it first restricts itself, before any thread starts, to reading those paths
    /// and what it loads, writing nothing (its files go back over the pipe), with no network and
    /// none of the system calls an exploit would want.
    static func serveAsWorker(_ arguments: [String]) {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        if arguments.first == "--sandbox" {
            let readable = zip(arguments, arguments.dropFirst()).filter { $0.0 == "--read" }.map(\.1)
            do throws(SandboxError) {
                try Sandbox.restrict(SandboxPolicy(readable: readable + Sandbox.systemReadable(program: executablePath, ownProcOnly: true),
                                                   decoder: true))
            } catch {
                Console.writeError("fastresize worker: cannot sandbox itself: \(error)\n")
                Foundation.exit(3)
            }
        }
        let parent = getppid()
        DetachedThread.start(name: "fastresize.parent") {
            while getppid() == parent { sleep(1) }
            _exit(0)
        }
        var hook: ((String, String) -> Void)?
        if ProcessInfo.processInfo.environment["FASTRESIZE_TEST_HOOKS"] == "1" {
            hook = { input, outputFolder in SandboxProbe.run(input: input, outputFolder: outputFolder) }
        }
        BatchRunner.serveWorker(codecs: Codecs.all, beforeRender: hook)
    }

    /// The command line that starts a worker: sandboxed to the inputs when `mode` and the kernel
    /// allow; `nil` when --sandbox on cannot be had (the reason is thrown).
    static func workerCommand(_ mode: SandboxMode, inputs: [String], console: (String) -> Void) throws(UsageError) -> [String] {
        guard mode != .off else { return [executablePath, "--worker"] }
        guard Sandbox.landlockABI > 0 else {
            let reason = "the kernel offers no Landlock (not built in, or missing from its lsm= boot list)"
            if mode == .on { throw UsageError("--sandbox on: \(reason)") }
            console("notice: decoding workers run without a sandbox: \(reason)")
            return [executablePath, "--worker"]
        }
        return [executablePath, "--worker", "--sandbox"] + inputs.flatMap { ["--read", FileSystem.realPath($0) ?? $0] }
    }
}

extension UsageError {
    var message: String { description }
}
