# -*- test-case-name: tests.test_cli_storage -*-
"""
``gnt-storage``: the ExtStorage providers of the nodes (``diagnose``,
``info``), in Ganeti's words and layout.
"""

import re

from ganeti.cli import base, jobs, options
from ganeti.cli.options import Args, Command


def _nice_key(name):
    """Sort ``node10`` after ``node9``, as Ganeti's C{NiceSort}."""
    return [int(part) if part.isdigit() else part
            for part in re.split(r"(\d+)", name)]


def _nice_sorted(names):
    return sorted(names, key=_nice_key)


def _diagnose_query(opts, fields, empty_message):
    result = jobs.submit_opcode({"OP_ID": "OP_EXT_STORAGE_DIAGNOSE",
                                 "output_fields": fields, "names": []}, opts)
    if not result:
        base.to_stderr(empty_message)
    return result


def _status(valid, message):
    return "valid" if valid else "invalid - %s" % message


def _node_message(entries):
    """
    :param entries: one node's ``[[path, valid, error, parameters]]``.
    :return: C{(valid, text)} for its line of ``diagnose``.
    """
    if not entries:
        return False, "ExtStorage provider not found"
    path, valid, message, params = entries[0]
    text = "%s (path: %s)" % (_status(valid, message), path)
    if params:
        text += " [parameters: %s]" % ", ".join(p[0] for p in params)
    else:
        text += " [no parameters]"
    return valid, text


def diagnose(opts, args):
    """``gnt-storage diagnose``: each provider, per node and node group."""
    result = _diagnose_query(opts, ["name", "node_status",
                                    "nodegroup_status"],
                             "Can't get the list of ExtStorage providers")
    if not result:
        return 1
    for name, node_status, group_status in result:
        good, bad = {}, {}
        for node, entries in node_status.items():
            valid, text = _node_message(entries)
            (good if valid else bad)[node] = text
        base.to_stdout("Provider: %s" % name)
        base.to_stdout("---")
        for messages in (good, bad):
            for node in _nice_sorted(messages):
                base.to_stdout("  Node: %s, status: %s"
                               % (node, messages[node]))
        base.to_stdout("  --")
        for wanted in (True, False):
            for group in _nice_sorted(g for g, ok in group_status.items()
                                      if bool(ok) is wanted):
                base.to_stdout("  For nodegroup: %s --> %s"
                               % (group, "valid" if wanted else "invalid"))
        base.to_stdout("")
    return 0


def show_info(opts, args):
    """``gnt-storage info [provider...]``: groups and parameters."""
    result = _diagnose_query(opts, ["name", "nodegroup_status",
                                    "parameters"],
                             "Can't get the ExtStorage providers list")
    if not result:
        return 1
    wanted = list(args)
    for name, group_status, parameters in result:
        if wanted:
            if name not in wanted:
                continue
            wanted.remove(name)
        valid_groups = [g for g, ok in group_status.items() if ok]
        base.to_stdout("%s:" % name)
        if valid_groups:
            base.to_stdout("  - Valid for nodegroups:")
            for group in _nice_sorted(valid_groups):
                base.to_stdout("      %s" % group)
            base.to_stdout("  - Supported parameters:")
            for pname, description in parameters:
                base.to_stdout("      %s: %s" % (pname, description))
        else:
            base.to_stdout("  - Invalid for all nodegroups")
        base.to_stdout("")
    for name in wanted:
        base.to_stdout("%s: Not Found" % name)
        base.to_stdout("")
    return 0


COMMANDS = {
    "diagnose": Command(diagnose, Args(0, 0), [options.PRIORITY_OPT], "",
                        "Diagnose all ExtStorage providers"),
    "info": Command(show_info, Args(0, None), [options.PRIORITY_OPT],
                    "[provider...]",
                    "Show info about ExtStorage providers"),
}


def main():
    """Entry point of ``gnt-storage``."""
    base.run(COMMANDS)
