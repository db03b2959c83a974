// SpareRun: a worker's next job run, started ahead and waiting for its job, so that process start-up is paid between jobs rather than in them.

import FastResizeConfig
import FastResizePostgres
import Foundation

/// A worker runs each job as a child run of its own (`fastresize --state … --job-id N …`). Started
/// only when the job comes, that run's start-up (loading, the runtime's first conformance lookups,
/// ArgumentParser's first parse, PostgreSQL's driver library) came before its first file: 20 to 40
/// ms of a job, twice over with two workers starting at once on two cores. A spare run is that
/// process started while the worker waits: it does what can be done before knowing the job, then
/// reads its job's folder and command line on standard input and runs it as the child would.
/// It connects to nothing and starts no thread before that: the run restricts itself (Landlock)
/// before its first thread, as ever. Standard input closed without a request: it exits.
final class SpareRun {
    /// What a spare run is told: where the job runs and its command line.
    struct Request: Codable {
        var directory: String
        var arguments: [String]
    }

    /// The spare's process, and its end as it comes.
    let ended: ChildExit
    var process: Process { ended.process }
    private let input = Pipe()

    /// Starts a spare run for a worker on the store `state` (as given to its child runs); nil if
    /// it cannot start (the job's run is then started as it comes).
    init?(state: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FastResizeCommand.executablePath)
        process.arguments = ["--spare-run", state]
        process.standardInput = input
        ended = ChildExit(process)
        do {
            try process.run()
        } catch {
            return nil
        }
    }

    /// Hands the spare its job: true when it took it (it is then the job's run), false when it is
    /// gone (it died waiting: the caller starts a run afresh).
    func hand(directory: String, arguments: [String]) -> Bool {
        guard process.isRunning, let request = try? JSONEncoder().encode(Request(directory: directory, arguments: arguments)) else {
            return false
        }
        do {
            try input.fileHandleForWriting.write(contentsOf: request)
            try input.fileHandleForWriting.close()
        } catch {
            return false
        }
        return true
    }

    /// No job for it: closing its input ends it (waited for).
    func dismiss() {
        try? input.fileHandleForWriting.close()
        ended.wait()
    }

    /// In the spare process (`--spare-run STATE`): gets ready, waits for the request, runs it.
    static func serve(_ arguments: [String]) -> Never {
        if let state = arguments.first, StateLocation.isPostgres(state) {
            try? PostgresJobStore.loadDriver(from: FastResizeCommand.libraryPaths(PostgresJobStore.driverLibrary))
        }
        // ArgumentParser's first parse reflects over the command's options (most of a run's
        // start-up): done now, on a command line of the same shape.
        _ = try? FastResizeCommand.parseAsRoot(Main.normalised(["--state", arguments.first ?? "", "-o", "/", "--width", "1", "/"]))
        let data = FileHandle.standardInput.readDataToEndOfFile()
        guard !data.isEmpty else { exit(0) }
        guard let request = try? JSONDecoder().decode(Request.self, from: data) else {
            Console.writeError("fastresize: a spare run was handed something that is not a job\n")
            exit(2)
        }
        guard FileManager.default.changeCurrentDirectoryPath(request.directory) else {
            Console.writeError("fastresize: cannot run in \(request.directory): \(String(cString: strerror(errno)))\n")
            exit(2)
        }
        exit(Main.parsed(FastResizeCommand.self, request.arguments).execute())
    }
}
