// StoreRecorder: a run's RunRecorder over any JobStore — decides which inputs are up to date and records each attempt.

import FastResize
import Foundation
import Synchronization

/// What a run asks of the job store, and tells it. Up to date means: the input's stamp (size,
/// modification time, inode) is the one recorded — or, when it is not, its content hash is — the
/// settings' fingerprint is the one its outputs were made with, and every output is on disk with
/// the size and modification time it was written with. Store failures during the run do not fail
/// files (the outputs are made all the same): the first is kept in `problem` for the caller to tell.
public final class StoreRecorder: RunRecorder, Sendable {
    public let store: any JobStore
    /// The job this run records into; nil to read only (a dry run).
    public let job: Int64?
    public let outputFolder: String
    public let fingerprint: String
    /// Every input is made again (--force): its own outputs still replaceable without --overwrite.
    public let force: Bool
    /// When this run began: stamps taken after it whose modification time is this close are not
    /// trusted alone next time (git's racy files).
    private let startedNs: Int64
    private let states: Mutex<[String: InputState]?>
    private let attempts = Mutex<[String: Int64]>([:])
    /// Attempts that ended and are not yet in the store: the next start's transaction (or the
    /// run's end) records them, so a file costs one commit, not two. A run killed before that
    /// leaves them `running`, and they are made again: nothing is lost but a little work.
    private let ended = Mutex<[FinishedAttempt]>([])
    private let firstProblem = Mutex<StoreError?>(nil)

    /// `known`: the folder's records when the caller has read them already (else read on first need).
    public init(store: any JobStore, job: Int64?, outputFolder: String, fingerprint: String, force: Bool = false,
                known: [String: InputState]? = nil) {
        self.store = store
        states = Mutex(known)
        self.job = job
        self.outputFolder = outputFolder
        self.fingerprint = fingerprint
        self.force = force
        startedNs = Self.now
    }

    /// The first thing the store failed to do in this run, if any.
    public var problem: StoreError? { firstProblem.withLock { $0 } }

    private func note(_ error: StoreError) {
        firstProblem.withLock { if $0 == nil { $0 = error } }
    }

    /// Nanoseconds since 1970, now: the clock every record of a run is stamped by.
    public static var now: Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// Reads what the store knows of the output folder now, failing if it cannot: called before
    /// the run starts, so a damaged store stops it before any file is made.
    public func load() throws(StoreError) {
        let loaded = try store.inputStates(outputFolder: outputFolder)
        states.withLock { $0 = loaded }
    }

    /// The folder's states, read once for the whole run.
    private func known() -> [String: InputState] {
        states.withLock { cached in
            if let cached { return cached }
            do throws(StoreError) {
                cached = try store.inputStates(outputFolder: outputFolder)
            } catch {
                note(error)
                cached = [:]
            }
            return cached!
        }
    }

    public func recall(_ inputs: [InputFile]) -> [Recollection] {
        let known = known()
        // Inputs found unchanged under a new stamp: their new stamps, kept in one transaction.
        var restamped: [String: FileStamp] = [:]
        let recalled = inputs.map { input -> Recollection in
            guard let state = known[input.relativePath] else { return .unknown }
            let own = Set(state.outputs.map(\.path))
            guard !force, let stamp = input.stamp, state.fingerprint == fingerprint,
                  unchanged(input, stamp: stamp, state: state, restamped: &restamped) else { return .outdated(ownOutputs: own) }
            let current = state.outputs.filter(Self.isAsWritten)
            guard state.status == FileReport.Status.written.rawValue, !state.outputs.isEmpty,
                  current.count == state.outputs.count else {
                return .outdated(ownOutputs: own, current: Set(current.map(\.path)))
            }
            return .upToDate(state.outputs.map(Self.record))
        }
        // Only the files to be made need their record again (their earlier outputs): a re-run of
        // 10,000 unchanged files does not carry 10,000 records to its end.
        // (Removed one by one: an open-ended run recalls its inputs one at a time.)
        let settled = zip(inputs, recalled).compactMap { input, recollection -> String? in
            if case .upToDate = recollection { return input.relativePath }
            return nil
        }
        if !settled.isEmpty {
            states.withLock { cached in for key in settled { cached?.removeValue(forKey: key) } }
        }
        if job != nil {
            do throws(StoreError) {
                try store.restamp(outputFolder: outputFolder, stamps: restamped, at: startedNs)
            } catch {
                note(error)
            }
        }
        return recalled
    }

    /// Whether the input is the one its outputs were made from: by its stamp when that can be
    /// trusted, else by its content (a touched or copied file keeps its outputs; the new stamp is kept).
    private func unchanged(_ input: InputFile, stamp: FileStamp, state: InputState, restamped: inout [String: FileStamp]) -> Bool {
        if let recorded = state.stamp, recorded.size == stamp.size, recorded.modifiedNs == stamp.modifiedNs,
           recorded.inode == stamp.inode, recorded.modifiedNs < state.stampedNs - Self.racyWindowNs {
            return true
        }
        guard let hash = state.contentHash, state.stamp?.size ?? stamp.size == stamp.size, state.status != "running",
              ContentHash.of(file: input.readPath) == hash else { return false }
        restamped[input.relativePath] = stamp
        return true
    }

