# -*- test-case-name: tests.test_job_events -*-
"""
The cluster's job events, every job status change and every job log
line, for ``GET /2/jobs/events`` (server-sent events), ``gnt-job watch``
and the web view, which all read them from one L{JobEvents}.

Events are not stored anywhere of their own: they are read off the job
(L{status_history} and its log), whose file records when each opcode
started waiting, began running and ended, and every log line with its
time.  So a job's events are the same on the master and on every master
candidate holding a copy of its file, and a client that reconnects to
the new master after a failover is replayed, from that master's queue,
what it missed.

An event's id (L{event_id}) is its time in microseconds, its job and its
place in that job (``s<index>`` among the job's status changes,
``l<serial>`` among its log lines).  Resuming after an id replays every
event of the kept jobs from L{SLACK} seconds before that time on, less
the events of the id's own job up to it.  Events are stamped when they
happen but published once their job is written, so one published
earlier may carry a later time than one published after it; the slack
covers that reordering (and small clock differences between the old
and the new master) at the price of repeating some events.  Delivery is
therefore at least once: a client drops what it has seen by the event's
``job_id`` and ``index`` or ``serial``.
"""

import re
from collections import namedtuple

from twisted.internet.defer import Deferred, succeed

from ganeti import errors
from ganeti.jobs import job as jobmod

#: Seconds of events repeated before a resumed id (see the module doc).
SLACK = 5.0

STATUS = "status"
LOG = "log"

#: One event: C{id} (L{event_id}), C{event} (L{STATUS} or L{LOG}) and
#: C{data}, the JSON-able payload.
Event = namedtuple("Event", ["id", "event", "data"])

_ID_RE = re.compile(r"([0-9]+)-([0-9]+)-([sl])([0-9]+)")


def _micros(pair):
    return pair[0] * 1000000 + pair[1]


def event_id(timestamp, job_id, kind, index):
    """
    :param timestamp: Ganeti's ``[seconds, microseconds]`` pair.
    :param kind: L{STATUS} or L{LOG}.
    :param index: the status change's index or the log line's serial.
    :return: the event's id, e.g. ``1733600000500000-12-s2``.
    """
    return "%d-%d-%s%d" % (_micros(timestamp), job_id, kind[0], index)


def parse_event_id(text):
    """
    :return: ``(microseconds, job_id, kind letter, index)``.
    :raise errors.OpPrereqError: for a string no event id looks like.
    """
    m = _ID_RE.fullmatch(text or "")
    if m is None:
        raise errors.OpPrereqError("Invalid event id %r" % (text,)[:60],
                                   "wrong_input")
    return int(m.group(1)), int(m.group(2)), m.group(3), int(m.group(4))


def status_history(job):
    """
    The job's statuses in the order it went through them, as its opcodes'
    timestamps tell: received (queued), each opcode's start (waiting),
    execution (running) and end (its final status).  A status the
    opcodes' timestamps do not record, ``canceling``, is not in it.

    :return: list of ``(timestamp, status)``; only the end of it changes
        as the job goes on, so the events published of a running job are
        always a prefix of its later history.
    """
    statuses = [jobmod.QUEUED] * len(job.ops)
    history = []

    def step(timestamp):
        status = jobmod.job_status(statuses)
        if not history or history[-1][1] != status:
            history.append((timestamp, status))

    step(job.received_timestamp)
    for index, op in enumerate(job.ops):
        if op.start_timestamp is not None:
            statuses[index] = jobmod.WAITING
            step(op.start_timestamp)
        if op.exec_timestamp is not None:
            statuses[index] = jobmod.RUNNING
            step(op.exec_timestamp)
        if op.end_timestamp is not None and op.status in jobmod.FINALIZED:
            statuses[index] = op.status
            step(op.end_timestamp)
    return history


def _status_event(job, index, timestamp, status, summary):
    return Event(event_id(timestamp, job.id, STATUS, index), STATUS,
                 {"job_id": job.id, "index": index, "status": status,
                  "summary": summary,
                  "timestamp": jobmod.join_time(timestamp)})


def _log_event(job, entry):
    serial, timestamp, log_type, message = entry
    return Event(event_id(timestamp, job.id, LOG, serial), LOG,
                 {"job_id": job.id, "serial": serial,
                  "timestamp": jobmod.join_time(timestamp),
                  "type": log_type, "message": message})


