"""
Tests for L{ganeti.rapi}: the real site, driven over HTTP semantics by
L{treq.testing.StubTreq}, in front of the real master's LUXI handler
(L{tests.util.local_cluster}: job queue, locks, config, node handler with
the fake hypervisor on a L{Clock}).  Jobs run to completion as they are
submitted, so a test reads the opcodes the RAPI built from the real job.
"""

import json
import os

import attrs
import treq
from treq.testing import StubTreq
from twisted.internet import defer
from twisted.internet.endpoints import SSL4ClientEndpoint
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.ssl import CertificateOptions
from twisted.internet.testing import MemoryReactor
from twisted.trial import unittest
from zope.interface import implementer

from ganeti import crypto, errors
from ganeti.master.luxi import LuxiHandler
from ganeti.objects import NodeGroup
from ganeti.rapi import auth, server
from ganeti.rapi.cluster import OS_BULK_FIELDS
from ganeti.rapi.groups import G_FIELDS
from ganeti.rapi.instances import I_FIELDS
from ganeti.rapi.jobs import J_FIELDS_BULK, WAIT_TIMEOUT
from ganeti.rapi.nodes import N_FIELDS
from ganeti.rapi.resources import MAX_BODY_SIZE
from ganeti.utils.io import atomic_write
from tests.test_osdef import make_os
from tests.util import NODE2_NAME, SETTINGS, local_cluster, two_node_cluster

BASE = "http://rapi.example.com"
JSON = {b"Content-Type": [b"application/json"]}
NODE = SETTINGS["node_name"]
INSTANCE = "inst1.example.com"
PATH = "/2/instances/" + INSTANCE
#: The master's clock at the start of every test (reason-trail timestamps).
NOW = 1700000000


def create_op(name=INSTANCE, **params):
    """:return: an OP_INSTANCE_CREATE for a diskless fake instance."""
    op = {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name,
          "disk_template": "diskless", "disks": [], "nics": [{}],
          "pnode": NODE, "hypervisor": "fake", "os_type": "",
          "no_install": True, "start": False, "name_check": False,
          "ip_check": False}
    op.update(params)
    return op


class RapiTestBase(unittest.TestCase):
    """
    The RAPI site in front of C{LuxiHandler(master)}.

    :ivar master: the L{tests.util.Master}.
    :ivar handler: the real L{LuxiHandler} the site calls.
    """

    #: Builds the master; tests needing a second node use two nodes.
    make_master = staticmethod(local_cluster)

    def setUp(self):
        self.master = self.make_master(self)
        self.master.clock.advance(NOW)
        self.fixture_jobs = set()
        self.users_path = self.mktemp()
        self.write_users(
            "# comment\n"
            "admin {HA1}%s write\n"
            "clear {cleartext}s3cret write,read\n"
            "plain plainpw write\n"
            "reader readpw read\n"
            "nobody nopw\n" % auth.ha1("admin", "adminpw"))
        self.use_handler(LuxiHandler(self.master))

    def use_handler(self, handler, **kwargs):
        """Serve the RAPI in front of C{handler} from now on."""
        self.handler = handler
        self.site = server.make_site(handler, self.users_path,
                                     self.master.clock, **kwargs)
        self.stub = StubTreq(self.site.resource)

    def break_handler(self, method, exception):
        """
        Serve through a real handler whose C{method} raises C{exception}
        (a master that cannot be reached, or a bug in it).
        """
        def fail(handler, *args):
            raise exception
        broken = type("BrokenLuxiHandler", (LuxiHandler,), {method: fail})
        self.use_handler(broken(self.master))

    def write_users(self, text):
        with open(self.users_path, "w") as f:
            f.write(text)

    def run_fixture(self, *ops):
        """
        Submit C{ops} as one job straight to the queue (test set-up, not
        through the RAPI) and check it succeeded.

        :return: the job id.
        """
        job_id = self.master.queue.submit(list(ops))
        self.fixture_jobs.add(job_id)
        job = self.master.queue.get(job_id)
        self.assertEqual(job.status, "success",
                         [op.result for op in job.ops])
        return job_id

    def create_instance(self, name=INSTANCE, **params):
        """Create a diskless fake instance for real."""
        return self.run_fixture(create_op(name, **params))

    def submitted_jobs(self):
        """:return: the jobs the RAPI submitted (not the fixtures), by id."""
        queue = self.master.queue
        return [queue.get(job_id) for job_id in queue.job_ids()
                if job_id not in self.fixture_jobs]

    def submitted(self):
        """
        :return: the opcodes (as the master stored them, defaults filled
            in) of every job the RAPI submitted, one list per job.
        """
        return [[op.input for op in job.ops] for job in self.submitted_jobs()]

    def job_status(self, job_id):
        [[status]] = self.handler.QueryJobs([job_id], ["status"])
        return status

    @defer.inlineCallbacks
    def call(self, method, path, body=None, headers=None, auth=None,
             raw=None):
        """
        :return: (status code, decoded JSON body, response).
        """
        kwargs = {}
        if body is not None:
            kwargs["data"] = json.dumps(body).encode()
            kwargs["headers"] = dict(JSON)
        if raw is not None:
            kwargs["data"] = raw
        if headers is not None:
            kwargs["headers"] = headers
        if auth is not None:
            kwargs["auth"] = auth
        response = yield self.stub.request(method, BASE + path, **kwargs)
        content = yield treq.content(response)
        self.assertEqual(response.headers.getRawHeaders(b"content-type"),
                         [b"application/json"])
        return response.code, json.loads(content), response

    @defer.inlineCallbacks
    def assertError(self, code, method, path, **kwargs):
        status, body, response = yield self.call(method, path, **kwargs)
        self.assertEqual(status, code, body)
        self.assertEqual(sorted(body), ["code", "explain", "message"])
        self.assertEqual(body["code"], code)
        return body, response


ADMIN = ("admin", "adminpw")


class AuthTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_anonymous_get(self):
        """Every read GET is anonymous, as in Ganeti."""
        status, body, _ = yield self.call("GET", "/version")
        self.assertEqual((status, body), (200, 2))

    @defer.inlineCallbacks
    def test_anonymous_get_checks_given_credentials(self):
        """
        Credentials sent to an anonymous resource are checked, as in
        Ganeti: a wrong password is 401 there too, so the client learns
        it; a known user reads whatever its options.
        """
        for creds in [("admin", "wrong"), ("ghost", "adminpw")]:
            _, response = yield self.assertError(401, "GET", "/2/info",
                                                 auth=creds)
            self.assertEqual(
                response.headers.getRawHeaders(b"www-authenticate"),
                [b'Basic realm="Ganeti Remote API"'])
        for creds in [ADMIN, ("nobody", "nopw")]:
            status, _, _ = yield self.call("GET", "/version", auth=creds)
            self.assertEqual(status, 200, creds)

    @defer.inlineCallbacks
    def test_malformed_credentials(self):
        """
        An Authorization header that is not Basic credentials, or not
        well-formed ones, is 401 on anonymous and user resources alike.
        """
        import base64
        for value in [b"Basic", b"Basic !!!", b"Basic " + base64.b64encode(
                b"no-colon"), b"Basic " + base64.b64encode(b"\xff:\xfe"),
                      b"Bearer abc", b"Digest username=admin", b"",
                      b"Basic YWRtaW46YWRtaW5wdw== extra"]:
            for method, path in [("GET", "/version"), ("GET", "/2/nodes"),
                                 ("PUT", "/2/tags?tag=x")]:
                yield self.assertError(
                    401, method, path, headers={b"Authorization": [value]})
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_post_without_credentials(self):
        _, response = yield self.assertError(
            401, "POST", "/2/instances", body={"__version__": 1})
        self.assertEqual(response.headers.getRawHeaders(b"www-authenticate"),
                         [b'Basic realm="Ganeti Remote API"'])
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_wrong_password(self):
        yield self.assertError(401, "PUT", "/2/tags?tag=x",
                               auth=("admin", "wrong"))
        yield self.assertError(401, "PUT", "/2/tags?tag=x",
                               auth=("ghost", "adminpw"))

    @defer.inlineCallbacks
    def test_read_only_user_forbidden(self):
        yield self.assertError(403, "PUT", "/2/tags?tag=x",
                               auth=("reader", "readpw"))
        yield self.assertError(403, "PUT", "/2/tags?tag=x",
                               auth=("nobody", "nopw"))
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_password_schemes(self):
        """HA1, {cleartext} and plain passwords all work."""
        for creds in [ADMIN, ("clear", "s3cret"), ("plain", "plainpw")]:
            status, _, _ = yield self.call("PUT", "/2/tags?tag=x", auth=creds)
            self.assertEqual(status, 200, creds)
        yield self.assertError(401, "PUT", "/2/tags?tag=x",
                               auth=("clear", "{cleartext}s3cret"))

    @defer.inlineCallbacks
    def test_wait_needs_write(self):
        yield self.assertError(401, "GET", "/2/jobs/1/wait",
                               body={"fields": ["status"]})
        yield self.assertError(403, "GET", "/2/jobs/1/wait",
                               body={"fields": ["status"]},
                               auth=("reader", "readpw"))

    @defer.inlineCallbacks
    def test_users_file_reread(self):
        yield self.assertError(401, "PUT", "/2/tags?tag=x",
                               auth=("newbie", "pw"))
        self.write_users("newbie pw write\n")
        # Make sure the change is visible even on coarse mtime filesystems.
        st = os.stat(self.users_path)
        os.utime(self.users_path, ns=(st.st_atime_ns,
                                      st.st_mtime_ns + 10 ** 9))
        status, _, _ = yield self.call("PUT", "/2/tags?tag=x",
                                       auth=("newbie", "pw"))
        self.assertEqual(status, 200)
        yield self.assertError(401, "PUT", "/2/tags?tag=x", auth=ADMIN)

    @defer.inlineCallbacks
    def test_missing_users_file(self):
        os.remove(self.users_path)
        yield self.assertError(401, "PUT", "/2/tags?tag=x", auth=ADMIN)

    @defer.inlineCallbacks
    def test_require_authentication(self):
        self.use_handler(self.handler, require_authentication=True)
        yield self.assertError(401, "GET", "/2/nodes")
        status, _, _ = yield self.call("GET", "/2/nodes",
                                       auth=("reader", "readpw"))
        self.assertEqual(status, 200)
        # As in Ganeti, any user the file knows reads what anonymous
        # clients read without the option.
        status, _, _ = yield self.call("GET", "/2/nodes",
                                       auth=("nobody", "nopw"))
        self.assertEqual(status, 200)
        yield self.assertError(403, "GET", "/2/instances/x/console",
                               auth=("nobody", "nopw"))


class UsersFileParsingTests(unittest.TestCase):
    def test_parse(self):
        users = auth.parse_users("# c\n\nu1 pw\nu2 {HA1}abc Write, read\n"
                                 "broken\n")
        self.assertEqual(sorted(users), ["u1", "u2"])
        self.assertEqual(users["u1"].options, frozenset())
        self.assertEqual(users["u2"].options, {"write", "read"})
        self.assertTrue(users["u2"].may("read"))
        self.assertFalse(users["u1"].may("read"))

    def test_write_implies_read(self):
        self.assertTrue(auth.PasswordFileUser("u", "p", ["write"]).may("read"))

    def test_verify(self):
        self.assertTrue(auth.verify_password(
            "u", "p", "{ha1}" + auth.ha1("u", "p").upper()))
        self.assertFalse(auth.verify_password("u", "p", "{HA1}" + "0" * 32))
        self.assertFalse(auth.verify_password("u", "p", "{SHA}p"))
        self.assertTrue(auth.verify_password("u", "p", "p"))

    def test_basic_header(self):
        self.assertEqual(auth.parse_basic_authorization(b"Basic dTpwOnE="),
                         ("u", "p:q"))
        self.assertIsNone(auth.parse_basic_authorization(b"Basic !!!"))
        self.assertIsNone(auth.parse_basic_authorization(b"Digest x"))
        self.assertIsNone(auth.parse_basic_authorization(None))


class ClusterResourceTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_root(self):
        status, body, _ = yield self.call("GET", "/2")
        self.assertEqual((status, body), (200, None))

    @defer.inlineCallbacks
    def test_info(self):
        status, body, _ = yield self.call("GET", "/2/info")
        self.assertEqual(status, 200)
        self.assertEqual((body["name"], body["master"]),
                         ("cluster1.example.com", NODE))

    @defer.inlineCallbacks
    def test_features(self):
        _, body, _ = yield self.call("GET", "/2/features")
        self.assertEqual(body, ["instance-create-reqv1",
                                "instance-reinstall-reqv1",
                                "node-migrate-reqv1", "node-evac-res1"])

    def make_oses(self):
        """
        OS definitions on the node: debian with two variants, plain,
        broken (no API version file) and secret (hidden by the cluster).
        """
        [top] = self.master.paths.os_search_path
        make_os(top, "debian", variants=["default", "min"])
        make_os(top, "plain")
        make_os(top, "broken", skip=("ganeti_api_version",))
        make_os(top, "secret")
        self.run_fixture({"OP_ID": "OP_CLUSTER_SET_PARAMS",
                          "hidden_os": [["add", "secret"]]})

    @defer.inlineCallbacks
    def test_os(self):
        """Valid, visible OSes, expanded by variant."""
        self.make_oses()
        _, body, _ = yield self.call("GET", "/2/os")
        self.assertEqual(body, ["debian+default", "debian+min", "plain"])

    @defer.inlineCallbacks
    def test_os_bulk(self):
        """Every OS, invalid and hidden ones too, with its flags."""
        self.make_oses()
        _, body, _ = yield self.call("GET", "/2/os?bulk=1")
        self.assertEqual([(o["name"], o["valid"], o["hidden"])
                          for o in body],
                         [("broken", False, False), ("debian", True, False),
                          ("plain", True, False), ("secret", True, True)])
        self.assertEqual(sorted(body[0]), sorted(OS_BULK_FIELDS))
        self.assertEqual(body[1]["variants"], ["default", "min"])

    @defer.inlineCallbacks
    def test_tags(self):
        """
        Tag changes are jobs carrying the reason trail; a dry run changes
        nothing.
        """
        self.run_fixture({"OP_ID": "OP_TAGS_SET", "kind": "cluster",
                          "tags": ["a"]})
        _, body, _ = yield self.call("GET", "/2/tags")
        self.assertEqual(body, ["a"])
        status, job_id, _ = yield self.call(
            "PUT", "/2/tags?tag=b&tag=c&dry-run=1", auth=ADMIN)
        self.assertEqual(status, 200)
        [[op]] = self.submitted()
        self.assertEqual(self.master.queue.get(job_id).ops[0].input, op)
        self.assertEqual((op["OP_ID"], op["kind"], op["name"], op["tags"],
                          op["dry_run"]),
                         ("OP_TAGS_SET", "cluster", None, ["b", "c"], True))
        self.assertEqual(op["reason"], [["gnt:library:rlib2:R_2_tags", "",
                                         NOW * 10 ** 9]])
        yield self.call("DELETE", "/2/tags?tag=a&reason=cleanup", auth=ADMIN)
        op = self.submitted()[1][0]
        self.assertEqual((op["OP_ID"], op["tags"]), ("OP_TAGS_DEL", ["a"]))
        self.assertEqual(op["reason"][0][:2], ["gnt:user", "cleanup"])
        _, body, _ = yield self.call("GET", "/2/tags")
        self.assertEqual(body, [])

    @defer.inlineCallbacks
    def test_tags_without_tag(self):
        body, _ = yield self.assertError(400, "PUT", "/2/tags", auth=ADMIN)
        self.assertIn("'tag'", body["explain"])


class NodeResourceTests(RapiTestBase):
    make_master = staticmethod(two_node_cluster)

    @defer.inlineCallbacks
    def test_list(self):
        _, body, _ = yield self.call("GET", "/2/nodes")
        self.assertEqual(body, [
            {"id": NODE, "uri": "/2/nodes/%s" % NODE},
            {"id": NODE2_NAME, "uri": "/2/nodes/%s" % NODE2_NAME}])

    @defer.inlineCallbacks
    def test_bulk(self):
        """
        Every node with all fields; live fields of a node that does not
        answer come back as null.
        """
        self.master.handlers[NODE2_NAME] = None
        _, body, _ = yield self.call("GET", "/2/nodes?bulk=1")
        self.assertEqual([n["name"] for n in body], [NODE, NODE2_NAME])
        self.assertEqual(sorted(body[0]), sorted(N_FIELDS))
        self.assertEqual(body[0]["pip"], SETTINGS["node_ip"])
        self.assertIsInstance(body[0]["mfree"], int)
        self.assertIsNone(body[1]["mfree"])

    @defer.inlineCallbacks
    def test_single(self):
        _, body, _ = yield self.call("GET", "/2/nodes/%s" % NODE2_NAME)
        self.assertEqual((body["name"], body["role"]), (NODE2_NAME, "C"))

    @defer.inlineCallbacks
    def test_role(self):
        _, body, _ = yield self.call("GET", "/2/nodes/%s/role" % NODE)
        self.assertEqual(body, "master")
        _, body, _ = yield self.call("GET", "/2/nodes/%s/role" % NODE2_NAME)
        self.assertEqual(body, "master-candidate")

    @defer.inlineCallbacks
    def test_unknown(self):
        yield self.assertError(404, "GET", "/2/nodes/nonexistent")


