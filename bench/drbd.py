#!/usr/bin/env python3
"""
Benchmark of the ``drbd`` template in the VM bed (three qemu guests, the
real DRBD 8.4 module, replication over the guests' secondary network):

  - the resync rate of a new 1 GiB mirror (its first, full sync), against
    what the same two guests' replication network carries in the same
    run: 1 GiB over plain TCP (Python, zeros, to nowhere: the network and
    the guests' CPUs, as DRBD uses them) and through ``dd | ssh dd``;
  - ``gnt-instance add -t drbd`` of 256 MiB until its disks are in sync;
  - ``gnt-instance failover`` of that instance (running);
  - ``gnt-instance replace-disks -n`` of it to the third guest (new
    volumes, the mirror rebuilt and resynced, the old volumes removed).

Prints one line per figure.  Run as root from the checkout after
./setup-venv.sh and tests/install-deps.sh:  .venv/bin/python bench/drbd.py
"""

import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, TOP)

from ganeti.constants import DISK_DEFAULTS  # noqa: E402
from vmbench import cluster_bed, run, timed  # noqa: E402

BIG = "bench-big.example.com"
SMALL = "bench-small.example.com"
BIG_MIB = 1024
SMALL_MIB = 256
PORT = 7789

#: Run in the receiving guest: accept one connection, read it to the end.
RECEIVE = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
open("/tmp/bench-recv.ready", "w").close()
c, _ = s.accept()
while c.recv(1 << 20):
    pass
"""

#: Run in the sending guest: send SIZE MiB of zeros; print the seconds.
SEND = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
chunk = bytes(1 << 20)
started = time.monotonic()
for _ in range(int(sys.argv[3])):
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR)
s.recv(1)
print(time.monotonic() - started)
"""

#: Run in a guest: follow DRBD minor N in /proc/drbd until both sides are
#: up to date; print the KiB still out of sync at the first look and the
#: seconds from then to the end.
FOLLOW = r"""
import re, sys, time
minor = sys.argv[1]
line = re.compile(r"^\s*%s: cs:(\S+) .*ds:(\S+).*\n.*oos:(\d+)" % minor,
                  re.MULTILINE)
first = started = None
while True:
    with open("/proc/drbd") as f:
        m = line.search(f.read())
    if m:
        if first is None:
            first, started = int(m.group(3)), time.monotonic()
        if m.group(1) == "Connected" and m.group(2) == "UpToDate/UpToDate":
            print(first, time.monotonic() - started)
            break
    time.sleep(0.1)
"""


def mib_s(mib, seconds):
    return "%.1f s, %.1f MiB/s" % (seconds, mib / seconds)


def tcp_copy(sender, receiver, mib):
    """:return: seconds to send C{mib} MiB over the secondary network."""
    run(receiver, "rm -f /tmp/bench-recv.ready; setsid python3 -c %s %s %d"
                  " </dev/null >/dev/null 2>&1 &"
        % (_quote(RECEIVE), receiver.secondary_ip, PORT))
    deadline = time.monotonic() + 60
    while receiver.run("test -e /tmp/bench-recv.ready").returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit("the receiver did not start")
        time.sleep(0.2)
    return float(run(sender, ["python3", "-c", SEND, receiver.secondary_ip,
                              str(PORT), str(mib)]))


def _quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def minor_on(master, node, instance):
    """:return: the DRBD minor of C{instance}'s disk on C{node}."""
    out = run(master, ["gnt-node", "list-drbd", "--no-headers", node.name])
    [minor] = [line.split()[1] for line in out.splitlines()
               if line.split()[2:3] == [instance]]
    return minor


def main():
    with cluster_bed("bench-drbd-", 3) as (bed, figures):
        print("cluster init %.1f s, node add %s" % (
            figures["init"], ", ".join("%.1f s" % s for s in figures["add"])))
        node1, node2, node3 = bed[1], bed[2], bed[3]
        params = DISK_DEFAULTS["drbd"]
        print("drbd disk parameters: resync-rate %s KiB/s, dynamic-resync %s"
              % (params["resync-rate"], params["dynamic-resync"]))

        seconds = tcp_copy(node1, node2, BIG_MIB)
        print("TCP, node1 -> node2 over the replication network, 1 GiB: %s"
              % mib_s(BIG_MIB, seconds))
        # known_hosts names the guests by their primary addresses only.
        seconds, _ = timed(node1, "dd if=/dev/zero bs=1M count=%d status=none"
                                  " | ssh -o BatchMode=yes -o"
                                  " StrictHostKeyChecking=no -o"
                                  " UserKnownHostsFile=/dev/null -o"
                                  " LogLevel=ERROR %s dd of=/dev/null bs=1M"
                                  " status=none"
                           % (BIG_MIB, node2.secondary_ip))
        print("dd | ssh dd, node1 -> node2 over the replication network,"
              " 1 GiB: %s"
              % mib_s(BIG_MIB, seconds))

        seconds, _ = timed(node1, [
            "gnt-instance", "add", "-t", "drbd", "-o", "none",
            "--no-install", "--no-wait-for-sync", "--disk",
            "0:size=%dm" % BIG_MIB, "-n", "%s:%s" % (node1.name, node2.name),
            "--no-name-check", "--no-ip-check", BIG])
        print("gnt-instance add -t drbd 1 GiB --no-wait-for-sync: %.1f s"
              % seconds)
        minor = minor_on(node1, node1, BIG)
        first, seconds = run(node1, ["python3", "-c", FOLLOW, minor]).split()
        first_mib, seconds = int(first) / 1024.0, float(seconds)
        print("resync of the 1 GiB mirror, node1 -> node2: %.0f MiB left at"
              " the first look, synced in %s" % (first_mib,
                                                 mib_s(first_mib, seconds)))
        run(node1, ["gnt-instance", "remove", "-f", BIG])

        seconds, out = timed(node1, [
            "gnt-instance", "add", "-t", "drbd", "-o", "none",
            "--no-install", "--disk", "0:size=%dm" % SMALL_MIB,
            "-n", "%s:%s" % (node1.name, node2.name),
            "--no-name-check", "--no-ip-check", SMALL])
        if "disks are in sync" not in out:
            raise SystemExit("add did not wait for the sync:\n" + out)
        print("gnt-instance add -t drbd 256 MiB, to synced: %.1f s" % seconds)
        run(node1, ["gnt-instance", "startup", SMALL])

        seconds, _ = timed(node1, ["gnt-instance", "failover", "-f", SMALL])
        print("gnt-instance failover (running, 256 MiB) node1 -> node2: %.1f s"
              % seconds)
        seconds, out = timed(node1, ["gnt-instance", "replace-disks", "-n",
                                     node3.name, SMALL])
        if not re.search(r"disks are in sync", out):
            raise SystemExit("replace-disks did not sync:\n" + out)
        print("gnt-instance replace-disks -n node3 (256 MiB, to synced):"
              " %.1f s" % seconds)
        run(node1, ["gnt-instance", "remove", "-f", SMALL])


if __name__ == "__main__":
    main()
