// MetricsServer: /metrics, /livez, /readyz and /healthz over HTTP — Hummingbird on one event-loop thread of its own, in a library of its own that the command opens only when --metrics-listen asks.

import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

// The command reaches this library through dlopen and these C entry points alone, so a run that
// serves nothing never loads swift-nio and Hummingbird: their type metadata would otherwise be
// scanned by every dynamic cast at start-up (a one-pixel run took 9% longer with them linked in).

/// What the command answers for a route: it writes the HTTP status and returns the body, as a
/// string from `malloc` (this library frees it).
public typealias AnswerCallback = @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<Int32>?) -> UnsafeMutablePointer<CChar>?

/// The routes, as the callback is told them.
enum Route: Int32 {
    case metrics = 0, live = 1, ready = 2
}

/// Starts a server on `host`:`port` (0: the system's choice); returns its handle and sets
/// `boundPort`, or returns nil and sets `failure` (from `malloc`; the caller frees it).
@_cdecl("fastresize_server_start")
public func fastresizeServerStart(_ host: UnsafePointer<CChar>, _ port: Int32, _ context: UnsafeMutableRawPointer?,
                                  _ answer: AnswerCallback, _ boundPort: UnsafeMutablePointer<Int32>,
                                  _ failure: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> UnsafeMutableRawPointer? {
    let responder = Responder(context: context, answer: answer)
    do {
        let server = try MetricsServer(host: String(cString: host), port: Int(port), responder: responder)
        boundPort.pointee = Int32(server.port)
        return Unmanaged.passRetained(server).toOpaque()
    } catch {
        failure.pointee = strdup("\(error)")
        return nil
    }
}

/// Stops the server once the requests being answered are answered, and frees it.
@_cdecl("fastresize_server_stop")
public func fastresizeServerStop(_ handle: UnsafeMutableRawPointer) {
    let server = Unmanaged<MetricsServer>.fromOpaque(handle).takeRetainedValue()
    server.stop()
}

/// Asks the command for a route's answer.
struct Responder: @unchecked Sendable {
    let context: UnsafeMutableRawPointer?
    let answer: AnswerCallback

    func respond(_ route: Route) -> (status: Int, body: String) {
        var status: Int32 = 500
        guard let text = answer(context, route.rawValue, &status) else { return (500, "") }
        defer { free(text) }
        return (Int(status), String(cString: text))
    }
}

/// Why the server could not start.
struct MetricsServerError: Error, CustomStringConvertible {
    let description: String
}

/// NIO's process-wide group, of one thread, made once and never shut down: shutting a group of
/// the server's own down as it stopped raced the channel's last tasks ("Cannot schedule tasks on
/// an EventLoop that has already shut down", 1 stop in 10 in a release build).
private let serverLoops: MultiThreadedEventLoopGroup = {
    NIOSingletons.groupLoopCountSuggestion = 1
    return .singleton
}()

/// An HTTP server for Prometheus and for probes (Kubernetes' livenessProbe and readinessProbe).
/// It runs on an event loop of one thread of its own, so a scrape is answered while every core
/// renders; the run's threads only update counters it reads.
final class MetricsServer: Sendable {
    /// The port it listens on (the one given, or the one the system chose for port 0).
    let port: Int
    private let services: ServiceGroup
    private let stopped = DispatchSemaphore(value: 0)

    init(host: String, port: Int, responder: Responder) throws(MetricsServerError) {
        let router = Router()
        func serve(_ route: Route, _ contentType: String) -> @Sendable (Request, BasicRequestContext) async -> Response {
            { _, _ in
                let (status, body) = responder.respond(route)
                return Response(status: HTTPResponse.Status(code: status), headers: [.contentType: contentType],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
            }
        }
        router.get("metrics", use: serve(.metrics, "text/plain; version=0.0.4; charset=utf-8"))
        router.get("livez", use: serve(.live, "text/plain; charset=utf-8"))
        router.get("healthz", use: serve(.live, "text/plain; charset=utf-8"))
        router.get("readyz", use: serve(.ready, "text/plain; charset=utf-8"))

        var logger = Logger(label: "fastresize.metrics")
        logger.logLevel = .critical
        let bound = Mutex<Result<Int, MetricsServerError>?>(nil)
        let started = DispatchSemaphore(value: 0)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
                              onServerRunning: { channel in
                                  bound.withLock { $0 = .success(channel.localAddress?.port ?? port) }
                                  started.signal()
                              },
                              eventLoopGroupProvider: .shared(serverLoops), logger: logger)
        // No signal of its own: the command decides when the process stops, and stops this.
        services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let services = services
        let stopped = stopped
        Task.detached {
            do {
                try await services.run()
            } catch {
                bound.withLock { $0 = $0 ?? .failure(MetricsServerError(description: "cannot listen on \(host):\(port): \(error)")) }
                started.signal()
            }
            stopped.signal()
        }
        started.wait()
        switch bound.withLock({ $0 })! {
        case .success(let port): self.port = port
        case .failure(let error):
            throw error
        }
    }

    func stop() {
        let services = services
        Task.detached { await services.triggerGracefulShutdown() }
        stopped.wait()
    }
}
