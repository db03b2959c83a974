#!/usr/bin/env python3
"""stages.py: where a workload's time goes, from the engine's own per-stage timings.

    python3 bench/stages.py [--workloads 1,2,3,4,5,6] [--runs 3] [--small 2000]

Runs fastresize (FASTRESIZE_BINARY, else .build/release/fastresize) on compare.py's workloads with
--report, and sums each file's stage times: decode, resize, encode, write, and other (the rest of
the file's time: planning, opening and mapping the input, colour, committing the output). Prints
each stage's share of the summed per-file time, from the run with the median wall time, and that
wall time against the per-file sum spread over the cores (start-up, the walk and waiting).
`--small N` adds small.py's many small files (N JPEGs of 640x480 made 160 wide).
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the workloads live there)

BINARY = os.environ.get("FASTRESIZE_BINARY", compare.FASTRESIZE)
STAGES = ["decode", "resize", "encode", "write"]


def measure(src, out, box, fmt, quality, report):
    command = [BINARY, src, "-o", out, "--fit", "%dx%d" % box, "--format", fmt, "-q", "--overwrite",
               "--report", report] + (["--quality", str(quality)] if quality else [])
    shutil.rmtree(out, ignore_errors=True)     # its job store too: every file is made afresh
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    with open(report) as f:
        files = json.load(f)["files"]
    totals = dict.fromkeys(STAGES + ["other"], 0.0)
    for entry in files:
        stages = entry.get("stage_ms", {})
        for stage in STAGES:
            totals[stage] += stages.get(stage, 0.0)
        totals["other"] += entry.get("ms", 0.0) - sum(stages.get(stage, 0.0) for stage in STAGES)
    return wall, totals


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", default="1,2,3,4,5,6")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--small", type=int, default=0, help="also this many small files (bench/small.py's)")
    args = parser.parse_args()
    chosen = [int(n) for n in args.workloads.split(",") if n]
    with tempfile.TemporaryDirectory(dir=os.environ.get("FASTRESIZE_BENCH_DIR")) as scratch:
        workloads = compare.workloads(scratch, chosen)
        if args.small:
            import small
            # 160 wide: a box of 160 by any height holds a 640x480 picture at 160x120.
            workloads["small"] = ("%d small JPEGs -> 160 wide" % args.small, small.make_inputs(scratch, args.small),
                                  (160, 100000), "jpeg", None)
            chosen.append("small")
        out, report = os.path.join(scratch, "out"), os.path.join(scratch, "report.json")
        for number in chosen:
            title, src, box, fmt, quality = workloads[number]
            runs = sorted((measure(src, out, box, fmt, quality, report) for _ in range(args.runs)), key=lambda r: r[0])
            wall, totals = runs[len(runs) // 2]
            summed = sum(totals.values())
            shares = " / ".join("%s %.0f%%" % (stage, 100 * totals[stage] / summed) for stage in STAGES + ["other"])
            print("workload %s (%s): %s; wall %.3f s against %.3f s of file time over %d cores"
                  % (number, title, shares, wall, summed / 1000 / compare.CORES, compare.CORES))


if __name__ == "__main__":
    main()
