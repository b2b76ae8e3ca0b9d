# -*- test-case-name: tests.test_process -*-
"""
Run external commands without blocking the reactor.

Ganeti drives a node mostly through other programs (``lvm``, ``drbdsetup``,
``kvm``, ``ip``, hooks...).  A daemon that waited on such a program in the
reactor thread would stop answering every other request, and a hung program
would hang the daemon, so here every command is started with
L{IReactorProcess.spawnProcess}, its outcome arrives through a Deferred once
the child has been reaped, and every command may carry a time limit after
which it is terminated: ``TERM`` first, ``KILL`` if it ignores that.

The reactor is always a parameter.  Tests pass a
L{ganeti.testing.process.ProcessClock}, which records the spawned children and
lets the test decide what they print, when they exit, and when time passes.
"""

import os
import shlex
import shutil
import signal as _signal
from types import MappingProxyType

from attrs import field, frozen
from twisted.internet.defer import Deferred, fail
from twisted.internet.error import ProcessExitedAlready
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger

from ganeti.errors import CommandError, CommandTimedOut

_log = Logger()

#: The search path given to commands when the caller passes no environment.
DEFAULT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

#: The whole environment of a command run with ``env=None``.  It is minimal
#: on purpose: the daemon's own environment (whatever init or an operator's
#: shell left in it) must not change what a command does.  ``LC_ALL=C``
#: keeps messages and number formats in the fixed form our parsers expect,
#: as Ganeti's own ``RunCmd`` does.
DEFAULT_ENV = MappingProxyType({"PATH": DEFAULT_PATH, "LC_ALL": "C"})

# How much of a command's last output line goes into a one-line error.
_MAX_REASON_LENGTH = 300


def format_argv(argv):
    """
    Render a command line for messages, quoted as a POSIX shell would need.

    :param argv: the command's arguments, L{str} or L{bytes}.
    :return: one L{str}, e.g. ``lvs -o 'name,size'``.
    """
    return shlex.join(os.fsdecode(arg) for arg in argv)


def _last_line(data):
    """
    :return: the last non-blank line of C{data} as text, shortened to fit in a
        one-line message, or C{None} if there is none.
    """
    for line in reversed(data.splitlines()):
        text = line.decode("utf-8", "replace").strip()
        if text:
            if len(text) > _MAX_REASON_LENGTH:
                text = text[: _MAX_REASON_LENGTH - 3] + "..."
            return text
    return None


def _signal_name(number):
    """
    :return: e.g. ``"SIGKILL"`` for 9, or ``"?"`` for a number Python does not
        know, so a message never fails to format.
    """
    try:
        return _signal.Signals(number).name
    except ValueError:
        return "?"


@frozen
class CommandResult:
    """
    How a finished command ended and what it printed.

    A non-zero exit is a I{result}, not an error: many tools (``lvs``,
    ``drbdsetup``) use exit codes as answers.  Use L{check_command} when any
    failure should become a L{CommandError}.

    :ivar argv: the command line, as a tuple.
    :ivar exit_code: the exit status, or C{None} if a signal ended the child.
    :ivar signal: the number of the signal that ended the child, or C{None}.
    :ivar stdout: everything the child wrote to its standard output.
    :ivar stderr: everything the child wrote to its standard error.
    """

    argv: tuple = field(converter=tuple)
    exit_code: int | None
    signal: int | None
    stdout: bytes = b""
    stderr: bytes = b""

    @property
    def failed(self):
        """
        C{True} unless the command exited by itself with status 0.
        """
        return self.signal is not None or self.exit_code != 0

    def describe(self):
        """
        Summarise the outcome in one line for logs, job results and the CLI.

        The last line of standard error is usually the tool's reason for
        failing, so it is appended; standard output is the fallback for
        tools that report errors there.

        :return: e.g. ``"command 'lvs' failed with exit code 5: Volume group
            "xenvg" not found"``.
        """
        command = "command '%s'" % (format_argv(self.argv),)
        if not self.failed:
            return command + " succeeded"
        if self.signal is not None:
            text = "%s was killed by signal %d (%s)" % (
                command, self.signal, _signal_name(self.signal))
        else:
            text = "%s failed with exit code %d" % (command, self.exit_code)
        reason = _last_line(self.stderr) or _last_line(self.stdout)
        if reason:
            text += ": " + reason
        return text


