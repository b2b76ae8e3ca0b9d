"""
Tests for L{ganeti.cli.table}: list command output, sizes and fields.

The expected lines were produced by Ganeti 3.0's own formatting code on the
same input.
"""

import os
import time

from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors
from ganeti.cli import table


def _fields(*specs):
    """:return: field definitions for ``(name, title, kind)`` triples."""
    return [{"name": name, "title": title, "kind": kind, "doc": "D"}
            for name, title, kind in specs]


NODE_RESULT = {
    "fields": _fields(("name", "Node", "text"), ("dtotal", "DTotal", "unit"),
                      ("pinst_cnt", "Pinst", "number"),
                      ("master", "IsMaster", "bool"),
                      ("tags", "Tags", "other")),
    "data": [
        [[0, "node1.example.com"], [0, 102400], [0, 3], [0, True], [0, "x"]],
        [[0, "node2"], [0, 1023], [0, 12], [0, False], [0, {"a": 1}]],
        [[0, "node10"], [4, None], [2, None], [3, None], [1, None]],
    ],
}


class FormatQueryResultTests(SynchronousTestCase):
    """Tests for L{table.format_query_result}."""

    def test_padded_columns(self):
        """Titles on top; numbers right-aligned, text left, no trailing
        blanks; sizes human-readable; specials as short marks."""
        lines, status = table.format_query_result(NODE_RESULT)
        self.assertEqual(lines, [
            "Node              DTotal Pinst IsMaster Tags",
            "node1.example.com 100.0G     3 Y        x",
            "node2              1023M    12 N        {'a': 1}",
            "node10                 *     ? -        ??",
        ])
        self.assertEqual(status, table.QR_UNKNOWN)

    def test_no_headers(self):
        """--no-headers drops the title line and its width."""
        lines, _ = table.format_query_result(NODE_RESULT, headers=False)
        self.assertEqual(lines, [
            "node1.example.com 100.0G  3 Y x",
            "node2              1023M 12 N {'a': 1}",
            "node10                 *  ? - ??",
        ])

    def test_separator(self):
        """--separator joins unpadded cells and prints sizes in MiB."""
        lines, _ = table.format_query_result(NODE_RESULT, separator="|")
        self.assertEqual(lines, [
            "Node|DTotal|Pinst|IsMaster|Tags",
            "node1.example.com|102400|3|Y|x",
            "node2|1023|12|N|{'a': 1}",
            "node10|*|?|-|??",
        ])

    def test_separator_with_units(self):
        """--units applies with a separator too, without suffix."""
        lines, _ = table.format_query_result(NODE_RESULT, separator=":",
                                             units="g")
        self.assertEqual(lines[1:3], ["node1.example.com:100.0:3:Y:x",
                                      "node2:1.0:12:N:{'a': 1}"])

    def test_verbose(self):
        """-v spells out missing values; columns widen to fit them."""
        lines, _ = table.format_query_result(NODE_RESULT, verbose=True,
                                             units="t")
        self.assertEqual(lines, [
            "Node                 DTotal    Pinst IsMaster  Tags",
            "node1.example.com       0.1        3 Y         x",
            "node2                   0.0       12 N         {'a': 1}",
            "node10            (offline) (nodata) (unavail) (unknown)",
        ])

    def test_right_aligned_last_column(self):
        """A numeric last column is still padded on the left."""
        result = {"fields": _fields(("name", "Node", "text"),
                                    ("mfree", "MFree", "unit")),
                  "data": [[[0, "a"], [0, 2048]], [[0, "bb"], [0, 100]]]}
        lines, status = table.format_query_result(result)
        self.assertEqual(lines, ["Node MFree", "a     2.0G", "bb    100M"])
        self.assertEqual(status, table.QR_NORMAL)

    def test_lists(self):
        """List values are joined with commas."""
        result = {"fields": _fields(("tags", "Tags", "other"),
                                    ("n", "N", "number")),
                  "data": [[[0, ["a", "b"]], [0, 1]], [[0, []], [0, 2]]]}
        lines, _ = table.format_query_result(result)
        self.assertEqual(lines, ["Tags N", "a,b  1", "     2"])

    def test_timestamps_and_floats(self):
        """Timestamps print as local date and time; floats right-aligned."""
        self._use_utc()
        result = {"fields": _fields(("ctime", "CTime", "timestamp"),
                                    ("f", "F", "float")),
                  "data": [[[0, 0], [0, 1.5]],
                           [[0, 1700000000.25], [0, 10.0]],
                           [[0, [1700000000, 25]], [0, 0.0]]]}
        lines, _ = table.format_query_result(result)
        self.assertEqual(lines, [
            "CTime                         F",
            "1970-01-01 00:00:00         1.5",
            "2023-11-14 22:13:20        10.0",
            "2023-11-14 22:13:20.000025  0.0",
        ])

    def _use_utc(self):
        """Make local time UTC for this test, restoring it afterwards."""
        previous = os.environ.get("TZ")

        def restore():
            if previous is None:
                del os.environ["TZ"]
            else:
                os.environ["TZ"] = previous
            time.tzset()
        os.environ["TZ"] = "UTC"
        time.tzset()
        self.addCleanup(restore)

    def test_statuses(self):
        """The overall status says ok, partial or unknown-fields."""
        fields = _fields(("name", "Node", "text"))
        self.assertEqual(table.format_query_result(
            {"fields": fields, "data": [[[0, "a"]]]})[1], "ok")
        self.assertEqual(table.format_query_result(
            {"fields": fields, "data": [[[4, None]]]})[1], "partial")
        self.assertEqual(table.format_query_result(
            {"fields": fields, "data": []})[1], "ok")

    def test_unknown_field_without_rows(self):
        """An unknown field is reported even when no row came back."""
        result = {"fields": _fields(("name", "Node", "text"),
                                    ("x", "x", "unknown")), "data": []}
        self.assertEqual(table.format_query_result(result),
                         (["Node x"], "unknown-fields"))
        self.assertEqual(table.unknown_fields(result["fields"]), ["x"])

    def test_format_override(self):
        """A command may format a column its own way."""
        result = {"fields": _fields(("id", "ID", "text")),
                  "data": [[[0, "7"]]]}
        lines, _ = table.format_query_result(
            result, format_override={"id": (lambda v: "#" + v, True)})
        self.assertEqual(lines, ["ID", "#7"])

    def test_result_error(self):
        """Each special status has a short and a verbose spelling."""
        self.assertEqual([table.format_result_error(s) for s in (1, 2, 3, 4)],
                         ["??", "?", "-", "*"])
        self.assertEqual(
            [table.format_result_error(s, True) for s in (1, 2, 3, 4)],
            ["(unknown)", "(nodata)", "(unavail)", "(offline)"])
        self.assertRaises(errors.ProgrammerError,
                          table.format_result_error, 9)


