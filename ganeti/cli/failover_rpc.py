# -*- test-case-name: tests.test_cli_cluster -*-
"""
The node RPC that ``gnt-cluster master-failover`` runs from the tool.

Every other command asks the master daemon, over its Unix socket, with
the blocking client of L{ganeti.cli.client}.  A failover replaces the
master: the old one may be down and the new one is not running yet, so
there is no master to ask.  The tool, on the node that is to become
master, calls the nodes itself (L{ganeti.failover.master_failover} over
L{ganeti.rpc.NodeRpc}: TLS with the cluster certificate), and that needs a
Twisted reactor.  This is the only place a tool runs one; the command
imports this module when it runs, so no other command pays the ~0.3 s
that importing the reactor costs.
"""

from twisted.internet import task

from ganeti import failover
from ganeti.rpc import NodeRpc


def run_master_failover(paths, no_voting, report):
    """
    Make this node the master, running the global reactor until done.

    :param paths: this node's L{ganeti.paths.Paths}.
    :param no_voting: skip asking the nodes who the master is.
    :param report: called with each progress line.
    :raise GenericError: why this node could not become the master.
    """
    outcome = []

    def run(reactor):
        with open(paths.server_pem, "rb") as f:
            rpc = NodeRpc(reactor, f.read())
        d = failover.master_failover(reactor, paths, rpc, no_voting,
                                     report=report)
        # Keep the outcome for after the reactor stops: task.react only
        # logs a failure and exits.
        d.addBoth(outcome.append)
        return d.addBoth(lambda _: rpc.close())

    try:
        task.react(run)
    except SystemExit:
        pass
    if outcome and hasattr(outcome[0], "raiseException"):
        outcome[0].raiseException()
