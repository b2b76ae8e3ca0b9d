# -*- test-case-name: tests.test_noderpc -*-
"""
The node service: AMP over mutual TLS (port 1811), answering the master.
"""

from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import SSL4ServerEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.threads import deferToThreadPool
from twisted.protocols import amp
from twisted.python.threadpool import ThreadPool

from ganeti.protocols import node as nodeproto
from ganeti.protocols import tls
from ganeti.metrics.node import NodeMetrics
from ganeti.node.handler import NodeHandler
from ganeti.protocols.jsonamp import JsonLocator, make_commands

NODE_COMMANDS = make_commands(nodeproto.METHODS)


def node_factory(handler):
    """:return: the AMP factory answering node RPC with C{handler}."""
    return Factory.forProtocol(
        lambda: amp.AMP(locator=JsonLocator(handler, NODE_COMMANDS)))


class NodeService(StreamServerEndpointService):
    """
    Listens for the master on C{address}:C{port} with the cluster TLS.

    :ivar port: the listening port (known after start; useful with 0).
    :ivar metrics: the node's L{NodeMetrics}; every RPC passes through
        its error counting.
    """

    def __init__(self, paths, reactor, address, port=nodeproto.DEFAULT_PORT,
                 roles=None):
        with open(paths.server_pem, "rb") as f:
            options = tls.server_options(f.read())
        endpoint = SSL4ServerEndpoint(reactor, port, options, interface=address)
        # One thread writes what the master pushes: in order, and off the
        # reactor.
        self._writer = ThreadPool(minthreads=1, maxthreads=1,
                                  name="node-writes")

        def write(function, *args, **kwargs):
            return deferToThreadPool(reactor, self._writer, function, *args,
                                     **kwargs)
        handler = NodeHandler(paths, reactor, roles, write=write)
        self.metrics = NodeMetrics(handler, paths, reactor)
        StreamServerEndpointService.__init__(self, endpoint, node_factory(
            self.metrics.count_errors(handler)))
        self.setName("node")
        # A node that cannot listen must fail to start, not linger.
        self._raiseSynchronously = True

    def startService(self):
        self._writer.start()
        StreamServerEndpointService.startService(self)

    def stopService(self):
        d = StreamServerEndpointService.stopService(self)
        # Pushes already accepted are written before the thread goes.
        return d.addBoth(lambda result: (self._writer.stop(), result)[1])
