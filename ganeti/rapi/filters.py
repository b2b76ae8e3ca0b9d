# -*- test-case-name: tests.test_rapi_filters -*-
"""
RAPI handlers for the job filter rules, ``/2/filters`` and
``/2/filters/<uuid>``.

Filter rules are not opcodes: creating, replacing and deleting one is a
direct master call (``ReplaceFilter``, ``DeleteFilter``), answered at
once rather than with a job id.
"""

from twisted.internet import defer

from ganeti import errors
from ganeti.rapi.context import HttpError, links

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
        return links("filters", "uuid", [r["uuid"] for r in rules])
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
