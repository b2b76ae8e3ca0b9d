"""
Tests for L{ganeti.rapi.client}: the project's treq RAPI client driving
the real RAPI in front of a real in-process master (job queue, locks,
config, node handler with the fake hypervisor), in memory through
L{StubTreq}; and once over real HTTPS with the certificate pinned.
"""

import os

from treq.testing import StubTreq
from twisted.internet import defer, reactor
from twisted.trial import unittest
from twisted.web.client import ResponseNeverReceived

from ganeti import crypto
from ganeti.master.luxi import LuxiHandler
from ganeti.rapi import server
from ganeti.rapi.client import RapiClient, RapiError
from tests.util import NODE2_NAME, SETTINGS, local_cluster, two_node_cluster

NODE = SETTINGS["node_name"]


class ClientTestBase(unittest.TestCase):
    #: How the master under test is built.
    make_master = staticmethod(local_cluster)

    def setUp(self):
        self.master = self.make_master(self)
        users = os.path.join(self.master.paths.rapi_users)
        os.makedirs(os.path.dirname(users), exist_ok=True)
        with open(users, "w") as f:
            f.write("admin adminpw write\nreader readpw read\n")
        site = server.make_site(LuxiHandler(self.master), users,
                                self.master.clock)
        stub = StubTreq(site.resource)
        self.client = RapiClient("cluster1.example.com", username="admin",
                                 password="adminpw", reactor=self.master.clock,
                                 http=stub)
        self.reader = RapiClient("cluster1.example.com", username="reader",
                                 password="readpw", reactor=self.master.clock,
                                 http=stub)
        self.anonymous = RapiClient("cluster1.example.com",
                                    reactor=self.master.clock, http=stub)

    @defer.inlineCallbacks
    def run_job(self, submission):
        """Submit through the client and wait for the job's end."""
        job_id = yield submission
        self.assertIsInstance(job_id, int)
        ok = yield self.client.WaitForJobCompletion(job_id, period=0.1,
                                                    retries=10)
        job = yield self.client.GetJobStatus(job_id)
        return ok, job

    @defer.inlineCallbacks
    def create(self, name="inst1.example.com", **kwargs):
        params = dict(hypervisor="fake", pnode=NODE, no_install=True,
                      start=False, name_check=False, ip_check=False,
                      os="")
        params.update(kwargs)
        ok, job = yield self.run_job(self.client.CreateInstance(
            "create", name, "diskless", [], [{}], **params))
        self.assertTrue(ok, job["opresult"])
        return job


class ClusterTests(ClientTestBase):
    @defer.inlineCallbacks
    def test_info(self):
        version = yield self.anonymous.GetVersion()
        info = yield self.anonymous.GetInfo()
        features = yield self.anonymous.GetFeatures()
        self.assertEqual(version, 2)
        self.assertEqual((info["name"], info["master"]),
                         ("cluster1.example.com", NODE))
        self.assertIn("instance-create-reqv1", features)

    @defer.inlineCallbacks
    def test_modify(self):
        """/2/modify changes the cluster; bad values change nothing."""
        ok, _ = yield self.run_job(self.client.ModifyCluster(
            candidate_pool_size=7))
        self.assertTrue(ok)
        info = yield self.client.GetInfo()
        self.assertEqual(info["candidate_pool_size"], 7)
        failure = yield self.assertFailure(
            self.client.ModifyCluster(candidate_pool_size="many"), RapiError)
        self.assertEqual(failure.code, 400)
        self.assertIn("candidate_pool_size", failure.explain)
        failure = yield self.assertFailure(
            self.client.ModifyCluster(compression_tools=["gzip"]), RapiError)
        self.assertEqual(failure.code, 403)

    @defer.inlineCallbacks
    def test_tags(self):
        ok, _ = yield self.run_job(self.client.AddClusterTags(["a", "b"]))
        self.assertTrue(ok)
        yield self.run_job(self.client.DeleteClusterTags(["a"]))
        tags = yield self.client.GetClusterTags()
        self.assertEqual(tags, ["b"])

    @defer.inlineCallbacks
    def test_write_needs_write_user(self):
        failure = yield self.assertFailure(
            self.reader.AddClusterTags(["x"]), RapiError)
        self.assertEqual(failure.code, 403)
        failure = yield self.assertFailure(
            self.anonymous.AddClusterTags(["x"]), RapiError)
        self.assertEqual(failure.code, 401)
        tags = yield self.client.GetClusterTags()
        self.assertEqual(tags, [])

    @defer.inlineCallbacks
    def test_query(self):
        yield self.create()
        result = yield self.reader.Query("instance", ["name", "status"],
                                         ["=", "name", "inst1.example.com"])
        self.assertEqual(result["data"],
                         [[[0, "inst1.example.com"], [0, "ADMIN_down"]]])
        fields = yield self.anonymous.QueryFields("node", ["name"])
        self.assertEqual([f["name"] for f in fields["fields"]], ["name"])


