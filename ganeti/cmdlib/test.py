# -*- test-case-name: tests.test_cmdlib -*-
"""
Opcodes that exist to exercise the job queue (``gnt-debug``).
"""

from twisted.internet.task import deferLater

from ganeti import errors
from ganeti.cmdlib.base import LogicalUnit
from ganeti.jobs import locks


class LUTestDelay(LogicalUnit):
    """
    Wait C{duration} seconds on the master, C{repeat} times.

    With ``no_locks`` false it holds the master's node lock meanwhile,
    which makes it a handy way to see lock waits (``gnt-debug locks``).
    """

    BGL_SHARED = None

    def needed_locks(self):
        if self.op["duration"] <= 0:
            raise errors.OpPrereqError("Duration must be greater than zero",
                                       "wrong_input")
        if self.op["no_locks"]:
            return []
        nodes = self._node_names()
        return [(locks.LEVEL_NODE, sorted(nodes), False)] if nodes else []

    def _node_names(self):
        names = set()
        for name in self.op["on_nodes"]:
            if self.cfg.node_by_name(name) is None:
                raise errors.OpPrereqError("Node '%s' is unknown" % name, "noent")
            names.add(name)
        if self.op["on_master"]:
            names.add(self.cfg.master_node.name)
        return names

    def check_prereq(self):
        self._node_names()

    def execute(self):
        repeat = self.op["repeat"]
        if repeat == 0:
            return self._delay()
        d = None
        for i in range(repeat):
            def step(_, i=i):
                self.log_info("Test delay iteration %d/%d" % (i, repeat - 1))
                return self._delay()
            d = step(None) if d is None else d.addCallback(step)
        return d.addCallback(lambda _: None)

    def _delay(self):
        return deferLater(self.ctx.reactor, self.op["duration"], lambda: None)


#: Prefix of the messages ``gnt-debug test-jobqueue`` looks for.
TEST_MESSAGE_PREFIX = "TESTMSG="


class LUTestJqueue(LogicalUnit):
    """
    Log the given messages and optionally fail: lets ``gnt-debug
    test-jobqueue`` check that feedback and failures reach the client.
    """

    BGL_SHARED = None

    def execute(self):
        self.log_info("Executing")
        for index, message in enumerate(self.op["log_messages"], 1):
            self.log_info("Sending log message %d" % index)
            self.feedback(TEST_MESSAGE_PREFIX + message)
        if self.op["fail"]:
            raise errors.OpExecError("Opcode failure was requested")
        return True


class LUTestDummy(LogicalUnit):
    """Return C{result}, log C{messages}, fail on request; for tests."""

    BGL_SHARED = None

    def execute(self):
        for message in self.op["messages"] or []:
            self.feedback(str(message))
        if self.op["fail"]:
            raise errors.OpExecError("Failure requested")
        if self.op["submit_jobs"]:
            return {"jobs": self.op["submit_jobs"]}
        return self.op["result"]
