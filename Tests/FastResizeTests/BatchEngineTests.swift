// BatchEngineTests: the batch engine's scheduling, in process over fake slow codecs: timeouts, memory admission, failure kinds.

@testable import FastResize
@testable import FastResizePipeline
@testable import FastResizePixels
import Foundation
import Synchronization
import Testing
import TestSupport

@Suite struct BatchEngineTests {
    static let settings = ResizeSettings(mode: .fit(width: 32, height: 32), format: .fixed(FakeCodecs.output))

    static func runner(_ folder: ScratchFolder, decoder: SlowDecoder, jobs: Int,
                       configure: (inout BatchOptions) -> Void = { _ in }) -> BatchRunner {
        var options = BatchOptions(inputs: [folder.path("in")], outputDirectory: folder.path("out"),
                                   outputs: [settings], jobs: jobs)
        configure(&options)
        return BatchRunner(options: options, codecs: FakeCodecs.registry(decoder))
    }

    /// What one 64x48 input is budgeted at.
    static var need: Int {
        let info = ImageInfo(format: FakeCodecs.input, width: 64, height: 48, hasAlpha: false)
        return FilePipeline(codecs: CodecRegistry(), settings: settings).renderPlan(for: info).memoryNeed
    }

    /// Three files that fit the memory limit only one at a time, on three threads: the third waits
    /// for two decodes (0.8 s), longer than --timeout (0.6 s), yet each takes 0.4 s once admitted.
    /// The time limit counts from admission, so all are written and no more than one ran at once.
    @Test func timeoutCountsFromAdmission() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(3, in: folder)
        let decoder = SlowDecoder(delay: 0.4)
        let runner = Self.runner(folder, decoder: decoder, jobs: 3) { options in
            options.memoryLimit = Self.need + Self.need / 2
            options.timeout = 0.6
        }
        let report = runner.run(runner.plan())
        #expect(report.files.map(\.status) == [.written, .written, .written], "\(report.files.map(\.error))")
        #expect(decoder.peakConcurrency == 1)
        #expect(decoder.decodes == 3)
    }

    /// A file given up for time lists its planned output, failed, with the kind.
    @Test func timedOutFileListsItsOutputs() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(1, in: folder)
        let runner = Self.runner(folder, decoder: SlowDecoder(delay: 1.5), jobs: 1) { $0.timeout = 0.2 }
        let report = runner.run(runner.plan())
        let file = try #require(report.files.first)
        #expect(file.status == .failed)
        #expect(file.errorKind == .timeout)
        #expect(file.outputs.count == 1)
        #expect(file.outputs.first?.path == folder.path("out/name0.png"))
        #expect(file.outputs.first?.status == .failed && file.outputs.first?.errorKind == .timeout)
        #expect(report.summary.failuresByKind == ["timeout": 1])
        #expect(!FileManager.default.fileExists(atPath: folder.path("out/name0.png")))
    }

    /// A file refused by the memory limit lists its planned output too.
    @Test func fileOverTheMemoryLimitListsItsOutputs() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(1, in: folder)
        let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0), jobs: 1) { $0.memoryLimit = Self.need / 2 }
        let report = runner.run(runner.plan())
        let file = try #require(report.files.first)
        #expect(file.status == .failed && file.errorKind == .memory)
        #expect(file.outputs.map(\.status) == [.failed])
        #expect(file.outputs.map(\.errorKind) == [.memory])
        #expect(FailureKind.memory.retryable == false)
    }

    /// Files a stopped run never started are cancelled, outputs listed.
    @Test func cancelledFilesListTheirOutputs() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(2, in: folder)
        let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0), jobs: 1)
        let control = BatchControl()
        control.stop(signal: SIGTERM)
        let report = runner.run(runner.plan(), control: control)
        #expect(report.files.map(\.status) == [.cancelled, .cancelled])
        #expect(report.files.allSatisfy { $0.errorKind == .cancelled && $0.outputs.map(\.status) == [.cancelled] })
        #expect(report.summary.failed == 0 && report.summary.failuresByKind.isEmpty)
        #expect(report.exitCode == 128 + SIGTERM)
    }

    /// With --fsync (the default) outputs are flushed and moved into place by the committer thread
    /// while workers go on; every one is in place, whole, when the run returns, as without.
    @Test(arguments: [true, false])
    func outputsAreInPlaceWhenTheRunReturns(fsync: Bool) throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(24, in: folder)
        let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0.01), jobs: 2) { $0.fsync = fsync }
        let report = runner.run(runner.plan())
        #expect(report.summary.written == 24)
        for file in report.files {
            let output = try #require(file.outputs.first)
            #expect(output.status == .written && output.bytes == 6)
            #expect(try String(contentsOfFile: output.path, encoding: .utf8) == "32x24\n")
        }
        #expect(folder.files(under: "out").count == 24)      // no temporaries left
    }

    /// Keeps every event, optionally taking its time over each.
    final class Recorder: BatchEventSubscriber, @unchecked Sendable {
        let delay: Double
        private let lock = NSLock()
        private var recorded: [BatchEvent] = []
        init(delay: Double = 0) { self.delay = delay }
        func receive(_ event: BatchEvent) {
            if delay > 0 { Thread.sleep(forTimeInterval: delay) }
            lock.lock()
            recorded.append(event)
            lock.unlock()
        }
        var events: [BatchEvent] {
            lock.lock()
            defer { lock.unlock() }
            return recorded
        }

        /// One line per event, naming the file by its stem: "name0 planned", "name0 stage decode", …
        var lines: [String] {
            events.map { event in
                func stem(_ path: String) -> String { ((path as NSString).lastPathComponent as NSString).deletingPathExtension }
                switch event {
                case .planned(let input, _, _): return "\(stem(input)) planned"
                case .admitted(let input, _): return "\(stem(input)) admitted"
                case .started(let input): return "\(stem(input)) started"
                case .stage(let input, let stage, _): return "\(stem(input)) stage \(stage.rawValue)"
                case .outputWritten(let input, _): return "\(stem(input)) written"
                case .finished(let report, let done, let total, _):
                    return "\(stem(report.input)) finished \(done)/\(total.map(String.init) ?? "?")"
                case .retrying(let failure, let attempt, _, _): return "\(stem(failure.input)) retrying \(attempt)"
                case .runFinished: return "run finished"
                }
            }
        }
    }

    /// Each file's events come in the order things happen to it, the run's end last.
    @Test func eventsTellWhatHappensInOrder() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(3, in: folder)
        let recorder = Recorder()
        let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0.01), jobs: 2)
        let report = runner.run(runner.plan(), events: [recorder])
        #expect(report.summary.written == 3)
        let lines = recorder.lines
        #expect(lines.last == "run finished")
        for index in 0..<3 {
            let own = lines.filter { $0.hasPrefix("name\(index) ") }.map { String($0.dropFirst("name\(index) ".count)) }
            #expect(own.prefix(3) == ["planned", "admitted", "started"], "\(own)")
            #expect(Set(own.filter { $0.hasPrefix("stage") }) == ["stage decode", "stage resize", "stage encode", "stage write"])
            #expect(own.suffix(2).first == "written" && own.last?.hasPrefix("finished") == true, "\(own)")
        }
        #expect(lines.filter { $0.contains("finished ") }.map { String($0.split(separator: " ").last!) }
                == ["1/3", "2/3", "3/3"])
        // The report carries the same stage times.
        #expect(report.files.allSatisfy { Set(($0.stageMilliseconds ?? [:]).keys).isSuperset(of: ["decode", "resize", "encode"]) })
    }

    /// A subscriber that takes 20 ms over every event delays only itself: the files are done long
    /// before it has seen them all (the run still hands it everything before it returns).
    @Test func aSlowSubscriberDoesNotSlowTheWorkers() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(12, in: folder)
        let slow = Recorder(delay: 0.02)
        let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0), jobs: 2) { $0.fsync = false }
        let report = runner.run(runner.plan(), events: [slow])
        let events = slow.events.count
        #expect(events >= 12 * 8 + 1)
        // Every event delivered in line would take events × 20 ms.
        #expect(report.summary.seconds < Double(events) * 0.02 / 3, "\(report.summary.seconds) s for \(events) events")
    }

    /// An open-ended source: files join while the run goes on; the count is unknown until it ends.
    @Test func filesArriveWhileTheRunGoesOn() throws {
        let folder = try ScratchFolder()
        let inputs = try FakeCodecs.inputs(6, in: folder)
        let recorder = Recorder()
        let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0.01), jobs: 2)
        let queue = InputQueue(planner: runner.planner())
        DetachedThread.start(name: "test") {
            for path in inputs {
                Thread.sleep(forTimeInterval: 0.03)
                queue.add(InputFile(path: path, relativePath: (path as NSString).lastPathComponent, isExplicit: true))
            }
            queue.finish()
        }
        let report = runner.run(source: queue, events: [recorder])
        #expect(report.files.map(\.input) == inputs)
        #expect(report.summary.written == 6)
        #expect(recorder.lines.filter { $0.contains("finished ") }.allSatisfy { $0.hasSuffix("/?") })
        #expect(queue.add(InputFile(path: inputs[0], relativePath: "late.bmp", isExplicit: true)) == false)
    }

    /// A run that keeps no file's report (a watch's, which may see millions): its summary still
    /// counts each file, `onDone` hears of each, and an input made again once done is planned
    /// afresh — its first plan's output claim was released, so it is no collision.
    @Test func anOpenEndedRunWithoutReportsCountsAndReleasesEachFile() throws {
        let folder = try ScratchFolder()
        let inputs = try FakeCodecs.inputs(4, in: folder)
        let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0.01), jobs: 2) { $0.overwrite = true }
        let done = Mutex<[String]>([])
        let allDone = DispatchSemaphore(value: 0)
        let queue = InputQueue(planner: runner.planner()) { file, report in
            done.withLock { $0.append("\((file.input.path as NSString).lastPathComponent) \(report.status)") }
            allDone.signal()
        }
        DetachedThread.start(name: "test") {
            for path in inputs { queue.add(InputFile(path: path, relativePath: (path as NSString).lastPathComponent, isExplicit: true)) }
            for _ in inputs { allDone.wait() }
            // The first again, as a watch hands in a file changed after it was made.
            queue.add(InputFile(path: inputs[0], relativePath: (inputs[0] as NSString).lastPathComponent, isExplicit: true))
            allDone.wait()
            queue.finish()
        }
        let report = runner.run(source: queue, keepReports: false)
        #expect(report.files.isEmpty)
        #expect(report.summary.written == 5 && report.summary.failed == 0, "\(report.summary)")
        let first = (inputs[0] as NSString).lastPathComponent
        #expect(done.withLock { $0 }.filter { $0.hasPrefix(first) } == ["\(first) written", "\(first) written"])
    }

    /// The N shards of one tree cover every input exactly once, for N = 1, 3 and 7, and each
    /// shard's choice depends on the path alone (the same from a second walk).
    @Test func shardsCoverEveryInputOnce() throws {
        let folder = try ScratchFolder()
        let inputs = try FakeCodecs.inputs(60, in: folder)
        for count in [1, 3, 7] {
            var seen: [String: Int] = [:]
            for index in 0..<count {
                let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0), jobs: 2) { $0.shard = Shard(index: index, count: count) }
                let planned = runner.plan().map(\.input.path)
                #expect(planned == runner.plan().map(\.input.path), "a shard is the same from walk to walk")
                for path in planned { seen[path, default: 0] += 1 }
                if count > 1 { #expect(planned.count < inputs.count, "shard \(index)/\(count) took everything") }
            }
            #expect(Set(seen.keys) == Set(inputs) && seen.values.allSatisfy { $0 == 1 }, "N = \(count): \(seen.filter { $0.value != 1 })")
        }
        // The hash is of the path's bytes: fixed values, so a change to it (which would move files
        // between shards of a job already half done) cannot pass unnoticed.
        #expect(Shard.hash("") == 0xcbf2_9ce4_8422_2325 && Shard.hash("a") == 0xaf63_dc4c_8601_ec8c)
    }

    /// Two runs sharing one job's queue (as workers do through a job store) make each input once
    /// between them, take a few at a time (never more than asked), and say when they are done
    /// with each; the count of a run that shares its inputs is not known in advance.
    @Test func runsSharingAQueueMakeEachFileOnce() throws {
        let folder = try ScratchFolder()
        let inputs = try FakeCodecs.inputs(24, in: folder)
        let queue = MemoryQueue()
        let reports = Mutex<[BatchReport]>([])
        let finished = DispatchSemaphore(value: 0)
        for _ in 0..<2 {
            DetachedThread.start(name: "test") {
                let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0.01), jobs: 2)
                let plan = runner.planShared(queue)
                #expect(plan.source.expectedCount == nil)
                let report = runner.run(plan)
                reports.withLock { $0.append(report) }
                finished.signal()
            }
        }
        finished.wait()
        finished.wait()
        let made = reports.withLock { $0 }.flatMap { $0.files.filter { $0.status == .written }.map(\.input) }
        #expect(made.sorted() == inputs.sorted(), "each input made once, by one run or the other")
        #expect(reports.withLock { $0 }.allSatisfy { $0.summary.failed == 0 && $0.summary.skipped == 0 })
        queue.lock.withLock {
            #expect(queue.done.sorted() == inputs.map { ($0 as NSString).lastPathComponent }.sorted())
            #expect(queue.offers == 2 && queue.totals == [24, 24], "each run offers its whole walk")
            #expect(queue.limits.allSatisfy { (2...32).contains($0) } && queue.limits.count < 24, "\(queue.limits)")
        }
    }

    /// A run whose worker asked for more while its last file was being put in place (the
    /// committer does that), and found the job's remaining inputs held, records that file done
    /// as soon as it is in place, not a whole wait later: until then the job's last input is
    /// pending, and every run waits on it. Whether the file ends during the wait that follows
    /// (the store answers at once) or during the ask itself (it answers 0.3 s late, and the
    /// answer cannot have counted the file), the run asks again at once. (The wait here is long
    /// enough to tell.)
    @Test(arguments: [0, 0.3])
    func aRunWaitingOnHeldInputsRecordsItsOwnDoneAtOnce(answerAfter: TimeInterval) throws {
        let folder = try ScratchFolder()
        let inputs = try FakeCodecs.inputs(2, in: folder)
        let queue = HeldQueue(answerAfter: answerAfter)
        let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0.05), jobs: 1)
        let plan = runner.planShared(queue, askAgain: 60)
        let start = Date()
        let report = runner.run(plan)
        #expect(Date().timeIntervalSince(start) < 20, "the wait was cut short by the file's end")
        #expect(report.files.map(\.input).sorted() == inputs.sorted())
        queue.lock.withLock {
            #expect(queue.done.count == 2)
            #expect(queue.answers.contains(.heldElsewhere), "the run did wait on its last input: \(queue.answers)")
        }
    }

    /// A run that finds the job's last input in another run's hands asks again as soon as the
    /// store tells it that run gave its inputs back (at its end), not a whole pause later; it
    /// then finds nothing left and ends. (The pause here is long enough to tell.)
    @Test func aRunWaitingOnHeldInputsAsksAgainWhenTheyAreGivenBack() throws {
        let folder = try ScratchFolder()
        let inputs = try FakeCodecs.inputs(1, in: folder)
        let queue = ReturningQueue(returnAfter: 0.3)
        let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0.01), jobs: 1)
        let start = Date()
        let report = runner.run(runner.planShared(queue, askAgain: 60))
        #expect(Date().timeIntervalSince(start) < 20, "the wait ended when the other run gave its input back")
        #expect(report.files.map(\.input) == inputs)
        queue.lock.withLock {
            #expect(queue.answers.first == .inputs(["name0.bmp"]) && queue.answers.last == SharedTake.none)
            #expect(queue.answers.contains(.heldElsewhere), "the run did wait on the other's input: \(queue.answers)")
        }
    }

    /// An input in the queue that the run's walk did not find is given back when it may be there
    /// (another run's walk found it: it came later), and done with when it is gone (deleted since
    /// another run offered it): nothing is made of it, and the queue does not wait on it for ever.
    @Test func aSharedInputGoneSinceItWasOfferedIsDoneWith() throws {
        let folder = try ScratchFolder()
        let inputs = try FakeCodecs.inputs(3, in: folder)
        let queue = MemoryQueue()
        // Offered by another run's walk: one deleted since, one that came after this run's walk.
        queue.lock.withLock {
            queue.offered = ["gone.bmp", "later.bmp"]
            queue.waiting = ["gone.bmp", "later.bmp"]
        }
        let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0), jobs: 1)
        let plan = runner.planShared(queue)
        try Data(contentsOf: URL(fileURLWithPath: inputs[0])).write(to: URL(fileURLWithPath: folder.path("in/later.bmp")))
        let report = runner.run(plan)
        #expect(report.files.map(\.input).sorted() == inputs.sorted(), "this run makes what its walk found")
        queue.lock.withLock {
            #expect(queue.done.contains("gone.bmp"), "gone: done with")
            #expect(!queue.done.contains("later.bmp"), "there: left for a run whose walk finds it")
        }
        let roots = [folder.path("in")]
        #expect(InputWalker.mayExist("later.bmp", under: roots) && !InputWalker.mayExist("gone.bmp", under: roots))
        // One of several folders walked: its files' paths start with its name.
        #expect(InputWalker.mayExist("in/later.bmp", under: roots + [folder.path("out")]))
        // A root that is a pattern or is gone cannot say.
        #expect(InputWalker.mayExist("gone.bmp", under: [folder.path("in/*.bmp")]))
        // A file named directly holds only itself.
        #expect(InputWalker.mayExist("later.bmp", under: [folder.path("in/later.bmp")]))
        #expect(!InputWalker.mayExist("gone.bmp", under: [folder.path("in/later.bmp")]))
    }

    /// Stopping a run that waits on an open-ended source ends it; what was queued is cancelled.
    @Test func stoppingAnOpenEndedRunEndsIt() throws {
        let folder = try ScratchFolder()
        let inputs = try FakeCodecs.inputs(3, in: folder)
        let runner = Self.runner(folder, decoder: SlowDecoder(delay: 0.3), jobs: 1)
        let queue = InputQueue(planner: runner.planner())
        let control = BatchControl()
        for path in inputs { queue.add(InputFile(path: path, relativePath: (path as NSString).lastPathComponent, isExplicit: true)) }
        DetachedThread.start(name: "test") {
            Thread.sleep(forTimeInterval: 0.1)
            control.stop(signal: SIGINT)
        }
        let report = runner.run(source: queue, control: control)
        #expect(report.files.map(\.status) == [.written, .cancelled, .cancelled])
        #expect(report.summary.stoppedBy == "SIGINT")
    }

    /// Every kind round-trips through JSON (the worker protocol and the report use the raw values).
    @Test func failuresCrossJSONWithTheirKind() throws {
        let errors: [FileError] = [
            .codec(.decodeFailed(FakeCodecs.output, "bad")), .codec(.unsupported(FakeCodecs.input, "RLE24")), .pixelLimit(width: 9, height: 9),
            .pixelLimit(width: 0, height: 3), .writeFailed("disk full"), .timedOut(seconds: 2),
            .isolation("the decoder crashed"), .output("a.png", .writeFailed("disk full")), .collision(otherInput: "b"),
            .outsideOutputFolder("/x"), .memoryLimit(need: 9, limit: 1), .notAnImage,
        ]
        let kinds: [FailureKind] = [.corrupt, .unsupported, .tooLarge, .corrupt, .io, .timeout, .crashed, .io, .collision,
                                    .outsideOutput, .memory, .unsupported]
        #expect(errors.map(\.kind) == kinds)
        let decoded = try JSONDecoder().decode([FileError].self, from: JSONEncoder().encode(errors))
        #expect(decoded == errors)
        #expect(decoded.map(\.description) == errors.map(\.description))
        #expect(FailureKind.allCases.filter(\.retryable) == [.timeout, .crashed, .io, .cancelled])
    }
}

