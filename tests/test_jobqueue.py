"""
Tests for the job queue: persistence, states, cancel, dependencies,
archive, drain, recovery after a crash, and watchers.
"""

import json
import os

from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors
from tests.util import DeferredWrites, Master, make_paths, write_config

DELAY = {"OP_ID": "OP_TEST_DELAY", "duration": 1.0}


def jqueue(**params):
    return dict({"OP_ID": "OP_TEST_JQUEUE"}, **params)


def dummy(**params):
    return dict({"OP_ID": "OP_TEST_DUMMY"}, **params)


def read_job(paths, job_id):
    with open(paths.job_file(job_id)) as f:
        return json.load(f)


class SubmitTests(SynchronousTestCase):
    """Submitting jobs: ids, files, validation."""

    def setUp(self):
        self.master = Master(self)
        self.queue = self.master.queue

    def test_ids_are_consecutive_and_persisted(self):
        """Job ids count up from 1 and the serial file remembers the last."""
        ids = [self.queue.submit([jqueue()]) for _ in range(3)]
        self.assertEqual(ids, [1, 2, 3])
        with open(self.master.paths.queue_serial) as f:
            self.assertEqual(f.read().strip(), "3")

    def test_serial_survives_restart(self):
        """A restarted queue continues after the last id, even if archived."""
        self.queue.submit([jqueue()])
        self.queue.submit([jqueue()])
        self.queue.archive(1)
        again = Master(self, paths=self.master.paths)
        self.assertEqual(again.queue.submit([jqueue()]), 3)

    def test_job_file_written_before_ack(self):
        """The job's file exists with status queued when submit returns."""
        master = Master(self, max_running=0)
        job_id = master.queue.submit([DELAY])
        data = read_job(master.paths, job_id)
        self.assertEqual(data["ops"][0]["status"], "queued")
        self.assertEqual(data["ops"][0]["input"]["duration"], 1.0)

    def test_bad_parameter_names_parameter_and_type(self):
        """A wrongly typed parameter is refused, naming it and the type."""
        e = self.assertRaises(errors.OpPrereqError, self.queue.submit,
                              [{"OP_ID": "OP_TEST_DELAY", "duration": "soon"}])
        self.assertIn("OP_TEST_DELAY.duration", str(e))
        self.assertIn("expected a number", str(e))
        self.assertEqual(self.queue.job_ids(), [])
        self.assertFalse(os.path.exists(self.master.paths.queue_serial))

    def test_unknown_opcode(self):
        """An unknown OP_ID is refused and nothing is written."""
        self.assertRaises(errors.OpCodeUnknown, self.queue.submit,
                          [{"OP_ID": "OP_NO_SUCH_THING"}])
        self.assertEqual(os.listdir(self.master.paths.queue_dir), ["archive"])

    def test_invalid_priority(self):
        """Only low, normal and high priorities may be submitted."""
        self.assertRaises(errors.OpPrereqError, self.queue.submit,
                          [jqueue(priority=5)])

    def test_drained_queue_refuses(self):
        """A drained queue refuses jobs until undrained."""
        self.queue.set_drain_flag(True)
        self.assertTrue(self.queue.drained)
        self.assertRaises(errors.JobQueueDrainError, self.queue.submit, [jqueue()])
        self.assertEqual(self.queue.job_ids(), [])
        self.queue.set_drain_flag(False)
        self.assertEqual(self.queue.submit([jqueue()]), 1)

    def test_submit_many_reports_each(self):
        """SubmitManyJobs answers per job; bad ones do not stop good ones."""
        result = self.queue.submit_many([[jqueue()], [{"OP_ID": "OP_NOPE"}],
                                         [jqueue()]])
        self.assertEqual(result[0], [True, 1])
        self.assertFalse(result[1][0])
        self.assertIn("OP_NOPE", result[1][1])
        self.assertEqual(result[2], [True, 2])


