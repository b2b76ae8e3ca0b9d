# -*- test-case-name: tests.test_process -*-
"""
Tests for L{ganeti.process} and its double L{ganeti.testing.process}.

Almost everything runs against L{ProcessClock}; L{RealProcessTests} runs a
few real children so that the fake's behaviour stays that of the reactor.
"""

import os
import signal
import stat

from twisted.internet.defer import CancelledError
from twisted.internet.error import ProcessExitedAlready
from twisted.internet.interfaces import IProcessTransport, IReactorProcess
from twisted.internet.protocol import ProcessProtocol
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from ganeti.errors import CommandError, CommandTimedOut
from ganeti.process import (
    DEFAULT_ENV,
    CommandResult,
    check_command,
    format_argv,
    run_command,
)
from ganeti.testing.process import ProcessClock


class CommandResultTests(SynchronousTestCase):
    """
    Tests for L{CommandResult}.
    """

    def test_success(self):
        """
        Exit status 0 is not a failure and is described as success.
        """
        result = CommandResult(["/bin/true"], 0, None)
        self.assertFalse(result.failed)
        self.assertEqual(result.describe(), "command '/bin/true' succeeded")

    def test_exit_code_with_stderr(self):
        """
        A non-zero exit fails; the description quotes the command and gives
        the last non-blank line of standard error.
        """
        result = CommandResult(
            ["lvs", "-o", "name,size"], 5, None, b"ignored\n",
            b"  WARNING: x\n  Volume group \"xenvg\" not found\n\n")
        self.assertTrue(result.failed)
        self.assertEqual(
            result.describe(),
            "command 'lvs -o name,size' failed with exit code 5: "
            "Volume group \"xenvg\" not found")

    def test_exit_code_falls_back_to_stdout(self):
        """
        Without standard error, the last line of standard output is used.
        """
        result = CommandResult(["x"], 1, None, b"first\nlast\n", b"")
        self.assertEqual(result.describe(),
                         "command 'x' failed with exit code 1: last")

    def test_exit_code_without_output(self):
        """
        Without any output the description just gives the exit code.
        """
        self.assertEqual(CommandResult(["x"], 3, None).describe(),
                         "command 'x' failed with exit code 3")

    def test_signal(self):
        """
        A child ended by a signal failed; the signal is named.
        """
        result = CommandResult(["x"], None, 9)
        self.assertTrue(result.failed)
        self.assertEqual(result.describe(),
                         "command 'x' was killed by signal 9 (SIGKILL)")

    def test_long_reason_shortened(self):
        """
        A very long last line is cut so the description stays readable.
        """
        result = CommandResult(["x"], 1, None, b"", b"e" * 5000)
        description = result.describe()
        self.assertLess(len(description), 400)
        self.assertTrue(description.endswith("..."))

    def test_argv_is_tuple(self):
        """
        The argument list is stored as a tuple, so results are hashable
        values that cannot change after the fact.
        """
        result = CommandResult(["a", "b"], 0, None)
        self.assertEqual(result.argv, ("a", "b"))
        hash(result)

    def test_format_argv_quotes(self):
        """
        Arguments that need quoting for a shell are quoted; bytes arguments
        are decoded.
        """
        self.assertEqual(format_argv(["sh", "-c", "exit 3", b"b"]),
                         "sh -c 'exit 3' b")


