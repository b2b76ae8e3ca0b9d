# -*- test-case-name: tests.test_daemon -*-
"""
Gaining and losing the master role while the node daemon runs
(``gnt-cluster master-failover``).

The master service (queue, locks, config, LUXI socket) is a child of the
node's top service; becoming master adds it, losing the role stops and
removes it.  The master IP follows the role.
"""

import os

from twisted.internet.defer import succeed
from twisted.logger import Logger

from ganeti import netutils, ssconf

_log = Logger()


class RoleManager:
    """
    :param top: the node's top L{MultiService}.
    :param paths: the node's L{ganeti.paths.Paths}.
    :param reactor: the reactor.
    :param node_port: the node service port (for the master's RPC client).
    """

    def __init__(self, top, paths, reactor, node_port):
        self._top = top
        self._paths = paths
        self._reactor = reactor
        self._node_port = node_port

    def is_master(self):
        """
        :return: True if this node's ssconf names it as the master and it
            holds the configuration.
        """
        master = ssconf.read(self._paths, "master_node")
        if not master or not os.path.exists(self._paths.config_data):
            return False
        return master == netutils.local_node_name(self._paths)

    @property
    def running(self):
        """True while the master service runs here."""
        return "master" in self._top.namedServices

    def start_master(self):
        """Start the master service (if not running). :return: a Deferred."""
        if self.running:
            return succeed(False)
        from ganeti.master.service import MasterService
        service = MasterService(self._paths, self._reactor, self._node_port)
        service.setServiceParent(self._top)
        _log.info("master role started")
        return succeed(True)

    def stop_master(self):
        """Stop and drop the master service. :return: a Deferred."""
        if not self.running:
            return succeed(False)
        service = self._top.getServiceNamed("master")
        d = service.disownServiceParent()
        _log.info("master role stopped")
        return d.addCallback(lambda _: True) if d is not None else succeed(True)
