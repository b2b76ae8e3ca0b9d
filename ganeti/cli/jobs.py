# -*- test-case-name: tests.test_cli_job -*-
"""
Submitting jobs to the master and following them to their end, printing
what Ganeti's tools print meanwhile ("Job 7 is waiting in queue", the
job's log, "Submitted jobs ...", "Waiting for job ...") and raising the
job's failure as Ganeti reports it.

Every call goes through L{base.get_client}, the tool's one blocking
connection to the master.
"""

import time

from ganeti import errors
from ganeti.cli import base
from ganeti.cli.options import set_common_op_options

#: Seconds a single WaitForJobChange may block on the master.
WAIT_TIMEOUT = 60.0


class JobReporter:
    """Prints job progress as Ganeti's tools do."""

    def __init__(self):
        self._notified = set()

    def log_message(self, job_id, entry):
        """
        Print one job log entry, each line after the entry's time.

        :param entry: ``[serial, [sec, usec], log_type, message]``.
        """
        _, timestamp, log_type, message = entry
        if log_type == "message-list" and isinstance(message, list):
            lines = message
        else:
            lines = [message if isinstance(message, str) else str(message)]
        when = time.ctime(timestamp[0] + timestamp[1] / 1e6)
        for line in lines:
            base.to_stdout("%s %s" % (when, line))

    def not_changed(self, job_id, status):
        """Say, once per status, that the job still waits (for what)."""
        if status in self._notified:
            return
        if status == "queued":
            base.to_stderr("Job %s is waiting in queue" % job_id)
        elif status == "waiting":
            base.to_stderr("Job %s is trying to acquire all necessary locks"
                           % job_id)
        else:
            return
        self._notified.add(status)


class SilentReporter(JobReporter):
    """Reports nothing (``gnt-job wait``)."""

    def log_message(self, job_id, entry):
        pass

    def not_changed(self, job_id, status):
        pass


_OUTCOME_FIELDS = ["status", "opstatus", "opresult"]


def poll_job(job_id, reporter=None, client=None):
    """
    Follow a job to its end, printing its log.

    The wait asks for the fields that decide the outcome too, so a
    finished job costs one round trip to the master, not two.

    :return: the list of opcode results when the job succeeded.
    :raise GenericError: the error of the first failed opcode, or
        L{errors.JobCanceled}.
    """
    client = client or base.get_client()
    reporter = reporter or JobReporter()
    prev_info, prev_serial, status = None, None, None
    while True:
        result = client.call("WaitForJobChange", job_id, _OUTCOME_FIELDS,
                             prev_info, prev_serial, WAIT_TIMEOUT)
        if result == "nochange":
            reporter.not_changed(job_id, status)
            continue
        info, entries = result
        status = info[0]
        for entry in entries:
            reporter.log_message(job_id, entry)
            prev_serial = max(prev_serial or 0, entry[0])
        prev_info = info
        if status in _FINAL:
            return job_outcome(job_id, *info)
        if status in ("queued", "waiting"):
            reporter.not_changed(job_id, status)


_FINAL = ("success", "error", "canceled")


def follow_events(job_id, reporter, client=None):
    """
    Follow a job by its events (L{ganeti.jobs.events}, the source of the
    RAPI's event stream too), printing its log; ``gnt-job watch``.

    Events may come twice (their delivery is at least once); each is
    reported once, by its index among the job's status changes or its
    log serial.

    :return: and raise as L{poll_job}, whose one call, once the job has
        ended, fetches the outcome.
    """
    client = client or base.get_client()
    after, status, seen_status, seen_serial = None, None, -1, 0
    while status not in _FINAL:
        events = client.call("WaitForJobEvents", [job_id], after,
                             WAIT_TIMEOUT)
        if not events:
            reporter.not_changed(job_id, status)
        for event in events:
            after, data = event["id"], event["data"]
            if event["event"] == "log" and data["serial"] > seen_serial:
                seen_serial = data["serial"]
                seconds = data["timestamp"]
                when = [int(seconds), round((seconds % 1) * 1e6)]
                reporter.log_message(job_id, [data["serial"], when,
                                              data["type"], data["message"]])
            elif event["event"] == "status" and data["index"] > seen_status:
                seen_status, status = data["index"], data["status"]
                reporter.not_changed(job_id, status)
    return poll_job(job_id, SilentReporter(), client)


def job_outcome(job_id, status, opstatus, results):
    """
    :return: the opcode results of a successful job.
    :raise: the job's failure, as Ganeti's tools report it.
    """
    if status == "success":
        return results
    if status in ("canceling", "canceled"):
        raise errors.JobCanceled("Job was canceled")
    for index, (op_status, value) in enumerate(zip(opstatus, results)):
        if op_status == "success":
            continue
        if op_status == "error":
            if _is_encoded_error(value):
                raise errors.from_wire(value)
            if index:
                raise errors.OpExecError("partial failure (opcode %d): %s"
                                         % (index, value))
            raise errors.OpExecError(str(value))
    raise errors.OpExecError(str(results))


def _is_encoded_error(value):
    return (isinstance(value, list) and len(value) == 2
            and isinstance(value[0], str) and isinstance(value[1], list))