class ExecutionTests(SynchronousTestCase):
    """Running jobs: states, results, failures, logs."""

    def setUp(self):
        self.master = Master(self)
        self.queue = self.master.queue
        self.clock = self.master.clock

    def test_delay_runs_to_success(self):
        """A delay job runs, waits its duration on the clock, then succeeds."""
        job_id = self.queue.submit([DELAY])
        job = self.queue.get(job_id)
        self.assertEqual(job.status, "running")
        self.clock.advance(0.5)
        self.assertEqual(job.status, "running")
        self.clock.advance(0.6)
        self.assertEqual(job.status, "success")
        data = read_job(self.master.paths, job_id)
        self.assertEqual(data["ops"][0]["status"], "success")
        self.assertIsNotNone(data["end_timestamp"])
        self.assertIsNotNone(data["ops"][0]["exec_timestamp"])

    def test_failure_fails_rest(self):
        """A failing opcode fails the job; later ones are not run."""
        job_id = self.queue.submit([jqueue(log_messages=["a"]), jqueue(fail=True),
                                    dummy(messages=["never"])])
        job = self.queue.get(job_id)
        self.assertEqual(job.status, "error")
        self.assertEqual([op.status for op in job.ops], ["success", "error", "error"])
        self.assertEqual(job.ops[1].result,
                         ["OpExecError", ["Opcode failure was requested"]])
        self.assertEqual(job.ops[2].result,
                         ["OpExecError", ["Preceding opcode failed"]])
        self.assertEqual(job.ops[2].log, [])

    def test_prereq_failure(self):
        """A failing prerequisite keeps its error class and code."""
        job_id = self.queue.submit([dict(DELAY, duration=0.0)])
        self.assertEqual(self.queue.get(job_id).ops[0].result,
                         ["OpPrereqError", ["Duration must be greater than zero",
                                            "wrong_input"]])

    def test_log_messages(self):
        """Feedback messages get increasing serials across opcodes."""
        job_id = self.queue.submit([dummy(messages=["one", "two"]),
                                    dummy(messages=["three"])])
        entries = self.queue.get(job_id).log_entries()
        self.assertEqual([e[0] for e in entries], [1, 2, 3])
        self.assertEqual([e[3] for e in entries], ["one", "two", "three"])
        self.assertEqual(self.queue.get(job_id).log_entries(2)[0][3], "three")

    def test_dry_run(self):
        """A dry run checks prerequisites and does not execute."""
        job_id = self.queue.submit([jqueue(dry_run=True, fail=True)])
        job = self.queue.get(job_id)
        self.assertEqual(job.status, "success")
        self.assertIn("dry-run mode requested", job.log_entries()[0][3])

    def test_max_running(self):
        """No more than max_running jobs run at once; the rest queue."""
        master = Master(self, max_running=1)
        first = master.queue.submit([DELAY])
        second = master.queue.submit([DELAY])
        self.assertEqual(master.queue.get(second).status, "queued")
        master.clock.advance(1.0)
        self.assertEqual(master.queue.get(first).status, "success")
        self.assertEqual(master.queue.get(second).status, "running")

    def test_priority_order(self):
        """Among queued jobs a higher priority starts first."""
        master = Master(self, max_running=1)
        master.queue.submit([DELAY])
        normal = master.queue.submit([DELAY])
        high = master.queue.submit([dict(DELAY, priority=-10)])
        master.clock.advance(1.0)
        self.assertEqual(master.queue.get(high).status, "running")
        self.assertEqual(master.queue.get(normal).status, "queued")

    def test_lock_wait_shows_waiting(self):
        """A job waiting for a lock another job holds is 'waiting'."""
        hold = dict(DELAY, no_locks=False)
        first = self.queue.submit([hold])
        second = self.queue.submit([hold])
        self.assertEqual(self.queue.get(first).status, "running")
        self.assertEqual(self.queue.get(second).status, "waiting")
        self.clock.advance(1.0)
        self.assertEqual(self.queue.get(second).status, "running")
        self.clock.advance(1.0)
        self.assertEqual(self.queue.get(second).status, "success")
        self.assertEqual(self.master.locks.describe(), [])


