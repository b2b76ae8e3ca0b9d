# -*- test-case-name: tests.test_console_relay,tests.test_console_kvm -*-
"""
The node's half of a console relay (see L{ganeti.console}).

The master asks, through the node RPC (``console_open``), for one
instance's serial console or VNC display.  The node connects to it first,
so a stopped instance or a missing display is an RPC error the master can
show, then listens once, on an ephemeral port with the cluster
certificate (as L{ganeti.node.transfer} does), for the master.  The first
peer to finish the TLS handshake (so it holds the cluster certificate)
gets the console and the port closes; the bytes then flow both ways
until either side hangs up (L{ganeti.console.relay}).

qemu's serial socket takes one client at a time: while a relay holds it,
``gnt-instance console`` on the node waits for its turn.
"""

import os

from twisted.internet.defer import maybeDeferred
from twisted.internet.endpoints import (
    SSL4ServerEndpoint, TCP4ClientEndpoint, TCP6ClientEndpoint,
    UNIXClientEndpoint, connectProtocol)
from twisted.logger import Logger

from ganeti import errors
from ganeti.console.relay import StreamEnd, join
from ganeti.node.transfer import OneShotPort
from ganeti.protocols import tls

_log = Logger()

#: Seconds the node waits for the master to connect.
ACCEPT_TIMEOUT = 30
#: Seconds to reach the instance's console socket or VNC port.
CONNECT_TIMEOUT = 10

#: Wildcard VNC bind addresses -> the loopback address reaching them.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def console_endpoint(reactor, hypervisor, instance, kind):
    """
    Where an instance's console is on this node.

    :param hypervisor: the instance's hypervisor; only kvm's keeps its
        consoles in sockets a relay can reach.
    :param kind: ``serial`` or ``vnc``.
    :return: a client endpoint.
    :raise HypervisorError: when there is no such console.
    """
    name = instance["name"]
    layout = getattr(hypervisor, "layout", None)
    if layout is None:
        raise errors.HypervisorError(
            "The %s hypervisor has no console to relay" % instance["hypervisor"])
    if kind == "serial":
        return UNIXClientEndpoint(reactor, layout.serial_socket(name),
                                  timeout=CONNECT_TIMEOUT)
    if kind != "vnc":
        raise errors.HypervisorError("Unknown console kind %r" % (kind,))
    console = hypervisor.get_console(instance)
    vnc = console if console.get("kind") == "vnc" else console.get("vnc")
    if not vnc:
        raise errors.HypervisorError("Instance %s has no VNC display" % name)
    host = vnc["host"]
    if os.path.isabs(host):
        # vnc_bind_address naming a directory: qemu listens on a socket.
        return UNIXClientEndpoint(reactor, os.path.join(host, name + ".vnc"),
                                  timeout=CONNECT_TIMEOUT)
    host = _LOOPBACK.get(host, host)
    endpoint = TCP6ClientEndpoint if ":" in host else TCP4ClientEndpoint
    return endpoint(reactor, host, vnc["port"], timeout=CONNECT_TIMEOUT)


class _ConsolePort(OneShotPort):
    """The one-shot port handing one console to the master."""

    def __init__(self, reactor, console, description, timeout):
        OneShotPort.__init__(self, reactor, timeout)
        self._console = console
        self._description = description

    def make_protocol(self):
        master = StreamEnd(tls=True)
        master.ready.addCallbacks(self._handshaken, lambda _: None)
        return master

    def _handshaken(self, master):
        if not self.take():
            master.transport.abortConnection()
            return
        _log.info("relaying {console}", console=self._description)
        join(master, self._console)
        master.ended.addCallback(lambda _: _log.info(
            "relay of {console} ended", console=self._description))

    def timed_out(self):
        _log.warn("the master did not come for {console} within {seconds}"
                  " seconds", console=self._description,
                  seconds=self._timeout)
        self._console.hang_up()


def open_console(reactor, pem, address, hypervisor, instance, kind,
                 timeout=ACCEPT_TIMEOUT):
    """
    Connect to an instance's console and listen once for the master.

    :param pem: the cluster certificate and key (bytes).
    :param address: where to listen (the node's address the master uses).
    :return: (Deferred) C{{"port": port}} once listening.
    :raise HypervisorError: (via the Deferred) when the console cannot be
        reached (the instance is not running here, no VNC display...).
    """
    description = "the %s console of %s" % (kind, instance["name"])
    console = StreamEnd()

    def unreachable(failure):
        if failure.check(errors.HypervisorError):
            return failure
        raise errors.HypervisorError("Cannot reach %s: %s"
                                     % (description, failure.getErrorMessage()))

    def listen(_):
        port = _ConsolePort(reactor, console, description, timeout)
        endpoint = SSL4ServerEndpoint(reactor, 0, tls.server_options(pem),
                                      interface=address)
        d = endpoint.listen(port).addCallback(port.listening)

        def not_listening(failure):
            console.hang_up()
            return failure
        return d.addCallbacks(lambda number: {"port": number}, not_listening)

    d = maybeDeferred(console_endpoint, reactor, hypervisor, instance, kind)
    d.addCallback(lambda endpoint: connectProtocol(endpoint, console))
    d.addErrback(unreachable)
    return d.addCallback(listen)
