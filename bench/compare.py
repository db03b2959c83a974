#!/usr/bin/env python3
"""compare.py: whole-process batch timings of fastresize against vipsthumbnail, ImageMagick,
GraphicsMagick, Pillow and Pillow-SIMD, run by run, alternating tools, on this machine.

    python3 bench/compare.py [--runs 5] [--workloads 1,2,3,4,5,6] [--skip-setup]

Set-up (unless --skip-setup): installs the peers from Debian (libvips-tools, imagemagick,
graphicsmagick) and PyPI (Pillow in bench/.venv-pillow; Pillow-SIMD built from source with AVX2 in
bench/.venv-pillow-simd; matplotlib for the chart), and builds fastresize in release mode as the
Quick start does (no -target-cpu: its AVX2 kernels are picked at run time, so the build users get
is the one measured; `--native` builds for this machine's vector unit instead, as Pillow-SIMD is
built with -mavx2). FASTRESIZE_BINARY measures another fastresize (with --skip-setup: a release
tarball's, or a build in another scratch folder).

Each peer gets its best ordinary usage: vipsthumbnail one process per core through xargs, Pillow
Image.thumbnail (which uses JPEG draft mode) in a process pool, ImageMagick mogrify with
-define jpeg:size, GraphicsMagick mogrify with -size. Reported per tool: median wall time, its
ratio to vipsthumbnail's, peak RSS of the largest process, and the outputs' total size.
Writes bench/results.md and bench/chart.png.
"""
import argparse, datetime, os, platform, resource, shutil, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
CORPUS = os.environ.get("FASTRESIZE_CORPUS", os.path.join(os.path.dirname(ROOT), "shared", "corpus"))
CORES = os.cpu_count() or 1
FASTRESIZE = os.environ.get("FASTRESIZE_BINARY", os.path.join(ROOT, ".build", "release", "fastresize"))
PILLOW = os.path.join(BENCH, ".venv-pillow", "bin", "python")
PILLOW_SIMD = os.path.join(BENCH, ".venv-pillow-simd", "bin", "python")
NATIVE = "--native" in sys.argv

# The Pillow worker: thumbnail every file of a folder in a process pool.
PILLOW_SCRIPT = r"""
import os, sys
from concurrent.futures import ProcessPoolExecutor
from PIL import Image
src, dst, width, height, fmt, quality = sys.argv[1:7]
size = (int(width), int(height))
def one(name):
    with Image.open(os.path.join(src, name)) as im:
        im.thumbnail(size, Image.LANCZOS)
        stem = os.path.splitext(name)[0]
        options = {"quality": int(quality)} if fmt in ("jpeg", "webp") else {"compress_level": 6}
        im.save(os.path.join(dst, stem + "." + {"jpeg": "jpg"}.get(fmt, fmt)), fmt.upper(), **options)
if __name__ == "__main__":
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(one, sorted(os.listdir(src)), chunksize=4))
"""


def sh(command, **kwargs):
    print("+", command if isinstance(command, str) else " ".join(command), file=sys.stderr)
    subprocess.run(command, check=True, shell=isinstance(command, str), **kwargs)


