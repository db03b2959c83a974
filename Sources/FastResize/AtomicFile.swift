// AtomicFile: writes an output under a temporary name and moves it into place, so no partial file has a final name.

import Foundation
import Synchronization

public enum AtomicFile {
    /// Temporary files end with this, so a later run (or a person) can recognise and remove leftovers.
    public static let temporarySuffix = ".fastresize-tmp"

    public enum Outcome: Sendable, Equatable {
        case written
        /// The final name already existed and overwriting was not allowed.
        case alreadyExists
        /// `commit` said no (the file was abandoned while being written): nothing was left behind.
        case abandoned
    }

    /// Writes `bytes` to `path`. Without `overwrite`, an existing file is kept (decided atomically
    /// by link(2), so two writers can never replace each other's output). `commit` is asked just
    /// before the temporary is moved into place; a false answer removes it instead.
    /// A `durable` write flushes the file before it takes its name and the folder after.
    public static func write(_ bytes: [UInt8], to path: String, overwrite: Bool, durable: Bool = true,
                             commit: () -> Bool = { true }) throws(FileError) -> Outcome {
        let file = Pending(path: path, durable: durable)
        _ = bytes.withUnsafeBytes { file.append($0) }
        let outcome = try file.commit(overwrite: overwrite, commit: commit)
        if durable && outcome == .written { try syncFolders([PathNames.folder(of: path)]) }
        return outcome
    }

    /// Flushes folders' entries to disk, so names given in them survive a crash. A batch calls it
    /// once per folder at its end rather than after every output: an output's data is flushed
    /// before it takes its name (so a name never holds a partial file), and a name lost to a crash
    /// before the end only means that output is made again.
    public static func syncFolders(_ folders: some Sequence<String>) throws(FileError) {
        for folder in Set(folders) {
            let descriptor = FileSystem.open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard descriptor >= 0 else { throw writeError(errnoText("cannot open \(folder) to sync it")) }
            defer { close(descriptor) }
            // Some file systems cannot sync a folder (EINVAL): the files' own syncs are all there is.
            if fsync(descriptor) != 0 && errno != EINVAL { throw writeError(errnoText("fsync of \(folder) failed")) }
        }
    }

    /// An output being written: bytes go to a temporary file beside `path` as they come (an
    /// encoder can stream into it), then `commit` moves it into place. The temporary and its
    /// folder are made on the first bytes, so an output that never gets any leaves nothing; one
    /// not committed is removed when the value goes. A `durable` file's data is flushed to disk
    /// before it takes its final name, so a power cut leaves either no file or the whole file under
    /// that name, never an empty or partial one (the name itself lasts once its folder is synced:
    /// `syncFolders`).
    public final class Pending: ByteSink {
        public let path: String
        public let durable: Bool
        /// The run's record of temporaries being written, if it keeps one.
        private let temporaries: TemporaryFiles?
        private var temporaryPath: String?
        private var descriptor: Int32 = -1
        public private(set) var byteCount = 0
        /// Why writing failed, once it has.
        public private(set) var failure: FileError?

        public init(path: String, durable: Bool = true, temporaries: TemporaryFiles? = nil) {
            self.path = path
            self.durable = durable
            self.temporaries = temporaries
        }

        deinit {
            if descriptor >= 0 { close(descriptor) }
            discard()
        }

        public func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
            guard failure == nil else { return false }
            do throws(FileError) {
                if descriptor < 0 { try open() }
                guard FileSystem.writeAll(bytes, to: descriptor) else { throw writeError(errnoText("write failed")) }
                byteCount += bytes.count
                return true
            } catch {
                failure = error
                return false
            }
        }

