"""
Tests for job filter rules: checking and evaluating them
(L{ganeti.jobs.filters}), the queue obeying them, their LUXI methods and
query resource, and C{gnt-filter}.
"""

import io
import json
import sys

from twisted.trial.unittest import SynchronousTestCase

from ganeti import config as configmod
from ganeti import errors
from ganeti.cli import base
from ganeti.cli import filter as filtercli
from ganeti.jobs import filters
from ganeti.jobs.job import QueuedJob
from ganeti.master.luxi import LuxiHandler
from tests.util import Master

DELAY = {"OP_ID": "OP_TEST_DELAY", "duration": 1.0}
UUID1 = "11111111-1111-1111-1111-111111111111"
UUID2 = "22222222-2222-2222-2222-222222222222"


def job(job_id, *ops):
    """:return: a queued job with the given opcode dicts."""
    return QueuedJob(job_id, list(ops) or [dict(DELAY)], [0, 0])


def rule(uuid=UUID1, priority=0, predicates=(), action="ACCEPT",
         watermark=0):
    """:return: a compiled rule."""
    return filters.compile_rule(filters.make_rule(
        uuid, watermark, priority, list(predicates), action, []))


def opcode_is(op_id):
    return ["opcode", ["=", "OP_ID", op_id]]


class CheckTests(SynchronousTestCase):
    """What a rule may contain; every refusal names the problem."""

    def assertRefused(self, text, **kwargs):
        args = dict(uuid=UUID1, watermark=0, priority=0, predicates=[],
                    action="ACCEPT", reason_trail=[])
        args.update(kwargs)
        e = self.assertRaises(errors.OpPrereqError, filters.make_rule, **args)
        self.assertIn(text, str(e))
        self.assertEqual(e.args[1], "wrong_input")

    def test_valid_rule(self):
        """A valid rule comes back in Ganeti's configuration form."""
        self.assertEqual(
            filters.make_rule(UUID1, 7, 3, [opcode_is("OP_TEST_DELAY")],
                              ("RATE_LIMIT", 2), [("gnt:user", "why", 5)]),
            {"uuid": UUID1, "watermark": 7, "priority": 3,
             "predicates": [opcode_is("OP_TEST_DELAY")],
             "action": ["RATE_LIMIT", 2],
             "reason_trail": [["gnt:user", "why", 5]]})

    def test_bad_actions(self):
        """Unknown actions and non-positive rate limits are refused."""
        self.assertRefused("Invalid filter action 'DROP'", action="DROP")
        self.assertRefused("Invalid filter action 'accept'", action="accept")
        self.assertRefused("RATE_LIMIT argument must be a positive integer",
                           action=["RATE_LIMIT", 0])
        self.assertRefused("RATE_LIMIT argument", action=["RATE_LIMIT"])

    def test_bad_priority(self):
        """Priorities are non-negative integers."""
        self.assertRefused("non-negative integer, got -1", priority=-1)
        self.assertRefused("non-negative integer, got '1'", priority="1")
        self.assertRefused("non-negative integer, got True", priority=True)

    def test_bad_predicates(self):
        """Unknown predicate names, malformed or wrong-field expressions."""
        self.assertRefused("Unknown filter predicate 'jobname'",
                           predicates=[["jobname", ["=", "id", 1]]])
        self.assertRefused("takes exactly one expression",
                           predicates=[["jobid"]])
        self.assertRefused("Malformed filter predicate",
                           predicates=["jobid"])
        self.assertRefused("must be a list", predicates={"jobid": 1})
        self.assertRefused("Invalid expression in 'jobid' predicate",
                           predicates=[["jobid", ["=", "name", "x"]]])
        self.assertRefused("Invalid expression in 'opcode' predicate",
                           predicates=[["opcode", ["~~", "OP_ID", "x"]]])
        self.assertRefused("needs a filter expression",
                           predicates=[["reason", "source"]])

    def test_bad_uuid_and_trail(self):
        """The uuid must be a UUID; the trail a list of triples."""
        self.assertRefused("Unable to parse UUID", uuid="not-a-uuid")
        self.assertRefused("Invalid reason trail entry",
                           reason_trail=[["a", "b"]])


