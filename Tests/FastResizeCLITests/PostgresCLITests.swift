// PostgresCLITests: the job store in PostgreSQL through real processes and a real server — incremental runs, workers sharing a job while one is killed, priorities, and a server that goes away mid-run.

import FastResize
import FastResizeJobs
import FastResizePostgres
import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct PostgresCLITests {
    /// The shared test server, or the test is skipped saying why there is none.
    static func server() throws -> PostgresCluster {
        switch PostgresCluster.shared {
        case .success(let cluster): return cluster
        case .failure(let why): try Test.cancel("no PostgreSQL server: \(why)")
        }
    }

    /// The store at `address`, opened in this process (with the driver the build put beside the binary).
    static func store(_ address: String) throws -> PostgresJobStore {
        let folder = CommandRunner.binary.deletingLastPathComponent()
        return try PostgresJobStore(address: address, driverPaths: [folder.appendingPathComponent(PostgresJobStore.driverLibrary).path])
    }

    /// A run records itself in the database; the same command again finds everything up to date
    /// without reading a file; `jobs` lists both runs from the database.
    @Test func runsAreIncremental() throws {
        let address = try Self.server().address(schema: PostgresCluster.schema())
        let scratch = try ScratchFolder()
        for index in 0..<6 { try scratch.write(try Inputs.jpeg(120, 90), to: "in/\(index).jpg") }
        let command = ["in", "-o", "out", "--width", "40", "--state", address]
        let first = try CommandRunner.run(command, in: scratch.url)
        #expect(first.status == 0 && first.stderr.contains("6 written"), "\(first.stderr)")
        let second = try CommandRunner.run(command, in: scratch.url)
        #expect(second.status == 0 && second.stderr.contains("6 up to date"), "\(second.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out/.fastresize")), "no SQLite store beside the outputs")
        let listed = try CommandRunner.run(["jobs", "--state", address], in: scratch.url)
        #expect(listed.status == 0 && listed.stdout.split(separator: "\n").count == 3, "\(listed.stdout)\(listed.stderr)")
        let jobs = try Self.store(address).jobs(limit: nil)
        #expect(jobs.map(\.counts?.written) == [0, 6] && jobs.allSatisfy { $0.status == .finished })
    }

    /// An address that answers nothing stops the run before any file is made, saying where and why.
    @Test func unreachableDatabaseIsAUsageError() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(50, 40), to: "in/a.jpg")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "20", "--state", "postgres://postgres@127.0.0.1:1/postgres"],
                                           in: scratch.url)
        #expect(result.status == 2 && result.stderr.contains("127.0.0.1:1") && result.stderr.contains("cannot connect"), "\(result.stderr)")
        #expect(scratch.files(under: "out").isEmpty)
    }

    /// Three workers share one job of 500 files; one is killed mid-run with its run. The others
    /// finish the job, the dead one's files included: each input has exactly one written attempt,
    /// one output under its final name, and every output decodes.
    @Test func threeWorkersOneKilled() throws {
        let address = try Self.server().address(schema: PostgresCluster.schema())
        let scratch = try ScratchFolder()
        let count = 500
        let input = try Inputs.jpeg(96, 72)
        for index in 0..<count { try scratch.write(input, to: "in/\(index / 100)/\(index).jpg") }
        let submitted = try CommandRunner.run(["submit", "in", "-o", "out", "--width", "32", "-j", "1", "--state", address], in: scratch.url)
        #expect(submitted.status == 0 && submitted.stdout == "1\n", "\(submitted.stderr)")
        // The one to be killed starts first, so that it is surely making files when it dies (the
        // others could otherwise take the whole job between them before it took any).
        let doomed = try RunningBatch(["worker", "--state", address, "--exit-when-empty"], in: scratch.url)
        let deadline = Date().addingTimeInterval(120)
        while scratch.files(under: "out").count < 30 && Date() < deadline { usleep(10_000) }
        let workers = [try RunningBatch(["worker", "--state", address, "--exit-when-empty"], in: scratch.url), doomed,
                           try RunningBatch(["worker", "--state", address, "--exit-when-empty"], in: scratch.url)]
        while scratch.files(under: "out").count < 60 && Date() < deadline { usleep(5_000) }
        let runs = QueueCLITests.children(of: workers[1].process.processIdentifier)
        workers[1].signal(SIGKILL)
        for run in runs { kill(run, SIGKILL) }
        _ = workers[1].finish()
        #expect(scratch.files(under: "out").count < count, "the kill came after the whole job: the test proved nothing")
        for worker in [workers[0], workers[2]] {
            let result = worker.finish()
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(scratch.files(under: "out").count == count,
                "no temporaries left, every output there: \(scratch.files(under: "out").filter { $0.contains("/.") })")
        try checkOutputsDecode(scratch, under: "out", width: 32)
        let store = try Self.store(address)
        let written = try QueueCLITests.writtenAttempts(store)
        let attempts = try store.attempts(job: 1)
        let unwritten = attempts.filter { written[$0.input] == nil }.map { "\($0.input): \($0.status) \($0.failure ?? "")" }
        #expect(written.count == count && written.values.allSatisfy { $0 == 1 },
                "\(written.count) of \(count) written; twice: \(written.filter { $0.value != 1 }); never: \(unwritten.prefix(10))")
        #expect(try store.job(1)?.status == .finished)
        // `jobs show` gives each run's share: the killed one's and those of the others that took
        // any (a worker may take the job up twice), together every file.
        let shown = try CommandRunner.run(["jobs", "show", "1", "--json", "--state", address], in: scratch.url)
        let object = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
        let shares = try #require(object?["workers"] as? [[String: Any]], "\(shown.stdout)\(shown.stderr)")
        #expect(shares.count >= 2 && shares.reduce(0) { $0 + ($1["written"] as? Int ?? 0) } == count, "\(shares)")
        #expect(shares.allSatisfy { $0["active"] as? Bool == false }, "\(shares)")
        let text = try CommandRunner.run(["jobs", "show", "1", "--state", address], in: scratch.url).stdout
        #expect(text.contains("  workers\n") && text.contains("files/s"), "\(text)")
    }

    /// Two submits with different priorities: a worker runs the higher one first, then the other.
    @Test func submitsByPriority() throws {
        let address = try Self.server().address(schema: PostgresCluster.schema())
        let scratch = try ScratchFolder()
        for index in 0..<3 { try scratch.write(try Inputs.jpeg(80, 60), to: "in/\(index).jpg") }
        let low = try CommandRunner.run(["submit", "in", "-o", "low", "--width", "20", "--state", address], in: scratch.url)
        let high = try CommandRunner.run(["submit", "--priority", "9", "in", "-o", "high", "--width", "30", "--state", address],
                                         in: scratch.url)
        #expect(low.stdout == "1\n" && high.stdout == "2\n", "\(low.stderr)\(high.stderr)")
        let worker = try CommandRunner.run(["worker", "--state", address, "--exit-when-empty"], in: scratch.url)
        #expect(worker.status == 0, "\(worker.stderr)")
        let order = worker.stderr.matches(of: /worker: job (\d+)/).map { Int($0.1)! }
        #expect(order == [2, 1], "\(worker.stderr)")
        try checkOutputsDecode(scratch, under: "high", width: 30)
        try checkOutputsDecode(scratch, under: "low", width: 20)
        let written = try QueueCLITests.writtenAttempts(Self.store(address))
        #expect(written.count == 3 && written.values.allSatisfy { $0 == 2 }, "each input once per job: \(written)")
    }

    /// The server stops for 10 s in the middle of a run: the run waits for it, reconnects and
    /// finishes; every input is written once and recorded once.
    @Test func serverStoppedMidRun() throws {
        let cluster: PostgresCluster
        do { cluster = try PostgresCluster.own() } catch { try Test.cancel("no PostgreSQL server: \(error)") }
        let address = cluster.address(schema: "restart")
        let scratch = try ScratchFolder()
        let count = 300
        let input = try Inputs.jpeg(400, 300)
        for index in 0..<count { try scratch.write(input, to: "in/\(index).jpg") }
        let run = try RunningBatch(["in", "-o", "out", "--width", "40", "-j", "1", "--state", address], in: scratch.url)
        let deadline = Date().addingTimeInterval(120)
        while scratch.files(under: "out").count < 20 && Date() < deadline { usleep(10_000) }
        cluster.stop()
        let stoppedAt = scratch.files(under: "out").count
        sleep(10)
        #expect(stoppedAt < count, "the run ended before the server stopped: the test proved nothing")
        try cluster.start()
        let result = run.finish()
        #expect(result.status == 0 && result.stderr.contains("\(count) written"), "\(result.stderr)")
        #expect(!result.stderr.contains("job store"), "the run's record is whole: \(result.stderr)")
        try checkOutputsDecode(scratch, under: "out", width: 40)
        let written = try QueueCLITests.writtenAttempts(Self.store(address))
        #expect(written.count == count && written.values.allSatisfy { $0 == 1 }, "\(written.filter { $0.value != 1 })")
        cluster.stop()
    }

    /// A worker's run stopped (SIGSTOP) past its lease while it makes files: another worker takes
    /// them over and finishes the job. Continued, the stalled run puts none of its outputs in
    /// place for a file it lost (its attempt is recorded abandoned) and finds the rest made: each
    /// input has exactly one written attempt and one output.
    @Test func stalledWorkerDoesNotCommit() throws {
        let address = try Self.server().address(schema: PostgresCluster.schema())
        let scratch = try ScratchFolder()
        let count = 80
        let input = try Inputs.jpeg(600, 450)
        for index in 0..<count { try scratch.write(input, to: "in/\(index).jpg") }
        let submitted = try CommandRunner.run(["submit", "in", "-o", "out", "--width", "64", "-j", "1", "--lease", "2", "--state", address],
                                              in: scratch.url)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let first = try RunningBatch(["worker", "--state", address, "--exit-when-empty"], in: scratch.url)
        let deadline = Date().addingTimeInterval(120)
        while scratch.files(under: "out").count < 5 && Date() < deadline { usleep(5_000) }
        let runs = QueueCLITests.children(of: first.process.processIdentifier)
        #expect(runs.count == 1)
        for run in runs { kill(run, SIGSTOP) }
        // Past the stalled run's lease, another worker takes its files and makes the job.
        let second = try CommandRunner.run(["worker", "--state", address, "--exit-when-empty"], in: scratch.url)
        #expect(second.status == 0, "\(second.stderr)")
        for run in runs { kill(run, SIGCONT) }
        let resumed = first.finish()
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(scratch.files(under: "out").count == count,
                "no temporaries left, every output there: \(scratch.files(under: "out").filter { $0.hasPrefix(".") })")
        try checkOutputsDecode(scratch, under: "out", width: 64)
        let store = try Self.store(address)
        let written = try QueueCLITests.writtenAttempts(store)
        #expect(written.count == count && written.values.allSatisfy { $0 == 1 }, "\(written.filter { $0.value != 1 })")
        let abandoned = try store.attempts(job: 1).filter { $0.status == "abandoned" }
        #expect(!abandoned.isEmpty, "the stalled run held no file when stopped: the test proved nothing")
    }

    /// An idle worker (polling every minute) starts a submitted job at once: it hears of it.
    @Test func idleWorkerHearsOfASubmission() throws {
        let address = try Self.server().address(schema: PostgresCluster.schema())
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(80, 60), to: "in/a.jpg")
        let worker = try RunningBatch(["worker", "--state", address, "--poll", "60"], in: scratch.url)
        // Once it waits (its first look at the queue found nothing).
        usleep(1_500_000)
        let submitted = Date()
        #expect(try CommandRunner.run(["submit", "in", "-o", "out", "--width", "20", "--state", address], in: scratch.url).status == 0)
        while scratch.files(under: "out").isEmpty && Date().timeIntervalSince(submitted) < 30 { usleep(10_000) }
        let waited = Date().timeIntervalSince(submitted)
        worker.signal(SIGTERM)
        let result = worker.finish()
        #expect(scratch.files(under: "out") == ["a.jpg"], "\(result.stderr)")
        #expect(waited < 10, "the worker took \(waited) s: it waited for its next poll, not for the notification")
        #expect(result.status == 143, "\(result.stderr)")
    }
}
