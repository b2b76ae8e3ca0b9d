"""
Tests for instance export and import (``gnt-backup``): the logical units
run as jobs through the real queue, the node handlers on the real reactor
(OS scripts are real shell scripts, disks real files), and dumps travel
between nodes through the real one-shot TLS transfer over 127.0.0.1.
"""

import os

import attrs
from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti import crypto, errors, exportinfo
from ganeti.master.queries import query_exports
from ganeti.node import transfer
from tests.test_osdef import make_os
from tests.util import NODE2_NAME, SETTINGS, finished_job, two_node_cluster

NODE1 = SETTINGS["node_name"]
NODE2 = NODE2_NAME
NAME = "inst1.example.com"
MARKER = b"marker:" + NAME.encode()

# The OS writes a marker at the start of the first disk; export and
# import copy a disk to and from their standard streams, as real OS
# definitions do.
_SCRIPTS = {
    "create": '#!/bin/sh\nprintf "marker:%s" "$INSTANCE_NAME" |'
              ' dd of="$DISK_0_PATH" conv=notrunc status=none\n',
    "export": '#!/bin/sh\nexec cat "$EXPORT_DEVICE"\n',
    "import": '#!/bin/sh\nexec dd of="$IMPORT_DEVICE" conv=notrunc'
              ' status=none\n',
}

_PEM = []


def _daemon_skip():
    """Why the command tests cannot run here (as tests.test_daemon's)."""
    from tests.test_daemon import InstanceCommandTests
    return InstanceCommandTests.skip


def cluster_pem():
    """One cluster certificate for the whole run (generating is slow)."""
    if not _PEM:
        _PEM.append(crypto.generate_self_signed_pem("cluster1.example.com"))
    return _PEM[0]


def install_os(paths):
    """Write the marker OS (``marker``) into a node's OS search path."""
    path = make_os(paths.os_search_path[0], "marker",
                   scripts=["rename", "verify"])
    for name, text in _SCRIPTS.items():
        script = os.path.join(path, name)
        with open(script, "w") as f:
            f.write(text)
        os.chmod(script, 0o755)


def create(name=NAME, **params):
    return dict({"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name,
                 "disk_template": "file", "disks": [{"size": 1}],
                 "nics": [{}], "pnode": NODE1, "os_type": "marker",
                 "hypervisor": "fake", "start": False}, **params)


def export(name=NAME, target=NODE1, **params):
    return dict({"OP_ID": "OP_BACKUP_EXPORT", "instance_name": name,
                 "target_node": target, "mode": "local"}, **params)


def import_(name=NAME, **params):
    return dict({"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name,
                 "mode": "import", "disks": [], "nics": [], "pnode": NODE1,
                 "start": False}, **params)


