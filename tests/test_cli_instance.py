"""
Tests for L{ganeti.cli.instance}: the opcodes ``gnt-instance`` builds.
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti.cli import base, instance, jobs


class ModifyOptionsTests(SynchronousTestCase):
    """``gnt-instance modify`` passes the hotplug options on."""

    def setUp(self):
        self.ops = []
        self.patch(jobs, "submit_opcode",
                   lambda op, opts: self.ops.append(op) or [])

    def modify(self, *options):
        """:return: the opcode ``gnt-instance modify <options> inst1``."""
        code = base.main(instance.COMMANDS, instance.ALIASES,
                         ["gnt-instance", "modify"] + list(options)
                         + ["--net", "add", "inst1"])
        self.assertEqual(code, 0)
        [op] = self.ops
        return op["hotplug"], op["hotplug_if_possible"]

    def test_default_hotplugs(self):
        """Without options the opcode asks for hotplug, as Ganeti 3.0."""
        self.assertEqual(self.modify(), (True, False))

    def test_hotplug(self):
        """``--hotplug`` asks for hotplug."""
        self.assertEqual(self.modify("--hotplug"), (True, False))

    def test_no_hotplug(self):
        """``--no-hotplug`` turns it off."""
        self.assertEqual(self.modify("--no-hotplug"), (False, False))

    def test_hotplug_if_possible(self):
        """``--hotplug-if-possible`` only warns if hotplug is impossible."""
        self.assertEqual(self.modify("--hotplug-if-possible"), (True, True))
