# -*- test-case-name: tests.test_cleaner -*-
"""
``ganeti-cleaner node|master``: remove what expired on this node, as
Ganeti's cron job does (L{ganeti.cleaner} says what that is).

The daemon runs the same passes once a day by itself
(L{ganeti.cleaner_service}); the command is for cron habits and for
running a pass now.  It acts on the files directly rather than asking the
daemon: a pass is a walk over files that the daemon reads lazily and
tolerates losing (see L{ganeti.cleaner}), so the command needs no
daemon, works the same on the master and on any other node (which has no
master socket to ask), never holds up the daemon's reactor or threads,
and still cleans when the daemon is down.

As Ganeti's, it prints nothing when all went well (cron mails any
output): what it removes goes to a log of its own, ``var/log/ganeti/cleaner/`` for ``node`` and
``var/log/ganeti/master-cleaner/`` for ``master``, of which the newest
L{cleaner.KEEP_LOGS} stay.  Exit code 0 on success, 1 for a wrong
argument (with the usage line) or for files it could not remove.
"""

import os
import sys
import time

from ganeti import cleaner
from ganeti.cli import base

USAGE = "Usage: ganeti-cleaner node|master"


def _log_path(paths, mode, now):
    stamp = time.strftime("%Y-%m-%dT%H_%M", time.localtime(now))
    return os.path.join(cleaner.log_dir(paths, mode),
                        "cleaner-%s.%d.log" % (stamp, os.getpid()))


def _describe(now, report):
    """:return: the lines of a run's log."""
    lines = ["Cleaner started at %s" % time.ctime(now)]
    lines.extend("removed %s" % path for path in report.removed)
    lines.extend("cannot remove %s: %s" % failure for failure in report.failed)
    return lines


def main(argv=None, now=None):
    """
    :param argv: the arguments (without the program name).
    :param now: the current time (tests); by default the clock's.
    :return: the exit code.
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--help"]:
        base.to_stdout(USAGE)
        return base.EXIT_SUCCESS
    if argv == ["--help-completion"]:
        base.to_stdout("choices=%s 1 1" % ",".join(sorted(cleaner.MODES)))
        return base.EXIT_SUCCESS
    if len(argv) != 1 or argv[0] not in cleaner.MODES:
        base.to_stderr(USAGE)
        return base.EXIT_FAILURE
    mode = argv[0]
    paths = base.get_paths()
    now = time.time() if now is None else now
    log = _log_path(paths, mode, now)
    try:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        report = cleaner.clean(mode, paths, now)
        report.extend(cleaner.prune_logs(os.path.dirname(log),
                                         keep=cleaner.KEEP_LOGS - 1))
        with open(log, "a") as f:
            f.write("".join(line + "\n" for line in _describe(now, report)))
    except OSError as e:
        base.to_stderr("ganeti-cleaner: %s" % (e,))
        return base.EXIT_FAILURE
    if report.failed:
        base.to_stderr("ganeti-cleaner: could not remove %d files, see %s"
                       % (len(report.failed), log))
        return base.EXIT_FAILURE
    return base.EXIT_SUCCESS


def run():
    """Entry point of ``bin/ganeti-cleaner``."""
    sys.exit(main())