        /// Closes the temporary and moves it into place (see `AtomicFile.write`).
        public func commit(overwrite: Bool, commit: () -> Bool) throws(FileError) -> Outcome {
            if descriptor < 0 && failure == nil {
                do throws(FileError) { try open() } catch { failure = error }
            }
            if let failure { throw failure }
            guard let temporaryPath else { throw .writeFailed("nothing to write") }
            defer { discard() }
            // The data reaches the disk before the name does (ext4 and XFS may otherwise commit the
            // rename first, leaving an empty file under the final name after a crash). The size is
            // all the metadata that takes, so fdatasync.
            if durable && fdatasync(descriptor) != 0 { throw writeError(errnoText("fdatasync failed")) }
            let closed = close(descriptor)
            descriptor = -1
            if closed != 0 { throw writeError(errnoText("close failed")) }
            guard commit() else { return .abandoned }
            if overwrite {
                guard FileSystem.rename(temporaryPath, path) else { throw writeError(errnoText("cannot rename into place")) }
                // Renamed, the temporary's name is gone: nothing to remove (an unlink would only fail).
                temporaries?.remove(temporaryPath)
                self.temporaryPath = nil
            } else if !FileSystem.link(temporaryPath, path) {
                if errno == EEXIST { return .alreadyExists }
                throw writeError(errnoText("cannot move into place"))
            }
            return .written
        }

        private func open() throws(FileError) {
            let parent = PathNames.folder(of: path)
            let directory = parent.isEmpty ? "." : parent
            let name = PathNames.lastComponent(of: path)
            do throws(FileSystem.FolderError) {
                try FileSystem.makeFolders(directory)
            } catch {
                throw .writeFailed("cannot create folder \(error.folder): \(error.reason)")
            }
            // ".NAME.PID-RANDOM-HOST.fastresize-tmp": hidden, recognisable, and tied to the process
            // and machine writing it, so a later run can tell a leftover of a killed run from a
            // file being written now (on this machine, or on another sharing the folder).
            let temporary = directory + "/." + name + "." + String(getpid()) + "-"
                + String(UInt64.random(in: 0...UInt64.max), radix: 36) + "-" + AtomicFile.hostTag + temporarySuffix
            let descriptor = FileSystem.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw writeError(errnoText("cannot create \(temporary)")) }
            temporaries?.insert(temporary)
            self.descriptor = descriptor
            temporaryPath = temporary
        }

        /// Removes the temporary (after a link, the final name keeps the file).
        private func discard() {
            guard let temporary = temporaryPath else { return }
            FileSystem.unlink(temporary)
            temporaries?.remove(temporary)
            temporaryPath = nil
        }
    }

    /// Removes the temporaries of `path` whose writer is gone (a run that died making it, whose
    /// file this run took over).
    public static func removeStaleTemporaries(of path: String) {
        let directory = PathNames.folder(of: path)
        let prefix = "." + PathNames.lastComponent(of: path) + "."
        let folder = directory.isEmpty ? "." : directory
        guard let names = try? FileSystem.names(in: folder) else { return }
        for name in names where name.hasPrefix(prefix) && isStale(name, at: folder + "/" + name) {
            FileSystem.unlink(folder + "/" + name)
        }
    }

    /// Removes the leftovers of earlier runs below `folder`: temporaries whose writing process is
    /// gone (killed, crashed, powered off). Those of live processes, a run writing into the same
    /// folder right now, are kept. Returns how many were removed.
    @discardableResult
    public static func removeStaleTemporaries(under folder: String) -> Int {
        guard let names = try? FileSystem.names(in: folder) else { return 0 }
        var removed = 0
        for name in names {
            let path = folder + "/" + name
            guard let status = FileSystem.status(path, followLinks: false) else { continue }
            if status.st_mode & S_IFMT == S_IFDIR {
                removed += removeStaleTemporaries(under: path)
                continue
            }
            if isStale(name, at: path, status: status), FileSystem.unlink(path) { removed += 1 }
        }
        return removed
    }

    /// Whether `name` is a temporary whose writer is gone: a process of this machine that no
    /// longer runs, or — written on another machine sharing the folder, whose processes cannot be
    /// seen from here — one untouched for an hour (a claim on its file lapsed long before).
    static func isStale(_ name: String, at path: String, status: stat? = nil) -> Bool {
        guard name.hasPrefix("."), name.hasSuffix(temporarySuffix) else { return false }
        let (pid, host) = writer(name)
        if let host, host != hostTag {
            guard let status = status ?? FileSystem.status(path, followLinks: false) else { return false }
            return time(nil) - status.st_mtim.tv_sec > 3600
        }
        return pid.map { !ProcessLiveness.isAlive($0) } ?? true
    }

    /// The process id and machine tag in a temporary's name (".NAME.PID-RANDOM-HOST…"; a name
    /// from before machines were tagged has none).
    static func writer(_ name: String) -> (pid: pid_t?, host: String?) {
        let stem = name.dropLast(temporarySuffix.count)
        guard let dot = stem.lastIndex(of: ".") else { return (nil, nil) }
        let parts = stem[stem.index(after: dot)...].split(separator: "-", omittingEmptySubsequences: false)
        return (parts.first.flatMap { pid_t($0) }, parts.count >= 3 ? String(parts[2]) : nil)
    }

    /// This machine, in the names of its temporaries: a short hash of its host name (FNV-1a).
    static let hostTag: String = {
        let hash = ProcessLiveness.hostName.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
        return String(hash, radix: 36)
    }()

    /// A failed write's error: a full disk or quota said as such, so a batch can stop writing there.
    static func writeError(_ text: String, _ code: Int32 = errno) -> FileError {
        code == ENOSPC || code == EDQUOT ? .diskFull(text) : .writeFailed(text)
    }

    static func errnoText(_ context: String) -> String {
        "\(context): \(String(cString: strerror(errno)))"
    }
}

