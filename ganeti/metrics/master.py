# -*- test-case-name: tests.test_metrics -*-
"""
What the master measures: jobs, lock waits, node RPC, configuration
writes and RAPI requests.

Nothing here edits the code it measures: L{MasterMetrics} wraps the lock
manager, the node RPC client and the configuration's file writer it is
given, and listens to the job queue (``JobQueue.observers``), so the
measured code stays unaware of Prometheus.  Times come from the master's
reactor (a C{Clock} in tests), so they follow the reactor's notion of
time.
"""

from collections import OrderedDict

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from twisted.python.failure import Failure
from zope.interface import implementer

from ganeti.jobs import job as jobmod
from ganeti.rpc import INodeRpc

#: Job times span from sub-second queries to hour-long imports.
JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600,
               float("inf"))

#: HTTP methods counted by name; anything else is counted as "OTHER", so
#: a client inventing methods cannot grow the label set.
HTTP_METHODS = frozenset(["GET", "HEAD", "PUT", "POST", "DELETE"])

#: Route label of requests that matched no route (404s, scanners): one
#: value, never the raw path, to keep the label set bounded.
UNKNOWN_ROUTE = "unknown"

#: How many finished job ids are remembered so that a finished job told
#: again is not counted twice; jobs are finalized once, so this only
#: guards against a repeated notification.
_REMEMBERED = 10000


class _JobStatusCollector:
    """
    The ``ganeti_jobs`` gauge, computed at scrape time from the queue's
    jobs in memory (no disk access), so it never drifts from the queue.
    """

    def __init__(self, queue):
        self._queue = queue

    def collect(self):
        counts = dict.fromkeys(jobmod.ALL_STATUSES, 0)
        for job_id in self._queue.job_ids():
            status = self._queue.get(job_id).status
            counts[status] = counts.get(status, 0) + 1
        family = GaugeMetricFamily(
            "ganeti_jobs", "Jobs in the queue (not archived) by status.",
            labels=["status"])
        for status, count in sorted(counts.items()):
            family.add_metric([status], count)
        yield family


