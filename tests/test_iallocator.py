"""
Tests for L{ganeti.iallocator}: the input document of every request type,
running an allocator (a few-line script answering what a test wants) and
checking its answer, and placement end to end with htools' real ``hail``.
"""

import json
import os
import sys

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti import errors, iallocator
from ganeti.cmdlib import allocators
from ganeti.cmdlib.base import MasterContext
from ganeti.paths import Paths
from tests.util import NODE2_NAME, SETTINGS, finished_job, two_node_cluster

NODE1 = SETTINGS["node_name"]
NODE2 = NODE2_NAME
NAME = "inst1.example.com"


def create(name=NAME, **params):
    """:return: an OP_INSTANCE_CREATE for a running diskless fake instance."""
    return dict({"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name,
                 "disk_template": "diskless", "disks": [], "nics": [{}],
                 "no_install": True, "hypervisor": "fake", "start": True,
                 "beparams": {"maxmem": 256, "minmem": 256}}, **params)


def alloc_request(name="new.example.com"):
    request = iallocator.allocate_request(
        name, "file", [{"size": 1024, "mode": "rw"}],
        [{"mac": "aa:00:00:00:00:01", "ip": None, "mode": "bridged",
          "link": "br0"}], 1, 128, "debootstrap", "fake")
    return dict(request, type=iallocator.MODE_ALLOC)


#: The keys Ganeti's iallocator documentation lists.
TOP_KEYS = {"version", "cluster_name", "cluster_tags", "enabled_hypervisors",
            "ipolicy", "nodegroups", "nodes", "instances", "request"}
GROUP_KEYS = {"name", "alloc_policy", "networks", "ipolicy", "tags"}
NODE_STATIC_KEYS = {"tags", "primary_ip", "secondary_ip", "group",
                    "master_candidate", "master_capable", "vm_capable",
                    "drained", "offline", "ndparams"}
NODE_RUNTIME_KEYS = {"total_memory", "reserved_memory", "free_memory",
                     "total_disk", "free_disk", "total_spindles",
                     "free_spindles", "total_cpus", "reserved_cpus",
                     "i_pri_memory", "i_pri_up_memory"}
INSTANCE_KEYS = {"tags", "admin_state", "vcpus", "memory", "spindle_use",
                 "os", "nodes", "nics", "disks", "disk_template",
                 "disks_active", "hypervisor", "disk_space_total"}
ALLOC_KEYS = {"type", "name", "required_nodes", "disk_space_total", "disks",
              "nics", "vcpus", "memory", "spindle_use", "disk_template", "os",
              "tags", "hypervisor"}


