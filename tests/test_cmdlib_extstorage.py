"""
Tests for the ``ext`` disk template on the master side and for
OP_EXT_STORAGE_DIAGNOSE: jobs through the real queue, two nodes' real
handlers (fake hypervisor) running the shipped ``filevol`` provider on
real loop devices, its volume directory shared by both nodes.
"""

import hashlib
import os

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti import errors
from ganeti.cmdlib.extstorage import merge_reports
from ganeti.storage import providers
from ganeti.storage.interfaces import MIB
from tests.storage_mixin import loop_skip_reason
from tests.test_extstorage import _detach_all, make_provider
from tests.util import (
    NODE2_NAME, SETTINGS, JobAssertions, finished_job, two_node_cluster)

NODE1 = SETTINGS["node_name"]
NODE2 = NODE2_NAME
NAME = "inst1.example.com"
FIELDS = ["name", "node_status", "nodegroup_status", "parameters"]


def create(**params):
    """:return: an OP_INSTANCE_CREATE of an ext instance on node 1."""
    op = {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": NAME,
          "disk_template": "ext", "nics": [{}], "pnode": NODE1,
          "disks": [{"size": 4, "provider": "filevol"}],
          "no_install": True, "hypervisor": "fake", "start": False}
    op.update(params)
    return op


def _backing(device):
    """:return: the file behind loop device C{device}, or None."""
    try:
        with open("/sys/block/%s/loop/backing_file"
                  % os.path.basename(device)) as f:
            return f.read().strip()
    except OSError:
        return None


def op(op_id, **params):
    return dict({"OP_ID": op_id, "instance_name": NAME}, **params)


class MergeTests(SynchronousTestCase):
    """L{merge_reports}: the per-provider view of the nodes' answers."""

    def entry(self, valid=True, params=(("dir", "D"),), error=""):
        return {"name": "prov", "path": "/srv/ganeti/extstorage/prov",
                "valid": valid, "error": error,
                "parameters": [list(p) for p in params]}

    def test_merge(self):
        """
        Node status per answering node ([] where missing), group status
        from its members, parameters common to the valid copies; a node
        whose call failed counts nowhere.
        """
        merged = merge_reports(
            {"n1": [self.entry(params=[("dir", "D"), ("x", "X")])],
             "n2": [self.entry()], "n3": [], "n4": None},
            {"g1": ["n1", "n2", "n4"], "g2": ["n3"], "g3": []})
        item = merged["prov"]
        self.assertEqual(item["node_status"], {
            "n1": [["/srv/ganeti/extstorage/prov", True, "",
                    [["dir", "D"], ["x", "X"]]]],
            "n2": [["/srv/ganeti/extstorage/prov", True, "", [["dir", "D"]]]],
            "n3": []})
        self.assertEqual(item["nodegroup_status"],
                         {"g1": True, "g2": False, "g3": True})
        self.assertEqual(item["parameters"], [["dir", "D"]])

    def test_invalid_copy(self):
        """An invalid copy makes its group invalid."""
        merged = merge_reports(
            {"n1": [self.entry()], "n2": [self.entry(False, (), "broken")]},
            {"g1": ["n1", "n2"]})
        self.assertEqual(merged["prov"]["nodegroup_status"], {"g1": False})
        self.assertEqual(merged["prov"]["node_status"]["n2"][0][2], "broken")


class _ExtCluster(JobAssertions):
    """Two nodes, each with ``filevol`` on one shared volume directory."""

    def setUp(self):
        self.master = two_node_cluster(
            self, reactor=reactor,
            enabled_disk_templates=["ext", "file", "diskless"])
        self.queue = self.master.queue
        self.volumes = os.path.realpath(self.mktemp())
        os.makedirs(self.volumes)
        self.addCleanup(_detach_all, self.volumes)
        for paths in self.master.node_paths.values():
            providers.install(paths.extstorage_search_path[0],
                              volume_dir=self.volumes)

    def run_job(self, *ops):
        return finished_job(self.queue, ops)

    def disks(self):
        cfg = self.master.config.config
        instance = cfg.instance_by_name(NAME)
        return [cfg.disks[uuid] for uuid in instance.disks]

    def log(self, job):
        return [entry[-1] for op in job.ops for entry in op.log]


