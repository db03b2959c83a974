// ChildExit: a child process's end, heard as it happens (a worker's job runs, its spare runs).

import Foundation

/// Foundation's `Process.waitUntilExit` on Linux turns a run loop in 50 ms steps, so a worker
/// heard that its job's run had ended 25 ms late on average: measured between queued jobs of
/// workload 1, where the next job waited on it. Its termination handler is called as the child is
/// reaped. Made before the process starts: a handler set later could miss an early end.
final class ChildExit {
    let process: Process
    private let ended = DispatchSemaphore(value: 0)

    init(_ process: Process) {
        self.process = process
        process.terminationHandler = { [ended] _ in ended.signal() }
    }

    /// Waits for the end: the process has ended (and its status is set) when this returns.
    func wait() {
        // Never started (a worker told to stop just before): nothing to wait for.
        guard process.processIdentifier != 0 else { return }
        ended.wait()
        // Open for another wait.
        ended.signal()
        // The handler runs after the status is set; should that ever change, this is the old way.
        if process.isRunning { process.waitUntilExit() }
    }
}
