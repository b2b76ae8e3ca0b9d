# -*- test-case-name: tests.vm.test_ext -*-
"""
The ``ext`` disk template for real, on a two-guest VM bed: the shipped
``filevol`` ExtStorage provider keeps each volume in a file of the
directory every guest mounts (L{vmbed.SHARED_MOUNT}) and maps it as a
loop device on the node that uses it.  Because the storage is shared,
an instance fails over and migrates to the other node with its data
byte for byte, which is what these tests check, each by what an
operator sees: the tools' answers, the volume files in the shared
directory and the loop devices of each node.
"""

import ast
import posixpath

from twisted.trial.unittest import SynchronousTestCase

from ganeti.storage.providers import FILEVOL
from ganeti.testing import vmbed
from tests.vm.beds import GuestCommandsMixin, module_bed

_shared = {}

#: The provider's volume directory, as the guests see it.
_VOLUMES = posixpath.join(vmbed.SHARED_MOUNT, vmbed.FILEVOL_SUBDIR)

#: Random data written to a disk, and how much of it (MiB).
_DATA = "/tmp/ext-data"
_DATA_MIB = 4


class ExtStorageTests(GuestCommandsMixin, SynchronousTestCase):
    """``ext`` instances whose volumes live in the bed's shared directory."""

    def setUp(self):
        self.bed = module_bed(_shared, "ext-")
        self.node1, self.node2 = self.bed[1].name, self.bed[2].name

    def add(self, name, node=None):
        """
        Add a stopped ``ext`` instance of one 256 MiB ``filevol`` disk on
        C{node} (by default node1), removed at the end of the test.
        """
        self.addCleanup(self.bed[1].run, ["gnt-instance", "remove", "-f",
                                          name])
        self.gnt("gnt-instance", "add", "-t", "ext",
                 "--disk", "0:size=256M,provider=" + FILEVOL,
                 "--no-install", "--no-start", "--no-name-check",
                 "--no-ip-check", "-n", node or self.node1, name)

    def write_random(self, name, deactivate=True):
        """
        Write random data through the instance's activated disk (direct
        I/O, so it reaches the volume file), then deactivate it unless
        told not to.

        :return: ``(guest index, SHA-256)``: where it was written, and the
            data's digest as ``sha256sum`` prints it.
        """
        index, path = self.device(name)
        digest = self.run_ok(
            index, "head -c %dM /dev/urandom > %s && sha256sum < %s"
                   " && dd if=%s of=%s bs=1M oflag=direct status=none"
                   % (_DATA_MIB, _DATA, _DATA, _DATA, path)).split()[0]
        if deactivate:
            self.gnt("gnt-instance", "deactivate-disks", name)
        return index, digest

    def read_digest(self, name):
        """
        :return: ``(guest index, SHA-256)``: where the instance's disk is
            mapped once activated, and the digest of its first
            L{_DATA_MIB} MiB read back there.
        """
        index, path = self.device(name)
        digest = self.run_ok(
            index, "dd if=%s bs=1M count=%d iflag=direct status=none"
                   " | sha256sum" % (path, _DATA_MIB)).split()[0]
        return index, digest

    def mapped(self, index):
        """:return: the shared volume files guest C{index} maps as loops."""
        out = self.run_ok(index, "losetup --list --noheadings"
                                 " --output BACK-FILE")
        return sorted(posixpath.basename(line.strip())
                      for line in out.splitlines()
                      if line.strip().startswith(_VOLUMES + "/"))

    def volume_files(self, index):
        """:return: the files of the provider's directory, seen by C{index}."""
        return sorted(self.run_ok(index, ["ls", "-A", _VOLUMES]).split())

    def volume_name(self, name):
        """:return: the volume of the instance's disk 0 (its logical id)."""
        info = self.gnt("gnt-instance", "info", name)
        [line] = [line for line in info.splitlines()
                  if "logical_id:" in line]
        provider, volume = ast.literal_eval(line.split(":", 1)[1].strip())
        self.assertEqual(provider, FILEVOL)
        return volume

    def test_shared_directory_hands_over(self):
        """
        The premise of the provider: a file of the shared directory
        written through a loop device on node1 (direct I/O), detached,
        reads back the same through a loop device on node2.
        """
        path = posixpath.join(vmbed.SHARED_MOUNT, "handover.img")
        self.addCleanup(self.bed[1].run, ["rm", "-f", path])
        written = self.run_ok(
            1, "truncate -s 16M {path} && d=$(losetup --find --show {path})"
               " && head -c {mib}M /dev/urandom > {data}"
               " && dd if={data} of=$d bs=1M oflag=direct status=none"
               " && losetup --detach $d && sha256sum < {data}".format(
                   path=path, mib=_DATA_MIB, data=_DATA)).split()[0]
        read = self.run_ok(
            2, "d=$(losetup --find --show --read-only {path})"
               " && dd if=$d bs=1M count={mib} status=none | sha256sum"
               " && losetup --detach $d".format(
                   path=path, mib=_DATA_MIB)).split()[0]
        self.assertEqual(read, written)

    def test_diagnose(self):
        """
        ``gnt-storage diagnose`` finds the provider valid on both nodes,
        where the bed installed it, with its one parameter (``dir``).
        """
        out = self.gnt("gnt-storage", "diagnose")
        self.assertIn("Provider: %s" % FILEVOL, out)
        for node in (self.node1, self.node2):
            self.assertIn("  Node: %s, status: valid (path: "
                          "/srv/ganeti/extstorage/%s) [parameters: dir]"
                          % (node, FILEVOL), out)
        self.assertIn("  For nodegroup: default --> valid", out)

    def test_failover_and_migrate(self):
        """
        Data written on node1 reads back the same after ``failover -n``
        to node2 (instance down) and after ``migrate -n`` back to node1
        (instance running); the volume is one file of the shared
        directory, the same on both nodes, mapped only where the
        instance is.
        """
        name = "moves.example.com"
        self.add(name)
        volume = self.volume_name(name)
        for index in (1, 2):
            self.assertEqual([f for f in self.volume_files(index)
                              if f.startswith(volume)],
                             [volume, volume + ".info"])
        self.assertEqual(self.run_ok(2, ["cat", posixpath.join(
            _VOLUMES, volume + ".info")]).strip(), "originstname+" + name)
        _, written = self.write_random(name)
        self.assertEqual((self.mapped(1), self.mapped(2)), ([], []))

        out = self.gnt("gnt-instance", "failover", "-f", "-n", self.node2,
                       name)
        self.assertIn("Failover instance %s" % name, out)
        self.assertEqual(self.fields(name, "pnode", "snodes"),
                         [self.node2, ""])
        self.assertEqual(self.read_digest(name), (2, written))
        self.assertEqual((self.mapped(1), self.mapped(2)), ([], [volume]))
        self.gnt("gnt-instance", "deactivate-disks", name)

        self.gnt("gnt-instance", "startup", name)
        out = self.gnt("gnt-instance", "migrate", "-f", "-n", self.node1,
                       name)
        self.assertIn("* unmapping instance's disks from %s" % self.node2,
                      out)
        self.assertEqual(self.fields(name, "pnode", "status"),
                         [self.node1, "running"])
        self.assertEqual((self.mapped(1), self.mapped(2)), ([volume], []))
        self.assertEqual(self.read_digest(name), (1, written))

    def test_failover_from_dead_node(self):
        """
        node2 dies hard under a running instance just after writing to
        its disk: ``failover --ignore-consistency -n`` starts it on node1
        (warning that node2 could not be reached) with the data written
        on node2; node2 comes back with nothing mapped.
        """
        name = "dead.example.com"
        self.add(name, self.node2)
        self.gnt("gnt-instance", "startup", name)
        index, written = self.write_random(name, deactivate=False)
        self.assertEqual(index, 2)
        self.power_off(2)
        out = self.gnt("gnt-instance", "failover", "-f",
                       "--ignore-consistency", "-n", self.node1, name)
        self.assertIn("please make sure node %s is down" % self.node2, out)
        self.assertEqual(self.fields(name, "pnode", "status"),
                         [self.node1, "running"])
        self.assertEqual(self.read_digest(name), (1, written))
        self.power_on(2)
        self.assertEqual(self.mapped(2), [])

    def test_grow_keeps_data(self):
        """
        ``grow-disk`` grows the volume file (seen so from the other node
        too) and the mapped device, and the data stays.
        """
        name = "grow.example.com"
        self.add(name)
        _, written = self.write_random(name)
        self.gnt("gnt-instance", "grow-disk", name, "0", "256M")
        self.assertEqual(self.fields(name, "disk.size/0"), ["512"])
        index, path = self.device(name)
        self.assertEqual(int(self.run_ok(
            index, ["blockdev", "--getsize64", path])), 512 << 20)
        self.assertEqual(self.read_digest(name), (1, written))
        self.assertEqual(int(self.run_ok(2, [
            "stat", "-c", "%s",
            posixpath.join(_VOLUMES, self.volume_name(name))])), 512 << 20)

    def test_remove_leaves_nothing(self):
        """
        Removing an instance whose disk is mapped removes the volume
        file from the shared directory and leaves no loop device on
        either node.
        """
        name = "remove.example.com"
        self.add(name)
        volume = self.volume_name(name)
        self.device(name)
        self.assertIn(volume, self.mapped(1))
        self.gnt("gnt-instance", "remove", "-f", name)
        for index in (1, 2):
            self.assertNotIn(volume, self.volume_files(index))
            self.assertNotIn(volume + ".info", self.volume_files(index))
            self.assertNotIn(volume, self.mapped(index))
