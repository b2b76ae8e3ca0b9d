"""
Tests for opcode validation and summaries.
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors, opcodes


class ValidateTests(SynchronousTestCase):
    """Submitted opcodes are checked and completed with defaults."""

    def test_defaults_filled(self):
        """Missing optional parameters get Ganeti's defaults."""
        op = opcodes.validate({"OP_ID": "OP_TEST_DELAY", "duration": 2})
        self.assertEqual(op["on_master"], True)
        self.assertEqual(op["on_nodes"], [])
        self.assertEqual(op["no_locks"], True)
        self.assertEqual(op["priority"], 0)
        self.assertEqual(op["reason"], [])

    def test_defaults_not_shared(self):
        """Two opcodes never share a mutable default."""
        first = opcodes.validate({"OP_ID": "OP_TEST_DELAY", "duration": 1})
        first["on_nodes"].append("x")
        second = opcodes.validate({"OP_ID": "OP_TEST_DELAY", "duration": 1})
        self.assertEqual(second["on_nodes"], [])

    def test_required_missing(self):
        """A missing required parameter is named with its type."""
        e = self.assertRaises(errors.OpPrereqError, opcodes.validate,
                              {"OP_ID": "OP_TEST_DELAY"})
        self.assertEqual(str(e), "Parameter 'OP_TEST_DELAY.duration' fails"
                                 " validation: expected a number, got nothing")
        self.assertEqual(e.args[1], "wrong_input")

    def test_wrong_type(self):
        """A wrongly typed value is refused with the expected type."""
        e = self.assertRaises(errors.OpPrereqError, opcodes.validate,
                              {"OP_ID": "OP_TEST_DELAY", "duration": 1,
                               "on_nodes": "node1"})
        self.assertIn("OP_TEST_DELAY.on_nodes", str(e))
        self.assertIn("a list of non-empty strings", str(e))

    def test_boolean_is_not_a_number(self):
        """True is not accepted where a number is wanted."""
        self.assertRaises(errors.OpPrereqError, opcodes.validate,
                          {"OP_ID": "OP_TEST_DELAY", "duration": True})

    def test_unknown_parameter(self):
        """Parameters an opcode does not have are refused."""
        e = self.assertRaises(errors.OpPrereqError, opcodes.validate,
                              {"OP_ID": "OP_TEST_DELAY", "duration": 1,
                               "durration": 2})
        self.assertIn("durration", str(e))

    def test_unknown_opcode(self):
        """An unknown or missing OP_ID is OpCodeUnknown."""
        self.assertRaises(errors.OpCodeUnknown, opcodes.validate, {"OP_ID": "OP_X"})
        self.assertRaises(errors.OpCodeUnknown, opcodes.validate, {})

    def test_not_an_object(self):
        """An opcode must be a JSON object."""
        self.assertRaises(errors.OpPrereqError, opcodes.validate, ["OP_TEST_DELAY"])

    def test_depends_shape(self):
        """Dependencies are [job id, [final statuses]] pairs."""
        opcodes.validate({"OP_ID": "OP_TEST_JQUEUE", "depends": [[1, ["success"]]]})
        self.assertRaises(errors.OpPrereqError, opcodes.validate,
                          {"OP_ID": "OP_TEST_JQUEUE", "depends": [[1, ["running"]]]})


class DiskSizeTests(SynchronousTestCase):
    """Disk sizes written with a unit become MiB during validation."""

    def test_create_sizes(self):
        """``"1G"`` in a creation's disks is 1024; numbers stay."""
        op = opcodes.validate({
            "OP_ID": "OP_INSTANCE_CREATE", "instance_name": "i1",
            "nics": [], "disks": [{"size": "1G", "mode": "rw"},
                                  {"size": 512}]})
        self.assertEqual(op["disks"], [{"size": 1024, "mode": "rw"},
                                       {"size": 512}])

    def test_modification_sizes(self):
        """The parameters of ``[action, index, params]`` are converted."""
        op = opcodes.validate({
            "OP_ID": "OP_INSTANCE_SET_PARAMS", "instance_name": "i1",
            "disks": [["add", -1, {"size": "2.5g"}], ["remove", 0, {}]]})
        self.assertEqual(op["disks"], [["add", -1, {"size": 2560}],
                                       ["remove", 0, {}]])

    def test_bad_size(self):
        """A size that is no size is refused, naming the value."""
        e = self.assertRaises(errors.OpPrereqError, opcodes.validate, {
            "OP_ID": "OP_INSTANCE_SET_PARAMS", "instance_name": "i1",
            "disks": [["add", -1, {"size": "lots"}]]})
        self.assertEqual(str(e), "Parameter 'OP_INSTANCE_SET_PARAMS.disks' has"
                                 " an invalid size 'lots': Invalid format")
        self.assertEqual(e.args[1], "wrong_input")