class InstanceResourceTests(RapiTestBase):
    CREATE = {"__version__": 1, "instance_name": "new.example.com",
              "disk_template": "file", "disks": [{"size": 1024}],
              "nics": [{}], "os_type": "", "pnode": NODE,
              "beparams": {"maxmem": 256}, "hvparams": {}, "start": True,
              "no_install": True, "name_check": False, "ip_check": False,
              "mode": "create"}

    def setUp(self):
        super().setUp()
        self.create_instance(start=True,
                             beparams={"maxmem": 128, "minmem": 128})

    @defer.inlineCallbacks
    def test_list_and_bulk(self):
        _, body, _ = yield self.call("GET", "/2/instances")
        self.assertEqual(body, [{"id": INSTANCE,
                                 "uri": PATH}])
        _, body, _ = yield self.call("GET", "/2/instances?bulk=1")
        self.assertEqual(set(body[0]), set(I_FIELDS))
        # Ganeti keeps "memory" for pre-2.6 clients.
        beparams = body[0]["beparams"]
        self.assertEqual((beparams["maxmem"], beparams["memory"]),
                         (128, 128))

    @defer.inlineCallbacks
    def test_single(self):
        _, body, _ = yield self.call("GET", PATH)
        self.assertEqual((body["name"], body["status"], body["pnode"]),
                         (INSTANCE, "running", NODE))
        yield self.assertError(404, "GET", "/2/instances/missing")

    @defer.inlineCallbacks
    def test_create(self):
        """A dry run passes the master's checks and creates nothing."""
        status, job_id, _ = yield self.call(
            "POST", "/2/instances?dry-run=1", body=self.CREATE, auth=ADMIN)
        self.assertEqual(status, 200)
        self.assertEqual(self.job_status(job_id), "success")
        [[op]] = self.submitted()
        self.assertEqual(op["OP_ID"], "OP_INSTANCE_CREATE")
        self.assertEqual(op["instance_name"], "new.example.com")
        self.assertEqual(op["disks"], [{"size": 1024}])
        self.assertTrue(op["dry_run"])
        self.assertNotIn("__version__", op)
        _, body, _ = yield self.call("GET", "/2/instances")
        self.assertEqual([i["id"] for i in body], [INSTANCE])

    @defer.inlineCallbacks
    def test_create_legacy_names(self):
        body = dict(self.CREATE, name="old.example.com", os="plain",
                    hvparams={"usb_devices": "a b"})
        del body["instance_name"], body["os_type"]
        yield self.call("POST", "/2/instances?dry-run=1", body=body,
                        auth=ADMIN)
        [[op]] = self.submitted()
        self.assertEqual((op["instance_name"], op["os_type"]),
                         ("old.example.com", "plain"))
        self.assertEqual(op["hvparams"], {"usb_devices": "a,b"})

    @defer.inlineCallbacks
    def test_create_bad_version(self):
        body = dict(self.CREATE)
        del body["__version__"]
        yield self.assertError(400, "POST", "/2/instances", body=body,
                               auth=ADMIN)
        yield self.assertError(400, "POST", "/2/instances",
                               body=dict(body, __version__=2), auth=ADMIN)
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_create_wrong_type_names_field(self):
        body, _ = yield self.assertError(
            400, "POST", "/2/instances",
            body=dict(self.CREATE, disks="lots"), auth=ADMIN)
        self.assertIn("disks", body["explain"])
        body, _ = yield self.assertError(
            400, "POST", "/2/instances",
            body=dict(self.CREATE, bogus=1), auth=ADMIN)
        self.assertIn("bogus", body["explain"])
        yield self.assertError(400, "POST", "/2/instances", body=[1],
                               auth=ADMIN)
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_create_invalid_name(self):
        """A name no host can have is 400 "Invalid hostname"; no job."""
        for name in ("in;st9", "$(touch /tmp/pwned)"):
            body, _ = yield self.assertError(
                400, "POST", "/2/instances",
                body=dict(self.CREATE, instance_name=name), auth=ADMIN)
            self.assertIn("Invalid hostname '%s'" % name, body["explain"])
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_create_drained(self):
        self.handler.SetDrainFlag(True)
        body, _ = yield self.assertError(503, "POST", "/2/instances",
                                         body=self.CREATE, auth=ADMIN)
        self.assertEqual(body["explain"], "Job queue is drained, cannot submit")
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_master_prereq_error(self):
        """
        An OpPrereqError from the master at submission is a 400: the
        opcode allows priority 5, the queue accepts only 10, 0 and -10.
        """
        body, _ = yield self.assertError(
            400, "POST", "/2/instances", body=dict(self.CREATE, priority=5),
            auth=ADMIN)
        self.assertIn("priority 5", body["explain"])
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_internal_error(self):
        self.break_handler("SubmitJob", RuntimeError("boom"))
        body, _ = yield self.assertError(500, "POST", "/2/instances",
                                         body=self.CREATE, auth=ADMIN)
        self.assertEqual(body["explain"], "Internal error: boom")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    @defer.inlineCallbacks
    def test_delete(self):
        status, job_id, _ = yield self.call(
            "DELETE", PATH, auth=ADMIN)
        self.assertEqual(status, 200)
        self.assertEqual(self.job_status(job_id), "success")
        [[op]] = self.submitted()
        self.assertEqual((op["OP_ID"], op["instance_name"],
                          op["ignore_failures"]),
                         ("OP_INSTANCE_REMOVE", INSTANCE, False))
        _, body, _ = yield self.call("GET", "/2/instances")
        self.assertEqual(body, [])

    @defer.inlineCallbacks
    def test_startup_shutdown_reboot(self):
        """Query arguments and body become opcode parameters; all run."""
        base = PATH + "/"
        yield self.call("PUT", base + "startup?force=1&dry-run=1", auth=ADMIN)
        yield self.call("PUT", base + "shutdown?no_remember=1",
                        body={"timeout": 30}, auth=ADMIN)
        yield self.call("PUT", base + "startup", auth=ADMIN)
        yield self.call("POST", base + "reboot?type=soft", auth=ADMIN)
        yield self.call("PUT", base + "reboot", auth=ADMIN)
        self.assertEqual([job.status for job in self.submitted_jobs()],
                         ["success"] * 5)
        ops = [job[0] for job in self.submitted()]
        self.assertEqual([o["OP_ID"] for o in ops],
                         ["OP_INSTANCE_STARTUP", "OP_INSTANCE_SHUTDOWN",
                          "OP_INSTANCE_STARTUP", "OP_INSTANCE_REBOOT",
                          "OP_INSTANCE_REBOOT"])
        self.assertTrue(ops[0]["force"] and ops[0]["dry_run"])
        self.assertEqual((ops[1]["timeout"], ops[1]["no_remember"]),
                         (30, True))
        self.assertEqual([ops[3]["reboot_type"], ops[4]["reboot_type"]],
                         ["soft", "hard"])

    @defer.inlineCallbacks
    def test_static_override(self):
        body, _ = yield self.assertError(
            400, "PUT", PATH + "/shutdown",
            body={"instance_name": "other"}, auth=ADMIN)
        self.assertIn("instance_name", body["explain"])
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_bad_query_values(self):
        yield self.assertError(400, "POST", PATH + "/reboot?type=x",
                               auth=ADMIN)
        yield self.assertError(400, "PUT", PATH + "/startup?force=yes",
                               auth=ADMIN)
        self.assertEqual(self.submitted(), [])


