// PictureMeter: counts the bytes of pictures and pixel work buffers alive while a body runs, and their peak, so a render's memory plan can be checked against what it really holds.

import Synchronization

/// Bytes of pictures (`PixelBuffer`s) and of the resampler's strips and work buffers alive while
/// `measure` runs, and the most there were at once. Allocations made on the measuring thread are
/// counted (a render with `threads: 1` makes all of them there); each is counted off when it is
/// freed, whichever thread frees it. When nothing is measuring, pictures cost nothing extra.
public final class PictureMeter: Sendable {
    private let counts = Mutex((live: 0, peak: 0))

    @TaskLocal static var current: PictureMeter?

    public init() {}

    /// Bytes alive now, and the most alive at once so far.
    public var live: Int { counts.withLock { $0.live } }
    public var peak: Int { counts.withLock { $0.peak } }

    /// Runs `body`, counting what it allocates in this meter.
    public func measure<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        let result = Self.$current.withValue(self) { Result { () throws(E) in try body() } }
        return try result.get()
    }

    /// A charge of `bytes` against the meter measuring on this thread, counted off when the
    /// returned token is freed; nil (and nothing counted) when no meter is measuring.
    @inline(__always)
    package static func charge(_ bytes: Int) -> PictureCharge? {
        guard let meter = current else { return nil }
        return PictureCharge(meter, bytes)
    }

    fileprivate func add(_ bytes: Int) {
        counts.withLock { counts in
            counts.live += bytes
            counts.peak = max(counts.peak, counts.live)
        }
    }
}

/// One allocation counted by a `PictureMeter`: counted off when the token goes (with the buffer
/// that holds it).
package final class PictureCharge: Sendable {
    let meter: PictureMeter
    let bytes: Int

    init(_ meter: PictureMeter, _ bytes: Int) {
        self.meter = meter
        self.bytes = bytes
        meter.add(bytes)
    }

    deinit { meter.add(-bytes) }
}
