// FuzzRegressionTests: inputs the fuzzer found, and the corpus's broken files, run in-process without crashing the batch.

import FastResize
import Foundation
import Testing
import TestSupport

@Suite struct FuzzRegressionTests {
    /// The committed findings (Tests/FuzzRegressions, beside its README) and the corpus's broken
    /// and odd files when the corpus is there.
    static let inputs: [String] = {
        let regressions = Corpus.packageRoot.appendingPathComponent("Tests/FuzzRegressions")
        var inputs = ((try? FileManager.default.contentsOfDirectory(atPath: regressions.path)) ?? [])
            .filter { $0 != "README.md" }.map { regressions.appendingPathComponent($0).path }
        if let corpus = Corpus.folder {
            inputs += ["corrupt", "edge"].map { corpus.appendingPathComponent($0).path }
        }
        return inputs
    }()

    /// Every input through the binary with isolation off: a decoder crash would take the whole
    /// process down and show here as a signal instead of an exit code. Each file is reported,
    /// written or failed with a reason.
    @Test(.enabled(if: !inputs.isEmpty, "no fuzz findings committed and \(Corpus.missingReason)"))
    func findingsAndBrokenFilesRunInProcess() throws {
        let scratch = try ScratchFolder()
        let result = try CommandRunner.run(Self.inputs + ["-o", scratch.path("out"), "--fit", "64x64", "--isolate", "none",
                                                          "--timeout", "0", "--report", scratch.path("report.json")])
        #expect(result.status == 0 || result.status == 1, "status \(result.status): \(result.stderr.suffix(2000))")
        let report = try loadReport(scratch.path("report.json"))
        #expect(report.files.count >= Self.inputs.count)
        for file in report.files {
            #expect(file.status == .written || file.status == .notImage || (file.status == .failed && file.error?.isEmpty == false),
                    "\(file.input): \(file.status)")
        }
        #expect(!scratch.files().contains { $0.hasSuffix(AtomicFile.temporarySuffix) })
    }
}
