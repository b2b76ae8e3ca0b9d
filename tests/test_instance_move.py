"""
Tests for ``gnt-instance move`` (OP_INSTANCE_MOVE): jobs through the real
queue, two nodes' real handlers on the real reactor (file disks made by
qemu-img), the disks streamed between them over real TLS on 127.0.0.1;
the refusals with Ganeti's messages, the hooks, the progress lines and
the instance policy check.
"""

import os

import attrs
from twisted.internet import reactor
from twisted.internet.defer import fail, inlineCallbacks, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti import disk_templates, errors
from ganeti.cmdlib import ipolicy
from ganeti.cmdlib.instance import move
from ganeti.rpc import RpcResult
from tests.test_backup import cluster_pem
from tests.test_hooks import CallCounter
from tests.util import (
    NODE2_NAME, SETTINGS, JobAssertions, finished_job, two_node_cluster)

NODE1 = SETTINGS["node_name"]
NODE2 = NODE2_NAME
NAME = "inst1.example.com"
MIB = 1024 * 1024


def create(name=NAME, **params):
    """:return: an OP_INSTANCE_CREATE of a fake instance with a file disk."""
    return dict({"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name,
                 "disk_template": "file", "disks": [{"size": 4}],
                 "nics": [{}], "pnode": NODE1, "no_install": True,
                 "hypervisor": "fake", "start": False}, **params)


def move_op(name=NAME, **params):
    return dict({"OP_ID": "OP_INSTANCE_MOVE", "instance_name": name,
                 "target_node": NODE2}, **params)


class _OwnStorage:
    """
    Node 2's handler, seeing file disks below its own root: both nodes
    share this host's file system, where separate machines would each
    have their own file storage directory at the same path.
    """

    def __init__(self, handler, old, new):
        self._handler = handler
        self._old, self._new = old, new

    def _local(self, value):
        if isinstance(value, list):
            return [self._local(v) for v in value]
        if not isinstance(value, dict):
            return value
        value = {k: self._local(v) for k, v in value.items()}
        if (value.get("dev_type") in disk_templates.FILE_TEMPLATES
                and len(value.get("logical_id") or ()) == 2):
            driver, path = value["logical_id"]
            if path.startswith(self._old + "/"):
                value["logical_id"] = [driver,
                                       self._new + path[len(self._old):]]
        return value

    def __getattr__(self, name):
        method = getattr(self._handler, name)

        def call(*args, **kwargs):
            return method(*self._local(list(args)),
                          **{k: self._local(v) for k, v in kwargs.items()})
        return call


