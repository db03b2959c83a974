// DetachedThread: the threads FastResize starts, which let go of their work's captures before they end.

import Foundation

/// Starts a thread that runs `body` once and ends. Everything `body` captured is released while
/// the thread still runs, before its thread-specific data is torn down.
///
/// Why not Foundation's `Thread`: it keeps its closure until that tear-down, and libdispatch tears
/// down first, freeing the thread's cache of continuations without forgetting it
/// (swift-corelibs-libdispatch's `_libdispatch_tsd_cleanup`). When the closure held the last
/// reference to something whose deinit uses dispatch — a job store, whose GRDB queue syncs and
/// is disposed — dispatch then takes and frees continuations in freed memory: heap corruption,
/// reported later and elsewhere as "malloc(): unaligned fastbin chunk detected". A 30-line
/// program doing only that (a `Thread` holding the last reference to an object that syncs on
/// its queue when it goes) aborted within about 50 threads, every time; with this type it ran
/// 100,000 without fault.
package enum DetachedThread {
    /// The usual 8 MiB: decoders and the resampler recurse little but keep sizeable frames.
    package static let defaultStackSize = 8 << 20

    /// Starts `body` on a new thread named `name` (as `top` and debuggers show it: its first 15 bytes).
    package static func start(name: String, stackSize: Int = defaultStackSize, _ body: @escaping @Sendable () -> Void) {
        let work = Unmanaged.passRetained(Work(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { context in
            DetachedThread.run(Unmanaged<Work>.fromOpaque(context!).takeRetainedValue())
            return nil
        }, work)
        if result != 0 {
            Unmanaged<Work>.fromOpaque(work).release()
            // As Foundation's Thread does: a process that cannot start a thread cannot go on.
            fatalError("cannot start thread \(name): \(String(cString: strerror(result)))")
        }
    }

    /// Runs the work; returning drops it, and with it everything it captured.
    private static func run(_ work: Work) {
        // Through Foundation, which names the thread with pthread_setname_np (Swift's Glibc module
        // leaves it out); the Thread object it makes here holds nothing of the work.
        Thread.current.name = work.name
        work.body()
    }

    private final class Work {
        let name: String
        let body: @Sendable () -> Void

        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
