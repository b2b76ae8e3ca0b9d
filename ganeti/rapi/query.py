# -*- test-case-name: tests.test_rapi -*-
"""
RAPI handlers for query2 over HTTP: ``/2/query/<resource>`` and
``/2/query/<resource>/fields``.

They hand the master's ``Query``/``QueryFields`` answers back unchanged,
so they share nothing with the per-object families but the request
context.
"""

from twisted.internet import defer

from ganeti.rapi.context import HttpError, split_fields, string_list

#: Resources ``/2/query/<res>`` serves (Ganeti's QR_VIA_RAPI).
QUERY_RESOURCES = ("group", "export", "instance", "job", "lock", "network",
                   "node", "filter")


def _query(ctx, fields, qfilter):
    return defer.maybeDeferred(ctx.handler.Query, ctx.items[0], fields,
                               qfilter)


def get_query(ctx):
    return _query(ctx, split_fields(ctx.required_value("fields")), None)


def put_query(ctx):
    body = ctx.body_dict()
    if "fields" in body:
        fields = string_list(body["fields"], "The 'fields' parameter should"
                             " be a list of strings")
    else:
        text = ctx.query_value("fields")
        if text is None:
            raise HttpError(400, "Missing 'fields' in the body or the query")
        fields = split_fields(text)
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
    fields = None if text is None else split_fields(text)
    return defer.maybeDeferred(ctx.handler.QueryFields, ctx.items[0], fields)
