# -*- test-case-name: tests.test_osdef -*-
"""
Directories of operator-installed scripts found through a search path,
and running those scripts with their output in a log file of their own.

Two Ganeti interfaces work this way: OS definitions (L{ganeti.osdef},
``/srv/ganeti/os/<name>``) and ExtStorage providers
(L{ganeti.storage.extstorage}, ``/srv/ganeti/extstorage/<name>``).  Both
are a directory named after the definition, holding executable scripts
and a ``parameters.list``; Ganeti never copies them between nodes, so
every node reports what it has; the first search directory holding a
name wins; the scripts get a clean environment and log what they print
to a file the operator reads when something fails.  This module holds
what the two share, so their checks, messages and logs cannot drift
apart.

Reading a definition means a few C{stat}s and reads of tiny local files,
done inline; scripts run through L{ganeti.process.run_command}, so the
reactor never waits for them.
"""

import os
import stat
import time

from ganeti.errors import OpExecError
from ganeti.process import run_command

#: The text file listing a definition's parameters, ``name description``
#: per line.
PARAMETERS_FILE = "parameters.list"

#: Lines of the log quoted in the error of a failed script.
LOG_TAIL_LINES = 20

# Runs the script with its standard streams on real files, so neither a
# disk image (import/export) nor a long install log passes through the
# daemon's memory.  Positional parameters: log, stdin, stdout ("" = the
# log), size file ("" = none), then the script and its arguments.
_WRAPPER = (
    '_log=$1 _in=$2 _out=$3 _size=$4; shift 4\n'
    'if [ -n "$_size" ]; then exec 3>"$_size"; fi\n'
    'if [ -n "$_out" ]; then exec "$@" <"$_in" >"$_out" 2>>"$_log"; fi\n'
    'exec "$@" <"$_in" >>"$_log" 2>&1\n'
)


def bad_name(name):
    """
    :return: whether C{name} cannot be a definition's name: empty, hidden,
        or one that would leave the search directory.
    """
    return (not name or "/" in name or name in (".", "..")
            or name.startswith("."))


def find_directory(search_path, name):
    """
    :return: the directory of C{name} in the first search directory that
        has it, or C{None}.
    """
    for directory in search_path:
        candidate = os.path.join(directory, name)
        if os.path.isdir(candidate):
            return candidate
    return None


def visible_entries(search_path):
    """
    Every entry of every search directory, for a node's diagnosis.

    A name present in several directories is given once, from the first,
    since that is the one L{find_directory} finds.  Hidden entries are
    skipped; a directory that cannot be listed has none.

    :return: a list of C{(name, path)}, in search path order, each
        directory's entries sorted by name.
    """
    seen = set()
    result = []
    for directory in search_path:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if name.startswith(".") or name in seen:
                continue
            seen.add(name)
            result.append((name, os.path.join(directory, name)))
    return result


def check_file(path, filename, executable):
    """
    :return: C{None} if C{filename} is a regular file in C{path} (and
        executable by its owner when asked), else the reason it is not,
        in Ganeti's words.
    """
    full = os.path.join(path, filename)
    try:
        st = os.stat(full)
    except OSError as e:
        return ("File '%s' under path '%s' is missing (%s)"
                % (filename, path, e.strerror))
    if not stat.S_ISREG(st.st_mode):
        return ("File '%s' under path '%s' is not a regular file"
                % (filename, path))
    if executable and not st.st_mode & stat.S_IXUSR:
        return ("File '%s' under path '%s' is not executable"
                % (filename, path))
    return None


def read_lines(filename):
    """
    :return: the lines of a small text file.
    :raise OSError: if it cannot be read.
    """
    with open(filename) as f:
        return f.read().splitlines()


def parse_parameters(lines):
    """
    :param lines: the lines of a ``parameters.list``.
    :return: C{(name, description)} pairs in file order; blank lines are
        skipped and a name without description gets C{""}.
    """
    parameters = []
    for line in lines:
        parts = line.split(None, 1)
        if parts:
            parameters.append((parts[0], parts[1].strip()
                               if len(parts) > 1 else ""))
    return parameters


def log_component(text):
    """
    :return: C{text} made safe as part of a log file name.
    """
    return str(text).replace("/", "_") or "_"


def log_stamp(timestamp):
    """
    :return: C{timestamp} as Ganeti writes it in log file names,
        ``YYYY-MM-DD_HH_MM_SS`` (local time).
    """
    return time.strftime("%Y-%m-%d_%H_%M_%S", time.localtime(timestamp))


def create_log(log_dir, base):
    """
    Create a new, empty log file; a second run in the same second gets a
    numbered name instead of mixing its output into the first one's.

    :param base: the file name wanted, ending in ``.log``.
    :return: the path.
    :raise OpExecError: if no file can be created.
    """
    os.makedirs(log_dir, mode=0o750, exist_ok=True)
    stem = base[:-len(".log")]
    for attempt in range(1000):
        name = base if not attempt else "%s-%d.log" % (stem, attempt)
        path = os.path.join(log_dir, name)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o640))
        except FileExistsError:
            continue
        return path
    raise OpExecError("Can't create a log file for %s in %s"
                      % (base, log_dir))


def tail_file(path, lines=LOG_TAIL_LINES, max_bytes=64 * 1024):
    """
    :return: the last C{lines} lines of a (log) file, as text; C{[]} if it
        cannot be read.
    """
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-lines:]


def exit_reason(result):
    """
    :return: how a script ended, e.g. ``"exit code 1"``; the command line
        is left out since it is the wrapper shell's, not the script's.
    """
    if result.signal is not None:
        return "killed by signal %d" % (result.signal,)
    return "exit code %d" % (result.exit_code,)


def run_logged(reactor, script, args, env, cwd, log_path, timeout,
               stdin_path=None, stdout_path=None, size_path=None,
               name="ganeti-script"):
    """
    Run one script with exactly C{env} as its environment, in C{cwd}
    (scripts source their helpers by relative path), its output appended
    to C{log_path}.

    :param script: the script's path.
    :param args: its arguments.
    :param stdin_path: file for standard input; C{/dev/null} if C{None}.
    :param stdout_path: file for standard output; the log if C{None}.
        Standard error always goes to the log.
    :param size_path: a file opened as descriptor 3 for the script
        (OS export's C{EXP_SIZE_FD}).
    :param name: the wrapper shell's C{$0}, seen in C{ps}.
    :return: a Deferred firing with the L{ganeti.process.CommandResult}
        (whatever its exit code), or failing with
        L{ganeti.errors.CommandTimedOut}.
    """
    argv = (["/bin/sh", "-c", _WRAPPER, name, log_path,
             stdin_path or os.devnull, stdout_path or "", size_path or "",
             script] + list(args))
    return run_command(reactor, argv, timeout=timeout, env=env, cwd=cwd)
