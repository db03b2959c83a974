// SafetyTests: real runs killed, interrupted, timed out, starved of disk and pointed outside their folder lose nothing.

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

/// A fastresize process the test can signal while it runs (or another program that runs it).
final class RunningBatch {
    let process: ChildProcess

    init(_ arguments: [String], in directory: URL, executable: URL = CommandRunner.binary) throws {
        process = try ChildProcess(executable.path, arguments, environment: CommandRunner.environment(),
                                   directory: directory.path, errors: .pipe)
    }

    func signal(_ number: Int32) { process.signal(number) }

    /// Waits for the end; returns the exit code (128 + n for a signal, as a shell reports it) and stderr.
    func finish() -> (status: Int32, stderr: String) {
        let text = String(decoding: readAll(process.errors!), as: UTF8.self)
        return (process.wait(), text)
    }
}

/// Every file under `folder` that is not a temporary decodes whole, at the size asked for.
func checkOutputsDecode(_ scratch: ScratchFolder, under folder: String, width: Int) throws {
    for file in scratch.files(under: folder) where !file.hasSuffix(AtomicFile.temporarySuffix) {
        let image = try decodeFile(scratch.path("\(folder)/\(file)"))
        #expect(image.width == width, "\(file)")
    }
}

private func contents(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
}

@Suite(.serialized) struct SafetyTests {
    /// SIGKILL at random moments: no partial file under a final name, ever; leftovers carry the
    /// temporary suffix and the next run removes them; inputs are untouched.
    @Test func killedRunsLeaveNoPartialOutputs() throws {
        let scratch = try ScratchFolder()
        let jpeg = try Inputs.jpeg(1600, 1200)
        let png = try Inputs.png(700, 500)
        for i in 0..<16 { try scratch.write(i % 2 == 0 ? jpeg : png, to: "in/\(i).\(i % 2 == 0 ? "jpg" : "png")") }
        let inputs = try scratch.files(under: "in").map { try contents(scratch.path("in/\($0)")) }
        var killedMidway = 0
        for round in 0..<12 {
            let run = try RunningBatch(["in", "-o", "out", "--width", "300", "--format", "png", "-j", "2", "--overwrite"],
                                       in: scratch.url)
            usleep(UInt32.random(in: 20_000...(200_000 + 40_000 * UInt32(round))))
            run.signal(SIGKILL)
            if run.finish().status == 128 + SIGKILL { killedMidway += 1 }
            try checkOutputsDecode(scratch, under: "out", width: 300)
            for file in scratch.files(under: "out") where file.contains(".fastresize") {
                #expect((file as NSString).lastPathComponent.hasPrefix(".") && file.hasSuffix(AtomicFile.temporarySuffix))
            }
        }
        #expect(killedMidway > 0, "no run was killed before it finished: the test proved nothing")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "300", "--format", "png"], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(scratch.files(under: "out").count == 16)
        #expect(!scratch.files().contains { $0.hasSuffix(AtomicFile.temporarySuffix) })
        try checkOutputsDecode(scratch, under: "out", width: 300)
        #expect(try scratch.files(under: "in").map { try contents(scratch.path("in/\($0)")) } == inputs)
    }

