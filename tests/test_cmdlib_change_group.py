"""
Tests for L{ganeti.cmdlib.instance.change_group}: moving an instance to
another node group as an allocator plans it (a few-line script answering
what a test wants), through the real queue, locks and config writer of an
in-process two-node master whose second node is in another group.
"""

import json
import os
import sys

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.test_hooks import env_dump, read_env
from tests.util import NODE2_NAME, SETTINGS, finished_job, two_node_cluster

NODE1 = SETTINGS["node_name"]
NAME = "inst1.example.com"


def _run(queue, op_id, **params):
    """:return: the finished job of one opcode (a queue on a Clock)."""
    return queue.get(queue.submit([dict(params, OP_ID=op_id)]))


def _two_groups(testcase, queue):
    """Put node2 into a new group ``g1`` and create a stopped instance."""
    for op_id, params in [
            ("OP_GROUP_ADD", {"group_name": "g1"}),
            ("OP_GROUP_ASSIGN_NODES", {"group_name": "g1",
                                       "nodes": [NODE2_NAME]})]:
        job = _run(queue, op_id, **params)
        testcase.assertEqual(job.status, "success", job.ops[0].result)
    return {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": NAME,
            "disk_template": "diskless", "disks": [], "nics": [],
            "pnode": NODE1, "os_type": "", "no_install": True,
            "start": False, "hypervisor": "fake"}


class PrerequisiteTests(SynchronousTestCase):
    """What is refused before any allocator runs."""

    def setUp(self):
        self.master = two_node_cluster(self)
        self.queue = self.master.queue
        create = _two_groups(self, self.queue)
        job = self.queue.get(self.queue.submit([create]))
        self.assertEqual(job.status, "success", job.ops[0].result)

    def assert_refused(self, text, kind="OpPrereqError", **params):
        job = _run(self.queue, "OP_INSTANCE_CHANGE_GROUP",
                   **dict({"instance_name": NAME}, **params))
        self.assertEqual(job.status, "error")
        self.assertEqual(job.ops[0].result[0], kind)
        self.assertEqual(job.ops[0].result[1][0], text)
        return job.ops[0].result[1][1]

    def test_no_allocator(self):
        """Without an allocator and no cluster default: Ganeti's refusal."""
        self.assertEqual(self.assert_refused(
            "No iallocator was specified, neither in the opcode nor as a"
            " cluster-wide default"), "wrong_input")

    def test_own_group(self):
        """The instance's own group cannot be a target."""
        self.assert_refused("Can't use group(s) 'default' as targets, they"
                            " are used by the instance '%s'" % NAME,
                            iallocator="hail",
                            target_groups=["g1", "default"])

    def test_no_other_group(self):
        """With one group only, there is nowhere to go."""
        for op_id, params in [
                ("OP_GROUP_ASSIGN_NODES", {"group_name": "default",
                                           "nodes": [NODE2_NAME]}),
                ("OP_GROUP_REMOVE", {"group_name": "g1"})]:
            self.assertEqual(_run(self.queue, op_id, **params).status,
                             "success")
        self.assert_refused("There are no possible target groups",
                            iallocator="hail")

    def test_unknown(self):
        """Unknown instances, groups and allocators are refused."""
        self.assertEqual(self.assert_refused(
            "Instance 'inst9.example.com' not known", iallocator="hail",
            instance_name="inst9.example.com"), "noent")
        self.assertEqual(self.assert_refused(
            "Node group 'rack9' not found", iallocator="hail",
            target_groups=["rack9"]), "noent")
        self.assertEqual(self.assert_refused(
            "Can't find allocator script 'no-such-alloc' in %s"
            % ", ".join(self.master.paths.iallocator_search_path),
            iallocator="no-such-alloc"), "environment_error")