class JobResourceTests(RapiTestBase):
    def setUp(self):
        super().setUp()
        self.job_id = self.run_fixture({"OP_ID": "OP_TEST_JQUEUE",
                                        "log_messages": ["hi"]})

    def delay_job(self, duration=60):
        """
        :return: the id of a job holding the master node's lock for
            C{duration} seconds of the master's clock.
        """
        job_id = self.master.queue.submit([{
            "OP_ID": "OP_TEST_DELAY", "duration": duration,
            "no_locks": False}])
        self.fixture_jobs.add(job_id)
        return job_id

    @defer.inlineCallbacks
    def test_list(self):
        _, body, _ = yield self.call("GET", "/2/jobs")
        self.assertEqual(body, [{"id": self.job_id,
                                 "uri": "/2/jobs/%d" % self.job_id}])
        _, body, _ = yield self.call("GET", "/2/jobs?bulk=1")
        self.assertEqual(sorted(body[0]), sorted(J_FIELDS_BULK))
        self.assertEqual((body[0]["status"], body[0]["summary"]),
                         ("success", ["TEST_JQUEUE"]))

    @defer.inlineCallbacks
    def test_single(self):
        _, body, _ = yield self.call("GET", "/2/jobs/%d" % self.job_id)
        self.assertEqual(sorted(body), sorted(
            ["id", "status", "ops", "opresult", "opstatus", "oplog",
             "received_ts", "start_ts", "end_ts", "summary"]))
        self.assertEqual((body["status"], body["opresult"]),
                         ("success", [True]))
        self.assertEqual(body["received_ts"], [NOW, 0])
        yield self.assertError(404, "GET", "/2/jobs/%d" % (self.job_id + 1))

    @defer.inlineCallbacks
    def test_not_a_job_id(self):
        """
        A job id that is not a number is an unknown path, 404, as in
        Ganeti; so is a number too long to convert.
        """
        for path in ("/2/jobs/abc", "/2/jobs/-1", "/2/jobs/1.5",
                     "/2/jobs/abc/wait", "/2/jobs/%D9%A3"):
            body, _ = yield self.assertError(404, "GET", path)
            self.assertIn("not found", body["explain"])
        for path in ("/2/jobs/99999999999999999999", "/2/jobs/" + "9" * 5000):
            body, _ = yield self.assertError(404, "GET", path)
            self.assertIn("Job 9", body["explain"])
        yield self.assertError(404, "DELETE", "/2/jobs/" + "9" * 5000,
                               auth=ADMIN)
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_cancel(self):
        """
        A job waiting for a lock is cancelled; a finished or unknown one
        is answered "not cancelled", as Ganeti's master does.
        """
        running, waiting = self.delay_job(), self.delay_job()
        self.assertEqual(self.job_status(waiting), "waiting")
        _, body, _ = yield self.call("DELETE", "/2/jobs/%d" % waiting,
                                     auth=ADMIN)
        self.assertEqual(body, [True, "Job successfully cancelled"])
        self.assertEqual(self.job_status(waiting), "canceled")
        self.master.clock.advance(60)
        self.assertEqual(self.job_status(running), "success")
        _, body, _ = yield self.call("DELETE", "/2/jobs/%d" % self.job_id,
                                     auth=ADMIN)
        self.assertFalse(body[0])
        status, body, _ = yield self.call("DELETE", "/2/jobs/99", auth=ADMIN)
        self.assertEqual((status, body),
                         (200, [False, "Job 99 not found in queue"]))

    @defer.inlineCallbacks
    def test_wait(self):
        """
        A finished job answers at once with the log after the serial the
        client has seen; an unknown job is a 404.
        """
        path = "/2/jobs/%d/wait" % self.job_id
        _, body, _ = yield self.call(
            "GET", path, auth=ADMIN,
            body={"fields": ["status"], "previous_job_info": None,
                  "previous_log_serial": None})
        self.assertEqual(body["job_info"], ["success"])
        self.assertEqual([e[0] for e in body["log_entries"]], [1, 2, 3])
        self.assertEqual(body["log_entries"][-1],
                         [3, [NOW, 0], "message", "TESTMSG=hi"])
        _, body, _ = yield self.call(
            "GET", path, auth=ADMIN,
            body={"fields": ["status"], "previous_job_info": ["success"],
                  "previous_log_serial": 2})
        self.assertEqual([e[0] for e in body["log_entries"]], [3])
        yield self.assertError(404, "GET", "/2/jobs/99/wait", auth=ADMIN,
                               body={"fields": ["status"]})

    def test_wait_no_change(self):
        """
        Without a change the answer is null after the RAPI's wait timeout
        on the master's clock.
        """
        job_id = self.delay_job()
        d = self.call("GET", "/2/jobs/%d/wait" % job_id, auth=ADMIN,
                      body={"fields": ["status"],
                            "previous_job_info": ["running"]})
        self.master.clock.advance(WAIT_TIMEOUT - 1)
        self.stub.flush()
        self.assertNoResult(d)
        self.master.clock.advance(1)
        self.stub.flush()
        status, body, _ = self.successResultOf(d)
        self.assertEqual((status, body), (200, None))

    @defer.inlineCallbacks
    def test_wait_bad_body(self):
        for bad in [{}, {"fields": "status"},
                    {"fields": [], "previous_job_info": 3},
                    {"fields": [], "previous_log_serial": "x"}]:
            yield self.assertError(400, "GET",
                                   "/2/jobs/%d/wait" % self.job_id,
                                   auth=ADMIN, body=bad)


class ProtocolErrorTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_unknown_path(self):
        yield self.assertError(404, "GET", "/2/nonexistent")
        yield self.assertError(404, "GET", "/3")

    @defer.inlineCallbacks
    def test_wrong_method(self):
        """405 (Ganeti says 501); Allow lists the methods the path has."""
        _, response = yield self.assertError(405, "DELETE", "/2/nodes",
                                             auth=ADMIN)
        self.assertEqual(response.headers.getRawHeaders(b"allow"), [b"GET"])
        _, response = yield self.assertError(405, "POST", "/2/tags",
                                             auth=ADMIN)
        self.assertEqual(response.headers.getRawHeaders(b"allow"),
                         [b"DELETE, GET, PUT"])

    @defer.inlineCallbacks
    def test_bad_json(self):
        body, _ = yield self.assertError(400, "POST", "/2/instances",
                                         raw=b"{not json", headers=JSON,
                                         auth=ADMIN)
        self.assertIn("JSON", body["explain"])

    @defer.inlineCallbacks
    def test_not_json_content_type(self):
        yield self.assertError(415, "POST", "/2/instances", raw=b"{}",
                               headers={b"Content-Type": [b"text/plain"]},
                               auth=ADMIN)

    @defer.inlineCallbacks
    def test_oversize_body(self):
        raw = b'"' + b"x" * MAX_BODY_SIZE + b'"'
        yield self.assertError(413, "POST", "/2/instances", raw=raw,
                               headers=JSON, auth=ADMIN)
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_master_unreachable(self):
        self.break_handler("QueryClusterInfo",
                           errors.LuxiError("connection refused"))
        body, _ = yield self.assertError(502, "GET", "/2/info")
        self.assertIn("connection refused", body["explain"])

    @defer.inlineCallbacks
    def test_master_timeout(self):
        self.break_handler("QueryClusterInfo", defer.TimeoutError())
        yield self.assertError(504, "GET", "/2/info")


class ServerTests(unittest.TestCase):
    def test_endpoint_service(self):
        """The listener uses TLS with rapi.pem on the requested port."""
        pem_path = self.mktemp()
        with open(pem_path, "wb") as f:
            f.write(crypto.generate_self_signed_pem(bits=1024))
        reactor = MemoryReactor()
        site = server.make_site(LuxiHandler(local_cluster(self)),
                                self.mktemp(), reactor)
        service = server.rapi_endpoint_service(reactor, site, pem_path,
                                               port=15080,
                                               interface="127.0.0.1")
        service.startService()
        self.addCleanup(service.stopService)
        [(port, factory, _, interface)] = [
            (p, f, b, i) for p, f, c, b, i in reactor.sslServers]
        self.assertEqual((port, factory, interface),
                         (15080, site, "127.0.0.1"))


@implementer(IHandshakeListener)
class _PeerCertificate(Protocol):
    """Notes the server's certificate after the handshake, then hangs up."""

    def __init__(self):
        self.digest = None
        self.lost = defer.Deferred()

    def handshakeCompleted(self):
        self.digest = self.transport.getPeerCertificate().digest(
            "sha1").decode("ascii")
        self.transport.loseConnection()

    def connectionLost(self, reason):
        self.lost.callback(self.digest)


class _Quiet(Protocol):
    """A server side that tells when the client is gone."""

    def connectionMade(self):
        self.factory.lost.append(defer.Deferred())

    def connectionLost(self, reason):
        self.factory.lost[-1].callback(None)


