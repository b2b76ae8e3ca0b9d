"""
Tests for L{ganeti.console.relay} (splicing two connections, on
L{StringTransport}s) and for L{ganeti.node.console.console_endpoint}
(where a node finds an instance's console, on a L{MemoryReactor}).
"""

from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors
from ganeti.console.relay import StreamEnd, join
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
