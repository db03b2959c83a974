// DecodeLog: damage a decoder noticed and drew past, and how much damage a run accepts (--fail-on, as libvips and sharp have it).

import FastResizePixels
import Synchronization

/// How damaged an input may be and still be made into outputs. Every level fails files that
/// cannot be drawn at all.
public enum FailOn: String, Sendable, Codable, CaseIterable {
    /// Draw whatever can be drawn: a truncated JPEG, PNG or GIF as far as it goes (the rest
    /// filled: grey for JPEG as libjpeg pads, transparent black for PNG and GIF); the output says
    /// what was wrong in its `warnings`.
    case none
    /// Fail files whose data ends early.
    case truncated
    /// Fail files with errors, truncation included (the default).
    case error
    /// Fail files with anything wrong, even what a decoder recovers from (a bad Huffman code).
    case warning

    /// Whether a truncated file is drawn as far as it goes rather than failed.
    public var toleratesTruncation: Bool { self == .none }
}

/// What a decoder noticed while drawing one file: recovered damage, or data that ended early
/// when truncation is tolerated. Thread-safe (a prefetching decode writes from its own thread).
public final class DecodeLog: Sendable {
    private let entries = Mutex([String]())

    public init() {}

    /// Records a warning, once per distinct text.
    public func warn(_ text: String) {
        entries.withLock { entries in if !entries.contains(text) { entries.append(text) } }
    }

    public var warnings: [String] { entries.withLock { $0 } }
}

/// Decoders that can tell a `DecodeLog` what damage they drew past, and draw a truncated file as
/// far as it goes instead of failing it.
public protocol LoggingDecoding: ImageDecoding {
    /// The same decoder reporting to `log`; with `toleratingTruncation`, a file whose data ends
    /// early is drawn as far as it goes (the rest filled) and logged instead of failing.
    func logging(to log: DecodeLog, toleratingTruncation: Bool) -> any ImageDecoding
}
