# -*- test-case-name: tests.test_rapi -*-
"""
The RAPI v2 resources.

One twisted.web leaf resource, L{RapiResource}, routes every path through a
table of regular expressions, as Ganeti's ``rapi/connector.py`` does; a
tree of child resources would need a class per path level and would make
"unknown path" (404) and "known path, wrong method" (405) hard to tell
apart.  Each route names, per HTTP method, the access it needs and a
function ``(ctx) -> value or Deferred``; the value is sent as JSON.

Status codes follow Ganeti: 400 bad input, 401 no/wrong credentials, 403
not allowed, 404 unknown path or item, 413 body too large, 415 body not
JSON, 405 method not supported on the path (with ``Allow``; Ganeti says
501 there, but 405 is what HTTP means and what clients retry on less), 501
a resource this project cannot back yet, 502 master unreachable, 503 job
queue drained or full or console of a stopped instance, 504 master
timeout, 500 anything else.
"""

import json
import re
from urllib.parse import quote

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

from ganeti import errors, opcodes
from ganeti.rapi import ACCESS_READ, ACCESS_WRITE, REALM

_log = Logger()

#: Largest request body accepted.  Ganeti has no explicit RAPI limit; the
#: biggest legitimate bodies (multi-instance allocations) are far below
#: this, and a limit keeps one client from making the master buffer much.
MAX_BODY_SIZE = 1024 * 1024

#: Seconds a ``/2/jobs/<id>/wait`` long-poll waits (Ganeti's _WFJC_TIMEOUT).
WAIT_TIMEOUT = 10

#: Anonymous access (every GET unless ``--require-authentication``).
ANONYMOUS = None

#: ``/2/features``.
FEATURES = ["instance-create-reqv1", "instance-reinstall-reqv1",
            "node-migrate-reqv1", "node-evac-res1"]

I_FIELDS = ["name", "admin_state", "os", "pnode", "snodes", "disk_template",
            "nic.ips", "nic.macs", "nic.modes", "nic.uuids", "nic.names",
            "nic.links", "nic.networks", "nic.networks.names", "nic.bridges",
            "network_port", "disk.sizes", "disk.spindles", "disk_usage",
            "disk.uuids", "disk.names", "beparams", "hvparams", "oper_state",
            "oper_ram", "oper_vcpus", "status", "custom_hvparams",
            "custom_beparams", "custom_nicparams", "custom_osparams", "ctime",
            "mtime", "uuid", "serial_no", "tags"]

N_FIELDS = ["name", "offline", "master_candidate", "drained", "dtotal",
            "dfree", "sptotal", "spfree", "mtotal", "mnode", "mfree",
            "pinst_cnt", "sinst_cnt", "ctotal", "cnos", "cnodes", "csockets",
            "pip", "sip", "role", "pinst_list", "sinst_list",
            "master_capable", "vm_capable", "ndparams", "group.uuid", "ctime",
            "mtime", "uuid", "serial_no", "tags"]

J_FIELDS_BULK = ["id", "ops", "status", "summary", "opstatus", "received_ts",
                 "start_ts", "end_ts"]
J_FIELDS = J_FIELDS_BULK + ["oplog", "opresult"]

G_FIELDS = ["alloc_policy", "name", "node_cnt", "node_list", "ipolicy",
            "custom_ipolicy", "diskparams", "custom_diskparams", "ndparams",
            "custom_ndparams", "ctime", "mtime", "uuid", "serial_no", "tags"]

OS_BULK_FIELDS = ["name", "valid", "variants", "parameters", "api_versions",
                  "blacklisted", "hidden", "trusted"]

#: Node query ``role`` letter -> RAPI role name.
NODE_ROLES = {"M": "master", "C": "master-candidate", "R": "regular",
              "D": "drained", "O": "offline"}

#: Legacy instance-creation keys -> opcode parameters (Ganeti's
#: ``_INST_CREATE_REQV1`` renames).
_INST_CREATE_RENAMES = {"name": "instance_name", "os": "os_type"}


class HttpError(Exception):
    """
    An error sent to the client as Ganeti's JSON error body.

    :ivar code: the HTTP status.
    :ivar message: the short text (Ganeti's ``message``).
    :ivar explain: the longer text (Ganeti's ``explain``).
    :ivar headers: extra response headers, e.g. ``Allow``.
    """

    MESSAGES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large",
                415: "Unsupported Media Type", 500: "Internal Server Error",
                501: "Not Implemented", 502: "Bad Gateway",
                503: "Service Unavailable", 504: "Gateway Timeout"}

    def __init__(self, code, explain="", headers=None):
        super().__init__(code, explain)
        self.code = code
        self.message = self.MESSAGES.get(code, "Error")
        self.explain = explain
        self.headers = headers or {}


def _http_error_for(failure):
    """
    Map a failure from a route or the master handler to an L{HttpError}.

    OpPrereqError and friends raised at submission time are the client's
    fault (Ganeti checks opcodes in the RAPI before submitting and answers
    400); errors raised *inside* a job never get here, they end the job.
    """
    exc = failure.value
    if isinstance(exc, HttpError):
        return exc
    if isinstance(exc, errors.JobQueueDrainError):
        return HttpError(503, "Job queue is drained, cannot submit")
    if isinstance(exc, errors.JobQueueFull):
        return HttpError(503, "Job queue is full, cannot submit")
    if isinstance(exc, errors.JobLost):
        return HttpError(404, str(exc))
    if isinstance(exc, (errors.OpPrereqError, errors.OpCodeUnknown,
                        errors.ParameterError, errors.TagError,
                        errors.ParseError)):
        return HttpError(400, str(exc))
    if isinstance(exc, errors.LuxiError):
        return HttpError(502, "Master seems to be unreachable: %s" % exc)
    if isinstance(exc, defer.TimeoutError):
        return HttpError(504, "Timeout while talking to the master daemon")
    _log.failure("Unhandled error in RAPI request", failure)
    return HttpError(500, "Internal error: %s" % (exc,))


# --- request context ----------------------------------------------------------

