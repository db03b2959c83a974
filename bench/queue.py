#!/usr/bin/env python3
"""queue.py: what coordinating workers through PostgreSQL costs — one submitted job of many small
JPEGs made by 1, 2, 4 … workers at once, with no render (FASTRESIZE_BENCH_NO_RENDER=1: each file
walked, taken from the job's queue, planned, started and recorded as ever, but not decoded or
written) and with real renders, and workload 1 (40 photos) by two workers against one ordinary run.

    python3 bench/queue.py [--binary .build/release/fastresize] [--files 2000] [--workers 1,2,4,8,16] [--stream 5]

Starts a throwaway PostgreSQL (initdb in a temporary folder, as the postgres user when run as root,
a free port on 127.0.0.1), a schema per measurement. For each worker count: the job's files per
second from submit to the last worker's exit, and a check that every input has exactly one written
attempt (no file lost, none made twice). Workload 1 is also measured with the two workers started
first and waiting, as deployed workers are (submit to the job's end in the store), and as a stream
of such jobs submitted one after another (--stream, 5) against as many ordinary runs in a row.
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Cluster:
    """A PostgreSQL server in a temporary folder, stopped by its pid."""

    def __init__(self, scratch):
        versions = sorted(int(v) for v in os.listdir("/usr/lib/postgresql") if v.isdigit())
        if not versions:
            sys.exit("PostgreSQL is not installed (scripts/install-deps.sh installs postgresql-15)")
        self.bin = "/usr/lib/postgresql/%d/bin" % versions[-1]
        self.folder = os.path.join(scratch, "pg")
        os.makedirs(self.folder, mode=0o700)
        self.as_postgres = os.getuid() == 0
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.shell("%s/initdb -D %s/data -U postgres -A trust -E UTF8 --no-sync" % (self.bin, self.folder))
        # Durable as a real server is (fsync on), so that the numbers include its commits.
        self.shell("%s/pg_ctl -D %s/data -l %s/log -w -o '-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300' start"
                   % (self.bin, self.folder, self.folder, self.port, self.folder))

    def shell(self, command):
        argv = ["su", "postgres", "-s", "/bin/sh", "-c", command] if self.as_postgres else ["/bin/sh", "-c", command]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)

    def address(self, schema):
        return "postgres://postgres@127.0.0.1:%d/postgres?schema=%s" % (self.port, schema)

    def query(self, sql):
        return subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-At", "-c", sql],
                              check=True, capture_output=True, text=True).stdout

    def stop(self):
        with open(os.path.join(self.folder, "data", "postmaster.pid")) as pid_file:
            pid = int(pid_file.readline())
        os.kill(pid, 2)
        while os.path.exists("/proc/%d" % pid):
            time.sleep(0.05)


def shared_job(binary, cluster, inputs, output, workers, schema, size, render=True):
    """Submits one job (each worker's run with -j 1) and runs `workers` workers on it; seconds
    from submit to the last worker's exit."""
    address = cluster.address(schema)
    environment = dict(os.environ)
    if not render:
        environment["FASTRESIZE_BENCH_NO_RENDER"] = "1"
    start = time.perf_counter()
    subprocess.run([binary, "submit", inputs, "-o", output] + size + ["-j", "1", "--state", address],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    running = [subprocess.Popen([binary, "worker", "--state", address, "--exit-when-empty"], env=environment,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(workers)]
    for process in running:
        _, errors = process.communicate()
        if process.returncode != 0:
            sys.exit("a worker failed (%d): %s" % (process.returncode, errors.decode(errors="replace")[-2000:]))
    return time.perf_counter() - start


def idle_workers_job(binary, cluster, inputs, output, workers, schema, size, jobs=1):
    """The same with the workers already started and idle (waiting on LISTEN/NOTIFY, as deployed
    workers are): seconds from the first submit until the last job finished, by the store's
    record of it. `jobs` > 1: that many jobs of the same inputs (each its own output folder),
    submitted one after another, as a stream of work keeps deployed workers busy."""
    address = cluster.address(schema)
    running = [subprocess.Popen([binary, "worker", "--state", address], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(workers)]
    # One psql session for the polling: a new one per look would cost more than the look.
    watcher = subprocess.Popen(["psql", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "-At", "-q"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    # Timed from when every worker listens for submissions (its connection's last statement).
    for _ in range(1000):
        watcher.stdin.write("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%%' AND datname = 'postgres';\n")
        if int(watcher.stdout.readline()) >= workers:
            break
        time.sleep(0.01)
    else:
        sys.exit("the workers did not come to wait for jobs within 10 s")
    # The end is the jobs' own finishing time in the store (the same clock, on this machine),
    # looked for every 50 ms: a look every few milliseconds took 2-6% of the two cores from the
    # workers it measures, where the one run it is held against is timed with no watcher at all.
    start = time.time_ns()
    for job in range(jobs):
        subprocess.run([binary, "submit", inputs, "-o", output if jobs == 1 else "%s-%d" % (output, job)] + size
                       + ["-j", "1", "--state", address], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        watcher.stdin.write("SELECT count(*) FILTER (WHERE status = 'finished'), max(finished_ns) FROM %s.job;\n" % schema)
        finished, last = watcher.stdout.readline().strip().split("|")
        if int(finished) == jobs:
            break
        time.sleep(0.05)
    seconds = (int(last) - start) / 1e9
    watcher.stdin.close()
    watcher.wait()
    for process in running:
        process.terminate()
    for process in running:
        process.wait()
    return seconds


def ordinary_runs(binary, inputs, outputs, size):
    """One ordinary run (SQLite store, -j 2) per output folder, one after another: seconds."""
    start = time.perf_counter()
    for output in outputs:
        subprocess.run([binary, inputs, "-o", output] + size + ["-j", "2"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def check(cluster, schema, count):
    """Every input written exactly once, in the store."""
    rows = cluster.query("SELECT count(*), count(DISTINCT file_id) FROM %s.attempt WHERE status = 'written'" % schema).split("|")
    written, distinct = int(rows[0]), int(rows[1])
    if written != count or distinct != count:
        sys.exit("%s: %d written attempts over %d files, for %d inputs" % (schema, written, distinct, count))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=".build/release/fastresize")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4,8,16")
    parser.add_argument("--runs", type=int, default=3, help="runs of workload 1 each way (alternating)")
    parser.add_argument("--stream", type=int, default=5, help="jobs of workload 1 in the stream measured (below 2: none)")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    with tempfile.TemporaryDirectory(dir=os.environ.get("FASTRESIZE_BENCH_DIR")) as scratch:
        os.chmod(scratch, 0o755)
        cluster = Cluster(scratch)
        try:
            # Small files, so the render is little beside the coordination: 64x48 JPEGs.
            seed = os.path.join(scratch, "seed.jpg")
            subprocess.run(["vips", "sines", seed + "[Q=85]", "64", "48"], check=True)
            inputs = os.path.join(scratch, "small")
            for index in range(args.files):
                folder = os.path.join(inputs, "f%02d" % (index // 100))
                os.makedirs(folder, exist_ok=True)
                shutil.copyfile(seed, os.path.join(folder, "%05d.jpg" % index))
            print("one job of %d 64x48 JPEGs -> 32 wide, each worker's run with -j 1 (files/s, submit to the last worker's exit):"
                  % args.files)
            print("| workers | no render | real render |")
            print("|---:|---:|---:|")
            for workers in [int(w) for w in args.workers.split(",")]:
                rates = []
                for render in (False, True):
                    schema = "w%d%s" % (workers, "r" if render else "n")
                    seconds = shared_job(binary, cluster, inputs, os.path.join(scratch, "out-" + schema), workers, schema,
                                         ["--width", "32"], render=render)
                    check(cluster, schema, args.files)
                    rates.append(args.files / seconds)
                print("| %d | %.0f | %.0f |" % (workers, rates[0], rates[1]), flush=True)

            # Workload 1: 40 photos -> 720x588 (compare.py's), one ordinary run (SQLite store, -j 2)
            # against two PostgreSQL workers (-j 1 each).
            corpus = os.environ.get("FASTRESIZE_CORPUS", os.path.join(ROOT, "..", "shared", "corpus"))
            photo = os.path.join(corpus, "photos", "2569067123_aca715a2ee_o.jpg")
            if not os.path.exists(photo):
                print("(workload 1's photo is not in %s: no workload 1 figures)" % corpus)
                return
            photos = os.path.join(scratch, "w1")
            os.makedirs(photos)
            for index in range(40):
                shutil.copyfile(photo, os.path.join(photos, "%03d.jpg" % index))
            single, shared, idle, ordinary_stream, worker_stream = [], [], [], [], []
            for run in range(args.runs):
                single.append(ordinary_runs(binary, photos, [os.path.join(scratch, "single-%d" % run)], ["--fit", "720x588"]))
                schema = "p%d" % run
                shared.append(shared_job(binary, cluster, photos, os.path.join(scratch, "shared-%d" % run), 2, schema,
                                         ["--fit", "720x588"]))
                idle.append(idle_workers_job(binary, cluster, photos, os.path.join(scratch, "idle-%d" % run), 2, "i%d" % run,
                                             ["--fit", "720x588"]))
                check(cluster, "i%d" % run, 40)
                if args.stream > 1:
                    # A stream of jobs: as many ordinary runs one after another, against the jobs
                    # submitted one after another to two waiting workers.
                    ordinary_stream.append(ordinary_runs(binary, photos, [os.path.join(scratch, "stream-%d-%d" % (run, job))
                                                                          for job in range(args.stream)], ["--fit", "720x588"]))
                    worker_stream.append(idle_workers_job(binary, cluster, photos, os.path.join(scratch, "streamed-%d" % run), 2,
                                                          "s%d" % run, ["--fit", "720x588"], jobs=args.stream))
                    check(cluster, "s%d" % run, 40 * args.stream)
            one, two, waiting = statistics.median(single), statistics.median(shared), statistics.median(idle)
            print("workload 1, median of %d: one run %.3f s, two PostgreSQL workers %.3f s: %.0f%% of the one run's throughput"
                  % (args.runs, one, two, 100 * one / two))
            print("  two workers already waiting (submit to the job's end): %.3f s: %.0f%%" % (waiting, 100 * one / waiting))
            if args.stream > 1:
                ordinary, streamed = statistics.median(ordinary_stream), statistics.median(worker_stream)
                print("  a stream of %d such jobs to the two waiting workers: %.3f s, against %d ordinary runs one after another %.3f s: %.0f%%"
                      % (args.stream, streamed, args.stream, ordinary, 100 * ordinary / streamed))
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
