"""
Tests for L{ganeti.cli.debug}: the opcodes and jobs ``gnt-debug`` command
lines submit, what the tool prints and its exit codes.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors
from ganeti.cli import debug
from ganeti.cli.testing import FakeTool, query_result


class DebugToolTestCase(SynchronousTestCase):
    """Runs ``gnt-debug`` on a fake master."""

    def setUp(self):
        self.tool = FakeTool(self, debug)
        self.client = self.tool.client


class DelayTests(DebugToolTestCase):
    """``gnt-debug delay``."""

    def test_delay(self):
        """The duration and where to sleep reach OP_TEST_DELAY."""
        op = self.tool.opcode("delay", "--no-master", "-n", "node2", "-n",
                              "node3", "-r", "3", "-i", "2.5")
        self.assertEqual(op, {
            "OP_ID": "OP_TEST_DELAY", "duration": 2.5, "on_master": False,
            "on_nodes": ["node2", "node3"], "repeat": 3,
            "interruptible": True, "no_locks": False})

    def test_bad_duration(self):
        """A duration that is no number is a usage error."""
        self.assertEqual(self.tool.run("delay", "soon"), (
            1, "", "Invalid duration 'soon': expected seconds\n"))


class AllocatorTests(DebugToolTestCase):
    """``gnt-debug iallocator``."""

    def test_defaults(self):
        """Default disks and NIC are parsed; the answer is printed."""
        self.client.op_results["OP_TEST_ALLOCATOR"] = '{"request": {}}'
        code, out, _ = self.tool.run("iallocator", "--mode", "allocate",
                                     "--tags", "a,b", "inst1")
        self.assertEqual((code, out), (0, '{"request": {}}\n'))
        self.assertEqual(self.client.submitted(), [{
            "OP_ID": "OP_TEST_ALLOCATOR", "direction": "in",
            "mode": "allocate", "name": "inst1", "iallocator": None,
            "memory": 128, "vcpus": 1, "os": None, "disk_template": None,
            "disks": [{"size": 4096, "mode": "rw"},
                      {"size": 4096, "mode": "rw"}],
            "nics": [{"mac": "00:11:22:33:44:55", "ip": "192.0.2.2",
                      "mode": "bridged", "link": None}],
            "tags": ["a", "b"], "instances": ["inst1"], "evac_mode": "all",
            "target_groups": [], "spindle_use": 1, "count": 1}])

    def test_disks_and_nics(self):
        """Sizes take units; a NIC may give only its link."""
        self.client.op_results["OP_TEST_ALLOCATOR"] = "{}"
        op = self.tool.opcode("iallocator", "--disks", "1G:ro,512",
                              "--nics", "//br0", "inst1")
        self.assertEqual((op["disks"], op["nics"]), (
            [{"size": 1024, "mode": "ro"}, {"size": 512, "mode": "rw"}],
            [{"mac": "auto", "ip": None, "mode": "bridged", "link": "br0"}]))

    def test_empty_answer(self):
        """An allocator that answered nothing prints None, exit 0."""
        self.client.op_results["OP_TEST_ALLOCATOR"] = None
        self.assertEqual(self.tool.run("iallocator", "inst1"),
                         (0, "None\n", ""))

    def test_bad_disk(self):
        """A disk size that is no size is refused."""
        self.assertEqual(self.tool.run("iallocator", "--disks", "big",
                                       "inst1"),
                         (1, "", "Invalid disk specification 'big'\n"))
        self.assertEqual(self.client.jobs, [])


class SubmitJobTests(DebugToolTestCase):
    """``gnt-debug submit-job``."""

    def write(self, content):
        """:return: the path of a new file holding C{content} as JSON."""
        path = self.mktemp()
        with open(path, "w") as f:
            json.dump(content, f)
        return path

    def test_repeats(self):
        """Every job repeat is its own job, the opcodes repeated in it."""
        path = self.write([{"OP_ID": "OP_TEST_DELAY", "duration": 0}])
        code, out, _ = self.tool.run("submit-job", "--job-repeat", "2",
                                     "--op-repeat", "2", path)
        self.assertEqual(code, 0)
        self.assertEqual([[op["OP_ID"] for op in ops]
                          for ops in self.client.jobs],
                         [["OP_TEST_DELAY"] * 2] * 2)
        self.assertEqual([call[0] for call in self.client.calls][0],
                         "SubmitManyJobs")
        self.assertEqual(out, "Waiting for job 1 for file %s/0 ...\n"
                              "Waiting for job 2 for file %s/1 ...\n"
                              % (path, path))

    def test_each(self):
        """--each submits the jobs one by one."""
        path = self.write([{"OP_ID": "OP_TEST_DELAY", "duration": 0}])
        self.tool.run("submit-job", "--each", path, path)
        submits = [call[0] for call in self.client.calls
                   if call[0].startswith("Submit")]
        self.assertEqual(submits, ["SubmitJob", "SubmitJob"])

    def test_failed_job(self):
        """A failed job makes the exit code 1."""
        self.client.op_results["OP_TEST_JQUEUE"] = errors.OpExecError("no")
        path = self.write([{"OP_ID": "OP_TEST_JQUEUE"}])
        code, _, err = self.tool.run("submit-job", path)
        self.assertEqual(code, 1)
        self.assertIn("has failed: Failure: command execution error:\nno",
                      err)

    def test_bad_files(self):
        """A file that is not a JSON list of opcodes, or missing, is refused."""
        path = self.write({"OP_ID": "OP_TEST_DELAY"})
        self.assertEqual(self.tool.run("submit-job", path), (
            1, "", "%s must hold a JSON list of opcodes\n" % path))
        code, _, err = self.tool.run("submit-job", "/nonexistent/ops.json")
        self.assertEqual(code, 1)
        self.assertIn("Cannot read /nonexistent/ops.json", err)
        self.assertEqual(self.client.jobs, [])


class LocksTests(DebugToolTestCase):
    """``gnt-debug locks``."""

    def test_locks(self):
        """Owners are comma-joined, pending requests as mode:owners."""
        self.client.answers["Query"] = query_result(
            ["name", "mode", "owner", "pending"],
            [["instance/inst1", "exclusive", ["job/3"],
              [["shared", ["job/4", "job/5"]]]]])
        self.assertEqual(self.tool.run("locks", "--no-headers"), (
            0, "instance/inst1 exclusive job/3 shared:job/4,job/5\n", ""))
        self.assertEqual(self.client.calls[0][1:3],
                         ("lock", ["name", "mode", "owner", "pending"]))
