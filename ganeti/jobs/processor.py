# -*- test-case-name: tests.test_jobqueue -*-
"""
Runs a job's opcodes, one after the other, as chains of Deferreds.

For each opcode: wait for the jobs it depends on, take the locks its
logical unit declares (the job shows ``waiting`` meanwhile), run the unit
(``running``), record the result.  The first failure fails that opcode and
every later one.  The queue does not know the logical units: a factory
given by the master maps an opcode to one.
"""

from twisted.internet.defer import (
    CancelledError, inlineCallbacks, maybeDeferred, succeed)
from twisted.logger import Logger

from ganeti import errors
from ganeti.hooks import PHASE_POST, PHASE_PRE
from ganeti.jobs import job as jobmod

_log = Logger()

CANCELED_BY_REQUEST = "Job canceled by request"
KILLED = "Job was killed by request"


def encode_error(err):
    """
    :return: Ganeti's stored form of an opcode failure; anything that is
        not a Ganeti error is reported as an execution error.
    """
    if not isinstance(err, errors.GenericError):
        err = errors.OpExecError(str(err) or type(err).__name__)
    return err.to_wire()


class _Cancelled(Exception):
    """The job was cancelled (or killed) while it waited or ran."""

    def __init__(self, status, result):
        Exception.__init__(self, result)
        self.status = status
        self.result = result


class JobRunner:
    """
    Executes jobs handed over by the queue.

    :param queue: the L{ganeti.jobs.queue.JobQueue} to report to.
    :param locks: a L{ganeti.jobs.locks.LockManager}.
    :param make_lu: ``make_lu(op, feedback) -> logical unit`` with
        ``needed_locks()``, ``check_prereq()``, ``execute()`` (may return a
        Deferred), ``run_hooks(phase, result=None)`` (a Deferred firing
        with the opcode's result) and ``dry_run_result``.
    :param flushed: returns a Deferred firing once the configuration
        changes made so far are on disk (L{ganeti.config.ConfigWriter.flushed});
        an opcode is reported done only after that.
    """

    def __init__(self, queue, locks, make_lu, flushed=None):
        self._queue = queue
        self._locks = locks
        self._make_lu = make_lu
        self._flushed = flushed or (lambda: succeed(None))
        self._waiting = {}
        self._executing = {}

    def run(self, job):
        """:return: a Deferred firing once C{job} is finalized."""
        return self._run(job)

    def cancel_waiting(self, job):
        """Stop C{job} waiting for locks or dependencies; it ends canceled."""
        d = self._waiting.get(job.id)
        if d is not None:
            d.cancel()

    def kill(self, job):
        """Abort C{job}'s running opcode; the job ends in error."""
        d = self._executing.get(job.id)
        if d is not None:
            d.cancel()

    @inlineCallbacks
    def _run(self, job):
        try:
            for op in job.ops:
                if op.status in jobmod.FINALIZED:
                    continue
                if op.status == jobmod.CANCELING:
                    raise _Cancelled(jobmod.CANCELED, CANCELED_BY_REQUEST)
                yield self._run_opcode(job, op)
        except _Cancelled as e:
            yield self._queue.finish(job, e.status, e.result)
        except Exception as e:
            if not isinstance(e, errors.GenericError):
                _log.failure("opcode of job {job_id} failed unexpectedly",
                             job_id=job.id)
            yield self._queue.finish(job, jobmod.ERROR, encode_error(e))
        finally:
            self._locks.release_all(job.id)
            self._waiting.pop(job.id, None)
            self._executing.pop(job.id, None)

    def _wait(self, job, d):
        """Wait on C{d}, which L{cancel_waiting} may cancel."""
        self._waiting[job.id] = d

        def cancelled(failure):
            failure.trap(CancelledError)
            raise _Cancelled(jobmod.CANCELED, CANCELED_BY_REQUEST)

        def done(result):
            self._waiting.pop(job.id, None)
            return result

        return d.addErrback(cancelled).addBoth(done)

    @inlineCallbacks
    def _run_opcode(self, job, op):
        queue = self._queue
        op.status = jobmod.WAITING
        op.start_timestamp = queue.now()
        queue.changed(job, durable=False)
        for dep_id, statuses in op.input.get("depends") or []:
            yield self._wait_dependency(job, dep_id, statuses)
        lu = self._make_lu(op.input, lambda msg: queue.feedback(job, op, msg))
        for level, names, shared in lu.needed_locks():
            yield self._wait(job, self._locks.acquire(
                job.id, level, names, shared=shared, priority=op.priority))
        if op.status == jobmod.CANCELING:
            raise _Cancelled(jobmod.CANCELED, CANCELED_BY_REQUEST)
        op.status = jobmod.RUNNING
        op.exec_timestamp = queue.now()
        # Nothing runs before "running" is on disk: a master that dies
        # later must know this opcode may have acted.
        yield queue.changed(job)
        # Prerequisite checks may ask nodes (free memory, OS present).
        try:
            yield maybeDeferred(lu.check_prereq)
            d = self._hooks_and_execute(lu, bool(op.input.get("dry_run")))
            # Hook scripts may run long: killing the job stops them too.
            self._executing[job.id] = d
            result = yield d
        except CancelledError:
            raise _Cancelled(jobmod.ERROR,
                             errors.OpExecError(KILLED).to_wire())
        finally:
            self._executing.pop(job.id, None)
            lu.finish()
        # What the opcode changed must survive a crash before anyone
        # hears it succeeded.
        yield self._flushed()
        result = self._submit_follow_up_jobs(result)
        op.status = jobmod.SUCCESS
        op.result = result
        op.end_timestamp = queue.now()
        if not job.pending_ops():
            job.end_timestamp = op.end_timestamp
        yield queue.changed(job)
        # Locks are per opcode: the next opcode declares its own.
        self._locks.release_all(job.id)

    @staticmethod
    def _hooks_and_execute(lu, dry_run):
        """
        The pre hooks (a failed script stops the opcode before it changed
        anything), then the unit and its post hooks.  A dry run stops
        after the pre hooks, as Ganeti's does: they may veto it too.

        :return: a Deferred firing with the opcode's result.
        """
        d = maybeDeferred(lu.run_hooks, PHASE_PRE)
        if dry_run:
            def dry(_):
                lu.log_info("dry-run mode requested, not actually executing"
                            " the operation")
                return lu.dry_run_result
            return d.addCallback(dry)
        d.addCallback(lambda _: lu.execute())
        return d.addCallback(lambda result: lu.run_hooks(PHASE_POST, result))

    @inlineCallbacks
    def _wait_dependency(self, job, dep_id, statuses):
        if dep_id == job.id:
            raise errors.OpExecError("Job can't depend on itself")
        try:
            d = self._queue.when_finalized(dep_id)
        except errors.JobLost as e:
            raise errors.OpExecError("Dependency error: %s" % e)
        status = yield self._wait(job, d)
        if status == jobmod.CANCELED and jobmod.CANCELED not in statuses:
            raise _Cancelled(jobmod.CANCELED,
                             "Dependency job %s was cancelled" % dep_id)
        if statuses and status not in statuses:
            raise errors.OpExecError(
                "Dependency job %s finished with status '%s', not one of"
                " '%s' as required" % (dep_id, status, ", ".join(statuses)))

    def _submit_follow_up_jobs(self, result):
        # A logical unit may hand back jobs to submit (cluster verify does),
        # which Ganeti replaces by the submission results.
        if isinstance(result, dict) and isinstance(result.get("jobs"), list):
            submitted = self._queue.submit_many(result["jobs"])
            result = dict(result, jobs=submitted)
        return result
