# -*- test-case-name: tests.test_hypervisor_kvm -*-
"""
An asynchronous client for the QEMU Machine Protocol (QMP).

QMP is how the kvm hypervisor talks to a running qemu: ask for a clean
ACPI power-down, reset the guest, query its state.  qemu listens on a Unix
socket (``-qmp unix:PATH,server=on,wait=off``) and speaks newline-separated
JSON objects:

  1. qemu greets with ``{"QMP": {"version": ..., "capabilities": [...]}}``;
  2. the client must send ``qmp_capabilities`` before anything else;
  3. each command ``{"execute": NAME, "arguments": {...}, "id": ID}`` gets
     ``{"return": ..., "id": ID}`` or ``{"error": {"class", "desc"}, "id":
     ID}``;
  4. asynchronous ``{"event": NAME, "data": ..., "timestamp": ...}`` objects
     may arrive at any time, also between a command and its answer.

A qemu QMP socket serves one client at a time; a second client's connection
is accepted by the kernel but qemu ignores it until the first leaves.  So
callers keep connections short (L{qmp_call}) or serialise them, and every
wait here has a time limit: a hung qemu must never hang the node daemon.
"""

import json
import os

from twisted.internet.defer import Deferred, TimeoutError, fail
from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol
from twisted.logger import Logger
from twisted.protocols.basic import LineOnlyReceiver
from twisted.python.failure import Failure

from ganeti.errors import HypervisorError

_log = Logger()

#: Seconds to wait for the greeting or for one command's answer.
DEFAULT_TIMEOUT = 10.0

#: The longest Unix socket path the kernel accepts (C{sun_path} is 108 bytes
#: including the terminating NUL).
MAX_SOCKET_PATH = 107


class QmpError(HypervisorError):
    """
    Talking to qemu over QMP failed: no connection, timeout, protocol error.

    A subclass of L{HypervisorError} so that hypervisor callers need only
    catch that; L{ganeti.hypervisor.kvm} turns these into plain
    L{HypervisorError}s before they leave the node.
    """


class QmpCommandError(QmpError):
    """
    qemu answered a command with an error.

    :ivar error_class: QMP's error class, e.g. ``"CommandNotFound"``.
    :ivar description: qemu's human-readable reason.
    """

    def __init__(self, command, error_class, description):
        super().__init__("QMP command %s failed: %s (%s)"
                         % (command, description, error_class))
        self.error_class = error_class
        self.description = description


class QmpProtocol(LineOnlyReceiver):
    """
    One QMP session: negotiation, commands matched by id, events.

    :ivar ready: a Deferred that fires with the greeting's ``QMP`` member
        once capabilities are negotiated and commands may be sent, or fails
        with L{QmpError} if the connection ends first.  Cancelling it drops
        the connection.
    :ivar greeting: the greeting's ``QMP`` member, once received.
    """

    delimiter = b"\n"
    # query-qmp-schema answers run to a few hundred KiB; stay well above.
    MAX_LENGTH = 16 * 1024 * 1024

    def __init__(self):
        self.ready = Deferred(self._cancel_ready)
        self.greeting = None
        self._next_id = 0
        self._pending = {}
        self._event_handlers = []
        self._event_waiters = []
        self._close_waiters = []
        self._closed = False

    # -- Twisted callbacks ---------------------------------------------------

    def lineReceived(self, line):
        line = line.strip()
        if not line:
            return
        try:
            message = json.loads(line)
        except ValueError:
            self._protocol_error("not JSON: %r" % (line[:200],))
            return
        if not isinstance(message, dict):
            self._protocol_error("not a JSON object: %r" % (line[:200],))
        elif "QMP" in message and self.greeting is None:
            self.greeting = message["QMP"]
            # Capabilities negotiation: until qemu has answered this, it
            # rejects every other command.
            self._send("qmp_capabilities", None).addCallbacks(
                self._negotiated, self._negotiation_failed)
        elif "event" in message:
            self._dispatch_event(message)
        elif "id" in message and message["id"] in self._pending:
            command, d = self._pending.pop(message["id"])
            if "error" in message:
                error = message["error"] or {}
                d.errback(QmpCommandError(command,
                                          error.get("class", "GenericError"),
                                          error.get("desc", "")))
            else:
                d.callback(message.get("return"))
        else:
            _log.debug("ignoring unexpected QMP message {message!r}",
                       message=message)

    def lineLengthExceeded(self, line):
        self._protocol_error("QMP message longer than %d bytes"
                             % (self.MAX_LENGTH,))

    def connectionLost(self, reason):
        self._closed = True
        error = QmpError("QMP connection closed: %s"
                         % (reason.getErrorMessage(),))
        if not self.ready.called:
            self.ready.errback(error)
        pending, self._pending = self._pending, {}
        for _command, d in pending.values():
            d.errback(QmpError(str(error)))
        waiters, self._event_waiters = self._event_waiters, []
        for _name, d in waiters:
            d.errback(QmpError(str(error)))
        closers, self._close_waiters = self._close_waiters, []
        for d in closers:
            d.callback(None)

    # -- API -----------------------------------------------------------------

    def execute(self, command, arguments=None):
        """
        Run one QMP command.

        :param command: the command name, e.g. ``"query-status"``.
        :param arguments: a JSON-able dict of arguments, or C{None}.
        :return: a Deferred firing with the command's ``return`` value, or
            failing with L{QmpCommandError} (qemu refused it) or
            L{QmpError} (connection lost, or not negotiated yet).
        """
        if not self.ready.called or self.greeting is None:
            return fail(QmpError("QMP session not negotiated; cannot run %s"
                                 % (command,)))
        return self._send(command, arguments)

    def add_event_handler(self, handler):
        """
        Call C{handler(event_dict)} for every event qemu sends from now on.
        """
        self._event_handlers.append(handler)

    def wait_for_event(self, name):
        """
        :param name: an event name, e.g. ``"SHUTDOWN"``.
        :return: a Deferred firing with the next event of that name (the
            whole message: ``event``, ``data``, ``timestamp``), or failing
            with L{QmpError} if the connection ends first.
        """
        if self._closed:
            return fail(QmpError("QMP connection closed"))
        d = Deferred(lambda d: self._event_waiters.remove((name, d)))
        self._event_waiters.append((name, d))
        return d

    def when_closed(self):
        """
        :return: a Deferred firing with C{None} once the connection is gone
            (at once if it is already).  qemu closes it when it exits, so
            this is also a cheap "the process has ended" signal.
        """
        d = Deferred()
        if self._closed:
            d.callback(None)
        else:
            self._close_waiters.append(d)
        return d

    def close(self):
        """
        Drop the connection.

        :return: L{when_closed}.
        """
        d = self.when_closed()
        if self.transport is not None and not self._closed:
            self.transport.loseConnection()
        return d

    # -- internals -----------------------------------------------------------

    def _send(self, command, arguments):
        self._next_id += 1
        request = {"execute": command, "id": self._next_id}
        if arguments is not None:
            request["arguments"] = arguments
        d = Deferred()
        self._pending[self._next_id] = (command, d)
        self.sendLine(json.dumps(request).encode("utf-8"))
        return d

    def _negotiated(self, _result):
        if not self.ready.called:
            self.ready.callback(self.greeting)

    def _negotiation_failed(self, reason):
        if not self.ready.called:
            self.ready.errback(reason)
        self.transport.loseConnection()

    def _cancel_ready(self, _d):
        if self.transport is not None:
            self.transport.abortConnection()

    def _dispatch_event(self, message):
        name = message.get("event")
        for handler in list(self._event_handlers):
            try:
                handler(message)
            except Exception:
                _log.failure("QMP event handler failed for {name}", name=name)
        waiting = [(n, d) for n, d in self._event_waiters if n == name]
        for entry in waiting:
            self._event_waiters.remove(entry)
            entry[1].callback(message)

    def _protocol_error(self, text):
        _log.warn("QMP protocol error: {text}", text=text)
        if not self.ready.called:
            self.ready.errback(QmpError("QMP protocol error: " + text))
        self.transport.loseConnection()