class CancelTests(SynchronousTestCase):
    """Cancelling as Ganeti does."""

    def setUp(self):
        self.master = Master(self)
        self.queue = self.master.queue
        self.clock = self.master.clock

    def test_cancel_queued(self):
        """A queued job is canceled at once and never runs."""
        master = Master(self, max_running=0)
        job_id = master.queue.submit([DELAY])
        self.assertEqual(self.successResultOf(master.queue.cancel(job_id)),
                         [True, "Dequeued job %d" % job_id])
        job = master.queue.get(job_id)
        self.assertEqual(job.status, "canceled")
        self.assertEqual(job.ops[0].result, "Job canceled by request")
        self.assertEqual(read_job(master.paths, job_id)["ops"][0]["status"],
                         "canceled")

    def test_cancel_waiting_releases_only_own(self):
        """
        Cancelling a job waiting for a lock cancels it and leaves the
        holder's lock alone.
        """
        hold = dict(DELAY, no_locks=False)
        first = self.queue.submit([hold])
        second = self.queue.submit([hold])
        self.assertEqual(self.successResultOf(self.queue.cancel(second))[0], True)
        self.assertEqual(self.queue.get(second).status, "canceled")
        owners = {lock["name"]: lock["owner"]
                  for lock in self.master.locks.describe()}
        self.assertEqual(owners["node/node1.example.com"], [first])
        self.clock.advance(1.0)
        self.assertEqual(self.queue.get(first).status, "success")

    def test_cancel_running_refused(self):
        """A running job cannot be cancelled without kill."""
        job_id = self.queue.submit([DELAY])
        ok, message = self.successResultOf(self.queue.cancel(job_id))
        self.assertFalse(ok)
        self.assertIn("no longer waiting", message)
        self.clock.advance(1.0)
        self.assertEqual(self.queue.get(job_id).status, "success")

    def test_kill_running(self):
        """Kill stops a running job, which ends in error."""
        job_id = self.queue.submit([DELAY])
        self.assertTrue(self.successResultOf(self.queue.cancel(job_id, kill=True))[0])
        job = self.queue.get(job_id)
        self.assertEqual(job.status, "error")
        self.assertIn("killed", job.ops[0].result[1][0])

    def test_cancel_finished(self):
        """A finished job is no longer in the queue to cancel."""
        job_id = self.queue.submit([jqueue()])
        self.assertEqual(self.successResultOf(self.queue.cancel(job_id)),
                         [False, "Job %d not found in queue" % job_id])


class DependencyTests(SynchronousTestCase):
    """Job dependencies."""

    def setUp(self):
        self.master = Master(self)
        self.queue = self.master.queue
        self.clock = self.master.clock

    def test_waits_for_dependency(self):
        """A dependent job waits until its dependency finishes."""
        first = self.queue.submit([DELAY])
        second = self.queue.submit([jqueue(depends=[[first, ["success"]]])])
        self.assertEqual(self.queue.get(second).status, "waiting")
        self.clock.advance(1.0)
        self.assertEqual(self.queue.get(second).status, "success")

    def test_wrong_status_fails(self):
        """A dependency ending in an unwanted status fails the job."""
        first = self.queue.submit([jqueue(fail=True)])
        second = self.queue.submit([jqueue(depends=[[first, ["success"]]])])
        job = self.queue.get(second)
        self.assertEqual(job.status, "error")
        self.assertIn("not one of 'success'", job.ops[0].result[1][0])

    def test_canceled_dependency_cancels(self):
        """A canceled dependency cancels the dependent job."""
        master = Master(self, max_running=1)
        blocker = master.queue.submit([DELAY])
        first = master.queue.submit([DELAY])
        second = master.queue.submit([jqueue(depends=[[first, []]])])
        self.successResultOf(master.queue.cancel(first))
        master.clock.advance(1.0)
        self.assertEqual(master.queue.get(blocker).status, "success")
        self.assertEqual(master.queue.get(second).status, "canceled")

    def test_relative_ids(self):
        """Negative ids in one submission point to earlier jobs of it."""
        result = self.queue.submit_many([[DELAY], [jqueue(depends=[[-1, []]])]])
        second = result[1][1]
        self.assertEqual(self.queue.get(second).ops[0].input["depends"],
                         [[result[0][1], []]])

    def test_unknown_dependency(self):
        """A dependency on a job that does not exist fails the job."""
        job_id = self.queue.submit([jqueue(depends=[[4242, []]])])
        job = self.queue.get(job_id)
        self.assertEqual(job.status, "error")
        self.assertIn("Dependency error", job.ops[0].result[1][0])


