#!/usr/bin/env python3
"""profile.py: what a profile's one decode saves — three outputs from one run against three runs.

    python3 bench/profile.py [--runs 7] [--files 40]

The speed issue's profile (fit 1024 JPEG, 320-wide WebP, 100x100 PNG) over --files copies of
workload 1's photo (2725x2225 JPEG): `fastresize --profile three` against three ordinary runs
of one output each, alternating, a fresh output folder every run (so every file is made). Prints
the medians, their ratio (the goal: at most 0.75), each pair's ratio and the peak RSS of each way.
"""
import argparse, os, shlex, shutil, statistics, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the corpus, the binary's path and the timing live there)

CONFIG = """[profiles.three]
outputs = [
  { fit = "1024x1024", format = "jpeg", name = "{stem}-1024.{ext}" },
  { width = 320, format = "webp", name = "{stem}-320.{ext}" },
  { fit = "100x100", format = "png", name = "{stem}-100.{ext}" },
]
"""
SEPARATE = [["--fit", "1024x1024", "--format", "jpeg"], ["--width", "320", "--format", "webp"],
            ["--fit", "100x100", "--format", "png"]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--files", type=int, default=40)
    args = parser.parse_args()
    binary = compare.FASTRESIZE
    with tempfile.TemporaryDirectory(dir=os.environ.get("FASTRESIZE_BENCH_DIR")) as scratch:
        src = os.path.join(scratch, "in")
        os.makedirs(src)
        photo = os.path.join(compare.CORPUS, "photos", "2569067123_aca715a2ee_o.jpg")
        for i in range(args.files):
            shutil.copy(photo, os.path.join(src, "%03d.jpg" % i))
        config = os.path.join(scratch, "three.toml")
        with open(config, "w") as f:
            f.write(CONFIG)
        out = os.path.join(scratch, "out")
        profile = [binary, src, "-o", out, "--config", config, "--profile", "three", "-q"]
        # The three runs one after another, in one shell (compare.run_once times a command).
        separate = " && ".join(shlex.join([binary, src, "-o", out, "-q"] + size) for size in SEPARATE)
        samples = []
        for _ in range(args.runs):
            samples.append((compare.run_once(profile, out), compare.run_once(separate, out)))
        if any(p is None or s is None for p, s in samples):
            sys.exit("a run failed")
        pairs = [(p[0], s[0]) for p, s in samples]
        one, three = statistics.median(p for p, _ in pairs), statistics.median(s for _, s in pairs)
        print("%d JPEGs of 2725x2225 -> fit 1024 JPEG, 320-wide WebP, 100x100 PNG; median of %d runs:" % (args.files, args.runs))
        print("  profile      %.3f s, peak %.1f MiB" % (one, max(p[1] for p, _ in samples)))
        print("  three runs   %.3f s, peak %.1f MiB" % (three, max(s[1] for _, s in samples)))
        print("  ratio        %.2f (each pair: %s)" % (one / three, ", ".join("%.2f" % (p / s) for p, s in pairs)))


if __name__ == "__main__":
    main()