    /// A temporary whose writer still runs is not a leftover: a run beside it keeps it; one a
    /// process of this machine that is gone left is removed, and so is one another machine left
    /// untouched for over an hour.
    @Test func temporariesOfLiveRunsAreKept() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/a.jpg")
        let live = ".x.jpg.\(getpid())-abc" + AtomicFile.temporarySuffix
        let dead = ".y.jpg.999999999-abc" + AtomicFile.temporarySuffix
        // Written on other machines sharing the folder (their processes cannot be seen from
        // here): one being written now is kept, one untouched for two hours is not.
        let elsewhere = ".z.jpg.999999999-abc-othermachine" + AtomicFile.temporarySuffix
        let abandoned = ".w.jpg.999999999-abc-othermachine" + AtomicFile.temporarySuffix
        for name in [live, dead, elsewhere, abandoned] { try scratch.write([1, 2, 3], to: "out/sub/" + name) }
        let old = Date().addingTimeInterval(-7200)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: scratch.path("out/sub/" + abandoned))
        #expect(try CommandRunner.run(["in", "-o", "out", "--width", "20"], in: scratch.url).status == 0)
        #expect(scratch.files(under: "out") == ["a.jpg", "sub/" + live, "sub/" + elsewhere].sorted())
    }

    /// SIGINT and SIGTERM: the files in flight finish, no new one starts, the summary says so, the
    /// report lists the rest as cancelled, and the exit code is 130 or 143.
    @Test(arguments: [SIGINT, SIGTERM])
    func signalsStopGracefully(_ number: Int32) throws {
        let scratch = try ScratchFolder()
        let jpeg = try Inputs.jpeg(1600, 1200)
        for i in 0..<40 { try scratch.write(jpeg, to: "in/\(i).jpg") }
        let run = try RunningBatch(["in", "-o", "out", "--width", "300", "-j", "1", "--report", "report.json"], in: scratch.url)
        let deadline = Date().addingTimeInterval(60)
        while scratch.files(under: "out").filter({ !$0.hasPrefix(".") }).isEmpty && Date() < deadline { usleep(5_000) }
        run.signal(number)
        let (status, stderr) = run.finish()
        #expect(status == 128 + number)
        let name = number == SIGINT ? "SIGINT" : "SIGTERM"
        #expect(stderr.contains("stopped by \(name)"), "\(stderr)")
        let report = try loadReport(scratch.path("report.json"))
        #expect(report.summary.stoppedBy == name)
        #expect(report.summary.cancelled > 0)
        #expect(report.summary.written + report.summary.cancelled == 40)
        #expect(report.summary.written == scratch.files(under: "out").count)
        #expect(!scratch.files().contains { $0.hasSuffix(AtomicFile.temporarySuffix) })
        try checkOutputsDecode(scratch, under: "out", width: 300)
    }

    /// --timeout gives up a file that takes too long, in this process or in a worker, and the
    /// rest of the batch goes on; nothing of the given-up file is left.
    @Test(arguments: ["none", "all"])
    func timeoutGivesUpOneFile(_ isolate: String) throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.png(6000, 4000), to: "in/huge.png")
        try scratch.write(try Inputs.png(8, 8), to: "in/tiny.png")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "4", "--timeout", "0.3", "--isolate", isolate,
                                            "-j", "2", "--report", "report.json"], in: scratch.url)
        #expect(result.status == 1)
        #expect(result.stderr.contains("in/huge.png: gave up after 0.3 s (--timeout); no output written"), "\(result.stderr)")
        #expect(scratch.files(under: "out") == ["tiny.png"])
        #expect(try loadReport(scratch.path("report.json")).summary.written == 1)
    }

    /// A decoder that dies in a worker process fails that file only. The crash is a real signal
    /// delivered to the real worker while it decodes.
    @Test func aCrashedWorkerFailsOneFile() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.png(6000, 4000), to: "in/victim.png")
        for i in 0..<3 { try scratch.write(try Inputs.png(30, 20), to: "in/ok\(i).png") }
        let run = try RunningBatch(["in", "-o", "out", "--width", "10", "--isolate", "all", "-j", "1",
                                    "--report", "report.json", "--retries", "0"], in: scratch.url)
        // Largest file first: the first worker's first file is the victim.
        var worker: pid_t?
        let deadline = Date().addingTimeInterval(30)
        while worker == nil && Date() < deadline {
            worker = Self.children(of: run.process.processIdentifier).first
            if worker == nil { usleep(2_000) }
        }
        let pid = try #require(worker, "no worker process appeared")
        usleep(100_000)
        kill(pid, SIGSEGV)
        let (status, stderr) = run.finish()
        #expect(status == 1)
        #expect(stderr.contains("in/victim.png: the decoder crashed (signal 11, Segmentation fault)"), "\(stderr)")
        #expect(scratch.files(under: "out") == ["ok0.png", "ok1.png", "ok2.png"])
        #expect(!scratch.files().contains { $0.hasSuffix(AtomicFile.temporarySuffix) })

        // With retries (the default), a crash that does not recur costs one attempt, not the file.
        let again = try RunningBatch(["in", "-o", "retried", "--width", "10", "--isolate", "all", "-j", "1",
                                      "--retry-delay", "0.1"], in: scratch.url)
        var first: pid_t?
        while first == nil && Date() < deadline.addingTimeInterval(30) {
            first = Self.children(of: again.process.processIdentifier).first
            if first == nil { usleep(2_000) }
        }
        usleep(100_000)
        kill(try #require(first, "no worker process appeared"), SIGSEGV)
        let (retriedStatus, retriedErrors) = again.finish()
        #expect(retriedStatus == 0, "\(retriedErrors)")
        #expect(retriedErrors.contains("in/victim.png: the decoder crashed (signal 11, Segmentation fault)")
                && retriedErrors.contains("trying again in 0.") && retriedErrors.contains("(attempt 2 of 3)"), "\(retriedErrors)")
        #expect(scratch.files(under: "retried") == ["ok0.png", "ok1.png", "ok2.png", "victim.png"])
    }

    static func children(of pid: pid_t) -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { pid_t($0) }
        }
    }

    /// A full disk (here a file-size limit, ulimit -f): the file that does not fit fails with the
    /// system's reason and leaves nothing; the small ones are written.
    @Test func aWriteThatFailsLeavesNothing() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.png(600, 600), to: "in/big.png")
        try scratch.write(try Inputs.png(20, 20), to: "in/small.png")
        // dash counts ulimit -f in 512-byte blocks: 64 KiB, far below the big output's size (and
        // below what a new job store takes: this run keeps none; JobStoreCLITests fills a store's disk).
        let (status, stderr) = try RunningBatch(["-c", "ulimit -f 128; exec \"$0\" in -o out --scale 1 --format png --no-state",
                                                 CommandRunner.binary.path],
                                                in: scratch.url, executable: URL(fileURLWithPath: "/bin/sh")).finish()
        #expect(status == 1)
        #expect(stderr.contains("in/big.png: cannot write output: write failed: File too large"), "\(stderr)")
        #expect(scratch.files(under: "out") == ["small.png"])
    }

    /// A really full disk (a 256 KiB tmpfs, mounted in a user and mount namespace of its own):
    /// once an output finds no space, the files left for that disk are not decoded only to fail
    /// one by one with ENOSPC; the summary and the report say so, and nothing partial is left.
    @Test func aFullDiskStopsTheWritesToIt() throws {
        let scratch = try ScratchFolder()
        for index in 0..<16 { try scratch.write(try Inputs.png(200, 200), to: "in/\(String(format: "%02d", index)).png") }
        try FileManager.default.createDirectory(atPath: scratch.path("out"), withIntermediateDirectories: true)
        let script = "mount -t tmpfs -o size=256k tmpfs out && \"$0\" in -o out --scale 1 -j 1 --report r.json; "
            + "status=$?; ls -A out > listing; exit $status"
        let (status, stderr) = try RunningBatch(["--user", "--map-root-user", "--mount", "/bin/sh", "-c", script,
                                                 CommandRunner.binary.path],
                                                in: scratch.url, executable: URL(fileURLWithPath: "/usr/bin/unshare")).finish()
        #expect(status == 1, "\(stderr)")
        #expect(stderr.contains("No space left on device"), "\(stderr)")
        let report = try loadReport(scratch.path("r.json"))
        let notAttempted = report.summary.notAttemptedDiskFull
        #expect(notAttempted >= 8 && stderr.contains("the output disk filled up: \(notAttempted) files not attempted"), "\(stderr)")
        #expect(report.files.filter { $0.error?.hasPrefix("not attempted: the disk holding") == true }.count == notAttempted)
        #expect(report.summary.failuresByKind["io"] == report.summary.failed)
        // What is on the full disk is whole outputs only: no temporaries.
        let listing = try String(contentsOfFile: scratch.path("listing"), encoding: .utf8).split(separator: "\n")
            .filter { $0 != ".fastresize" }     // the job store, on the same full disk
        #expect(listing.count == report.summary.written && !listing.contains { $0.hasSuffix(AtomicFile.temporarySuffix) }, "\(listing)")
    }

    /// A symbolic link inside the output folder cannot carry outputs out of it.
    @Test func outputsDoNotFollowLinksOut() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/sub/a.jpg")
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/b.jpg")
        try FileManager.default.createDirectory(atPath: scratch.path("elsewhere"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.path("out"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: scratch.path("out/sub"), withDestinationPath: scratch.path("elsewhere"))
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "20"], in: scratch.url)
        #expect(result.status == 1)
        #expect(result.stderr.contains("in/sub/a.jpg: output path \(scratch.path("elsewhere"))"), "\(result.stderr)")
        #expect(scratch.files(under: "elsewhere").isEmpty)
        #expect(scratch.files(under: "out") == ["b.jpg"])
    }

    /// Files and folders the user may not read fail one by one, with the system's reason. Root
    /// reads everything, so as root the run is made as nobody (setpriv, from util-linux).
    @Test func unreadableInputsFailOneByOne() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/ok.jpg")
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/secret.jpg")
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/locked/inside.jpg")
        chmod(scratch.path("in/secret.jpg"), 0)
        chmod(scratch.path("in/locked"), 0)
        defer { chmod(scratch.path("in/locked"), 0o755) }      // so the scratch folder can be removed
        let arguments = ["in", "-o", "out", "--width", "20"]
        let run: RunningBatch
        if getuid() == 0 {
            chmod(scratch.url.path, 0o777)
            run = try RunningBatch(["--reuid=65534", "--regid=65534", "--clear-groups", CommandRunner.binary.path] + arguments,
                                   in: scratch.url, executable: URL(fileURLWithPath: "/usr/bin/setpriv"))
        } else {
            run = try RunningBatch(arguments, in: scratch.url)
        }
        let (status, stderr) = run.finish()
        #expect(status == 1, "\(stderr)")
        #expect(stderr.contains("in/secret.jpg: cannot read: Permission denied"), "\(stderr)")
        #expect(stderr.contains("in/locked: cannot read:"), "\(stderr)")
        #expect(scratch.files(under: "out") == ["ok.jpg"])
    }

    /// An output folder inside the input folder is not read back as input.
    @Test func theOutputFolderIsNotInput() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/a.jpg")
        #expect(try CommandRunner.run(["in", "-o", "in/out", "--width", "20"], in: scratch.url).status == 0)
        let again = try CommandRunner.run(["in", "-o", "in/out", "--width", "20", "--overwrite", "-v"], in: scratch.url)
        #expect(again.status == 0)
        #expect(scratch.files(under: "in") == ["a.jpg", "out/a.jpg"])
        #expect(!again.stdout.contains("in/out/a.jpg ->"))
    }
}

