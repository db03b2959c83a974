#!/usr/bin/env python3
"""watch.py: `fastresize watch` measured — latency of a drop, a burst, memory and descriptors over a long run —
against the shell recipe it replaces (inotifywait piped into vipsthumbnail).

    python3 bench/watch.py [--binary .build/release/fastresize] [--drops 200] [--burst 1000]
                           [--memory-burst 5000] [--long 20000] [--parts latency,burst,memory,long]

latency  `mv` of one 2725x2225 JPEG (the corpus photo of workload 1) into the watched folder, until
         its 720x588 JPEG exists whole; p50 and p95 over --drops drops, one at a time, for
         fastresize (settle 300 ms, the default) and for the recipe.
burst    --burst copies of a small JPEG made with `cp` at once; how many outputs each tool makes,
         how many inputs it reads more than once, how many outputs are missing or do not decode at
         the size asked for, and how long until the last.
memory   --memory-burst copies of a 1600x1200 JPEG copied in at once, under --memory-limit 256M:
         every one made once, and the watcher's peak RSS (VmHWM).
long     --long small JPEGs in batches of 1,000 through one watcher: RSS and open descriptors after
         the first batch and after the last.

The recipe is `inotifywait -m -e close_write -e moved_to --format %w%f IN | while read f; do
vipsthumbnail "$f" --size 720x588 -o OUT/%s.jpg[Q=80]; done` (with `moved_to`: the bare
`close_write` of the usual recipe never sees a file arrive by `mv`). Needs inotify-tools and
libvips-tools (apt-get install inotify-tools libvips-tools).
"""
import argparse, os, shutil, signal, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.environ.get("FASTRESIZE_CORPUS", os.path.join(os.path.dirname(ROOT), "shared", "corpus"))
PHOTO = os.path.join(CORPUS, "photos", "2569067123_aca715a2ee_o.jpg")


def whole_jpeg(path):
    """True once `path` is a JPEG written to its end (the recipe writes in place)."""
    try:
        with open(path, "rb") as file:
            if file.read(2) != b"\xff\xd8":
                return False
            file.seek(-2, os.SEEK_END)
            return file.read(2) == b"\xff\xd9"
    except OSError:
        return False


def wait_for(condition, timeout, step=0.001):
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if condition():
            return True
        time.sleep(step)
    return condition()


