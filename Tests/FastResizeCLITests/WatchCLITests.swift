// WatchCLITests: `fastresize watch` as a real process on real inotify — complete files only, each made once, deletions, overflow, stops and reloads.

import FastResize
import FastResizeSQLite
import FastResizeSandbox
import Foundation
import Synchronization
import Testing
import TestSupport

/// A running `fastresize watch`, its output read as it comes.
final class Watcher: @unchecked Sendable {
    let process: ChildProcess
    /// What came on standard output (0) and standard error (1) so far.
    private let texts = Mutex(["", ""])
    private let reading = DispatchGroup()

    init(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws {
        process = try ChildProcess(CommandRunner.binary.path, ["watch", "--settle", "100ms"] + arguments,
                                   environment: CommandRunner.environment(environment), directory: directory.path,
                                   output: .pipe, errors: .pipe)
        for (slot, descriptor) in [process.output!, process.errors!].enumerated() {
            DispatchQueue.global().async(group: reading) { [self] in
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let count = read(descriptor, &buffer, buffer.count)
                    if count > 0 {
                        texts.withLock { $0[slot] += String(decoding: buffer[..<count], as: UTF8.self) }
                    } else if count == 0 || errno != EINTR {
                        return
                    }
                }
            }
        }
    }

    var stdout: String { texts.withLock { $0[0] } }
    var stderr: String { texts.withLock { $0[1] } }
    /// The files made so far: one "input -> output" line each.
    var made: Int { stdout.split(separator: "\n").filter { $0.contains(" -> ") }.count }

    /// Waits up to `timeout` seconds for `condition`; whether it came.
    @discardableResult
    func wait(_ timeout: Double = 30, until condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    /// Waits until the catch-up is done and every folder watched.
    func waitUntilWatching() -> Bool { wait { stderr.contains("watching ") } }

    func waitUntilMade(_ count: Int, timeout: Double = 30) -> Bool { wait(timeout) { made >= count } }

    func signal(_ number: Int32) { process.signal(number) }

    /// Stops the watch (SIGTERM unless told) and waits for its end: exit status and stderr.
    func stop(_ number: Int32 = SIGTERM) -> (status: Int32, stderr: String) {
        signal(number)
        return finish()
    }

    /// Waits for the end (of a watch already told to stop): exit status and stderr.
    func finish() -> (status: Int32, stderr: String) {
        let status = process.wait()
        reading.wait()
        return (status, stderr)
    }
}

@Suite(.serialized) struct WatchCLITests {
    static func attempts(_ scratch: ScratchFolder, output: String = "out") throws -> [String: Int] {
        try QueueCLITests.writtenAttempts(SQLiteJobStore(path: scratch.path("\(output)/.fastresize/state.db")))
    }

    /// Writes `bytes` at `path` in chunks, quiet between them for longer than the settle time.
    /// Writes `config` as the watch's fastresize.toml, sends SIGHUP, and waits for the watch to
    /// say `saying`; whether it did.
    static func hangUp(_ watcher: Watcher, _ scratch: ScratchFolder, config: String, saying: String) throws -> Bool {
        try scratch.write(Array(config.utf8), to: "fastresize.toml")
        watcher.signal(SIGHUP)
        return watcher.wait { watcher.stderr.contains(saying) }
    }

    static func writeSlowly(_ bytes: [UInt8], to path: String, chunks: Int, pause: useconds_t) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let size = (bytes.count + chunks - 1) / chunks
        for start in stride(from: 0, to: bytes.count, by: size) {
            try handle.write(contentsOf: bytes[start..<min(bytes.count, start + size)])
            usleep(pause)
        }
        try handle.close()
    }

