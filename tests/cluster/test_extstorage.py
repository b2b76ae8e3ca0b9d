"""
``ext`` instances on two namespace hosts, through the shipped
``filevol`` ExtStorage provider: its volume directory (below the shared
``/tmp``) plays the shared storage both nodes reach, and the data
written on one node is read back byte for byte on the other after a
failover and after a live migration, all through the tools.
"""

import hashlib
import os
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from ganeti.storage import providers
from tests.cluster.bed import Bed
from tests.cluster.test_multinode import BIN, _skip_reason
from tests.storage_mixin import loop_skip_reason

#: Size of the instance's disk and of the data written to it, in MiB.
DISK_MIB = 16
DATA_MIB = 4


def _skip():
    return _skip_reason() or loop_skip_reason()


class ExtStorageClusterTests(SynchronousTestCase):
    """A two-node cluster running an ``ext`` instance."""

    skip = _skip()

    def setUp(self):
        self.bed = Bed(2)
        self.bed.start()
        self.addCleanup(self.bed.teardown)
        self.node1, self.node2 = self.bed.hosts
        self.volumes = tempfile.mkdtemp(prefix="ganeti-filevol-", dir="/tmp")
        self.addCleanup(self._clean_volumes)
        for host in self.bed.hosts:
            providers.install(os.path.join(host.root_paths["/srv/ganeti"],
                                           "extstorage"),
                              volume_dir=self.volumes)

    def _clean_volumes(self):
        # A failed test may leave volumes mapped: the kernel is shared.
        for name in os.listdir(self.volumes):
            path = os.path.join(self.volumes, name)
            for line in self.node1.run(["losetup", "-n", "-O", "NAME", "-j",
                                        path]).stdout.split():
                self.node1.run(["losetup", "-d", line])
            os.unlink(path)
        os.rmdir(self.volumes)

    def tool(self, host, *argv):
        result = host.run([os.path.join(BIN, argv[0])] + list(argv[1:]),
                          timeout=120)
        if result.returncode != 0:
            raise AssertionError("%s on %s exited %d:\n%s%s" % (
                argv, host.name, result.returncode, result.stdout,
                result.stderr))
        return result.stdout

    def device(self):
        """activate-disks: :return: ``(node, device)`` of disk/0."""
        out = self.tool(self.node1, "gnt-instance", "activate-disks", "inst1")
        node, disk, device = out.strip().split(":")
        self.assertEqual(disk, "disk/0")
        return node, device

    def read_digest(self, host, device):
        out = host.run(["sh", "-c", "head -c %d %s | sha256sum"
                        % (DATA_MIB << 20, device)]).stdout
        return out.split()[0]

    def test_failover_and_migrate_keep_data(self):
        """
        gnt-storage sees the provider on both nodes; the instance's data
        written on node1 is read back on node2 after a failover, and on
        node1 again after a live migration; removal deletes the volume.
        """
        n1, n2 = self.node1.name, self.node2.name
        self.tool(self.node1, "gnt-cluster", "init", "--master-netdev=eth0",
                  "--enabled-hypervisors=fake",
                  "--enabled-disk-templates=ext,diskless", "--no-etc-hosts",
                  self.bed.cluster_name)
        self.tool(self.node1, "gnt-node", "add", n2)
        diagnose = self.tool(self.node1, "gnt-storage", "diagnose")
        for node in (n1, n2):
            self.assertIn("  Node: %s, status: valid (path: /srv/ganeti/"
                          "extstorage/filevol) [parameters: dir]" % node,
                          diagnose)
        self.assertIn("For nodegroup: default --> valid", diagnose)

        self.tool(self.node1, "gnt-instance", "add", "-t", "ext",
                  "--disk", "0:size=%dM,provider=filevol" % DISK_MIB,
                  "--no-install", "--no-name-check", "--no-ip-check",
                  "-n", n1, "inst1")
        [volume] = [v for v in os.listdir(self.volumes)
                    if v.endswith(".ext.disk0")]
        self.assertEqual(os.path.getsize(os.path.join(self.volumes, volume)),
                         DISK_MIB << 20)

        node, device = self.device()
        self.assertEqual(node, n1)
        payload = os.urandom(DATA_MIB << 20)
        data = os.path.join(self.volumes, ".payload")
        with open(data, "wb") as f:
            f.write(payload)
        self.node1.run(["dd", "if=" + data, "of=" + device, "bs=1M",
                        "conv=fsync,notrunc", "status=none"], check=True)
        os.unlink(data)
        expected = hashlib.sha256(payload).hexdigest()

        self.tool(self.node1, "gnt-instance", "failover", "-f", "-n", n2,
                  "inst1")
        node, device = self.device()
        self.assertEqual(node, n2)
        self.assertEqual(self.read_digest(self.node2, device), expected)

        self.tool(self.node1, "gnt-instance", "startup", "inst1")
        out = self.tool(self.node1, "gnt-instance", "migrate", "-f", "-n", n1,
                        "inst1")
        self.assertIn("opening instance disks on node %s in shared mode" % n1,
                      out)
        node, device = self.device()
        self.assertEqual(node, n1)
        self.assertEqual(self.read_digest(self.node1, device), expected)

        self.tool(self.node1, "gnt-instance", "remove", "-f", "inst1")
        self.assertEqual(os.listdir(self.volumes), [])
