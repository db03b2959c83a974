// StageClock: where one file's time goes — decode, resize, encode, write — even when the stages interleave (streamed files).

import FastResizePixels
import Foundation

/// A step of making a file's outputs.
public enum Stage: String, Sendable, Codable, CaseIterable {
    case decode, resize, encode, write
}

/// Adds up the time a file spends in each stage. Measures nest and are exclusive: a decode
/// measured inside a resize (a streamed resize reading rows as it goes) counts as decode, and the
/// resize keeps only its own time. Used by one thread at a time (the file's).
public final class StageClock: @unchecked Sendable {
    public private(set) var seconds: [Stage: Double] = [:]
    /// Time taken by measures nested in each open one.
    private var nested: [UInt64] = []

    public init() {}

    /// Runs `body`, counting its time (less that of measures inside it) to `stage`.
    public func measure<T, E: Error>(_ stage: Stage, _ body: () throws(E) -> T) throws(E) -> T {
        let start = Self.now()
        nested.append(0)
        defer {
            let elapsed = Self.now() - start
            let inner = nested.removeLast()
            seconds[stage, default: 0] += Double(elapsed - min(inner, elapsed)) / 1e9
            if !nested.isEmpty { nested[nested.count - 1] += elapsed }
        }
        return try body()
    }

    /// Adds time measured elsewhere (a worker process's).
    public func add(_ times: [Stage: Double]) {
        for (stage, value) in times { seconds[stage, default: 0] += value }
    }

    /// Milliseconds per stage, for reports (stages that took no time are left out).
    public var milliseconds: [String: Double] {
        Dictionary(uniqueKeysWithValues: seconds.filter { $0.value > 0 }.map { ($0.key.rawValue, ($0.value * 1e6).rounded() / 1e3) })
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

extension Optional where Wrapped == StageClock {
    /// `body` measured when there is a clock, run as it is when there is none.
    package func measure<T, E: Error>(_ stage: Stage, _ body: () throws(E) -> T) throws(E) -> T {
        guard let clock = self else { return try body() }
        return try clock.measure(stage, body)
    }
}
