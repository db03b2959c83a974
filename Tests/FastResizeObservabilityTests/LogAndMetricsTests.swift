// LogAndMetricsTests: log lines and metrics made from a run's events, in process — what each record holds and what each metric counts.

@testable import FastResize
import FastResizeLog
import FastResizeMetrics
import Foundation
import Logging
import Testing

@Suite struct LogAndMetricsTests {
    static let jpeg = ImageFormat("jpeg", displayName: "JPEG", fileExtension: "jpg")

    static func written(_ input: String, bytes: Int) -> FileReport {
        var report = FileReport(input: input, status: .written,
                                outputs: [OutputRecord(path: "out/" + input, width: 30, height: 20, format: jpeg, bytes: bytes)], ms: 12.5)
        report.outputs[0].status = .written
        report.inputBytes = 1000
        report.inputPixels = 600
        report.stageMilliseconds = ["decode": 4, "resize": 2.5]
        return report
    }

    @Test func jsonLinesKeepTypesAndEscapeEveryName() throws {
        let name = "a\u{1B}[2J\"b\"\\\n" + FileSystemPath.string([0xFF][...]) + ".jpg"
        var report = Self.written(name, bytes: 512)
        report.attempts = 2
        let line = LineLogHandler.line(format: .json, time: "2026-12-03T06:30:00.123Z", level: .info, message: report.line,
                                       fields: report.logFields)
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["ts"] as? String == "2026-12-03T06:30:00.123Z" && object["level"] as? String == "info")
        #expect(object["input"] as? String == "a\u{1B}[2J\"b\"\\\n\\xff.jpg")
        #expect(object["attempts"] as? Int == 2 && object["ms"] as? Double == 12.5 && object["input_pixels"] as? Int == 600)
        #expect((object["stage_ms"] as? [String: Double]) == ["decode": 4, "resize": 2.5])
        let output = try #require((object["outputs"] as? [[String: Any]])?.first)
        #expect(output["bytes"] as? Int == 512 && output["format"] as? String == "jpeg" && output["status"] as? String == "written")
        #expect(line.hasPrefix("{\"ts\":\"2026-12-03T06:30:00.123Z\",\"level\":\"info\",\"msg\":"), "the common fields first: \(line)")
    }

    @Test func textLinesShowNoControlCharacters() {
        let line = LineLogHandler.line(format: .text, time: "T", level: .error, message: "in/\u{1B}[31mred.jpg: bad",
                                       fields: ["input": .string("in/\u{1B}[31mred.jpg"), "ms": .stringConvertible(1.5)])
        #expect(line == "T error in/\\x1b[31mred.jpg: bad input=in/\\x1b[31mred.jpg ms=1.5")
    }

    @Test func timestampsAreRFC3339InUTCToTheMillisecond() {
        #expect(LineLogHandler.timestamp().wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
    }

    @Test func levelsFollowTheOutcome() {
        #expect(Self.written("a.jpg", bytes: 1).logLevel == .info)
        #expect(FileReport(input: "b.jpg", status: .failed, outputs: [], error: .notAnImage, ms: 1).logLevel == .error)
        var skipped = FileReport(input: "c.jpg", status: .skipped, outputs: [], ms: 0)
        skipped.reason = .upToDate
        #expect(skipped.logLevel == .debug && skipped.line == "c.jpg: skipped (up to date)")
    }

    /// Each file counted once by status and format, failures by kind, stages as histograms in
    /// seconds, bytes and pixels summed; the live gauges read when the metrics are.
    @Test func metricsCountTheEvents() {
        let gauges = RunGauges()
        let metrics = RunMetrics(gauges: { gauges }, queueDepth: { 7 })
        metrics.receive(.finished(Self.written("a.jpg", bytes: 100), done: 1, total: nil, elapsed: 1))
        metrics.receive(.finished(Self.written("b.jpg", bytes: 50), done: 2, total: nil, elapsed: 1))
        let failed = FileReport(input: "c.jpg", status: .failed, outputs: [], error: .codec(.decodeFailed(Self.jpeg, "bad")), ms: 1)
        metrics.receive(.finished(failed, done: 3, total: nil, elapsed: 1))
        metrics.receive(.stage(input: "a.jpg", stage: .decode, seconds: 0.004))
        metrics.receive(.stage(input: "b.jpg", stage: .decode, seconds: 2))
        gauges.update {
            $0.filesInFlight = 2
            $0.memoryLimit = 1 << 30
            $0.admittedBytes = 5000
            $0.workerRestarts = 3
        }
        let text = metrics.exposition()
        // Gauges are written as floating point ("2.0"), counters as integers.
        let lines = Set(text.split(separator: "\n").map { $0.replacing(#/ (\d+)\.0$/#) { " " + $0.1 } })
        #expect(lines.contains("fastresize_files_total{status=\"written\",format=\"jpeg\"} 2"), "\(text)")
        #expect(lines.contains("fastresize_files_total{status=\"failed\",format=\"none\"} 1"))
        #expect(lines.contains("fastresize_failures_total{kind=\"corrupt\"} 1"))
        #expect(lines.contains("fastresize_output_bytes_total 150") && lines.contains("fastresize_input_bytes_total 2000"))
        #expect(lines.contains("fastresize_input_pixels_total 1200"))
        #expect(lines.contains("fastresize_stage_duration_seconds_count{stage=\"decode\"} 2"))
        #expect(lines.contains("fastresize_stage_duration_seconds_bucket{stage=\"decode\",le=\"0.005\"} 1"), "\(text)")
        #expect(lines.contains("fastresize_files_in_flight 2") && lines.contains("fastresize_queue_depth 7"))
        #expect(lines.contains("fastresize_memory_budget_bytes{state=\"admitted\"} 5000"))
        #expect(lines.contains("fastresize_worker_restarts_total 3"))
        #expect(text.contains("# HELP fastresize_files_total ") && text.contains("# TYPE fastresize_files_total counter"))
        #expect(text.contains("\nprocess_resident_memory_bytes "))
        // Read again: counters do not double, the restarts already counted stay counted once.
        #expect(metrics.exposition().split(separator: "\n").contains("fastresize_worker_restarts_total 3"))
    }
}
