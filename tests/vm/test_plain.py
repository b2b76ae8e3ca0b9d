# -*- test-case-name: tests.vm.test_plain -*-
"""
The ``plain`` (LVM) disk template for real: a two-node cluster on the VM
bed's guests (real kernels, real LVM), driven through the ``gnt-*`` tools
as an operator would, with a small OS definition (``marker``: its create
script writes the instance's name at the start of the first disk, export
and import copy a disk to and from their standard streams).

The bed is this module's own (in its own directory below
L{vmbed.CACHE_DIR}), booted once for all its tests.
"""

import re
import subprocess
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from ganeti.testing import vmbed
from tests.vm.beds import GuestCommandsMixin, module_bed

VG = vmbed.VG_NAME
OS_NAME = "marker"

#: The marker OS, written into every guest's OS search path.
_OS_SCRIPTS = {
    "create": "#!/bin/sh\nprintf 'marker:%s\\n' \"$INSTANCE_NAME\" |"
              " dd of=\"$DISK_0_PATH\" conv=notrunc status=none\n",
    "export": "#!/bin/sh\nexec cat \"$EXPORT_DEVICE\"\n",
    "import": "#!/bin/sh\nexec dd of=\"$IMPORT_DEVICE\" conv=notrunc"
              " status=none\n",
    "rename": "#!/bin/sh\nexit 0\n",
    "verify": "#!/bin/sh\nexit 0\n",
}

_shared = {}

#: The real-LVM unit tests, run in guest 2 while the cluster tests run
#: (guests spend most of their time waiting on each other).
_GUEST_UNIT_TESTS = ("cd /opt/ganeti/src && python3 -m twisted.trial"
                     " tests.test_storage.RealPlainTests")


def _install_os_command():
    """:return: a shell command writing the marker OS into a guest."""
    directory = "/srv/ganeti/os/" + OS_NAME
    lines = ["set -e", "mkdir -p %s" % directory,
             "echo 20 > %s/ganeti_api_version" % directory,
             ": > %s/parameters.list" % directory]
    for name, text in sorted(_OS_SCRIPTS.items()):
        lines.append("cat > %s/%s <<'EOF'\n%sEOF" % (directory, name, text))
        lines.append("chmod 755 %s/%s" % (directory, name))
    return "\n".join(lines)


def _prepare(bed):
    """Install the marker OS, then start the real-LVM unit tests."""
    for guest in bed.guests:
        guest.run(_install_os_command(), check=True)
    output = tempfile.TemporaryFile(mode="w+")
    _shared["unit_tests"] = (subprocess.Popen(
        bed[2].ssh_args(_GUEST_UNIT_TESTS), stdin=subprocess.DEVNULL,
        stdout=output, stderr=subprocess.STDOUT, text=True), output)


def shared_bed():
    """
    :return: the two-guest bed with its cluster and the marker OS, booted
        on first use and removed when the test run ends.
    """
    return module_bed(_shared, "plain-", _prepare)


