"""
Tests for L{ganeti.rapi.server.read_rapi_settings}: Ganeti's RAPI_ARGS in
``etc/default/ganeti`` keep working; and for the addresses the master's
RAPI listens on.
"""

import os

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from ganeti import crypto
from ganeti.master.watcher import RAPI_TIMEOUT
from ganeti.rapi import DEFAULT_PORT
from ganeti.rapi.server import (
    ipv6_wildcard, listen_addresses, read_rapi_settings)
from ganeti.tap.ganeti import Options, makeService
from tests.util import SETTINGS, make_paths, write_config


class RapiSettingsTests(SynchronousTestCase):
    def settings(self, text):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(text)
        return read_rapi_settings(path)

    def test_missing_file(self):
        """No file: Ganeti's defaults (anonymous reads, default port)."""
        settings = read_rapi_settings(self.mktemp())
        self.assertEqual((settings.require_authentication, settings.port,
                          settings.bind), (False, None, None))

    def test_debian_file(self):
        """Debian's layout; options without use here are ignored."""
        settings = self.settings(
            "# Default arguments for Ganeti daemons\n"
            'NODED_ARGS=""\n'
            'RAPI_ARGS="-b 127.0.0.1 --max-clients 30 --require-authentication"\n'
            "CONFD_ARGS=''\n")
        self.assertEqual((settings.require_authentication, settings.port,
                          settings.bind), (True, None, "127.0.0.1"))

    def test_port(self):
        settings = self.settings("RAPI_ARGS='--port 5081'  # moved\n")
        self.assertEqual(settings.port, 5081)

    def test_bad_value_ignored(self):
        """
        A value that is not a port leaves the defaults (logged), but a
        demand for authentication still holds.
        """
        settings = self.settings('RAPI_ARGS="-p many --require-authentication"\n')
        self.assertEqual((settings.require_authentication, settings.port),
                         (True, None))


class ListenAddressesTests(SynchronousTestCase):
    """Every address unless ``-b`` names one, IPv6 included where it exists."""

    def test_bind(self):
        """``-b`` is the only address, IPv4 or IPv6."""
        for bind in ("127.0.0.1", "::1", "0.0.0.0"):
            self.assertEqual(listen_addresses(bind, wildcard=lambda: True),
                             [bind])

    def test_dual_stack(self):
        """Where ``::`` takes IPv4 too, it alone covers every address."""
        self.assertEqual(listen_addresses(None, wildcard=lambda: True), ["::"])

    def test_ipv6_only_wildcard(self):
        """With ``bindv6only`` set, both wildcards are needed."""
        self.assertEqual(listen_addresses(None, wildcard=lambda: False),
                         ["::", "0.0.0.0"])

    def test_no_ipv6(self):
        """A host without IPv6 listens on every IPv4 address."""
        self.assertEqual(listen_addresses(None, wildcard=lambda: None),
                         ["0.0.0.0"])

    def test_probe(self):
        """The probe of this host answers one of its three values."""
        self.assertIn(ipv6_wildcard(), (None, True, False))


class MasterRapiListenTests(SynchronousTestCase):
    """The master service's RAPI listeners, on a L{MemoryReactorClock}."""

    def setUp(self):
        self.paths = make_paths(self)
        os.makedirs(os.path.dirname(self.paths.etc_hosts), exist_ok=True)
        with open(self.paths.etc_hosts, "w") as f:
            f.write("%s %s\n" % (SETTINGS["node_ip"], SETTINGS["node_name"]))
        environ = dict(os.environ, GANETI_HOSTNAME=SETTINGS["node_name"])
        environ.pop("GANETI_RAPI_PORT", None)
        self.patch(os, "environ", environ)
        write_config(self.paths)
        crypto.write_cluster_certificate(self.paths.server_pem, "cluster1")
        crypto.write_cluster_certificate(self.paths.rapi_pem, "cluster1")

    def rapi_interfaces(self, defaults=None):
        """
        Start a master below the root, with C{defaults} as its
        ``etc/default/ganeti``.

        :return: the sorted addresses listened on at the RAPI port.
        """
        if defaults is not None:
            os.makedirs(os.path.dirname(self.paths.daemon_defaults),
                        exist_ok=True)
            with open(self.paths.daemon_defaults, "w") as f:
                f.write(defaults)
        options = Options()
        options.parseOptions(["--root", self.paths.root, "--node-port", "0"])
        reactor = MemoryReactorClock()
        service = makeService(options, reactor)
        service.privilegedStartService()
        service.startService()
        self.addCleanup(service.stopService)
        # The watcher's first run asks the RAPI, which a memory reactor
        # never connects: let that give up rather than linger.
        reactor.advance(RAPI_TIMEOUT + 1)
        return sorted(interface for port, _, _, _, interface
                      in reactor.sslServers if port == DEFAULT_PORT)

    def test_all_addresses_by_default(self):
        """
        Without ``-b`` the RAPI listens on every address, so localhost
        reaches it on the master.
        """
        self.assertEqual(self.rapi_interfaces(),
                         sorted(listen_addresses(None)))
        self.assertIn(self.rapi_interfaces('RAPI_ARGS="--max-clients 5"\n'),
                      (["::"], ["0.0.0.0"], ["0.0.0.0", "::"]))

    def test_bind(self):
        """``RAPI_ARGS -b ADDRESS`` is the one address listened on."""
        self.assertEqual(self.rapi_interfaces('RAPI_ARGS="-b 127.0.0.1"\n'),
                         ["127.0.0.1"])


class _HangUp(Protocol):
    """The server side: closes at once."""

    def connectionMade(self):
        self.transport.loseConnection()


class _Closed(Protocol):
    """The client side: tells when the server closed."""

    def __init__(self):
        self.closed = defer.Deferred()

    def connectionLost(self, reason):
        self.closed.callback(None)


class WildcardReachTests(TestCase):
    """The default addresses take loopback connections (real sockets)."""

    @defer.inlineCallbacks
    def test_localhost(self):
        """
        Listening where L{listen_addresses} says without ``-b``, one port
        answers both 127.0.0.1 and, with IPv6, ::1.
        """
        from twisted.internet import reactor
        addresses = listen_addresses(None)
        first = reactor.listenTCP(0, Factory.forProtocol(_HangUp),
                                  interface=addresses[0])
        self.addCleanup(first.stopListening)
        number = first.getHost().port
        for address in addresses[1:]:
            try:
                port = reactor.listenTCP(
                    number, Factory.forProtocol(_HangUp), interface=address)
            except OSError:
                raise SkipTest("port %d is taken on %s" % (number, address))
            self.addCleanup(port.stopListening)
        endpoints = [TCP4ClientEndpoint(reactor, "127.0.0.1", number)]
        if "::" in addresses:
            endpoints.append(TCP6ClientEndpoint(reactor, "::1", number))
        for endpoint in endpoints:
            client = yield endpoint.connect(Factory.forProtocol(_Closed))
            yield client.closed
