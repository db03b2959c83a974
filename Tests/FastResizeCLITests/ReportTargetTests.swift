// ReportTargetTests: --report to standard output, a FIFO, a symbolic link or an unwritable place — written through, never renamed over, refused before the batch.

import FastResize
import Foundation
import Synchronization
import Testing
import TestSupport

@Suite struct ReportTargetTests {
    static func folder() throws -> ScratchFolder {
        let folder = try ScratchFolder()
        try folder.write(try Inputs.jpeg(40, 30), to: "in/a.jpg")
        return folder
    }

    /// `-` and a link to standard output (as `/dev/stdout` is; a link of the test's own, so a
    /// regression cannot replace the system's) put the report, and only the report, on standard
    /// output: `-` crashed after the batch, and `/dev/stdout`, as root, was replaced by a regular file.
    @Test(arguments: ["-", "stdout-link"]) func standardOutputTakesTheReport(path: String) throws {
        let folder = try Self.folder()
        try FileManager.default.createSymbolicLink(atPath: folder.path("stdout-link"), withDestinationPath: "/proc/self/fd/1")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "20", "--verbose", "--report", path], in: folder.url)
        #expect(result.status == 0)
        let report = try JSONDecoder().decode(BatchReport.self, from: Data(result.stdout.utf8))
        #expect(report.summary.written == 1)
        #expect(result.stderr.contains("a.jpg ->"))       // the verbose line moved out of the report's way
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: folder.path("stdout-link")) == "/proc/self/fd/1")
    }

    /// A FIFO is written through (it was replaced by a regular file, and its reader got nothing).
    @Test func aFIFOIsWrittenThrough() throws {
        let folder = try Self.folder()
        #expect(mkfifo(folder.path("fifo"), 0o600) == 0)
        let received = Mutex(Data())
        DetachedThread.start(name: "test.fifo") {
            let descriptor = open(folder.path("fifo"), O_RDONLY)
            let data = descriptor < 0 ? Data() : FileSystem.readAll(descriptor) ?? Data()
            if descriptor >= 0 { close(descriptor) }
            received.withLock { $0 = data }
        }
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "20", "--report", "fifo"], in: folder.url)
        #expect(result.status == 0, "\(result.stderr)")
        for _ in 0..<100 where received.withLock({ $0.isEmpty }) { usleep(20_000) }
        let report = try JSONDecoder().decode(BatchReport.self, from: received.withLock { $0 })
        #expect(report.summary.written == 1)
        var status = stat()
        #expect(lstat(folder.path("fifo"), &status) == 0 && (status.st_mode & S_IFMT) == S_IFIFO)
    }

    /// A symbolic link stays a link; the file it names gets the report.
    @Test func aLinkIsWrittenThrough() throws {
        let folder = try Self.folder()
        try folder.write(Array("old".utf8), to: "real.json")
        try FileManager.default.createSymbolicLink(atPath: folder.path("link.json"), withDestinationPath: "real.json")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "20", "--report", "link.json"], in: folder.url)
        #expect(result.status == 0)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: folder.path("link.json")) == "real.json")
        #expect(try loadReport(folder.path("real.json")).summary.written == 1)
    }

    /// A report nobody can write is a usage error before any file is touched (it failed at the end).
    @Test func anUnwritablePlaceIsRefusedUpFront() throws {
        let folder = try Self.folder()
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "20", "--report", "missing/r.json"], in: folder.url)
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot write the report to missing/r.json: missing: No such file or directory"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("out")))
    }

    /// One-letter names (an input `b`, a report `r`) crashed in Foundation's path handling.
    @Test func oneLetterNamesWork() throws {
        let folder = try ScratchFolder()
        try folder.write(try Inputs.jpeg(40, 30), to: "in/b")
        let result = try CommandRunner.run(["in", "-o", "o", "--width", "20", "--report", "r"], in: folder.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try loadReport(folder.path("r")).summary.written == 1)
        #expect(FileManager.default.fileExists(atPath: folder.path("o/b.jpg")))
    }
}
