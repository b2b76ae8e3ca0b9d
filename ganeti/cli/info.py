# -*- test-case-name: tests.test_cli_job -*-
"""
The indented, YAML-like layout of ``info`` commands (``gnt-job info``,
``gnt-cluster info``), as Ganeti prints it.

Data is nested dicts (printed with sorted keys), ordered sections as lists
of ``(key, value)`` or ``(key, value, group)`` tuples (values of one group
are aligned), lists (printed as ``- item``), and scalars.
"""

import time

_INDENT = "  "


def format_time(seconds, usecs=None):
    """:return: ``YYYY-MM-DD HH:MM:SS[.uuuuuu]`` in local time, or N/A."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return "N/A"
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))
    if usecs is not None:
        text += ".%06d" % usecs
    return text


def format_timestamp(pair):
    """:return: a ``[seconds, microseconds]`` pair formatted, or ``?``."""
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        return "?"
    return format_time(pair[0], pair[1])


def format_params(custom, merged):
    """
    :param custom: the parameters set on the object itself.
    :param merged: all its parameters, inherited ones included.
    :return: the sorted ``(key, value)`` pairs to print, inherited values
        as Ganeti shows them, ``default (value)``; nested dicts likewise.
    """
    result = []
    for key in sorted(merged):
        value = merged[key]
        if isinstance(value, dict):
            result.append((key, format_params(custom.get(key, {}), value)))
        elif key in custom:
            result.append((key, str(value)))
        else:
            result.append((key, "default (%s)" % (value,)))
    return result


def _is_scalar(value):
    return not isinstance(value, (list, tuple, dict))


def _is_ordered(value):
    return isinstance(value, list) and value and isinstance(value[0], tuple)


def _write(out, data, level, after_key):
    if isinstance(data, dict):
        if not data:
            out.append("\n")
            return
        _write_pairs(out, [(k, data[k]) for k in sorted(data)], level, after_key)
    elif _is_ordered(data):
        _write_pairs(out, data, level, after_key)
    elif isinstance(data, tuple) and all(map(_is_scalar, data)):
        out.append("[%s]\n" % ", ".join(map(str, data)))
    elif isinstance(data, (list, tuple)):
        if not data:
            out.append("\n")
            return
        if after_key:
            out.append("\n")
        for index, item in enumerate(data):
            if after_key or index:
                out.append(_INDENT * level)
            out.append("- ")
            _write(out, item, level + 1, False)
    else:
        out.append("%s\n" % (data,))


def _write_pairs(out, pairs, level, after_key):
    widths = {}
    for entry in pairs:
        if len(entry) > 2:
            widths[entry[2]] = max(widths.get(entry[2], 0), len(entry[0]))
    if after_key:
        out.append("\n")
    for index, entry in enumerate(pairs):
        key, value = entry[0], entry[1]
        if after_key or index:
            out.append(_INDENT * level)
        out.append("%s: " % key)
        if len(entry) > 2:
            out.append(" " * (widths[entry[2]] - len(key)))
        _write(out, value, level + 1, True)


def format_generic_info(data):
    """
    :return: the text of C{data} without the final newline.
    """
    out = []
    _write(out, data, 0, False)
    return "".join(out).rstrip("\n")