class EvaluationTests(SynchronousTestCase):
    """Which rule applies to a job, and what it says."""

    def test_jobid_watermark(self):
        """``"watermark"`` in a jobid expression is the rule's watermark."""
        r = rule(predicates=[["jobid", [">", "id", "watermark"]]],
                 watermark=5)
        self.assertFalse(r.matches(job(5)))
        self.assertTrue(r.matches(job(6)))

    def test_opcode_any_opcode_and_dotted_fields(self):
        """An opcode predicate holds if one opcode matches; a missing
        field is simply no match."""
        r = rule(predicates=[["opcode", ["&", ["=", "OP_ID", "OP_TEST_DELAY"],
                                         [">", "duration", 2]]]])
        self.assertFalse(r.matches(job(1, dict(DELAY))))
        self.assertTrue(r.matches(job(1, {"OP_ID": "OP_TEST_DUMMY"},
                                      dict(DELAY, duration=3.0))))
        nested = rule(predicates=[["opcode", ["=", "a.b", "x"]]])
        self.assertTrue(nested.matches(job(1, {"OP_ID": "X",
                                               "a": {"b": "x"}})))
        self.assertFalse(nested.matches(job(1, {"OP_ID": "X"})))
        typed = rule(predicates=[["opcode", ["=", "duration", "long"]]])
        self.assertFalse(typed.matches(job(1, dict(DELAY))))

    def test_reason(self):
        """A reason predicate looks at every trail entry of every opcode."""
        r = rule(predicates=[["reason", ["=~", "reason", "pink bunny"]]])
        tagged = dict(DELAY, reason=[["gnt:user", "maintenance pink bunny",
                                      1]])
        self.assertTrue(r.matches(job(1, dict(DELAY), tagged)))
        self.assertFalse(r.matches(job(1, dict(DELAY))))

    def test_all_predicates_must_hold(self):
        """No predicates match every job; several must all hold."""
        self.assertTrue(rule().matches(job(1)))
        both = rule(predicates=[opcode_is("OP_TEST_DELAY"),
                                ["jobid", ["<", "id", 3]]])
        self.assertTrue(both.matches(job(2)))
        self.assertFalse(both.matches(job(3)))

    def test_order_and_continue(self):
        """Lower priority first, then watermark, then uuid; CONTINUE rules
        are passed over."""
        rules = filters.compile_rules({
            UUID2: filters.make_rule(UUID2, 0, 1, [], "REJECT", []),
            UUID1: filters.make_rule(UUID1, 0, 1, [], "PAUSE", []),
            "33333333-3333-3333-3333-333333333333": filters.make_rule(
                "33333333-3333-3333-3333-333333333333", 0, 0, [],
                "CONTINUE", []),
        })
        self.assertEqual([r.action for r in rules],
                         ["CONTINUE", "PAUSE", "REJECT"])
        admission = filters.Admission(rules, [])
        self.assertEqual(admission.decide(job(1), True)[0], "PAUSE")
        self.assertEqual(admission.applying_rule(job(1)).uuid, UUID1)

    def test_rate_limit_counts_running_jobs(self):
        """Running jobs take the slots of the rate limit applying to them."""
        limit = rule(action=["RATE_LIMIT", 2],
                     predicates=[opcode_is("OP_TEST_DELAY")])
        admission = filters.Admission([limit], [job(1)])
        self.assertEqual(admission.decide(job(2), True)[0], "ACCEPT")
        self.assertEqual(admission.decide(job(3), True)[0], "PAUSE")
        other = job(4, {"OP_ID": "OP_TEST_DUMMY"})
        self.assertEqual(admission.decide(other, True), ("ACCEPT", None))
        self.assertEqual(admission.decide(other, False), ("PAUSE", None))

    def test_invalid_stored_rule_is_skipped(self):
        """A broken rule in the configuration is ignored, not fatal."""
        rules = filters.compile_rules({UUID1: {"priority": 0, "watermark": 0,
                                               "predicates": [],
                                               "action": "DROP"}})
        self.assertEqual(rules, [])
        self.flushLoggedErrors()


