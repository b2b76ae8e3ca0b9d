"""
Tests for L{ganeti.rapi.consoles}: ``POST /2/instances/NAME/console-token``
on the real RAPI site in front of the real master (L{tests.test_rapi}'s
fake-hypervisor cluster on a L{Clock}).  The fake hypervisor stands in
for kvm where a test needs a running instance whose console is relayed.
"""

from twisted.internet import defer

from ganeti import errors
from ganeti.console.gateway import config_locator
from ganeti.console.tokens import TOKEN_LIFETIME
from ganeti.rapi import consoles, tokens
from tests.test_rapi import ADMIN, INSTANCE, NODE, PATH, RapiTestBase
from tests.util import SETTINGS

TOKEN_PATH = PATH + "/console-token"


class ConsoleTokenTests(RapiTestBase):
    def relay_fake(self):
        """Let the fake hypervisor's instances have relayed consoles."""
        self.patch(consoles, "RELAYED_HYPERVISORS", ("kvm", "fake"))

    @defer.inlineCallbacks
    def test_write_user_gets_token(self):
        """
        A write user gets a token for a running instance; it stands for
        that instance's serial console, once, for L{TOKEN_LIFETIME}.
        """
        self.relay_fake()
        self.create_instance(start=True)
        status, body, _ = yield self.call("POST", TOKEN_PATH,
                                          body={"kind": "serial"}, auth=ADMIN)
        self.assertEqual(status, 200, body)
        self.assertEqual(
            (body["kind"], body["instance"], body["expires"], body["url"]),
            ("serial", INSTANCE, TOKEN_LIFETIME,
             "/console/ws?token=" + body["token"]))
        tokens = self.master.consoles.tokens
        ticket = tokens.redeem(body["token"])
        self.assertEqual((ticket.instance, ticket.kind, ticket.user),
                         (INSTANCE, "serial", "admin"))
        self.assertIsNone(tokens.redeem(body["token"]))

    @defer.inlineCallbacks
    def test_default_kind(self):
        """Without a body the token is for the serial console."""
        self.relay_fake()
        self.create_instance(start=True)
        status, body, _ = yield self.call("POST", TOKEN_PATH, auth=ADMIN)
        self.assertEqual((status, body["kind"]), (200, "serial"))

    @defer.inlineCallbacks
    def test_read_only_refused(self):
        """A read-only user gets 403, an anonymous one 401: no token."""
        self.relay_fake()
        self.create_instance(start=True)
        yield self.assertError(403, "POST", TOKEN_PATH,
                               auth=("reader", "readpw"))
        yield self.assertError(401, "POST", TOKEN_PATH)
        self.assertEqual(len(self.master.consoles.tokens), 0)

    @defer.inlineCallbacks
    def test_unknown_instance(self):
        """An unknown instance is 404."""
        yield self.assertError(404, "POST",
                               "/2/instances/missing/console-token",
                               auth=ADMIN)

    @defer.inlineCallbacks
    def test_stopped_instance(self):
        """A stopped instance's console is unavailable (503)."""
        self.relay_fake()
        self.create_instance(start=False)
        body, _ = yield self.assertError(503, "POST", TOKEN_PATH, auth=ADMIN)
        self.assertEqual(body["explain"], "Instance console unavailable")
        self.assertEqual(len(self.master.consoles.tokens), 0)

    @defer.inlineCallbacks
    def test_not_relayed_hypervisor(self):
        """A running instance of a hypervisor without relay gets 503."""
        self.create_instance(start=True)
        yield self.assertError(503, "POST", TOKEN_PATH, auth=ADMIN)

    @defer.inlineCallbacks
    def test_bad_kind(self):
        """Only ``serial`` and ``vnc`` are known kinds (400)."""
        self.relay_fake()
        self.create_instance(start=True)
        yield self.assertError(400, "POST", TOKEN_PATH,
                               body={"kind": "spice"}, auth=ADMIN)
        yield self.assertError(400, "POST", TOKEN_PATH, body=["serial"],
                               auth=ADMIN)

    @defer.inlineCallbacks
    def test_vnc_not_configured(self):
        """VNC needs a display configured for the instance (400)."""
        self.relay_fake()
        self.create_instance(start=True)
        body, _ = yield self.assertError(400, "POST", TOKEN_PATH,
                                         body={"kind": "vnc"}, auth=ADMIN)
        self.assertIn("no VNC display", body["explain"])


class TaggedTokenTests(RapiTestBase):
    @defer.inlineCallbacks
    def test_instance_tag(self):
        """
        An API token limited to tag ``web`` gets console tokens for the
        instances tagged ``web`` only.
        """
        self.patch(consoles, "RELAYED_HYPERVISORS", ("kvm", "fake"))
        api_tokens = self.mktemp()
        self.use_handler(self.handler, tokens_file=api_tokens)
        bearer = tokens.add_token(api_tokens, "web", "write", "web")
        headers = {b"Authorization": [b"Bearer " + bearer.encode()]}
        self.create_instance(start=True, tags=["web"])
        self.create_instance("db.example.com", start=True)
        status, body, _ = yield self.call("POST", TOKEN_PATH,
                                          headers=headers)
        self.assertEqual((status, body.get("instance")), (200, INSTANCE))
        body, _ = yield self.assertError(
            403, "POST", "/2/instances/db.example.com/console-token",
            headers=headers)
        self.assertIn("instances tagged 'web'", body["explain"])


class GatewayLocatorTests(RapiTestBase):
    def test_locate(self):
        """
        The master's gateway finds an instance's primary node (name and
        address, for the node RPC) and the instance as that node needs it.
        """
        self.create_instance()
        locate = config_locator(lambda: self.master.config.config)
        (node, address), instance = locate(INSTANCE)
        self.assertEqual((node, address), (NODE, SETTINGS["node_ip"]))
        self.assertEqual((instance["name"], instance["hypervisor"]),
                         (INSTANCE, "fake"))
        self.assertRaises(errors.OpPrereqError, locate, "missing.example.com")
