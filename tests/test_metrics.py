"""
Tests for the Prometheus metrics (L{ganeti.metrics}): what a scraper
reads from a real master's ``/metrics`` over HTTPS after jobs ran and
RAPI requests were answered, and from a node's plain-HTTP endpoint with
the fake hypervisor running an instance.  Scrapes are parsed with
prometheus_client's own parser, as Prometheus would read them.
"""

import os

from prometheus_client.parser import text_string_to_metric_families
from treq.client import HTTPClient
from treq.testing import StubTreq
from twisted.internet import defer, reactor
from twisted.internet.defer import maybeDeferred
from twisted.internet.task import Clock
from twisted.trial import unittest
from twisted.web.client import Agent, HTTPConnectionPool

from ganeti import crypto
from ganeti.metrics.http import metrics_service, metrics_site
from ganeti.metrics.node import NodeMetrics
from ganeti.node.handler import NodeHandler
from ganeti.rapi import server
from ganeti.rapi.client import PinnedCertificatePolicy
from tests import test_daemon
from tests.util import SETTINGS, local_cluster, make_paths, write_config

NODE = SETTINGS["node_name"]

USERS = "admin adminpw write\nreader readpw read\n"


def parse(text):
    """
    :return: ``{sample name: {frozenset of label items: value}}`` of a
        scrape's text.
    """
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[
                frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples, metric, **labels):
    """:return: the value of one sample, or None when it is absent."""
    return samples.get(metric, {}).get(frozenset(labels.items()))


def http_client(pem=None):
    """
    :return: a treq client without persistent connections (so no
        connection outlives a test), trusting only C{pem} for HTTPS.
    """
    pool = HTTPConnectionPool(reactor, persistent=False)
    if pem is None:
        return HTTPClient(Agent(reactor, pool=pool))
    return HTTPClient(Agent(reactor, contextFactory=PinnedCertificatePolicy(
        pem), pool=pool))