class PlainTests(GuestCommandsMixin, SynchronousTestCase):
    """``plain`` instances, volumes and node storage on real LVM."""

    def setUp(self):
        self.bed = shared_bed()
        self.node1, self.node2 = self.bed[1].name, self.bed[2].name

    def add(self, name, node, size="64m", *extra):
        """Create a ``plain`` instance with the marker OS."""
        self.addCleanup(self.bed[1].run, ["gnt-instance", "remove", "-f",
                                          name])
        return self.gnt("gnt-instance", "add", "-t", "plain", "-o", OS_NAME,
                        "--disk", "0:size=%s" % size, "-n", node,
                        "--no-name-check", "--no-ip-check", *extra + (name,))

    def volumes(self, index, vg=VG):
        """:return: C{{lv name: (size MiB, tags)}} of a guest's VG."""
        out = self.run_ok(index, "lvs --noheadings --units m --nosuffix"
                                 " --separator '|' -o lv_name,lv_size,lv_tags "
                                 + vg)
        found = {}
        for line in out.split():
            name, size, tags = line.split("|")
            found[name] = (float(size), tags)
        return found

    def instance_volume(self, index, name):
        """:return: the name of the one LV tagged with instance C{name}."""
        [lv] = [lv for lv, (_, tags) in self.volumes(index).items()
                if tags == "originstname+" + name]
        return lv

    def test_instance_life(self):
        """
        ``gnt-instance add -t plain`` (the seed's command) makes a volume
        named as Ganeti names it, tagged with the instance, which the OS
        installs onto; the instance runs (fake hypervisor);
        ``activate-disks`` prints the device path; ``grow-disk`` extends
        the volume while the instance runs; removing the instance removes
        the volume.
        """
        name = "life.example.com"
        self.add(name, self.node1)
        lv = self.instance_volume(1, name)
        self.assertRegex(lv, r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"
                             r"\.disk0$")
        disk_uuid = self.gnt("gnt-instance", "list", "--no-headers", "-o",
                             "disk.uuids", name).strip()
        self.assertNotIn(lv.split(".")[0], disk_uuid)
        self.assertEqual(self.run_ok(1, "head -n 1 /dev/%s/%s" % (VG, lv)),
                         "marker:%s\n" % name)
        self.assertEqual(self.gnt("gnt-instance", "activate-disks", name),
                         "%s:disk/0:/dev/%s/%s\n" % (self.node1, VG, lv))
        out = self.gnt("gnt-instance", "grow-disk", name, "0", "32m")
        self.assertIn("Growing disk 0 of instance '%s' by 32M to 96M" % name,
                      out)
        self.assertEqual(self.volumes(1)[lv][0], 96.0)
        self.assertEqual(self.gnt("gnt-instance", "list", "--no-headers",
                                  "-o", "status,disk.sizes", name).split(),
                         ["running", "96"])
        self.gnt("gnt-instance", "remove", "-f", name)
        self.assertNotIn(lv, self.volumes(1))

    def test_verify_and_disks(self):
        """
        Cluster verify warns about a volume nobody owns unless
        ``reserved_lvs`` names it, and reports an instance's missing
        volume (an error); ``verify-disks`` lists it with its device path
        and ``recreate-disks`` makes it again.
        """
        name = "lost.example.com"
        self.add(name, self.node2, "32m", "--no-start")
        self.assertEqual(self.verify_findings(), (0, []))
        self.run_ok(1, "lvcreate -q -Wn -L4m -n stray %s" % VG)
        self.addCleanup(self.bed[1].run, "lvremove -qf %s/stray" % VG)
        self.assertEqual(self.verify_findings(), (0, [
            "WARNING:ENODEORPHANLV:node:%s:volume %s/stray is unknown"
            % (self.node1, VG)]))
        self.gnt("gnt-cluster", "modify", "--reserved-lvs=%s/str.*" % VG)
        self.addCleanup(self.bed[1].run, ["gnt-cluster", "modify",
                                          "--reserved-lvs="])
        self.assertEqual(self.verify_findings(), (0, []))

        lv = self.instance_volume(2, name)
        self.run_ok(2, "lvremove -qf %s/%s" % (VG, lv))
        self.assertEqual(self.verify_findings(), (1, [
            "ERROR:EINSTANCEMISSINGDISK:instance:%s:volume %s/%s missing on"
            " node %s" % (name, VG, lv, self.node2)]))
        out = self.gnt("gnt-cluster", "verify-disks", expect=1)
        self.assertIn("Instance %s has missing logical volumes:\n\t%s"
                      " /dev/%s/%s\n" % (name, self.node2, VG, lv), out)
        self.gnt("gnt-instance", "recreate-disks", name)
        self.assertIn(lv, self.volumes(2))
        self.assertEqual(self.verify_findings(), (0, []))
        self.assertIn("No disks need to be activated.",
                      self.gnt("gnt-cluster", "verify-disks"))

    def test_export_running_and_import(self):
        """
        Exporting a running instance snapshots its volume (stopped only
        meanwhile), exports the snapshot and removes it; the instance runs
        on; the export imports back onto another node with the data.
        """
        name, copy = "exported.example.com", "imported.example.com"
        self.add(name, self.node1, "32m")
        self.addCleanup(self.bed[1].run, ["gnt-backup", "remove", name])
        out = self.gnt("gnt-backup", "export", "-n", self.node2, name)
        for line in ("Shutting down instance %s" % name,
                     "Creating a snapshot of disk/0 on node %s" % self.node1,
                     "Starting instance %s" % name,
                     "Removing snapshot of disk/0 on node %s" % self.node1):
            self.assertIn(line, out)
        self.assertLess(out.index("Starting instance"),
                        out.index("Exporting disk/0"))
        self.assertEqual([lv for lv in self.volumes(1) if "snap" in lv], [])
        self.assertEqual(self.gnt("gnt-instance", "list", "--no-headers",
                                  "-o", "status", name).strip(), "running")
        self.assertEqual(self.run_ok(2, "ls /srv/ganeti/export/" + name).split(),
                         ["config.ini", "disk0.snap"])
        self.addCleanup(self.bed[1].run, ["gnt-instance", "remove", "-f",
                                          copy])
        self.gnt("gnt-backup", "import", "-n", self.node2, "--src-node",
                 self.node2, "--src-dir", name, "--no-name-check",
                 "--no-ip-check", copy)
        lv = self.instance_volume(2, copy)
        self.assertEqual(self.run_ok(2, "head -n 1 /dev/%s/%s" % (VG, lv)),
                         "marker:%s\n" % name)

    def test_node_storage(self):
        """
        ``gnt-node volumes``, ``list-storage`` of VGs and PVs,
        ``modify-storage --allocatable`` and ``repair-storage`` on the
        guests' real PVs.
        """
        name = "stored.example.com"
        self.add(name, self.node2, "32m", "--no-start")
        lv = self.instance_volume(2, name)
        out = self.gnt("gnt-node", "volumes", self.node2)
        self.assertEqual(out.splitlines()[0].split(),
                         ["Node", "PhysDev", "VG", "Name", "Size", "Instance"])
        self.assertIn([self.node2, "/dev/vdb", VG, lv, "32M", name],
                      [line.split() for line in out.splitlines()])
        self.assertEqual(self.gnt("gnt-node", "list-storage", "-t", "lvm-vg",
                                  "--no-headers", "--units", "m",
                                  self.node2).split(),
                         [self.node2, "lvm-vg", VG, "24572", "32", "24540",
                          "Y"])
        pv = ["gnt-node", "list-storage", "-t", "lvm-pv", "--no-headers",
              "-o", "name,allocatable", self.node2]
        self.assertEqual(self.gnt(*pv).split(), ["/dev/vdb", "Y"])
        self.gnt("gnt-node", "modify-storage", "--allocatable=no", self.node2,
                 "lvm-pv", "/dev/vdb")
        self.addCleanup(self.bed[1].run, [
            "gnt-node", "modify-storage", "--allocatable=yes", self.node2,
            "lvm-pv", "/dev/vdb"])
        self.assertEqual(self.gnt(*pv).split(), ["/dev/vdb", "N"])
        self.assertIn("no allocatable physical volumes",
                      self.gnt("gnt-instance", "add", "-t", "plain", "-o",
                               OS_NAME, "--disk", "0:size=8m", "-n",
                               self.node2, "--no-name-check", "--no-ip-check",
                               "--no-start", "refused.example.com", expect=1))
        self.gnt("gnt-node", "modify-storage", "--allocatable=yes", self.node2,
                 "lvm-pv", "/dev/vdb")
        self.assertEqual(self.gnt(*pv).split(), ["/dev/vdb", "Y"])
        self.assertIn("Repairing storage unit '%s' on %s" % (VG, self.node2),
                      self.gnt("gnt-node", "repair-storage", self.node2,
                               "lvm-vg", VG))

    def test_exclusive_storage(self):
        """
        With ``exclusive_storage`` on a node, a disk needs its spindles
        and gets that many empty PVs of its own; spindles show in
        ``gnt-node list``; growing stays on them.
        """
        guest = self.bed[2]
        self.run_ok(2, "set -e; for i in 1 2 3; do truncate -s 256M"
                       " /var/tmp/es$i.img; losetup -f --show /var/tmp/es$i.img;"
                       " done > /var/tmp/es.loops; pvcreate -q $(cat"
                       " /var/tmp/es.loops); vgcreate -q esvg $(cat"
                       " /var/tmp/es.loops)")
        self.addCleanup(guest.run, "vgremove -qf esvg; pvremove -q $(cat"
                                   " /var/tmp/es.loops); for d in $(cat"
                                   " /var/tmp/es.loops); do losetup -d $d;"
                                   " done; rm -f /var/tmp/es*")
        self.gnt("gnt-node", "modify", "--node-parameters",
                 "exclusive_storage=True", self.node2)
        self.addCleanup(self.bed[1].run, [
            "gnt-node", "modify", "--node-parameters",
            "exclusive_storage=False", self.node2])
        name = "exclusive.example.com"
        self.assertIn("You must specify spindles in instance disks when"
                      " exclusive storage is active",
                      self.gnt("gnt-instance", "add", "-t", "plain", "-o",
                               OS_NAME, "--disk", "0:size=300m,vg=esvg", "-n",
                               self.node2, "--no-name-check", "--no-ip-check",
                               "--no-start", name, expect=1))
        self.add(name, self.node2, "300m,vg=esvg,spindles=2", "--no-start")
        [lv] = self.volumes(2, "esvg")
        devices = self.run_ok(2, "lvs --noheadings -o devices esvg/" + lv)
        self.assertEqual(len(set(re.findall(r"/dev/loop\d+", devices))), 2)
        self.assertEqual(self.gnt("gnt-instance", "list", "--no-headers",
                                  "-o", "disk.spindles", name).strip(), "2")
        # The cluster's VG on node2 has one PV, used by no volume here.
        self.assertEqual(self.gnt("gnt-node", "list", "--no-headers", "-o",
                                  "sptotal,spfree", self.node2).split(),
                         ["1", "1"])
        self.gnt("gnt-instance", "grow-disk", name, "0", "100m")
        self.assertEqual(self.run_ok(2, "lvs --noheadings -o devices esvg/"
                                        + lv), devices)

    def test_storage_in_guest(self):
        """
        The real-LVM unit tests beyond the storage contract (exclusive
        storage, growth, renaming, snapshots, the verify report) pass in
        a guest (started with the bed, see L{shared_bed}).
        """
        process, output = _shared["unit_tests"]
        code = process.wait(timeout=900)
        output.seek(0)
        text = output.read()
        self.assertEqual(code, 0, text[-3000:])
        self.assertNotIn("[SKIPPED]", text)
        self.assertIn("PASSED", text)
