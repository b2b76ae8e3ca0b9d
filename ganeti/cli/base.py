# -*- test-case-name: tests.test_cli -*-
"""
What every ``gnt-*`` tool shares: option definitions, argument checks,
error messages and exit codes, job submission and polling, list output.

Messages and exit codes are Ganeti's, so scripts written for Ganeti read
the same text.  Imports are kept to the standard library and the light
parts of this package: a tool must answer in a few tens of milliseconds.
"""

import argparse
import json
import os
import sys
import time

from ganeti import errors
from ganeti.paths import Paths

EXIT_SUCCESS = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_NOTCLUSTER = 5
EXIT_NOTMASTER = 11
EXIT_NODESETUP_ERROR = 12
EXIT_CONFIRMATION = 13
EXIT_UNKNOWN_FIELD = 14

#: Seconds a single WaitForJobChange may block on the master.
WAIT_TIMEOUT = 60.0

PRIORITIES = {"low": 10, "normal": 0, "high": -10}


class UsageError(Exception):
    """The command line is wrong; the message says how."""


class Args:
    """How many positional arguments a command takes."""

    def __init__(self, low=0, high=0, name="argument"):
        self.low = low
        self.high = high
        self.name = name


NO_ARGS = Args(0, 0)
ONE_ARG = Args(1, 1)
ANY_ARGS = Args(0, None)


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


def to_stdout(text=""):
    """Print one line on stdout."""
    sys.stdout.write(text + "\n")


def to_stderr(text):
    """Print one line on stderr."""
    sys.stderr.write(text + "\n")


def format_error(err):
    """
    :return: ``(exit_code, message)`` for an error, in Ganeti's words.
    """
    msg = str(err)
    if isinstance(err, errors.ConfigurationError):
        return EXIT_CONFIG, "Corrupt configuration file: %s\nAborting." % msg
    if isinstance(err, errors.ResolverError):
        return EXIT_FAILURE, "Failure: can't resolve hostname '%s'" % err.args[0]
    if isinstance(err, errors.OpPrereqError):
        if len(err.args) == 2:
            return EXIT_FAILURE, (
                "Failure: prerequisites not met for this operation:\n"
                "error type: %s, error details:\n%s" % (err.args[1], err.args[0]))
        return EXIT_FAILURE, ("Failure: prerequisites not met for this"
                              " operation:\n%s" % msg)
    if isinstance(err, errors.OpExecError):
        return EXIT_FAILURE, "Failure: command execution error:\n%s" % msg
    if isinstance(err, errors.TagError):
        return EXIT_FAILURE, "Failure: invalid tag(s) given:\n%s" % msg
    if isinstance(err, errors.JobQueueDrainError):
        return EXIT_FAILURE, ("Failure: the job queue is marked for drain and"
                              " doesn't accept new requests")
    if isinstance(err, errors.JobQueueFull):
        return EXIT_FAILURE, ("Failure: the job queue is full and doesn't"
                              " accept new job submissions until old jobs are"
                              " archived")
    if isinstance(err, errors.ParameterError):
        return EXIT_FAILURE, "Failure: unknown/wrong parameter name '%s'" % msg
    if isinstance(err, errors.LuxiError):
        return EXIT_FAILURE, msg
    if isinstance(err, errors.JobLost):
        return EXIT_FAILURE, "Error checking job status: %s" % msg
    if isinstance(err, errors.QueryFilterParseError):
        return EXIT_FAILURE, "Error while parsing query filter: %s" % msg
    if isinstance(err, errors.GenericError):
        return EXIT_FAILURE, "Unhandled Ganeti error: %s" % msg
    return EXIT_FAILURE, "Unhandled exception: %s" % msg


# --- the master connection -------------------------------------------------

_client = None


def get_paths():
    """:return: the L{Paths} of this node (``GANETI_ROOT`` or ``/``)."""
    return Paths()


def get_client():
    """
    :return: the connection to the master daemon (one per process).
    """
    global _client
    if _client is None:
        from ganeti.cli.client import LuxiClient
        socket_path = os.environ.get("FORCE_LUXI_SOCKET") or \
            get_paths().master_socket
        _client = LuxiClient(socket_path)
    return _client


# --- jobs ------------------------------------------------------------------

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
    return os.path.basename(sys.argv[0]) if sys.argv else "gnt"


