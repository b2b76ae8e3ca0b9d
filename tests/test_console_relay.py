"""
Tests for L{ganeti.console.relay} (splicing two connections, on
L{StringTransport}s), for L{ganeti.node.console.console_endpoint}
(where a node finds an instance's console, on a L{MemoryReactor}) and
for L{ganeti.console.websocket}'s handshake (on loopback, in front of a
gateway the test drives).
"""

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import (
    TCP4ClientEndpoint, TCP4ServerEndpoint, connectProtocol)
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.server import Site

from ganeti import errors
from ganeti.console.relay import StreamEnd, join
from ganeti.console.tokens import ConsoleTokens
from ganeti.console.websocket import ConsoleSocket, console_resource
from ganeti.hypervisor.kvm.runtime import RuntimeLayout
from ganeti.node.console import console_endpoint
from ganeti.paths import Paths


def connected_end(tls=False):
    """:return: a L{StreamEnd} on a new L{StringTransport}."""
    end = StreamEnd(tls=tls)
    end.makeConnection(StringTransport())
    return end


class RelayTests(SynchronousTestCase):
    def test_both_ways(self):
        """
        Joined, what one end receives the other writes, and each
        transport has the other as its streaming producer (flow control).
        """
        one, other = connected_end(), connected_end()
        join(one, other)
        one.dataReceived(b"typed")
        other.dataReceived(b"shown")
        self.assertEqual((one.transport.value(), other.transport.value()),
                         (b"shown", b"typed"))
        self.assertIs(one.transport.producer, other.transport)
        self.assertIs(other.transport.producer, one.transport)
        self.assertTrue(one.transport.streaming)

    def test_early_data(self):
        """
        What arrives before the join is kept with its end paused, then
        written at the join, and the end reads again.
        """
        console, master = connected_end(), connected_end()
        console.dataReceived(b"RFB 003.008\n")
        self.assertEqual(console.transport.producerState, "paused")
        join(master, console)
        self.assertEqual(master.transport.value(), b"RFB 003.008\n")
        self.assertEqual(console.transport.producerState, "producing")

    def test_close_spreads(self):
        """
        One end's loss closes the other, which first lets go of its
        producer (a TLS transport would not close with one).
        """
        one, other = connected_end(), connected_end()
        join(one, other)
        one.connectionLost(Failure(ConnectionDone()))
        self.assertTrue(other.transport.disconnecting)
        self.assertIsNone(other.transport.producer)
        self.assertIsNone(self.successResultOf(one.ended))

    def test_lost_before_join(self):
        """An end gone before the join hangs up its partner at the join."""
        console, master = connected_end(), connected_end()
        console.connectionLost(Failure(ConnectionDone()))
        join(master, console)
        self.assertTrue(master.transport.disconnecting)

    def test_ready(self):
        """
        A plain end is ready when connected, a TLS one once its handshake
        is done; one lost first never is.
        """
        self.assertTrue(self.successResultOf(connected_end().ready))
        tls = connected_end(tls=True)
        self.assertNoResult(tls.ready)
        tls.handshakeCompleted()
        self.assertIs(self.successResultOf(tls.ready), tls)
        lost = connected_end(tls=True)
        lost.connectionLost(Failure(ConnectionDone()))
        self.failureResultOf(lost.ready, ConnectionDone)


class _Hypervisor:
    """A kvm-like hypervisor: a runtime layout and a console answer."""

    def __init__(self, console):
        self.layout = RuntimeLayout(Paths("/srv/node1"))
        self._console = console

    def get_console(self, instance):
        return self._console


INSTANCE = {"name": "inst1", "hypervisor": "kvm"}


