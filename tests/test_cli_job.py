"""
Tests for L{ganeti.cli.job}: what ``gnt-job`` command lines ask the
master, what the tool prints and its exit codes; with them how every tool
follows a job (L{ganeti.cli.jobs}) and lays out ``info`` output
(L{ganeti.cli.info}).
"""

import time

from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors
from ganeti.cli import job
from ganeti.cli.testing import FakeTool, query_result


class JobToolTestCase(SynchronousTestCase):
    """Runs ``gnt-job`` on a fake master."""

    def setUp(self):
        self.tool = FakeTool(self, job)
        self.client = self.tool.client

    def answer_waits(self, *answers):
        """WaitForJobChange gives C{answers} in turn."""
        answers = list(answers)
        self.client.answers["WaitForJobChange"] = lambda *args: answers.pop(0)


class ListTests(JobToolTestCase):
    """``gnt-job list``."""

    def setUp(self):
        JobToolTestCase.setUp(self)
        self.client.answers["Query"] = query_result(
            ["id", "status", "summary"],
            [[3, "running", ["INSTANCE_STARTUP(inst1)", "TEST_DELAY"]]])

    def test_status_filter(self):
        """--running asks for running jobs; summaries are comma-joined."""
        code, out, _ = self.tool.run("list", "--running", "--no-headers")
        self.assertEqual((code, out),
                         (0, "3 running INSTANCE_STARTUP(inst1),TEST_DELAY\n"))
        self.assertEqual(self.client.calls, [(
            "Query", "job", ["id", "status", "summary"],
            ["|", ["=", "status", "running"]])])

    def test_ids_and_status(self):
        """Job ids and a status filter are both applied."""
        self.tool.run("list", "--error", "3", "4")
        [(_, _, _, qfilter)] = self.client.calls
        self.assertEqual(qfilter, ["&", ["|", ["=", "id", 3], ["=", "id", 4]],
                                   ["|", ["=", "status", "error"]]])

    def test_bad_id(self):
        """A job id that is not a number is refused before any query."""
        code, _, err = self.tool.run("list", "three")
        self.assertEqual(code, 1)
        self.assertIn("Invalid job ID passed", err)
        self.assertEqual(self.client.calls, [])


class InfoTests(JobToolTestCase):
    """``gnt-job info``."""

    def test_info(self):
        """Every opcode is shown with its status, input and result."""
        fields = ["id", "status", "ops", "opresult", "opstatus", "oplog",
                  "opstart", "opexec", "opend", "received_ts", "start_ts",
                  "end_ts"]
        self.client.answers["Query"] = query_result(fields, [[
            7, "success", [{"OP_ID": "OP_TEST_DELAY", "duration": 1}], [None],
            ["success"], [[]], [None], [None], [None], [100, 0], [101, 0],
            [102, 500000]]])
        code, out, _ = self.tool.run("info", "7")
        self.assertEqual(code, 0)
        lines = out.splitlines()
        self.assertEqual(lines[:2], ["- Job ID: 7", "  Status: success"])
        self.assertIn("  Total processing time: 2.500000 seconds", lines)
        self.assertIn("    - Opcode: OP_TEST_DELAY", lines)
        self.assertIn("      Processing start: N/A", lines)

    def test_not_found(self):
        """An unknown job is said to be not found."""
        self.client.answers["Query"] = query_result(["id"], [])
        self.assertEqual(self.tool.run("info", "9"),
                         (0, "- Job ID 9 not found\n", ""))


class FollowTests(JobToolTestCase):
    """``gnt-job watch`` and ``wait``: following a job to its end."""

    def answer_events(self, *answers):
        """WaitForJobEvents gives C{answers} in turn."""
        answers = list(answers)
        self.client.answers["WaitForJobEvents"] = (
            lambda *args: answers.pop(0))

    @staticmethod
    def status(index, status):
        return {"id": "%d-3-s%d" % (index, index), "event": "status",
                "data": {"job_id": 3, "index": index, "status": status}}

    @staticmethod
    def log(serial, seconds, kind, message):
        return {"id": "%d-3-l%d" % (seconds, serial), "event": "log",
                "data": {"job_id": 3, "serial": serial, "timestamp": seconds,
                         "type": kind, "message": message}}

    def test_watch(self):
        """
        watch follows the job's events, printing each log line once with
        its time (a repeated event, as after a master failover, is not
        printed again), and ends with the job's outcome.
        """
        self.answer_events(
            [self.status(0, "queued")], [],
            [self.status(1, "waiting"), self.status(2, "running"),
             self.log(1, 1000, "message", "Starting")],
            [self.log(1, 1000, "message", "Starting"),
             self.log(2, 1001.5, "message-list", ["a", "b"]),
             self.status(3, "success")])
        self.answer_waits([["success", ["success"], [None]], []])
        code, out, err = self.tool.run("watch", "3")
        self.assertEqual(code, 0)
        self.assertEqual(out.splitlines(), [
            "Output from job 3 follows", "-------------------------",
            "%s Starting" % time.ctime(1000), "%s a" % time.ctime(1001),
            "%s b" % time.ctime(1001)])
        self.assertEqual(err, "Job 3 is waiting in queue\n"
                              "Job 3 is trying to acquire all necessary"
                              " locks\n")
        cursors = [call[2] for call in self.client.calls
                   if call[0] == "WaitForJobEvents"]
        self.assertEqual(cursors, [None, "0-3-s0", "0-3-s0", "1000-3-l1"])

    def test_watch_failure(self):
        """A job that fails while watched: its error, exit code 1."""
        self.answer_events([self.status(0, "queued"),
                            self.status(1, "error")])
        self.answer_waits([["error", ["error"], ["boom"]], []])
        code, _, err = self.tool.run("watch", "3")
        self.assertEqual(code, 1)
        self.assertIn("Job 3 failed", err)
        self.assertIn("boom", err)

    def test_wait_failure(self):
        """wait is silent until the job fails; the failure is its exit."""
        self.answer_waits([["error", ["success", "error"],
                            [None, ["OpPrereqError", ["No such instance",
                                                      "noent"]]]],
                           [[1, [1000, 0], "message", "hidden"]]])
        code, out, err = self.tool.run("wait", "3")
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(err, "Job 3 failed: Failure: prerequisites not met"
                              " for this operation:\nerror type: noent, error"
                              " details:\nNo such instance\n")

    def test_partial_failure(self):
        """A later opcode's plain error says which opcode failed."""
        self.answer_waits([["error", ["success", "error"], [None, "boom"]],
                           []])
        code, _, err = self.tool.run("wait", "3")
        self.assertEqual(code, 1)
        self.assertIn("partial failure (opcode 1): boom", err)

    def test_canceled(self):
        """A canceled job says so."""
        self.answer_waits([["canceled", ["canceled"], [None]], []])
        self.assertEqual(self.tool.run("wait", "3"), (
            1, "", "Job 3 failed: Unhandled Ganeti error: Job was"
                   " canceled\n"))