class InputTests(SynchronousTestCase):
    """The input document, per request type."""

    def setUp(self):
        self.master = two_node_cluster(self)
        queue = self.master.queue
        job = queue.get(queue.submit([create(pnode=NODE1)]))
        self.assertEqual(job.status, "success", job.ops[-1].result)
        self.cfg = self.master.config.config

    def document(self, request):
        return self.successResultOf(
            allocators.build_input(self.master.context, request))

    def test_shape(self):
        """Cluster, groups, nodes and instances carry Ganeti's keys."""
        doc = self.document(alloc_request())
        self.assertEqual(set(doc), TOP_KEYS)
        self.assertEqual(doc["version"], 2)
        self.assertEqual(doc["cluster_name"], SETTINGS["cluster_name"])
        [group] = doc["nodegroups"].values()
        self.assertEqual(set(group), GROUP_KEYS)
        self.assertEqual(set(doc["nodes"]), {NODE1, NODE2})
        for node in doc["nodes"].values():
            self.assertEqual(set(node), NODE_STATIC_KEYS | NODE_RUNTIME_KEYS)
            self.assertIn(node["group"], doc["nodegroups"])
        instance = doc["instances"][NAME]
        self.assertEqual(set(instance), INSTANCE_KEYS)
        self.assertEqual(instance["nodes"], [NODE1])
        self.assertEqual(instance["memory"], 256)
        self.assertEqual(doc["nodes"][NODE1]["i_pri_up_memory"], 256)
        self.assertEqual(doc["nodes"][NODE2]["i_pri_memory"], 0)

    def test_offline_node_static_only(self):
        """An offline node is described without runtime figures."""
        import attrs
        self.master.config.update(lambda cfg: attrs.evolve(cfg, nodes=dict(
            cfg.nodes, **{"node2-uuid": attrs.evolve(
                cfg.nodes["node2-uuid"], offline=True)})))
        doc = self.document(alloc_request())
        self.assertEqual(set(doc["nodes"][NODE2]), NODE_STATIC_KEYS)

    def test_allocate(self):
        """An allocation asks for one node and totals the disks."""
        request = self.document(alloc_request())["request"]
        self.assertEqual(set(request), ALLOC_KEYS)
        self.assertEqual(request["required_nodes"], 1)
        self.assertEqual(request["disk_space_total"], 1024)

    def test_relocate(self):
        """A relocation names the instance and the node it leaves."""
        request = iallocator.relocate_request(
            self.cfg, self.cfg.instance_by_name(NAME))
        self.assertEqual(request, {
            "type": "relocate", "name": NAME, "required_nodes": 1,
            "disk_space_total": 0, "relocate_from": [NODE1]})
        self.assertEqual(self.document(request)["request"], request)

    def test_disk_space_total(self):
        """DRBD counts its metadata; storage off the nodes counts nothing."""
        disks = [{"size": 1024}, {"size": 512}]
        self.assertEqual(iallocator.disk_space_total("plain", disks), 1536)
        self.assertEqual(iallocator.disk_space_total("drbd", disks), 1792)
        self.assertEqual(iallocator.disk_space_total("blockdev", disks), 0)

    def test_drbd_needs_two_nodes(self):
        """A mirrored allocation asks for a primary and a secondary."""
        request = iallocator.allocate_request(
            "x", "drbd", [{"size": 1}], [], 1, 128, "os", "fake")
        self.assertEqual(request["required_nodes"], 2)


class ChooseTests(SynchronousTestCase):
    """Ganeti's rule: allocator, else nodes, else the cluster default."""

    def setUp(self):
        import attrs
        cluster = two_node_cluster(self).config.config.cluster
        self.plain = cluster
        self.with_default = attrs.evolve(cluster, default_iallocator="hail")

    def test_rule(self):
        """The explicit allocator, none with a node, else the default."""
        self.assertEqual(iallocator.choose(self.plain, "mine"), "mine")
        self.assertIsNone(iallocator.choose(self.with_default, None, NODE1))
        self.assertEqual(iallocator.choose(self.with_default, None, None),
                         "hail")
        self.assertIsNone(iallocator.choose(self.plain, None, None))
        self.assertEqual(iallocator.choose(self.with_default, "."), "hail")

    def test_both_refused(self):
        """An allocator and a node together are refused."""
        self.assertRaises(errors.OpPrereqError, iallocator.choose,
                          self.plain, "hail", NODE1)

    def test_dot_without_default(self):
        """``.`` needs a cluster default."""
        self.assertRaises(errors.OpPrereqError, iallocator.choose,
                          self.plain, ".")


