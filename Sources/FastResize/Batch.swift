// Batch: plans a whole run (outputs, collisions, skips) before work starts, then processes files in parallel.

import Foundation
import Synchronization

/// What a batch run is asked to do.
public struct BatchOptions: Sendable {
    public var inputs: [String]
    public var outputDirectory: String
    /// One entry per output made from each input: one without a profile, a profile's outputs with one.
    public var outputs: [ResizeSettings]
    public var overwrite: Bool
    /// Files processed at once.
    public var jobs: Int
    public var include: [GlobPattern]
    public var exclude: [GlobPattern]
    public var followSymlinks: Bool
    /// Bytes of decoded pictures held at once, across all workers (--memory-limit).
    public var memoryLimit: Int = MemoryBudget.defaultLimit
    /// Seconds one file may take before it is given up (--timeout); nil for no limit.
    public var timeout: Double? = BatchOptions.defaultTimeout
    /// Attempts after the first for a file whose failure may not recur (--retries), and the
    /// backoff before the first of them (--retry-delay, doubling).
    public var retries = 2
    public var retryDelay = 1.0
    /// Remove the outputs FastResize wrote for inputs that are gone or no longer selected (--prune;
    /// needs a recorder that knows them).
    public var prune = false
    /// Only these inputs, by their path below their input folder, are made (a retry of an earlier
    /// run's failures); nil for every input the walk finds.
    public var only: Set<String>?
    /// Only this shard's inputs are made (--shard K/N); nil for all.
    public var shard: Shard?
    /// Which files are read in worker processes (--isolate).
    public var isolation = IsolationMode.auto
    /// Outputs are flushed to disk before they take their final names, and their folders once at
    /// the end of the run (--no-fsync skips both, for scratch outputs).
    public var fsync = true
    /// How to start a worker process (the executable, then its arguments: `--worker` for
    /// fastresize; each request carries the settings); without it every file runs in this process.
    public var workerCommand: [String]?

    /// Inputs with more pixels than this are refused from their header (--max-pixels).
    public var maxPixels = FilePipeline.defaultMaxPixels
    /// How much damage an input may have and still be drawn (--fail-on).
    public var failOn = FailOn.error
    /// A benchmark of everything around the pixels (a job queue's coordination): each file is
    /// walked, planned, claimed and recorded as ever, but nothing is decoded or written, and its
    /// outputs are reported written. Never set by a setting: the executable sets it from the
    /// environment (FASTRESIZE_BENCH_NO_RENDER=1), for `bench/queue.py`.
    public var renderNothing = false
    /// Generous: a 16383² picture takes a few seconds here.
    public static let defaultTimeout = 120.0
    /// Bounds on --timeout (a week; 0 means none) and --jobs, so the arithmetic on them cannot overflow.
    public static let longestTimeout = 7 * 86400.0
    public static let maxJobs = 1024

    public init(inputs: [String], outputDirectory: String, outputs: [ResizeSettings], overwrite: Bool = false,
                jobs: Int = ProcessInfo.processInfo.activeProcessorCount,
                include: [GlobPattern] = [], exclude: [GlobPattern] = [], followSymlinks: Bool = false) {
        self.inputs = inputs
        self.outputDirectory = outputDirectory
        precondition(!outputs.isEmpty, "a batch makes at least one output per input")
        self.outputs = outputs
        self.overwrite = overwrite
        self.jobs = max(1, jobs)
        self.include = include
        self.exclude = exclude
        self.followSymlinks = followSymlinks
    }
}

/// A file's fate as decided before any work: processed into its outputs, or settled already.
public struct PlannedFile: Sendable {
    public enum Action: Sendable, Equatable {
        case process
        case skip
        case fail(FileError)
        case notImage
    }

    public var input: InputFile
    public var action: Action
    /// The planned outputs, one per entry of `BatchOptions.outputs` (empty when the file is not an
    /// image or could not be planned); those that exist already, without --overwrite, are
    /// `.skipped`.
    public var outputs: [OutputRecord] = []
    /// What the header said when the file was planned, so it is not read twice.
    public var info: ImageInfo?
    /// Its place in the plan (input order), which reports keep whatever order files ran in.
    public var position = 0
    /// Why it is skipped, when it is.
    public var skipReason: FileReport.SkipReason?
    /// Attempts made before this one (a retry after a failure that may not recur).
    public var attempt = 0
    /// Outputs that FastResize wrote for this input in an earlier run (a job store says so): made
    /// again, they replace what is there even without --overwrite.
    public var ownOutputs: Set<String> = []
    /// Outputs still as an earlier run made them from this input with these settings: kept.
    public var currentOutputs: Set<String> = []

    public init(input: InputFile, action: Action, outputs: [OutputRecord] = [], info: ImageInfo? = nil) {
        self.input = input
        self.action = action
        self.outputs = outputs
        self.info = info
    }
}

/// A plan: every file's fate, and what was passed over.
public struct BatchPlan: Sendable {
    public var files: [PlannedFile]
    public var passedOver = PassedOver()
    /// With --prune: inputs on record the walk did not find, whose outputs the run removes.
    public var orphans: [Orphan] = []
}

/// The plan of a run sharing its job with others (`BatchRunner.planShared`): its files come from
/// the job's queue through `source`.
public struct SharedPlan: Sendable {
    public var source: SharedSource
    public var passedOver = PassedOver()
    public var orphans: [Orphan] = []
}

/// Runs one batch: `plan()` decides, `run()` does the work.
public struct BatchRunner: Sendable {
    public let options: BatchOptions
    /// One per output; the first also reads headers (every output shares the batch's limits).
    public let pipelines: [FilePipeline]
    var pipeline: FilePipeline { pipelines[0] }