class QueueTests(SynchronousTestCase):
    """A real queue on a clock obeys the rules set through LUXI."""

    def setUp(self):
        self.master = Master(self, max_running=5)
        self.queue = self.master.queue
        self.clock = self.master.clock
        self.luxi = LuxiHandler(self.master)

    def status(self, job_id):
        return self.queue.get(job_id).status

    def add(self, action, predicates=(), priority=0, uuid=None):
        return self.luxi.ReplaceFilter(uuid, priority, list(predicates),
                                       action, [])

    def test_pause_then_delete(self):
        """A PAUSE rule keeps jobs queued; deleting it lets them run."""
        uuid = self.add("PAUSE")
        job_id = self.queue.submit([DELAY])
        self.clock.advance(5)
        self.assertEqual(self.status(job_id), "queued")
        self.luxi.DeleteFilter(uuid)
        self.assertEqual(self.status(job_id), "running")
        self.clock.advance(1.1)
        self.assertEqual(self.status(job_id), "success")

    def test_pause_does_not_stop_running_jobs(self):
        """Jobs already running are not affected by a new PAUSE."""
        job_id = self.queue.submit([DELAY])
        self.add("PAUSE")
        self.clock.advance(1.1)
        self.assertEqual(self.status(job_id), "success")

    def test_reject_cancels_queued_and_new_jobs(self):
        """REJECT cancels matching queued jobs at once, and new ones."""
        paused = self.add("PAUSE", priority=1)
        queued = self.queue.submit([DELAY])
        self.add("REJECT", [opcode_is("OP_TEST_DELAY")], uuid=UUID1)
        self.assertEqual(self.status(queued), "canceled")
        self.assertEqual(self.queue.get(queued).ops[0].result,
                         "Job canceled by request")
        later = self.queue.submit([DELAY])
        self.assertEqual(self.status(later), "canceled")
        self.luxi.DeleteFilter(paused)
        dummy = self.queue.submit([{"OP_ID": "OP_TEST_DUMMY"}])
        self.assertEqual(self.status(dummy), "success")

    def test_reject_without_free_slot(self):
        """Rejection does not wait for a free slot."""
        master = Master(self, max_running=0)
        luxi = LuxiHandler(master)
        job_id = master.queue.submit([DELAY])
        luxi.ReplaceFilter(None, 0, [], "REJECT", [])
        self.assertEqual(master.queue.get(job_id).status, "canceled")

    def test_rate_limit(self):
        """RATE_LIMIT 2 lets two matching jobs run at a time."""
        self.add(["RATE_LIMIT", 2], [opcode_is("OP_TEST_DELAY")])
        ids = [self.queue.submit([DELAY]) for _ in range(5)]
        self.assertEqual([self.status(i) for i in ids],
                         ["running"] * 2 + ["queued"] * 3)
        dummy = self.queue.submit([{"OP_ID": "OP_TEST_DUMMY"}])
        self.assertEqual(self.status(dummy), "success")
        self.clock.advance(1.1)
        self.assertEqual([self.status(i) for i in ids],
                         ["success"] * 2 + ["running"] * 2 + ["queued"])
        self.clock.advance(1.1)
        self.clock.advance(1.1)
        self.assertEqual([self.status(i) for i in ids], ["success"] * 5)

    def test_rate_limit_counts_jobs_started_before_it(self):
        """Jobs running when the rule is added occupy its slots."""
        first = self.queue.submit([DELAY])
        self.add(["RATE_LIMIT", 1], [opcode_is("OP_TEST_DELAY")])
        second = self.queue.submit([DELAY])
        self.assertEqual(self.status(second), "queued")
        self.clock.advance(1.1)
        self.assertEqual((self.status(first), self.status(second)),
                         ("success", "running"))

    def test_accept_before_pause(self):
        """A lower priority number is looked at first: an ACCEPT for one
        opcode beats a PAUSE for everything; CONTINUE changes nothing."""
        self.add("CONTINUE", [], priority=0)
        self.add("ACCEPT", [opcode_is("OP_TEST_DUMMY")], priority=1)
        self.add("PAUSE", [], priority=2)
        delay = self.queue.submit([DELAY])
        dummy = self.queue.submit([{"OP_ID": "OP_TEST_DUMMY"}])
        self.assertEqual((self.status(delay), self.status(dummy)),
                         ("queued", "success"))

    def test_watermark_spares_older_jobs(self):
        """A soft drain (PAUSE for ids above the watermark) lets jobs
        submitted before the rule start, and holds the later ones."""
        master = Master(self, max_running=1)
        luxi = LuxiHandler(master)
        queue = master.queue
        first, second = queue.submit([DELAY]), queue.submit([DELAY])
        uuid = luxi.ReplaceFilter(None, 0, [["jobid", [">", "id",
                                                        "watermark"]]],
                                  "PAUSE", [])
        third = queue.submit([DELAY])
        self.assertEqual(master.config.config.filters[uuid]["watermark"], 2)
        master.clock.advance(1.1)
        master.clock.advance(1.1)
        self.assertEqual([queue.get(i).status for i in (first, second, third)],
                         ["success", "success", "queued"])

    def test_replace_updates_watermark_and_trail(self):
        """Replacing keeps the uuid, renews the watermark, and the trail
        ends with the master's own entry."""
        uuid = self.add("PAUSE")
        self.queue.submit([DELAY])
        self.clock.advance(3)
        same = self.luxi.ReplaceFilter(uuid, 4, [], "ACCEPT",
                                       [["gnt:user", "done", 1]])
        self.assertEqual(same, uuid)
        stored = self.master.config.config.filters[uuid]
        self.assertEqual((stored["priority"], stored["action"],
                          stored["watermark"]), (4, "ACCEPT", 1))
        self.assertEqual(stored["reason_trail"],
                         [["gnt:user", "done", 1], ["luxid", "", 3000000000]])
        self.assertEqual(self.status(1), "running")

    def test_rules_survive_restart(self):
        """Rules are in config.data, so a new master obeys them."""
        self.add("PAUSE", uuid=UUID1)
        self.queue.submit([DELAY])
        self.queue.stopService()
        again = Master(self, paths=self.master.paths)
        self.assertEqual(list(again.config.config.filters), [UUID1])
        self.assertEqual(again.queue.get(1).status, "queued")

    def test_bad_input_changes_nothing(self):
        """Refused rules leave the configuration untouched."""
        serial = self.master.config.config.serial_no
        for args in [(None, -1, [], "PAUSE", []),
                     (None, 0, [["nope", []]], "PAUSE", []),
                     (None, 0, [], "STOP", []),
                     ("xyz", 0, [], "PAUSE", []),
                     (None, 0, [], "PAUSE", "because")]:
            self.assertRaises(errors.OpPrereqError,
                              self.luxi.ReplaceFilter, *args)
        e = self.assertRaises(errors.OpPrereqError, self.luxi.DeleteFilter,
                              UUID1)
        self.assertEqual(e.args, ("Filter rule with UUID %s does not exist"
                                  % UUID1, "noent"))
        self.assertEqual(self.master.config.config.serial_no, serial)
        self.assertEqual(configmod.load(self.master.paths.config_data).filters,
                         {})


