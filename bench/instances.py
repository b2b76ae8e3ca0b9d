#!/usr/bin/env python3
"""
Benchmark of instance operations through the tools, on a throw-away
one-node cluster with the fake hypervisor (and kvm when qemu and the test
guest are available).  Prints one line per figure.

Run as root from the checkout after ./setup-venv.sh:
    .venv/bin/python bench/instances.py
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BIN = os.path.join(TOP, ".venv", "bin")
sys.path.insert(0, TOP)


def run(env, *argv, check=True):
    result = subprocess.run([os.path.join(BIN, argv[0])] + list(argv[1:]),
                            env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if check and result.returncode != 0:
        sys.exit("%s failed (%d): %s" % (" ".join(argv), result.returncode,
                                         result.stderr))
    return result.stdout


def timed(env, *argv):
    start = time.perf_counter()
    run(env, *argv)
    return time.perf_counter() - start


def add_many(root, count, prefix):
    """Create C{count} diskless fake instances through SubmitManyJobs."""
    from ganeti.cli.base import poll_job, SilentReporter
    from ganeti.cli.client import LuxiClient
    from ganeti.paths import Paths
    client = LuxiClient(Paths(root).master_socket)
    jobs = [[{"OP_ID": "OP_INSTANCE_CREATE", "instance_name": "%s%d" % (prefix, i),
              "disk_template": "diskless", "disks": [], "nics": [{}],
              "no_install": True, "start": False, "hypervisor": "fake"}]
            for i in range(count)]
    start = time.perf_counter()
    results = client.call("SubmitManyJobs", jobs)
    for ok, job_id in results:
        poll_job(job_id, SilentReporter(), client)
    return time.perf_counter() - start


def main():
    rounds = int(os.environ.get("BENCH_ROUNDS", "15"))
    many = int(os.environ.get("BENCH_INSTANCES", "1000"))
    root = tempfile.mkdtemp(prefix="gnt-ib-")
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc/hosts"), "w") as f:
        f.write("127.0.100.3 bench-inst.example.com\n")
    # The node gets its own name and address, so its node service does not
    # collide with another cluster on this machine (a running demo).
    with open(os.path.join(root, "etc/hosts"), "a") as f:
        f.write("127.0.101.9 bench-node.example.com\n")
    env = dict(os.environ, GANETI_ROOT=root,
               GANETI_HOSTNAME="bench-node.example.com")
    run(env, "gnt-cluster", "init", "--enabled-hypervisors=fake,kvm",
        "--enabled-disk-templates=diskless,file", "--master-netdev=lo",
        "--no-etc-hosts", "bench-inst.example.com")
    node = run(env, "gnt-cluster", "getmaster").strip()
    try:
        figures = {op: [] for op in ("add", "shutdown", "startup", "reboot",
                                     "remove")}
        for i in range(rounds):
            name = "fake%d" % i
            figures["add"].append(timed(
                env, "gnt-instance", "add", "-t", "diskless", "-H", "fake",
                "--no-name-check", "--no-ip-check", "--no-install", "-n", node,
                name))
            figures["startup"].append(timed(env, "gnt-instance", "startup", name))
            figures["reboot"].append(timed(env, "gnt-instance", "reboot", name))
            figures["shutdown"].append(timed(env, "gnt-instance", "shutdown", name))
            figures["remove"].append(timed(env, "gnt-instance", "remove", "-f",
                                           name))
        for op, values in figures.items():
            print("fake diskless instance %s through the CLI: median %.3f s"
                  % (op, statistics.median(values)))
        for count in (50, many):
            have = len(run(env, "gnt-instance", "list", "--no-headers").splitlines())
            if count > have:
                took = add_many(root, count - have, "many%d-" % count)
                print("%d instance creations as jobs: %.1f s (%.0f/s)"
                      % (count - have, took, (count - have) / took))
            times = [timed(env, "gnt-instance", "list") for _ in range(11)]
            print("gnt-instance list with %d instances: median %.3f s"
                  % (count, statistics.median(times)))
    finally:
        run(env, "ganeti-daemon", "stop", check=False)
        from ganeti import bootstrap, config
        from ganeti.paths import Paths
        paths = Paths(root)
        if os.path.exists(paths.config_data):
            bootstrap.destroy_cluster(paths, config.load(paths.config_data))
        subprocess.run(["rm", "-rf", root])


if __name__ == "__main__":
    main()
