#!/usr/bin/env python3
"""small.py: many small files — 2,000 JPEGs of 640x480 made 160 wide — in files per second.

    python3 bench/small.py [--files 2000] [--runs 5] [--vips-runs 1] [NAME=BINARY [options] ...]

The inputs are the corpus photos made 640x480 by libvips (centre crop, JPEG q90), copied round
to --files names in one folder. Each variant (default: the Quick start's build, with its job store
and with --no-state) is timed as a whole process, alternating, median of --runs; vipsthumbnail
runs through xargs, one process per core (its usual way for many files), for --vips-runs. The
output folder is emptied before each run, so the job store starts empty too.
"""
import argparse, os, shlex, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the corpus, the binary's path and the timing live there)


def make_inputs(scratch, count):
    """Corpus photos cropped to 640x480, then copied round to `count` files."""
    seeds = os.path.join(scratch, "seeds")
    os.makedirs(seeds)
    photos = sorted(f for f in os.listdir(os.path.join(compare.CORPUS, "photos")) if f.lower().endswith((".jpg", ".jpeg")))
    for i, name in enumerate(photos):
        subprocess.run(["vipsthumbnail", os.path.join(compare.CORPUS, "photos", name), "--size", "640x480", "--smartcrop",
                        "centre", "-o", os.path.join(seeds, "%02d.jpg[Q=90]" % i)], check=True)
    made = sorted(os.listdir(seeds))
    src = os.path.join(scratch, "small")
    os.makedirs(src)
    for i in range(count):
        shutil.copy(os.path.join(seeds, made[i % len(made)]), os.path.join(src, "%05d.jpg" % i))
    return src


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--vips-runs", type=int, default=1, help="0 to leave vipsthumbnail out")
    parser.add_argument("variants", nargs="*", help="NAME=BINARY [extra options]")
    args = parser.parse_args()
    variants = {}
    for variant in args.variants or ["fastresize=%s" % compare.FASTRESIZE, "no-state=%s --no-state" % compare.FASTRESIZE]:
        name, _, command = variant.partition("=")
        variants[name] = shlex.split(command)
    with tempfile.TemporaryDirectory(dir=os.environ.get("FASTRESIZE_BENCH_DIR")) as scratch:
        src = make_inputs(scratch, args.files)
        out = os.path.join(scratch, "out")
        tools = {name: [command[0], src, "-o", out, "--width", "160", "-q", "--overwrite"] + command[1:]
                 for name, command in variants.items()}
        samples = compare.alternating(tools, args.runs, out)
        if args.vips_runs:
            vips = "ls %s/* | xargs -P %d -n 64 vipsthumbnail --size 160x -o '%s/%%s.jpg'" % (src, compare.CORES, out)
            samples["vipsthumbnail"] = [compare.run_once(vips, out) for _ in range(args.vips_runs)]
        print("%d JPEGs of 640x480 -> 160 wide, median of %d runs:" % (args.files, args.runs))
        for name, runs in samples.items():
            result = compare.completed(runs)
            if not result:
                print("  %-14s failed" % name)
                continue
            done, wall = result
            made = min(s[3] for s in done)
            print("  %-14s %.3f s  %5.0f files/s  peak %.1f MiB  %d outputs  (runs: %s)" % (
                name, wall, args.files / wall, max(s[1] for s in done), made, ", ".join("%.3f" % s[0] for s in done)))


if __name__ == "__main__":
    main()