def job_events(job, statuses_after=0, log_after=0):
    """
    :param statuses_after: how many of the job's status changes to skip.
    :param log_after: the log serial after which to start.
    :return: the job's L{Event}s past those, status changes first.
    """
    history = status_history(job)
    summary = job.summary() if len(history) > statuses_after else None
    events = [_status_event(job, index, timestamp, status, summary)
              for index, (timestamp, status) in enumerate(history)
              if index >= statuses_after]
    events.extend(_log_event(job, entry)
                  for entry in job.log_entries(log_after))
    return events


def _sort_key(event):
    """
    Time order; within one microsecond (a test's clock, or a job that
    logs its last line and ends at once) a job's status changes come
    before its log lines, except its end, which comes after them.
    """
    micros, job_id, kind, index = parse_event_id(event.id)
    if kind == "l":
        rank = 1
    else:
        rank = 2 if event.data["status"] in jobmod.FINALIZED else 0
    return micros, job_id, rank, index


class _Subscriber:
    def __init__(self, deliver, job_ids):
        self.deliver = deliver
        self.job_ids = job_ids


class JobEvents:
    """
    The events of the jobs of one queue: replayed from the jobs, and
    published as the queue reports changes (L{publish}, called once a
    change is written).

    :param jobs: callable returning the queue's unarchived jobs.
    :param get: callable returning one job by id, archived ones too
        (raising L{errors.JobLost} for an unknown one).
    :param clock: the reactor, for L{wait}'s timeout.
    """

    def __init__(self, jobs, get, clock):
        self._jobs = jobs
        self._get = get
        self._clock = clock
        #: Job id -> (status changes published, last log serial published).
        self._published = {}
        self._subscribers = []

    def loaded(self, job):
        """A job read at start-up: its history so far is not news."""
        self._published[job.id] = (len(status_history(job)), job.log_serial)

    def forget(self, job_id):
        """The job left the queue (archived)."""
        self._published.pop(job_id, None)

    def publish(self, job):
        """Hand C{job}'s new events to every subscriber that wants them."""
        statuses, serial = self._published.get(job.id, (0, 0))
        events = job_events(job, statuses, serial)
        if not events:
            return
        self._published[job.id] = (
            statuses + sum(e.event == STATUS for e in events),
            job.log_serial)
        for subscriber in list(self._subscribers):
            if subscriber.job_ids is None or job.id in subscriber.job_ids:
                subscriber.deliver(events)

    def replay(self, after=None, job_ids=None):
        """
        :param after: the id of the last event a client saw, or None for
            everything the queue keeps.
        :param job_ids: only these jobs (archived ones too), or None for
            every unarchived job.
        :return: the events to send that client, in time order.
        :raise errors.OpPrereqError: for a malformed C{after}.
        :raise errors.JobLost: for an unknown job in C{job_ids}.
        """
        if job_ids is None:
            jobs = list(self._jobs())
        else:
            jobs = [self._get(job_id) for job_id in job_ids]
        if after is not None:
            micros, job_id, kind, index = parse_event_id(after)
            since = micros - int(SLACK * 1000000)
            # A job that ended before that has no event to send: its end
            # is its last event, so its history need not be read.
            jobs = [job for job in jobs if job.end_timestamp is None
                    or _micros(job.end_timestamp) >= since]
        events = [event for job in jobs for event in job_events(job)]
        if after is not None:
            def wanted(event):
                e_micros, e_job, e_kind, e_index = parse_event_id(event.id)
                if e_micros < since:
                    return False
                return not (e_job == job_id and e_kind == kind
                            and e_index <= index)
            events = [event for event in events if wanted(event)]
        events.sort(key=_sort_key)
        return events

    def subscribe(self, deliver, job_ids=None):
        """
        Call C{deliver(events)} with the new events of each change
        published from now on.

        :param job_ids: a set of job ids, or None for all jobs.
        :return: a callable that ends the subscription.
        """
        subscriber = _Subscriber(deliver, job_ids)
        self._subscribers.append(subscriber)

        def unsubscribe():
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)
        return unsubscribe

    def wait(self, after, job_ids, timeout):
        """
        A long poll (``gnt-job watch``): the events after C{after} at
        once if there are any, else the first ones published within
        C{timeout} seconds, else an empty list.

        :return: a Deferred firing with a list of L{Event}s.
        """
        wanted = set(job_ids) if job_ids is not None else None
        events = self.replay(after, job_ids)
        if events:
            return succeed(events)
        d = Deferred()

        def deliver(events):
            unsubscribe()
            timer.cancel()
            d.callback(events)

        def expire():
            unsubscribe()
            d.callback([])
        unsubscribe = self.subscribe(deliver, wanted)
        timer = self._clock.callLater(max(0, timeout), expire)
        return d
