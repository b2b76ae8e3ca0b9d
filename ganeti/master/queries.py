# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
The queries that need the nodes (``Query`` for instances, nodes, OS
definitions and exports), and groups: the live answers gathered by
L{ganeti.cmdlib.live} (only when a requested or filtered field needs them)
run through the field tables of L{ganeti.query}.
"""

from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti.cmdlib.exports import exports_by_node
from ganeti.cmdlib.live import (
    diagnose_os, live_consoles, live_instances, live_node_info)
from ganeti.query import filter_fields, nice_sort, nice_sort_key, requested_names
from ganeti.query.export import EXPORT_FIELDS
from ganeti.query.instance import INSTANCE_FIELDS, LIVE_FIELDS, Context
from ganeti.query.node import (
    GROUP_FIELDS, LIVE_FIELDS as NODE_LIVE_FIELDS, NODE_FIELDS, OS_FIELDS,
    NodeContext, OsContext)


@inlineCallbacks
def query_instances(ctx, fields, qfilter):
    """:return: (Deferred) a query result for instances."""
    cfg = ctx.config.config
    live = None
    consoles = None
    wanted = set(fields) | filter_fields(qfilter)
    if wanted & LIVE_FIELDS:
        live = yield live_instances(ctx, cfg)
    if "console" in wanted:
        consoles = yield live_consoles(ctx, cfg, live,
                                       requested_names(qfilter))
    returnValue(INSTANCE_FIELDS.query(Context(cfg, live, consoles),
                                      list(cfg.instances.values()), fields,
                                      qfilter))


@inlineCallbacks
def query_nodes(ctx, fields, qfilter):
    """:return: (Deferred) a query result for nodes."""
    cfg = ctx.config.config
    nodes = list(cfg.nodes.values())
    live = {}
    if (set(fields) | filter_fields(qfilter)) & NODE_LIVE_FIELDS:
        live = yield live_node_info(ctx, cfg, nodes)
    returnValue(NODE_FIELDS.query(NodeContext(cfg, live), nodes, fields, qfilter))


@inlineCallbacks
def query_os(ctx, fields, qfilter):
    """:return: (Deferred) a query result for operating systems."""
    cfg = ctx.config.config
    entries = yield diagnose_os(ctx, cfg)
    returnValue(OS_FIELDS.query(OsContext(cfg.cluster), entries, fields, qfilter))


def query_groups(ctx, fields, qfilter):
    """:return: a query result for node groups (config only)."""
    cfg = ctx.config.config
    return GROUP_FIELDS.query(NodeContext(cfg), list(cfg.nodegroups.values()),
                              fields, qfilter)


@inlineCallbacks
def query_exports(ctx, fields, qfilter):
    """
    :return: (Deferred) a query result; a node that is offline or does
        not answer gives one row with the export marked as such (as in
        Ganeti).
    """
    cfg = ctx.config.config
    found = yield exports_by_node(ctx, cfg)
    items = []
    for node in nice_sort(found):
        exports = found[node]
        if isinstance(exports, list):
            items.extend((node, export)
                         for export in sorted(exports, key=nice_sort_key))
        else:
            items.append((node, exports))
    # Rows stay in node order, exports sorted within a node; "names=[]"
    # keeps a node filter a filter rather than a list of wanted items.
    returnValue(EXPORT_FIELDS.query(None, items, fields, qfilter, names=[],
                                    name_field="node"))
