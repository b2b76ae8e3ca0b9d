# -*- test-case-name: tests.test_watcher -*-
"""
``ganeti-watcher``: ask the running master for one watcher run now.

The watcher itself runs inside the master every five minutes
(L{ganeti.master.watcher}); this command keeps Ganeti's cron habit and
its QA's ``ganeti-watcher -d --ignore-pause --wait-children`` working.
Like Ganeti's, it is quiet unless ``--debug`` is given (cron mails any
output), exits 0 when the watcher is paused, and exits 0 on a node that
is not the master, since cron starts it on every node.
"""

import argparse
import sys

from ganeti import __version__, errors, netutils, ssconf
from ganeti.cli import base


def _parser():
    parser = argparse.ArgumentParser(
        prog="ganeti-watcher", description="Ganeti cluster watcher")
    parser.add_argument("--version", action="version",
                        version="%%(prog)s (ganeti) %s" % __version__)
    parser.add_argument("-d", "--debug", action="store_true", default=False,
                        help="Show what the run did on stderr")
    parser.add_argument("-A", "--job-age", default=None,
                        help="Autoarchive jobs older than this age (default"
                             " 6 hours)")
    parser.add_argument("--ignore-pause", action="store_true", default=False,
                        help="Ignore cluster pause setting")
    parser.add_argument("--wait-children", action="store_true", default=False,
                        help="Wait for the jobs of the run to finish")
    parser.add_argument("--no-strict", action="store_true", default=False,
                        help="Accepted for Ganeti's cron line; runs in the"
                             " master never overlap, so it changes nothing")
    return parser


def _describe(report):
    """:return: the lines ``--debug`` shows for a run's report."""
    if report["paused"]:
        return ["Pause has been set, exiting"]
    lines = ["Archived %d jobs" % report["archived"]]
    lines.extend("Node %s does not answer" % name
                 for name in report["unreachable"])
    if report["rapi"] is False:
        lines.append("RAPI is not responding. Please investigate.")
    lines.extend("Job %s (%s): %s" % (job_id, what, status)
                 for job_id, what, status in report["jobs"])
    return lines


def main(argv=None):
    """
    :param argv: the arguments (without the program name).
    :return: the exit code.
    """
    opts = _parser().parse_args(argv)
    paths = base.get_paths()
    if ssconf.read(paths, "master_node") != netutils.local_node_name(paths):
        if opts.debug:
            base.to_stderr("Not on master, exiting")
        return base.EXIT_SUCCESS
    try:
        from ganeti.cli.job import parse_timespec
        job_age = (None if opts.job_age is None
                   else parse_timespec(opts.job_age))
        report = base.get_client().call("RunWatcher", opts.ignore_pause,
                                        opts.wait_children, job_age)
    except errors.GenericError as e:
        code, message = base.format_error(e)
        base.to_stderr(message)
        return code
    if opts.debug:
        for line in _describe(report):
            base.to_stderr(line)
    return base.EXIT_SUCCESS


def run():
    """Entry point of ``bin/ganeti-watcher``."""
    sys.exit(main())