class ProcessClockTests(SynchronousTestCase):
    """
    Tests for the fake itself: that it provides the interfaces and keeps
    the real transport's order of events.
    """

    def setUp(self):
        self.clock = ProcessClock()
        self.events = []
        events = self.events

        class Recorder(ProcessProtocol):
            def childConnectionLost(self, fd):
                events.append(("lost", fd))

            def processExited(self, reason):
                events.append(("exited", type(reason.value).__name__))

            def processEnded(self, reason):
                events.append(("ended", reason.value.exitCode))

        self.protocol = Recorder()

    def spawn(self):
        return self.clock.spawnProcess(self.protocol, "/bin/x", ["/bin/x"],
                                       env={})

    def test_interfaces(self):
        """
        The clock provides L{IReactorProcess}, its processes
        L{IProcessTransport}.
        """
        self.assertTrue(verifyObject(IReactorProcess, self.clock))
        self.assertTrue(verifyObject(IProcessTransport, self.spawn()))

    def test_connected_during_spawn(self):
        """
        The protocol is connected to the process before C{spawnProcess}
        returns, and the process is recorded.
        """
        process = self.spawn()
        self.assertIs(self.protocol.transport, process)
        self.assertEqual(self.clock.processes, [process])
        self.assertIsNotNone(process.pid)

    def test_ended_after_exit_and_pipes(self):
        """
        C{processExited} comes when the child exits; C{processEnded} once
        the pipes it left held open are closed too.
        """
        process = self.spawn()
        process.exit(2, output_held=True)
        self.assertEqual(self.events,
                         [("exited", "ProcessTerminated"), ("lost", 0)])
        self.assertIsNone(process.pid)
        process.loseConnection()
        self.assertFalse(process.ended)
        self.clock.advance(0)
        self.assertEqual(self.events[2:],
                         [("lost", 2), ("lost", 1), ("ended", 2)])
        self.assertTrue(process.ended)

    def test_signal_after_exit(self):
        """
        Signalling a reaped child raises L{ProcessExitedAlready}.
        """
        process = self.spawn()
        process.signalProcess("TERM")
        process.die(15)
        self.assertRaises(ProcessExitedAlready, process.signalProcess, "KILL")
        self.assertEqual(process.signals, ["TERM"])

    def test_write_after_close(self):
        """
        Writing to a closed standard input is reported, not ignored.
        """
        process = self.spawn()
        process.write(b"a")
        process.closeStdin()
        self.assertRaises(RuntimeError, process.write, b"b")
        self.assertEqual(process.stdin, b"a")

    def test_rejects_non_string_arguments(self):
        """
        Like the real reactor, arguments must be strings.
        """
        self.assertRaises(TypeError, self.clock.spawnProcess, self.protocol,
                          "/bin/x", ["/bin/x", 3])

    def test_spawn_error(self):
        """
        C{spawn_error} is raised instead of spawning.
        """
        self.clock.spawn_error = FileNotFoundError(2, "No such file")
        self.assertRaises(FileNotFoundError, self.spawn)
        self.assertEqual(self.clock.processes, [])


