# -*- test-case-name: tests.test_cmdlib_cluster_ops,tests.test_cmdlib_instance -*-
"""
The shape every logical unit has.
"""

from twisted.internet.defer import maybeDeferred, succeed
from twisted.logger import Logger

from ganeti import errors, hooks, locking
from ganeti.cmdlib.hooks import HooksMaster
from ganeti.network import PendingAddresses

_log = Logger()


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
        #: Pool addresses chosen by running opcodes (L{PendingAddresses}).
        self.addresses = PendingAddresses()


class LogicalUnit:
    """
    Base of all logical units.

    The runner calls L{needed_locks}, acquires what it says, then
    L{check_prereq} (which must change nothing), L{run_hooks} of the pre
    phase, L{execute} and L{run_hooks} of the post phase (a dry run stops
    after the pre phase, as in Ganeti).

    :cvar BGL_SHARED: take the Big Ganeti Lock shared (True), exclusive
        (False), or not at all (None).
    :cvar HPATH: the hooks path (``instance-start``: scripts in
        ``instance-start-pre.d`` and ``-post.d``); None for no hooks.
    :cvar HTYPE: what the unit acts on (L{ganeti.hooks.HTYPE_INSTANCE}...).
    """

    BGL_SHARED = True
    HPATH = None
    HTYPE = None

    #: The L{HooksMaster}, once the pre phase ran.
    _hooks = None

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

    def finish(self):
        """
        Called once the opcode ended, however it ended: what it kept
        aside for itself while running (pool addresses) is let go.
        """
        self.ctx.addresses.drop(self)

    def execute(self):
        """Do the work; may return a Deferred.  :return: the opcode result."""
        raise NotImplementedError

    # --- hooks (Ganeti's BuildHooksEnv, BuildHooksNodes, HooksCallBack) ------

    def build_hooks_env(self):
        """
        :return: the unit's hooks variables, names without ``GANETI_``
            (``INSTANCE_NAME``); called for the pre phase and again, after
            L{execute}, for the post phase's ``GANETI_POST_*``.
        """
        return {}

    def build_hooks_nodes(self):
        """:return: ``(pre-phase node uuids, post-phase node uuids)``."""
        return [], []

    def prepare_post_hook_nodes(self, node_uuids):
        """
        :return: the post phase's node uuids, given those of
            L{build_hooks_nodes} (a node added meanwhile joins them).
        """
        return node_uuids

    def hooks_callback(self, phase, results, result):
        """
        Look at a phase's answers (``{node name: RpcResult}``).

        :param result: the L{execute} result (None in the pre phase).
        :return: the opcode's result (cluster verify makes it False when
            a post script failed).
        """
        return result

    def run_hooks(self, phase, result=None):
        """
        Run this unit's hooks of C{phase} (the job runner's call).

        :param result: the L{execute} result, for the post phase.
        :return: a Deferred firing with the opcode's result (see
            L{hooks_callback}); failing with
            L{ganeti.errors.HooksAbort} when a pre script failed.
        """
        if self.HPATH is None or self.ctx.rpc is None:
            # No hooks, or a master that calls no node at all.
            return succeed(result)
        d = maybeDeferred(self.hooks_master().run_phase, phase)

        def broken(failure):
            # After the unit changed things, hooks that cannot even run
            # must not make the job look as if nothing happened.
            if phase == hooks.PHASE_PRE or failure.check(errors.HooksAbort):
                return failure
            _log.failure("post hooks of {opcode} failed",
                         failure=failure, opcode=self.op.get("OP_ID"))
            self.log_warning("Running the post hooks failed: %s"
                             % failure.getErrorMessage())
            return result
        return d.addCallbacks(
            lambda results: self.hooks_callback(phase, results, result),
            broken)

    def hooks_master(self):
        """:return: this unit's L{HooksMaster} (built on first use)."""
        if self._hooks is None:
            self._hooks = HooksMaster(self)
        return self._hooks

    def run_post_hook(self, node):
        """
        Run the post phase on C{node} alone, during L{execute}: for a node
        about to leave the cluster (Ganeti's C{RunPostHook}).  Nothing
        that goes wrong stops the unit.

        :param node: a L{ganeti.objects.Node}.
        :return: a Deferred firing with None.
        """
        if self.HPATH is None or self.ctx.rpc is None or node.offline:
            return succeed(None)
        d = maybeDeferred(self.hooks_master().run_phase, hooks.PHASE_POST,
                          nodes=[node])

        def failed(failure):
            self.log_warning("Errors occurred running hooks on %s: %s"
                             % (node.name, failure.getErrorMessage()))
        return d.addCallbacks(lambda _: None, failed)

    # --- job log ---------------------------------------------------------------

    def log_info(self, message):
        """Report progress to whoever watches the job."""
        self.feedback(" - INFO: %s" % message)

    def log_warning(self, message):
        """Report a problem that does not stop the opcode."""
        self.feedback(" - WARNING: %s" % message)
