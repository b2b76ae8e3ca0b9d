"""
Tests for L{ganeti.cli.node}: the opcodes ``gnt-node`` command lines
submit, what the tool prints and its exit codes; with them the options
every job command shares (L{ganeti.cli.options}), the ``list`` commands
(L{ganeti.cli.listing}) and the tag commands (L{ganeti.cli.tags}).
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors, netutils
from ganeti.cli import node
from ganeti.cli.testing import FakeTool, query_result


class NodeToolTestCase(SynchronousTestCase):
    """Runs ``gnt-node`` on a fake master that knows node2's instances."""

    def setUp(self):
        self.tool = FakeTool(self, node)
        self.client = self.tool.client
        self.client.answers["Query"] = lambda what, fields, qfilter: \
            query_result(fields, [["node2", ["inst1", "inst2"]]])


class AddRemoveTests(NodeToolTestCase):
    """``gnt-node add`` and ``remove``."""

    def setUp(self):
        NodeToolTestCase.setUp(self)
        self.set_up = []
        self.patch(netutils, "resolve",
                   lambda name, paths: (name + ".example.com", "192.0.2.2"))
        self.patch(node, "_setup_node",
                   lambda name, paths: self.set_up.append(name))
        self.client.answers["QueryClusterInfo"] = {"name": "cluster"}

    def test_add(self):
        """The node is set up over ssh, then added by its resolved name."""
        op = self.tool.opcode("add", "-s", "198.51.100.2", "-g", "rack1",
                              "--master-capable", "no",
                              "--node-parameters", "spindle_count=2",
                              "node2")
        self.assertEqual(self.set_up, ["node2.example.com"])
        self.assertEqual(op, {
            "OP_ID": "OP_NODE_ADD", "node_name": "node2.example.com",
            "primary_ip": "192.0.2.2", "secondary_ip": "198.51.100.2",
            "readd": False, "group": "rack1", "master_capable": False,
            "vm_capable": None, "ndparams": {"spindle_count": "2"}})

    def test_add_setup_fails(self):
        """A failed node setup exits 12 and adds nothing."""
        def fail(name, paths):
            raise errors.OpExecError("ssh to node2 timed out")
        self.patch(node, "_setup_node", fail)
        code, _, err = self.tool.run("add", "node2")
        self.assertEqual((code, err),
                         (12, "Node setup failed: ssh to node2 timed out\n"))
        self.assertEqual(self.client.jobs, [])

    def test_add_invalid_name(self):
        """A name no host can have is refused before ssh runs, exit 1."""
        code, _, err = self.tool.run("add", "n$(touch /tmp/x)")
        self.assertEqual((code, err), (
            1, "Failure: prerequisites not met for this operation:\n"
               "error type: wrong_input, error details:\n"
               "Invalid hostname 'n$(touch /tmp/x)'\n"))
        self.assertEqual((self.set_up, self.client.jobs), ([], []))

    def test_add_without_master(self):
        """Without a master to answer, no node is set up."""
        def unreachable():
            raise errors.LuxiError("Cannot communicate with the master"
                                   " daemon.")
        self.client.answers["QueryClusterInfo"] = unreachable
        self.assertEqual(self.tool.run("add", "node2"), (
            1, "", "Cannot communicate with the master daemon.\n"))
        self.assertEqual(self.set_up, [])

    def test_add_normalised(self):
        """An upper-case name is added lower-cased, as Ganeti does."""
        op = self.tool.opcode("add", "NODE2")
        self.assertEqual((self.set_up, op["node_name"]),
                         (["node2.example.com"], "node2.example.com"))

    def test_remove(self):
        """remove names the node."""
        self.assertEqual(self.tool.opcode("remove", "node2"),
                         {"OP_ID": "OP_NODE_REMOVE", "node_name": "node2"})