class JobReporter:
    """Prints job progress as Ganeti's tools do."""

    def __init__(self):
        self._notified = set()

    def log_message(self, job_id, entry):
        _, timestamp, log_type, message = entry
        if log_type == "message-list" and isinstance(message, list):
            lines = message
        else:
            lines = [message if isinstance(message, str) else str(message)]
        when = time.ctime(timestamp[0] + timestamp[1] / 1e6)
        for line in lines:
            to_stdout("%s %s" % (when, line))

    def not_changed(self, job_id, status):
        if status in self._notified:
            return
        if status == "queued":
            to_stderr("Job %s is waiting in queue" % job_id)
        elif status == "waiting":
            to_stderr("Job %s is trying to acquire all necessary locks" % job_id)
        else:
            return
        self._notified.add(status)


class SilentReporter(JobReporter):
    """Reports nothing (``gnt-job wait``)."""

    def log_message(self, job_id, entry):
        pass

    def not_changed(self, job_id, status):
        pass


_OUTCOME_FIELDS = ["status", "opstatus", "opresult"]


def poll_job(job_id, reporter=None, client=None):
    """
    Follow a job to its end, printing its log.

    The wait asks for the fields that decide the outcome too, so a
    finished job costs one round trip to the master, not two.

    :return: the list of opcode results when the job succeeded.
    :raise GenericError: the error of the first failed opcode, or
        L{errors.JobCanceled}.
    """
    client = client or get_client()
    reporter = reporter or JobReporter()
    prev_info, prev_serial, status = None, None, None
    while True:
        result = client.call("WaitForJobChange", job_id, _OUTCOME_FIELDS,
                             prev_info, prev_serial, WAIT_TIMEOUT)
        if result == "nochange":
            reporter.not_changed(job_id, status)
            continue
        info, entries = result
        status = info[0]
        for entry in entries:
            reporter.log_message(job_id, entry)
            prev_serial = max(prev_serial or 0, entry[0])
        prev_info = info
        if status in ("success", "error", "canceled"):
            return job_outcome(job_id, *info)
        if status in ("queued", "waiting"):
            reporter.not_changed(job_id, status)


def job_outcome(job_id, status, opstatus, results):
    """
    :return: the opcode results of a successful job.
    :raise: the job's failure, as Ganeti's tools report it.
    """
    if status == "success":
        return results
    if status in ("canceling", "canceled"):
        raise errors.JobCanceled("Job was canceled")
    for index, (op_status, value) in enumerate(zip(opstatus, results)):
        if op_status == "success":
            continue
        if op_status == "error":
            if _is_encoded_error(value):
                raise errors.from_wire(value)
            if index:
                raise errors.OpExecError("partial failure (opcode %d): %s"
                                         % (index, value))
            raise errors.OpExecError(str(value))
    raise errors.OpExecError(str(results))


def _is_encoded_error(value):
    return (isinstance(value, list) and len(value) == 2
            and isinstance(value[0], str) and isinstance(value[1], list))


def submit_job(ops, opts=None):
    """
    Submit one job; prints ``JobID: N`` (and the bare id with
    ``--print-jobid``) as Ganeti does.

    :return: the job id.
    """
    for op in ops:
        set_common_op_options(op, opts)
    job_id = get_client().call("SubmitJob", ops)
    if opts is not None and getattr(opts, "print_jobid", False):
        to_stdout(str(job_id))
    return job_id


def submit_or_send(ops, opts):
    """
    Run a job the way the options ask: with ``--submit`` print its id and
    return None, else wait and return the opcode results.
    """
    job_id = submit_job(ops, opts)
    if getattr(opts, "submit", False):
        to_stderr("JobID: %s" % job_id)
        return None
    return poll_job(job_id)


def submit_opcode(op, opts):
    """
    :return: the result of a single opcode, or None with ``--submit``.
    """
    results = submit_or_send([op], opts)
    return None if results is None else results[0]


