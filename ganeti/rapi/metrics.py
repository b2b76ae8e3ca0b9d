# -*- test-case-name: tests.test_metrics -*-
"""
``GET /metrics``: the master's Prometheus metrics on the RAPI port.

It is read like every ``/2/`` resource: anonymously, unless the RAPI runs
with ``--require-authentication``, when it needs a user of the users file
(or a token).  The metrics name instances only through what jobs and
routes already show anonymously (opcode names, route names, lock
levels), no instance names, so Ganeti's read rule fits them.
"""

from ganeti.metrics.http import exposition
from ganeti.rapi.context import HttpError, RawBody


def get_metrics(ctx):
    """
    :return: a L{RawBody} of the Prometheus text exposition.
    :raise HttpError: 501 for a master without metrics.
    """
    metrics = getattr(ctx.handler, "metrics", None)
    if metrics is None:
        raise HttpError(501, "This master keeps no metrics")
    return RawBody(*exposition(metrics.registry))
