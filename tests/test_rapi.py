"""
Tests for L{ganeti.rapi}: the real site, driven over HTTP semantics by
L{treq.testing.StubTreq}, in front of a small in-memory master handler.
"""

import json
import os

import treq
from treq.testing import StubTreq
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor
from twisted.trial import unittest

from ganeti import crypto, errors
from ganeti.rapi import auth, resources, server

BASE = "http://rapi.example.com"
JSON = {b"Content-Type": [b"application/json"]}


class MasterHandler:
    """
    A LUXI-like master handler over plain dicts, answering the calls the
    RAPI makes the way the real master does.
    """

    def __init__(self):
        self.instances = {
            "inst1.example.com": {"name": "inst1.example.com", "os": "debian",
                                  "pnode": "node1.example.com",
                                  "admin_state": "up", "status": "running",
                                  "beparams": {"maxmem": 128, "vcpus": 1},
                                  "tags": []},
        }
        self.nodes = {
            "node2.example.com": {"name": "node2.example.com", "role": "R",
                                  "offline": False, "pip": "192.0.2.2",
                                  "tags": ["rack:2"]},
            "node1.example.com": {"name": "node1.example.com", "role": "M",
                                  "offline": False, "pip": "192.0.2.1"},
        }
        self.groups = {
            "default": {"name": "default", "uuid": "g-uuid-1",
                        "alloc_policy": "preferred", "node_cnt": 2},
            "b group": {"name": "b group", "uuid": "g-uuid-2",
                        "alloc_policy": "last_resort", "node_cnt": 0},
        }
        self.queries = []
        self.oses = {
            "debian": {"name": "debian", "valid": True, "hidden": False,
                       "blacklisted": False, "variants": ["default", "min"]},
            "plain": {"name": "plain", "valid": True, "hidden": False,
                      "blacklisted": False, "variants": None},
            "broken": {"name": "broken", "valid": False, "hidden": False,
                       "blacklisted": False, "variants": None},
            "secret": {"name": "secret", "valid": True, "hidden": True,
                       "blacklisted": False, "variants": None},
        }
        self.jobs = {
            7: {"id": 7, "status": "success", "summary": ["TEST_DELAY(1)"],
                "ops": [{"OP_ID": "OP_TEST_DELAY", "duration": 1}],
                "opstatus": ["success"], "opresult": [None],
                "oplog": [[[1, [1700000000, 5], "message", "hi"]]],
                "received_ts": [1700000000, 1], "start_ts": [1700000000, 2],
                "end_ts": [1700000001, 3]},
        }
        self.tags = ["a"]
        self.submitted = []
        self.drained = False
        self.wait_calls = []

    def SubmitJob(self, ops):
        if self.drained:
            raise errors.JobQueueDrainError("Job queue is drained")
        job_id = 100 + len(self.submitted)
        self.submitted.append(ops)
        # Like the real master, answer asynchronously.
        return defer.succeed(job_id)

    def Query(self, what, fields, qfilter):
        self.queries.append((what, fields, qfilter))
        if what not in ("instance", "node", "os", "group"):
            raise errors.OpPrereqError("Resource type '%s' unknown" % what,
                                       "wrong_input")
        items = {"instance": self.instances, "node": self.nodes,
                 "os": self.oses, "group": self.groups}[what]
        names = sorted(items)
        if qfilter is not None and qfilter[0] == "|":
            assert qfilter[0] == "|"
            names = [f[2] for f in qfilter[1:]]
            missing = [n for n in names if n not in items]
            if missing:
                raise errors.OpPrereqError("Unknown %s %s" % (what, missing[0]),
                                           "unknown_entity")
        data = []
        for name in names:
            row = []
            for f in fields:
                if f in items[name]:
                    row.append([0, items[name][f]])
                else:
                    row.append([2, None])
            data.append(row)
        return {"fields": [{"name": f, "title": f, "kind": "other", "doc": f}
                           for f in fields], "data": data}

    def QueryFields(self, what, fields):
        self.queries.append(("fields", what, fields))
        return {"fields": [{"name": f, "title": f.title(), "kind": "text",
                            "doc": f} for f in fields or ["name", "uuid"]]}

    def QueryJobs(self, job_ids, fields):
        if not job_ids:
            job_ids = sorted(self.jobs)
        return [[self.jobs[j].get(f) for f in fields] if j in self.jobs
                else None for j in job_ids]

    def QueryClusterInfo(self):
        return {"name": "cluster.example.com", "master": "node1.example.com",
                "software_version": "3.0.2", "protocol_version": 2030000}

    def WaitForJobChange(self, job_id, fields, prev_job_info, prev_log_serial,
                         timeout):
        self.wait_calls.append((job_id, fields, prev_job_info,
                                prev_log_serial, timeout))
        if job_id not in self.jobs:
            return None
        info = [self.jobs[job_id].get(f) for f in fields]
        if info == prev_job_info:
            return "nochange"
        return [info, [[1, [1700000000, 5], "message", "hi"]]]

    def CancelJob(self, job_id, kill):
        if job_id not in self.jobs:
            raise errors.JobLost("Job %s not found" % job_id)
        return [False, "Job %s is finished" % job_id]

    def QueryTags(self, kind, name):
        return list(self.tags)


