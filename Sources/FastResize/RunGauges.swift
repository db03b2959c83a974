// RunGauges: what a run is doing right now — files in flight, memory admitted, the scheduler's heartbeat — read by health checks and metrics from outside the engine.

import Foundation
import Synchronization

/// Live figures of the runs under one `BatchControl`, updated by the engine as it goes and read
/// at any moment (a metrics scrape, a health check). Counters only grow; the rest is now.
public final class RunGauges: Sendable {
    public struct Snapshot: Sendable, Equatable {
        /// Files taken by a worker and not yet reported.
        public var filesInFlight = 0
        /// Bytes of pictures the memory budget has let in, and its limit (0: no run yet).
        public var admittedBytes = 0
        public var memoryLimit = 0
        /// Files waiting for memory: the budget is full.
        public var waitingForMemory = 0
        /// Isolated decoder processes started again after one crashed or timed out.
        public var workerRestarts = 0
        /// When the scheduler last showed it is alive (seconds on the monotonic clock; nil: no run yet).
        public var lastBeat: Double?

        public init() {}
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// Seconds since the scheduler last beat, nil when no run has started.
    public func sinceLastBeat(now: Double = RunGauges.now()) -> Double? {
        state.withLock { $0.lastBeat.map { now - $0 } }
    }

    func update(_ change: (inout Snapshot) -> Void) {
        state.withLock { change(&$0) }
    }

    func beat() {
        let now = Self.now()
        state.withLock { $0.lastBeat = now }
    }

    /// Seconds on a clock that only goes forward.
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// How often a live scheduler beats, in seconds.
    public static let beatInterval = 1.0
}
