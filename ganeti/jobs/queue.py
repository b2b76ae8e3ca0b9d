# -*- test-case-name: tests.test_jobqueue -*-
"""
The persistent job queue.

Each job is one file, ``queue/job-<id>``, rewritten atomically after every
change; ids come from ``queue/serial``, written before a job is accepted.
A job is acknowledged to its submitter only once its file is on disk, so a
master killed at any point loses no acknowledged job.  On start the queue
reads its directory back: jobs that were running are failed with a reason
(their side effects are unknown), queued ones run again.

The queue decides what happens to jobs and when; the files and their
replication are L{ganeti.jobs.store}'s, the checks of a submission
L{ganeti.jobs.submission}'s, and clients waiting for a job are answered
from memory the moment it changes (L{ganeti.jobs.watchers}).
"""

import heapq
import os

from twisted.application.service import Service
from twisted.internet.defer import (
    Deferred, DeferredList, FirstError, maybeDeferred, succeed)
from twisted.logger import Logger
from twisted.python.failure import Failure

from ganeti import constants, errors
from ganeti.jobs import filters
from ganeti.jobs.events import JobEvents
from ganeti.jobs import job as jobmod
from ganeti.jobs.job import QueuedJob
from ganeti.jobs.store import JobFiles, encode
from ganeti.jobs.submission import resolve_dependencies, validate_job
from ganeti.jobs.watchers import JobWatchers
from ganeti.utils.io import atomic_write, remove_file

_log = Logger()

#: Result of opcodes of a job found running at start-up.
UNCLEAN_SHUTDOWN = ("The master daemon stopped while this job was running;"
                    " its opcodes may have been partly executed")

#: Reason trail source for jobs failed at start-up, as Ganeti's luxid.
DEATH_DETECTION = "gnt:daemon:luxid:deathdetection"

#: Result of the opcodes after a failed one.
PRECEDING_FAILED = errors.OpExecError("Preceding opcode failed").to_wire()

#: Result of the opcodes of a job cancelled while queued (also when a
#: REJECT filter rule cancels it), as Ganeti words it.
CANCELED_BY_REQUEST = "Job canceled by request"

_NO_RULES = {}


def _first_error(failure):
    """The failure inside a L{DeferredList}'s C{FirstError}, if wrapped."""
    if failure.check(FirstError):
        return failure.value.subFailure
    return failure


