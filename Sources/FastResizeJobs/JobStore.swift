// JobStore: what a job store keeps (jobs, the files of each output folder, their outputs and every attempt) and the protocol its backends implement — nothing here knows SQLite.

import FastResize
import Foundation

/// Where a job is in its life.
public enum JobStatus: String, Sendable, Codable, CaseIterable {
    case queued, running, finished, interrupted, cancelled
}

/// A job's counts, as its run's summary had them.
public struct JobCounts: Sendable, Codable, Equatable {
    public var total = 0, written = 0, skipped = 0, failed = 0, notImages = 0, cancelled = 0
    public var seconds = 0.0

    public init() {}

    public init(_ summary: BatchSummary) {
        total = summary.total
        written = summary.written
        skipped = summary.skipped
        failed = summary.failed
        notImages = summary.notImages
        cancelled = summary.cancelled
        seconds = summary.seconds
    }
}

/// One job: a run (or, queued, a run to be), with everything needed to run it again.
public struct JobRecord: Sendable, Codable, Equatable {
    public var id: Int64 = 0
    public var status: JobStatus
    public var priority = 0
    /// Nanoseconds since 1970.
    public var createdNs: Int64
    public var startedNs: Int64?
    public var finishedNs: Int64?
    /// The command line as given (argv after the program's name), and the folder it was given in.
    public var command: [String]
    public var workingDirectory: String
    /// The resolved settings of every output, as JSON, and their fingerprint.
    public var settings: String
    public var fingerprint: String
    public var inputs: [String]
    public var outputFolder: String
    /// Where it ran: the host and process, so a job whose process is gone can be told from one running.
    public var host: String
    public var pid: Int32
    public var counts: JobCounts?
    /// Put in the queue by `submit`, for workers (an ordinary run's job is its own process's).
    public var submitted = false

    public init(status: JobStatus, createdNs: Int64, command: [String], workingDirectory: String = "", settings: String,
                fingerprint: String, inputs: [String], outputFolder: String, host: String, pid: Int32) {
        self.status = status
        self.createdNs = createdNs
        self.command = command
        self.workingDirectory = workingDirectory
        self.settings = settings
        self.fingerprint = fingerprint
        self.inputs = inputs
        self.outputFolder = outputFolder
        self.host = host
        self.pid = pid
    }
}

/// An output as a job store remembers it: what it was when FastResize wrote it.
public struct OutputState: Sendable, Codable, Equatable {
    public var path: String
    /// Size and modification time on disk once written; nil while the output is only planned
    /// (an attempt started: the path is FastResize's, its content not yet known).
    public var size: Int?
    public var modifiedNs: Int64?
    public var width: Int
    public var height: Int
    public var format: String
    public var contentHash: String?

    public init(path: String, size: Int?, modifiedNs: Int64?, width: Int, height: Int, format: String, contentHash: String?) {
        self.path = path
        self.size = size
        self.modifiedNs = modifiedNs
        self.width = width
        self.height = height
        self.format = format
        self.contentHash = contentHash
    }
}

/// What a job store knows of one input of an output folder: as it was when it was last made, and
/// how that went.
public struct InputState: Sendable, Equatable {
    /// The path below its input folder: the key, with the output folder.
    public var input: String
    /// The path as last given.
    public var path: String
    /// The input as it was when made; nil when it cannot be trusted (it changed while being made).
    public var stamp: FileStamp?
    public var contentHash: String?
    /// The fingerprint of the settings that made its outputs.
    public var fingerprint: String
    /// `running` while an attempt is under way (or was, in a run that died), else the last
    /// attempt's file status (written, skipped, failed).
    public var status: String
    public var attempts: Int
    public var failureKind: String?
    public var failure: String?
    /// When the stamp was taken (nanoseconds since 1970): a file modified in the same second may
    /// have changed again unseen, so its stamp alone does not vouch for it (git's "racy" case).
    public var stampedNs: Int64
    public var outputs: [OutputState]
    /// The attempt that last changed this record (nil before any): a record whose attempt is not
    /// the one a run read was changed by another run since.
    public var attempt: Int64?

    public init(input: String, path: String, stamp: FileStamp?, contentHash: String?, fingerprint: String, status: String,
                attempts: Int = 0, failureKind: String? = nil, failure: String? = nil, stampedNs: Int64, outputs: [OutputState],
                attempt: Int64? = nil) {
        self.input = input
        self.path = path
        self.stamp = stamp
        self.contentHash = contentHash
        self.fingerprint = fingerprint
        self.status = status
        self.attempts = attempts
        self.failureKind = failureKind
        self.failure = failure
        self.stampedNs = stampedNs
        self.outputs = outputs
        self.attempt = attempt
    }
}

