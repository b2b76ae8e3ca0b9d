# -*- test-case-name: tests.test_table -*-
"""
Printing query results as the ``gnt-*`` list commands do.

Operators and their scripts parse this output (``gnt-node list
--no-headers --separator=:``), so it follows Ganeti to the character: a
line of titles, columns separated by one space and padded to the widest
cell, numbers and sizes right-aligned, text left-aligned and the last
column not padded.  With ``--separator`` nothing is padded and sizes are
plain MiB.

Standard library only: every tool imports this module on every run.
"""

import time

from ganeti import errors
from ganeti.utils.units import format_unit

# Result statuses (the numbers of ganeti.query, repeated to keep this
# module free of master-side imports).
_RS_NORMAL = 0
_RS_UNKNOWN = 1

#: Overall status of a formatted result: every value was there.
QR_NORMAL = "ok"
#: Some requested field does not exist; the tools exit with code 14.
QR_UNKNOWN = "unknown-fields"
#: Some values were missing (offline node, no data, ...).
QR_INCOMPLETE = "partial"

#: How missing values are printed: status -> (verbose, short).
_MISSING_TEXT = {
    1: ("(unknown)", "??"),
    2: ("(nodata)", "?"),
    3: ("(unavail)", "-"),
    4: ("(offline)", "*"),
}

#: ``list-fields`` words for the field kinds.
_KIND_NAMES = {
    "unknown": "Unknown",
    "text": "Text",
    "bool": "Boolean",
    "number": "Number",
    "float": "Floating-point number",
    "unit": "Storage size",
    "timestamp": "Timestamp",
    "other": "Custom",
}



class Column:
    """
    One column of L{format_table}.

    :ivar title: the heading.
    :ivar format: turns a cell into its text.
    :ivar align_right: pad on the left (numbers) instead of the right.
    """

    __slots__ = ("title", "format", "align_right")

    def __init__(self, title, format, align_right=False):
        self.title = title
        self.format = format
        self.align_right = align_right


def format_table(rows, columns, headers=True, separator=None):
    """
    Lay out rows as text lines.

    :param rows: lists of cells, one per column.
    :param columns: the L{Column}s.
    :param headers: print the titles as first line.
    :param separator: C{None} for space-separated padded columns, else the
        string put between unpadded cells.
    :return: the lines, without newlines.
    """
    lines = []
    if headers:
        lines.append([column.title for column in columns])
    for row in rows:
        lines.append([column.format(cell)
                      for cell, column in zip(row, columns)])
    if separator is not None:
        return [separator.join(line) for line in lines]

    widths = [0] * len(columns)
    for line in lines:
        for index, text in enumerate(line):
            widths[index] = max(widths[index], len(text))
    if columns and not columns[-1].align_right:
        # No trailing blanks after a left-aligned last column.
        widths[-1] = 0
    result = []
    for line in lines:
        cells = []
        for text, width, column in zip(line, widths, columns):
            if column.align_right:
                cells.append(text.rjust(width))
            else:
                cells.append(text.ljust(width))
        result.append(" ".join(cells))
    return result


def format_time(value, usecs=None):
    """
    Print a timestamp as Ganeti does: local time, ``2024-01-04 10:00:00``.

    :param value: seconds since the epoch.
    :param usecs: microseconds to append (``.000123``), or C{None}.
    :return: the text, or ``N/A`` when C{value} is no number.
    """
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "N/A"
    result = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
    if usecs is not None:
        result += ".%06d" % usecs
    return result


def _format_timestamp(value):
    # Job timestamps travel as [seconds, microseconds].
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return format_time(value[0], usecs=value[1])
    return format_time(value)


def _format_bool(value):
    return "Y" if value else "N"


def _format_other(value):
    # Lists read best joined ("a,b"), as the tools print tags and names;
    # dictionaries and the rest print as Ganeti prints them (Python's str).
    if isinstance(value, (list, tuple)):
        return ",".join(str(element) for element in value)
    return str(value)


def _unit_formatter(units):
    def format_size(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)
        return format_unit(value, units)
    return format_size


#: Formatting of each kind: (function, align right).
_KIND_FORMATS = {
    "text": (str, False),
    "bool": (_format_bool, False),
    "number": (str, True),
    "float": (str, True),
    "timestamp": (_format_timestamp, False),
    "other": (_format_other, False),
    "unknown": (str, False),
}


