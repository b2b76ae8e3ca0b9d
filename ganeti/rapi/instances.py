# -*- test-case-name: tests.test_rapi -*-
"""
RAPI handlers for ``/2/instances``, ``/2/instances-multi-alloc`` and
``/2/instances/<name>/...``: creation, removal, power actions,
reinstallation, disks, migration, export and the console.

The biggest resource family, kept apart so each opcode's query and body
rules sit next to the others of the same object.
"""

from ganeti.rapi.context import (
    HttpError, body_op, dry_run, fill_opcode, list_or_bulk, single, submit,
    submit_op)

I_FIELDS = ["name", "admin_state", "os", "pnode", "snodes", "disk_template",
            "nic.ips", "nic.macs", "nic.modes", "nic.uuids", "nic.names",
            "nic.links", "nic.networks", "nic.networks.names", "nic.bridges",
            "network_port", "disk.sizes", "disk.spindles", "disk_usage",
            "disk.uuids", "disk.names", "beparams", "hvparams", "oper_state",
            "oper_ram", "oper_vcpus", "status", "custom_hvparams",
            "custom_beparams", "custom_nicparams", "custom_osparams", "ctime",
            "mtime", "uuid", "serial_no", "tags"]

#: Legacy instance-creation keys -> opcode parameters (Ganeti's
#: ``_INST_CREATE_REQV1`` renames).
_INST_CREATE_RENAMES = {"name": "instance_name", "os": "os_type"}

#: Body keys of ``/2/instances/<i>/reinstall``.
_REINSTALL_KEYS = ("os", "start", "osparams")


def _instance_fixup(inst):
    # Ganeti keeps "memory" in beparams for pre-2.6 clients.
    beparams = inst.get("beparams")
    if isinstance(beparams, dict) and "maxmem" in beparams:
        inst["beparams"] = dict(beparams, memory=beparams["maxmem"])
    return inst


def get_instances(ctx):
    return list_or_bulk(ctx, "instance", "instances", I_FIELDS,
                        _instance_fixup)


def post_instances(ctx):
    """
    Create an instance from a ``__version__: 1`` body (Ganeti's only
    supported creation request format).
    """
    body = ctx.body_dict()
    version = body.pop("__version__", 0)
    if version == 0:
        raise HttpError(400, "Instance creation request version 0 is no "
                        "longer supported")
    if version != 1:
        raise HttpError(400, "Unsupported request data version %s"
                        % (version,))
    hvparams = body.get("hvparams")
    if isinstance(hvparams, dict) and isinstance(
            hvparams.get("usb_devices"), str):
        # Ganeti accepts space-separated USB devices over RAPI only.
        body["hvparams"] = dict(hvparams, usb_devices=",".join(
            hvparams["usb_devices"].split()))
    return submit_op(ctx, "OP_INSTANCE_CREATE", body, dry_run(ctx),
                     renames=_INST_CREATE_RENAMES)


def post_instances_multi_alloc(ctx):
    """
    Each instance is a creation request as ``/2/instances`` takes it (the
    official client's C{InstanceAllocation}); one job allocates them all.
    """
    body = ctx.body_dict()
    instances = body.get("instances")
    if not isinstance(instances, list):
        raise HttpError(400, "Request is missing required 'instances' field"
                        " in body")
    creations = []
    for instance in instances:
        if not isinstance(instance, dict):
            raise HttpError(400, "Invalid body contents, not a dictionary")
        instance = dict(instance)
        instance.pop("__version__", None)
        creations.append(fill_opcode(ctx, "OP_INSTANCE_CREATE", instance, {},
                                     renames=_INST_CREATE_RENAMES))
    body["instances"] = creations
    return submit_op(ctx, "OP_INSTANCE_MULTI_ALLOC", body, dry_run(ctx))


def get_instance(ctx):
    return single(ctx, "instance", I_FIELDS, "Instance", _instance_fixup)


def delete_instance(ctx):
    static = dict(dry_run(ctx), instance_name=ctx.items[0],
                  ignore_failures=False)
    return submit_op(ctx, "OP_INSTANCE_REMOVE", ctx.body_dict(), static)


def get_instance_info(ctx):
    """Ganeti answers a job id; the job's result is the detailed info."""
    static = dict(instances=[ctx.items[0]], static=ctx.bool_arg("static"))
    return submit_op(ctx, "OP_INSTANCE_QUERY_DATA", {}, static)


def put_instance_startup(ctx):
    # Ganeti ignores the body here: everything comes from the query.
    static = dict(dry_run(ctx), instance_name=ctx.items[0],
                  force=ctx.bool_arg("force"),
                  no_remember=ctx.bool_arg("no_remember"))
    return submit_op(ctx, "OP_INSTANCE_STARTUP", {}, static)


put_instance_shutdown = body_op("OP_INSTANCE_SHUTDOWN", "instance_name",
                                flags=("no_remember",))


def post_instance_reboot(ctx):
    reboot_type = ctx.query_value("type", "hard")
    if reboot_type not in ("soft", "hard", "full"):
        raise HttpError(400, "Invalid value for the type parameter: %r"
                        % (reboot_type,))
    static = dict(dry_run(ctx), instance_name=ctx.items[0],
                  reboot_type=reboot_type,
                  ignore_secondaries=ctx.bool_arg("ignore_secondaries"))
    return submit_op(ctx, "OP_INSTANCE_REBOOT", ctx.body_dict(), static)