class FormatTableTests(SynchronousTestCase):
    """Tests for L{table.format_table}."""

    def test_empty(self):
        """No rows and no headers give no lines."""
        columns = [table.Column("A", str)]
        self.assertEqual(table.format_table([], columns, headers=False), [])
        self.assertEqual(table.format_table([], columns), ["A"])

    def test_empty_separator(self):
        """An empty separator glues cells together."""
        columns = [table.Column("A", str), table.Column("B", str, True)]
        self.assertEqual(
            table.format_table([["x", "y"]], columns, separator=""),
            ["AB", "xy"])


class FieldListTests(SynchronousTestCase):
    """Tests for L{table.format_field_list}."""

    FIELDS = [
        {"name": "pinst_cnt", "title": "Pinst", "kind": "number",
         "doc": "Number of primary instances"},
        {"name": "name", "title": "Node", "kind": "text", "doc": "Node name"},
        {"name": "bogus", "title": "bogus", "kind": "unknown",
         "doc": "Unknown field 'bogus'"},
        {"name": "ctime", "title": "CTime", "kind": "timestamp",
         "doc": "Creation timestamp"},
    ]

    def test_sorted(self):
        """Fields are listed by name with a word for their type."""
        self.assertEqual(table.format_field_list(self.FIELDS), [
            "Name      Type      Title Description",
            "bogus     Unknown   bogus Unknown field 'bogus'",
            "ctime     Timestamp CTime Creation timestamp",
            "name      Text      Node  Node name",
            "pinst_cnt Number    Pinst Number of primary instances",
        ])

    def test_requested_order(self):
        """With sort=False the requested order is kept."""
        lines = table.format_field_list(self.FIELDS[:2], headers=False,
                                        separator="|", sort=False)
        self.assertEqual(lines, [
            "pinst_cnt|Number|Pinst|Number of primary instances",
            "name|Text|Node|Node name",
        ])

    def test_type_words(self):
        """Every kind has Ganeti's word in the Type column."""
        kinds = ["text", "bool", "number", "float", "unit", "timestamp",
                 "other", "unknown"]
        fields = [{"name": "f%d" % index, "title": "T", "kind": kind,
                   "doc": "D"} for index, kind in enumerate(kinds)]
        lines = table.format_field_list(fields, headers=False, separator="|")
        self.assertEqual([line.split("|")[1] for line in lines], [
            "Text", "Boolean", "Number", "Floating-point number",
            "Storage size", "Timestamp", "Custom", "Unknown"])


class ParseFieldsTests(SynchronousTestCase):
    """Tests for L{table.parse_fields}."""

    def test_default(self):
        """Without -o the defaults are used (as a copy)."""
        default = ["name", "pip"]
        result = table.parse_fields(None, default)
        self.assertEqual(result, default)
        self.assertIsNot(result, default)

    def test_replace(self):
        """-o a,b selects exactly those fields."""
        self.assertEqual(table.parse_fields("a,b", ["name"]), ["a", "b"])

    def test_extend(self):
        """-o +a,b appends to the defaults."""
        self.assertEqual(table.parse_fields("+a,b", ["name"]),
                         ["name", "a", "b"])
