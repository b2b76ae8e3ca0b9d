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
        Removing an instance puts its mirrors' ports and its console
        port back in the pool, from which the next mirror takes them.
        """
        from ganeti.cmdlib.instance.base import remove_instance_from_config
        from ganeti.objects import Instance
        disk = drbd.drbd_disk(drbd.Allocation(self.cfg), _plain(), "A", "B")
        instance = Instance(name="i1", uuid="i1", primary_node="A", os="",
                            hypervisor="fake", disk_template="drbd",
                            disks=[disk.uuid], network_port=11500)
        self.master.config.update(lambda cfg: attrs.evolve(
            cfg, disks={disk.uuid: disk}, instances={"i1": instance}))
        remove_instance_from_config(self.master.config, "i1")
        cfg = self.master.config.config
        self.assertEqual(cfg.cluster.tcpudp_port_pool,
                         [disk.logical_id[2], 11500])
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


class _MirrorNode:
    """
    A node handler whose volume and DRBD calls only record themselves
    (this machine has no DRBD), the rest going to the real handler.

    :ivar calls: ``(node name, method, first argument, all arguments)``
        in call order, shared by all the nodes of a test.
    """

    _RECORDED = ("blockdev_create", "blockdev_remove", "blockdev_rename",
                 "blockdev_assemble_all", "blockdev_shutdown_all",
                 "blockdev_grow", "drbd_open")

    def __init__(self, name, real, calls):
        self._name, self._real, self.calls = name, real, calls

    def __getattr__(self, method):
        if method not in self._RECORDED:
            return getattr(self._real, method)

        def record(**kwargs):
            first = next(iter(kwargs.values()))
            self.calls.append((self._name, method, first, kwargs))
            if method == "blockdev_assemble_all":
                return [dict(d, path="/dev/drbd%d" % n)
                        for n, d in enumerate(first)]
            return True
        return record

    def lvm_vg_space(self, vg_name, excl_stor=False):
        return {"size": 20480, "free": 10240}

    def drbd_status(self, disks):
        return [{"sync_percent": None, "estimated_time": None,
                 "is_degraded": False, "peer_disk": "UpToDate"}
                for _ in disks]


class ConversionTests(SynchronousTestCase):
    """
    ``gnt-instance modify -t drbd -n NODE`` and ``-t plain``, and
    ``grow-disk`` and ``recreate-disks`` of mirrors, on two nodes whose
    volume and DRBD calls are recorded: the node steps in Ganeti's order
    and the configuration they leave.
    """

    def setUp(self):
        from tests.util import NODE2_NAME, two_node_cluster
        self.master = master = two_node_cluster(self)
        self.calls = []
        for name, handler in list(master.handlers.items()):
            master.handlers[name] = _MirrorNode(name, handler, self.calls)
        self.node1, self.node2 = "node1.example.com", NODE2_NAME
        master.config.update(lambda cfg: attrs.evolve(
            cfg, cluster=attrs.evolve(
                cfg.cluster, volume_group_name="xenvg",
                enabled_disk_templates=["plain", "drbd", "diskless"])))
        self.run_op("OP_INSTANCE_CREATE", disk_template="plain",
                    disks=[{"size": 256}], nics=[], no_install=True,
                    pnode=self.node1, hypervisor="fake", start=False)
        del self.calls[:]

    def run_op(self, op_id, expect="success", **params):
        queue = self.master.queue
        job = queue.get(queue.submit([dict(
            {"OP_ID": op_id, "instance_name": "inst1.example.com"},
            **params)]))
        self.assertEqual(job.status, expect, job.ops[0].result)
        return job.ops[0].result

    @property
    def cfg(self):
        return self.master.config.config

    def instance(self):
        return self.cfg.instance_by_name("inst1.example.com")

    def disk(self):
        return self.cfg.disks[self.instance().disks[0]]

    def steps(self):
        return [(c[0], c[1]) for c in self.calls
                if c[1] != "blockdev_shutdown_all"]

    def to_drbd(self):
        plain = self.disk()
        self.run_op("OP_INSTANCE_SET_PARAMS", disk_template="drbd",
                    remote_node=self.node2)
        return plain

    def test_plain_to_drbd(self):
        """
        The secondary gets both volumes, the primary's volume is renamed
        to be the mirror's data before its metadata is made, the mirror
        comes up forced primary on node 1; the disk keeps its uuid and
        size and the instance is ``drbd`` with node 2 as secondary.
        """
        plain = self.to_drbd()
        self.assertEqual(self.steps(), [
            (self.node2, "blockdev_create"), (self.node1, "blockdev_rename"),
            (self.node1, "blockdev_create"),
            (self.node2, "blockdev_assemble_all"),
            (self.node1, "blockdev_assemble_all"), (self.node1, "drbd_open")])
        [rename] = [c[2] for c in self.calls if c[1] == "blockdev_rename"]
        disk = self.disk()
        self.assertEqual(rename, [[rename[0][0], disk.children[0].logical_id]])
        self.assertEqual(rename[0][0]["logical_id"], plain.logical_id)
        self.assertEqual((disk.uuid, disk.dev_type, disk.size),
                         (plain.uuid, "drbd", 256))
        self.assertEqual(disk.nodes, [self.instance().primary_node,
                                      "node2-uuid"])
        self.assertEqual(self.instance().disk_template, "drbd")

    def test_drbd_to_plain(self):
        """
        Back to ``plain``: the primary's data volume is the disk, the
        secondary's volumes and the primary's metadata are removed and
        the port is back in the cluster's pool.
        """
        self.to_drbd()
        mirror = self.disk()
        del self.calls[:]
        self.run_op("OP_INSTANCE_SET_PARAMS", disk_template="plain")
        disk = self.disk()
        self.assertEqual((disk.dev_type, disk.logical_id, disk.size,
                          disk.children), ("plain",
                                           mirror.children[0].logical_id,
                                           256, []))
        self.assertEqual(self.instance().disk_template, "plain")
        self.assertIn(mirror.logical_id[2], self.cfg.cluster.tcpudp_port_pool)
        removed = [(node, d["dev_type"], d["logical_id"])
                   for node, method, d, _ in self.calls
                   if method == "blockdev_remove"]
        self.assertEqual(removed, [
            (self.node2, "drbd", mirror.logical_id),
            (self.node1, "plain", mirror.children[1].logical_id)])

    def test_removed_disk_port(self):
        """
        A mirror removed with ``modify --disk remove`` gives its port back
        to the cluster's pool.
        """
        self.to_drbd()
        self.run_op("OP_INSTANCE_SET_PARAMS", disks=[["add", {"size": 32}]])
        added = self.cfg.disks[self.instance().disks[1]]
        self.assertNotIn(added.logical_id[2],
                         self.cfg.cluster.tcpudp_port_pool)
        self.run_op("OP_INSTANCE_SET_PARAMS", disks=[["remove", {}]])
        self.assertEqual(len(self.instance().disks), 1)
        self.assertIn(added.logical_id[2], self.cfg.cluster.tcpudp_port_pool)

    def test_refusals(self):
        """
        To ``drbd`` without a secondary, or onto the primary, or of a
        running instance, is refused before any node work; nothing
        changes.
        """
        before = self.disk()
        for params, text in [
                ({}, "No iallocator or node given"),
                ({"iallocator": "hail"}, "please give it with -n"),
                ({"remote_node": self.node1}, "is the same as the primary"),
                ({"remote_node": "nosuch.example.com"}, "nosuch")]:
            self.assertIn(text, str(self.run_op(
                "OP_INSTANCE_SET_PARAMS", "error", disk_template="drbd",
                **params)))
        self.run_op("OP_INSTANCE_STARTUP")
        self.assertIn("is marked to be up, cannot change disk template",
                      str(self.run_op("OP_INSTANCE_SET_PARAMS", "error",
                                      disk_template="drbd",
                                      remote_node=self.node2)))
        self.assertEqual(self.disk(), before)
        self.assertEqual([c for c in self.steps()
                          if c[1] != "blockdev_assemble_all"], [])

    def test_grow(self):
        """
        ``grow-disk`` of a mirror: dry runs of the data volumes on both
        nodes, the volumes grown on both, then the device on the primary;
        the disk and its data volume record the new size.
        """
        self.to_drbd()
        del self.calls[:]
        self.run_op("OP_INSTANCE_GROW_DISK", disk=0, amount=64)
        grows = [(node, kw["amount"], kw["dryrun"], kw["backingstore"])
                 for node, method, _, kw in self.calls
                 if method == "blockdev_grow"]
        self.assertEqual(grows, [
            (self.node1, 64, True, True), (self.node2, 64, True, True),
            (self.node1, 64, False, True), (self.node2, 64, False, True),
            (self.node1, 64, False, False)])
        disk = self.disk()
        self.assertEqual((disk.size, disk.children[0].size,
                          disk.children[1].size), (320, 320, 128))

    def test_recreate_on_new_nodes(self):
        """
        ``recreate-disks -n node2:node1`` swaps the nodes: the primary
        changes, the mirror keeps its port and secret with new minors,
        its volumes on both nodes follow, both sides are created and the
        new mirror is brought up on the new primary.
        """
        self.to_drbd()
        old = self.disk()
        del self.calls[:]
        self.run_op("OP_INSTANCE_RECREATE_DISKS",
                    nodes=[self.node2, self.node1])
        disk = self.disk()
        node1 = old.nodes[0]
        self.assertEqual(self.instance().primary_node, "node2-uuid")
        self.assertEqual(disk.logical_id[:3] + disk.logical_id[5:],
                         ["node2-uuid", node1, old.logical_id[2],
                          old.logical_id[5]])
        self.assertEqual(disk.nodes, ["node2-uuid", node1])
        self.assertEqual([c.nodes for c in disk.children],
                         [["node2-uuid", node1]] * 2)
        self.assertEqual(
            [s for s in self.steps() if s[1] in ("blockdev_create",
                                                 "drbd_open")],
            [(self.node2, "blockdev_create"), (self.node1, "blockdev_create"),
             (self.node2, "drbd_open")])

    def test_recreate_refusals(self):
        """
        A wrong number of nodes, a disk given twice and a parameter that
        cannot change are refused; nothing changes.
        """
        self.to_drbd()
        before = self.disk()
        for params, text in [
                ({"nodes": [self.node2]}, "currently has 2 nodes"),
                ({"disks": [0, 0]}, "specified more than once: 0"),
                ({"disks": [[0, {"vg": "other"}]]},
                 "unmodifyable parameter(s): vg")]:
            self.assertIn(text, str(self.run_op(
                "OP_INSTANCE_RECREATE_DISKS", "error", **params)))
        self.assertEqual(self.disk(), before)
