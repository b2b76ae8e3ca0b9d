# -*- test-case-name: tests.test_jobqueue -*-
"""
Clients waiting for jobs: ``gnt-job watch`` and every job-running command
(Ganeti's WaitForJobChange), and the master's own code waiting for a job
to end.

They are answered from memory the moment the queue reports a change
(L{JobWatchers.notify}); nobody polls, and nothing here touches the disk.
"""

from twisted.internet.defer import Deferred, succeed


class JobWatchers:
    """
    Who waits for which job.

    :param clock: the reactor (``callLater``), for the timeouts.
    """

    def __init__(self, clock):
        self._clock = clock
        # Job id -> callables taking the changed job.
        self._changes = {}
        # Job id -> Deferreds firing with the job's final status.
        self._finalized = {}

    def notify(self, job):
        """Tell everyone waiting for C{job} that it changed."""
        waiters = self._changes.pop(job.id, None)
        if waiters:
            for waiter in waiters:
                waiter(job)
        if job.finalized:
            for d in self._finalized.pop(job.id, []):
                d.callback(job.status)

    def when_finalized(self, job):
        """
        :return: a Deferred firing with C{job}'s final status; cancelling
            it stops the wait.
        """
        if job.finalized:
            return succeed(job.status)
        waiters = self._finalized.setdefault(job.id, [])

        def cancel(d):
            if d in waiters:
                waiters.remove(d)

        d = Deferred(cancel)
        waiters.append(d)
        return d

    def wait_for_change(self, job, fields, prev_job_info, prev_log_serial,
                        timeout):
        """
        Answer when C{job} differs from what the client saw, or with
        ``"nochange"`` after C{timeout} seconds.

        :param fields: the job fields the client shows.
        :param prev_job_info: their values the client saw last.
        :param prev_log_serial: the serial of the last log entry it saw.
        :return: Deferred firing with ``[job_info, new_log_entries]``.
        """
        prev_log_serial = prev_log_serial or 0

        def answer(current):
            info = [current.field(f) for f in fields]
            entries = current.log_entries(prev_log_serial)
            if info != prev_job_info or entries or current.finalized:
                return [info, entries]
            return None

        result = answer(job)
        if result is not None or job.archived:
            return succeed(result if result is not None else "nochange")
        d = Deferred()
        timer = None

        def on_change(current):
            result = answer(current)
            if result is None:
                self._changes.setdefault(job.id, []).append(on_change)
                return
            if timer.active():
                timer.cancel()
            d.callback(result)

        def on_timeout():
            waiters = self._changes.get(job.id, [])
            if on_change in waiters:
                waiters.remove(on_change)
            d.callback("nochange")

        timer = self._clock.callLater(max(0, timeout), on_timeout)
        self._changes.setdefault(job.id, []).append(on_change)
        return d
