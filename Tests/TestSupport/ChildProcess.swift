// ChildProcess: a program a test starts (posix_spawn) and reaps (waitpid), its output read from plain pipes.

import Foundation
import Synchronization

// Not in Swift's Glibc module (glibc declares them for _GNU_SOURCE only); plain C signatures.
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func posixSpawnAddChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>) -> Int32
@_silgen_name("pipe2")
private func pipe2(_ descriptors: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

/// A child process of the test process. Foundation's Process is not used: hundreds of them run
/// at once in a test run, and on Linux each goes through a run loop thread and a SIGCHLD handler
/// shared by all; here a child is a pid, its pipes and a waitpid, as in the product's own workers.
public final class ChildProcess: Sendable {
    /// Where a child's standard output or error goes.
    public enum Output: Sendable {
        case discard    // /dev/null
        case pipe       // a pipe this process reads (`output` / `errors`)
        case inherit    // the test process's own
    }

    public let processIdentifier: pid_t
    /// The read ends of the child's standard output and error, when they are pipes.
    public let output: Int32?
    public let errors: Int32?
    /// The raw wait status once the child has been reaped.
    private let ended = Mutex<Int32?>(nil)

    /// Starts `executable` (a path) with `arguments`, in `environment` (else this process's),
    /// in `directory` (else this one's), with `input` on its standard input (else /dev/null).
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                directory: String? = nil, input: Data? = nil, output: Output = .discard, errors: Output = .discard) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Every end is made close-on-exec at once (pipe2): a child started meanwhile by another
        // test must not hold a write end, or this one's reader would never see its end.
        var opened: [Int32] = []
        defer { opened.forEach { close($0) } }     // the child's ends, once it has them
        var kept: [Int32] = []                     // this process's ends, closed if the start fails
        var started = false
        defer { if !started { kept.forEach { close($0) } } }
        func makePipe() throws -> (read: Int32, write: Int32) {
            var ends: [Int32] = [0, 0]
            guard pipe2(&ends, O_CLOEXEC) == 0 else { throw ChildProcessError(reason: String(cString: strerror(errno))) }
            return (ends[0], ends[1])
        }
        var feed: Int32?
        if input != nil {
            let ends = try makePipe()
            opened.append(ends.read)
            kept.append(ends.write)
            feed = ends.write
            posix_spawn_file_actions_adddup2(&actions, ends.read, STDIN_FILENO)
        } else {
            posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        }
        var readEnds: [Int32?] = [nil, nil]
        for (slot, (target, choice)) in [(STDOUT_FILENO, output), (STDERR_FILENO, errors)].enumerated() {
            switch choice {
            case .discard:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
            case .pipe:
                let ends = try makePipe()
                opened.append(ends.write)
                kept.append(ends.read)
                readEnds[slot] = ends.read
                posix_spawn_file_actions_adddup2(&actions, ends.write, target)
            case .inherit:
                break
            }
        }
        if let directory { _ = posixSpawnAddChdir(&actions, directory) }
        // Default dispositions and no blocked signal, whatever this process ignores (SIGPIPE).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw ChildProcessError(reason: "cannot start \(executable): \(String(cString: strerror(status)))")
        }
        started = true
        processIdentifier = pid
        self.output = readEnds[0]
        self.errors = readEnds[1]
        if let feed, let input {
            // A child that stops reading early must not end the tests: EPIPE, not SIGPIPE.
            Glibc.signal(SIGPIPE, SIG_IGN)
            // Written from another thread, so a child that reads little never stalls this one.
            DispatchQueue.global().async {
                input.withUnsafeBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let written = write(feed, bytes.baseAddress! + offset, bytes.count - offset)
                        if written < 0 && errno == EINTR { continue }
                        guard written > 0 else { break }    // the child stopped reading (EPIPE)
                        offset += written
                    }
                }
                close(feed)
            }
        }
    }

    deinit {
        [output, errors].compactMap { $0 }.forEach { close($0) }
        if ended.withLock({ $0 }) == nil {
            kill(processIdentifier, SIGKILL)
            _ = wait()
        }
    }

    /// Sends `number`, unless the child has already been reaped (its pid may be another's now).
    public func signal(_ number: Int32) {
        ended.withLock { if $0 == nil { kill(processIdentifier, number) } }
    }

    /// Whether the child has not ended yet (it is reaped when it has).
    public var isRunning: Bool {
        ended.withLock { ended in
            guard ended == nil else { return false }
            var status: Int32 = 0
            guard waitpid(processIdentifier, &status, WNOHANG) == processIdentifier else { return true }
            ended = status
            return false
        }
    }

    /// Waits for the end; the exit code, or 128 + the signal that ended it (as a shell says).
    @discardableResult
    public func wait() -> Int32 {
        // Waited for without reaping, so `isRunning` and `signal` on other threads, which reap
        // under the lock, never meet a pid that is already gone.
        var info = siginfo_t()
        while waitid(P_PID, id_t(processIdentifier), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        let status: Int32 = ended.withLock { ended in
            if let ended { return ended }
            var status: Int32 = 0
            while waitpid(processIdentifier, &status, 0) < 0 && errno == EINTR {}
            ended = status
            return status
        }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}