    /// Worker processes for isolated files (nil when none are to be used).
    let workers: WorkerPool?
    /// What earlier runs into the same outputs left on record, and this run's record (a job
    /// store); nil to run as if nothing were known.
    public var recorder: (any RunRecorder)?
    /// The output folder's real path, taken once a run has made the folder: every output is
    /// checked against it, and resolving it again for each one cost a dozen system calls.
    private let outputRoot = OutputRoot()

    public init(options: BatchOptions, codecs: CodecRegistry) {
        self.options = options
        self.pipelines = options.outputs.map {
            FilePipeline(codecs: codecs, settings: $0, maxPixels: options.maxPixels, failOn: options.failOn)
        }
        workers = options.isolation != .none ? options.workerCommand.map(WorkerPool.init) : nil
    }

    /// Whether `path` (recognised by its first bytes) is read in a worker process: for header
    /// reads, before the format is known (afterwards the plan's `info.format` says).
    private func isolated(_ path: String) -> Bool {
        guard workers != nil else { return false }
        let descriptor = FileSystem.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var header = [UInt8](repeating: 0, count: ImageFormat.headerLength)
        let count = header.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0, let format = pipeline.codecs.detect(header.prefix(count)) else { return false }
        return options.isolation.isolates(format, in: pipeline.codecs)
    }

    /// Finds the inputs and decides every output path, refusing collisions before any work.
    public func plan() -> [PlannedFile] {
        planBatch().files
    }

    /// The plan, with what the walk passed over. A stream input is awaited until `control` stops
    /// the run (or --timeout).
    public func planBatch(control: BatchControl = BatchControl()) -> BatchPlan {
        let walked = walk(control: control)
        var planned = walked.failed
        // Reading headers is independent per file, so it runs in parallel; decisions stay in input order.
        let inspected = Self.parallelMap(Array(zip(walked.files, walked.recalled)), jobs: options.jobs) { entry, _ in
            inspect(entry.0, recalled: entry.1)
        }
        var claimed: [String: String] = [:]
        for entry in inspected { planned.append(withSkippedAsOnDisk(claim(entry, in: &claimed))) }
        for index in planned.indices { planned[index].position = index }
        return BatchPlan(files: planned, passedOver: walked.passedOver, orphans: walked.orphans)
    }

    /// The plan of a run that shares its job with other runs (workers on one queued job): the
    /// walk and what the record says are this run's own, as in `planBatch`, but the inputs to
    /// make go to the job's queue, and only those this run takes from it are read (`SharedSource`).
    /// `askAgain`: seconds between asks while the job's last inputs are in other runs' hands.
    public func planShared(_ shared: any SharedInputs, control: BatchControl = BatchControl(), askAgain: TimeInterval = 0.05) -> SharedPlan {
        let walked = walk(control: control)
        var settled = walked.failed
        var toMake: [InputFile] = []
        var upToDate: [InputFile] = []
        for (input, recalled) in zip(walked.files, walked.recalled) {
            if case .upToDate = recalled {
                settled.append(inspect(input, recalled: recalled))
                upToDate.append(input)
            } else {
                toMake.append(input)
            }
        }
        for index in settled.indices { settled[index].position = index }
        let roots = options.inputs
        let source = SharedSource(settled: settled, upToDate: upToDate, toMake: toMake, shared: shared,
                                  planner: planner(from: settled.count), workers: options.jobs, askAgain: askAgain,
                                  mayExist: { InputWalker.mayExist($0, under: roots) })
        return SharedPlan(source: source, passedOver: walked.passedOver, orphans: walked.orphans)
    }

    /// The inputs of a run: walked, earlier outputs, --only and the shard left out, and what the
    /// record says of each (read before any header); those that could not be walked as failures.
    private func walk(control: BatchControl) -> (files: [InputFile], recalled: [Recollection], failed: [PlannedFile],
                                                 passedOver: PassedOver, orphans: [Orphan]) {
        var walker = InputWalker(include: options.include, exclude: options.exclude,
                                 followSymlinks: options.followSymlinks, skipFolders: [options.outputDirectory])
        walker.streamLimit = options.memoryLimit
        walker.streamSeconds = options.timeout
        let walk = walker.collect(options.inputs, stopped: { control.stoppedBy != nil })
        let failed = walk.failures.map {
            PlannedFile(input: InputFile(path: $0.path, relativePath: $0.path, isExplicit: true), action: .fail($0.error))
        }
        var passedOver = walk.passedOver
        let earlier = OutputRecognizer(options: options, codecs: pipeline.codecs).earlierOutputs(among: walk.files)
        passedOver.earlierOutputs = earlier.count
        let files = walk.files.enumerated().filter { !earlier.contains($0.offset) }.map(\.element)
            .filter { options.only?.contains($0.relativePath) ?? true }
            .filter { options.shard?.takes($0.relativePath) ?? true }
        // What the record says is settled before any header is read: an up-to-date file is not read at all.
        let recalled = recorder?.recall(files) ?? [Recollection](repeating: .unknown, count: files.count)
        var orphans: [Orphan] = []
        // Only after a whole walk: a folder that could not be read must not look like inputs gone.
        if options.prune, walk.failures.isEmpty, let recorder {
            // A shard prunes only its own inputs: the other shards' are not gone, only not walked here.
            orphans = recorder.orphans(walked: walk.files).filter { options.shard?.takes($0.input) ?? true }
        }
        return (files, recalled, failed, passedOver, orphans)
    }

