# -*- test-case-name: tests.test_jobqueue,tests.test_iallocator -*-
"""
Opcodes that exist to exercise the job queue (``gnt-debug``).
"""

import json

from twisted.internet.defer import inlineCallbacks, returnValue
from twisted.internet.task import deferLater

from ganeti import errors, iallocator
from ganeti.cmdlib import allocators
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import get_instance
from ganeti import locking


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
        return [(locking.LEVEL_NODE, sorted(nodes), False)] if nodes else []

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


class LUTestAllocator(LogicalUnit):
    """
    ``gnt-debug iallocator``: show the document an allocator would get
    (direction ``in``) or what it answers to it (``out``), unchecked, to
    debug an allocator.  ``multi-allocate`` is tried through the real
    opcode instead.
    """

    def check_prereq(self):
        op, cfg = self.op, self.cfg
        if op["mode"] == iallocator.MODE_ALLOC:
            if op["memory"] is None or op["vcpus"] is None:
                raise errors.OpPrereqError("Missing memory or vcpus for an"
                                           " allocation test", "wrong_input")
            self.request = dict(iallocator.allocate_request(
                op["name"], op["disk_template"] or
                cfg.cluster.enabled_disk_templates[0], op["disks"] or [],
                op["nics"] or [], op["vcpus"], op["memory"], op["os"],
                op["hypervisor"] or cfg.cluster.default_hypervisor,
                tags=op["tags"], spindle_use=op["spindle_use"],
                group_name=op["group_name"]), type=op["mode"])
        elif op["mode"] == iallocator.MODE_RELOC:
            self.request = iallocator.relocate_request(
                cfg, get_instance(cfg, op["name"]))
        elif op["mode"] in (iallocator.MODE_NODE_EVAC,
                            iallocator.MODE_CHG_GROUP):
            for name in op["instances"] or []:
                get_instance(cfg, name)
            self.request = {"type": op["mode"],
                            "instances": list(op["instances"] or [])}
            if op["mode"] == iallocator.MODE_NODE_EVAC:
                self.request["evac_mode"] = op["evac_mode"] or "all"
            else:
                self.request["target_groups"] = list(op["target_groups"] or [])
        else:
            raise errors.OpPrereqError("Unsupported allocator mode %r for"
                                       " this test" % op["mode"], "wrong_input")
        if op["direction"] == "out":
            if not op["iallocator"]:
                raise errors.OpPrereqError("Missing allocator name",
                                           "wrong_input")
            self.script = allocators.find(self.ctx.paths, op["iallocator"])

    @inlineCallbacks
    def execute(self):
        document = yield allocators.build_input(self.ctx, self.request)
        text = json.dumps(document, indent=2, sort_keys=True)
        if self.op["direction"] == "in":
            returnValue(text)
        answer = yield allocators.run_script(
            self.ctx.reactor, self.script, text,
            self.cfg.cluster.default_iallocator_params, self.ctx.paths.run_dir)
        returnValue(answer.decode("utf-8", "replace"))
