# -*- test-case-name: tests.test_cli_cluster -*-
"""
The main loop of every ``gnt-*`` tool: pick the subcommand, parse its
options, run it, and turn what went wrong into Ganeti's message and exit
code.  Also what every command may need on the way: stdout and stderr,
the yes/no question on the terminal, and the one connection to the
master.

The rest of the shared code is split by what a command needs, so a tool
imports only that: L{ganeti.cli.options} (declaring commands),
L{ganeti.cli.parsing} (option values), L{ganeti.cli.jobs} (submitting and
following jobs), L{ganeti.cli.listing} (``list`` commands).  A tool must
answer in a few tens of milliseconds: standard library only here, and
never the reactor.
"""

import argparse
import os
import sys

from ganeti import errors
from ganeti.cli.options import DEBUG_OPT
from ganeti.paths import Paths

EXIT_SUCCESS = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_NODESETUP_ERROR = 12
EXIT_CONFIRMATION = 13
EXIT_UNKNOWN_FIELD = 14


class UsageError(Exception):
    """The command line is wrong; the message says how."""


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
    if isinstance(err, errors.HooksAbort):
        return EXIT_FAILURE, "Failure: %s" % msg
    if isinstance(err, errors.HooksFailure):
        return EXIT_FAILURE, "Failure: hooks general failure: %s" % msg
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


# --- the terminal ----------------------------------------------------------

#: The choices of a plain yes/no question: (key, value, help).
YES_NO = [("y", True, "Perform the operation"),
          ("n", False, "Do not perform the operation")]


def _open_tty():
    """:return: the controlling terminal, for reading and writing."""
    return open("/dev/tty", "r+")


def ask_user(text, choices=None):
    """
    Ask a question on the terminal, as Ganeti's tools do: each line of
    C{text} wrapped at 70 columns, then the keys (``y/[n]/?: ``, the last
    one the default); ``?`` lists what each key does and an unknown
    answer asks again.

    :param choices: ``(key, value, help)`` triples; by default L{YES_NO}.
    :return: the value of the key typed; the last choice's without a
        terminal, or when the terminal closes.
    """
    import textwrap
    choices = list(choices or YES_NO)
    default = choices[-1][1]
    try:
        tty = _open_tty()
    except OSError:
        return default
    text = "\n".join(textwrap.fill(line, 70, replace_whitespace=False)
                     for line in text.splitlines())
    keys = [key for key, _, _ in choices]
    prompt = "/".join(keys[:-1] + ["[%s]" % keys[-1], "?"]) + ": "
    values = {key: value for key, value, _ in choices}
    with tty:
        while True:
            tty.write(text + "\n" + prompt)
            tty.flush()
            line = tty.readline()
            if not line:
                return default
            answer = line.strip().lower()
            if answer in values:
                return values[answer]
            if answer == "?":
                tty.write("".join(" %s - %s\n" % (key, helptext)
                                  for key, _, helptext in choices) + "\n")


def confirm_operation(names, kind, operation, extra=""):
    """
    Ask before an operation on several objects, as Ganeti does: the
    question lists them, or, for more than 20, offers ``v`` to view them
    first.

    :param names: the objects' names, in the order they are acted on.
    :param kind: what they are, plural (``instances``).
    :param operation: the command's word (``startup``).
    :param extra: text (ending in a newline) between the count and the
        question.
    :return: True if the user said yes.
    """
    question = ("The %s will operate on %d %s.\n%sDo you want to continue?"
                % (operation, len(names), kind, extra))
    listing = "\nAffected %s:\n%s" % (kind, "\n".join("  %s" % name
                                                      for name in names))
    yes = ("y", True, "Yes, execute the %s" % operation)
    no = ("n", False, "No, abort the %s" % operation)
    if len(names) <= 20:
        return ask_user(question + listing, [yes, no])
    answer = ask_user(question, [yes, ("v", "v", "View the list of affected"
                                       " %s" % kind), no])
    if answer == "v":
        answer = ask_user(question + listing, [yes, no])
    return answer


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