    /// What was there before is caught up; a save through a temporary renamed into place, a
    /// file written slowly in chunks and a folder moved in with files are each made once, and
    /// no temporary is ever read.
    @Test func completeFilesAreMadeOnceEach() throws {
        let scratch = try ScratchFolder()
        let jpeg = try Inputs.jpeg(160, 120)
        for name in ["a", "b"] { try scratch.write(jpeg, to: "in/\(name).jpg") }
        let watcher = try Watcher(["in", "-o", "out", "--width", "40"], in: scratch.url)
        #expect(watcher.waitUntilWatching(), "\(watcher.stderr)")
        #expect(watcher.waitUntilMade(2), "\(watcher.stdout)")

        // Save by rename: a download's .part, an editor's hidden temporary.
        try scratch.write(jpeg, to: "in/c.jpg.part")
        try FileManager.default.moveItem(atPath: scratch.path("in/c.jpg.part"), toPath: scratch.path("in/c.jpg"))
        try scratch.write(jpeg, to: "in/.d.jpg.tmp")
        try FileManager.default.moveItem(atPath: scratch.path("in/.d.jpg.tmp"), toPath: scratch.path("in/d.jpg"))
        // Written in five chunks 150 ms apart: quiet for longer than the settle time between
        // them, yet open, so it is read once, after its close.
        try Self.writeSlowly(try Inputs.png(300, 200), to: scratch.path("in/slow.png"), chunks: 5, pause: 150_000)
        // A folder made elsewhere, moved in with its files (and a folder inside it).
        for index in 0..<12 { try scratch.write(jpeg, to: "staging/album/\(index / 6)/\(index).jpg") }
        try FileManager.default.moveItem(atPath: scratch.path("staging/album"), toPath: scratch.path("in/album"))
        // A second name for a file made elsewhere (`ln`): created, and never closed after writing.
        try scratch.write(jpeg, to: "staging/linked.jpg")
        #expect(link(scratch.path("staging/linked.jpg"), scratch.path("in/linked.jpg")) == 0)
        #expect(watcher.waitUntilMade(2 + 4 + 12), "\(watcher.stdout)\n\(watcher.stderr)")
        // A file written into the moved-in folder's subfolder later: that folder is watched too.
        try scratch.write(jpeg, to: "in/album/1/late.jpg")
        #expect(watcher.waitUntilMade(19), "\(watcher.stdout)\n\(watcher.stderr)")
        usleep(400_000)     // time for anything made twice to show
        let stopped = watcher.stop()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(watcher.made == 19, "\(watcher.stdout)")

        let attempts = try Self.attempts(scratch)
        #expect(attempts.count == 19 && attempts.values.allSatisfy { $0 == 1 }, "\(attempts)")
        #expect(!attempts.keys.contains { $0.contains(".part") || $0.contains(".tmp") }, "\(attempts.keys.sorted())")
        #expect(scratch.files(under: "out").allSatisfy { !$0.contains(".part") && !$0.contains(".tmp") }, "\(scratch.files(under: "out"))")
        try checkOutputsDecode(scratch, under: "out", width: 40)
        #expect(try decodeFile(scratch.path("out/slow.png")).height == 27, "the whole picture, not the first chunk")
    }