class InstanceTests(ClientTestBase):
    @defer.inlineCallbacks
    def test_life_cycle(self):
        """Create, start, console, reboot, stop, rename, remove."""
        job = yield self.create()
        self.assertEqual(job["opresult"], [[NODE]])
        instance = yield self.client.GetInstance("inst1.example.com")
        self.assertEqual(instance["status"], "ADMIN_down")
        # One NIC on no network: every per-NIC list has one entry.
        self.assertEqual(len(instance["nic.macs"]), 1)
        self.assertEqual(instance["nic.networks.names"], [None])

        ok, _ = yield self.run_job(
            self.client.StartupInstance("inst1.example.com"))
        self.assertTrue(ok)
        console = yield self.reader.GetInstanceConsole("inst1.example.com")
        self.assertEqual((console["instance"], console["kind"]),
                         ("inst1.example.com", "msg"))
        ok, _ = yield self.run_job(
            self.client.RebootInstance("inst1.example.com", "soft"))
        self.assertTrue(ok)
        ok, _ = yield self.run_job(
            self.client.ShutdownInstance("inst1.example.com"))
        self.assertTrue(ok)
        failure = yield self.assertFailure(
            self.reader.GetInstanceConsole("inst1.example.com"), RapiError)
        self.assertEqual(failure.code, 503)

        ok, _ = yield self.run_job(self.client.RenameInstance(
            "inst1.example.com", "inst2.example.com", ip_check=False,
            name_check=False))
        self.assertTrue(ok)
        ok, _ = yield self.run_job(
            self.client.DeleteInstance("inst2.example.com"))
        self.assertTrue(ok)
        self.assertEqual((yield self.client.GetInstances()), [])

    @defer.inlineCallbacks
    def test_export(self):
        """
        PrepareExport and ExportInstance (destination = target node) run
        the backup opcodes; /2/query/export lists the export; DELETE on
        the export resource runs OP_BACKUP_REMOVE.
        """
        yield self.create()
        ok, job = yield self.run_job(
            self.client.PrepareExport("inst1.example.com", "local"))
        self.assertTrue(ok, job["opresult"])
        self.assertEqual(job["opresult"], [None])
        ok, job = yield self.run_job(self.client.ExportInstance(
            "inst1.example.com", "local", NODE, shutdown=True))
        self.assertTrue(ok, job["opresult"])
        self.assertEqual(job["opresult"], [[True, []]])
        result = yield self.reader.Query("export", ["node", "export"])
        self.assertEqual([[cell[1] for cell in row] for row in result["data"]],
                         [[NODE, "inst1.example.com"]])
        ok, job = yield self.run_job(self.client.ExportInstance(
            "inst1.example.com", "remote", NODE))
        self.assertFalse(ok)
        self.assertIn("not supported", job["opresult"][0][1][0])
        ok, job = yield self.run_job(self.client._request(
            "DELETE", "/2/instances/gone.example.com/export"))
        self.assertTrue(ok, job["opresult"])

    @defer.inlineCallbacks
    def test_multi_alloc(self):
        """
        Instances placed by their own ``pnode`` need no allocator: one job
        hands back a creation job per instance.
        """
        names = ["m1.example.com", "m2.example.com"]
        instances = [self.client.InstanceAllocation(
            "create", name, "diskless", [], [{}], hypervisor="fake",
            pnode=NODE, no_install=True, start=False, name_check=False,
            ip_check=False, os="") for name in names]
        ok, job = yield self.run_job(
            self.client.InstancesMultiAlloc(instances))
        self.assertTrue(ok, job["opresult"])
        result = job["opresult"][0]
        self.assertEqual((result["allocatable"], result["failed"]),
                         (names, []))
        for submitted, job_id in result["jobs"]:
            self.assertTrue((yield self.client.WaitForJobCompletion(job_id)))
        listed = yield self.client.GetInstances()
        self.assertEqual([i["id"] for i in listed], names)
        failure = yield self.assertFailure(
            self.client.InstancesMultiAlloc("m3.example.com"), RapiError)
        self.assertEqual(failure.code, 400)

    @defer.inlineCallbacks
    def test_console_of_unknown_instance(self):
        failure = yield self.assertFailure(
            self.reader.GetInstanceConsole("nosuch.example.com"), RapiError)
        self.assertEqual(failure.code, 404)
        failure = yield self.assertFailure(
            self.anonymous.GetInstanceConsole("nosuch.example.com"),
            RapiError)
        self.assertEqual(failure.code, 401)

    @defer.inlineCallbacks
    def test_failed_job(self):
        """A job failing in the master is a finished job, not an HTTP error."""
        yield self.create()
        ok, job = yield self.run_job(self.client.CreateInstance(
            "create", "inst1.example.com", "diskless", [], [],
            hypervisor="fake", pnode=NODE, no_install=True, start=False,
            name_check=False, ip_check=False, os=""))
        self.assertFalse(ok)
        self.assertEqual(job["status"], "error")
        self.assertEqual(job["opresult"][0][0], "OpPrereqError")
        self.assertIn("already in the cluster", job["opresult"][0][1][0])

    @defer.inlineCallbacks
    def test_bad_parameters(self):
        """Wrong types are 400 naming the field; nothing is submitted."""
        failure = yield self.assertFailure(self.client.CreateInstance(
            "create", "inst1.example.com", "diskless", [], [],
            hypervisor="fake", pnode=NODE, start="yes"), RapiError)
        self.assertEqual(failure.code, 400)
        self.assertIn("start", failure.explain)
        self.assertEqual((yield self.client.GetJobs()), [])

    @defer.inlineCallbacks
    def test_modify_and_info(self):
        yield self.create()
        ok, job = yield self.run_job(self.client.ModifyInstance(
            "inst1.example.com", beparams={"maxmem": 256, "minmem": 256}))
        self.assertTrue(ok, job["opresult"])
        instance = yield self.client.GetInstance("inst1.example.com")
        self.assertEqual(instance["beparams"]["maxmem"], 256)
        ok, job = yield self.run_job(
            self.client.GetInstanceInfo("inst1.example.com", static=True))
        self.assertTrue(ok, job["opresult"])
        data = job["opresult"][0]["inst1.example.com"]
        self.assertEqual((data["pnode"], data["run_state"],
                          data["be_actual"]["maxmem"]), (NODE, None, 256))
        ok, job = yield self.run_job(
            self.client.GetInstanceInfo("inst1.example.com"))
        self.assertEqual(job["opresult"][0]["inst1.example.com"]["run_state"],
                         "down")

    @defer.inlineCallbacks
    def test_tags(self):
        yield self.create()
        yield self.run_job(self.client.AddInstanceTags("inst1.example.com",
                                                       ["web"]))
        tags = yield self.client.GetInstanceTags("inst1.example.com")
        self.assertEqual(tags, ["web"])