class RunTests(TestCase):
    """Running an allocator: a script in the root's search path."""

    def setUp(self):
        self.master = two_node_cluster(self)
        self.ctx = MasterContext(self.master.config, self.master.paths,
                                 reactor, rpc=self.master.context.rpc)

    def install(self, name, stdout, exit_code=0):
        """
        Install an allocator C{name} that saves its input and arguments
        next to itself, prints C{stdout} and exits with C{exit_code}.
        """
        directory = self.master.paths.iallocator_search_path[0]
        os.makedirs(directory, exist_ok=True)
        script = os.path.join(directory, name)
        self.saved = script + ".seen"
        with open(script, "w") as f:
            f.write("#!%s\nimport json, shutil, sys\n"
                    "shutil.copy(sys.argv[1], %r)\n"
                    "open(%r, 'w').write(json.dumps(sys.argv[2:]))\n"
                    "sys.stdout.write(%r)\nsys.exit(%d)\n"
                    % (sys.executable, self.saved, self.saved + ".argv",
                       stdout, exit_code))
        os.chmod(script, 0o755)

    @inlineCallbacks
    def test_good_answer(self):
        """The checked result comes back; the input file is removed."""
        self.install("fixed", json.dumps(
            {"success": True, "info": "ok", "result": [NODE2]}))
        result = yield allocators.run(self.ctx, "fixed", alloc_request(),
                                      params={"seed": 1})
        self.assertEqual(result, [NODE2])
        with open(self.saved) as f:
            self.assertEqual(json.load(f)["request"]["name"], "new.example.com")
        with open(self.saved + ".argv") as f:
            self.assertEqual(json.load(f), ["--seed=1"])
        self.assertEqual([n for n in os.listdir(self.master.paths.run_dir)
                          if n.startswith("ialloc-")], [])

    @inlineCallbacks
    def test_legacy_nodes_key(self):
        """Protocol version 1's ``nodes`` key is accepted."""
        self.install("old", json.dumps(
            {"success": True, "info": "", "nodes": [NODE1]}))
        result = yield allocators.run(self.ctx, "old", alloc_request())
        self.assertEqual(result, [NODE1])

    @inlineCallbacks
    def test_unsuccessful(self):
        """``success: false`` is a prerequisite error quoting C{info}."""
        self.install("full", json.dumps(
            {"success": False, "info": "no space anywhere", "result": []}))
        yield self.assertFailure(
            allocators.run(self.ctx, "full", alloc_request()),
            errors.OpPrereqError).addCallback(
                lambda e: self.assertIn("no space anywhere", str(e)))

    @inlineCallbacks
    def test_malformed(self):
        """Non-JSON, missing keys and unknown nodes are execution errors."""
        for answer in ["not json", json.dumps({"success": True}),
                       json.dumps({"success": True, "info": "",
                                   "result": ["nowhere.example.com"]}),
                       json.dumps({"success": True, "info": "",
                                   "result": [NODE1, NODE2]})]:
            self.install("bad", answer)
            yield self.assertFailure(
                allocators.run(self.ctx, "bad", alloc_request()),
                errors.OpExecError)

    @inlineCallbacks
    def test_failing_script(self):
        """A non-zero exit is an execution error showing the output."""
        self.install("crash", "it broke", exit_code=3)
        error = yield self.assertFailure(
            allocators.run(self.ctx, "crash", alloc_request()),
            errors.OpExecError)
        self.assertIn("it broke", str(error))

    def test_missing(self):
        """An allocator found nowhere is refused before anything runs."""
        self.failureResultOf(
            allocators.run(self.ctx, "no-such-alloc", alloc_request()),
            errors.OpPrereqError)
        self.failureResultOf(
            allocators.run(self.ctx, "../hail", alloc_request()),
            errors.OpPrereqError)

    @inlineCallbacks
    def test_evacuation_answer(self):
        """Evacuation jobs keep only known opcode parameters."""
        self.install("evac", json.dumps({"success": True, "info": "", "result": [
            [[NAME, "default", [NODE2]]], [],
            [[{"OP_ID": "OP_INSTANCE_MIGRATE", "instance_name": NAME,
               "target_node": NODE2, "from_the_future": 1,
               "iallocator": None}]]]}))
        request = {"type": "node-evacuate", "instances": [NAME],
                   "evac_mode": "all"}
        result = yield allocators.run(self.ctx, "evac", request)

        class LU:
            def log_info(self, message):
                pass
        self.assertEqual(iallocator.evacuation_jobs(LU(), result), {"jobs": [
            [{"OP_ID": "OP_INSTANCE_MIGRATE", "instance_name": NAME,
              "target_node": NODE2}]]})

    @inlineCallbacks
    def test_multi_alloc_partial(self):
        """
        An instance the allocator cannot place fails the request, unless
        opportunistic locking lets the others go ahead.
        """
        # The job runs the allocator as a real process.
        self.master = two_node_cluster(self, clock=reactor, reactor=reactor)
        self.addCleanup(self.master.queue.stopService)
        self.install("half", json.dumps(
            {"success": True, "info": "",
             "result": [[["a.example.com", [NODE2]]], ["b.example.com"]]}))
        ops = [create("a.example.com"), create("b.example.com")]
        job = yield finished_job(self.master.queue, [{
            "OP_ID": "OP_INSTANCE_MULTI_ALLOC", "iallocator": "half",
            "instances": ops}])
        self.assertEqual(job.status, "error")
        self.assertIn("b.example.com", job.ops[0].result[1][0])
        job = yield finished_job(self.master.queue, [{
            "OP_ID": "OP_INSTANCE_MULTI_ALLOC", "iallocator": "half",
            "opportunistic_locking": True, "instances": ops}])
        self.assertEqual(job.status, "success", job.ops[0].result)
        result = job.ops[0].result
        self.assertEqual((result["allocatable"], result["failed"]),
                         (["a.example.com"], ["b.example.com"]))
        [(ok, job_id)] = result["jobs"]
        created = self.master.queue.get(job_id)
        self.assertEqual(created.ops[0].input["pnode"], NODE2)

    def test_debug_input(self):
        """``gnt-debug iallocator --dir in`` shows the document as built."""
        job = self.successResultOf(finished_job(self.master.queue, [{
            "OP_ID": "OP_TEST_ALLOCATOR", "direction": "in",
            "mode": "allocate", "name": "new.example.com", "memory": 64,
            "vcpus": 1, "disks": [{"size": 1024, "mode": "rw"}]}]))
        self.assertEqual(job.status, "success", job.ops[0].result)
        document = json.loads(job.ops[0].result)
        self.assertEqual(set(document), TOP_KEYS)
        self.assertEqual((document["request"]["type"],
                          document["request"]["memory"]), ("allocate", 64))

    def test_debug_refusals(self):
        """Unknown instances, missing sizes and allocators are refused."""
        for params, message in (
                ({"mode": "relocate", "name": "nosuch"}, "'nosuch' not known"),
                ({"mode": "allocate", "name": "x"}, "memory or vcpus"),
                ({"mode": "allocate", "name": "x", "memory": 64, "vcpus": 1,
                  "direction": "out"}, "Missing allocator name")):
            op = dict({"OP_ID": "OP_TEST_ALLOCATOR", "direction": "in"},
                      **params)
            job = self.successResultOf(finished_job(self.master.queue, [op]))
            self.assertEqual(job.status, "error")
            self.assertIn(message, job.ops[0].result[1][0])

    @inlineCallbacks
    def test_multi_alloc_refusals(self):
        """Mixed placement, duplicates and no allocator are refused."""
        for instances, message in (
                ([create("a.example.com", pnode=NODE1),
                  create("b.example.com")], "providing pnode"),
                ([create("a.example.com"), create("a.example.com")],
                 "Duplicate"),
                ([create("a.example.com")], "No iallocator")):
            job = yield finished_job(self.master.queue, [{
                "OP_ID": "OP_INSTANCE_MULTI_ALLOC", "instances": instances}])
            self.assertEqual(job.status, "error")
            self.assertIn(message, job.ops[0].result[1][0])

    @inlineCallbacks
    def test_evacuation_opcode_refused(self):
        """An evacuation may only fail over, migrate or replace disks."""
        self.install("evil", json.dumps({"success": True, "info": "", "result": [
            [], [], [[{"OP_ID": "OP_INSTANCE_REMOVE", "instance_name": NAME}]]]}))
        yield self.assertFailure(
            allocators.run(self.ctx, "evil", {"type": "node-evacuate",
                                              "instances": [NAME],
                                              "evac_mode": "all"}),
            errors.OpExecError)