class MasterMetrics:
    """
    The master's metrics in their own registry.

    :param clock: the master's reactor (``seconds()``).
    :ivar registry: the L{CollectorRegistry} ``/metrics`` renders.
    """

    def __init__(self, clock):
        self._clock = clock
        self._finished = OrderedDict()
        self.registry = registry = CollectorRegistry()
        self.jobs_finished = Counter(
            "ganeti_jobs_finished_total",
            "Jobs finished, by their first opcode and final status.",
            ["opcode", "status"], registry=registry)
        self.job_queue_wait = Histogram(
            "ganeti_job_queue_wait_seconds",
            "Time from a job's submission to its start.",
            buckets=JOB_BUCKETS, registry=registry)
        self.job_run = Histogram(
            "ganeti_job_run_seconds",
            "Time from a job's start to its end.",
            buckets=JOB_BUCKETS, registry=registry)
        self.lock_wait = Histogram(
            "ganeti_lock_wait_seconds",
            "Time a job waited to acquire its locks at one level.",
            ["level"], registry=registry)
        self.rpc_duration = Histogram(
            "ganeti_rpc_duration_seconds",
            "Time a node RPC took until every called node answered.",
            ["method"], registry=registry)
        self.rpc_failures = Counter(
            "ganeti_rpc_failures_total",
            "Node RPC calls that failed on one node (down, timed out,"
            " or the node reported an error).",
            ["method"], registry=registry)
        self.config_write = Histogram(
            "ganeti_config_write_seconds",
            "Time to write config.data (atomic write with fsync).",
            registry=registry)
        self.config_writes = Counter(
            "ganeti_config_writes_total",
            "Successful writes of config.data.", registry=registry)
        self.config_write_failures = Counter(
            "ganeti_config_write_failures_total",
            "Failed writes of config.data.", registry=registry)
        self.config_size = Gauge(
            "ganeti_config_size_bytes",
            "Size of config.data as last written.", registry=registry)
        self.rapi_requests = Counter(
            "ganeti_rapi_requests_total",
            "RAPI requests answered, by method, resource (the route's"
            " Ganeti resource name, not the path) and status code.",
            ["method", "resource", "code"], registry=registry)

    def _since(self, start):
        return max(0.0, self._clock.seconds() - start)

    # --- jobs -----------------------------------------------------------

    def watch_queue(self, queue):
        """
        Count C{queue}'s jobs: the status gauge reads it at scrape time,
        the finished counter and the time histograms hear of every change
        through the queue's observers.
        """
        self.registry.register(_JobStatusCollector(queue))
        queue.observers.append(self.job_changed)

    def job_changed(self, job):
        """
        A queue observer: count C{job} once, when it is finalized.
        """
        if not job.finalized or job.id in self._finished:
            return
        self._finished[job.id] = None
        if len(self._finished) > _REMEMBERED:
            self._finished.popitem(last=False)
        opcode = job.ops[0].input.get("OP_ID", "") if job.ops else ""
        self.jobs_finished.labels(opcode, job.status).inc()
        received, start, end = (
            jobmod.join_time(t) if t else None
            for t in (job.received_timestamp, job.start_timestamp,
                      job.end_timestamp))
        if received is not None and start is not None:
            self.job_queue_wait.observe(max(0.0, start - received))
        if start is not None and end is not None:
            self.job_run.observe(max(0.0, end - start))

    # --- wrappers of what the master core builds ----------------------------

    def timed_locks(self, locks):
        """:return: C{locks} whose acquisitions are timed per level."""
        return _TimedLocks(locks, self)

    def timed_rpc(self, rpc):
        """:return: C{rpc} (an L{INodeRpc}) timed and counted per method."""
        return _TimedNodeRpc(rpc, self)

    def timed_config_write(self, write):
        """
        :param write: the configuration writer's file writer,
            ``write(function, path, data, **kwargs) -> Deferred``.
        :return: the same, timing each write and noting its size.
        """
        def timed(function, path, data, **kwargs):
            start = self._clock.seconds()

            def done(outcome):
                self.config_write.observe(self._since(start))
                if isinstance(outcome, Failure):
                    self.config_write_failures.inc()
                else:
                    self.config_writes.inc()
                    self.config_size.set(len(data))
                return outcome
            return write(function, path, data, **kwargs).addBoth(done)
        return timed

    # --- RAPI -----------------------------------------------------------

    def rapi_request(self, request):
        """
        Count one answered RAPI request; the resource is the route's name
        the RAPI noted on the request (``rapi_resource``).
        """
        method = request.method.decode("ascii", "replace").upper()
        if method not in HTTP_METHODS:
            method = "OTHER"
        resource = getattr(request, "rapi_resource", None) or UNKNOWN_ROUTE
        self.rapi_requests.labels(method, resource, str(request.code)).inc()


class _TimedLocks:
    """
    A lock manager whose ``acquire`` is timed: from the request to the
    grant, per level (a refused or cancelled request is not observed).
    Everything else goes to the wrapped manager.
    """

    def __init__(self, locks, metrics):
        self._locks = locks
        self._metrics = metrics

    def acquire(self, owner, level, names, shared=False, priority=0):
        """See L{ganeti.jobs.locks.LockManager.acquire}."""
        start = self._metrics._clock.seconds()

        def granted(result):
            self._metrics.lock_wait.labels(level).observe(
                self._metrics._since(start))
            return result
        return self._locks.acquire(owner, level, names, shared=shared,
                                   priority=priority).addCallback(granted)

    def __getattr__(self, name):
        return getattr(self._locks, name)


@implementer(INodeRpc)
class _TimedNodeRpc:
    """
    A node RPC client whose calls are timed per method (until the last
    node answered) and whose failed nodes are counted per method.
    Everything else (``close``) goes to the wrapped client.
    """

    def __init__(self, rpc, metrics):
        self._rpc = rpc
        self._metrics = metrics

    def call(self, nodes, method, *args, timeout=None):
        """See L{INodeRpc.call}."""
        start = self._metrics._clock.seconds()

        def answered(results):
            self._metrics.rpc_duration.labels(method).observe(
                self._metrics._since(start))
            failed = sum(1 for r in results.values()
                         if not getattr(r, "ok", True))
            if failed:
                self._metrics.rpc_failures.labels(method).inc(failed)
            return results
        return self._rpc.call(nodes, method, *args,
                              timeout=timeout).addCallback(answered)

    def __getattr__(self, name):
        return getattr(self._rpc, name)
