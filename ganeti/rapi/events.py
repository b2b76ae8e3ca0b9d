# -*- test-case-name: tests.test_job_events -*-
"""
``GET /2/jobs/events``: the job events of L{ganeti.jobs.events} as
server-sent events.  Not Ganeti's: its clients poll ``/2/jobs`` or watch
the queue's files.

The stream starts with the events the client missed (after the
``Last-Event-ID`` header a reconnecting browser sends, or the
``last_event_id`` argument; everything the queue keeps without either),
then follows.  ``jobs=1,2`` limits it to those jobs.
"""

from ganeti.rapi.context import HttpError
from ganeti.rapi.sse import EventStream


def _job_ids(ctx):
    text = ctx.query_value("jobs")
    if not text:
        return None
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise HttpError(400, "The 'jobs' argument must be job ids separated"
                        " by commas")


def get_job_events(ctx):
    events = ctx.handler.job_events
    job_ids = _job_ids(ctx)
    after = ctx.header("last-event-id") or ctx.query_value("last_event_id")
    replay = events.replay(after, job_ids)
    wanted = set(job_ids) if job_ids is not None else None
    return EventStream(replay,
                       lambda deliver: events.subscribe(deliver, wanted),
                       ctx.reactor)
