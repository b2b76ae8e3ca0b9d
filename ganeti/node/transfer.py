# -*- test-case-name: tests.test_backup -*-
"""
One-shot file transfers between two nodes (disk dumps of exports and
imports), outside the node RPC.

Disk images are far bigger than an AMP value (64 KiB), and pushing them
through the RPC connection would also stall every other call on it.  So
the master asks the receiving node to listen once, on an ephemeral port
with the cluster certificate (L{receive_file}), and then asks the sending
node to connect and stream the file (L{send_file}).  Both ends demand the
cluster certificate, as the node service does.

On the wire: the sender writes the byte count as an ASCII line, then the
bytes; the receiver writes them to a temporary file, syncs it, renames it
into place and answers ``OK <sha256>`` (or ``ERR <message>``), which the
sender checks against the digest of what it read.
"""

import hashlib
import os

from twisted.internet import threads
from twisted.internet.defer import Deferred, fail
from twisted.internet.endpoints import (
    SSL4ClientEndpoint, SSL4ServerEndpoint)
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.protocols.basic import FileSender

from ganeti import errors
from ganeti.protocols import tls

_log = Logger()

#: Seconds a receiver waits for its sender before it stops listening.
ACCEPT_TIMEOUT = 300

#: Longest header line (the byte count) a receiver accepts.
_MAX_HEADER = 32


def _sync_and_rename(handle, temporary, path):
    """Make the received file durable, then give it its name (in a thread)."""
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.rename(temporary, path)


class _Receiver(Protocol):
    """Writes one incoming file; see the module docstring for the wire."""

    def __init__(self, job):
        self._job = job
        self._header = b""
        self._expected = None
        self._received = 0
        self._digest = hashlib.sha256()
        self._handle = None
        self._claimed = False

    def dataReceived(self, data):
        if not self._claimed:
            # Data flows only after the TLS handshake, so this peer holds
            # the cluster certificate: it, and no later one, gets the
            # port.  A stranger's connection never used it up.
            if not self._job.claim():
                self.transport.abortConnection()
                return
            self._claimed = True
        if self._expected is None:
            self._header += data
            if b"\n" not in self._header:
                if len(self._header) > _MAX_HEADER:
                    self._fail("malformed transfer header")
                return
            line, data = self._header.split(b"\n", 1)
            try:
                self._expected = int(line)
            except ValueError:
                self._fail("malformed transfer header")
                return
            try:
                self._handle = open(self._job.temporary, "wb")
            except OSError as e:
                self._fail("cannot write %s: %s" % (self._job.temporary, e))
                return
        if self._handle is None:
            return
        if self._received + len(data) > self._expected:
            self._fail("more data than announced")
            return
        try:
            self._handle.write(data)
        except OSError as e:
            self._fail("cannot write %s: %s" % (self._job.temporary, e))
            return
        self._digest.update(data)
        self._received += len(data)
        if self._received == self._expected:
            self._finish()

    def _finish(self):
        handle, self._handle = self._handle, None
        d = threads.deferToThreadPool(
            self._job.reactor, self._job.reactor.getThreadPool(),
            _sync_and_rename, handle, self._job.temporary, self._job.path)

        def done(_):
            self.transport.write(b"OK " + self._digest.hexdigest().encode()
                                 + b"\n")
            self.transport.loseConnection()
            self._job.finished(self._received)

        def failed(failure):
            self._fail("cannot store %s: %s" % (self._job.path,
                                                failure.getErrorMessage()))
        d.addCallbacks(done, failed)

    def _fail(self, message):
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._expected = -1
        self.transport.write(b"ERR " + message.encode("utf-8", "replace")
                             + b"\n")
        self.transport.loseConnection()
        self._job.failed(message)

    def connectionLost(self, reason):
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            self._job.failed("the sender went away after %d of %d bytes"
                             % (self._received, self._expected))


class OneShotPort(Factory):
    """
    A listening port for exactly one peer: the first connection that
    L{take}s it (after its TLS handshake, so it holds the cluster
    certificate) has it and the port closes; so it does when nobody takes
    it within the timeout (L{timed_out}).
    """

    def __init__(self, reactor, timeout):
        self.reactor = reactor
        self.port = None
        self._timeout = timeout
        self._timer = None
        self._taken = False

    def make_protocol(self):
        """:return: the protocol serving a connection."""
        raise NotImplementedError

    def timed_out(self):
        """Nobody took the port in time (it is closed already)."""

    def buildProtocol(self, addr):
        if self._taken:
            return None
        return self.make_protocol()

    def listening(self, port):
        """:return: the port number, once C{port} listens."""
        self.port = port
        self._timer = self.reactor.callLater(self._timeout, self._expire)
        return port.getHost().port

    def take(self):
        """
        :return: whether the caller is the first to take the port; it
            stops listening then.
        """
        if self._taken:
            return False
        self._taken = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        if self.port is not None:
            port, self.port = self.port, None
            port.stopListening()
        return True

    def _expire(self):
        if self.take():
            self.timed_out()


