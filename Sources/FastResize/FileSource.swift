// FileSource: where a run's files come from — a finished walk (a known count) or a queue that files join while it runs.

import Foundation
import Synchronization

/// Hands a run its files one at a time, as they become known. Called from the run's worker
/// threads, so `next` may wait for a file.
public protocol FileSource: AnyObject, Sendable {
    /// The next file, planned; waits while none is ready but more may come; nil when no more will
    /// (a list drained, a queue closed).
    func next() -> PlannedFile?
    /// How many files there are in all, when the source knows (a walk does; a queue does not).
    var expectedCount: Int? { get }
    /// The run is stopping: `next` returns nil from now on, and what was never handed out is
    /// returned (to be reported as not started).
    func close() -> [PlannedFile]
    /// A file it handed out is done, with its last attempt's report (called on the run's
    /// scheduler, so it must not wait for the run).
    func done(_ file: PlannedFile, report: FileReport)
}

extension FileSource {
    public func done(_ file: PlannedFile, report: FileReport) {}
}

/// A planned batch, largest files first (so no big file starts last and runs alone while the
/// other cores idle).
public final class PlannedList: FileSource, @unchecked Sendable {
    private let lock = NSLock()
    private var files: [PlannedFile]
    private var position = 0
    private var closed = false
    public let expectedCount: Int?

    public init(_ planned: [PlannedFile]) {
        files = planned.indices.sorted { planned[$0].input.size > planned[$1].input.size }.map { planned[$0] }
        expectedCount = planned.count
    }

    public func next() -> PlannedFile? {
        lock.lock()
        defer { lock.unlock() }
        guard !closed, position < files.count else { return nil }
        position += 1
        return files[position - 1]
    }

    /// Up to `count` files not handed out yet that `include` takes, from `offset` in the order
    /// they are handed out (the largest first) on; and the place after the last one looked at.
    public func upcoming(from offset: Int, count: Int, where include: (PlannedFile) -> Bool) -> (files: [PlannedFile], next: Int) {
        lock.lock()
        defer { lock.unlock() }
        var index = max(offset, position)
        var found: [PlannedFile] = []
        while found.count < count, index < files.count {
            if include(files[index]) { found.append(files[index]) }
            index += 1
        }
        return (found, index)
    }

    public func close() -> [PlannedFile] {
        lock.lock()
        defer { lock.unlock() }
        closed = true
        let rest = Array(files[position...])
        position = files.count
        return rest
    }
}

/// An open-ended source: inputs are added while the run goes on (a watcher, a job store, a
/// server's requests) and planned as a worker takes them; `finish()` says no more will come.
public final class InputQueue: FileSource, @unchecked Sendable {
    private let condition = NSCondition()
    /// Inputs added and not yet taken: those from `head` on (taken ones are dropped in bulk, so
    /// a walk of 100,000 files added at once is taken in linear time).
    private var waiting: [InputFile] = []
    private var head = 0
    private var finished = false
    private var closed = false
    private let planner: InputPlanner
    private let onDone: @Sendable (PlannedFile, FileReport) -> Void

    /// `planner` makes a taken input's plan (`BatchRunner.planner()`); `onDone` hears of each file
    /// done (on the run's scheduler: it must not wait for the run).
    public init(planner: InputPlanner, onDone: @escaping @Sendable (PlannedFile, FileReport) -> Void = { _, _ in }) {
        self.planner = planner
        self.onDone = onDone
    }

    public var expectedCount: Int? { nil }

    /// How many inputs wait to be taken.
    public var waitingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiting.count - head
    }

    /// Adds an input; false when the queue no longer takes any.
    @discardableResult
    public func add(_ input: InputFile) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !finished, !closed else { return false }
        waiting.append(input)
        condition.signal()
        return true
    }

    /// No more inputs will come: the run ends when those waiting are done.
    public func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    public func next() -> PlannedFile? {
        condition.lock()
        while head == waiting.count && !finished && !closed { condition.wait() }
        guard !closed, head < waiting.count else {
            condition.unlock()
            return nil
        }
        let input = waiting[head]
        head += 1
        if head == waiting.count || head >= 4096 && head * 2 >= waiting.count {
            waiting.removeFirst(head)
            head = 0
        }
        condition.unlock()
        return planner.plan(input)
    }

    public func done(_ file: PlannedFile, report: FileReport) {
        planner.release(file)
        onDone(file, report)
    }

    public func close() -> [PlannedFile] {
        condition.lock()
        closed = true
        let rest = waiting[head...]
        waiting.removeAll()
        head = 0
        condition.broadcast()
        condition.unlock()
        // Never planned: after every file that was (their place in the report).
        return rest.enumerated().map { offset, input in
            var file = PlannedFile(input: input, action: .process)
            file.position = Int.max / 2 + offset
            return file
        }
    }
}

/// A run's share of a job that other runs share too (`SharedInputs`): first the files its walk
/// settled by itself (up to date, unreadable), then the inputs it takes from the job's queue, a
/// few at a time, planned as they are taken (so the recorder can claim them together as the
/// first of them starts: `upcoming`). How many it takes at once follows how fast
/// it goes: about a tenth of a second of work (at least one per worker, at most 32), so that
/// small files cost few trips to the store and a job of a few big ones ends evenly.
public final class SharedSource: FileSource, @unchecked Sendable {
    private let condition = NSCondition()
    private let shared: any SharedInputs
    private let planner: InputPlanner
    private let workers: Int
    private var settled: [PlannedFile]
    private var settledNext = 0
    /// The walk's inputs to make, by their path below their input folder.
    private let walked: [String: InputFile]
    /// Whether an input this run's walk did not find may be there now (else it is gone).
    private let mayExist: @Sendable (String) -> Bool
    /// Taken and planned, not handed out yet; and how many taken were handed out before them.
    private var taken: [PlannedFile] = []
    private var handedOut = 0
    private var taking = false
    private var exhausted = false
    private var closed = false
    private var firstTake: Date?
    private var doneCount = 0
    /// Seconds between asks while the job's last inputs are in other runs' hands.
    private let askAgain: TimeInterval