def format_result_error(status, verbose=False):
    """
    :param status: a result status other than normal.
    :param verbose: spell it out (``-v``).
    :return: ``??``/``?``/``-``/``*`` or ``(unknown)``/``(nodata)``/
        ``(unavail)``/``(offline)``.
    :raise errors.ProgrammerError: the status is not known.
    """
    try:
        verbose_text, short_text = _MISSING_TEXT[status]
    except KeyError:
        raise errors.ProgrammerError("Unknown result status %r" % (status,))
    return verbose_text if verbose else short_text


def unknown_fields(fielddefs):
    """
    :param fielddefs: field definitions from a query result.
    :return: the names of those of kind ``unknown``, for the warning the
        tools print (``Warning: Queried for unknown fields x, y``).
    """
    return [fdef["name"] for fdef in fielddefs if fdef["kind"] == "unknown"]


def format_query_result(result, headers=True, separator=None, units=None,
                        verbose=False, format_override=None):
    """
    Format a query result for a list command.

    :param result: ``{"fields": [definition, ...], "data": [row, ...]}``
        with rows of ``[status, value]`` cells, as the master returns it.
    :param headers: print the title line (C{False} for ``--no-headers``).
    :param separator: ``--separator``, or C{None} for padded columns.
    :param units: ``--units`` (``h``, ``m``, ``g``, ``t``); C{None} means
        ``h``, or ``m`` when a separator is given.
    :param verbose: ``-v``: spell out missing values.
    :param format_override: field name -> ``(function, align_right)`` for
        columns that need their own formatting.
    :return: ``(lines, status)`` with status L{QR_NORMAL},
        L{QR_UNKNOWN} (some field unknown: exit 14) or L{QR_INCOMPLETE}.
    """
    if units is None:
        units = "m" if separator else "h"
    if format_override is None:
        format_override = {}
    counts = {}

    def cell_formatter(function):
        def format_cell(cell):
            status, value = cell
            counts[status] = counts.get(status, 0) + 1
            if status == _RS_NORMAL:
                return function(value)
            return format_result_error(status, verbose)
        return format_cell

    columns = []
    for fdef in result["fields"]:
        override = format_override.get(fdef["name"])
        if override is not None:
            function, align_right = override
        elif fdef["kind"] == "unit":
            function, align_right = _unit_formatter(units), True
        else:
            function, align_right = _KIND_FORMATS.get(fdef["kind"],
                                                      (str, False))
        columns.append(Column(fdef["title"], cell_formatter(function),
                              align_right))

    lines = format_table(result["data"], columns, headers, separator)

    # Without rows the cells cannot tell; the definitions still can.
    if counts.get(_RS_UNKNOWN) or (not result["data"]
                                   and unknown_fields(result["fields"])):
        status = QR_UNKNOWN
    elif any(count for key, count in counts.items() if key != _RS_NORMAL):
        status = QR_INCOMPLETE
    else:
        status = QR_NORMAL
    return lines, status


def format_field_list(fielddefs, headers=True, separator=None, sort=True):
    """
    Format field definitions for ``list-fields``.

    :param fielddefs: the definitions.
    :param headers: print ``Name Type Title Description`` first.
    :param separator: as for L{format_query_result}.
    :param sort: sort by name (nicely); pass C{False} to keep the order of
        fields the user asked for.
    :return: the lines.
    """
    rows = [[fdef["name"], _KIND_NAMES.get(fdef["kind"], fdef["kind"]),
             fdef["title"], fdef["doc"]] for fdef in fielddefs]
    if sort:
        # Imported here: ganeti.query is light, but only this path needs it.
        from ganeti.query import nice_sort_key
        rows.sort(key=lambda row: nice_sort_key(row[0]))
    columns = [Column(title, str) for title in
               ("Name", "Type", "Title", "Description")]
    return format_table(rows, columns, headers, separator)


def parse_fields(selected, default):
    """
    Read the value of ``-o``/``--output``.

    :param selected: the option value, or C{None} if not given.
    :param default: the command's default field names.
    :return: a new list of field names; ``+a,b`` appends to the defaults.
    """
    if selected is None:
        return list(default)
    if selected.startswith("+"):
        return list(default) + selected[1:].split(",")
    return selected.split(",")
