# -*- test-case-name: tests.test_cmdlib_cluster_ops,tests.test_cmdlib_instance -*-
"""
The shape every logical unit has.
"""

from ganeti import locking


class MasterContext:
    """
    What logical units may use: the config writer, the node's paths, the
    reactor, the job queue and the node RPC client.  One per master daemon.
    """

    def __init__(self, config, paths, reactor, queue=None, rpc=None,
                 replicator=None):
        self.config = config
        self.paths = paths
        self.reactor = reactor
        self.queue = queue
        self.rpc = rpc
        self.replicator = replicator


class LogicalUnit:
    """
    Base of all logical units.

    The runner calls L{needed_locks}, acquires what it says, then
    L{check_prereq} (which must change nothing) and L{execute}.

    :cvar BGL_SHARED: take the Big Ganeti Lock shared (True), exclusive
        (False), or not at all (None).
    """

    BGL_SHARED = True

    def __init__(self, ctx, op, feedback):
        self.ctx = ctx
        self.op = op
        self.feedback = feedback
        self.dry_run_result = None

    @property
    def cfg(self):
        """The current configuration (an immutable value)."""
        return self.ctx.config.config

    def needed_locks(self):
        """
        :return: ``(level, names, shared)`` triples in level order.
        """
        if self.BGL_SHARED is None:
            return []
        return [(locking.LEVEL_CLUSTER, [locking.BGL], self.BGL_SHARED)]

    def check_prereq(self):
        """Raise L{ganeti.errors.OpPrereqError} if the opcode cannot run."""

    def execute(self):
        """Do the work; may return a Deferred.  :return: the opcode result."""
        raise NotImplementedError

    def log_info(self, message):
        """Report progress to whoever watches the job."""
        self.feedback(" - INFO: %s" % message)

    def log_warning(self, message):
        """Report a problem that does not stop the opcode."""
        self.feedback(" - WARNING: %s" % message)
