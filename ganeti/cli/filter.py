# -*- test-case-name: tests.test_cli_filter -*-
"""
``gnt-filter``: job filter rules (see L{ganeti.jobs.filters}).

The master checks every value; this tool only turns the command line into
ReplaceFilter's arguments, so a bad rule gets the same message here as
over the RAPI.
"""

import argparse
import json
import time

from ganeti.cli import base, listing, options
from ganeti.cli.options import Args, Command, opt

DEFAULT_FIELDS = ["uuid", "watermark", "priority", "predicates", "action",
                  "reason_trail"]

_SIMPLE_ACTIONS = ("ACCEPT", "PAUSE", "REJECT", "CONTINUE")


def parse_action(text):
    """
    :return: ``ACCEPT``, ``PAUSE``, ``REJECT``, ``CONTINUE`` or
        ``["RATE_LIMIT", n]`` for the text ``RATE_LIMIT n``.
    """
    words = text.split()
    if len(words) == 1 and words[0] in _SIMPLE_ACTIONS:
        return words[0]
    if len(words) == 2 and words[0] == "RATE_LIMIT" and words[1].isdigit():
        return ["RATE_LIMIT", int(words[1])]
    raise argparse.ArgumentTypeError(
        "invalid filter action %r; expected one of %s or 'RATE_LIMIT n'"
        % (text, ", ".join(_SIMPLE_ACTIONS)))


def parse_predicates(text):
    """:return: the JSON value of ``--predicates``."""
    try:
        return json.loads(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError("invalid JSON in predicates: %s" % e)


PRIORITY_OPT = opt("--priority", type=int, default=0,
                   help="Priority for filter processing")
PREDICATES_OPT = opt("--predicates", type=parse_predicates, default=[],
                     help="List of predicates in the Ganeti query language,"
                          " given as a JSON list.")
ACTION_OPT = opt("--action", type=parse_action, default="CONTINUE",
                 help="The effect of the filter. Can be one of 'ACCEPT',"
                      " 'PAUSE', 'REJECT', 'CONTINUE' and 'RATE_LIMIT n',"
                      " where n is a positive integer.")
RULE_OPTS = [PRIORITY_OPT, PREDICATES_OPT, ACTION_OPT, options.REASON_OPT]


def _replace(uuid, opts):
    """Send the rule and print its uuid, as Ganeti does."""
    reason = []
    if opts.reason:
        reason = [["gnt:user", opts.reason, time.time_ns()]]
    result = base.get_client().call("ReplaceFilter", uuid, opts.priority,
                                    opts.predicates, opts.action, reason)
    base.to_stdout(result)


def add_filter(opts, args):
    """``gnt-filter add``."""
    _replace(None, opts)


def replace_filter(opts, args):
    """``gnt-filter replace <uuid>``: replace, or create under that uuid."""
    _replace(args[0], opts)


def delete_filter(opts, args):
    """``gnt-filter delete <uuid>``."""
    base.get_client().call("DeleteFilter", args[0])


def list_filters(opts, args):
    """``gnt-filter list``."""
    return listing.generic_list("filter", args, opts, DEFAULT_FIELDS,
                                name_field="uuid")


def list_fields(opts, args):
    """``gnt-filter list-fields``."""
    return listing.generic_list_fields("filter", args, opts)


def show_filters(opts, args):
    """``gnt-filter info``: one block per rule, values as Ganeti prints."""
    rows = base.get_client().call("QueryFilters", args, DEFAULT_FIELDS)
    for uuid, watermark, priority, predicates, action, trail in rows:
        base.to_stdout("UUID: %s" % uuid)
        base.to_stdout("  Watermark: %s" % watermark)
        base.to_stdout("  Priority: %s" % priority)
        base.to_stdout("  Predicates: %s" % (predicates,))
        base.to_stdout("  Action: %s" % (action,))
        base.to_stdout("  Reason trail: %s" % (trail,))


COMMANDS = {
    "add": Command(add_filter, options.NO_ARGS, RULE_OPTS, "",
                   "Adds a new filter rule"),
    "list": Command(list_filters, Args(0, None), options.LIST_OPTS,
                    "[<filter-uuid>...]",
                    "Lists the job filter rules. The available fields can be"
                    " shown using the \"list-fields\" command (see the man"
                    " page for details). The default list is (in order): %s."
                    % ", ".join(DEFAULT_FIELDS)),
    "list-fields": Command(list_fields, Args(0, None),
                           [options.NOHDR_OPT, options.SEP_OPT], "[<fields>...]",
                           "Lists all available fields for filters"),
    "info": Command(show_filters, Args(0, None), [], "[<filter-uuid>...]",
                    "Shows information about the filter(s)"),
    "replace": Command(replace_filter, options.ONE_ARG, RULE_OPTS,
                       "<filter-uuid>", "Replaces a filter"),
    "delete": Command(delete_filter, options.ONE_ARG, [], "<filter-uuid>",
                      "Removes a filter"),
}


def main():
    """Entry point of ``gnt-filter``."""
    base.run(COMMANDS)
