# -*- test-case-name: tests.test_process -*-
"""
A fake reactor for code that runs child processes.

L{ProcessClock} is a L{Clock} that also provides L{IReactorProcess}: instead
of forking, C{spawnProcess} records a L{FakeProcess}, and the test plays the
child's part (print, exit, die by a signal) and moves time with
C{advance()}.  Nothing waits on a real clock or a real program, so timeouts
are tested exactly and instantly::

    clock = ProcessClock()
    d = run_command(clock, ["/sbin/lvs"], timeout=10)
    [lvs] = clock.processes
    lvs.feed_stdout(b"xenvg\\n")
    lvs.exit(0)
    result = self.successResultOf(d)

The fake mirrors the order of events of Twisted's POSIX process transport:
the protocol is connected inside C{spawnProcess}; C{processExited} comes
when the child is reaped, C{processEnded} only once it is reaped I{and}
every pipe is closed; pipes closed by the parent report their loss on the
next reactor turn (C{advance(0)}); signalling a reaped child raises
L{ProcessExitedAlready}.

Bare program names are not looked up here, so tests should check
C{FakeProcess.argv} rather than C{FakeProcess.executable}.
"""

from twisted.internet.error import (
    ProcessDone,
    ProcessExitedAlready,
    ProcessTerminated,
)
from twisted.internet.interfaces import IProcessTransport, IReactorProcess
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from zope.interface import implementer

_STDIN, _STDOUT, _STDERR = 0, 1, 2


@implementer(IProcessTransport)
class FakeProcess:
    """
    A child process whose behaviour the test decides.

    :ivar argv: the argument list given to C{spawnProcess}.
    :ivar executable: the program given to C{spawnProcess}.
    :ivar env: the environment given to C{spawnProcess}.
    :ivar path: the working directory given to C{spawnProcess}.
    :ivar uid: the user id given to C{spawnProcess}.
    :ivar gid: the group id given to C{spawnProcess}.
    :ivar protocol: the L{IProcessProtocol} connected to this process.
    :ivar pid: a made-up process id; C{None} once the child is reaped.
    :ivar signals: every signal sent to the child, as given (``"TERM"``, 9).
    :ivar stdin: all bytes written to the child's standard input.
    :ivar stdin_closed: whether the parent has closed standard input.
    :ivar reaped: whether the child has exited (see L{exit} and L{die}).
    :ivar ended: whether C{processEnded} has been delivered.
    """

    def __init__(self, clock, protocol, executable, argv, env, path, uid,
                 gid, pid):
        self._clock = clock
        self.protocol = protocol
        self.executable = executable
        self.argv = argv
        self.env = env
        self.path = path
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.signals = []
        self.stdin = b""
        self.stdin_closed = False
        self.reaped = False
        self.ended = False
        self._reason = None
        self._open_fds = {_STDIN, _STDOUT, _STDERR}
        self._pending_closes = {}

    # -- What the child does (called by tests) ------------------------------

    def _feed(self, fd, data):
        if fd not in self._open_fds:
            raise RuntimeError("fd %d of %r is closed" % (fd, self.argv))
        self.protocol.childDataReceived(fd, data)

    def feed_stdout(self, data):
        """
        Deliver C{data} as if the child wrote it to standard output.
        """
        self._feed(_STDOUT, data)

    def feed_stderr(self, data):
        """
        Deliver C{data} as if the child wrote it to standard error.
        """
        self._feed(_STDERR, data)

    def exit(self, code=0, *, output_held=False):
        """
        Make the child exit with status C{code}.

        :param output_held: keep standard output and error open, as when
            the child left a background descendant holding them; then
            C{processEnded} waits until the parent closes them.
        """
        if code == 0:
            reason = Failure(ProcessDone(0))
        else:
            reason = Failure(ProcessTerminated(exitCode=code,
                                               status=code << 8))
        self._end(reason, output_held)

    def die(self, signal, *, output_held=False):
        """
        Make the child end by signal number C{signal}.

        :param output_held: as for L{exit}.
        """
        self._end(Failure(ProcessTerminated(signal=signal, status=signal)),
                  output_held)

    def _end(self, reason, output_held):
        if self.reaped:
            raise RuntimeError("%r has already exited" % (self.argv,))
        self.reaped = True
        self.pid = None
        self._reason = reason
        self.protocol.processExited(reason)
        # The child's end of its stdin is gone, so writing to it fails and
        # the parent notices straight away; its output pipes close too,
        # unless a descendant still holds them.
        self._lose(_STDIN)
        if not output_held:
            self._lose(_STDOUT)
            self._lose(_STDERR)
        self._maybe_end()

    # -- IProcessTransport (called by the code under test) ----------------

    def _lose(self, fd):
        pending = self._pending_closes.pop(fd, None)
        if pending is not None and pending.active():
            pending.cancel()
        if fd not in self._open_fds:
            return
        self._open_fds.discard(fd)
        self.protocol.childConnectionLost(fd)
        self._maybe_end()

    def _maybe_end(self):
        # As the real transport: the end is reported once the child is
        # reaped and every pipe is closed, whichever happens last.
        if self.reaped and not self._open_fds and not self.ended:
            self.ended = True
            self.protocol.processEnded(self._reason)

    def closeChildFD(self, descriptor):
        """
        Close one pipe; the protocol hears of it on the next reactor turn.
        """
        if descriptor == _STDIN:
            self.stdin_closed = True
        if (descriptor in self._open_fds
                and descriptor not in self._pending_closes):
            self._pending_closes[descriptor] = self._clock.callLater(
                0, self._lose, descriptor)

    def closeStdin(self):
        """
        Close standard input after what was written (see L{closeChildFD}).
        """
        self.closeChildFD(_STDIN)

    def closeStdout(self):
        """
        Close standard output (see L{closeChildFD}).
        """
        self.closeChildFD(_STDOUT)

    def closeStderr(self):
        """
        Close standard error (see L{closeChildFD}).
        """
        self.closeChildFD(_STDERR)

    def loseConnection(self):
        """
        Close all three pipes (see L{closeChildFD}).
        """
        self.closeStdin()
        self.closeStderr()
        self.closeStdout()

    def writeToChild(self, childFD, data):
        """
        Record bytes written to standard input.

        :raise KeyError: for any other descriptor, as the real transport.
        :raise RuntimeError: if standard input was closed; the real
            transport drops such bytes silently, which hides a bug.
        """
        if childFD != _STDIN:
            raise KeyError(childFD)
        if self.stdin_closed or _STDIN not in self._open_fds:
            raise RuntimeError("write to the closed stdin of %r"
                               % (self.argv,))
        self.stdin += data

    def write(self, data):
        """
        Record bytes written to standard input (see L{writeToChild}).
        """
        self.writeToChild(_STDIN, data)

    def writeSequence(self, data):
        """
        Record several chunks written to standard input.
        """
        for chunk in data:
            self.write(chunk)

    def signalProcess(self, signalID):
        """
        Record a signal; it has no effect until the test calls L{die}.

        :raise ProcessExitedAlready: if the child has been reaped.
        """
        if self.reaped:
            raise ProcessExitedAlready()
        self.signals.append(signalID)

    def getPeer(self):
        """
        Not supported by process transports.
        """
        raise NotImplementedError()

    def getHost(self):
        """
        Not supported by process transports.
        """
        raise NotImplementedError()


