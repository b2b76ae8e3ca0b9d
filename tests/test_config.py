"""
Tests for L{ganeti.config.ConfigWriter}: writes at once for the tools,
through a writer (the master's thread pool) for the daemon.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from ganeti import config as configmod
from ganeti.cmdlib.base import MasterContext
from ganeti.cmdlib.registry import make_lu_factory
from ganeti.jobs.locks import LockManager
from ganeti.jobs.processor import JobRunner
from ganeti.jobs.queue import JobQueue
from tests.util import DeferredWrites, make_paths, write_config


class ConfigWriterTests(SynchronousTestCase):
    def setUp(self):
        self.paths = make_paths(self)
        write_config(self.paths)
        self.writes = DeferredWrites()
        self.writer = configmod.ConfigWriter(self.paths.config_data, Clock(),
                                             write=self.writes)

    def on_disk(self):
        return configmod.load(self.paths.config_data).cluster.tags

    def tag(self, name):
        return self.writer.update_cluster(tags=[name])

    def test_sync_without_writer(self):
        """The tools' writer has the file written when update returns."""
        writer = configmod.ConfigWriter(self.paths.config_data, Clock())
        writer.update_cluster(tags=["now"])
        self.assertEqual(self.on_disk(), ["now"])
        self.successResultOf(writer.flushed())

    def test_in_force_before_written(self):
        """The new value is in force at once; flushed waits for the file."""
        seen = []
        self.writer.add_listener(lambda cfg: seen.append(cfg.cluster.tags))
        self.tag("a")
        self.assertEqual(self.writer.config.cluster.tags, ["a"])
        self.assertEqual(seen, [["a"]])
        flushed = self.writer.flushed()
        self.assertNoResult(flushed)
        self.assertEqual(self.on_disk(), [])
        self.writes.land()
        self.successResultOf(flushed)
        self.assertEqual(self.on_disk(), ["a"])

    def test_updates_share_a_write(self):
        """Changes made during a write go to disk together, newest last."""
        self.tag("a")
        first = self.writer.flushed()
        for name in ("b", "c", "d"):
            self.tag(name)
        last = self.writer.flushed()
        self.assertEqual(len(self.writes.pending), 1)
        self.writes.land()
        self.successResultOf(first)
        self.assertNoResult(last)
        self.assertEqual(len(self.writes.pending), 1)
        self.writes.land()
        self.successResultOf(last)
        self.assertEqual(self.on_disk(), ["d"])
        self.assertEqual(configmod.load(self.paths.config_data).serial_no,
                         self.writer.config.serial_no)

    def test_failed_write(self):
        """
        A failed write fails flushed (so no job reports success on it);
        the next update writes the whole configuration again.
        """
        self.tag("a")
        flushed = self.writer.flushed()
        self.writes.fail()
        self.failureResultOf(flushed, OSError)
        self.failureResultOf(self.writer.flushed(), OSError)
        self.flushLoggedErrors(OSError)
        self.tag("b")
        flushed = self.writer.flushed()
        self.writes.land()
        self.successResultOf(flushed)
        self.assertEqual(self.on_disk(), ["b"])


class UpdateObjectTests(SynchronousTestCase):
    """
    Tests for L{configmod.ConfigWriter.update_object} and
    L{configmod.ConfigWriter.update_objects}.
    """

    def setUp(self):
        paths = make_paths(self)
        write_config(paths)
        self.clock = Clock()
        self.clock.advance(5000)
        self.writer = configmod.ConfigWriter(paths.config_data, self.clock)
        self.node = next(iter(self.writer.config.nodes.values()))
        self.group = next(iter(self.writer.config.nodegroups.values()))

    def test_serial_and_mtime_together(self):
        """A changed object gets serial number + 1 and the time now."""
        before = self.writer.config.serial_no
        new = self.writer.update_object("nodes", self.node.uuid, drained=True)
        node = new.nodes[self.node.uuid]
        self.assertEqual((node.drained, node.serial_no, node.mtime),
                         (True, self.node.serial_no + 1, 5000))
        self.assertEqual(new.serial_no, before + 1)

    def test_several_objects_one_update(self):
        """Objects of several kinds change in one configuration update."""
        before = self.writer.config.serial_no
        new = self.writer.update_objects({
            "nodes": {self.node.uuid: {"offline": True}},
            "nodegroups": {self.group.uuid: {"alloc_policy": "last_resort"}}})
        self.assertEqual(new.serial_no, before + 1)
        self.assertTrue(new.nodes[self.node.uuid].offline)
        group = new.nodegroups[self.group.uuid]
        self.assertEqual((group.alloc_policy, group.serial_no, group.mtime),
                         ("last_resort", self.group.serial_no + 1, 5000))

    def test_unknown_object_changes_nothing(self):
        """An unknown uuid fails and leaves the configuration as it was."""
        before = self.writer.config
        self.assertRaises(KeyError, self.writer.update_object, "nodes",
                          "no-such-uuid", offline=True)
        self.assertIs(self.writer.config, before)


class JobWaitsForConfigTests(SynchronousTestCase):
    def test_opcode_done_after_config_on_disk(self):
        """
        A job that changed the configuration succeeds only once the
        change is on disk, so a crash cannot undo what a client was told.
        """
        paths = make_paths(self)
        write_config(paths)
        clock = Clock()
        writes = DeferredWrites()
        config = configmod.ConfigWriter(paths.config_data, clock, write=writes)
        queue = JobQueue(paths, clock)
        queue.runner = JobRunner(queue, LockManager(), make_lu_factory(
            MasterContext(config, paths, clock, queue)), flushed=config.flushed)
        queue.startService()
        self.addCleanup(queue.stopService)
        job_id = queue.submit([{"OP_ID": "OP_TAGS_SET", "kind": "cluster",
                                "tags": ["x"]}])
        self.assertEqual(queue.get(job_id).status, "running")
        self.assertEqual(config.config.cluster.tags, ["x"])
        writes.land()
        self.assertEqual(queue.get(job_id).status, "success")
        self.assertEqual(configmod.load(paths.config_data).cluster.tags, ["x"])