class _Collector(ProcessProtocol):
    """
    Feed a child its standard input and gather its output until it ends.

    :ivar ended: a Deferred that fires with ``(exit_code, signal, stdout,
        stderr)`` once the child has been reaped and its pipes are closed.
    """

    def __init__(self, stdin):
        self._stdin = stdin
        self._out = []
        self._err = []
        self.ended = Deferred()

    def connectionMade(self):
        # Closing stdin even when there is nothing to send matters: a child
        # that reads its input would otherwise wait for it forever.
        if self._stdin:
            self.transport.write(self._stdin)
        self.transport.closeStdin()

    def outReceived(self, data):
        self._out.append(data)

    def errReceived(self, data):
        self._err.append(data)

    def processEnded(self, reason):
        # reason.value is ProcessDone (exit 0) or ProcessTerminated; both
        # carry exitCode and signal.
        value = reason.value
        self.ended.callback((value.exitCode, value.signal,
                             b"".join(self._out), b"".join(self._err)))


class _CommandRun:
    """
    The life of one command: start it, enforce its time limit, report it.

    :ivar result: the Deferred handed to the caller.  Cancelling it
        terminates the child the same way a timeout does.
    """

    def __init__(self, reactor, argv, timeout, kill_after):
        self._reactor = reactor
        self._argv = argv
        self._timeout = timeout
        self._kill_after = kill_after
        self._transport = None
        self._timers = []
        self._timed_out = False
        self.result = Deferred(self._cancel)

    def start(self, executable, env, stdin, cwd):
        """
        Spawn the child and arm the timeout.

        :return: L{result}, or a failed Deferred with L{CommandError} if the
            child could not even be started.
        """
        collector = _Collector(stdin)
        collector.ended.addCallback(self._ended)
        try:
            self._transport = self._reactor.spawnProcess(
                collector, executable, list(self._argv), env=env, path=cwd)
        except Exception as e:
            # posix_spawnp reports a missing or non-executable program right
            # here, synchronously; callers should see it as a failed command.
            return fail(CommandError(
                "command '%s' could not be started: %s"
                % (format_argv(self._argv), e)))
        _log.debug("started {command}", command=format_argv(self._argv))
        if self._timeout is not None and not self.result.called:
            self._timers.append(
                self._reactor.callLater(self._timeout, self._on_timeout))
        return self.result

    def _signal(self, name):
        """
        Send a signal, unless the child has already been reaped.
        """
        try:
            self._transport.signalProcess(name)
        except ProcessExitedAlready:
            pass

    def _terminate(self):
        """
        Ask the child to stop now, and force it after C{kill_after} seconds.
        """
        self._signal("TERM")
        self._timers.append(
            self._reactor.callLater(self._kill_after, self._kill))

    def _kill(self):
        self._signal("KILL")
        # Closing our ends of the pipes matters when the child has already
        # gone but left a descendant (a daemonised helper) holding its
        # stdout: the process is not "ended" until every pipe is closed,
        # and no signal to the child can close them.
        self._transport.loseConnection()

    def _on_timeout(self):
        self._timed_out = True
        _log.warn("command {command} timed out after {timeout} seconds;"
                  " terminating it", command=format_argv(self._argv),
                  timeout=self._timeout)
        self._terminate()

    def _cancel(self, result):
        # Deferred.cancel() fails the caller's Deferred with CancelledError
        # right after this returns; all that is left is to stop the child.
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        self._terminate()

    def _ended(self, outcome):
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        result = CommandResult(self._argv, *outcome)
        if self.result.called:
            # Cancelled: the caller is no longer waiting for this.
            return
        if self._timed_out:
            error = CommandTimedOut(
                "command '%s' timed out after %g seconds"
                % (format_argv(self._argv), self._timeout),
                [os.fsdecode(arg) for arg in self._argv], self._timeout)
            error.result = result
            self.result.errback(error)
        else:
            self.result.callback(result)


