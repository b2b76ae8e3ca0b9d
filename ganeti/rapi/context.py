# -*- test-case-name: tests.test_rapi -*-
"""
What every RAPI handler is written against: the request L{Context}, the
L{HttpError} a handler raises, and the helpers that turn a request into
opcodes (L{fill_opcode}, L{submit}) or into a master query
(L{list_or_bulk}, L{single}).

It sits below the handler modules (one per resource family) and the route
table, and imports none of them, so each family can be read, and tested,
without the others.

Status codes follow Ganeti: 400 bad input, 401 no/wrong credentials, 403
not allowed, 404 unknown path or item, 413 body too large, 414/431
request line/header too long, 415 body not JSON, 405 method not
supported on the path (with ``Allow``; Ganeti says 501 there, but 405
is what HTTP means and what clients retry on less), 501 a resource this
project cannot back yet, 502 master unreachable, 503 job queue drained or
full or console of a stopped instance, 504 master timeout, 500 anything
else.
"""

from urllib.parse import quote

from twisted.internet import defer
from twisted.logger import Logger

from ganeti import errors, opcodes

_log = Logger()


class HttpError(Exception):
    """
    An error sent to the client as Ganeti's JSON error body.

    :ivar code: the HTTP status.
    :ivar message: the short text (Ganeti's ``message``).
    :ivar explain: the longer text (Ganeti's ``explain``).
    :ivar headers: extra response headers, e.g. ``Allow``.
    """

    MESSAGES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                404: "Not Found", 405: "Method Not Allowed",
                413: "Request Entity Too Large",
                414: "Request-URI Too Long", 415: "Unsupported Media Type",
                431: "Request Header Fields Too Large",
                500: "Internal Server Error", 501: "Not Implemented",
                502: "Bad Gateway", 503: "Service Unavailable",
                504: "Gateway Timeout"}

    def __init__(self, code, explain="", headers=None):
        super().__init__(code, explain)
        self.code = code
        self.message = self.MESSAGES.get(code, "Error")
        self.explain = explain
        self.headers = headers or {}


def http_error_for(failure):
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

