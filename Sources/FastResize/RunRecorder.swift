// RunRecorder: what a run remembers of earlier runs into the same outputs, and how it records its own — the seam a job store plugs into (the engine knows no database).

import Foundation

/// An input as the file system described it when it was found: what an incremental run compares
/// before it reads a byte (the quick check of rsync, the stat data of git's index).
public struct FileStamp: Sendable, Equatable, Codable {
    public var size: Int
    /// Last modification, in nanoseconds since 1970.
    public var modifiedNs: Int64
    public var inode: UInt64
    public var device: UInt64

    public init(size: Int, modifiedNs: Int64, inode: UInt64, device: UInt64) {
        self.size = size
        self.modifiedNs = modifiedNs
        self.inode = inode
        self.device = device
    }

    public init(_ status: stat) {
        self.init(size: Int(status.st_size),
                  modifiedNs: Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec),
                  inode: UInt64(status.st_ino), device: UInt64(status.st_dev))
    }

    /// The stamp of the file at `path` now (following a symbolic link), nil when it cannot be read.
    public static func of(_ path: String) -> FileStamp? {
        FileSystem.status(path).map(FileStamp.init)
    }
}

/// What the record of earlier runs says of one input, before this run reads it.
public enum Recollection: Sendable, Equatable {
    /// Nothing is known of it: it is planned as ever.
    case unknown
    /// Its outputs are up to date (input, settings and outputs unchanged): it is not read, and is
    /// reported skipped with these outputs.
    case upToDate([OutputRecord])
    /// It is made again (the input, the settings or an output changed, or --force). `ownOutputs`,
    /// which FastResize wrote for it, may be replaced without --overwrite; `current`, those still
    /// as they were made from this same input with these same settings, are kept (a profile whose
    /// one output was deleted makes only that one again).
    case outdated(ownOutputs: Set<String>, current: Set<String> = [])
}

/// Up to `count` files a run will start and has not handed out yet, those at `from` in its order
/// or later, with the outputs planned for each; and the place after the last one looked at (the
/// next call's `from`). Fewer than `count` when there are no more (for now, in a list that grows).
public typealias UpcomingFiles = @Sendable (_ from: Int, _ count: Int) -> (files: [(input: InputFile, outputs: [OutputRecord])], next: Int)

/// A run's memory and its record: the engine asks it about the walked inputs before reading any
/// header and tells it what happens to each file. A job store implements it (FastResizeJobs);
/// without one a run behaves as if nothing were known. Called from the run's worker threads.
public protocol RunRecorder: Sendable {
    /// What is known of each input (in the same order), before any of them is read.
    func recall(_ inputs: [InputFile]) -> [Recollection]
    /// A run's files, as it will start them (told before the first starts): a recorder may claim
    /// some ahead of their start, asking `upcoming` for the next ones. `whole`: the list is every
    /// file the run will start (an ordinary run's plan); else it grows as the run takes more from
    /// a shared job's queue, and finding none in it now is not the run's end.
    func willStart(_ upcoming: @escaping UpcomingFiles, whole: Bool)
    /// A file is about to be made into `outputs`: claimed for this run (another run or worker on
    /// the same outputs may hold it) and recorded before any of them takes its name, so a run
    /// killed in between leaves them known as FastResize's own.
    func started(_ input: InputFile, outputs: [OutputRecord]) -> Claim
    /// Whether this run still holds a file it started, now that its outputs are made and about to
    /// take their names. Not when the run stalled past its claim and another run took the file
    /// over: the outputs are then dropped, and the file is taken again later.
    func stillHolds(_ input: InputFile) -> Bool
    /// The engine holds a started file's bytes in memory, about to decode them (a small enough
    /// file, read in this process): what the recorder keeps of the content (its hash) it takes
    /// from them now, rather than reading the file again once it is made.
    func reading(_ input: InputFile, bytes: UnsafeRawBufferPointer)
    /// A started file too large to be shown whole (`reading`) is about to be made with a core to
    /// spare (a lone file): what the recorder keeps of its content it may read on another thread
    /// meanwhile, rather than once the file is made.
    func readingAlongside(_ input: InputFile)
    /// A file that was started is done (written, skipped at the last moment, or failed).
    func finished(_ input: InputFile, report: FileReport)
    /// The run is over; `report` is its whole report.
    func runFinished(_ report: BatchReport)
    /// Inputs on record for this output folder that the walk did not find (gone, or no longer
    /// selected), with the outputs FastResize wrote for them: `current` still as written,
    /// `changed` edited or replaced since.
    func orphans(walked: [InputFile]) -> [Orphan]
    /// One input on record, as an orphan (its file is gone: a watch saw it deleted), when
    /// FastResize wrote outputs for it.
    func orphan(_ input: String) -> Orphan?
    /// An orphan's outputs were dealt with: its record goes.
    func forget(_ orphan: Orphan)
}