def _hail_missing():
    try:
        allocators.find(Paths("/"), "hail")
    except errors.OpPrereqError:
        return "htools' hail is not installed (Debian: ganeti-htools-3.0)"
    return None


class HailTests(TestCase):
    """
    End to end with the real ``hail`` on two nodes (fake hypervisor): the
    queue runs on the real reactor, as the allocator is a real process.
    """

    skip = _hail_missing()

    def setUp(self):
        self.master = two_node_cluster(self, clock=reactor, reactor=reactor)
        self.queue = self.master.queue
        self.addCleanup(self.queue.stopService)

    @inlineCallbacks
    def run_ok(self, *ops):
        job = yield finished_job(self.queue, ops)
        self.assertEqual(job.status, "success", job.ops[-1].result)
        return job.ops[-1].result

    def primary_of(self, name=NAME):
        cfg = self.master.config.config
        return cfg.nodes[cfg.instance_by_name(name).primary_node].name

    @inlineCallbacks
    def test_add(self):
        """``gnt-instance add -I hail`` places the instance on a node."""
        yield self.run_ok(create(iallocator="hail"))
        self.assertIn(self.primary_of(), (NODE1, NODE2))

    @inlineCallbacks
    def test_migrate(self):
        """``gnt-instance migrate -I hail`` moves it to the other node."""
        yield self.run_ok(create(pnode=NODE1))
        yield self.run_ok({"OP_ID": "OP_INSTANCE_MIGRATE",
                           "instance_name": NAME, "iallocator": "hail"})
        self.assertEqual(self.primary_of(), NODE2)

    @inlineCallbacks
    def test_failover_default_allocator(self):
        """Without a target, the cluster's default allocator chooses."""
        yield self.run_ok({"OP_ID": "OP_CLUSTER_SET_PARAMS",
                           "default_iallocator": "hail"})
        yield self.run_ok(create(pnode=NODE1))
        yield self.run_ok({"OP_ID": "OP_INSTANCE_FAILOVER",
                           "instance_name": NAME})
        self.assertEqual(self.primary_of(), NODE2)

    @inlineCallbacks
    def test_debug_output(self):
        """``gnt-debug iallocator --dir out`` shows hail's raw answer."""
        yield self.run_ok(create(pnode=NODE1))
        answer = yield self.run_ok({
            "OP_ID": "OP_TEST_ALLOCATOR", "direction": "out",
            "mode": "relocate", "name": NAME, "iallocator": "hail"})
        self.assertEqual(json.loads(answer)["result"], [NODE2])

    @inlineCallbacks
    def test_multi_alloc(self):
        """
        One multi-allocate run places several instances, each then created
        by a job of its own.
        """
        names = ["multi1.example.com", "multi2.example.com"]
        result = yield self.run_ok({
            "OP_ID": "OP_INSTANCE_MULTI_ALLOC", "iallocator": "hail",
            "instances": [create(name) for name in names]})
        self.assertEqual((sorted(result["allocatable"]), result["failed"]),
                         (names, []))
        for ok, job_id in result["jobs"]:
            self.assertTrue(ok, job_id)
            yield self.queue.when_finalized(job_id)
            self.assertEqual(self.queue.get(job_id).status, "success")
        for name in names:
            self.assertIn(self.primary_of(name), (NODE1, NODE2))

    @inlineCallbacks
    def test_node_evacuate(self):
        """``gnt-node evacuate -I hail`` empties the node."""
        second = "inst2.example.com"
        yield self.run_ok(create(pnode=NODE1))
        yield self.run_ok(create(second, pnode=NODE1, start=False))
        result = yield self.run_ok({
            "OP_ID": "OP_NODE_EVACUATE", "node_name": NODE1, "mode": "all",
            "iallocator": "hail"})
        self.assertEqual(len(result["jobs"]), 2)
        for ok, job_id in result["jobs"]:
            self.assertTrue(ok, job_id)
            yield self.queue.when_finalized(job_id)
            self.assertEqual(self.queue.get(job_id).status, "success")
        self.assertEqual([self.primary_of(), self.primary_of(second)],
                         [NODE2, NODE2])