class CancelTests(JobToolTestCase):
    """``gnt-job cancel`` and ``change-priority``."""

    def test_cancel_ids(self):
        """Each job is cancelled; a refusal makes the exit code 1."""
        self.client.answers["CancelJob"] = lambda job_id, kill: (
            [job_id == 3, "Job %s %s" % (job_id, "canceled" if job_id == 3
                                         else "has finished")])
        self.assertEqual(self.tool.run("cancel", "3", "4"), (
            1, "Job 3 canceled\nJob 4 has finished\n", ""))
        self.assertEqual([call[1:] for call in self.client.calls],
                         [(3, False), (4, False)])

    def test_kill_needs_confirmation(self):
        """--kill without --yes-do-it is refused."""
        code, _, err = self.tool.run("cancel", "--kill", "3")
        self.assertEqual(code, 1)
        self.assertIn("The --kill option must be confirmed with --yes-do-it",
                      err)
        self.assertEqual(self.client.calls, [])

    def test_filter_or_ids(self):
        """A status filter and job ids exclude each other."""
        code, _, err = self.tool.run("cancel", "--pending", "3")
        self.assertEqual(code, 1)
        self.assertIn("Either a status filter or job ID(s) must be specified"
                      " and never both", err)

    def test_pending_asks(self):
        """--pending lists the jobs and asks; no exits 13."""
        self.client.answers["Query"] = query_result(
            ["id", "status", "summary"], [[5, "queued", ["TEST_DELAY"]]])
        self.tool.confirm = False
        code, out, _ = self.tool.run("cancel", "--pending")
        self.assertEqual(code, 13)
        self.assertIn("5  queued TEST_DELAY", out)
        self.assertEqual(self.tool.questions,
                         ["Cancel job(s) listed above?"])
        self.assertEqual([call[0] for call in self.client.calls], ["Query"])

    def test_no_pending(self):
        """No job with the status is an error."""
        self.client.answers["Query"] = query_result(["id"], [])
        code, _, err = self.tool.run("cancel", "--queued")
        self.assertEqual(code, 1)
        self.assertIn("No jobs with the requested status have been found", err)

    def test_change_priority(self):
        """The priority word becomes the queue's number."""
        self.client.answers["ChangeJobPriority"] = [True, "changed"]
        self.assertEqual(self.tool.run("change-priority", "--priority", "low",
                                       "3")[0], 0)
        self.assertEqual(self.client.calls, [("ChangeJobPriority", 3, 10)])
        self.assertEqual(self.tool.run("change-priority", "3"), (
            1, "", "--priority option must be given.\n"))


class ArchiveTests(JobToolTestCase):
    """``gnt-job archive`` and ``autoarchive``."""

    def test_archive(self):
        """A job that cannot be archived is reported; exit 1."""
        self.client.answers["ArchiveJob"] = lambda job_id: job_id != 4
        self.assertEqual(self.tool.run("archive", "3", "4"), (
            1, "", "Failed to archive job with ID '4'\n"))

    def test_autoarchive(self):
        """The age is a time spec; ``all`` is every finished job."""
        self.client.answers["AutoArchiveJobs"] = [2, 0]
        self.assertEqual(self.tool.run("autoarchive", "1d"),
                         (0, "Archived 2 jobs, 0 unchecked left\n", ""))
        self.tool.run("autoarchive", "all")
        self.assertEqual([call[1] for call in self.client.calls],
                         [86400, -1])

    def test_bad_age(self):
        """An age that is no time spec is refused."""
        code, _, err = self.tool.run("autoarchive", "3x")
        self.assertEqual(code, 1)
        self.assertIn("Invalid time specification '3x'", err)
        self.assertEqual(self.client.calls, [])


class FakeClientTests(SynchronousTestCase):
    """The fake master holds calls to the real method table."""

    def test_unknown_method(self):
        """A method the master does not have is refused."""
        client = FakeTool(self, job).client
        self.assertRaises(errors.ProgrammerError, client.call, "NoSuchCall")
        self.assertRaises(errors.ProgrammerError, client.call, "ArchiveJob")