def _check_argv(argv):
    """
    :return: C{argv} as a tuple.
    :raise TypeError: if C{argv} is a single string (a classic mistake that
        would otherwise run a program named after its first character) or
        holds anything but L{str} and L{bytes}.
    """
    if isinstance(argv, (str, bytes)):
        raise TypeError("argv must be a sequence of arguments, not %r"
                        % (argv,))
    argv = tuple(argv)
    if not argv:
        raise TypeError("argv must not be empty")
    for arg in argv:
        if not isinstance(arg, (str, bytes)):
            raise TypeError("command arguments must be str or bytes, not %r"
                            % (arg,))
    return argv


def _find_executable(name, env):
    """
    Look a bare program name up in the I{child's} C{PATH}.

    The reactor would otherwise search the daemon's own C{PATH} when it uses
    C{posix_spawnp} but the child's when it forks, which differ.  An
    absolute or relative path is used as it is, and so is a name that cannot
    be found, so that spawning it fails with the usual error.

    :return: the program to pass to C{spawnProcess}.
    """
    if b"/" in os.fsencode(name):
        return name
    path = env.get("PATH", env.get(b"PATH", ""))
    found = shutil.which(os.fsdecode(name), path=os.fsdecode(path))
    return name if found is None else found


def run_command(reactor, argv, timeout=None, env=None, stdin=None,
                kill_after=5.0, cwd=None):
    """
    Run a program and collect its output, without a shell.

    :param reactor: an L{IReactorProcess} and L{IReactorTime} provider.
    :param argv: the program and its arguments, L{str} or L{bytes}.  A bare
        program name is searched in the child's C{PATH}.
    :param timeout: seconds the command may run before it is sent ``TERM``;
        C{None} for no limit.
    :param env: the child's I{complete} environment; C{None} means
        L{DEFAULT_ENV}.  To add variables, pass
        C{{**DEFAULT_ENV, "NAME": "value"}}.
    :param stdin: bytes written to the child's standard input, which is then
        closed.  With C{None} it is closed straight away.
    :param kill_after: seconds between ``TERM`` and ``KILL`` when the command
        times out or is cancelled.
    :param cwd: the child's working directory; C{None} for the daemon's.
    :return: a Deferred that fires, once the child has ended, with a
        L{CommandResult} (whatever its exit code), or fails with
        L{CommandTimedOut} (its C{result} attribute holds the partial
        output) or L{CommandError} if the program could not be started.
        (With C{cwd} set the reactor must fork, and a missing program then
        shows up as a result with exit code 1 and Twisted's traceback on
        standard error; L{check_command} fails either way.)  Cancelling
        the Deferred terminates the child.
    :raise TypeError: at once, if C{argv} is malformed.
    """
    argv = _check_argv(argv)
    child_env = dict(DEFAULT_ENV) if env is None else dict(env)
    run = _CommandRun(reactor, argv, timeout, kill_after)
    return run.start(_find_executable(argv[0], child_env), child_env, stdin,
                     cwd)


def _raise_if_failed(result):
    if result.failed:
        error = CommandError(result.describe())
        error.result = result
        raise error
    return result


def check_command(reactor, argv, timeout=None, env=None, stdin=None,
                  kill_after=5.0, cwd=None):
    """
    Like L{run_command}, but treat any unsuccessful end as an error.

    Parameters are those of L{run_command}.

    :return: a Deferred firing with the L{CommandResult} of a command that
        exited with status 0, or failing with L{CommandError} whose message is
        L{CommandResult.describe} and whose C{result} attribute is the
        result; L{CommandTimedOut} as for L{run_command}.
    """
    d = run_command(reactor, argv, timeout=timeout, env=env, stdin=stdin,
                    kill_after=kill_after, cwd=cwd)
    return d.addCallback(_raise_if_failed)
