# -*- test-case-name: tests.test_metrics -*-
"""
What a node measures: its instances as the hypervisors report them, its
memory, the free space of its storage, DRBD's state, and the errors its
RPC handlers met.

The live values need commands (``vgs``) and hypervisor calls, which
return Deferreds, while prometheus_client collects synchronously: each
scrape first runs L{NodeMetrics.refresh}, which gathers everything into
a snapshot, and the registry's collector then reads that snapshot.  Each
source is gathered on its own, so one that fails (no LVM, a hypervisor
error) leaves the others' figures in place.
"""

import os
import shutil

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from twisted.internet.defer import DeferredList, maybeDeferred, succeed
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

from ganeti import errors, ssconf
from ganeti.hypervisor.interfaces import STATE_RUNNING
from ganeti.storage import drbd, lvm

_log = Logger()

_MIB = 1024 * 1024


def _statvfs(path):
    """:return: ``(size, free)`` bytes of the file system holding C{path}."""
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


def _gauge(name, doc, labels, rows):
    """:return: a gauge family of C{rows}: ``(label values, value)``."""
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in rows:
        family.add_metric(values, value)
    return family


class NodeMetrics:
    """
    One node's metrics in their own registry.

    :param handler: the node's L{ganeti.node.handler.NodeHandler} (its
        public RPC methods give the instances and the memory).
    :param paths: the node's L{ganeti.paths.Paths} (ssconf: enabled
        hypervisors, file storage directories).
    :param reactor: the reactor (commands, the thread pool for
        ``statvfs``, which may wait on a network file system).
    :param proc_drbd: the DRBD status file, read only when it exists.
    :param in_thread: ``in_thread(function, *args) -> Deferred``; by
        default the reactor's thread pool.
    :ivar registry: the L{CollectorRegistry} the endpoint renders.
    :ivar hypervisor_errors: counter of hypervisor errors per RPC method.
    :ivar storage_errors: counter of block device and storage errors per
        RPC method.
    """

    def __init__(self, handler, paths, reactor, proc_drbd=drbd.PROC_DRBD,
                 in_thread=None):
        self._handler = handler
        self._paths = paths
        self._reactor = reactor
        self._proc_drbd = proc_drbd
        self._in_thread = in_thread or (
            lambda f, *args: deferToThreadPool(
                reactor, reactor.getThreadPool(), f, *args))
        #: Source name -> list of metric families, as last gathered.
        self._snapshot = {}
        self.registry = CollectorRegistry()
        self.hypervisor_errors = Counter(
            "ganeti_node_hypervisor_errors_total",
            "Node RPC calls that failed with a hypervisor error.",
            ["method"], registry=self.registry)
        self.storage_errors = Counter(
            "ganeti_node_storage_errors_total",
            "Node RPC calls that failed with a block device or storage"
            " error.", ["method"], registry=self.registry)
        self.registry.register(self)

    # --- the collector prometheus_client calls ---------------------------

    def collect(self):
        """:return: the families of the last L{refresh}."""
        for name in sorted(self._snapshot):
            yield from self._snapshot[name]

    def describe(self):
        # Families vary with what the node has; an empty description keeps
        # the registry from collecting (and so refreshing) at register time.
        return []

    # --- gathering ----------------------------------------------------------

    def _hypervisors(self):
        return (ssconf.read(self._paths, "hypervisor_list") or "").split()

    def refresh(self):
        """
        Gather every source anew.

        :return: a Deferred firing when the snapshot is updated; it does
            not fail (a failing source is logged and keeps its last
            figures).
        """
        sources = {"instances": self._instances, "memory": self._memory,
                   "file_storage": self._file_storage, "lvm": self._lvm,
                   "drbd": self._drbd}
        calls = []
        for name, gather in sources.items():
            d = maybeDeferred(gather)
            d.addCallback(lambda families, name=name:
                          self._snapshot.__setitem__(name, families))
            d.addErrback(lambda f, name=name: _log.failure(
                "gathering the {source} metrics", f, source=name))
            calls.append(d)
        return DeferredList(calls).addCallback(lambda _: None)

    def _instances(self):
        hypervisors = self._hypervisors()
        d = maybeDeferred(self._handler.all_instances_info, hypervisors)

        def families(infos):
            running = dict.fromkeys(hypervisors, 0)
            up = []
            for name, info in sorted(infos.items()):
                is_up = info.get("state") == STATE_RUNNING
                running[info["hypervisor"]] = (
                    running.get(info["hypervisor"], 0) + is_up)
                up.append(([name, info["hypervisor"]], int(is_up)))
            return [
                _gauge("ganeti_node_instances_running",
                       "Instances the hypervisor reports running.",
                       ["hypervisor"],
                       [([hv], n) for hv, n in sorted(running.items())]),
                _gauge("ganeti_instance_up",
                       "1 for an instance the hypervisor reports running,"
                       " 0 for one it knows in another state.",
                       ["instance", "hypervisor"], up)]
        return d.addCallback(families)

    def _memory(self):
        hypervisors = self._hypervisors()
        if not hypervisors:
            return succeed([])
        d = maybeDeferred(self._handler.node_info, hypervisors[:1])

        def families(info):
            return [_gauge("ganeti_node_memory_%s_bytes" % kind,
                           "The node's %s memory, as the hypervisor"
                           " reports it." % kind, [],
                           [([], info["memory_" + kind] * _MIB)])
                    for kind in ("total", "free")
                    if info.get("memory_" + kind) is not None]
        return d.addCallback(families)

    def _storage(self, kind, rows):
        """:return: the size and free families of C{rows}:
        ``(name, size, free)`` bytes."""
        return [_gauge("ganeti_node_storage_%s_bytes" % what,
                       "%s space of a storage unit." % doc,
                       ["type", "name"],
                       [([kind, name], value[index]) for name, *value in rows])
                for index, (what, doc) in enumerate(
                    [("size", "Total"), ("free", "Free")])]

    def _file_storage(self):
        directories = sorted({
            d for d in (ssconf.read(self._paths, key) for key in
                        ("file_storage_dir", "shared_file_storage_dir"))
            if d and os.path.isdir(d)})

        def measure():
            return [(d,) + _statvfs(d) for d in directories]
        return self._in_thread(measure).addCallback(
            lambda rows: self._storage("file", rows))

    def _lvm(self):
        if shutil.which("vgs") is None:
            return succeed([])
        d = lvm.vg_sizes(self._reactor)

        def spaces(sizes):
            calls = [lvm.vg_space(self._reactor, vg) for vg in sorted(sizes)]
            return DeferredList(calls, fireOnOneErrback=True,
                                consumeErrors=True)

        def families(results):
            rows = [(s["name"], s["size"] * _MIB, s["free"] * _MIB)
                    for _, s in results if s["size"] is not None]
            return self._storage("lvm-vg", rows)
        return d.addCallback(spaces).addCallback(families)

    def _drbd(self):
        if not os.path.exists(self._proc_drbd):
            return []
        with open(self._proc_drbd) as f:
            minors = drbd.parse_proc(f.read())
        connected, disks, sync = [], [], []
        for minor, status in sorted(minors.items()):
            label = str(minor)
            connected.append(([label], int(status["cstate"] == "Connected")))
            for side, key in (("local", "disk"), ("peer", "peer_disk")):
                disks.append(([label, side, status[key]], 1))
            percent = status["sync_percent"]
            if percent is None:
                percent = 100.0 if status["disk"] == "UpToDate" else 0.0
            sync.append(([label], percent))
        return [
            _gauge("ganeti_drbd_connected",
                   "1 when the DRBD minor's connection state is Connected.",
                   ["minor"], connected),
            _gauge("ganeti_drbd_disk_state",
                   "The disk state of a DRBD minor's local and peer side"
                   " (1 for the state it is in).",
                   ["minor", "side", "state"], disks),
            _gauge("ganeti_drbd_sync_percent",
                   "Resync progress of a DRBD minor (100 when in sync).",
                   ["minor"], sync)]

    # --- error counting ---------------------------------------------------

    def count_errors(self, handler):
        """
        :return: C{handler} whose RPC methods count the hypervisor,
            block device and storage errors they raise or fail with.
        """
        return _CountingHandler(handler, self)

    def error_seen(self, method, failure):
        """Count C{failure} of RPC C{method} if it is one we count."""
        if failure.check(errors.HypervisorError):
            self.hypervisor_errors.labels(method).inc()
        elif failure.check(errors.BlockDeviceError, errors.StorageError):
            self.storage_errors.labels(method).inc()
        return failure


class _CountingHandler:
    """
    A node handler proxy: each method call goes to the real handler, and
    the errors it raises (or its Deferred fails with) are counted on the
    way out, unchanged.  The one place every node RPC passes, so no
    handler method needs to know about metrics.
    """

    def __init__(self, handler, metrics):
        self._handler = handler
        self._metrics = metrics

    def __getattr__(self, name):
        value = getattr(self._handler, name)
        if not callable(value) or name.startswith("_"):
            return value
        metrics = self._metrics

        def counted(*args, **kwargs):
            d = maybeDeferred(value, *args, **kwargs)
            return d.addErrback(lambda f: metrics.error_seen(name, f))
        return counted
