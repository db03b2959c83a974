// ProcessMetrics: the standard process_* metrics every Prometheus client exports, read from /proc at each scrape.

import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
/// `process_open_fds`, `process_max_fds` and `process_start_time_seconds`, as the Go and Python
/// clients name them, from /proc/self.
final class ProcessMetrics: Sendable {
    /// Apart from the run's: a textfile for node_exporter must not carry them (node_exporter
    /// exports its own process's under these names).
    let registry = PrometheusCollectorRegistry()
    private let cpu: FloatingPointCounter
    private let cpuSeen = Mutex(0.0)
    private let resident: Meter
    private let virtual: Meter
    private let openFiles: Meter
    private let maxFiles: Meter
    private let startTime: Meter

    init() {
        let registry = registry
        func meter(_ name: String, _ help: String) -> Meter {
            Meter(label: name, dimensions: [], handler: registry.makeGauge(descriptor: RunMetrics.named(name, help), labels: []))
        }
        cpu = FloatingPointCounter(label: "process_cpu_seconds_total", dimensions: [],
                                   handler: registry.makeCounter(descriptor: RunMetrics.named("process_cpu_seconds_total",
                                                                                              "Total user and system CPU time spent in seconds."),
                                                                 labels: []))
        resident = meter("process_resident_memory_bytes", "Resident memory size in bytes.")
        virtual = meter("process_virtual_memory_bytes", "Virtual memory size in bytes.")
        openFiles = meter("process_open_fds", "Number of open file descriptors.")
        maxFiles = meter("process_max_fds", "Maximum number of open file descriptors.")
        startTime = meter("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
        startTime.set(Self.startTime() ?? 0)
    }

    /// Reads the figures now.
    func refresh() {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let seconds = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        let grown = cpuSeen.withLock { seen in
            defer { seen = max(seen, seconds) }
            return seconds - seen
        }
        if grown > 0 { cpu.increment(by: grown) }
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in status.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 2, let kib = Int(fields[1]) else { continue }
                if fields[0] == "VmRSS:" { resident.set(kib * 1024) }
                if fields[0] == "VmSize:" { virtual.set(kib * 1024) }
            }
        }
        openFiles.set((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFiles.set(Int(clamping: limit.rlim_cur)) }
    }

    /// When this process started, in seconds since 1970: the boot time plus its start in clock
    /// ticks after boot (/proc/self/stat's 22nd field).
    private static func startTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"),
              let system = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let bootLine = system.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let boot = Double(bootLine.dropFirst(6).trimmingCharacters(in: .whitespaces)) else { return nil }
        // After the name: state is field 3; start time is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        return boot + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