/// --retries: a failure that may not recur is tried again after a backoff; one that always
/// recurs is not; a stop drops the retries still waiting.
@Suite struct RetryTests {
    /// A file that times out once (its first decode is slow) is written at its second attempt,
    /// which the report counts; the retry is announced to subscribers with its delay.
    @Test func aTimeoutIsTriedAgain() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(1, in: folder)
        let decoder = SlowDecoder(delay: 1.0, slowDecodes: 1)
        let runner = BatchEngineTests.runner(folder, decoder: decoder, jobs: 1) { options in
            options.timeout = 0.2
            options.retries = 2
            options.retryDelay = 0.05
        }
        let events = BatchEngineTests.Recorder()
        let report = runner.run(runner.plan(), events: [events])
        let file = try #require(report.files.first)
        #expect(report.files.count == 1)
        #expect(file.status == .written && file.attempts == 2, "\(file)")
        #expect(decoder.decodes == 2)
        let retries = events.events.compactMap { event -> (Int, Int, Double)? in
            guard case .retrying(let failure, let attempt, let of, let delay) = event else { return nil }
            #expect(failure.errorKind == .timeout)
            return (attempt, of, delay)
        }
        #expect(retries.count == 1 && retries.first?.0 == 2 && retries.first?.1 == 3)
        // Backoff with jitter: the first delay within [0.5, 1.5) × 0.05 s.
        #expect(retries.first.map { $0.2 >= 0.025 && $0.2 < 0.075 } == true)
        #expect(report.summary.written == 1 && report.summary.failed == 0)
    }

    /// A file that keeps timing out fails after 1 + retries attempts, with its last failure.
    @Test func retriesEnd() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(1, in: folder)
        let decoder = SlowDecoder(delay: 0.6)
        let runner = BatchEngineTests.runner(folder, decoder: decoder, jobs: 1) { options in
            options.timeout = 0.1
            options.retries = 2
            options.retryDelay = 0.01
        }
        let report = runner.run(runner.plan())
        let file = try #require(report.files.first)
        #expect(file.status == .failed && file.errorKind == .timeout && file.attempts == 3, "\(file)")
        #expect(report.summary.failed == 1 && report.files.count == 1)
    }

    /// A corrupt file is never tried again: its failure would recur.
    @Test func corruptIsNotTriedAgain() throws {
        let folder = try ScratchFolder()
        try folder.write(Array("BM this is not a bitmap".utf8), to: "in/bad.bmp")
        let decoder = SlowDecoder(delay: 0)
        let runner = BatchEngineTests.runner(folder, decoder: decoder, jobs: 2) { $0.retryDelay = 0.01 }
        let events = BatchEngineTests.Recorder()
        let report = runner.run(runner.plan(), events: [events])
        #expect(report.files.first?.errorKind == .corrupt && report.files.first?.attempts == nil)
        #expect(!events.events.contains { if case .retrying = $0 { true } else { false } })
    }

    /// A stop while a retry waits out its backoff ends the run at once; the file's failure stands.
    @Test func aStopDropsWaitingRetries() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(1, in: folder)
        let runner = BatchEngineTests.runner(folder, decoder: SlowDecoder(delay: 0.5), jobs: 1) { options in
            options.timeout = 0.1
            options.retries = 3
            options.retryDelay = 30
        }
        let control = BatchControl()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.4) { control.stop(signal: SIGTERM) }
        let start = Date()
        let report = runner.run(runner.plan(), control: control)
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(report.files.count == 1 && report.files.first?.errorKind == .timeout && report.files.first?.attempts == nil)
    }
}