def submit_job(ops, opts=None):
    """
    Submit one job; prints ``JobID: N`` (and the bare id with
    ``--print-jobid``) as Ganeti does.

    :return: the job id.
    """
    for op in ops:
        set_common_op_options(op, opts)
    job_id = base.get_client().call("SubmitJob", ops)
    if opts is not None and getattr(opts, "print_jobid", False):
        base.to_stdout(str(job_id))
    return job_id


def submit_or_send(ops, opts):
    """
    Run a job the way the options ask: with ``--submit`` print its id and
    return None, else wait and return the opcode results.
    """
    job_id = submit_job(ops, opts)
    if getattr(opts, "submit", False):
        base.to_stderr("JobID: %s" % job_id)
        return None
    return poll_job(job_id)


def submit_opcode(op, opts):
    """
    :return: the result of a single opcode, or None with ``--submit``.
    """
    results = submit_or_send([op], opts)
    return None if results is None else results[0]


class JobExecutor:
    """
    Submits several jobs and waits for them in turn, printing what
    Ganeti's tools print ("Submitted jobs ...", "Waiting for job ...").
    """

    def __init__(self, verbose=True, opts=None, reporter=None):
        self._verbose = verbose
        self._opts = opts
        self._reporter = reporter
        self._queue = []
        self._jobs = []

    def queue_job(self, name, *ops):
        """Add a job (its opcodes) to submit later."""
        for op in ops:
            set_common_op_options(op, self._opts)
        self._queue.append((len(self._queue), name, list(ops)))

    def submit_pending(self, each=False):
        """Submit every queued job, all at once unless C{each}."""
        client = base.get_client()
        if each:
            results = [[True, client.call("SubmitJob", ops)]
                       for _, _, ops in self._queue]
        else:
            results = client.call("SubmitManyJobs",
                                  [ops for _, _, ops in self._queue])
        for (ok, data), (index, name, _) in zip(results, self._queue):
            self._jobs.append((index, ok, data, name))
        self._queue = []

    def add_job_id(self, name, ok, job_id):
        """
        Follow a job submitted elsewhere (by a job that hands back jobs,
        e.g. node migrate); C{ok} and C{job_id} are its submission result.
        """
        self._jobs.append((len(self._jobs), ok, job_id, name))

    @staticmethod
    def _for(name):
        return " for %s" % name if name else ""

    def get_results(self):
        """
        Wait for every submitted job.

        :return: ``(success, result or error message)`` per job, in order.
        """
        if not self._jobs:
            self.submit_pending()
        results = []
        if self._verbose:
            ok_jobs = [str(job_id) for _, ok, job_id, _ in self._jobs if ok]
            if ok_jobs:
                base.to_stdout("Submitted jobs %s" % ", ".join(ok_jobs))
        for index, ok, job_id, name in self._jobs:
            if not ok:
                base.to_stderr("Failed to submit job%s: %s"
                               % (self._for(name), job_id))
                results.append((index, False, job_id))
                continue
            base.to_stdout("Waiting for job %s%s ..." % (job_id, self._for(name)))
            try:
                result = poll_job(job_id, self._reporter)
                success = True
            except errors.JobLost as e:
                result = base.format_error(e)[1]
                success = False
                base.to_stderr("Job %s%s has been archived, cannot check its result"
                          % (job_id, self._for(name)))
            except errors.GenericError as e:
                result = base.format_error(e)[1]
                success = False
                base.to_stderr("Job %s%s has failed: %s"
                          % (job_id, self._for(name), result))
            results.append((index, success, result))
        self._jobs = []
        return [r[1:] for r in sorted(results, key=lambda r: r[0])]

    def wait_or_show(self, wait):
        """
        Wait for the jobs (L{get_results}), or, for ``--submit``, submit
        them and print each id with its job's name (``12: inst1``), the
        ones that could not be submitted on stderr, as Ganeti does.

        :return: ``(success, result or error message)`` per job; when
            not waiting, the job id (or the submission error) in place
            of the result.
        """
        if wait:
            return self.get_results()
        if not self._jobs:
            self.submit_pending()
        for _, ok, data, name in self._jobs:
            if ok:
                base.to_stdout("%s: %s" % (data, name))
            else:
                base.to_stderr("Failure for %s: %s" % (name, data))
        return [(ok, data) for _, ok, data, _ in self._jobs]


def print_modifications(kind, name, result):
    """Print a modify result as Ganeti does (``Modified node x`` + pairs)."""
    if not result:
        return
    base.to_stdout("Modified %s %s" % (kind, name))
    for param, value in result:
        base.to_stdout(" - %-5s -> %s" % (param, value))



def follow_handed_back(result, opts):
    """
    Wait for the jobs a job handed back (its result is ``{"jobs": [[ok,
    job_id], ...]}``: node migrate, group evacuate, verify-disks),
    printing their progress.

    :return: ``(success, result or error message)`` per job, in order.
    """
    if not result["jobs"]:
        return []
    executor = JobExecutor(opts=opts)
    for ok, job_id in result["jobs"]:
        executor.add_job_id(None, ok, job_id)
    return executor.get_results()


def count_failed(results):
    """:return: how many of L{JobExecutor.get_results}' jobs failed."""
    return len([ok for ok, _ in results if not ok])
