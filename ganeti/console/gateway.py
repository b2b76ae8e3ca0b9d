# -*- test-case-name: tests.test_console_kvm -*-
"""
The master's half of a console relay: from a redeemed token to a TLS
connection carrying the instance's console (see L{ganeti.console}).

The master asks the instance's primary node (``console_open``) to
connect to the console and listen once, then connects to that port with
the cluster certificate, as the disk transfers do: a console's bytes
never share the node RPC connection, whose calls they would stall.
"""

from twisted.internet.defer import maybeDeferred
from twisted.internet.endpoints import SSL4ClientEndpoint
from twisted.internet.protocol import Factory

from ganeti import errors
from ganeti.cmdlib.common import node_address
from ganeti.console.relay import StreamEnd
from ganeti.params import node_instance_dict
from ganeti.protocols import tls

#: Seconds to connect to the port the node opened.
CONNECT_TIMEOUT = 10


def pem_reader(path):
    """
    :return: a function reading the cluster certificate and key at
        C{path} (a small local file, read as the node handler does).
    """
    def read():
        with open(path, "rb") as f:
            return f.read()
    return read


def config_locator(config):
    """
    :param config: returns the current cluster configuration.
    :return: a C{locate(name)} for L{ConsoleGateway}, reading C{config}.
    """
    def locate(name):
        cfg = config()
        instance = cfg.instance_by_name(name)
        if instance is None or instance.primary_node not in cfg.nodes:
            raise errors.OpPrereqError("Instance '%s' not known" % (name,))
        node = cfg.nodes[instance.primary_node]
        return node_address(node), node_instance_dict(cfg, instance)
    return locate


class ConsoleGateway:
    """
    What the RAPI's token route and the console WebSocket share: the
    tokens, and the way to a console.

    :param reactor: the reactor.
    :param tokens: the L{ganeti.console.tokens.ConsoleTokens}.
    :param locate: ``locate(instance name) -> ((node name, address),
        instance dict)`` (see L{config_locator}).
    :param rpc: the node RPC client (L{ganeti.rpc.INodeRpc}).
    :param pem: returns the cluster certificate and key (bytes); read when
        a console opens, so a renewed certificate is used at once.
    """

    def __init__(self, reactor, tokens, locate, rpc, pem):
        self.tokens = tokens
        self._reactor = reactor
        self._locate = locate
        self._rpc = rpc
        self._pem = pem

    def open(self, ticket):
        """
        Open the console a redeemed token stands for.

        :param ticket: a L{ganeti.console.tokens.Ticket}.
        :return: a Deferred firing with a L{StreamEnd} connected to the
            console through the node (not joined yet: what the console
            sends waits for the join); it fails with L{OpExecError} when
            the node cannot open the console.
        """
        return maybeDeferred(self._open, ticket)

    def _open(self, ticket):
        (node, address), instance = self._locate(ticket.instance)
        d = self._rpc.call([(node, address)], "console_open", instance,
                           ticket.kind, address)

        def opened(results):
            port = results[node].raise_on_failure(
                "Opening the %s console of %s" % (ticket.kind, ticket.instance)
            )["port"]
            end = StreamEnd(tls=True)
            endpoint = SSL4ClientEndpoint(self._reactor, address, port,
                                          tls.client_options(self._pem()),
                                          timeout=CONNECT_TIMEOUT)
            d = endpoint.connect(Factory.forProtocol(lambda: end))
            d.addCallback(lambda _: end.ready)

            def unreachable(failure):
                raise errors.OpExecError(
                    "Cannot connect to the console relay on node %s: %s"
                    % (node, failure.getErrorMessage()))
            return d.addErrback(unreachable)
        return d.addCallback(opened)