class MoveTests(JobAssertions, TestCase):
    """Moves of file-disk instances between two nodes of one host."""

    def setUp(self):
        self.master = master = two_node_cluster(
            self, reactor=reactor, enabled_disk_templates=["file", "diskless"])
        self.queue = master.queue
        for paths in master.node_paths.values():
            with open(paths.server_pem, "wb") as f:
                f.write(cluster_pem())
        cluster_dir = master.config.config.cluster.file_storage_dir
        self.node2_dir = master.node_paths[NODE2].file_storage_dir
        with open(os.path.join(master.node_paths[NODE2].conf_dir,
                               "file-storage-paths"), "a") as f:
            f.write(self.node2_dir + "\n")
        self.node2 = master.handlers[NODE2]
        master.handlers[NODE2] = _OwnStorage(self.node2, cluster_dir,
                                             self.node2_dir)
        self.cluster_dir = cluster_dir

        def loopback(cfg):
            nodes = {uuid: attrs.evolve(node, primary_ip="127.0.0.1",
                                        secondary_ip="127.0.0.1")
                     for uuid, node in cfg.nodes.items()}
            return attrs.evolve(cfg, nodes=nodes)
        master.config.update(loopback)

    def run_job(self, *ops):
        return finished_job(self.queue, ops)

    @inlineCallbacks
    def assert_refused(self, op, text, kind=errors.OpPrereqError):
        """C{op} fails with C{text}, and the configuration is as it was."""
        serial = self.master.config.config.serial_no
        job = yield self.run_job(op)
        self.assert_error(job, kind, text)
        self.assertEqual(self.master.config.config.serial_no, serial)
        return job

    def log(self, job):
        return [entry[3] for op in job.ops for entry in op.log]

    def instance(self):
        return self.master.config.config.instance_by_name(NAME)

    def disk(self):
        cfg = self.master.config.config
        return cfg.disks[self.instance().disks[0]]

    def path_on(self, node):
        """:return: the instance's disk file as node C{node} keeps it."""
        path = self.disk().logical_id[1]
        if node == NODE2:
            path = self.node2_dir + path[len(self.cluster_dir):]
        return path

    def running_on(self, node):
        state = os.path.join(self.master.node_paths[node].run_dir,
                             "fake-hypervisor")
        return sorted(n for n in os.listdir(state) if not n.startswith("."))

    def fill_disk(self):
        """Write data with zero regions between; :return: the contents."""
        data = (os.urandom(MIB) + bytes(MIB) + os.urandom(70000)
                + bytes(2 * MIB - 70000))
        with open(self.path_on(NODE1), "r+b") as f:
            f.write(data)
        return data

    @inlineCallbacks
    def test_stopped_instance(self):
        """
        The disk arrives byte for byte (zeros not sent), the old one and
        its directory go, the instance's primary node and its disk's
        nodes change in one configuration update; it stays stopped.
        """
        self.assert_ok((yield self.run_job(create())))
        data = self.fill_disk()
        old_path = self.path_on(NODE1)
        serial = self.master.config.config.serial_no
        job = yield self.run_job(move_op())
        self.assert_ok(job)
        with open(self.path_on(NODE2), "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertFalse(os.path.exists(old_path))
        self.assertFalse(os.path.exists(os.path.dirname(old_path)))
        cfg = self.master.config.config
        node2 = cfg.node_by_name(NODE2).uuid
        self.assertEqual(self.instance().primary_node, node2)
        self.assertEqual(self.disk().nodes, [node2])
        self.assertEqual(self.disk().logical_id[1], old_path)
        self.assertEqual(cfg.serial_no, serial + 1)
        self.assertEqual(self.instance().admin_state, "down")
        self.assertEqual(self.running_on(NODE2), [])
        log = self.log(job)
        self.assertIn(" - INFO: Not checking memory on the secondary node as"
                      " instance will not be started", log)
        self.assertIn(" - INFO: Shutting down instance %s on source node %s"
                      % (NAME, NODE1), log)
        for line in ("Exporting disk/0 from %s to %s" % (NODE1, NODE2),
                     "disk/0 is now listening, starting export",
                     "disk/0 is sending data on %s" % NODE1,
                     "disk/0 finished sending data",
                     " - INFO: Removing the disks on the original node"):
            self.assertIn(line, log)
        [totals] = [line for line in log if line.startswith(" - INFO: disk/0:")]
        self.assertIn("4M in ", totals)
        self.assertIn("3M of it zeros not sent", totals)

    @inlineCallbacks
    def test_running_instance_restarts_on_target(self):
        """A running instance is stopped, moved and started on the target."""
        self.assert_ok((yield self.run_job(create(start=True))))
        self.assertEqual(self.running_on(NODE1), [NAME])
        job = yield self.run_job(move_op(compress="gzip"))
        self.assert_ok(job)
        self.assertEqual(self.running_on(NODE1), [])
        self.assertEqual(self.running_on(NODE2), [NAME])
        instance = self.instance()
        self.assertEqual(instance.admin_state, "up")
        self.assertTrue(instance.disks_active)
        self.assertIn(" - INFO: Starting instance %s on node %s"
                      % (NAME, NODE2), self.log(job))

    @inlineCallbacks
    def test_refusals(self):
        """Ganeti's refusals, each before anything changed."""
        self.assert_ok((yield self.run_job(create())))
        yield self.assert_refused(move_op(target_node=NODE1),
                                  "Instance %s is already on the node %s"
                                  % (NAME, NODE1))
        yield self.assert_refused(move_op(target_node="nosuch.example.com"),
                                  "Node 'nosuch.example.com' is unknown")
        yield self.assert_refused(
            move_op(compress="lzop"), "Compression tool not allowed, tools"
            " allowed are [gzip, gzip-fast, gzip-slow]")
        for flag, text in (("drained", "Can't use drained node %s" % NODE2),
                           ("offline", "Can't use offline node %s" % NODE2)):
            self.assert_ok((yield self.run_job({
                "OP_ID": "OP_NODE_SET_PARAMS", "node_name": NODE2,
                flag: True})))
            yield self.assert_refused(move_op(), text)
            self.assert_ok((yield self.run_job({
                "OP_ID": "OP_NODE_SET_PARAMS", "node_name": NODE2,
                flag: False})))
        self.assert_ok((yield self.run_job({
            "OP_ID": "OP_NODE_SET_PARAMS", "node_name": NODE2,
            "vm_capable": False})))
        yield self.assert_refused(move_op(), "Can't use non-vm_capable node %s"
                                  % NODE2)
        self.assertTrue(os.path.exists(self.path_on(NODE1)))
        self.assertFalse(os.path.exists(self.path_on(NODE2)))

    @inlineCallbacks
    def test_compression_tool_not_streamable(self):
        """A compression tool of the cluster that zlib is not is refused."""
        self.assert_ok((yield self.run_job(create())))
        self.assert_ok((yield self.run_job({
            "OP_ID": "OP_CLUSTER_SET_PARAMS",
            "compression_tools": ["gzip", "gzip-fast", "gzip-slow", "lzop"]})))
        yield self.assert_refused(move_op(compress="lzop"),
                                  "Compression tool 'lzop' cannot be used for"
                                  " moves")

    @inlineCallbacks
    def test_shared_disks_not_copied(self):
        """
        Only ``plain`` and ``file`` disks are copied (Ganeti's
        DTS_COPYABLE): a ``sharedfile`` disk is the same file on every
        node.
        """
        self.assert_ok((yield self.run_job(create())))

        def shared(cfg):
            disk = attrs.evolve(self.disk(), dev_type="sharedfile")
            return attrs.evolve(cfg, disks=dict(cfg.disks, **{disk.uuid: disk}))
        self.master.config.update(shared)
        yield self.assert_refused(move_op(), "Instance disk 0 has disk type"
                                  " sharedfile and is not suitable for"
                                  " copying")

    @inlineCallbacks
    def test_memory_checked_for_running_instance(self):
        """An instance that must start needs room on the target."""
        self.assert_ok((yield self.run_job(create(start=True))))
        hog = os.path.join(self.master.node_paths[NODE2].run_dir,
                           "fake-hypervisor", "hog.example.com")
        with open(hog, "w") as f:
            f.write("0\n%d\n1\n" % (1024 ** 3))
        yield self.assert_refused(move_op(), "Not enough memory on node %s"
                                  " for failing over instance %s"
                                  % (NODE2, NAME))
        self.assertEqual(self.running_on(NODE1), [NAME])

    @inlineCallbacks
    def test_failed_copy_cleans_up(self):
        """
        When a disk does not arrive, the target's new disk goes, the
        configuration stays and the instance runs again where it was.
        """
        self.assert_ok((yield self.run_job(create(start=True))))
        node1 = self.master.handlers[NODE1]
        self.patch(node1, "disk_send", lambda **kwargs: fail(
            errors.OpExecError("the disk fell off")))
        serial = self.master.config.config.serial_no
        job = yield self.run_job(move_op())
        self.assert_error(job, errors.OpExecError, "Errors during disk copy:"
                          " Failed to transfer instance data")
        self.assertEqual(self.master.config.config.serial_no, serial)
        self.assertFalse(os.path.exists(self.path_on(NODE2)))
        self.assertTrue(os.path.exists(self.path_on(NODE1)))
        self.assertEqual(self.running_on(NODE1), [NAME])
        log = self.log(job)
        self.assertIn(" - WARNING: Some disks failed to copy, aborting", log)
        self.assertTrue(any(line.startswith("disk/0 failed to send data:")
                            and "the disk fell off" in line for line in log),
                        log)

    @inlineCallbacks
    def test_shutdown_failure(self):
        """
        A source that cannot stop the instance stops the move, unless the
        consistency is ignored (then it warns and goes on).
        """
        self.assert_ok((yield self.run_job(create(start=True))))
        node1 = self.master.handlers[NODE1]
        self.patch(node1, "instance_shutdown", lambda **kwargs: fail(
            errors.HypervisorError("stuck")))
        yield self.assert_refused(move_op(), "Could not shutdown instance %s"
                                  " on node %s" % (NAME, NODE1),
                                  kind=errors.OpExecError)
        self.assertFalse(os.path.exists(self.path_on(NODE2)))
        job = yield self.run_job(move_op(ignore_consistency=True))
        self.assert_ok(job)
        self.assertTrue(any("Proceeding anyway. Please make sure node %s is"
                            " down" % NODE1 in line for line in self.log(job)))
        self.assertEqual(self.running_on(NODE2), [NAME])

    @inlineCallbacks
    def test_hooks(self):
        """
        instance-move runs on the master, the primary and the target,
        with TARGET_NODE, SHUTDOWN_TIMEOUT and the instance's variables
        (the post phase sees the new primary).
        """
        self.assert_ok((yield self.run_job(create())))
        rpc = self.master.context.rpc = CallCounter(self.master.context.rpc)
        self.assert_ok((yield self.run_job(move_op(shutdown_timeout=30))))
        calls = [call for call in rpc.hooks_calls()
                 if call[0] == "instance-move"]
        self.assertEqual(calls, [("instance-move", "pre", [NODE1, NODE2]),
                                 ("instance-move", "post", [NODE1, NODE2])])
        [pre, post] = [args[2] for method, _, args in rpc.calls
                       if method == "hooks_runner"]
        self.assertEqual(pre["GANETI_HOOKS_PATH"], "instance-move")
        self.assertEqual(pre["GANETI_TARGET_NODE"], NODE2)
        self.assertEqual(pre["GANETI_SHUTDOWN_TIMEOUT"], "30")
        self.assertEqual(pre["GANETI_INSTANCE_NAME"], NAME)
        self.assertEqual(pre["GANETI_INSTANCE_PRIMARY"], NODE1)
        self.assertEqual(post["GANETI_POST_INSTANCE_PRIMARY"], NODE2)
        self.assertEqual(post["GANETI_POST_TARGET_NODE"], NODE2)

    @inlineCallbacks
    def test_target_group_ipolicy(self):
        """
        A target in another group must meet that group's instance policy,
        unless ``--ignore-ipolicy`` makes it a warning.
        """
        self.assert_ok((yield self.run_job(create())))
        self.assert_ok((yield self.run_job(
            {"OP_ID": "OP_GROUP_ADD", "group_name": "plain-only",
             "ipolicy": {"disk-templates": ["plain"]}},
            {"OP_ID": "OP_GROUP_ASSIGN_NODES", "group_name": "plain-only",
             "nodes": [NODE2]})))
        group = self.master.config.config.node_by_name(NODE2).group
        # Ganeti's default minimum disk size is 1 GiB, too.
        text = ("Instance does not meet target node group's (%s) instance"
                " policy: Disk template file is not allowed (allowed"
                " templates: plain), disk-size/0 value 4 is not in range"
                " [1024, 1048576]" % group)
        yield self.assert_refused(move_op(), text)
        job = yield self.run_job(move_op(ignore_ipolicy=True))
        self.assert_ok(job)
        self.assertIn(" - WARNING: " + text, self.log(job))

    @inlineCallbacks
    def test_dry_run(self):
        """A dry run checks and changes nothing."""
        self.assert_ok((yield self.run_job(create())))
        serial = self.master.config.config.serial_no
        job = yield self.run_job(move_op(dry_run=True))
        self.assert_ok(job)
        self.assertEqual(self.master.config.config.serial_no, serial)
        self.assertFalse(os.path.exists(self.path_on(NODE2)))

    @inlineCallbacks
    def test_transfer_status(self):
        """
        While a disk is being sent the source node tells how far it got;
        afterwards it no longer knows the transfer.
        """
        self.assert_ok((yield self.run_job(create())))
        node1 = self.master.handlers[NODE1]
        seen = []
        original = node1.disk_send

        def disk_send(disk, host, port, compress, transfer_id):
            d = original(disk, host, port, compress, transfer_id)
            seen.append(node1.disk_transfer_status([transfer_id, "other"]))
            return d
        self.patch(node1, "disk_send", disk_send)
        self.assert_ok((yield self.run_job(move_op())))
        [status] = seen
        [(tid, progress)] = status.items()
        self.assertEqual(sorted(progress), ["data", "done", "seconds",
                                            "total", "wire", "zero"])
        self.assertEqual(node1.disk_transfer_status([tid]), {})


class ProgressTests(SynchronousTestCase):
    """The job log's progress lines, from the source node's figures."""

    def test_format(self):
        """Ganeti's form: size sent, speed, percentage, time left."""
        progress = {"done": 512 * MIB, "total": 1024 * MIB, "seconds": 12.8,
                    "data": 0, "zero": 0, "wire": 0}
        self.assertEqual(move.format_progress(progress),
                         "512M, 40.0 MiB/s, 50%, ETA 13s")
        self.assertEqual(move.format_seconds(3725), "1h 2m 5s")
        self.assertEqual(move.format_seconds(0), "0s")

    def test_reporter_polls_source(self):
        """
        Every interval one status call to the source node, one line per
        disk still being sent; none once all are done.
        """
        clock = Clock()
        calls, lines = [], []
        figures = {"done": 256 * MIB, "total": 1024 * MIB, "seconds": 8.0,
                   "data": 0, "zero": 0, "wire": 0}

        class Rpc:
            def call(self, nodes, method, ids, timeout=None):
                calls.append((nodes, method, ids))
                return succeed({NODE1: RpcResult(NODE1, {ids[0]: figures})})

        class Ctx:
            reactor = clock
            rpc = Rpc()

        class Lu:
            ctx = Ctx()
            feedback = lines.append

        class Node:
            name, primary_ip = NODE1, "192.0.2.10"
        reporter = move._ProgressReporter(Lu(), Node())
        reporter.add("t1", "disk/0")
        clock.advance(move.PROGRESS_INTERVAL - 1)
        self.assertEqual(lines, [])
        clock.advance(1)
        self.assertEqual(calls, [([(NODE1, "192.0.2.10")],
                                  "disk_transfer_status", ["t1"])])
        self.assertEqual(lines, ["disk/0 sent 256M, 32.0 MiB/s, 25%,"
                                 " ETA 24s"])
        reporter.remove("t1")
        clock.advance(move.PROGRESS_INTERVAL)
        self.assertEqual(len(calls), 1)
        self.assertEqual(clock.getDelayedCalls(), [])


class IPolicyTests(SynchronousTestCase):
    """The target group's instance policy (Ganeti's messages)."""

    def test_violations(self):
        """Out-of-range specs and forbidden templates are named."""
        from ganeti.objects import Disk
        from tests.util import make_paths, write_config
        cfg = write_config(make_paths(self))

        class Instance:
            beparams = {"maxmem": 64, "vcpus": 2}
            nics = [object()]
            disks = ["d1"]
        cfg = attrs.evolve(cfg, disks={"d1": Disk(uuid="d1", dev_type="file",
                                                  size=512)})
        policy = ipolicy.group_ipolicy(cfg.cluster, None)
        policy["disk-templates"] = ["plain"]
        self.assertEqual(ipolicy.instance_violations(cfg, Instance(), policy), [
            "Disk template file is not allowed (allowed templates: plain)",
            "memory-size value 64 is not in range [128, 32768]",
            "disk-size/0 value 512 is not in range [1024, 1048576]"])
