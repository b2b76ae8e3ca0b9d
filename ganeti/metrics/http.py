# -*- test-case-name: tests.test_metrics -*-
"""
Serving metrics over HTTP: the Prometheus text exposition of a registry,
the node's plain-HTTP listener, and the RAPI's request counting.

prometheus_client's own HTTP server runs in a thread and its
``collect()`` is synchronous; here a twisted.web resource first lets the
owner refresh its cached values through a Deferred (a node asks its
hypervisors and storage, which takes commands), then renders the
registry, so nothing waits on the reactor thread.
"""

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.defer import maybeDeferred
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.logger import Logger
from twisted.web import resource, server

_log = Logger()


def exposition(registry):
    """
    :return: ``(body bytes, content type bytes)`` of C{registry} in the
        Prometheus text format.
    """
    return generate_latest(registry), CONTENT_TYPE_LATEST.encode("ascii")


class MetricsResource(resource.Resource):
    """
    ``GET /metrics`` (any path, in fact: the node's listener serves
    nothing else) of one registry.

    :param registry: the L{prometheus_client.CollectorRegistry}.
    :param refresh: called before each rendering; its Deferred (or
        value) says when the cached values are fresh.  A failed refresh
        is logged and the last values are served, so a broken storage
        command does not hide the rest.
    """

    isLeaf = True

    def __init__(self, registry, refresh=None):
        super().__init__()
        self._registry = registry
        self._refresh = refresh or (lambda: None)

    def render_GET(self, request):
        gone = []
        request.notifyFinish().addBoth(gone.append)
        d = maybeDeferred(self._refresh)
        d.addErrback(lambda f: _log.failure("refreshing the metrics", f))

        def render(_):
            if gone:
                return
            body, ctype = exposition(self._registry)
            request.setHeader(b"content-type", ctype)
            request.setHeader(b"content-length", b"%d" % len(body))
            request.write(body)
            request.finish()
        d.addCallback(render)
        d.addErrback(lambda f: _log.failure("writing the metrics", f))
        return server.NOT_DONE_YET


def metrics_site(reactor, registry, refresh=None):
    """:return: a L{server.Site} of a L{MetricsResource}."""
    site = server.Site(MetricsResource(registry, refresh), reactor=reactor)
    # Tracebacks would show a node's internals to anyone who can scrape.
    site.displayTracebacks = False
    return site


def metrics_service(reactor, port, interface, registry, refresh=None):
    """
    A plain-HTTP listener serving C{registry} (the node's endpoint: its
    AMP port speaks TLS with client certificates, which Prometheus
    scrapers do not have).

    :param port: TCP port (0 for any free one, as tests use).
    :param interface: address to bind; an IPv6 one gets an IPv6 socket.
    :return: a L{StreamServerEndpointService}, not yet started.
    """
    endpoint_type = TCP6ServerEndpoint if ":" in interface else \
        TCP4ServerEndpoint
    return StreamServerEndpointService(
        endpoint_type(reactor, port, interface=interface),
        metrics_site(reactor, registry, refresh))


def count_rapi_requests(site, metrics):
    """
    Count every request C{site} answers in C{metrics}
    (L{ganeti.metrics.master.MasterMetrics.rapi_request}).

    Twisted calls the site's ``log`` once per finished request, with its
    final status code, whatever resource answered; wrapping it counts
    errors the RAPI raised before any route ran (401, 404, 413) too.
    """
    log = site.log

    def logged(request):
        log(request)
        metrics.rapi_request(request)
    site.log = logged
