// SandboxProbe: a test's stand-in for an exploit in a decoding worker (FASTRESIZE_TEST_HOOKS=1 only): it tries what a sandbox must stop, and says what happened.

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
        func say(_ what: String, _ result: Int32) {
            let outcome = result >= 0 ? "ALLOWED" : "refused (\(String(cString: strerror(errno))))"
            FileSystem.writeAll("sandbox probe: \(what): \(outcome)\n", to: STDERR_FILENO)
            if result >= 0 { close(result) }
        }
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
}
