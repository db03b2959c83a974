// Main: the entry point; dispatches `config check` and `profiles`, and maps every usage or config error to exit code 2.

import ArgumentParser
import CCodecShims
import FastResize
import FastResizeConfig
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
        // From argv's bytes: CommandLine.arguments replaces what is not UTF-8 (a file name from an
        // old camera) with U+FFFD, naming a file that does not exist.
        let arguments = (1..<Int(CommandLine.argc)).map { FileSystemPath.string(cString: CommandLine.unsafeArgv[$0]!) }
        // Two words that are not inputs (an input folder called so is written ./config).
        switch arguments.first {
        case "config" where arguments.dropFirst().first == "check":
            printReport(ConfigCheckCommand.self, Array(arguments.dropFirst(2))) { command throws(UsageError) in try command.report() }
        case "--worker" where arguments.count == 1:
            // Started by a run's --isolate: requests on stdin carry every setting.
            FastResizeCommand.serveAsWorker()
            exit(0)
        case "profiles":
            printReport(ProfilesCommand.self, Array(arguments.dropFirst())) { command throws(UsageError) in try command.report() }
        default:
            exit(parsed(FastResizeCommand.self, arguments).execute())
        }
    }

    /// Parses `arguments` for `Command`; help and version requests exit 0, mistakes exit 2.
    static func parsed<Command: ParsableCommand>(_ type: Command.Type, _ arguments: [String]) -> Command {
        do {
            return try Command.parse(arguments)
        } catch {
            // Help and version requests are clean exits; everything else is a usage error.
            if Command.exitCode(for: error) == .success {
                print(Command.fullMessage(for: error))
                exit(0)
            }
            FileHandle.standardError.write(Data((Command.fullMessage(for: error) + "\n").utf8))
            exit(2)
        }
    }

    /// Runs a reading command: its text on stdout, or its error on stderr with exit code 2.
    static func printReport<Command: ParsableCommand>(_ type: Command.Type, _ arguments: [String],
                                                     _ body: (Command) throws(UsageError) -> String) -> Never {
        let command = parsed(type, arguments)
        do {
            print(try body(command), terminator: "")
            exit(0)
        } catch {
            FileHandle.standardError.write(Data(("Error: " + error.message + "\n").utf8))
            exit(2)
        }
    }
}