class WaitTests(SynchronousTestCase):
    """WaitForJobChange pushes changes to waiting clients."""

    def setUp(self):
        self.master = Master(self)
        self.queue = self.master.queue
        self.clock = self.master.clock

    def test_answers_on_change(self):
        """A waiter is answered the moment the job's status changes."""
        job_id = self.queue.submit([DELAY])
        d = self.queue.wait_for_change(job_id, ["status"], ["running"], 0, 30)
        self.assertNoResult(d)
        self.clock.advance(1.0)
        info, entries = self.successResultOf(d)
        self.assertEqual(info, ["success"])

    def test_nochange_after_timeout(self):
        """Without change the waiter gets 'nochange' after its timeout."""
        job_id = self.queue.submit([dict(DELAY, duration=100.0)])
        d = self.queue.wait_for_change(job_id, ["status"], ["running"], 0, 5)
        self.clock.advance(5)
        self.assertEqual(self.successResultOf(d), "nochange")

    def test_new_log_entries(self):
        """Log entries newer than the client's serial are returned."""
        job_id = self.queue.submit([dummy(messages=["a", "b"])])
        info, entries = self.successResultOf(
            self.queue.wait_for_change(job_id, ["status"], None, 1, 30))
        self.assertEqual([e[3] for e in entries], ["b"])

    def test_unknown_job(self):
        """Waiting on an unknown job fails with JobLost."""
        self.assertRaises(errors.JobLost, self.queue.wait_for_change,
                          99, ["status"], None, 0, 1)


class ArchiveTests(SynchronousTestCase):
    """Archiving jobs."""

    def setUp(self):
        self.master = Master(self)
        self.queue = self.master.queue
        self.clock = self.master.clock

    def test_archive_moves_file(self):
        """An archived job moves under archive/<id // 10000>/ and stays queryable."""
        job_id = self.queue.submit([jqueue()])
        self.assertTrue(self.queue.archive(job_id))
        paths = self.master.paths
        self.assertFalse(os.path.exists(paths.job_file(job_id)))
        self.assertTrue(os.path.exists(paths.archived_job_file(job_id)))
        job = self.queue.get(job_id)
        self.assertTrue(job.archived)
        self.assertEqual(job.status, "success")
        self.assertEqual(self.queue.job_ids(), [])
        self.assertEqual(self.queue.job_ids(archived=True), [job_id])

    def test_unfinished_not_archived(self):
        """Running or unknown jobs are not archived."""
        job_id = self.queue.submit([DELAY])
        self.assertFalse(self.queue.archive(job_id))
        self.assertFalse(self.queue.archive(4242))

    def test_auto_archive_by_age(self):
        """Auto-archive takes finished jobs older than the age only."""
        old = self.queue.submit([jqueue()])
        self.clock.advance(100)
        new = self.queue.submit([jqueue()])
        running = self.queue.submit([DELAY])
        self.assertEqual(self.queue.auto_archive(50), [1, 2])
        self.assertEqual(self.queue.job_ids(), [new, running])
        self.assertEqual(self.queue.auto_archive(-1), [1, 1])
        self.assertTrue(self.queue.get(old).archived)


class RecoveryTests(SynchronousTestCase):
    """A master that died leaves jobs behind; the next one sorts them out."""

    def test_running_jobs_fail_queued_jobs_run(self):
        """
        After a crash, jobs that were running end in error with a reason,
        queued jobs run.
        """
        paths = make_paths(self)
        write_config(paths)
        crashed = Master(self, paths=paths, max_running=1)
        running = crashed.queue.submit([dict(DELAY, duration=100.0)])
        queued = crashed.queue.submit([jqueue()])
        self.assertEqual(crashed.queue.get(queued).status, "queued")
        # The first master is simply abandoned, as after kill -9.
        restarted = Master(self, paths=paths)
        job = restarted.queue.get(running)
        self.assertEqual(job.status, "error")
        self.assertIn("master daemon stopped", job.ops[0].result[1][0])
        self.assertEqual(job.ops[0].input["reason"][-1][0],
                         "gnt:daemon:luxid:deathdetection")
        self.assertEqual(restarted.queue.get(queued).status, "success")
        with open(paths.job_file(running)) as f:
            self.assertEqual(json.load(f)["ops"][0]["status"], "error")

    def test_corrupt_file_ignored(self):
        """A corrupt job file does not stop the queue; its id is not reused."""
        paths = make_paths(self)
        write_config(paths)
        with open(paths.job_file(7), "w") as f:
            f.write("{not json")
        master = Master(self, paths=paths)
        self.assertEqual(master.queue.job_ids(), [])
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        self.assertEqual(master.queue.submit([jqueue()]), 8)


