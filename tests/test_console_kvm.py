"""
Tests for the browser consoles (L{ganeti.console}, L{ganeti.node.console})
against a real kvm instance: the test guest under real qemu (TCG), the
real node service over loopback mutual TLS, the master's gateway with the
real node RPC client, and the RAPI site over HTTPS with its console
WebSocket, driven by autobahn's WebSocket client.

The token comes straight from the master's token store there;
L{tests.test_rapi_consoles} covers the RAPI route that hands it out, and
L{DaemonConsoleTests} the whole daemon, route included.
"""

import os
import ssl as stdlib_ssl
import time

from autobahn.twisted.websocket import (
    WebSocketClientFactory, WebSocketClientProtocol)
from twisted.internet import reactor, ssl
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import (
    SSL4ServerEndpoint, TCP4ClientEndpoint, wrapClientTLS)
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, TestCase

from ganeti.console.gateway import ConsoleGateway
from ganeti.console.tokens import ConsoleTokens
from ganeti.node.handler import NodeHandler
from ganeti.node.service import node_factory
from ganeti.protocols import tls
from ganeti.rapi import server
from ganeti.rpc import NodeRpc
from ganeti.testing.guest import SerialConsole
from tests import test_daemon
from tests.kvm_fixtures import (
    GuestFixture, free_port, guest_hvparams, guest_or_skip, kvm_instance)
from tests.test_noderpc import cluster_pem

#: The certificate's name (the cluster's and, here, the RAPI's).
CLUSTER = "cluster.example.com"
NODE = ("node1.example.com", "127.0.0.1")
#: autobahn's handshake timers are batched in buckets that outlive their
#: cancelled calls (by up to seconds), which trial would find left over;
#: the tests' own waits have timeouts.
NO_TIMERS = {"openHandshakeTimeout": 0, "closeHandshakeTimeout": 0}


class _Handler:
    """The part of the master's handler the site's console child uses."""

    metrics = None

    def __init__(self, consoles):
        self.consoles = consoles


class ConsoleClient(WebSocketClientProtocol):
    """
    A browser's console WebSocket: what arrives is kept in a
    L{SerialConsole}, on which the test waits.

    :ivar opened: fires with the subprotocol once the handshake is done.
    :ivar closed: fires with ``(code, reason)`` once the connection is gone.
    """

    def __init__(self):
        WebSocketClientProtocol.__init__(self)
        self.console = SerialConsole(reactor)
        self.opened = Deferred()
        self.closed = Deferred()

    def onOpen(self):
        self.opened.callback(self.websocket_protocol_in_use)

    def onMessage(self, payload, isBinary):
        self.console.dataReceived(payload)

    def onClose(self, wasClean, code, reason):
        if not self.opened.called:
            self.opened.errback(Failure(ConnectionError(reason)))
        self.console.connectionLost(None)
        self.closed.callback((code, reason))


class ConsoleWebSocketTests(GuestFixture, TestCase):
    """The console of a real instance, end to end."""

    @inlineCallbacks
    def setUp(self):
        GuestFixture.setUp(self)
        pem = cluster_pem(CLUSTER)
        os.makedirs(os.path.dirname(self.paths.server_pem), exist_ok=True)
        with open(self.paths.server_pem, "wb") as f:
            f.write(pem)
        node = yield SSL4ServerEndpoint(
            reactor, 0, tls.server_options(pem), interface=NODE[1]).listen(
                node_factory(NodeHandler(self.paths, reactor)))
        self.addCleanup(node.stopListening)
        rpc = NodeRpc(reactor, pem, port=node.getHost().port, timeout=30)
        self.addCleanup(rpc.close)
        self.instances = {}
        self.tokens = ConsoleTokens(reactor)
        gateway = ConsoleGateway(
            reactor, self.tokens,
            lambda name: (NODE, self.instances[name]), rpc, lambda: pem)
        site = server.make_site(_Handler(gateway), self.mktemp(), reactor)
        site.resource.children[b"console"].factory.setProtocolOptions(
            **NO_TIMERS)
        rapi = yield SSL4ServerEndpoint(
            reactor, 0, ssl.PrivateCertificate.loadPEM(pem).options(),
            interface="127.0.0.1").listen(site)
        self.addCleanup(rapi.stopListening)
        self.rapi_port = rapi.getHost().port
        self.trust = ssl.Certificate.loadPEM(pem)

    def relayed(self, instance):
        """Let the master know C{instance} (as the node gets it)."""
        self.instances[instance["name"]] = dict(instance, hypervisor="kvm")

    @inlineCallbacks
    def connect(self, token, protocols=None):
        """
        Open the console WebSocket with C{token}, as a browser would.

        :return: (Deferred) the connected L{ConsoleClient}; it is closed,
            and waited for, after the test.
        """
        url = "wss://%s:%d/console/ws?token=%s" % (CLUSTER, self.rapi_port,
                                                   token)
        factory = WebSocketClientFactory(url, protocols=protocols)
        factory.protocol = ConsoleClient
        factory.setProtocolOptions(**NO_TIMERS)
        endpoint = wrapClientTLS(
            ssl.optionsForClientTLS(CLUSTER, trustRoot=self.trust),
            TCP4ClientEndpoint(reactor, "127.0.0.1", self.rapi_port))
        client = yield endpoint.connect(factory)

        def close():
            if not client.closed.called:
                client.sendClose()
            return client.closed
        self.addCleanup(close)
        return client

    @inlineCallbacks
    def test_serial_round_trip(self):
        """
        A command typed into the WebSocket reaches the guest's shell on
        its serial console and its output comes back; the token opens one
        socket only: the second handshake with it is refused (403).  When
        the browser closes the socket the relay lets go of the console, so
        the next token gets it.
        """
        console = yield self.boot()
        # qemu serves one console client at a time: the relay's turn.
        yield console.close()
        self.relayed(self.instance())
        token = self.tokens.issue("inst1.example.com", "serial").token
        client = yield self.connect(token)
        self.assertIsNone((yield client.opened))
        # The shell echoes the command; only its output says 42.
        client.sendMessage(b"echo hello-$((6*7))-done\n", isBinary=True)
        yield client.console.wait_for("hello-42-done", timeout=30)
        again = yield self.connect(token)
        failure = yield self.assertFailure(again.opened, ConnectionError)
        self.assertIn("403", str(failure))
        client.sendClose()
        yield client.closed
        token = self.tokens.issue("inst1.example.com", "serial").token
        client = yield self.connect(token)
        yield client.opened
        client.sendMessage(b"echo again-$((6*8))-done\n", isBinary=True)
        yield client.console.wait_for("again-48-done", timeout=30)

    @inlineCallbacks
    def test_vnc_handshake(self):
        """
        The instance's VNC server greets through the WebSocket (RFB
        3.8), with the ``binary`` subprotocol noVNC may ask for; the
        socket closes normally when the instance stops.
        """
        name = "inst2.example.com"
        instance = kvm_instance(
            name, guest_hvparams(self.guest, vnc_bind_address="127.0.0.1"),
            network_port=free_port())
        yield self.hv.start_instance(instance, [])
        self.relayed(instance)
        token = self.tokens.issue(name, "vnc").token
        client = yield self.connect(token, protocols=["binary"])
        self.assertEqual((yield client.opened), "binary")
        yield client.console.wait_for(b"RFB 003.008\n", timeout=30)
        # The display goes with the instance: the browser is told.
        yield self.hv.stop_instance(name, force=True)
        code, reason = yield client.closed
        self.assertEqual((code, reason), (1000, "The console closed"))

    @inlineCallbacks
    def test_stopped_instance_refused(self):
        """
        A token for an instance that does not run opens nothing: the
        node cannot reach its console, and the handshake fails (502).
        """
        self.relayed(self.instance("inst3.example.com"))
        token = self.tokens.issue("inst3.example.com", "serial").token
        client = yield self.connect(token)
        failure = yield self.assertFailure(client.opened, ConnectionError)
        self.assertIn("502", str(failure))