class QueryTests(SynchronousTestCase):
    """The ``filter`` query resource and QueryFilters."""

    def setUp(self):
        self.master = Master(self)
        self.luxi = LuxiHandler(self.master)
        self.luxi.ReplaceFilter(UUID2, 1, [], "PAUSE", [])
        self.luxi.ReplaceFilter(UUID1, 0, [], ["RATE_LIMIT", 3], [])

    def test_query(self):
        """Rows come sorted by uuid; a filter selects among them."""
        result = self.luxi.Query("filter", ["uuid", "action"], None)
        self.assertEqual(result["data"],
                         [[[0, UUID1], [0, ["RATE_LIMIT", 3]]],
                          [[0, UUID2], [0, "PAUSE"]]])
        result = self.luxi.Query("filter", ["uuid"], ["=", "priority", 1])
        self.assertEqual(result["data"], [[[0, UUID2]]])

    def test_fields(self):
        """Ganeti's six fields, all of kind "other"."""
        fields = self.luxi.QueryFields("filter", None)["fields"]
        self.assertEqual(sorted(f["name"] for f in fields),
                         ["action", "predicates", "priority", "reason_trail",
                          "uuid", "watermark"])
        self.assertEqual({f["kind"] for f in fields}, {"other"})

    def test_query_filters(self):
        """QueryFilters answers plain values, in the asked order."""
        self.assertEqual(self.luxi.QueryFilters([UUID2, UUID1],
                                                ["uuid", "priority"]),
                         [[UUID2, 1], [UUID1, 0]])
        self.assertEqual(len(self.luxi.QueryFilters(None, ["uuid"])), 2)
        e = self.assertRaises(errors.OpPrereqError, self.luxi.QueryFilters,
                              ["33333333-3333-3333-3333-333333333333"],
                              ["uuid"])
        self.assertEqual(e.args[1], "noent")


