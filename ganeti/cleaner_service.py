# -*- test-case-name: tests.test_cleaner -*-
"""
The cleaner as a service of the daemon: the passes of L{ganeti.cleaner}
once a day, in a thread.

Ganeti starts ``ganeti-cleaner`` from cron once a day.  Here the
C{master} pass is a child of the master service (so it runs where the
archive is authoritative and moves with the master role) and the
C{node} pass a child of every node's top service; on a node that is not
the master the node pass also prunes the archive copies a master
candidate keeps.  The ``ganeti-cleaner`` command runs the same passes
outside the daemon, for cron habits.

The first pass runs a few minutes after the start (not in the middle of
the start-up's own disk work), then once every L{INTERVAL}: a daemon
restarted more often than once a day still cleans.
"""

from twisted.application.service import Service
from twisted.internet.defer import maybeDeferred
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from ganeti import cleaner

_log = Logger()

#: Seconds between two passes (Ganeti's cron line: once a day).
INTERVAL = cleaner.DAY

#: Seconds from the service's start to its first pass.
FIRST_PASS = 300


class CleanerService(Service):
    """
    Runs one cleaner pass periodically.

    :param mode: ``master`` or ``node`` (L{cleaner.MODES}).
    :param paths: the node's L{ganeti.paths.Paths}.
    :param clock: the reactor (``seconds``, ``callLater``).
    :param in_thread: ``in_thread(function, *args) -> Deferred`` runs the
        blocking pass (the daemon's thread pool); by default at once.
    :param is_master: for the node pass, returns whether this node runs
        the master role now (then the master pass prunes the archive, and
        the node pass leaves it alone); by default it never does.
    :param interval: seconds between two passes.
    :param first_pass: seconds from the start to the first pass.
    """

    def __init__(self, mode, paths, clock, in_thread=None, is_master=None,
                 interval=INTERVAL, first_pass=FIRST_PASS):
        if mode not in cleaner.MODES:
            raise ValueError("unknown cleaner mode %r" % (mode,))
        self.mode = mode
        self._paths = paths
        self._clock = clock
        self._in_thread = in_thread or maybeDeferred
        self._is_master = is_master or (lambda: False)
        self._interval = interval
        self._first_pass = first_pass
        self._loop = None
        self._first = None
        self._busy = False

    def startService(self):
        Service.startService(self)
        self._loop = LoopingCall(self.run_periodic)
        self._loop.clock = self._clock
        self._first = self._clock.callLater(self._first_pass, self._start_loop)

    def _start_loop(self):
        self._first = None
        self._loop.start(self._interval, now=True).addErrback(
            lambda f: _log.failure("cleaner timer stopped", f))

    def stopService(self):
        # A pass in flight is not waited for: each removal stands alone.
        Service.stopService(self)
        if self._first is not None:
            self._first.cancel()
            self._first = None
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def run_periodic(self):
        """
        The timer's entry point: start a pass unless one is still busy.
        Its Deferred is not returned, so a slow disk holds up neither the
        timer nor a shutdown.
        """
        if self._busy:
            _log.info("{mode} cleaner: previous pass still busy, skipping",
                      mode=self.mode)
            return
        self.run().addErrback(
            lambda f: _log.failure("{mode} cleaner pass failed", f,
                                   mode=self.mode))

    def run(self):
        """
        One pass now.

        :return: a Deferred firing with its L{cleaner.Report}.
        """
        now = self._clock.seconds()
        if self.mode == "master":
            args = (cleaner.clean_master, self._paths, now)
        else:
            args = (cleaner.clean_node, self._paths, now,
                    not self._is_master())
        self._busy = True
        d = self._in_thread(*args)

        def done(report):
            self._busy = False
            self._log_report(report)
            return report

        def failed(failure):
            self._busy = False
            return failure
        return d.addCallbacks(done, failed)

    def _log_report(self, report):
        for path in report.removed:
            _log.debug("{mode} cleaner: removed {path}", mode=self.mode,
                       path=path)
        for path, error in report.failed:
            _log.warn("{mode} cleaner: cannot remove {path}: {error}",
                      mode=self.mode, path=path, error=error)
        if report.removed:
            _log.info("{mode} cleaner: removed {count} expired files",
                      mode=self.mode, count=len(report.removed))
