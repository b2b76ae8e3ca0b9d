"""
Tests for L{ganeti.utils.units}: sizes as operators write and read them.

The expected values are those of Ganeti 3.0's own parsing and formatting.
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors
from ganeti.utils import units


class UnitTests(SynchronousTestCase):
    """Tests for L{ganeti.utils.units}: sizes written and read."""

    def test_format_human(self):
        """h picks M below 1 GiB, G below 1 TiB, else T."""
        cases = [(0, "0M"), (1023, "1023M"), (1024, "1.0G"), (1536, "1.5G"),
                 (1048575, "1024.0G"), (1048576, "1.0T"),
                 (1572864, "1.5T")]
        for mib, text in cases:
            self.assertEqual(units.format_unit(mib, "h"), text)

    def test_format_fixed(self):
        """m, g and t force a unit and print no suffix."""
        self.assertEqual(units.format_unit(1536, "m"), "1536")
        self.assertEqual(units.format_unit(1536, "g"), "1.5")
        self.assertEqual(units.format_unit(1536, "t"), "0.0")
        self.assertEqual(units.format_unit(3 * 1048576, "t"), "3.0")

    def test_format_errors(self):
        """A bad unit or a non-number is a programming error."""
        self.assertRaises(errors.ProgrammerError, units.format_unit, 1, "k")
        self.assertRaises(errors.ProgrammerError, units.format_unit, "1", "h")

    def test_parse(self):
        """Plain numbers are MiB; m/g/t (and mb, gib, ...) scale; the
        result is rounded up to a multiple of 4 MiB."""
        cases = [("1", 4), ("4", 4), ("5", 8), ("1024", 1024),
                 ("0", 0), ("0.1", 4), ("1.5g", 1536), ("1.5G", 1536),
                 ("2 T", 2097152), ("2tb", 2097152), ("3GiB", 3072),
                 ("1MB", 4), ("12.5 mib", 16), ("1024m", 1024), ("1 ", 4),
                 (512, 512)]
        for text, mib in cases:
            self.assertEqual(units.parse_unit(text), mib, text)

    def test_parse_errors(self):
        """Anything else is a UnitParseError."""
        for text in ["", "x", "g1", "-1", " 1", "1m ", "1.2.3", ".",
                     "1 g b"]:
            self.assertRaises(errors.UnitParseError, units.parse_unit, text)
        exc = self.assertRaises(errors.UnitParseError, units.parse_unit,
                                "1kb")
        self.assertEqual(str(exc), "Unknown unit: kb")
