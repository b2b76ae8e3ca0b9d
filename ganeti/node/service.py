# -*- test-case-name: tests.test_noderpc -*-
"""
The node service: AMP over mutual TLS (port 1811), answering the master.
"""

from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import SSL4ServerEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.task import deferLater
from twisted.protocols import amp

from ganeti import constants, errors, ssconf
from ganeti.protocols import node as nodeproto
from ganeti.protocols import tls
from ganeti.protocols.jsonamp import JsonLocator, make_commands

NODE_COMMANDS = make_commands(nodeproto.METHODS)


class NodeHandler:
    """
    The node-side implementation of each node RPC method.

    :param paths: this node's L{ganeti.paths.Paths}.
    :param reactor: the reactor.
    """

    def __init__(self, paths, reactor):
        self._paths = paths
        self._reactor = reactor

    def version(self):
        return constants.PROTOCOL_VERSION

    def master_node_name(self):
        return ssconf.read(self._paths, "master_node")

    def node_info(self, hypervisors):
        return {"hypervisors": {}}

    def test_delay(self, duration):
        if duration < 0:
            raise errors.OpExecError("Negative delay %s" % duration)
        return deferLater(self._reactor, duration, lambda: True)


def node_factory(handler):
    """:return: the AMP factory answering node RPC with C{handler}."""
    return Factory.forProtocol(
        lambda: amp.AMP(locator=JsonLocator(handler, NODE_COMMANDS)))


class NodeService(StreamServerEndpointService):
    """
    Listens for the master on C{address}:C{port} with the cluster TLS.

    :ivar port: the listening port (known after start; useful with 0).
    """

    def __init__(self, paths, reactor, address, port=nodeproto.DEFAULT_PORT):
        with open(paths.server_pem, "rb") as f:
            options = tls.server_options(f.read())
        endpoint = SSL4ServerEndpoint(reactor, port, options, interface=address)
        StreamServerEndpointService.__init__(
            self, endpoint, node_factory(NodeHandler(paths, reactor)))
        self.setName("node")
        # A node that cannot listen must fail to start, not linger.
        self._raiseSynchronously = True
