#!/usr/bin/env python3
"""
Benchmark of ``gnt-instance move`` in the VM bed (two qemu guests, real
LVM): a ``plain`` instance with a 1 GiB disk of which every other MiB is
random data and the rest zeros is moved from node1 to node2, and the
same volume is copied between the same guests with ``dd | ssh dd`` in
the same run.  Page caches are dropped on both guests before each copy.
Prints one line per figure.  Run as root from the checkout after
./setup-venv.sh and tests/install-deps.sh:  .venv/bin/python bench/move.py
"""

import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, TOP)

from vmbench import cluster_bed, run, timed  # noqa: E402
from ganeti.testing import vmbed  # noqa: E402

INSTANCE = "bench1.example.com"
SIZE_MIB = 1024

#: Run in guest 1: every even MiB of the device random, every odd one
#: zeros, synced.
FILL = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
zeros = bytes(1 << 20)
for i in range(%d):
    os.write(fd, os.urandom(1 << 20) if i %% 2 == 0 else zeros)
os.fsync(fd)
os.close(fd)
""" % SIZE_MIB


def drop_caches(bed):
    for guest in bed.guests:
        run(guest, "sync; echo 3 > /proc/sys/vm/drop_caches")


def rate(seconds):
    return "%.1f s, %.1f MiB/s" % (seconds, SIZE_MIB / seconds)


def main():
    with cluster_bed("bench-move-", 2) as (bed, _):
        node1, node2 = bed[1], bed[2]
        vg = vmbed.VG_NAME
        run(node1, ["gnt-instance", "add", "-t", "plain", "--disk",
                    "0:size=%dm" % SIZE_MIB, "-o", "none", "--no-install",
                    "--no-start", "--no-name-check", "--no-ip-check",
                    "-n", node1.name, INSTANCE])
        out = run(node1, ["gnt-instance", "activate-disks", INSTANCE])
        device = out.strip().split(":", 2)[2]
        started = time.monotonic()
        run(node1, ["python3", "-c", FILL, device])
        print("filling the disk in guest 1 (half random): %.1f s"
              % (time.monotonic() - started))
        digest = run(node1, "sha256sum < %s" % device).split()[0]

        run(node2, "lvcreate -q -Wn -L%dm -n ddcopy %s" % (SIZE_MIB, vg))
        drop_caches(bed)
        seconds, _ = timed(node1, "dd if=%s bs=1M status=none | ssh -o"
                                  " BatchMode=yes %s dd of=/dev/%s/ddcopy"
                                  " bs=1M status=none conv=fsync"
                           % (device, node2.name, vg))
        print("dd | ssh dd, node1 -> node2, 1 GiB: %s" % rate(seconds))
        if run(node2, "sha256sum < /dev/%s/ddcopy" % vg).split()[0] != digest:
            raise SystemExit("dd copied different data")
        run(node2, "lvremove -q -f %s/ddcopy" % vg)

        drop_caches(bed)
        seconds, out = timed(node1, ["gnt-instance", "move", "-f", "-n",
                                     node2.name, INSTANCE])
        print("gnt-instance move, node1 -> node2, 1 GiB (half zeros): %s"
              % rate(seconds))
        totals = re.search(r"disk/0: (.*)", out)
        if totals:
            print("  of which the disk stream: %s" % totals.group(1))
        progress = re.findall(r"disk/0 sent .*", out)
        print("  progress lines: %d, the last: %s"
              % (len(progress), progress[-1] if progress else "-"))
        out = run(node1, ["gnt-instance", "activate-disks", INSTANCE])
        device2 = out.strip().split(":", 2)[2]
        if run(node2, "sha256sum < %s" % device2).split()[0] != digest:
            raise SystemExit("the move copied different data")

        drop_caches(bed)
        seconds, out = timed(node1, ["gnt-instance", "move", "-f", "-n",
                                     node1.name, "--compress", "gzip-fast",
                                     INSTANCE])
        print("gnt-instance move --compress gzip-fast, node2 -> node1: %s"
              % rate(seconds))
        totals = re.search(r"disk/0: (.*)", out)
        if totals:
            print("  of which the disk stream: %s" % totals.group(1))


if __name__ == "__main__":
    main()