def setup():
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    sh(sudo + ["apt-get", "update", "-qq"])
    sh(sudo + ["apt-get", "install", "-y", "-qq", "libvips-tools", "imagemagick", "graphicsmagick",
               "libjpeg62-turbo-dev", "zlib1g-dev", "libpng-dev", "libwebp-dev", "time"],
       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if not os.path.exists(PILLOW):
        sh([sys.executable, "-m", "venv", os.path.join(BENCH, ".venv-pillow")])
        sh([PILLOW, "-m", "pip", "install", "-q", "pillow", "matplotlib"])
    if not os.path.exists(PILLOW_SIMD):
        sh([sys.executable, "-m", "venv", os.path.join(BENCH, ".venv-pillow-simd")])
        sh([PILLOW_SIMD, "-m", "pip", "install", "-q", "--no-binary", "pillow-simd", "pillow-simd"],
           env=dict(os.environ, CC="cc -mavx2"))
    native = ["-Xswiftc", "-target-cpu", "-Xswiftc", "native"] if NATIVE else []
    # As the Quick start builds it: the Swift runtime linked in, as in a release.
    sh(["swift", "build", "-c", "release", "-Xswiftc", "-static-stdlib", "--product", "fastresize"] + native, cwd=ROOT)


def big_picture(scratch, name, scale):
    """The speed photo upscaled by libvips (Lanczos3) into a folder of its own: workloads 5 and 6."""
    folder = os.path.join(scratch, name)
    os.makedirs(folder, exist_ok=True)
    source = os.path.join(CORPUS, "photos", "2569067123_aca715a2ee_o.jpg")
    target = os.path.join(folder, name + (".jpg[Q=90]" if name == "w5" else ".png"))
    subprocess.run(["vips", "resize", source, target, "%.4f" % scale[0], "--vscale", "%.4f" % scale[1]], check=True)
    return folder


def workloads(scratch, chosen):
    """(number, title, input folder, box, format, quality) — inputs copied into scratch."""
    def folder(name, files):
        path = os.path.join(scratch, name)
        os.makedirs(path, exist_ok=True)
        for i, source in enumerate(files):
            shutil.copy(source, os.path.join(path, "%03d%s" % (i, os.path.splitext(source)[1])))
        return path
    photo = os.path.join(CORPUS, "photos", "2569067123_aca715a2ee_o.jpg")
    photos = sorted(os.path.join(CORPUS, "photos", f) for f in os.listdir(os.path.join(CORPUS, "photos"))
                    if f.lower().endswith((".jpg", ".jpeg")))
    alpha = os.path.join(CORPUS, "alpha", "alpha-premultiply-2048x1536-paper.png")
    w1 = folder("w1", [photo] * 40)
    # The memory workloads: one huge picture each, made only when asked for (the JPEG takes seconds).
    w5 = big_picture(scratch, "w5", (5.8716, 5.8714)) if 5 in chosen else None    # 16000x13064
    w6 = big_picture(scratch, "w6", (2.9358, 2.9357)) if 6 in chosen else None    # 8000x6532
    return {
        1: ("40 x 2725x2225 JPEG -> fit 720x588, JPEG q80", w1, (720, 588), "jpeg", 80),
        2: ("%d corpus photos -> fit 1024x1024, JPEG q85" % len(photos), folder("w2", photos), (1024, 1024), "jpeg", 85),
        3: ("20 x 2048x1536 RGBA PNG -> 50%, PNG", folder("w3", [alpha] * 20), (1024, 768), "png", None),
        4: ("workload 1 with WebP q80 output", w1, (720, 588), "webp", 80),
        5: ("one 16000x13064 JPEG -> fit 1024x1024, JPEG q80", w5, (1024, 1024), "jpeg", 80),
        6: ("one 8000x6532 PNG -> fit 1024x1024, JPEG q80", w6, (1024, 1024), "jpeg", 80),
    }


def commands(src, dst, box, fmt, quality):
    width, height = box
    ext = {"jpeg": "jpg"}.get(fmt, fmt)
    q = quality or 0
    per_process = max(1, -(-len(os.listdir(src)) // CORES))
    vips_out = os.path.join(dst, "%s." + ext) + ("[Q=%d]" % q if quality else "")
    tools = {
        "fastresize": [FASTRESIZE, src, "-o", dst, "--fit", "%dx%d" % box, "--format", fmt, "-q", "--overwrite"]
                      + (["--quality", str(q)] if quality else []),
        "vipsthumbnail": "ls %s/* | xargs -P %d -n %d vipsthumbnail --size %dx%d -o '%s'" % (
            src, CORES, per_process, width, height, vips_out),
        "Pillow-SIMD": [PILLOW_SIMD, "-c", PILLOW_SCRIPT, src, dst, str(width), str(height), fmt, str(q)],
        "Pillow": [PILLOW, "-c", PILLOW_SCRIPT, src, dst, str(width), str(height), fmt, str(q)],
        "ImageMagick": "mogrify -path %s -define jpeg:size=%dx%d -thumbnail %dx%d %s -format %s %s/*" % (
            dst, 2 * width, 2 * height, width, height, "-quality %d" % q if quality else "", ext, src),
        # gm writes each output under -output-directory by its path as given, so give it bare names.
        "GraphicsMagick": "cd %s && gm mogrify -output-directory %s -size %dx%d -thumbnail %dx%d %s -format %s *" % (
            src, dst, 2 * width, 2 * height, width, height, "-quality %d" % q if quality else "", ext),
    }
    return tools


def run_once(command, dst, written=False):
    """(wall s, peak RSS MiB, output bytes, outputs), or None when the command failed. `written`
    (a command run directly, not through a shell) adds the peak of the memory the process wrote,
    in MiB (`sample_written`): unlike its RSS, free of the file pages (code, libraries, the input's
    mapping) the page cache lends it in amounts that vary between builds and machines (README,
    Performance). Sampled from /proc every millisecond, which costs the run a little time."""
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    start = time.perf_counter()
    process = subprocess.Popen(command, shell=isinstance(command, str), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    peak = [0]
    sampler = None
    if written and not isinstance(command, str):
        sampler = threading.Thread(target=sample_written, args=(process.pid, peak))
        sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if sampler:
        sampler.join()
    if status != 0:
        return None
    # The outputs only: not fastresize's job store (the folder .fastresize), whose 4 KiB entry
    # made a single output look 3% larger than it is.
    outputs = [entry for entry in os.scandir(dst) if entry.is_file() and not entry.name.startswith(".")]
    size = sum(entry.stat().st_size for entry in outputs)
    # ru_maxrss from wait4 covers the child and its waited-for descendants: the largest one, in KiB.
    outcome = (wall, usage.ru_maxrss / 1024, size, len(outputs))
    return outcome + (peak[0] / 1024,) if sampler else outcome


def completed(runs):
    """The runs of one tool that succeeded, and their median wall time; None when none did."""
    done = [s for s in runs if s]
    return (done, statistics.median(s[0] for s in done)) if done else None


def sample_written(pid, peak):
    """Keeps in peak[0] the highest anonymous memory (KiB) of process `pid` until it ends: the pages
    it wrote (heap, stacks, copies of library data), not the page cache's. (RSS less clean file
    pages would count a freshly built binary's code too, while its pages wait to be written back.)"""
    path = "/proc/%d/smaps_rollup" % pid
    while True:
        try:
            with open(path) as f:
                fields = dict((line.split(":")[0], int(line.split()[1])) for line in f if line.endswith("kB\n"))
        except (OSError, ValueError, IndexError):
            return
        if not fields:
            return       # a zombie: its memory is gone
        peak[0] = max(peak[0], fields["Anonymous"])
        time.sleep(0.001)


def alternating(tools, runs, out, progress=None, written=False):
    """Each tool `runs` times into `out`, each run starting with a different tool, so drift hits all
    alike: {name: [run_once's outcome, ...]}. `progress(run, name, outcome)` is told of each."""
    samples = {name: [] for name in tools}
    for run in range(runs):
        names = list(tools)
        names = names[run % len(names):] + names[:run % len(names)]
        for name in names:
            outcome = run_once(tools[name], out, written)
            samples[name].append(outcome)
            if progress:
                progress(run, name, outcome)
    return samples


def version(command):
    try:
        out = subprocess.run(command, shell=True, capture_output=True, text=True).stdout.strip().splitlines()
        return out[0] if out else "?"
    except OSError:
        return "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workloads", default="1,2,3,4")
    parser.add_argument("--skip-setup", action="store_true")
    parser.add_argument("--native", action="store_true", help="build fastresize with -target-cpu native")
    args = parser.parse_args()
    if not os.path.isdir(CORPUS):
        sys.exit("the corpus is not at %s (set FASTRESIZE_CORPUS)" % CORPUS)
    if not args.skip_setup:
        setup()
    chosen = [int(n) for n in args.workloads.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        all_workloads = workloads(scratch, chosen)
        for number in chosen:
            title, src, box, fmt, quality = all_workloads[number]
            tools = commands(src, os.path.join(scratch, "out"), box, fmt, quality)
            samples = alternating(tools, args.runs, os.path.join(scratch, "out"), lambda run, name, outcome: print(
                "workload %d run %d %-14s %s" % (number, run + 1, name, "failed" if outcome is None else "%.3f s" % outcome[0]),
                file=sys.stderr))
            results[number] = (title, samples)
    report(results, args)


def report(results, args):
    lines = ["# FastResize against its peers", "",
             "Machine: %s, %d cores, %s; %s. Date: %s." % (platform.processor() or platform.machine(), CORES,
                                                          platform.platform(), version("swift --version 2>&1 | head -1"),
                                                          datetime.date.today().isoformat()),
             "Versions: %s; %s; %s; %s; Pillow %s; Pillow-SIMD %s." % (
                 version("vips --version"), version("convert -version | head -1"), version("gm -version | head -1"),
                 "fastresize " + version(FASTRESIZE + " --version") + " (" + version("git -C %s rev-parse --short HEAD" % ROOT) + ")",
                 version(PILLOW + " -c 'import PIL; print(PIL.__version__)'"),
                 version(PILLOW_SIMD + " -c 'import PIL; print(PIL.__version__)'")),
             "Command: `python3 bench/compare.py --runs %d --workloads %s`; median of %d runs, tools alternating."
             % (args.runs, args.workloads, args.runs), ""]
    chart = {}
    for number, (title, samples) in results.items():
        vips = [s[0] for s in samples["vipsthumbnail"] if s]
        vips_median = statistics.median(vips) if vips else None
        vips_bytes = next((s[2] for s in samples["vipsthumbnail"] if s), None)
        lines += ["## Workload %d: %s" % (number, title), "",
                  "| tool | median wall (s) | × vipsthumbnail | peak RSS (MiB) | output bytes | × vips bytes |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name, runs in samples.items():
            ok = [s for s in runs if s]
            if not ok:
                lines.append("| %s | failed | | | | |" % name)
                continue
            median = statistics.median(s[0] for s in ok)
            rss = max(s[1] for s in ok)
            size = ok[0][2]
            ratio = median / vips_median if vips_median else float("nan")
            size_ratio = size / vips_bytes if vips_bytes else float("nan")
            lines.append("| %s | %.3f | %.2f | %.0f | %d | %.2f |" % (name, median, ratio, rss, size, size_ratio))
            chart.setdefault(name, {})[number] = ratio
        lines.append("")
    with open(os.path.join(BENCH, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    draw(chart, results)


def draw(chart, results):
    try:
        import matplotlib
    except ImportError:
        # The chart is drawn by the Pillow venv's Python, which has matplotlib.
        if os.path.exists(PILLOW) and sys.executable != PILLOW:
            import json
            subprocess.run([PILLOW, __file__, "--draw", json.dumps({k: {str(n): v for n, v in d.items()} for k, d in chart.items()})])
        return
    draw_chart(chart, list(results))


def draw_chart(chart, numbers):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(chart)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        values = [chart[name].get(n, 0) for n in numbers]
        ax.bar([n + i * width for n in range(len(numbers))], values, width, label=name)
    ax.set_xticks([n + 0.4 - width / 2 for n in range(len(numbers))])
    ax.set_xticklabels(["workload %s" % n for n in numbers])
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_ylabel("wall time / vipsthumbnail's (lower is faster)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title("Batch resize, %d cores: median wall time relative to vipsthumbnail" % CORES)
    fig.tight_layout()
    fig.savefig(os.path.join(BENCH, "chart.png"), dpi=100)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--draw":
        import json
        data = json.loads(sys.argv[2])
        draw_chart({k: {int(n): v for n, v in d.items()} for k, d in data.items()}, sorted({int(n) for d in data.values() for n in d}))
    else:
        main()
