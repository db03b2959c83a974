// ShardCLITests: --shard K/N and auto/N through the binary — shards made one after another cover a tree once, auto reads the array job's index, mistakes are refused.

import FastResize
import Foundation
import Testing
import TestSupport

@Suite struct ShardCLITests {
    /// Three runs, shards 0, 1 and 2 (by hand, by Kubernetes' and by Slurm's index), each with its
    /// own store, into one output folder: every input made once; each run says its shard.
    @Test func shardsMadeOneAfterAnotherCoverTheTree() throws {
        let scratch = try ScratchFolder()
        let count = 24
        for index in 0..<count { try scratch.write(try Inputs.jpeg(40, 30), to: "in/\(index % 4)/\(index).jpg") }
        let environments: [[String: String]] = [[:], ["JOB_COMPLETION_INDEX": "1"], ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1"]]
        var made = 0
        for (index, environment) in environments.enumerated() {
            let shard = environment.isEmpty ? "0/3" : "auto/3"
            let result = try CommandRunner.run(["in", "-o", "out", "--width", "10", "--shard", shard, "--state", "shard-\(index).db",
                                                "--report", "report-\(index).json"], in: scratch.url, environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("; shard \(index)/3"), "\(result.stderr)")
            let report = try loadReport(scratch.path("report-\(index).json"))
            #expect(report.summary.shard == "\(index)/3")
            made += report.summary.written
        }
        #expect(made == count)
        #expect(scratch.files(under: "out").count == count)
    }

    @Test func mistakesAreRefused() throws {
        let scratch = try ScratchFolder()
        try scratch.write(try Inputs.jpeg(40, 30), to: "in/a.jpg")
        let cases: [([String], [String: String], String)] = [
            (["--shard", "auto/4"], [:], "JOB_COMPLETION_INDEX"),
            (["--shard", "auto/4"], ["AWS_BATCH_JOB_ARRAY_INDEX": "4"], "shards of 4 are 0 to 3"),
            (["--shard", "3/3"], [:], "0 <= K < N"),
            (["--shard", "1"], [:], "K/N"),
        ]
        for (options, environment, reason) in cases {
            let result = try CommandRunner.run(["in", "-o", "out", "--width", "10"] + options, in: scratch.url, environment: environment)
            #expect(result.status == 2 && result.stderr.contains(reason), "\(options): \(result.stderr)")
        }
    }
}
