// AtomicFile: writes an output under a temporary name and moves it into place, so no partial file has a final name.

import Foundation

public enum AtomicFile {
    /// Temporary files end with this, so a later run (or a person) can recognise and remove leftovers.
    public static let temporarySuffix = ".fastresize-tmp"

    public enum Outcome: Sendable, Equatable {
        case written
        /// The final name already existed and overwriting was not allowed.
        case alreadyExists
    }

    /// Writes `bytes` to `path`. Without `overwrite`, an existing file is kept (decided atomically
    /// by link(2), so two writers can never replace each other's output).
    public static func write(_ bytes: [UInt8], to path: String, overwrite: Bool) throws(FileError) -> Outcome {
        let parent = (path as NSString).deletingLastPathComponent
        let directory = parent.isEmpty ? "." : parent
        let name = (path as NSString).lastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .writeFailed("cannot create folder \(directory): \(FilePipeline.describe(error))")
        }
        let temporaryPath = directory + "/." + name + "." + String(UInt64.random(in: 0...UInt64.max), radix: 36) + temporarySuffix
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .writeFailed(Self.errnoText("cannot create \(temporaryPath)")) }
        var failure: String?
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = Self.errnoText("write failed")
                    return
                }
                offset += written
            }
        }
        if close(descriptor) != 0 && failure == nil { failure = Self.errnoText("close failed") }
        if let failure {
            unlink(temporaryPath)
            throw .writeFailed(failure)
        }
        if overwrite {
            guard rename(temporaryPath, path) == 0 else {
                let message = Self.errnoText("cannot rename into place")
                unlink(temporaryPath)
                throw .writeFailed(message)
            }
            return .written
        }
        defer { unlink(temporaryPath) }
        if link(temporaryPath, path) == 0 { return .written }
        if errno == EEXIST { return .alreadyExists }
        throw .writeFailed(Self.errnoText("cannot move into place"))
    }

    static func errnoText(_ context: String) -> String {
        "\(context): \(String(cString: strerror(errno)))"
    }
}
