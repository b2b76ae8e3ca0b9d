# -*- test-case-name: tests.test_tap -*-
"""
``twistd ganeti``: the one process a node runs.

It runs the node service and the node's cleaner once the node has the
cluster certificate; on the master it also runs the master service (job
queue, locks, config, LUXI socket).
"""

import os

from twisted.application.service import MultiService
from twisted.python import usage

from ganeti import netutils
from ganeti.metrics import DEFAULT_NODE_PORT as DEFAULT_METRICS_PORT
from ganeti.paths import Paths, default_root
from ganeti.protocols import node as nodeproto


class Options(usage.Options):
    """Command-line options of ``twistd ganeti``."""

    optParameters = [
        ["root", "r", None,
         "Root directory of this node's files (default: $GANETI_ROOT or /)."],
        ["node-port", "p", None,
         "TCP port of the node service (default: $GANETI_NODE_PORT or 1811)."],
        ["metrics-port", None, None,
         "TCP port of the node's plain-HTTP /metrics (default:"
         " $GANETI_METRICS_PORT or 1815, ganeti-mond's; 'off' for none)."],
        ["metrics-address", None, None,
         "Address the metrics listen on (default: the node's primary IP)."],
    ]

    def postOptions(self):
        self["root"] = self["root"] or default_root()
        self["node-port"] = int(self["node-port"] or
                                os.environ.get("GANETI_NODE_PORT") or
                                nodeproto.DEFAULT_PORT)
        port = (self["metrics-port"] or os.environ.get("GANETI_METRICS_PORT")
                or str(DEFAULT_METRICS_PORT))
        self["metrics-port"] = None if port == "off" else int(port)


def _node_cleaner(paths, reactor, roles):
    """
    :return: the node's daily cleaner pass (L{ganeti.cleaner_service}),
        in the reactor's thread pool; where the master role runs, the
        master's own pass prunes the job archive instead.
    """
    from twisted.internet.threads import deferToThreadPool
    from ganeti.cleaner_service import CleanerService

    def in_thread(function, *args):
        return deferToThreadPool(reactor, reactor.getThreadPool(), function,
                                 *args)
    service = CleanerService("node", paths, reactor, in_thread=in_thread,
                             is_master=lambda: roles.running)
    service.setName("cleaner")
    return service


def makeService(options, reactor=None):
    """
    :return: the node's top service.
    """
    if reactor is None:
        from twisted.internet import reactor
    from ganeti.roles import RoleManager
    paths = Paths(options["root"])
    top = MultiService()
    roles = RoleManager(top, paths, reactor, options["node-port"])
    if os.path.exists(paths.server_pem):
        from ganeti.node.service import NodeService
        name, address = netutils.resolve(netutils.local_node_name(paths), paths)
        node = NodeService(paths, reactor, address, options["node-port"],
                           roles=roles)
        node.setServiceParent(top)
        if options["metrics-port"] is not None:
            from ganeti.metrics.http import metrics_service
            metrics = metrics_service(reactor, options["metrics-port"],
                                      options["metrics-address"] or address,
                                      node.metrics.registry,
                                      node.metrics.refresh)
            metrics.setName("metrics")
            metrics.setServiceParent(top)
        _node_cleaner(paths, reactor, roles).setServiceParent(top)
    if roles.is_master():
        roles.start_master()
    return top
