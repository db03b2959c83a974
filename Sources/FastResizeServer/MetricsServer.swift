// MetricsServer: /metrics, /livez, /readyz and /healthz over HTTP — Hummingbird on one event-loop thread of its own, started only when --metrics-listen asks for it.

import FastResizeMetrics
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// What the health endpoints answer: whether the process is alive (its scheduler beats) and
/// whether it takes work now, each with a line saying why.
public struct HealthChecks: Sendable {
    public var live: @Sendable () -> (ok: Bool, reason: String)
    public var ready: @Sendable () -> (ok: Bool, reason: String)

    public init(live: @escaping @Sendable () -> (ok: Bool, reason: String), ready: @escaping @Sendable () -> (ok: Bool, reason: String)) {
        self.live = live
        self.ready = ready
    }
}

/// Why the server could not start.
public struct MetricsServerError: Error, CustomStringConvertible {
    public let description: String
}

/// An HTTP server for Prometheus and for probes (Kubernetes' livenessProbe and readinessProbe).
/// It runs on an event loop of one thread of its own, so a scrape is answered while every core
/// renders; the run's threads only update counters it reads.
public final class MetricsServer: Sendable {
    /// The port it listens on (the one given, or the one the system chose for port 0).
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let services: ServiceGroup
    private let stopped = DispatchSemaphore(value: 0)

    /// Listens on `host`:`port` and serves until `stop`; throws when it cannot bind.
    public init(host: String, port: Int, metrics: RunMetrics, health: HealthChecks) throws(MetricsServerError) {
        let router = Router()
        let textFormat = "text/plain; version=0.0.4; charset=utf-8"
        router.get("metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: textFormat],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
        func probe(_ check: @escaping @Sendable () -> (ok: Bool, reason: String)) -> @Sendable (Request, BasicRequestContext) async -> Response {
            { _, _ in
                let (ok, reason) = check()
                return Response(status: ok ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: reason + "\n")))
            }
        }
        router.get("livez", use: probe(health.live))
        router.get("healthz", use: probe(health.live))
        router.get("readyz", use: probe(health.ready))

        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var logger = Logger(label: "fastresize.metrics")
        logger.logLevel = .critical
        let bound = Mutex<Result<Int, MetricsServerError>?>(nil)
        let started = DispatchSemaphore(value: 0)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
                              onServerRunning: { channel in
                                  bound.withLock { $0 = .success(channel.localAddress?.port ?? port) }
                                  started.signal()
                              },
                              eventLoopGroupProvider: .shared(group), logger: logger)
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
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    /// Stops listening once the requests being answered are answered.
    public func stop() {
        let services = services
        Task.detached { await services.triggerGracefulShutdown() }
        stopped.wait()
        try? group.syncShutdownGracefully()
    }
}