class DiagnoseTests(_ExtCluster, TestCase):
    """OP_EXT_STORAGE_DIAGNOSE over the two nodes."""

    skip = loop_skip_reason()

    @inlineCallbacks
    def test_valid_everywhere(self):
        """filevol is valid on both nodes and in the default group."""
        job = yield self.run_job({"OP_ID": "OP_EXT_STORAGE_DIAGNOSE",
                                  "output_fields": FIELDS})
        [[name, nodes, groups, params]] = self.assert_ok(job)
        self.assertEqual(name, "filevol")
        self.assertEqual(sorted(nodes), [NODE1, NODE2])
        self.assertTrue(all(status[0][1] for status in nodes.values()))
        self.assertEqual(list(groups.values()), [True])
        self.assertEqual([p[0] for p in params], ["dir"])

    @inlineCallbacks
    def test_missing_on_one_node(self):
        """
        A provider only node 2 has is reported with an empty status for
        node 1 and an invalid group; unknown names and fields are refused.
        """
        make_provider(self.master.node_paths[NODE2].extstorage_search_path[0],
                      "other")
        job = yield self.run_job({"OP_ID": "OP_EXT_STORAGE_DIAGNOSE",
                                  "output_fields": FIELDS,
                                  "names": ["other"]})
        [[name, nodes, groups, params]] = self.assert_ok(job)
        self.assertEqual(nodes[NODE1], [])
        self.assertEqual(list(groups.values()), [False])
        job = yield self.run_job({"OP_ID": "OP_EXT_STORAGE_DIAGNOSE",
                                  "output_fields": ["name"],
                                  "names": ["nope"]})
        self.assert_error(job, errors.OpPrereqError, "not found: nope")
        job = yield self.run_job({"OP_ID": "OP_EXT_STORAGE_DIAGNOSE",
                                  "output_fields": ["bogus"]})
        self.assert_error(job, errors.OpPrereqError,
                          "Unknown output fields selected: bogus")


class ExtInstanceTests(_ExtCluster, TestCase):
    """An ``ext`` instance through its whole life on the two nodes."""

    skip = loop_skip_reason()

    @inlineCallbacks
    def activate(self):
        job = yield self.run_job(op("OP_INSTANCE_ACTIVATE_DISKS"))
        [[node, _, path]] = self.assert_ok(job)
        return node, path

    @inlineCallbacks
    def test_life(self):
        """
        Created through the provider with Ganeti's names and metadata,
        written on node 1, failed over and read back byte for byte on
        node 2, migrated back (shared open on both nodes, then
        exclusive), grown, given a second disk and removed with its
        volumes.
        """
        job = yield self.run_job(create(
            disks=[{"size": 4, "provider": "filevol", "name": "data"}]))
        self.assert_ok(job)
        [disk] = self.disks()
        self.assertEqual(disk.logical_id[0], "filevol")
        self.assertRegex(disk.logical_id[1], r"^[0-9a-f-]{36}\.ext\.disk0$")
        self.assertEqual(disk.params, {"provider": "filevol"})
        volume = os.path.join(self.volumes, disk.logical_id[1])
        self.assertEqual(os.path.getsize(volume), 4 * MIB)
        with open(volume + ".info") as f:
            self.assertEqual(f.read(), "originstname+%s\n" % NAME)

        node, path = yield self.activate()
        self.assertEqual(node, NODE1)
        payload = os.urandom(2 * MIB)
        with open(path, "r+b") as f:
            f.write(payload)
        self.assert_ok((yield self.run_job(op("OP_INSTANCE_FAILOVER",
                                              target_node=NODE2))))
        node, path = yield self.activate()
        self.assertEqual(node, NODE2)
        with open(path, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read(2 * MIB)).hexdigest(),
                             hashlib.sha256(payload).hexdigest())

        self.assert_ok((yield self.run_job(op("OP_INSTANCE_DEACTIVATE_DISKS",
                                              force=False))))
        # deactivate-disks detached the volume on node 2.
        self.assertNotEqual(_backing(path), volume)
        self.assert_ok((yield self.run_job(op("OP_INSTANCE_STARTUP"))))
        job = yield self.run_job(op("OP_INSTANCE_MIGRATE", target_node=NODE1))
        self.assert_ok(job)
        log = self.log(job)
        for line in ("* opening instance disks on node %s in shared mode"
                     % NODE2,
                     "* opening instance disks on node %s in shared mode"
                     % NODE1,
                     "* closing instance disks on node %s" % NODE2,
                     "* opening instance disks on node %s in exclusive mode"
                     % NODE1):
            self.assertIn(line, log)
        cfg = self.master.config.config
        self.assertEqual(cfg.nodes[cfg.instance_by_name(NAME).primary_node]
                         .name, NODE1)
        self.assert_ok((yield self.run_job(op("OP_INSTANCE_SHUTDOWN"))))

        self.assert_ok((yield self.run_job(op("OP_INSTANCE_GROW_DISK",
                                              disk=0, amount=4,
                                              wait_for_sync=True))))
        self.assertEqual(self.disks()[0].size, 8)
        self.assertEqual(os.path.getsize(volume), 8 * MIB)

        self.assert_ok((yield self.run_job(op(
            "OP_INSTANCE_SET_PARAMS",
            disks=[["add", {"size": 4, "provider": "filevol",
                            "dir": self.volumes}]]))))
        second = self.disks()[1]
        self.assertTrue(second.logical_id[1].endswith(".ext.disk1"))
        self.assertEqual(second.params, {"provider": "filevol",
                                         "dir": self.volumes})
        self.assertTrue(os.path.exists(os.path.join(self.volumes,
                                                    second.logical_id[1])))

        self.assert_ok((yield self.run_job(op("OP_INSTANCE_REMOVE"))))
        self.assertEqual(os.listdir(self.volumes), [])

    @inlineCallbacks
    def test_provider_missing(self):
        """Without provider=, Ganeti's message, and nothing changes."""
        serial = self.master.config.config.serial_no
        job = yield self.run_job(create(disks=[{"size": 4}]))
        self.assert_error(job, errors.OpPrereqError,
                          "Missing provider for template 'ext'")
        self.assertEqual(self.master.config.config.serial_no, serial)
        self.assertEqual(os.listdir(self.volumes), [])

    @inlineCallbacks
    def test_unknown_provider(self):
        """
        A provider the node lacks fails the creation with the node's
        reason; no instance is left behind.
        """
        job = yield self.run_job(create(disks=[{"size": 4,
                                                "provider": "nope"}]))
        self.assert_error(job, errors.OpExecError,
                          "External Storage Provider nope not found")
        self.assertIsNone(self.master.config.config.instance_by_name(NAME))


