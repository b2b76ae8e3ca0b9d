# -*- test-case-name: tests.test_rapi_consoles -*-
"""
``POST /2/instances/NAME/console-token``: a one-time token for the
instance's console in the browser (see L{ganeti.console}).

Not Ganeti's: Ganeti's RAPI only says how to reach a console
(``GET /2/instances/NAME/console``, a command to run on the node).  A
console is a shell on the instance, so the token needs write access, as
Ganeti's ``gnt-instance console`` needs root on the master; an API token
restricted to a tag gets tokens for its tagged instances only (the
resource's tag check).
"""

from ganeti.console.tokens import KINDS
from ganeti.rapi.context import HttpError, single

#: Hypervisors whose consoles the nodes can relay.
RELAYED_HYPERVISORS = ("kvm",)

#: The path of the console WebSocket on the RAPI port.
WEBSOCKET_PATH = "/console/ws"


def post_console_token(ctx):
    """
    Body ``{"kind": "serial"}`` (the default) or ``{"kind": "vnc"}``.

    :return: (Deferred) ``{"token", "url", "expires" (seconds), "kind",
        "instance"}``; the WebSocket at C{url} must be opened within
        C{expires} seconds, once.
    :raise HttpError: 400 for an unknown kind or an instance without a
        VNC display, 404 for an unknown instance, 503 while it does not
        run (or runs where no console is relayed), 501 for a master
        without consoles.
    """
    gateway = getattr(ctx.handler, "consoles", None)
    if gateway is None:
        raise HttpError(501, "This master relays no consoles")
    body = ctx.body if ctx.body is not None else {}
    if not isinstance(body, dict):
        raise HttpError(400, "The body must be a JSON object")
    kind = body.get("kind", "serial")
    if kind not in KINDS:
        raise HttpError(400, "Unknown console kind %r (known: %s)"
                        % (kind, ", ".join(KINDS)))
    d = single(ctx, "instance", ["name", "oper_state", "hypervisor", "pnode",
                                 "hvparams", "network_port"], "Instance")

    def issue(row):
        if kind == "vnc" and not ((row["hvparams"] or {}).get(
                "vnc_bind_address") and row["network_port"]):
            raise HttpError(400, "Instance %s has no VNC display configured"
                            % row["name"])
        if (not row["oper_state"] or not row["pnode"]
                or row["hypervisor"] not in RELAYED_HYPERVISORS):
            raise HttpError(503, "Instance console unavailable")
        ticket = gateway.tokens.issue(row["name"], kind,
                                      user=getattr(ctx.user, "name", None))
        return {"token": ticket.token,
                "url": "%s?token=%s" % (WEBSOCKET_PATH, ticket.token),
                "expires": gateway.tokens.lifetime,
                "kind": kind, "instance": row["name"]}
    return d.addCallback(issue)