class NodeTests(ClientTestBase):
    @defer.inlineCallbacks
    def test_role(self):
        """The master's role moves only by failover: the job fails."""
        role = yield self.client.GetNodeRole(NODE)
        self.assertEqual(role, "master")
        ok, job = yield self.run_job(self.client.SetNodeRole(NODE, "regular"))
        self.assertFalse(ok)
        self.assertIn("master failover", job["opresult"][0][1][0])
        failure = yield self.assertFailure(
            self.client.SetNodeRole(NODE, "master"), RapiError)
        self.assertEqual(failure.code, 400)

    @defer.inlineCallbacks
    def test_storage(self):
        """Listing storage is a job whose result holds the units."""
        job_id = yield self.client.GetNodeStorageUnits(NODE, "file",
                                                       ["name", "size"])
        ok, job = yield self.run_job(defer.succeed(job_id))
        self.assertTrue(ok, job["opresult"])
        [rows] = job["opresult"]
        self.assertEqual([row[0] for row in rows],
                         [self.master.paths.file_storage_dir])
        failure = yield self.assertFailure(
            self.reader.GetNodeStorageUnits(NODE, "file", ["name"]),
            RapiError)
        self.assertEqual(failure.code, 403)

    @defer.inlineCallbacks
    def test_tags_and_groups(self):
        yield self.run_job(self.client.AddNodeTags(NODE, ["rack1"]))
        self.assertEqual((yield self.client.GetNodeTags(NODE)), ["rack1"])
        groups = yield self.client.GetGroups(bulk=True)
        self.assertEqual([(g["name"], g["node_list"]) for g in groups],
                         [("default", [NODE])])