class ModifyTests(NodeToolTestCase):
    """``gnt-node modify``."""

    def test_flags(self):
        """yes/no flags become booleans; flags not given are left out."""
        op = self.tool.opcode("modify", "-C", "yes", "--offline", "no",
                              "--auto-promote", "node2")
        self.assertEqual(op, {
            "OP_ID": "OP_NODE_SET_PARAMS", "node_name": "node2",
            "force": False, "auto_promote": True, "master_candidate": True,
            "offline": False})

    def test_prints_changes(self):
        """The changes the master reports are printed as Ganeti does."""
        self.client.op_results["OP_NODE_SET_PARAMS"] = [["drained", "True"]]
        code, out, _ = self.tool.run("modify", "-D", "yes", "node2")
        self.assertEqual((code, out),
                         (0, "Modified node node2\n - drained -> True\n"))

    def test_nothing_to_change(self):
        """Without a parameter it says so and exits 1."""
        code, _, err = self.tool.run("modify", "node2")
        self.assertEqual((code, err),
                         (1, "Please give at least one of the parameters.\n"))
        self.assertEqual(self.client.jobs, [])

    def test_bad_flag(self):
        """A flag that is neither yes nor no is a usage error."""
        code, _, err = self.tool.run("modify", "--drained", "maybe", "node2")
        self.assertEqual((code, err), (1, "Invalid value 'maybe' for option"
                                          " --drained: expected yes or no\n"))
        self.assertEqual(self.client.jobs, [])


class JobOptionsTests(NodeToolTestCase):
    """The options of every command that submits a job."""

    def test_submit(self):
        """--submit prints the job id and does not wait for the job."""
        code, out, err = self.tool.run("remove", "--submit", "node2")
        self.assertEqual((code, out, err), (0, "", "JobID: 1\n"))
        self.assertNotIn("WaitForJobChange",
                         [call[0] for call in self.client.calls])

    def test_print_jobid(self):
        """--print-jobid puts the bare id first on stdout."""
        self.assertEqual(self.tool.run("remove", "--print-jobid", "node2"),
                         (0, "1\n", ""))

    def test_priority_and_debug(self):
        """--priority and -d become the opcode's priority and debug level."""
        op = self.tool.opcode("remove", "--priority", "high", "-dd", "node2")
        self.assertEqual((op["priority"], op["debug_level"]), (-10, 2))

    def test_reason(self):
        """The reason trail names the tool and command, then --reason."""
        self.tool.run("remove", "--reason", "disk died", "node2")
        [[op]] = self.client.jobs
        self.assertEqual([entry[:2] for entry in op["reason"]],
                         [["gnt:client:gnt-node", "remove"],
                          ["gnt:user", "disk died"]])

    def test_bad_priority(self):
        """An unknown priority is refused by the parser with exit code 2."""
        code, _, err = self.tool.run("remove", "--priority", "urgent", "node2")
        self.assertEqual(code, 2)
        self.assertIn("invalid choice: 'urgent'", err)

    def test_failed_job(self):
        """A job's error is printed in Ganeti's words, with exit code 1."""
        self.client.op_results["OP_NODE_REMOVE"] = errors.OpPrereqError(
            "Node is the master", "wrong_input")
        code, _, err = self.tool.run("remove", "node2")
        self.assertEqual((code, err), (1, (
            "Failure: prerequisites not met for this operation:\n"
            "error type: wrong_input, error details:\nNode is the master\n")))


