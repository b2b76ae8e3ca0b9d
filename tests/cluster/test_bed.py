# -*- test-case-name: tests.cluster.test_bed -*-
"""
Tests for L{tests.cluster.bed}: the hosts are really separate (names,
directories, keys), really networked (ping, ssh), can be cut off, and leave
nothing behind.

These need root and the tools of C{tests/install-deps.sh}; without them
every test skips with the reason.  All traffic stays on the beds' own
bridges (198.18.0.0/15 addresses).
"""

import os
import signal
import subprocess
import sys
import time

from twisted.internet import reactor
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from ganeti.process import run_command
from tests.cluster import bed as bedmodule
from tests.cluster.bed import STATE_DIR, Bed, BedError, bed_available


def _require_bed():
    """
    Skip the calling test when this machine cannot build a bed.
    """
    reason = bed_available()
    if reason is not None:
        raise SkipTest(reason)


def _start_bed(testcase, count=3, **kwargs):
    """
    :return: a started L{Bed} torn down when C{testcase} ends.
    """
    _require_bed()
    bed = Bed(count, **kwargs)
    testcase.addCleanup(bed.teardown)
    return bed.start()


def _resources(bed):
    """
    :return: what a bed made that must be gone after its teardown: the
        interface and namespace names, the C{(pid, start)} of its holders
        and sshds, its workdir and state file.
    """
    processes = [tuple(h["holder"]) for h in bed._state["hosts"]
                 if h["holder"]]
    for host in bed.hosts:
        pid = bedmodule._read_pid(host.sshd_pidfile)
        if pid is not None:
            processes.append((pid, bedmodule._start_time(pid)))
    return {
        "links": [bed.bridge] + [h.veth for h in bed.hosts],
        "netns": [h.netns for h in bed.hosts],
        "processes": processes,
        "workdir": bed.workdir,
        "state": os.path.join(STATE_DIR, bed.prefix + ".json"),
    }


class _GoneMixin:
    """
    An assertion that a bed left nothing behind.
    """

    def assert_gone(self, resources):
        """
        Fail unless none of C{resources} (from L{_resources}) remains.
        """
        links = bedmodule._links()
        self.assertEqual([n for n in resources["links"] if n in links], [])
        netns = bedmodule._netns_names()
        self.assertEqual([n for n in resources["netns"] if n in netns], [])
        self.assertEqual(
            [p for p in resources["processes"] if bedmodule._alive(*p)], [])
        self.assertFalse(os.path.exists(resources["workdir"]))
        self.assertFalse(os.path.exists(resources["state"]))


