# -*- test-case-name: tests.test_rapi_networks -*-
"""
RAPI handlers for ``/2/networks`` and ``/2/networks/<name>/...``:
listing, creation, removal, modification, renaming and the connections
to node groups.

Like groups, networks list by ``name``; which resources read
``dry-run`` follows Ganeti's ``rlib2`` (``modify`` does not).
"""

from ganeti.rapi.context import (
    body_op, dry_run, list_by_name, single, submit_op)

#: Ganeti's C{NET_FIELDS}: what bulk listings and single GETs return.
NET_FIELDS = ["name", "network", "gateway", "network6", "gateway6",
              "mac_prefix", "free_count", "reserved_count", "map",
              "group_list", "inst_list", "external_reservations", "ctime",
              "mtime", "uuid", "serial_no", "tags"]


def get_networks(ctx):
    """The networks by name, or with ``bulk=1`` their C{NET_FIELDS}."""
    return list_by_name(ctx, "network", "networks", NET_FIELDS)


def get_network(ctx):
    """One network's C{NET_FIELDS}; 404 for an unknown name."""
    return single(ctx, "network", NET_FIELDS, "Network")


def post_networks(ctx):
    """
    OP_NETWORK_ADD from the body (``name`` is Ganeti's old spelling of
    ``network_name``).  Null values mean "not given": Ganeti's own client
    sends ``"tags": null`` when it has no tags.
    """
    body = {key: value for key, value in ctx.body_dict().items()
            if value is not None}
    return submit_op(ctx, "OP_NETWORK_ADD", body, dry_run(ctx),
                     renames={"name": "network_name"})


delete_network = body_op("OP_NETWORK_REMOVE", "network_name")
put_network_modify = body_op("OP_NETWORK_SET_PARAMS", "network_name",
                             with_dry_run=False)
put_network_connect = body_op("OP_NETWORK_CONNECT", "network_name")
put_network_disconnect = body_op("OP_NETWORK_DISCONNECT", "network_name")
put_network_rename = body_op("OP_NETWORK_RENAME", "network_name")