class MigrateTests(NodeToolTestCase):
    """``gnt-node migrate`` and ``failover``."""

    def hand_back(self, *ops):
        """The migration hands back one job per given opcode."""
        self.client.op_results["OP_NODE_MIGRATE"] = lambda op: {
            "jobs": [[True, self.client.add_job([o])] for o in ops]}

    def test_migrate(self):
        """The migration options reach the opcode; its jobs are followed."""
        self.hand_back({"OP_ID": "OP_INSTANCE_MIGRATE"})
        code, out, _ = self.tool.run("migrate", "-f", "--non-live",
                                     "--ignore-ipolicy", "node2")
        self.assertEqual(code, 0)
        self.assertEqual(self.client.submitted()[0], {
            "OP_ID": "OP_NODE_MIGRATE", "node_name": "node2",
            "mode": "non-live", "iallocator": None, "target_node": None,
            "allow_runtime_changes": True, "ignore_ipolicy": True})
        self.assertEqual(out.splitlines(), [
            "Submitted jobs 2", "Waiting for job 2 ...",
            "All instances migrated successfully."])

    def test_migration_mode(self):
        """--migration-mode gives the mode; no -f asks about the instances."""
        self.tool.run("migrate", "--migration-mode", "live", "node2")
        self.assertEqual(self.tool.questions, ["Migrate instance(s) inst1,"
                                               " inst2?"])
        self.assertEqual(self.client.submitted()[0]["mode"], "live")

    def test_both_modes(self):
        """--non-live and --migration-mode together are refused."""
        code, _, err = self.tool.run("migrate", "-f", "--non-live",
                                     "--migration-mode", "live", "node2")
        self.assertEqual(code, 1)
        self.assertIn("Only one of the --non-live and --migration-mode"
                      " options can be passed", err)
        self.assertEqual(self.client.jobs, [])

    def test_refused(self):
        """Answering no exits 13 without a job."""
        self.tool.confirm = False
        self.assertEqual(self.tool.run("migrate", "node2")[0], 13)
        self.assertEqual(self.client.jobs, [])

    def test_no_instances(self):
        """A node without primary instances needs no job."""
        self.client.answers["Query"] = query_result(["name", "pinst_list"],
                                                    [["node2", []]])
        self.assertEqual(self.tool.run("migrate", "node2"), (
            0, "No primary instances on node node2, exiting.\n", ""))
        self.assertEqual(self.client.jobs, [])

    def test_unknown_node(self):
        """An unknown node is a prerequisite failure, before any question."""
        self.client.answers["Query"] = query_result(["name"], [])
        code, _, err = self.tool.run("migrate", "node9")
        self.assertEqual(code, 1)
        self.assertIn("Node 'node9' is unknown", err)
        self.assertEqual(self.tool.questions, [])

    def test_migrate_job_fails(self):
        """A failed handed-back job is counted and the exit code is 1."""
        self.client.op_results["OP_INSTANCE_MIGRATE"] = errors.OpExecError(
            "hypervisor refused")
        self.hand_back({"OP_ID": "OP_INSTANCE_MIGRATE"})
        code, out, err = self.tool.run("migrate", "-f", "node2")
        self.assertEqual(code, 1)
        self.assertIn("There were 1 errors during the node migration.", out)
        self.assertIn("Job 2 has failed: Failure: command execution error:\n"
                      "hypervisor refused", err)

    def test_failover(self):
        """One failover job per primary instance, submitted at once."""
        code, out, _ = self.tool.run("failover", "-f", "--ignore-consistency",
                                     "node2")
        self.assertEqual(code, 0)
        self.assertEqual(self.client.submitted(), [
            {"OP_ID": "OP_INSTANCE_FAILOVER", "instance_name": name,
             "ignore_consistency": True, "iallocator": None,
             "target_node": None} for name in ("inst1", "inst2")])
        self.assertIn("SubmitManyJobs", [call[0] for call in self.client.calls])
        self.assertIn("All 2 instance(s) failed over successfully.", out)


class EvacuateTests(NodeToolTestCase):
    """``gnt-node evacuate``."""

    def test_secondary_only(self):
        """-s evacuates secondaries to the -n node."""
        self.client.op_results["OP_NODE_EVACUATE"] = {"jobs": []}
        code, out, _ = self.tool.run("evacuate", "-f", "-s", "-n", "node3",
                                     "node2")
        self.assertEqual(code, 0)
        self.assertEqual(self.client.submitted(), [{
            "OP_ID": "OP_NODE_EVACUATE", "node_name": "node2",
            "mode": "secondary-only", "remote_node": "node3",
            "iallocator": None, "early_release": False,
            "ignore_soft_errors": False}])
        self.assertEqual(out, "All instances evacuated successfully.\n")
        self.assertEqual([call[0] for call in self.client.calls],
                         ["Query", "SubmitJob", "WaitForJobChange"])

    def test_primary_and_secondary_only(self):
        """-p and -s together are refused."""
        code, _, err = self.tool.run("evacuate", "-p", "-s", "node2")
        self.assertEqual(code, 1)
        self.assertIn("Only one of the --primary-only and --secondary-only"
                      " options can be passed", err)

    def test_allocator_and_node(self):
        """-I and -n together are refused."""
        code, _, err = self.tool.run("evacuate", "-I", "hail", "-n", "node3",
                                     "node2")
        self.assertEqual(code, 1)
        self.assertIn("Specify either an iallocator (-I), or a target node"
                      " (-n) but not both", err)
        self.assertEqual(self.client.jobs, [])