/// A run's hold on the files it is making: whose it is (`owner`: the host, the process and a
/// token of the run, "host:pid:token") and until when. The run renews it while it works; a run
/// that died holds nothing once it expires (or at once, when its host sees its process gone).
public struct Lease: Sendable, Equatable {
    public var owner: String
    /// Nanoseconds since 1970.
    public var expiresNs: Int64

    public init(owner: String, expiresNs: Int64) {
        self.owner = owner
        self.expiresNs = expiresNs
    }

    /// The host and process named by the owner (nil for an owner not written by FastResize).
    public var process: (host: String, pid: Int32)? {
        let parts = owner.split(separator: ":")
        guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]) else { return nil }
        return (parts[..<(parts.count - 2)].joined(separator: ":"), pid)
    }
}

/// An input of a shared job put into its queue (`JobStore.offerInputs`): its path below its input
/// folder, its size in bytes, and whether it is done already (found up to date).
public struct OfferedInput: Sendable, Codable, Equatable {
    public var input: String
    public var size: Int
    public var done: Bool

    public init(input: String, size: Int, done: Bool = false) {
        self.input = input
        self.size = size
        self.done = done
    }
}

/// An input taken from a shared job's queue (`JobStore.takeInputs`). `heldBefore`: another run
/// had taken it and lost it (it died, or stalled past its time), so it may have made some of it
/// since this run read the record: the record is read again before the input is planned.
public struct TakenInput: Sendable, Equatable {
    public var input: String
    public var heldBefore: Bool

    public init(input: String, heldBefore: Bool) {
        self.input = input
        self.heldBefore = heldBefore
    }
}

/// What became of a request to start an attempt (`JobStore.startAttempt`).
public enum AttemptStart: Sendable, Equatable {
    /// Started: the attempt's id; the file is held by the caller's lease.
    case started(Int64)
    /// Started over another run's attempt that never ended (its lease expired, or its process is
    /// known dead): the outputs that run planned are FastResize's, to be replaced as the caller's
    /// own (the dead run may have put some in place before it could record them).
    case tookOver(Int64, outputs: [String])
    /// Another live run holds the file: nothing was recorded.
    case held(Lease)
    /// Another run changed the file's record since the caller read it (made it, or failed):
    /// nothing was recorded; the record as it is now.
    case newer(InputState)
    /// The job was cancelled: nothing was recorded, and no more of its files should start.
    case cancelled
}

extension AttemptStart {
    /// The attempt begun, whether over another's or not.
    public var attempt: Int64? {
        switch self {
        case .started(let attempt), .tookOver(let attempt, _): attempt
        case .held, .newer, .cancelled: nil
        }
    }
}

/// One attempt at one file, as `jobs show` lists it.
public struct AttemptRecord: Sendable, Codable, Equatable {
    public var id: Int64
    public var job: Int64
    public var input: String
    public var path: String
    /// running, written, skipped or failed; abandoned when its run lost the file to another
    /// (it stalled past its lease) before its outputs took their names; cancelled when its run
    /// claimed the file ahead and was stopped before it started it.
    public var status: String
    public var startedNs: Int64
    public var finishedNs: Int64?
    public var failureKind: String?
    public var failure: String?
    public var stageMilliseconds: [String: Double]?
    public var outputs: [OutputState]
    /// The run that made it, as its leases name it ("host:pid:token"); nil in a store from
    /// before attempts recorded it.
    public var owner: String?

    public init(id: Int64, job: Int64, input: String, path: String, status: String, startedNs: Int64, finishedNs: Int64?,
                failureKind: String?, failure: String?, stageMilliseconds: [String: Double]?, outputs: [OutputState], owner: String? = nil) {
        self.owner = owner
        self.id = id
        self.job = job
        self.input = input
        self.path = path
        self.status = status
        self.startedNs = startedNs
        self.finishedNs = finishedNs
        self.failureKind = failureKind
        self.failure = failure
        self.stageMilliseconds = stageMilliseconds
        self.outputs = outputs
    }
}

