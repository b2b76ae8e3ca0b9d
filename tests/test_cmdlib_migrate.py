"""
Tests for failover and migration of instances and nodes, run as jobs
through the real queue on a Clock, with two nodes' real handlers and fake
hypervisors (each node its own root, so its own running instances).
"""

import os

import attrs
from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti import errors
from ganeti.cmdlib.instance.moves import NO_TARGET_MESSAGE
from tests.util import (
    NODE2_NAME, SETTINGS, JobAssertions, finished_job, two_node_cluster)

NODE1 = SETTINGS["node_name"]
NODE2 = NODE2_NAME
NAME = "inst1.example.com"


def create(name=NAME, **params):
    """:return: an OP_INSTANCE_CREATE for a fake instance on node 1."""
    op = {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name,
          "disk_template": "diskless", "disks": [], "nics": [{}],
          "pnode": NODE1, "no_install": True, "hypervisor": "fake",
          "start": True}
    op.update(params)
    return op


def failover(name=NAME, **params):
    return dict({"OP_ID": "OP_INSTANCE_FAILOVER", "instance_name": name,
                 "target_node": NODE2}, **params)


def migrate(name=NAME, **params):
    return dict({"OP_ID": "OP_INSTANCE_MIGRATE", "instance_name": name,
                 "target_node": NODE2}, **params)


class _TwoNodeTestCase(JobAssertions):
    """A two-node cluster and ways to look at it (mixed into a test case)."""

    templates = ["file", "diskless"]

    def setUp(self):
        self.master = two_node_cluster(
            self, enabled_disk_templates=self.templates)
        self.queue = self.master.queue

    def run_job(self, *ops):
        return self.queue.get(self.queue.submit(list(ops)))

    def running_on(self, node):
        """:return: the names the fake hypervisor runs on C{node}."""
        state = os.path.join(self.master.node_paths[node].run_dir,
                             "fake-hypervisor")
        return sorted(n for n in os.listdir(state) if not n.startswith("."))

    def primary_of(self, name=NAME):
        cfg = self.master.config.config
        return cfg.nodes[cfg.instance_by_name(name).primary_node].name

    def assert_unchanged(self, job_op, name=NAME):
        """
        Running C{job_op} fails and leaves the config as it was.

        :return: the failed job.
        """
        serial = self.master.config.config.serial_no
        job = self.run_job(job_op)
        self.assertEqual(job.status, "error")
        self.assertEqual(self.master.config.config.serial_no, serial)
        return job


