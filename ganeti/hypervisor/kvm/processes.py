# -*- test-case-name: tests.test_kvm_processes -*-
"""
Watching qemu processes that are not our children.

qemu daemonises, so its process belongs to init and the reactor's child
handling never hears of it; a restarted node daemon must also find the
qemus its predecessor started.  This module reads such processes from
C{/proc} and waits for them to end without blocking: a pidfd
(``pidfd_open``, Linux 5.3) becomes readable when the process exits, and
the reactor watches it like a socket.  Where that is unavailable (or the
reactor is a test clock) the process is polled on the reactor's clock
instead.
"""

import os
import select
import signal

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IReactorFDSet, IReadDescriptor
from zope.interface import implementer

from ganeti.utils.io import read_file

#: How often to look at a process whose exit cannot be watched.
_POLL_INTERVAL = 0.05


def proc_cmdline(pid):
    """
    :return: the argument list of process C{pid} (empty for a zombie), or
        C{None} if there is no such process.
    """
    try:
        data = read_file("/proc/%d/cmdline" % pid)
    except OSError:
        return None
    return [os.fsdecode(arg) for arg in data.split(b"\0")[:-1]]


def cpu_time(pid):
    """
    :return: user plus system CPU seconds of process C{pid}, or 0.
    """
    try:
        text = read_file("/proc/%d/stat" % pid).decode("ascii", "replace")
        # The command name (field 2) may hold spaces; count after it.
        fields = text[text.rindex(")") + 2:].split()
        ticks = int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return 0
    return ticks / os.sysconf("SC_CLK_TCK")



@implementer(IReadDescriptor)
class ProcessHandle:
    """
    A process that is not our child, watched until it exits.

    A pidfd pins the process: signals sent through it cannot reach a
    later process that reuses the pid, and it becomes readable when the
    process exits, which the reactor reports like data on a socket.
    """

    def __init__(self, reactor, pid):
        self._reactor = reactor
        self.pid = pid
        self._fd = None
        self._waiters = []
        self._poller = None
        self._watching = False
        try:
            self._fd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._gone = True
            return
        except (AttributeError, OSError):
            # Old kernel or Python: fall back to pid-based signals and
            # polling.
            pass
        self._gone = False

    def exited(self):
        """
        :return: whether the process has ended (a zombie counts as ended).
        """
        if self._gone:
            return True
        if self._fd is not None:
            ready, _, _ = select.select([self._fd], [], [], 0)
            self._gone = bool(ready)
        else:
            args = proc_cmdline(self.pid)
            self._gone = not args
        return self._gone

    def send_signal(self, signum):
        """
        Signal the process; nothing happens if it has ended.
        """
        if self.exited():
            return
        try:
            if self._fd is not None:
                signal.pidfd_send_signal(self._fd, signum)
            else:
                os.kill(self.pid, signum)
        except ProcessLookupError:
            self._gone = True

    def wait(self, timeout):
        """
        :return: a Deferred firing with C{True} when the process exits, or
            with C{False} after C{timeout} seconds if it has not.
        """
        d = Deferred(lambda d: self._waiters.remove(d))
        if self.exited():
            d.callback(True)
            return d
        self._waiters.append(d)
        timer = self._reactor.callLater(timeout, d.cancel)

        def done(result):
            if timer.active():
                timer.cancel()
            return result

        def timed_out(reason):
            reason.trap(CancelledError)
            return False

        d.addCallbacks(done, timed_out)
        self._watch()
        return d

    def _watch(self):
        if self._fd is not None and IReactorFDSet.providedBy(self._reactor):
            if not self._watching:
                self._watching = True
                self._reactor.addReader(self)
        elif self._poller is None or not self._poller.active():
            self._poller = self._reactor.callLater(_POLL_INTERVAL, self._poll)

    def _poll(self):
        if self.exited():
            self._fire()
        elif self._waiters:
            self._poller = self._reactor.callLater(_POLL_INTERVAL, self._poll)

    def _fire(self):
        self._gone = True
        self._stop_watching()
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(True)

    def _stop_watching(self):
        if self._watching:
            self._watching = False
            self._reactor.removeReader(self)

    def close(self):
        """
        Stop watching and release the pidfd.
        """
        self._stop_watching()
        if self._poller is not None and self._poller.active():
            self._poller.cancel()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # IReadDescriptor, for the reactor.
    def fileno(self):
        return self._fd if self._fd is not None else -1

    def doRead(self):
        self._fire()

    def connectionLost(self, reason):
        self._watching = False

    def logPrefix(self):
        return "qemu-%d" % self.pid