class AsyncWriteTests(SynchronousTestCase):
    """
    Submission with the writes in a thread pool (as the daemon does): ids
    come at once, jobs run and are acknowledged once their files landed.
    """

    def setUp(self):
        self.writes = DeferredWrites()
        self.master = Master(self, write=self.writes)
        self.queue = self.master.queue

    def test_acknowledged_after_files_land(self):
        job_id = self.queue.submit([jqueue()])
        acked = self.queue.replicated([job_id])
        self.assertNoResult(acked)
        self.assertEqual(self.queue.get(job_id).status, "queued")
        self.assertFalse(os.path.exists(self.master.paths.job_file(job_id)))
        # The serial, the job file, then the directory flush.
        self.writes.land(3)
        self.successResultOf(acked)
        self.assertIn(self.queue.get(job_id).status, ("running", "success"))
        self.writes.land_all()
        self.assertEqual(read_job(self.master.paths, job_id)["ops"][0]["status"],
                         "success")

    def test_failed_write_forgets_job(self):
        """A job whose file cannot be written is refused, never run."""
        job_id = self.queue.submit([jqueue()])
        acked = self.queue.replicated([job_id])
        self.writes.land()
        self.writes.fail()
        failure = self.failureResultOf(acked, OSError)
        self.assertIn("No space left", str(failure.value))
        self.flushLoggedErrors(OSError)
        self.writes.land_all()
        self.assertRaises(errors.JobLost, self.queue.get, job_id)
        self.assertFalse(os.path.exists(self.master.paths.job_file(job_id)))

    def test_waiting_write_superseded(self):
        """
        While a job's file is being written, the states it passes meanwhile
        are written once, as the latest; everyone waiting hears when that
        lands, and a flush asked for by any of them is done.
        """
        from ganeti.jobs.store import JobFiles
        from ganeti.jobs.job import QueuedJob
        written = []

        def write(function, *args, **kwargs):
            written.append((args[1], kwargs))
            return self.writes(function, *args, **kwargs)
        files = JobFiles(self.master.paths, write)
        job = QueuedJob(99, [jqueue()], [1, 0])
        first = files.write_new(job)
        job.ops[0].status = "waiting"
        second = files.write(job, fsync=True)
        job.ops[0].status = "running"
        third = files.write(job, fsync=False)
        serial = files.write_serial(99)
        self.assertEqual(len(written), 2)
        self.writes.land(2)
        self.successResultOf(first)
        self.assertNoResult(second)
        self.assertEqual(len(written), 3)
        self.assertEqual(json.loads(written[2][0])["ops"][0]["status"],
                         "running")
        self.assertEqual(written[2][1], {"flush_directory": False})
        self.writes.land()
        self.successResultOf(second)
        self.successResultOf(third)
        self.successResultOf(serial)
        self.assertEqual(read_job(self.master.paths, 99)["ops"][0]["status"],
                         "running")

    def test_final_state_on_disk_before_anyone_hears(self):
        job_id = self.queue.submit([DELAY])
        self.writes.land(3)
        self.writes.land_all()
        finished = self.queue.when_finalized(job_id)
        self.master.clock.advance(2)
        self.assertNoResult(finished)
        self.writes.land_all()
        self.assertEqual(self.successResultOf(finished), "success")
        self.assertEqual(read_job(self.master.paths, job_id)["ops"][0]["status"],
                         "success")
