# -*- test-case-name: tests.test_daemon -*-
"""
``gnt-group``: node groups (listing; the cluster has its default group).
"""

from ganeti.cli import base
from ganeti.cli.base import Args, Command

DEFAULT_FIELDS = ["name", "node_cnt", "pinst_cnt", "alloc_policy", "ndparams"]


def list_groups(opts, args):
    """``gnt-group list``."""
    return base.generic_list("group", None, args, opts, DEFAULT_FIELDS)


def list_fields(opts, args):
    """``gnt-group list-fields``."""
    return base.generic_list_fields("group", args, opts)


COMMANDS = {
    "list": Command(list_groups, Args(0, None), base.LIST_OPTS, "[<group>...]",
                    "Lists the node groups in the cluster. The available fields"
                    " can be shown using the \"list-fields\" command (see the"
                    " man page for details). The default list is (in order):"
                    " %s." % ", ".join(DEFAULT_FIELDS)),
    "list-fields": Command(list_fields, Args(0, None),
                           [base.NOHDR_OPT, base.SEP_OPT], "[fields...]",
                           "Lists all available fields for node groups"),
}


def main():
    """Entry point of ``gnt-group``."""
    base.run(COMMANDS)
