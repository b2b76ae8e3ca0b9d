"""
Tests for L{ganeti.cli.group}: the opcodes ``gnt-group`` command lines
submit, what the tool prints and its exit codes.
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti.cli import group
from ganeti.cli.testing import FakeTool, query_result


class GroupToolTestCase(SynchronousTestCase):
    """Runs ``gnt-group`` on a fake master."""

    def setUp(self):
        self.tool = FakeTool(self, group)
        self.client = self.tool.client


class AddModifyTests(GroupToolTestCase):
    """``gnt-group add`` and ``modify``: the group parameters."""

    def test_add(self):
        """Every group parameter reaches the opcode; ratios are numbers."""
        op = self.tool.opcode(
            "add", "--alloc-policy", "last_resort", "--node-parameters",
            "oob_program=/bin/oob", "-D", "plain:stripes=2", "-D", "drbd",
            "--hypervisor-state", "kvm:mem_total=4096",
            "--ipolicy-disk-templates", "plain,drbd",
            "--ipolicy-vcpu-ratio", "4", "--ipolicy-spindle-ratio", "default",
            "rack1")
        self.assertEqual(op, {
            "OP_ID": "OP_GROUP_ADD", "group_name": "rack1",
            "alloc_policy": "last_resort",
            "ndparams": {"oob_program": "/bin/oob"},
            "diskparams": {"plain": {"stripes": "2"}, "drbd": {}},
            "hv_state": {"kvm": {"mem_total": "4096"}},
            "ipolicy": {"disk-templates": ["plain", "drbd"],
                        "vcpu-ratio": 4.0, "spindle-ratio": "default"}})

    def test_bad_ratio(self):
        """A ratio that is no number is a usage error."""
        self.assertEqual(self.tool.run("add", "--ipolicy-vcpu-ratio", "many",
                                       "rack1"),
                         (1, "", "Invalid value 'many' for option"
                                 " --ipolicy-vcpu-ratio: expected a number\n"))
        self.assertEqual(self.client.jobs, [])

    def test_bad_policy(self):
        """An unknown allocation policy is refused by the parser."""
        code, _, err = self.tool.run("add", "--alloc-policy", "never", "rack1")
        self.assertEqual(code, 2)
        self.assertIn("invalid choice: 'never'", err)

    def test_modify(self):
        """modify prints the changes the master reports."""
        self.client.op_results["OP_GROUP_SET_PARAMS"] = [
            ["alloc_policy", "unallocable"]]
        code, out, _ = self.tool.run("modify", "--alloc-policy", "unallocable",
                                     "rack1")
        self.assertEqual(self.client.submitted(), [{
            "OP_ID": "OP_GROUP_SET_PARAMS", "group_name": "rack1",
            "alloc_policy": "unallocable"}])
        self.assertEqual(out, "Modified node group rack1\n"
                              " - alloc_policy -> unallocable\n")

    def test_modify_nothing(self):
        """modify without a parameter says so and exits 1."""
        self.assertEqual(self.tool.run("modify", "rack1"), (
            1, "", "Please give at least one of the parameters.\n"))


class MembershipTests(GroupToolTestCase):
    """remove, rename, assign-nodes and the tags of groups."""

    def test_rename_remove(self):
        """rename and remove name their groups."""
        self.tool.run("rename", "--dry-run", "rack1", "rack9")
        self.tool.run("remove", "rack9")
        self.assertEqual(self.client.submitted(), [
            {"OP_ID": "OP_GROUP_RENAME", "group_name": "rack1",
             "new_name": "rack9", "dry_run": True},
            {"OP_ID": "OP_GROUP_REMOVE", "group_name": "rack9"}])

    def test_assign_nodes(self):
        """assign-nodes moves the nodes given, --force passed on."""
        self.assertEqual(self.tool.opcode("assign-nodes", "--force", "rack1",
                                          "node2", "node3"), {
            "OP_ID": "OP_GROUP_ASSIGN_NODES", "group_name": "rack1",
            "nodes": ["node2", "node3"], "force": True})

    def test_tags(self):
        """Group tags are of the nodegroup kind."""
        self.assertEqual(self.tool.opcode("add-tags", "rack1", "cold"), {
            "OP_ID": "OP_TAGS_SET", "kind": "nodegroup", "name": "rack1",
            "tags": ["cold"]})


class EvacuateTests(GroupToolTestCase):
    """``gnt-group evacuate``."""

    def test_evacuate(self):
        """The targets reach the opcode; the handed-back jobs are followed."""
        self.client.op_results["OP_GROUP_EVACUATE"] = lambda op: {"jobs": [
            [True, self.client.add_job([{"OP_ID": "OP_INSTANCE_MIGRATE"}])]]}
        code, out, _ = self.tool.run("evacuate", "-I", "hail", "--to", "rack2",
                                     "--to", "rack3", "--sequential", "rack1")
        self.assertEqual(code, 0)
        self.assertEqual(self.client.submitted()[0], {
            "OP_ID": "OP_GROUP_EVACUATE", "group_name": "rack1",
            "iallocator": "hail", "target_groups": ["rack2", "rack3"],
            "sequential": True, "force_failover": False})
        self.assertEqual(out.splitlines()[-1],
                         "All instances evacuated successfully.")

    def test_nothing_to_evacuate(self):
        """An empty group needs no job and says so."""
        self.client.op_results["OP_GROUP_EVACUATE"] = {"jobs": []}
        self.assertEqual(self.tool.run("evacuate", "rack1"), (
            0, "No instances to evacuate on node group(s) rack1, exiting.\n",
            ""))

    def test_job_not_submitted(self):
        """A job the master could not submit counts as an error."""
        self.client.op_results["OP_GROUP_EVACUATE"] = {
            "jobs": [[False, "queue full"]]}
        code, out, err = self.tool.run("evacuate", "rack1")
        self.assertEqual(code, 1)
        self.assertEqual(err, "Failed to submit job: queue full\n")
        self.assertIn("There were 1 errors during the evacuation.", out)


class InfoTests(GroupToolTestCase):
    """``gnt-group info``."""

    def setUp(self):
        GroupToolTestCase.setUp(self)
        self.client.answers["Query"] = query_result(
            ["name", "ndparams", "custom_ndparams", "diskparams",
             "custom_diskparams", "ipolicy", "custom_ipolicy"],
            [["rack1", {"spindle_count": 1, "oob_program": "/bin/oob"},
              {"oob_program": "/bin/oob"},
              {"plain": {"stripes": 1}}, {}, {"vcpu-ratio": 4.0}, {}]])

    def test_inherited(self):
        """Inherited values are shown as ``default (value)``."""
        code, out, _ = self.tool.run("info", "rack1")
        self.assertEqual(out.splitlines(), [
            "- Node group: rack1", "  Node parameters: ",
            "    oob_program: /bin/oob", "    spindle_count: default (1)",
            "  Disk parameters: ", "    plain: ",
            "      stripes: default (1)", "  Instance policy: ",
            "    vcpu-ratio: default (4.0)"])

    def test_unknown(self):
        """An unknown group is an error."""
        code, _, err = self.tool.run("info", "rack1", "rack7")
        self.assertEqual(code, 1)
        self.assertIn("Node group 'rack7' not found", err)
