#!/usr/bin/env python3
"""metrics.py: what observability costs — /metrics answered while every core renders, and a plain
run's start-up against a build without the server stack.

    python3 bench/metrics.py [--binary .build/release/fastresize] [--baseline OLD_BINARY]
                             [--photos 400] [--runs 31]

scrape    fastresize on --photos copies of the 2725x2225 corpus photo (fit 720x588, -j all cores)
          with --metrics-listen; /metrics is fetched every 20 ms while it runs: p50, p99 and the
          slowest answer.
startup   with --baseline: a one-pixel PNG resized --runs times by each binary, alternating: the
          median wall time and the peak RSS of each (a plain batch must not pay for the server
          code it links).
"""
import argparse, http.client, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.environ.get("FASTRESIZE_CORPUS", os.path.join(os.path.dirname(ROOT), "shared", "corpus"))
PHOTO = os.path.join(CORPUS, "photos", "2569067123_aca715a2ee_o.jpg")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scrape(binary, scratch, photos):
    source = os.path.join(scratch, "in")
    os.makedirs(source)
    for index in range(photos):
        shutil.copyfile(PHOTO, os.path.join(source, "p%04d.jpg" % index))
    port = free_port()
    run = subprocess.Popen([binary, source, "-o", os.path.join(scratch, "out"), "--fit", "720x588", "-q",
                            "--metrics-listen", "127.0.0.1:%d" % port], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times = []
    while run.poll() is None:
        start = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/metrics")
            body = connection.getresponse().read()
            connection.close()
            if b"fastresize_files_total" in body or b"fastresize_files_in_flight" in body:
                times.append(time.perf_counter() - start)
        except OSError:
            pass    # not listening yet, or already gone
        time.sleep(0.02)
    if run.returncode != 0:
        sys.exit("the run failed (%d)" % run.returncode)
    return times


def one_pixel(binaries, scratch, runs):
    pixel = os.path.join(scratch, "pixel.png")
    subprocess.run(["vips", "black", pixel, "1", "1"], check=True)
    samples = {name: [] for name in binaries}
    for _ in range(runs):
        for name, binary in binaries.items():
            out = os.path.join(scratch, "pixel-out")
            shutil.rmtree(out, ignore_errors=True)
            start = time.perf_counter()
            process = subprocess.Popen([binary, pixel, "-o", out, "--width", "1", "-q", "--no-state"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(process.pid, 0)
            samples[name].append((time.perf_counter() - start, usage.ru_maxrss / 1024))
            if status != 0:
                sys.exit("%s failed on the one-pixel PNG" % name)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "fastresize"))
    parser.add_argument("--baseline")
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--runs", type=int, default=31)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    with tempfile.TemporaryDirectory(dir=os.environ.get("FASTRESIZE_BENCH_DIR")) as scratch:
        times = scrape(binary, scratch, args.photos)
        ordered = sorted(times)
        percentile = lambda share: ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]
        print("/metrics while %d photos render on %d cores: %d scrapes, p50 %.1f ms, p99 %.1f ms, slowest %.1f ms"
              % (args.photos, os.cpu_count(), len(times), 1000 * percentile(0.5), 1000 * percentile(0.99), 1000 * ordered[-1]))
        if args.baseline:
            samples = one_pixel({"baseline": os.path.abspath(args.baseline), "this": binary}, scratch, args.runs)
            base_time = statistics.median(t for t, _ in samples["baseline"])
            base_rss = max(r for _, r in samples["baseline"])
            for name, values in samples.items():
                wall = statistics.median(t for t, _ in values)
                rss = max(r for _, r in values)
                print("one-pixel run, %-8s median %.1f ms (%+.1f%%), peak RSS %.1f MiB (%+.1f%%)"
                      % (name, 1000 * wall, 100 * (wall / base_time - 1), rss, 100 * (rss / base_rss - 1)))


if __name__ == "__main__":
    main()
