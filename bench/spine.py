#!/usr/bin/env python3
"""
Benchmark of the spine: job throughput, tool latency, master memory.

Creates a throw-away one-node cluster below a temporary root, measures,
and destroys it.  Prints one line per figure.  Run as root from the
checkout after ./setup-venv.sh:  .venv/bin/python bench/spine.py
"""

import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import compile_tools, private_root, run  # noqa: E402




def median_wall(env, argv, count=21):
    times = []
    for _ in range(count):
        start = time.perf_counter()
        run(env, *argv)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rss_kib(root):
    with open(os.path.join(root, "var/run/ganeti/ganeti.pid")) as f:
        pid = int(f.read())
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def submit_many(env, ops_file, count):
    out = run(env, "gnt-debug", "submit-job", "--job-repeat", str(count),
              "--timing-stats", ops_file)
    stats = dict(line.split(None, 1) for line in out.splitlines()
                 if line.startswith(("C:", "T:")))
    return int(stats["C:job"]), float(stats["T:total"])




def main():
    compile_tools()
    jobs = int(os.environ.get("BENCH_JOBS", "1000"))
    root, env = private_root("ganeti-bench-",
                             "127.0.100.2 bench-cluster.example.com")
    ops_file = os.path.join(root, "ops.json")
    with open(ops_file, "w") as f:
        json.dump([{"OP_ID": "OP_TEST_DELAY", "duration": 0.001}], f)
    start = time.perf_counter()
    run(env, "gnt-cluster", "init", "--enabled-hypervisors=fake",
        "--enabled-disk-templates=file,diskless", "--master-netdev=lo",
        "--no-etc-hosts", "bench-cluster.example.com")
    print("cluster init: %.2f s" % (time.perf_counter() - start))
    try:
        count, total = submit_many(env, ops_file, jobs)
        print("submit-job --job-repeat %d: %.2f s, %.0f jobs/s"
              % (count, total, count / total))
        start = time.perf_counter()
        for _ in range(50):
            run(env, "gnt-debug", "delay", "--submit", "--no-locks", "0.001")
        print("gnt-debug delay --submit, 50 one by one: %.0f jobs submitted/s"
              % (50 / (time.perf_counter() - start)))
        for argv in (["gnt-job", "list"], ["gnt-cluster", "getmaster"],
                     ["gnt-cluster", "info"]):
            print("%s: median %.3f s" % (" ".join(argv), median_wall(env, argv)))
        run(env, "gnt-job", "autoarchive", "all")
        submit_many(env, ops_file, 5000 - jobs - 52)
        run(env, "gnt-job", "autoarchive", "all")
        submit_many(env, ops_file, 4990)
        queued = len(run(env, "gnt-job", "list", "--no-headers").splitlines())
        archived = len(run(env, "gnt-job", "list", "--archived",
                           "--no-headers").splitlines()) - queued
        print("master RSS with %d jobs in queue and %d archived: %.1f MiB"
              % (queued, archived, rss_kib(root) / 1024.0))
        print("gnt-job list with %d jobs: median %.3f s"
              % (queued, median_wall(env, ["gnt-job", "list"], 5)))
    finally:
        run(env, "gnt-cluster", "destroy", "--yes-do-it", check=False)
        subprocess.run(["rm", "-rf", root])


if __name__ == "__main__":
    main()
