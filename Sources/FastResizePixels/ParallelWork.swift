// ParallelWork: hands out indices 0..<count to a fixed number of worker threads, in order.

import Dispatch
import Synchronization

package enum ParallelWork {
    /// Calls `body(index, worker)` once for every index; each of `workers` threads takes the next
    /// index whenever it is free, so uneven items balance themselves. Returns when all are done.
    package static func forEach(count: Int, workers: Int, _ body: @Sendable (_ index: Int, _ worker: Int) -> Void) {
        let workers = max(1, min(workers, count))
        if workers == 1 {
            for index in 0..<count { body(index, 0) }
            return
        }
        let next = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < count else { return }
                body(index, worker)
            }
        }
    }
}