def _check_strings(what, values):
    for value in values:
        if not isinstance(value, (str, bytes)):
            raise TypeError("%s must be str or bytes, not %r" % (what, value))


@implementer(IReactorProcess)
class ProcessClock(Clock):
    """
    A L{Clock} whose C{spawnProcess} records L{FakeProcess} objects.

    :ivar processes: every process spawned, oldest first.
    :ivar spawn_error: if set, an exception that C{spawnProcess} raises
        instead of spawning, as the real reactor does for a missing program.
    """

    def __init__(self):
        super().__init__()
        self.processes = []
        self.spawn_error = None
        self._next_pid = 1000

    def spawnProcess(self, processProtocol, executable, args=(), env=None,
                     path=None, uid=None, gid=None, usePTY=False,
                     childFDs=None):
        """
        Record a child and connect C{processProtocol} to it.

        :return: the new L{FakeProcess}.
        :raise TypeError: if an argument or environment entry is neither
            L{str} nor L{bytes}, as the real reactor would.
        """
        if usePTY or childFDs is not None:
            raise NotImplementedError("ProcessClock only fakes plain pipes")
        args = list(args)
        _check_strings("arguments", [executable] + args)
        if env is not None:
            _check_strings("environment entries",
                           list(env.keys()) + list(env.values()))
        if self.spawn_error is not None:
            raise self.spawn_error
        process = FakeProcess(self, processProtocol, executable, args, env,
                              path, uid, gid, self._next_pid)
        self._next_pid += 1
        self.processes.append(process)
        processProtocol.makeConnection(process)
        return process