/// A queue handing out one input at a time that holds the rest as another run's until every
/// input handed out is done (as a store does while another run's last file is in its hands).
/// `answerAfter`: seconds each answer but the first takes to come back once decided.
final class HeldQueue: SharedInputs, @unchecked Sendable {
    let lock = NSLock()
    let answerAfter: TimeInterval
    var waiting: [String] = []
    var handedOut: Set<String> = []
    var done: [String] = []
    var answers: [SharedTake] = []

    init(answerAfter: TimeInterval = 0) {
        self.answerAfter = answerAfter
    }

    func offer(_ inputs: [InputFile], upToDate: [InputFile]) {
        lock.withLock { waiting = inputs.map(\.relativePath) }
    }

    func take(limit: Int) -> SharedTake {
        let answer = decide()
        if lock.withLock({ answers.count }) > 1 { Thread.sleep(forTimeInterval: answerAfter) }
        return answer
    }

    private func decide() -> SharedTake {
        lock.withLock {
            let answer: SharedTake
            if !handedOut.isSubset(of: Set(done)) {
                answer = .heldElsewhere
            } else if let next = waiting.first {
                waiting.removeFirst()
                handedOut.insert(next)
                answer = .inputs([next])
            } else {
                answer = .none
            }
            answers.append(answer)
            return answer
        }
    }

