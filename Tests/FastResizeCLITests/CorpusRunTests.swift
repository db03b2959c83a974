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
        let result = try CommandRunner.run([corpus.path, "-o", scratch.path("out"), "--fit", "200x200",
                                            "--report", scratch.path("report.json"), "--timeout", "0"])
        // Some files are expected to fail, so the batch as a whole reports failure, and finishes.
        #expect(result.status == 1)
        let report = try loadReport(scratch.path("report.json"))
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
                    #expect(result.stderr.contains("\(entry.path): \(error)"), "\(entry.path): error line missing")
                }
            default:
                #expect(file.status == .written || (file.status == .failed && file.error?.isEmpty == false), "\(entry.path)")
            }
        }
        #expect(report.summary.failuresByKind.values.reduce(0, +) == report.summary.failed)
        #expect(result.stderr.contains("\(report.summary.written) written, 0 skipped, \(report.summary.failed) failed (\(report.summary.failureKindsText)), 2 not images"))
        #expect(!scratch.files().contains { $0.hasSuffix(AtomicFile.temporarySuffix) })
    }
}
