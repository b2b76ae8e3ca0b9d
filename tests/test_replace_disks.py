"""
``gnt-instance replace-disks`` and RAPI ``/replace-disks``: the opcode each
builds from its options, and what the unit refuses.  The replacements
themselves run on real mirrors in the VM bed (tests/vm/test_drbd.py).
"""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from ganeti.cli import base, instance, jobs
from tests.test_rapi_client import ClientTestBase
from tests.util import NODE2_NAME


class ReplaceDisksOptionsTests(SynchronousTestCase):
    """The CLI takes exactly one of -p, -s, -a, -n and -I."""

    def setUp(self):
        self.ops = []
        self.patch(jobs, "submit_opcode",
                   lambda op, opts: self.ops.append(op) or [])

    def run_tool(self, *options):
        return base.main(instance.COMMANDS, instance.ALIASES,
                         ["gnt-instance", "replace-disks"] + list(options)
                         + ["inst1"])

    def opcode(self, *options):
        self.assertEqual(self.run_tool(*options), 0)
        [op] = self.ops
        return op

    def test_modes(self):
        """
        Each option is one of Ganeti's modes; -n and -I replace the
        secondary.
        """
        cases = [(["-p"], "replace_on_primary", None, None),
                 (["-s", "--disks", "0,1"], "replace_on_secondary", None,
                  None),
                 (["-a"], "replace_auto", None, None),
                 (["-n", "node3"], "replace_new_secondary", "node3", None),
                 (["-I", "hail"], "replace_new_secondary", None, "hail")]
        for options, mode, node, allocator in cases:
            self.ops = []
            op = self.opcode(*options)
            self.assertEqual((op["OP_ID"], op["mode"], op["remote_node"],
                              op["iallocator"]),
                             ("OP_INSTANCE_REPLACE_DISKS", mode, node,
                              allocator))
        self.ops = []
        self.assertEqual(self.opcode("-s", "--disks", "0,1",
                                     "--early-release")["disks"], [0, 1])

    def test_exactly_one(self):
        """
        None or two of the options, disks with -a, or a bad disk index
        are refused before any job.
        """
        for options in ([], ["-p", "-s"], ["-n", "node3", "-I", "hail"],
                        ["-a", "--disks", "0"], ["-p", "--disks", "x"]):
            self.assertEqual(self.run_tool(*options), 1, options)
        self.assertEqual(self.ops, [])


class ReplaceDisksRapiTests(ClientTestBase):
    """The official client's form (query arguments) reaches the unit."""

    @defer.inlineCallbacks
    def test_not_mirrored(self):
        """
        An instance without DRBD disks is refused, nothing changes.
        """
        yield self.create()
        ok, job = yield self.run_job(self.client.ReplaceInstanceDisks(
            "inst1.example.com", disks=[0], mode="replace_on_secondary"))
        self.assertFalse(ok)
        self.assertEqual(job["opresult"][0][1], [
            "Can only run replace disks for DRBD8-based instances",
            "wrong_input"])

    @defer.inlineCallbacks
    def test_new_secondary_needs_node(self):
        """
        Changing the secondary needs a node or an allocator, and an
        unknown mode is a 400 with no job.
        """
        yield self.create()
        ok, job = yield self.run_job(self.client.ReplaceInstanceDisks(
            "inst1.example.com", mode="replace_on_primary",
            remote_node=NODE2_NAME))
        self.assertFalse(ok)
        self.assertIn("can only be used when changing the secondary",
                      job["opresult"][0][1][0])
        failure = yield self.assertFailure(self.client.ReplaceInstanceDisks(
            "inst1.example.com", mode="sideways"), Exception)
        self.assertEqual(failure.code, 400)
        failure = yield self.assertFailure(self.client.ReplaceInstanceDisks(
            "inst1.example.com", disks=["a"]), Exception)
        self.assertEqual(failure.code, 400)