class FailoverTests(_TwoNodeTestCase, SynchronousTestCase):
    """gnt-instance failover."""

    def test_running_instance(self):
        """
        A running instance is stopped on its node and started on the
        target, which becomes its primary node (serial number bumped).
        """
        self.assert_ok(self.run_job(create()))
        before = self.master.config.config.instance_by_name(NAME).serial_no
        self.assert_ok(self.run_job(failover()))
        self.assertEqual(self.primary_of(), NODE2)
        self.assertEqual(self.running_on(NODE1), [])
        self.assertEqual(self.running_on(NODE2), [NAME])
        instance = self.master.config.config.instance_by_name(NAME)
        self.assertGreater(instance.serial_no, before)
        self.assertEqual(instance.admin_state, "up")

    def test_stopped_instance(self):
        """A stopped instance only changes its primary node."""
        self.assert_ok(self.run_job(create(start=False)))
        self.assert_ok(self.run_job(failover()))
        self.assertEqual(self.primary_of(), NODE2)
        self.assertEqual(self.running_on(NODE2), [])

    def test_needs_target_node(self):
        """Without a target node (and no allocator) nothing happens."""
        self.assert_ok(self.run_job(create()))
        job = self.assert_unchanged(failover(target_node=None))
        error = self.assert_error(job, errors.OpPrereqError, NO_TARGET_MESSAGE)
        self.assertEqual(error.args[1], "wrong_input")
        self.assertEqual(self.running_on(NODE1), [NAME])

    def test_unknown_iallocator_refused(self):
        """An instance allocator found nowhere is refused, by name."""
        self.assert_ok(self.run_job(create()))
        job = self.assert_unchanged(failover(target_node=None,
                                             iallocator="no-such-alloc"))
        self.assert_error(job, errors.OpPrereqError, "no-such-alloc")

    def test_file_instance_refused(self):
        """A file-based instance (not mirrored) cannot fail over."""
        self.assert_ok(self.run_job(create(start=False)))

        def file_based(cfg):
            instance = cfg.instance_by_name(NAME)
            return attrs.evolve(cfg, instances=dict(cfg.instances, **{
                instance.uuid: attrs.evolve(instance, disk_template="file")}))
        # Making real file disks needs qemu-img, which a Clock cannot run;
        # the template alone decides.
        self.master.config.update(file_based)
        job = self.assert_unchanged(failover())
        error = self.assert_error(
            job, errors.OpPrereqError,
            "Instance's disk layout 'file' does not allow failovers")
        self.assertEqual(error.args[1], "wrong_state")

    def test_to_its_primary_refused(self):
        """The primary node is not a target."""
        self.assert_ok(self.run_job(create()))
        job = self.assert_unchanged(failover(target_node=NODE1))
        self.assert_error(job, errors.OpPrereqError, "to its primary")

    def test_offline_target_refused(self):
        """An offline target node is refused before anything is done."""
        self.assert_ok(self.run_job(create()))
        self.assert_ok(self.run_job({"OP_ID": "OP_NODE_SET_PARAMS",
                                     "node_name": NODE2, "offline": True}))
        job = self.assert_unchanged(failover())
        self.assert_error(job, errors.OpPrereqError,
                          "Can't use offline node %s" % NODE2)
        self.assertEqual(self.running_on(NODE1), [NAME])

    def test_dead_source_needs_ignore_consistency(self):
        """
        When the primary node does not answer, the failover stops, unless
        the consistency is ignored: then the instance starts on the target.
        """
        self.assert_ok(self.run_job(create()))
        self.master.handlers[NODE1] = None
        job = self.assert_unchanged(failover())
        self.assert_error(job, errors.OpExecError,
                          "Could not shutdown instance %s" % NAME)
        self.assertEqual(self.primary_of(), NODE1)
        job = self.run_job(failover(ignore_consistency=True))
        self.assert_ok(job)
        self.assertEqual(self.primary_of(), NODE2)
        self.assertEqual(self.running_on(NODE2), [NAME])
        log = [entry[3] for entry in job.ops[0].log]
        self.assertTrue(any("proceeding anyway" in line for line in log), log)


class SharedFileFailoverTests(_TwoNodeTestCase, TestCase):
    """
    Instances on shared file storage move with their disks (made by
    qemu-img, so the nodes run on the real reactor).
    """

    templates = ["sharedfile", "diskless"]

    def setUp(self):
        self.master = two_node_cluster(
            self, reactor=reactor, enabled_disk_templates=self.templates)
        self.queue = self.master.queue

    def run_job(self, *ops):
        return finished_job(self.queue, ops)

    @inlineCallbacks
    def test_failover_and_migrate(self):
        """
        A sharedfile instance fails over and migrates back; its disk stays
        where both nodes see it.
        """
        self.assert_ok((yield self.run_job(create(
            disk_template="sharedfile", disks=[{"size": 4}]))))
        cfg = self.master.config.config
        [disk] = cfg.disks.values()
        path = disk.logical_id[1]
        self.assert_ok((yield self.run_job(failover())))
        self.assertEqual(self.running_on(NODE2), [NAME])
        self.assert_ok((yield self.run_job(migrate(target_node=NODE1))))
        self.assertEqual(self.primary_of(), NODE1)
        self.assertEqual(self.running_on(NODE1), [NAME])
        self.assertTrue(os.path.exists(path))


