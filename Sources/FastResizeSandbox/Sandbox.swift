// Sandbox: a process restricting itself for good — the folders it may read and write (Landlock), the ports it may use, the system calls a decoder may make (seccomp).

import CSandbox
import FastResizePipeline
import Foundation

/// What a process may still do once restricted.
public struct SandboxPolicy: Sendable, Equatable {
    /// Read (files, folder listings, executing the program's own workers) beneath these paths.
    public var readable: [String]
    /// Read and write (make, change, rename and remove files and folders) beneath these paths.
    public var writable: [String]
    /// TCP ports the process may listen on (a metrics endpoint) and connect to (a database);
    /// every other bind and connect is refused (where the kernel's Landlock ABI can, 4 and later).
    public var listenPorts: [UInt16]
    public var connectPorts: [UInt16]
    /// Decoding workers also get a seccomp filter: no sockets, exec, ptrace, mount, bpf, new processes…
    public var decoder: Bool

    public init(readable: [String], writable: [String] = [], listenPorts: [UInt16] = [], connectPorts: [UInt16] = [],
                decoder: Bool = false) {
        self.readable = readable
        self.writable = writable
        self.listenPorts = listenPorts
        self.connectPorts = connectPorts
        self.decoder = decoder
    }
}

/// Why a sandbox could not be had.
public struct SandboxError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

public enum Sandbox {
    /// The kernel's Landlock ABI (0: none — not built in, or not in the `lsm=` boot list).
    public static var landlockABI: Int { Int(fr_landlock_abi()) }

    /// What any process of ours reads besides its inputs: shared libraries, the loader's cache,
    /// codec data (ICC profiles under /usr/share), time zones, the CPU count, /proc (the Swift
    /// runtime reads /proc/self/maps), the folder of the program itself (its server library, its
    /// workers) and PREFIX/lib/fastresize, where an install keeps the server library. A process
    /// that starts others allows all of /proc, as Landlock domains stack: a worker's own entry
    /// must be allowed by its parent's domain too; `ownProcOnly` narrows it to the process's own entry.
    public static func systemReadable(program: String, ownProcOnly: Bool) -> [String] {
        let folder = (program as NSString).deletingLastPathComponent
        return ["/usr", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/localtime", "/opt/swift/usr/lib", "/sys/devices/system/cpu",
                ownProcOnly ? "/proc/self" : "/proc", folder, (folder as NSString).deletingLastPathComponent + "/lib/fastresize"]
    }

    /// Restricts the calling process for good: Landlock as `policy` says (the calling thread and
    /// every thread it starts later: call before starting any), no_new_privs, and for a decoder
    /// the seccomp filter (on every thread). Paths that do not exist are left out.
    public static func restrict(_ policy: SandboxPolicy) throws(SandboxError) {
        let abi = landlockABI
        guard abi > 0 else { throw SandboxError("the kernel offers no Landlock (not built in, or missing from its lsm= list)") }
        let ruleset = fr_landlock_ruleset(Int32(abi), 1, 1)
        guard ruleset >= 0 else { throw SandboxError("Landlock: cannot make a ruleset: \(String(cString: strerror(errno)))") }
        var applied = false
        defer { if !applied { close(ruleset) } }
        for (paths, access) in [(policy.readable, FR_ACCESS_READ), (policy.writable, FR_ACCESS_READ | FR_ACCESS_WRITE)] {
            // A path's own bytes, whatever they are (a name that is not UTF-8 is still a name).
            for path in paths where FileSystemPath.withCString(path, { fr_landlock_allow_path(ruleset, Int32(abi), $0, access) }) != 0 {
                guard errno == ENOENT || errno == ENOTDIR else {
                    throw SandboxError("Landlock: cannot allow \(path): \(String(cString: strerror(errno)))")
                }
            }
        }
        if abi >= 4 {
            let ports = Set(policy.listenPorts + policy.connectPorts)
            for port in ports where fr_landlock_allow_port(ruleset, port, policy.listenPorts.contains(port) ? 1 : 0,
                                                              policy.connectPorts.contains(port) ? 1 : 0) != 0 {
                throw SandboxError("Landlock: cannot allow port \(port): \(String(cString: strerror(errno)))")
            }
        }
        applied = true
        guard fr_landlock_restrict(ruleset) == 0 else {
            throw SandboxError("Landlock: cannot restrict the process: \(String(cString: strerror(errno)))")
        }
        if policy.decoder {
            let result = fr_seccomp_worker_filter()
            guard result == 0 else { throw SandboxError("seccomp: cannot load the filter: \(String(cString: strerror(-result)))") }
        }
    }
}