class RawBody:
    """
    A route function's answer sent as it is, not as JSON (``/metrics``).

    :ivar data: the body bytes.
    :ivar content_type: the Content-Type header value, bytes.
    """

    def __init__(self, data, content_type):
        self.data = data
        self.content_type = content_type


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
    :param header: ``header(name) -> bytes or None``, the request's
        headers.
    """

    def __init__(self, handler, reactor, items, args, body, user,
                 resource_name, header=lambda name: None):
        self.handler = handler
        self.reactor = reactor
        self.items = items
        self.args = args
        self.body = body
        self.user = user
        self.resource_name = resource_name
        self._header = header

    def header(self, name):
        """
        :return: the request header C{name} as str (Latin-1, as HTTP
            has it), or None.
        """
        value = self._header(name.encode("ascii"))
        return value.decode("latin-1") if value is not None else None

    def query_value(self, name, default=None):
        """
        :return: the last value of query argument C{name}, or C{default}.
        """
        values = self.args.get(name)
        return values[-1] if values else default

    def required_value(self, name):
        """
        :return: the last value of query argument C{name}.
        :raise HttpError: 400 naming the argument when it is missing.
        """
        value = self.query_value(name)
        if value is None:
            raise HttpError(400, "Missing '%s' query argument" % name)
        return value

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


# --- opcodes and jobs -----------------------------------------------------------

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
    return d.addCallback(job_id_number)


def submit_op(ctx, op_id, body, static, renames=None):
    """
    Submit a job of the one opcode L{fill_opcode} builds from the
    arguments; the answer is the job id.
    """
    return submit(ctx, [fill_opcode(ctx, op_id, body, static, renames)])


def job_id_number(job_id):
    """
    :return: C{job_id} as an int when it is one, else unchanged.
    """
    try:
        return int(job_id)
    except (TypeError, ValueError):
        return job_id


def dry_run(ctx):
    """
    :return: the ``dry_run`` opcode parameter from the ``dry-run`` query
        argument, which most Ganeti resources take.
    """
    return {"dry_run": ctx.bool_arg("dry-run")}


def body_op(op_id, item_param=None, renames=None, with_dry_run=True,
            flags=()):
    """
    A handler submitting one opcode whose parameters come from the body,
    the shape most modifying resources of every family share.

    :param item_param: the opcode parameter the path's item fills
        (``instance_name``, ``group_name``...), or None for none.
    :param renames: legacy body key -> opcode parameter.
    :param with_dry_run: whether the resource reads ``dry-run``.
    :param flags: boolean query arguments passed as the opcode
        parameters of the same name.
    :return: the handler, answering the job id via a Deferred.
    """
    def op(ctx):
        static = dry_run(ctx) if with_dry_run else {}
        if item_param is not None:
            static[item_param] = ctx.items[0]
        for flag in flags:
            static[flag] = ctx.bool_arg(flag)
        return submit_op(ctx, op_id, ctx.body_dict(), static, renames)
    return op


# --- queries --------------------------------------------------------------------

def split_fields(text):
    """
    :return: the field names of a comma-separated ``fields`` argument.
    """
    return [f.strip() for f in text.split(",")]


def string_list(value, explain):
    """
    :return: C{value}, a list of strings (a ``fields`` parameter).
    :raise HttpError: 400 saying C{explain} when it is anything else.
    """
    if not (isinstance(value, list)
            and all(isinstance(item, str) for item in value)):
        raise HttpError(400, explain)
    return value


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


def links(collection, key, values):
    """
    A collection GET without ``bulk``: ``[{key: value, "uri": ...}]``.

    :param collection: the path component after ``/2/``.
    """
    return [{key: value,
             "uri": "/2/%s/%s" % (collection, quote(str(value), safe=""))}
            for value in values]


def query_rows(ctx, what, fields, qfilter=None):
    """
    Run a master query.

    :return: a Deferred firing with L{_rows_to_dicts} of the answer.
    """
    d = defer.maybeDeferred(ctx.handler.Query, what, fields, qfilter)
    return d.addCallback(_rows_to_dicts, fields)


def list_or_bulk(ctx, what, collection, bulk_fields, fixup=None):
    """
    GET on a collection: ``[{"id": name, "uri": ...}]`` sorted by name, or
    with ``bulk=1`` full dicts of C{bulk_fields}.
    """
    bulk = ctx.bool_arg("bulk")

    def shape(rows):
        if bulk:
            return [fixup(r) if fixup else r for r in rows]
        return links(collection, "id", sorted(
            r["name"] for r in rows if r["name"] is not None))
    return query_rows(ctx, what, bulk_fields if bulk else ["name"]
                      ).addCallback(shape)


def list_by_name(ctx, what, collection, bulk_fields):
    """
    GET on a collection Ganeti lists by ``name`` rather than ``id``
    (groups, networks): ``[{"name": name, "uri": ...}]``, or with
    ``bulk=1`` full dicts of C{bulk_fields}, both sorted by name.
    """
    bulk = ctx.bool_arg("bulk")

    def shape(rows):
        rows.sort(key=lambda r: r["name"] or "")
        if bulk:
            return rows
        return links(collection, "name",
                     [r["name"] for r in rows if r["name"] is not None])
    return query_rows(ctx, what, bulk_fields if bulk else ["name"]
                      ).addCallback(shape)


def single(ctx, what, fields, kind, fixup=None):
    """
    GET on the path's item; an unknown name is 404 as in Ganeti.
    """
    name = ctx.items[0]

    def shape(rows):
        if not rows:
            raise HttpError(404, "%s '%s' not found" % (kind, name))
        return fixup(rows[0]) if fixup else rows[0]

    def unknown(failure):
        # The master refuses a name filter naming a missing item.
        failure.trap(errors.OpPrereqError)
        raise HttpError(404, str(failure.value))
    d = query_rows(ctx, what, fields, ["|", ["=", "name", name]])
    return d.addCallbacks(shape, unknown)


# --- tags -----------------------------------------------------------------------

def tag_op(ctx, op_id, verb, kind="cluster", name=None):
    """
    Add or remove the ``tag`` query arguments' tags of one object.

    :param verb: what the 400 for missing tags says is to be done.
    """
    tags = ctx.args.get("tag")
    if not tags:
        raise HttpError(400, "Please specify tag(s) to %s using the 'tag'"
                        " parameter" % verb)
    static = dict(dry_run(ctx), kind=kind, name=name, tags=list(tags))
    return submit_op(ctx, op_id, {}, static)


def object_tags(what, kind):
    """
    GET on ``/2/<coll>/<name>/tags``: the object's ``tags`` query field, so
    an unknown name is a 404 like the object itself.
    """
    def get(ctx):
        d = single(ctx, what, ["name", "tags"], kind)
        return d.addCallback(lambda row: list(row["tags"] or []))
    return get


def object_tag_op(kind, op_id, verb):
    """
    PUT or DELETE on ``/2/<coll>/<name>/tags``: L{tag_op} on the item.
    """
    def op(ctx):
        return tag_op(ctx, op_id, verb, kind=kind, name=ctx.items[0])
    return op
