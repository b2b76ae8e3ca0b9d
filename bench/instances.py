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
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, TOP)
sys.path.insert(0, HERE)
from common import compile_tools, private_root, run, timed  # noqa: E402






def add_many(root, count, prefix):
    """Create C{count} diskless fake instances through SubmitManyJobs."""
    from ganeti.cli.jobs import poll_job, SilentReporter
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


OS_CREATE = """#!/bin/sh
printf 'BENCH %s\\n' "$INSTANCE_NAME" | dd of="$DISK_0_PATH" conv=notrunc 2>/dev/null
"""


def write_os(root):
    """A minimal API 20 OS definition, so instances get a create script."""
    path = os.path.join(root, "srv/ganeti/os/bench")
    os.makedirs(path)
    for name, text in (("ganeti_api_version", "20\n"), ("variants.list", "default\n"),
                       ("parameters.list", ""), ("create", OS_CREATE),
                       ("export", "#!/bin/sh\n"), ("import", "#!/bin/sh\n"),
                       ("rename", "#!/bin/sh\n"), ("verify", "#!/bin/sh\n")):
        with open(os.path.join(path, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(path, name), 0o755)


def serial_wait(path, text, timeout=60.0):
    """:return: (seconds to the first byte, seconds to C{text}) on a console."""
    import socket
    start = time.perf_counter()
    deadline = start + timeout
    sock = socket.socket(socket.AF_UNIX)
    while True:
        try:
            sock.connect(path)
            break
        except OSError:
            if time.perf_counter() > deadline:
                raise
            time.sleep(0.01)
    data, first = b"", None
    while text not in data:
        sock.settimeout(max(0.01, deadline - time.perf_counter()))
        chunk = sock.recv(65536)
        if not chunk:
            break
        if first is None:
            first = time.perf_counter() - start
        data += chunk
    sock.close()
    return first, time.perf_counter() - start


def kvm_figures(env, root):
    try:
        from ganeti.testing.guest import build_guest_image
        guest = build_guest_image("/tmp/ganeti-test-guest")
    except Exception as e:
        print("kvm: skipped (%s)" % e)
        return
    write_os(root)
    hv = ("kvm:kernel_path=%s,initrd_path=%s,kernel_args=%s,kvm_flag=disabled,"
          "serial_console=true" % (guest["kernel"], guest["initrd"],
                                   guest["kernel_args"].replace(" ", "\\ ")))
    adds, lines, firsts = [], [], []
    for i in range(3):
        name = "kvm%d" % i
        start = time.perf_counter()
        run(env, "gnt-instance", "add", "-t", "file", "--disk", "0:size=64M",
            "-o", "bench+default", "-H", hv, "--no-nics", "--no-name-check",
            "--no-ip-check", name)
        adds.append(time.perf_counter() - start)
        first, boot = serial_wait(os.path.join(
            root, "var/run/ganeti/kvm-hypervisor/ctrl/%s.serial" % name),
            guest["boot_line"].encode())
        firsts.append(adds[-1] + (first or 0))
        lines.append(adds[-1] + boot)
        run(env, "gnt-instance", "remove", "-f", name)
    print("kvm (TCG) instance with a 64 MiB file disk, add to running: median"
          " %.3f s" % statistics.median(adds))
    print("kvm (TCG) add to first serial console byte: median %.3f s"
          % statistics.median(firsts))
    print("kvm (TCG) add to the guest's boot line on the serial console:"
          " median %.3f s" % statistics.median(lines))




def main():
    compile_tools()
    rounds = int(os.environ.get("BENCH_ROUNDS", "15"))
    many = int(os.environ.get("BENCH_INSTANCES", "1000"))
    root, env = private_root("gnt-ib-", "127.0.100.3 bench-inst.example.com")
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
        kvm_figures(env, root)
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
