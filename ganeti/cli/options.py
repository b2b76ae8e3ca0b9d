# -*- test-case-name: tests.test_cli_node -*-
"""
How a ``gnt-*`` subcommand is declared: its positional arguments
(L{Args}), its options (L{opt}, and the ones many tools share, spelled as
Ganeti spells them), and the generic options every submitted opcode
carries (L{set_common_op_options}).

Tool modules build their command tables from these declarations at import
time, so this module is plain data and the standard library.
"""

import os
import sys
import time

from ganeti import errors

#: ``--priority`` words -> opcode priorities.
PRIORITIES = {"low": 10, "normal": 0, "high": -10}


class Args:
    """How many positional arguments a command takes."""

    def __init__(self, low=0, high=0, name="argument"):
        self.low = low
        self.high = high
        self.name = name


NO_ARGS = Args(0, 0)
ONE_ARG = Args(1, 1)


def opt(*flags, **kwargs):
    """:return: an option definition for L{Command}."""
    return (flags, kwargs)


# Options shared by many commands, spelled as Ganeti spells them.
DEBUG_OPT = opt("-d", "--debug", action="count", default=0,
                help="Turn debugging on")
SUBMIT_OPT = opt("--submit", action="store_true", default=False,
                 help="Submit the job and return the job ID, but don't wait"
                      " for the job to finish")
PRINT_JOBID_OPT = opt("--print-jobid", action="store_true", default=False,
                      help="Additionally print the job as first line on"
                           " stdout (for scripting).")
DRY_RUN_OPT = opt("--dry-run", action="store_true", default=False,
                  help="Do not execute the operation, just run the check"
                       " steps and verify if it could be executed")
PRIORITY_OPT = opt("--priority", choices=sorted(PRIORITIES), default=None,
                   help="Priority for opcode processing")
REASON_OPT = opt("--reason", default=None,
                 help="The reason for executing the command")
FORCE_OPT = opt("-f", "--force", action="store_true", default=False,
                help="Force the operation")
IGNORE_CONSIST_OPT = opt("--ignore-consistency", dest="ignore_consistency",
                         action="store_true", default=False,
                         help="Ignore the consistency of the disks on the"
                              " secondary")
# Failover and migration (gnt-instance and gnt-node).
NONLIVE_OPT = opt("--non-live", dest="live", action="store_false",
                  default=True,
                  help="Do a non-live migration (this usually means freeze"
                       " the instance, save the state, transfer and only then"
                       " resume running on the secondary node)")
MIGRATION_MODE_OPT = opt("--migration-mode", dest="migration_mode",
                         default=None, choices=["live", "non-live"],
                         help="Override default migration mode (choose"
                              " either live or non-live)")
NORUNTIME_CHGS_OPT = opt("--no-runtime-changes", dest="allow_runtime_chgs",
                         action="store_false", default=True,
                         help="Don't allow runtime changes of instance"
                              " properties (memory)")
EARLY_RELEASE_OPT = opt("--early-release", action="store_true", default=False,
                        help="Release the locks on the secondary node(s) early")
IGNORE_IPOLICY_OPT = opt("--ignore-ipolicy", action="store_true",
                         default=False,
                         help="Ignore instance policy violations")
DST_NODE_OPT = opt("-n", "--target-node", dest="dst_node", default=None,
                   help="Destination node")
IALLOCATOR_OPT = opt("-I", "--iallocator", default=None,
                     help="Select nodes for the instance automatically using"
                          " the <NAME> iallocator plugin")
MIGRATION_OPTS = [NONLIVE_OPT, MIGRATION_MODE_OPT, NORUNTIME_CHGS_OPT,
                  IGNORE_IPOLICY_OPT, DST_NODE_OPT, IALLOCATOR_OPT]


def migration_mode(opts):
    """
    :return: the migration ``mode`` the options ask for (None: the
        hypervisor's default).
    :raise OpPrereqError: if both ``--non-live`` and ``--migration-mode``
        are given.
    """
    if not opts.live and opts.migration_mode is not None:
        raise errors.OpPrereqError("Only one of the --non-live and"
                                   " --migration-mode options can be passed",
                                   "wrong_input")
    return "non-live" if not opts.live else opts.migration_mode


def check_target_choice(opts):
    """
    :raise OpPrereqError: if both an allocator and a node are given.
    """
    if opts.iallocator and opts.dst_node:
        raise errors.OpPrereqError("Specify either an iallocator (-I), or a"
                                   " target node (-n) but not both",
                                   "wrong_input")


# Parameters of clusters, node groups, nodes and instances.
BACKEND_PARAMS_OPT = opt("-B", "--backend-parameters", dest="beparams",
                         default=None, help="Backend parameters")
NODE_PARAMS_OPT = opt("--node-parameters", dest="ndparams", default=None,
                      help="Node parameters")
DISK_PARAMS_OPT = opt("-D", "--disk-parameters", dest="diskparams",
                      action="append", default=[],
                      help="Disk template parameters, in the format"
                           " template:option=value,option=value,...")
IPOLICY_DISK_TEMPLATES_OPT = opt(
    "--ipolicy-disk-templates", default=None,
    help="Comma-separated list of enabled disk templates for instances")

YES_DOIT_OPT = opt("--yes-do-it", "--ya-rly", dest="yes_do_it",
                   action="store_true", default=False,
                   help="Really execute the requested action")
NOHDR_OPT = opt("--no-headers", action="store_true", dest="no_headers",
                default=False, help="Don't display column headers")
SEP_OPT = opt("--separator", default=None,
              help="Separator between output fields (defaults to one space)")
UNITS_OPT = opt("--units", default=None, choices=["h", "m", "g", "t"],
                help="Specify units for output (one of h/m/g/t)")
FIELDS_OPT = opt("-o", "--output", dest="output", default=None,
                 help="Comma separated list of output fields")
VERBOSE_OPT = opt("-v", "--verbose", action="count", default=0,
                  help="Increase the verbosity of the operation")
FILTER_OPT = opt("-F", "--filter", dest="force_filter", action="store_true",
                 default=False,
                 help="Whether command argument should be treated as filter")

#: Options of commands that submit jobs.
JOB_OPTS = [SUBMIT_OPT, PRINT_JOBID_OPT, PRIORITY_OPT, REASON_OPT]
#: Options of list commands.
LIST_OPTS = [NOHDR_OPT, SEP_OPT, UNITS_OPT, FIELDS_OPT, VERBOSE_OPT, FILTER_OPT]


class Command:
    """
    One subcommand: the function, its arguments and options, its help.
    """

    def __init__(self, func, args, options, usage, description):
        self.func = func
        self.args = args
        self.options = options
        self.usage = usage
        self.description = description


def set_common_op_options(op, opts):
    """Copy the generic options (dry run, priority, reason) into C{op}."""
    if getattr(opts, "dry_run", False):
        op["dry_run"] = True
    if getattr(opts, "priority", None) is not None:
        op["priority"] = PRIORITIES[opts.priority]
    if getattr(opts, "debug", 0):
        op["debug_level"] = opts.debug
    reason = [["gnt:client:%s" % _binary(), " ".join(sys.argv[1:2]) or "",
               time.time_ns()]]
    if getattr(opts, "reason", None):
        reason.append(["gnt:user", opts.reason, time.time_ns()])
    op["reason"] = reason
    return op


def _binary():
    """:return: the running tool's name (``gnt-instance``) for the reason trail."""
    return os.path.basename(sys.argv[0]) if sys.argv else "gnt"
