"""
Tests for L{ganeti.cmdlib.group}: node group opcodes run as jobs through
the real queue, locks and config writer of an in-process master.
"""

import attrs
from twisted.trial.unittest import SynchronousTestCase

from ganeti import config as configmod, errors
from ganeti.master.queries import query_groups
from ganeti.objects import Disk, Instance
from tests.util import NODE2_NAME, SETTINGS, local_cluster, two_node_cluster

NODE1 = SETTINGS["node_name"]


class _GroupTestBase(SynchronousTestCase):
    """Runs group opcodes on a master built by C{make_master}."""

    make_master = staticmethod(local_cluster)

    def setUp(self):
        self.master = self.make_master(self)
        self.queue = self.master.queue

    @property
    def cfg(self):
        return self.master.config.config

    def run_op(self, op_id, **params):
        """:return: the finished job of one opcode."""
        return self.queue.get(self.queue.submit([dict(params, OP_ID=op_id)]))

    def assert_ok(self, job):
        self.assertEqual(job.status, "success", job.ops[0].result)
        return job.ops[0].result

    def assert_refused(self, job, text, error="OpPrereqError"):
        """The job failed with C{error} mentioning C{text}."""
        self.assertEqual(job.status, "error")
        self.assertEqual(job.ops[0].result[0], error)
        self.assertIn(text, job.ops[0].result[1][0])

    def assert_unchanged(self, job, text, error="OpPrereqError"):
        """Like L{assert_refused}, and the config file was not rewritten."""
        serial = self.cfg.serial_no
        self.assert_refused(job(), text, error)
        self.assertEqual(self.cfg.serial_no, serial)
        on_disk = configmod.load(self.master.paths.config_data)
        self.assertEqual(on_disk.serial_no, serial)

    def group(self, name):
        return self.cfg.group_by_name(name)

    def add(self, name="g1", **params):
        return self.assert_ok(self.run_op("OP_GROUP_ADD", group_name=name,
                                          **params))


class AddRemoveRenameTests(_GroupTestBase):
    def test_add(self):
        """A new group gets a fresh uuid, its policy and custom params."""
        self.master.clock.advance(50)
        self.add(alloc_policy="last_resort", ndparams={"ssh_port": "2222"},
                 diskparams={"plain": {"stripes": 2}},
                 ipolicy={"vcpu-ratio": 2, "disk-templates": ["file"]},
                 hv_state={"fake": {"cpu_total": 8}},
                 disk_state={"plain": {"xenvg": {"disk_total": 10}}})
        group = self.group("g1")
        default = self.group("default")
        self.assertNotEqual(group.uuid, default.uuid)
        self.assertEqual(len(group.uuid), 36)
        self.assertEqual(group.alloc_policy, "last_resort")
        self.assertEqual(group.ndparams, {"ssh_port": 2222})
        self.assertEqual(group.diskparams, {"plain": {"stripes": 2}})
        self.assertEqual(group.ipolicy, {"vcpu-ratio": 2.0,
                                         "disk-templates": ["file"]})
        self.assertEqual(group.hv_state_static, {"fake": {"cpu_total": 8}})
        self.assertEqual(group.ctime, self.master.clock.seconds())
        # Persisted, and listed by the query.
        on_disk = configmod.load(self.master.paths.config_data)
        self.assertEqual(on_disk.group_by_name("g1"), group)
        # The merged view overrides the cluster per template and key.
        result = query_groups(self.master.context, ["diskparams"],
                              ["=", "name", "g1"])
        [[[_, merged]]] = result["data"]
        cluster = self.master.config.config.cluster.diskparams["plain"]
        self.assertEqual(merged["plain"], dict(cluster, stripes=2))
        self.assertIn("file", merged)

    def test_add_existing(self):
        """A taken name is refused with Ganeti's message; nothing changes."""
        self.assert_unchanged(
            lambda: self.run_op("OP_GROUP_ADD", group_name="default"),
            "Desired group name 'default' already exists as a node group")

    def test_add_bad_params(self):
        """Unknown or badly typed parameters are refused; nothing changes."""
        for params, text in [
                ({"diskparams": {"file": {"stripes": 1}}},
                 "Provided option keys not supported"),
                ({"ipolicy": {"invalid_key": 1}}, "Invalid keys in ipolicy"),
                ({"ipolicy": {"std": {"cpu-count": 1}}},
                 "std cannot appear in group instance specs"),
                ({"ndparams": {"nope": 1}}, "Unknown node parameter 'nope'"),
                ({"ndparams": {"ssh_port": "x"}}, "ssh_port"),
                ({"hv_state": {"vmware": {}}}, "Invalid hypervisor state"),
        ]:
            self.assert_unchanged(
                lambda: self.run_op("OP_GROUP_ADD", group_name="g1", **params),
                text)
        self.assertIsNone(self.group("g1"))
        # The opcode's own checks refuse an unknown policy at submission.
        self.assertRaises(errors.OpPrereqError, self.run_op, "OP_GROUP_ADD",
                          group_name="g1", alloc_policy="sometimes")

    def test_remove(self):
        """An empty group that is not the last one can be removed."""
        self.add()
        self.assert_ok(self.run_op("OP_GROUP_REMOVE", group_name="g1"))
        self.assertIsNone(self.group("g1"))
        self.assertEqual(len(self.cfg.nodegroups), 1)

    def test_remove_refused(self):
        """A group with nodes, the last group, an unknown group: refused."""
        self.add()
        self.assert_unchanged(
            lambda: self.run_op("OP_GROUP_REMOVE", group_name="default"),
            "Group 'default' not empty, has the following nodes: %s" % NODE1)
        self.assert_ok(self.run_op("OP_GROUP_REMOVE", group_name="g1"))
        # As in Ganeti's test: only a node outside every group leaves the
        # last group empty.
        self.master.config.update(lambda cfg: attrs.evolve(cfg, nodes={
            uuid: attrs.evolve(node, group="elsewhere")
            for uuid, node in cfg.nodes.items()}))
        self.assert_unchanged(
            lambda: self.run_op("OP_GROUP_REMOVE", group_name="default"),
            "Group 'default' is the only group, cannot be removed")
        self.assert_unchanged(
            lambda: self.run_op("OP_GROUP_REMOVE", group_name="nope"),
            "Node group 'nope' not found")

    def test_rename(self):
        """Rename keeps the uuid, bumps the serial and answers the name."""
        self.add()
        before = self.group("g1")
        result = self.assert_ok(self.run_op("OP_GROUP_RENAME", group_name="g1",
                                            new_name="g2"))
        self.assertEqual(result, "g2")
        after = self.group("g2")
        self.assertEqual(after.uuid, before.uuid)
        self.assertEqual(after.serial_no, before.serial_no + 1)
        self.assertIsNone(self.group("g1"))

    def test_rename_clash(self):
        """A rename to a taken name is refused; nothing changes."""
        self.add()
        self.assert_unchanged(
            lambda: self.run_op("OP_GROUP_RENAME", group_name="g1",
                                new_name="default"),
            "Desired new name 'default' clashes with existing node group")


