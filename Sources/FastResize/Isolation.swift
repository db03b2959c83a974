// Isolation: risky files are read in worker processes, so a codec that crashes or hangs fails one file, not the batch.

import Foundation
import Synchronization

/// Which files are decoded in a worker process (--isolate).
public enum IsolationMode: String, Sendable, CaseIterable {
    /// The formats whose codecs say so (`FormatDescription.isolatedByDefault`): TIFF, HEIF, AVIF
    /// and JPEG XL, as libtiff and libheif are where known crashers live (the corpus holds some).
    case auto
    case all
    case none

    public func isolates(_ format: ImageFormat, in codecs: CodecRegistry) -> Bool {
        switch self {
        case .all: true
        case .none: false
        case .auto: codecs.description(of: format)?.isolatedByDefault ?? false
        }
    }
}

/// What a worker needs of the run to read a header or make a file's outputs. It travels with
/// every request, so a worker starts with no settings of its own (`fastresize --worker`) and one
/// worker could serve several runs.
struct WorkerJob: Codable, Equatable {
    var outputDirectory: String
    var outputs: [ResizeSettings]
    var maxPixels: Int
    var failOn: FailOn
    var overwrite: Bool
    var fsync: Bool
    /// Outputs of this request FastResize wrote before, which may be replaced without --overwrite.
    var replacing: Set<String> = []

    init(_ options: BatchOptions) {
        outputDirectory = options.outputDirectory
        outputs = options.outputs
        maxPixels = options.maxPixels
        failOn = options.failOn
        overwrite = options.overwrite
        fsync = options.fsync
    }

    /// The options of a run in the worker: the same outputs, no worker processes of its own.
    var options: BatchOptions {
        var options = BatchOptions(inputs: [], outputDirectory: outputDirectory, outputs: outputs, overwrite: overwrite, jobs: 1)
        options.maxPixels = maxPixels
        options.failOn = failOn
        options.fsync = fsync
        options.isolation = .none
        return options
    }
}

/// One request to a worker, one JSON line; each carries the run's settings (`WorkerJob`).
enum WorkerRequest: Codable {
    /// Read a file's header: the facts its plan needs.
    case header(input: String, job: WorkerJob)
    /// Encode a file's planned outputs (those `.skipped` are left alone); the worker writes
    /// nothing: the files travel back over its pipe and the parent puts them in place.
    case render(input: String, outputs: [OutputRecord], job: WorkerJob)

    var job: WorkerJob {
        switch self {
        case .header(_, let job), .render(_, _, let job): job
        }
    }
}

/// A worker's answer to one request, one JSON line.
enum WorkerReply: Codable {
    /// A header's facts.
    case header(WorkerHeader)
    /// The outputs encoded (their bytes follow the line on the pipe, in this order), those that
    /// failed, and the seconds the file spent in each stage.
    case encoded(outputs: [WorkerOutput], failed: [WorkerFailure], stages: [Stage: Double])
    /// The request failed as a whole, kind and all.
    case failed(FileError)
}

/// One output a worker encoded: which of the request's outputs, what it is, and how many of the
/// bytes after the reply line are its file.
struct WorkerOutput: Codable {
    var index: Int
    var byteCount: Int
    var width: Int
    var height: Int
    var format: ImageFormat
    var webpMode: String?
    var frames: Int
    var warnings: [String]

    init(index: Int, image: RenderedImage, byteCount: Int) {
        self.index = index
        self.byteCount = byteCount
        width = image.width
        height = image.height
        format = image.format
        webpMode = image.webpMode
        frames = image.frames
        warnings = image.warnings
    }

    /// The facts of the file as the parent reports them (its bytes are in the parent's file).
    var image: RenderedImage {
        var image = RenderedImage(bytes: [], width: width, height: height, format: format, webpMode: webpMode, frames: frames)
        image.byteCount = byteCount
        image.warnings = warnings
        return image
    }
}

/// One output a worker could not make, and why.
struct WorkerFailure: Codable {
    var index: Int
    var error: FileError
}

