# -*- test-case-name: tests.test_kvm_instances -*-
"""
Tests for L{ganeti.hypervisor.kvm.instances}: starting and failing to
start, with qemu and ``ip`` played by a L{ProcessClock}.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from ganeti.errors import HypervisorError
from ganeti.hypervisor.kvm.command import kvm_command
from ganeti.hypervisor.kvm.hypervisor import KvmHypervisor
from ganeti.hypervisor.registry import get_hypervisor
from ganeti.paths import Paths
from ganeti.testing.process import ProcessClock
from tests.kvm_fixtures import kvm_instance, runtime_files, short_root


class KvmProcessClockTests(SynchronousTestCase):
    """
    Starting and failing to start, with qemu and ``ip`` played by a
    L{ProcessClock}.
    """

    def setUp(self):
        self.clock = ProcessClock()
        self.paths = short_root(self)
        self.hv = KvmHypervisor(self.paths, self.clock)
        self.kernel = os.path.abspath(self.mktemp())
        with open(self.kernel, "wb"):
            pass
        self.hvparams = {"kvm_path": "/bin/sh", "kvm_flag": "disabled",
                         "kernel_path": self.kernel}

    def test_failed_start(self):
        """
        When qemu fails, the start fails with L{HypervisorError} carrying
        qemu's standard error, and no runtime file is left; the runtime
        file did exist while qemu started.
        """
        instance = kvm_instance("a.example.com", self.hvparams)
        disks = [{"path": "/nonexistent/disk0", "mode": "rw", "uuid": "u0"}]
        d = self.hv.start_instance(instance, disks)
        [qemu] = self.clock.processes
        self.assertEqual(qemu.argv, kvm_command(instance, disks,
                                                self.hv.layout, [], "tcg"))
        self.assertEqual(qemu.env["LC_ALL"], "C")
        self.assertTrue(os.path.exists(
            self.hv.layout.runtime_file("a.example.com")))
        qemu.feed_stderr(b"qemu-system-x86_64: -drive file=/nonexistent/"
                         b"disk0: Could not open '/nonexistent/disk0': No"
                         b" such file or directory\n")
        qemu.exit(1)
        error = self.failureResultOf(d, HypervisorError).value
        self.assertIn("Could not open '/nonexistent/disk0'", str(error))
        self.assertIn("a.example.com", str(error))
        self.assertEqual(runtime_files(self.hv), [])

    def test_routed_nic(self):
        """
        A routed NIC gets a tap device, brought up, with a host route to
        the NIC's IP in the link's table; the tap is recorded in the NIC
        files and runtime file before qemu starts.
        """
        nic = {"mac": "aa:00:00:12:34:56", "ip": "192.0.2.50",
               "mode": "routed", "link": "100", "vlan": "", "uuid": "n0"}
        instance = kvm_instance("a.example.com", self.hvparams, nics=[nic])
        d = self.hv.start_instance(instance, [])
        tuntap = self.clock.processes[0]
        tap = tuntap.argv[4]
        self.assertEqual(tuntap.argv,
                         ["ip", "tuntap", "add", "dev", tap, "mode", "tap"])
        self.assertLessEqual(len(tap), 15)
        tuntap.exit(0)
        up = self.clock.processes[1]
        self.assertEqual(up.argv, ["ip", "link", "set", "dev", tap, "up"])
        up.exit(0)
        route = self.clock.processes[2]
        self.assertEqual(route.argv, ["ip", "route", "replace", "192.0.2.50",
                                      "dev", tap, "table", "100"])
        route.exit(0)
        qemu = self.clock.processes[3]
        self.assertIn("tap,id=netdev0,ifname=%s,script=no,downscript=no"
                      % (tap,), qemu.argv)
        nic_file = os.path.join(self.hv.layout.instance_nic_dir(
            "a.example.com"), "0")
        with open(nic_file) as f:
            self.assertEqual(f.read(), tap)
        qemu.exit(1)
        self.failureResultOf(d, HypervisorError)
        self.assertEqual(runtime_files(self.hv), [])

    def test_tap_failure(self):
        """
        A tap device that cannot be made fails the start before qemu runs.
        """
        nic = {"mac": "aa:00:00:12:34:56", "mode": "routed", "link": ""}
        d = self.hv.start_instance(kvm_instance(
            "a.example.com", self.hvparams, nics=[nic]), [])
        self.clock.processes[0].feed_stderr(b"ioctl(TUNSETIFF): EPERM\n")
        self.clock.processes[0].exit(1)
        error = self.failureResultOf(d, HypervisorError).value
        self.assertIn("EPERM", str(error))
        self.assertEqual(len(self.clock.processes), 1)
        self.assertEqual(runtime_files(self.hv), [])

    def test_invalid_parameters(self):
        """
        Invalid parameters fail the start before anything runs.
        """
        d = self.hv.start_instance(kvm_instance(
            "a.example.com", dict(self.hvparams, nic_type="virtio")), [])
        self.failureResultOf(d, HypervisorError)
        self.assertEqual(self.clock.processes, [])

    def test_stale_pid_file(self):
        """
        A pid file naming a process that is not this instance's qemu (a
        recycled pid) does not make the instance running.
        """
        with open(self.hv.layout.pid_file("a.example.com"), "w") as f:
            f.write("%d\n" % os.getpid())
        self.assertEqual(self.successResultOf(self.hv.list_instances()), [])
        self.assertIsNone(self.successResultOf(
            self.hv.get_instance_info("a.example.com")))
        self.failureResultOf(self.hv.stop_instance("a.example.com"),
                             HypervisorError)
        # The failed stop cleaned the leftover up.
        self.assertEqual(runtime_files(self.hv), [])

    def test_socket_path_too_long(self):
        """
        A node root so deep that the sockets cannot be created fails
        clearly, before qemu runs.
        """
        hv = KvmHypervisor(Paths(os.path.abspath(self.mktemp()) + "/" +
                                 "x" * 100), self.clock)
        error = self.failureResultOf(hv.start_instance(
            kvm_instance("a.example.com", self.hvparams), []),
            HypervisorError).value
        self.assertIn("too long", str(error))
        self.assertEqual(self.clock.processes, [])

    def test_registry(self):
        """
        The registry builds a L{KvmHypervisor} for ``kvm``.
        """
        hv = get_hypervisor("kvm", self.paths, self.clock)
        self.assertIsInstance(hv, KvmHypervisor)
        self.assertEqual(hv.layout.root, self.hv.layout.root)
