// BatchEvents: what happens in a run, as typed events, delivered to subscribers on threads of their own so none can slow the workers.

import Foundation
import Synchronization

/// One thing that happened in a run. File events name the input by its path.
public enum BatchEvent: Sendable {
    /// A file's fate was decided: its planned outputs, and whether it is processed, skipped or failed.
    case planned(input: String, outputs: [OutputRecord], action: PlannedFile.Action)
    /// A file was let in under the memory budget with this estimated need.
    case admitted(input: String, bytes: Int)
    /// A file's work began (after admission).
    case started(input: String)
    /// Time a file spent in one stage (decode, resize, encode, write), once the file is done.
    case stage(input: String, stage: Stage, seconds: Double)
    /// An output is in place under its final name.
    case outputWritten(input: String, output: OutputRecord)
    /// A file failed in a way that may not recur and will be tried again (attempt `attempt`,
    /// counting from 1, after `delay` seconds); `failure` is the attempt that failed.
    case retrying(failure: FileReport, attempt: Int, of: Int, delay: Double)
    /// A file is done, whatever its status (a failure carries its kind); `done` files so far, of
    /// `total` when the source knows it.
    case finished(FileReport, done: Int, total: Int?, elapsed: Double)
    /// The run ended.
    case runFinished(BatchReport)
}

/// Something that takes a run's events (the console, a report writer, logs, metrics). Each
/// subscriber gets every event in order, on a thread of its own.
public protocol BatchEventSubscriber: Sendable {
    func receive(_ event: BatchEvent)
}

/// A subscriber made of a closure.
public struct EventHandler: BatchEventSubscriber {
    private let handler: @Sendable (BatchEvent) -> Void

    public init(_ handler: @escaping @Sendable (BatchEvent) -> Void) {
        self.handler = handler
    }

    public func receive(_ event: BatchEvent) { handler(event) }
}

/// Hands events to subscribers without waiting for them: each has its own serial queue, so a
/// slow one (a terminal scrolled back, a full log disk) delays only itself, never a worker.
final class EventBus: Sendable {
    private let deliveries: [(queue: DispatchQueue, subscriber: any BatchEventSubscriber)]

    init(_ subscribers: [any BatchEventSubscriber]) {
        deliveries = subscribers.enumerated().map { index, subscriber in
            (DispatchQueue(label: "fastresize.events.\(index)"), subscriber)
        }
    }

    func emit(_ event: BatchEvent) {
        for (queue, subscriber) in deliveries {
            queue.async { subscriber.receive(event) }
        }
    }

    /// Waits until every subscriber has taken every event emitted so far (the end of a run).
    func drain() {
        for (queue, _) in deliveries { queue.sync {} }
    }
}
