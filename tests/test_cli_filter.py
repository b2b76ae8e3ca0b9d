"""
Tests for L{ganeti.cli.filter}: what ``gnt-filter`` command lines ask the
master, what the tool prints and its exit codes, without a master
(L{tests.test_filters} runs the tool against a real one).
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors
from ganeti.cli import filter as filtercli
from ganeti.cli.testing import FakeTool, query_result

UUID = "4c5b7a8e-2d1f-4a3b-9c6d-0e1f2a3b4c5d"


class FilterToolTestCase(SynchronousTestCase):
    """Runs ``gnt-filter`` on a fake master."""

    def setUp(self):
        self.tool = FakeTool(self, filtercli)
        self.client = self.tool.client
        self.client.answers["ReplaceFilter"] = \
            lambda uuid, *rule: uuid or UUID


class RuleTests(FilterToolTestCase):
    """``gnt-filter add`` and ``replace``."""

    def test_add(self):
        """The rule's options become ReplaceFilter's arguments."""
        code, out, _ = self.tool.run(
            "add", "--priority", "2", "--action", "RATE_LIMIT 4",
            "--predicates", '[["opcode", ["=", "OP_ID", "OP_TEST_DELAY"]]]',
            "--reason", "slow down")
        self.assertEqual((code, out), (0, UUID + "\n"))
        [(method, uuid, priority, predicates, action, reason)] = \
            self.client.calls
        self.assertEqual((method, uuid, priority, predicates, action), (
            "ReplaceFilter", None, 2,
            [["opcode", ["=", "OP_ID", "OP_TEST_DELAY"]]], ["RATE_LIMIT", 4]))
        self.assertEqual([entry[:2] for entry in reason],
                         [["gnt:user", "slow down"]])

    def test_defaults(self):
        """Without options the rule is CONTINUE, priority 0, no predicates."""
        self.assertEqual(self.tool.run("replace", UUID), (0, UUID + "\n", ""))
        self.assertEqual(self.client.calls,
                         [("ReplaceFilter", UUID, 0, [], "CONTINUE", [])])

    def test_simple_action(self):
        """A one-word action is passed as it is."""
        self.tool.run("add", "--action", "REJECT")
        self.assertEqual(self.client.calls[0][4], "REJECT")

    def test_bad_action(self):
        """An unknown action is refused by the parser, exit 2."""
        code, _, err = self.tool.run("add", "--action", "RATE_LIMIT fast")
        self.assertEqual(code, 2)
        self.assertIn("invalid filter action 'RATE_LIMIT fast'", err)
        self.assertEqual(self.client.calls, [])

    def test_bad_predicates(self):
        """Predicates that are not JSON are refused by the parser."""
        code, _, err = self.tool.run("add", "--predicates", "[opcode")
        self.assertEqual(code, 2)
        self.assertIn("invalid JSON in predicates", err)

    def test_refused_by_master(self):
        """The master's objection is printed in Ganeti's words, exit 1."""
        def refuse(*args):
            raise errors.OpPrereqError("Priority must be a non-negative"
                                       " integer", "wrong_input")
        self.client.answers["ReplaceFilter"] = refuse
        code, _, err = self.tool.run("add", "--priority", "-1")
        self.assertEqual(code, 1)
        self.assertIn("error details:\nPriority must be a non-negative"
                      " integer", err)


class ShowTests(FilterToolTestCase):
    """``gnt-filter delete``, ``info`` and ``list``."""

    def test_delete(self):
        """delete names the rule."""
        self.client.answers["DeleteFilter"] = None
        self.assertEqual(self.tool.run("delete", UUID), (0, "", ""))
        self.assertEqual(self.client.calls, [("DeleteFilter", UUID)])

    def test_info(self):
        """One block per rule."""
        self.client.answers["QueryFilters"] = [
            [UUID, 7, 0, [], "ACCEPT", [["gnt:user", "ok", 1]]]]
        self.assertEqual(self.tool.run("info", UUID)[1].splitlines(), [
            "UUID: %s" % UUID, "  Watermark: 7", "  Priority: 0",
            "  Predicates: []", "  Action: ACCEPT",
            "  Reason trail: [['gnt:user', 'ok', 1]]"])
        self.assertEqual(self.client.calls[0][1], [UUID])

    def test_list(self):
        """list selects rules by uuid."""
        self.client.answers["Query"] = query_result(
            ["uuid", "priority"], [[UUID, 0]])
        self.assertEqual(self.tool.run("list", "--no-headers", "-o",
                                       "uuid,priority", UUID),
                         (0, "%s 0\n" % UUID, ""))
        self.assertEqual(self.client.calls[0][1:], (
            "filter", ["uuid", "priority"], ["|", ["==", "uuid", UUID]]))

    def test_extra_argument(self):
        """add takes no argument."""
        self.assertEqual(self.tool.run("add", UUID), (
            1, "", "Error: Command add expects no arguments\n"))
