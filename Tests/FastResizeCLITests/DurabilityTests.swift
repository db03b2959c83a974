// DurabilityTests: each output's data is flushed to disk before it takes its final name, and its folder at the end of the run (--no-fsync skips both), seen through strace.

import Foundation
import Testing
import TestSupport

private let strace = "/usr/bin/strace"

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: strace),
                "strace is not installed (scripts/install-deps.sh installs it)"))
struct DurabilityTests {
    /// The system calls that put outputs in place, each with the paths of its descriptors (-y).
    static func traced(_ extra: [String]) throws -> (calls: [String], folder: ScratchFolder) {
        let folder = try ScratchFolder()
        try folder.write(Inputs.jpeg(120, 90), to: "in/a.jpg")
        try folder.write(Inputs.png(80, 60), to: "in/sub/b.png")
        let result = try CommandRunner.run(
            ["-f", "-y", "-e", "trace=fsync,fdatasync,link,rename,renameat,renameat2,linkat", "-o", folder.path("trace.txt"),
             CommandRunner.binary.path, folder.path("in"), "-o", folder.path("out"), "--fit", "50x50", "--isolate", "none"] + extra,
            executable: strace)
        #expect(result.status == 0, "\(result.stderr)")
        let trace = try String(contentsOfFile: folder.path("trace.txt"), encoding: .utf8)
        return (trace.split(separator: "\n").map(String.init), folder)
    }

    @Test func outputsAreSyncedBeforeTheyTakeTheirNamesAndTheirFoldersAfter() throws {
        let (calls, folder) = try Self.traced([])
        for (name, parent) in [("a.jpg", "out"), ("b.png", "out/sub")] {
            let final = folder.path("\(parent)/\(name)")
            let placed = try #require(calls.firstIndex { $0.contains("link") && $0.contains("\"\(final)\"") }, "\(name) never linked")
            let dataSynced = calls.firstIndex { $0.contains("datasync(") && $0.contains("/.\(name).") && $0.contains(".fastresize-tmp>") }
            #expect(dataSynced.map { $0 < placed } == true, "\(name): the temporary was not synced before its link\n\(calls)")
            // (Calls of two threads interleave: "fsync(8</out> <unfinished ...>" then "<... fsync resumed>".)
            let folderSynced = calls.lastIndex { $0.contains("fsync(") && $0.contains("<\(folder.path(parent))>") }
            #expect(folderSynced.map { $0 > placed } == true, "\(name): its folder was not synced after the link\n\(calls)")
        }
    }

    @Test func noFsyncSkipsBoth() throws {
        let (calls, folder) = try Self.traced(["--no-fsync"])
        #expect(calls.filter { $0.contains("fsync(") || $0.contains("datasync(") }.isEmpty, "\(calls)")
        #expect(FileManager.default.fileExists(atPath: folder.path("out/sub/b.png")))
    }
}
