# -*- test-case-name: tests.test_backup -*-
"""
The ``export`` query fields (``gnt-backup list``, ``/2/query/export``):
one row per export per node.
"""

from ganeti.query import Field, FieldSet, QFT_TEXT

EXPORT_FIELDS = FieldSet([
    Field("node", "Node", QFT_TEXT, "Node name",
          lambda ctx, item: item[0]),
    Field("export", "Export", QFT_TEXT, "Export name",
          lambda ctx, item: item[1]),
], item_kind="Export")