/// The header facts a plan needs: the parent plans the file (and budgets it) from them as the
/// worker does. Of the metadata, only the orientation and the colour profile travel.
struct WorkerHeader: Codable {
    var format: ImageFormat
    var width: Int
    var height: Int
    var hasAlpha: Bool
    var orientation: Int
    var iccProfile: [UInt8]?
    var frameCount: Int
    var streamsRows: Bool
    var layout: String
    var bitDepth: Int
    var decodeScratchPerPixel: Int
    var framesScratchPerPixel: Int

    init(_ info: ImageInfo) {
        format = info.format
        width = info.width
        height = info.height
        hasAlpha = info.hasAlpha
        orientation = info.metadata.orientation.rawValue
        iccProfile = info.metadata.iccProfile
        frameCount = info.frameCount
        streamsRows = info.streamsRows
        layout = info.layout.rawValue
        bitDepth = info.bitDepth
        decodeScratchPerPixel = info.decodeScratchPerPixel
        framesScratchPerPixel = info.framesScratchPerPixel
    }

    var info: ImageInfo {
        var metadata = ImageMetadata(orientation: Orientation(rawValue: orientation) ?? .up)
        metadata.iccProfile = iccProfile
        var info = ImageInfo(format: format, width: width, height: height, hasAlpha: hasAlpha, metadata: metadata,
                             frameCount: frameCount, streamsRows: streamsRows, layout: PixelFormat(rawValue: layout),
                             bitDepth: bitDepth)
        info.decodeScratchPerPixel = decodeScratchPerPixel
        info.framesScratchPerPixel = framesScratchPerPixel
        return info
    }
}

/// One JSON value a line over a pair of pipe ends: both sides of the worker protocol.
struct LineChannel {
    let input: Int32
    let output: Int32
    private var pending: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 4096)

    enum Failure: Error {
        case closed
        case timedOut
    }

    init(input: Int32, output: Int32) {
        self.input = input
        self.output = output
    }

    /// Writes `value` and a newline, then `payload` as it is (bytes the line announces); false
    /// when the other end is gone.
    func send(_ value: some Encodable, payload: [[UInt8]] = []) -> Bool {
        var bytes = (try? JSONEncoder().encode(value)).map(Array.init) ?? []
        bytes.append(0x0A)
        return ([bytes] + payload).allSatisfy(write)
    }

    private func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { FileSystem.writeAll($0, to: output) }
    }

    /// The next line decoded as `type`, waiting until `deadline` at most. A line that does not
    /// decode counts as the end of the conversation.
    mutating func receive<T: Decodable>(_ type: T.Type, deadline: Date? = nil) -> Result<T, Failure> {
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = Data(pending[..<newline])
                pending.removeSubrange(...newline)
                guard let value = try? JSONDecoder().decode(type, from: line) else { return .failure(.closed) }
                return .success(value)
            }
            if let failure = fill(deadline: deadline) { return .failure(failure) }
        }
    }

    /// The next `count` bytes, handed to `sink` as they come (so a big file never sits whole in
    /// the parent's memory), waiting until `deadline` at most.
    mutating func receive(bytes count: Int, deadline: Date? = nil, into sink: (UnsafeRawBufferPointer) -> Void) -> Result<Void, Failure> {
        var left = count
        while left > 0 {
            if pending.isEmpty, let failure = fill(deadline: deadline) { return .failure(failure) }
            let taken = min(left, pending.count)
            pending.withUnsafeBytes { sink(UnsafeRawBufferPointer(rebasing: $0[..<taken])) }
            pending.removeFirst(taken)
            left -= taken
        }
        return .success(())
    }

    /// Reads what the pipe has into `pending`, waiting until `deadline` at most; the failure, if any.
    private mutating func fill(deadline: Date?) -> Failure? {
        while true {
            if let deadline {
                var poller = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
                // At most a minute a wait (a far deadline must not overflow poll's milliseconds).
                let wait = min(max(0, (deadline.timeIntervalSinceNow * 1000).rounded(.up)), 60_000)
                let ready = poll(&poller, 1, Int32(wait))
                if ready < 0 && errno == EINTR { continue }
                if ready == 0 {
                    if deadline.timeIntervalSinceNow <= 0 { return .timedOut }
                    continue
                }
            }
            let count = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return .closed }
            pending.append(contentsOf: chunk[..<count])
            return nil
        }
    }
}

