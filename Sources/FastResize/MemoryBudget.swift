// MemoryBudget: how much memory a file will need, and admission of files while the sum stays under --memory-limit.

import Foundation
import Synchronization

/// Bytes the batch may hold in decoded pictures at once. Workers ask before each file and wait
/// while the files in flight would take the sum over the limit: a batch of huge pictures then runs
/// fewer at a time, slower, instead of running out of memory.
public final class MemoryBudget: @unchecked Sendable {
    public let limit: Int
    private var inUse = 0
    private var waiting = 0
    private let condition = NSCondition()
    /// Where what is admitted, and what waits, is shown (a run's gauges).
    private let gauges: RunGauges?

    public init(limit: Int, gauges: RunGauges? = nil) {
        self.limit = limit
        self.gauges = gauges
        gauges?.update { $0.memoryLimit = limit }
    }

    private func show() {
        let (inUse, waiting) = (inUse, waiting)
        gauges?.update {
            $0.admittedBytes = inUse
            $0.waitingForMemory = waiting
        }
    }

    /// The smallest --memory-limit taken (1 MiB).
    public static let smallestLimit = 1 << 20

    /// A quarter of physical memory, at most 2 GiB (the default of --memory-limit).
    public static var defaultLimit: Int {
        min(Int(ProcessInfo.processInfo.physicalMemory / 4), 2 << 30)
    }

    /// Waits until `bytes` fit beside what other files hold, then takes them until the returned
    /// admission is released. A file alone is always admitted when nothing else runs (callers
    /// refuse files that need more than the limit).
    public func acquire(_ bytes: Int) -> Admission {
        condition.lock()
        if inUse > 0 && inUse + bytes > limit {
            waiting += 1
            show()
            while inUse > 0 && inUse + bytes > limit { condition.wait() }
            waiting -= 1
        }
        inUse += bytes
        show()
        condition.unlock()
        return Admission(budget: self, bytes: bytes)
    }

    fileprivate func release(_ bytes: Int) {
        condition.lock()
        inUse -= bytes
        show()
        condition.broadcast()
        condition.unlock()
    }

    /// Bytes held by one file; released once, by whoever is first (the file's end, or the
    /// scheduler giving the file up).
    public final class Admission: @unchecked Sendable {
        private let budget: MemoryBudget
        private let bytes: Int
        private let released = Mutex(false)

        fileprivate init(budget: MemoryBudget, bytes: Int) {
            self.budget = budget
            self.bytes = bytes
        }

        public func release() {
            guard released.withLock({ done in defer { done = true }; return !done }) else { return }
            budget.release(bytes)
        }
    }
}
