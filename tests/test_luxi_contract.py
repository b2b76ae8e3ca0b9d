# -*- test-case-name: tests.test_luxi_contract -*-
"""
The contract of a LUXI handler (L{ILuxiHandler}): what the master's LUXI
socket and RAPI may count on, whoever answers.

L{ILuxiHandlerTestsMixin} holds the checks; each handler gets a subclass
that says how to build one on a fresh one-node master.
"""

from twisted.internet.defer import maybeDeferred
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from ganeti import errors
from ganeti.protocols import luxi_calls
from ganeti.protocols.luxi import ILuxiHandler
from tests.util import SETTINGS, Master

JQUEUE = {"OP_ID": "OP_TEST_JQUEUE"}


class ILuxiHandlerTestsMixin:
    """
    Checks every L{ILuxiHandler} passes; subclasses define
    C{make_handler()}.
    """

    def setUp(self):
        self.handler = self.make_handler()

    def call(self, method, *args):
        """:return: the result of a handler method, Deferred or not."""
        return self.successResultOf(
            maybeDeferred(getattr(self.handler, method), *args))

    def refused(self, error, method, *args):
        """:return: the failure of a call, which must be C{error}."""
        return self.failureResultOf(
            maybeDeferred(getattr(self.handler, method), *args), error)

    def test_interface(self):
        """The handler provides every LUXI method with its arguments."""
        self.assertTrue(verifyObject(ILuxiHandler, self.handler))

    def test_submitted_job_is_queryable(self):
        """A submitted job's id comes back and QueryJobs finds the job."""
        job_id = self.call("SubmitJob", [JQUEUE])
        self.assertEqual(self.call("QueryJobs", [job_id], ["id"]), [[job_id]])

    def test_unknown_job_is_none(self):
        """QueryJobs answers None for a job that does not exist."""
        self.assertEqual(self.call("QueryJobs", [999], ["id"]), [None])

    def test_wrong_argument_type(self):
        """An argument of the wrong type is refused as OpPrereqError."""
        self.refused(errors.OpPrereqError, "CancelJob", "1", False)

    def test_unknown_resource(self):
        """Query and QueryFields refuse a resource type they do not know."""
        self.refused(errors.OpPrereqError, "Query", "nope", ["name"], None)
        self.refused(errors.OpPrereqError, "QueryFields", "nope", [])

    def test_drained_queue(self):
        """
        A drained queue says so and refuses SubmitJob, but not
        SubmitJobToDrainedQueue.
        """
        self.call("SetDrainFlag", True)
        self.assertEqual(self.call("QueryConfigValues", ["drain_flag"]), [True])
        self.refused(errors.JobQueueDrainError, "SubmitJob", [JQUEUE])
        job_id = self.call("SubmitJobToDrainedQueue", [JQUEUE])
        self.assertEqual(self.call("QueryJobs", [job_id], ["id"]), [[job_id]])

    def test_wait_for_unseen_job(self):
        """A client that saw nothing of a job gets its fields at once."""
        job_id = self.call("SubmitJob", [JQUEUE])
        info, _ = self.call("WaitForJobChange", job_id, ["id"], None, None, 10)
        self.assertEqual(info, [job_id])

    def test_cluster_info(self):
        """QueryClusterInfo names the cluster."""
        self.assertEqual(self.call("QueryClusterInfo")["name"],
                         SETTINGS["cluster_name"])


class LuxiHandlerTests(ILuxiHandlerTestsMixin, SynchronousTestCase):
    """The master's real handler, as L{ganeti.master.core} wires it."""

    def make_handler(self):
        return Master(self).handler


class WireTableTests(SynchronousTestCase):
    """The tools' table of calls is the interface's."""

    def test_same_calls_and_arguments(self):
        """L{luxi_calls.METHODS} names the methods of L{ILuxiHandler}, each
        with its arguments in order."""
        self.assertEqual(
            luxi_calls.METHODS,
            {name: ILuxiHandler[name].positional
             for name in ILuxiHandler.names()})