class SetParamsTests(_GroupTestBase):
    def test_modify(self):
        """Changes merge into the custom params; the result lists nd/disk."""
        self.add(ndparams={"ssh_port": 2222})
        result = self.assert_ok(self.run_op(
            "OP_GROUP_SET_PARAMS", group_name="g1", alloc_policy="unallocable",
            ndparams={"spindle_count": "4"},
            diskparams={"plain": {"stripes": 3}}))
        group = self.group("g1")
        self.assertEqual(group.ndparams, {"ssh_port": 2222, "spindle_count": 4})
        self.assertEqual(group.alloc_policy, "unallocable")
        self.assertEqual(result, [
            ["ndparams", str({"ssh_port": 2222, "spindle_count": 4})],
            ["diskparams", str({"plain": {"stripes": 3}})]])

    def test_reset(self):
        """None (or "default" in the ipolicy) drops a custom value."""
        self.add(ndparams={"ssh_port": 2222}, ipolicy={"vcpu-ratio": 2})
        self.assert_ok(self.run_op(
            "OP_GROUP_SET_PARAMS", group_name="g1",
            ndparams={"ssh_port": None}, ipolicy={"vcpu-ratio": "default"}))
        group = self.group("g1")
        self.assertEqual((group.ndparams, group.ipolicy), ({}, {}))

    def test_nothing_to_do(self):
        """Without any change, Ganeti's message; nothing changes."""
        self.assert_unchanged(
            lambda: self.run_op("OP_GROUP_SET_PARAMS", group_name="default"),
            "Please pass at least one modification")

    def test_bad_ipolicy(self):
        """A malformed minmax is refused; nothing changes."""
        self.assert_unchanged(
            lambda: self.run_op("OP_GROUP_SET_PARAMS", group_name="default",
                                ipolicy={"minmax": [{"min": {}}]}),
            "Invalid instance policy")