class JobExecutor:
    """
    Submits several jobs and waits for them in turn, printing what
    Ganeti's tools print ("Submitted jobs ...", "Waiting for job ...").
    """

    def __init__(self, verbose=True, opts=None, reporter=None):
        self._verbose = verbose
        self._opts = opts
        self._reporter = reporter
        self._queue = []
        self._jobs = []

    def queue_job(self, name, *ops):
        """Add a job (its opcodes) to submit later."""
        for op in ops:
            set_common_op_options(op, self._opts)
        self._queue.append((len(self._queue), name, list(ops)))

    def submit_pending(self, each=False):
        """Submit every queued job, all at once unless C{each}."""
        client = get_client()
        if each:
            results = [[True, client.call("SubmitJob", ops)]
                       for _, _, ops in self._queue]
        else:
            results = client.call("SubmitManyJobs",
                                  [ops for _, _, ops in self._queue])
        for (ok, data), (index, name, _) in zip(results, self._queue):
            self._jobs.append((index, ok, data, name))
        self._queue = []

    def add_job_id(self, name, ok, job_id):
        """
        Follow a job submitted elsewhere (by a job that hands back jobs,
        e.g. node migrate); C{ok} and C{job_id} are its submission result.
        """
        self._jobs.append((len(self._jobs), ok, job_id, name))

    @staticmethod
    def _for(name):
        return " for %s" % name if name else ""

    def get_results(self):
        """
        Wait for every submitted job.

        :return: ``(success, result or error message)`` per job, in order.
        """
        if not self._jobs:
            self.submit_pending()
        results = []
        if self._verbose:
            ok_jobs = [str(job_id) for _, ok, job_id, _ in self._jobs if ok]
            if ok_jobs:
                to_stdout("Submitted jobs %s" % ", ".join(ok_jobs))
        for index, ok, job_id, name in self._jobs:
            if not ok:
                to_stderr("Failed to submit job%s: %s" % (self._for(name), job_id))
                results.append((index, False, job_id))
                continue
            to_stdout("Waiting for job %s%s ..." % (job_id, self._for(name)))
            try:
                result = poll_job(job_id, self._reporter)
                success = True
            except errors.JobLost as e:
                result = format_error(e)[1]
                success = False
                to_stderr("Job %s%s has been archived, cannot check its result"
                          % (job_id, self._for(name)))
            except errors.GenericError as e:
                result = format_error(e)[1]
                success = False
                to_stderr("Job %s%s has failed: %s"
                          % (job_id, self._for(name), result))
            results.append((index, success, result))
        self._jobs = []
        return [r[1:] for r in sorted(results, key=lambda r: r[0])]


def print_modifications(kind, name, result):
    """Print a modify result as Ganeti does (``Modified node x`` + pairs)."""
    if not result:
        return
    to_stdout("Modified %s %s" % (kind, name))
    for param, value in result:
        to_stdout(" - %-5s -> %s" % (param, value))


# --- list output -----------------------------------------------------------

def generic_list(resource, fields, names, opts, default_fields,
                 name_field="name", is_numeric=False, qfilter=None,
                 format_override=None):
    """
    Query and print a list, as every ``list`` subcommand does.

    :return: the exit code (14 for unknown fields).
    """
    from ganeti import qlang
    from ganeti.cli import table
    selected = table.parse_fields(opts.output, default_fields)
    if qfilter is None:
        qfilter = qlang.make_filter(names, force_filter=opts.force_filter,
                                    name_field=name_field, is_numeric=is_numeric)
    result = get_client().call("Query", resource, selected, qfilter)
    lines, status = table.format_query_result(
        result, headers=not opts.no_headers, separator=opts.separator,
        units=opts.units, verbose=bool(opts.verbose),
        format_override=format_override)
    unknown = table.unknown_fields(result["fields"])
    if unknown:
        to_stderr("Warning: Queried for unknown fields %s"
                  % ", ".join(unknown))
    for line in lines:
        to_stdout(line)
    if status == table.QR_UNKNOWN:
        return EXIT_UNKNOWN_FIELD
    return EXIT_SUCCESS


def generic_list_fields(resource, fields, opts):
    """Print ``list-fields``; :return: the exit code."""
    from ganeti.cli import table
    result = get_client().call("QueryFields", resource, fields or None)
    for line in table.format_field_list(result["fields"],
                                        headers=not opts.no_headers,
                                        separator=opts.separator):
        to_stdout(line)
    if table.unknown_fields(result["fields"]):
        return EXIT_UNKNOWN_FIELD
    return EXIT_SUCCESS


# --- user interaction and parsing ------------------------------------------

