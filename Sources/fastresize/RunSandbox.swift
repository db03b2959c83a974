// RunSandbox: what a run may still touch once it restricts itself (--sandbox), worked out from its settings.

import FastResize
import FastResizeConfig
import FastResizeSandbox
import Foundation

extension FastResizeCommand {
    /// The run restricts itself for good, before it starts any thread (with `--sandbox on`, and
    /// with `auto` where the kernel has Landlock): it reads its inputs and what it loads, writes
    /// only its output folder, its job store, its report, log and metrics files, listens only
    /// on its metrics port and connects only to its PostgreSQL store's; no other TCP port at all. `auto` leaves the run unrestricted (its
    /// decoding workers still are) when it must read what cannot be named before it starts: a
    /// stream (its copy goes to the temporary folder) or symbolic links followed out of the
    /// given folders. A kernel without Landlock was refused already under `on` (`workerCommand`).
    /// `alsoReadable`: what else the process reads later (a watch's config folder, for SIGHUP);
    /// `auto`: whether `auto` restricts this process (a watch's restricts its workers only).
    /// Whether the process is now restricted.
    @discardableResult
    static func restrictRun(_ resolved: ResolvedSettings, report: ReportTarget?, alsoReadable: [String] = [],
                            auto: Bool = true) throws(UsageError) -> Bool {
        defer {
            if ProcessInfo.processInfo.environment["FASTRESIZE_TEST_HOOKS"] == "1" {
                SandboxProbe.probeRun(outputFolder: resolved.options.outputDirectory)
            }
        }
        guard Sandbox.landlockABI > 0 else { return false }
        switch resolved.sandbox {
        case .off: return false
        case .auto where !auto || resolved.options.followSymlinks || resolved.options.inputs.contains(where: InputWalker.isStream): return false
        case .auto, .on: break
        }
        var writable = [resolved.options.outputDirectory, "/dev/null"]
        var connectPorts: [UInt16] = []
        switch resolved.state {
        case .file(let path): writable.append(Self.folder(of: path))
        case .postgres(let address): connectPorts.append(UInt16(clamping: URLComponents(string: address)?.port ?? 5432))
        case .underOutput, .none: break
        }
        switch report {
        case .through(let path): writable.append(path)
        case .replacing(let path): writable.append(Self.folder(of: path))
        case .standardOutput, nil: break
        }
        // A log file is reopened on SIGHUP (after logrotate moved it): its folder, then.
        writable += [resolved.observability.logFile, resolved.observability.metricsFile].compactMap { $0 }.map(Self.folder)
        let inputs = resolved.options.inputs.map { FileSystem.realPath($0) ?? $0 }
        // A folder still to be made (a job store's) is made inside the nearest one there is.
        let policy = SandboxPolicy(readable: inputs + alsoReadable + Sandbox.systemReadable(program: executablePath, ownProcOnly: false),
                                   writable: writable.map { FileSystem.realPath(FileSystem.nearestExisting($0)?.path ?? $0) ?? $0 },
                                   listenPorts: resolved.observability.metricsListen.map { [UInt16($0.port)] } ?? [],
                                   connectPorts: connectPorts)
        do throws(SandboxError) {
            try Sandbox.restrict(policy)
            return true
        } catch {
            // Landlock's restriction is all or nothing: a refused one leaves the run as it was.
            guard resolved.sandbox == .auto else { throw UsageError("--sandbox on: \(error)") }
            Console.writeError("notice: the run goes on without a sandbox: \(error)\n")
            return false
        }
    }

    static func folder(of path: String) -> String {
        let folder = PathNames.folder(of: path)
        return folder.isEmpty ? "." : folder
    }
}
