#!/usr/bin/env python3
"""
Benchmark of a multi-node cluster in the namespace test bed (one host per
network/mount/UTS namespace, real sshd, one twistd per host).  Prints one
line per figure.  Run as root from the checkout after ./setup-venv.sh and
tests/install-deps.sh:  .venv/bin/python bench/cluster.py
"""

import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, TOP)
BIN = os.path.join(TOP, ".venv", "bin")

from tests.cluster.bed import Bed, bed_available  # noqa: E402

RPC_PROBE = r"""
import statistics, sys, time
from twisted.internet import task
from twisted.internet.defer import inlineCallbacks
from ganeti.paths import Paths
from ganeti.rpc import NodeRpc
from ganeti import config

@inlineCallbacks
def main(reactor, count, size):
    paths = Paths("/")
    cfg = config.load(paths.config_data)
    nodes = sorted(cfg.nodes.values(), key=lambda n: n.name)[:count]
    targets = [(n.name, n.primary_ip) for n in nodes]
    with open(paths.server_pem, "rb") as f:
        rpc = NodeRpc(reactor, f.read())
    yield rpc.call(targets, "version")
    if size:
        data = "x" * size
        times = []
        for _ in range(5):
            start = time.perf_counter()
            results = yield rpc.call(targets, "upload_config", data, 0)
            assert all(r.ok for r in results.values()), results
            times.append(time.perf_counter() - start)
        print("%.4f" % statistics.median(times))
    else:
        times = []
        for _ in range(50):
            start = time.perf_counter()
            yield rpc.call(targets, "version")
            times.append(time.perf_counter() - start)
        print("%.5f" % statistics.median(times))
    yield rpc.close()

task.react(main, [int(sys.argv[1]), int(sys.argv[2])])
"""


def tool(host, *argv):
    result = host.run([os.path.join(BIN, argv[0])] + list(argv[1:]), timeout=300)
    if result.returncode != 0:
        sys.exit("%s on %s failed: %s%s" % (argv, host.name, result.stdout,
                                             result.stderr))
    return result.stdout


def timed_on(host, *argv):
    start = time.perf_counter()
    tool(host, *argv)
    return time.perf_counter() - start


def main():
    reason = bed_available()
    if reason:
        sys.exit("cannot build the test bed: %s" % reason)
    with Bed(8) as bed:
        master = bed.hosts[0]
        print("cluster init: %.2f s" % timed_on(
            master, "gnt-cluster", "init", "--master-netdev=eth0",
            "--enabled-hypervisors=fake", "--enabled-disk-templates=file,diskless",
            "--no-etc-hosts", bed.cluster_name))
        adds = [timed_on(master, "gnt-node", "add", host.name)
                for host in bed.hosts[1:3]]
        print("gnt-node add (ssh setup + job): median %.2f s"
              % statistics.median(adds))
        verifies = [timed_on(master, "gnt-cluster", "verify") for _ in range(5)]
        print("gnt-cluster verify, 3 nodes: median %.3f s"
              % statistics.median(verifies))
        for host in bed.hosts[3:]:
            tool(master, "gnt-node", "add", "--master-capable=no", host.name)
        python = os.path.join(BIN, "python")
        for count in (1, 3, 8):
            out = master.run([python, "-c", RPC_PROBE, str(count), "0"],
                             timeout=120)
            print("no-op RPC (version) to %d host(s): median %.2f ms"
                  % (count, float(out.stdout) * 1000))
        out = master.run([python, "-c", RPC_PROBE, "4", str(5 * 1024 * 1024)],
                         timeout=300)
        print("5 MB config.data to 3 candidates: median %.3f s" % float(out.stdout))
        tool(master, "gnt-cluster", "redist-conf")  # the probe sent filler
        failover = timed_on(bed.hosts[1], "gnt-cluster", "master-failover")
        print("gnt-cluster master-failover: %.2f s" % failover)


if __name__ == "__main__":
    main()
