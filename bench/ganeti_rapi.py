#!/usr/bin/env python3
"""
The figures of bench/rapi.py, measured on real Ganeti 3.0.2 (Debian's
``ganeti`` package) on this machine, so that both can be shown side by side
from one run.  Prints one line per figure, worded as bench/rapi.py words
them, after a first line saying what was measured.

Run as root from the checkout after ./setup-venv.sh and
``apt-get install --no-install-recommends ganeti``:
    .venv/bin/python bench/ganeti_rapi.py
then ``.venv/bin/python bench/rapi.py`` right after it.  With
``--fifty-only`` the 1,000-instance figures are left out (Ganeti takes
half an hour to create those instances).

How Ganeti runs here
--------------------
Ganeti's daemons are started inside a one-host test bed
(tests/cluster/bed.py: network, mount and UTS namespaces with private
/etc/ganeti, /var/lib/ganeti, /var/run/ganeti, /var/log/ganeti, /srv/ganeti,
/root/.ssh and /etc/hosts), so nothing of it runs in, or is written to, the
machine's own namespaces.  Inside the host, before ``gnt-cluster init``:

  - /etc/ganeti/lib and /etc/ganeti/share are linked to /usr/lib/ganeti/3.0
    and /usr/share/ganeti/3.0: Debian's /usr/sbin/gnt-* and ganeti-* reach
    the installed version through those links, which the host's private
    /etc/ganeti would otherwise hide;
  - a fresh sysfs is mounted on /sys: the machine's /sys shows the machine's
    network devices, and ganeti-noded looks for the instances' NIC bridge in
    /sys/class/net;
  - a tmpfs is mounted on /run/lock, where Ganeti keeps its ssconf lock;
  - a bridge ``br0`` is made in the host's network namespace for the
    instances' NICs (instance creation checks that the bridge exists);
  - a do-nothing OS definition ``bench`` (API 20) is written to
    /srv/ganeti/os: Ganeti 3.0 wants an OS even with ``--no-install``.

Then ``gnt-cluster init --enabled-hypervisors=fake
--enabled-disk-templates=diskless --no-etc-hosts --master-netdev=eth0
--nic-parameters=link=br0 cluster.cluster.test`` starts the daemons
(ganeti-noded, -confd, -wconfd, -rapi, -luxid, -mond) through
/usr/lib/ganeti/daemon-util and start-stop-daemon (no systemd is needed:
daemon-util uses systemctl only when systemd runs as PID 1).  In a host
just built, init's TCP check that the cluster IP is not yet in use now and
then found the unassigned address "already active" (seen twice in a row,
then never again; not explained), so a refused init is tried again.
Every Ganeti tool runs as /usr/bin/python3 with a clean environment and /
as its working directory, so neither this project's ``ganeti`` package nor
its tools in .venv/bin are picked up.

Debian's /etc/default/ganeti is used unchanged: ganeti-rapi listens on
127.0.0.1:5080 of the host with ``--require-authentication``, so every
request here carries the credentials of the RAPI user (admin, write access,
in /var/lib/ganeti/rapi/users).  The clients (Python client processes and
wrk) run in the host's network namespace, joined by setns(2) for the
measuring part, and reach the RAPI over the host's loopback, as
bench/rapi.py reaches ours over the machine's.  Ganeti's HTTP server does
not keep connections alive (it answers one request per connection, in a
forked child), so its clients reconnect, with a TLS handshake, for every
request; bench/rapi.py's "keep-alive" clients do so transparently.

The instances are diskless, on the fake hypervisor, with one NIC, not
installed and not started, as bench/rapi.py's: one ``OP_INSTANCE_CREATE``
per instance (what ``gnt-instance add -t diskless -o bench+default
--no-install --no-start --no-name-check --no-ip-check`` submits), all in one
job through ``gnt-debug submit-job``.  Creations on one node are serialised
by Ganeti's node lock anyway (20 parallel jobs were no faster than one).
Each takes about a second with 50 instances (a dozen forked ganeti-noded
RPCs, config writes) and longer as the configuration grows: 1.6 s at 270
instances, so the 950 more take half an hour or more.

Everything is torn down at the end, also on failure: daemon-util stop-all
in the host, then the bed (which stops whatever still runs in the host's
namespaces and removes them).
"""

import contextlib
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import rapi  # noqa: E402
from tests.cluster.bed import Bed  # noqa: E402

#: The environment of every Ganeti tool: nothing of this project's.
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
             "LANG": "C.UTF-8"}

OS_NAME = "bench"
BRIDGE = "br0"
USER, PASSWORD = "admin", "secret"
_CLONE_NEWNET = 0x40000000


def ganeti_version():
    """:return: the installed version of Debian's ``ganeti`` package."""
    result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "ganeti"],
                            capture_output=True, text=True)
    if result.returncode != 0 or not os.path.exists("/usr/sbin/gnt-cluster"):
        sys.exit("Debian's ganeti package is not installed: apt-get install "
                 "--no-install-recommends ganeti")
    return result.stdout.strip()


def in_host(host, argv, timeout=600):
    """Run a command inside the bed host; :return: its stdout (exit on
    failure)."""
    result = host.run(argv, cwd="/", env=CLEAN_ENV, timeout=timeout)
    if result.returncode != 0:
        sys.exit("%s failed (%d): %s%s" % (" ".join(argv), result.returncode,
                                           result.stdout, result.stderr))
    return result.stdout


