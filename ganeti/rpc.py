# -*- test-case-name: tests.test_noderpc -*-
"""
The master's client for node RPC: one call to many nodes at once.

Results come back per node: a node that is down, refuses us or times out
gives a failed L{RpcResult} for that node, never an exception for the
whole call and never a hang past the timeout.
"""

import socket

import attrs
from zope.interface import Interface, implementer
from twisted.internet.defer import (
    CancelledError, Deferred, DeferredList, TimeoutError, succeed)
from twisted.python.failure import Failure
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.protocol import Factory
from twisted.protocols import amp

from ganeti import errors
from ganeti.protocols import node as nodeproto
from ganeti.protocols import tls
from ganeti.protocols.jsonamp import decode_error, make_commands

NODE_COMMANDS = make_commands(nodeproto.METHODS)

#: Seconds before a node that does not answer counts as failed.
DEFAULT_TIMEOUT = 60.0

#: A node that died without closing its connections (powered off, cable
#: cut) would hold every later call for its whole timeout, as the kernel
#: keeps retrying such a connection for a quarter of an hour: the
#: connection is dropped once what was sent stays unacknowledged this
#: long, or an idle one gets no keepalive answer, so the next call
#: reconnects and learns at once that the node is unreachable.
UNACKNOWLEDGED_MS = 20000
KEEPALIVE = (10, 5, 3)  # idle seconds, interval, probes


def socket_of(transport):
    """
    :return: the TCP socket under a transport (and its TLS layer), or
        C{None} for one without (in-memory transports of tests).
    """
    while transport is not None:
        handle = getattr(transport, "getHandle", lambda: None)()
        if isinstance(handle, socket.socket):
            return handle
        transport = getattr(transport, "transport", None)
    return None


def bound_dead_peer(transport):
    """
    Set L{UNACKNOWLEDGED_MS} and L{KEEPALIVE} on a TCP connection (below
    TLS); a transport without a socket is left alone.
    """
    sock = socket_of(transport)
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        idle, interval, count = KEEPALIVE
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, interval)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, count)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT,
                        UNACKNOWLEDGED_MS)
    except OSError:
        pass


class _ClientAMP(amp.AMP):
    """AMP that tells when its connection is really closed."""

    def __init__(self):
        amp.AMP.__init__(self)
        self.lost = Deferred()

    def connectionLost(self, reason):
        amp.AMP.connectionLost(self, reason)
        self.lost.callback(None)


@attrs.frozen
class RpcResult:
    """The outcome of one RPC on one node."""

    node: str
    payload: object = None
    fail_msg: str = None

    @property
    def ok(self):
        """True when the node answered without error."""
        return self.fail_msg is None

    def raise_on_failure(self, what):
        """
        :raise OpExecError: "<what> on node <node>: <reason>" if failed.
        """
        if self.fail_msg is not None:
            raise errors.OpExecError("%s on node %s: %s"
                                     % (what, self.node, self.fail_msg))
        return self.payload


class INodeRpc(Interface):
    """Calls node RPC methods on many nodes at once."""

    def call(nodes, method, *args, timeout=None):
        """
        Call C{method} with C{args} on every node in parallel.

        :param nodes: ``(name, address)`` pairs.
        :return: a Deferred firing with ``{name: RpcResult}``; it never
            fails: a node's failure is in its L{RpcResult}.
        """


@implementer(INodeRpc)
class NodeRpc:
    """
    Keeps one TLS connection per node and sends every call over it: a TLS
    handshake costs more than most calls, and jobs make many.

    :param reactor: the reactor.
    :param pem: the cluster certificate and key (bytes).
    :param port: the node service port.
    """

    def __init__(self, reactor, pem, port=nodeproto.DEFAULT_PORT,
                 timeout=DEFAULT_TIMEOUT):
        self._reactor = reactor
        self._options = tls.client_options(pem)
        self._port = port
        self._timeout = timeout
        self._connected = {}
        self._connecting = {}

    def _connection(self, address, timeout):
        """:return: a Deferred firing with a connected protocol."""
        protocol = self._connected.get(address)
        if protocol is not None:
            return succeed(protocol)
        waiting = self._connecting.get(address)
        d = Deferred()
        if waiting is not None:
            waiting.append(d)
            return d
        waiting = self._connecting[address] = [d]
        endpoint = wrapClientTLS(self._options, HostnameEndpoint(
            self._reactor, address, self._port, timeout=timeout))

        def connected(protocol):
            bound_dead_peer(protocol.transport)
            self._connected[address] = protocol
            protocol.lost.addCallback(lambda _: self._forget(address, protocol))
            return protocol

        def settle(outcome):
            del self._connecting[address]
            for waiter in waiting:
                if isinstance(outcome, Failure):
                    waiter.errback(outcome)
                else:
                    waiter.callback(outcome)

        connect = endpoint.connect(Factory.forProtocol(_ClientAMP))
        connect.addCallback(connected).addBoth(settle)
        return d

    def _forget(self, address, protocol):
        if self._connected.get(address) is protocol:
            del self._connected[address]

    def _call_one(self, name, address, method, args, timeout):
        command = NODE_COMMANDS[method]
        kwargs = dict(zip(nodeproto.METHODS[method], args))

        def failed(failure):
            # The connection stays: other calls may be using it, and one
            # to a dead node is dropped (see UNACKNOWLEDGED_MS).
            return RpcResult(name, fail_msg=_describe(failure))

        def connected(protocol):
            # The whole outcome is settled in this chain, before AMP appends
            # its own errback (which would turn a failure into None).
            d = protocol.callRemote(command, **kwargs)
            d.addErrback(decode_error)
            return d.addCallback(lambda answer: RpcResult(name, answer["result"]))

        d = self._connection(address, timeout)
        d.addCallback(connected)
        d.addTimeout(timeout, self._reactor)
        return d.addErrback(failed)

    def call(self, nodes, method, *args, timeout=None):
        """
        Call C{method} on every node in parallel.

        :param nodes: ``(name, address)`` pairs.
        :param timeout: seconds; by default the method's own
            (L{nodeproto.TIMEOUTS}) or the client's.
        :return: a Deferred firing with ``{name: RpcResult}``.
        """
        if timeout is None:
            timeout = nodeproto.TIMEOUTS.get(method, self._timeout)
        calls = [self._call_one(name, address, method, args, timeout)
                 for name, address in nodes]
        d = DeferredList(calls, consumeErrors=True)
        return d.addCallback(lambda results: {r.node: r for _, r in results})

    def close(self):
        """
        Close every connection.

        :return: a Deferred firing once they are all gone.
        """
        protocols = list(self._connected.values())
        for protocol in protocols:
            protocol.transport.loseConnection()
        return DeferredList([p.lost for p in protocols])


def _describe(failure):
    if failure.check(TimeoutError, CancelledError):
        return "timeout while waiting for the node to answer"
    if failure.check(errors.GenericError):
        return str(failure.value)
    return failure.getErrorMessage() or failure.type.__name__
