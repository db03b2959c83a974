// QueueCLITests: the job store as a queue, through real processes — runs and workers sharing outputs, priorities, a killed worker, cancel and retry.

import FastResize
import FastResizeJobs
import FastResizeSQLite
import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct QueueCLITests {
    /// Every input of the store's jobs by how many attempts wrote it.
    static func writtenAttempts(_ store: any JobStore) throws -> [String: Int] {
        var written: [String: Int] = [:]
        for job in try store.jobs(limit: nil) {
            for attempt in try store.attempts(job: job.id) where attempt.status == "written" { written[attempt.input, default: 0] += 1 }
        }
        return written
    }

    /// The "N written, M skipped" of a summary line (the last one, when a worker ran several jobs).
    static func counts(_ stderr: String, after marker: String = "") -> (written: Int, skipped: Int)? {
        let text = marker.isEmpty ? Substring(stderr) : stderr.range(of: marker).map { stderr[$0.upperBound...] } ?? ""
        guard let match = text.firstMatch(of: /(\d+) written, (\d+) skipped/) else { return nil }
        return (Int(match.1)!, Int(match.2)!)
    }

    /// The processes whose parent is `pid`.
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            // After the name: state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }

    /// Two ordinary runs of one command started at once: both finish, every input is written
    /// once in all (one run writes it, the other finds it made), and every output decodes.
    @Test func twoRunsAtOnceShareTheOutputs() throws {
        let scratch = try ScratchFolder()
        let count = 120
        for index in 0..<count { try scratch.write(try Inputs.jpeg(200 + index % 5, 150), to: "in/\(index).jpg") }
        let command = ["in", "-o", "out", "--width", "60", "-j", "1"]
        let runs = try (0..<2).map { _ in try RunningBatch(command, in: scratch.url) }
        let results = runs.map { $0.finish() }
        var written = 0
        for result in results {
            #expect(result.status == 0, "\(result.stderr)")
            let counts = try #require(Self.counts(result.stderr), "\(result.stderr)")
            #expect(counts.written + counts.skipped == count, "\(result.stderr)")
            written += counts.written
        }
        #expect(written == count)
        try checkOutputsDecode(scratch, under: "out", width: 60)
        let attempts = try Self.writtenAttempts(SQLiteJobStore(path: scratch.path("out/.fastresize/state.db")))
        #expect(attempts.count == count && attempts.values.allSatisfy { $0 == 1 }, "\(attempts.filter { $0.value != 1 })")
    }

    /// Two workers on one store: the higher-priority job first; the 200 files of the other taken
    /// from its queue in two disjoint shares, each written once; the job counted whole.
    @Test func workersShareQueuedJobsByPriority() throws {
        let scratch = try ScratchFolder()
        let count = 200
        for index in 0..<count { try scratch.write(try Inputs.jpeg(120 + index % 5, 90), to: "big/\(index / 50)/\(index).jpg") }
        for index in 0..<4 { try scratch.write(try Inputs.jpeg(100, 80), to: "small/\(index).jpg") }
        let low = try CommandRunner.run(["submit", "big", "-o", "out", "--width", "40", "-j", "1", "--state", "q.db"], in: scratch.url)
        #expect(low.status == 0 && low.stdout == "1\n", "\(low.stderr)")
        let high = try CommandRunner.run(["submit", "--priority", "5", "small", "-o", "out2", "--width", "30", "--state", "q.db"],
                                         in: scratch.url)
        #expect(high.status == 0 && high.stdout == "2\n", "\(high.stderr)")
        let listed = try CommandRunner.run(["jobs", "--state", "q.db"], in: scratch.url)
        #expect(listed.stdout.split(separator: "\n").dropFirst().allSatisfy { $0.contains("queued") }, "\(listed.stdout)")

        let workers = try (0..<2).map { _ in try RunningBatch(["worker", "--state", "q.db", "--exit-when-empty"], in: scratch.url) }
        let results = workers.map { $0.finish() }
        var shares: [Int] = []
        for result in results {
            #expect(result.status == 0, "\(result.stderr)")
            let share = try #require(Self.counts(result.stderr, after: "worker: job 1 "), "\(result.stderr)")
            // Each run reports the files it took from the job's queue (and any it found up to date).
            #expect(share.written > 0 && share.written + share.skipped <= count, "\(share)")
            shares.append(share.written)
        }
        #expect(shares.allSatisfy { $0 > 0 } && shares.reduce(0, +) == count, "\(shares)")
        let store = try SQLiteJobStore(path: scratch.path("q.db"))
        let written = try Self.writtenAttempts(store)
        #expect(written.count == count + 4 && written.values.allSatisfy { $0 == 1 }, "\(written.filter { $0.value != 1 }) \(results.map(\.stderr))")
        let jobs = try store.jobs(limit: nil)
        let (small, big) = (try #require(jobs.first { $0.id == 2 }), try #require(jobs.first { $0.id == 1 }))
        #expect(small.status == .finished && big.status == .finished)
        #expect(try #require(small.startedNs) < (try #require(big.startedNs)))
        #expect(big.counts?.written == count && big.counts?.failed == 0)
        try checkOutputsDecode(scratch, under: "out", width: 40)
    }

    /// A worker killed mid-job, with its run: another worker takes the job over, files the dead
    /// run held included; every file is written under its final name by one attempt.
    @Test func killedWorkerLeavesItsFilesToOthers() throws {
        let scratch = try ScratchFolder()
        let count = 150
        for index in 0..<count { try scratch.write(try Inputs.jpeg(300 + index % 5, 200), to: "in/\(index).jpg") }
        #expect(try CommandRunner.run(["submit", "in", "-o", "out", "--width", "50", "-j", "2"], in: scratch.url).status == 0)
        let worker = try RunningBatch(["worker", "-o", "out"], in: scratch.url)
        // Killed once its run has made some files, and not all.
        let deadline = Date().addingTimeInterval(60)
        while scratch.files(under: "out").count < 10 && Date() < deadline { usleep(20_000) }
        let runs = Self.children(of: worker.process.processIdentifier)
        #expect(runs.count == 1)
        worker.signal(SIGKILL)
        for run in runs { kill(run, SIGKILL) }
        _ = worker.finish()
        let made = scratch.files(under: "out").filter { !$0.hasSuffix(AtomicFile.temporarySuffix) }.count
        #expect(made > 0 && made < count, "the kill came after the whole job: the test proved nothing")

        let other = try CommandRunner.run(["worker", "-o", "out", "--exit-when-empty"], in: scratch.url)
        #expect(other.status == 0 && other.stderr.contains("worker: job 1 "), "\(other.stderr)")
        #expect(scratch.files(under: "out").count == count, "no temporaries left, every output there: \(scratch.files(under: "out").filter { $0.hasPrefix(".") || $0.contains("/.") })")
        try checkOutputsDecode(scratch, under: "out", width: 50)
        let store = try SQLiteJobStore(path: scratch.path("out/.fastresize/state.db"))
        let written = try Self.writtenAttempts(store)
        #expect(written.count == count && written.values.allSatisfy { $0 == 1 }, "\(written.filter { $0.value != 1 })")
        #expect(try store.job(1)?.status == .finished)
    }

    /// A worker waiting for jobs has the next job's run started already (a spare run, waiting on
    /// its standard input): a job submitted then runs in that very process and makes every file
    /// once; the worker then starts another spare, and takes it with it when it stops.
    @Test func aWaitingWorkersSpareRunTakesTheNextJob() throws {
        let scratch = try ScratchFolder()
        let count = 20
        for index in 0..<count { try scratch.write(try Inputs.jpeg(200 + index, 150), to: "in/\(index).jpg") }
        // The store made by a job cancelled before any worker: the worker finds nothing to do.
        #expect(try CommandRunner.run(["submit", "in", "-o", "out", "--width", "50"], in: scratch.url).status == 0)
        #expect(try CommandRunner.run(["jobs", "cancel", "1", "-o", "out"], in: scratch.url).status == 0)
        let worker = try RunningBatch(["worker", "-o", "out", "--poll", "0.1"], in: scratch.url)
        let pid = worker.process.processIdentifier
        func spareRuns(besides old: Int32? = nil) -> [Int32] {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                let spares = Self.children(of: pid).filter { child in
                    child != old && ((try? String(contentsOfFile: "/proc/\(child)/cmdline", encoding: .utf8)) ?? "").contains("--spare-run")
                }
                if !spares.isEmpty { return spares }
                usleep(20_000)
            }
            return []
        }
        let spares = spareRuns()
        #expect(spares.count == 1, "one spare run waits beside the idle worker")
        let spare = try #require(spares.first)
        #expect(try CommandRunner.run(["submit", "in", "-o", "out", "--width", "50"], in: scratch.url).status == 0)
        let store = try SQLiteJobStore(path: scratch.path("out/.fastresize/state.db"))
        let deadline = Date().addingTimeInterval(60)
        while try store.job(2)?.status != .finished, Date() < deadline { usleep(20_000) }
        let job = try #require(try store.job(2))
        #expect(job.status == .finished && job.counts?.written == count)
        #expect(job.pid == spare, "the job ran in the spare run")
        let next = spareRuns(besides: spare)
        #expect(next.count == 1, "a new spare waits for the next job")
        worker.signal(SIGTERM)
        let result = worker.finish()
        #expect(result.status == 128 + SIGTERM, "\(result.stderr)")
        #expect(next.allSatisfy { kill($0, 0) != 0 }, "the spare went with its worker")
        let written = try Self.writtenAttempts(store)
        #expect(written.count == count && written.values.allSatisfy { $0 == 1 }, "\(written.filter { $0.value != 1 })")
        try checkOutputsDecode(scratch, under: "out", width: 50)
    }

    /// A cancelled job is never run; a job's failed files are made again by `jobs retry`, and
    /// only they (a file that arrived since is not); what cannot be queued is refused.
    @Test func cancelAndRetry() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(200, 100), to: "in/a.jpg")
        for name in ["b", "c"] { try scratch.write(try Inputs.jpeg(200, 100), to: "in/sub/\(name).jpg") }

        #expect(try CommandRunner.run(["submit", "in", "-o", "out", "--width", "50"], in: scratch.url).stdout == "1\n")
        let cancelled = try CommandRunner.run(["jobs", "cancel", "1", "-o", "out"], in: scratch.url)
        #expect(cancelled.status == 0 && cancelled.stdout.contains("will not run"), "\(cancelled.stderr)")
        let idle = try CommandRunner.run(["worker", "-o", "out", "--exit-when-empty"], in: scratch.url)
        #expect(idle.status == 0 && !idle.stderr.contains("worker: job"), "\(idle.stderr)")
        #expect(scratch.files(under: "out").isEmpty)
        let again = try CommandRunner.run(["jobs", "cancel", "1", "-o", "out"], in: scratch.url)
        #expect(again.status == 2 && again.stderr.contains("job 1 is cancelled"), "\(again.stderr)")

        // out/sub is a file: in/sub's outputs fail (an I/O error), then it is moved away.
        try scratch.write([1], to: "out/sub")
        let failing = try CommandRunner.run(["in", "-o", "out", "--width", "50", "--retries", "0"], in: scratch.url)
        #expect(failing.status == 1 && failing.stderr.contains("1 written, 0 skipped, 2 failed"), "\(failing.stderr)")
        try FileManager.default.removeItem(atPath: scratch.path("out/sub"))
        try scratch.write(try Inputs.jpeg(200, 100), to: "in/new.jpg")
        let retried = try CommandRunner.run(["jobs", "retry", "2", "-o", "out"], in: scratch.url)
        #expect(retried.status == 0 && retried.stderr.contains("retrying the 2 failed files of job 2"), "\(retried.stderr)")
        #expect(retried.stderr.contains("2 written, 0 skipped, 0 failed"), "\(retried.stderr)")
        #expect(scratch.files(under: "out") == ["a.jpg", "sub/b.jpg", "sub/c.jpg"])
        let nothing = try CommandRunner.run(["jobs", "retry", "3", "-o", "out"], in: scratch.url)
        #expect(nothing.status == 0 && nothing.stdout.contains("no failed files"), "\(nothing.stdout)")

        let stateless = try CommandRunner.run(["submit", "in", "-o", "out", "--width", "50", "--no-state"], in: scratch.url)
        #expect(stateless.status == 2 && stateless.stderr.contains("--no-state"), "\(stateless.stderr)")
        let bad = try CommandRunner.run(["submit", "in", "-o", "out"], in: scratch.url)
        #expect(bad.status == 2 && bad.stdout.isEmpty, "\(bad.stderr)")
        let badPriority = try CommandRunner.run(["submit", "--priority", "high", "in", "-o", "out", "--width", "9"], in: scratch.url)
        #expect(badPriority.status == 2 && badPriority.stderr.contains("--priority"), "\(badPriority.stderr)")
        #expect(try SQLiteJobStore(path: scratch.path("out/.fastresize/state.db")).jobs(limit: nil).count == 3)
    }
}
