# -*- test-case-name: tests.test_daemon -*-
"""
Starting, stopping and checking a node's ``twistd ganeti`` process, as
Ganeti's ``daemon-util`` does, for the tools (not for the reactor: these
calls block).

The process is found through its pid file, never by name, so several
nodes (roots) on one machine never touch each other's daemon.
"""

import errno
import os
import signal
import socket
import subprocess
import sys
import time

from ganeti import errors


#: What the ``twistd`` script runs; run directly it needs no script on the
#: PATH or beside the interpreter (a node whose packages are only on
#: Python's path has none).
_TWISTD = "from twisted.scripts.twistd import run; run()"


def twistd_command(paths):
    """:return: the argv that starts the node daemon for C{paths}."""
    return [sys.executable, "-c", _TWISTD, "--pidfile", paths.pid_file,
            "--logfile", paths.daemon_log, "--umask", "0022",
            "ganeti", "--root", paths.root]


def read_pid(paths):
    """:return: the daemon's pid if it is running, else None."""
    try:
        with open(paths.pid_file) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError as e:
        if e.errno == errno.ESRCH:
            return None
    # A zombie still answers kill(0); it is not running.
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().split(") ", 1)[1].startswith("Z"):
                return None
    except (OSError, IndexError):
        return None
    return pid


def master_answers(paths):
    """:return: True when the master socket accepts connections."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(paths.master_socket)
        return True
    except OSError:
        return False
    finally:
        sock.close()


def _wait(condition, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def start(paths, wait_for_master=False, timeout=30.0):
    """
    Start the daemon unless it runs; optionally wait until the master
    socket answers.

    :raise CommandError: if it does not come up (its log tail is shown).
    """
    if read_pid(paths) is None:
        for directory in (paths.run_dir, paths.log_dir):
            os.makedirs(directory, exist_ok=True)
        # A pid file left by a killed daemon would make twistd refuse.
        try:
            os.unlink(paths.pid_file)
        except FileNotFoundError:
            pass
        env = dict(os.environ, GANETI_ROOT=paths.root)
        result = subprocess.run(twistd_command(paths), env=env,
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            raise errors.CommandError(
                "Could not start the ganeti daemon: %s"
                % result.stdout.decode("utf-8", "replace").strip())
    ok = _wait(lambda: read_pid(paths) is not None and
               (not wait_for_master or master_answers(paths)), timeout)
    if not ok:
        raise errors.CommandError(
            "The ganeti daemon did not come up within %d seconds; last log"
            " lines:\n%s" % (timeout, _log_tail(paths)))


def _log_tail(paths, lines=10):
    try:
        with open(paths.daemon_log, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(paths, timeout=30.0):
    """
    Stop the daemon: SIGTERM, then SIGKILL if it lingers.

    :return: True if a daemon was running.
    """
    pid = read_pid(paths)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    if not _wait(lambda: read_pid(paths) != pid, timeout):
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: read_pid(paths) != pid, 5.0)
    try:
        os.unlink(paths.pid_file)
    except FileNotFoundError:
        pass
    return True


def main(argv=None):
    """``ganeti-daemon start|stop|restart|status``: :return: exit code."""
    from ganeti.paths import Paths
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in ("start", "stop", "restart", "status"):
        sys.stderr.write("Usage: ganeti-daemon start|stop|restart|status\n")
        return 1
    paths = Paths()
    action = argv[0]
    try:
        if action in ("stop", "restart"):
            stop(paths)
        if action in ("start", "restart"):
            start(paths)
    except errors.GenericError as e:
        sys.stderr.write("%s\n" % e)
        return 1
    if action == "status":
        pid = read_pid(paths)
        if pid is None:
            sys.stdout.write("ganeti is not running\n")
            return 1
        sys.stdout.write("ganeti is running (pid %d)\n" % pid)
    return 0
