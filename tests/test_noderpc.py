"""
Tests for node RPC: mutual TLS with the cluster certificate, per-node
results, dead nodes and foreign certificates.
"""

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.endpoints import SSL4ServerEndpoint
from twisted.trial.unittest import TestCase

from zope.interface.verify import verifyObject

from ganeti import constants, crypto, errors
from ganeti.node.service import NodeHandler, node_factory
from ganeti.protocols import tls
from ganeti.rpc import INodeRpc, NodeRpc
from ganeti.testing.rpc import LocalRpc
from tests.util import make_paths

_PEMS = {}


def cluster_pem(name):
    """A certificate per name, generated once per test run (it is slow)."""
    if name not in _PEMS:
        _PEMS[name] = crypto.generate_self_signed_pem(name)
    return _PEMS[name]


class INodeRpcTestsMixin:
    """What every node RPC client does; C{make_rpc} builds one."""

    @inlineCallbacks
    def test_interface(self):
        """It provides INodeRpc."""
        self.assertTrue(verifyObject(INodeRpc, self.make_rpc()))
        yield None

    @inlineCallbacks
    def test_version(self):
        """A member of the cluster gets the node's answer."""
        results = yield self.make_rpc().call([("node1", "127.0.0.1")], "version")
        self.assertTrue(results["node1"].ok)
        self.assertEqual(results["node1"].payload, constants.PROTOCOL_VERSION)

    @inlineCallbacks
    def test_parallel_per_node(self):
        """Calls to several nodes come back per node."""
        results = yield self.make_rpc().call(
            [("node1", "127.0.0.1"), ("node2", "127.0.0.1")], "test_delay", 0.05)
        self.assertEqual(sorted(results), ["node1", "node2"])
        self.assertTrue(all(r.ok and r.payload is True for r in results.values()))

    @inlineCallbacks
    def test_trailing_defaults(self):
        """
        A caller may leave out trailing arguments with defaults (one that
        predates them): the node's defaults apply.
        """
        results = yield self.make_rpc().call([("node1", "127.0.0.1")],
                                             "node_verify", ["fake"], [])
        self.assertTrue(results["node1"].ok, results["node1"].fail_msg)
        self.assertEqual((results["node1"].payload["lvm"],
                          results["node1"].payload["ssh_clutter"]),
                         (None, None))

    @inlineCallbacks
    def test_node_error(self):
        """An error on the node is that node's failure, with its message."""
        results = yield self.make_rpc().call([("node1", "127.0.0.1")],
                                             "test_delay", -1)
        self.assertFalse(results["node1"].ok)
        self.assertIn("Negative delay", results["node1"].fail_msg)
        e = self.assertRaises(errors.OpExecError,
                              results["node1"].raise_on_failure, "Delay")
        self.assertIn("node1", str(e))


class LocalRpcTests(INodeRpcTestsMixin, TestCase):
    """The in-process client used by logical-unit tests."""

    def make_rpc(self):
        handler = NodeHandler(make_paths(self), reactor)
        return LocalRpc({"node1": handler, "node2": handler})

    @inlineCallbacks
    def test_down_node(self):
        """A node without a handler is down: a per-node failure."""
        results = yield LocalRpc({"node1": None}).call([("node1", "x")], "version")
        self.assertFalse(results["node1"].ok)


class NodeRpcTests(INodeRpcTestsMixin, TestCase):
    """The master's client against the real node service over loopback TLS."""

    @inlineCallbacks
    def setUp(self):
        self.paths = make_paths(self)
        self.pem = cluster_pem("cluster.example.com")
        endpoint = SSL4ServerEndpoint(reactor, 0, tls.server_options(self.pem),
                                      interface="127.0.0.1")
        self.port = yield endpoint.listen(
            node_factory(NodeHandler(self.paths, reactor)))
        self.addCleanup(self.port.stopListening)
        self.number = self.port.getHost().port

    def rpc(self, pem=None, timeout=5.0):
        rpc = NodeRpc(reactor, pem or self.pem, port=self.number,
                      timeout=timeout)
        self.addCleanup(rpc.close)
        return rpc

    make_rpc = rpc

    @inlineCallbacks
    def test_foreign_certificate_refused(self):
        """
        A peer with another self-signed certificate, even for the same
        name, is refused.
        """
        foreign = crypto.generate_self_signed_pem("cluster.example.com")
        results = yield self.rpc(pem=foreign).call([("node1", "127.0.0.1")],
                                                   "version")
        self.assertFalse(results["node1"].ok)

    @inlineCallbacks
    def test_connection_reused(self):
        """Successive calls to a node share one connection."""
        rpc = self.rpc()
        yield rpc.call([("node1", "127.0.0.1")], "version")
        first = rpc._connected["127.0.0.1"]
        results = yield rpc.call([("node1", "127.0.0.1")], "version")
        self.assertTrue(results["node1"].ok)
        self.assertIs(rpc._connected["127.0.0.1"], first)

    @inlineCallbacks
    def test_dead_peer_bounded(self):
        """
        A node's connection gives up on a silent peer after a bounded
        time (a powered-off node must not hold later calls for the
        kernel's quarter of an hour) and probes idle peers.
        """
        import socket
        from ganeti import rpc as rpcmod
        rpc = self.rpc()
        yield rpc.call([("node1", "127.0.0.1")], "version")
        sock = rpcmod.socket_of(rpc._connected["127.0.0.1"].transport)
        self.assertEqual(sock.getsockopt(socket.IPPROTO_TCP,
                                         socket.TCP_USER_TIMEOUT),
                         rpcmod.UNACKNOWLEDGED_MS)
        self.assertEqual(sock.getsockopt(socket.SOL_SOCKET,
                                         socket.SO_KEEPALIVE), 1)

    @inlineCallbacks
    def test_dead_node(self):
        """A node that is down gives a per-node error, not a hang."""
        yield self.port.stopListening()
        results = yield self.rpc(timeout=2.0).call(
            [("dead", "127.0.0.1"), ], "version")
        self.assertFalse(results["dead"].ok)
        self.assertTrue(results["dead"].fail_msg)
