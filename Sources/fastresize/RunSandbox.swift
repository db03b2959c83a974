// RunSandbox: what a run may still touch once it restricts itself (--sandbox), worked out from its settings.

import FastResize
import FastResizeConfig
import FastResizeSandbox
import Foundation

extension FastResizeCommand {
    /// With --sandbox on, the run restricts itself for good, before it starts any thread: it
    /// reads its inputs and what it loads, writes only its output folder, its job store, its
    /// report, log and metrics files, and listens only on its metrics port; no other TCP port at
    /// all. (`auto` sandboxes the decoding workers only: inputs that are streams, symbolic links
    /// followed out of the tree and a config file read again are the run's business.) A kernel
    /// without Landlock was refused already (`workerCommand`).
    static func restrictRun(_ resolved: ResolvedSettings, report: ReportTarget?) throws(UsageError) {
        guard resolved.sandbox == .on, Sandbox.landlockABI > 0 else { return }
        var writable = [resolved.options.outputDirectory, "/dev/null"]
        if case .file(let path) = resolved.state { writable.append(Self.folder(of: path)) }
        switch report {
        case .through(let path): writable.append(path)
        case .replacing(let path): writable.append(Self.folder(of: path))
        case .standardOutput, nil: break
        }
        // A log file is reopened on SIGHUP (after logrotate moved it): its folder, then.
        writable += [resolved.observability.logFile, resolved.observability.metricsFile].compactMap { $0 }.map(Self.folder)
        let inputs = resolved.options.inputs.map { FileSystem.realPath($0) ?? $0 }
        // A folder still to be made (a job store's) is made inside the nearest one there is.
        let policy = SandboxPolicy(readable: inputs + Sandbox.systemReadable(program: executablePath, ownProcOnly: false),
                                   writable: writable.map { FileSystem.realPath(FileSystem.nearestExisting($0)?.path ?? $0) ?? $0 },
                                   listenPorts: resolved.observability.metricsListen.map { [UInt16($0.port)] } ?? [])
        do throws(SandboxError) {
            try Sandbox.restrict(policy)
        } catch {
            throw UsageError("--sandbox on: \(error)")
        }
    }

    private static func folder(of path: String) -> String {
        let folder = PathNames.folder(of: path)
        return folder.isEmpty ? "." : folder
    }
}
