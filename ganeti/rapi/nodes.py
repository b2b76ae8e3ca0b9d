# -*- test-case-name: tests.test_rapi -*-
"""
RAPI handlers for ``/2/nodes`` and ``/2/nodes/<name>/...``: listing, the
node's role, modification, storage units, evacuation and migration.

Node tags are served by the shared tag handlers of
L{ganeti.rapi.context}, wired in the route table.
"""

from ganeti.rapi.context import (
    HttpError, body_op, dry_run, list_or_bulk, single, split_fields,
    submit_op)

N_FIELDS = ["name", "offline", "master_candidate", "drained", "dtotal",
            "dfree", "sptotal", "spfree", "mtotal", "mnode", "mfree",
            "pinst_cnt", "sinst_cnt", "ctotal", "cnos", "cnodes", "csockets",
            "pip", "sip", "role", "pinst_list", "sinst_list",
            "master_capable", "vm_capable", "ndparams", "group.uuid", "ctime",
            "mtime", "uuid", "serial_no", "tags"]

#: Node query ``role`` letter -> RAPI role name.
NODE_ROLES = {"M": "master", "C": "master-candidate", "R": "regular",
              "D": "drained", "O": "offline"}

#: RAPI role name -> OP_NODE_SET_PARAMS flags (``master`` moves only by
#: master failover).
_ROLE_FLAGS = {
    "regular": dict(master_candidate=False, offline=False, drained=False),
    "master-candidate": dict(master_candidate=True, offline=False,
                             drained=False),
    "drained": dict(master_candidate=False, offline=False, drained=True),
    "offline": dict(master_candidate=False, offline=True, drained=False),
}


def get_nodes(ctx):
    return list_or_bulk(ctx, "node", "nodes", N_FIELDS)


def get_node(ctx):
    return single(ctx, "node", N_FIELDS, "Node")


def get_node_role(ctx):
    d = single(ctx, "node", ["name", "role"], "Node")
    return d.addCallback(lambda n: NODE_ROLES.get(n["role"], n["role"]))


def put_node_role(ctx):
    """The body is the bare role name, as Ganeti's client sends it."""
    role = ctx.body
    if not isinstance(role, str) or role not in _ROLE_FLAGS:
        raise HttpError(400, "Can't set '%s' role" % (role,))
    static = dict(dry_run(ctx), node_name=ctx.items[0],
                  force=ctx.bool_arg("force"),
                  auto_promote=ctx.bool_arg("auto-promote"),
                  **_ROLE_FLAGS[role])
    return submit_op(ctx, "OP_NODE_SET_PARAMS", {}, static)


post_node_modify = body_op("OP_NODE_SET_PARAMS", "node_name")


def get_node_storage(ctx):
    """
    Ganeti answers a *job id* here: the storage units are the job's
    result, fetched later with ``/2/jobs/<id>``.
    """
    static = dict(nodes=[ctx.items[0]],
                  storage_type=ctx.required_value("storage_type"),
                  output_fields=split_fields(
                      ctx.required_value("output_fields")))
    return submit_op(ctx, "OP_NODE_QUERY_STORAGE", {}, static)


def put_node_storage_modify(ctx):
    changes = {}
    if ctx.query_value("allocatable") is not None:
        changes["allocatable"] = ctx.bool_arg("allocatable")
    static = dict(node_name=ctx.items[0],
                  storage_type=ctx.required_value("storage_type"),
                  name=ctx.required_value("name"), changes=changes)
    return submit_op(ctx, "OP_NODE_MODIFY_STORAGE", {}, static)


def put_node_storage_repair(ctx):
    static = dict(node_name=ctx.items[0],
                  storage_type=ctx.required_value("storage_type"),
                  name=ctx.required_value("name"))
    return submit_op(ctx, "OP_REPAIR_NODE_STORAGE", {}, static)


post_node_evacuate = body_op("OP_NODE_EVACUATE", "node_name")


def post_node_migrate(ctx):
    """
    The body form is current; without a body Ganeti still reads the
    legacy ``live`` or ``mode`` query arguments.
    """
    static = dict(dry_run(ctx), node_name=ctx.items[0])
    body = ctx.body_dict()
    if not body:
        live, mode = ctx.query_value("live"), ctx.query_value("mode")
        if live is not None and mode is not None:
            raise HttpError(400, "Only one of 'live' and 'mode' should be"
                            " used")
        if live is not None:
            body["mode"] = "live" if ctx.bool_arg("live") else "non-live"
        elif mode is not None:
            body["mode"] = mode
    return submit_op(ctx, "OP_NODE_MIGRATE", body, static)