class CertificateReloadTests(unittest.TestCase):
    """The RAPI listener follows rapi.pem (real TLS on the loopback)."""

    @defer.inlineCallbacks
    def peer_digest(self, reactor, port, server_factory):
        endpoint = SSL4ClientEndpoint(reactor, "127.0.0.1", port,
                                      CertificateOptions())
        client = yield endpoint.connect(Factory.forProtocol(_PeerCertificate))
        digest = yield client.lost
        yield server_factory.lost[-1]
        return digest

    @defer.inlineCallbacks
    def test_renewed_certificate_served(self):
        """
        After rapi.pem is replaced, new connections get the new
        certificate without a restart; a broken file keeps the last good
        one in use.
        """
        from twisted.internet import reactor
        path = self.mktemp()
        # OpenSSL refuses to serve keys shorter than 2048 bits.
        old, new = (crypto.generate_self_signed_pem(name)
                    for name in ("old.example.com", "new.example.com"))
        atomic_write(path, old)
        factory = Factory.forProtocol(_Quiet)
        factory.lost = []
        port = reactor.listenSSL(0, factory, server.ReloadingTLSOptions(path),
                                 interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        first = yield self.peer_digest(reactor, number, factory)
        atomic_write(path, new)
        second = yield self.peer_digest(reactor, number, factory)
        atomic_write(path, b"not a certificate\n")
        third = yield self.peer_digest(reactor, number, factory)
        self.assertEqual([first, second, third],
                         [crypto.certificate_digest(old),
                          crypto.certificate_digest(new),
                          crypto.certificate_digest(new)])
        self.assertEqual(len(self.flushLoggedErrors()), 1)


class SessionResumptionTests(unittest.TestCase):
    """A client coming back to the RAPI resumes its TLS session."""

    @defer.inlineCallbacks
    def test_resumed(self):
        """
        The second connection of a client that kept its session skips
        the full handshake (TLS 1.3 session ticket), and is served.
        """
        import socket
        import ssl
        from twisted.internet import reactor
        from twisted.internet.threads import deferToThread
        path = self.mktemp()
        atomic_write(path, crypto.generate_self_signed_pem(
            "rapi.example.com", key_type=crypto.RAPI_KEY_TYPE))
        site = server.make_site(LuxiHandler(local_cluster(self)),
                                self.mktemp(), reactor)
        port = reactor.listenSSL(0, site, server.ReloadingTLSOptions(path),
                                 interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        address = ("127.0.0.1", port.getHost().port)

        def connect_twice():
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            session, seen = None, []
            for _ in range(2):
                with context.wrap_socket(socket.create_connection(address),
                                         session=session) as tls:
                    tls.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n"
                                b"Connection: close\r\n\r\n")
                    answer = b""
                    while True:
                        chunk = tls.recv(65536)
                        if not chunk:
                            break
                        answer += chunk
                    seen.append((tls.session_reused,
                                 answer.split(b"\r\n")[0],
                                 answer.rsplit(b"\r\n", 1)[-1]))
                    session = tls.session
            return seen
        seen = yield deferToThread(connect_twice)
        self.assertEqual(seen, [(False, b"HTTP/1.1 200 OK", b"2"),
                                (True, b"HTTP/1.1 200 OK", b"2")])


class RedistributeConfigTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_redistribute_config(self):
        status, job_id, _ = yield self.call(
            "PUT", "/2/redistribute-config?dry-run=1", auth=ADMIN)
        self.assertEqual(status, 200)
        self.assertEqual(self.job_status(job_id), "success")
        [[op]] = self.submitted()
        self.assertEqual((op["OP_ID"], op["dry_run"]),
                         ("OP_CLUSTER_REDIST_CONF", True))
        self.assertEqual(op["reason"][-1][0],
                         "gnt:library:rlib2:R_2_redist_config")
        yield self.assertError(401, "PUT", "/2/redistribute-config")
        yield self.assertError(405, "GET", "/2/redistribute-config")
        self.assertEqual(len(self.submitted()), 1)


class ObjectTagTests(RapiTestBase):
    make_master = staticmethod(two_node_cluster)

    @defer.inlineCallbacks
    def test_node_tags(self):
        self.run_fixture({"OP_ID": "OP_TAGS_SET", "kind": "node",
                          "name": NODE2_NAME, "tags": ["rack:2"]})
        _, body, _ = yield self.call("GET", "/2/nodes/%s/tags" % NODE2_NAME)
        self.assertEqual(body, ["rack:2"])
        # No tags is an empty list, not null.
        _, body, _ = yield self.call("GET", "/2/nodes/%s/tags" % NODE)
        self.assertEqual(body, [])
        yield self.assertError(404, "GET", "/2/nodes/missing/tags")
        status, _, _ = yield self.call(
            "PUT", "/2/nodes/%s/tags?tag=x&tag=y&dry-run=1" % NODE,
            auth=ADMIN)
        self.assertEqual(status, 200)
        yield self.call("PUT", "/2/nodes/%s/tags?tag=z" % NODE, auth=ADMIN)
        yield self.call("DELETE", "/2/nodes/%s/tags?tag=z" % NODE,
                        auth=ADMIN)
        set_op, _, del_op = [job[0] for job in self.submitted()]
        self.assertEqual((set_op["OP_ID"], set_op["kind"], set_op["name"],
                          set_op["tags"], set_op["dry_run"]),
                         ("OP_TAGS_SET", "node", NODE, ["x", "y"], True))
        self.assertEqual((del_op["OP_ID"], del_op["kind"], del_op["tags"],
                          del_op["dry_run"]),
                         ("OP_TAGS_DEL", "node", ["z"], False))
        self.assertEqual(set_op["reason"][-1][0],
                         "gnt:library:rlib2:R_2_nodes_name_tags")
        self.assertEqual([job.status for job in self.submitted_jobs()],
                         ["success"] * 3)
        _, body, _ = yield self.call("GET", "/2/nodes/%s/tags" % NODE)
        self.assertEqual(body, [])
        yield self.assertError(400, "PUT", "/2/nodes/%s/tags" % NODE,
                               auth=ADMIN)
        yield self.assertError(401, "PUT", "/2/nodes/%s/tags?tag=x" % NODE)

    @defer.inlineCallbacks
    def test_instance_tags(self):
        self.create_instance(tags=["web"])
        path = PATH + "/tags"
        _, body, _ = yield self.call("GET", path)
        self.assertEqual(body, ["web"])
        yield self.assertError(404, "GET", "/2/instances/missing/tags")
        yield self.call("PUT", path + "?tag=db", auth=ADMIN)
        yield self.call("DELETE", path + "?tag=web&dry-run=1", auth=ADMIN)
        set_op, del_op = [job[0] for job in self.submitted()]
        self.assertEqual((set_op["OP_ID"], set_op["kind"], set_op["name"],
                          set_op["tags"]),
                         ("OP_TAGS_SET", "instance", INSTANCE, ["db"]))
        self.assertEqual((del_op["OP_ID"], del_op["tags"], del_op["dry_run"]),
                         ("OP_TAGS_DEL", ["web"], True))
        _, body, _ = yield self.call("GET", path)
        self.assertEqual(sorted(body), ["db", "web"])
        yield self.assertError(400, "DELETE", path, auth=ADMIN)


class InstanceActionTests(RapiTestBase):
    """Instance actions build the opcodes Ganeti's RAPI builds."""

    def setUp(self):
        super().setUp()
        self.create_instance()

    @defer.inlineCallbacks
    def test_reinstall_body(self):
        status, job_id, _ = yield self.call(
            "POST", PATH + "/reinstall",
            body={"os": "debian", "osparams": {"a": "b"}}, auth=ADMIN)
        self.assertEqual(status, 200)
        # One job of three opcodes; the answer is its id.
        [job] = self.submitted_jobs()
        self.assertEqual(job_id, job.id)
        ops = [op.input for op in job.ops]
        self.assertEqual([o["OP_ID"] for o in ops],
                         ["OP_INSTANCE_SHUTDOWN", "OP_INSTANCE_REINSTALL",
                          "OP_INSTANCE_STARTUP"])
        self.assertEqual({o["instance_name"] for o in ops}, {INSTANCE})
        self.assertEqual((ops[1]["os_type"], ops[1]["osparams"]),
                         ("debian", {"a": "b"}))
        self.assertFalse(ops[2]["force"])

    @defer.inlineCallbacks
    def test_reinstall_no_start_and_legacy(self):
        yield self.call("POST", PATH + "/reinstall",
                        body={"start": False}, auth=ADMIN)
        yield self.call("POST",
                        PATH + "/reinstall?os=plain&nostartup=1",
                        auth=ADMIN)
        yield self.call("POST", PATH + "/reinstall", auth=ADMIN)
        no_start, legacy, plain = self.submitted()
        self.assertEqual([o["OP_ID"] for o in no_start],
                         ["OP_INSTANCE_SHUTDOWN", "OP_INSTANCE_REINSTALL"])
        self.assertEqual(len(legacy), 2)
        self.assertEqual(legacy[1]["os_type"], "plain")
        self.assertEqual(len(plain), 3)
        self.assertIsNone(plain[1]["os_type"])

    @defer.inlineCallbacks
    def test_reinstall_bad(self):
        body, _ = yield self.assertError(
            400, "POST", PATH + "/reinstall?os=plain",
            body={"os": "debian"}, auth=ADMIN)
        self.assertIn("combine", body["explain"])
        body, _ = yield self.assertError(
            400, "POST", PATH + "/reinstall", body={"bogus": 1},
            auth=ADMIN)
        self.assertIn("bogus", body["explain"])
        yield self.assertError(400, "POST", PATH + "/reinstall",
                               body={"start": "yes"}, auth=ADMIN)
        yield self.assertError(400, "POST", PATH + "/reinstall",
                               body={"osparams": "x"}, auth=ADMIN)
        yield self.assertError(405, "PUT", PATH + "/reinstall",
                               auth=ADMIN)
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_rename(self):
        yield self.call("PUT", PATH + "/rename?dry-run=1",
                        body={"new_name": "inst2.example.com",
                              "name_check": False, "ip_check": False},
                        auth=ADMIN)
        [[op]] = self.submitted()
        self.assertEqual((op["OP_ID"], op["instance_name"], op["new_name"],
                          op["dry_run"]),
                         ("OP_INSTANCE_RENAME", INSTANCE,
                          "inst2.example.com", True))
        body, _ = yield self.assertError(400, "PUT", PATH + "/rename",
                                         body={}, auth=ADMIN)
        self.assertIn("new_name", body["explain"])

    @defer.inlineCallbacks
    def test_modify(self):
        yield self.call("PUT", PATH + "/modify",
                        body={"custom_beparams": {"maxmem": 512},
                              "hvparams": {"kernel_path": ""},
                              "os_name": "plain",
                              "nics": [["add", -1, {}]]}, auth=ADMIN)
        [[op]] = self.submitted()
        self.assertEqual(op["OP_ID"], "OP_INSTANCE_SET_PARAMS")
        self.assertEqual((op["beparams"], op["hvparams"], op["os_name"],
                          op["nics"]),
                         ({"maxmem": 512}, {"kernel_path": ""}, "plain",
                          [["add", -1, {}]]))
        yield self.assertError(
            400, "PUT", PATH + "/modify",
            body={"custom_hvparams": {}, "hvparams": {}}, auth=ADMIN)
        yield self.assertError(400, "PUT", PATH + "/modify",
                               body={"beparams": 3}, auth=ADMIN)
        yield self.assertError(400, "PUT", PATH + "/modify",
                               body={"instance_name": "other.example.com"},
                               auth=ADMIN)
        self.assertEqual(len(self.submitted()), 1)

    @defer.inlineCallbacks
    def test_modify_template_and_recreate_nodes(self):
        """
        A template conversion takes Ganeti's body names (``disk_template``,
        ``remote_node``, ``wait_for_sync``); recreate-disks its new nodes
        or allocator.
        """
        yield self.call("PUT", PATH + "/modify",
                        body={"disk_template": "drbd",
                              "remote_node": "node2.example.com",
                              "wait_for_sync": False}, auth=ADMIN)
        yield self.call("POST", PATH + "/recreate-disks",
                        body={"nodes": ["node2.example.com",
                                        "node1.example.com"]}, auth=ADMIN)
        [[modify], [recreate]] = self.submitted()
        self.assertEqual((modify["disk_template"], modify["remote_node"],
                          modify["wait_for_sync"]),
                         ("drbd", "node2.example.com", False))
        self.assertEqual((recreate["OP_ID"], recreate["nodes"]),
                         ("OP_INSTANCE_RECREATE_DISKS",
                          ["node2.example.com", "node1.example.com"]))

    @defer.inlineCallbacks
    def test_activate_deactivate_disks(self):
        yield self.call("PUT", PATH + "/activate-disks?ignore_size=1",
                        auth=ADMIN)
        yield self.call("PUT", PATH + "/activate-disks", auth=ADMIN)
        yield self.call("PUT", PATH + "/deactivate-disks?force=1",
                        auth=ADMIN)
        act1, act2, deact = [job[0] for job in self.submitted()]
        self.assertEqual((act1["OP_ID"], act1["ignore_size"],
                          act2["ignore_size"]),
                         ("OP_INSTANCE_ACTIVATE_DISKS", True, False))
        self.assertEqual((deact["OP_ID"], deact["instance_name"],
                          deact["force"]),
                         ("OP_INSTANCE_DEACTIVATE_DISKS", INSTANCE, True))
        yield self.assertError(405, "POST", PATH + "/activate-disks",
                               auth=ADMIN)

    @defer.inlineCallbacks
    def test_grow_disk(self):
        status, body, _ = yield self.call(
            "POST", PATH + "/disk/1/grow",
            body={"amount": 1024, "wait_for_sync": False}, auth=ADMIN)
        self.assertEqual(status, 200)
        [[op]] = self.submitted()
        self.assertEqual((op["OP_ID"], op["instance_name"], op["disk"],
                          op["amount"], op["wait_for_sync"]),
                         ("OP_INSTANCE_GROW_DISK", INSTANCE, 1, 1024, False))
        # Defaults are the master's to fill in: growing is relative.
        self.assertFalse(op["absolute"])
        yield self.assertError(400, "POST", PATH + "/disk/0/grow",
                               body={}, auth=ADMIN)
        yield self.assertError(400, "POST", PATH + "/disk/0/grow",
                               body={"amount": 1, "disk": 2}, auth=ADMIN)
        yield self.assertError(404, "POST", PATH + "/disk/x/grow",
                               body={"amount": 1}, auth=ADMIN)

    @defer.inlineCallbacks
    def test_recreate_disks(self):
        yield self.call("POST", PATH + "/recreate-disks",
                        body={"disks": [[0, {}]],
                              "nodes": ["node1.example.com"]}, auth=ADMIN)
        yield self.call("POST", PATH + "/recreate-disks", auth=ADMIN)
        given, empty = [job[0] for job in self.submitted()]
        self.assertEqual((given["OP_ID"], given["disks"], given["nodes"]),
                         ("OP_INSTANCE_RECREATE_DISKS", [[0, {}]],
                          ["node1.example.com"]))
        # No body: the master's default, all disks.
        self.assertEqual(empty["disks"], [])

    @defer.inlineCallbacks
    def test_console(self):
        """Authenticated users only; an unknown instance is 404."""
        yield self.assertError(401, "GET", PATH + "/console")
        yield self.assertError(404, "GET", "/2/instances/missing/console",
                               auth=("reader", "readpw"))
        self.assertEqual(self.submitted(), [])


class QueryResourceTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_get(self):
        """Field names are split at commas and stripped."""
        status, body, _ = yield self.call(
            "GET", "/2/query/node?fields=name,%20pip",
            auth=("reader", "readpw"))
        self.assertEqual(status, 200)
        self.assertEqual([f["name"] for f in body["fields"]], ["name", "pip"])
        self.assertEqual(body["data"], [[[0, NODE],
                                         [0, SETTINGS["node_ip"]]]])

    @defer.inlineCallbacks
    def test_needs_authentication(self):
        yield self.assertError(401, "GET", "/2/query/node?fields=name")
        yield self.assertError(401, "PUT", "/2/query/node",
                               body={"fields": ["name"]})
        yield self.assertError(403, "GET", "/2/query/node?fields=name",
                               auth=("nobody", "nopw"))

    @defer.inlineCallbacks
    def test_put(self):
        """
        The body's fields and filter (or pre-2.7 ``filter``) reach the
        master; without body fields the query string's are used.
        """
        self.create_instance("inst0.example.com")
        self.create_instance(start=True)
        qfilter = ["|", ["=", "name", INSTANCE]]
        _, body, _ = yield self.call(
            "PUT", "/2/query/instance", auth=ADMIN,
            body={"fields": ["name", "status"], "qfilter": qfilter})
        self.assertEqual(body["data"], [[[0, INSTANCE], [0, "running"]]])
        _, body, _ = yield self.call(
            "PUT", "/2/query/instance", auth=ADMIN,
            body={"fields": ["name"], "filter": ["?", "oper_state"]})
        self.assertEqual(body["data"], [[[0, INSTANCE]]])
        _, body, _ = yield self.call("PUT", "/2/query/node?fields=pip",
                                     auth=ADMIN, body={})
        self.assertEqual(body["data"], [[[0, SETTINGS["node_ip"]]]])
        # Networks too (none defined here): fields and an empty table.
        _, body, _ = yield self.call("GET", "/2/query/network?fields=name,map",
                                     auth=ADMIN)
        self.assertEqual((body["fields"][1]["title"], body["data"]),
                         ("Map", []))

    @defer.inlineCallbacks
    def test_bad_requests(self):
        body, _ = yield self.assertError(400, "GET", "/2/query/node",
                                         auth=ADMIN)
        self.assertIn("fields", body["explain"])
        yield self.assertError(400, "PUT", "/2/query/node", body={},
                               auth=ADMIN)
        yield self.assertError(400, "PUT", "/2/query/node",
                               body={"fields": "name"}, auth=ADMIN)
        yield self.assertError(400, "PUT", "/2/query/node",
                               body={"fields": ["name"], "qfilter": "x"},
                               auth=ADMIN)
        yield self.assertError(400, "PUT", "/2/query/node", body=[1],
                               auth=ADMIN)
        # Not queryable over RAPI at all.
        yield self.assertError(404, "GET", "/2/query/os?fields=name",
                               auth=ADMIN)
        yield self.assertError(404, "GET", "/2/query/cluster/fields")

    @defer.inlineCallbacks
    def test_fields(self):
        _, body, _ = yield self.call("GET", "/2/query/instance/fields")
        names = {f["name"] for f in body["fields"]}
        self.assertTrue({"name", "status", "oper_state"} <= names, names)
        self.assertEqual(sorted(body["fields"][0]),
                         ["doc", "kind", "name", "title"])
        _, body, _ = yield self.call("GET",
                                     "/2/query/job/fields?fields=id,status")
        self.assertEqual([f["name"] for f in body["fields"]], ["id", "status"])


class GroupResourceTests(RapiTestBase):
    def setUp(self):
        super().setUp()

        def add_group(cfg):
            group = NodeGroup(name="b group", uuid="b-group-uuid",
                              alloc_policy="last_resort")
            return attrs.evolve(cfg, nodegroups=dict(
                cfg.nodegroups, **{group.uuid: group}))
        self.master.config.update(add_group)

    @defer.inlineCallbacks
    def test_list(self):
        """Groups are listed by name, URL-quoted."""
        _, body, _ = yield self.call("GET", "/2/groups")
        self.assertEqual(body, [
            {"name": "b group", "uri": "/2/groups/b%20group"},
            {"name": "default", "uri": "/2/groups/default"}])

    @defer.inlineCallbacks
    def test_bulk(self):
        _, body, _ = yield self.call("GET", "/2/groups?bulk=1")
        self.assertEqual([g["name"] for g in body], ["b group", "default"])
        self.assertEqual(sorted(body[1]), sorted(G_FIELDS))
        self.assertEqual((body[0]["uuid"], body[0]["node_cnt"],
                          body[1]["node_cnt"], body[1]["node_list"]),
                         ("b-group-uuid", 0, 1, [NODE]))
        self.assertEqual(body[1]["custom_ipolicy"], {})

    @defer.inlineCallbacks
    def test_single(self):
        _, body, _ = yield self.call("GET", "/2/groups/b%20group")
        self.assertEqual((body["name"], body["alloc_policy"]),
                         ("b group", "last_resort"))
        yield self.assertError(404, "GET", "/2/groups/missing")
        yield self.assertError(405, "PUT", "/2/groups", auth=ADMIN)
        body, _ = yield self.assertError(400, "POST", "/2/groups", auth=ADMIN,
                                         body={"name": "x", "group_name": "y"})
        self.assertIn("'name' was renamed to 'group_name'", body["explain"])
