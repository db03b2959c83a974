// Batch: plans a whole run (outputs, collisions, skips) before work starts, then processes files in parallel.

import Foundation
import Synchronization

/// What a batch run is asked to do.
public struct BatchOptions: Sendable {
    public var inputs: [String]
    public var outputDirectory: String
    public var settings: ResizeSettings
    public var overwrite: Bool
    /// Files processed at once.
    public var jobs: Int
    public var include: [GlobPattern]
    public var exclude: [GlobPattern]
    public var followSymlinks: Bool
    /// Bytes of decoded pictures held at once, across all workers (--memory-limit).
    public var memoryLimit: Int = MemoryBudget.defaultLimit

    public init(inputs: [String], outputDirectory: String, settings: ResizeSettings, overwrite: Bool = false,
                jobs: Int = ProcessInfo.processInfo.activeProcessorCount,
                include: [GlobPattern] = [], exclude: [GlobPattern] = [], followSymlinks: Bool = false) {
        self.inputs = inputs
        self.outputDirectory = outputDirectory
        self.settings = settings
        self.overwrite = overwrite
        self.jobs = max(1, jobs)
        self.include = include
        self.exclude = exclude
        self.followSymlinks = followSymlinks
    }
}

/// A file's fate as decided before any work: processed into `outputPath`, or settled already.
public struct PlannedFile: Sendable {
    public enum Action: Sendable, Equatable {
        case process
        case skip
        case fail(FileError)
        case notImage
    }

    public var input: InputFile
    public var action: Action
    /// The planned output (nil when the file is not an image or could not be planned).
    public var output: OutputRecord?
    /// What the header said when the file was planned, so it is not read twice.
    public var info: ImageInfo?
}

/// Progress after each finished file.
public struct BatchProgress: Sendable {
    public var done: Int
    public var total: Int
    public var elapsed: Double
    /// The file just finished.
    public var file: FileReport
}

/// Runs one batch: `plan()` decides, `run()` does the work.
public struct BatchRunner: Sendable {
    public let options: BatchOptions
    public let pipeline: FilePipeline

    public init(options: BatchOptions, codecs: CodecRegistry) {
        self.options = options
        self.pipeline = FilePipeline(codecs: codecs, settings: options.settings)
    }

    /// Finds the inputs and decides every output path, refusing collisions before any work.
    public func plan() -> [PlannedFile] {
        let walker = InputWalker(include: options.include, exclude: options.exclude,
                                 followSymlinks: options.followSymlinks, skipFolders: [options.outputDirectory])
        let (files, failures) = walker.collect(options.inputs)
        var planned = failures.map {
            PlannedFile(input: InputFile(path: $0.path, relativePath: $0.path, isExplicit: true), action: .fail($0.error))
        }
        // Reading headers is independent per file, so it runs in parallel; decisions stay in input order.
        let inspected = Self.parallelMap(files, jobs: options.jobs) { file, _ in inspect(file) }
        var claimed: [String: String] = [:]     // output path → the input that claimed it
        for var entry in inspected {
            if entry.action == .process, let output = entry.output {
                if let owner = claimed[output.path] {
                    entry.action = .fail(.collision(otherInput: owner))
                } else {
                    claimed[output.path] = entry.input.path
                    if !options.overwrite && FileManager.default.fileExists(atPath: output.path) {
                        entry.action = .skip
                    }
                }
            }
            planned.append(entry)
        }
        return planned
    }