/// A running worker: `fastresize` started again with the same options and `--worker`, reading
/// requests on its stdin and answering on its stdout.
final class WorkerProcess: @unchecked Sendable {
    let pid: pid_t
    private var channel: LineChannel
    /// The pool that started it, which keeps every live worker's pid for a forced stop.
    private let pool: WorkerPool

    enum Failure: Error {
        case crashed(String)
        case timedOut
    }

    private init(pid: pid_t, requests: Int32, replies: Int32, pool: WorkerPool) {
        self.pid = pid
        self.pool = pool
        channel = LineChannel(input: replies, output: requests)
    }

    /// Pipes are made and a worker spawned one at a time: no other worker may inherit a pipe end
    /// before it is marked close-on-exec.
    private static let spawning = NSLock()

    static func start(_ command: [String], for pool: WorkerPool) throws(FileError) -> WorkerProcess {
        spawning.lock()
        defer { spawning.unlock() }
        var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0]
        guard pipe(&toChild) == 0 else { throw .isolation(AtomicFile.errnoText("cannot start a worker")) }
        guard pipe(&fromChild) == 0 else {
            close(toChild[0]); close(toChild[1])
            throw .isolation(AtomicFile.errnoText("cannot start a worker"))
        }
        // Close-on-exec, so workers started later by other threads do not inherit these ends
        // (an inherited write end would keep a dead worker's pipe from ever reporting EOF).
        for descriptor in toChild + fromChild { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], STDOUT_FILENO)
        // Paths among the arguments (the inputs a sandboxed worker may read) keep their own bytes.
        let arguments = command.map { FileSystemPath.withCString($0) { strdup($0) } } + [nil]
        // A crashing worker is to die at once, not wait on Swift's backtracer (which would also
        // print pages of backtrace for what is, to the user, one failed file).
        var variables = ProcessInfo.processInfo.environment.filter { $0.key != "SWIFT_BACKTRACE" }.map { "\($0.key)=\($0.value)" }
        variables.append("SWIFT_BACKTRACE=enable=no")
        let environment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
        defer { (arguments + environment).forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, command[0], &actions, nil, arguments, environment)
        close(toChild[0])
        close(fromChild[1])
        guard status == 0 else {
            close(toChild[1]); close(fromChild[0])
            throw .isolation("cannot start a worker: \(String(cString: strerror(status)))")
        }
        pool.live.withLock { _ = $0.insert(pid) }
        return WorkerProcess(pid: pid, requests: toChild[1], replies: fromChild[0], pool: pool)
    }

    /// Sends `request` and waits for the answer, at most `timeout` seconds; the bytes of each
    /// output encoded go to the sink `receiving` gives for it. On a crash or timeout the worker is
    /// gone (killed and reaped) and must not be used again.
    func call(_ request: WorkerRequest, timeout: Double?, receiving: (WorkerOutput) -> any ByteSink) -> Result<WorkerReply, Failure> {
        guard channel.send(request) else { return .failure(.crashed(finish())) }
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        var received = channel.receive(WorkerReply.self, deadline: deadline)
        if case .success(.encoded(let outputs, _, _)) = received {
            for output in outputs {
                let sink = receiving(output)
                // A sink that fails (a full disk) keeps its failure; the bytes are read all the same.
                if case .failure(let failure) = channel.receive(bytes: output.byteCount, deadline: deadline, into: { _ = sink.append($0) }) {
                    received = .failure(failure)
                    break
                }
            }
        }
        switch received {
        case .success(let reply):
            return .success(reply)
        case .failure(.timedOut):
            Foundation.kill(pid, SIGKILL)
            finish()
            return .failure(.timedOut)
        case .failure(.closed):
            return .failure(.crashed(finish()))
        }
    }

    /// Closes the pipes and reaps the process; says how it ended.
    @discardableResult
    func finish() -> String {
        close(channel.output)
        close(channel.input)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        pool.live.withLock { _ = $0.remove(pid) }
        let signal = status & 0x7F
        if signal != 0 { return "the decoder crashed (signal \(signal), \(String(cString: strsignal(signal))))" }
        return "the worker process ended unexpectedly (exit status \((status >> 8) & 0xFF))"
    }
}