def prepare_host(host):
    """Everything Ganeti needs in the host before ``gnt-cluster init``."""
    # The bed gives each host an empty /etc/default/ganeti; Ganeti runs
    # with the package's own.
    shutil.copyfile("/etc/default/ganeti",
                    host.root_paths["/etc/default/ganeti"])
    script = """
set -e
ln -s /usr/lib/ganeti/3.0 /etc/ganeti/lib
ln -s /usr/share/ganeti/3.0 /etc/ganeti/share
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run/lock
ip link add {bridge} type bridge
ip link set {bridge} up
d=/srv/ganeti/os/{os}
mkdir -p $d
echo 20 > $d/ganeti_api_version
echo default > $d/variants.list
: > $d/parameters.list
for s in create export import rename verify; do
    printf '#!/bin/sh\\nexit 0\\n' > $d/$s
    chmod 755 $d/$s
done
""".format(bridge=BRIDGE, os=OS_NAME)
    in_host(host, ["/bin/sh", "-c", script])


def init_cluster(host, name, tries=5):
    """``gnt-cluster init``; tried again when it finds the cluster IP "already
    active": its TCP check of that (unassigned) address now and then
    succeeded in a bed host just built, seen here but not explained."""
    argv = ["gnt-cluster", "init", "--enabled-hypervisors=fake",
            "--enabled-disk-templates=diskless", "--no-etc-hosts",
            "--master-netdev=eth0", "--nic-parameters=link=" + BRIDGE, name]
    for attempt in range(tries):
        result = host.run(argv, cwd="/", env=CLEAN_ENV, timeout=600)
        if result.returncode == 0:
            return
        if "Cluster IP already active" not in result.stdout + result.stderr:
            break
        print("gnt-cluster init: cluster IP seen active, trying again",
              file=sys.stderr)
        time.sleep(2)
    sys.exit("gnt-cluster init failed (%d): %s%s" % (
        result.returncode, result.stdout, result.stderr))


def add_instances(host, count, prefix):
    """Create C{count} diskless fake instances, in one job."""
    ops = [{"OP_ID": "OP_INSTANCE_CREATE", "instance_name": "%s%d" % (prefix, i),
            "mode": "create", "disk_template": "diskless", "disks": [],
            "nics": [{}], "os_type": OS_NAME + "+default",
            "no_install": True, "start": False, "hypervisor": "fake",
            "pnode": host.name, "name_check": False, "ip_check": False}
           for i in range(count)]
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir="/tmp") as f:
        # /tmp is the machine's, seen alike from inside the host.
        json.dump(ops, f)
        f.flush()
        os.chmod(f.name, 0o644)
        in_host(host, ["gnt-debug", "submit-job", f.name], timeout=3600)
    listed = in_host(host, ["gnt-instance", "list", "--no-headers", "-o",
                            "name"]).split()
    if len([name for name in listed if name.startswith(prefix)]) != count:
        sys.exit("expected %d instances named %s*, found %s"
                 % (count, prefix, listed))


@contextlib.contextmanager
def network_namespace(path):
    """Move this (single-threaded) process into the network namespace at
    C{path} for the duration, and back into its own afterwards.  Sockets
    and child processes made meanwhile belong to that namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    other = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(other, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns(%s)" % path)
        try:
            yield
        finally:
            if libc.setns(own, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(own)
        os.close(other)


def measure(host, target, with_thousand=True):
    """
    bench/rapi.py's figures, in its order and words; the 1,000-instance
    ones only if C{with_thousand} (creating them takes Ganeti half an hour).
    """
    print("GET /2/info, 50 instances: median %.1f ms"
          % (rapi.latency("/2/info", target=target) * 1000))
    print("GET /2/instances?bulk=1, 50 instances: median %.1f ms"
          % (rapi.latency("/2/instances?bulk=1", target=target) * 1000))
    rapi.print_new_connection_figures(target)
    print("GET /2/info, 16 keep-alive client processes: %.0f requests/s"
          % rapi.throughput("/2/info", target=target))
    rate = rapi.wrk_throughput("/2/info", target=target)
    if rate is not None:
        print("GET /2/info, wrk with 16 keep-alive connections: %.0f"
              " requests/s" % rate)
    print("GET /2/instances?bulk=1, 8 client processes: %.0f requests/s"
          % rapi.throughput("/2/instances?bulk=1", clients=8, target=target))
    print("RAPI tag add job, submission to success seen: median %.1f ms"
          % (rapi.tag_job_latency(target.headers, target=target) * 1000))
    sys.stdout.flush()
    if not with_thousand:
        return
    add_instances(host, 950, "more")
    print("GET /2/instances?bulk=1, 1000 instances: median %.1f ms"
          % (rapi.latency("/2/instances?bulk=1", count=21, target=target)
             * 1000))
    print("GET /2/instances, 1000 instances: median %.1f ms"
          % (rapi.latency("/2/instances", count=21, target=target) * 1000))


def main():
    version = ganeti_version()
    bed = Bed(1)
    bed.start()
    host = bed.hosts[0]
    try:
        prepare_host(host)
        init_cluster(host, bed.cluster_name)
        add_instances(host, 50, "inst")
        users = host.real_path("/var/lib/ganeti/rapi/users")
        with open(users, "w") as f:
            f.write("%s %s write\n" % (USER, PASSWORD))
        os.chmod(users, 0o644)
        print("Ganeti %s (Debian), RAPI on 127.0.0.1:5080 of a test bed host,"
              " --require-authentication" % version)
        target = rapi.Target("127.0.0.1", 5080,
                             rapi.basic_auth(USER, PASSWORD))
        with network_namespace("/run/netns/" + host.netns):
            measure(host, target,
                    with_thousand="--fifty-only" not in sys.argv[1:])
    finally:
        sys.stdout.flush()
        try:
            host.run(["/usr/lib/ganeti/daemon-util", "stop-all"], cwd="/",
                     env=CLEAN_ENV, timeout=120)
        finally:
            bed.teardown()


if __name__ == "__main__":
    main()
