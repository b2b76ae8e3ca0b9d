# -*- test-case-name: tests.test_tap -*-
"""
The master service: everything the master node runs besides the node
service, assembled as one Twisted service.

Its core (configuration, queue, locks, handler) is
L{ganeti.master.core.MasterCore}, which the tests build too; this module
adds the parts only a daemon has: the file-writing thread pool, the
replicator, the watcher, the cleaner of the job archive, the RAPI and the
LUXI socket.
"""

import os

from twisted.application.internet import StreamServerEndpointService
from twisted.application.internet import TimerService
from twisted.application.service import MultiService, Service
from twisted.internet.endpoints import UNIXServerEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.threads import deferToThreadPool
from twisted.protocols import amp
from twisted.python.threadpool import ThreadPool

from ganeti.cleaner_service import CleanerService
from ganeti.master.core import MasterCore
from ganeti.master.watcher import INTERVAL as WATCHER_INTERVAL, Watcher
from ganeti.protocols import luxi_calls
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


LUXI_COMMANDS = make_commands(luxi_calls.METHODS)


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
        with open(paths.server_pem, "rb") as f:
            rpc = NodeRpc(reactor, f.read(), node_port)
        #: The L{MasterCore}: configuration, queue, locks, LUXI handler.
        self.core = core = MasterCore(paths, reactor, rpc=rpc, write=write)
        # The core's client: replication calls are timed with the others.
        replicator = Replicator(
            core.context.rpc, lambda: core.config.config, core.queue.unarchived_files,
            lambda: read_ancillary_files(paths))
        core.attach_replicator(replicator)
        TimerService(RETRY_INTERVAL, replicator.catch_up).setServiceParent(self)
        core.queue.setServiceParent(self)
        # The watcher (which also archives old jobs) checks the RAPI at
        # this node's own address.
        core.watcher = Watcher(core.context, self._add_rapi(reactor, paths),
                               write=write)
        TimerService(WATCHER_INTERVAL,
                     core.watcher.run_periodic).setServiceParent(self)
        # Archived jobs older than three weeks go, once a day.
        CleanerService("master", paths, reactor,
                       in_thread=write).setServiceParent(self)
        factory = Factory.forProtocol(
            lambda: amp.AMP(locator=JsonLocator(core.handler, LUXI_COMMANDS)))
        _LuxiEndpointService(reactor, paths.master_socket,
                             factory).setServiceParent(self)

    def _add_rapi(self, reactor, paths):
        """
        The RAPI listens on every address (so on the cluster IP too,
        wherever the master role goes), or where ``RAPI_ARGS --bind`` in
        ``etc/default/ganeti`` says; one that cannot listen is logged, it
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
            self.core.handler, paths.rapi_users, reactor,
            require_authentication=settings.require_authentication,
            tokens_file=paths.rapi_tokens)
        _, own = netutils.resolve(netutils.local_node_name(paths), paths)
        port = int(os.environ.get("GANETI_RAPI_PORT") or settings.port or
                   rapi_server.DEFAULT_PORT)
        for address in rapi_server.listen_addresses(settings.bind):
            service = rapi_server.rapi_endpoint_service(
                reactor, site, paths.rapi_pem, port=port, interface=address)
            service.setServiceParent(self)
        return (own if settings.bind in (None, "0.0.0.0", "::")
                else settings.bind), port

    def stopService(self):
        d = MultiService.stopService(self)
        return d.addBoth(lambda _: self.core.context.rpc.close())