    /// An output folder inside the watched tree is neither watched nor read: its outputs are
    /// not made again as inputs.
    @Test func anOutputFolderInsideTheTreeIsLeftAlone() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(120, 90), to: "in/a.jpg")
        let watcher = try Watcher(["in", "-o", "in/thumbs", "--width", "30"], in: scratch.url)
        #expect(watcher.waitUntilMade(1), "\(watcher.stderr)")
        try scratch.write(try Inputs.jpeg(120, 90), to: "in/b.jpg")
        #expect(watcher.waitUntilMade(2), "\(watcher.stderr)")
        usleep(600_000)     // time for a thumbnail of a thumbnail to show
        #expect(watcher.stop().status == 0)
        #expect(watcher.made == 2, "\(watcher.stdout)")
        #expect(scratch.files(under: "in") == ["a.jpg", "b.jpg", "thumbs/a.jpg", "thumbs/b.jpg"])
    }

    /// Two watchers on one tree with --shard 0/2 and 1/2 (each its own store) make every file
    /// once between them.
    @Test func shardedWatchersShareATree() throws {
        let scratch = try ScratchFolder()
        try FileManager.default.createDirectory(atPath: scratch.path("in"), withIntermediateDirectories: true)
        let watchers = try (0..<2).map { index in
            try Watcher(["in", "-o", "out", "--width", "16", "--shard", "\(index)/2", "--state", "shard-\(index).db"], in: scratch.url)
        }
        for watcher in watchers { #expect(watcher.waitUntilWatching(), "\(watcher.stderr)") }
        let count = 20
        for index in 0..<count { try scratch.write(try Inputs.jpeg(40, 30), to: "in/\(index).jpg") }
        #expect(watchers[0].wait { watchers.map(\.made).reduce(0, +) >= count })
        usleep(400_000)
        for watcher in watchers { #expect(watcher.stop().status == 0) }
        #expect(watchers.map(\.made).reduce(0, +) == count && watchers.allSatisfy { $0.made > 0 }, "\(watchers.map(\.made))")
        #expect(scratch.files(under: "out").count == count)
    }

    /// Stopped, then started again: what was added, changed or touched meanwhile is looked at
    /// once; only what changed is made (a touch changes nothing the store fingerprints).
    @Test func whatChangedWhileStoppedIsCaughtUpOnStart() throws {
        let scratch = try ScratchFolder()
        for name in ["keep", "touched", "changed"] { try scratch.write(try Inputs.jpeg(120, 90), to: "in/\(name).jpg") }
        let first = try Watcher(["in", "-o", "out", "--width", "30"], in: scratch.url)
        #expect(first.waitUntilMade(3), "\(first.stderr)")
        #expect(first.stop().status == 0)

        try scratch.write(try Inputs.jpeg(90, 60), to: "in/changed.jpg")
        try scratch.write(try Inputs.jpeg(120, 90), to: "in/sub/new.jpg")
        #expect(utimensat(AT_FDCWD, scratch.path("in/touched.jpg"), nil, 0) == 0, "touched: its time now, its bytes as they were")
        let second = try Watcher(["in", "-o", "out", "--width", "30"], in: scratch.url)
        #expect(second.waitUntilWatching(), "\(second.stderr)")
        #expect(second.stderr.contains("(2 files to catch up)"), "\(second.stderr)")
        #expect(second.waitUntilMade(2), "\(second.stdout)")
        usleep(300_000)
        #expect(second.stop().status == 0)
        #expect(second.made == 2, "\(second.stdout)")
        let attempts = try Self.attempts(scratch)
        #expect(attempts == ["keep.jpg": 1, "touched.jpg": 1, "changed.jpg": 2, "sub/new.jpg": 1], "\(attempts)")
        #expect(try decodeFile(scratch.path("out/changed.jpg")).height == 20)
    }

    /// Without --delete-outputs a deleted input's outputs stay; with it, deleting or moving an
    /// input away removes what FastResize wrote for it, and nothing else.
    @Test func deletionsRemoveOutputsOnlyWhenAsked() throws {
        let scratch = try ScratchFolder()
        for name in ["a", "b", "c"] { try scratch.write(try Inputs.jpeg(120, 90), to: "in/\(name).jpg") }
        try scratch.write(Array("mine".utf8), to: "out/notes.txt")

        let keeping = try Watcher(["in", "-o", "out", "--width", "30"], in: scratch.url)
        #expect(keeping.waitUntilMade(3), "\(keeping.stderr)")
        try FileManager.default.removeItem(atPath: scratch.path("in/a.jpg"))
        usleep(600_000)
        #expect(keeping.stop().status == 0)
        #expect(FileManager.default.fileExists(atPath: scratch.path("out/a.jpg")))

        let deleting = try Watcher(["in", "-o", "out", "--width", "30", "--delete-outputs"], in: scratch.url)
        #expect(deleting.waitUntilWatching(), "\(deleting.stderr)")
        // The catch-up found a.jpg gone while nobody watched with --delete-outputs.
        #expect(deleting.wait { !FileManager.default.fileExists(atPath: scratch.path("out/a.jpg")) }, "\(deleting.stdout)")
        try FileManager.default.removeItem(atPath: scratch.path("in/b.jpg"))
        try FileManager.default.moveItem(atPath: scratch.path("in/c.jpg"), toPath: scratch.path("c-elsewhere.jpg"))
        #expect(deleting.wait { scratch.files(under: "out") == ["notes.txt"] }, "\(scratch.files(under: "out"))\n\(deleting.stdout)")
        #expect(deleting.stop().status == 0)
        #expect(deleting.stdout.split(separator: "\n").filter { $0.contains(": gone; removed ") }.count == 3, "\(deleting.stdout)")
    }

    /// 1,000 files copied at once into a folder made just before (files land in it while the
    /// watch is being added) are each made exactly once (counted from the store).
    @Test func aBurstIsMadeOnceEach() throws {
        let scratch = try ScratchFolder()
        let jpeg = try Inputs.jpeg(64, 48)
        let count = 1000
        for index in 0..<count { try scratch.write(jpeg, to: "staging/\(index).jpg") }
        try FileManager.default.createDirectory(atPath: scratch.path("in"), withIntermediateDirectories: true)
        let watcher = try Watcher(["in", "-o", "out", "--width", "16", "-j", "2"], in: scratch.url)
        #expect(watcher.waitUntilWatching(), "\(watcher.stderr)")
        try FileManager.default.createDirectory(atPath: scratch.path("in/burst"), withIntermediateDirectories: true)
        for index in 0..<count {
            try FileManager.default.copyItem(atPath: scratch.path("staging/\(index).jpg"), toPath: scratch.path("in/burst/\(index).jpg"))
        }
        #expect(watcher.waitUntilMade(count, timeout: 120), "\(watcher.made) made\n\(watcher.stderr)")
        usleep(300_000)
        let stopped = watcher.stop()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let attempts = try Self.attempts(scratch)
        #expect(attempts.count == count && attempts.values.allSatisfy { $0 == 1 }, "\(attempts.filter { $0.value != 1 })")
    }

    /// The kernel's event queue overflows while the watcher is stopped (SIGSTOP): it says so,
    /// rescans, and the files among the flood are made; the temporaries are not.
    @Test func anOverflowIsRecoveredByARescan() throws {
        let scratch = try ScratchFolder()
        let queueSize = (try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 16384
        try FileManager.default.createDirectory(atPath: scratch.path("in"), withIntermediateDirectories: true)
        let watcher = try Watcher(["in", "-o", "out", "--width", "16"], in: scratch.url)
        #expect(watcher.waitUntilWatching(), "\(watcher.stderr)")
        watcher.signal(SIGSTOP)
        // Each empty file makes two events (created, closed): enough to fill the queue.
        for index in 0..<(queueSize / 2 + 200) {
            _ = FileManager.default.createFile(atPath: scratch.path("in/flood-\(index).part"), contents: nil)
        }
        for index in 0..<5 { try scratch.write(try Inputs.jpeg(64, 48), to: "in/real-\(index).jpg") }
        watcher.signal(SIGCONT)
        #expect(watcher.wait { watcher.stderr.contains("overflowed") }, "\(watcher.stderr)")
        #expect(watcher.waitUntilMade(5), "\(watcher.stdout)\n\(watcher.stderr)")
        let stopped = watcher.stop()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let attempts = try Self.attempts(scratch)
        #expect(attempts == Dictionary(uniqueKeysWithValues: (0..<5).map { ("real-\($0).jpg", 1) }), "\(attempts)")
    }

    /// SIGTERM in the middle of a burst: files in flight finish, exit 0, nothing half-written;
    /// the next start makes the rest, and nothing twice.
    @Test func aStopMidBurstLosesNothing() throws {
        let scratch = try ScratchFolder()
        let count = 40
        let jpeg = try Inputs.jpeg(900, 700)
        try FileManager.default.createDirectory(atPath: scratch.path("in"), withIntermediateDirectories: true)
        let first = try Watcher(["in", "-o", "out", "--width", "50", "-j", "2"], in: scratch.url)
        #expect(first.waitUntilWatching(), "\(first.stderr)")
        for index in 0..<count { try scratch.write(jpeg, to: "in/\(index).jpg") }
        #expect(first.waitUntilMade(3), "\(first.stderr)")
        let stopped = first.stop()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(first.made < count, "the stop came after the burst was done: the test proved nothing")
        #expect(scratch.files(under: "out").allSatisfy { !$0.hasSuffix(AtomicFile.temporarySuffix) }, "\(scratch.files(under: "out"))")
        try checkOutputsDecode(scratch, under: "out", width: 50)

        let second = try Watcher(["in", "-o", "out", "--width", "50", "-j", "2"], in: scratch.url)
        #expect(second.waitUntilMade(count - first.made, timeout: 120), "\(second.stderr)")
        usleep(300_000)
        #expect(second.stop().status == 0)
        let attempts = try Self.attempts(scratch)
        #expect(attempts.count == count && attempts.values.allSatisfy { $0 == 1 }, "\(attempts.filter { $0.value != 1 })")
    }

    /// SIGHUP reads the config file again: good settings are used from then on (what was made
    /// with the old ones is made again, as a run with new settings would); bad ones are refused
    /// with the reason and the watch goes on with those in use.
    @Test func aHangUpReloadsTheConfig() throws {
        let scratch = try ScratchFolder()
        try scratch.write(Array("width = 40\n".utf8), to: "fastresize.toml")
        try scratch.write(try Inputs.jpeg(160, 120), to: "in/a.jpg")
        let watcher = try Watcher(["in", "-o", "out"], in: scratch.url)
        #expect(watcher.waitUntilMade(1), "\(watcher.stderr)")
        #expect(try decodeFile(scratch.path("out/a.jpg")).width == 40)

        #expect(try Self.hangUp(watcher, scratch, config: "width = 30\n", saying: "settings read again"), "\(watcher.stderr)")
        #expect(watcher.waitUntilMade(2), "\(watcher.stderr)")
        #expect(try decodeFile(scratch.path("out/a.jpg")).width == 30)

        #expect(try Self.hangUp(watcher, scratch, config: "width = \"wide\"\n", saying: "cannot be read again"), "\(watcher.stderr)")
        try scratch.write(try Inputs.jpeg(160, 120), to: "in/b.jpg")
        #expect(watcher.waitUntilMade(3), "\(watcher.stderr)")
        let stopped = watcher.stop()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(try decodeFile(scratch.path("out/b.jpg")).width == 30)
    }

    /// Under --sandbox on a watch restricts itself before it starts (test hook: it probes once
    /// restricted): it cannot read /etc/passwd or write to /tmp, still makes what arrives, reads
    /// its config again on SIGHUP (its folder stays readable), and refuses a reload that would
    /// move its job store.
    @Test(.enabled(if: Sandbox.landlockABI > 0, "the kernel offers no Landlock"))
    func aSandboxedWatchStaysInItsFolders() throws {
        let scratch = try ScratchFolder()
        try scratch.write(Array("width = 40\n".utf8), to: "fastresize.toml")
        try scratch.write(try Inputs.jpeg(160, 120), to: "in/a.jpg")
        let watcher = try Watcher(["in", "-o", "out", "--sandbox", "on"], in: scratch.url,
                                  environment: ["FASTRESIZE_TEST_HOOKS": "1", "FASTRESIZE_TEST_RUN_PROBE": "1"])
        #expect(watcher.waitUntilMade(1), "\(watcher.stderr)")
        for attempt in ["read /etc/passwd", "write to /tmp"] {
            #expect(watcher.stderr.contains("run probe: \(attempt): refused"), "\(attempt): \(watcher.stderr)")
        }
        #expect(watcher.stderr.contains("run probe: write into the output folder: ALLOWED"), "\(watcher.stderr)")

        #expect(try Self.hangUp(watcher, scratch, config: "width = 30\n", saying: "settings read again"), "\(watcher.stderr)")
        #expect(watcher.waitUntilMade(2), "\(watcher.stderr)")
        #expect(try decodeFile(scratch.path("out/a.jpg")).width == 30)

        #expect(try Self.hangUp(watcher, scratch, config: "width = 30\nstate = \"elsewhere/state.db\"\n", saying: "restart it to move them"), "\(watcher.stderr)")
        let stopped = watcher.stop()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("elsewhere")))
    }

    /// Out of inotify watches: the message names the sysctl and how many are needed, and files
    /// in folders not watched are still found, by the periodic rescan.
    @Test func runningOutOfWatchesFallsBackToRescans() throws {
        let scratch = try ScratchFolder()
        for folder in ["x", "y", "z"] { try FileManager.default.createDirectory(atPath: scratch.path("in/\(folder)"), withIntermediateDirectories: true) }
        let watcher = try Watcher(["in", "-o", "out", "--width", "16", "--rescan-interval", "1"], in: scratch.url,
                                  environment: ["FASTRESIZE_TEST_WATCH_LIMIT": "1"])
        #expect(watcher.waitUntilWatching(), "\(watcher.stderr)")
        #expect(watcher.stderr.contains("fs.inotify.max_user_watches"), "\(watcher.stderr)")
        #expect(watcher.stderr.contains("3 of 4 folders are not watched"), "\(watcher.stderr)")
        try scratch.write(try Inputs.jpeg(64, 48), to: "in/y/unwatched.jpg")
        #expect(watcher.waitUntilMade(1, timeout: 10), "\(watcher.stderr)")
        let stopped = watcher.stop()
        #expect(stopped.status == 0)
        #expect(stopped.stderr.components(separatedBy: "inotify ran out of watches").count == 2, "said once: \(stopped.stderr)")
    }

    @Test func whatAWatchCannotDoIsRefused() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(64, 48), to: "in/a.jpg")
        let cases: [([String], String)] = [
            (["watch", "in/a.jpg", "-o", "out", "--width", "9"], "watches folders"),
            (["watch", "in", "-o", "out", "--width", "9", "--no-state"], "--no-state"),
            (["watch", "in", "-o", "out", "--width", "9", "--report", "r.json"], "--report"),
            (["watch", "in", "-o", "out", "--width", "9", "--dry-run"], "--dry-run"),
            (["watch", "--settle", "soon", "in", "-o", "out", "--width", "9"], "--settle"),
        ]
        for (arguments, reason) in cases {
            let result = try CommandRunner.run(arguments, in: scratch.url)
            #expect(result.status == 2 && result.stderr.contains(reason), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out")))
    }
}