def post_instance_reinstall(ctx):
    """
    Ganeti's reinstall: one job of shutdown, reinstall and (unless
    ``start`` is false) startup.  The body form is current; the query
    form (``os``, ``nostartup``) is legacy and may not be mixed with it.
    """
    name = ctx.items[0]
    legacy = [k for k in ("os", "nostartup") if k in ctx.args]
    if ctx.body is not None:
        if legacy:
            raise HttpError(400, "Can't combine query and body parameters")
        body = ctx.body_dict()
    elif legacy:
        body = {"os": ctx.query_value("os"),
                "start": not ctx.bool_arg("nostartup")}
    else:
        body = {}
    unknown = sorted(set(body) - set(_REINSTALL_KEYS))
    if unknown:
        raise HttpError(400, "Unknown parameter(s) for reinstall: %s"
                        % ", ".join(unknown))
    start = body.get("start", True)
    if not isinstance(start, bool):
        raise HttpError(400, "Invalid value for the start parameter: %r"
                        % (start,))
    static = dict(dry_run(ctx), instance_name=name)
    ops = [fill_opcode(ctx, "OP_INSTANCE_SHUTDOWN", {}, static),
           fill_opcode(ctx, "OP_INSTANCE_REINSTALL",
                       {"os_type": body.get("os"),
                        "osparams": body.get("osparams")}, static)]
    if start:
        ops.append(fill_opcode(ctx, "OP_INSTANCE_STARTUP", {"force": False},
                               static))
    return submit(ctx, ops)


put_instance_rename = body_op("OP_INSTANCE_RENAME", "instance_name")
put_instance_modify = body_op(
    "OP_INSTANCE_SET_PARAMS", "instance_name",
    renames={"custom_beparams": "beparams", "custom_hvparams": "hvparams"})
post_instance_recreate_disks = body_op("OP_INSTANCE_RECREATE_DISKS",
                                       "instance_name")
put_instance_activate_disks = body_op("OP_INSTANCE_ACTIVATE_DISKS",
                                      "instance_name", flags=("ignore_size",))
put_instance_deactivate_disks = body_op("OP_INSTANCE_DEACTIVATE_DISKS",
                                        "instance_name", flags=("force",))


def post_instance_grow_disk(ctx):
    # The route only matches digits, but Python refuses to convert
    # thousands of them.
    try:
        disk = int(ctx.items[1])
    except ValueError:
        raise HttpError(400, "Invalid disk index %s" % ctx.items[1][:40])
    static = dict(dry_run(ctx), instance_name=ctx.items[0], disk=disk)
    return submit_op(ctx, "OP_INSTANCE_GROW_DISK", ctx.body_dict(), static)


def put_instance_migrate(ctx):
    body = ctx.body_dict()
    if "live" in body:
        # Ganeti's RAPI takes the migration mode only as "mode".
        raise HttpError(400, "Parameter 'live' is not supported, use"
                        " 'mode' (live or non-live)")
    static = dict(dry_run(ctx), instance_name=ctx.items[0])
    return submit_op(ctx, "OP_INSTANCE_MIGRATE", body, static)


def post_instance_replace_disks(ctx):
    """
    The parameters come in the body, or (the official client's older
    form, as Ganeti still accepts) in the query string; disks as a list
    or as ``"0,1"``.
    """
    body = ctx.body_dict()
    if not body:
        body = {key: ctx.query_value(key)
                for key in ("remote_node", "mode", "disks", "iallocator")
                if ctx.query_value(key) is not None}
    disks = body.pop("disks", None)
    if disks:
        if isinstance(disks, list) and all(isinstance(d, int) and
                                           not isinstance(d, bool)
                                           for d in disks):
            body["disks"] = disks
        else:
            try:
                body["disks"] = [int(part) for part in str(disks).split(",")]
            except ValueError as e:
                raise HttpError(400, "Invalid disk index passed: %s" % e)
    static = dict(dry_run(ctx), instance_name=ctx.items[0])
    return submit_op(ctx, "OP_INSTANCE_REPLACE_DISKS", body, static)


put_instance_failover = body_op("OP_INSTANCE_FAILOVER", "instance_name")
put_instance_export = body_op("OP_BACKUP_EXPORT", "instance_name",
                              renames={"destination": "target_node"})
delete_instance_export = body_op("OP_BACKUP_REMOVE", "instance_name")


def put_instance_prepare_export(ctx):
    """Ganeti takes the export mode from the query string only."""
    static = dict(dry_run(ctx), instance_name=ctx.items[0],
                  mode=ctx.query_value("mode"))
    return submit_op(ctx, "OP_BACKUP_PREPARE", {}, static)


def get_instance_console(ctx):
    """
    How to reach the console: a query, not a job, as in Ganeti; 503 while
    the instance does not run.
    """
    d = single(ctx, "instance", ["console", "oper_state"], "Instance")

    def shape(row):
        if not row["oper_state"] or not isinstance(row["console"], dict):
            raise HttpError(503, "Instance console unavailable")
        return row["console"]
    return d.addCallback(shape)