/// An attempt that ended (`attempt` nil for a file that failed before it started), as recorded.
public struct FinishedAttempt: Sendable, Equatable {
    public var attempt: Int64?
    public var state: InputState
    public var stageMilliseconds: [String: Double]?
    public var input: AttemptInput
    public var nanoseconds: Int64
    /// When the file was started: an attempt claimed ahead was recorded when it was claimed.
    public var startedNs: Int64?

    public init(attempt: Int64?, state: InputState, stageMilliseconds: [String: Double]?, input: AttemptInput, at nanoseconds: Int64,
                startedNs: Int64? = nil) {
        self.attempt = attempt
        self.state = state
        self.stageMilliseconds = stageMilliseconds
        self.input = input
        self.nanoseconds = nanoseconds
        self.startedNs = startedNs
    }
}

/// What an attempt read: the input's bytes and pixels (for the figures of `jobs stats`).
public struct AttemptInput: Sendable, Equatable {
    public var bytes: Int?
    public var pixels: Int?

    public init(bytes: Int?, pixels: Int?) {
        self.bytes = bytes
        self.pixels = pixels
    }
}

/// The figures a user asks of past runs: how fast, how much in and out, what failed, what was slow.
public struct JobStats: Sendable, Codable, Equatable {
    public var jobs = 0
    public var written = 0, skipped = 0, failed = 0
    /// Seconds the jobs ran, together.
    public var seconds = 0.0
    /// Over the attempts that wrote: inputs read and outputs written, in bytes, and input megapixels.
    public var bytesIn = 0, bytesOut = 0
    public var megapixels = 0.0
    public var filesPerSecond = 0.0
    public var megapixelsPerSecond = 0.0
    /// Failed attempts by their kind.
    public var failuresByKind: [String: Int] = [:]
    /// The slowest attempts that wrote, slowest first.
    public var slowest: [Slow] = []

    public struct Slow: Sendable, Codable, Equatable {
        public var job: Int64
        public var input: String
        public var seconds: Double
        public var megapixels: Double?

        public init(job: Int64, input: String, seconds: Double, megapixels: Double?) {
            self.job = job
            self.input = input
            self.seconds = seconds
            self.megapixels = megapixels
        }
    }

    public init() {}
}

/// Why a job store could not do what was asked, in words a user can act on.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// Not a failure: there is nothing to do (a queued job another worker finished meanwhile).
    public var nothingToDo = false
    public init(_ description: String, nothingToDo: Bool = false) {
        self.description = description
        self.nothingToDo = nothingToDo
    }
}

/// A job store: jobs, and per output folder the state of each input, its outputs and attempts.
/// Backends (SQLite here; PostgreSQL for several machines) keep the same behaviour; nothing above
/// this protocol knows which one it has. Every call is one transaction, safe from any thread and
/// from several processes at once.
public protocol JobStore: Sendable {
    /// Where the store is, for messages.
    var location: String { get }

    /// Records a job; returns its id.
    func createJob(_ job: JobRecord) throws(StoreError) -> Int64
    /// A job's new status, and its counts when it has them.
    func updateJob(_ id: Int64, status: JobStatus, counts: JobCounts?, at nanoseconds: Int64) throws(StoreError)
    /// Jobs, newest first (at most `limit`; all with nil).
    func jobs(limit: Int?) throws(StoreError) -> [JobRecord]
    func job(_ id: Int64) throws(StoreError) -> JobRecord?
    /// How many jobs wait in the queue (a worker's queue depth).
    func queuedCount() throws(StoreError) -> Int