class AllocatorTests(TestCase):
    """
    The allocator's plan, end to end: on the real reactor, as the
    allocator is a real process.
    """

    def setUp(self):
        self.master = two_node_cluster(self, clock=reactor, reactor=reactor)
        self.queue = self.master.queue
        self.addCleanup(self.queue.stopService)
        self.create = _two_groups(self, self.queue)

    def install(self, answer):
        """
        Install the allocator ``scripted``: it keeps its input next to
        itself and prints C{answer}.
        """
        directory = self.master.paths.iallocator_search_path[0]
        os.makedirs(directory, exist_ok=True)
        script = os.path.join(directory, "scripted")
        self.seen = script + ".seen"
        with open(script, "w") as f:
            f.write("#!%s\nimport shutil, sys\nshutil.copy(sys.argv[1], %r)\n"
                    "sys.stdout.write(%r)\n"
                    % (sys.executable, self.seen, json.dumps(answer)))
        os.chmod(script, 0o755)

    @inlineCallbacks
    def change_group(self, **params):
        """:return: (Deferred) the finished change-group job."""
        job = yield finished_job(self.queue, [self.create])
        self.assertEqual(job.status, "success", job.ops[0].result)
        job = yield finished_job(self.queue, [dict(
            {"OP_ID": "OP_INSTANCE_CHANGE_GROUP", "instance_name": NAME,
             "iallocator": "scripted"}, **params)])
        return job

    def primary(self):
        cfg = self.master.config.config
        return cfg.nodes[cfg.instance_by_name(NAME).primary_node].name

    @inlineCallbacks
    def test_move(self):
        """
        The allocator gets a change-group request for the instance and
        the other groups; the job it plans is handed back and moves it.
        """
        self.install({"success": True, "info": "", "result": [
            [[NAME, "g1", [NODE2_NAME]]], [],
            [[{"OP_ID": "OP_INSTANCE_FAILOVER", "instance_name": NAME,
               "target_node": NODE2_NAME, "iallocator": None}]]]})
        job = yield self.change_group()
        self.assertEqual(job.status, "success", job.ops[0].result)
        with open(self.seen) as f:
            request = json.load(f)["request"]
        g1 = self.master.config.config.group_by_name("g1").uuid
        self.assertEqual(request, {"type": "change-group",
                                   "instances": [NAME],
                                   "target_groups": [g1]})
        self.assertEqual([entry[3] for entry in job.ops[0].log], [
            " - INFO: Instances to be moved: %s (to g1)" % NAME,
            " - INFO: Iallocator returned 1 job(s) for changing group of"
            " instance '%s'" % NAME])
        [[ok, job_id]] = job.ops[0].result["jobs"]
        self.assertTrue(ok, job_id)
        yield self.queue.when_finalized(job_id)
        moved = self.queue.get(job_id)
        self.assertEqual(moved.status, "success", moved.ops[0].result)
        self.assertEqual(self.primary(), NODE2_NAME)

    @inlineCallbacks
    def test_hooks(self):
        """
        instance-change-group hooks run on the master with the target
        groups (uuids, as Ganeti gives them) beside the instance's
        variables.
        """
        self.install({"success": True, "info": "", "result": [[], [], []]})
        dump = env_dump(self.master.paths, "instance-change-group-pre.d")
        job = yield self.change_group()
        self.assertEqual(job.status, "success", job.ops[0].result)
        env = read_env(dump)
        self.assertEqual(
            (env["GANETI_HOOKS_PATH"], env["GANETI_OBJECT_TYPE"],
             env["GANETI_INSTANCE_NAME"], env["GANETI_TARGET_GROUPS"]),
            ("instance-change-group", "INSTANCE", NAME,
             self.master.config.config.group_by_name("g1").uuid))

    @inlineCallbacks
    def test_default_allocator(self):
        """The cluster's default allocator plans when none is given."""
        self.install({"success": True, "info": "", "result": [[], [], []]})
        job = yield finished_job(self.queue, [{
            "OP_ID": "OP_CLUSTER_SET_PARAMS",
            "default_iallocator": "scripted"}])
        self.assertEqual(job.status, "success", job.ops[0].result)
        job = yield self.change_group(iallocator=None, target_groups=["g1"])
        self.assertEqual((job.status, job.ops[0].result),
                         ("success", {"jobs": []}))

    @inlineCallbacks
    def test_no_solution(self):
        """An allocator that cannot place: Ganeti's words and its reason."""
        self.install({"success": False, "info": "no room in g1",
                      "result": []})
        job = yield self.change_group()
        self.assertEqual((job.status, job.ops[0].result), ("error", [
            "OpPrereqError", [
                "Can't compute solution for changing group of instance"
                " '%s' using iallocator 'scripted': no room in g1" % NAME,
                "insufficient_resources"]]))
        self.assertEqual(self.primary(), NODE1)

    @inlineCallbacks
    def test_failed_instances(self):
        """Instances the plan cannot move fail the opcode; nothing moves."""
        self.install({"success": True, "info": "", "result": [
            [], [[NAME, "not enough memory"]], []]})
        job = yield self.change_group()
        self.assertEqual(job.status, "error")
        self.assertEqual(job.ops[0].result[:2], [
            "OpExecError", ["Unable to evacuate instances %s (not enough"
                            " memory)" % NAME]])
        self.assertEqual(self.primary(), NODE1)
