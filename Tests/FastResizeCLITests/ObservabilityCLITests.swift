// ObservabilityCLITests: JSON logs, the metrics file and the metrics server of the real binary, checked by real clients (promtool, a Prometheus server).

import FastResize
import FastResizeCodecs
import Foundation
import Testing
import TestSupport

/// Every line of `text` as a JSON object.
func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(object as? [String: Any], "not an object: \(line)")
    }
}

/// `promtool check metrics` on `text`: its exit status and what it said (Debian's `prometheus`,
/// which scripts/install-deps.sh installs).
func promtool(_ text: String) throws -> (status: Int32, output: String) {
    try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool"), "promtool is missing: run scripts/install-deps.sh")
    let result = try CommandRunner.run(["check", "metrics"], executable: "/usr/bin/promtool", standardInput: Data(text.utf8))
    return (result.status, result.stdout + result.stderr)
}

/// The value of the sample `name{labels}` in an exposition (labels as written, in order).
func sample(_ exposition: String, _ series: String) -> Double? {
    exposition.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
}

@Suite(.serialized) struct ObservabilityCLITests {
    /// JSON logs: one object per line with ts, level and msg; a file's record has its fields;
    /// a name with a byte that is not UTF-8 and control characters is still a valid JSON string.
    @Test func jsonLogLinesParseWhateverTheNames() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(120, 90), to: "in/good.jpg")
        try scratch.write(Array("not an image at all".utf8) + [UInt8](repeating: 0, count: 64), to: "in/broken.jpg")
        // bad\xff<ESC>[31m"q".jpg: a raw byte, a terminal escape and quotes in one name.
        let odd: [UInt8] = Array("bad".utf8) + [0xFF, 0x1B] + Array("[31m\"q\".jpg".utf8)
        let folder = scratch.path("in")
        let path = folder + "/" + FileSystemPath.string(odd[...])
        #expect(FileSystemPath.withCString(path) { creat($0, 0o644) } >= 0)
        let jpeg = try Inputs.jpeg(100, 80)
        let handle = try #require(FileSystemPath.withCString(path) { fopen($0, "w") })
        _ = jpeg.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        fclose(handle)

        let result = try CommandRunner.run(["in", "-o", "out", "--width", "30", "--log-format", "json", "--log-level", "debug"],
                                           in: scratch.url)
        #expect(result.status == 1, "one file is broken: \(result.stderr)")
        #expect(result.stdout.isEmpty, "JSON logs go to standard error: \(result.stdout)")
        let lines = try jsonLines(result.stderr)
        for line in lines {
            let ts = try #require(line["ts"] as? String)
            #expect(ts.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(ts)")
            #expect(["trace", "debug", "info", "notice", "warning", "error"].contains(line["level"] as? String ?? ""))
            #expect(line["msg"] is String)
        }
        let files = lines.filter { $0["input"] != nil }
        #expect(files.count == 3, "\(result.stderr)")
        let broken = try #require(files.first { ($0["input"] as? String)?.hasSuffix("broken.jpg") == true })
        #expect(broken["level"] as? String == "error" && broken["status"] as? String == "failed")
        #expect(broken["error_kind"] as? String == "unsupported" && broken["error"] is String, "\(broken)")
        let named = try #require(files.first { ($0["input"] as? String)?.contains("bad\\xff") == true }, "\(files)")
        #expect((named["input"] as? String)?.contains("\u{1B}[31m\"q\"") == true)
        let good = try #require(files.first { ($0["input"] as? String)?.hasSuffix("good.jpg") == true })
        #expect(good["status"] as? String == "written" && good["ms"] is NSNumber)
        let stages = try #require(good["stage_ms"] as? [String: Any])
        #expect(Set(stages.keys).isSuperset(of: ["decode", "resize", "encode"]))
        let output = try #require((good["outputs"] as? [[String: Any]])?.first)
        #expect(output["width"] as? Int == 30 && output["height"] as? Int == 23 && (output["bytes"] as? Int ?? 0) > 0)
        #expect((output["path"] as? String)?.hasSuffix("out/good.jpg") == true)
        let summary = try #require(lines.last)
        #expect(summary["event"] as? String == "run finished" && summary["written"] as? Int == 2 && summary["failed"] as? Int == 1)
    }

    /// --metrics-file: the final metrics, which promtool accepts, with the run's counts and no
    /// process_* metric (node_exporter has its own).
    @Test func metricsFilePassesPromtool() throws {
        let scratch = try ScratchFolder()
        for index in 0..<3 { try scratch.write(try Inputs.jpeg(120, 90), to: "in/\(index).jpg") }
        try scratch.write([0xFF, 0xD8, 0xFF, 0xE0, 0, 16] + Array("JFIF".utf8), to: "in/truncated.jpg")
        let result = try CommandRunner.run(["in", "-o", "out", "--width", "30", "--metrics-file", "metrics.prom", "-q"], in: scratch.url)
        #expect(result.status == 1)
        let text = try String(contentsOfFile: scratch.path("metrics.prom"), encoding: .utf8)
        let checked = try promtool(text)
        #expect(checked.status == 0, "\(checked.output)\n\(text)")
        #expect(sample(text, "fastresize_files_total{status=\"written\",format=\"jpeg\"}") == 3, "\(text)")
        #expect(sample(text, "fastresize_failures_total{kind=\"corrupt\"}") == 1, "\(text)")
        #expect(sample(text, "fastresize_stage_duration_seconds_count{stage=\"decode\"}") ?? 0 >= 3, "\(text)")
        #expect((sample(text, "fastresize_output_bytes_total") ?? 0) > 0 && (sample(text, "fastresize_input_pixels_total") ?? 0) == 3 * 120 * 90)
        #expect(!text.contains("process_"), "\(text)")
        #expect(scratch.files().allSatisfy { !$0.contains("fastresize-tmp") })
    }

    /// A watcher with --metrics-listen: /metrics passes promtool and counts what was made, the
    /// probes answer 200, a real Prometheus server scrapes it and its query API agrees; a frozen
    /// scheduler turns /livez 503.
    @Test func aWatchIsScrapedByPrometheus() throws {
        let scratch = try ScratchFolder()
        try FileManager.default.createDirectory(atPath: scratch.path("in"), withIntermediateDirectories: true)
        let watcher = try Watcher(["in", "-o", "out", "--width", "20", "--metrics-listen", "127.0.0.1:0", "--log-file", "watch.log"],
                                  in: scratch.url, environment: ["FASTRESIZE_TEST_HOOKS": "1"])
        let log = scratch.path("watch.log")
        #expect(watcher.wait { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("watching ") })
        let logged = try String(contentsOfFile: log, encoding: .utf8)
        let port = try #require(logged.firstMatch(of: /metrics: http:\/\/127\.0\.0\.1:(\d+)\/metrics/).flatMap { Int($0.1) }, "\(logged)")
        #expect(HTTPProbe.get(port: port, "/livez")?.status == 200)
        #expect(HTTPProbe.get(port: port, "/healthz")?.status == 200)
        #expect(HTTPProbe.get(port: port, "/readyz")?.status == 200, "\(HTTPProbe.get(port: port, "/readyz")?.body ?? "")")

        for index in 0..<4 { try scratch.write(try Inputs.jpeg(80, 60), to: "in/\(index).jpg") }
        let written = "fastresize_files_total{status=\"written\",format=\"jpeg\"}"
        #expect(watcher.wait { sample(HTTPProbe.get(port: port, "/metrics")?.body ?? "", written) == 4 })
        let metrics = try #require(HTTPProbe.get(port: port, "/metrics"))
        let checked = try promtool(metrics.body)
        #expect(checked.status == 0, "\(checked.output)\n\(metrics.body)")
        for name in ["process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total", "process_start_time_seconds",
                     "fastresize_files_in_flight", "fastresize_queue_depth", "fastresize_memory_budget_bytes{state=\"limit\"}"] {
            #expect(metrics.body.contains("\n" + name + " ") || metrics.body.contains("\n" + name + "{") || metrics.body.contains("\n" + name),
                    "\(name) missing")
        }
        #expect(!metrics.body.contains(".jpg"), "no file name is a label")

        // A real Prometheus server scrapes it every second; its query API says what was made.
        let prometheusPort = HTTPProbe.freePort()
        try scratch.write(Array("""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: fastresize
                static_configs:
                  - targets: ["127.0.0.1:\(port)"]

            """.utf8), to: "prometheus.yml")
        let server = try ChildProcess("/usr/bin/prometheus",
                                      ["--config.file=\(scratch.path("prometheus.yml"))", "--storage.tsdb.path=\(scratch.path("tsdb"))",
                                       "--web.listen-address=127.0.0.1:\(prometheusPort)"])
        defer {
            server.signal(SIGTERM)
            server.wait()
        }
        let query = "/api/v1/query?query=sum(fastresize_files_total%7Bstatus%3D%22written%22%7D)"
        var answer = ""
        let scraped = watcher.wait(60) {
            answer = HTTPProbe.get(port: prometheusPort, query)?.body ?? ""
            return answer.contains("\"4\"]")
        }
        #expect(scraped, "Prometheus said: \(answer)")

        // A scheduler frozen (the test hook) is stuck for /livez once its beat is older than 5 s.
        watcher.signal(SIGUSR2)
        #expect(watcher.wait(15) { HTTPProbe.get(port: port, "/livez")?.status == 503 })
        #expect(HTTPProbe.get(port: port, "/livez")?.body.contains("stuck") == true)
        let stopped = watcher.stop()
        #expect(stopped.status == 0, "\(stopped.stderr)")
    }

    /// /readyz turns 503 while files wait for memory (the budget is full), and once SIGTERM
    /// came, while the files in flight finish; the exit is 0.
    @Test func readinessFollowsMemoryAndDraining() throws {
        let scratch = try ScratchFolder()
        try FileManager.default.createDirectory(atPath: scratch.path("in"), withIntermediateDirectories: true)
        // Each 8000x4000 PNG is budgeted at 6 to 8 MB (its rows streamed): one at a time under 12M.
        let watcher = try Watcher(["in", "-o", "out", "--width", "20", "-j", "2", "--memory-limit", "12M", "--metrics-listen", ":0"],
                                  in: scratch.url)
        #expect(watcher.waitUntilWatching(), "\(watcher.stderr)")
        let port = try #require(watcher.stderr.firstMatch(of: /metrics: http:\/\/127\.0\.0\.1:(\d+)\//).flatMap { Int($0.1) }, "\(watcher.stderr)")
        #expect(HTTPProbe.get(port: port, "/readyz")?.status == 200)
        let big = try PNGEncoder().encode(TestImages.constant(width: 8000, height: 4000, format: .rgb), options: EncodeOptions())
        for index in 0..<6 { try scratch.write(big, to: "in/\(index).png") }
        var seen: (status: Int, body: String)?
        #expect(watcher.wait(30) {
            seen = HTTPProbe.get(port: port, "/readyz")
            return seen?.body.contains("memory at the limit") == true
        }, "\(String(describing: seen))")
        #expect(seen?.status == 503)
        // SIGTERM just as one file ends and the next is let in: that one has all its time
        // ahead of it, and /readyz says "draining" until it is done.
        let written = "fastresize_files_total{status=\"written\",format=\"png\"}"
        let before = sample(HTTPProbe.get(port: port, "/metrics")?.body ?? "", written) ?? 0
        #expect(watcher.wait(30) { (sample(HTTPProbe.get(port: port, "/metrics")?.body ?? "", written) ?? 0) > before })
        watcher.signal(SIGTERM)
        #expect(watcher.wait(10) {
            seen = HTTPProbe.get(port: port, "/readyz")
            return seen?.body.contains("draining") == true
        }, "\(String(describing: seen))")
        #expect(seen?.status == 503)
        let stopped = watcher.finish()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(scratch.files(under: "out").allSatisfy { !$0.contains("fastresize-tmp") })
    }

    /// A worker's metrics are its jobs' summed (each job runs as a process of its own), with its
    /// queue's depth; promtool accepts them.
    @Test func aWorkerSumsItsJobsMetrics() throws {
        let scratch = try ScratchFolder()
        for index in 0..<3 { try scratch.write(try Inputs.jpeg(100, 80), to: "a/\(index).jpg") }
        for index in 0..<2 { try scratch.write(try Inputs.jpeg(100, 80), to: "b/\(index).jpg") }
        for folder in ["a", "b"] {
            let submitted = try CommandRunner.run(["submit", folder, "-o", "out-\(folder)", "--width", "20", "--state", "q.db"], in: scratch.url)
            #expect(submitted.status == 0, "\(submitted.stderr)")
        }
        let worker = try CommandRunner.run(["worker", "--state", "q.db", "--exit-when-empty", "--metrics-file", "worker.prom"], in: scratch.url)
        #expect(worker.status == 0, "\(worker.stderr)")
        let text = try String(contentsOfFile: scratch.path("worker.prom"), encoding: .utf8)
        #expect(sample(text, "fastresize_files_total{status=\"written\",format=\"jpeg\"}") == 5, "\(text)")
        #expect(sample(text, "fastresize_input_pixels_total") == Double(5 * 100 * 80))
        #expect(sample(text, "fastresize_queue_depth") == 0)
        let checked = try promtool(text)
        #expect(checked.status == 0, "\(checked.output)")
    }

    /// The README's scrape config and alert rules are what promtool accepts.
    @Test func theReadmesPrometheusFilesAreValid() throws {
        let readme = try String(contentsOf: Corpus.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let scratch = try ScratchFolder()
        for name in ["prometheus.yml", "fastresize-alerts.yml"] {
            let start = try #require(readme.range(of: "# \(name)\n"), "README has no \(name)")
            let end = try #require(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
            try scratch.write(Array(readme[start.lowerBound..<end.lowerBound].utf8), to: name)
        }
        for (command, file) in [("rules", "fastresize-alerts.yml"), ("config", "prometheus.yml")] {
            let result = try CommandRunner.run(["check", command, scratch.path(file)], executable: "/usr/bin/promtool")
            #expect(result.status == 0, "\(file): \(result.stdout)\(result.stderr)")
        }
    }

    /// --log-file: the lines go to the file, and SIGHUP opens it again by name (logrotate moved
    /// the old one away).
    @Test func theLogFileIsReopenedOnHangUp() throws {
        let scratch = try ScratchFolder()
        try FileManager.default.createDirectory(atPath: scratch.path("in"), withIntermediateDirectories: true)
        let watcher = try Watcher(["in", "-o", "out", "--width", "20", "--log-file", "fr.log", "--log-format", "json"], in: scratch.url)
        let log = scratch.path("fr.log")
        #expect(watcher.wait { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("watching ") })
        try scratch.write(try Inputs.jpeg(80, 60), to: "in/a.jpg")
        #expect(watcher.wait { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("a.jpg") })
        try FileManager.default.moveItem(atPath: log, toPath: scratch.path("fr.log.1"))
        watcher.signal(SIGHUP)
        #expect(watcher.wait { FileManager.default.fileExists(atPath: log) })
        try scratch.write(try Inputs.jpeg(80, 60), to: "in/b.jpg")
        #expect(watcher.wait { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("b.jpg") })
        let stopped = watcher.stop()
        #expect(stopped.status == 0)
        let rotated = try String(contentsOfFile: scratch.path("fr.log.1"), encoding: .utf8)
        #expect(rotated.contains("a.jpg") && !rotated.contains("b.jpg"))
        _ = try jsonLines(rotated)
        _ = try jsonLines(try String(contentsOfFile: log, encoding: .utf8))
        #expect(watcher.stdout.isEmpty && !watcher.stderr.contains("a.jpg"), "the lines went to the file: \(watcher.stderr)")
    }
}
