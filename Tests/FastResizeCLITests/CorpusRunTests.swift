// CorpusRunTests: the binary over the whole shared corpus, checked file by file against its MANIFEST.

import FastResize
import Foundation
import Testing
import TestSupport

@Suite(.enabled(if: Corpus.folder != nil, Comment(rawValue: Corpus.missingReason)))
struct CorpusRunTests {
    @Test func everyFileBehavesAsTheManifestSays() throws {
        let corpus = try #require(Corpus.folder)
        let scratch = try ScratchFolder()
        // No --timeout: the test binary is a debug build, some hundred times slower than release on
        // the 380-frame GIF (1 s in release). SafetyTests covers the timeout.
        // Logged as JSON (every line must parse and carry its fields), metrics written at the end.
        let result = try CommandRunner.run([corpus.path, "-o", scratch.path("out"), "--fit", "200x200",
                                            "--report", scratch.path("report.json"), "--timeout", "0",
                                            "--log-format", "json", "--log-level", "debug", "--metrics-file", scratch.path("metrics.prom")])
        // Some files are expected to fail, so the batch as a whole reports failure, and finishes.
        #expect(result.status == 1)
        let report = try loadReport(scratch.path("report.json"))
        let lines = try jsonLines(result.stderr)
        #expect(lines.allSatisfy { $0["ts"] is String && $0["level"] is String && $0["msg"] is String })
        let records = Dictionary(lines.compactMap { line in (line["input"] as? String).map { ($0, line) } }) { first, _ in first }
        #expect(records.count == report.files.count, "one record per file")
        for file in report.files {
            let record = records[file.input]
            #expect(record?["status"] as? String == file.status.rawValue && record?["error_kind"] as? String == file.errorKind?.rawValue,
                    "\(file.input)")
        }
        let byInput = Dictionary(uniqueKeysWithValues: report.files.map {
            (String($0.input.dropFirst(corpus.path.count + 1)), $0)
        })
        let entries = try Corpus.entries()
        #expect(report.summary.total == entries.count + 2)      // MANIFEST.tsv and README.md are not images
        #expect(byInput["MANIFEST.tsv"]?.status == .notImage)

        for entry in entries {
            guard let file = byInput[entry.path] else {
                Issue.record("\(entry.path) missing from the report"); continue
            }
            switch entry.expected {
            case "ok":
                #expect(file.status == .written, "\(entry.path): \(file.error ?? "")")
                guard file.status == .written, let output = file.outputs.first else { continue }
                let image = try decodeFile(output.path)
                #expect((image.width, image.height) == (output.width, output.height), "\(entry.path)")
                #expect(image.width <= 200 && image.height <= 200, "\(entry.path)")
                // The manifest gives stored sizes; containers that rotate on decode give the transpose.
                if let width = entry.width, let height = entry.height {
                    let plan = ResizeMode.fit(width: 200, height: 200).plan(sourceWidth: width, sourceHeight: height, enlarge: false)
                    let transposed = ResizeMode.fit(width: 200, height: 200).plan(sourceWidth: height, sourceHeight: width, enlarge: false)
                    #expect((image.width, image.height) == (plan.width, plan.height)
                            || (image.width, image.height) == (transposed.width, transposed.height),
                            "\(entry.path): \(image.width)x\(image.height) from \(width)x\(height)")
                }
            case "error":
                #expect(file.status == .failed, "\(entry.path) should fail")
                #expect(file.outputs.allSatisfy { $0.status == .failed && $0.bytes == 0 && $0.errorKind == file.errorKind })
                // Damaged, foreign or oversized: never the run's fault, never worth a retry.
                #expect([.corrupt, .unsupported, .tooLarge, .crashed].contains(file.errorKind), "\(entry.path): \(String(describing: file.errorKind))")
                if let error = file.error {
                    #expect(!error.isEmpty)
                    #expect(records[file.input]?["error"] as? String == error && records[file.input]?["level"] as? String == "error",
                            "\(entry.path): error record missing")
                }
            default:
                #expect(file.status == .written || (file.status == .failed && file.error?.isEmpty == false), "\(entry.path)")
            }
        }
        #expect(report.summary.failuresByKind.values.reduce(0, +) == report.summary.failed)
        let summary = try #require(lines.last)
        #expect((summary["msg"] as? String)?.hasPrefix("\(report.summary.written) written, 0 skipped, \(report.summary.failed) failed "
                                                        + "(\(report.summary.failureKindsText)), 2 not images") == true, "\(summary)")
        #expect(summary["written"] as? Int == report.summary.written && summary["failed"] as? Int == report.summary.failed)
        // The metrics say what the report says.
        let metrics = try String(contentsOfFile: scratch.path("metrics.prom"), encoding: .utf8)
        let written = metrics.split(separator: "\n").filter { $0.hasPrefix("fastresize_files_total{status=\"written\"") }
            .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
        #expect(Int(written) == report.summary.written, "\(metrics)")
        let checked = try promtool(metrics)
        #expect(checked.status == 0, "\(checked.output)")
        #expect(!scratch.files().contains { $0.hasSuffix(AtomicFile.temporarySuffix) })
    }
}