    /// Modification times this close to the moment a stamp was taken may hide a later change in
    /// the same tick of the file system's clock (coarse on many: a jiffy, a second on some).
    static let racyWindowNs: Int64 = 1_000_000_000

    /// An output is as FastResize wrote it: there, with the recorded size and modification time.
    private static func isAsWritten(_ output: OutputState) -> Bool {
        guard let size = output.size, let modified = output.modifiedNs, let now = FileStamp.of(output.path) else { return false }
        return now.size == size && now.modifiedNs == modified
    }

    private static func record(_ output: OutputState) -> OutputRecord {
        OutputRecord(path: output.path, width: output.width, height: output.height, format: ImageFormat(rawValue: output.format),
                     bytes: output.size ?? 0)
    }

    public func started(_ input: InputFile, outputs: [OutputRecord]) {
        guard let job, input.stamp != nil else { return }
        let planned = outputs.map {
            OutputState(path: $0.path, size: nil, modifiedNs: nil, width: $0.width, height: $0.height, format: $0.format.rawValue,
                        contentHash: nil)
        }
        // The outputs of the last good attempt stay listed as FastResize's alongside the planned ones.
        let previous = known()[input.relativePath]?.outputs.filter { old in !planned.contains { $0.path == old.path } } ?? []
        let state = InputState(input: input.relativePath, path: input.path, stamp: input.stamp, contentHash: nil,
                               fingerprint: fingerprint, status: "running", stampedNs: startedNs, outputs: planned + previous)
        let finishing = ended.withLock { ended in
            defer { ended = [] }
            return ended
        }
        do throws(StoreError) {
            let attempt = try store.startAttempt(job: job, outputFolder: outputFolder, state: state, at: Self.now,
                                                 finishing: finishing)
            attempts.withLock { $0[input.relativePath] = attempt }
        } catch {
            note(error)
        }
    }

    public func finished(_ input: InputFile, report: FileReport) {
        guard let job, input.stamp != nil else { return }
        let attempt = attempts.withLock { $0.removeValue(forKey: input.relativePath) }
        // Outputs written now, and those kept as up to date (a profile's others) as they were recorded.
        let written = report.outputs.filter { $0.status == .written }
        let previous = known()[input.relativePath]?.outputs ?? []
        let kept = report.outputs.filter { $0.status == .skipped && $0.reason == .upToDate }
            .compactMap { output in previous.first { $0.path == output.path } }
        // The content is hashed now, then the stamp checked again: a file that changed while it
        // was being made keeps no stamp, so the next run makes it again.
        var hash: String?
        var stamp = input.stamp
        if report.status == .written {
            hash = ContentHash.of(file: input.readPath)
            if FileStamp.of(input.readPath) != input.stamp { stamp = nil }
        }
        let outputs = written.map { output in
            let now = FileStamp.of(output.path)
            return OutputState(path: output.path, size: now?.size, modifiedNs: now?.modifiedNs, width: output.width,
                               height: output.height, format: output.format.rawValue, contentHash: ContentHash.of(file: output.path))
        }
        let state = InputState(input: input.relativePath, path: input.path, stamp: stamp, contentHash: hash,
                               fingerprint: fingerprint, status: report.status.rawValue, failureKind: report.errorKind?.rawValue,
                               failure: report.error, stampedNs: startedNs, outputs: outputs + kept)
        let finished = FinishedAttempt(attempt: attempt, state: state, stageMilliseconds: report.stageMilliseconds,
                                       input: AttemptInput(bytes: input.stamp?.size, pixels: report.inputPixels), at: Self.now)
        ended.withLock { $0.append(finished) }
    }

    public func orphans(walked: [InputFile]) -> [Orphan] {
        let found = Set(walked.map(\.relativePath))
        return known().values.filter { !found.contains($0.input) && !$0.outputs.isEmpty }
            .sorted { $0.input < $1.input }
            .map { state in
                let current = state.outputs.filter(Self.isAsWritten)
                let changed = state.outputs.filter { output in !current.contains { $0.path == output.path } }
                    .filter { FileSystem.exists($0.path) }
                return Orphan(input: state.input, path: state.path, current: current.map(Self.record),
                              changed: changed.map(Self.record))
            }
    }

    public func forget(_ orphan: Orphan) {
        guard job != nil else { return }
        do throws(StoreError) {
            try store.markRemoved(outputFolder: outputFolder, input: orphan.input, at: Self.now)
        } catch {
            note(error)
        }
    }

    public func runFinished(_ report: BatchReport) {
        guard let job else { return }
        let status: JobStatus = report.summary.stoppedBy == nil ? .finished : .interrupted
        let finishing = ended.withLock { ended in
            defer { ended = [] }
            return ended
        }
        do throws(StoreError) {
            try store.finishAttempts(finishing, job: job, outputFolder: outputFolder)
            try store.updateJob(job, status: status, counts: JobCounts(report.summary), at: Self.now)
        } catch {
            note(error)
        }
    }
}
