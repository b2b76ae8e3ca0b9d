"""
What the master decides for new ``drbd`` disks (minors, ports, secrets,
volumes) and how ``gnt-instance add -t drbd`` refuses bad input; the
mirrors themselves run in the VM bed (tests/vm/test_drbd.py).
"""

import attrs
from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors
from ganeti.cmdlib.instance import drbd
from ganeti.objects import Disk
from tests.util import local_cluster


def _plain(name="u1.disk0", size=256):
    return Disk(uuid="d-" + name, dev_type="plain", size=size,
                logical_id=["xenvg", name], iv_name="disk/0")


class AllocationTests(SynchronousTestCase):
    """Minors per node and ports per cluster, as Ganeti hands them out."""

    def setUp(self):
        self.master = local_cluster(self)
        self.cfg = self.master.config.config

    def with_disks(self, *disks):
        return attrs.evolve(self.cfg, disks={d.uuid: d for d in disks})

    def test_new_disk(self):
        """
        A new mirror: data volume named after the plain one, a 128 MiB
        metadata volume beside it, both nodes, minor 0 on each, the first
        DRBD port and a fresh 40-digit secret.
        """
        disk = drbd.drbd_disk(drbd.Allocation(self.cfg), _plain(), "A", "B")
        node_a, node_b, port, minor_a, minor_b, secret = disk.logical_id
        self.assertEqual((node_a, node_b, port, minor_a, minor_b),
                         ("A", "B", 11000, 0, 0))
        self.assertEqual(len(secret), 40)
        data, meta = disk.children
        self.assertEqual((data.logical_id, data.size),
                         (["xenvg", "u1.disk0_data"], 256))
        self.assertEqual((meta.logical_id, meta.size),
                         (["xenvg", "u1.disk0_meta"], 128))
        self.assertEqual(disk.nodes, ["A", "B"])
        self.assertEqual(disk.dev_type, "drbd")
        other = drbd.drbd_disk(drbd.Allocation(self.cfg), _plain(), "A", "B",
                               meta_vg="metavg")
        self.assertEqual(other.children[1].logical_id[0], "metavg")
        self.assertNotEqual(other.logical_id[5], secret)

    def test_minors_and_ports_skip_used(self):
        """
        Minors used on a node (on either side of a mirror) and ports used
        anywhere are skipped, also within one operation.
        """
        first = drbd.drbd_disk(drbd.Allocation(self.cfg), _plain(), "A", "B")
        cfg = self.with_disks(first)
        allocation = drbd.Allocation(cfg)
        second = drbd.drbd_disk(allocation, _plain("u2.disk0"), "B", "C")
        third = drbd.drbd_disk(allocation, _plain("u2.disk1"), "B", "C")
        self.assertEqual(second.logical_id[2:5], [11001, 1, 0])
        self.assertEqual(third.logical_id[2:5], [11002, 2, 1])
        self.assertEqual(drbd.used_minors(cfg, "B"), {0})

    def test_port_pool_first(self):
        """
        Ports in the cluster's pool are used before new ones, and leave
        the pool once recorded; a port taken meanwhile is refused.
        """
        cfg = attrs.evolve(self.cfg, cluster=attrs.evolve(
            self.cfg.cluster, tcpudp_port_pool=[12000]))
        disk = drbd.drbd_disk(drbd.Allocation(cfg), _plain(), "A", "B")
        self.assertEqual(disk.logical_id[2], 12000)
        cluster = drbd.claim_ports(cfg, [disk])
        self.assertEqual(cluster.tcpudp_port_pool, [])
        self.assertEqual(cluster.highest_used_port, 12000)
        taken = attrs.evolve(cfg, disks={disk.uuid: disk})
        self.assertRaises(errors.OpExecError, drbd.claim_ports, taken, [disk])

    def test_removal_returns_ports(self):
        """
        Removing an instance puts its mirrors' ports back in the pool,
        from which the next mirror takes them.
        """
        from ganeti.cmdlib.instance.base import remove_instance_from_config
        from ganeti.objects import Instance
        disk = drbd.drbd_disk(drbd.Allocation(self.cfg), _plain(), "A", "B")
        instance = Instance(name="i1", uuid="i1", primary_node="A", os="",
                            hypervisor="fake", disk_template="drbd",
                            disks=[disk.uuid])
        self.master.config.update(lambda cfg: attrs.evolve(
            cfg, disks={disk.uuid: disk}, instances={"i1": instance}))
        remove_instance_from_config(self.master.config, "i1")
        cfg = self.master.config.config
        self.assertEqual(cfg.cluster.tcpudp_port_pool, [disk.logical_id[2]])
        self.assertEqual(drbd.Allocation(cfg).port(), disk.logical_id[2])

    def test_port_range_exhausted(self):
        """
        Past the last DRBD port there is no port to give.
        """
        cfg = attrs.evolve(self.cfg, cluster=attrs.evolve(
            self.cfg.cluster, highest_used_port=14999))
        self.assertRaises(errors.OpPrereqError,
                          drbd.Allocation(cfg).port)


