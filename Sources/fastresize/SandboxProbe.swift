// SandboxProbe: a test's stand-in for an exploit in a decoding worker or in the run itself (FASTRESIZE_TEST_HOOKS=1 only): it tries what a sandbox must stop, and says what happened.

import FastResize
import Foundation

enum SandboxProbe {
    /// For an input named `sandbox-probe…`: tries to read /etc/passwd, write into the output
    /// folder and into /tmp, open a socket and run /bin/sh, one line each on standard error
    /// ("sandbox probe: WHAT: refused (REASON)" or "…: ALLOWED"), then crashes as an exploit that
    /// found its way blocked would. For `sandbox-stall…`: sleeps a minute, so a test can look at
    /// the worker in /proc.
    static func run(input: String, outputFolder: String) {
        let name = PathNames.lastComponent(of: input)
        if name.hasPrefix("sandbox-stall") { sleep(60) }
        guard name.hasPrefix("sandbox-probe") else { return }
        let say = { (what: String, result: Int32) in Self.say("sandbox probe", what, result) }
        say("read /etc/passwd", open("/etc/passwd", O_RDONLY))
        say("write into the output folder", open(outputFolder + "/sandbox-probe-written", O_WRONLY | O_CREAT | O_TRUNC, 0o644))
        say("write to /tmp", open("/tmp/fastresize-sandbox-probe-\(getpid())", O_WRONLY | O_CREAT | O_TRUNC, 0o644))
        say("open a socket", socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0))
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("sh"), strdup("-c"), strdup("exit 0"), nil]
        // Only returns when refused.
        _ = execv("/bin/sh", arguments)
        FileSystem.writeAll("sandbox probe: run /bin/sh: refused (\(String(cString: strerror(errno))))\n", to: STDERR_FILENO)
        abort()
    }

    /// With FASTRESIZE_TEST_RUN_PROBE=1, once the run has restricted itself (or chosen not to):
    /// tries to read /etc/passwd, write to /tmp and into its output folder, and connect to a TCP
    /// port, one line each ("run probe: WHAT: refused (REASON)" or "…: ALLOWED"); then goes on.
    static func probeRun(outputFolder: String) {
        guard ProcessInfo.processInfo.environment["FASTRESIZE_TEST_RUN_PROBE"] == "1" else { return }
        let say = { (what: String, result: Int32) in Self.say("run probe", what, result) }
        say("read /etc/passwd", open("/etc/passwd", O_RDONLY))
        let temporary = "/tmp/fastresize-run-probe-\(getpid())"
        say("write to /tmp", open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644))
        unlink(temporary)
        let written = outputFolder + "/run-probe-written"
        say("write into the output folder", open(written, O_WRONLY | O_CREAT | O_TRUNC, 0o644))
        unlink(written)
        let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(9).bigEndian
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        // Port 9 (discard) has no listener here: a refusal by the sandbox is EACCES, the kernel's ECONNREFUSED.
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        say("connect to TCP port 9", connected < 0 && errno == EACCES ? -1 : 0)
        close(socket)
    }

    /// One line on standard error: what was tried and whether it was refused (`result` < 0, with errno's reason).
    private static func say(_ prefix: String, _ what: String, _ result: Int32) {
        let outcome = result >= 0 ? "ALLOWED" : "refused (\(String(cString: strerror(errno))))"
        FileSystem.writeAll("\(prefix): \(what): \(outcome)\n", to: STDERR_FILENO)
        if result > 0 { close(result) }
    }
}
