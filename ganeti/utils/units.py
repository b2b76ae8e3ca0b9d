# -*- test-case-name: tests.test_units -*-
"""
Sizes as operators write and read them (``1G``, ``512M``, ``1.5T``).

Both sides need them: the tools print sizes and parse options, and the
master turns sizes in submitted opcodes (RAPI bodies, job files written by
hand) into MiB while it validates them.  Standard library only.
"""

from ganeti import errors

#: The units L{format_unit} knows: human-readable, MiB, GiB, TiB.
_UNITS = ("h", "m", "g", "t")


def format_unit(value, units):
    """
    Print a size in MiB, as Ganeti's tools do.

    ``h`` picks the unit: below 1024 it prints whole MiB with ``M``
    (``512M``), below 1 TiB GiB with one decimal and ``G`` (``1.5G``),
    else ``T``.  ``m``, ``g`` and ``t`` force a unit and print no suffix
    (``1536``, ``1.5``), which is what scripts want.

    :param value: MiB, an integer or float.
    :param units: one of ``h``, ``m``, ``g``, ``t``.
    :return: the text.
    :raise errors.ProgrammerError: bad unit or a value that is no number.
    """
    if units not in _UNITS:
        raise errors.ProgrammerError("Invalid unit specified '%s'" % (units,))
    if not isinstance(value, (int, float)):
        raise errors.ProgrammerError("Invalid value specified '%s (%s)'"
                                     % (value, type(value)))
    human = units == "h"
    if units == "m" or (human and value < 1024):
        return "%.0f%s" % (value, "M" if human else "")
    if units == "g" or (human and value < 1024 * 1024):
        return "%.1f%s" % (value / 1024.0, "G" if human else "")
    return "%.1f%s" % (value / 1024.0 / 1024.0, "T" if human else "")


def parse_unit(text):
    """
    Read a size given by the user, in MiB.

    ``NUMBER[.FRACTION] [UNIT]`` with UNIT one of ``m``, ``mb``, ``mib``,
    ``g``, ``gb``, ``gib``, ``t``, ``tb``, ``tib`` in any case; no unit
    means MiB.  Like Ganeti the result is rounded up to whole MiB and then
    to a multiple of 4 (LVM's extent granularity), so ``1`` gives 4.

    :param text: the size; non-strings are converted with C{str}.
    :return: the size in MiB, an C{int}.
    :raise errors.UnitParseError: not a size.
    """
    text = str(text)
    end = 0
    while end < len(text) and (text[end].isdigit() or text[end] == "."):
        end += 1
    number, rest = text[:end], text[end:].lstrip()
    if not number or not all(char.isascii() and char.isalpha()
                             for char in rest):
        raise errors.UnitParseError("Invalid format")
    try:
        value = float(number)
    except ValueError:
        raise errors.UnitParseError("Invalid format")
    unit = rest.lower() or "m"
    if unit in ("m", "mb", "mib"):
        pass
    elif unit in ("g", "gb", "gib"):
        value *= 1024
    elif unit in ("t", "tb", "tib"):
        value *= 1024 * 1024
    else:
        raise errors.UnitParseError("Unknown unit: %s" % rest)
    mib = int(value)
    if mib < value:
        mib += 1
    if mib % 4:
        mib += 4 - mib % 4
    return mib
