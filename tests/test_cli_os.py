"""
Tests for L{ganeti.cli.os}: the opcodes ``gnt-os`` command lines submit,
what the tool prints and its exit codes.
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti.cli import os as oscli
from ganeti.cli.testing import FakeTool


def _node_status(ok, message="", api=(20,), variants=(), params=()):
    """One node's diagnosis of an OS, as OP_OS_DIAGNOSE gives it."""
    return [["/srv/ganeti/os/debootstrap", ok, message, list(variants),
             [list(p) for p in params], list(api)]]


class OsToolTestCase(SynchronousTestCase):
    """Runs ``gnt-os`` on a fake master."""

    def setUp(self):
        self.tool = FakeTool(self, oscli)
        self.client = self.tool.client


class ListTests(OsToolTestCase):
    """``gnt-os list``."""

    def setUp(self):
        OsToolTestCase.setUp(self)
        self.client.op_results["OP_OS_DIAGNOSE"] = [
            ["debootstrap", ["buster", "bullseye"], True, False, False],
            ["image", [], True, False, False],
            ["broken", [], False, False, False],
            ["secret", [], True, True, False],
            ["banned", [], True, False, True]]

    def test_list(self):
        """Valid, visible OSes are listed, one line per variant."""
        self.assertEqual(self.tool.run("list"), (0, (
            "Name\ndebootstrap+buster\ndebootstrap+bullseye\nimage\n"), ""))
        self.assertEqual(self.client.submitted(), [{
            "OP_ID": "OP_OS_DIAGNOSE",
            "output_fields": ["name", "variants", "valid", "hidden",
                              "blacklisted"]}])

    def test_no_headers(self):
        """--no-headers drops the title line."""
        self.assertEqual(self.tool.run("list", "--no-headers")[1].split(),
                         ["debootstrap+buster", "debootstrap+bullseye",
                          "image"])


class DiagnoseTests(OsToolTestCase):
    """``gnt-os diagnose``."""

    def test_partly_valid(self):
        """An OS invalid on one node is partial valid, and exit 1."""
        self.client.op_results["OP_OS_DIAGNOSE"] = [[
            "debootstrap", True, ["buster"],
            {"node1": _node_status(True, variants=["buster"],
                                   params=[["dhcp", "Use DHCP"]]),
             "node2": _node_status(False, "missing create script")},
            False, False]]
        code, out, _ = self.tool.run("diagnose")
        self.assertEqual(code, 1)
        self.assertEqual(out.splitlines(), [
            "OS: debootstrap [global status: partial valid]",
            "  Variants: [buster]",
            "  Node: node1, status: valid (path: /srv/ganeti/os/debootstrap)"
            " [API versions: 20] [variants: buster] [parameters: dhcp]",
            "  Node: node2, status: invalid - missing create script (path:"
            " /srv/ganeti/os/debootstrap) [API versions: 20] [no variants]"
            " [no parameters]",
            ""])

    def test_all_valid(self):
        """Valid everywhere exits 0."""
        self.client.op_results["OP_OS_DIAGNOSE"] = [[
            "image", True, [], {"node1": _node_status(True, api=[10])},
            True, False]]
        code, out, _ = self.tool.run("diagnose")
        self.assertEqual(code, 0)
        self.assertIn("OS: image [global status: valid] [hidden]", out)


class InfoTests(OsToolTestCase):
    """``gnt-os info``."""

    def test_info(self):
        """The named OSes are asked for; their details are printed."""
        self.client.op_results["OP_OS_DIAGNOSE"] = [[
            "image", True, False, False, [], [20], [["url", "Image URL"]],
            {}, {}]]
        code, out, _ = self.tool.run("info", "image")
        self.assertEqual(self.client.submitted()[0]["names"], ["image"])
        self.assertEqual(out.splitlines(), [
            "image:", "  - valid: True", "  - hidden: False",
            "  - blacklisted: False", "  - API versions:", "    - 20",
            "  - variants:", "  - parameters:", "    - url: Image URL", ""])


class ModifyTests(OsToolTestCase):
    """``gnt-os modify``: cluster parameters of one OS."""

    def test_parameters(self):
        """-O and -H are the OS's parameters and hypervisor parameters."""
        op = self.tool.opcode("modify", "-O", "dhcp=no", "-H",
                              "kvm:kernel_path=/boot/vmlinuz", "debootstrap")
        self.assertEqual(op, {
            "OP_ID": "OP_CLUSTER_SET_PARAMS",
            "osparams": {"debootstrap": {"dhcp": "no"}},
            "os_hvp": {"debootstrap": {"kvm": {
                "kernel_path": "/boot/vmlinuz"}}}})

    def test_visibility(self):
        """--hidden yes adds the OS to the hidden list; no removes it."""
        op = self.tool.opcode("modify", "--hidden", "yes", "--blacklisted",
                              "no", "debootstrap")
        self.assertEqual((op["hidden_os"], op["blacklisted_os"]),
                         ([["add", "debootstrap"]],
                          [["remove", "debootstrap"]]))

    def test_bad_flag(self):
        """A flag that is neither yes nor no names its option."""
        self.assertEqual(self.tool.run("modify", "--hidden", "perhaps", "x"), (
            1, "", "Invalid value 'perhaps' for option --hidden: expected"
                   " yes or no\n"))

    def test_nothing(self):
        """Without a change it says so and exits 1."""
        self.assertEqual(self.tool.run("modify", "debootstrap"), (
            1, "", "At least one of OS parameters or hypervisor parameters"
                   " must be passed\n"))
        self.assertEqual(self.client.jobs, [])