class RunCommandTests(SynchronousTestCase):
    """
    Tests for L{run_command} driven by L{ProcessClock}.
    """

    def setUp(self):
        self.clock = ProcessClock()

    def start(self, argv=("/sbin/tool", "arg"), **kwargs):
        """
        Start a command on the fake clock.

        :return: the Deferred and the recorded process.
        """
        d = run_command(self.clock, list(argv), **kwargs)
        [process] = self.clock.processes
        return d, process

    def test_spawn_defaults(self):
        """
        The program is run with its argument list, the minimal default
        environment, the daemon's working directory, and its standard input
        closed at once.
        """
        d, process = self.start()
        self.assertEqual(process.argv, ["/sbin/tool", "arg"])
        self.assertEqual(process.executable, "/sbin/tool")
        self.assertEqual(process.env, dict(DEFAULT_ENV))
        self.assertEqual(process.env["PATH"], "/usr/sbin:/usr/bin:/sbin:/bin")
        self.assertIsNone(process.path)
        self.assertEqual(process.stdin, b"")
        self.assertTrue(process.stdin_closed)
        self.assertNoResult(d)

    def test_env_and_cwd(self):
        """
        A given environment is the child's whole environment; C{cwd} becomes
        its working directory.
        """
        _, process = self.start(env={"HOME": "/root"}, cwd="/var/lib")
        self.assertEqual(process.env, {"HOME": "/root"})
        self.assertEqual(process.path, "/var/lib")

    def test_stdin_written_then_closed(self):
        """
        C{stdin} bytes are written, then standard input is closed.
        """
        _, process = self.start(stdin=b"config data\n")
        self.assertEqual(process.stdin, b"config data\n")
        self.assertTrue(process.stdin_closed)

    def test_output_collected(self):
        """
        Output arriving in pieces is joined; a clean exit gives a successful
        L{CommandResult}.
        """
        d, process = self.start()
        process.feed_stdout(b"xen")
        process.feed_stderr(b"warn")
        process.feed_stdout(b"vg\n")
        process.exit(0)
        self.assertEqual(
            self.successResultOf(d),
            CommandResult(("/sbin/tool", "arg"), 0, None, b"xenvg\n", b"warn"))

    def test_exit_code_is_a_result(self):
        """
        A non-zero exit is reported as a result, not as an error.
        """
        d, process = self.start()
        process.feed_stderr(b"no such volume\n")
        process.exit(5)
        result = self.successResultOf(d)
        self.assertEqual((result.exit_code, result.signal), (5, None))
        self.assertTrue(result.failed)

    def test_signal_is_a_result(self):
        """
        A child killed by someone else is reported with its signal.
        """
        d, process = self.start()
        process.die(11)
        result = self.successResultOf(d)
        self.assertEqual((result.exit_code, result.signal), (None, 11))

    def test_no_timeout_by_default(self):
        """
        Without a timeout a command may run for ever and sets no timer.
        """
        d, process = self.start()
        self.clock.advance(0)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(10 ** 6)
        self.assertEqual(process.signals, [])
        self.assertNoResult(d)

    def test_finishing_in_time_cancels_timer(self):
        """
        A command that ends before its timeout leaves no timer behind.
        """
        d, process = self.start(timeout=10)
        self.clock.advance(9)
        process.exit(0)
        self.successResultOf(d)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(process.signals, [])

    def test_timeout_terms_then_kills(self):
        """
        A hung child gets TERM at the timeout, KILL C{kill_after} seconds
        later; once it is reaped the caller sees L{CommandTimedOut} carrying
        the partial output, and no timer is left.
        """
        d, process = self.start(timeout=10, kill_after=5)
        process.feed_stdout(b"partial")
        self.clock.advance(9.9)
        self.assertEqual(process.signals, [])
        self.clock.advance(0.1)
        self.assertEqual(process.signals, ["TERM"])
        self.clock.advance(5)
        self.assertEqual(process.signals, ["TERM", "KILL"])
        self.assertNoResult(d)
        process.die(9)
        error = self.failureResultOf(d, CommandTimedOut).value
        self.assertIsInstance(error, CommandError)
        self.assertEqual(str(error),
                         "command '/sbin/tool arg' timed out after 10 seconds")
        self.assertEqual(error.to_wire(),
                         ["CommandTimedOut", [str(error),
                                              ["/sbin/tool", "arg"], 10]])
        self.assertEqual(error.result.stdout, b"partial")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_timeout_obeyed_term(self):
        """
        A child that exits on TERM is not sent KILL, but the command still
        timed out.
        """
        d, process = self.start(timeout=1, kill_after=5)
        self.clock.advance(1)
        process.die(15)
        self.failureResultOf(d, CommandTimedOut)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(10)
        self.assertEqual(process.signals, ["TERM"])

    def test_timeout_with_output_held_by_descendant(self):
        """
        If the child has exited but a descendant keeps its output pipes
        open, the timeout closes our ends so the command can still end.
        """
        d, process = self.start(timeout=1, kill_after=2)
        process.exit(0, output_held=True)
        self.clock.advance(1)
        self.assertNoResult(d)
        self.clock.advance(2)
        self.failureResultOf(d, CommandTimedOut)
        self.assertEqual(process.signals, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_cancel_terminates(self):
        """
        Cancelling the Deferred fails it with L{CancelledError} at once and
        terminates the child, TERM then KILL; its later end is ignored.
        """
        d, process = self.start(timeout=60, kill_after=5)
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(process.signals, ["TERM"])
        self.clock.advance(5)
        self.assertEqual(process.signals, ["TERM", "KILL"])
        process.die(9)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_spawn_failure(self):
        """
        A program that cannot be started fails the Deferred with
        L{CommandError} naming the command.
        """
        self.clock.spawn_error = FileNotFoundError(2, "No such file")
        d = run_command(self.clock, ["/sbin/missing"], timeout=5)
        error = self.failureResultOf(d, CommandError).value
        self.assertIn("'/sbin/missing' could not be started", str(error))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_string_argv_rejected(self):
        """
        A single string instead of an argument list is refused at once.
        """
        self.assertRaises(TypeError, run_command, self.clock, "/bin/ls -l")
        self.assertRaises(TypeError, run_command, self.clock, [])
        self.assertRaises(TypeError, run_command, self.clock, ["/bin/ls", 1])

    def test_bare_name_found_in_child_path(self):
        """
        A bare program name is looked up in the child's C{PATH}, not the
        daemon's; C{argv} is left as given.
        """
        directory = os.path.abspath(self.mktemp())
        os.mkdir(directory)
        program = os.path.join(directory, "mytool")
        with open(program, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(program, stat.S_IRWXU)
        run_command(self.clock, ["mytool", "-v"], env={"PATH": directory})
        [process] = self.clock.processes
        self.assertEqual(process.executable, program)
        self.assertEqual(process.argv, ["mytool", "-v"])

    def test_bare_name_not_found(self):
        """
        A bare name missing from C{PATH} is passed on unchanged, so the
        reactor reports it as it would any missing program.
        """
        run_command(self.clock, ["no-such-tool-here"],
                    env={"PATH": "/nonexistent"})
        [process] = self.clock.processes
        self.assertEqual(process.executable, "no-such-tool-here")


class CheckCommandTests(SynchronousTestCase):
    """
    Tests for L{check_command}.
    """

    def test_success(self):
        """
        A command exiting with 0 gives its result.
        """
        clock = ProcessClock()
        d = check_command(clock, ["/bin/true"])
        clock.processes[0].exit(0)
        self.assertEqual(self.successResultOf(d).exit_code, 0)

    def test_failure(self):
        """
        A non-zero exit fails with L{CommandError} whose message is the
        result's description and which carries the result.
        """
        clock = ProcessClock()
        d = check_command(clock, ["/sbin/drbdsetup", "show"])
        clock.processes[0].feed_stderr(b"no resources defined\n")
        clock.processes[0].exit(10)
        error = self.failureResultOf(d, CommandError).value
        self.assertNotIsInstance(error, CommandTimedOut)
        self.assertEqual(str(error),
                         "command '/sbin/drbdsetup show' failed with exit"
                         " code 10: no resources defined")
        self.assertEqual(error.result.exit_code, 10)

    def test_timeout(self):
        """
        A timeout still fails with L{CommandTimedOut}.
        """
        clock = ProcessClock()
        d = check_command(clock, ["/bin/sleep", "9"], timeout=1)
        clock.advance(1)
        clock.processes[0].die(15)
        self.failureResultOf(d, CommandTimedOut)


class RealProcessTests(TestCase):
    """
    Keep the fake honest: the same behaviours with real children.
    """

    def setUp(self):
        from twisted.internet import reactor

        self.reactor = reactor

    def test_exit_code_and_output(self):
        """
        Exit code, standard output and standard error are captured apart.
        """
        d = run_command(self.reactor,
                        ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"],
                        timeout=10)

        def check(result):
            self.assertEqual(
                result, CommandResult(["/bin/sh", "-c",
                                       "echo out; echo err >&2; exit 3"],
                                      3, None, b"out\n", b"err\n"))

        return d.addCallback(check)

    def test_stdin_env_and_cwd(self):
        """
        Standard input reaches the child and is closed (C{cat} ends); the
        default environment is the minimal one; C{cwd} is honoured.  A bare
        program name is found through the child's C{PATH}.
        """
        directory = os.path.realpath(self.mktemp())
        os.mkdir(directory)
        script = 'cat; echo "|$PATH|$LC_ALL|${HOME-unset}|$(pwd)"'
        d = run_command(self.reactor, ["sh", "-c", script], timeout=10,
                        stdin=b"hello\n", cwd=directory)

        def check(result):
            self.assertEqual(result.exit_code, 0, result.describe())
            self.assertEqual(
                result.stdout,
                b"hello\n|/usr/sbin:/usr/bin:/sbin:/bin|C|unset|"
                + os.fsencode(directory) + b"\n")

        return d.addCallback(check)

    def test_missing_program(self):
        """
        A program that does not exist fails with L{CommandError}.
        """
        d = run_command(self.reactor, ["/nonexistent/program"], timeout=10)
        return self.assertFailure(d, CommandError)

    def test_timeout(self):
        """
        A real hung command is terminated and fails with
        L{CommandTimedOut}; C{sleep} dies of the TERM.
        """
        d = run_command(self.reactor, ["/bin/sleep", "30"], timeout=0.2)
        d = self.assertFailure(d, CommandTimedOut)

        def check(error):
            self.assertEqual(error.result.signal, 15)

        return d.addCallback(check)

    def test_timeout_ignoring_term(self):
        """
        A child that ignores TERM is killed after C{kill_after}.
        """
        d = run_command(self.reactor,
                        ["/bin/sh", "-c", "trap '' TERM; exec /bin/sleep 30"],
                        timeout=0.1, kill_after=0.1)
        d = self.assertFailure(d, CommandTimedOut)

        def check(error):
            self.assertEqual(error.result.signal, 9)

        return d.addCallback(check)

    def test_output_held_by_descendant(self):
        """
        A background descendant holding the output pipe cannot keep the
        command from ending at its timeout.
        """
        started = self.reactor.seconds()
        d = run_command(self.reactor,
                        ["/bin/sh", "-c", "/bin/sleep 10 & echo $!; exit 0"],
                        timeout=0.1, kill_after=0.1)
        d = self.assertFailure(d, CommandTimedOut)

        def check(error):
            # Tidy up the descendant we left behind, then make sure we did
            # not wait for it.
            os.kill(int(error.result.stdout), signal.SIGTERM)
            self.assertEqual(error.result.exit_code, 0)
            self.assertLess(self.reactor.seconds() - started, 5)

        return d.addCallback(check)