class MoveTests(ClientTestBase):
    """Failover and migration between the two nodes of a cluster."""

    make_master = staticmethod(two_node_cluster)

    @defer.inlineCallbacks
    def pnode(self, name="inst1.example.com"):
        instance = yield self.client.GetInstance(name)
        return instance["pnode"], instance["status"]

    @defer.inlineCallbacks
    def test_instance_migrate_and_failover(self):
        yield self.create(start=True)
        ok, job = yield self.run_job(self.client.MigrateInstance(
            "inst1.example.com", target_node=NODE2_NAME))
        self.assertTrue(ok, job["opresult"])
        self.assertEqual((yield self.pnode()), (NODE2_NAME, "running"))
        ok, job = yield self.run_job(self.client.FailoverInstance(
            "inst1.example.com", target_node=NODE))
        self.assertTrue(ok, job["opresult"])
        self.assertEqual((yield self.pnode()), (NODE, "running"))

    @defer.inlineCallbacks
    def test_migrate_refusals(self):
        """No target is a failed job; ``live`` is refused at the door."""
        yield self.create(start=True)
        ok, job = yield self.run_job(
            self.client.MigrateInstance("inst1.example.com"))
        self.assertFalse(ok)
        self.assertEqual(job["opresult"][0][1][1], "wrong_input")
        failure = yield self.assertFailure(self.client._request(
            "PUT", "/2/instances/inst1.example.com/migrate",
            body={"live": True, "target_node": NODE2_NAME}), RapiError)
        self.assertEqual(failure.code, 400)
        self.assertEqual((yield self.pnode()), (NODE, "running"))

    @defer.inlineCallbacks
    def test_node_migrate_and_evacuate(self):
        """Both answer with the jobs they submitted, one per instance."""
        yield self.create("web1.example.com", start=True)
        ok, job = yield self.run_job(self.client.MigrateNode(
            NODE, target_node=NODE2_NAME))
        self.assertTrue(ok, job["opresult"])
        [[(submitted, job_id)]] = [job["opresult"][0]["jobs"]]
        self.assertTrue(submitted)
        self.assertTrue((yield self.client.WaitForJobCompletion(job_id)))
        self.assertEqual((yield self.pnode("web1.example.com")),
                         (NODE2_NAME, "running"))
        yield self.create("web2.example.com")
        ok, job = yield self.run_job(self.client.EvacuateNode(
            NODE, remote_node=NODE2_NAME, mode="primary-only"))
        self.assertTrue(ok, job["opresult"])
        [(submitted, job_id)] = job["opresult"][0]["jobs"]
        self.assertTrue((yield self.client.WaitForJobCompletion(job_id)))
        self.assertEqual((yield self.pnode("web2.example.com")),
                         (NODE2_NAME, "ADMIN_down"))


class HttpsTests(unittest.TestCase):
    """The client over real HTTPS trusts exactly the pinned certificate."""

    def setUp(self):
        self.master = local_cluster(self)
        site = server.make_site(LuxiHandler(self.master),
                                self.master.paths.rapi_users, reactor)
        self.pem = crypto.generate_self_signed_pem("cluster1.example.com",
                                                   )
        self.port = reactor.listenSSL(
            0, site, server.tls_options_from_pem(self.pem),
            interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)

    @defer.inlineCallbacks
    def test_pinned(self):
        client = RapiClient("127.0.0.1", self.port.getHost().port,
                            ca_pem=self.pem)
        self.addCleanup(client.close)
        info = yield client.GetInfo()
        self.assertEqual(info["name"], "cluster1.example.com")

    @defer.inlineCallbacks
    def test_other_certificate_refused(self):
        other = crypto.generate_self_signed_pem("cluster1.example.com",
                                                )
        client = RapiClient("127.0.0.1", self.port.getHost().port,
                            ca_pem=other)
        self.addCleanup(client.close)
        yield self.assertFailure(client.GetInfo(), ResponseNeverReceived)
