"""
Tests for the job events (L{ganeti.jobs.events}): as the queue publishes
them, as a client replays them after a reconnect or a master failover,
through LUXI (``gnt-job watch``'s call) and as the RAPI's server-sent
event stream ``GET /2/jobs/events`` over a real connection.
"""

import json

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.trial import unittest

from ganeti import errors
from ganeti.jobs import events as jobevents
from ganeti.master.luxi import LuxiHandler
from ganeti.rapi import server
from ganeti.rapi.sse import KEEPALIVE
from tests.util import Master, local_cluster

NOW = 1700000000


def delay(duration=10.0, repeat=0):
    return {"OP_ID": "OP_TEST_DELAY", "duration": duration,
            "repeat": repeat}


def kinds(events):
    """:return: each event as ``status:<status>`` or ``log:<message>``."""
    return ["%s:%s" % (e.event, e.data["status"] if e.event == "status"
                       else e.data["message"]) for e in events]


class EventsTestBase(unittest.TestCase):

    def setUp(self):
        self.master = local_cluster(self)
        self.clock = self.master.clock
        self.clock.advance(NOW)
        self.queue = self.master.queue
        self.published = []
        self.addCleanup(self.queue.events.subscribe(self.published.extend))


class HistoryTests(EventsTestBase):
    """What the queue publishes, and what it replays, of a job."""

    def test_job_life(self):
        """
        A job with a log is published as it runs: queued, waiting,
        running, its log lines, success; and its replay is the same
        events, ids included.
        """
        job_id = self.queue.submit([delay(1.0, repeat=2)])
        self.clock.advance(0)
        self.assertEqual(kinds(self.published),
                         ["status:queued", "status:waiting", "status:running",
                          "log: - INFO: Test delay iteration 0/1"])
        for _ in range(3):
            self.clock.advance(1.0)
        self.assertEqual(kinds(self.published)[4:],
                         ["log: - INFO: Test delay iteration 1/1",
                          "status:success"])
        self.assertEqual(self.queue.events.replay(job_ids=[job_id]),
                         self.published)
        self.assertEqual(
            [(e.data["job_id"], e.data.get("index"), e.data.get("serial"))
             for e in self.published],
            [(job_id, 0, None), (job_id, 1, None), (job_id, 2, None),
             (job_id, None, 1), (job_id, None, 2), (job_id, 3, None)])
        self.assertEqual(self.published[-1].data["summary"], ["TEST_DELAY(1.0)"])

    def test_canceled_while_queued(self):
        """A queued job cancelled: queued, then canceled."""
        self.master.queue._max_running = lambda: 1
        self.queue.submit([delay()])
        second = self.queue.submit([delay()])
        self.successResultOf(self.queue.cancel(second))
        self.assertEqual(
            kinds(self.queue.events.replay(job_ids=[second])),
            ["status:queued", "status:canceled"])

    def test_resume(self):
        """
        After an event id, a replay holds what came later: the rest of
        that job and the other jobs' events from L{SLACK} seconds before
        it on; events older than that are not repeated.
        """
        old = self.queue.submit([delay(1.0)])
        self.clock.advance(1.0)
        self.clock.advance(jobevents.SLACK * 2)
        job_id = self.queue.submit([delay(1.0)])
        self.clock.advance(0)
        seen = self.queue.events.replay(job_ids=[job_id])
        cursor = seen[1].id
        self.clock.advance(1.0)
        missed = self.queue.events.replay(after=cursor)
        self.assertEqual(kinds(missed), ["status:running", "status:success"])
        self.assertNotIn(old, [e.data["job_id"] for e in missed])
        self.assertEqual(missed, self.published[-2:])

    def test_bad_cursor(self):
        """An id no event has is refused (the RAPI answers 400)."""
        self.assertRaises(errors.OpPrereqError,
                          self.queue.events.replay, "12-x")

    def test_unknown_job(self):
        """Asking for a job the queue never had: JobLost (404)."""
        self.assertRaises(errors.JobLost, self.queue.events.replay,
                          None, [999])

    def test_after_failover(self):
        """
        A client that saw a running job's first events, and reconnects to
        a master started on the same queue (a failover, or a restart),
        is replayed the rest: the job's end (failed, as every job cut
        short is) and the jobs that came after.
        """
        job_id = self.queue.submit([delay(30.0)])
        self.clock.advance(0)
        cursor = self.published[-1].id
        self.assertEqual(kinds(self.published)[-1], "status:running")
        clock = Clock()
        clock.advance(NOW + 2)
        new = Master(self, paths=self.master.paths, clock=clock)
        later = new.queue.submit([delay(1.0)])
        new.clock.advance(0)
        new.clock.advance(1.0)
        missed = new.queue.events.replay(after=cursor)
        self.assertEqual([(e.data["job_id"], e.data["status"])
                          for e in missed],
                         [(job_id, "error"), (later, "queued"),
                          (later, "waiting"), (later, "running"),
                          (later, "success")])
        self.assertEqual(missed[0].id.split("-")[1:], [str(job_id), "s3"])


