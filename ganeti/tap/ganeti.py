# -*- test-case-name: tests.test_tap -*-
"""
``twistd ganeti``: the one process a node runs.

It runs the node service once the node has the cluster certificate; on
the master it also runs the master service (job queue, locks, config, LUXI
socket).
"""

import os

from twisted.application.service import MultiService
from twisted.python import usage

from ganeti import netutils, ssconf
from ganeti.paths import Paths, default_root
from ganeti.protocols import node as nodeproto


class Options(usage.Options):
    """Command-line options of ``twistd ganeti``."""

    optParameters = [
        ["root", "r", None,
         "Root directory of this node's files (default: $GANETI_ROOT or /)."],
        ["node-port", "p", None,
         "TCP port of the node service (default: $GANETI_NODE_PORT or 1811)."],
    ]

    def postOptions(self):
        self["root"] = self["root"] or default_root()
        self["node-port"] = int(self["node-port"] or
                                os.environ.get("GANETI_NODE_PORT") or
                                nodeproto.DEFAULT_PORT)


def is_master(paths):
    """
    :return: True if this node's ssconf names it as the master and it has
        the configuration.
    """
    master = ssconf.read(paths, "master_node")
    if not master or not os.path.exists(paths.config_data):
        return False
    return master == netutils.local_node_name(paths)


def makeService(options, reactor=None):
    """
    :return: the node's top service.
    """
    if reactor is None:
        from twisted.internet import reactor
    paths = Paths(options["root"])
    top = MultiService()
    if os.path.exists(paths.server_pem):
        from ganeti.node.service import NodeService
        name, address = netutils.resolve(netutils.local_node_name(paths), paths)
        NodeService(paths, reactor, address,
                    options["node-port"]).setServiceParent(top)
    if is_master(paths):
        from ganeti.master.service import MasterService
        MasterService(paths, reactor, options["node-port"]).setServiceParent(top)
    return top
