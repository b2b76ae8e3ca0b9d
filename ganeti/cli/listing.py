# -*- test-case-name: tests.test_cli_node -*-
"""
The ``list`` and ``list-fields`` subcommands every tool has: one Query
(or QueryFields) to the master, printed by L{ganeti.cli.table}.

Exit code 14 for an unknown field is Ganeti's; scripts test for it.
"""

from ganeti.cli import base


def generic_list(resource, names, opts, default_fields, name_field="name",
                 is_numeric=False, qfilter=None, format_override=None):
    """
    Query and print a list, as every ``list`` subcommand does.

    :param names: the command's arguments: names to list (all if empty),
        or a filter with ``-F``; ignored when C{qfilter} is given.
    :param default_fields: the fields shown without ``-o``.
    :return: the exit code (14 for unknown fields).
    """
    from ganeti.query import lang
    from ganeti.cli import table
    selected = table.parse_fields(opts.output, default_fields)
    if qfilter is None:
        qfilter = lang.make_filter(names, force_filter=opts.force_filter,
                                    name_field=name_field, is_numeric=is_numeric)
    result = base.get_client().call("Query", resource, selected, qfilter)
    lines, status = table.format_query_result(
        result, headers=not opts.no_headers, separator=opts.separator,
        units=opts.units, verbose=bool(opts.verbose),
        format_override=format_override)
    unknown = table.unknown_fields(result["fields"])
    if unknown:
        base.to_stderr("Warning: Queried for unknown fields %s"
                       % ", ".join(unknown))
    for line in lines:
        base.to_stdout(line)
    if status == table.QR_UNKNOWN:
        return base.EXIT_UNKNOWN_FIELD
    return base.EXIT_SUCCESS


def generic_list_fields(resource, fields, opts):
    """Print ``list-fields``; :return: the exit code."""
    from ganeti.cli import table
    result = base.get_client().call("QueryFields", resource, fields or None)
    for line in table.format_field_list(result["fields"],
                                        headers=not opts.no_headers,
                                        separator=opts.separator):
        base.to_stdout(line)
    if table.unknown_fields(result["fields"]):
        return base.EXIT_UNKNOWN_FIELD
    return base.EXIT_SUCCESS