class JobQueue(Service):
    """
    Jobs on disk and in memory, their scheduling and their watchers.

    :param paths: the node's L{ganeti.paths.Paths}.
    :param clock: the reactor (``seconds``, ``callLater``).
    :param runner: object with ``run(job) -> Deferred`` executing a job's
        opcodes (it reports progress through this queue) and
        ``cancel_waiting(job)``.
    :param max_running: callable returning how many jobs may run at once.
    :param write: ``write(function, *args, **kwargs) -> Deferred`` runs a
        blocking file write; the daemon passes a thread pool so that disk
        flushes of many jobs overlap instead of stalling the reactor.  By
        default writes happen at once, in the caller's thread.
    :param filter_rules: callable returning the job filter rules in force
        (the configuration's ``filters`` map, see L{ganeti.jobs.filters});
        by default there are none.  Call L{filters_changed} after changing
        them.
    """

    def __init__(self, paths, clock, runner=None, max_running=None, write=None,
                 filter_rules=None):
        self._paths = paths
        self._clock = clock
        self.runner = runner
        self._files = JobFiles(paths, write or maybeDeferred)
        #: Submitted job id -> Deferreds waiting for its acknowledgement.
        self._acks = {}
        self._max_running = max_running or (
            lambda: constants.DEFAULT_MAX_RUNNING_JOBS)
        self._filter_rules = filter_rules or (lambda: _NO_RULES)
        # Compiled rules, recompiled only when the rules object changes.
        self._rules_source = None
        self._rules = []
        self._jobs = {}
        self._pending = []
        self._running = {}
        self._watchers = JobWatchers(clock)
        #: The job events (L{ganeti.jobs.events}): published with the
        #: watchers, once a change is written.
        self.events = JobEvents(self._jobs.values, self.get, clock)
        #: Callables ``(job)`` told of every change of a job (the master's
        #: metrics); they must not raise.
        self.observers = []
        self._last_id = 0
        self._accepting = False
        self._dirty = {}
        self._flush_call = None

    @property
    def replicator(self):
        """Told of every job write and archive (the master's replicator)."""
        return self._files.replicator

    @replicator.setter
    def replicator(self, replicator):
        self._files.replicator = replicator

    # --- life cycle -------------------------------------------------------

    def startService(self):
        Service.startService(self)
        self.load()
        self._accepting = True
        self._schedule()

    def stopService(self):
        self._accepting = False
        if self._flush_call is not None:
            self._flush_call.cancel()
            self._flush()
        Service.stopService(self)
        # Let the writes in flight land before the thread pool goes away.
        return self._files.landed()

    def load(self):
        """
        Read the queue directory: the serial and every unarchived job.

        Jobs that were past ``queued`` are failed: whatever they were doing
        was cut short, and running them again could do it twice.
        """
        self._last_id = self._files.read_serial()
        now = self.now()
        for job_id in self._files.unarchived_ids():
            # Even an unreadable file's id stays taken.
            self._last_id = max(self._last_id, job_id)
            job = self._files.read(job_id)
            if job is None:
                continue
            self._jobs[job.id] = job
            status = job.status
            if status in (jobmod.WAITING, jobmod.RUNNING, jobmod.CANCELING):
                _log.warn("job {job_id} was {status} at start-up; failing it",
                          job_id=job.id, status=status)
                reason = [DEATH_DETECTION, "detected death of job %d" % job.id,
                          int(self._clock.seconds() * 1e9)]
                for op in job.pending_ops():
                    op.input.setdefault("reason", []).append(reason)
                job.finish_pending(
                    jobmod.ERROR,
                    errors.OpExecError(UNCLEAN_SHUTDOWN).to_wire(), now)
                self._files.rewrite_now(job)
            elif status == jobmod.QUEUED:
                self._push_pending(job)
            self.events.loaded(job)

    # --- helpers ------------------------------------------------------------

    def now(self):
        """:return: the current time as a ``[seconds, microseconds]`` pair."""
        return jobmod.split_time(self._clock.seconds())

    def replicated(self, job_ids):
        """
        :return: a Deferred firing once the submitted jobs C{job_ids} are
            acknowledged: their files flushed to the disk and copied to
            the master candidates.  It fails if they could not be stored
            (the jobs are then forgotten, never run).
        """
        waiting = []
        for job_id in job_ids:
            if job_id in self._acks:
                waiter = Deferred()
                self._acks[job_id].append(waiter)
                waiting.append(waiter)
        d = DeferredList(waiting, fireOnOneErrback=True, consumeErrors=True)
        return d.addCallbacks(lambda _: None, _first_error)

    def unarchived_files(self):
        """:return: ``{job_id: encoded job}`` of every unarchived job."""
        return {job_id: encode(job) for job_id, job in self._jobs.items()}

    def get(self, job_id):
        """
        :return: the job, from memory or the archive.
        :raise JobLost: if there is no such job.
        """
        job = self._jobs.get(job_id)
        if job is None:
            job = self._files.read(job_id, archived=True)
        if job is None:
            raise errors.JobLost("Job %s not found" % (job_id,))
        return job

    def job_ids(self, archived=False):
        """:return: sorted ids of unarchived jobs (and archived ones)."""
        ids = set(self._jobs)
        if archived:
            ids.update(self._files.archived_ids())
        return sorted(ids)

    @property
    def drained(self):
        """True while the queue refuses new jobs (``queue/drain`` exists)."""
        return os.path.exists(self._paths.queue_drain)

    def set_drain_flag(self, flag):
        """Drain (True) or undrain (False) the queue."""
        if flag:
            atomic_write(self._paths.queue_drain, b"")
        else:
            remove_file(self._paths.queue_drain)
        return True

    # --- submission ---------------------------------------------------------

    def _check_accepting(self, count, ignore_drain=False):
        if not self._accepting:
            raise errors.JobQueueError("Job queue is shutting down, refusing job")
        if self.drained and not ignore_drain:
            raise errors.JobQueueDrainError(
                "Job queue is drained, refusing job")
        if len(self._jobs) + count > constants.JOB_QUEUE_SIZE_HARD_LIMIT:
            raise errors.JobQueueFull(
                "Job queue is full (%d jobs), refusing job" % len(self._jobs))

    def _allocate_ids(self, count):
        """
        :return: the new ids and the Deferred write of the serial file
            (the job files alone would do on start-up, the serial keeps
            ids of archived jobs from being reused).
        """
        first = self._last_id + 1
        self._last_id += count
        written = self._files.write_serial(self._last_id)
        return list(range(first, first + count)), written

    def submit(self, ops, ignore_drain=False):
        """
        Accept one job.

        :param ops: list of opcode dicts.
        :return: the new job id, once its file is on disk.
        :raise OpPrereqError, OpCodeUnknown: for bad opcodes; nothing is
            written then.
        """
        [(ok, value)] = self.submit_many([ops], ignore_drain, strict=True)
        return value

    def submit_many(self, jobs, ignore_drain=False, strict=False):
        """
        Accept several jobs at once.

        Relative dependencies (negative job ids) refer to jobs earlier in
        the same submission, as in Ganeti.

        :return: ``[[True, job_id] | [False, error message], ...]``.
        """
        self._check_accepting(len(jobs), ignore_drain)
        prepared = []
        for ops in jobs:
            try:
                prepared.append(validate_job(ops))
            except errors.GenericError as e:
                if strict:
                    raise
                prepared.append(e)
        good = [p for p in prepared if not isinstance(p, Exception)]
        ids, serial_written = (self._allocate_ids(len(good)) if good
                               else ([], None))
        ids = iter(ids)
        results, submitted, writes, received = [], [], [], self.now()
        for item in prepared:
            if isinstance(item, Exception):
                results.append([False, str(item)])
                continue
            job_id = next(ids)
            try:
                resolve_dependencies(item, job_id, submitted)
            except errors.GenericError as e:
                if strict:
                    raise
                results.append([False, str(e)])
                continue
            job = QueuedJob(job_id, item, received)
            self._jobs[job_id] = job
            writes.append(self._files.write_new(job))
            submitted.append(job_id)
            results.append([True, job_id])
        if submitted:
            failures = []
            self._accept(submitted, [serial_written] + writes).addErrback(
                failures.append)
            if failures:
                # The writes failed at once (no thread pool): say so now.
                failures[0].raiseException()
        return results

    def _accept(self, job_ids, writes):
        """
        Once the new job files are written: flush the directory (one flush
        makes all the new names durable), copy the jobs to the candidates,
        let them run, and acknowledge them when the candidates have them.
        A failed write forgets the jobs: their ids were never given out.

        :return: a Deferred with the outcome.
        """
        for job_id in job_ids:
            self._acks[job_id] = []
        d = DeferredList(writes, fireOnOneErrback=True, consumeErrors=True)
        d.addCallback(lambda _: self._files.flush_directory())

        def stored(_):
            copies = [self._files.replicate(job_id, encode(self._jobs[job_id]))
                      for job_id in job_ids]
            for job_id in job_ids:
                self._push_pending(self._jobs[job_id])
                self.events.publish(self._jobs[job_id])
            self._schedule()
            return DeferredList([c for c in copies if c is not None])

        def acknowledged(outcome):
            if isinstance(outcome, Failure):
                outcome = _first_error(outcome)
                _log.failure("could not store jobs {job_ids}", outcome,
                             job_ids=job_ids)
                for job_id in job_ids:
                    self._jobs.pop(job_id, None)
                    self._files.remove(job_id).addErrback(lambda _: None)
            for job_id in job_ids:
                for waiter in self._acks.pop(job_id, []):
                    if isinstance(outcome, Failure):
                        waiter.errback(outcome)
                    else:
                        waiter.callback(None)
            return outcome
        return d.addCallback(stored).addBoth(acknowledged)

    # --- scheduling -------------------------------------------------------

    def _push_pending(self, job):
        heapq.heappush(self._pending, (job.priority, job.id))

    @property
    def last_job_id(self):
        """The highest job id handed out so far (a filter's watermark)."""
        return self._last_id

    def filters_changed(self):
        """
        Judge the queued jobs again after the filter rules changed: a
        removed PAUSE lets jobs start, a new REJECT cancels queued jobs.
        """
        self._schedule()

    def _compiled_rules(self):
        rules = self._filter_rules()
        if rules is not self._rules_source:
            self._rules = filters.compile_rules(rules)
            self._rules_source = rules
        return self._rules

    def _schedule(self):
        """
        Start queued jobs, most urgent first, while slots are free and the
        filter rules let them; cancel those a REJECT rule applies to (all
        queued ones, even when no slot is free).  Jobs held back (paused,
        rate-limited, no slot) go back into the pending heap.
        """
        if not self._accepting or self.runner is None:
            return
        admission = filters.Admission(
            self._compiled_rules(),
            [self._jobs[i] for i in self._running if i in self._jobs])
        held, seen = [], set()
        while self._pending:
            may_start = len(self._running) < self._max_running()
            if not (may_start or admission.may_reject):
                break
            entry = heapq.heappop(self._pending)
            job_id = entry[1]
            job = self._jobs.get(job_id)
            if (job is None or job.status != jobmod.QUEUED or job_id in seen
                    or job_id in self._running):
                # Finished, or a stale entry from a priority change.
                continue
            seen.add(job_id)
            verdict, rule = admission.decide(job, may_start)
            if verdict == filters.ACCEPT:
                self._start(job)
            elif verdict == filters.REJECT:
                _log.info("job {job_id} rejected by filter rule {uuid}",
                          job_id=job_id, uuid=rule.uuid)
                self.finish(job, jobmod.CANCELED, CANCELED_BY_REQUEST)
            else:
                held.append(entry)
        for entry in held:
            heapq.heappush(self._pending, entry)

    def _start(self, job):
        job.start_timestamp = job.start_timestamp or self.now()
        d = self.runner.run(job)
        self._running[job.id] = d

        def done(result):
            self._running.pop(job.id, None)
            if not job.finalized:
                # The runner stopped without finishing the job: fail it
                # rather than leave it running forever.
                self.finish(job, jobmod.ERROR, errors.OpExecError(
                    "Job processing stopped unexpectedly").to_wire())
            self._schedule()

        def crashed(failure):
            _log.failure("job {job_id} crashed", failure, job_id=job.id)

        d.addErrback(crashed).addBoth(done)

    # --- progress reports from the runner -----------------------------------

    def changed(self, job, durable=True):
        """
        Persist a changed job and wake everyone watching it.

        :param durable: wake the watchers only once the new state is
            written, so nobody is told of a state a crash could undo.
            Passing False (waiting states, log messages) wakes them at once
            and lets several changes made in one reactor turn share one
            write at the end of the turn.  Final states are also flushed to
            the disk (fsync) before anyone hears of them; intermediate ones
            need only survive a crash of the master, which a plain atomic
            write ensures.
        :return: a Deferred firing when the change is written (durable) or
            at once.
        """
        for observer in self.observers:
            observer(job)
        if not durable:
            self._dirty[job.id] = job
            if self._flush_call is None:
                self._flush_call = self._clock.callLater(0, self._flush)
            self._notify(job)
            return succeed(None)
        self._dirty.pop(job.id, None)
        d = self._files.write(job, fsync=job.finalized)
        return d.addCallback(lambda _: self._notify(job))

    def _notify(self, job):
        self._watchers.notify(job)
        self.events.publish(job)

    def _flush(self):
        self._flush_call = None
        dirty, self._dirty = self._dirty, {}
        for job in dirty.values():
            self._files.write(job, fsync=False).addErrback(lambda _: None)

    def feedback(self, job, op, message, log_type=jobmod.LOG_MESSAGE):
        """Add a log message to the running opcode and tell watchers."""
        job.add_log(op, message, self.now(), log_type)
        self.changed(job, durable=False)

    def finish(self, job, status, result):
        """
        Finalize every unfinished opcode of C{job} and save it; after a
        failed opcode the rest read "Preceding opcode failed".
        """
        rest = PRECEDING_FAILED if status == jobmod.ERROR else None
        job.finish_pending(status, result, self.now(), rest)
        return self.changed(job)

    def when_finalized(self, job_id):
        """
        :return: a Deferred firing with the job's final status.
        :raise JobLost: for an unknown job.
        """
        return self._watchers.when_finalized(self.get(job_id))

    # --- client operations --------------------------------------------------

    def wait_for_change(self, job_id, fields, prev_job_info, prev_log_serial,
                        timeout):
        """
        Ganeti's WaitForJobChange: answer when the job differs from what
        the client saw, or with ``"nochange"`` after C{timeout} seconds.

        :return: Deferred firing with ``[job_info, new_log_entries]``.
        :raise JobLost: for an unknown job.
        """
        return self._watchers.wait_for_change(
            self.get(job_id), fields, prev_job_info, prev_log_serial, timeout)

    def cancel(self, job_id, kill=False):
        """
        Cancel a job, with the answers of Ganeti 3.0's luxid: a queued job
        is dequeued at once, a waiting one stops waiting and ends canceled,
        a running one can only be killed (C{kill}), which fails it.

        :return: a Deferred firing with ``[success, message]`` (once the
            cancellation of a queued job is on disk).
        """
        job = self._jobs.get(job_id)
        status = job.status if job is not None else None
        if status == jobmod.QUEUED:
            d = self.finish(job, jobmod.CANCELED, CANCELED_BY_REQUEST)
            return d.addCallback(lambda _: [True, "Dequeued job %d" % job_id])
        if status == jobmod.WAITING:
            for op in job.pending_ops():
                op.status = jobmod.CANCELING
            self.changed(job, durable=False)
            self.runner.cancel_waiting(job)
            return succeed([True, "Job successfully cancelled"])
        if status == jobmod.RUNNING:
            if not kill:
                return succeed([False, "Job no longer waiting, can't cancel"])
            self.runner.kill(job)
            return succeed([True, "Job %d killed" % job_id])
        return succeed([False, "Job %d not found in queue" % job_id])

    def change_priority(self, job_id, priority):
        """:return: ``[success, message]`` as Ganeti's ChangePriority."""
        job = self.get(job_id)
        status = job.status
        if status in jobmod.FINALIZED:
            return [False, "Job %s is finished" % job_id]
        if status == jobmod.CANCELING:
            return [False, "Job %s is cancelling" % job_id]
        changed = False
        for op in job.ops:
            if op.status in (jobmod.QUEUED, jobmod.WAITING):
                op.priority = priority
                changed = True
        if not changed:
            return [False, "Job %s had no pending opcodes" % job_id]
        self.changed(job)
        if job.status == jobmod.QUEUED:
            self._push_pending(job)
            self._schedule()
        return [True, "Priorities of pending opcodes for job %s have been"
                      " changed to %s" % (job_id, priority)]

    def archive(self, job_id):
        """
        Move a finished job to ``queue/archive/<id // 10000>/``.

        :return: True if archived, False if the job is unknown, already
            archived or not finished.
        """
        job = self._jobs.get(job_id)
        if (job is None or not job.finalized
                or not self._files.archive(job_id)):
            return False
        del self._jobs[job_id]
        self.events.forget(job_id)
        return True

    def auto_archive(self, age, timeout=None):
        """
        Archive finished jobs that ended more than C{age} seconds ago
        (``age < 0``: all finished jobs).

        :return: ``[archived_count, jobs_left]``.
        """
        now = self._clock.seconds()
        archived = 0
        for job_id in sorted(self._jobs):
            job = self._jobs[job_id]
            if not job.finalized:
                continue
            ended = jobmod.join_time(job.end_timestamp or job.received_timestamp)
            if age < 0 or now - ended > age:
                self.archive(job_id)
                archived += 1
        return [archived, len(self._jobs)]