class CreateRefusalTests(SynchronousTestCase):
    """``gnt-instance add -t drbd`` with bad nodes changes nothing."""

    def setUp(self):
        self.master = local_cluster(self)
        self.master.config.update(lambda cfg: attrs.evolve(
            cfg, cluster=attrs.evolve(
                cfg.cluster, enabled_disk_templates=["diskless", "drbd"],
                volume_group_name="xenvg")))

    def create(self, **params):
        op = {"OP_ID": "OP_INSTANCE_CREATE",
              "instance_name": "inst1.example.com", "disk_template": "drbd",
              "disks": [{"size": 256}], "nics": [], "no_install": True,
              "pnode": "node1.example.com", "hypervisor": "fake",
              "start": False}
        op.update(params)
        queue = self.master.queue
        job = queue.get(queue.submit([op]))
        self.assertEqual(job.status, "error")
        self.assertEqual(self.master.config.config.instances, {})
        return job.ops[0].result

    def test_no_mirror_node(self):
        """
        Without a secondary node the template is refused.
        """
        self.assertIn("The networked disk templates need a mirror node",
                      str(self.create()))

    def test_same_node(self):
        """
        The secondary cannot be the primary.
        """
        self.assertIn("The secondary node cannot be the primary node",
                      str(self.create(snode="node1.example.com")))


class ConversionRefusalTests(SynchronousTestCase):
    """``gnt-instance modify -t`` refuses what it cannot convert."""

    def setUp(self):
        self.master = local_cluster(self)
        queue = self.master.queue
        job = queue.get(queue.submit([{
            "OP_ID": "OP_INSTANCE_CREATE", "instance_name": "inst1.example.com",
            "disk_template": "diskless", "disks": [], "nics": [],
            "no_install": True, "pnode": "node1.example.com",
            "hypervisor": "fake", "start": False}]))
        self.assertEqual(job.status, "success", job.ops[0].result)

    def convert(self, **params):
        op = dict({"OP_ID": "OP_INSTANCE_SET_PARAMS",
                   "instance_name": "inst1.example.com"}, **params)
        before = self.master.config.config
        queue = self.master.queue
        job = queue.get(queue.submit([op]))
        self.assertEqual(job.status, "error")
        self.assertEqual(self.master.config.config.instances,
                         before.instances)
        return str(job.ops[0].result)

    def test_refusals(self):
        """
        The same template, one the cluster has not enabled, and a pair
        Ganeti cannot convert are refused; nothing changes.
        """
        self.assertIn("already has disk template diskless",
                      self.convert(disk_template="diskless"))
        self.assertIn("is not enabled for this cluster",
                      self.convert(disk_template="drbd"))
        self.master.config.update(lambda cfg: attrs.evolve(
            cfg, cluster=attrs.evolve(cfg.cluster, enabled_disk_templates=[
                "diskless", "drbd"])))
        self.assertIn("Unsupported disk template conversion from diskless"
                      " to drbd", self.convert(disk_template="drbd"))
        self.assertIn("other disk changes not supported",
                      self.convert(disk_template="drbd",
                                   disks=[["add", {"size": 1}]]))
