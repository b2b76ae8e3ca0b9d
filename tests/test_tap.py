"""
Tests for the assembly of a node's services (``twistd ganeti``).
"""

import os

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from ganeti import crypto
from ganeti.cleaner_service import CleanerService
from ganeti.tap.ganeti import Options, makeService
from tests.util import SETTINGS, make_paths, write_config


class MakeServiceTests(SynchronousTestCase):
    """Which services a node runs depends on its files."""

    def setUp(self):
        self.paths = make_paths(self)
        os.makedirs(os.path.dirname(self.paths.etc_hosts), exist_ok=True)
        with open(self.paths.etc_hosts, "w") as f:
            f.write("%s %s\n" % (SETTINGS["node_ip"], SETTINGS["node_name"]))
        self.patch(os, "environ", dict(os.environ,
                                       GANETI_HOSTNAME=SETTINGS["node_name"]))

    def build(self, *args):
        options = Options()
        options.parseOptions(["--root", self.paths.root, "--node-port", "0"]
                             + list(args))
        reactor = MemoryReactorClock()
        service = makeService(options, reactor)
        service.privilegedStartService()
        service.startService()
        self.addCleanup(service.stopService)
        return service, reactor

    def test_not_in_a_cluster(self):
        """A node without cluster files runs nothing."""
        service, reactor = self.build()
        self.assertEqual(list(service), [])

    def test_master(self):
        """
        The master runs the node service on its own address, the node's
        cleaner, and the master service on its Unix socket, with the
        master's cleaner of the job archive.
        """
        write_config(self.paths)
        crypto.write_cluster_certificate(self.paths.server_pem, "cluster1")
        service, reactor = self.build()
        self.assertEqual(sorted(s.name for s in service),
                         ["cleaner", "master", "metrics", "node"])
        self.assertEqual(service.getServiceNamed("cleaner").mode, "node")
        self.assertEqual(
            [s.mode for s in service.getServiceNamed("master")
             if isinstance(s, CleanerService)], ["master"])
        [ssl] = reactor.sslServers
        self.assertEqual(ssl[4], SETTINGS["node_ip"])
        [unix] = reactor.unixServers
        self.assertEqual(unix[0], self.paths.master_socket)
        # The node's metrics: plain HTTP on ganeti-mond's port, node IP.
        [tcp] = reactor.tcpServers
        self.assertEqual((tcp[0], tcp[3]), (1815, SETTINGS["node_ip"]))

    def test_non_master_node(self):
        """A node that ssconf says is not the master runs only the node service
        and its cleaner."""
        write_config(self.paths)
        crypto.write_cluster_certificate(self.paths.server_pem, "cluster1")
        with open(self.paths.ssconf("master_node"), "w") as f:
            f.write("other.example.com\n")
        service, reactor = self.build()
        self.assertEqual([s.name for s in service],
                         ["node", "metrics", "cleaner"])

    def test_metrics_off(self):
        """``--metrics-port off`` runs no metrics listener."""
        write_config(self.paths)
        crypto.write_cluster_certificate(self.paths.server_pem, "cluster1")
        with open(self.paths.ssconf("master_node"), "w") as f:
            f.write("other.example.com\n")
        service, reactor = self.build("--metrics-port", "off")
        self.assertEqual([s.name for s in service], ["node", "cleaner"])
        self.assertEqual(reactor.tcpServers, [])