class BackupTests(TestCase):
    """Export and import of file-disk instances on a two-node cluster."""

    def setUp(self):
        self.master = two_node_cluster(
            self, reactor=reactor, enabled_disk_templates=["file", "diskless"])
        self.queue = self.master.queue
        for paths in self.master.node_paths.values():
            install_os(paths)
            with open(paths.server_pem, "wb") as f:
                f.write(cluster_pem())

        # Both nodes live on this host: the transfers use the loopback.
        def loopback(cfg):
            nodes = {uuid: attrs.evolve(node, primary_ip="127.0.0.1")
                     for uuid, node in cfg.nodes.items()}
            return attrs.evolve(cfg, nodes=nodes)
        self.master.config.update(loopback)

    def run_job(self, *ops):
        return finished_job(self.queue, ops)

    def assert_ok(self, job):
        self.assertEqual(job.status, "success", job.ops[-1].result)

    def assert_error(self, job, kind, text):
        self.assertEqual(job.status, "error")
        self.assertEqual(job.ops[-1].result[0], kind.__name__)
        self.assertIn(text, job.ops[-1].result[1][0])

    def log(self, job):
        return [entry[3] for op in job.ops for entry in op.log]

    def export_dir(self, node=NODE1, name=NAME):
        return os.path.join(self.master.node_paths[node].export_dir, name)

    def disk_path(self, name=NAME):
        cfg = self.master.config.config
        instance = cfg.instance_by_name(name)
        return cfg.disks[instance.disks[0]].logical_id[1]

    def disk_bytes(self, name=NAME):
        with open(self.disk_path(name), "rb") as f:
            return f.read()

    def running(self, node=NODE1):
        state = os.path.join(self.master.node_paths[node].run_dir,
                             "fake-hypervisor")
        return sorted(os.listdir(state))

    @inlineCallbacks
    def exports(self):
        result = yield query_exports(self.master.context, ["node", "export"],
                                     None)
        return [[cell[1] for cell in row] for row in result["data"]]

    @inlineCallbacks
    def test_export_and_import_locally(self):
        """
        An export holds config.ini and the disk dump; after the instance
        is removed, an import rebuilds it from the export alone, with the
        exported bytes on its disk.
        """
        self.assert_ok((yield self.run_job(create())))
        original = self.disk_bytes()
        self.assertTrue(original.startswith(MARKER))
        job = yield self.run_job(export())
        self.assert_ok(job)
        self.assertEqual(job.ops[0].result, [True, [True]])
        directory = self.export_dir()
        self.assertEqual(sorted(os.listdir(directory)),
                         ["config.ini", "disk0.snap"])
        with open(os.path.join(directory, "config.ini")) as f:
            info = exportinfo.ExportInfo(f.read())
        self.assertEqual((info.os, info.name, info.disk_template,
                          info.source), ("marker", NAME, "file", NODE1))
        self.assertEqual(info.disks[0]["size"], 1)
        self.assertEqual((yield self.exports()), [[NODE1, NAME]])
        self.assertEqual(os.listdir(self.master.node_paths[NODE1].export_dir),
                         [NAME])

        self.assert_ok((yield self.run_job({"OP_ID": "OP_INSTANCE_REMOVE",
                                            "instance_name": NAME})))
        job = yield self.run_job(import_(src_node=NODE1))
        self.assert_ok(job)
        self.assertIn("* running the instance OS import scripts...",
                      self.log(job))
        instance = self.master.config.config.instance_by_name(NAME)
        self.assertEqual((instance.os, instance.disk_template),
                         ("marker", "file"))
        self.assertEqual(self.disk_bytes(), original)

    @inlineCallbacks
    def test_export_restarts_running_instance(self):
        """
        A running instance whose disks cannot be snapshotted (files) is
        stopped for the whole export with --long-sleep, then restarted.
        """
        self.assert_ok((yield self.run_job(create(start=True))))
        job = yield self.run_job(export(long_sleep=True))
        self.assert_ok(job)
        log = self.log(job)
        self.assertIn("Shutting down instance %s" % NAME, log)
        self.assertIn("Starting instance %s" % NAME, log)
        self.assertEqual(self.running(), [NAME])

    @inlineCallbacks
    def test_no_snapshots_refused(self):
        """
        As in Ganeti, an instance that is up and cannot be snapshotted is
        exported only with --long-sleep, never live; it keeps running.
        """
        self.assert_ok((yield self.run_job(create(start=True))))
        job = yield self.run_job(export())
        self.assert_error(job, errors.OpPrereqError, "through the"
                          " --long-sleep option; aborting")
        job = yield self.run_job(export(shutdown=False))
        self.assert_error(job, errors.OpPrereqError, "Not all disks could be"
                          " snapshotted, and you requested a live export")
        job = yield self.run_job(export(shutdown=False, long_sleep=True))
        self.assert_error(job, errors.OpPrereqError, "The long sleep option"
                          " only makes sense when the instance can be shut"
                          " down.")
        self.assertEqual(self.running(), [NAME])
        self.assertEqual((yield self.exports()), [])

    @inlineCallbacks
    def test_export_replaces_older_export(self):
        """A second export replaces the first; no staging is left over."""
        self.assert_ok((yield self.run_job(create())))
        self.assert_ok((yield self.run_job(export())))
        with open(self.disk_path(), "r+b") as f:
            f.write(b"changed")
        self.assert_ok((yield self.run_job(export())))
        with open(os.path.join(self.export_dir(), "disk0.snap"), "rb") as f:
            self.assertTrue(f.read().startswith(b"changed"))
        self.assertEqual(os.listdir(self.master.node_paths[NODE1].export_dir),
                         [NAME])

    @inlineCallbacks
    def test_remove_instance(self):
        """remove_instance removes the instance once the export is done."""
        self.assert_ok((yield self.run_job(create(start=True))))
        self.assert_ok((yield self.run_job(export(remove_instance=True))))
        self.assertIsNone(self.master.config.config.instance_by_name(NAME))
        self.assertEqual(self.running(), [])
        self.assertTrue(os.path.isdir(self.export_dir()))

    @inlineCallbacks
    def test_failed_disk_export(self):
        """A failing export script fails the job and leaves no export."""
        self.assert_ok((yield self.run_job(create(start=True))))
        script = os.path.join(
            self.master.node_paths[NODE1].os_search_path[0], "marker",
            "export")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nexit 3\n")
        job = yield self.run_job(export(remove_instance=True))
        self.assert_error(job, errors.OpExecError,
                          "Export failed, errors in disk export: disk(s) 0")
        self.assertIsNotNone(self.master.config.config.instance_by_name(NAME))
        self.assertEqual(self.running(), [NAME])
        self.assertEqual((yield self.exports()), [])

    @inlineCallbacks
    def test_remote_mode_refused(self):
        """Remote (inter-cluster) exports are refused clearly."""
        self.assert_ok((yield self.run_job(create())))
        job = yield self.run_job(export(mode="remote"))
        self.assert_error(job, errors.OpPrereqError,
                          "Export mode 'remote' is not supported")
        job = yield self.run_job({"OP_ID": "OP_BACKUP_PREPARE",
                                  "instance_name": NAME, "mode": "remote"})
        self.assert_error(job, errors.OpPrereqError, "not supported")

    @inlineCallbacks
    def test_prepare_local(self):
        """Preparing a local export has nothing to hand back (None)."""
        self.assert_ok((yield self.run_job(create())))
        job = yield self.run_job({"OP_ID": "OP_BACKUP_PREPARE",
                                  "instance_name": NAME, "mode": "local"})
        self.assert_ok(job)
        self.assertIsNone(job.ops[0].result)

    @inlineCallbacks
    def test_remove_export(self):
        """OP_BACKUP_REMOVE removes the export; an unknown one is reported."""
        self.assert_ok((yield self.run_job(create())))
        self.assert_ok((yield self.run_job(export())))
        self.assert_ok((yield self.run_job({"OP_ID": "OP_BACKUP_REMOVE",
                                            "instance_name": NAME})))
        self.assertFalse(os.path.exists(self.export_dir()))
        job = yield self.run_job({"OP_ID": "OP_BACKUP_REMOVE",
                                  "instance_name": "gone.example.com"})
        self.assert_ok(job)
        self.assertIn("Export not found", self.log(job)[-1])

    @inlineCallbacks
    def test_import_unknown_export(self):
        """An import without a source node needs an export somewhere."""
        job = yield self.run_job(import_())
        self.assert_error(job, errors.OpPrereqError,
                          "No export found for relative path %s" % NAME)

    @inlineCallbacks
    def test_export_to_other_node_and_import_back(self):
        """
        Exporting to another node streams the dump there; importing back
        without naming the source node finds the export and streams the
        dump back.  No staging directory is left on either node.
        """
        self.assert_ok((yield self.run_job(create())))
        original = self.disk_bytes()
        job = yield self.run_job(export(target=NODE2))
        self.assert_ok(job)
        self.assertIn("Sending disk/0 to node %s" % NODE2, self.log(job))
        with open(os.path.join(self.export_dir(NODE2), "disk0.snap"),
                  "rb") as f:
            self.assertEqual(f.read(), original)
        self.assertEqual(os.listdir(self.master.node_paths[NODE1].export_dir),
                         [])
        self.assertEqual((yield self.exports()), [[NODE2, NAME]])

        self.assert_ok((yield self.run_job({"OP_ID": "OP_INSTANCE_REMOVE",
                                            "instance_name": NAME})))
        self.assert_ok((yield self.run_job(import_())))
        self.assertEqual(self.disk_bytes(), original)
        self.assertEqual(os.listdir(self.master.node_paths[NODE1].export_dir),
                         [])

    @inlineCallbacks
    def test_new_export_removes_export_on_other_node(self):
        """An instance keeps one export: a new one elsewhere replaces it."""
        self.assert_ok((yield self.run_job(create())))
        self.assert_ok((yield self.run_job(export(target=NODE2))))
        self.assert_ok((yield self.run_job(export(target=NODE1))))
        self.assertEqual((yield self.exports()), [[NODE1, NAME]])