class MigrateTests(_TwoNodeTestCase, SynchronousTestCase):
    """gnt-instance migrate."""

    def test_running_instance(self):
        """A running instance ends up running on the target only."""
        self.assert_ok(self.run_job(create()))
        job = self.run_job(migrate())
        self.assert_ok(job)
        self.assertEqual(self.primary_of(), NODE2)
        self.assertEqual(self.running_on(NODE1), [])
        self.assertEqual(self.running_on(NODE2), [NAME])
        log = [entry[3] for entry in job.ops[0].log]
        self.assertIn("* memory transfer complete", log)
        self.assertEqual(log[-1], "* done")

    def test_stopped_instance_refused(self):
        """A stopped instance is not migrated without allow_failover."""
        self.assert_ok(self.run_job(create(start=False)))
        job = self.assert_unchanged(migrate())
        self.assert_error(job, errors.OpPrereqError,
                          "Can't migrate, please use failover")

    def test_stopped_instance_allow_failover(self):
        """With allow_failover a stopped instance is failed over."""
        self.assert_ok(self.run_job(create(start=False)))
        self.assert_ok(self.run_job(migrate(allow_failover=True)))
        self.assertEqual(self.primary_of(), NODE2)
        self.assertEqual(self.running_on(NODE2), [])

    def test_live_and_mode_conflict(self):
        """live and mode are exclusive."""
        self.assert_ok(self.run_job(create()))
        job = self.assert_unchanged(migrate(live=True, mode="non-live"))
        self.assert_error(job, errors.OpPrereqError, "Only one of the 'live'")

    def test_not_enough_memory(self):
        """A target without room for the instance is refused."""
        self.assert_ok(self.run_job(create()))
        hog = os.path.join(self.master.node_paths[NODE2].run_dir,
                           "fake-hypervisor", "hog.example.com")
        with open(hog, "w") as f:
            f.write("0\n%d\n1\n" % (1024 ** 3))
        job = self.assert_unchanged(migrate())
        self.assert_error(job, errors.OpPrereqError,
                          "Not enough memory on node %s" % NODE2)

    def test_accept_failure_keeps_source(self):
        """
        If the target cannot accept (the instance already runs there), the
        migration fails and the instance keeps running on its primary.
        """
        self.assert_ok(self.run_job(create()))
        stray = os.path.join(self.master.node_paths[NODE2].run_dir,
                             "fake-hypervisor", NAME)
        with open(stray, "w") as f:
            f.write("0\n128\n1\n")
        job = self.assert_unchanged(migrate())
        self.assert_error(job, errors.OpExecError,
                          "Could not pre-migrate instance %s" % NAME)
        self.assertEqual(self.primary_of(), NODE1)
        self.assertEqual(self.running_on(NODE1), [NAME])
        self.assertEqual(self.running_on(NODE2), [NAME])

    def test_transfer_failure_rolls_back(self):
        """
        If the transfer fails, the target drops what it prepared and the
        instance keeps running on its primary; the config is unchanged.
        """
        self.assert_ok(self.run_job(create()))
        handler = self.master.handlers[NODE1]

        def broken(instance, target_address, live):
            raise errors.HypervisorError("connection refused")
        handler.instance_migrate = broken
        finalized = []
        target_handler = self.master.handlers[NODE2]
        real = target_handler.instance_finalize_migration_dst

        def finalize(instance, info, success):
            finalized.append(success)
            return real(instance, info, success)
        target_handler.instance_finalize_migration_dst = finalize
        job = self.assert_unchanged(migrate())
        self.assert_error(job, errors.OpExecError, "connection refused")
        self.assertEqual(finalized, [False])
        self.assertEqual(self.primary_of(), NODE1)
        self.assertEqual(self.running_on(NODE1), [NAME])
        self.assertEqual(self.running_on(NODE2), [])

    def test_cleanup_records_where_it_runs(self):
        """
        After an interrupted migration left the instance on the other
        node, a cleanup (with or without target) makes that node primary.
        """
        self.assert_ok(self.run_job(create()))
        state = "fake-hypervisor/" + NAME
        os.rename(os.path.join(self.master.node_paths[NODE1].run_dir, state),
                  os.path.join(self.master.node_paths[NODE2].run_dir, state))
        self.assert_ok(self.run_job(migrate(target_node=None, cleanup=True)))
        self.assertEqual(self.primary_of(), NODE2)
        job = self.run_job(migrate(target_node=NODE1, cleanup=True))
        self.assert_ok(job)
        self.assertEqual(self.primary_of(), NODE2)
        self.assertIn("* instance confirmed to be running on its primary"
                      " node (%s)" % NODE2,
                      [entry[3] for entry in job.ops[0].log])

    def test_cleanup_not_running(self):
        """A cleanup of an instance that runs nowhere changes nothing."""
        self.assert_ok(self.run_job(create(start=False)))
        job = self.assert_unchanged(migrate(cleanup=True))
        self.assert_error(job, errors.OpExecError,
                          "does not seem to be running at all")


