#!/usr/bin/env python3
"""ab.py: two or more fastresize builds (or option sets) against each other and vipsthumbnail, in one
run, alternating, on compare.py's workloads: did a change move speed or memory?

    python3 bench/ab.py --runs 5 --workloads 1,4 \\
        old=/path/to/old/fastresize new=.build/release/fastresize "new-nofsync=.build/release/fastresize --no-fsync"

Each variant is NAME=BINARY followed by extra options. Reported per workload and variant: the
median wall time, its ratio to vipsthumbnail's median in the same run, and the peak RSS;
`--written` adds each variant's peak of the memory it wrote (its anonymous pages; RSS also
counts the code the page cache lends it, which varies between builds).
`--peers vipsthumbnail,Pillow-SIMD` runs more of compare.py's peers beside them (set up by it).
"""
import argparse, os, shlex, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the workloads and peers' commands live there)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workloads", default="1")
    parser.add_argument("--peers", default="vipsthumbnail", help="compare.py's tools to run too, vipsthumbnail first")
    parser.add_argument("--written", action="store_true",
                        help="also the peak of the memory each process wrote (sampled: costs a little time)")
    parser.add_argument("variants", nargs="+", help="NAME=BINARY [extra options]")
    args = parser.parse_args()
    chosen = [int(n) for n in args.workloads.split(",")]
    variants = {}
    for variant in args.variants:
        name, _, command = variant.partition("=")
        variants[name] = shlex.split(command)
    with tempfile.TemporaryDirectory(dir=os.environ.get("FASTRESIZE_BENCH_DIR")) as scratch:
        workloads = compare.workloads(scratch, chosen)
        out = os.path.join(scratch, "out")
        for number in chosen:
            title, src, box, fmt, quality = workloads[number]
            peers = compare.commands(src, out, box, fmt, quality)
            tools = {name: peers[name] for name in ["vipsthumbnail"] + args.peers.split(",")}
            for name, command in variants.items():
                binary, extra = command[0], command[1:]
                tools[name] = [binary] + peers["fastresize"][1:] + extra
            samples = compare.alternating(tools, args.runs, out, written=args.written)
            print("workload %d: %s" % (number, title))
            anchor = compare.completed(samples["vipsthumbnail"])[1]
            for name, runs in samples.items():
                result = compare.completed(runs)
                if not result:
                    print("  %-16s failed" % name)
                    continue
                done, wall = result
                # (Only fastresize's: a peer's pool of processes would be its parent's alone.)
                written = "  written %.1f MiB" % max(s[4] for s in done) if args.written and name in variants else ""
                print("  %-16s %.3f s  %.3f x vipsthumbnail  peak %.1f MiB%s  (runs: %s)" % (
                    name, wall, wall / anchor, max(s[1] for s in done), written, ", ".join("%.3f" % s[0] for s in done)))


if __name__ == "__main__":
    main()
