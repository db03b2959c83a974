// StoreRecorder: a run's RunRecorder over any JobStore — decides which inputs are up to date and records each attempt.

import FastResize
import Foundation
import Synchronization

/// What a run asks of the job store, and tells it. Up to date means: the input's stamp (size,
/// modification time, inode) is the one recorded — or, when it is not, its content hash is — the
/// settings' fingerprint is the one its outputs were made with, and every output is on disk with
/// the size and modification time it was written with. Store failures during the run do not fail
/// files (the outputs are made all the same): the first is kept in `problem` for the caller to tell.
///
/// Runs and workers on the same outputs share them file by file: each file is claimed under the
/// run's lease before it is made (a file another live run holds waits; one another run made
/// meanwhile, the same way, is not made again), and the lease is renewed while the run lives — a
/// run that dies holds nothing once its lease expires, or at once when its process is seen gone
/// on this host. The renewal also notices the job cancelled (`onCancel`).
public final class StoreRecorder: RunRecorder, Sendable {
    public let store: any JobStore
    /// The job this run records into; nil to read only (a dry run).
    public let job: Int64?
    public let outputFolder: String
    public let fingerprint: String
    /// Every input is made again (--force): its own outputs still replaceable without --overwrite.
    public let force: Bool
    /// The job is shared with other processes (a queued job several workers run): its counts
    /// are taken from the store at the end, not from this run's summary alone.
    public let shared: Bool
    /// Who this run is, in its leases: the host, the process, and a token of the run.
    public let owner: String
    /// How long a claim holds without renewal (renewed every third of it).
    public let leaseSeconds: Double
    /// The run's inputs come as they arrive and it may last months (a watch): each input is
    /// looked up in the store when it comes (nothing of the folder is held in memory), and each
    /// attempt's end is recorded at once (the next start may be hours away).
    public let openEnded: Bool
    /// When this run began: stamps taken after it whose modification time is this close are not
    /// trusted alone next time (git's racy files).
    private let startedNs: Int64
    private let states: Mutex<[String: InputState]?>
    /// Each file in hand: its attempt, and until when its claim surely holds by this machine's
    /// clock (unless the last renewal of all the run's leases, `renewedUntil`, holds it longer).
    private let attempts = Mutex<[String: (attempt: Int64, heldUntil: Int64)]>([:])
    private let renewedUntil = Mutex<Int64>(0)
    /// The run's files to start, in order, and those claimed ahead of their start.
    private let claims = Mutex(ClaimsAhead())
    private let claiming = NSLock()
    /// The content hash of each file in hand, taken from its bytes as the engine read them.
    private let contentHashes = Mutex<[String: String]>([:])
    /// Content hashes being read alongside the making of large files (`readingAlongside`).
    private let hashesAlongside = Mutex<[String: ContentHashAlongside]>([:])
    /// An open-ended run's record of each file in hand as it was before its attempt began.
    private let before = Mutex<[String: InputState]>([:])
    /// Attempts that ended and are not yet in the store: the next claiming transaction (or the
    /// run's end) records them, so a file costs no commit of its own. Claiming ahead, a run
    /// claims every few files, and records ends that waited `endsWaitAtMost` or more at the next
    /// start. A run killed before that leaves them `running`, and they are made again: nothing
    /// is lost but a little work.
    private let ended = Mutex<[FinishedAttempt]>([])
    /// A shared job's inputs this run took and is done with, not yet marked so in the store
    /// (with the next take, or at the run's end); and how many inputs its walk found in all.
    private let doneInputs = Mutex<[String]>([])
    private let sharedTotal = Mutex<Int?>(nil)
    private let firstProblem = Mutex<StoreError?>(nil)
    /// Renews the run's leases every third of their length, and watches for the job cancelled.
    private let heartbeat = Mutex<Ticker?>(nil)
    private let cancelHandler = Mutex<(@Sendable () -> Void)?>(nil)
    private let sawCancel = Mutex(false)

    /// `known`: the folder's records when the caller has read them already (else read on first need).
    public init(store: any JobStore, job: Int64?, outputFolder: String, fingerprint: String, force: Bool = false,
                known: [String: InputState]? = nil, shared: Bool = false, leaseSeconds: Double = StoreRecorder.defaultLeaseSeconds,
                openEnded: Bool = false) {
        self.store = store
        states = Mutex(known)
        self.job = job
        self.outputFolder = outputFolder
        self.fingerprint = fingerprint
        self.force = force
        self.shared = shared
        self.leaseSeconds = leaseSeconds
        self.openEnded = openEnded
        owner = "\(Self.hostName):\(getpid()):\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        startedNs = Self.now
        if job != nil {
            let beating = Ticker(every: leaseSeconds / 3, name: "fastresize-leases") { [weak self] in self?.beat() }
            heartbeat.withLock { $0 = beating }
        }
    }

