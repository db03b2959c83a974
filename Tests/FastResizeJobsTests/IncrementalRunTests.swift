// IncrementalRunTests: the engine with a real SQLite job store, in process over fake codecs: what a re-run skips, reads and replaces.

@testable import FastResize
import FastResizeJobs
import FastResizeSQLite
import Foundation
import Testing
import TestSupport

@Suite struct IncrementalRunTests {
    static let settings = ResizeSettings(mode: .fit(width: 32, height: 32), format: .fixed(FakeCodecs.output))

    /// One run of `folder/in` into `folder/out` recorded in `folder/state.db`.
    static func run(_ folder: ScratchFolder, decoder: any ImageDecoding, settings: ResizeSettings = settings, force: Bool = false,
                    overwrite: Bool = false, prune: Bool = false) throws -> BatchReport {
        let store = try SQLiteJobStore(path: folder.path("state.db"))
        let fingerprint = settings.fingerprint
        let job = try store.createJob(JobRecord(status: .running, createdNs: 1, command: ["test"], settings: "{}",
                                                fingerprint: fingerprint, inputs: [folder.path("in")],
                                                outputFolder: folder.path("out"), host: "test", pid: getpid()))
        var options = BatchOptions(inputs: [folder.path("in")], outputDirectory: folder.path("out"), outputs: [settings],
                                   overwrite: overwrite, jobs: 2)
        options.timeout = nil
        options.prune = prune
        var runner = BatchRunner(options: options, codecs: FakeCodecs.registry(decoder))
        let recorder = StoreRecorder(store: store, job: job, outputFolder: folder.path("out"), fingerprint: fingerprint,
                                     force: force)
        runner.recorder = recorder
        let report = runner.run(runner.planBatch())
        #expect(recorder.problem == nil, "\(recorder.problem.map(String.init(describing:)) ?? "")")
        return report
    }

