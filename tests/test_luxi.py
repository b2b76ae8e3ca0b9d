"""
Tests for the LUXI protocol: value chunking, the AMP binding in the daemon
and the blocking client of the tools, talking over a real Unix socket.
"""

import os

from twisted.internet import reactor
from twisted.internet.endpoints import UNIXServerEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.threads import deferToThread
from twisted.protocols import amp
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti import errors
from ganeti.cli.client import LuxiClient
from ganeti.protocols import boxes, luxi_calls
from ganeti.protocols.jsonamp import JsonLocator, decode_error, make_commands

COMMANDS = make_commands(luxi_calls.METHODS)


class Handler:
    """A LUXI handler answering a few methods."""

    def QueryConfigValues(self, fields):
        return [f.upper() for f in fields]

    def SubmitJob(self, ops):
        if not ops:
            raise errors.OpPrereqError("no ops", "wrong_input")
        return len(ops)

    def QueryJobs(self, job_ids, fields):
        raise ValueError("a bug")


class ChunkingTests(SynchronousTestCase):
    """Values larger than AMP's limit are split over several keys."""

    def test_round_trip_large(self):
        """A 200 KB value survives encoding and decoding."""
        value = {"log": ["x" * 1000] * 200}
        pairs = boxes.encode_value("result", value)
        self.assertTrue(len(pairs) > 3)
        self.assertTrue(all(len(v) <= boxes.MAX_VALUE_LENGTH for _, v in pairs))
        self.assertEqual(boxes.decode_value("result", dict(pairs)), value)

    def test_small_single_key(self):
        """A small value uses exactly its own key."""
        self.assertEqual(boxes.encode_value("ops", [1]), [(b"ops", b"[1]")])


class AMPBindingTests(SynchronousTestCase):
    """The daemon's AMP binding, driven by an AMP client in memory."""

    def setUp(self):
        server = amp.AMP(locator=JsonLocator(Handler(), COMMANDS))
        self.client = amp.AMP()
        self.pump = iosim.connectedServerAndClient(
            lambda: server, lambda: self.client)[2]

    def call(self, method, **kwargs):
        # Outcomes are captured before the pump runs: AMP swallows failures
        # that nobody handles by the time the answer arrives.
        outcome = []
        d = self.client.callRemote(COMMANDS[method], **kwargs)
        d.addErrback(decode_error).addBoth(outcome.append)
        self.pump.flush()
        [result] = outcome
        return result

    def test_answer(self):
        """A method's return value comes back as the result."""
        self.assertEqual(self.call("QueryConfigValues", fields=["a", "b"]),
                         {"result": ["A", "B"]})

    def test_ganeti_error_keeps_class_and_args(self):
        """A Ganeti error reaches the caller as the same class and args."""
        failure = self.call("SubmitJob", ops=[])
        self.assertIsInstance(failure.value, errors.OpPrereqError)
        self.assertEqual(failure.value.args, ("no ops", "wrong_input"))


class BlockingClientTests(TestCase):
    """The tools' blocking client against the real daemon binding."""

    def setUp(self):
        self.path = os.path.abspath(self.mktemp())
        endpoint = UNIXServerEndpoint(reactor, self.path)
        factory = Factory.forProtocol(lambda: amp.AMP(locator=JsonLocator(Handler(), COMMANDS)))
        d = endpoint.listen(factory)
        d.addCallback(lambda port: self.addCleanup(port.stopListening))
        return d

    def in_thread(self, method, *args):
        client = LuxiClient(self.path)

        def call():
            try:
                return client.call(method, *args)
            finally:
                client.close()
        return deferToThread(call)

    def test_call(self):
        """A call returns the decoded result."""
        d = self.in_thread("QueryConfigValues", ["x" * 70000])
        return d.addCallback(self.assertEqual, ["X" * 70000])

    def test_error(self):
        """A Ganeti error is raised in the client as the same class."""
        d = self.in_thread("SubmitJob", [])
        return self.assertFailure(d, errors.OpPrereqError)

    def test_unexpected_error(self):
        """A bug in the master becomes a LuxiError, not a hang."""
        d = self.in_thread("QueryJobs", [1], ["id"])
        d = self.assertFailure(d, errors.LuxiError)
        return d.addCallback(lambda _: self.flushLoggedErrors(ValueError))

    def test_no_master(self):
        """Without a master the client says it cannot communicate."""
        client = LuxiClient(self.path + ".missing")
        e = self.assertRaises(errors.LuxiError, client.call, "QueryClusterInfo")
        self.assertIn("Cannot communicate with the master daemon", str(e))