class ExtExportTests(_ExtCluster, TestCase):
    """``gnt-backup export`` of a running ``ext`` instance."""

    skip = loop_skip_reason()

    def setUp(self):
        from tests.test_backup import install_os
        _ExtCluster.setUp(self)
        install_os(self.master.node_paths[NODE1])

    def export(self, **params):
        return self.run_job(dict({"OP_ID": "OP_BACKUP_EXPORT",
                                  "instance_name": NAME,
                                  "target_node": NODE1, "mode": "local"},
                                 **params))

    @inlineCallbacks
    def test_from_snapshot(self):
        """
        The disk is dumped from the provider's snapshot, taken while the
        instance was stopped and removed after; the instance runs again.
        """
        from tests.test_backup import MARKER
        self.assert_ok((yield self.run_job(create(os_type="marker",
                                                  no_install=False,
                                                  start=True))))
        job = yield self.export()
        self.assert_ok(job)
        self.assertIn("Creating a snapshot of disk/0 on node %s" % NODE1,
                      self.log(job))
        self.assertEqual([v for v in os.listdir(self.volumes)
                          if v.endswith(".snap")], [])
        export = os.path.join(self.master.node_paths[NODE1].export_dir, NAME)
        [dump] = [n for n in os.listdir(export) if n != "config.ini"]
        with open(os.path.join(export, dump), "rb") as f:
            self.assertEqual(f.read(len(MARKER)), MARKER)
        state = os.path.join(self.master.node_paths[NODE1].run_dir,
                             "fake-hypervisor")
        self.assertEqual(os.listdir(state), [NAME])

    @inlineCallbacks
    def test_without_snapshot_script(self):
        """
        A provider without ``snapshot``: as for any disk that cannot be
        snapshotted, a running instance is exported only with
        --long-sleep.
        """
        os.unlink(os.path.join(
            self.master.node_paths[NODE1].extstorage_search_path[0],
            "filevol", "snapshot"))
        self.assert_ok((yield self.run_job(create(os_type="marker",
                                                  no_install=False,
                                                  start=True))))
        job = yield self.export()
        self.assert_error(job, errors.OpExecError,
                          "Not all disks could be snapshotted")
        self.assert_ok((yield self.export(long_sleep=True)))
