"""
Tests for L{ganeti.cli.backup}: the opcodes ``gnt-backup`` command lines
submit, what the tool prints and its exit codes.
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti.cli import backup
from ganeti.cli.testing import FakeTool, query_result


class BackupToolTestCase(SynchronousTestCase):
    """Runs ``gnt-backup`` on a fake master."""

    def setUp(self):
        self.tool = FakeTool(self, backup)
        self.client = self.tool.client


class ExportTests(BackupToolTestCase):
    """``gnt-backup export``."""

    def test_export(self):
        """The options reach the opcode; a complete export exits 0."""
        self.client.op_results["OP_BACKUP_EXPORT"] = [True, [True, True]]
        op = self.tool.opcode("export", "-n", "node2", "--noshutdown",
                              "--remove-instance", "--shutdown-timeout", "30",
                              "inst1")
        self.assertEqual(op, {
            "OP_ID": "OP_BACKUP_EXPORT", "instance_name": "inst1",
            "target_node": "node2", "shutdown": False,
            "shutdown_timeout": 30, "remove_instance": True,
            "ignore_remove_failures": False, "compress": "none",
            "mode": "local", "long_sleep": False})

    def test_long_sleep(self):
        """--long-sleep lets an export keep the instance down meanwhile."""
        self.client.op_results["OP_BACKUP_EXPORT"] = [True, [True]]
        op = self.tool.opcode("export", "-n", "node2", "--long-sleep",
                              "inst1")
        self.assertIs(op["long_sleep"], True)

    def test_no_target(self):
        """Without -n nothing is exported."""
        self.assertEqual(self.tool.run("export", "inst1"),
                         (1, "", "Target node must be specified\n"))
        self.assertEqual(self.client.jobs, [])

    def test_incomplete(self):
        """A failed finalization or disk is reported; exit 1."""
        self.client.op_results["OP_BACKUP_EXPORT"] = [False, [True, False]]
        self.assertEqual(self.tool.run("export", "-n", "node2", "inst1"), (
            1, "", "Export failed during the finalization\n"
                   "Export failed for disk(s): 1\n"))

    def test_submit(self):
        """With --submit there is no result to check."""
        code, _, err = self.tool.run("export", "-n", "node2", "--submit",
                                     "inst1")
        self.assertEqual((code, err), (0, "JobID: 1\n"))


class ImportTests(BackupToolTestCase):
    """``gnt-backup import``: an instance creation in import mode."""

    def test_import(self):
        """The export's NICs are kept unless --net is given; no start."""
        op = self.tool.opcode("import", "-t", "plain", "-n", "node2:node3",
                              "--disk", "0:size=1G", "--src-node", "node4",
                              "--src-dir", "/srv/ganeti/export/inst1",
                              "--identify-defaults", "--no-name-check",
                              "inst1")
        self.assertEqual(op, {
            "OP_ID": "OP_INSTANCE_CREATE", "instance_name": "inst1",
            "disk_template": "plain", "disks": [{"size": 1024}], "nics": [],
            "pnode": "node2", "snode": "node3", "wait_for_sync": True,
            "iallocator": None, "hypervisor": None,
            "hvparams": {}, "beparams": {}, "osparams": {},
            "name_check": False, "ip_check": False, "file_storage_dir": None,
            "file_driver": None, "mode": "import", "tags": [],
            "src_node": "node4", "src_path": "/srv/ganeti/export/inst1",
            "start": False, "identify_defaults": True})

    def test_bad_disk(self):
        """A disk without size or adoption is refused."""
        self.assertEqual(self.tool.run("import", "--disk", "0:mode=rw",
                                       "inst1"),
                         (1, "", "Missing size or adoption source for"
                                 " disk 0\n"))


class ListRemoveTests(BackupToolTestCase):
    """``gnt-backup list`` and ``remove``."""

    def test_list_nodes(self):
        """--node limits the list to the exports of those nodes."""
        self.client.answers["Query"] = query_result(
            ["node", "export"], [["node2", "inst1"]])
        self.assertEqual(self.tool.run("list", "--no-headers", "--node",
                                       "node2", "--node", "node3"),
                         (0, "node2 inst1\n", ""))
        self.assertEqual(self.client.calls, [(
            "Query", "export", ["node", "export"],
            ["|", ["=", "node", "node2"], ["=", "node", "node3"]])])

    def test_remove(self):
        """remove names the instance whose exports go."""
        self.assertEqual(self.tool.opcode("remove", "inst1"), {
            "OP_ID": "OP_BACKUP_REMOVE", "instance_name": "inst1"})
