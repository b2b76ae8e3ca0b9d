# -*- test-case-name: tests.test_backup -*-
"""
What exporting and importing instances share: finding exports on the
nodes, naming staging directories, and moving a file between two nodes.
"""

import os
import uuid as uuidmod

from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti.cmdlib.common import call_node, node_address
from ganeti.query import NoData, Offline


@inlineCallbacks
def exports_by_node(ctx, cfg, nodes=None):
    """
    Ask the nodes which exports they hold (the configuration does not
    record exports).

    :param nodes: the L{ganeti.objects.Node}s to ask; all by default.
    :return: (Deferred) ``{node name: [export names]}``, with
        L{ganeti.query.Offline} for an offline node and
        L{ganeti.query.NoData} for one that did not answer.
    """
    nodes = list(cfg.nodes.values()) if nodes is None else nodes
    online = [n for n in nodes if not n.offline]
    results = yield ctx.rpc.call([node_address(n) for n in online],
                                 "export_list")
    found = {n.name: Offline for n in nodes if n.offline}
    for name, result in results.items():
        found[name] = result.payload if result.ok else NoData
    returnValue(found)


def staging_name(purpose, instance_name):
    """
    :return: a fresh hidden directory name in a node's export directory,
        for the dumps of an export or import in progress (hidden, so
        ``export_list`` never shows it).
    """
    return ".%s-%s-%s" % (purpose, instance_name, uuidmod.uuid4().hex)


@inlineCallbacks
def transfer(ctx, source, path, target, staging):
    """
    Move one file from node C{source} into a staging directory of node
    C{target}: the target listens once, the source connects and streams
    (L{ganeti.node.transfer}).

    :param path: the file on the source node.
    :return: (Deferred) the file's path on the target.
    """
    receive = yield call_node(ctx, target, "transfer_receive", staging,
                              os.path.basename(path), target.primary_ip,
                              what="Cannot receive %s" % (path,))
    yield call_node(ctx, source, "transfer_send", path, target.primary_ip,
                    receive["port"],
                    what="Cannot send %s to %s" % (path, target.name))
    returnValue(receive["path"])