class NodeMigrateTests(_TwoNodeTestCase, SynchronousTestCase):
    """gnt-node migrate and evacuate submit one job per instance."""

    def follow_ups(self, job):
        """
        :return: the jobs a node job submitted, after checking that every
            submission worked.
        """
        submitted = self.assert_ok(job)["jobs"]
        self.assertTrue(all(ok for ok, _ in submitted), submitted)
        return [self.queue.get(job_id) for _, job_id in submitted]

    def test_migrate_node(self):
        """Every primary instance of the node is migrated by its own job."""
        self.assert_ok(self.run_job(create()))
        self.assert_ok(self.run_job(create("inst2.example.com")))
        jobs = self.follow_ups(self.run_job({
            "OP_ID": "OP_NODE_MIGRATE", "node_name": NODE1,
            "target_node": NODE2}))
        self.assertEqual(
            [(job.ops[0].input["OP_ID"], job.ops[0].input["instance_name"],
              job.status) for job in jobs],
            [("OP_INSTANCE_MIGRATE", NAME, "success"),
             ("OP_INSTANCE_MIGRATE", "inst2.example.com", "success")])
        self.assertEqual(self.running_on(NODE2),
                         [NAME, "inst2.example.com"])
        self.assertEqual(self.running_on(NODE1), [])

    def test_migrate_empty_node(self):
        """A node without primary instances gives no jobs."""
        self.assertEqual(self.follow_ups(self.run_job({
            "OP_ID": "OP_NODE_MIGRATE", "node_name": NODE2})), [])

    def test_evacuate_primaries(self):
        """
        Evacuating moves every primary instance to the remote node: the
        running one migrated, the stopped one failed over (not started).
        """
        self.assert_ok(self.run_job(create()))
        self.assert_ok(self.run_job(create("inst2.example.com", start=False)))
        jobs = self.follow_ups(self.run_job({
            "OP_ID": "OP_NODE_EVACUATE", "node_name": NODE1,
            "remote_node": NODE2, "mode": "all"}))
        self.assertEqual([job.status for job in jobs], ["success"] * 2)
        self.assertEqual(self.primary_of(), NODE2)
        self.assertEqual(self.primary_of("inst2.example.com"), NODE2)
        self.assertEqual(self.running_on(NODE2), [NAME])

    def test_evacuate_secondaries_only(self):
        """There are no secondary instances, so nothing moves."""
        self.assert_ok(self.run_job(create()))
        self.assertEqual(self.follow_ups(self.run_job({
            "OP_ID": "OP_NODE_EVACUATE", "node_name": NODE1,
            "remote_node": NODE2, "mode": "secondary-only"})), [])
        self.assertEqual(self.primary_of(), NODE1)

    def test_evacuate_needs_remote_node(self):
        """Without a remote node (and no allocator) evacuation is refused."""
        self.assert_ok(self.run_job(create()))
        job = self.assert_unchanged({"OP_ID": "OP_NODE_EVACUATE",
                                     "node_name": NODE1, "mode": "all"})
        self.assert_error(job, errors.OpPrereqError, NO_TARGET_MESSAGE)

    def test_evacuate_to_itself_refused(self):
        """The evacuated node cannot receive its own instances."""
        job = self.assert_unchanged({"OP_ID": "OP_NODE_EVACUATE",
                                     "node_name": NODE1, "remote_node": NODE1,
                                     "mode": "primary-only"})
        self.assert_error(job, errors.OpPrereqError, "evacuated node")