class LuxiTests(EventsTestBase):
    """WaitForJobEvents, the long poll ``gnt-job watch`` makes."""

    def setUp(self):
        EventsTestBase.setUp(self)
        self.handler = LuxiHandler(self.master)

    def test_wait(self):
        """
        Events past the cursor come at once; with none, the call waits
        for the next change of that job, or answers [] after its timeout.
        """
        job_id = self.queue.submit([delay(5.0)])
        self.clock.advance(0)
        first = self.successResultOf(
            self.handler.WaitForJobEvents([job_id], None, 10))
        self.assertEqual([e["data"]["status"] for e in first],
                         ["queued", "waiting", "running"])
        after = first[-1]["id"]
        d = self.handler.WaitForJobEvents([job_id], after, 10)
        self.assertNoResult(d)
        self.clock.advance(5.0)
        [done] = self.successResultOf(d)
        self.assertEqual((done["event"], done["data"]["status"]),
                         ("status", "success"))
        quiet = self.handler.WaitForJobEvents([job_id], done["id"], 10)
        self.clock.advance(10)
        self.assertEqual(self.successResultOf(quiet), [])

    def test_bad_arguments(self):
        self.assertRaises(errors.OpPrereqError,
                          self.handler.WaitForJobEvents, "1", None, 10)


class _StreamReader(Protocol):
    """An HTTP/1.0 client of the event stream: the body needs no dechunking."""

    def __init__(self, path, headers=()):
        self._request = ("GET %s HTTP/1.0\r\n%s\r\n" % (
            path, "".join("%s: %s\r\n" % h for h in headers))).encode()
        self.data = b""
        self._waiting = []
        self.closed = defer.Deferred()

    def connectionMade(self):
        self.transport.write(self._request)

    def dataReceived(self, data):
        self.data += data
        for entry in list(self._waiting):
            if entry[0]():
                self._waiting.remove(entry)
                entry[1].callback(None)

    def connectionLost(self, reason):
        self.closed.callback(None)

    def until(self, condition):
        """:return: a Deferred firing once C{condition()} holds."""
        if condition():
            return defer.succeed(None)
        d = defer.Deferred()
        self._waiting.append((condition, d))
        return d

    def events(self):
        """:return: ``(id, event, data)`` of each whole event so far."""
        body = self.data.split(b"\r\n\r\n", 1)[-1].decode()
        found = []
        for block in body.split("\n\n")[:-1]:
            fields = dict(line.split(": ", 1) for line in block.split("\n")
                          if ": " in line and not line.startswith(":"))
            if "event" in fields:
                found.append((fields["id"], fields["event"],
                              json.loads(fields["data"])))
        return found


class StreamTests(EventsTestBase):
    """``GET /2/jobs/events`` on a real listening socket."""

    def setUp(self):
        EventsTestBase.setUp(self)
        users = self.mktemp()
        with open(users, "w") as f:
            f.write("")
        site = server.make_site(LuxiHandler(self.master), users, self.clock)
        self.port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)

    @defer.inlineCallbacks
    def open(self, path="/2/jobs/events", headers=()):
        client = _StreamReader(path, headers)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1",
                                      self.port.getHost().port)
        yield connectProtocol(endpoint, client)

        def close():
            client.transport.loseConnection()
            return client.closed
        self.addCleanup(close)
        return client

    def statuses(self, client, job_id):
        return [data["status"] for _, event, data in client.events()
                if event == "status" and data["job_id"] == job_id]

    @defer.inlineCallbacks
    def test_follow_and_resume(self):
        """
        The stream replays the queue, then follows; after a reconnect with
        ``Last-Event-ID`` it sends what happened meanwhile, not again what
        the client had.
        """
        first = self.queue.submit([delay(1.0)])
        self.clock.advance(1.0)
        client = yield self.open()
        yield client.until(lambda: "success" in self.statuses(client, first))
        self.assertIn(b"content-type: text/event-stream",
                      client.data.lower())
        self.clock.advance(jobevents.SLACK * 2)
        second = self.queue.submit([delay(1.0)])
        self.clock.advance(0)
        yield client.until(lambda: "running" in self.statuses(client, second))
        last = client.events()[-1][0]
        client.transport.loseConnection()
        yield client.closed
        self.clock.advance(1.0)
        third = self.queue.submit([delay(1.0)])
        self.clock.advance(0)
        self.clock.advance(1.0)

        again = yield self.open(headers=[("Last-Event-ID", last)])
        yield again.until(lambda: "success" in self.statuses(again, third))
        self.assertEqual(self.statuses(again, second), ["success"])
        self.assertEqual(self.statuses(again, third),
                         ["queued", "waiting", "running", "success"])
        self.assertEqual(self.statuses(again, first), [])

    @defer.inlineCallbacks
    def test_one_job_and_keepalive(self):
        """``jobs=`` limits the stream; a quiet stream sends comments."""
        wanted = self.queue.submit([delay(1.0)])
        self.queue.submit([delay(1.0)])
        self.clock.advance(0)
        self.clock.advance(1.0)
        client = yield self.open("/2/jobs/events?jobs=%d" % wanted)
        yield client.until(lambda: "success" in self.statuses(client, wanted))
        self.assertEqual({data["job_id"] for _, _, data in client.events()},
                         {wanted})
        self.clock.advance(KEEPALIVE)
        yield client.until(lambda: b": keepalive\n\n" in client.data)

    @defer.inlineCallbacks
    def test_bad_cursor(self):
        """A malformed Last-Event-ID: 400 with Ganeti's error body."""
        client = yield self.open(headers=[("Last-Event-ID", "nonsense")])
        yield client.closed
        self.assertTrue(client.data.startswith(b"HTTP/1.0 400 "),
                        client.data)
        self.assertIn(b"Invalid event id", client.data)
