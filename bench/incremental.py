#!/usr/bin/env python3
"""incremental.py: what the job store costs and saves — a first run over 10,000 small JPEGs (100 folders
of 100), the same command again with nothing changed, and the store's size per input.

    python3 bench/incremental.py [--binary .build/release/fastresize] [--folders 100] [--per-folder 100]

Prints the wall time and peak RSS of both runs, the re-run's share of the first, and the bytes of
the store per input file.
"""
import argparse, os, shutil, subprocess, sys, tempfile, time


def run(command):
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    errors = process.stderr.read().decode(errors="replace")
    if status != 0:
        sys.exit("failed (%d): %s\n%s" % (status, " ".join(command), errors))
    return wall, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=".build/release/fastresize")
    parser.add_argument("--folders", type=int, default=100)
    parser.add_argument("--per-folder", type=int, default=100)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    with tempfile.TemporaryDirectory(dir=os.environ.get("FASTRESIZE_BENCH_DIR")) as scratch:
        source = os.path.join(scratch, "in")
        out = os.path.join(scratch, "out")
        # One small photo-like JPEG (320x240, from vips' test pattern), copied into every place.
        seed = os.path.join(scratch, "seed.jpg")
        subprocess.run(["vips", "sines", seed + "[Q=85]", "320", "240"], check=True)
        for folder in range(args.folders):
            os.makedirs(os.path.join(source, "f%03d" % folder))
            for index in range(args.per_folder):
                shutil.copyfile(seed, os.path.join(source, "f%03d" % folder, "img%03d.jpg" % index))
        count = args.folders * args.per_folder
        # The files are made well before the first run: stamps within a second of a change are
        # checked by content, which a real tree's old files never need.
        old = time.time() - 60
        for folder, _, names in os.walk(source):
            for name in names:
                os.utime(os.path.join(folder, name), (old, old))
        command = [binary, source, "-o", out, "--fit", "160x160", "-q"]
        first, first_peak = run(command)
        again, again_peak = run(command)
        state = os.path.join(out, ".fastresize", "state.db")
        size = sum(os.path.getsize(state + suffix) for suffix in ("", "-wal") if os.path.exists(state + suffix))
        print("%d inputs (%d folders of %d), fastresize %s" % (count, args.folders, args.per_folder, binary))
        print("  first run          %.2f s  peak %.1f MiB" % (first, first_peak))
        print("  no-change re-run   %.2f s  peak %.1f MiB  (%.1f%% of the first)" % (again, again_peak, 100 * again / first))
        print("  store              %d bytes, %.0f bytes per input" % (size, size / count))


if __name__ == "__main__":
    main()