class _HandlerClient:
    """The tools' LUXI client, calling a handler directly."""

    def __init__(self, handler):
        self._handler = handler

    def call(self, method, *args):
        return getattr(self._handler, method)(*args)


class CommandLineTests(SynchronousTestCase):
    """``gnt-filter`` against a real handler."""

    def setUp(self):
        self.master = Master(self)
        self.patch(base, "_client", _HandlerClient(LuxiHandler(self.master)))

    def run_tool(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        code = base.main(filtercli.COMMANDS, argv=["gnt-filter"] + list(argv))
        return code, out.getvalue(), err.getvalue()

    def test_add_list_info_delete(self):
        """add prints the uuid; list, info and delete use it."""
        code, out, _ = self.run_tool(
            "add", "--priority", "2", "--action", "RATE_LIMIT 4",
            "--predicates", json.dumps([opcode_is("OP_TEST_DELAY")]),
            "--reason", "slow down")
        self.assertEqual(code, 0)
        uuid = out.strip()
        stored = self.master.config.config.filters[uuid]
        self.assertEqual((stored["priority"], stored["action"]),
                         (2, ["RATE_LIMIT", 4]))
        self.assertEqual(stored["reason_trail"][0][:2],
                         ["gnt:user", "slow down"])
        code, out, _ = self.run_tool("list", "--no-headers", "-o",
                                     "uuid,priority,action")
        self.assertEqual(out.split(), [uuid, "2", "RATE_LIMIT,4"])
        code, out, _ = self.run_tool("info", uuid)
        self.assertEqual(out.splitlines()[:5], [
            "UUID: %s" % uuid, "  Watermark: 0", "  Priority: 2",
            "  Predicates: [['opcode', ['=', 'OP_ID', 'OP_TEST_DELAY']]]",
            "  Action: ['RATE_LIMIT', 4]"])
        self.assertEqual(self.run_tool("delete", uuid)[0], 0)
        self.assertEqual(self.master.config.config.filters, {})

    def test_replace_creates_under_uuid(self):
        """replace with an unknown uuid creates the rule; defaults apply."""
        code, out, _ = self.run_tool("replace", UUID1)
        self.assertEqual((code, out.strip()), (0, UUID1))
        stored = self.master.config.config.filters[UUID1]
        self.assertEqual((stored["priority"], stored["predicates"],
                          stored["action"]), (0, [], "CONTINUE"))

    def test_errors(self):
        """Bad values are refused with Ganeti's exit codes and a message."""
        code, _, err = self.run_tool("add", "--priority", "-3")
        self.assertEqual(code, 1)
        self.assertIn("non-negative integer", err)
        code, _, err = self.run_tool("delete", UUID1)
        self.assertEqual(code, 1)
        self.assertIn("does not exist", err)
        self.assertRaises(SystemExit, self.run_tool, "add", "--action",
                          "RATE_LIMIT x")
        code, _, _ = self.run_tool("list-fields", "nosuchfield")
        self.assertEqual(code, base.EXIT_UNKNOWN_FIELD)
        self.assertEqual(self.master.config.config.filters, {})
