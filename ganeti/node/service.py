# -*- test-case-name: tests.test_noderpc -*-
"""
The node service: AMP over mutual TLS (port 1811), answering the master.
"""

from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import SSL4ServerEndpoint
from twisted.internet.protocol import Factory
from twisted.protocols import amp

from ganeti.protocols import node as nodeproto
from ganeti.protocols import tls
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
    """

    def __init__(self, paths, reactor, address, port=nodeproto.DEFAULT_PORT,
                 roles=None):
        with open(paths.server_pem, "rb") as f:
            options = tls.server_options(f.read())
        endpoint = SSL4ServerEndpoint(reactor, port, options, interface=address)
        StreamServerEndpointService.__init__(
            self, endpoint, node_factory(NodeHandler(paths, reactor, roles)))
        self.setName("node")
        # A node that cannot listen must fail to start, not linger.
        self._raiseSynchronously = True
