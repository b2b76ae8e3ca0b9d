# -*- test-case-name: tests.test_master -*-
"""
The master service: everything the master node runs besides the node
service, assembled as one Twisted service.
"""

import os

from twisted.application.internet import StreamServerEndpointService
from twisted.application.internet import TimerService
from twisted.application.service import MultiService, Service
from twisted.internet.endpoints import UNIXServerEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.protocols import amp
from twisted.python.threadpool import ThreadPool

from ganeti import config as configmod
from ganeti import ssconf
from ganeti.cmdlib.base import MasterContext
from ganeti.cmdlib.registry import make_lu_factory
from ganeti.jobs.locks import LockManager
from ganeti.jobs.processor import JobRunner
from ganeti.jobs.queue import JobQueue
from ganeti.master.luxi import LuxiHandler
from ganeti.master.watcher import INTERVAL as WATCHER_INTERVAL, Watcher
from ganeti.protocols import luxi
from ganeti.protocols import node as nodeproto
from ganeti.master.replication import (
    RETRY_INTERVAL, Replicator, read_ancillary_files)
from ganeti.rpc import NodeRpc
from ganeti.protocols.jsonamp import JsonLocator, make_commands


class _LuxiEndpointService(StreamServerEndpointService):
    """Listens on the master socket, removing a stale one left by a crash."""

    def __init__(self, reactor, path, factory):
        self._path = path
        StreamServerEndpointService.__init__(
            self, UNIXServerEndpoint(reactor, path, mode=0o600), factory)
        # A master that cannot listen must fail to start, not linger.
        self._raiseSynchronously = True

    def privilegedStartService(self):
        try:
            os.unlink(self._path)
        except FileNotFoundError:
            pass
        StreamServerEndpointService.privilegedStartService(self)

    def stopService(self):
        d = StreamServerEndpointService.stopService(self)
        try:
            os.unlink(self._path)
        except FileNotFoundError:
            pass
        return d


LUXI_COMMANDS = make_commands(luxi.METHODS)

_log = Logger()


class _ThreadPoolService(Service):
    """Starts and stops a thread pool with its parent service."""

    def __init__(self, pool):
        self._pool = pool

    def startService(self):
        Service.startService(self)
        self._pool.start()

    def stopService(self):
        Service.stopService(self)
        self._pool.stop()


class MasterService(MultiService):
    """
    The master role of one node.

    :param paths: the node's L{ganeti.paths.Paths}.
    :param reactor: the reactor (also the clock of the queue).
    """

    def __init__(self, paths, reactor, node_port=nodeproto.DEFAULT_PORT):
        MultiService.__init__(self)
        self.setName("master")
        self.paths = paths
        # Job and configuration file writes run in threads so that disk
        # flushes overlap and never stall the reactor; the pool is a child
        # service added first, hence stopped last.
        pool = ThreadPool(minthreads=1, maxthreads=8, name="file-writes")
        _ThreadPoolService(pool).setServiceParent(self)

        def write(f, *args, **kwargs):
            return deferToThreadPool(reactor, pool, f, *args, **kwargs)
        #: Runs a blocking function in the pool (e.g. making a key).
        self.in_thread = write
        self.config = configmod.ConfigWriter(paths.config_data, reactor,
                                             write=write)
        self.config.add_listener(
            lambda cfg: ssconf.write(paths, ssconf.values(cfg)))
        self.locks = LockManager()
        self.queue = JobQueue(
            paths, reactor,
            max_running=lambda: self.config.config.cluster.max_running_jobs,
            filter_rules=lambda: self.config.config.filters, write=write)
        with open(paths.server_pem, "rb") as f:
            rpc = NodeRpc(reactor, f.read(), node_port)
        self.replicator = Replicator(
            rpc, lambda: self.config.config, self.queue.unarchived_files,
            lambda: read_ancillary_files(paths))
        self.queue.replicator = self.replicator
        self.config.add_listener(self._replicate_config)
        TimerService(RETRY_INTERVAL, self.replicator.catch_up).setServiceParent(self)
        self.context = MasterContext(self.config, paths, reactor, self.queue, rpc,
                                     self.replicator)
        self.queue.runner = JobRunner(self.queue, self.locks,
                                      make_lu_factory(self.context),
                                      flushed=self.config.flushed)
        self.queue.setServiceParent(self)
        self.handler = LuxiHandler(self)
        # The watcher (which also archives old jobs) checks the RAPI at
        # this node's own address.
        self.watcher = Watcher(self.context, self._add_rapi(reactor, paths),
                               write=write)
        TimerService(WATCHER_INTERVAL,
                     self.watcher.run_periodic).setServiceParent(self)
        factory = Factory.forProtocol(
            lambda: amp.AMP(locator=JsonLocator(self.handler, LUXI_COMMANDS)))
        _LuxiEndpointService(reactor, paths.master_socket,
                             factory).setServiceParent(self)

    def _add_rapi(self, reactor, paths):
        """
        The RAPI listens on this node's address and on the cluster IP, so
        it moves with the master role (or where ``RAPI_ARGS --bind`` in
        ``etc/default/ganeti`` says); one that cannot listen is logged, it
        does not stop the master.

        :return: ``(address, port)`` where this node's own RAPI answers,
            or None without ``rapi.pem`` (no RAPI).
        """
        from ganeti import netutils
        from ganeti.rapi import server as rapi_server
        if not os.path.exists(paths.rapi_pem):
            return None
        settings = rapi_server.read_rapi_settings(paths.daemon_defaults)
        site = rapi_server.make_site(
            self.handler, paths.rapi_users, reactor,
            require_authentication=settings.require_authentication)
        _, own = netutils.resolve(netutils.local_node_name(paths), paths)
        port = int(os.environ.get("GANETI_RAPI_PORT") or settings.port or
                   rapi_server.DEFAULT_PORT)
        addresses = ({settings.bind} if settings.bind is not None
                     else {own, self.config.config.cluster.master_ip})
        for address in sorted(addresses):
            service = rapi_server.rapi_endpoint_service(
                reactor, site, paths.rapi_pem, port=port, interface=address)
            service.setServiceParent(self)
        return (own if settings.bind in (None, "0.0.0.0", "::")
                else settings.bind), port

    def _replicate_config(self, cfg):
        d = self.replicator.config_changed(cfg)
        if d is not None:
            d.addErrback(lambda f: _log.failure("replicating the config", f))

    def stopService(self):
        d = MultiService.stopService(self)
        return d.addBoth(lambda _: self.context.rpc.close())
