# -*- test-case-name: tests.test_console_relay,tests.test_console_kvm -*-
"""
``/console/ws?token=T`` on the RAPI port: the browser's end of a console
relay, an autobahn WebSocket (see L{ganeti.console}).

Binary messages carry the console's raw bytes both ways: what xterm.js
types and shows for a serial console, noVNC's RFB stream for VNC.
noVNC asks for the ``binary`` subprotocol in some versions and none in
others, so ``binary`` is agreed to when offered, and no subprotocol
otherwise.

The handshake uses the token up.  A missing, used or expired token is
refused with HTTP 403 before any console is touched; when the node
cannot open the console the handshake is refused with 502 and the
node's reason.  Once open, the socket closes (code 1000) when the
console does, and the console relay closes when the browser goes.
"""

from autobahn.twisted.resource import WebSocketResource
from autobahn.twisted.websocket import (
    WebSocketServerFactory, WebSocketServerProtocol)
from autobahn.websocket.types import ConnectionDeny
from twisted.logger import Logger
from twisted.web.resource import Resource

from ganeti.console.relay import RelayEnd, join

_log = Logger()

#: The subprotocol agreed to when the browser offers it.
BINARY = "binary"

#: The longest message a browser may send: keystrokes and noVNC's input
#: events are a few bytes; autobahn's default is no limit at all.
MAX_MESSAGE = 64 * 1024


class ConsoleSocket(RelayEnd, WebSocketServerProtocol):
    """One browser's console WebSocket."""

    _node = None
    _gone = False

    def onConnect(self, request):
        gateway = self.factory.gateway
        token = (request.params.get("token") or [""])[-1]
        ticket = gateway.tokens.redeem(token)
        if ticket is None:
            raise ConnectionDeny(ConnectionDeny.FORBIDDEN,
                                 "Invalid, used or expired console token")
        _log.info("{kind} console of {instance} for {user}", kind=ticket.kind,
                  instance=ticket.instance, user=ticket.user)

        def opened(node):
            self._node = node
            if self._gone:
                # The browser gave up while the node was opening.
                node.hang_up()
            return BINARY if BINARY in request.protocols else None

        def failed(failure):
            _log.warn("cannot open the {kind} console of {instance}:"
                      " {error}", kind=ticket.kind, instance=ticket.instance,
                      error=failure.getErrorMessage())
            raise ConnectionDeny(502, failure.getErrorMessage())
        return gateway.open(ticket).addCallbacks(opened, failed)

    def onOpen(self):
        if self._gone:
            # autobahn opens a socket whose browser left during the
            # handshake; its console is closed already (see onConnect).
            return
        # The HTTP channel that served the upgrade is still the
        # transport's producer; the relay takes its place.
        self.transport.unregisterProducer()
        join(self, self._node)

    def onMessage(self, payload, isBinary):
        self.forward(payload)

    def deliver(self, data):
        self.sendMessage(data, isBinary=True)

    def hang_up(self):
        self.sendClose(1000, "The console closed")

    def _closeConnection(self, abort=False):
        # autobahn closes the transport here, also after a close the
        # browser began or a refused handshake; over TLS that waits for
        # the transport's producer to go (the relay's, or before the
        # open the HTTP channel's).
        self.transport.unregisterProducer()
        WebSocketServerProtocol._closeConnection(self, abort)

    def onClose(self, wasClean, code, reason):
        self._gone = True
        self.end_lost()
        if self.partner is None and self._node is not None:
            # Gone between the node's answer and the open.
            self._node.hang_up()


class ConsoleRoot(Resource):
    """
    ``/console/``: the WebSocket at ``ws``.

    :ivar factory: the WebSocket factory (its C{setProtocolOptions} tunes
        the sockets to come).
    """

    def __init__(self, gateway):
        Resource.__init__(self)
        self.factory = WebSocketServerFactory()
        self.factory.protocol = ConsoleSocket
        self.factory.setProtocolOptions(maxFramePayloadSize=MAX_MESSAGE,
                                        maxMessagePayloadSize=MAX_MESSAGE)
        self.factory.gateway = gateway
        self.putChild(b"ws", WebSocketResource(self.factory))


def console_resource(gateway):
    """
    :param gateway: the master's L{ganeti.console.gateway.ConsoleGateway}.
    :return: the resource for ``/console/`` (a L{ConsoleRoot}).
    """
    return ConsoleRoot(gateway)