    /// A re-run with nothing changed reads no input at all (no header, no decode) and reports
    /// every file skipped as up to date, with its outputs as recorded.
    @Test func unchangedInputsAreNotRead() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(5, in: folder)
        // Stamps taken within a second of their files' last change are checked by content next
        // time; these files are older than that.
        try Self.ageInputs(folder)
        let first = try Self.run(folder, decoder: SlowDecoder(delay: 0))
        #expect(first.summary.written == 5)
        let decoder = SlowDecoder(delay: 0)
        let second = try Self.run(folder, decoder: decoder)
        #expect(second.summary.skipped == 5)
        #expect(second.files.allSatisfy { $0.reason == .upToDate })
        #expect(second.files[0].outputs.first?.path == folder.path("out/name0.png"))
        #expect(second.files[0].outputs.first?.width == 32)
        #expect(decoder.probes == 0 && decoder.decodes == 0)
    }

    /// A touched input (new modification time, same bytes) is still up to date: its content says
    /// so; it is read for its hash but not decoded.
    @Test func touchedInputStaysUpToDate() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(2, in: folder)
        try Self.ageInputs(folder)
        _ = try Self.run(folder, decoder: SlowDecoder(delay: 0))
        try Self.setModified(folder.path("in/name1.bmp"), secondsAgo: 2)
        let decoder = SlowDecoder(delay: 0)
        let second = try Self.run(folder, decoder: decoder)
        #expect(second.files.map(\.reason) == [.upToDate, .upToDate])
        #expect(decoder.decodes == 0)
        // Its new stamp is kept: the next run needs no hash either.
        let states = try SQLiteJobStore(path: folder.path("state.db")).inputStates(outputFolder: folder.path("out"))
        #expect(states["name1.bmp"]?.stamp == FileStamp.of(folder.path("in/name1.bmp")))
    }

    /// A changed input is made again, and its own earlier output replaced without --overwrite;
    /// the others are left alone.
    @Test func changedInputIsMadeAgain() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(3, in: folder)
        _ = try Self.run(folder, decoder: SlowDecoder(delay: 0))
        try FakeCodecs.inputs(1, in: folder, under: "changed", width: 40, height: 40)
        try FileManager.default.removeItem(atPath: folder.path("in/name0.bmp"))
        try FileManager.default.moveItem(atPath: folder.path("changed/name0.bmp"), toPath: folder.path("in/name0.bmp"))
        let decoder = SlowDecoder(delay: 0)
        let second = try Self.run(folder, decoder: decoder)
        #expect(second.files.map(\.status) == [.written, .skipped, .skipped])
        #expect(decoder.decodes == 1)
        #expect(try String(contentsOfFile: folder.path("out/name0.png"), encoding: .utf8) == "32x32\n")
    }

    /// Changed settings make every file again, replacing FastResize's own outputs; a file it did
    /// not write is still protected ("exists").
    @Test func changedSettingsMakeEverythingAgainButProtectOthersFiles() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(2, in: folder)
        _ = try Self.run(folder, decoder: SlowDecoder(delay: 0))
        try folder.write(Array("mine\n".utf8), to: "out/name2.png")
        try FakeCodecs.inputs(3, in: folder)        // name2.bmp is new, its output someone else's
        var smaller = Self.settings
        smaller.mode = .fit(width: 16, height: 16)
        let second = try Self.run(folder, decoder: SlowDecoder(delay: 0), settings: smaller)
        #expect(second.files.map(\.status) == [.written, .written, .skipped])
        #expect(second.files[2].reason == .exists)
        #expect(try String(contentsOfFile: folder.path("out/name0.png"), encoding: .utf8) == "16x12\n")
        #expect(try String(contentsOfFile: folder.path("out/name2.png"), encoding: .utf8) == "mine\n")
    }

    /// An output deleted or edited since it was written is made again.
    @Test func deletedOrEditedOutputIsMadeAgain() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(3, in: folder)
        _ = try Self.run(folder, decoder: SlowDecoder(delay: 0))
        try FileManager.default.removeItem(atPath: folder.path("out/name0.png"))
        try folder.write(Array("edited by hand\n".utf8), to: "out/name1.png")
        let second = try Self.run(folder, decoder: SlowDecoder(delay: 0))
        #expect(second.files.map(\.status) == [.written, .written, .skipped])
        #expect(try String(contentsOfFile: folder.path("out/name1.png"), encoding: .utf8) == "32x24\n")
    }

    /// --force makes everything again, replacing its own outputs without --overwrite.
    @Test func forceMakesEverythingAgain() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(2, in: folder)
        _ = try Self.run(folder, decoder: SlowDecoder(delay: 0))
        let decoder = SlowDecoder(delay: 0)
        let second = try Self.run(folder, decoder: decoder, force: true)
        #expect(second.summary.written == 2)
        #expect(decoder.decodes == 2)
    }

    /// A file changed within a second of being stamped is checked by content on the next run,
    /// even though size, time and inode look the same (git's racy files): a change made in the
    /// same tick of the clock is not missed.
    @Test func racyStampIsCheckedByContent() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(1, in: folder)
        _ = try Self.run(folder, decoder: SlowDecoder(delay: 0))
        // Same size, same modification time, other bytes: only the content can tell.
        let path = folder.path("in/name0.bmp")
        let stamp = try #require(FileStamp.of(path))
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 1] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var times = [timespec(tv_sec: Int(stamp.modifiedNs / 1_000_000_000), tv_nsec: Int(stamp.modifiedNs % 1_000_000_000)),
                     timespec(tv_sec: Int(stamp.modifiedNs / 1_000_000_000), tv_nsec: Int(stamp.modifiedNs % 1_000_000_000))]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let second = try Self.run(folder, decoder: SlowDecoder(delay: 0))
        #expect(second.files.map(\.status) == [.written])
    }

    /// A large input made alone has its content hash read on a spare core while it is made: the
    /// hash on record is of the bytes that were decoded, even when the file is replaced before
    /// the end (read afterwards, as it once was, it would be the new file's).
    @Test func largeInputIsHashedWhileItIsMade() throws {
        let folder = try ScratchFolder()
        // 8.6 MB: more than the engine shows the recorder whole before decoding.
        let (width, height) = (2048, 1400)
        let original = BMPWriter.make(width: width, height: height, bitsPerPixel: 24,
                                      pixelData: [UInt8](repeating: 7, count: width * height * 3))
        try folder.write(original, to: "in/big.bmp")
        var replacement = original
        replacement[replacement.count - 1] = 8
        let report = try Self.run(folder, decoder: ReplacingDecoder(path: folder.path("in/big.bmp"), replacement: replacement))
        #expect(report.summary.written == 1)
        let store = try SQLiteJobStore(path: folder.path("state.db"))
        let state = try #require(try store.inputStates(outputFolder: folder.path("out"))["big.bmp"])
        #expect(state.contentHash == original.withUnsafeBytes { ContentHash.of(bytes: $0) })
        // Changed while it was made: the next run checks it by its content.
        #expect(state.stamp == nil)
    }

    /// Every attempt is on record with its job: two runs that made a file give it two attempts.
    @Test func attemptsAreRecorded() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(2, in: folder)
        try folder.write(Array("BM not really".utf8), to: "in/broken.bmp")
        let first = try Self.run(folder, decoder: SlowDecoder(delay: 0))
        #expect(first.summary.failed == 1)
        let store = try SQLiteJobStore(path: folder.path("state.db"))
        let jobs = try store.jobs(limit: nil)
        #expect(jobs.count == 1)
        let attempts = try store.attempts(job: jobs[0].id)
        #expect(attempts.count == 3)
        let broken = try #require(attempts.first { $0.input == "broken.bmp" })
        #expect(broken.status == "failed" && broken.failureKind == "corrupt")
        let written = try #require(attempts.first { $0.input == "name0.bmp" })
        #expect(written.status == "written" && written.outputs.first?.path == folder.path("out/name0.png"))
        #expect(written.outputs.first?.contentHash?.hasPrefix("xxh3-128:") == true)
        let states = try store.inputStates(outputFolder: folder.path("out"))
        #expect(states["name0.bmp"]?.attempts == 1 && states["broken.bmp"]?.status == "failed")
    }

    /// --prune removes the outputs FastResize wrote for inputs that are gone — not one edited
    /// since, and nothing without --prune — and the record goes, so the next run has nothing to prune.
    @Test func pruneRemovesOnlyWhatItWrote() throws {
        let folder = try ScratchFolder()
        try FakeCodecs.inputs(4, in: folder)
        _ = try Self.run(folder, decoder: SlowDecoder(delay: 0))
        for gone in ["name1", "name2"] { try FileManager.default.removeItem(atPath: folder.path("in/\(gone).bmp")) }
        try folder.write(Array("touched up by hand\n".utf8), to: "out/name2.png")
        let unpruned = try Self.run(folder, decoder: SlowDecoder(delay: 0))
        #expect(unpruned.summary.removed == 0 && FileManager.default.fileExists(atPath: folder.path("out/name1.png")))

        let pruned = try Self.run(folder, decoder: SlowDecoder(delay: 0), prune: true)
        // Both gone inputs are listed `removed` (their records are); each output says what became of it.
        #expect(pruned.summary.removed == 2 && pruned.summary.total == 2 && pruned.summary.failed == 0)
        let removed = try #require(pruned.files.first { $0.input == folder.path("in/name1.bmp") })
        #expect(removed.status == .removed && removed.outputs.map(\.status) == [.removed])
        #expect(!FileManager.default.fileExists(atPath: folder.path("out/name1.png")))
        let kept = try #require(pruned.files.first { $0.input == folder.path("in/name2.bmp") })
        #expect(kept.status == .removed && kept.outputs.map(\.status) == [.skipped] && kept.outputs.first?.reason == .exists)
        #expect(try String(contentsOfFile: folder.path("out/name2.png"), encoding: .utf8) == "touched up by hand\n")
        #expect(FileManager.default.fileExists(atPath: folder.path("out/name0.png")))

        let again = try Self.run(folder, decoder: SlowDecoder(delay: 0), prune: true)
        #expect(again.summary.removed == 0 && again.files.count == 2 && again.summary.skipped == 2)
    }

    /// Moves every input a few seconds into the past, out of the window where a stamp alone is not trusted.
    static func ageInputs(_ folder: ScratchFolder) throws {
        for relative in folder.files(under: "in") {
            try setModified(folder.path("in/" + relative), secondsAgo: 5)
        }
    }

    static func setModified(_ path: String, secondsAgo: Int) throws {
        let past = Date().addingTimeInterval(-Double(secondsAgo))
        try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: path)
    }
}

/// Decodes as `SlowDecoder` does, half a second after replacing the file it decodes with other
/// bytes (a new file renamed over it: the bytes being decoded, mapped from the old one, stay).
final class ReplacingDecoder: ImageDecoding, @unchecked Sendable {
    let path: String
    let replacement: [UInt8]
    private let decoder = SlowDecoder(delay: 0)

    init(path: String, replacement: [UInt8]) {
        self.path = path
        self.replacement = replacement
    }

    func probe(_ data: UnsafeRawBufferPointer) throws(CodecError) -> ImageInfo {
        try decoder.probe(data)
    }

    func decode(_ data: UnsafeRawBufferPointer) throws(CodecError) -> PixelBuffer {
        // A hash read alongside (a few milliseconds) is done by then.
        Thread.sleep(forTimeInterval: 0.5)
        let fresh = path + ".new"
        FileManager.default.createFile(atPath: fresh, contents: Data(replacement))
        _ = rename(fresh, path)
        return try decoder.decode(data)
    }
}
