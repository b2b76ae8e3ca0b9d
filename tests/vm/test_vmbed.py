"""
The VM bed itself, and a cluster on it: two guests with real LVM, a
cluster initialised on one and the other added over ssh, a ``plain``
instance whose volume is a real logical volume.
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti.testing import vmbed
from tests.scenarios import TwoNodeScenarios
from tests.vm.beds import module_bed


_shared = {}


def shared_bed():
    """:return: this module's two-guest bed with its cluster."""
    return module_bed(_shared, "test-")


class ScenarioTests(TwoNodeScenarios, SynchronousTestCase):
    """The scenarios both beds run, here on real guests."""

    def setUp(self):
        self.bed = shared_bed()

    def gnt(self, index, *argv):
        return self.bed[index].run(list(argv))

    def node_name(self, index):
        return self.bed[index].name


class VmBedTests(SynchronousTestCase):
    """Two guests, booted once for every test here."""

    def setUp(self):
        self.bed = shared_bed()

    def run_ok(self, index, command):
        """:return: the output of C{command} in guest C{index}; it succeeded."""
        result = self.bed[index].run(command)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_kernel_storage(self):
        """Each guest has DRBD 8.4, device-mapper and its volume group."""
        for index in (1, 2):
            self.assertIn("version: 8.4", self.run_ok(index, "cat /proc/drbd"))
            self.assertTrue(self.run_ok(
                index, "test -c /dev/mapper/control && echo ok"))
            self.assertEqual(self.run_ok(
                index, "vgs --noheadings -o vg_name").split(), [vmbed.VG_NAME])

    def test_networks(self):
        """The guests reach each other by name and on both networks."""
        guest2 = self.bed[2]
        for address in (guest2.name, guest2.secondary_ip):
            self.run_ok(1, ["ping", "-c", "1", "-W", "5", address])
        self.assertEqual(self.run_ok(1, ["ssh", "-o", "BatchMode=yes",
                                         guest2.name, "hostname"]).strip(),
                         guest2.name)

    def test_exit_status(self):
        """A command's exit status and output come back from the guest."""
        result = self.bed[1].run("echo out; echo err >&2; exit 3")
        self.assertEqual((result.returncode, result.stdout, result.stderr),
                         (3, "out\n", "err\n"))

    def test_cluster_nodes(self):
        """Both guests are nodes; their LVM space shows in the node list."""
        out = self.run_ok(1, ["gnt-node", "list", "--no-headers", "-o",
                              "name,dtotal,dfree"])
        rows = [line.split() for line in out.splitlines()]
        self.assertEqual([row[0] for row in rows],
                         [self.bed[1].name, self.bed[2].name])
        for row in rows:
            self.assertEqual(row[1], "24.0G")

    def test_plain_instance(self):
        """
        A ``plain`` instance's disk is a logical volume named as Ganeti
        names it (``<disk uuid>.disk0``) on its node; removing the
        instance removes it.
        """
        self.run_ok(1, ["gnt-instance", "add", "-t", "plain", "--disk",
                        "0:size=64m", "-o", "none", "--no-install",
                        "--no-name-check", "--no-ip-check",
                        "-n", self.bed[2].name, "plain1.example.com"])
        volumes = self.run_ok(2, "lvs --noheadings -o lv_name,lv_size"
                                 " --units m " + vmbed.VG_NAME).split()
        self.assertEqual(len(volumes), 2, volumes)
        self.assertTrue(volumes[0].endswith(".disk0"))
        self.assertEqual(volumes[1], "64.00m")
        self.run_ok(1, ["gnt-instance", "remove", "-f", "plain1.example.com"])
        self.assertEqual(self.run_ok(2, "lvs --noheadings " + vmbed.VG_NAME),
                         "")

    def test_power_cycle(self):
        """
        A guest powered off hard comes back with its volume group, and its
        node daemon answers again (it starts at boot, as on Debian).
        """
        guest = self.bed[2]
        guest.stop()
        self.assertFalse(guest.running())
        guest.start()
        guest.wait_ready()
        self.assertEqual(self.run_ok(2, "vgs --noheadings -o vg_name").split(),
                         [vmbed.VG_NAME])
        self.run_ok(2, "ganeti-daemon status")

    def test_storage_contract_in_guest(self):
        """
        The storage contract tests that skip on this machine (no
        device-mapper) run, and pass, inside a guest: the ``plain``
        provider on a real volume group.
        """
        result = self.bed[1].run(
            "cd /opt/ganeti/src && python3 -m twisted.trial"
            " tests.test_storage.PlainContractTests"
            " tests.test_storage.RealRepairTests", timeout=900)
        self.assertEqual(result.returncode, 0, result.stdout[-3000:])
        self.assertNotIn("[SKIPPED]", result.stdout)
        self.assertIn("PASSED", result.stdout)