    /// Everything known of the inputs whose outputs go to `outputFolder`, by input path.
    func inputStates(outputFolder: String) throws(StoreError) -> [String: InputState]
    /// What is known of one input (a run whose inputs come as they arrive asks one at a time).
    func inputState(outputFolder: String, input: String) throws(StoreError) -> InputState?
    /// An attempt at `state.input` begins, by `job`, under `lease`: the input is marked running,
    /// held by the lease, and its planned outputs recorded as FastResize's before any is written.
    /// Not when another owner's lease on it is still valid (`held`; `takingOver` names an owner
    /// known dead, whose lease does not count), nor when another owner changed its record since the
    /// caller read it as of attempt `basedOn` (`newer`), nor when the job was cancelled. `finishing`, attempts that ended since the
    /// last call, are recorded first in the same transaction (one commit where there would be two).
    func startAttempt(job: Int64, outputFolder: String, state: InputState, lease: Lease, basedOn: Int64?, takingOver: String?,
                      at nanoseconds: Int64, finishing: [FinishedAttempt]) throws(StoreError) -> AttemptStart
    /// How many files a run may claim in one `startAttempts` (the one it starts and the next it
    /// will): more than one where a transaction costs much beside the file's own statements.
    var claimsAhead: Int { get }
    /// `startAttempt` for several inputs at once, in one transaction (what became of each, in order).
    func startAttempts(job: Int64, outputFolder: String, claims: [AttemptClaim], lease: Lease, at nanoseconds: Int64,
                       finishing: [FinishedAttempt]) throws(StoreError) -> [AttemptStart]
    /// Claims taken ahead that the run never started (it was stopped first): each attempt is
    /// recorded `cancelled`, and its file no longer held (the next run takes it over).
    func releaseClaims(_ claims: [HeldClaim], outputFolder: String, owner: String, at nanoseconds: Int64) throws(StoreError)
    /// Whether `owner` still holds `input` under `attempt` (a run about to put its outputs in
    /// place asks): if so, the hold is kept until `until`. If not (the lease lapsed and another
    /// run took the file over), the attempt is recorded `abandoned`, in the same transaction.
    func confirmHold(owner: String, outputFolder: String, input: String, attempt: Int64, until: Int64,
                     at nanoseconds: Int64) throws(StoreError) -> Bool
    /// Keeps the files and the job's inputs `owner` holds held until `until`; returns the status of `job` (a job
    /// cancelled meanwhile stops its run).
    func renewLeases(owner: String, until: Int64, job: Int64) throws(StoreError) -> JobStatus?
    /// The job a worker should run next: of those submitted and queued or running (a running one
    /// is shared with the workers on it, file by file, by leases), the highest priority, then the
    /// oldest. Jobs in `skipping` (done by this worker) are passed over.
    func nextJob(skipping: Set<Int64>) throws(StoreError) -> JobRecord?
    /// A process takes part in a job: it is marked running, by that process (unless it was
    /// cancelled or finished meanwhile); returns the job as it now is.
    func attachJob(_ id: Int64, host: String, pid: Int32, at nanoseconds: Int64) throws(StoreError) -> JobRecord?
    /// Cancels a queued, running or interrupted job; returns its status before (nil: no such job).
    func cancelJob(_ id: Int64, at nanoseconds: Int64) throws(StoreError) -> JobStatus?
    /// The leases under which a job's files are being made or its inputs held now (unexpired at
    /// `nanoseconds`).
    func holders(job: Int64, at nanoseconds: Int64) throws(StoreError) -> [Lease]
    /// Puts inputs of `job` into its queue, with their sizes (the largest are taken first); inputs
    /// there already stay as they are (every worker's run offers what its walk found), but for
    /// those offered `done` (found up to date), which are done from now on.
    func offerInputs(job: Int64, inputs: [OfferedInput]) throws(StoreError)
    /// Takes up to `limit` of the job's inputs for `owner` until `until`, largest first: those
    /// never taken, given back, or held past their time at `nanoseconds`, and those the owners in
    /// `freeing` hold (runs known dead). Runs taking at once get different inputs, none waiting on
    /// another (`FOR UPDATE SKIP LOCKED` in PostgreSQL). `done`, inputs finished since the last
    /// call, are marked so first, in the same transaction. Returns the inputs taken.
    /// `sharing`: no more than a fair share of the inputs free now, half of them over the runs
    /// holding some (this one counted), at least one — guided self-scheduling, so that the job's
    /// last inputs are spread over its runs rather than one run taking a batch while the others
    /// run dry (the count reads at most as many rows as would leave `limit` uncapped).
    func takeInputs(job: Int64, owner: String, limit: Int, until: Int64, at nanoseconds: Int64, done: [String],
                    freeing: [String], sharing: Bool) throws(StoreError) -> [TakenInput]
    /// How many of the job's inputs are not done yet, held or not, leaving out those `owner` holds.
    func pendingInputs(job: Int64, except owner: String?) throws(StoreError) -> Int
    /// `owner`'s run ends: `done` marked finished, and the other inputs it took given back.
    func returnInputs(job: Int64, owner: String, done: [String]) throws(StoreError)
    /// How many of a job's files were written and failed, by each file's last attempt in it (a job
    /// several workers shared is counted whole).
    func tally(job: Int64) throws(StoreError) -> (written: Int, failed: Int)
    /// Attempts that ended, in one transaction: each input's new state, with the outputs now on
    /// disk, replaces the old; `owner`'s leases on them end.
    func finishAttempts(_ finished: [FinishedAttempt], job: Int64, outputFolder: String, owner: String) throws(StoreError)
    /// Figures over the jobs of the store (the newest `limit`, or all).
    func stats(limit: Int?) throws(StoreError) -> JobStats
    /// An input gone (--prune): its outputs' records go, its attempts stay as history.
    func markRemoved(outputFolder: String, input: String, at nanoseconds: Int64) throws(StoreError)
    /// Inputs found unchanged by their content under new stamps (touched, copied): the new stamps
    /// kept, by input path, in one transaction.
    func restamp(outputFolder: String, stamps: [String: FileStamp], at nanoseconds: Int64) throws(StoreError)
    /// The attempts of a job, in the order they started.
    func attempts(job: Int64) throws(StoreError) -> [AttemptRecord]
    /// Waits up to `seconds` for a job to be submitted: true when one was. nil when this store
    /// cannot hear of submissions (SQLite: the caller polls); PostgreSQL hears of them at once
    /// (LISTEN/NOTIFY).
    func awaitSubmission(seconds: Double) -> Bool?
    /// Waits up to `seconds` for another run of `job` to give its inputs back (`returnInputs`, at
    /// its end): true when one did (or, the first time, when the listening began: look again).
    /// nil when this store cannot hear of it (SQLite: the caller polls).
    func awaitReturns(job: Int64, seconds: Double) -> Bool?
}