    /// Reads one file's header and works out its output.
    private func inspect(_ input: InputFile) -> PlannedFile {
        let info: ImageInfo
        do {
            info = try pipeline.inspect(FilePipeline.readFile(input.path))
        } catch .notAnImage where !input.isExplicit && !Self.claimsToBeImage(input.path) {
            return PlannedFile(input: input, action: .notImage)
        } catch {
            return PlannedFile(input: input, action: .fail(error))
        }
        let settings = options.settings
        let format = settings.outputFormat(for: info)
        let plan = pipeline.plan(for: info)
        let name = settings.nameTemplate.expand(inputName: (input.relativePath as NSString).lastPathComponent,
                                                format: format, width: plan.width, height: plan.height)
        let folder = (input.relativePath as NSString).deletingLastPathComponent
        let relativeOutput = folder.isEmpty ? name : folder + "/" + name
        let outputPath = URL(fileURLWithPath: options.outputDirectory).appendingPathComponent(relativeOutput)
            .standardizedFileURL.path
        let output = OutputRecord(path: outputPath, width: plan.width, height: plan.height, format: format, bytes: 0)
        let root = URL(fileURLWithPath: options.outputDirectory).standardizedFileURL.path
        guard outputPath.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            return PlannedFile(input: input, action: .fail(.outsideOutputFolder(outputPath)), output: output)
        }
        if InputWalker.resolved(outputPath) == InputWalker.resolved(input.path) {
            return PlannedFile(input: input, action: .fail(.outputIsInput), output: output)
        }
        return PlannedFile(input: input, action: .process, output: output, info: info)
    }

    private static func fileSize(_ path: String) -> Int {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : 0
    }

    /// A file whose extension says "image": garbage under such a name is an error, not a bystander.
    private static func claimsToBeImage(_ path: String) -> Bool {
        ImageFormat.imageLikeExtensions.contains((path as NSString).pathExtension.lowercased())
    }

    /// Processes every planned file, `options.jobs` at a time, calling `progress` after each.
    public func run(_ planned: [PlannedFile], progress: @escaping @Sendable (BatchProgress) -> Void = { _ in }) -> BatchReport {
        let start = Date()
        let total = planned.count
        let done = Mutex(0)
        // Each worker keeps one workspace (scratch buffers, weight tables) for all its files. When
        // there are fewer files than workers, the spare cores split each image's rows instead.
        let workers = max(1, min(options.jobs, planned.count))
        let workspaces = (0..<workers).map { _ in ResizeWorkspace() }
        let processing = planned.filter { $0.action == .process }.count
        let threadsPerImage = max(1, options.jobs / max(1, min(options.jobs, processing)))
        // Largest files first, so no big file starts last and runs alone while the other cores
        // idle; the report keeps the input order.
        let sizes = planned.map { Self.fileSize($0.input.path) }
        let order = planned.indices.sorted { sizes[$0] > sizes[$1] }
        let budget = MemoryBudget(limit: options.memoryLimit)
        let results = Self.parallelMap(order, jobs: workers) { index, worker in
            let file = planned[index]
            let report = execute(file, workspace: workspaces[worker], threads: threadsPerImage, budget: budget)
            let count = done.withLock { value in
                value += 1
                return value
            }
            progress(BatchProgress(done: count, total: total, elapsed: Date().timeIntervalSince(start), file: report))
            return report
        }
        var reports = results
        for (position, index) in order.enumerated() { reports[index] = results[position] }
        return BatchReport(files: reports, seconds: Date().timeIntervalSince(start))
    }

    private func execute(_ file: PlannedFile, workspace: ResizeWorkspace, threads: Int, budget: MemoryBudget) -> FileReport {
        let start = Date()
        func finish(_ status: FileReport.Status, _ outputs: [OutputRecord] = [], _ error: FileError? = nil) -> FileReport {
            FileReport(input: file.input.path, status: status, outputs: outputs, error: error?.description,
                       ms: Date().timeIntervalSince(start) * 1000)
        }
        switch file.action {
        case .skip: return finish(.skipped)
        case .notImage: return finish(.notImage)
        case .fail(let error): return finish(.failed, [], error)
        case .process: break
        }
        guard var output = file.output, let info = file.info else { return finish(.failed, [], .notAnImage) }
        // Admitted only while the files in flight fit the memory budget together.
        let need = pipeline.memoryNeed(for: info)
        guard need <= budget.limit else { return finish(.failed, [], .memoryLimit(need: need, limit: budget.limit)) }
        budget.acquire(need)
        defer { budget.release(need) }
        do {
            let input = try FilePipeline.mapFile(file.input.path)
            let rendered = try pipeline.render(input.data, info: file.info, workspace: workspace, threads: threads,
                                               releasingInput: input.mapped)
            switch try AtomicFile.write(rendered.bytes, to: output.path, overwrite: options.overwrite) {
            case .alreadyExists:
                return finish(.skipped)
            case .written:
                output.width = rendered.width
                output.height = rendered.height
                output.format = rendered.format
                output.bytes = rendered.bytes.count
                output.webpMode = rendered.webpMode
                output.frames = rendered.frames > 1 ? rendered.frames : nil
                return finish(.written, [output])
            }
        } catch {
            return finish(.failed, [], error)
        }
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