    /// Plans one input at a time, as an open-ended source hands them over (`InputQueue`).
    /// `first`: the position in the report of the first input it plans.
    public func planner(from first: Int = 0) -> InputPlanner {
        InputPlanner(runner: self, first: first)
    }

    /// Settles a planned file's outputs against those claimed so far (output path → the input
    /// claiming it): a path claimed already fails the file; an output that exists already,
    /// without --overwrite, is skipped on its own (unless FastResize wrote it for this input).
    /// An up-to-date file claims its outputs too.
    fileprivate func claim(_ planned: PlannedFile, in claimed: inout [String: String]) -> PlannedFile {
        var entry = planned
        guard entry.action == .process || entry.skipReason == .upToDate else { return entry }
        // A plain loop reads the table in place (a closure could only read a copy of it).
        for output in entry.outputs {
            guard let owner = claimed[output.path] else { continue }
            entry.action = .fail(.collision(otherInput: owner == entry.input.path
                ? "another output of the same input (\(PathNames.lastComponent(of: output.path)))" : owner))
            return entry
        }
        for index in entry.outputs.indices {
            claimed[entry.outputs[index].path] = entry.input.path
            let path = entry.outputs[index].path
            guard entry.action == .process else { continue }
            if entry.currentOutputs.contains(path) {
                entry.outputs[index].status = .skipped
                entry.outputs[index].reason = .upToDate
            } else if !options.overwrite && !entry.ownOutputs.contains(path) && FileSystem.exists(path) {
                entry.outputs[index].status = .skipped
                entry.outputs[index].reason = .exists
            }
        }
        if entry.action == .process && entry.outputs.allSatisfy({ $0.status == .skipped }) {
            entry.action = .skip
            entry.skipReason = entry.outputs.contains { $0.reason == .exists } ? .exists : .upToDate
        }
        return entry
    }

    /// `planned` with each skipped output as it is on disk — its bytes, and its size and format
    /// from its header — rather than as this run would have made it (a run at another size
    /// reported the old output at the new size, 0 bytes).
    fileprivate func withSkippedAsOnDisk(_ planned: PlannedFile) -> PlannedFile {
        var entry = planned
        for index in entry.outputs.indices where entry.outputs[index].reason == .exists {
            let path = entry.outputs[index].path
            guard let status = FileSystem.status(path) else { continue }
            entry.outputs[index].bytes = Int(status.st_size)
            guard let data = try? FilePipeline.readFile(path), let info = try? pipeline.inspect(data) else { continue }
            (entry.outputs[index].width, entry.outputs[index].height) = (info.width, info.height)
            entry.outputs[index].format = info.format
        }
        return entry
    }

    /// Reads one file's header and works out its output, unless the record says it is up to date.
    fileprivate func inspect(_ input: InputFile, recalled: Recollection) -> PlannedFile {
        switch recalled {
        case .upToDate(let outputs):
            var entry = PlannedFile(input: input, action: .skip, outputs: outputs.map { output in
                var output = output
                output.status = .skipped
                output.reason = .upToDate
                return output
            })
            entry.skipReason = .upToDate
            return entry
        case .outdated(let own, let current):
            var entry = inspect(input)
            entry.ownOutputs = own
            entry.currentOutputs = current
            return entry
        case .unknown:
            return inspect(input)
        }
    }