class ModificationTests(SynchronousTestCase):
    """The disk and NIC changes of instance modify are checked item by item."""

    def modify(self, **params):
        return opcodes.validate(dict({"OP_ID": "OP_INSTANCE_SET_PARAMS",
                                      "instance_name": "i1"}, **params))

    def test_both_forms(self):
        """``[action, params]``, ``[index, params]``, ``[action, id, params]``."""
        nics = [["add", {}], [0, {"ip": "192.0.2.9"}], ["modify", "1", {}],
                ["remove", -1, {}]]
        self.assertEqual(self.modify(nics=nics)["nics"], nics)

    def test_refused(self):
        """Other shapes fail validation, naming what is expected."""
        for nics in ([[], True], [["grow", {}]], [["add"]], [[-1, {}]],
                     [["modify", 0, "ip=1"]], ["add"]):
            e = self.assertRaises(errors.OpPrereqError, self.modify, nics=nics)
            self.assertIn("expected a list of [action or index, parameters]"
                          " or [action, identifier, parameters] items", str(e))


class TagTests(SynchronousTestCase):
    """Tags are non-empty strings, as in Ganeti."""

    def test_empty_tag(self):
        """An empty tag is refused by every opcode that takes tags."""
        for op in ({"OP_ID": "OP_TAGS_SET", "kind": "cluster", "tags": [""]},
                   {"OP_ID": "OP_TAGS_DEL", "kind": "cluster", "tags": [""]},
                   {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": "i1",
                    "nics": [], "disks": [], "tags": ["a", ""]}):
            self.assertRaises(errors.OpPrereqError, opcodes.validate, op)


class HostNameTests(SynchronousTestCase):
    """
    New instance, node and cluster names are normalised and checked as
    Ganeti does, whether or not the name check resolves them.
    """

    def _create(self, name):
        return opcodes.validate({"OP_ID": "OP_INSTANCE_CREATE",
                                 "instance_name": name, "nics": [],
                                 "disks": []})

    def test_lower_cased(self):
        """Upper case and a trailing dot are normalised away."""
        self.assertEqual(self._create("Inst1.Example.COM.")["instance_name"],
                         "inst1.example.com")

    def test_refused(self):
        """Shell metacharacters, spaces, empty labels and a leading dot fail."""
        for name in ["in;st9", "$(touch /tmp/pwned)", "a b", "a..b", ".a",
                     "x/y", "\u00e9t\u00e9", "a" * 256, "nul\x00"]:
            e = self.assertRaises(errors.OpPrereqError, self._create, name)
            self.assertEqual(str(e), "Invalid hostname '%s'" % name.lower())
            self.assertEqual(e.args[1], "wrong_input")

    def test_longest(self):
        """255 characters of the allowed set pass."""
        self.assertEqual(self._create("a" * 255)["instance_name"], "a" * 255)

    def test_every_new_name(self):
        """Rename, node add, cluster rename and multi-alloc check too."""
        cases = [
            {"OP_ID": "OP_INSTANCE_RENAME", "instance_name": "i1",
             "new_name": "in;st"},
            {"OP_ID": "OP_NODE_ADD", "node_name": "in;st"},
            {"OP_ID": "OP_CLUSTER_RENAME", "name": "in;st"},
            {"OP_ID": "OP_INSTANCE_MULTI_ALLOC",
             "instances": [{"instance_name": "in;st"}]},
        ]
        for op in cases:
            e = self.assertRaises(errors.OpPrereqError, opcodes.validate, op)
            self.assertEqual(str(e), "Invalid hostname 'in;st'")

    def test_existing_names_not_checked(self):
        """An instance stored under an odd name can still be removed."""
        op = opcodes.validate({"OP_ID": "OP_INSTANCE_REMOVE",
                               "instance_name": "in;st"})
        self.assertEqual(op["instance_name"], "in;st")


class SummaryTests(SynchronousTestCase):
    """Job summaries as gnt-job list shows them."""

    def test_with_field(self):
        """The summary field is shown in parentheses."""
        self.assertEqual(opcodes.summary({"OP_ID": "OP_TEST_DELAY",
                                          "duration": 1.0}), "TEST_DELAY(1.0)")

    def test_without_field(self):
        """Opcodes without a summary field show their name only."""
        self.assertEqual(opcodes.summary({"OP_ID": "OP_CLUSTER_VERIFY"}),
                         "CLUSTER_VERIFY")