def ask_user(text):
    """
    Ask a yes/no question on the terminal.

    :return: True only for an explicit yes; False without a terminal.
    """
    try:
        tty = open("/dev/tty", "r+")
    except OSError:
        return False
    with tty:
        while True:
            tty.write(text + "\ny/[n]/? ")
            tty.flush()
            line = tty.readline().strip().lower()
            if line in ("y", "yes"):
                return True
            if line in ("", "n", "no"):
                return False
            tty.write("y - Perform the operation\nn - Do not perform the"
                      " operation\n? - Show this help\n")


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

    :return: ``(ident, dict)``; a leading ``-``/``no_`` on a bare ident
        means "remove" (None) as in Ganeti.
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


def parse_bool(value, option):
    """:return: True/False for ``yes``/``no`` option values."""
    text = value.lower()
    if text in ("yes", "true", "on", "1"):
        return True
    if text in ("no", "false", "off", "0"):
        return False
    raise UsageError("Invalid value '%s' for option %s: expected yes or no"
                     % (value, option))


def load_json_file(path):
    """:return: the JSON content of a file, or raise L{UsageError}."""
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise UsageError("Cannot read %s: %s" % (path, e.strerror))
    except ValueError as e:
        raise UsageError("%s is not valid JSON: %s" % (path, e))


# --- the main loop ---------------------------------------------------------

def _usage_lines(binary, commands):
    width = min(60, max(map(len, commands)))
    yield "Usage: %s {command} [options...] [argument...]" % binary
    yield "%s <command> --help to see details, or man %s" % (binary, binary)
    yield ""
    yield "Commands:"
    for name in sorted(commands):
        yield " %-*s - %s" % (width, name, commands[name].description)
    yield ""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit with Ganeti's code for them."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, "%s: error: %s\n" % (self.prog, message))


def _check_args(name, spec, args):
    if args and spec.high == 0:
        raise UsageError("Error: Command %s expects no arguments" % name)
    if spec.high is not None and spec.low == spec.high and len(args) != spec.low:
        raise UsageError("Error: Command %s expects %d argument(s)"
                         % (name, spec.low))
    if spec.high is not None and len(args) > spec.high:
        raise UsageError("Error: Command %s expects only %d argument(s)"
                         % (name, spec.high))
    if len(args) < spec.low:
        raise UsageError("Error: Command %s expects at least %d argument(s)"
                         % (name, spec.low))


def main(commands, aliases=None, argv=None):
    """
    Run a ``gnt-*`` tool.

    :param commands: subcommand name -> L{Command}.
    :param aliases: alias -> subcommand name.
    :return: the exit code.
    """
    from ganeti import __version__
    argv = list(sys.argv if argv is None else argv)
    binary = os.path.basename(argv[0]) if argv else "gnt"
    aliases = aliases or {}
    if len(argv) < 2 or argv[1] not in commands and argv[1] not in aliases:
        if len(argv) >= 2 and argv[1] == "--version":
            to_stdout("%s (ganeti) %s" % (binary, __version__))
            return EXIT_SUCCESS
        for line in _usage_lines(binary, commands):
            to_stdout(line)
        return EXIT_SUCCESS if argv[1:2] == ["--help"] else EXIT_FAILURE
    name = aliases.get(argv[1], argv[1])
    command = commands[name]
    parser = _Parser(prog="%s %s" % (binary, name),
                     usage="%%(prog)s %s" % command.usage,
                     description=command.description)
    for flags, kwargs in command.options + [DEBUG_OPT]:
        parser.add_argument(*flags, **kwargs)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    env_name = ("%s_%s" % (binary.replace("-", "_"), name)).upper()
    extra = os.environ.get(env_name)
    rest = argv[2:]
    if extra:
        import shlex
        rest = shlex.split(extra) + rest
    opts = parser.parse_intermixed_args(rest)
    try:
        _check_args(name, command.args, opts.args)
        result = command.func(opts, opts.args)
    except UsageError as e:
        to_stderr(str(e))
        return EXIT_FAILURE
    except errors.GenericError as e:
        code, message = format_error(e)
        to_stderr(message)
        return code
    except KeyboardInterrupt:
        to_stderr("Aborted. Note that if the operation created any jobs, they"
                  " might have been submitted and will continue to run in the"
                  " background.")
        return EXIT_FAILURE
    except BrokenPipeError:
        return EXIT_FAILURE
    return EXIT_SUCCESS if result is None else result


def run(commands, aliases=None):
    """Entry point of a ``bin/gnt-*`` script."""
    sys.exit(main(commands, aliases))