/// Whether a run may make a file now: the answer to `RunRecorder.started`.
public enum Claim: Sendable, Equatable {
    /// Go ahead. `alsoOwn`: outputs FastResize wrote for this input since the run looked (another
    /// run's, with other settings), which it may replace like its own.
    case granted(alsoOwn: Set<String> = [])
    /// Another run or worker is making it now: the file is taken again a little later, when the
    /// record says how that went.
    case busy
    /// Another run made it, from this same input with these same settings, after this run looked:
    /// it is up to date with these outputs and is not made again.
    case madeElsewhere([OutputRecord])
}

/// An input on record whose file the walk no longer finds (--prune).
public struct Orphan: Sendable, Equatable {
    public var input: String
    /// Where it was last read from.
    public var path: String
    public var current: [OutputRecord]
    public var changed: [OutputRecord]

    public init(input: String, path: String, current: [OutputRecord], changed: [OutputRecord]) {
        self.input = input
        self.path = path
        self.current = current
        self.changed = changed
    }
}

extension RunRecorder {
    /// A recorder that hands out no claims: every file it started is still its own.
    public func stillHolds(_ input: InputFile) -> Bool { true }
    /// A recorder that claims each file as it starts.
    public func willStart(_ upcoming: @escaping UpcomingFiles, whole: Bool) {}
    /// A recorder that keeps nothing of an input's content.
    public func reading(_ input: InputFile, bytes: UnsafeRawBufferPointer) {}
    /// A recorder that reads nothing of an input's content while it is made.
    public func readingAlongside(_ input: InputFile) {}
}

/// The inputs of a job that several runs share (workers on one queued job), in a queue they all
/// take from: each run offers what its walk found to be made, then takes a few at a time, so no
/// run reads a header of a file another one takes. A job store implements it (FastResizeJobs).
public protocol SharedInputs: Sendable {
    /// Puts inputs into the job's queue (by their path below their input folder; the largest are
    /// taken first). Those already there stay as they are, but for `upToDate` ones, which this
    /// run's walk found made already: they are done, whoever holds them (the job's count is all
    /// of them).
    func offer(_ inputs: [InputFile], upToDate: [InputFile])
    /// Takes up to `limit` of the job's inputs that no live run holds, for this run (their paths
    /// below their input folders). Inputs reported `done` since the last call are marked so in
    /// the same step.
    func take(limit: Int) -> SharedTake
    /// A taken input is done with (whatever became of it): it is not handed out again. Recorded
    /// with the next take, or when the run ends, when the inputs it took and never did go back.
    func done(_ input: String)
    /// Waits up to `seconds` for word that another run of the job gave its inputs back or ended
    /// (what a run waiting on others' last inputs waits for): true when it came, false when not;
    /// nil when the store cannot tell (the caller waits the whole time and asks again).
    func awaitReturns(seconds: Double) -> Bool?
}

extension SharedInputs {
    public func awaitReturns(seconds: Double) -> Bool? { nil }
}

/// What a run got from its job's queue (`SharedInputs.take`).
public enum SharedTake: Sendable, Equatable {
    /// Inputs now this run's, by their path below their input folder.
    case inputs([String])
    /// None free now, but other runs hold some not yet done: they may give them back, or stall or
    /// die and lose them, so the run asks again a little later.
    case heldElsewhere
    /// Every input of the job is done, or in this run's hands.
    case none
}