class TransferTests(TestCase):
    """The one-shot transfer itself, on the loopback."""

    def setUp(self):
        self.directory = self.mktemp()
        os.makedirs(self.directory)
        self.source = os.path.join(self.directory, "source")
        with open(self.source, "wb") as f:
            f.write(os.urandom(100000))

    @inlineCallbacks
    def test_copy(self):
        """The file arrives whole under its final name."""
        target = os.path.join(self.directory, "target")
        port = yield transfer.receive_file(reactor, cluster_pem(), "127.0.0.1",
                                           target)
        size = yield transfer.send_file(reactor, cluster_pem(), "127.0.0.1",
                                        port, self.source)
        self.assertEqual(size, 100000)
        with open(self.source, "rb") as a, open(target, "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assertFalse(os.path.exists(target + ".partial"))

    @inlineCallbacks
    def test_foreign_certificate_refused(self):
        """
        A sender without the cluster certificate gets nothing through, and
        does not use the port up: the cluster's sender still can.
        """
        target = os.path.join(self.directory, "target")
        port = yield transfer.receive_file(reactor, cluster_pem(), "127.0.0.1",
                                           target)
        other = crypto.generate_self_signed_pem("cluster1.example.com")
        d = transfer.send_file(reactor, other, "127.0.0.1", port, self.source)
        yield self.assertFailure(d, errors.OpExecError)
        self.assertFalse(os.path.exists(target))
        size = yield transfer.send_file(reactor, cluster_pem(), "127.0.0.1",
                                        port, self.source)
        self.assertEqual(size, 100000)


class ExportInfoTests(SynchronousTestCase):
    """config.ini written and read back."""

    INSTANCE = {
        "name": NAME, "os": "marker+default", "hypervisor": "fake",
        "disk_template": "file", "tags": ["a", "b"],
        "beparams": {"maxmem": 256, "minmem": 128, "vcpus": 2},
        "hvparams": {"migration_mode": "live"}, "osparams": {"x": "1"},
        "nics": [{"mac": "aa:00:00:00:00:01", "ip": None, "mode": "bridged",
                  "link": "br0", "vlan": "", "network": None, "name": None,
                  "uuid": "u1"}],
    }

    def test_round_trip(self):
        """What build writes, ExportInfo reads back."""
        disks = [({"size": 10, "mode": "rw", "iv_name": "disk/0"}, "disk0.snap")]
        text = exportinfo.build(self.INSTANCE, disks, NODE1, 1000.0)
        self.assertIn("[export]\nversion = 0\ntimestamp = 1000\n", text)
        info = exportinfo.ExportInfo(text)
        self.assertEqual(info.disks, [{"size": 10, "dump": "disk0.snap",
                                       "ivname": "disk/0", "mode": "rw"}])
        self.assertEqual(info.nics, [{"mac": "aa:00:00:00:00:01",
                                      "mode": "bridged", "link": "br0"}])
        self.assertEqual(info.beparams["maxmem"], "256")
        self.assertEqual(info.tags, ["a", "b"])
        self.assertEqual(info.osparams, {"x": "1"})

    def test_wrong_version(self):
        """An export of another format version is refused."""
        text = exportinfo.build(self.INSTANCE, [], NODE1, 1000.0).replace(
            "version = 0", "version = 1")
        self.assertRaises(errors.OpPrereqError, exportinfo.ExportInfo, text)


class BackupCommandTests(SynchronousTestCase):
    """gnt-backup against a running one-node cluster (fake hypervisor)."""

    skip = _daemon_skip()

    def setUp(self):
        from tests.test_daemon import Cluster
        self.cluster = Cluster(self)
        self.cluster.init()
        install_os(self.cluster.paths)

    def test_export_list_import_remove(self):
        """The commands run end to end, with Ganeti's outputs and codes."""
        c = self.cluster
        c.ok("gnt-instance", "add", "-t", "file", "--disk", "0:size=1M",
             "-o", "marker", "--no-name-check", "--no-ip-check", "--no-start",
             "-n", c.node, NAME)
        code, out, err = c.run("gnt-backup", "export", NAME)
        self.assertEqual((code, err.strip()),
                         (1, "Target node must be specified"))
        c.ok("gnt-backup", "export", "-n", c.node, NAME)
        self.assertEqual(c.ok("gnt-backup", "list", "--no-headers").split(),
                         [c.node, NAME])
        self.assertEqual(c.ok("gnt-backup", "list", "--node", "nosuch",
                              "--no-headers"), "")
        fields = c.ok("gnt-backup", "list-fields", "--no-headers").split("\n")
        self.assertEqual([line.split()[0] for line in fields if line],
                         ["export", "node"])
        c.ok("gnt-instance", "remove", "-f", NAME)
        c.ok("gnt-backup", "import", "-n", c.node, "--src-node", c.node,
             "--no-name-check", "--no-ip-check", NAME)
        [image] = os.listdir(os.path.join(
            c.root, "srv/ganeti/file-storage", NAME))
        with open(os.path.join(c.root, "srv/ganeti/file-storage", NAME,
                               image), "rb") as f:
            self.assertEqual(f.read(len(MARKER)), MARKER)
        c.ok("gnt-backup", "remove", NAME)
        self.assertEqual(c.ok("gnt-backup", "list", "--no-headers"), "")


class _FakePort:
    """A listening port that only records that it was closed."""

    def __init__(self, number):
        self.number = number
        self.closed = 0

    def getHost(self):
        return attrs.make_class("Address", ["port"])(self.number)

    def stopListening(self):
        self.closed += 1


class _Probe(transfer.OneShotPort):
    """A one-shot port whose protocol and time-outs are recorded."""

    def __init__(self, reactor, timeout):
        transfer.OneShotPort.__init__(self, reactor, timeout)
        self.expired = 0

    def make_protocol(self):
        return object()

    def timed_out(self):
        self.expired += 1


class OneShotPortTests(SynchronousTestCase):
    """
    The listening port of disk dumps and disk streams serves one peer,
    then closes; nobody coming in time closes it too.
    """

    def setUp(self):
        from twisted.internet.task import Clock
        self.clock = Clock()
        self.probe = _Probe(self.clock, 300)
        self.port = _FakePort(4711)
        self.assertEqual(self.probe.listening(self.port), 4711)

    def test_first_taker(self):
        """Only the first taker has it; the port closes, the timer stops."""
        self.assertIsNotNone(self.probe.buildProtocol(None))
        self.assertTrue(self.probe.take())
        self.assertFalse(self.probe.take())
        self.assertIsNone(self.probe.buildProtocol(None))
        self.assertEqual(self.port.closed, 1)
        self.clock.advance(300)
        self.assertEqual(self.probe.expired, 0)

    def test_nobody_came(self):
        """At the timeout the port closes once and nobody can take it."""
        self.clock.advance(299)
        self.assertEqual((self.port.closed, self.probe.expired), (0, 0))
        self.clock.advance(1)
        self.assertEqual((self.port.closed, self.probe.expired), (1, 1))
        self.assertFalse(self.probe.take())