class _ReceiveJob(OneShotPort):
    """One listening port that takes exactly one file, then closes."""

    def __init__(self, reactor, path, timeout):
        OneShotPort.__init__(self, reactor, timeout)
        self.path = path
        self.temporary = "%s.partial" % (path,)

    def make_protocol(self):
        return _Receiver(self)

    def claim(self):
        """
        :return: whether the calling connection may send the file (only
            the first to ask may); the port closes once it is claimed.
        """
        return self.take()

    def timed_out(self):
        _log.warn("nobody sent {path} within {seconds} seconds",
                  path=self.path, seconds=self._timeout)

    def finished(self, size):
        _log.info("received {path} ({size} bytes)", path=self.path, size=size)

    def failed(self, message):
        _log.warn("receiving {path} failed: {message}", path=self.path,
                  message=message)
        try:
            os.unlink(self.temporary)
        except OSError:
            pass


def receive_file(reactor, pem, address, path, timeout=ACCEPT_TIMEOUT):
    """
    Listen once, on an ephemeral port of C{address}, for a file to store
    at C{path}.

    :param pem: the cluster certificate and key (bytes).
    :param timeout: seconds to wait for the sender before giving up.
    :return: a Deferred firing with the port number once listening; the
        transfer itself goes on in the background and its outcome reaches
        the sender (see L{send_file}).
    """
    job = _ReceiveJob(reactor, path, timeout)
    endpoint = SSL4ServerEndpoint(reactor, 0, tls.server_options(pem),
                                  interface=address)
    return endpoint.listen(job).addCallback(job.listening)


class _Sender(Protocol):
    """Streams one file, then waits for the receiver's verdict."""

    def __init__(self, source):
        self._source = source
        self._digest = hashlib.sha256()
        self._answer = b""
        self._sent = False
        self.done = Deferred()

    def connectionMade(self):
        size = os.fstat(self._source.fileno()).st_size
        self.transport.write(b"%d\n" % (size,))

        def hashed(chunk):
            self._digest.update(chunk)
            return chunk
        d = FileSender().beginFileTransfer(self._source, self.transport,
                                           hashed)
        d.addCallbacks(self._all_sent, self._unreadable)

    def _all_sent(self, _):
        self._sent = True

    def _unreadable(self, failure):
        # The connection went away (connectionLost tells the caller), or
        # the file could not be read: without all of it the receiver never
        # answers OK, so hang up.
        if failure.check(OSError):
            _log.failure("reading the file to send failed", failure)
            self.transport.abortConnection()

    def dataReceived(self, data):
        self._answer += data

    def connectionLost(self, reason):
        line = self._answer.split(b"\n", 1)[0].decode("utf-8", "replace")
        if line.startswith("OK "):
            if not self._sent or line[3:] != self._digest.hexdigest():
                self.done.errback(errors.OpExecError(
                    "The receiver got different data than was sent"))
            else:
                self.done.callback(self._source.tell())
        elif line.startswith("ERR "):
            self.done.errback(errors.OpExecError("The receiver failed: %s"
                                                 % line[4:]))
        else:
            self.done.errback(errors.OpExecError(
                "The receiver closed the connection without an answer (%s)"
                % reason.getErrorMessage()))


def send_file(reactor, pem, host, port, path, timeout=30):
    """
    Stream the file at C{path} to a node listening after L{receive_file}.

    :param pem: the cluster certificate and key (bytes).
    :param timeout: seconds to establish the connection.
    :return: a Deferred firing with the number of bytes once the receiver
        has stored them under their final name; failing with
        L{OpExecError} otherwise.
    """
    try:
        source = open(path, "rb")
    except OSError as e:
        return fail(errors.OpExecError("Cannot read %s: %s" % (path, e)))
    sender = _Sender(source)
    endpoint = SSL4ClientEndpoint(reactor, host, port,
                                  tls.client_options(pem), timeout=timeout)

    def not_connected(failure):
        raise errors.OpExecError("Cannot connect to %s:%s to send %s: %s"
                                 % (host, port, path,
                                    failure.getErrorMessage()))
    d = endpoint.connect(Factory.forProtocol(lambda: sender))
    d.addCallbacks(lambda _: sender.done, not_connected)

    def close(result):
        source.close()
        return result
    return d.addBoth(close)
