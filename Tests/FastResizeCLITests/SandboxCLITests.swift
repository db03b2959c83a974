// SandboxCLITests: decoding workers under --sandbox, as real processes — what an exploit would try fails, /proc shows the filter, outputs do not change.

import FastResize
import FastResizeSandbox
import Foundation
import Testing
import TestSupport

@Suite struct SandboxCLITests {
    static var landlock: Bool { Sandbox.landlockABI > 0 }

    /// A worker that tries what an exploit would (test hook): every attempt is refused, the file
    /// fails as a crash, the batch goes on; nothing was written where the probe tried.
    @Test func whatAnExploitWouldTryIsRefused() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/sandbox-probe.jpg")
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/fine.jpg")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "10", "--isolate", "all", "--sandbox", "on", "--retries", "0",
                                            "--no-state", "--report", "report.json"],
                                           in: scratch.url, environment: ["FASTRESIZE_TEST_HOOKS": "1"])
        guard Self.landlock else {
            // Where the kernel has none, --sandbox on refuses to run, saying why.
            #expect(result.status == 2 && result.stderr.contains("Landlock"), "\(result.stderr)")
            return
        }
        for attempt in ["read /etc/passwd", "write into the output folder", "write to /tmp", "open a socket", "run /bin/sh"] {
            #expect(result.stderr.contains("sandbox probe: \(attempt): refused"), "\(attempt): \(result.stderr)")
        }
        #expect(!result.stderr.contains("ALLOWED"), "\(result.stderr)")
        #expect(result.status == 1)
        let report = try loadReport(scratch.path("report.json"))
        let probe = try #require(report.files.first { $0.input.hasSuffix("sandbox-probe.jpg") })
        #expect(probe.status == .failed && probe.errorKind == .crashed, "\(probe)")
        #expect(report.files.first { $0.input.hasSuffix("fine.jpg") }?.status == .written)
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out/sandbox-probe-written")))
    }

    /// A decoding worker, seen from outside while it works: no_new_privs and a seccomp filter.
    @Test(.enabled(if: landlock, "the kernel offers no Landlock"))
    func workersRunFiltered() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/sandbox-stall.jpg")
        let process = try ChildProcess(CommandRunner.binary.path,
                                       ["in", "-o", "out", "--width", "10", "--isolate", "all", "--sandbox", "on", "--no-state", "-q"],
                                       environment: CommandRunner.environment(["FASTRESIZE_TEST_HOOKS": "1"]),
                                       directory: scratch.url.path)
        defer {
            process.signal(SIGKILL)
            process.wait()
        }
        // A worker seen at once may not have restricted itself yet (it does, one step after
        // another, before it reads a byte): looked at again until filtered, 10 s at most.
        var status: String?
        for _ in 0..<200 {
            status = Self.childStatus(of: process.processIdentifier, commandContaining: "--worker")
            if status?.contains("Seccomp:\t2") == true { break }
            usleep(50_000)
        }
        let lines = try #require(status, "no worker appeared").split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("NoNewPrivs:") && $0.hasSuffix("\t1") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("Seccomp:") && $0.hasSuffix("\t2") }, "\(lines)")
    }

    /// The corpus's formats (every decoder, those loaded lazily too) through sandboxed workers:
    /// the very same files as without a sandbox.
    @Test(.enabled(if: landlock && Corpus.folder != nil, Comment(rawValue: landlock ? Corpus.missingReason : "the kernel offers no Landlock")))
    func sandboxedOutputsAreTheSameBytes() throws {
        let corpus = try #require(Corpus.folder).appendingPathComponent("formats").path
        let scratch = try ScratchFolder()
        for mode in ["on", "off"] {
            let result = try CommandRunner.run([corpus, "-o", "out-\(mode)", "--fit", "160x160", "--isolate", "all", "--sandbox", mode,
                                                "--no-state", "--fail-on", "none", "-q"], in: scratch.url)
            #expect(result.status == 0 || result.status == 1, "\(result.stderr)")
        }
        let made = scratch.files(under: "out-on")
        #expect(!made.isEmpty && made == scratch.files(under: "out-off"))
        for file in made {
            #expect(FileManager.default.contentsEqual(atPath: scratch.path("out-on/\(file)"), andPath: scratch.path("out-off/\(file)")),
                    "\(file)")
        }
    }

    /// --sandbox on restricts the run itself too: it still reads its inputs and writes its
    /// outputs, its job store (in a folder still to be made) and its report.
    @Test(.enabled(if: landlock, "the kernel offers no Landlock"))
    func aRestrictedRunWritesWhatItShould() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/a.jpg")
        try scratch.write(try Inputs.png(30, 20, alpha: true), to: "in/sub/b.png")
        try FileManager.default.createDirectory(atPath: scratch.path("reports"), withIntermediateDirectories: true)
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "10", "--sandbox", "on", "--isolate", "all",
                                            "--state", "store/state.db", "--report", "reports/r.json"], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(scratch.files(under: "out") == ["a.jpg", "sub/b.png"])
        #expect(try loadReport(scratch.path("reports/r.json")).summary.written == 2)
        #expect(FileManager.default.fileExists(atPath: scratch.path("store/state.db")))
    }

    /// Under --sandbox auto, the default, the run restricts itself too (test hook: it probes once
    /// restricted): it writes its outputs and its store but cannot read /etc/passwd, write to
    /// /tmp or connect to a TCP port. A stream input cannot be named before the run starts, so
    /// `auto` leaves that run unrestricted; `off` leaves every run so.
    @Test(.enabled(if: landlock, "the kernel offers no Landlock"))
    func theRunRestrictsItselfByDefault() throws {
        let scratch = try ScratchFolder()
        let jpeg = try Inputs.jpeg(40, 30)
        try scratch.write(jpeg, to: "in/a.jpg")
        let hooks = ["FASTRESIZE_TEST_HOOKS": "1", "FASTRESIZE_TEST_RUN_PROBE": "1"]
        let restricted = try CommandRunner.run(["in", "-o", "out", "--width", "10"], in: scratch.url, environment: hooks)
        #expect(restricted.status == 0, "\(restricted.stderr)")
        #expect(scratch.files(under: "out") == ["a.jpg"])
        #expect(FileManager.default.fileExists(atPath: scratch.path("out/.fastresize/state.db")))
        for attempt in ["read /etc/passwd", "write to /tmp"] + (Sandbox.landlockABI >= 4 ? ["connect to TCP port 9"] : []) {
            #expect(restricted.stderr.contains("run probe: \(attempt): refused"), "\(attempt): \(restricted.stderr)")
        }
        #expect(restricted.stderr.contains("run probe: write into the output folder: ALLOWED"), "\(restricted.stderr)")

        let streamed = try CommandRunner.run(["-", "-o", "streamed", "--width", "10"], in: scratch.url, environment: hooks,
                                             standardInput: Data(jpeg))
        #expect(streamed.status == 0, "\(streamed.stderr)")
        #expect(streamed.stderr.contains("run probe: read /etc/passwd: ALLOWED"), "\(streamed.stderr)")
        let off = try CommandRunner.run(["in", "-o", "off", "--width", "10", "--sandbox", "off"], in: scratch.url, environment: hooks)
        #expect(off.status == 0 && off.stderr.contains("run probe: write to /tmp: ALLOWED"), "\(off.stderr)")
    }

    /// /proc/PID/status of a child of `parent` whose command line contains `word`, if one runs.
    static func childStatus(of parent: pid_t, commandContaining word: String) -> String? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries where Int32(entry) != nil {
            guard let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8),
                  status.split(separator: "\n").contains("PPid:\t\(parent)"),
                  let command = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  String(decoding: command, as: UTF8.self).contains(word) else { continue }
            return status
        }
        return nil
    }
}