@Suite struct StreamSignalTests {
    /// SIGTERM while a FIFO input waits for a writer ends the run at once (it was ignored, and
    /// the run hung).
    @Test func aSignalEndsTheWaitForAStream() throws {
        let scratch = try ScratchFolder()
        #expect(mkfifo(scratch.path("pipe"), 0o644) == 0)
        let run = try RunningBatch(["pipe", "-o", "out", "--fit", "30x30", "--timeout", "0"], in: scratch.url)
        // Signalled once it waits on the FIFO (it has it open), not while it is still starting.
        let descriptors = "/proc/\(run.process.processIdentifier)/fd"
        let waitStart = Date()
        while Date().timeIntervalSince(waitStart) < 20, !((try? FileManager.default.contentsOfDirectory(atPath: descriptors)) ?? []).contains(where: {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: descriptors + "/" + $0)) == scratch.path("pipe")
        }) {
            usleep(20_000)
        }
        let start = Date()
        run.signal(SIGTERM)
        // Never left waiting: a run that ignored the signal is killed after 10 s, and fails here.
        let process = run.process
        DispatchQueue.global().asyncAfter(deadline: .now() + 10) { process.signal(SIGKILL) }
        let (status, stderr) = run.finish()
        #expect(status == 143, "\(stderr)")
        #expect(Date().timeIntervalSince(start) < 5)
    }

    /// SIGTERM at any moment of start-up ends the run waiting on a FIFO: before the run watches
    /// signals (the default action), or while libdispatch is still registering its watch (the
    /// signal is kept and raised again; it used to be dropped, and the run waited for ever).
    @Test func aSignalAtStartUpIsNeverLost() throws {
        let scratch = try ScratchFolder()
        #expect(mkfifo(scratch.path("pipe"), 0o644) == 0)
        for attempt in 0..<16 {
            let run = try RunningBatch(["pipe", "-o", "out", "--fit", "30x30", "--timeout", "0", "--no-state"], in: scratch.url)
            usleep(useconds_t(attempt * 5_000))     // 0 to 75 ms into start-up
            let start = Date()
            run.signal(SIGTERM)
            let process = run.process
            DispatchQueue.global().asyncAfter(deadline: .now() + 10) { process.signal(SIGKILL) }
            let (status, stderr) = run.finish()
            #expect(status == 143, "signalled \(attempt * 5) ms in: \(stderr)")
            #expect(Date().timeIntervalSince(start) < 5, "signalled \(attempt * 5) ms in")
        }
    }
}
