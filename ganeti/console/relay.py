# -*- test-case-name: tests.test_console_relay -*-
"""
Splicing two connections into one byte pipe, with flow control, for the
console relay: on the node, the master's TLS connection and the
instance's console (serial socket or VNC port); on the master, the
browser's WebSocket and the node's TLS connection.

Each end is a protocol mixing in L{RelayEnd}.  Once L{join}ed, what one
end receives the other writes, and each end's transport is registered as
the producer of the other's: when one side's send buffer fills, Twisted
pauses reading from the other, so a slow browser slows the console
rather than filling the master's memory.  Whichever end closes first
closes the other (unregistering its producer first: a TLS transport
waits for its producer to go before it closes).  What arrives before
the join is kept, with that end paused, and written at the join (VNC's
server speaks first).
"""

from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from zope.interface import implementer


class RelayEnd:
    """
    One end of a relay: mixed into a protocol with a C{transport}.

    :ivar partner: the other end, once joined.
    """

    partner = None
    _ended = False
    #: What arrived before the join, or None when nothing did.
    _early = None

    def forward(self, data):
        """Hand bytes this end received to the other end."""
        if self.partner is not None:
            self.partner.deliver(data)
            return
        if self._early is None:
            self._early = []
        self._early.append(data)
        # Until the join nobody drains it: stop reading this side.
        self.transport.pauseProducing()

    def deliver(self, data):
        """Send bytes from the other end out of this one."""
        self.transport.write(data)

    def hang_up(self):
        """Close this end (the other end is gone)."""
        if self.partner is not None:
            # The other end is this transport's producer since the join,
            # and a TLS transport does not close while it has one.
            self.flow_transport().unregisterProducer()
        self.transport.loseConnection()

    def flow_transport(self):
        """
        :return: the transport that pauses reading from this end and
            takes the other end as its producer.
        """
        return self.transport

    def end_lost(self):
        """This end's connection is gone: close the other end too."""
        self._ended = True
        if self.partner is not None:
            self.partner.hang_up()


def join(one, other):
    """
    Splice two L{RelayEnd}s: bytes flow both ways until either closes.
    """
    one.partner, other.partner = other, one
    first, second = one.flow_transport(), other.flow_transport()
    first.registerProducer(second, True)
    second.registerProducer(first, True)
    for end in (one, other):
        if end.partner._ended:
            end.hang_up()
            continue
        if end._early is not None:
            early, end._early = end._early, None
            for data in early:
                end.partner.deliver(data)
            end.flow_transport().resumeProducing()


@implementer(IHandshakeListener)
class StreamEnd(RelayEnd, Protocol):
    """
    A relay end on a plain byte stream (TCP, Unix socket, TLS).

    :param tls: whether the connection is TLS: then it is L{ready}
        only once the handshake is done.

    :ivar ready: a Deferred firing with this end once it can relay:
        connected, and for TLS once the handshake is done (so the peer
        proved it holds the cluster certificate); it fails when the
        connection is lost first.
    :ivar ended: a Deferred firing with None once the connection is gone.
    """

    def __init__(self, tls=False):
        self.ready = Deferred()
        self.ended = Deferred()
        self._tls = tls

    def connectionMade(self):
        if not self._tls:
            self.ready.callback(self)

    def handshakeCompleted(self):
        """The TLS handshake is done: the peer is a cluster node."""
        self.ready.callback(self)

    def dataReceived(self, data):
        self.forward(data)

    def connectionLost(self, reason):
        self.end_lost()
        if not self.ready.called:
            self.ready.errback(reason)
        self.ended.callback(None)

