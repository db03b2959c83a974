// ProcessLiveness: whether a process named by its id (in a temporary's name, a lease, a job) still runs, and the name of the machine it would run on.

import Foundation

public enum ProcessLiveness {
    /// This machine's name (leases, jobs and temporaries name the machine of their process:
    /// a process id means nothing on another machine).
    public static let hostName: String = {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// Whether process `pid` of this machine is alive: it exists (perhaps another user's) and is
    /// not a zombie — a killed process whose parent died with it lingers as one until it is
    /// reaped, and what it held must not wait for that.
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        // After the command's name in parentheses: the state, Z for a zombie, X for one going.
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state != "Z" && state != "X"
    }
}
