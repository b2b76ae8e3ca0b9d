# -*- test-case-name: tests.test_rapi -*-
"""
The RAPI v2 as one twisted.web resource, L{RapiResource}.

It owns the HTTP side of every request: the route lookup (404, 405),
authentication and authorization (401, 403), the body (413, 415, 400)
and the JSON answer or error body.  What a path does is the route
table's business (L{ganeti.rapi.routes}); each route names, per HTTP
method, the access it needs and a function ``(ctx) -> value or
Deferred`` whose value is sent as JSON.
"""

import json
from urllib.parse import unquote_to_bytes

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

from ganeti.rapi import ACCESS_WRITE, REALM
from ganeti.rapi.context import Context, HttpError, RawBody, http_error_for
from ganeti.rapi.routes import ANONYMOUS, match_route
from ganeti.rapi.sse import EventStream
from ganeti.rapi.tokens import check_instance_tag, parse_bearer

_log = Logger()

#: Largest request body accepted.  Ganeti has no explicit RAPI limit; the
#: biggest legitimate bodies (multi-instance allocations) are far below
#: this, and a limit keeps one client from making the master buffer much.
MAX_BODY_SIZE = 1024 * 1024


class RapiResource(resource.Resource):
    """
    The whole RAPI as one leaf resource.

    :param handler: the master's LUXI-like handler.
    :param users: a L{ganeti.rapi.auth.UsersFile}.
    :param reactor: used for reason-trail timestamps.
    :param require_authentication: Ganeti's ``--require-authentication``:
        even GETs then need a ``read`` user.
    :param tokens: a L{ganeti.rapi.tokens.TokensFile} for ``Bearer``
        tokens, or None for none.
    """

    isLeaf = True

    def __init__(self, handler, users, reactor, require_authentication=False,
                 tokens=None):
        super().__init__()
        self._handler = handler
        self._users = users
        self._tokens = tokens
        self._reactor = reactor
        self._require_auth = require_authentication

    def render(self, request):
        d = defer.maybeDeferred(self._dispatch, request)
        finished = [False]

        def gone(_):
            finished[0] = True
        request.notifyFinish().addBoth(gone)

        def ok(value):
            if finished[0]:
                return
            if isinstance(value, EventStream):
                value.start(request)
            else:
                self._send(request, 200, value)

        def failed(failure):
            err = http_error_for(failure)
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
        if isinstance(value, RawBody):
            data, ctype = value.data, value.content_type
        else:
            data, ctype = json.dumps(value).encode("utf-8"), b"application/json"
        request.setResponseCode(code)
        request.setHeader(b"content-type", ctype)
        request.setHeader(b"content-length", b"%d" % len(data))
        request.write(data)
        request.finish()

    def _dispatch(self, request):
        path = _request_path(request)
        route = match_route(path)
        if route is None:
            raise HttpError(404, "Resource %s not found" % path)
        name, methods, items = route
        # The metrics count requests by route, never by raw path.
        request.rapi_resource = name
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
        ctx = Context(self._handler, self._reactor, items,
                      _query_arguments(request), body, user, name,
                      request.getHeader)
        if getattr(user, "instance_tag", None) and access == ACCESS_WRITE:
            d = check_instance_tag(ctx, user.instance_tag)
            return d.addCallback(lambda _: func(ctx))
        return func(ctx)

    def _authorize(self, request, access):
        """
        Ganeti's rules: an anonymous resource checks credentials only when
        the request carries some, so a client with a wrong password learns
        it (401) wherever it asks; otherwise missing or wrong credentials
        are 401 and a user without the needed option is 403.  A user the
        users file knows may read anonymous resources whatever its
        options.
        """
        header = request.getHeader(b"authorization")
        needed = access
        if access is ANONYMOUS:
            if not self._require_auth and header is None:
                return None
            # With or without --require-authentication, as in Ganeti.
            needed = None
        bearer = parse_bearer(header)
        if bearer is None:
            user = self._users.authenticate(header)
        else:
            user = (self._tokens.authenticate(*bearer)
                    if self._tokens is not None else None)
        if user is None:
            raise HttpError(401, "Authentication required", headers={
                b"www-authenticate": ('Basic realm="%s"' % REALM)
                .encode("ascii")})
        if needed is not None and not user.may(needed):
            raise HttpError(403, "Permission denied")
        return user

    @staticmethod
    def _read_body(request):
        """
        :return: the decoded JSON body, or None for an empty body.
        """
        content = request.content
        if getattr(request, "body_too_large", False):
            size = None
        elif content is None:
            return None
        else:
            content.seek(0, 2)
            size = content.tell()
        if size is None or size > MAX_BODY_SIZE:
            raise HttpError(413, "Request body is larger than the %d bytes"
                            " accepted" % MAX_BODY_SIZE)
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
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise HttpError(400, "Unable to parse JSON data: the body is not"
                            " UTF-8 (%s)" % e)
        try:
            return json.loads(text)
        except ValueError as e:
            raise HttpError(400, "Unable to parse JSON data: %s" % e)
        except RecursionError:
            raise HttpError(400, "Unable to parse JSON data: nested too"
                            " deeply")


def _request_path(request):
    """
    :return: the request's path, percent-escapes decoded, without a
        trailing slash.
    :raise HttpError: 400 when it is not UTF-8.
    """
    try:
        path = unquote_to_bytes(request.path).decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "The request path is not valid UTF-8")
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return path


def _query_arguments(request):
    """
    :return: the query arguments, dict str -> list of str.
    :raise HttpError: 400 for a name or value that is not UTF-8.
    """
    args = {}
    for key, values in (request.args or {}).items():
        try:
            args[key.decode("utf-8")] = [v.decode("utf-8") for v in values]
        except UnicodeDecodeError:
            raise HttpError(400, "Query argument %r is not valid UTF-8"
                            % (key,))
    return args
