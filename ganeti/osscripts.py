# -*- test-case-name: tests.test_osdef -*-
"""
Running OS scripts, each with its own log file.

A script's output goes to a log file of its own in ``<log_dir>/os/``
(the operator's first stop when an install fails), and a failure quotes
the file's last lines.  Scripts run through L{ganeti.process.run_command},
so the reactor never waits; their environment comes from
L{ganeti.osenv}.  The log files and the wrapper that fills them are
L{ganeti.scriptdir}'s, shared with the ExtStorage providers.
"""

from twisted.internet.defer import fail, succeed

from ganeti.errors import CommandTimedOut, OpExecError
from ganeti.osdef import (
    API_V20, SCRIPT_CREATE, SCRIPT_VERIFY, check_parameters)
from ganeti.osenv import core_environment
from ganeti.process import run_command
from ganeti.scriptdir import (
    LOG_TAIL_LINES, create_log, exit_reason, log_component, log_stamp,
    run_logged, tail_file)

__all__ = ["LOG_TAIL_LINES", "EXP_SIZE_FD", "VERIFY_PARAMETERS",
           "log_file_name", "read_expected_size", "run_script", "tail_file",
           "verify_parameters"]

#: The only check ``verify`` knows (API 20).
VERIFY_PARAMETERS = "parameters"

# Log file names start with the kind of operation, as in Ganeti.
_LOG_KINDS = {SCRIPT_CREATE: "add"}

#: The file descriptor an export script may write its expected size to.
EXP_SIZE_FD = 3


def log_file_name(script, os_name, instance_name, timestamp):
    """
    :return: ``<op>-<os>-<instance>-<timestamp>.log``, C{op} being ``add``
        for create and the script name otherwise (Ganeti's names), the
        timestamp as ``YYYY-MM-DD_HH_MM_SS`` (local time).
    """
    return "%s-%s-%s-%s.log" % (_LOG_KINDS.get(script, script),
                                log_component(os_name),
                                log_component(instance_name),
                                log_stamp(timestamp))


def run_script(reactor, os_def, script, env, log_dir, instance_name,
               timeout, stdin_path=None, stdout_path=None, args=(),
               size_path=None):
    """
    Run one OS script with a clean environment, logging its output.

    The script runs in the OS directory (scripts source their helpers by
    relative path), with exactly C{env} as its environment.

    :param reactor: an L{IReactorProcess} and L{IReactorTime}.
    :param os_def: a valid L{ganeti.osdef.OSDefinition}.
    :param script: C{"create"}, C{"import"}, C{"export"}, C{"rename"} or
        C{"verify"}.
    :param env: the environment, from L{ganeti.osenv.build_environment}
        and L{ganeti.osenv.script_environment}.
    :param log_dir: where the log goes (``<log_dir>/os`` of the node).
    :param instance_name: the instance, as it should appear in the log
        file name (for a rename, Ganeti uses ``old-new``).
    :param timeout: seconds before the script is terminated.
    :param stdin_path: file for standard input (import: the dump);
        C{/dev/null} if C{None}.
    :param stdout_path: file for standard output (export: the dump); the
        log if C{None}.  Standard error always goes to the log.
    :param args: arguments for the script.
    :param size_path: for export: a file the script may write its
        expected dump size to, through descriptor C{EXP_SIZE_FD} (added
        to C{env}).
    :return: a Deferred firing with the log file's path; failing with
        L{OpExecError} naming the log file and quoting its last lines.
    """
    try:
        os_def.require_valid()
        if script not in os_def.scripts:
            raise OpExecError("OS %s has no %r script (API %s)"
                              % (os_def.name, script, os_def.api_version))
        os_name = env.get("INSTANCE_OS") or os_def.name
        log_path = create_log(log_dir, log_file_name(
            script, os_name, instance_name, reactor.seconds()))
    except Exception:
        return fail()
    env = dict(env)
    if size_path:
        env["EXP_SIZE_FD"] = str(EXP_SIZE_FD)
    d = run_logged(reactor, os_def.script(script), args, env, os_def.path,
                   log_path, timeout, stdin_path=stdin_path,
                   stdout_path=stdout_path, size_path=size_path,
                   name="ganeti-os-" + script)

    def failed_message(reason):
        lines = tail_file(log_path)
        return ("OS %s script failed (%s), last lines in the log file %s:"
                "\n%s" % (script, reason, log_path, "\n".join(lines)))

    def finished(result):
        if result.failed:
            raise OpExecError(failed_message(exit_reason(result)))
        return log_path

    def timed_out(failure):
        failure.trap(CommandTimedOut)
        raise OpExecError(failed_message(
            "timed out after %g seconds" % (timeout,)))

    return d.addCallbacks(finished, timed_out)


def read_expected_size(size_path):
    """
    :return: the byte count an export script wrote to C{EXP_SIZE_FD}, or
        C{None} if it wrote none.
    """
    try:
        with open(size_path) as f:
            text = f.read().strip()
        return int(text.splitlines()[0]) if text else None
    except (OSError, ValueError):
        return None


def verify_parameters(reactor, os_def, osparams, variant="", timeout=60):
    """
    Validate OS parameters with the OS's ``verify parameters`` (API 20).

    Unknown parameter names are refused before the script runs.  The
    script gets only L{ganeti.osenv.core_environment}'s variables.

    :return: a Deferred firing with C{True} once the script accepted the
        parameters, or C{False} straight away for an OS older than API 20
        (which has no parameters to verify); failing with
        L{OpPrereqError} for unknown names, L{OpExecError} with the
        script's output if it refused them.
    """
    try:
        os_def.require_valid()
        if max(os_def.api_versions) < API_V20:
            return succeed(False)
        check_parameters(os_def, osparams)
        env = core_environment(os_def, variant, osparams)
    except Exception:
        return fail()
    argv = [os_def.script(SCRIPT_VERIFY), VERIFY_PARAMETERS]
    d = run_command(reactor, argv, timeout=timeout, env=env,
                    cwd=os_def.path)

    def finished(result):
        if result.failed:
            output = (result.stdout + result.stderr).decode(
                "utf-8", "replace").strip()
            raise OpExecError("OS validation script failed (%s), output: %s"
                              % (result.describe(), output))
        return True

    def timed_out(failure):
        failure.trap(CommandTimedOut)
        raise OpExecError("OS validation script of %s timed out after %g"
                          " seconds" % (os_def.name, timeout))

    return d.addCallbacks(finished, timed_out)