extension JobStore {
    public func awaitSubmission(seconds: Double) -> Bool? { nil }
    public func awaitReturns(job: Int64, seconds: Double) -> Bool? { nil }

    /// Up to `limit`, uncapped by the other runs' share.
    public func takeInputs(job: Int64, owner: String, limit: Int, until: Int64, at nanoseconds: Int64, done: [String],
                           freeing: [String]) throws(StoreError) -> [TakenInput] {
        try takeInputs(job: job, owner: owner, limit: limit, until: until, at: nanoseconds, done: done, freeing: freeing, sharing: false)
    }

    /// A run's fair share of `free` inputs, `others` other runs holding some: half of them spread
    /// over the runs, at least one, at most `limit` (see `takeInputs`).
    public static func fairShare(free: Int, others: Int, limit: Int) -> Int {
        let runs = 2 * (others + 1)
        return max(1, min(limit, (free + runs - 1) / runs))
    }

    /// One claim per transaction, unless the store says otherwise.
    public var claimsAhead: Int { 1 }

    public func startAttempts(job: Int64, outputFolder: String, claims: [AttemptClaim], lease: Lease, at nanoseconds: Int64,
                              finishing: [FinishedAttempt]) throws(StoreError) -> [AttemptStart] {
        // The ends first (recorded even with nothing to claim), then one claim at a time.
        try finishAttempts(finishing, job: job, outputFolder: outputFolder, owner: lease.owner)
        var started: [AttemptStart] = []
        for claim in claims {
            started.append(try startAttempt(job: job, outputFolder: outputFolder, state: claim.state, lease: lease,
                                            basedOn: claim.basedOn, takingOver: claim.takingOver, at: nanoseconds, finishing: []))
        }
        return started
    }

    /// A store that claims one file at a time holds none ahead: nothing to release.
    public func releaseClaims(_ claims: [HeldClaim], outputFolder: String, owner: String, at nanoseconds: Int64) throws(StoreError) {}
}

/// One input to claim (`JobStore.startAttempts`): as `startAttempt`'s arguments.
public struct AttemptClaim: Sendable, Equatable {
    public var state: InputState
    public var basedOn: Int64?
    public var takingOver: String?

    public init(state: InputState, basedOn: Int64?, takingOver: String?) {
        self.state = state
        self.basedOn = basedOn
        self.takingOver = takingOver
    }
}

/// A claim a run holds on an input it has not started (`JobStore.releaseClaims`).
public struct HeldClaim: Sendable, Equatable {
    public var input: String
    public var attempt: Int64

    public init(input: String, attempt: Int64) {
        self.input = input
        self.attempt = attempt
    }
}

/// The JSON a store keeps in a text column (a command line, counts, outputs, stage times), keys
/// sorted so that equal values are equal text; every backend reads it this way. (SQLite writes an
/// attempt's outputs and stage times with its own json_object, keys in the same order, absent
/// values as null: the same values once read.)
public enum StoredJSON {
    public static func text(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    public static func value<T: Decodable>(_ text: String?) -> T? {
        text.flatMap { try? JSONDecoder().decode(T.self, from: Data($0.utf8)) }
    }
}