    func done(_ input: String) {
        lock.withLock { done.append(input) }
    }
}

/// A queue of one input for this run and one held by another run, which gives it back, done,
/// `returnAfter` seconds after this run first finds it held; the store tells of that
/// (`awaitReturns`), as PostgreSQL does.
final class ReturningQueue: SharedInputs, @unchecked Sendable {
    let lock = NSLock()
    let returnAfter: TimeInterval
    var mine: [String] = []
    var returnAt: Date?
    var answers: [SharedTake] = []

    init(returnAfter: TimeInterval) {
        self.returnAfter = returnAfter
    }

    func offer(_ inputs: [InputFile], upToDate: [InputFile]) {
        lock.withLock { mine = inputs.map(\.relativePath) }
    }

    func take(limit: Int) -> SharedTake {
        lock.withLock {
            let answer: SharedTake
            if !mine.isEmpty {
                answer = .inputs(mine)
                mine = []
            } else if let returnAt, Date() >= returnAt {
                answer = .none
            } else {
                if returnAt == nil { returnAt = Date().addingTimeInterval(returnAfter) }
                answer = .heldElsewhere
            }
            answers.append(answer)
            return answer
        }
    }

    func done(_ input: String) {}

    func awaitReturns(seconds: Double) -> Bool? {
        let returnAt = lock.withLock { self.returnAt } ?? .distantFuture
        let left = returnAt.timeIntervalSinceNow
        Thread.sleep(forTimeInterval: max(0, min(seconds, left)))
        return Date() >= returnAt
    }
}

/// A job's shared queue in memory: what a job store does for workers, for the engine alone.
final class MemoryQueue: SharedInputs, @unchecked Sendable {
    let lock = NSLock()
    var waiting: [String] = []
    var offered: Set<String> = []
    var done: [String] = []
    var limits: [Int] = []
    var offers = 0
    var totals: [Int] = []

    func offer(_ inputs: [InputFile], upToDate: [InputFile]) {
        lock.withLock {
            offers += 1
            totals.append(inputs.count + upToDate.count)
            for input in inputs where offered.insert(input.relativePath).inserted { waiting.append(input.relativePath) }
        }
    }

    func take(limit: Int) -> SharedTake {
        lock.withLock {
            limits.append(limit)
            let taken = Array(waiting.prefix(limit))
            waiting.removeFirst(taken.count)
            return taken.isEmpty ? .none : .inputs(taken)
        }
    }

    func done(_ input: String) {
        lock.withLock { done.append(input) }
    }
}
