// SignalWatch: a signal handled on a dispatch queue, with none lost while libdispatch starts watching it.

import CCodecShims
import Dispatch
import FastResize
import Foundation

enum SignalWatch {
    /// Runs `handler` on a global queue each time signal `number` arrives, from now on.
    ///
    /// libdispatch on Linux watches a signal only once its manager thread has registered the
    /// source, a moment after `resume()`, when it puts its own handler in place. A signal before
    /// then used to meet SIG_IGN and be dropped: a SIGTERM at start-up left a run waiting on a FIFO
    /// for ever. Here a handler of ours notes it instead, and it is raised again once libdispatch's
    /// handler has taken over (a thread looks every 10 ms, 30 s at most).
    static func watch(_ number: Int32, handler: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        _ = fr_keep_signal(number)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
        DetachedThread.start(name: "fastresize.signal") {
            var looks = 0
            while fr_signal_kept_by_us(number) != 0 && looks < 3000 {
                usleep(10_000)
                looks += 1
            }
            if fr_take_kept_signal(number) != 0 { kill(getpid(), number) }
        }
        return source
    }
}