class ConsoleEndpointTests(SynchronousTestCase):
    def connect(self, hypervisor, kind):
        reactor = MemoryReactor()
        console_endpoint(reactor, hypervisor, INSTANCE, kind).connect(
            Factory.forProtocol(Protocol))
        return reactor

    def test_serial(self):
        """The serial console is qemu's Unix socket of the instance."""
        hv = _Hypervisor({"kind": "ssh"})
        reactor = self.connect(hv, "serial")
        self.assertEqual(reactor.unixClients[0][0],
                         hv.layout.serial_socket("inst1"))

    def test_vnc_wildcard(self):
        """A display bound to every address is reached on the loopback."""
        hv = _Hypervisor({"kind": "ssh", "vnc": {
            "kind": "vnc", "host": "0.0.0.0", "port": 5901}})
        reactor = self.connect(hv, "vnc")
        self.assertEqual(reactor.tcpClients[0][:2], ("127.0.0.1", 5901))

    def test_vnc_only(self):
        """Without a serial console the VNC display is the answer itself."""
        hv = _Hypervisor({"kind": "vnc", "host": "192.0.2.1", "port": 5902})
        reactor = self.connect(hv, "vnc")
        self.assertEqual(reactor.tcpClients[0][:2], ("192.0.2.1", 5902))

    def test_vnc_socket_directory(self):
        """A directory as VNC address: qemu's socket in it."""
        hv = _Hypervisor({"kind": "vnc", "host": "/run/vnc", "port": 5903})
        reactor = self.connect(hv, "vnc")
        self.assertEqual(reactor.unixClients[0][0], "/run/vnc/inst1.vnc")

    def test_no_vnc(self):
        """No display configured: a HypervisorError for the master."""
        self.assertRaises(errors.HypervisorError, console_endpoint,
                          MemoryReactor(), _Hypervisor({"kind": "ssh"}),
                          INSTANCE, "vnc")

    def test_not_kvm(self):
        """A hypervisor without console sockets has nothing to relay."""
        self.assertRaises(errors.HypervisorError, console_endpoint,
                          MemoryReactor(), object(), INSTANCE, "serial")


class _Gateway:
    """A gateway whose consoles open when the test says so."""

    def __init__(self, clock):
        self.tokens = ConsoleTokens(clock)
        self.opening = []
        #: Fires with ``(ticket, Deferred to fire)`` at the first open.
        self.asked = Deferred()

    def open(self, ticket):
        d = Deferred()
        self.opening.append((ticket, d))
        self.asked.callback((ticket, d))
        return d


class WebSocketTests(TestCase):
    """
    The console WebSocket on a loopback port of the real reactor, in
    front of a gateway the test drives.
    """

    @inlineCallbacks
    def setUp(self):
        self.gateway = _Gateway(reactor)
        root = console_resource(self.gateway)
        closed = self.server_closed = Deferred()

        class WatchedSocket(ConsoleSocket):
            def onClose(self, wasClean, code, reason):
                ConsoleSocket.onClose(self, wasClean, code, reason)
                closed.callback(None)
        root.factory.protocol = WatchedSocket
        root.factory.setProtocolOptions(openHandshakeTimeout=0,
                                        closeHandshakeTimeout=0)
        port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"
                                        ).listen(Site(root))
        self.addCleanup(port.stopListening)
        self.port = port.getHost().port

    @inlineCallbacks
    def handshake(self, token):
        """
        Send a WebSocket handshake for C{token}.

        :return: (Deferred) the raw client connection.
        """
        client = yield connectProtocol(
            TCP4ClientEndpoint(reactor, "127.0.0.1", self.port), _Raw())
        client.transport.write(
            b"GET /ws?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n" % token.encode())
        return client

    @inlineCallbacks
    def test_bad_token(self):
        """A token nobody issued gets 403; no console is opened."""
        client = yield self.handshake("guess")
        yield client.lost
        self.assertTrue(client.received.startswith(b"HTTP/1.1 403"),
                        client.received)
        self.assertEqual(self.gateway.opening, [])

    @inlineCallbacks
    def test_browser_gone_while_opening(self):
        """
        A browser that leaves while the node opens the console does not
        leave the console held: it is closed once it arrives.
        """
        token = self.gateway.tokens.issue("inst1", "serial").token
        client = yield self.handshake(token)
        ticket, opening = yield self.gateway.asked
        self.assertEqual(ticket.instance, "inst1")
        client.transport.loseConnection()
        yield client.lost
        console = _WatchedEnd()
        console.makeConnection(StringTransport())
        # Whether the server noticed the browser leave before or after.
        opening.callback(console)
        yield console.hung_up
        self.assertTrue(console.transport.disconnecting)

    @inlineCallbacks
    def test_browser_gone_before_console(self):
        """
        A console that arrives after the server saw its browser leave is
        closed at once.
        """
        token = self.gateway.tokens.issue("inst1", "serial").token
        client = yield self.handshake(token)
        _, opening = yield self.gateway.asked
        client.transport.loseConnection()
        yield self.server_closed
        console = _WatchedEnd()
        console.makeConnection(StringTransport())
        opening.callback(console)
        self.assertTrue(console.hung_up.called)
        self.assertTrue(console.transport.disconnecting)


class _WatchedEnd(StreamEnd):
    """A relay end telling when it is hung up."""

    def __init__(self):
        StreamEnd.__init__(self)
        self.hung_up = Deferred()

    def hang_up(self):
        StreamEnd.hang_up(self)
        self.hung_up.callback(None)


class _Raw(Protocol):
    """A client keeping what it receives, telling when it is closed."""

    def __init__(self):
        self.received = b""
        self.lost = Deferred()

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.lost.callback(None)
