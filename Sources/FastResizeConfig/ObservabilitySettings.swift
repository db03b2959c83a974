// ObservabilitySettings: how a run speaks to those who operate it — log format, level and file, and where its metrics go.

import Foundation

/// --log-format, --log-level, --log-file, --metrics-listen and --metrics-file, resolved.
public struct ObservabilitySettings: Sendable, Equatable {
    public enum LogFormat: String, Sendable, CaseIterable {
        /// The lines a person reads (and a progress line on a terminal).
        case text
        /// One JSON object per line: `ts`, `level`, `msg` and the fields; no progress line.
        case json
    }

    /// swift-log's levels, least important first.
    public enum LogLevel: String, Sendable, CaseIterable, Comparable {
        case trace, debug, info, notice, warning, error

        public static func < (a: Self, b: Self) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    public var logFormat = LogFormat.text
    public var logLevel = LogLevel.info
    /// Whether --log-level was given (else --quiet and --verbose say how much a terminal shows).
    public var logLevelGiven = false
    /// A file log lines are appended to, instead of standard error.
    public var logFile: String?
    /// Where /metrics, /livez, /readyz and /healthz are served.
    public var metricsListen: ListenAddress?
    /// Where the final metrics are written.
    public var metricsFile: String?

    public init() {}

    /// Whether a run keeps metrics at all.
    public var wantsMetrics: Bool { metricsListen != nil || metricsFile != nil }
}

/// An address to listen on: `HOST:PORT`, `[IPv6]:PORT`, or `:PORT` (and a bare `PORT`) for the
/// loopback address — any other must be given explicitly.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public static let loopback = "127.0.0.1"

    public init(parsing text: String, for option: String) throws(UsageError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var host = Self.loopback
        var portText = trimmed
        if trimmed.hasPrefix("["), let close = trimmed.firstIndex(of: "]") {
            host = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            portText = String(trimmed[trimmed.index(after: close)...])
            guard portText.hasPrefix(":") else { throw .expected("[IPv6 address]:PORT", for: option, got: text) }
            portText.removeFirst()
        } else if let colon = trimmed.lastIndex(of: ":") {
            let given = String(trimmed[..<colon])
            if !given.isEmpty { host = given }
            portText = String(trimmed[trimmed.index(after: colon)...])
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw .expected("HOST:PORT with a port from 0 to 65535 (such as 127.0.0.1:9464 or :9464)", for: option, got: text)
        }
        guard !host.isEmpty, !host.contains(" ") else { throw .expected("HOST:PORT", for: option, got: text) }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