class AssignNodesTests(_GroupTestBase):
    make_master = staticmethod(two_node_cluster)

    def test_assign(self):
        """Nodes move; both groups' and the node's serials are bumped."""
        self.add()
        old = self.group("default")
        node = self.cfg.node_by_name(NODE2_NAME)
        self.assertIsNone(self.assert_ok(self.run_op(
            "OP_GROUP_ASSIGN_NODES", group_name="g1", nodes=[NODE2_NAME])))
        moved = self.cfg.node_by_name(NODE2_NAME)
        self.assertEqual(moved.group, self.group("g1").uuid)
        self.assertEqual(moved.serial_no, node.serial_no + 1)
        self.assertEqual(self.group("default").serial_no, old.serial_no + 1)

    def test_unknown(self):
        """Unknown nodes or groups are refused; nothing changes."""
        self.add()
        self.assert_unchanged(
            lambda: self.run_op("OP_GROUP_ASSIGN_NODES", group_name="g1",
                                nodes=["nope.example.com"]),
            "Node 'nope.example.com' is unknown")
        self.assert_unchanged(
            lambda: self.run_op("OP_GROUP_ASSIGN_NODES", group_name="nope",
                                nodes=[NODE2_NAME]),
            "Node group 'nope' not found")

    def _spanning_instance(self):
        """An instance whose disk records both nodes, as DRBD's would."""
        def change(cfg):
            n1, n2 = cfg.master_node, cfg.node_by_name(NODE2_NAME)
            disk = Disk(uuid="d1", dev_type="drbd", size=1,
                        nodes=[n1.uuid, n2.uuid])
            inst = Instance(name="inst1", uuid="i1", primary_node=n1.uuid,
                            os="", hypervisor="fake", disk_template="drbd",
                            disks=["d1"])
            return attrs.evolve(cfg, disks={"d1": disk},
                                instances={"i1": inst})
        self.master.config.update(change)

    def test_split_needs_force(self):
        """
        Parting an instance's nodes is refused without force (an execution
        error, as in Ganeti) and warned about with it.
        """
        self.add()
        self._spanning_instance()
        self.assert_unchanged(
            lambda: self.run_op("OP_GROUP_ASSIGN_NODES", group_name="g1",
                                nodes=[NODE2_NAME]),
            "The following instances get split by this change and --force"
            " was not given: inst1", error="OpExecError")
        job = self.run_op("OP_GROUP_ASSIGN_NODES", group_name="g1",
                          nodes=[NODE2_NAME], force=True)
        self.assert_ok(job)
        messages = [entry[3] for entry in job.ops[0].log]
        self.assertIn(" - WARNING: This operation will split the following"
                      " instances: inst1", messages)

    def test_no_secondaries_no_split(self):
        """Instances on one node never stop a move."""
        self.add()
        self.assert_ok(self.run_op(
            "OP_INSTANCE_CREATE", instance_name="inst1", disk_template="diskless",
            disks=[], nics=[], pnode=NODE1, os_type="", no_install=True,
            start=False, hypervisor="fake"))
        self.assert_ok(self.run_op("OP_GROUP_ASSIGN_NODES", group_name="g1",
                                   nodes=[NODE2_NAME]))


class EvacuateTests(_GroupTestBase):
    make_master = staticmethod(two_node_cluster)

    def setUp(self):
        super().setUp()
        self.add()
        self.assert_ok(self.run_op("OP_GROUP_ASSIGN_NODES", group_name="g1",
                                   nodes=[NODE2_NAME]))

    def create(self, name):
        self.assert_ok(self.run_op(
            "OP_INSTANCE_CREATE", instance_name=name, disk_template="diskless",
            disks=[], nics=[], pnode=NODE1, os_type="", no_install=True,
            start=False, hypervisor="fake"))

    def test_evacuate(self):
        """Each instance gets a job moving it to a node of another group."""
        self.create("inst1")
        self.create("inst2")
        result = self.assert_ok(self.run_op(
            "OP_GROUP_EVACUATE", group_name="default", sequential=True))
        self.assertEqual(len(result["jobs"]), 2)
        for ok, job_id in result["jobs"]:
            self.assertTrue(ok)
            self.assertEqual(self.queue.get(job_id).status, "success")
        node2 = self.cfg.node_by_name(NODE2_NAME).uuid
        self.assertEqual({i.primary_node for i in self.cfg.instances.values()},
                         {node2})

    def test_empty_group(self):
        """An empty group hands back no jobs."""
        result = self.assert_ok(self.run_op("OP_GROUP_EVACUATE",
                                            group_name="g1"))
        self.assertEqual(result, {"jobs": []})

    def test_refused(self):
        """No target group, or itself as target: refused."""
        self.assert_ok(self.run_op("OP_GROUP_SET_PARAMS", group_name="g1",
                                   alloc_policy="unallocable"))
        for params, text in [
                ({}, "There are no possible target groups"),
                ({"target_groups": ["default"]},
                 "Group to be evacuated (default) can not be used")]:
            self.assert_refused(self.run_op("OP_GROUP_EVACUATE",
                                            group_name="default", **params),
                                text)