class HostTests(SynchronousTestCase):
    """
    Tests for the hosts of a running three-host L{Bed}.
    """

    def setUp(self):
        if bedmodule._which("ping") is None:
            raise SkipTest("these tests need ping (iputils-ping)")
        self.bed = _start_bed(self)
        self.node1, self.node2, self.node3 = self.bed.hosts

    def test_names_and_addresses(self):
        """
        Hosts are node1..node3 in the bed's domain, on .11 upwards of a
        198.18.x.0/24 subnet, and can be looked up by short or full name.
        """
        self.assertEqual([h.name for h in self.bed.hosts],
                         ["node1.cluster.test", "node2.cluster.test",
                          "node3.cluster.test"])
        self.assertTrue(self.bed.subnet.startswith("198.18."))
        self.assertEqual(self.node2.ip, self.bed.net_prefix + ".12")
        self.assertIs(self.bed["node3"], self.node3)
        self.assertIs(self.bed["node3.cluster.test"], self.node3)

    def test_hostname(self):
        """
        Each host has its own hostname, in its UTS namespace and in its
        C{/etc/hostname}.
        """
        for host in self.bed.hosts:
            self.assertEqual(host.run(["hostname"]).stdout.strip(), host.name)
            self.assertEqual(host.run(["cat", "/etc/hostname"]).stdout,
                             host.name + "\n")

    def test_private_directories(self):
        """
        A file written to C{/var/lib/ganeti} of one host is not visible on
        another, and shows up under that host's L{Host.root_paths}.
        """
        result = self.node1.run(
            ["sh", "-c", "echo one > /var/lib/ganeti/marker"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.node2.run(["ls", "/var/lib/ganeti"]).stdout, "")
        real = os.path.join(self.node1.root_paths["/var/lib/ganeti"],
                            "marker")
        with open(real) as f:
            self.assertEqual(f.read(), "one\n")
        self.assertEqual(self.node1.real_path("/var/lib/ganeti/marker"), real)
        self.assertFalse(os.path.exists("/var/lib/ganeti/marker"))

    def test_private_ssh_keys(self):
        """
        Every host has its own root key pair in C{/root/.ssh}.
        """
        keys = {host.run(["cat", "/root/.ssh/id_ed25519.pub"]).stdout
                for host in self.bed.hosts}
        self.assertEqual(len(keys), 3)

    def test_etc_hosts(self):
        """
        C{/etc/hosts} of each host resolves every host and the cluster name.
        """
        result = self.node2.run(["getent", "hosts", "node3.cluster.test",
                                 self.bed.cluster_name])
        self.assertEqual(result.stdout.split(),
                         [self.node3.ip, "node3.cluster.test", "node3",
                          self.bed.cluster_ip, "cluster.cluster.test",
                          "cluster"])

    def test_ping_by_name(self):
        """
        Hosts reach each other by name.
        """
        for source, target in [(self.node1, self.node2),
                               (self.node3, self.node1)]:
            result = source.run(["ping", "-c1", "-W1", target.name])
            self.assertEqual(result.returncode, 0, result.stdout)

    def test_ssh(self):
        """
        root on one host runs a command on another with a plain
        C{ssh root@name}: no password, no host key prompt.
        """
        result = self.node1.run(
            ["ssh", "root@node2.cluster.test", "hostname; cat /etc/hostname"])
        self.assertEqual((result.returncode, result.stdout, result.stderr),
                         (0, "node2.cluster.test\nnode2.cluster.test\n", ""))
        result = self.node3.ssh(self.node1, ["echo", "a b"])
        self.assertEqual((result.returncode, result.stdout), (0, "a b\n"))

    def test_cut_link(self):
        """
        After L{Host.cut_link} ping and ssh to the host fail within their
        timeouts while the other hosts still talk; after
        L{Host.restore_link} it answers again.
        """
        self.node3.cut_link()
        started = time.monotonic()
        ping = self.node1.run(["ping", "-c1", "-W1", self.node3.name])
        ssh = self.node1.ssh(self.node3, ["true"], connect_timeout=1)
        self.assertNotEqual(ping.returncode, 0)
        self.assertEqual(ssh.returncode, 255)
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(
            self.node1.run(["ping", "-c1", "-W1", self.node2.name]).returncode,
            0)
        self.node3.restore_link()
        deadline = time.monotonic() + 5
        while True:
            ping = self.node1.run(["ping", "-c1", "-W1", self.node3.name])
            if ping.returncode == 0 or time.monotonic() > deadline:
                break
        self.assertEqual(ping.returncode, 0, ping.stdout)
        self.assertEqual(self.node1.ssh(self.node3, ["hostname"]).stdout,
                         "node3.cluster.test\n")

    def test_run_cwd(self):
        """
        C{cwd} is a directory inside the host.
        """
        self.node2.run(["touch", "/srv/ganeti/here"])
        self.assertEqual(
            self.node2.run(["sh", "-c", "pwd; ls"], cwd="/srv/ganeti").stdout,
            "/srv/ganeti\nhere\n")

    def test_pidfile_kill(self):
        """
        L{Host.pidfile_kill} signals the host's process named by an in-host
        pid file, but not a process outside the host.
        """
        proc = self.node2.popen(["sleep", "60"])
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        self.node2.run(["sh", "-c",
                        "echo %d > /var/run/ganeti/x.pid" % proc.pid])
        self.assertEqual(
            self.node2.pidfile_kill("/var/run/ganeti/x.pid", signal.SIGKILL),
            proc.pid)
        self.assertEqual(proc.wait(timeout=5), -signal.SIGKILL)

        outside = subprocess.Popen(["sleep", "60"])
        self.addCleanup(outside.wait)
        self.addCleanup(outside.kill)
        self.node2.run(["sh", "-c",
                        "echo %d > /var/run/ganeti/y.pid" % outside.pid])
        self.assertIsNone(self.node2.pidfile_kill("/var/run/ganeti/y.pid"))
        self.assertIsNone(outside.poll())
        self.assertIsNone(self.node2.pidfile_kill("/var/run/ganeti/none"))


class SpawnTests(TestCase):
    """
    L{Host.spawn_args} with the real reactor, as cluster tests driving
    Twisted code will use it.
    """

    def test_run_command(self):
        """
        L{run_command} runs a command inside the host.
        """
        bed = _start_bed(self, count=1, sshd=False)
        d = run_command(reactor, bed[0].spawn_args(["hostname"]), timeout=10)

        def check(result):
            self.assertEqual((result.exit_code, result.stdout),
                             (0, b"node1.cluster.test\n"))
        return d.addCallback(check)


class TeardownTests(_GoneMixin, SynchronousTestCase):
    """
    Tests for L{Bed.teardown}, L{Bed.start}'s clean-up on failure and
    L{bedmodule.cleanup_stale}.
    """

    def test_teardown(self):
        """
        Teardown removes bridge, veths, namespaces, processes (including
        ones started inside the hosts), workdir and state file, and can be
        repeated.
        """
        bed = _start_bed(self)
        stray = bed[1].popen(["sleep", "60"])
        resources = _resources(bed)
        resources["processes"].append(
            (stray.pid, bedmodule._start_time(stray.pid)))
        self.assertEqual(len(resources["processes"]), 7)
        bed.teardown()
        stray.wait(timeout=5)
        self.assert_gone(resources)
        bed.teardown()

    def test_context_manager(self):
        """
        Leaving the C{with} block tears the bed down, even on an error.
        """
        _require_bed()
        with self.assertRaises(ZeroDivisionError):
            with Bed(1, sshd=False) as bed:
                resources = _resources(bed)
                1 / 0
        self.assert_gone(resources)

    def test_failed_start(self):
        """
        When a step of L{Bed.start} fails, what was built is removed and
        the error says why.
        """
        _require_bed()
        tools = bedmodule._tools()
        self.patch(bedmodule, "_tools", lambda: dict(tools, sshd="/bin/false"))
        bed = Bed(2)
        self.assertRaises(BedError, bed.start)
        self.assert_gone(_resources(bed))

    def test_kept_workdir(self):
        """
        A workdir given by the caller survives the teardown (for its logs).
        """
        workdir = os.path.abspath(self.mktemp())
        bed = _start_bed(self, count=1, workdir=workdir)
        bed.teardown()
        self.assertTrue(os.path.exists(os.path.join(workdir, "node1",
                                                    "sshd", "sshd.log")))

    def test_stale_cleanup(self):
        """
        The leftovers of a bed whose process was killed are removed by
        L{bedmodule.cleanup_stale}.
        """
        _require_bed()
        code = ("import time\n"
                "from tests.cluster.bed import Bed\n"
                "bed = Bed(2).start()\n"
                "print(bed.prefix, flush=True)\n"
                "time.sleep(60)\n")
        child = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        self.addCleanup(child.wait)
        self.addCleanup(child.kill)
        prefix = child.stdout.readline().strip()
        child.stdout.close()
        self.assertTrue(prefix.startswith(bedmodule.PREFIX), prefix)
        with open(os.path.join(STATE_DIR, prefix + ".json")) as f:
            state = bedmodule.json.load(f)
        processes = [tuple(h["holder"]) for h in state["hosts"]]
        for host in state["hosts"]:
            pid = bedmodule._read_pid(host["sshd_pidfile"])
            processes.append((pid, bedmodule._start_time(pid)))
        child.kill()
        child.wait()
        self.assertTrue(all(bedmodule._alive(*p) for p in processes))
        self.assertIn(prefix, bedmodule.cleanup_stale())
        self.assert_gone({
            "links": [state["bridge"]] + [h["veth"] for h in state["hosts"]],
            "netns": [h["netns"] for h in state["hosts"]],
            "processes": processes,
            "workdir": state["workdir"],
            "state": os.path.join(STATE_DIR, prefix + ".json"),
        })
