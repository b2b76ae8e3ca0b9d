# -*- test-case-name: tests.vm.test_drbd_disks -*-
"""
Changing ``drbd`` disks for real: growing, converting from and to
``plain``, adding and removing disks, recreating them on other nodes
and placing mirrors with htools' ``hail``, on a two-guest VM bed
(real DRBD 8.4), each checked by what an operator sees: the tools'
answers, the devices' sizes and the data read back byte for byte on
either node.
"""

import re

from twisted.trial.unittest import SynchronousTestCase

from tests.vm.beds import GuestCommandsMixin, module_bed

_shared = {}

#: One MiB of data that must survive every change, the same on every
#: guest (a seeded generator, not a copy).
_PATTERN = "/tmp/pattern"
_MAKE_PATTERN = ("test -e %s || python3 -c 'import random, sys;"
                 " random.seed(7); sys.stdout.buffer.write(random.randbytes("
                 "1 << 20))' > %s" % (_PATTERN, _PATTERN))


class DrbdDiskTests(GuestCommandsMixin, SynchronousTestCase):
    """Disk changes of mirrored instances."""

    def setUp(self):
        self.bed = module_bed(_shared, "drbd-disks-")
        self.node1, self.node2 = self.bed[1].name, self.bed[2].name
        for index in (1, 2):
            self.run_ok(index, _MAKE_PATTERN)

    def add(self, name, template="drbd", size="64m", *extra):
        self.addCleanup(self.bed[1].run, ["gnt-instance", "remove", "-f",
                                          name])
        nodes = (["-n", "%s:%s" % (self.node1, self.node2)]
                 if template == "drbd" else ["-n", self.node1])
        return self.gnt("gnt-instance", "add", "-t", template,
                        "--disk", "0:size=%s" % size, "--no-install",
                        "--no-name-check", "--no-ip-check",
                        *(list(extra) or nodes) + [name])

    def write(self, name):
        index, path = self.device(name)
        self.run_ok(index, "dd if=%s of=%s bs=1M oflag=direct status=none"
                           % (_PATTERN, path))

    def assert_data(self, name, size_mib=None):
        """The pattern reads back where the instance's primary now is."""
        index, path = self.device(name)
        self.assertEqual(
            self.run_ok(index, "dd if=%s bs=1M count=1 iflag=direct"
                               " status=none | cmp - %s && echo same"
                               % (path, _PATTERN)).strip(), "same")
        if size_mib is not None:
            self.assertEqual(int(self.run_ok(
                index, "blockdev --getsize64 %s" % path)) // 2 ** 20,
                size_mib)
        self.gnt("gnt-instance", "deactivate-disks", name)

    def test_grow(self):
        """
        ``grow-disk`` grows both sides: the device is bigger on the
        primary and, after a failover, on the other node, with the data
        kept.
        """
        name = "grow.example.com"
        self.add(name)
        self.write(name)
        self.gnt("gnt-instance", "deactivate-disks", name)
        self.gnt("gnt-instance", "grow-disk", name, "0", "64m")
        self.assertEqual(self.fields(name, "disk.size/0"), ["128"])
        self.assert_data(name, 128)
        self.gnt("gnt-instance", "failover", "-f", name)
        self.assertEqual(self.fields(name, "pnode"), [self.node2])
        self.assert_data(name, 128)

    def test_convert_round_trip(self):
        """
        ``modify -t drbd -n`` mirrors a ``plain`` instance's data to the
        other node (read there after a failover); ``modify -t plain``
        makes it ``plain`` again on its primary, the other node's volumes
        gone.
        """
        name = "convert.example.com"
        self.add(name, "plain")
        self.write(name)
        self.gnt("gnt-instance", "deactivate-disks", name)
        self.gnt("gnt-instance", "modify", "-t", "drbd", "-n", self.node2,
                 name)
        self.assertEqual(self.fields(name, "disk_template", "snodes"),
                         ["drbd", self.node2])
        self.gnt("gnt-instance", "failover", "-f", name)
        self.assert_data(name)
        self.gnt("gnt-instance", "modify", "-t", "plain", name)
        self.assertEqual(self.fields(name, "disk_template", "pnode",
                                     "snodes"), ["plain", self.node2, ""])
        self.assert_data(name)
        volumes = "lvs --noheadings -o lv_name @originstname+" + name
        self.assertEqual(self.run_ok(1, volumes).split(), [])
        [data] = self.run_ok(2, volumes).split()
        self.assertTrue(data.endswith("_data"), data)

    def test_recreate_on_other_nodes(self):
        """
        Volumes lost on both nodes: ``recreate-disks -n`` puts new, empty
        mirrors where it is told (here the nodes swapped), synced.
        """
        name = "recreate.example.com"
        self.add(name)
        self.gnt("gnt-instance", "deactivate-disks", name)
        for index in (1, 2):
            self.run_ok(index, "lvremove -f @originstname+" + name)
        self.gnt("gnt-instance", "recreate-disks", "-n",
                 "%s:%s" % (self.node2, self.node1), name)
        self.assertEqual(self.fields(name, "pnode", "snodes"),
                         [self.node2, self.node1])
        self.gnt("gnt-instance", "activate-disks", name)
        info = self.gnt("gnt-instance", "info", name)
        self.assertEqual(info.count("in sync, status ok"), 2, info)

    def test_add_remove_disk(self):
        """
        A disk added to a mirrored instance is a synced mirror on both
        nodes; removed, its minors are gone.
        """
        name = "adddisk.example.com"
        self.add(name)
        self.gnt("gnt-instance", "modify", "--no-hotplug", "--disk",
                 "add:size=32m", name)
        info = self.gnt("gnt-instance", "info", name)
        self.assertIn("disk/1: drbd, size 32M", info)
        self.assertEqual(len(re.findall(r"on (primary|secondary): /dev/drbd"
                                        r"\d+ \(147:\d+\) in sync, status ok",
                                        info)), 4, info)

        def minors():
            out = self.gnt("gnt-node", "list-drbd", "--no-headers",
                           self.node2)
            return len([line for line in out.splitlines() if name in line])
        self.assertEqual(minors(), 2)
        self.gnt("gnt-instance", "modify", "--no-hotplug", "--disk", "remove",
                 name)
        self.assertEqual(minors(), 1)

    def test_hail_places_mirror(self):
        """
        ``-I hail`` (htools' allocator, for real) picks two distinct
        nodes for a mirror (1 GiB: the default policy's smallest disk).
        """
        name = "hail.example.com"
        out = self.add(name, "drbd", "1g", "-I", "hail", "--no-wait-for-sync")
        self.assertIn("via iallocator hail", out)
        pnode, snode = self.fields(name, "pnode", "snodes")
        self.assertEqual({pnode, snode}, {self.node1, self.node2})
