// Main: the entry point; maps every usage error to exit code 2 (ArgumentParser would use 64).

import ArgumentParser
import CCodecShims
import Foundation

@main
enum Main {
    static func main() {
        // A worker that died must show as a failed write, not kill us with SIGPIPE; a file over
        // the size limit (ulimit -f) as a failed write (EFBIG), not kill us with SIGXFSZ.
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
        // glibc's malloc raises its mmap threshold after big frees and keeps arenas per thread,
        // so one file's freed pictures stay in the heap, fragmented, while the next file
        // allocates anew: over the corpus in one batch (-j 2, --isolate none) the peak was
        // 476–522 MiB. With blocks of 1 MiB and more always mapped and two arenas: 292–313 MiB,
        // for 5–10% more time on that mix of formats (workload 1's time unchanged).
        fr_tune_malloc()
        let command: FastResizeCommand
        do {
            command = try FastResizeCommand.parse()
        } catch {
            // Help and version requests are clean exits; everything else is a usage error.
            if FastResizeCommand.exitCode(for: error) == .success {
                print(FastResizeCommand.fullMessage(for: error))
                exit(0)
            }
            FileHandle.standardError.write(Data((FastResizeCommand.fullMessage(for: error) + "\n").utf8))
            exit(2)
        }
        exit(command.execute())
    }
}