class Watcher:
    """A fastresize watch, its stderr read as it comes."""

    def __init__(self, binary, source, out, *options):
        self.process = subprocess.Popen([binary, "watch", source, "-o", out] + list(options),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.errors = []
        threading.Thread(target=lambda: self.errors.extend(self.process.stderr), daemon=True).start()
        if not wait_for(lambda: any("watching " in line for line in self.errors), 60, 0.01):
            self.stop()
            sys.exit("the watcher did not start:\n" + "".join(self.errors))

    def status(self, field):
        """A /proc/PID/status figure in MiB (VmRSS, VmHWM)."""
        with open("/proc/%d/status" % self.process.pid) as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def descriptors(self):
        return len(os.listdir("/proc/%d/fd" % self.process.pid))

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(120)
        if status != 0:
            sys.exit("the watcher ended with %d:\n%s" % (status, "".join(self.errors)))


class Recipe:
    """inotifywait piped into vipsthumbnail, one file at a time; every name it reads is logged."""

    def __init__(self, source, out, log):
        script = ('inotifywait -q -m -e close_write -e moved_to --format "%%w%%f" "%s" | '
                  'while read f; do echo "$f" >> "%s"; vipsthumbnail "$f" --size 720x588 -o "%s/%%s.jpg[Q=80]" 2>/dev/null; done'
                  % (source, log, out))
        self.process = subprocess.Popen(["bash", "-c", script], start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)   # inotifywait has set up its watch ("Watches established" is on stderr)

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait()


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def latency(binary, scratch, drops):
    """Seconds from each `mv` to its whole output, for fastresize and for the recipe."""
    results = {}
    for tool in ("fastresize", "recipe"):
        stage, source, out = (os.path.join(scratch, tool, name) for name in ("stage", "in", "out"))
        for folder in (stage, source, out):
            os.makedirs(folder)
        for index in range(drops):
            shutil.copyfile(PHOTO, os.path.join(stage, "drop%03d.jpg" % index))
        runner = (Watcher(binary, source, out, "--fit", "720x588", "--quality", "80") if tool == "fastresize"
                  else Recipe(source, out, os.path.join(scratch, tool, "log")))
        times = []
        for index in range(drops):
            name = "drop%03d.jpg" % index
            target = os.path.join(out, name)
            start = time.perf_counter()
            os.rename(os.path.join(stage, name), os.path.join(source, name))
            if not wait_for(lambda: whole_jpeg(target), 30):
                sys.exit("%s: %s was not made within 30 s" % (tool, name))
            times.append(time.perf_counter() - start)
        runner.stop()
        results[tool] = times
    return results


def burst(binary, scratch, count):
    """A burst of `count` files copied in with one `cp`: outputs made, inputs read twice, bad outputs."""
    seed = os.path.join(scratch, "seed.jpg")
    subprocess.run(["vips", "resize", PHOTO, seed + "[Q=85]", "0.3"], check=True)
    stage = os.path.join(scratch, "burst-stage")
    os.makedirs(stage)
    for index in range(count):
        shutil.copyfile(seed, os.path.join(stage, "b%04d.jpg" % index))
    results = {}
    for tool in ("fastresize", "recipe"):
        source, out = (os.path.join(scratch, "burst-" + tool, name) for name in ("in", "out"))
        os.makedirs(source)
        os.makedirs(out)
        log = os.path.join(scratch, "burst-" + tool, "log")
        runner = (Watcher(binary, source, out, "--fit", "720x588", "--quality", "80") if tool == "fastresize"
                  else Recipe(source, out, log))
        start = time.perf_counter()
        subprocess.run("cp %s/*.jpg %s/" % (stage, source), shell=True, check=True)
        made = lambda: sum(1 for name in os.listdir(out) if name.endswith(".jpg") and not name.startswith("."))
        wait_for(lambda: made() >= count, 600, 0.05)
        # Until nothing more happens: a tool that reads a file twice writes it again.
        last = -1
        while True:
            time.sleep(2)
            now = sum(os.stat(os.path.join(out, name)).st_mtime_ns for name in os.listdir(out) if name.endswith(".jpg"))
            if now == last:
                break
            last = now
        seconds = time.perf_counter() - start
        runner.stop()
        if tool == "fastresize":
            reads = attempts(out)
        else:
            reads = {}
            with open(log) as lines:
                for line in lines:
                    name = os.path.basename(line.strip())
                    reads[name] = reads.get(name, 0) + 1
        bad = 0
        for index in range(count):
            path = os.path.join(out, "b%04d.jpg" % index)
            header = subprocess.run(["vipsheader", "-f", "width", path], capture_output=True, text=True)
            if header.returncode != 0 or header.stdout.strip() != "720" or not whole_jpeg(path):
                bad += 1
        results[tool] = (made(), sum(1 for n in reads.values() if n > 1), bad, seconds - 2)
    return results


def attempts(out):
    """Written attempts per input, from fastresize's job store."""
    import sqlite3
    database = sqlite3.connect(os.path.join(out, ".fastresize", "state.db"))
    counts = {}
    for (name,) in database.execute("SELECT file.input FROM attempt JOIN file ON file.id = attempt.file_id WHERE attempt.status = 'written'"):
        counts[os.path.basename(name)] = counts.get(os.path.basename(name), 0) + 1
    database.close()
    return counts


def memory(binary, scratch, count):
    seed = os.path.join(scratch, "memory-seed.jpg")
    subprocess.run(["vips", "thumbnail", PHOTO, seed + "[Q=90]", "1600"], check=True)
    stage, source, out = (os.path.join(scratch, "memory", name) for name in ("stage", "in", "out"))
    for folder in (stage, source, out):
        os.makedirs(folder)
    for index in range(count):
        shutil.copyfile(seed, os.path.join(stage, "m%04d.jpg" % index))
    watcher = Watcher(binary, source, out, "--fit", "720x588", "--memory-limit", "256M")
    start = time.perf_counter()
    subprocess.run("cp %s/*.jpg %s/" % (stage, source), shell=True, check=True)
    made = lambda: sum(1 for name in os.listdir(out) if name.endswith(".jpg") and not name.startswith("."))
    wait_for(lambda: made() >= count, 1200, 0.1)
    seconds = time.perf_counter() - start
    time.sleep(1)
    peak = watcher.status("VmHWM")
    watcher.stop()
    reads = attempts(out)
    return made(), sum(1 for n in reads.values() if n != 1) + (count - len(reads)), peak, seconds


def long_run(binary, scratch, total):
    seed = os.path.join(scratch, "long-seed.jpg")
    subprocess.run(["vips", "sines", seed + "[Q=85]", "320", "240"], check=True)
    source, out = (os.path.join(scratch, "long", name) for name in ("in", "out"))
    os.makedirs(source)
    os.makedirs(out)
    watcher = Watcher(binary, source, out, "--fit", "160x160")
    samples = []
    for batch in range(total // 1000):
        folder = "batch%02d" % batch
        os.makedirs(os.path.join(source, folder))
        for index in range(1000):
            shutil.copyfile(seed, os.path.join(source, folder, "l%04d.jpg" % index))
        target = os.path.join(out, folder)
        wait_for(lambda: os.path.isdir(target) and len(os.listdir(target)) >= 1000, 600, 0.1)
        time.sleep(0.5)
        samples.append((watcher.status("VmRSS"), watcher.descriptors()))
    watcher.stop()
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "fastresize"))
    parser.add_argument("--drops", type=int, default=200)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--memory-burst", type=int, default=5000)
    parser.add_argument("--long", type=int, default=20000)
    parser.add_argument("--parts", default="latency,burst,memory,long")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    parts = args.parts.split(",")
    for tool in ("inotifywait", "vipsthumbnail", "vips"):
        if shutil.which(tool) is None:
            sys.exit("%s is missing: apt-get install inotify-tools libvips-tools" % tool)
    print("fastresize watch %s, %d cores" % (binary, os.cpu_count()))
    with tempfile.TemporaryDirectory(dir=os.environ.get("FASTRESIZE_BENCH_DIR")) as scratch:
        if "latency" in parts:
            results = latency(binary, scratch, args.drops)
            print("latency of a mv drop, 2725x2225 JPEG -> 720x588 (%d drops)" % args.drops)
            for tool, times in results.items():
                print("  %-12s p50 %6.1f ms  p95 %6.1f ms" % (tool, 1000 * percentile(times, 0.5), 1000 * percentile(times, 0.95)))
        if "burst" in parts:
            print("burst of %d files copied in with cp" % args.burst)
            for tool, (made, twice, bad, seconds) in burst(binary, scratch, args.burst).items():
                print("  %-12s %d made, %d read more than once, %d missing or wrong, %.1f s" % (tool, made, twice, bad, seconds))
        if "memory" in parts:
            made, wrong, peak, seconds = memory(binary, scratch, args.memory_burst)
            print("burst of %d 1600x1200 JPEGs, --memory-limit 256M: %d made, %d not exactly once, peak RSS %.1f MiB, %.1f s"
                  % (args.memory_burst, made, wrong, peak, seconds))
        if "long" in parts:
            samples = long_run(binary, scratch, args.long)
            first, last = samples[0], samples[-1]
            print("long run of %d files: RSS %.1f MiB after 1,000, %.1f MiB after %d (%+.1f%%); descriptors %d and %d"
                  % (args.long, first[0], last[0], args.long, 100 * (last[0] / first[0] - 1), first[1], last[1]))
            print("  RSS per 1,000: " + " ".join("%.1f" % rss for rss, _ in samples))


if __name__ == "__main__":
    main()
