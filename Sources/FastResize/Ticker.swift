// Ticker: a thread of its own that calls a closure every so many seconds until stopped (leases' heartbeats, a watch's status line).

import Foundation

/// Calls `tick` every `interval` seconds on a thread named `name`, until `stop`.
public final class Ticker: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false

    public init(every interval: Double, name: String, _ tick: @escaping @Sendable () -> Void) {
        DetachedThread.start(name: name) { [self] in
            condition.lock()
            while !stopped {
                // Woken early only by `stop`.
                if !condition.wait(until: Date().addingTimeInterval(interval)), !stopped {
                    condition.unlock()
                    tick()
                    condition.lock()
                }
            }
            condition.unlock()
        }
    }

    public func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }
}