class StorageTests(NodeToolTestCase):
    """The storage commands."""

    def test_modify_storage(self):
        """--allocatable no clears a PV's allocatable flag."""
        self.assertEqual(self.tool.opcode("modify-storage", "--allocatable",
                                          "no", "node2", "lvm-pv", "/dev/sdb"),
                         {"OP_ID": "OP_NODE_MODIFY_STORAGE",
                          "node_name": "node2", "storage_type": "lvm-pv",
                          "name": "/dev/sdb",
                          "changes": {"allocatable": False}})

    def test_unknown_storage_type(self):
        """An unknown storage type is refused before any job."""
        code, _, err = self.tool.run("repair-storage", "node2", "tape", "t0")
        self.assertEqual(code, 1)
        self.assertIn("Unknown storage type: tape", err)
        self.assertEqual(self.client.jobs, [])

    def test_list_storage(self):
        """list-storage prints the job's rows under the asked-for fields."""
        self.client.op_results["OP_NODE_QUERY_STORAGE"] = [
            ["node2", "xenvg", 10240]]
        code, out, _ = self.tool.run("list-storage", "-o", "node,name,size",
                                     "--units", "m", "node2")
        self.assertEqual(self.client.submitted()[0]["output_fields"],
                         ["node", "name", "size"])
        self.assertEqual(out.splitlines(), ["Node  Name   Size",
                                            "node2 xenvg 10240"])

    def test_list_storage_allocatable(self):
        """The allocatable flag prints as Y or N, as Ganeti's tool does."""
        self.client.op_results["OP_NODE_QUERY_STORAGE"] = [
            ["/dev/vdb", True], ["/dev/vdc", False]]
        code, out, _ = self.tool.run("list-storage", "-t", "lvm-pv", "-o",
                                     "name,allocatable", "--no-headers")
        self.assertEqual((code, out.splitlines()),
                         (0, ["/dev/vdb Y", "/dev/vdc N"]))


class ListTests(NodeToolTestCase):
    """``gnt-node list`` and ``list-fields``."""

    def test_list(self):
        """The named nodes are queried for the -o fields and printed."""
        self.client.answers["Query"] = query_result(["name", "pinst_cnt"],
                                                    [["node2", "2"]])
        code, out, _ = self.tool.run("list", "--no-headers", "-o",
                                     "name,pinst_cnt", "node2")
        self.assertEqual((code, out), (0, "node2 2\n"))
        [(method, what, fields, qfilter)] = self.client.calls
        self.assertEqual((what, fields, qfilter),
                         ("node", ["name", "pinst_cnt"],
                          ["|", ["==", "name", "node2"]]))

    def test_unknown_field(self):
        """An unknown field warns and exits 14."""
        self.client.answers["Query"] = {
            "fields": [{"name": "nosuch", "title": "nosuch", "kind": "unknown",
                        "doc": "Unknown field 'nosuch'"}],
            "data": [[[1, None]]]}
        code, _, err = self.tool.run("list", "-o", "nosuch")
        self.assertEqual(code, 14)
        self.assertEqual(err, "Warning: Queried for unknown fields nosuch\n")


class TagTests(NodeToolTestCase):
    """The tag commands, here for nodes."""

    def test_add_tags(self):
        """add-tags sets the tags given and those of --from."""
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("rack:1\n\nrow:2\n")
        self.assertEqual(self.tool.opcode("add-tags", "--from", path, "node2",
                                          "ssd"),
                         {"OP_ID": "OP_TAGS_SET", "kind": "node",
                          "name": "node2", "tags": ["ssd", "rack:1", "row:2"]})

    def test_no_tags(self):
        """remove-tags without tags is refused."""
        code, _, err = self.tool.run("remove-tags", "node2")
        self.assertEqual(code, 1)
        self.assertIn("No tags to be added/removed", err)

    def test_list_tags(self):
        """list-tags prints one tag a line."""
        self.client.op_results["OP_TAGS_GET"] = ["a", "b"]
        self.assertEqual(self.tool.run("list-tags", "node2"), (0, "a\nb\n", ""))
        self.assertEqual(self.client.submitted(), [
            {"OP_ID": "OP_TAGS_GET", "kind": "node", "name": "node2"}])