class Context:
    """
    What a route function gets.

    :ivar handler: the master's LUXI-like handler.
    :ivar reactor: the reactor (for reason-trail timestamps).
    :ivar items: the path components the route's regex captured.
    :ivar args: query arguments, dict str -> list of str.
    :ivar body: the decoded JSON body, or None when there was none.
    :ivar user: the authenticated L{PasswordFileUser} or None.
    :ivar resource_name: Ganeti's resource class name, for reason trails.
    """

    def __init__(self, handler, reactor, items, args, body, user,
                 resource_name):
        self.handler = handler
        self.reactor = reactor
        self.items = items
        self.args = args
        self.body = body
        self.user = user
        self.resource_name = resource_name

    def query_value(self, name, default=None):
        """
        :return: the last value of query argument C{name}, or C{default}.
        """
        values = self.args.get(name)
        return values[-1] if values else default

    def int_arg(self, name, default=0):
        """
        Ganeti passes booleans in the query string as integers; anything
        else is a 400 naming the parameter.
        """
        value = self.query_value(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise HttpError(400, "Invalid value for the %s parameter: %r"
                            % (name, value))

    def bool_arg(self, name):
        return bool(self.int_arg(name, 0))

    def body_dict(self):
        """
        :return: the body as a dict ({} when absent).
        :raise HttpError: 400 if the body is JSON but not an object.
        """
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise HttpError(400, "Invalid body contents, not a dictionary")
        return dict(self.body)

    def reason_trail(self):
        """
        Ganeti's reason trail for opcodes this request submits: the user's
        ``reason`` query argument, then the RAPI resource itself.
        """
        now_ns = int(self.reactor.seconds() * 1e9)
        trail = []
        reason = self.query_value("reason")
        if reason is not None:
            trail.append(["gnt:user", reason, now_ns])
        trail.append(["gnt:library:rlib2:%s" % self.resource_name, "",
                      now_ns])
        return trail


def fill_opcode(ctx, op_id, body, static, renames=None):
    """
    Build and check one opcode from a request body, as Ganeti's
    ``baserlib.FillOpcode``.

    :param body: dict of client-given parameters.
    :param static: parameters the URL or query string fixes; the body may
        not override them.
    :param renames: legacy body key -> opcode parameter.
    :return: the opcode dict (not default-filled: the master fills in).
    :raise HttpError: 400 naming the offending parameter.
    """
    if not isinstance(body, dict):
        raise HttpError(400, "Invalid body contents, not a dictionary")
    params = dict(body)
    for old, new in (renames or {}).items():
        if old in params:
            if new in params:
                raise HttpError(400, "Parameter '%s' was renamed to '%s', but"
                                " either '%s' or '%s' can be given" %
                                (old, new, old, new))
            params[new] = params.pop(old)
    for name, value in static.items():
        if name in params and params[name] != value:
            raise HttpError(400, "Static parameter '%s' must not be "
                            "overridden" % name)
    if "OP_ID" in params:
        raise HttpError(400, "Parameter 'OP_ID' must not be given")
    params.update(static)
    params.setdefault("reason", ctx.reason_trail())
    op = {"OP_ID": op_id}
    op.update(params)
    try:
        opcodes.validate(op)
    except (errors.OpPrereqError, errors.OpCodeUnknown) as e:
        raise HttpError(400, str(e))
    return op


def submit(ctx, ops):
    """
    Submit one job; the answer is the job id as a JSON number (Ganeti
    2.11 and later).
    """
    d = defer.maybeDeferred(ctx.handler.SubmitJob, ops)
    return d.addCallback(_job_id_number)


def _job_id_number(job_id):
    try:
        return int(job_id)
    except (TypeError, ValueError):
        return job_id


def _dry_run(ctx):
    return {"dry_run": ctx.bool_arg("dry-run")}


# --- query helpers --------------------------------------------------------------

def _rows_to_dicts(result, fields):
    """
    Turn a query2 result into dicts keyed by field name; values whose
    status is not "normal" become None, as in Ganeti's bulk output.
    """
    names = [f["name"] for f in result["fields"]] or fields
    out = []
    for row in result["data"]:
        out.append({name: (value if status == 0 else None)
                    for name, (status, value) in zip(names, row)})
    return out


def _name_filter(name):
    return ["|", ["=", "name", name]]


def _list_or_bulk(ctx, what, collection, bulk_fields, fixup=None):
    """
    GET on a collection: ``[{"id": name, "uri": ...}]`` sorted by name, or
    with ``bulk=1`` full dicts of C{bulk_fields}.
    """
    bulk = ctx.bool_arg("bulk")
    fields = bulk_fields if bulk else ["name"]
    d = defer.maybeDeferred(ctx.handler.Query, what, fields, None)

    def shape(result):
        rows = _rows_to_dicts(result, fields)
        if bulk:
            return [fixup(r) if fixup else r for r in rows]
        names = sorted(r["name"] for r in rows if r["name"] is not None)
        return [{"id": n, "uri": "/2/%s/%s" % (collection, quote(n, safe=""))}
                for n in names]
    return d.addCallback(shape)


def _single(ctx, what, fields, name, kind, fixup=None):
    """
    GET on one item; an unknown name is 404 as in Ganeti.
    """
    d = defer.maybeDeferred(ctx.handler.Query, what, fields, _name_filter(name))

    def shape(result):
        rows = _rows_to_dicts(result, fields)
        if not rows:
            raise HttpError(404, "%s '%s' not found" % (kind, name))
        return fixup(rows[0]) if fixup else rows[0]

    def unknown(failure):
        # The master refuses a name filter naming a missing item.
        failure.trap(errors.OpPrereqError)
        raise HttpError(404, str(failure.value))
    return d.addCallbacks(shape, unknown)


def _instance_fixup(inst):
    # Ganeti keeps "memory" in beparams for pre-2.6 clients.
    beparams = inst.get("beparams")
    if isinstance(beparams, dict) and "maxmem" in beparams:
        inst["beparams"] = dict(beparams, memory=beparams["maxmem"])
    return inst


# --- routes -------------------------------------------------------------------

def get_root(ctx):
    return None


def get_version(ctx):
    return 2


def get_info(ctx):
    return defer.maybeDeferred(ctx.handler.QueryClusterInfo)


def get_features(ctx):
    return list(FEATURES)


def get_os(ctx):
    """
    Valid, visible OS names expanded by variants (Ganeti's
    ``CalculateOSNames``), or with ``bulk=1`` dicts.
    """
    bulk = ctx.bool_arg("bulk")
    d = defer.maybeDeferred(ctx.handler.Query, "os", OS_BULK_FIELDS, None)

    def shape(result):
        rows = _rows_to_dicts(result, OS_BULK_FIELDS)
        rows.sort(key=lambda r: r["name"] or "")
        if bulk:
            return rows
        names = []
        for r in rows:
            if not r["valid"] or r["hidden"] or r["blacklisted"]:
                continue
            if r["variants"]:
                names.extend("%s+%s" % (r["name"], v) for v in r["variants"])
            else:
                names.append(r["name"])
        return names
    return d.addCallback(shape)


def get_nodes(ctx):
    return _list_or_bulk(ctx, "node", "nodes", N_FIELDS)


def get_node(ctx):
    return _single(ctx, "node", N_FIELDS, ctx.items[0], "Node")


def get_node_role(ctx):
    d = _single(ctx, "node", ["name", "role"], ctx.items[0], "Node")
    return d.addCallback(lambda n: NODE_ROLES.get(n["role"], n["role"]))


#: RAPI role name -> OP_NODE_SET_PARAMS flags (``master`` moves only by
#: master failover).
_ROLE_FLAGS = {
    "regular": dict(master_candidate=False, offline=False, drained=False),
    "master-candidate": dict(master_candidate=True, offline=False,
                             drained=False),
    "drained": dict(master_candidate=False, offline=False, drained=True),
    "offline": dict(master_candidate=False, offline=True, drained=False),
}


def put_node_role(ctx):
    """The body is the bare role name, as Ganeti's client sends it."""
    role = ctx.body
    if not isinstance(role, str) or role not in _ROLE_FLAGS:
        raise HttpError(400, "Can't set '%s' role" % (role,))
    static = dict(_dry_run(ctx), node_name=ctx.items[0],
                  force=ctx.bool_arg("force"),
                  auto_promote=ctx.bool_arg("auto-promote"),
                  **_ROLE_FLAGS[role])
    return submit(ctx, [fill_opcode(ctx, "OP_NODE_SET_PARAMS", {}, static)])


def post_node_modify(ctx):
    static = dict(_dry_run(ctx), node_name=ctx.items[0])
    return submit(ctx, [fill_opcode(ctx, "OP_NODE_SET_PARAMS",
                                    ctx.body_dict(), static)])


def _required_arg(ctx, name):
    value = ctx.query_value(name)
    if value is None:
        raise HttpError(400, "Missing '%s' query argument" % name)
    return value


def get_node_storage(ctx):
    """
    Ganeti answers a *job id* here: the storage units are the job's
    result, fetched later with ``/2/jobs/<id>``.
    """
    static = dict(nodes=[ctx.items[0]],
                  storage_type=_required_arg(ctx, "storage_type"),
                  output_fields=_split_fields(
                      _required_arg(ctx, "output_fields")))
    return submit(ctx, [fill_opcode(ctx, "OP_NODE_QUERY_STORAGE", {},
                                    static)])


def put_node_storage_modify(ctx):
    changes = {}
    if ctx.query_value("allocatable") is not None:
        changes["allocatable"] = ctx.bool_arg("allocatable")
    static = dict(node_name=ctx.items[0],
                  storage_type=_required_arg(ctx, "storage_type"),
                  name=_required_arg(ctx, "name"), changes=changes)
    return submit(ctx, [fill_opcode(ctx, "OP_NODE_MODIFY_STORAGE", {},
                                    static)])


def put_node_storage_repair(ctx):
    static = dict(node_name=ctx.items[0],
                  storage_type=_required_arg(ctx, "storage_type"),
                  name=_required_arg(ctx, "name"))
    return submit(ctx, [fill_opcode(ctx, "OP_REPAIR_NODE_STORAGE", {},
                                    static)])


def post_node_evacuate(ctx):
    static = dict(_dry_run(ctx), node_name=ctx.items[0])
    return submit(ctx, [fill_opcode(ctx, "OP_NODE_EVACUATE", ctx.body_dict(),
                                    static)])


def post_node_migrate(ctx):
    """
    The body form is current; without a body Ganeti still reads the
    legacy ``live`` or ``mode`` query arguments.
    """
    static = dict(_dry_run(ctx), node_name=ctx.items[0])
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
    return submit(ctx, [fill_opcode(ctx, "OP_NODE_MIGRATE", body, static)])


def get_instances(ctx):
    return _list_or_bulk(ctx, "instance", "instances", I_FIELDS,
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
    op = fill_opcode(ctx, "OP_INSTANCE_CREATE", body, _dry_run(ctx),
                     renames=_INST_CREATE_RENAMES)
    return submit(ctx, [op])


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
    return submit(ctx, [fill_opcode(ctx, "OP_INSTANCE_MULTI_ALLOC", body,
                                    _dry_run(ctx))])


def get_instance(ctx):
    return _single(ctx, "instance", I_FIELDS, ctx.items[0], "Instance",
                   _instance_fixup)


def delete_instance(ctx):
    static = dict(_dry_run(ctx), instance_name=ctx.items[0],
                  ignore_failures=False)
    return submit(ctx, [fill_opcode(ctx, "OP_INSTANCE_REMOVE",
                                    ctx.body_dict(), static)])


def get_instance_info(ctx):
    """Ganeti answers a job id; the job's result is the detailed info."""
    static = dict(instances=[ctx.items[0]], static=ctx.bool_arg("static"))
    return submit(ctx, [fill_opcode(ctx, "OP_INSTANCE_QUERY_DATA", {},
                                    static)])


def put_instance_startup(ctx):
    # Ganeti ignores the body here: everything comes from the query.
    static = dict(_dry_run(ctx), instance_name=ctx.items[0],
                  force=ctx.bool_arg("force"),
                  no_remember=ctx.bool_arg("no_remember"))
    return submit(ctx, [fill_opcode(ctx, "OP_INSTANCE_STARTUP", {}, static)])


def put_instance_shutdown(ctx):
    static = dict(_dry_run(ctx), instance_name=ctx.items[0],
                  no_remember=ctx.bool_arg("no_remember"))
    return submit(ctx, [fill_opcode(ctx, "OP_INSTANCE_SHUTDOWN",
                                    ctx.body_dict(), static)])


def post_instance_reboot(ctx):
    reboot_type = ctx.query_value("type", "hard")
    if reboot_type not in ("soft", "hard", "full"):
        raise HttpError(400, "Invalid value for the type parameter: %r"
                        % (reboot_type,))
    static = dict(_dry_run(ctx), instance_name=ctx.items[0],
                  reboot_type=reboot_type,
                  ignore_secondaries=ctx.bool_arg("ignore_secondaries"))
    return submit(ctx, [fill_opcode(ctx, "OP_INSTANCE_REBOOT",
                                    ctx.body_dict(), static)])


def _job_id(ctx):
    """
    Job ids are numbers; old masters handed them out as digit strings,
    which is what the URL carries anyway.
    """
    text = ctx.items[0]
    if not text.isdigit():
        raise HttpError(400, "Invalid job id %r" % (text,))
    return int(text)


def get_jobs(ctx):
    bulk = ctx.bool_arg("bulk")
    fields = J_FIELDS_BULK if bulk else ["id"]
    d = defer.maybeDeferred(ctx.handler.QueryJobs, None, fields)

    def shape(rows):
        jobs = [dict(zip(fields, row)) for row in rows if row is not None]
        jobs.sort(key=lambda j: _job_id_number(j["id"]))
        if bulk:
            return jobs
        return [{"id": j["id"], "uri": "/2/jobs/%s" % j["id"]} for j in jobs]
    return d.addCallback(shape)


def get_job(ctx):
    job_id = _job_id(ctx)
    d = defer.maybeDeferred(ctx.handler.QueryJobs, [job_id], J_FIELDS)

    def shape(rows):
        if not rows or rows[0] is None:
            raise HttpError(404, "Job %s not found" % job_id)
        return dict(zip(J_FIELDS, rows[0]))
    return d.addCallback(shape)


def delete_job(ctx):
    return defer.maybeDeferred(ctx.handler.CancelJob, _job_id(ctx), False)


def get_job_wait(ctx):
    """
    Long-poll for a job change (Ganeti's ``WaitForJobChangeOnce``):
    ``null`` when nothing changed within L{WAIT_TIMEOUT} seconds.
    """
    job_id = _job_id(ctx)
    body = ctx.body_dict()
    fields = body.get("fields")
    if not (isinstance(fields, list)
            and all(isinstance(f, str) for f in fields)):
        raise HttpError(400, "The 'fields' parameter should be a list")
    prev_info = body.get("previous_job_info")
    if not (prev_info is None or isinstance(prev_info, list)):
        raise HttpError(400, "The 'previous_job_info' parameter should be"
                        " a list")
    prev_serial = body.get("previous_log_serial")
    if not (prev_serial is None or (isinstance(prev_serial, int)
                                    and not isinstance(prev_serial, bool))):
        raise HttpError(400, "The 'previous_log_serial' parameter should be"
                        " a number")
    d = defer.maybeDeferred(ctx.handler.WaitForJobChange, job_id, fields,
                            prev_info, prev_serial, WAIT_TIMEOUT)

    def shape(result):
        if not result:
            raise HttpError(404, "Job %s not found" % job_id)
        if result == "nochange":
            return None
        job_info, log_entries = result
        return {"job_info": job_info, "log_entries": log_entries}
    return d.addCallback(shape)


def get_cluster_tags(ctx):
    return defer.maybeDeferred(ctx.handler.QueryTags, "cluster", "")


def _tag_op(ctx, op_id, verb, kind="cluster", name=None):
    tags = ctx.args.get("tag")
    if not tags:
        raise HttpError(400, "Please specify tag(s) to %s using the 'tag'"
                        " parameter" % verb)
    static = dict(_dry_run(ctx), kind=kind, name=name, tags=list(tags))
    return submit(ctx, [fill_opcode(ctx, op_id, {}, static)])


def put_cluster_tags(ctx):
    return _tag_op(ctx, "OP_TAGS_SET", "add")


def delete_cluster_tags(ctx):
    return _tag_op(ctx, "OP_TAGS_DEL", "delete")


def put_cluster_modify(ctx):
    body = ctx.body_dict()
    if "compression_tools" in body:
        # Ganeti keeps the list of programs run on nodes out of RAPI reach.
        raise HttpError(403, "Modifying compression_tools is not allowed"
                        " through RAPI")
    return submit(ctx, [fill_opcode(ctx, "OP_CLUSTER_SET_PARAMS", body,
                                    _dry_run(ctx))])


def put_redistribute_config(ctx):
    return submit(ctx, [fill_opcode(ctx, "OP_CLUSTER_REDIST_CONF",
                                    ctx.body_dict(), _dry_run(ctx))])


# --- object tags ----------------------------------------------------------------

def _object_tags(what, kind):
    """
    GET on ``/2/<coll>/<name>/tags``: the object's ``tags`` query field, so
    an unknown name is a 404 like the object itself.
    """
    def get(ctx):
        d = _single(ctx, what, ["name", "tags"], ctx.items[0], kind)
        return d.addCallback(lambda row: list(row["tags"] or []))
    return get


def _object_tag_op(kind, op_id, verb):
    def op(ctx):
        return _tag_op(ctx, op_id, verb, kind=kind, name=ctx.items[0])
    return op


# --- instance actions -------------------------------------------------------------

#: Body keys of ``/2/instances/<i>/reinstall``.
_REINSTALL_KEYS = ("os", "start", "osparams")


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
    static = dict(_dry_run(ctx), instance_name=name)
    ops = [fill_opcode(ctx, "OP_INSTANCE_SHUTDOWN", {}, static),
           fill_opcode(ctx, "OP_INSTANCE_REINSTALL",
                       {"os_type": body.get("os"),
                        "osparams": body.get("osparams")}, static)]
    if start:
        ops.append(fill_opcode(ctx, "OP_INSTANCE_STARTUP", {"force": False},
                               static))
    return submit(ctx, ops)


def _instance_body_op(op_id, renames=None):
    """
    An instance action whose parameters all come from the body.
    """
    def op(ctx):
        static = dict(_dry_run(ctx), instance_name=ctx.items[0])
        return submit(ctx, [fill_opcode(ctx, op_id, ctx.body_dict(), static,
                                        renames)])
    return op


put_instance_rename = _instance_body_op("OP_INSTANCE_RENAME")
put_instance_modify = _instance_body_op(
    "OP_INSTANCE_SET_PARAMS",
    renames={"custom_beparams": "beparams", "custom_hvparams": "hvparams"})
post_instance_recreate_disks = _instance_body_op("OP_INSTANCE_RECREATE_DISKS")


def put_instance_activate_disks(ctx):
    static = dict(_dry_run(ctx), instance_name=ctx.items[0],
                  ignore_size=ctx.bool_arg("ignore_size"))
    return submit(ctx, [fill_opcode(ctx, "OP_INSTANCE_ACTIVATE_DISKS",
                                    ctx.body_dict(), static)])


def put_instance_deactivate_disks(ctx):
    static = dict(_dry_run(ctx), instance_name=ctx.items[0],
                  force=ctx.bool_arg("force"))
    return submit(ctx, [fill_opcode(ctx, "OP_INSTANCE_DEACTIVATE_DISKS",
                                    ctx.body_dict(), static)])


def post_instance_grow_disk(ctx):
    # The route only matches digits, so int() cannot fail.
    static = dict(_dry_run(ctx), instance_name=ctx.items[0],
                  disk=int(ctx.items[1]))
    return submit(ctx, [fill_opcode(ctx, "OP_INSTANCE_GROW_DISK",
                                    ctx.body_dict(), static)])


def put_instance_migrate(ctx):
    body = ctx.body_dict()
    if "live" in body:
        # Ganeti's RAPI takes the migration mode only as "mode".
        raise HttpError(400, "Parameter 'live' is not supported, use"
                        " 'mode' (live or non-live)")
    static = dict(_dry_run(ctx), instance_name=ctx.items[0])
    return submit(ctx, [fill_opcode(ctx, "OP_INSTANCE_MIGRATE", body,
                                    static)])


put_instance_failover = _instance_body_op("OP_INSTANCE_FAILOVER")
put_instance_export = _instance_body_op(
    "OP_BACKUP_EXPORT", renames={"destination": "target_node"})
delete_instance_export = _instance_body_op("OP_BACKUP_REMOVE")


def put_instance_prepare_export(ctx):
    """Ganeti takes the export mode from the query string only."""
    static = dict(_dry_run(ctx), instance_name=ctx.items[0],
                  mode=ctx.query_value("mode"))
    return submit(ctx, [fill_opcode(ctx, "OP_BACKUP_PREPARE", {}, static)])


def get_instance_console(ctx):
    """
    How to reach the console: a query, not a job, as in Ganeti; 503 while
    the instance does not run.
    """
    d = _single(ctx, "instance", ["console", "oper_state"], ctx.items[0],
                "Instance")

    def shape(row):
        if not row["oper_state"] or not isinstance(row["console"], dict):
            raise HttpError(503, "Instance console unavailable")
        return row["console"]
    return d.addCallback(shape)


# --- query2 ---------------------------------------------------------------------

#: Resources ``/2/query/<res>`` serves (Ganeti's QR_VIA_RAPI).
QUERY_RESOURCES = ("group", "export", "instance", "job", "lock", "network",
                   "node", "filter")


def _split_fields(text):
    return [f.strip() for f in text.split(",")]


def _check_fields(fields):
    if not (isinstance(fields, list)
            and all(isinstance(f, str) for f in fields)):
        raise HttpError(400, "The 'fields' parameter should be a list of"
                        " strings")
    return fields


def _query(ctx, fields, qfilter):
    return defer.maybeDeferred(ctx.handler.Query, ctx.items[0], fields,
                               qfilter)


def get_query(ctx):
    text = ctx.query_value("fields")
    if text is None:
        raise HttpError(400, "Missing 'fields' query argument")
    return _query(ctx, _split_fields(text), None)


def put_query(ctx):
    body = ctx.body_dict()
    if "fields" in body:
        fields = _check_fields(body["fields"])
    else:
        text = ctx.query_value("fields")
        if text is None:
            raise HttpError(400, "Missing 'fields' in the body or the query")
        fields = _split_fields(text)
    qfilter = body.get("qfilter")
    if qfilter is None:
        # Ganeti's pre-2.7 name.
        qfilter = body.get("filter")
    if not (qfilter is None or isinstance(qfilter, list)):
        raise HttpError(400, "The 'qfilter' parameter should be a list or"
                        " null")
    return _query(ctx, fields, qfilter)


def get_query_fields(ctx):
    text = ctx.query_value("fields")
    fields = None if text is None else _split_fields(text)
    return defer.maybeDeferred(ctx.handler.QueryFields, ctx.items[0], fields)


# --- node groups ------------------------------------------------------------------

def get_groups(ctx):
    """
    Groups list by ``name`` (not ``id``), as in Ganeti.
    """
    bulk = ctx.bool_arg("bulk")
    fields = G_FIELDS if bulk else ["name"]
    d = defer.maybeDeferred(ctx.handler.Query, "group", fields, None)

    def shape(result):
        rows = _rows_to_dicts(result, fields)
        rows.sort(key=lambda r: r["name"] or "")
        if bulk:
            return rows
        return [{"name": r["name"],
                 "uri": "/2/groups/%s" % quote(r["name"], safe="")}
                for r in rows if r["name"] is not None]
    return d.addCallback(shape)


def get_group(ctx):
    return _single(ctx, "group", G_FIELDS, ctx.items[0], "Group")


def post_groups(ctx):
    return submit(ctx, [fill_opcode(ctx, "OP_GROUP_ADD", ctx.body_dict(),
                                    _dry_run(ctx),
                                    renames={"name": "group_name"})])


def delete_group(ctx):
    static = dict(_dry_run(ctx), group_name=ctx.items[0])
    return submit(ctx, [fill_opcode(ctx, "OP_GROUP_REMOVE", {}, static)])


def _group_body_op(op_id, renames=None, dry_run=True, force=False):
    """
    A group change whose parameters come from the body; which query
    arguments it reads differs per resource in Ganeti.
    """
    def op(ctx):
        static = dict(_dry_run(ctx) if dry_run else {},
                      group_name=ctx.items[0])
        if force:
            static["force"] = ctx.bool_arg("force")
        return submit(ctx, [fill_opcode(ctx, op_id, ctx.body_dict(), static,
                                        renames)])
    return op


put_group_modify = _group_body_op(
    "OP_GROUP_SET_PARAMS", dry_run=False,
    renames={"custom_ndparams": "ndparams", "custom_ipolicy": "ipolicy",
             "custom_diskparams": "diskparams"})
put_group_rename = _group_body_op("OP_GROUP_RENAME")
put_group_assign_nodes = _group_body_op("OP_GROUP_ASSIGN_NODES", force=True)


# --- job filter rules -------------------------------------------------------------

#: Fields of ``/2/filters?bulk=1`` and ``/2/filters/<uuid>``.
FILTER_FIELDS = ["watermark", "priority", "predicates", "action",
                 "reason_trail", "uuid"]

#: Body keys of filter creation and replacement, in ReplaceFilter's
#: argument order, with Ganeti's defaults.
_FILTER_BODY = (("priority", 0), ("predicates", []), ("action", "CONTINUE"),
                ("reason", []))


def _filter_args(ctx):
    """
    :return: ReplaceFilter's priority, predicates, action and reason from
        the body; the master checks their values.
    :raise HttpError: 400 for keys a filter rule does not have.
    """
    body = ctx.body_dict()
    unknown = sorted(set(body) - set(key for key, _ in _FILTER_BODY))
    if unknown:
        raise HttpError(400, "Invalid body parameters: filter rule doesn't"
                        " support field(s) %s" % ", ".join(unknown))
    return [body.get(key, default) for key, default in _FILTER_BODY]


def _filter_not_found(failure):
    """An unknown uuid is 404, as for any other item."""
    failure.trap(errors.OpPrereqError)
    if failure.value.args[1:2] == ("noent",):
        raise HttpError(404, str(failure.value))
    return failure


def get_filters(ctx):
    """``[{"uuid", "uri"}]`` sorted by uuid, or with ``bulk=1`` full dicts."""
    bulk = ctx.bool_arg("bulk")
    fields = FILTER_FIELDS if bulk else ["uuid"]
    d = defer.maybeDeferred(ctx.handler.QueryFilters, None, fields)

    def shape(rows):
        rules = [dict(zip(fields, row)) for row in rows]
        if bulk:
            return rules
        return [{"uuid": r["uuid"],
                 "uri": "/2/filters/%s" % quote(r["uuid"], safe="")}
                for r in rules]
    return d.addCallback(shape)


def get_filter(ctx):
    d = defer.maybeDeferred(ctx.handler.QueryFilters, [ctx.items[0]],
                            FILTER_FIELDS)
    return d.addCallbacks(lambda rows: dict(zip(FILTER_FIELDS, rows[0])),
                          _filter_not_found)


def post_filters(ctx):
    """Create a rule; the answer is its new uuid."""
    return defer.maybeDeferred(ctx.handler.ReplaceFilter, None,
                               *_filter_args(ctx))


def put_filter(ctx):
    """Replace the rule, or create it under this uuid; answers the uuid."""
    return defer.maybeDeferred(ctx.handler.ReplaceFilter, ctx.items[0],
                               *_filter_args(ctx))


def delete_filter(ctx):
    d = defer.maybeDeferred(ctx.handler.DeleteFilter, ctx.items[0])
    return d.addErrback(_filter_not_found)


def _not_backed(what):
    """
    A Ganeti resource this project cannot back yet: a clear 501, never a
    fake success.
    """
    def refuse(ctx):
        raise HttpError(501, "%s: not supported by this cluster yet" % what)
    return refuse


_ITEM = r"([^/]+)"

#: (path regex, Ganeti resource name, {method: (access, function)}).
ROUTES = [
    (r"/", "R_root", {"GET": (ANONYMOUS, get_root)}),
    (r"/2", "R_2", {"GET": (ANONYMOUS, get_root)}),
    (r"/version", "R_version", {"GET": (ANONYMOUS, get_version)}),
    (r"/2/info", "R_2_info", {"GET": (ANONYMOUS, get_info)}),
    (r"/2/features", "R_2_features", {"GET": (ANONYMOUS, get_features)}),
    (r"/2/os", "R_2_os", {"GET": (ANONYMOUS, get_os)}),
    (r"/2/nodes", "R_2_nodes", {"GET": (ANONYMOUS, get_nodes)}),
    (r"/2/nodes/" + _ITEM, "R_2_nodes_name",
     {"GET": (ANONYMOUS, get_node)}),
    (r"/2/nodes/" + _ITEM + "/role", "R_2_nodes_name_role",
     {"GET": (ANONYMOUS, get_node_role),
      "PUT": (ACCESS_WRITE, put_node_role)}),
    (r"/2/nodes/" + _ITEM + "/modify", "R_2_nodes_name_modify",
     {"POST": (ACCESS_WRITE, post_node_modify)}),
    # Listing storage runs a job, so Ganeti wants write access.
    (r"/2/nodes/" + _ITEM + "/storage", "R_2_nodes_name_storage",
     {"GET": (ACCESS_WRITE, get_node_storage)}),
    (r"/2/nodes/" + _ITEM + "/storage/modify",
     "R_2_nodes_name_storage_modify",
     {"PUT": (ACCESS_WRITE, put_node_storage_modify)}),
    (r"/2/nodes/" + _ITEM + "/storage/repair",
     "R_2_nodes_name_storage_repair",
     {"PUT": (ACCESS_WRITE, put_node_storage_repair)}),
    (r"/2/nodes/" + _ITEM + "/evacuate", "R_2_nodes_name_evacuate",
     {"POST": (ACCESS_WRITE, post_node_evacuate)}),
    (r"/2/nodes/" + _ITEM + "/migrate", "R_2_nodes_name_migrate",
     {"POST": (ACCESS_WRITE, post_node_migrate)}),
    (r"/2/nodes/" + _ITEM + "/powercycle", "R_2_nodes_name_powercycle",
     {"POST": (ACCESS_WRITE, _not_backed("Node power-cycling"))}),
    (r"/2/instances", "R_2_instances",
     {"GET": (ANONYMOUS, get_instances),
      "POST": (ACCESS_WRITE, post_instances)}),
    (r"/2/instances/" + _ITEM, "R_2_instances_name",
     {"GET": (ANONYMOUS, get_instance),
      "DELETE": (ACCESS_WRITE, delete_instance)}),
    (r"/2/instances/" + _ITEM + "/info", "R_2_instances_name_info",
     {"GET": (ANONYMOUS, get_instance_info)}),
    (r"/2/instances/" + _ITEM + "/replace-disks",
     "R_2_instances_name_replace_disks",
     {"POST": (ACCESS_WRITE, _not_backed(
         "Replacing disks (there is no DRBD template)"))}),
    (r"/2/instances/" + _ITEM + "/prepare-export",
     "R_2_instances_name_prepare_export",
     {"PUT": (ACCESS_WRITE, put_instance_prepare_export)}),
    (r"/2/instances/" + _ITEM + "/export", "R_2_instances_name_export",
     {"PUT": (ACCESS_WRITE, put_instance_export),
      "DELETE": (ACCESS_WRITE, delete_instance_export)}),
    (r"/2/instances/" + _ITEM + "/migrate", "R_2_instances_name_migrate",
     {"PUT": (ACCESS_WRITE, put_instance_migrate)}),
    (r"/2/instances/" + _ITEM + "/failover", "R_2_instances_name_failover",
     {"PUT": (ACCESS_WRITE, put_instance_failover)}),
    (r"/2/instances/" + _ITEM + "/startup", "R_2_instances_name_startup",
     {"PUT": (ACCESS_WRITE, put_instance_startup)}),
    (r"/2/instances/" + _ITEM + "/shutdown", "R_2_instances_name_shutdown",
     {"PUT": (ACCESS_WRITE, put_instance_shutdown)}),
    # Ganeti's reboot is POST; PUT is accepted too, like its siblings.
    (r"/2/instances/" + _ITEM + "/reboot", "R_2_instances_name_reboot",
     {"POST": (ACCESS_WRITE, post_instance_reboot),
      "PUT": (ACCESS_WRITE, post_instance_reboot)}),
    (r"/2/jobs", "R_2_jobs", {"GET": (ANONYMOUS, get_jobs)}),
    (r"/2/jobs/" + _ITEM, "R_2_jobs_id",
     {"GET": (ANONYMOUS, get_job), "DELETE": (ACCESS_WRITE, delete_job)}),
    # Waiting holds a master call open for seconds, so Ganeti wants write.
    (r"/2/jobs/" + _ITEM + "/wait", "R_2_jobs_id_wait",
     {"GET": (ACCESS_WRITE, get_job_wait)}),
    (r"/2/tags", "R_2_tags",
     {"GET": (ANONYMOUS, get_cluster_tags),
      "PUT": (ACCESS_WRITE, put_cluster_tags),
      "DELETE": (ACCESS_WRITE, delete_cluster_tags)}),
    (r"/2/redistribute-config", "R_2_redist_config",
     {"PUT": (ACCESS_WRITE, put_redistribute_config)}),
    (r"/2/modify", "R_2_cluster_modify",
     {"PUT": (ACCESS_WRITE, put_cluster_modify)}),
    (r"/2/instances-multi-alloc", "R_2_instances_multi_alloc",
     {"POST": (ACCESS_WRITE, post_instances_multi_alloc)}),
    (r"/2/instances/" + _ITEM + "/tags", "R_2_instances_name_tags",
     {"GET": (ANONYMOUS, _object_tags("instance", "Instance")),
      "PUT": (ACCESS_WRITE, _object_tag_op("instance", "OP_TAGS_SET", "add")),
      "DELETE": (ACCESS_WRITE,
                 _object_tag_op("instance", "OP_TAGS_DEL", "delete"))}),
    (r"/2/nodes/" + _ITEM + "/tags", "R_2_nodes_name_tags",
     {"GET": (ANONYMOUS, _object_tags("node", "Node")),
      "PUT": (ACCESS_WRITE, _object_tag_op("node", "OP_TAGS_SET", "add")),
      "DELETE": (ACCESS_WRITE,
                 _object_tag_op("node", "OP_TAGS_DEL", "delete"))}),
    (r"/2/instances/" + _ITEM + "/reinstall", "R_2_instances_name_reinstall",
     {"POST": (ACCESS_WRITE, post_instance_reinstall)}),
    (r"/2/instances/" + _ITEM + "/rename", "R_2_instances_name_rename",
     {"PUT": (ACCESS_WRITE, put_instance_rename)}),
    (r"/2/instances/" + _ITEM + "/modify", "R_2_instances_name_modify",
     {"PUT": (ACCESS_WRITE, put_instance_modify)}),
    (r"/2/instances/" + _ITEM + "/activate-disks",
     "R_2_instances_name_activate_disks",
     {"PUT": (ACCESS_WRITE, put_instance_activate_disks)}),
    (r"/2/instances/" + _ITEM + "/deactivate-disks",
     "R_2_instances_name_deactivate_disks",
     {"PUT": (ACCESS_WRITE, put_instance_deactivate_disks)}),
    (r"/2/instances/" + _ITEM + r"/disk/(\d+)/grow",
     "R_2_instances_name_disk_grow",
     {"POST": (ACCESS_WRITE, post_instance_grow_disk)}),
    (r"/2/instances/" + _ITEM + "/recreate-disks",
     "R_2_instances_name_recreate_disks",
     {"POST": (ACCESS_WRITE, post_instance_recreate_disks)}),
    # Ganeti wants an authenticated user for the console.
    (r"/2/instances/" + _ITEM + "/console", "R_2_instances_name_console",
     {"GET": (ACCESS_READ, get_instance_console)}),
    (r"/2/query/(%s)" % "|".join(QUERY_RESOURCES), "R_2_query",
     {"GET": (ACCESS_READ, get_query), "PUT": (ACCESS_READ, put_query)}),
    (r"/2/query/(%s)/fields" % "|".join(QUERY_RESOURCES), "R_2_query_fields",
     {"GET": (ANONYMOUS, get_query_fields)}),
    (r"/2/groups", "R_2_groups",
     {"GET": (ANONYMOUS, get_groups),
      "POST": (ACCESS_WRITE, post_groups)}),
    (r"/2/groups/" + _ITEM, "R_2_groups_name",
     {"GET": (ANONYMOUS, get_group),
      "DELETE": (ACCESS_WRITE, delete_group)}),
    (r"/2/groups/" + _ITEM + "/tags", "R_2_groups_name_tags",
     {"GET": (ANONYMOUS, _object_tags("group", "Group")),
      "PUT": (ACCESS_WRITE,
              _object_tag_op("nodegroup", "OP_TAGS_SET", "add")),
      "DELETE": (ACCESS_WRITE,
                 _object_tag_op("nodegroup", "OP_TAGS_DEL", "delete"))}),
    (r"/2/groups/" + _ITEM + "/modify", "R_2_groups_name_modify",
     {"PUT": (ACCESS_WRITE, put_group_modify)}),
    (r"/2/groups/" + _ITEM + "/rename", "R_2_groups_name_rename",
     {"PUT": (ACCESS_WRITE, put_group_rename)}),
    (r"/2/groups/" + _ITEM + "/assign-nodes", "R_2_groups_name_assign_nodes",
     {"PUT": (ACCESS_WRITE, put_group_assign_nodes)}),
    (r"/2/networks(?:/[^/]+(?:/[^/]+)?)?", "R_2_networks",
     {"GET": (ANONYMOUS, _not_backed("Networks")),
      "POST": (ACCESS_WRITE, _not_backed("Networks")),
      "PUT": (ACCESS_WRITE, _not_backed("Networks")),
      "DELETE": (ACCESS_WRITE, _not_backed("Networks"))}),
    (r"/2/filters", "R_2_filters",
     {"GET": (ANONYMOUS, get_filters),
      "POST": (ACCESS_WRITE, post_filters)}),
    (r"/2/filters/" + _ITEM, "R_2_filters_uuid",
     {"GET": (ANONYMOUS, get_filter),
      "PUT": (ACCESS_WRITE, put_filter),
      "DELETE": (ACCESS_WRITE, delete_filter)}),
]

_COMPILED = [(re.compile("^%s$" % pattern), name, methods)
             for pattern, name, methods in ROUTES]


def match_route(path):
    """
    :param path: the decoded, unquoted request path.
    :return: ``(resource_name, methods, items)`` or None.
    """
    for regex, name, methods in _COMPILED:
        m = regex.match(path)
        if m:
            return name, methods, m.groups()
    return None


# --- the twisted.web resource -------------------------------------------------

class RapiResource(resource.Resource):
    """
    The whole RAPI as one leaf resource.

    :param handler: the master's LUXI-like handler.
    :param users: a L{ganeti.rapi.auth.UsersFile}.
    :param reactor: used for reason-trail timestamps.
    :param require_authentication: Ganeti's ``--require-authentication``:
        even GETs then need a ``read`` user.
    """

    isLeaf = True

    def __init__(self, handler, users, reactor, require_authentication=False):
        super().__init__()
        self._handler = handler
        self._users = users
        self._reactor = reactor
        self._require_auth = require_authentication

    def render(self, request):
        d = defer.maybeDeferred(self._dispatch, request)
        finished = [False]

        def gone(_):
            finished[0] = True
        request.notifyFinish().addBoth(gone)

        def ok(value):
            if not finished[0]:
                self._send(request, 200, value)

        def failed(failure):
            err = _http_error_for(failure)
            if finished[0]:
                return
            for name, value in err.headers.items():
                request.setHeader(name, value)
            self._send(request, err.code, {"code": err.code,
                                           "message": err.message,
                                           "explain": err.explain})
        d.addCallbacks(ok, failed)
        d.addErrback(lambda f: _log.failure("Writing RAPI response", f))
        return server.NOT_DONE_YET

    @staticmethod
    def _send(request, code, value):
        data = json.dumps(value).encode("utf-8")
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"content-length", b"%d" % len(data))
        request.write(data)
        request.finish()

    def _dispatch(self, request):
        from urllib.parse import unquote
        path = unquote(request.path.decode("utf-8", "replace"))
        if len(path) > 1:
            path = path.rstrip("/") or "/"
        route = match_route(path)
        if route is None:
            raise HttpError(404, "Resource %s not found" % path)
        name, methods, items = route
        method = request.method.decode("ascii", "replace").upper()
        if method == "HEAD" and "GET" in methods:
            method = "GET"
        if method not in methods:
            raise HttpError(405, "Method %s is unsupported for path %s"
                            % (method, path),
                            headers={b"allow": ", ".join(sorted(methods))
                                     .encode("ascii")})
        access, func = methods[method]
        user = self._authorize(request, access)
        body = self._read_body(request)
        args = {k.decode("utf-8", "replace"):
                [v.decode("utf-8", "replace") for v in vs]
                for k, vs in (request.args or {}).items()}
        ctx = Context(self._handler, self._reactor, items, args, body, user,
                      name)
        return func(ctx)

    def _authorize(self, request, access):
        """
        Ganeti's rules: anonymous access checks no credentials at all;
        otherwise missing or wrong credentials are 401 and a user without
        the needed option is 403.
        """
        if access is ANONYMOUS and not self._require_auth:
            return None
        if access is ANONYMOUS:
            access = ACCESS_READ
        user = self._users.authenticate(request.getHeader(b"authorization"))
        if user is None:
            raise HttpError(401, "Authentication required", headers={
                b"www-authenticate": ('Basic realm="%s"' % REALM)
                .encode("ascii")})
        if not user.may(access):
            raise HttpError(403, "Permission denied")
        return user

    @staticmethod
    def _read_body(request):
        """
        :return: the decoded JSON body, or None for an empty body.
        """
        content = request.content
        if content is None:
            return None
        content.seek(0, 2)
        size = content.tell()
        if size > MAX_BODY_SIZE:
            raise HttpError(413, "Request body is %d bytes, at most %d are"
                            " accepted" % (size, MAX_BODY_SIZE))
        content.seek(0)
        data = content.read()
        if not data.strip():
            return None
        ctype = (request.getHeader(b"content-type") or b"").decode(
            "latin-1").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise HttpError(415, "Only application/json is supported as"
                            " Content-Type, got %r" % (ctype,))
        try:
            return json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise HttpError(400, "Unable to parse JSON data: %s" % e)