    private func inspect(_ input: InputFile) -> PlannedFile {
        let info: ImageInfo
        do {
            info = try header(of: input.readPath)
        } catch let error where [.notAnImage, .empty].contains(error) && !input.isExplicit && !claimsToBeImage(input.path) {
            return PlannedFile(input: input, action: .notImage)
        } catch {
            return PlannedFile(input: input, action: .fail(error))
        }
        let root = URL(fileURLWithPath: options.outputDirectory).standardizedFileURL.path
        var outputs: [OutputRecord] = []
        for pipeline in pipelines {
            let settings = pipeline.settings
            let format = settings.outputFormat(for: info, in: pipeline.codecs)
            let plan = pipeline.plan(for: info)
            let inputName = PathNames.lastComponent(of: input.relativePath)
            // An output in the input's own format keeps the input's spelling of the extension
            // (IMG_1.JPG stays .JPG, a.jpeg stays .jpeg), so links into a site still hold.
            let own = NameTemplate.split(inputName).extension
            let keepsSpelling = format == info.format && pipeline.codecs.description(of: format)?.extensions.contains(own.lowercased()) == true
            let name = settings.nameTemplate.expand(inputName: inputName, format: format, width: plan.width, height: plan.height,
                                                    fileExtension: keepsSpelling ? own : nil)
            let folder = PathNames.folder(of: input.relativePath)
            let relativeOutput = folder.isEmpty ? name : folder + "/" + name
            let outputPath = URL(fileURLWithPath: options.outputDirectory).appendingPathComponent(relativeOutput)
                .standardizedFileURL.path
            let output = OutputRecord(path: outputPath, width: plan.width, height: plan.height, format: format, bytes: 0)
            outputs.append(output)
            do throws(FileError) {
                try pipeline.checkOutput(width: plan.width, height: plan.height, format: format)
            } catch {
                return PlannedFile(input: input, action: .fail(error), outputs: outputs)
            }
            guard outputPath.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
                return PlannedFile(input: input, action: .fail(.outsideOutputFolder(outputPath)), outputs: outputs)
            }
            if InputWalker.resolved(outputPath) == InputWalker.resolved(input.path) {
                return PlannedFile(input: input, action: .fail(.outputIsInput), outputs: outputs)
            }
        }
        return PlannedFile(input: input, action: .process, outputs: outputs, info: info)
    }

    /// The file's header facts, read in a worker process when the file is isolated (a hostile
    /// header can crash a parser as surely as hostile pixels can).
    private func header(of path: String) throws(FileError) -> ImageInfo {
        guard let workers, isolated(path) else { return try pipeline.inspect(FilePipeline.readFile(path)) }
        switch try workers.call(.header(input: path, job: WorkerJob(options)), timeout: options.timeout).get() {
        case .header(let header): return header.info
        case .failed(let error): throw error
        case .encoded: throw .isolation("the worker answered another question")
        }
    }

    /// A file whose extension says "image": garbage under such a name is an error, not a bystander.
    private func claimsToBeImage(_ path: String) -> Bool {
        pipeline.codecs.claimsImage(extension: (path as NSString).pathExtension)
    }

    /// Processes every planned file, `options.jobs` at a time, largest first; the report keeps
    /// the plan's order. See `run(source:control:events:)`.
    public func run(_ planned: [PlannedFile], control: BatchControl = BatchControl(),
                    events: [any BatchEventSubscriber] = []) -> BatchReport {
        run(BatchPlan(files: planned), control: control, events: events)
    }

    /// Runs a plan; the report's summary counts what its walk passed over.
    public func run(_ plan: BatchPlan, control: BatchControl = BatchControl(),
                    events: [any BatchEventSubscriber] = []) -> BatchReport {
        // When there are fewer files than workers, the spare cores split each image's rows instead.
        let processing = plan.files.filter { $0.action == .process }.count
        let threadsPerImage = max(1, options.jobs / max(1, min(options.jobs, processing)))
        let list = PlannedList(plan.files)
        tellRecorder(whole: true, list.upcoming)
        return run(source: list, control: control, events: events, threadsPerImage: threadsPerImage,
                   passedOver: plan.passedOver, orphans: plan.orphans)
    }

    /// Runs a shared plan: the files this run takes from its job's queue, until none is left.
    public func run(_ plan: SharedPlan, control: BatchControl = BatchControl(),
                    events: [any BatchEventSubscriber] = []) -> BatchReport {
        tellRecorder(whole: false, plan.source.upcoming)
        return run(source: plan.source, control: control, events: events, threadsPerImage: 1, passedOver: plan.passedOver,
                   orphans: plan.orphans)
    }

    /// Tells the recorder which files `execute` will claim, as the source hands them out (it may
    /// claim some ahead): those to make, with the outputs to write.
    private func tellRecorder(whole: Bool, _ upcoming: @escaping @Sendable (Int, Int, (PlannedFile) -> Bool) -> (files: [PlannedFile], next: Int)) {
        recorder?.willStart({ offset, count in
            let found = upcoming(offset, count) { $0.action == .process && $0.info != nil && !$0.outputs.isEmpty }
            return (found.files.map { ($0.input, $0.outputs.filter { $0.status != .skipped }) }, found.next)
        }, whole: whole)
    }

    /// Processes the files `source` hands over, `options.jobs` at a time, until it has no more
    /// (or `control` stops the run: files not started are reported as cancelled), telling
    /// `events`' subscribers what happens as it happens. Leftover temporaries of killed runs in
    /// the output folder are removed first. The report lists the files in their plan's order;
    /// with `keepReports` false it lists only those a stop left unstarted and counts the rest
    /// (a run that goes on for months — a watch — holds no report once its events are out).
    public func run(source: any FileSource, control: BatchControl = BatchControl(),
                    events subscribers: [any BatchEventSubscriber] = [], keepReports: Bool = true) -> BatchReport {
        run(source: source, control: control, events: subscribers, threadsPerImage: 1, keepReports: keepReports)
    }

    private func run(source: any FileSource, control: BatchControl, events subscribers: [any BatchEventSubscriber],
                     threadsPerImage: Int, keepReports: Bool = true, passedOver: PassedOver = PassedOver(),
                     orphans: [Orphan] = []) -> BatchReport {
        let start = Date()
        let events = EventBus(subscribers)
        // The folder exists from the start, so where outputs land can be checked on real paths.
        try? FileSystem.makeFolders(options.outputDirectory)
        let root = Self.realPath(options.outputDirectory)
        outputRoot.path.withLock { $0 = root }
        AtomicFile.removeStaleTemporaries(under: options.outputDirectory)
        // This run's temporaries and workers, and no other's: a process may run batches side by side.
        let temporaries = TemporaryFiles()
        control.adopt(temporaries, workers)
        defer { temporaries.removeAll() }     // files given up may still be writing theirs
        defer { workers?.shutDown() }
        let total = source.expectedCount
        // Flushing on the committer while the worker goes on pays only when there is a next file.
        let overlapCommits = (total ?? 2) > 1
        let done = Mutex(0)
        let counted = Mutex(BatchSummary())
        let budget = MemoryBudget(limit: options.memoryLimit, gauges: control.gauges)
        let fullDisks = FullDisks()
        let timeout = options.timeout
        let results = FileScheduler.run(
            source: source, workers: options.jobs, timeout: timeout, control: control,
            retry: options.retries > 0 ? RetryPolicy(retries: options.retries, delay: options.retryDelay) : nil,
            keep: keepReports,
            work: { file, slot in
                let outcome = execute(file, slot: slot, threads: threadsPerImage, budget: budget, fullDisks: fullDisks,
                                      temporaries: temporaries, events: events, overlapCommits: overlapCommits)
                // A run that keeps no reports cannot sync their folders at its end: each file's now.
                guard !keepReports && options.fsync && !options.renderNothing else { return outcome }
                switch outcome {
                case .done(let report): return .done(Self.syncedFolders(of: report))
                case .finishing(let step): return .finishing { Self.syncedFolders(of: step()) }
                case .later: return outcome
                }
            },
            timedOut: { file in
                let report = FileReport(input: file.input.path, status: .failed, outputs: file.outputs,
                                        error: .timedOut(seconds: timeout ?? 0), ms: (timeout ?? 0) * 1000)
                recorder?.finished(file.input, report: report)      // rare: worth the scheduler's lock
                return report
            },
            notStarted: { file in
                FileReport(input: file.input.path, status: .cancelled, outputs: file.outputs, ms: 0)
            },
            retrying: { file, report, delay in
                events.emit(.retrying(failure: report, attempt: file.attempt + 2, of: options.retries + 1, delay: delay))
            },
            finished: { file, report in
                let count = done.withLock { value in
                    value += 1
                    return value
                }
                if !keepReports { counted.withLock { $0.count(report) } }
                events.emit(.finished(report, done: count, total: total, elapsed: Date().timeIntervalSince(start)))
                source.done(file, report: report)
            })
        var reports = keepReports ? Self.lastAttempts(results) : results.map(\.1)
        if control.stoppedBy == nil { reports += orphans.map(prune) }
        // (Nothing written, no folder made, nothing to sync, when nothing is rendered.)
        if options.fsync && keepReports && !options.renderNothing { Self.syncFolders(of: &reports) }
        var report: BatchReport
        if keepReports {
            report = BatchReport(files: reports, seconds: Date().timeIntervalSince(start), stoppedBy: control.stoppedBy)
        } else {
            var summary = counted.withLock { $0 }
            for file in reports { summary.count(file) }
            report = BatchReport(counted: summary, files: reports, seconds: Date().timeIntervalSince(start), stoppedBy: control.stoppedBy)
        }
        report.summary.passedOver = passedOver
        report.summary.notAttemptedDiskFull = fullDisks.notAttempted
        report.summary.shard = options.shard?.description
        recorder?.runFinished(report)
        events.emit(.runFinished(report))
        events.drain()
        return report
    }

    /// One report per file, in plan order: a retried file's last attempt, saying how many it took.
    /// (Without retries, the reports as they are: a 10,000-file run keeps no second copy of them.)
    private static func lastAttempts(_ results: [(PlannedFile, FileReport)]) -> [FileReport] {
        guard results.contains(where: { $0.0.attempt > 0 }) else {
            return results.sorted { $0.0.position < $1.0.position }.map(\.1)
        }
        var last: [Int: (attempt: Int, report: FileReport)] = [:]
        for (file, report) in results where (last[file.position]?.attempt ?? -1) < file.attempt {
            var report = report
            report.attempts = file.attempt > 0 ? file.attempt + 1 : nil
            last[file.position] = (file.attempt, report)
        }
        return last.keys.sorted().map { last[$0]!.report }
    }

    /// Removes an orphan's outputs that are as FastResize wrote them (one edited since is left,
    /// reported skipped: it is no longer FastResize's to remove) and drops its record; its report
    /// has status `removed` (the input is gone from the record), each output its own. A run
    /// prunes the orphans of its plan at its end; a watch, an input it saw deleted.
    public func prune(_ orphan: Orphan) -> FileReport {
        var outputs: [OutputRecord] = []
        var failure: FileError?
        for var output in orphan.current {
            if FileSystemPath.withCString(output.path, { unlink($0) }) == 0 || errno == ENOENT {
                output.status = .removed
            } else {
                failure = failure ?? .writeFailed("cannot remove \(output.path): \(String(cString: strerror(errno)))")
                output.status = .failed
            }
            outputs.append(output)
        }
        for var output in orphan.changed {
            output.status = .skipped
            output.reason = .exists
            outputs.append(output)
        }
        if failure == nil { recorder?.forget(orphan) }
        return FileReport(input: orphan.path, status: failure == nil ? .removed : .failed, outputs: outputs, error: failure, ms: 0)
    }

    /// Makes the names of the outputs written durable: each of their folders flushed once, at the
    /// end (their data was flushed before they took their names). A folder that cannot be synced
    /// fails the files written into it, since their outputs may not survive a crash.
    private static func syncedFolders(of report: FileReport) -> FileReport {
        var reports = [report]
        syncFolders(of: &reports)
        return reports[0]
    }

    private static func syncFolders(of reports: inout [FileReport]) {
        func folder(_ output: OutputRecord) -> String { PathNames.folder(of: output.path) }
        let folders = Set(reports.flatMap { $0.outputs.filter { $0.status == .written }.map(folder) })
        for unsynced in folders {
            do throws(FileError) {
                try AtomicFile.syncFolders([unsynced])
            } catch {
                for index in reports.indices where reports[index].outputs.contains(where: { folder($0) == unsynced }) {
                    let file = reports[index]
                    let outputs = file.outputs.map { output in
                        var output = output
                        if output.status == .written { output.status = nil }     // failed with the file
                        return output
                    }
                    reports[index] = FileReport(input: file.input, status: .failed, outputs: outputs, error: error, ms: file.ms)
                }
            }
        }
    }

    private func execute(_ file: PlannedFile, slot: WorkerSlot, threads: Int, budget: MemoryBudget, fullDisks: FullDisks,
                         temporaries: TemporaryFiles, events: EventBus, overlapCommits: Bool) -> FileOutcome {
        let start = Date()
        let input = file.input.path
        // A stream's bytes are in its copy; everything else is named by the input as given.
        let source = file.input.readPath
        let clock = StageClock()
        // The outputs still to make, planned together once: the budget, the renderer and the report read this.
        let pending = file.outputs.indices.filter { file.outputs[$0].status != .skipped }
        let plan = file.action == .process ? file.info.map { FilePipeline.plan(for: $0, outputs: pending.map { pipelines[$0] }, threads: threads) } : nil
        var planned = file.outputs
        if let plan { for (position, index) in pending.enumerated() { planned[index].encode = plan.outputs[position].encode } }
        // Claimed before anything else (another run or worker on these outputs may hold it), and
        // recorded as started before any output takes its name.
        let claim = file.action == .process && plan != nil && !file.outputs.isEmpty
            ? recorder?.started(file.input, outputs: pending.map { planned[$0] }) : nil
        var replacing = file.ownOutputs
        var elsewhere: [OutputRecord]?
        switch claim {
        case .granted(let alsoOwn):
            replacing.formUnion(alsoOwn)
            // Taken over from a run that died making it: what it left half written goes.
            for path in alsoOwn { AtomicFile.removeStaleTemporaries(of: path) }
        case .busy: return .later(Double.random(in: 0.2..<0.4))
        case .madeElsewhere(let outputs):
            elsewhere = outputs.map { output in
                var output = output
                output.status = .skipped
                output.reason = .upToDate
                return output
            }
        case nil: break
        }
        let madeElsewhere = elsewhere
        events.emit(.planned(input: input, outputs: madeElsewhere ?? planned, action: madeElsewhere == nil ? file.action : .skip))
        /// The file's report; its stage times and written outputs told to the subscribers.
        @Sendable func finish(_ status: FileReport.Status, _ outputs: [OutputRecord] = [], _ error: FileError? = nil) -> FileReport {
            for (stage, seconds) in clock.seconds.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                events.emit(.stage(input: input, stage: stage, seconds: seconds))
            }
            for output in outputs where output.status == .written { events.emit(.outputWritten(input: input, output: output)) }
            if error?.isDiskFull == true { fullDisks.record(outputs.map(\.path)) }
            var report = FileReport(input: input, status: status, outputs: outputs, error: error,
                                    ms: Date().timeIntervalSince(start) * 1000)
            report.stageMilliseconds = clock.seconds.isEmpty ? nil : clock.milliseconds
            report.decode = plan?.decode
            report.inputPixels = file.info.map { $0.width * $0.height }
            report.inputBytes = file.input.size
            // Every file the run tried to make is on record, failed ones included; those it left
            // alone (up to date, in the way, not images) are not. Here, on the worker's (or the
            // committer's) thread, once its outputs are in place: not under the scheduler's lock.
            if file.skipReason == nil, status != .notImage, madeElsewhere == nil {
                recorder?.finished(file.input, report: report)
            }
            return report
        }
        if let madeElsewhere {
            var report = finish(.skipped, madeElsewhere)
            report.reason = .upToDate
            return .done(report)
        }
        switch file.action {
        case .skip:
            var report = finish(.skipped, file.outputs)
            report.reason = file.skipReason
            return .done(report)
        case .notImage: return .done(finish(.notImage))
        case .fail(let error): return .done(finish(.failed, file.outputs, error))
        case .process: break
        }
        guard !file.outputs.isEmpty, let plan else { return .done(finish(.failed, [], .notAnImage)) }
        // A disk found full stays full for this run: its remaining files are not decoded only to
        // fail one by one.
        if let folder = fullDisks.fullFolder(among: pending.map { planned[$0].path }) {
            return .done(finish(.failed, planned, .outputDiskFull(folder: folder)))
        }
        if options.renderNothing {
            if recorder?.stillHolds(file.input) == false { return .later(Double.random(in: 0.2..<0.4)) }
            return .done(finish(.written, planned.map { output in
                var output = output
                output.status = .written
                return output
            }))
        }
        // Admitted only while the files in flight fit the memory budget together.
        let need = plan.memoryNeed
        guard need <= budget.limit else {
            return .done(finish(.failed, planned, .memoryLimit(need: need, limit: budget.limit)))
        }
        let admission = budget.acquire(need)
        events.emit(.admitted(input: input, bytes: need))
        events.emit(.started(input: input))
        slot.startClock()
        slot.whenAbandoned { admission.release() }      // a file given up must not hold the budget
        defer { admission.release() }
        let temporary = { (path: String) in AtomicFile.Pending(path: path, durable: self.options.fsync, temporaries: temporaries) }
        // A large input made alone, with cores to spare: its content hash is read on one of them
        // while it is made, not after (workload 6's 55 MB PNG took 10 ms to read and hash again).
        if threads > 1, file.input.size > Self.readingLimit { recorder?.readingAlongside(file.input) }
        let encoded: Encoded<AtomicFile.Pending>
        if let workers, options.isolation.isolates(plan.info.format, in: pipeline.codecs) {
            // The worker process keeps the time: it is killed when the file takes too long. It
            // plans the file again from the same settings, to the same plan, and writes nothing:
            // the files it encodes come back over its pipe into temporaries made here.
            slot.keepsOwnTime()
            switch isolatedEncode(input: source, outputs: planned, replacing: replacing, workers: workers, temporary: temporary,
                                  clock: clock) {
            case .success(let made): encoded = made
            case .failure(let error): return .done(finish(.failed, planned, error))
            }
        } else {
            let reading = recorder.map { recorder in { @Sendable (bytes: UnsafeRawBufferPointer) in recorder.reading(file.input, bytes: bytes) } }
            switch encode(input: source, outputs: planned, plan: plan, replacing: replacing, workspace: slot.workspace,
                          threads: threads, clock: clock, reading: reading, sink: temporary) {
            case .success(let made): encoded = made
            case .failure(let error): return .done(finish(.failed, planned, error))
            }
        }
        // A run that stalled past its lease (stopped, swapped out, a network file system hung)
        // may have lost the file to another run meanwhile: its outputs then never take their
        // names (the temporaries go with `encoded`), and the file is taken again later, when the
        // record says what the other run made of it.
        if recorder?.stillHolds(file.input) == false { return .later(Double.random(in: 0.2..<0.4)) }
        // Flushing outputs to disk waits on the disk: the committer thread does it while this
        // thread goes on with the next file. Once handed over, the file cannot be given up.
        guard options.fsync, overlapCommits, !encoded.ready.isEmpty, slot.mayCommit() else {
            let (status, outputs, error) = clock.measure(.write) { place(encoded, commit: slot.mayCommit) }
            return .done(finish(status, outputs, error))
        }
        return .finishing {
            let (status, outputs, error) = clock.measure(.write) { place(encoded, commit: { true }) }
            return finish(status, outputs, error)
        }
    }

    /// A file's outputs encoded into their sinks (temporary files, or memory in a worker
    /// process), not yet in place (`place`).
    struct Encoded<Sink: OutputSink>: @unchecked Sendable {     // handed whole from a worker thread to the committer
        var outputs: [OutputRecord]
        /// Outputs whose sink holds the whole file: where it goes, and what it holds.
        var ready: [(index: Int, file: Sink, image: RenderedImage)] = []
        /// Outputs that failed while being made, with why.
        var failed: [(index: Int, error: FileError)] = []
        /// Paths that may be replaced without --overwrite: FastResize wrote them for this input.
        var replacing: Set<String> = []
    }

    /// Steps up to the moving into place: one decode, every pending output encoded into the sink
    /// `sink` gives for its path (a lone output encoded from rows streams into it as it is
    /// encoded), the way `plan` says (without one, the file's header is read and it is planned here).
    /// `reading` is shown the input's bytes before they are decoded, when they are few enough
    /// (`readingLimit`) to be held whole without adding to the run's peak.
    func encode<Sink: OutputSink>(input: String, outputs planned: [OutputRecord], plan known: FilePlan?, replacing: Set<String>,
                                  workspace: ResizeWorkspace, threads: Int, clock: StageClock?,
                                  reading: ((UnsafeRawBufferPointer) -> Void)? = nil,
                                  sink: (String) -> Sink) -> Result<Encoded<Sink>, FileError> {
        let pending = planned.indices.filter { planned[$0].status != .skipped }
        do throws(FileError) {
            for index in pending { try checkLanding(planned[index].path) }
            let file = try FilePipeline.mapFile(input)
            if let reading, file.data.count <= Self.readingLimit { file.data.withUnsafeBytes(reading) }
            let plan: FilePlan
            if let known { plan = known } else {
                plan = FilePipeline.plan(for: try pipeline.inspect(file.data), outputs: pending.map { pipelines[$0] },
                                         threads: threads)
            }
            let files = pending.map { sink(planned[$0].path) }
            let rendered = FilePipeline.render(file.data, plan: plan, workspace: workspace, threads: threads,
                                               releasingInput: file.mapped, into: files, clock: clock)
            var encoded = Encoded<Sink>(outputs: planned, replacing: replacing)
            for (position, index) in pending.enumerated() {
                switch rendered[position] {
                case .success(let image): encoded.ready.append((index, files[position], image))
                // A file that stopped its encoder (a full disk) says why in its own words.
                case .failure(let error): encoded.failed.append((index, files[position].failure ?? error))
                }
            }
            return .success(encoded)
        } catch {
            return .failure(error)
        }
    }

    /// Inputs up to this size are shown whole to the recorder before decoding: their pages are
    /// then all resident at once, where decoding alone would give back those it has passed (a
    /// photo of a few MiB; not workload 5's 16000x13064 JPEG, whose hash is read in small blocks,
    /// alongside the decode when a core is spare, else after).
    static let readingLimit = 8 << 20

    /// `encode` in a worker process: the outputs it encodes are received into `temporary` files.
    private func isolatedEncode(input: String, outputs planned: [OutputRecord], replacing: Set<String>, workers: WorkerPool,
                                temporary: (String) -> AtomicFile.Pending, clock: StageClock?) -> Result<Encoded<AtomicFile.Pending>, FileError> {
        do throws(FileError) {
            for output in planned where output.status != .skipped { try checkLanding(output.path) }
        } catch {
            return .failure(error)
        }
        var job = WorkerJob(options)
        job.replacing = replacing
        var files: [Int: AtomicFile.Pending] = [:]
        // A worker is the side that may be subverted: what it says is checked, never trusted.
        let asked = Set(planned.indices.filter { planned[$0].status != .skipped })
        var outOfTurn = false
        let reply = workers.call(.render(input: input, outputs: planned, job: job), timeout: options.timeout) { output in
            guard asked.contains(output.index), files[output.index] == nil else {
                outOfTurn = true
                return DiscardingSink()
            }
            let file = temporary(planned[output.index].path)
            files[output.index] = file
            return file
        }
        switch reply {
        case .success(.encoded(_, let failed, _)) where outOfTurn || !failed.allSatisfy({ asked.contains($0.index) }):
            return .failure(.isolation("the worker answered for outputs it was not asked for"))
        case .success(.encoded(let outputs, let failed, let stages)):
            clock?.add(stages)
            var encoded = Encoded<AtomicFile.Pending>(outputs: planned, replacing: replacing)
            for output in outputs {
                guard let file = files[output.index] else { continue }
                // A temporary that could not be written (a full disk) fails its output here.
                if let failure = file.failure { encoded.failed.append((output.index, failure)) } else {
                    encoded.ready.append((output.index, file, output.image))
                }
            }
            encoded.failed += failed.map { ($0.index, $0.error) }
            return .success(encoded)
        case .success(.failed(let error)), .failure(let error):
            return .failure(error)
        case .success(.header):
            return .failure(.isolation("the worker answered another question"))
        }
    }

    /// Moves each encoded output into place (flushed first when durable), asking `commit` before
    /// each; returns the file's status, every output with its own, and the error (with several
    /// outputs, the first failed one's, naming it).
    func place(_ encoded: Encoded<AtomicFile.Pending>, commit: () -> Bool) -> (FileReport.Status, [OutputRecord], FileError?) {
        var outputs = encoded.outputs
        var errors = encoded.failed
        for (index, target, image) in encoded.ready {
            do throws(FileError) {
                switch try target.commit(overwrite: options.overwrite || encoded.replacing.contains(target.path), commit: commit) {
                case .alreadyExists:
                    outputs[index].status = .skipped
                    outputs[index].reason = .exists
                case .abandoned:
                    throw .timedOut(seconds: options.timeout ?? 0)
                case .written:
                    outputs[index].width = image.width
                    outputs[index].height = image.height
                    outputs[index].format = image.format
                    outputs[index].bytes = image.byteCount
                    outputs[index].webpMode = image.webpMode
                    outputs[index].frames = image.frames > 1 ? image.frames : nil
                    outputs[index].warnings = image.warnings.isEmpty ? nil : image.warnings
                    outputs[index].status = .written
                }
            } catch {
                errors.append((index, error))
            }
        }
        var firstError: FileError?
        for (index, error) in errors.sorted(by: { $0.index < $1.index }) {
            outputs[index].status = .failed
            outputs[index].errorKind = error.kind
            guard outputs.count > 1 else {
                firstError = firstError ?? error
                continue
            }
            outputs[index].error = error.description
            firstError = firstError ?? .output(PathNames.lastComponent(of: outputs[index].path), error)
        }
        return (FileReport.Status.combining(outputs), outputs, firstError)
    }

    /// Refuses an output that would land outside the output folder through a symbolic link in a
    /// folder on its way (out/sub -> /elsewhere): checked on the real paths just before writing,
    /// before any folder is created. (A link at the final name is replaced, or kept without
    /// --overwrite, never written through.)
    private func checkLanding(_ path: String) throws(FileError) {
        let root = outputRoot.path.withLock { $0 } ?? Self.realPath(options.outputDirectory)
        var ancestor = PathNames.folder(of: path)
        while !ancestor.isEmpty, ancestor != "/", !FileSystem.exists(ancestor) {
            ancestor = PathNames.folder(of: ancestor)
        }
        // The folder itself is resolved once a run (no check made before writing could catch a
        // folder swapped for a link while the batch writes); any folder below it afresh.
        let landing = ancestor == options.outputDirectory ? root : Self.realPath(ancestor)
        guard landing == root || landing.hasPrefix(root == "/" ? root : root + "/") else {
            throw .outsideOutputFolder(landing + String(path.dropFirst(ancestor.count)))
        }
    }

    private static func realPath(_ path: String) -> String {
        FileSystem.realPath(path) ?? path
    }

    /// Shared by a runner's copies: a Mutex cannot be copied with the struct.
    private final class OutputRoot: Sendable {
        let path = Mutex<String?>(nil)
    }

    /// `transform` applied to every element on `jobs` threads (it is told which worker runs it);
    /// results keep the input order.
    static func parallelMap<T: Sendable, R: Sendable>(_ items: [T], jobs: Int, _ transform: @Sendable (T, Int) -> R) -> [R] {
        let results = Mutex([R?](repeating: nil, count: items.count))
        ParallelWork.forEach(count: items.count, workers: jobs) { index, worker in
            let result = transform(items[index], worker)
            results.withLock { $0[index] = result }
        }
        return results.withLock { $0.map { $0! } }
    }
}

/// Plans the inputs of an open-ended run one at a time: each one's header read and its outputs
/// claimed against those of the inputs planned and not yet done — claims are let go as files
/// are done, so a run that lasts months holds those of the files in hand only, and an input
/// that changes is planned again. (Against outputs made earlier, the rule is the one on disk:
/// an output FastResize did not write for this input is not replaced without --overwrite.)
public final class InputPlanner: Sendable {
    private let runner: BatchRunner
    private let claimed = Mutex([String: String]())
    private let next: Mutex<Int>

    init(runner: BatchRunner, first: Int) {
        self.runner = runner
        next = Mutex(first)
    }

    public func plan(_ input: InputFile) -> PlannedFile {
        var entry = runner.inspect(input, recalled: runner.recorder?.recall([input]).first ?? .unknown)
        entry = runner.withSkippedAsOnDisk(claimed.withLock { claimed in runner.claim(entry, in: &claimed) })
        entry.position = next.withLock { position in defer { position += 1 }; return position }
        return entry
    }

    /// A planned file is done: its claims go.
    public func release(_ file: PlannedFile) {
        claimed.withLock { claimed in
            for output in file.outputs where claimed[output.path] == file.input.path { claimed[output.path] = nil }
        }
    }
}