class MasterMetricsTests(unittest.TestCase):
    """
    A master's jobs, locks, RPC, config writes and RAPI requests, read at
    ``/metrics`` on its RAPI over real HTTPS.  Jobs run on a C{Clock},
    so their times are exact.
    """

    def setUp(self):
        # A file writer, as the daemon's thread pool: config writes then
        # go through it and are timed.
        self.master = local_cluster(self, write=maybeDeferred)
        users = self.master.paths.rapi_users
        os.makedirs(os.path.dirname(users), exist_ok=True)
        with open(users, "w") as f:
            f.write(USERS)
        site = server.make_site(self.master.handler, users, reactor)
        self.pem = crypto.generate_self_signed_pem("cluster1.example.com")
        port = reactor.listenSSL(0, site, server.tls_options_from_pem(self.pem),
                                 interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.base = "https://127.0.0.1:%d" % port.getHost().port
        self.http = http_client(self.pem)

    def run_job(self, job_id):
        """Advance the master's clock until job C{job_id} ends."""
        done = self.master.queue.when_finalized(job_id)
        for _ in range(100):
            if done.called:
                break
            self.master.clock.advance(1)
        return self.successResultOf(done)

    def submit(self, *ops):
        """Submit a job over LUXI and run it; :return: its status."""
        job_id = self.successResultOf(
            maybeDeferred(self.master.handler.SubmitJob, list(ops)))
        return self.run_job(job_id)

    @defer.inlineCallbacks
    def scrape(self, **kwargs):
        """:return: the parsed ``/metrics`` of the master."""
        response = yield self.http.get(self.base + "/metrics", **kwargs)
        self.assertEqual(response.code, 200)
        self.assertTrue(response.headers.getRawHeaders(
            "content-type")[0].startswith("text/plain"))
        text = yield response.text()
        return parse(text)

    @defer.inlineCallbacks
    def test_jobs(self):
        """
        Finished jobs are counted by opcode and final status, the jobs
        gauge shows them by status, and the wait and run histograms hold
        their times (a two-second delay ran two seconds).
        """
        self.assertEqual(self.submit({"OP_ID": "OP_TEST_DELAY",
                                      "duration": 2}), "success")
        self.assertEqual(self.submit({"OP_ID": "OP_TEST_JQUEUE",
                                      "fail": True}), "error")
        samples = yield self.scrape()
        self.assertEqual(value(samples, "ganeti_jobs_finished_total",
                               opcode="OP_TEST_DELAY", status="success"), 1)
        self.assertEqual(value(samples, "ganeti_jobs_finished_total",
                               opcode="OP_TEST_JQUEUE", status="error"), 1)
        self.assertEqual(value(samples, "ganeti_jobs", status="success"), 1)
        self.assertEqual(value(samples, "ganeti_jobs", status="error"), 1)
        self.assertEqual(value(samples, "ganeti_jobs", status="running"), 0)
        self.assertEqual(value(samples, "ganeti_job_run_seconds_count"), 2)
        self.assertEqual(value(samples, "ganeti_job_run_seconds_sum"), 2)
        self.assertEqual(value(samples, "ganeti_job_run_seconds_bucket",
                               le="1.0"), 1)
        self.assertEqual(value(samples, "ganeti_job_queue_wait_seconds_count"),
                         2)

    @defer.inlineCallbacks
    def test_locks_and_rpc(self):
        """
        Jobs holding the node lock and calling the node show lock waits
        at the node level and RPC calls; a node that is down counts as an
        RPC failure of that method.
        """
        self.assertEqual(self.submit(
            {"OP_ID": "OP_TEST_DELAY", "duration": 1, "on_master": False,
             "on_nodes": [NODE], "no_locks": False}), "success")
        diagnose = {"OP_ID": "OP_OS_DIAGNOSE", "output_fields": ["name"]}
        self.assertEqual(self.submit(diagnose), "success")
        # The node goes down (the test RPC's way).
        self.master.context.rpc.handlers[NODE] = None
        self.submit(diagnose)
        samples = yield self.scrape()
        self.assertGreaterEqual(value(samples, "ganeti_lock_wait_seconds_count",
                                      level="node"), 1)
        self.assertEqual(value(samples, "ganeti_rpc_duration_seconds_count",
                               method="os_diagnose"), 2)
        self.assertEqual(value(samples, "ganeti_rpc_failures_total",
                               method="os_diagnose"), 1)

    @defer.inlineCallbacks
    def test_rapi_requests_and_config(self):
        """
        RAPI requests are counted by method, route and status code (an
        unknown path under one "unknown" route); a job changing the
        configuration counts a config write and sets its size.
        """
        response = yield self.http.put(
            self.base + "/2/tags?tag=metrics", auth=("admin", "adminpw"))
        self.assertEqual(response.code, 200)
        job_id = yield response.json()
        self.assertEqual(self.run_job(int(job_id)), "success")
        response = yield self.http.get(self.base + "/2/no/such/thing")
        yield response.content()
        self.assertEqual(response.code, 404)
        samples = yield self.scrape()
        self.assertEqual(value(samples, "ganeti_rapi_requests_total",
                               method="PUT", resource="R_2_tags", code="200"),
                         1)
        self.assertEqual(value(samples, "ganeti_rapi_requests_total",
                               method="GET", resource="unknown", code="404"),
                         1)
        self.assertEqual(value(samples, "ganeti_jobs_finished_total",
                               opcode="OP_TAGS_SET", status="success"), 1)
        self.assertEqual(value(samples, "ganeti_config_writes_total"), 1)
        self.assertEqual(value(samples, "ganeti_config_write_seconds_count"),
                         1)
        self.assertEqual(value(samples, "ganeti_config_size_bytes"),
                         os.path.getsize(self.master.paths.config_data))
        # The scrape itself is counted by the next one.
        samples = yield self.scrape()
        self.assertEqual(value(samples, "ganeti_rapi_requests_total",
                               method="GET", resource="R_metrics",
                               code="200"), 1)

    def test_require_authentication(self):
        """
        With ``--require-authentication`` the metrics need a user, like
        every read; any user of the users file may read them.
        """
        site = server.make_site(self.master.handler,
                                self.master.paths.rapi_users, Clock(),
                                require_authentication=True)
        stub = StubTreq(site.resource)
        url = "https://cluster1.example.com/metrics"
        anonymous = self.successResultOf(stub.get(url))
        self.assertEqual(anonymous.code, 401)
        reader = self.successResultOf(stub.get(url, auth=("reader", "readpw")))
        self.assertEqual(reader.code, 200)
        text = self.successResultOf(reader.text())
        self.assertIn("ganeti_jobs", parse(text))

    def test_masters_apart(self):
        """Two masters in one process count their jobs apart."""
        other = local_cluster(self)
        self.submit({"OP_ID": "OP_TEST_DELAY", "duration": 1})
        self.assertEqual(other.metrics.jobs_finished.labels(
            "OP_TEST_DELAY", "success")._value.get(), 0)
        self.assertEqual(self.master.metrics.jobs_finished.labels(
            "OP_TEST_DELAY", "success")._value.get(), 1)


#: /proc/drbd with minor 0 resyncing and minor 4 connected and in sync.
PROC_DRBD = """\
version: 8.4.11 (api:1/proto:86-101)
 0: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----
    ns:94900 nr:0 dw:0 dr:94900 al:8 bm:0 lo:0 pe:7 ua:0 ap:0 ep:1 wo:f oos:169828
\t[======>.............] sync'ed: 37.0% (169828/262144)K
\tfinish: 0:01:05 speed: 30,772 (30,772) K/sec
 4: cs:Connected ro:Secondary/Primary ds:UpToDate/UpToDate C r-----
    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
"""

INSTANCE = {"name": "inst1.example.com", "hypervisor": "fake",
            "beparams": {"maxmem": 256, "vcpus": 1}, "hvparams": {},
            "nics": []}


class NodeMetricsTests(unittest.TestCase):
    """
    A node's endpoint, scraped over real HTTP, with the fake hypervisor.
    """

    def setUp(self):
        self.paths = make_paths(self)
        write_config(self.paths)
        os.makedirs(self.paths.file_storage_dir, exist_ok=True)
        proc = self.mktemp()
        with open(proc, "w") as f:
            f.write(PROC_DRBD)
        handler = NodeHandler(self.paths, reactor)
        self.metrics = NodeMetrics(handler, self.paths, reactor,
                                   proc_drbd=proc)
        #: The handler as the node service's RPC sees it.
        self.handler = self.metrics.count_errors(handler)
        port = reactor.listenTCP(0, metrics_site(
            reactor, self.metrics.registry, self.metrics.refresh),
            interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.url = "http://127.0.0.1:%d/metrics" % port.getHost().port

    @defer.inlineCallbacks
    def scrape(self):
        response = yield http_client().get(self.url)
        self.assertEqual(response.code, 200)
        text = yield response.text()
        return parse(text)

    @defer.inlineCallbacks
    def test_instance_and_memory(self):
        """
        A running fake instance is up and counted as running; the node's
        memory figures are those the hypervisor reports, in bytes.
        """
        yield self.handler.instance_start(INSTANCE, [], False)
        samples = yield self.scrape()
        self.assertEqual(value(samples, "ganeti_instance_up",
                               instance="inst1.example.com",
                               hypervisor="fake"), 1)
        self.assertEqual(value(samples, "ganeti_node_instances_running",
                               hypervisor="fake"), 1)
        info = yield self.handler.node_info(["fake"])
        self.assertEqual(value(samples, "ganeti_node_memory_total_bytes"),
                         info["memory_total"] * 1024 * 1024)
        free = value(samples, "ganeti_node_memory_free_bytes")
        self.assertGreater(free, 0)
        self.assertLessEqual(free, (info["memory_total"] - 256) * 1024 * 1024)

    @defer.inlineCallbacks
    def test_instance_stopped(self):
        """An instance that stopped is no longer reported."""
        yield self.handler.instance_start(INSTANCE, [], False)
        yield self.handler.instance_shutdown(INSTANCE["name"], "fake", 10,
                                             False)
        samples = yield self.scrape()
        self.assertIsNone(value(samples, "ganeti_instance_up",
                                instance="inst1.example.com",
                                hypervisor="fake"))
        self.assertEqual(value(samples, "ganeti_node_instances_running",
                               hypervisor="fake"), 0)

    @defer.inlineCallbacks
    def test_errors_counted(self):
        """
        A hypervisor error on its way out of an RPC method (starting an
        instance twice) is counted for that method, and still reaches
        the caller.
        """
        yield self.handler.instance_start(INSTANCE, [], False)
        from ganeti.errors import HypervisorError
        yield self.assertFailure(
            self.handler.instance_start(INSTANCE, [], False), HypervisorError)
        samples = yield self.scrape()
        self.assertEqual(value(samples, "ganeti_node_hypervisor_errors_total",
                               method="instance_start"), 1)

    @defer.inlineCallbacks
    def test_file_storage(self):
        """The file storage directory's size and free space are shown."""
        samples = yield self.scrape()
        name = self.paths.file_storage_dir
        st = os.statvfs(name)
        self.assertEqual(value(samples, "ganeti_node_storage_size_bytes",
                               type="file", name=name),
                         st.f_blocks * st.f_frsize)
        self.assertIsNotNone(value(samples, "ganeti_node_storage_free_bytes",
                                   type="file", name=name))

    @defer.inlineCallbacks
    def test_drbd(self):
        """
        Each DRBD minor shows whether it is connected, its disk states
        and its sync progress (100 when in sync).
        """
        samples = yield self.scrape()
        self.assertEqual(value(samples, "ganeti_drbd_connected", minor="0"), 0)
        self.assertEqual(value(samples, "ganeti_drbd_connected", minor="4"), 1)
        self.assertEqual(value(samples, "ganeti_drbd_sync_percent",
                               minor="0"), 37.0)
        self.assertEqual(value(samples, "ganeti_drbd_sync_percent",
                               minor="4"), 100.0)
        self.assertEqual(value(samples, "ganeti_drbd_disk_state", minor="0",
                               side="peer", state="Inconsistent"), 1)


class MetricsServiceTests(unittest.SynchronousTestCase):
    """The node's listener: plain TCP where it is told to listen."""

    def test_listens(self):
        """It listens on the given address and port."""
        from twisted.internet.testing import MemoryReactor
        memory = MemoryReactor()
        service = metrics_service(memory, 1815, "192.0.2.10",
                                  NodeMetrics(None, None, memory).registry)
        service.startService()
        [(port, _, _, interface)] = memory.tcpServers
        self.assertEqual((port, interface), (1815, "192.0.2.10"))


class DaemonMetricsTests(test_daemon._RapiBase):
    """
    A real ``twistd ganeti`` after ``gnt-cluster init``: its master's
    ``/metrics`` over HTTPS counts a tool's job, and its node's endpoint
    answers on port 1815 of the node's address.
    """

    def fetch(self, url):
        """:return: ``(status, text)`` of a GET to C{url}."""
        import ssl
        import urllib.request
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(url, context=context, timeout=30) as r:
            return r.status, r.read().decode("utf-8")

    def test_scrape(self):
        """The wired daemon counts jobs, config writes and RAPI requests."""
        self.cluster.ok("gnt-cluster", "add-tags", "metrics")
        test_daemon.wait_for(lambda: self.answers("/2/info"))
        status, text = self.fetch("https://%s:5080/metrics" % self.address)
        self.assertEqual(status, 200)
        samples = parse(text)
        self.assertEqual(value(samples, "ganeti_jobs_finished_total",
                               opcode="OP_TAGS_SET", status="success"), 1)
        self.assertGreaterEqual(value(samples, "ganeti_config_writes_total"),
                                1)
        self.assertGreater(value(samples, "ganeti_config_size_bytes"), 0)
        self.assertGreaterEqual(value(samples, "ganeti_rapi_requests_total",
                                      method="GET", resource="R_2_info",
                                      code="200"), 1)
        status, text = self.fetch("http://%s:1815/metrics" % self.address)
        self.assertEqual(status, 200)
        self.assertGreater(value(parse(text),
                                 "ganeti_node_memory_total_bytes"), 0)