/// The temporaries one run is writing: removed when the run ends (files it gave up may still be
/// writing theirs) or is abandoned, and no other run's, so batches sharing a process keep apart.
public final class TemporaryFiles: Sendable {
    private let paths = Mutex(Set<String>())

    public init() {}

    func insert(_ path: String) {
        paths.withLock { _ = $0.insert(path) }
    }

    func remove(_ path: String) {
        paths.withLock { _ = $0.remove(path) }
    }

    /// Temporaries being written now.
    public var count: Int { paths.withLock { $0.count } }

    /// Removes every temporary still being written. Only unlink(2) and no allocation of note, so
    /// it is fit for a last act before an exit that cannot wait.
    public func removeAll() {
        paths.withLock { paths in
            for path in paths { FileSystem.unlink(path) }
            paths.removeAll()
        }
    }
}

/// The disks outputs of one run found full (ENOSPC, EDQUOT): the run's later files bound for them
/// are failed at once, not decoded to fail one by one.
final class FullDisks: Sendable {
    private let state = Mutex((devices: Set<UInt64>(), notAttempted: 0))

    var notAttempted: Int { state.withLock { $0.notAttempted } }

    /// Marks the disks of these outputs' folders full.
    func record(_ outputs: [String]) {
        let devices = outputs.compactMap(Self.device)
        state.withLock { $0.devices.formUnion(devices) }
    }

    /// The folder of the first output bound for a full disk, counted as not attempted; nil when none is.
    func fullFolder(among outputs: [String]) -> String? {
        guard state.withLock({ !$0.devices.isEmpty }) else { return nil }
        for output in outputs {
            guard let device = Self.device(of: output) else { continue }
            let full = state.withLock { state in
                guard state.devices.contains(device) else { return false }
                state.notAttempted += 1
                return true
            }
            if full { return PathNames.folder(of: output) }
        }
        return nil
    }

    /// The device of the nearest folder of `path` that exists.
    private static func device(of path: String) -> UInt64? {
        FileSystem.nearestExisting(PathNames.folder(of: path)).map { UInt64($0.status.st_dev) }
    }
}

/// Where an output's bytes go while it is encoded (a temporary file, or memory in a worker
/// process), and why they could not be kept, if so.
protocol OutputSink: ByteSink {
    var failure: FileError? { get }
}

extension AtomicFile.Pending: OutputSink {}

extension ByteBuffer: OutputSink {
    var failure: FileError? { nil }
}

/// Bytes read and dropped (what a worker sends for an output it was not asked for).
final class DiscardingSink: ByteSink {
    func append(_ bytes: UnsafeRawBufferPointer) -> Bool { true }
}