class RapiTestBase(unittest.TestCase):
    def setUp(self):
        self.handler = MasterHandler()
        self.users_path = self.mktemp()
        self.write_users(
            "# comment\n"
            "admin {HA1}%s write\n"
            "clear {cleartext}s3cret write,read\n"
            "plain plainpw write\n"
            "reader readpw read\n"
            "nobody nopw\n" % auth.ha1("admin", "adminpw"))
        self.clock = Clock()
        self.clock.advance(1700000000)
        self.site = server.make_site(self.handler, self.users_path,
                                     self.clock)
        self.stub = StubTreq(self.site.resource)

    def write_users(self, text):
        with open(self.users_path, "w") as f:
            f.write(text)

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
    def test_anonymous_get_ignores_bad_credentials(self):
        status, _, _ = yield self.call("GET", "/version", auth=("x", "y"))
        self.assertEqual(status, 200)

    @defer.inlineCallbacks
    def test_post_without_credentials(self):
        _, response = yield self.assertError(
            401, "POST", "/2/instances", body={"__version__": 1})
        self.assertEqual(response.headers.getRawHeaders(b"www-authenticate"),
                         [b'Basic realm="Ganeti Remote API"'])
        self.assertEqual(self.handler.submitted, [])

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
        self.assertEqual(self.handler.submitted, [])

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
        yield self.assertError(401, "GET", "/2/jobs/7/wait",
                               body={"fields": ["status"]})
        yield self.assertError(403, "GET", "/2/jobs/7/wait",
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
        site = server.make_site(self.handler, self.users_path, self.clock,
                                require_authentication=True)
        self.stub = StubTreq(site.resource)
        yield self.assertError(401, "GET", "/2/nodes")
        status, _, _ = yield self.call("GET", "/2/nodes",
                                       auth=("reader", "readpw"))
        self.assertEqual(status, 200)


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
        self.assertEqual(body["name"], "cluster.example.com")

    @defer.inlineCallbacks
    def test_features(self):
        _, body, _ = yield self.call("GET", "/2/features")
        self.assertEqual(body, ["instance-create-reqv1",
                                "instance-reinstall-reqv1",
                                "node-migrate-reqv1", "node-evac-res1"])

    @defer.inlineCallbacks
    def test_os(self):
        """Valid, visible OSes, expanded by variant."""
        _, body, _ = yield self.call("GET", "/2/os")
        self.assertEqual(body, ["debian+default", "debian+min", "plain"])

    @defer.inlineCallbacks
    def test_os_bulk(self):
        _, body, _ = yield self.call("GET", "/2/os?bulk=1")
        self.assertEqual([o["name"] for o in body],
                         ["broken", "debian", "plain", "secret"])
        self.assertEqual(sorted(body[0]), sorted(resources.OS_BULK_FIELDS))

    @defer.inlineCallbacks
    def test_tags(self):
        _, body, _ = yield self.call("GET", "/2/tags")
        self.assertEqual(body, ["a"])
        status, job, _ = yield self.call("PUT", "/2/tags?tag=b&tag=c&dry-run=1",
                                         auth=ADMIN)
        self.assertEqual((status, job), (200, 100))
        op = self.handler.submitted[0][0]
        self.assertEqual((op["OP_ID"], op["kind"], op["name"], op["tags"],
                          op["dry_run"]),
                         ("OP_TAGS_SET", "cluster", None, ["b", "c"], True))
        self.assertEqual(op["reason"], [["gnt:library:rlib2:R_2_tags", "",
                                         1700000000 * 10 ** 9]])
        yield self.call("DELETE", "/2/tags?tag=a&reason=cleanup", auth=ADMIN)
        op = self.handler.submitted[1][0]
        self.assertEqual((op["OP_ID"], op["tags"]), ("OP_TAGS_DEL", ["a"]))
        self.assertEqual(op["reason"][0][:2], ["gnt:user", "cleanup"])

    @defer.inlineCallbacks
    def test_tags_without_tag(self):
        body, _ = yield self.assertError(400, "PUT", "/2/tags", auth=ADMIN)
        self.assertIn("'tag'", body["explain"])


class NodeResourceTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_list(self):
        _, body, _ = yield self.call("GET", "/2/nodes")
        self.assertEqual(body, [
            {"id": "node1.example.com", "uri": "/2/nodes/node1.example.com"},
            {"id": "node2.example.com", "uri": "/2/nodes/node2.example.com"}])

    @defer.inlineCallbacks
    def test_bulk(self):
        _, body, _ = yield self.call("GET", "/2/nodes?bulk=1")
        self.assertEqual(len(body), 2)
        self.assertEqual(sorted(body[0]), sorted(resources.N_FIELDS))
        self.assertEqual(body[0]["pip"], "192.0.2.1")
        # Fields without data come back as null.
        self.assertIsNone(body[0]["mfree"])

    @defer.inlineCallbacks
    def test_single(self):
        _, body, _ = yield self.call("GET", "/2/nodes/node2.example.com")
        self.assertEqual((body["name"], body["role"]),
                         ("node2.example.com", "R"))

    @defer.inlineCallbacks
    def test_role(self):
        _, body, _ = yield self.call("GET", "/2/nodes/node1.example.com/role")
        self.assertEqual(body, "master")

    @defer.inlineCallbacks
    def test_unknown(self):
        yield self.assertError(404, "GET", "/2/nodes/nonexistent")


class InstanceResourceTests(RapiTestBase):
    CREATE = {"__version__": 1, "instance_name": "new.example.com",
              "disk_template": "plain", "disks": [{"size": 1024}],
              "nics": [{}], "os_type": "debian", "pnode": "node1.example.com",
              "beparams": {"maxmem": 256}, "hvparams": {}, "start": True,
              "no_install": False, "name_check": False, "ip_check": False,
              "mode": "create"}

    @defer.inlineCallbacks
    def test_list_and_bulk(self):
        _, body, _ = yield self.call("GET", "/2/instances")
        self.assertEqual(body, [{"id": "inst1.example.com",
                                 "uri": "/2/instances/inst1.example.com"}])
        _, body, _ = yield self.call("GET", "/2/instances?bulk=1")
        self.assertEqual(set(body[0]),
                         set(resources.I_FIELDS))
        self.assertEqual(body[0]["beparams"],
                         {"maxmem": 128, "vcpus": 1, "memory": 128})

    @defer.inlineCallbacks
    def test_single(self):
        _, body, _ = yield self.call("GET", "/2/instances/inst1.example.com")
        self.assertEqual((body["name"], body["status"]),
                         ("inst1.example.com", "running"))
        yield self.assertError(404, "GET", "/2/instances/missing")

    @defer.inlineCallbacks
    def test_create(self):
        status, body, _ = yield self.call("POST", "/2/instances?dry-run=1",
                                          body=self.CREATE, auth=ADMIN)
        self.assertEqual((status, body), (200, 100))
        [[op]] = self.handler.submitted
        self.assertEqual(op["OP_ID"], "OP_INSTANCE_CREATE")
        self.assertEqual(op["instance_name"], "new.example.com")
        self.assertEqual(op["disks"], [{"size": 1024}])
        self.assertTrue(op["dry_run"])
        self.assertNotIn("__version__", op)

    @defer.inlineCallbacks
    def test_create_legacy_names(self):
        body = dict(self.CREATE, name="old.example.com", os="plain",
                    hvparams={"usb_devices": "a b"})
        del body["instance_name"], body["os_type"]
        yield self.call("POST", "/2/instances", body=body, auth=ADMIN)
        [[op]] = self.handler.submitted
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
        self.assertEqual(self.handler.submitted, [])

    @defer.inlineCallbacks
    def test_create_drained(self):
        self.handler.drained = True
        body, _ = yield self.assertError(503, "POST", "/2/instances",
                                         body=self.CREATE, auth=ADMIN)
        self.assertEqual(body["explain"], "Job queue is drained, cannot submit")

    @defer.inlineCallbacks
    def test_master_prereq_error(self):
        """An OpPrereqError from the master at submission is a 400."""
        def refuse(ops):
            raise errors.OpPrereqError("Instance exists", "already_exists")
        self.handler.SubmitJob = refuse
        body, _ = yield self.assertError(400, "POST", "/2/instances",
                                         body=self.CREATE, auth=ADMIN)
        self.assertEqual(body["explain"], "Instance exists")

    @defer.inlineCallbacks
    def test_internal_error(self):
        def broken(ops):
            raise RuntimeError("boom")
        self.handler.SubmitJob = broken
        yield self.assertError(500, "POST", "/2/instances", body=self.CREATE,
                               auth=ADMIN)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    @defer.inlineCallbacks
    def test_delete(self):
        status, body, _ = yield self.call(
            "DELETE", "/2/instances/inst1.example.com", auth=ADMIN)
        self.assertEqual((status, body), (200, 100))
        [[op]] = self.handler.submitted
        self.assertEqual((op["OP_ID"], op["instance_name"],
                          op["ignore_failures"]),
                         ("OP_INSTANCE_REMOVE", "inst1.example.com", False))

    @defer.inlineCallbacks
    def test_startup_shutdown_reboot(self):
        yield self.call("PUT", "/2/instances/i1/startup?force=1&dry-run=1",
                        auth=ADMIN)
        yield self.call("PUT", "/2/instances/i1/shutdown?no_remember=1",
                        body={"timeout": 30}, auth=ADMIN)
        yield self.call("POST", "/2/instances/i1/reboot?type=soft",
                        auth=ADMIN)
        yield self.call("PUT", "/2/instances/i1/reboot", auth=ADMIN)
        ops = [job[0] for job in self.handler.submitted]
        self.assertEqual([o["OP_ID"] for o in ops],
                         ["OP_INSTANCE_STARTUP", "OP_INSTANCE_SHUTDOWN",
                          "OP_INSTANCE_REBOOT", "OP_INSTANCE_REBOOT"])
        self.assertTrue(ops[0]["force"] and ops[0]["dry_run"])
        self.assertEqual((ops[1]["timeout"], ops[1]["no_remember"]),
                         (30, True))
        self.assertEqual([ops[2]["reboot_type"], ops[3]["reboot_type"]],
                         ["soft", "hard"])

    @defer.inlineCallbacks
    def test_static_override(self):
        body, _ = yield self.assertError(
            400, "PUT", "/2/instances/i1/shutdown",
            body={"instance_name": "other"}, auth=ADMIN)
        self.assertIn("instance_name", body["explain"])

    @defer.inlineCallbacks
    def test_bad_query_values(self):
        yield self.assertError(400, "POST", "/2/instances/i1/reboot?type=x",
                               auth=ADMIN)
        yield self.assertError(400, "PUT", "/2/instances/i1/startup?force=yes",
                               auth=ADMIN)


class JobResourceTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_list(self):
        _, body, _ = yield self.call("GET", "/2/jobs")
        self.assertEqual(body, [{"id": 7, "uri": "/2/jobs/7"}])
        _, body, _ = yield self.call("GET", "/2/jobs?bulk=1")
        self.assertEqual(sorted(body[0]), sorted(resources.J_FIELDS_BULK))

    @defer.inlineCallbacks
    def test_single(self):
        _, body, _ = yield self.call("GET", "/2/jobs/7")
        self.assertEqual(sorted(body), sorted(
            ["id", "status", "ops", "opresult", "opstatus", "oplog",
             "received_ts", "start_ts", "end_ts", "summary"]))
        self.assertEqual(body["status"], "success")
        yield self.assertError(404, "GET", "/2/jobs/8")
        yield self.assertError(400, "GET", "/2/jobs/abc")

    @defer.inlineCallbacks
    def test_cancel(self):
        _, body, _ = yield self.call("DELETE", "/2/jobs/7", auth=ADMIN)
        self.assertEqual(body, [False, "Job 7 is finished"])
        yield self.assertError(404, "DELETE", "/2/jobs/9", auth=ADMIN)

    @defer.inlineCallbacks
    def test_wait(self):
        _, body, _ = yield self.call(
            "GET", "/2/jobs/7/wait", auth=ADMIN,
            body={"fields": ["status"], "previous_job_info": None,
                  "previous_log_serial": None})
        self.assertEqual(body, {"job_info": ["success"], "log_entries": [
            [1, [1700000000, 5], "message", "hi"]]})
        self.assertEqual(self.handler.wait_calls[0],
                         (7, ["status"], None, None, 10))
        _, body, _ = yield self.call(
            "GET", "/2/jobs/7/wait", auth=ADMIN,
            body={"fields": ["status"], "previous_job_info": ["success"],
                  "previous_log_serial": 1})
        self.assertIsNone(body)
        yield self.assertError(404, "GET", "/2/jobs/8/wait", auth=ADMIN,
                               body={"fields": ["status"]})

    @defer.inlineCallbacks
    def test_wait_bad_body(self):
        for bad in [{}, {"fields": "status"},
                    {"fields": [], "previous_job_info": 3},
                    {"fields": [], "previous_log_serial": "x"}]:
            yield self.assertError(400, "GET", "/2/jobs/7/wait", auth=ADMIN,
                                   body=bad)


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
        raw = b'"' + b"x" * resources.MAX_BODY_SIZE + b'"'
        yield self.assertError(413, "POST", "/2/instances", raw=raw,
                               headers=JSON, auth=ADMIN)
        self.assertEqual(self.handler.submitted, [])

    @defer.inlineCallbacks
    def test_master_unreachable(self):
        def gone(*args):
            raise errors.LuxiError("connection refused")
        self.handler.QueryClusterInfo = gone
        yield self.assertError(502, "GET", "/2/info")


class ServerTests(unittest.TestCase):
    def test_endpoint_service(self):
        """The listener uses TLS with rapi.pem on the requested port."""
        pem_path = self.mktemp()
        with open(pem_path, "wb") as f:
            f.write(crypto.generate_self_signed_pem(bits=1024))
        reactor = MemoryReactor()
        site = server.make_site(MasterHandler(), self.mktemp(), reactor)
        service = server.rapi_endpoint_service(reactor, site, pem_path,
                                               port=15080,
                                               interface="127.0.0.1")
        service.startService()
        self.addCleanup(service.stopService)
        [(port, factory, _, interface)] = [
            (p, f, b, i) for p, f, c, b, i in reactor.sslServers]
        self.assertEqual((port, factory, interface),
                         (15080, site, "127.0.0.1"))


class RedistributeConfigTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_redistribute_config(self):
        status, body, _ = yield self.call(
            "PUT", "/2/redistribute-config?dry-run=1", auth=ADMIN)
        self.assertEqual((status, body), (200, 100))
        [[op]] = self.handler.submitted
        self.assertEqual((op["OP_ID"], op["dry_run"]),
                         ("OP_CLUSTER_REDIST_CONF", True))
        self.assertEqual(op["reason"][-1][0],
                         "gnt:library:rlib2:R_2_redist_config")
        yield self.assertError(401, "PUT", "/2/redistribute-config")
        yield self.assertError(405, "GET", "/2/redistribute-config")
        self.assertEqual(len(self.handler.submitted), 1)


class ObjectTagTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_node_tags(self):
        _, body, _ = yield self.call("GET", "/2/nodes/node2.example.com/tags")
        self.assertEqual(body, ["rack:2"])
        # No tag data is an empty list, not null.
        _, body, _ = yield self.call("GET", "/2/nodes/node1.example.com/tags")
        self.assertEqual(body, [])
        yield self.assertError(404, "GET", "/2/nodes/missing/tags")
        status, job, _ = yield self.call(
            "PUT", "/2/nodes/node1.example.com/tags?tag=x&tag=y&dry-run=1",
            auth=ADMIN)
        self.assertEqual((status, job), (200, 100))
        yield self.call("DELETE", "/2/nodes/node1.example.com/tags?tag=x",
                        auth=ADMIN)
        set_op, del_op = [job[0] for job in self.handler.submitted]
        self.assertEqual((set_op["OP_ID"], set_op["kind"], set_op["name"],
                          set_op["tags"], set_op["dry_run"]),
                         ("OP_TAGS_SET", "node", "node1.example.com",
                          ["x", "y"], True))
        self.assertEqual((del_op["OP_ID"], del_op["kind"], del_op["tags"],
                          del_op["dry_run"]),
                         ("OP_TAGS_DEL", "node", ["x"], False))
        self.assertEqual(set_op["reason"][-1][0],
                         "gnt:library:rlib2:R_2_nodes_name_tags")
        yield self.assertError(400, "PUT", "/2/nodes/node1.example.com/tags",
                               auth=ADMIN)
        yield self.assertError(401, "PUT",
                               "/2/nodes/node1.example.com/tags?tag=x")

    @defer.inlineCallbacks
    def test_instance_tags(self):
        self.handler.instances["inst1.example.com"]["tags"] = ["web"]
        _, body, _ = yield self.call("GET",
                                     "/2/instances/inst1.example.com/tags")
        self.assertEqual(body, ["web"])
        yield self.assertError(404, "GET", "/2/instances/missing/tags")
        yield self.call("PUT", "/2/instances/inst1.example.com/tags?tag=db",
                        auth=ADMIN)
        yield self.call(
            "DELETE", "/2/instances/inst1.example.com/tags?tag=web&dry-run=1",
            auth=ADMIN)
        set_op, del_op = [job[0] for job in self.handler.submitted]
        self.assertEqual((set_op["OP_ID"], set_op["kind"], set_op["name"],
                          set_op["tags"]),
                         ("OP_TAGS_SET", "instance", "inst1.example.com",
                          ["db"]))
        self.assertEqual((del_op["OP_ID"], del_op["tags"], del_op["dry_run"]),
                         ("OP_TAGS_DEL", ["web"], True))
        yield self.assertError(400, "DELETE",
                               "/2/instances/inst1.example.com/tags",
                               auth=ADMIN)


class InstanceActionTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_reinstall_body(self):
        status, body, _ = yield self.call(
            "POST", "/2/instances/i1/reinstall",
            body={"os": "debian", "osparams": {"a": "b"}}, auth=ADMIN)
        self.assertEqual((status, body), (200, 100))
        [ops] = self.handler.submitted
        self.assertEqual([o["OP_ID"] for o in ops],
                         ["OP_INSTANCE_SHUTDOWN", "OP_INSTANCE_REINSTALL",
                          "OP_INSTANCE_STARTUP"])
        self.assertEqual({o["instance_name"] for o in ops}, {"i1"})
        self.assertEqual((ops[1]["os_type"], ops[1]["osparams"]),
                         ("debian", {"a": "b"}))
        self.assertFalse(ops[2]["force"])

    @defer.inlineCallbacks
    def test_reinstall_no_start_and_legacy(self):
        yield self.call("POST", "/2/instances/i1/reinstall",
                        body={"start": False}, auth=ADMIN)
        yield self.call("POST",
                        "/2/instances/i1/reinstall?os=plain&nostartup=1",
                        auth=ADMIN)
        yield self.call("POST", "/2/instances/i1/reinstall", auth=ADMIN)
        no_start, legacy, plain = self.handler.submitted
        self.assertEqual([o["OP_ID"] for o in no_start],
                         ["OP_INSTANCE_SHUTDOWN", "OP_INSTANCE_REINSTALL"])
        self.assertEqual(len(legacy), 2)
        self.assertEqual(legacy[1]["os_type"], "plain")
        self.assertEqual(len(plain), 3)
        self.assertIsNone(plain[1]["os_type"])

    @defer.inlineCallbacks
    def test_reinstall_bad(self):
        body, _ = yield self.assertError(
            400, "POST", "/2/instances/i1/reinstall?os=plain",
            body={"os": "debian"}, auth=ADMIN)
        self.assertIn("combine", body["explain"])
        body, _ = yield self.assertError(
            400, "POST", "/2/instances/i1/reinstall", body={"bogus": 1},
            auth=ADMIN)
        self.assertIn("bogus", body["explain"])
        yield self.assertError(400, "POST", "/2/instances/i1/reinstall",
                               body={"start": "yes"}, auth=ADMIN)
        yield self.assertError(400, "POST", "/2/instances/i1/reinstall",
                               body={"osparams": "x"}, auth=ADMIN)
        yield self.assertError(405, "PUT", "/2/instances/i1/reinstall",
                               auth=ADMIN)
        self.assertEqual(self.handler.submitted, [])

    @defer.inlineCallbacks
    def test_rename(self):
        yield self.call("PUT", "/2/instances/i1/rename?dry-run=1",
                        body={"new_name": "i2", "name_check": False,
                              "ip_check": False}, auth=ADMIN)
        [[op]] = self.handler.submitted
        self.assertEqual((op["OP_ID"], op["instance_name"], op["new_name"],
                          op["dry_run"]),
                         ("OP_INSTANCE_RENAME", "i1", "i2", True))
        body, _ = yield self.assertError(400, "PUT", "/2/instances/i1/rename",
                                         body={}, auth=ADMIN)
        self.assertIn("new_name", body["explain"])

    @defer.inlineCallbacks
    def test_modify(self):
        yield self.call("PUT", "/2/instances/i1/modify",
                        body={"custom_beparams": {"maxmem": 512},
                              "hvparams": {"kernel_path": ""},
                              "os_name": "plain",
                              "nics": [["add", -1, {}]]}, auth=ADMIN)
        [[op]] = self.handler.submitted
        self.assertEqual(op["OP_ID"], "OP_INSTANCE_SET_PARAMS")
        self.assertEqual((op["beparams"], op["hvparams"], op["os_name"],
                          op["nics"]),
                         ({"maxmem": 512}, {"kernel_path": ""}, "plain",
                          [["add", -1, {}]]))
        yield self.assertError(
            400, "PUT", "/2/instances/i1/modify",
            body={"custom_hvparams": {}, "hvparams": {}}, auth=ADMIN)
        yield self.assertError(400, "PUT", "/2/instances/i1/modify",
                               body={"beparams": 3}, auth=ADMIN)
        yield self.assertError(400, "PUT", "/2/instances/i1/modify",
                               body={"instance_name": "i9"}, auth=ADMIN)
        self.assertEqual(len(self.handler.submitted), 1)

    @defer.inlineCallbacks
    def test_activate_deactivate_disks(self):
        yield self.call("PUT", "/2/instances/i1/activate-disks?ignore_size=1",
                        auth=ADMIN)
        yield self.call("PUT", "/2/instances/i1/activate-disks", auth=ADMIN)
        yield self.call("PUT", "/2/instances/i1/deactivate-disks?force=1",
                        auth=ADMIN)
        act1, act2, deact = [job[0] for job in self.handler.submitted]
        self.assertEqual((act1["OP_ID"], act1["ignore_size"],
                          act2["ignore_size"]),
                         ("OP_INSTANCE_ACTIVATE_DISKS", True, False))
        self.assertEqual((deact["OP_ID"], deact["instance_name"],
                          deact["force"]),
                         ("OP_INSTANCE_DEACTIVATE_DISKS", "i1", True))
        yield self.assertError(405, "POST", "/2/instances/i1/activate-disks",
                               auth=ADMIN)

    @defer.inlineCallbacks
    def test_grow_disk(self):
        status, body, _ = yield self.call(
            "POST", "/2/instances/i1/disk/1/grow",
            body={"amount": 1024, "wait_for_sync": False}, auth=ADMIN)
        self.assertEqual((status, body), (200, 100))
        [[op]] = self.handler.submitted
        self.assertEqual((op["OP_ID"], op["instance_name"], op["disk"],
                          op["amount"], op["wait_for_sync"]),
                         ("OP_INSTANCE_GROW_DISK", "i1", 1, 1024, False))
        # Defaults are the master's to fill in.
        self.assertNotIn("absolute", op)
        yield self.assertError(400, "POST", "/2/instances/i1/disk/0/grow",
                               body={}, auth=ADMIN)
        yield self.assertError(400, "POST", "/2/instances/i1/disk/0/grow",
                               body={"amount": 1, "disk": 2}, auth=ADMIN)
        yield self.assertError(404, "POST", "/2/instances/i1/disk/x/grow",
                               body={"amount": 1}, auth=ADMIN)

    @defer.inlineCallbacks
    def test_recreate_disks(self):
        yield self.call("POST", "/2/instances/i1/recreate-disks",
                        body={"disks": [[0, {}]],
                              "nodes": ["node1.example.com"]}, auth=ADMIN)
        yield self.call("POST", "/2/instances/i1/recreate-disks", auth=ADMIN)
        given, empty = [job[0] for job in self.handler.submitted]
        self.assertEqual((given["OP_ID"], given["disks"], given["nodes"]),
                         ("OP_INSTANCE_RECREATE_DISKS", [[0, {}]],
                          ["node1.example.com"]))
        self.assertNotIn("disks", empty)

    @defer.inlineCallbacks
    def test_console(self):
        """Authenticated users only; an unknown instance is 404."""
        yield self.assertError(401, "GET", "/2/instances/i1/console")
        yield self.assertError(404, "GET", "/2/instances/i1/console",
                               auth=("reader", "readpw"))
        self.assertEqual(self.handler.submitted, [])


class QueryResourceTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_get(self):
        status, body, _ = yield self.call(
            "GET", "/2/query/node?fields=name,%20pip",
            auth=("reader", "readpw"))
        self.assertEqual(status, 200)
        self.assertEqual(self.handler.queries,
                         [("node", ["name", "pip"], None)])
        self.assertEqual([f["name"] for f in body["fields"]], ["name", "pip"])
        self.assertEqual(body["data"][0], [[0, "node1.example.com"],
                                           [0, "192.0.2.1"]])

    @defer.inlineCallbacks
    def test_needs_authentication(self):
        yield self.assertError(401, "GET", "/2/query/node?fields=name")
        yield self.assertError(401, "PUT", "/2/query/node",
                               body={"fields": ["name"]})
        yield self.assertError(403, "GET", "/2/query/node?fields=name",
                               auth=("nobody", "nopw"))

    @defer.inlineCallbacks
    def test_put(self):
        qfilter = ["|", ["=", "name", "inst1.example.com"]]
        _, body, _ = yield self.call(
            "PUT", "/2/query/instance", auth=ADMIN,
            body={"fields": ["name", "status"], "qfilter": qfilter})
        self.assertEqual(body["data"], [[[0, "inst1.example.com"],
                                         [0, "running"]]])
        yield self.call("PUT", "/2/query/node", auth=ADMIN,
                        body={"fields": ["name"], "filter": ["?", "offline"]})
        yield self.call("PUT", "/2/query/node?fields=pip", auth=ADMIN,
                        body={})
        self.assertEqual(self.handler.queries, [
            ("instance", ["name", "status"], qfilter),
            ("node", ["name"], ["?", "offline"]),
            ("node", ["pip"], None)])

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
        # Queryable in Ganeti, refused by this master.
        yield self.assertError(400, "GET", "/2/query/network?fields=name",
                               auth=ADMIN)
        self.assertEqual([q[0] for q in self.handler.queries], ["network"])

    @defer.inlineCallbacks
    def test_fields(self):
        _, body, _ = yield self.call("GET", "/2/query/instance/fields")
        self.assertEqual(body, {"fields": [
            {"name": "name", "title": "Name", "kind": "text", "doc": "name"},
            {"name": "uuid", "title": "Uuid", "kind": "text", "doc": "uuid"}]})
        _, body, _ = yield self.call("GET",
                                     "/2/query/job/fields?fields=id,status")
        self.assertEqual([f["name"] for f in body["fields"]], ["id", "status"])
        self.assertEqual(self.handler.queries,
                         [("fields", "instance", None),
                          ("fields", "job", ["id", "status"])])


class GroupResourceTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_list(self):
        _, body, _ = yield self.call("GET", "/2/groups")
        self.assertEqual(body, [
            {"name": "b group", "uri": "/2/groups/b%20group"},
            {"name": "default", "uri": "/2/groups/default"}])
        self.assertEqual(self.handler.queries, [("group", ["name"], None)])

    @defer.inlineCallbacks
    def test_bulk(self):
        _, body, _ = yield self.call("GET", "/2/groups?bulk=1")
        self.assertEqual([g["name"] for g in body], ["b group", "default"])
        self.assertEqual(sorted(body[1]), sorted(resources.G_FIELDS))
        self.assertEqual((body[1]["uuid"], body[1]["node_cnt"]),
                         ("g-uuid-1", 2))
        self.assertIsNone(body[1]["ipolicy"])

    @defer.inlineCallbacks
    def test_single(self):
        _, body, _ = yield self.call("GET", "/2/groups/b%20group")
        self.assertEqual((body["name"], body["alloc_policy"]),
                         ("b group", "last_resort"))
        yield self.assertError(404, "GET", "/2/groups/missing")
        yield self.assertError(405, "PUT", "/2/groups", auth=ADMIN)
        body, _ = yield self.assertError(501, "POST", "/2/groups", auth=ADMIN)
        self.assertIn("node groups", body["explain"])
