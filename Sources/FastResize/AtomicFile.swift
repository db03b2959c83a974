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

    /// Temporaries being written by this process, removed by `removeInFlight` when it must exit at once.
    fileprivate static let inFlight = Mutex(Set<String>())

    /// Writes `bytes` to `path`. Without `overwrite`, an existing file is kept (decided atomically
    /// by link(2), so two writers can never replace each other's output). `commit` is asked just
    /// before the temporary is moved into place; a false answer removes it instead.
    public static func write(_ bytes: [UInt8], to path: String, overwrite: Bool,
                             commit: () -> Bool = { true }) throws(FileError) -> Outcome {
        let file = Pending(path: path)
        _ = bytes.withUnsafeBytes { file.append($0) }
        return try file.commit(overwrite: overwrite, commit: commit)
    }

    /// An output being written: bytes go to a temporary file beside `path` as they come (an
    /// encoder can stream into it), then `commit` moves it into place. The temporary and its
    /// folder are made on the first bytes, so an output that never gets any leaves nothing; one
    /// not committed is removed when the value goes.
    public final class Pending: ByteSink {
        public let path: String
        private var temporaryPath: String?
        private var descriptor: Int32 = -1
        public private(set) var byteCount = 0
        /// Why writing failed, once it has.
        public private(set) var failure: FileError?

        public init(path: String) {
            self.path = path
        }

        deinit {
            if descriptor >= 0 { close(descriptor) }
            discard()
        }

        public func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
            guard failure == nil else { return false }
            do throws(FileError) {
                if descriptor < 0 { try open() }
                var offset = 0
                while offset < bytes.count {
                    let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw .writeFailed(errnoText("write failed"))
                    }
                    offset += written
                }
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
            let closed = close(descriptor)
            descriptor = -1
            if closed != 0 { throw .writeFailed(errnoText("close failed")) }
            guard commit() else { return .abandoned }
            if overwrite {
                guard rename(temporaryPath, path) == 0 else { throw .writeFailed(errnoText("cannot rename into place")) }
                return .written
            }
            if link(temporaryPath, path) == 0 { return .written }
            if errno == EEXIST { return .alreadyExists }
            throw .writeFailed(errnoText("cannot move into place"))
        }

        private func open() throws(FileError) {
            let parent = (path as NSString).deletingLastPathComponent
            let directory = parent.isEmpty ? "." : parent
            let name = (path as NSString).lastPathComponent
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw .writeFailed("cannot create folder \(directory): \(FilePipeline.describe(error))")
            }
            // ".NAME.PID-RANDOM.fastresize-tmp": hidden, recognisable, and tied to the process writing
            // it, so a later run can tell a leftover of a killed run from a file being written now.
            let temporary = directory + "/." + name + "." + String(getpid()) + "-"
                + String(UInt64.random(in: 0...UInt64.max), radix: 36) + temporarySuffix
            let descriptor = Foundation.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw .writeFailed(errnoText("cannot create \(temporary)")) }
            inFlight.withLock { _ = $0.insert(temporary) }
            self.descriptor = descriptor
            temporaryPath = temporary
        }

        /// Removes the temporary (after a rename there is nothing left to remove; after a link,
        /// the final name keeps the file).
        private func discard() {
            guard let temporary = temporaryPath else { return }
            unlink(temporary)
            inFlight.withLock { _ = $0.remove(temporary) }
            temporaryPath = nil
        }
    }

    /// Removes the temporaries this process is writing (for an exit that cannot wait for them).
    /// Only unlink(2) and no allocation of note, so it is fit for a last act before _exit.
    public static func removeInFlight() {
        inFlight.withLock { paths in
            for path in paths { unlink(path) }
            paths.removeAll()
        }
    }

    /// Removes temporaries another process with id `pid` left for `path` (a worker that crashed or
    /// was killed while writing it).
    public static func removeLeftovers(of pid: pid_t, for path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let prefix = "." + (path as NSString).lastPathComponent + "." + String(pid) + "-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory) else { return }
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(temporarySuffix) {
            unlink((directory as NSString).appendingPathComponent(name))
        }
    }

    /// Removes the leftovers of earlier runs below `folder`: temporaries whose writing process is
    /// gone (killed, crashed, powered off). Those of live processes, a run writing into the same
    /// folder right now, are kept. Returns how many were removed.
    @discardableResult
    public static func removeStaleTemporaries(under folder: String) -> Int {
        guard let enumerator = FileManager.default.enumerator(atPath: folder) else { return 0 }
        var removed = 0
        while let relative = enumerator.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            guard name.hasPrefix("."), name.hasSuffix(temporarySuffix) else { continue }
            if let pid = writerProcess(name), kill(pid, 0) == 0 || errno == EPERM { continue }
            if unlink((folder as NSString).appendingPathComponent(relative)) == 0 { removed += 1 }
        }
        return removed
    }

    /// The process id in a temporary's name, nil when the name carries none.
    static func writerProcess(_ name: String) -> pid_t? {
        let stem = name.dropLast(temporarySuffix.count)
        guard let dot = stem.lastIndex(of: "."), let dash = stem[dot...].firstIndex(of: "-") else { return nil }
        return pid_t(stem[stem.index(after: dot)..<dash])
    }

    static func errnoText(_ context: String) -> String {
        "\(context): \(String(cString: strerror(errno)))"
    }
}
