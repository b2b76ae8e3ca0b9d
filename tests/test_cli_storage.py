"""
Tests for L{ganeti.cli.storage}: the opcode ``gnt-storage`` submits and
what it prints, in Ganeti's layout.
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti.cli import storage
from ganeti.cli.testing import FakeTool

PATH = "/srv/ganeti/extstorage/filevol"
PARAMS = [["dir", "Directory of the volume files"]]


class StorageToolTestCase(SynchronousTestCase):
    """Runs ``gnt-storage`` on a fake master."""

    def setUp(self):
        self.tool = FakeTool(self, storage)
        self.client = self.tool.client


class DiagnoseTests(StorageToolTestCase):
    """``gnt-storage diagnose``."""

    def test_per_node_and_group(self):
        """
        Valid nodes first, then invalid ones and those without the
        provider; then the groups, valid first.
        """
        self.client.op_results["OP_EXT_STORAGE_DIAGNOSE"] = [[
            "filevol",
            {"node10": [[PATH, True, "", PARAMS]],
             "node9": [[PATH, False, "File 'grow' under path 'x' is missing",
                        []]],
             "node2": [[PATH, True, "", []]], "node3": []},
            {"default": False, "other": True}]]
        self.assertEqual(self.tool.run("diagnose"), (0, (
            "Provider: filevol\n"
            "---\n"
            "  Node: node2, status: valid (path: %(p)s) [no parameters]\n"
            "  Node: node10, status: valid (path: %(p)s) [parameters: dir]\n"
            "  Node: node3, status: ExtStorage provider not found\n"
            "  Node: node9, status: invalid - File 'grow' under path 'x' is"
            " missing (path: %(p)s) [no parameters]\n"
            "  --\n"
            "  For nodegroup: other --> valid\n"
            "  For nodegroup: default --> invalid\n"
            "\n") % {"p": PATH}, ""))
        self.assertEqual(self.client.submitted(), [{
            "OP_ID": "OP_EXT_STORAGE_DIAGNOSE",
            "output_fields": ["name", "node_status", "nodegroup_status"],
            "names": []}])

    def test_none(self):
        """No provider anywhere: Ganeti's message and exit code 1."""
        self.client.op_results["OP_EXT_STORAGE_DIAGNOSE"] = []
        self.assertEqual(self.tool.run("diagnose"), (
            1, "", "Can't get the list of ExtStorage providers\n"))

    def test_no_arguments(self):
        """diagnose takes no argument."""
        self.assertEqual(self.tool.run("diagnose", "x")[0], 1)
        self.assertEqual(self.client.submitted(), [])


class InfoTests(StorageToolTestCase):
    """``gnt-storage info``."""

    def setUp(self):
        StorageToolTestCase.setUp(self)
        self.client.op_results["OP_EXT_STORAGE_DIAGNOSE"] = [
            ["broken", {"default": False}, []],
            ["filevol", {"default": True, "g2": True}, PARAMS]]

    def test_all(self):
        """Each provider: its valid groups and parameters, or invalid."""
        self.assertEqual(self.tool.run("info"), (0, (
            "broken:\n"
            "  - Invalid for all nodegroups\n"
            "\n"
            "filevol:\n"
            "  - Valid for nodegroups:\n"
            "      default\n"
            "      g2\n"
            "  - Supported parameters:\n"
            "      dir: Directory of the volume files\n"
            "\n"), ""))
        self.assertEqual(self.client.submitted(), [{
            "OP_ID": "OP_EXT_STORAGE_DIAGNOSE",
            "output_fields": ["name", "nodegroup_status", "parameters"],
            "names": []}])

    def test_named(self):
        """Only the providers named; unknown ones are Not Found."""
        self.assertEqual(self.tool.run("info", "filevol", "nope"), (0, (
            "filevol:\n"
            "  - Valid for nodegroups:\n"
            "      default\n"
            "      g2\n"
            "  - Supported parameters:\n"
            "      dir: Directory of the volume files\n"
            "\n"
            "nope: Not Found\n"
            "\n"), ""))


class ExtDiskOptionTests(SynchronousTestCase):
    """``gnt-instance`` hands ``ext`` disk options on as Ganeti's do."""

    def setUp(self):
        from ganeti.cli import instance
        self.tool = FakeTool(self, instance)
        self.client = self.tool.client

    def test_add(self):
        """provider= and the provider's own parameters reach the opcode."""
        self.tool.run("add", "-t", "ext", "-o", "debootstrap", "-n", "node1",
                      "--disk", "0:size=1G,provider=filevol,dir=/vols",
                      "inst1")
        [op] = self.client.submitted()
        self.assertEqual(op["disks"], [{"size": 1024, "provider": "filevol",
                                        "dir": "/vols"}])

    def test_modify_add(self):
        """modify --disk add: with a provider."""
        self.tool.run("modify", "--disk", "add:size=512M,provider=filevol",
                      "inst1")
        [op] = self.client.submitted()
        self.assertEqual(op["disks"], [["add", -1, {"size": 512,
                                                    "provider": "filevol"}]])
