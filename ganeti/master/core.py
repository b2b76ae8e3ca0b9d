# -*- test-case-name: tests.test_luxi_contract -*-
"""
The master's core, wired in one place: the configuration writer, the
lock manager, the job queue and its runner, the context the logical units
get, and the LUXI handler in front of them.

The master service (L{ganeti.master.service}) builds its core here and
adds what only a daemon has: the thread pool, the replicator, the watcher,
the RAPI and the LUXI socket.  The tests build the same core on a
L{twisted.internet.task.Clock}, so they run the wiring production runs.
"""

from twisted.internet.defer import maybeDeferred
from twisted.logger import Logger

from ganeti import config as configmod
from ganeti import ssconf
from ganeti.cmdlib.base import MasterContext
from ganeti.cmdlib.registry import make_lu_factory
from ganeti.console.gateway import ConsoleGateway, config_locator, pem_reader
from ganeti.console.tokens import ConsoleTokens
from ganeti.jobs.locks import LockManager
from ganeti.jobs.processor import JobRunner
from ganeti.jobs.queue import JobQueue
from ganeti.master.luxi import LuxiHandler
from ganeti.metrics.master import MasterMetrics

_log = Logger()


class MasterCore:
    """
    What every master has, daemon or test.

    The queue is not started here: the master service starts it as its
    child service.

    :param paths: the node's L{ganeti.paths.Paths}; the configuration
        must exist.
    :param reactor: the reactor, or a C{Clock} (the queue's clock and the
        logical units' reactor).
    :param rpc: the node RPC client (L{ganeti.rpc.NodeRpc} or a test
        double); None for a master that calls no node.
    :param write: ``write(function, *args, **kwargs) -> Deferred`` runs
        blocking file writes (the daemon's thread pool); by default the
        configuration and jobs are written at once.
    :param max_running: callable returning how many jobs may run at once;
        by default the cluster's ``max_running_jobs``.
    :ivar in_thread: runs a blocking function (e.g. making a key) through
        C{write}, at once without it.
    :ivar replicator: copies jobs, configuration and files to the other
        nodes (L{attach_replicator}); None until then.
    :ivar watcher: the L{ganeti.master.watcher.Watcher} the LUXI
        ``RunWatcher`` call runs; set by the master service.
    :ivar metrics: this master's L{MasterMetrics} (``/metrics``); the
        lock manager, the node RPC client and the configuration's writes
        are wrapped to feed it.
    :ivar consoles: the L{ConsoleGateway} of the browser consoles: their
        one-time tokens and the way to the nodes.
    """

    def __init__(self, paths, reactor, rpc=None, write=None, max_running=None):
        self.paths = paths
        self.in_thread = write or maybeDeferred
        self.replicator = None
        self.watcher = None
        self.metrics = MasterMetrics(reactor)
        # Without a writer the configuration is saved at once, untimed.
        self.config = configmod.ConfigWriter(
            paths.config_data, reactor,
            write=write and self.metrics.timed_config_write(write))
        self.config.add_listener(
            lambda cfg: ssconf.write(paths, ssconf.values(cfg)))
        self.locks = self.metrics.timed_locks(LockManager())
        self.queue = JobQueue(
            paths, reactor,
            max_running=max_running or (
                lambda: self.config.config.cluster.max_running_jobs),
            filter_rules=lambda: self.config.config.filters, write=write)
        self.metrics.watch_queue(self.queue)
        if rpc is not None:
            rpc = self.metrics.timed_rpc(rpc)
        self.context = MasterContext(self.config, paths, reactor, self.queue,
                                     rpc)
        self.queue.runner = JobRunner(self.queue, self.locks,
                                      make_lu_factory(self.context),
                                      flushed=self.config.flushed)
        self.consoles = ConsoleGateway(
            reactor, ConsoleTokens(reactor),
            config_locator(lambda: self.config.config), rpc,
            pem_reader(paths.server_pem))
        self.handler = LuxiHandler(self)

    def attach_replicator(self, replicator):
        """
        Copy every job write and archive and every configuration change to
        the other nodes through C{replicator}, and let the logical units
        use it (redistributing files).
        """
        self.replicator = replicator
        self.queue.replicator = replicator
        self.context.replicator = replicator
        self.config.add_listener(self._replicate_config)

    def _replicate_config(self, cfg):
        d = self.replicator.config_changed(cfg)
        if d is not None:
            d.addErrback(lambda f: _log.failure("replicating the config", f))
