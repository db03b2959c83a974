// PostgresCluster: a throwaway PostgreSQL server for the tests — initdb in a temporary folder, a free port on 127.0.0.1, stopped by its pid when the test process ends.

import Foundation
import Synchronization

/// One server for the whole test process, made on first use; each test takes a schema of its own
/// (`address(schema:)`), so tests run side by side on it without seeing each other.
public final class PostgresCluster: Sendable {
    public let port: Int
    public let folder: String
    private let binaries: String
    private let asPostgres: Bool

    /// The server, or why there is none (the tests that need it are then skipped, saying so).
    public static let shared: Result<PostgresCluster, Unavailable> = Result { () throws(Unavailable) in try own() }

    /// A server of the caller's own (a test that stops and starts it), also stopped at exit.
    public static func own() throws(Unavailable) -> PostgresCluster {
        do {
            let cluster = try PostgresCluster()
            let first = started.withLock { folders in
                folders.append(cluster.folder)
                return folders.count == 1
            }
            if first { atexit { PostgresCluster.stopAtExit() } }
            return cluster
        } catch let error as Unavailable {
            throw error
        } catch {
            throw Unavailable(reason: "\(error)")
        }
    }

    public struct Unavailable: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// Where to connect, in a schema of its own for one test.
    public func address(schema: String) -> String {
        "postgres://postgres@127.0.0.1:\(port)/postgres?schema=\(schema)"
    }

    /// A schema name no other test uses.
    public static func schema(_ prefix: String = "t") -> String {
        "\(prefix)_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))"
    }

    private init() throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw Unavailable(reason: "PostgreSQL is not installed (scripts/install-deps.sh installs postgresql-15)")
        }
        binaries = "/usr/lib/postgresql/\(newest)/bin"
        // initdb refuses root: as root, the cluster is the postgres user's.
        asPostgres = getuid() == 0
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fastresize-pg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if asPostgres {
            guard let user = getpwnam("postgres") else { throw Unavailable(reason: "there is no postgres user to run PostgreSQL as") }
            chown(folder, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        port = try Self.freePort()
        try run("\(binaries)/initdb -D \(folder)/data -U postgres -A trust -E UTF8 --no-sync", what: "initdb")
        try start()
    }

    /// Starts the server (again, after `stop`), waiting until it takes connections.
    public func start() throws {
        try run("\(binaries)/pg_ctl -D \(folder)/data -l \(folder)/log -w -t 60 -o '-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 "
                + "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300' start", what: "pg_ctl start")
    }

    /// Stops the server at once (a fast shutdown, by its pid), waiting until it is gone.
    public func stop() {
        Self.stop(folder: folder)
    }

    private static let started = Mutex<[String]>([])

    private static func stopAtExit() {
        for folder in started.withLock({ $0 }) {
            stop(folder: folder)
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    private static func stop(folder: String) {
        guard let text = try? String(contentsOfFile: "\(folder)/data/postmaster.pid", encoding: .utf8),
              let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) }), pid > 0 else { return }
        kill(pid, SIGINT)
        for _ in 0..<600 where kill(pid, 0) == 0 { usleep(50_000) }
    }

    /// Runs a shell command line (as the postgres user when this process is root).
    private func run(_ command: String, what: String) throws {
        let arguments = asPostgres ? ["/bin/su", "postgres", "-s", "/bin/sh", "-c", command] : ["/bin/sh", "-c", command]
        let child = try ChildProcess(arguments[0], Array(arguments.dropFirst()), errors: .pipe)
        let errors = String(decoding: readAll(child.errors!), as: UTF8.self)
        guard child.wait() == 0 else { throw Unavailable(reason: "\(what) failed: \(errors)") }
    }

    /// A port nothing listens on now (bound to port 0, the system's choice, then released).
    private static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard bound else { throw Unavailable(reason: "no free port on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
