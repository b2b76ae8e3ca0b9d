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

from ganeti import netutils
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
        NodeService(paths, reactor, address, options["node-port"],
                    roles=roles).setServiceParent(top)
    if roles.is_master():
        roles.start_master()
    return top
