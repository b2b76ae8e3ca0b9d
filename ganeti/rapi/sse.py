# -*- test-case-name: tests.test_job_events -*-
"""
Server-sent events (the HTML standard's ``text/event-stream``): the
answer of a route that keeps sending, for browsers and for clients that
would otherwise poll.
"""

import json

from twisted.internet.task import LoopingCall

#: Seconds between comment lines, so that proxies and clients see a
#: quiet stream is alive (and a closed one is noticed within that time).
KEEPALIVE = 15.0

#: Milliseconds a browser waits before reconnecting (the ``retry`` field).
RETRY_MS = 2000


def format_event(event_id, event, data):
    """
    :param data: JSON-able; JSON never holds a raw newline, so it always
        fits the one ``data`` line.
    :return: the bytes of one event.
    """
    return ("id: %s\nevent: %s\ndata: %s\n\n"
            % (event_id, event, json.dumps(data))).encode("utf-8")


class EventStream:
    """
    A route function's answer that streams events rather than sending one
    JSON body (see L{ganeti.rapi.resources.RapiResource}).

    :param replay: the events to send first, objects with C{id}, C{event}
        and C{data}.
    :param subscribe: ``subscribe(deliver) -> unsubscribe``: C{deliver}
        takes a list of further events as they happen.
    :param clock: the reactor, for the keep-alive comments.
    """

    def __init__(self, replay, subscribe, clock):
        self._replay = replay
        self._subscribe = subscribe
        self._clock = clock

    def start(self, request):
        """Send the headers and the replay, then follow until the client goes."""
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"cache-control", b"no-cache")
        # Nginx and similar proxies would otherwise hold events back.
        request.setHeader(b"x-accel-buffering", b"no")
        request.write(b"retry: %d\n\n" % RETRY_MS)

        def deliver(events):
            request.write(b"".join(format_event(e.id, e.event, e.data)
                                   for e in events))
        deliver(self._replay)
        unsubscribe = self._subscribe(deliver)
        keepalive = LoopingCall(request.write, b": keepalive\n\n")
        keepalive.clock = self._clock
        keepalive.start(KEEPALIVE, now=False)

        def gone(_):
            unsubscribe()
            keepalive.stop()
        request.notifyFinish().addBoth(gone)
