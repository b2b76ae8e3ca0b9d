# -*- test-case-name: tests.test_rapi_groups -*-
"""
RAPI handlers for ``/2/groups`` and ``/2/groups/<name>/...``: listing,
creation, removal, modification, renaming and node assignment.

Groups list by ``name`` where the other collections say ``id``, and each
group resource reads its own set of query arguments, as in Ganeti.
"""

from ganeti.rapi.context import (
    body_op, dry_run, list_by_name, single, submit_op)

G_FIELDS = ["alloc_policy", "name", "node_cnt", "node_list", "ipolicy",
            "custom_ipolicy", "diskparams", "custom_diskparams", "ndparams",
            "custom_ndparams", "ctime", "mtime", "uuid", "serial_no", "tags"]


def get_groups(ctx):
    """Groups list by ``name`` (not ``id``), as in Ganeti."""
    return list_by_name(ctx, "group", "groups", G_FIELDS)


def get_group(ctx):
    return single(ctx, "group", G_FIELDS, "Group")


post_groups = body_op("OP_GROUP_ADD", renames={"name": "group_name"})


def delete_group(ctx):
    static = dict(dry_run(ctx), group_name=ctx.items[0])
    return submit_op(ctx, "OP_GROUP_REMOVE", {}, static)


put_group_modify = body_op(
    "OP_GROUP_SET_PARAMS", "group_name", with_dry_run=False,
    renames={"custom_ndparams": "ndparams", "custom_ipolicy": "ipolicy",
             "custom_diskparams": "diskparams"})
put_group_rename = body_op("OP_GROUP_RENAME", "group_name")
put_group_assign_nodes = body_op("OP_GROUP_ASSIGN_NODES", "group_name",
                                 flags=("force",))
