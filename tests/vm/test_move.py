"""
``gnt-instance move`` of a ``plain`` instance between two real guests
of the VM bed: real logical volumes, the disk streamed between the
guests over the cluster's TLS, the data read back on the new node and
the old volume gone (issue 11's "done means").
"""

import re

from twisted.trial.unittest import SynchronousTestCase

from ganeti.testing import vmbed
from tests.vm.beds import GuestCommandsMixin, module_bed

INSTANCE = "move1.example.com"

_shared = {}


def move_bed():
    """:return: this module's own two-guest bed with its cluster."""
    return module_bed(_shared, "test-move-")


class PlainMoveTests(GuestCommandsMixin, SynchronousTestCase):
    """A plain instance moved from node1 to node2."""

    def setUp(self):
        self.bed = move_bed()

    def device(self, node):
        """
        :return: the instance's disk on C{node}, as ``gnt-instance
            activate-disks`` prints it (``node:disk/0:/dev/...``).
        """
        out = self.run_ok(1, ["gnt-instance", "activate-disks", INSTANCE])
        [line] = [l for l in out.splitlines() if ":disk/0:" in l]
        name, _, path = line.split(":", 2)
        self.assertEqual(name, node)
        return path.strip()

    def volumes(self, index):
        return self.run_ok(index, "lvs --noheadings -o lv_name "
                           + vmbed.VG_NAME).split()

    def test_move_plain_instance(self):
        """
        Data written through activate-disks on node1 is read back whole
        on node2 after the move, zeros included (node2's free extents
        were filled with garbage first: a new volume is not zero), the
        instance runs there and its old volume is gone from node1.
        """
        node1, node2 = self.bed[1].name, self.bed[2].name
        # Garbage where node2's new volume will get its extents.
        self.run_ok(2, "lvcreate -q -Wn -L64m -n junk %s && dd if=/dev/urandom"
                       " of=/dev/%s/junk bs=1M count=64 status=none conv=fsync"
                       " && lvremove -q -f %s/junk"
                    % ((vmbed.VG_NAME,) * 3))
        self.run_ok(1, ["gnt-instance", "add", "-t", "plain", "--disk",
                        "0:size=64m", "-o", "none", "--no-install",
                        "--no-name-check", "--no-ip-check", "-n", node1,
                        INSTANCE])
        self.run_ok(1, ["gnt-instance", "startup", INSTANCE])
        device = self.device(node1)
        [volume] = self.volumes(1)
        self.assertTrue(device.endswith("/" + volume), (device, volume))
        # Data at the start, in the middle and at the end; zeros between.
        self.run_ok(1, "set -e; dd if=/dev/zero of=%(d)s bs=1M status=none"
                       " conv=fsync 2>/dev/null || true;"
                       " head -c 1048576 /dev/urandom > /root/a;"
                       " dd if=/root/a of=%(d)s bs=1M seek=0 conv=fsync"
                       " status=none; dd if=/root/a of=%(d)s bs=64k seek=321"
                       " conv=fsync status=none; dd if=/root/a of=%(d)s"
                       " bs=1M seek=63 conv=fsync status=none"
                    % {"d": device})
        digest = self.run_ok(1, "sha256sum < %s" % device).split()[0]
        out = self.run_ok(1, ["gnt-instance", "move", "-f", "-n", node2,
                              INSTANCE], timeout=900)
        self.assertIn("disk/0 finished sending data", out)
        self.assertRegex(out, re.compile(r"disk/0: 64M in .*MiB/s"))
        self.assertEqual(self.run_ok(1, ["gnt-instance", "list",
                                         "--no-headers", "-o",
                                         "pnode,status", INSTANCE]).split(),
                         [node2, "running"])
        self.assertEqual(self.volumes(1), [])
        self.assertEqual(self.volumes(2), [volume])
        device2 = self.device(node2)
        self.assertEqual(
            self.run_ok(2, "sha256sum < %s" % device2).split()[0], digest)
        self.run_ok(1, ["gnt-instance", "remove", "-f", INSTANCE])
        self.assertEqual(self.volumes(2), [])