    /// `settled`: planned already (reported as they are), `upToDate` among them; `toMake`: offered
    /// to the job's queue now.
    /// `planner` plans a taken input (`BatchRunner.planner(from:)`), numbered after `settled`.
    /// `mayExist` tells whether an input the walk did not find may be there now.
    public init(settled: [PlannedFile], upToDate: [InputFile], toMake: [InputFile], shared: any SharedInputs, planner: InputPlanner,
                workers: Int, askAgain: TimeInterval = 0.05, mayExist: @escaping @Sendable (String) -> Bool) {
        self.askAgain = askAgain
        self.settled = settled
        self.mayExist = mayExist
        self.shared = shared
        self.planner = planner
        self.workers = max(1, workers)
        walked = Dictionary(toMake.map { ($0.relativePath, $0) }, uniquingKeysWith: { first, _ in first })
        shared.offer(toMake, upToDate: upToDate)
    }

    /// Other runs share the job: how many files this one makes is not known in advance.
    public var expectedCount: Int? { nil }

    public func next() -> PlannedFile? {
        condition.lock()
        if !closed, settledNext < settled.count {
            settledNext += 1
            defer { condition.unlock() }
            return settled[settledNext - 1]
        }
        while taken.isEmpty && !exhausted && !closed {
            // One worker asks the store; the others wait for what it brings.
            if taking {
                condition.wait()
                continue
            }
            taking = true
            let limit = batch()
            let doneBefore = doneCount
            condition.unlock()
            let answer = shared.take(limit: limit)
            var planned: [PlannedFile] = []
            if case .inputs(let paths) = answer {
                // An input another run's walk found and this one's did not goes back at the run's
                // end, for a run that finds it; one gone since (deleted, moved) is done with:
                // nothing to make, and the job would wait on it for ever. (Asked of the file
                // system here, before the lock: the other workers wait on it.)
                for path in paths where walked[path] == nil && !mayExist(path) { shared.done(path) }
                planned = paths.compactMap { walked[$0] }.sorted { $0.size > $1.size }.map(planner.plan)
            }
            condition.lock()
            taking = false
            if firstTake == nil { firstTake = Date() }
            switch answer {
            case .inputs:
                taken += planned
            case .heldElsewhere:
                // The last inputs are in other runs' hands: asked again in a moment (or at once on
                // a stop), so that one that stalls or dies is taken over. A file of this run that
                // ended while it asked, or ends during the wait, is not on record as done yet:
                // asked again at once, for the others wait on it too. (Its worker asks for more
                // before the committer has put the file in place; without this the job's last
                // input stayed pending a whole wait longer: 50 ms of a 0.5 s job of two workers.)
                // Asked again at once, too, when the store tells that another run gave its inputs
                // back, as each does at its end: else the job's last run waited out the rest of
                // the pause after the others had finished (on average half of it).
                let deadline = Date().addingTimeInterval(askAgain)
                while !closed && doneCount == doneBefore {
                    let left = deadline.timeIntervalSinceNow
                    guard left > 0 else { break }
                    // In short slices without the lock, so that this run's own file done or a
                    // stop is seen as soon.
                    condition.unlock()
                    let heard = shared.awaitReturns(seconds: min(left, 0.005))
                    condition.lock()
                    if heard == true { break }
                    if heard == nil { _ = condition.wait(until: deadline) }
                }
            case .none:
                exhausted = true
            }
            condition.broadcast()
        }
        guard !closed, !taken.isEmpty else {
            condition.unlock()
            return nil
        }
        let file = taken.removeFirst()
        handedOut += 1
        condition.unlock()
        return file
    }

    /// Up to `count` taken files not handed out yet that `include` takes, from `offset` in the
    /// order they go out; and the place after the last one looked at (as `PlannedList`'s).
    public func upcoming(from offset: Int, count: Int, where include: (PlannedFile) -> Bool) -> (files: [PlannedFile], next: Int) {
        condition.lock()
        defer { condition.unlock() }
        var index = max(offset, handedOut)
        var found: [PlannedFile] = []
        while found.count < count, index - handedOut < taken.count {
            if include(taken[index - handedOut]) { found.append(taken[index - handedOut]) }
            index += 1
        }
        return (found, index)
    }

    /// How many to take now: a tenth of a second of work at the rate so far.
    private func batch() -> Int {
        guard let firstTake, doneCount > 0 else { return workers }
        let rate = Double(doneCount) / max(0.001, Date().timeIntervalSince(firstTake))
        return min(32, max(workers, Int(rate / 10)))
    }

    public func done(_ file: PlannedFile, report: FileReport) {
        guard walked[file.input.relativePath] != nil else { return }
        planner.release(file)
        shared.done(file.input.relativePath)
        // Ends a wait for other runs' last inputs (see `next`): the next ask records this one done.
        condition.withLock {
            doneCount += 1
            condition.broadcast()
        }
    }

    public func close() -> [PlannedFile] {
        condition.lock()
        closed = true
        let rest = Array(settled[settledNext...]) + taken
        settledNext = settled.count
        handedOut += taken.count
        taken.removeAll()
        condition.broadcast()
        condition.unlock()
        return rest
    }
}
