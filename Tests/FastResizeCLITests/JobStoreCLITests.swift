// JobStoreCLITests: the job store as a user meets it — incremental re-runs, runs killed and run again, stores refused.

import FastResize
import FastResizeJobs
import FastResizeSQLite
import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct JobStoreCLITests {
    /// The same command again does nothing; a touch changes nothing; one changed input is made
    /// again alone; another quality makes everything again, replacing FastResize's own outputs.
    @Test func incrementalRunsThroughTheProcess() throws {
        let scratch = try ScratchFolder()
        for index in 0..<4 { try scratch.write(try Inputs.jpeg(300 + index, 200), to: "in/\(index).jpg") }
        let command = ["in", "-o", "out", "--width", "100", "--report", "r.json"]
        let first = try CommandRunner.run(command, in: scratch.url)
        #expect(first.status == 0 && first.stderr.contains("4 written"), "\(first.stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch.path("out/.fastresize/state.db")))

        let again = try CommandRunner.run(command, in: scratch.url)
        #expect(again.stderr.contains("nothing to do: 4 up to date"), "\(again.stderr)")
        #expect(try loadReport(scratch.path("r.json")).files.allSatisfy { $0.status == .skipped && $0.reason == .upToDate })

        for index in 0..<4 { #expect(utimes(scratch.path("in/\(index).jpg"), nil) == 0) }
        let touched = try CommandRunner.run(command, in: scratch.url)
        #expect(touched.stderr.contains("nothing to do: 4 up to date"), "\(touched.stderr)")

        try scratch.write(try Inputs.jpeg(500, 200), to: "in/2.jpg")
        let changed = try CommandRunner.run(command, in: scratch.url)
        #expect(changed.stderr.contains("1 written, 3 skipped"), "\(changed.stderr)")
        #expect(try loadReport(scratch.path("r.json")).files.first { $0.input == "in/2.jpg" }?.status == .written)

        let requality = try CommandRunner.run(command + ["--quality", "60"], in: scratch.url)
        #expect(requality.stderr.contains("4 written, 0 skipped"), "\(requality.stderr)")

        // The history: five runs, newest first; the first made four files.
        let listed = try CommandRunner.run(["jobs", "-o", "out"], in: scratch.url)
        #expect(listed.status == 0, "\(listed.stderr)")
        let rows = listed.stdout.split(separator: "\n").dropFirst()
        #expect(rows.count == 5 && rows.allSatisfy { $0.contains("finished") && $0.contains("width 100 same") }, "\(listed.stdout)")
        let shown = try CommandRunner.run(["jobs", "show", "1", "-o", "out", "--json"], in: scratch.url)
        let attempts = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])["attempts"] as? [[String: Any]]
        #expect(attempts?.count == 4 && attempts?.allSatisfy { $0["status"] as? String == "written" } == true, "\(shown.stdout)")
        let text = try CommandRunner.run(["jobs", "show", "4", "-o", "out"], in: scratch.url)
        #expect(text.stdout.contains("written   in/2.jpg") && text.stdout.contains("1 written, 3 skipped"), "\(text.stdout)")
        let missing = try CommandRunner.run(["jobs", "show", "99", "-o", "out"], in: scratch.url)
        #expect(missing.status == 2 && missing.stderr.contains("no job 99"))

        // The figures: 4 + 1 + 4 files written over five jobs, their megapixels and bytes.
        let stats = try CommandRunner.run(["jobs", "stats", "-o", "out", "--json"], in: scratch.url)
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any], "\(stats.stderr)")
        #expect(figures["jobs"] as? Int == 5 && figures["written"] as? Int == 9, "\(stats.stdout)")
        let megapixels = try #require(figures["megapixels"] as? Double)
        // (300 + 301 + 302 + 303) × 200, then 500 × 200, then (300 + 301 + 500 + 303) × 200.
        #expect(abs(megapixels - 0.622) < 0.001, "\(megapixels)")
        #expect((figures["bytes_in"] as? Int ?? 0) > (figures["bytes_out"] as? Int ?? 0) && (figures["bytes_out"] as? Int ?? 0) > 0)
        #expect((figures["slowest"] as? [[String: Any]])?.count == 5)
        let figuresText = try CommandRunner.run(["jobs", "stats", "-o", "out"], in: scratch.url)
        #expect(figuresText.stdout.contains("5 jobs: 9 written") && figuresText.stdout.contains("megapixels/s"), "\(figuresText.stdout)")

        // Without a store a run is as it always was: existing outputs are someone's, kept.
        let stateless = try CommandRunner.run(command + ["--quality", "70", "--no-state"], in: scratch.url)
        #expect(stateless.stderr.contains("nothing to do: 4 up to date"), "\(stateless.stderr)")
        #expect(try loadReport(scratch.path("r.json")).files.allSatisfy { $0.reason == .exists })
    }

    /// --prune through the process: a deleted input's output goes, the summary says so; a bad
    /// --retries is refused before anything is done.
    @Test func pruneAndRetriesOptions() throws {
        let scratch = try ScratchFolder()
        for name in ["a", "b"] { try scratch.write(try Inputs.jpeg(300, 200), to: "in/\(name).jpg") }
        #expect(try CommandRunner.run(["in", "-o", "out", "--width", "50"], in: scratch.url).status == 0)
        try FileManager.default.removeItem(atPath: scratch.path("in/b.jpg"))
        let pruned = try CommandRunner.run(["in", "-o", "out", "--width", "50", "--prune", "--report", "r.json"], in: scratch.url)
        #expect(pruned.status == 0 && pruned.stderr.contains("1 gone, FastResize's outputs of it removed"), "\(pruned.stderr)")
        #expect(scratch.files(under: "out") == ["a.jpg"])
        let report = try loadReport(scratch.path("r.json"))
        #expect(report.summary.removed == 1 && report.files.contains { $0.status == .removed && $0.input == "in/b.jpg" })
        let bad = try CommandRunner.run(["in", "-o", "out", "--width", "50", "--retries", "-1"], in: scratch.url)
        #expect(bad.status == 2 && bad.stderr.contains("--retries"), "\(bad.stderr)")
    }

    /// A run killed part way is finished by `jobs resume`, from its folder, with its own command:
    /// only what it did not make is made, and the resumed job ends finished.
    @Test func resumeFinishesAnInterruptedJob() throws {
        let scratch = try ScratchFolder()
        for index in 0..<120 { try scratch.write(try Inputs.jpeg(400, 300), to: "in/\(index).jpg") }
        let run = try RunningBatch(["in", "-o", "out", "--width", "64", "-j", "1"], in: scratch.url)
        // Killed once its job is on record and some files are recorded made, long before the last.
        let deadline = Date().addingTimeInterval(60)
        var recorded = 0
        while recorded < 5 && Date() < deadline {
            usleep(10_000)
            guard FileManager.default.fileExists(atPath: scratch.path("out/.fastresize/state.db")),
                  let store = try? SQLiteJobStore(path: scratch.path("out/.fastresize/state.db"), create: false) else { continue }
            recorded = (try? store.tally(job: 1).written) ?? 0
        }
        run.signal(SIGKILL)
        #expect(run.finish().status == 128 + SIGKILL)
        let made = scratch.files(under: "out").filter { !$0.hasSuffix(AtomicFile.temporarySuffix) }.count
        #expect(recorded >= 5 && made < 120, "the run finished before it was killed: the test proved nothing")

        // From elsewhere: the command runs in its own folder.
        let resumed = try CommandRunner.run(["jobs", "resume", "--state", scratch.path("out/.fastresize/state.db")],
                                            in: URL(fileURLWithPath: "/"))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming job 1: fastresize in -o out --width 64 -j 1"), "\(resumed.stderr)")
        // What was made and recorded is skipped; files whose records were still waiting for the
        // next commit when the run was killed (those of its last few milliseconds) are made again.
        let counts = try #require(resumed.stderr.firstMatch(of: /(\d+) written, (\d+) skipped/), "\(resumed.stderr)")
        let (written, skipped) = (Int(counts.1) ?? 0, Int(counts.2) ?? 0)
        #expect(written + skipped == 120 && skipped <= made && skipped >= recorded, "\(resumed.stderr)")
        #expect(scratch.files(under: "out").filter { !$0.hasSuffix(AtomicFile.temporarySuffix) }.count == 120)
        let none = try CommandRunner.run(["jobs", "resume", "-o", "out"], in: scratch.url)
        #expect(none.status == 2 && none.stderr.contains("no interrupted job to resume: the newest, 2, is finished"), "\(none.stderr)")
    }

    /// --state puts the store elsewhere; --no-state keeps none.
    @Test func stateOptionPlacesTheStore() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(300, 200), to: "in/a.jpg")
        #expect(try CommandRunner.run(["in", "-o", "out", "--width", "50", "--state", "elsewhere/s.db"], in: scratch.url).status == 0)
        #expect(FileManager.default.fileExists(atPath: scratch.path("elsewhere/s.db")))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out/.fastresize")))
        #expect(try CommandRunner.run(["in", "-o", "none", "--width", "50", "--no-state"], in: scratch.url).status == 0)
        #expect(scratch.files(under: "none", includingStore: true) == ["a.jpg"])
    }

    /// A store that is not one (or is damaged) stops the run before any file, exit 2, naming the
    /// file and what to do; the file is left as it was.
    @Test func badStoreIsRefused() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(300, 200), to: "in/a.jpg")
        let junk = Array(String(repeating: "this is no database\n", count: 500).utf8)
        try scratch.write(junk, to: "out/.fastresize/state.db")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "50"], in: scratch.url)
        #expect(result.status == 2)
        #expect(result.stderr.contains("out/.fastresize/state.db") && result.stderr.contains("--no-state"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out/a.jpg")))
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.path("out/.fastresize/state.db")))) == junk)

        // A real store whose pages past the schema are overwritten: refused as it is read, before any file.
        #expect(try CommandRunner.run(["in", "-o", "good", "--width", "50"], in: scratch.url).status == 0)
        try FileManager.default.removeItem(atPath: scratch.path("good/a.jpg"))
        // A run leaves its records in the write-ahead log; `jobs` closes the store, which folds them in.
        #expect(try CommandRunner.run(["jobs", "-o", "good"], in: scratch.url).status == 0)
        let path = scratch.path("good/.fastresize/state.db")
        #expect((FileStamp.of(path)?.size ?? 0) > 8192)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        for index in 8192..<bytes.count { bytes[index] = UInt8(truncatingIfNeeded: index &* 7919) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let damaged = try CommandRunner.run(["in", "-o", "good", "--width", "50"], in: scratch.url)
        #expect(damaged.status == 2 && damaged.stderr.contains("good/.fastresize/state.db"), "\(damaged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("good/a.jpg")))
    }

    /// A store on a full disk (a 16 KiB tmpfs in a user and mount namespace of its own) stops
    /// the run before any file is read, exit 2, with SQLite's reason; the outputs' disk is untouched.
    @Test func fullDiskUnderTheStoreStopsTheRun() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(300, 200), to: "in/a.jpg")
        try FileManager.default.createDirectory(atPath: scratch.path("store"), withIntermediateDirectories: true)
        let script = "mount -t tmpfs -o size=16k tmpfs store && \"$0\" in -o out --width 50 --state store/state.db"
        let (status, stderr) = try RunningBatch(["--user", "--map-root-user", "--mount", "/bin/sh", "-c", script,
                                                 CommandRunner.binary.path],
                                                in: scratch.url, executable: URL(fileURLWithPath: "/usr/bin/unshare")).finish()
        #expect(status == 2, "\(stderr)")
        #expect(stderr.contains("store/state.db") && stderr.contains("No space left on device"), "\(stderr)")
        #expect(scratch.files(under: "out").isEmpty)
    }

    /// Killed at random moments and run again, ten times: in the end every input has its output,
    /// written under its final name by exactly one recorded successful attempt, and every output
    /// decodes; no run made anything twice that had been made.
    @Test func killedRunsResumeWhereTheyStopped() throws {
        let scratch = try ScratchFolder()
        let count = 300
        for index in 0..<count { try scratch.write(try Inputs.jpeg(160 + index % 7, 120), to: "in/\(index / 50)/\(index).jpg") }
        let command = ["in", "-o", "out", "--width", "40", "-j", "2"]
        var killedMidway = 0
        for _ in 0..<10 {
            let run = try RunningBatch(command, in: scratch.url)
            // Over the whole of a first run (about 0.3 s in a debug build): before its new store
            // is made (it is made while the headers are read), while files are made, after.
            usleep(UInt32.random(in: 10_000...400_000))
            run.signal(SIGKILL)
            if run.finish().status == 128 + SIGKILL { killedMidway += 1 }
        }
        #expect(killedMidway > 0, "no run was killed before it finished: the test proved nothing")
        let last = try CommandRunner.run(command, in: scratch.url)
        #expect(last.status == 0, "\(last.stderr)")
        let outputs = scratch.files(under: "out").filter { !$0.hasSuffix(AtomicFile.temporarySuffix) }
        #expect(outputs.count == count)
        try checkOutputsDecode(scratch, under: "out", width: 40)

        let store = try SQLiteJobStore(path: scratch.path("out/.fastresize/state.db"))
        let jobs = try store.jobs(limit: nil)
        // A run killed before it opened the store left no job.
        #expect(jobs.count >= 2 && jobs.count <= 11)
        var written: [String: Int] = [:]
        for job in jobs {
            for attempt in try store.attempts(job: job.id) where attempt.status == "written" { written[attempt.input, default: 0] += 1 }
        }
        #expect(written.count == count)
        #expect(written.values.allSatisfy { $0 == 1 }, "\(written.filter { $0.value != 1 })")
        // The killed runs' jobs are not left looking finished (one killed after its last record may be).
        let finished = jobs.filter { $0.status == .finished }.count
        #expect(finished >= jobs.count - killedMidway && jobs.first?.status == .finished)
        let again = try CommandRunner.run(command, in: scratch.url)
        #expect(again.stderr.contains("nothing to do: \(count) up to date"), "\(again.stderr)")
        // `jobs` shows the killed runs' jobs as interrupted, not running: their processes are gone.
        let listed = try CommandRunner.run(["jobs", "-o", "out", "--json", "--limit", "0"], in: scratch.url)
        let statuses = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]).map { $0["status"] as? String }
        #expect(statuses.count == jobs.count + 1 && !statuses.contains("running"))
        #expect(statuses.filter { $0 == "interrupted" }.count == jobs.count - finished)
    }
}
