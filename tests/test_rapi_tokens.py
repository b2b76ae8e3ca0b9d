"""
Tests for L{ganeti.rapi.tokens}: API tokens in the tokens file, hashed at
rest, scoped read or write, optionally limited to instances with a tag,
checked by the real RAPI site in front of a real master.
"""

import json

from treq.testing import StubTreq
from twisted.internet import defer
from twisted.trial import unittest

from ganeti.master.luxi import LuxiHandler
from ganeti.rapi import server, tokens
from tests.test_rapi import INSTANCE, create_op
from tests.util import local_cluster

BASE = "http://rapi.example.com"
JSON = {b"Content-Type": [b"application/json"]}


def create_body(name, **params):
    """:return: a POST /2/instances body for a diskless fake instance."""
    body = {k: v for k, v in create_op(name, **params).items()
            if k != "OP_ID"}
    return dict(body, __version__=1, mode="create")


class TokensFileTests(unittest.TestCase):
    def setUp(self):
        self.path = self.mktemp()

    def test_add_list_remove(self):
        """
        The file keeps a SHA-256 digest, never the secret; the secret
        shown once authenticates, a wrong one or a removed token does not.
        """
        secret = tokens.add_token(self.path, "ci", "write", "web")
        name, _, raw = secret.partition(".")
        self.assertEqual(name, "ci")
        with open(self.path) as f:
            text = f.read()
        self.assertNotIn(raw, text)
        self.assertRegex(text, r"^ci \{SHA256\}[0-9a-f]{64} write tag=web\n$")
        store = tokens.TokensFile(self.path)
        token = store.authenticate("ci", raw)
        self.assertEqual((token.name, token.scope, token.instance_tag),
                         ("ci", "write", "web"))
        self.assertIsNone(store.authenticate("ci", raw + "x"))
        self.assertIsNone(store.authenticate("other", raw))
        tokens.add_token(self.path, "ro", "read")
        self.assertEqual(sorted(tokens.read_tokens(self.path)), ["ci", "ro"])
        tokens.remove_token(self.path, "ci")
        self.assertIsNone(store.authenticate("ci", raw))

    def test_refusals(self):
        tokens.add_token(self.path, "ci", "read")
        for args, text in ((("ci", "read"), "already exists"),
                           (("bad name", "read"), "Invalid token name"),
                           (("x", "admin"), "Invalid scope"),
                           (("x", "read", "two words"), "Invalid instance tag")):
            e = self.assertRaises(ValueError, tokens.add_token, self.path,
                                  *args)
            self.assertIn(text, str(e))
        self.assertRaises(ValueError, tokens.remove_token, self.path, "nope")

    def test_malformed_lines_skipped(self):
        parsed = tokens.parse_tokens(
            "# c\nok {SHA256}ab write\nbad sha256 read\nx {SHA256}ab admin\n"
            "y {SHA256}ab read tag=\n")
        self.assertEqual(list(parsed), ["ok"])

    def test_bearer_header(self):
        self.assertEqual(tokens.parse_bearer(b"Bearer ci.s3cr-t_"),
                         ("ci", "s3cr-t_"))
        self.assertIsNone(tokens.parse_bearer(b"Basic YTpi"))
        self.assertIsNone(tokens.parse_bearer(None))
        self.assertEqual(tokens.parse_bearer("bearer nodot"), ("", ""))


class TokenAccessTests(unittest.TestCase):
    """Tokens against the real site and master."""

    def setUp(self):
        self.master = local_cluster(self)
        self.users = self.mktemp()
        self.tokens = self.mktemp()
        site = server.make_site(LuxiHandler(self.master), self.users,
                                self.master.clock, tokens_file=self.tokens)
        self.stub = StubTreq(site.resource)
        job = self.master.queue.get(self.master.queue.submit([
            create_op(tags=["web"]), create_op("db.example.com")]))
        self.assertEqual(job.status, "success")

    @defer.inlineCallbacks
    def call(self, method, path, token, body=None):
        headers = dict(JSON)
        if token is not None:
            headers[b"Authorization"] = [b"Bearer " + token.encode()]
        response = yield self.stub.request(
            method, BASE + path, headers=headers,
            data=json.dumps(body).encode() if body is not None else None)
        content = yield response.content()
        return response.code, json.loads(content)

    @defer.inlineCallbacks
    def test_scopes(self):
        """A read token reads and may not write; a write token writes."""
        reader = tokens.add_token(self.tokens, "ro", "read")
        writer = tokens.add_token(self.tokens, "rw", "write")
        code, _ = yield self.call("GET", "/2/instances", reader)
        self.assertEqual(code, 200)
        code, _ = yield self.call("PUT", "/2/instances/%s/shutdown" % INSTANCE,
                                  reader)
        self.assertEqual(code, 403)
        code, job = yield self.call("PUT", "/2/instances/%s/startup"
                                    % INSTANCE, writer)
        self.assertEqual(code, 200)
        self.assertEqual(self.master.queue.get(int(job)).status, "success")

    @defer.inlineCallbacks
    def test_wrong_or_reused_after_removal(self):
        """A wrong secret or a removed token gets 401 and changes nothing."""
        writer = tokens.add_token(self.tokens, "rw", "write")
        jobs = len(self.master.queue.job_ids())
        code, _ = yield self.call("PUT", "/2/instances/%s/startup" % INSTANCE,
                                  writer + "x")
        self.assertEqual(code, 401)
        tokens.remove_token(self.tokens, "rw")
        code, _ = yield self.call("PUT", "/2/instances/%s/startup" % INSTANCE,
                                  writer)
        self.assertEqual(code, 401)
        code, _ = yield self.call("PUT", "/2/instances/%s/startup" % INSTANCE,
                                  "rw.")
        self.assertEqual(code, 401)
        self.assertEqual(len(self.master.queue.job_ids()), jobs)

    @defer.inlineCallbacks
    def test_instance_tag(self):
        """
        A token limited to tag ``web`` changes the tagged instance, not
        the other one, not the cluster, and creates only tagged instances.
        """
        token = tokens.add_token(self.tokens, "web", "write", "web")
        jobs = len(self.master.queue.job_ids())
        code, _ = yield self.call("PUT", "/2/instances/%s/startup" % INSTANCE,
                                  token)
        self.assertEqual(code, 200)
        for method, path, body in (
                ("PUT", "/2/instances/db.example.com/startup", None),
                ("PUT", "/2/tags?tag=x", None),
                ("POST", "/2/instances", create_body("new.example.com"))):
            code, answer = yield self.call(method, path, token, body)
            self.assertEqual(code, 403, path)
            self.assertIn("instances tagged 'web'", answer["explain"])
        code, _ = yield self.call(
            "PUT", "/2/instances/missing.example.com/startup", token)
        self.assertEqual(code, 400)
        self.assertEqual(len(self.master.queue.job_ids()), jobs + 1)
        code, job = yield self.call("POST", "/2/instances", token,
                                    create_body("new.example.com",
                                                tags=["web"]))
        self.assertEqual(code, 200, job)
        self.assertEqual(self.master.queue.get(int(job)).status, "success")
        code, _ = yield self.call("GET", "/2/instances/db.example.com", token)
        self.assertEqual(code, 200)
