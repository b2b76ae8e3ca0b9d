# -*- test-case-name: tests.test_filters -*-
"""
The ``filter`` query resource: job filter rules as ``gnt-filter list`` and
``/2/query/filter`` show them.

The rules are plain dictionaries in the configuration, under Ganeti's key
names, so every field reads one key.  Items are named by ``uuid``.
"""

from ganeti.query import Field, FieldSet, QFT_OTHER, key_getter


def _field(name, title, doc):
    # Ganeti declares every filter field as "other": values are printed as
    # they are, numbers included.
    return Field(name, title, QFT_OTHER, doc, key_getter(name))


FILTER_FIELDS = FieldSet([
    _field("watermark", "Watermark",
           "Highest job ID used at the time when the filter was added"),
    _field("priority", "Priority", "Filter priority"),
    _field("predicates", "Predicates", "List of filter predicates"),
    _field("action", "Action", "Filter action"),
    _field("reason_trail", "ReasonTrail",
           "Reason why this filter was added"),
    _field("uuid", "UUID", "Filter ID"),
], item_kind="Filter")


def query_filters(cfg, fields, qfilter=None, uuids=None):
    """
    :param cfg: the L{ganeti.objects.ConfigData}.
    :param uuids: wanted rules, in this order; all must exist.
    :return: a query result (see L{ganeti.query.FieldSet.query}).
    :raise errors.OpPrereqError: (``noent``) for an unknown wanted uuid.
    """
    return FILTER_FIELDS.query(None, list(cfg.filters.values()), fields,
                               qfilter, names=uuids or None,
                               name_field="uuid")