/// Idle workers kept for the next risky file, started on demand; one per `BatchRunner`.
public final class WorkerPool: @unchecked Sendable {
    /// Every worker this pool started and has not reaped, for a forced stop.
    fileprivate let live = Mutex(Set<pid_t>())

    private let command: [String]
    private let idle = Mutex([WorkerProcess]())
    /// The gauges of the run using the pool, which count the workers replaced.
    let gauges = Mutex<RunGauges?>(nil)

    init(command: [String]) {
        self.command = command
    }

    /// Runs `request` on an idle worker (or a new one), the bytes of each output it encodes going
    /// to the sink `receiving` gives. A worker that crashed or timed out is replaced.
    func call(_ request: WorkerRequest, timeout: Double?,
              receiving: (WorkerOutput) -> any ByteSink = { _ in ByteBuffer() }) -> Result<WorkerReply, FileError> {
        let worker: WorkerProcess
        if let waiting = idle.withLock({ $0.popLast() }) {
            worker = waiting
        } else {
            do throws(FileError) {
                worker = try WorkerProcess.start(command, for: self)
            } catch {
                return .failure(error)
            }
        }
        switch worker.call(request, timeout: timeout, receiving: receiving) {
        case .success(let reply):
            idle.withLock { $0.append(worker) }
            return .success(reply)
        case .failure(let failure):
            // The worker is gone: the next risky file starts another.
            gauges.withLock { $0 }?.update { $0.workerRestarts += 1 }
            switch failure {
            case .crashed(let how): return .failure(.isolation(how + "; it ran in its own process, the batch goes on"))
            case .timedOut: return .failure(.timedOut(seconds: timeout ?? 0))
            }
        }
    }

    /// Lets the idle workers go: they see their input end and exit.
    func shutDown() {
        for worker in idle.withLock({ list in defer { list.removeAll() }; return list }) { worker.finish() }
    }

    /// SIGKILLs every worker of this pool still running (a forced stop).
    func killAll() {
        live.withLock { pids in
            for pid in pids { kill(pid, SIGKILL) }
        }
    }
}

extension BatchRunner {
    /// The worker side (`fastresize --worker`): answers requests read from `input` on `output`
    /// until `input` ends, each with the settings it carries. Signals and leaving with a dead
    /// parent are the executable's business.
    /// `beforeRender`, if given, is told each file to render and its output folder first (a
    /// test's hook).
    public static func serveWorker(codecs: CodecRegistry, input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO,
                                   beforeRender: ((_ input: String, _ outputFolder: String) -> Void)? = nil) {
        let workspace = ResizeWorkspace()
        var channel = LineChannel(input: input, output: output)
        var runner: BatchRunner?
        while case .success(let request) = channel.receive(WorkerRequest.self) {
            if runner.map({ WorkerJob($0.options) != request.job }) ?? true {
                runner = BatchRunner(options: request.job.options, codecs: codecs)
            }
            if case .render(let input, _, let job) = request { beforeRender?(input, job.outputDirectory) }
            let (reply, payload) = runner!.answer(request, workspace: workspace)
            guard channel.send(reply, payload: payload) else { return }
        }
    }

    /// One request's reply: a header's facts, or the file's outputs encoded in memory (their bytes
    /// to follow the reply), those that failed and why.
    private func answer(_ request: WorkerRequest, workspace: ResizeWorkspace) -> (WorkerReply, [[UInt8]]) {
        switch request {
        case .header(let input, _):
            do throws(FileError) {
                return (.header(WorkerHeader(try pipeline.inspect(FilePipeline.readFile(input)))), [])
            } catch {
                return (.failed(error), [])
            }
        case .render(let input, let outputs, let job):
            let clock = StageClock()
            switch encode(input: input, outputs: outputs, plan: nil, replacing: job.replacing, workspace: workspace,
                          threads: 1, clock: clock, sink: { _ in ByteBuffer() }) {
            case .success(let encoded):
                let made = encoded.ready.map { WorkerOutput(index: $0.index, image: $0.image, byteCount: $0.file.bytes.count) }
                let failed = encoded.failed.map { WorkerFailure(index: $0.index, error: $0.error) }
                return (.encoded(outputs: made, failed: failed, stages: clock.seconds), encoded.ready.map(\.file.bytes))
            case .failure(let error):
                return (.failed(error), [])
            }
        }
    }
}
