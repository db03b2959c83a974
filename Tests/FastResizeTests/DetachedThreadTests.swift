// DetachedThreadTests: a thread's work lets go of what it holds while libdispatch can still be used (the heap-corruption crash).

@testable import FastResizePixels
import Dispatch
import Foundation
import Synchronization
import Testing

struct DetachedThreadTests {
    /// What a job store is to its last holder: its deinit syncs on its own queue, which carries a
    /// specific (GRDB's watchdog) and goes with it.
    final class QueueOwner: Sendable {
        static let key = DispatchSpecificKey<Int>()
        let queue = DispatchQueue(label: "test.owner")
        let released: @Sendable (pthread_t) -> Void

        init(released: @escaping @Sendable (pthread_t) -> Void) {
            self.released = released
            queue.setSpecific(key: Self.key, value: 1)
        }

        deinit {
            queue.sync {}
            DispatchQueue.global().async {}
            released(pthread_self())
        }
    }

    final class Tally: Sendable {
        let count = Atomic(0)
    }

    /// Two hundred threads each fill their cache of dispatch continuations and end holding the
    /// last reference to a `QueueOwner`. With Foundation's `Thread` the owners went during the
    /// thread's tear-down, after libdispatch's, and the heap was corrupted within about 50
    /// threads (the process aborted); here each goes on its own thread before the thread ends.
    @Test func workIsReleasedBeforeTheThreadEnds() {
        let count = 200
        let done = DispatchSemaphore(value: 0)
        let misplaced = Tally()
        for _ in 0..<count {
            let go = DispatchSemaphore(value: 0)
            Self.startHolding(after: go, done: done, misplaced: misplaced)
            // The thread holds the owner alone from here.
            go.signal()
        }
        for _ in 0..<count { done.wait() }
        #expect(misplaced.count.load(ordering: .relaxed) == 0)
    }

    /// Starts a thread that, once `go` is signalled, fills its continuation cache and ends with
    /// the only reference to a new `QueueOwner`, which counts in `misplaced` if it goes elsewhere.
    private static func startHolding(after go: DispatchSemaphore, done: DispatchSemaphore, misplaced: Tally) {
        let thread = Mutex<pthread_t?>(nil)
        let owner = QueueOwner { releasedOn in
            if thread.withLock({ $0.map { pthread_equal($0, releasedOn) == 0 } ?? true }) {
                misplaced.count.wrappingAdd(1, ordering: .relaxed)
            }
            done.signal()
        }
        DetachedThread.start(name: "test.owner") {
            go.wait()
            thread.withLock { $0 = pthread_self() }
            for _ in 0..<4 { DispatchQueue.concurrentPerform(iterations: 8) { _ in } }
            owner.queue.sync {}
        }
    }
}
