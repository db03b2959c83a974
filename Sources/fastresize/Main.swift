// Main: the entry point; dispatches `config check`, `profiles`, `jobs …`, `submit`, `worker` and `watch`, and maps every usage or config error to exit code 2.

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
        // Words that are not inputs (an input folder called so is written ./config, ./jobs).
        switch arguments.first {
        case "config" where arguments.count == 1 || ["--help", "-h", "help"].contains(arguments[1]):
            // The word alone: what it can do (an input folder named config is written ./config).
            print("""
                Usage: fastresize config check [<file>] [<run options>]
                  Check a config file and show every effective setting with where it comes from;
                  a run's options given here show where the command line wins.
                Related: fastresize profiles [--config <file>] lists the profiles and their outputs.
                """)
            exit(0)
        case "config" where arguments.dropFirst().first == "check":
            printReport(ConfigCheckCommand.self, Array(arguments.dropFirst(2))) { command throws(UsageError) in try command.report() }
        case "--version" where arguments.count == 1:
            print(FastResizeCommand.versionText)
            exit(0)
        case "--worker":
            // Started by a run's --isolate: requests on stdin carry every setting; what follows
            // the word is the sandbox the worker puts itself in.
            FastResizeCommand.serveAsWorker(Array(arguments.dropFirst()))
            exit(0)
        case "--spare-run":
            // Started by a worker ahead of its next job (`SpareRun`): the job comes on stdin.
            SpareRun.serve(Array(arguments.dropFirst()))
        case "watch":
            exit(WatchCommand.run(Array(arguments.dropFirst())))
        case "submit":
            exit(SubmitCommand.run(Array(arguments.dropFirst())))
        case "worker":
            let command = parsed(WorkerCommand.self, Array(arguments.dropFirst()))
            exit(orUsageError { () throws(UsageError) in try command.work() })
        case "jobs" where arguments.dropFirst().first == "cancel":
            printReport(JobsCancelCommand.self, Array(arguments.dropFirst(2))) { command throws(UsageError) in try command.report() }
        case "jobs" where arguments.dropFirst().first == "retry":
            let command = parsed(JobsRetryCommand.self, Array(arguments.dropFirst(2)))
            orUsageError { () throws(UsageError) in try command.retry() }
        case "jobs" where arguments.dropFirst().first == "resume":
            let command = parsed(JobsResumeCommand.self, Array(arguments.dropFirst(2)))
            orUsageError { () throws(UsageError) in try command.resume() }
        case "jobs" where arguments.dropFirst().first == "stats":
            printReport(JobsStatsCommand.self, Array(arguments.dropFirst(2))) { command throws(UsageError) in try command.report() }
        case "jobs" where arguments.dropFirst().first == "show":
            printReport(JobsShowCommand.self, Array(arguments.dropFirst(2))) { command throws(UsageError) in try command.report() }
        case "jobs":
            printReport(JobsListCommand.self, Array(arguments.dropFirst())) { command throws(UsageError) in try command.report() }
        case "profiles":
            printReport(ProfilesCommand.self, Array(arguments.dropFirst())) { command throws(UsageError) in try command.report() }
        default:
            exit(parsed(FastResizeCommand.self, arguments).execute())
        }
    }

    /// Parses `arguments` for `Command`; help and version requests exit 0, mistakes exit 2.
    static func parsed<Command: ParsableCommand>(_ type: Command.Type, _ arguments: [String]) -> Command {
        do {
            return try Command.parse(normalised(arguments))
        } catch {
            // Help and version requests are clean exits; everything else is a usage error.
            if Command.exitCode(for: error) == .success {
                print(Command.fullMessage(for: error))
                exit(0)
            }
            let message = Command.fullMessage(for: error)
            // The run's options are the settings; other commands' suggestions are ArgumentParser's own.
            Console.writeError((Command.self == FastResizeCommand.self ? closerSuggestion(message) : message) + "\n")
            exit(2)
        }
    }

    /// The options that take a value, long and short (the short ones by their long names).
    static let valueOptions: [String: String] = {
        var options = Dictionary(uniqueKeysWithValues: SettingKey.all.filter { $0.kind != .flag }.map { ($0.option, $0.option) })
        options["-o"] = SettingKey.output.option
        options["-j"] = SettingKey.jobs.option
        return options
    }()

    /// The command line as make and getopt users write it, in the form ArgumentParser reads:
    /// `-j4` is `-j 4`, and a negative number after an option that takes a value is that value
    /// (`--scale -1` is refused as a bad scale, not as a missing value).
    static func normalised(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            if word == "--" {
                result += arguments[index...]
                break
            }
            if word.count > 2, !word.hasPrefix("--"), let long = valueOptions[String(word.prefix(2))], word.hasPrefix("-") {
                let value = word.dropFirst(2)
                result.append(long + "=" + (value.hasPrefix("=") ? value.dropFirst() : value))
                index += 1
                continue
            }
            if let long = valueOptions[word], index + 1 < arguments.count,
               arguments[index + 1].count > 1, arguments[index + 1].hasPrefix("-"),
               arguments[index + 1].dropFirst().first.map({ $0.isNumber || $0 == "." }) == true {
                result.append(long + "=" + arguments[index + 1])
                index += 2
                continue
            }
            result.append(word)
            index += 1
        }
        return result
    }

    /// ArgumentParser suggests any option for a mistyped one (`--bogus`: did you mean `--jobs`?):
    /// only a name at most two edits away is suggested.
    static func closerSuggestion(_ message: String) -> String {
        guard let unknown = message.range(of: "Unknown option '--"),
              let end = message[unknown.upperBound...].firstIndex(of: "'"),
              let hint = message.range(of: ". Did you mean '--", range: end..<message.endIndex),
              let hintEnd = message[hint.upperBound...].range(of: "'?") else { return message }
        let name = String(message[unknown.upperBound..<end])
        let names = SettingKey.all.map(\.name) + SettingKey.all.map { "no-" + $0.name } + ["help", "version"]
        let replacement = SettingKey.suggestion(for: name, among: names).map { ". Did you mean '--\($0)'?" } ?? ""
        return message.replacingCharacters(in: hint.lowerBound..<hintEnd.upperBound, with: replacement)
    }

    /// `body`'s result; its error on stderr with exit code 2.
    static func orUsageError<T>(_ body: () throws(UsageError) -> T) -> T {
        do {
            return try body()
        } catch {
            Console.writeError("Error: " + error.message + "\n")
            exit(2)
        }
    }

    /// Runs a reading command: its text on stdout, or its error on stderr with exit code 2.
    static func printReport<Command: ParsableCommand>(_ type: Command.Type, _ arguments: [String],
                                                     _ body: (Command) throws(UsageError) -> String) -> Never {
        let command = parsed(type, arguments)
        print(orUsageError { () throws(UsageError) in try body(command) }, terminator: "")
        exit(0)
    }
}