class DaemonConsoleTests(test_daemon._RapiBase):
    """
    The wired daemon: a real ``twistd ganeti`` after ``gnt-cluster init``
    runs a kvm instance; a RAPI user gets a token over HTTPS and types into
    the instance's shell through ``wss://<node>:5080/console/ws``.  The
    client is websocket-client's blocking one (a synchronous test beside
    a daemon, as the other daemon tests are).
    """

    def setUp(self):
        self.guest = guest_or_skip()
        try:
            import websocket
        except ImportError:
            raise SkipTest("websocket-client is not installed")
        self.websocket = websocket
        test_daemon._RapiBase.setUp(self)
        self.cluster.ok("gnt-cluster", "modify",
                        "--enabled-hypervisors=fake,kvm")
        with open(self.cluster.paths.rapi_users, "w") as f:
            f.write("admin secret write\nreader secret read\n")

    def receive_until(self, socket, text, deadline):
        """
        Read the socket's binary messages until C{text} came.

        :return: everything read.
        """
        seen = b""
        while text not in seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r; console output:\n%s"
                                     % (text, seen.decode("utf-8", "replace")))
            socket.settimeout(left)
            seen += socket.recv()
        return seen

    def test_serial_console(self):
        """
        The token (a read-only user gets none) opens the instance's
        serial console once; the guest's shell answers through it.
        """
        hvparams = ",".join("%s=%s" % item for item in sorted(dict(
            kernel_path=self.guest["kernel"], initrd_path=self.guest["initrd"],
            kernel_args=self.guest["kernel_args"],
            kvm_flag="disabled").items()))
        self.cluster.ok("gnt-instance", "add", "-t", "diskless",
                        "--no-install", "-H", "kvm:" + hvparams,
                        "-B", "maxmem=128", "--no-nics", "--no-name-check",
                        "--no-ip-check", "vm1")
        self.addCleanup(self.cluster.run, "gnt-instance", "remove",
                        "--force", "vm1")
        # Not installed, so not started by the add, as in Ganeti.
        self.cluster.ok("gnt-instance", "startup", "vm1")
        path = "/2/instances/vm1/console-token"
        self.assertEqual(self.request("POST", path, {"kind": "serial"},
                                      user="reader:secret")[0], 403)
        status, token = self.request("POST", path, {"kind": "serial"},
                                     user="admin:secret")
        self.assertEqual(status, 200, token)
        url = "wss://%s:5080%s" % (self.address, token["url"])
        options = {"cert_reqs": stdlib_ssl.CERT_NONE, "check_hostname": False}
        socket = self.websocket.create_connection(url, sslopt=options,
                                                  timeout=30)
        self.addCleanup(socket.close)
        # The guest may still be booting: its boot line, or a prompt for
        # a guest that was quicker than the token.
        deadline = time.monotonic() + 60
        socket.send_binary(b"\n")
        self.receive_until(socket, b"#", deadline)
        socket.send_binary(b"echo daemon-$((6*7))-done\n")
        self.receive_until(socket, b"daemon-42-done", deadline)
        with self.assertRaises(self.websocket.WebSocketBadStatusException) as e:
            self.websocket.create_connection(url, sslopt=options, timeout=30)
        self.assertEqual(e.exception.status_code, 403)