    deinit {
        heartbeat.withLock { $0?.stop() }
    }

    /// Long enough that a busy disk's stall does not lose a claim, short enough that a dead
    /// worker on another machine holds its files for a minute only (--lease).
    public static let defaultLeaseSeconds = 60.0

    /// Called (once, from another thread) when the job is found cancelled while the run goes on.
    public func onCancel(_ action: @escaping @Sendable () -> Void) {
        cancelHandler.withLock { $0 = action }
    }

    /// The job was cancelled while this run went on.
    public var cancelled: Bool { sawCancel.withLock { $0 } }

    /// This machine's name, as leases and jobs record it.
    public static var hostName: String { ProcessLiveness.hostName }

    private func beat() {
        guard let job else { return }
        do throws(StoreError) {
            let until = Self.now + Int64(leaseSeconds * 1e9)
            let status = try store.renewLeases(owner: owner, until: until, job: job)
            renewedUntil.withLock { $0 = max($0, until) }
            if status == .cancelled { cancel() }
        } catch {
            note(error)
        }
    }

    /// The job was found cancelled: the handler is told, once.
    private func cancel() {
        guard !sawCancel.withLock({ seen in defer { seen = true }; return seen }) else { return }
        cancelHandler.withLock { $0 }?()
    }

    /// Whether a lease's owner is a process of this host that no longer exists.
    public static func isDead(_ lease: Lease) -> Bool {
        guard let (host, pid) = lease.process, host == hostName else { return false }
        return !ProcessLiveness.isAlive(pid)
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

    /// What is on record for one input: from the folder's records read once, or (open-ended)
    /// from the store now.
    private func state(of input: String) -> InputState? {
        guard openEnded else { return known()[input] }
        do throws(StoreError) {
            return try store.inputState(outputFolder: outputFolder, input: input)
        } catch {
            note(error)
            return nil
        }
    }

    public func recall(_ inputs: [InputFile]) -> [Recollection] {
        // Inputs found unchanged under a new stamp: their new stamps, kept in one transaction.
        var restamped: [String: FileStamp] = [:]
        // An open-ended run asked about many inputs at once (a watch's rescan) reads the
        // folder's records once for them, and keeps none after.
        var records: [String: InputState]?
        if openEnded && inputs.count > 16 {
            do throws(StoreError) {
                records = try store.inputStates(outputFolder: outputFolder)
            } catch {
                note(error)
            }
        }
        let recalled = inputs.map { input -> Recollection in
            guard let state = records.map({ $0[input.relativePath] }) ?? state(of: input.relativePath) else { return .unknown }
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
        if !settled.isEmpty && !openEnded {
            states.withLock { cached in for key in settled { cached?.removeValue(forKey: key) } }
        }
        if job != nil && !restamped.isEmpty {
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

    public func willStart(_ upcoming: @escaping UpcomingFiles, whole: Bool) {
        guard job != nil, !openEnded, store.claimsAhead > 1 else { return }
        claims.withLock { $0 = ClaimsAhead(upcoming, whole: whole) }
    }

    /// The claim of `input` into `outputs` as the store records it, over `record` (what this run
    /// last read of it): the outputs of its last good attempt stay listed as FastResize's
    /// alongside the planned ones.
    private func claim(_ input: InputFile, outputs: [OutputRecord], over record: InputState?, takingOver: String? = nil) -> AttemptClaim {
        let planned = outputs.map {
            OutputState(path: $0.path, size: nil, modifiedNs: nil, width: $0.width, height: $0.height, format: $0.format.rawValue,
                        contentHash: nil)
        }
        let previous = record?.outputs.filter { old in !planned.contains { $0.path == old.path } } ?? []
        let state = InputState(input: input.relativePath, path: input.path, stamp: input.stamp, contentHash: nil,
                               fingerprint: fingerprint, status: "running", stampedNs: startedNs, outputs: planned + previous)
        return AttemptClaim(state: state, basedOn: record?.status == "running" ? nil : record?.attempt, takingOver: takingOver)
    }

    public func started(_ input: InputFile, outputs: [OutputRecord]) -> Claim {
        guard let job, input.stamp != nil else { return .granted() }
        // With claims taken ahead, one thread claims at a time: a file another thread is claiming
        // ahead in this moment must be found held once that is done, not claimed a second time.
        // (The store takes one writer at a time anyway.)
        let ahead = claims.withLock { $0.active }
        if ahead { claiming.lock() }
        defer { if ahead { claiming.unlock() } }
        if let held = claims.withLock({ $0.start(input.relativePath) }) {
            attempts.withLock { $0[input.relativePath] = (held.attempt, held.heldUntil) }
            recordEnded(job: job, after: input)
            return .granted(alsoOwn: held.alsoOwn)
        }
        let finishing = takeEnded()
        // The next files of the plan not yet claimed, claimed in the same transaction.
        let companions = claims.withLock { $0.next(holding: store.claimsAhead - 1) }
        // The record as this run read it. One read while another run had the file in hand is
        // no version at all: whatever that attempt became since is news (`newer`).
        var record = state(of: input.relativePath)
        var takingOver: String?
        var alsoOwn: Set<String> = []
        // At most three turns: the record changed by another run, then a holder found dead.
        for turn in 0..<3 {
            let now = Self.now
            let until = now + Int64(leaseSeconds * 1e9)
            do throws(StoreError) {
                let others = turn == 0 ? companions : []
                let started = try store.startAttempts(
                    job: job, outputFolder: outputFolder,
                    claims: [claim(input, outputs: outputs, over: record, takingOver: takingOver)] + others.map(claimAhead),
                    lease: Lease(owner: owner, expiresNs: until), at: now, finishing: turn == 0 ? finishing : [])
                hold(others, as: started.dropFirst(), until: until)
                let start = started[0]
                switch start {
                case .started(let attempt), .tookOver(let attempt, _):
                    attempts.withLock { $0[input.relativePath] = (attempt, until) }
                    if openEnded, let record { before.withLock { $0[input.relativePath] = record } }
                    if case .tookOver(_, let outputs) = start { alsoOwn.formUnion(outputs) }
                    return .granted(alsoOwn: alsoOwn)
                case .cancelled:
                    // Handed back, and the run stops before taking it again: it is reported not started.
                    cancel()
                    return .busy
                case .held(let lease):
                    guard Self.isDead(lease) else { return .busy }
                    takingOver = lease.owner
                case .newer(let newer):
                    // Another run made it, the way this one would: it stands. Else this run makes
                    // it, over what the other wrote.
                    if newer.stamp == input.stamp, newer.fingerprint == fingerprint, newer.status == FileReport.Status.written.rawValue,
                       !newer.outputs.isEmpty, newer.outputs.allSatisfy(Self.isAsWritten) {
                        return .madeElsewhere(newer.outputs.map(Self.record))
                    }
                    record = newer
                    alsoOwn.formUnion(newer.outputs.map(\.path))
                    states.withLock { $0?[input.relativePath] = newer }
                }
            } catch {
                note(error)
                return .granted(alsoOwn: alsoOwn)
            }
        }
        return .busy
    }

    /// A file claimed ahead starts, with no transaction of its own: the attempts that ended
    /// meanwhile are recorded now if the oldest ended `endsWaitAtMost` ago or more (with the next
    /// files of the plan claimed in the same transaction), else they wait for a later one. A run
    /// killed loses at most the ends of that long (their files are made again), as River's batched
    /// completions do.
    private func recordEnded(job: Int64, after input: InputFile) {
        let now = Self.now
        let finishing = takeEnded(endedBefore: now - Self.endsWaitAtMost)
        guard !finishing.isEmpty else { return }
        let companions = claims.withLock { $0.next(holding: store.claimsAhead - 1) }
        let until = now + Int64(leaseSeconds * 1e9)
        do throws(StoreError) {
            let started = try store.startAttempts(job: job, outputFolder: outputFolder, claims: companions.map(claimAhead),
                                                  lease: Lease(owner: owner, expiresNs: until), at: now, finishing: finishing)
            hold(companions, as: started, until: until)
        } catch {
            // Not held: each is claimed as it starts.
            note(error)
        }
    }

    /// The claim of a file ahead of its start, over what this run read of it.
    private func claimAhead(_ file: (input: InputFile, outputs: [OutputRecord])) -> AttemptClaim {
        claim(file.input, outputs: file.outputs, over: state(of: file.input.relativePath))
    }

    /// Files claimed ahead wait for their start with what became of their claims; those not
    /// granted are claimed as they start, as any.
    private func hold(_ files: [(input: InputFile, outputs: [OutputRecord])], as starts: some Sequence<AttemptStart>, until: Int64) {
        claims.withLock { plan in
            for (file, start) in zip(files, starts) { plan.claimed(file.input.relativePath, as: start, until: until) }
        }
    }

    /// The ended attempts not yet recorded, taken to be (all of them; with `endedBefore`, only
    /// when the oldest ended before then).
    private func takeEnded(endedBefore cutoff: Int64 = .max) -> [FinishedAttempt] {
        ended.withLock { ended in
            guard let oldest = ended.first, oldest.nanoseconds < cutoff else { return [] }
            defer { ended = [] }
            return ended
        }
    }

    /// How long the end of an attempt may wait in memory for a transaction that also claims.
    static let endsWaitAtMost: Int64 = 50_000_000

    public func stillHolds(_ input: InputFile) -> Bool {
        guard job != nil, let (attempt, claimed) = attempts.withLock({ $0[input.relativePath] }) else { return true }
        let now = Self.now
        let lease = Int64(leaseSeconds * 1e9)
        // Held for more than a third of a lease yet: nobody can have taken it, and asking the
        // store would cost a transaction a file. Only a run that stalled gets here with less.
        if now + lease / 3 < max(claimed, renewedUntil.withLock { $0 }) { return true }
        do throws(StoreError) {
            if try store.confirmHold(owner: owner, outputFolder: outputFolder, input: input.relativePath, attempt: attempt,
                                     until: now + lease, at: now) {
                attempts.withLock { $0[input.relativePath] = (attempt, now + lease) }
                return true
            }
            // Lost to another run: this attempt is over (recorded abandoned); the file's record is the other's now.
            attempts.withLock { _ = $0.removeValue(forKey: input.relativePath) }
            states.withLock { $0?[input.relativePath] = nil }
            return false
        } catch {
            // The store cannot say: the outputs go in place, as they would without the question.
            note(error)
            return true
        }
    }

    public func reading(_ input: InputFile, bytes: UnsafeRawBufferPointer) {
        guard job != nil, input.stamp != nil else { return }
        let hash = ContentHash.of(bytes: bytes)
        contentHashes.withLock { $0[input.relativePath] = hash }
    }

    public func readingAlongside(_ input: InputFile) {
        guard job != nil, input.stamp != nil else { return }
        let hash = ContentHashAlongside(file: input.readPath)
        hashesAlongside.withLock { $0[input.relativePath] = hash }
    }

    public func finished(_ input: InputFile, report: FileReport) {
        guard let job, input.stamp != nil else { return }
        let attempt = attempts.withLock { $0.removeValue(forKey: input.relativePath)?.attempt }
        let contentHash = contentHashes.withLock { $0.removeValue(forKey: input.relativePath) }
        let alongside = hashesAlongside.withLock { $0.removeValue(forKey: input.relativePath) }
        // Outputs written now, and those kept as up to date (a profile's others) as they were recorded.
        let written = report.outputs.filter { $0.status == .written }
        let previous = (openEnded ? before.withLock { $0.removeValue(forKey: input.relativePath) } : known()[input.relativePath])?
            .outputs ?? []
        let kept = report.outputs.filter { $0.status == .skipped && $0.reason == .upToDate }
            .compactMap { output in previous.first { $0.path == output.path } }
        // The content is hashed (as it was read to be made, or while it was, else now), then the stamp checked
        // again: a file that changed while it was being made keeps no stamp, so the next run
        // makes it again.
        var hash: String?
        var stamp = input.stamp
        if report.status == .written {
            hash = contentHash ?? alongside?.value ?? ContentHash.of(file: input.readPath)
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
        let now = Self.now
        let finished = FinishedAttempt(attempt: attempt, state: state, stageMilliseconds: report.stageMilliseconds,
                                       input: AttemptInput(bytes: input.stamp?.size, pixels: report.inputPixels), at: now,
                                       startedNs: now - Int64(report.ms * 1e6))
        ended.withLock { $0.append(finished) }
        // Recorded now when no start will come soon to carry it: an open-ended run's next may be
        // hours away, and a run's last files leave this worker nothing to start (the ends go in
        // while the others finish theirs, rather than after them).
        guard openEnded || claims.withLock({ $0.allStarted }) else { return }
        do throws(StoreError) {
            try store.finishAttempts(takeEnded(), job: job, outputFolder: outputFolder, owner: owner)
        } catch {
            note(error)
        }
    }

    public func orphans(walked: [InputFile]) -> [Orphan] {
        let found = Set(walked.map(\.relativePath))
        // An open-ended run reads the folder's records afresh, and keeps none of them.
        var records: [String: InputState]
        if openEnded {
            do throws(StoreError) {
                records = try store.inputStates(outputFolder: outputFolder)
            } catch {
                note(error)
                records = [:]
            }
        } else {
            records = known()
        }
        return records.values.filter { !found.contains($0.input) && !$0.outputs.isEmpty }
            .sorted { $0.input < $1.input }
            .map(Self.orphan)
    }

    public func orphan(_ input: String) -> Orphan? {
        guard let state = state(of: input), !state.outputs.isEmpty else { return nil }
        return Self.orphan(state)
    }

    private static func orphan(_ state: InputState) -> Orphan {
        let current = state.outputs.filter(isAsWritten)
        let changed = state.outputs.filter { output in !current.contains { $0.path == output.path } }
            .filter { FileSystem.exists($0.path) }
        return Orphan(input: state.input, path: state.path, current: current.map(record), changed: changed.map(record))
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
        heartbeat.withLock { $0?.stop() }
        // An open-ended run (a watch) ends when it is stopped: that is its finish.
        var status: JobStatus = cancelled ? .cancelled : report.summary.stoppedBy == nil || openEnded ? .finished : .interrupted
        do throws(StoreError) {
            try store.finishAttempts(takeEnded(), job: job, outputFolder: outputFolder, owner: owner)
            // Files claimed ahead that were never started (the run was stopped) are let go.
            let unstarted = claims.withLock { $0.release() }
            try store.releaseClaims(unstarted, outputFolder: outputFolder, owner: owner, at: Self.now)
            // What this run took of a shared job's queue and did not do goes back to it.
            if sharedTotal.withLock({ $0 }) != nil {
                try store.returnInputs(job: job, owner: owner, done: doneInputs.withLock { done in defer { done = [] }; return done })
            }
            var counts = JobCounts(report.summary)
            if shared {
                // The job's inputs are those the walk found, whichever run made them.
                if let total = sharedTotal.withLock({ $0 }) { counts.total = max(counts.total, total) }
                // Every worker's share: what each file's last attempt in the job did; the rest
                // (made by others before, or up to date) skipped.
                let tally = try store.tally(job: job)
                counts.written = tally.written
                counts.failed = tally.failed
                counts.skipped = max(0, counts.total - counts.written - counts.failed - counts.notImages - counts.cancelled)
                if let started = try store.job(job)?.startedNs { counts.seconds = Double(Self.now - started) / 1e9 }
                // Not over while another live run still has files of it in hand, or inputs of its
                // queue are not done: should that run die, the job stays running, for a worker to
                // take up what it left.
                let queued = sharedTotal.withLock { $0 } != nil
                if status == .finished, try store.holders(job: job, at: Self.now).contains(where: { !Self.isDead($0) }) {
                    status = .running
                }
                if status == .finished, queued, try store.pendingInputs(job: job, except: nil) > 0 { status = .running }
            }
            try store.updateJob(job, status: status, counts: counts, at: Self.now)
        } catch {
            note(error)
        }
    }
}

/// A queued job's inputs shared through the store by the runs of its workers.
extension StoreRecorder: SharedInputs {
    public func offer(_ inputs: [InputFile], upToDate: [InputFile]) {
        guard let job else { return }
        sharedTotal.withLock { $0 = inputs.count + upToDate.count }
        do throws(StoreError) {
            try store.offerInputs(job: job, inputs: inputs.map { OfferedInput(input: $0.relativePath, size: $0.size) }
                                  + upToDate.map { OfferedInput(input: $0.relativePath, size: $0.size, done: true) })
        } catch {
            note(error)
        }
    }

    public func take(limit: Int) -> SharedTake {
        guard let job else { return .none }
        let done = doneInputs.withLock { done in defer { done = [] }; return done }
        // An input is marked done only once its attempt's end is on record: killed in between,
        // the run would leave an attempt running on an input nobody takes again.
        let finishing = done.isEmpty ? [] : takeEnded()
        let now = Self.now
        let until = now + Int64(leaseSeconds * 1e9)
        do throws(StoreError) {
            try store.finishAttempts(finishing, job: job, outputFolder: outputFolder, owner: owner)
            let taken = try store.takeInputs(job: job, owner: owner, limit: limit, until: until, at: now, done: done, freeing: [],
                                             sharing: true)
            guard taken.isEmpty else { return .inputs(try reread(taken)) }
            // None left but those held: inputs held by runs of this host that are gone are taken
            // now, not when their time runs out (other hosts' wait for that: they may be alive).
            let dead = try store.holders(job: job, at: now).filter(Self.isDead).map(\.owner)
            if !dead.isEmpty {
                let freed = try store.takeInputs(job: job, owner: owner, limit: limit, until: until, at: now, done: [], freeing: dead,
                                                 sharing: true)
                if !freed.isEmpty { return .inputs(try reread(freed)) }
            }
            return try store.pendingInputs(job: job, except: owner) > 0 ? .heldElsewhere : .none
        } catch {
            note(error)
            // Not marked done yet: kept for the run's end (the attempts' ends were recorded, or
            // are lost with the store as any other record would be).
            doneInputs.withLock { $0 += done }
            return .none
        }
    }

    public func done(_ input: String) {
        doneInputs.withLock { $0.append(input) }
    }

    public func awaitReturns(seconds: Double) -> Bool? {
        guard let job else { return nil }
        return store.awaitReturns(job: job, seconds: seconds)
    }

    /// The paths of inputs taken; the record of each one another run had taken is read again: it
    /// may have started it since this run read the folder's records, and put outputs in place
    /// before it died, which are FastResize's (to replace), not another's in the way.
    private func reread(_ taken: [TakenInput]) throws(StoreError) -> [String] {
        for input in taken where input.heldBefore {
            let state = try store.inputState(outputFolder: outputFolder, input: input.input)
            states.withLock { $0?[input.input] = state }
        }
        return taken.map(\.input)
    }
}

/// The claims a run takes ahead of its files' start: each claim transaction takes the file being
/// started and the next few its list will hand out (an ordinary run's plan, or the inputs a shared
/// job's run took from the queue and planned), and they wait here for their start. Nothing is kept
/// per file of the plan but those claims (a first run of 100,000 files holds a few).
struct ClaimsAhead {
    private let upcoming: UpcomingFiles?
    /// The list is all the run will start (else it grows: a shared job's run takes more).
    private let whole: Bool
    /// Where in the list the next files to claim are looked for.
    private var offset = 0
    /// The list had no more to give: every file not started is claimed ahead, or was not claimable.
    private var exhausted = false
    private var held: [String: (attempt: Int64, alsoOwn: Set<String>, heldUntil: Int64)] = [:]

    init(_ upcoming: UpcomingFiles? = nil, whole: Bool = true) {
        self.upcoming = upcoming
        self.whole = whole
    }

    /// Whether the run claims ahead (its list was given).
    var active: Bool { upcoming != nil }
    /// Every file of the run has started: a worker that ends one now has no other to go on with.
    var allStarted: Bool { exhausted && held.isEmpty }

    /// The file starts: its claim, if one was taken ahead.
    mutating func start(_ input: String) -> (attempt: Int64, alsoOwn: Set<String>, heldUntil: Int64)? {
        held.removeValue(forKey: input)
    }

    /// The files the list will hand out next and nobody claimed ahead yet, as many as keep at
    /// most `limit` claims waiting (those with no stamp, which are never claimed, passed over).
    mutating func next(holding limit: Int) -> [(input: InputFile, outputs: [OutputRecord])] {
        let count = limit - held.count
        guard count > 0, let upcoming, !exhausted else { return [] }
        let (files, next) = upcoming(offset, count)
        offset = next
        if files.count < count && whole { exhausted = true }
        return files.filter { $0.input.stamp != nil }
    }

    /// What became of a file's claim ahead: held until its start, or (held by another run,
    /// changed by one, the job cancelled) left to be claimed as it starts.
    mutating func claimed(_ input: String, as start: AttemptStart, until: Int64) {
        switch start {
        case .started(let attempt): held[input] = (attempt, [], until)
        case .tookOver(let attempt, let outputs): held[input] = (attempt, Set(outputs), until)
        case .held, .newer, .cancelled: break
        }
    }

    /// The claims never started, let go.
    mutating func release() -> [HeldClaim] {
        defer { held = [:] }
        return held.map { HeldClaim(input: $0.key, attempt: $0.value.attempt) }.sorted { $0.input < $1.input }
    }
}
