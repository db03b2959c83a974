// CommandRunner: runs the built fastresize binary as a real process, in scratch folders of its own.

import FastResize
import Foundation
import Synchronization

public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public enum CommandRunner {
    /// The fastresize binary SwiftPM built beside the test bundle (or FASTRESIZE_BINARY).
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["FASTRESIZE_BINARY"] { return URL(fileURLWithPath: path) }
        let candidates = [Bundle.main.bundleURL.appendingPathComponent("fastresize"),
                          Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("fastresize"),
                          Corpus.packageRoot.appendingPathComponent(".build/debug/fastresize")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// This process's environment without any FASTRESIZE_ setting and with no user config folder
    /// (a developer's own settings must not change what a test sees), plus `extra`.
    public static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FASTRESIZE_") }
        variables["XDG_CONFIG_HOME"] = "/nonexistent/fastresize-tests"
        variables.merge(extra) { _, given in given }
        return variables
    }

    /// Runs the binary (or `executable`, a program that runs it) with `arguments` in `directory`,
    /// in `environment(environment)`, with `standardInput` on its standard input (else nothing).
    public static func run(_ arguments: [String], in directory: URL? = nil,
                           environment: [String: String] = [:], executable: String? = nil,
                           standardInput: Data? = nil) throws -> CommandResult {
        let child = try ChildProcess(executable ?? binary.path, arguments, environment: Self.environment(environment),
                                     directory: directory?.path, input: standardInput, output: .pipe, errors: .pipe)
        // Both pipes are read while the process runs, so a full pipe can never stall it.
        let errorData = Mutex(Data())
        let reading = DispatchGroup()
        DispatchQueue.global().async(group: reading) {
            let data = readAll(child.errors!)
            errorData.withLock { $0 = data }
        }
        let outputData = readAll(child.output!)
        reading.wait()
        let status = child.wait()
        return CommandResult(status: status, stdout: String(decoding: outputData, as: UTF8.self),
                             stderr: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
    }
}

/// All a pipe gives until its writers close it, read again when a signal interrupts (this process
/// has children, so SIGCHLD comes while it reads).
public func readAll(_ descriptor: Int32) -> Data {
    FileSystem.readAll(descriptor) ?? Data()
}

/// Another program (a reference tool such as libvips' `vips`): its exit status, output discarded.
public func runTool(_ path: String, _ arguments: [String], errors: ChildProcess.Output = .discard) throws -> Int32 {
    try ChildProcess(path, arguments, errors: errors).wait()
}

/// A scratch folder removed when the value is released.
public final class ScratchFolder: @unchecked Sendable {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("fastresize-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    public func path(_ relative: String) -> String { url.appendingPathComponent(relative).path }

    /// Writes `bytes` at `relative`, creating folders as needed.
    public func write(_ bytes: [UInt8], to relative: String) throws {
        let target = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: target)
    }

    /// Every file below the folder, relative paths, sorted; a job store's folder (`.fastresize`)
    /// is left out unless asked for (its own tests look inside).
    public func files(under relative: String = "", includingStore: Bool = false) -> [String] {
        let root = relative.isEmpty ? url : url.appendingPathComponent(relative)
        guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { return [] }
        return enumerator.compactMap { $0 as? String }.filter {
            guard includingStore || !($0 == ".fastresize" || $0.hasPrefix(".fastresize/") || $0.contains("/.fastresize/")) else {
                return false
            }
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path, isDirectory: &isDirectory)
            return !isDirectory.boolValue
        }.sorted()
    }
}
