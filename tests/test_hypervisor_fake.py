# -*- test-case-name: tests.test_hypervisor_fake -*-
"""
Tests for L{ganeti.hypervisor.fake}, L{ganeti.hypervisor.interfaces} and
L{ganeti.hypervisor.registry}.
"""

import os
import shutil

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from ganeti import constants
from ganeti.errors import HypervisorError
from ganeti.hypervisor.fake import FakeHypervisor
from ganeti.hypervisor.interfaces import check_instance_name, linux_node_info
from ganeti.hypervisor.registry import SUPPORTED, get_hypervisor
from ganeti.paths import Paths
from tests.hypervisor_mixin import IHypervisorTestsMixin

_MEMINFO = b"""MemTotal:        4194304 kB
MemFree:         1048576 kB
MemAvailable:    3000000 kB
Buffers:          524288 kB
Cached:           524288 kB
Active:           262144 kB
"""

_CPUINFO = b"""processor\t: 0
physical id\t: 0
core id\t\t: 0

processor\t: 1
physical id\t: 0
core id\t\t: 1

processor\t: 2
physical id\t: 1
core id\t\t: 0
"""


def fake_instance(name, maxmem=256, vcpus=2):
    """
    :return: an instance dict for the fake hypervisor.
    """
    return {"name": name, "uuid": "uuid-" + name,
            "hvparams": dict(constants.HV_DEFAULTS["fake"]),
            "beparams": dict(constants.BE_DEFAULTS, maxmem=maxmem,
                             minmem=maxmem, vcpus=vcpus),
            "nics": [], "network_port": None}


class FakeHypervisorContractTests(IHypervisorTestsMixin, SynchronousTestCase):
    """
    The shared contract, run against L{FakeHypervisor}.
    """

    def make_hypervisor(self):
        self.paths = Paths(self.mktemp())
        return FakeHypervisor(self.paths, Clock())

    def make_instance(self, name):
        return fake_instance(name)

    def plugged_devices(self, hv, name):
        return hv.plugged_devices(name)

    def finish(self, d):
        return self.successResultOf(d)


class FakeHypervisorTests(SynchronousTestCase):
    """
    Behaviour particular to the fake hypervisor.
    """

    def setUp(self):
        self.paths = Paths(self.mktemp())
        meminfo = self.mktemp()
        cpuinfo = self.mktemp()
        with open(meminfo, "wb") as f:
            f.write(_MEMINFO)
        with open(cpuinfo, "wb") as f:
            f.write(_CPUINFO)
        self.hv = FakeHypervisor(self.paths, Clock(), meminfo=meminfo,
                                 cpuinfo=cpuinfo)

    def test_state_file(self):
        """
        A running instance is a file in ``<run_dir>/fake-hypervisor/``
        with Ganeti's three lines: id 0, memory in MiB, virtual CPUs.
        """
        self.successResultOf(self.hv.start_instance(
            fake_instance("web.example.com", maxmem=512, vcpus=3), []))
        path = os.path.join(self.paths.run_dir, "fake-hypervisor",
                            "web.example.com")
        with open(path) as f:
            self.assertEqual(f.read(), "0\n512\n3\n")
        info = self.successResultOf(self.hv.get_instance_info(
            "web.example.com"))
        self.assertEqual(info["id"], 0)
        self.successResultOf(self.hv.stop_instance("web.example.com"))
        self.assertFalse(os.path.exists(path))

    def test_node_info(self):
        """
        Node info comes from the meminfo and cpuinfo files, and the memory
        of running fake instances is not free.
        """
        info = self.successResultOf(self.hv.get_node_info())
        self.assertEqual(info, {
            "memory_total": 4096, "memory_free": 2048, "memory_dom0": 256,
            "cpu_total": 3, "cpu_dom0": 3, "cpu_nodes": info["cpu_nodes"],
            "cpu_sockets": 2,
            "hv_version": [int(v) for v in
                           constants.RELEASE_VERSION.split(".")]})
        self.successResultOf(self.hv.start_instance(
            fake_instance("a.example.com", maxmem=512), []))
        info = self.successResultOf(self.hv.get_node_info())
        self.assertEqual(info["memory_free"], 2048 - 512)

    def test_node_info_unreadable(self):
        """
        A missing /proc file is a L{HypervisorError}.
        """
        self.assertRaises(HypervisorError, linux_node_info,
                          meminfo=self.mktemp())

    def test_console_message(self):
        """
        The console is a message, Ganeti's wording.
        """
        self.assertEqual(
            self.hv.get_console(fake_instance("a.example.com")),
            {"instance": "a.example.com", "kind": "msg",
             "message": "Console not available for fake hypervisor"})

    def test_verify_missing_directory(self):
        """
        Verify reports a missing state directory.
        """
        shutil.rmtree(self.hv.state_dir)
        problem = self.successResultOf(self.hv.verify())
        self.assertIn(self.hv.state_dir, problem)

    def test_check_parameters(self):
        """
        ``migration_mode`` must be ``live`` or ``non-live``.
        """
        self.hv.check_parameters({"migration_mode": "non-live"})
        self.assertRaises(HypervisorError, self.hv.check_parameters,
                          {"migration_mode": "teleport"})

    def test_start_with_bad_parameters(self):
        """
        Bad parameters fail the start and leave no state file.
        """
        instance = fake_instance("a.example.com")
        instance["hvparams"]["migration_mode"] = "teleport"
        self.failureResultOf(self.hv.start_instance(instance, []),
                             HypervisorError)
        self.assertEqual(self.successResultOf(self.hv.list_instances()), [])

    def test_temporary_files_ignored(self):
        """
        Stray temporary files of interrupted writes are not instances.
        """
        with open(os.path.join(self.hv.state_dir, ".x.1234.tmp"), "w"):
            pass
        self.assertEqual(self.successResultOf(self.hv.list_instances()), [])


class CheckInstanceNameTests(SynchronousTestCase):
    """
    Tests for L{check_instance_name}.
    """

    def test_valid(self):
        """
        Host names are fine.
        """
        check_instance_name("inst1.example.com")

    def test_invalid(self):
        """
        Empty names, slashes, NUL, leading dots and non-strings are not.
        """
        for name in ("", "a/b", "a\0b", ".a", None, b"a"):
            self.assertRaises(HypervisorError, check_instance_name, name)


class RegistryTests(SynchronousTestCase):
    """
    Tests for L{get_hypervisor}.
    """

    def test_fake(self):
        """
        ``fake`` gives a L{FakeHypervisor} on the given paths.
        """
        paths = Paths(self.mktemp())
        hv = get_hypervisor("fake", paths, Clock())
        self.assertIsInstance(hv, FakeHypervisor)
        self.assertTrue(hv.state_dir.startswith(paths.run_dir))

    def test_unknown(self):
        """
        Unknown and unimplemented names fail with L{HypervisorError}
        naming what is supported.
        """
        for name in ("xen-pvm", "nope"):
            error = self.assertRaises(HypervisorError, get_hypervisor, name,
                                      Paths(self.mktemp()), Clock())
            self.assertIn(", ".join(SUPPORTED), str(error))

    def test_config_side_agrees(self):
        """The config refuses exactly the hypervisors no provider runs."""
        self.assertEqual(SUPPORTED, constants.IMPLEMENTED_HYPERVISORS)
