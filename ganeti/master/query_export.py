# -*- test-case-name: tests.test_backup -*-
"""
The ``export`` query resource (``gnt-backup list``, ``/2/query/export``):
one row per export per node, asked of the nodes themselves since the
configuration does not record exports.
"""

from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti.cmdlib.exports import exports_by_node
from ganeti.query import Field, FieldSet, QFT_TEXT, nice_sort, nice_sort_key

EXPORT_FIELDS = FieldSet([
    Field("node", "Node", QFT_TEXT, "Node name",
          lambda ctx, item: item[0]),
    Field("export", "Export", QFT_TEXT, "Export name",
          lambda ctx, item: item[1]),
], item_kind="Export")


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