def _check_path(path):
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise QmpError("QMP socket path is too long for a Unix socket: %s"
                       % (path,))


def _as_qmp_error(reason, what, timeout):
    """
    Translate connection and timeout failures into L{QmpError}.
    """
    if reason.check(QmpError):
        return reason
    if reason.check(TimeoutError):
        return Failure(QmpError("%s: no answer within %g seconds"
                                % (what, timeout)))
    return Failure(QmpError("%s: %s" % (what, reason.getErrorMessage())))


def connect_qmp(reactor, path, timeout=DEFAULT_TIMEOUT):
    """
    Connect to a qemu QMP socket and negotiate capabilities.

    :param reactor: an L{IReactorUNIX} and L{IReactorTime} provider.
    :param path: the socket's path.
    :param timeout: seconds allowed for connecting and negotiating.
    :return: a Deferred firing with a ready L{QmpProtocol}, or failing with
        L{QmpError}.  The caller must L{QmpProtocol.close} it.
    """
    try:
        _check_path(path)
    except QmpError:
        return fail()
    what = "cannot talk to qemu on %s" % (path,)
    protocol = QmpProtocol()
    endpoint = UNIXClientEndpoint(reactor, path, timeout=timeout)
    d = connectProtocol(endpoint, protocol)
    d.addCallback(lambda _: protocol.ready)
    # One limit for the whole exchange: a qemu that accepts the connection
    # but never greets (another client is connected, or it hangs) fails
    # here instead of hanging the caller.
    d.addTimeout(timeout, reactor)
    d.addCallback(lambda _: protocol)

    def failed(reason):
        if protocol.transport is not None:
            protocol.transport.abortConnection()
        return _as_qmp_error(reason, what, timeout)

    return d.addErrback(failed)


def qmp_call(reactor, path, command, arguments=None,
             timeout=DEFAULT_TIMEOUT):
    """
    Connect, run one command, disconnect.

    :param reactor: an L{IReactorUNIX} and L{IReactorTime} provider.
    :param path: the QMP socket's path.
    :param command: the QMP command name.
    :param arguments: its arguments, or C{None}.
    :param timeout: seconds allowed for connecting, and again for the
        answer.
    :return: a Deferred firing with the command's return value once the
        connection is closed again, or failing with L{QmpError} /
        L{QmpCommandError}.
    """
    def run(protocol):
        d = protocol.execute(command, arguments)
        d.addTimeout(timeout, reactor)
        d.addErrback(_as_qmp_error, "QMP command %s on %s" % (command, path),
                     timeout)

        def close(result):
            closed = protocol.close()
            closed.addCallback(lambda _: result)
            return closed
        return d.addBoth(close)

    return connect_qmp(reactor, path, timeout).addCallback(run)
