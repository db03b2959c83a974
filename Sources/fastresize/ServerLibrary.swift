// ServerLibrary: the metrics server, opened from libFastResizeServer.so beside the binary only when --metrics-listen asks, and driven through its two C entry points.

import FastResize
import FastResizeMetrics
import Foundation

/// What the health endpoints answer: whether the process is alive and whether it takes work
/// now, each with a line saying why.
struct HealthChecks: Sendable {
    var live: @Sendable () -> (ok: Bool, reason: String)
    var ready: @Sendable () -> (ok: Bool, reason: String)
}

/// A running metrics server. The server (Hummingbird on swift-nio) lives in a library of its
/// own: linked into the binary, its type metadata made every start-up slower (each dynamic cast
/// scans every conformance record), so a plain run loads none of it.
final class MetricsServer: @unchecked Sendable {
    let port: Int
    // The server's own (its threads answer through `answers`); set once, used once by `stop`.
    private let handle: UnsafeMutableRawPointer
    private let stopServer: @convention(c) (UnsafeMutableRawPointer) -> Void
    private let answers: Unmanaged<Answers>

    static let libraryName = "libFastResizeServer.so"

    static var libraryPaths: [String] { FastResizeCommand.libraryPaths(libraryName) }

    private typealias Answer = @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<Int32>?) -> UnsafeMutablePointer<CChar>?
    private typealias Start = @convention(c) (UnsafePointer<CChar>, Int32, UnsafeMutableRawPointer?, Answer, UnsafeMutablePointer<Int32>,
                                              UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> UnsafeMutableRawPointer?
    private typealias Stop = @convention(c) (UnsafeMutableRawPointer) -> Void

    /// What the server's threads call back for each request.
    private final class Answers: Sendable {
        let metrics: RunMetrics
        let health: HealthChecks

        init(metrics: RunMetrics, health: HealthChecks) {
            self.metrics = metrics
            self.health = health
        }
    }

    /// Opens the library (beside this binary, else in ../lib/fastresize) and starts the server on `host`:`port`.
    init(host: String, port: Int, metrics: RunMetrics, health: HealthChecks) throws(MetricsServerError) {
        let path = Self.libraryPaths.first { FileManager.default.fileExists(atPath: $0) } ?? Self.libraryPaths[0]
        guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "cannot open it"
            throw MetricsServerError(description: "the metrics server is a library of its own, \(path), which cannot be opened (\(reason)); "
                                     + "build it with `swift build -c release -Xswiftc -static-stdlib` (or `swift build`), which builds every product")
        }
        guard let start = dlsym(library, "fastresize_server_start"), let stop = dlsym(library, "fastresize_server_stop") else {
            throw MetricsServerError(description: "\(path) is not FastResize's server library (its entry points are missing)")
        }
        stopServer = unsafeBitCast(stop, to: Stop.self)
        answers = Unmanaged.passRetained(Answers(metrics: metrics, health: health))
        let answer: Answer = { context, route, status in
            let answers = Unmanaged<Answers>.fromOpaque(context!).takeUnretainedValue()
            let (code, body): (Int32, String)
            switch route {
            case 0: (code, body) = (200, answers.metrics.exposition())
            case 1:
                let (ok, reason) = answers.health.live()
                (code, body) = (ok ? 200 : 503, reason + "\n")
            default:
                let (ok, reason) = answers.health.ready()
                (code, body) = (ok ? 200 : 503, reason + "\n")
            }
            status?.pointee = code
            return strdup(body)
        }
        var bound: Int32 = 0
        var error: UnsafeMutablePointer<CChar>?
        guard let handle = unsafeBitCast(start, to: Start.self)(host, Int32(port), answers.toOpaque(), answer, &bound, &error) else {
            answers.release()
            let reason = error.map { String(cString: $0) } ?? "cannot start"
            free(error)
            throw MetricsServerError(description: reason)
        }
        self.handle = handle
        self.port = Int(bound)
    }

    /// Stops listening once the requests being answered are answered.
    func stop() {
        stopServer(handle)
        answers.release()
    }
}

extension FastResizeCommand {
    /// Where a library of FastResize's own (the metrics server, the PostgreSQL driver) may be:
    /// beside the binary (a build folder) or in PREFIX/lib/fastresize (an install from the release
    /// tarball, the binary in PREFIX/bin).
    static func libraryPaths(_ name: String) -> [String] {
        let folder = PathNames.folder(of: executablePath)
        return [folder + "/" + name, PathNames.folder(of: folder) + "/lib/fastresize/" + name]
    }
}

/// Why the server could not start.
struct MetricsServerError: Error, CustomStringConvertible {
    let description: String
}
