// Main: the entry point; maps every usage error to exit code 2 (ArgumentParser would use 64).

import ArgumentParser
import Foundation

@main
enum Main {
    static func main() {
        // A worker that died must show as a failed write, not kill us with SIGPIPE; a file over
        // the size limit (ulimit -f) as a failed write (EFBIG), not kill us with SIGXFSZ.
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
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
