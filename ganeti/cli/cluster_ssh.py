# -*- test-case-name: tests.test_cli_cluster -*-
"""
``gnt-cluster command`` and ``gnt-cluster copyfile``: the two commands
that reach the nodes over ssh (as root, in batch mode) rather than through
the master, as Ganeti's do.  The master only says which nodes are online.
"""

import os

from ganeti import errors
from ganeti.cli import base
from ganeti.cli.options import Args, Command, opt


def _online_nodes(opts):
    """:return: online node names (the ones asked for), master last."""
    result = base.get_client().call(
        "Query", "node", ["name", "offline", "master", "group"], None)
    rows = [[cell[1] for cell in row] for row in result["data"]]
    names = [name for name, offline, _, group in rows if not offline
             and (not opts.nodes or name in opts.nodes)
             and (not opts.nodegroup or group == opts.nodegroup)]
    unknown = sorted(set(opts.nodes or []) - {row[0] for row in rows})
    if unknown:
        raise errors.OpPrereqError("Node '%s' is unknown" % unknown[0], "noent")
    master = [row[0] for row in rows if row[2]]
    return ([n for n in names if n not in master] +
            [n for n in names if n in master])


def run_command(opts, args):
    """``gnt-cluster command``: run a shell command on the nodes over ssh."""
    import shlex
    import subprocess
    command = " ".join(shlex.quote(a) for a in args) if len(args) > 1 else args[0]
    code = 0
    for name in _online_nodes(opts):
        result = subprocess.run(["ssh", "-oBatchMode=yes", "-q",
                                 "root@%s" % name, command],
                                stdin=subprocess.DEVNULL, capture_output=True,
                                text=True)
        output = (result.stdout + result.stderr).rstrip("\n")
        if opts.failure_only and result.returncode == 0:
            continue
        base.to_stdout("------------------------------------------------")
        if opts.show_machine_names:
            for line in output.splitlines():
                base.to_stdout("%s: %s" % (name, line))
        else:
            base.to_stdout("node: %s" % name)
            base.to_stdout(output)
        base.to_stdout("return code = %s" % result.returncode)
        if result.returncode != 0:
            code = 1
    return code


def copy_file(opts, args):
    """``gnt-cluster copyfile``: copy a file to the same path on the nodes."""
    import subprocess
    path = os.path.abspath(args[0])
    if not os.path.isfile(path):
        raise errors.OpPrereqError("No such filename '%s'" % path, "noent")
    from ganeti import netutils
    me = netutils.local_node_name(base.get_paths())
    code = 0
    for name in _online_nodes(opts):
        if name == me:
            continue
        result = subprocess.run(["scp", "-oBatchMode=yes", "-q", "-p", path,
                                 "root@%s:%s" % (name, path)],
                                stdin=subprocess.DEVNULL, capture_output=True,
                                text=True)
        if result.returncode != 0:
            base.to_stderr("Copy of file %s to node %s failed: %s"
                           % (path, name, result.stderr.strip()))
            code = 1
    return code


_NODE_GROUP_OPT = opt("-g", "--node-group", dest="nodegroup", default=None,
                      help="Node group (name)")

COMMANDS = {
    "command": Command(run_command, Args(1, None), [
        opt("-n", "--node", dest="nodes", action="append", default=[],
            help="Node to run the command on (repeatable)"),
        _NODE_GROUP_OPT,
        opt("-M", dest="show_machine_names", action="store_true",
            default=False, help="Show machine name for every line in output"),
        opt("--failure-only", action="store_true", default=False,
            help="Only show output from nodes where the command failed")],
        "[-n node...] <command>", "Runs a command on all (or only some) nodes"),
    "copyfile": Command(copy_file, Args(1, 1), [
        opt("-n", "--node", dest="nodes", action="append", default=[],
            help="Node to copy to (repeatable)"),
        _NODE_GROUP_OPT,
        opt("--use-replication-network", action="store_true", default=False,
            help="Whether to use the replication network for talking to the"
                 " nodes")],
        "[-n node...] <filename>", "Copies a file to all (or only some) nodes"),
}
