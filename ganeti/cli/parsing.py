# -*- test-case-name: tests.test_cli_cluster -*-
"""
Option values as Ganeti's tools read them: ``k=v,k2=v2`` parameter
lists (``-B``, ``-O``, ``--node-parameters``), ``ident:k=v`` ones
(``-H kvm:acpi=false``, ``-D plain:stripes=2``), ``yes``/``no`` flags,
comma lists and JSON files.

A malformed value is a L{UsageError}: the tool prints the message and
exits 1 before anything is sent to the master.
"""

import json

from ganeti.cli.base import UsageError


def parse_key_values(text, option):
    """
    Parse ``k=v,k2=v2`` as Ganeti does: bare ``key`` is True, ``no_key``
    False, ``-key`` None (reset); ``\\,`` escapes a comma.

    :raise UsageError: on a malformed pair.
    """
    result = {}
    if not text:
        return result
    for item in _split_escaped(text):
        if "=" in item:
            key, value = item.split("=", 1)
        elif item.startswith("no_"):
            key, value = item[3:], False
        elif item.startswith("-"):
            key, value = item[1:], None
        else:
            key, value = item, True
        if not key:
            raise UsageError("Invalid %s value '%s'" % (option, item))
        if key in result:
            raise UsageError("Duplicate key '%s' in option %s" % (key, option))
        result[key] = value
    return result


def _split_escaped(text):
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p]


def parse_ident_key_values(text, option):
    """
    Parse ``ident:k=v,...`` (``-H kvm:acpi=false``).

    :return: ``(ident, dict)``; a bare ``-ident`` means "remove" (None),
        as in Ganeti.
    """
    if ":" in text:
        ident, rest = text.split(":", 1)
    else:
        ident, rest = text, ""
    if not ident:
        raise UsageError("Missing identifier in option %s: '%s'" % (option, text))
    if ident.startswith("-") and not rest:
        return ident[1:], None
    return ident, parse_key_values(rest, option)


def parse_ident_options(values, option):
    """
    ``-H kvm:acpi=false -H fake`` (a repeated option) ->
    ``{"kvm": {"acpi": "false"}, "fake": {}}``.
    """
    result = {}
    for text in values:
        ident, params = parse_ident_key_values(text, option)
        result[ident] = params or {}
    return result


def parse_bool(value, option):
    """:return: True/False for ``yes``/``no`` option values."""
    text = value.lower()
    if text in ("yes", "true", "on", "1"):
        return True
    if text in ("no", "false", "off", "0"):
        return False
    raise UsageError("Invalid value '%s' for option %s: expected yes or no"
                     % (value, option))


def parse_optional_bool(value, option):
    """:return: L{parse_bool} of C{value}, or None for an option not given."""
    return None if value is None else parse_bool(value, option)


def parse_comma_list(text):
    """:return: the non-empty items of ``a,b,,c`` (none for None)."""
    return [item for item in (text or "").split(",") if item]


def load_json_file(path):
    """:return: the JSON content of a file, or raise L{UsageError}."""
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise UsageError("Cannot read %s: %s" % (path, e.strerror))
    except ValueError as e:
        raise UsageError("%s is not valid JSON: %s" % (path, e))
