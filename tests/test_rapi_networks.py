"""
Tests for the network RAPI resources (``/2/networks...``): the real site
in front of a real in-process master.  L{NetworkResourceTests} checks
the answers and the opcodes the resources build (read from the jobs the
master stored); L{NetworkClientTests} drives the project's RAPI client
through a network's whole life, every change a job run by the logical
units.
"""

import attrs
from twisted.internet import defer

from ganeti.network import AddressPool
from ganeti.objects import Network
from ganeti.rapi.client import RapiError
from ganeti.rapi.networks import NET_FIELDS
from tests.test_rapi import ADMIN, RapiTestBase
from tests.test_rapi_client import ClientTestBase
from tests.util import two_node_cluster

READER = ("reader", "readpw")


class NetworkResourceTests(RapiTestBase):
    """Answers, opcodes and refusals of the network resources."""

    def setUp(self):
        super().setUp()
        nets = [AddressPool.new(Network(name=name, uuid=name + "-uuid",
                                        network=cidr, **kwargs)).network
                for name, cidr, kwargs in [
                    ("net b", "10.0.0.0/30", {"tags": ["t1"]}),
                    ("net1", "192.0.2.0/29", {"gateway": "192.0.2.1"})]]
        self.master.config.update(lambda cfg: attrs.evolve(
            cfg, networks={n.uuid: n for n in nets}))

    @defer.inlineCallbacks
    def test_list(self):
        """Networks list by name, sorted, URL-quoted; bulk has NET_FIELDS."""
        _, body, _ = yield self.call("GET", "/2/networks")
        self.assertEqual(body, [
            {"name": "net b", "uri": "/2/networks/net%20b"},
            {"name": "net1", "uri": "/2/networks/net1"}])
        _, body, _ = yield self.call("GET", "/2/networks?bulk=1")
        self.assertEqual([sorted(row) for row in body],
                         [sorted(NET_FIELDS)] * 2)
        self.assertEqual(
            [(n["name"], n["gateway"], n["free_count"], n["map"])
             for n in body],
            [("net b", None, 2, "X..X"), ("net1", "192.0.2.1", 5,
                                          "XX.....X")])

    @defer.inlineCallbacks
    def test_single_and_tags(self):
        """One network, its tags; an unknown one is 404 on both."""
        _, body, _ = yield self.call("GET", "/2/networks/net%20b")
        self.assertEqual((body["uuid"], body["group_list"], body["tags"],
                          body["external_reservations"]),
                         ("net b-uuid", [], ["t1"], "10.0.0.0, 10.0.0.3"))
        _, body, _ = yield self.call("GET", "/2/networks/net%20b/tags")
        self.assertEqual(body, ["t1"])
        body, _ = yield self.assertError(404, "GET", "/2/networks/nope")
        self.assertIn("nope", body["explain"])
        yield self.assertError(404, "GET", "/2/networks/nope/tags")
        yield self.assertError(404, "GET", "/2/networks/net1/bogus")

    @defer.inlineCallbacks
    def test_opcodes(self):
        """Each resource builds Ganeti's opcode from path, body and query."""
        calls = [
            ("POST", "/2/networks?dry-run=1",
             {"name": "net3", "network": "10.1.0.0/24", "tags": None,
              "gateway": None, "add_reserved_ips": ["10.1.0.9"]}),
            ("DELETE", "/2/networks/net1", None),
            ("PUT", "/2/networks/net1/modify", {"gateway": "none"}),
            ("PUT", "/2/networks/net1/connect",
             {"group_name": "default", "network_mode": "routed",
              "network_link": "rt0", "network_vlan": "7",
              "conflicts_check": False}),
            ("PUT", "/2/networks/net1/disconnect?dry-run=1",
             {"group_name": "default"}),
            ("PUT", "/2/networks/net1/rename", {"new_name": "net9"}),
            ("PUT", "/2/networks/net1/tags?tag=a&tag=b", None),
            ("DELETE", "/2/networks/net%20b/tags?tag=t1", None),
        ]
        for method, path, body in calls:
            status, job_id, _ = yield self.call(method, path, body=body,
                                                auth=ADMIN)
            self.assertEqual(status, 200, (path, job_id))
            self.assertIsInstance(job_id, int)
        ops = [job[0] for job in self.submitted()]
        picked = [(op["OP_ID"], {k: op[k] for k in keys})
                  for op, keys in zip(ops, [
                      ("network_name", "network", "tags", "gateway",
                       "add_reserved_ips", "conflicts_check", "dry_run"),
                      ("network_name", "force"),
                      ("network_name", "gateway"),
                      ("network_name", "group_name", "network_mode",
                       "network_link", "network_vlan", "conflicts_check"),
                      ("network_name", "group_name", "dry_run"),
                      ("network_name", "new_name"),
                      ("kind", "name", "tags"),
                      ("kind", "name", "tags")])]
        self.assertEqual(picked, [
            ("OP_NETWORK_ADD", {
                "network_name": "net3", "network": "10.1.0.0/24",
                "tags": [], "gateway": None,
                "add_reserved_ips": ["10.1.0.9"], "conflicts_check": True,
                "dry_run": True}),
            ("OP_NETWORK_REMOVE", {"network_name": "net1", "force": False}),
            ("OP_NETWORK_SET_PARAMS", {"network_name": "net1",
                                       "gateway": "none"}),
            ("OP_NETWORK_CONNECT", {
                "network_name": "net1", "group_name": "default",
                "network_mode": "routed", "network_link": "rt0",
                "network_vlan": "7", "conflicts_check": False}),
            ("OP_NETWORK_DISCONNECT", {"network_name": "net1",
                                       "group_name": "default",
                                       "dry_run": True}),
            ("OP_NETWORK_RENAME", {"network_name": "net1",
                                   "new_name": "net9"}),
            ("OP_TAGS_SET", {"kind": "network", "name": "net1",
                             "tags": ["a", "b"]}),
            ("OP_TAGS_DEL", {"kind": "network", "name": "net b",
                             "tags": ["t1"]})])
        self.assertEqual(ops[0]["reason"][-1][0],
                         "gnt:library:rlib2:R_2_networks")

    @defer.inlineCallbacks
    def test_bad_input(self):
        """Malformed requests are 400 naming the problem; no job is made."""
        for method, path, body, text in [
                ("POST", "/2/networks", {"network": "10.1.0.0/24"},
                 "network_name"),
                ("POST", "/2/networks",
                 {"name": "a", "network_name": "b", "network": "10.0.0.0/24"},
                 "'name' was renamed to 'network_name'"),
                ("POST", "/2/networks", {"network_name": "a",
                                         "network": 10}, "network"),
                ("POST", "/2/networks", ["net3"], "not a dictionary"),
                ("PUT", "/2/networks/net1/connect",
                 {"group_name": "default", "network_mode": "sideways",
                  "network_link": "br0"}, "network_mode"),
                ("PUT", "/2/networks/net1/connect",
                 {"group_name": "default", "network_mode": "bridged",
                  "network_link": "br0", "network_name": "net b"},
                 "Static parameter 'network_name'"),
                ("PUT", "/2/networks/net1/modify", {"network": "10.9.0.0/24"},
                 "unknown parameter(s): network"),
                ("PUT", "/2/networks/net1/rename", {}, "new_name"),
                ("PUT", "/2/networks/net1/tags", None, "'tag' parameter")]:
            body, _ = yield self.assertError(400, method, path, body=body,
                                             auth=ADMIN)
            self.assertIn(text, body["explain"], (path, body))
        self.assertEqual(self.submitted(), [])

    @defer.inlineCallbacks
    def test_access(self):
        """Reads are anonymous; every change needs a user with write."""
        for method, path in [("POST", "/2/networks"),
                             ("DELETE", "/2/networks/net1"),
                             ("PUT", "/2/networks/net1/modify"),
                             ("PUT", "/2/networks/net1/connect"),
                             ("PUT", "/2/networks/net1/disconnect"),
                             ("PUT", "/2/networks/net1/rename"),
                             ("PUT", "/2/networks/net1/tags?tag=x"),
                             ("DELETE", "/2/networks/net1/tags?tag=x")]:
            yield self.assertError(401, method, path, body={})
            yield self.assertError(403, method, path, body={}, auth=READER)
        _, response = yield self.assertError(405, "PUT", "/2/networks/net1",
                                             auth=ADMIN)
        self.assertEqual(response.headers.getRawHeaders(b"allow"),
                         [b"DELETE, GET"])
        self.assertEqual(self.submitted(), [])


class NetworkClientTests(ClientTestBase):
    """A network's life through the project's client and the real LUs."""

    make_master = staticmethod(two_node_cluster)

    @property
    def cfg(self):
        return self.master.config.config

    @defer.inlineCallbacks
    def ok(self, submission):
        ok, job = yield self.run_job(submission)
        self.assertTrue(ok, job["opresult"])
        return job

    @defer.inlineCallbacks
    def test_life(self):
        """add, connect, modify, tags, disconnect, rename, delete."""
        c = self.client
        yield self.ok(c.CreateNetwork("net1", "198.51.100.0/28",
                                      gateway="198.51.100.1",
                                      add_reserved_ips="198.51.100.2,"
                                                       "198.51.100.3",
                                      tags="a,b"))
        net = yield c.GetNetwork("net1")
        self.assertEqual((net["gateway"], net["reserved_count"], net["tags"]),
                         ("198.51.100.1", 5, ["a", "b"]))
        yield self.ok(c.ConnectNetwork("net1", "default", "bridged", "br0",
                                       vlan="10"))
        net = yield c.GetNetwork("net1")
        self.assertEqual(net["group_list"],
                         [["default", "bridged", "br0", "10"]])
        yield self.ok(c.ModifyNetwork("net1", mac_prefix="aa:00:00",
                                      remove_reserved_ips=["198.51.100.3"]))
        yield self.ok(c.AddNetworkTags("net1", ["c"]))
        yield self.ok(c.DeleteNetworkTags("net1", ["a"]))
        tags = yield c.GetNetworkTags("net1")
        self.assertEqual(tags, ["b", "c"])
        net = yield c.GetNetwork("net1")
        self.assertEqual((net["mac_prefix"], net["reserved_count"]),
                         ("aa:00:00", 4))
        yield self.ok(c.DisconnectNetwork("net1", "default"))
        yield self.ok(c.RenameNetwork("net1", "net2"))
        names = yield c.GetNetworks()
        self.assertEqual([n["name"] for n in names], ["net2"])
        yield self.ok(c.DeleteNetwork("net2"))
        names = yield c.GetNetworks(bulk=True)
        self.assertEqual(names, [])

    @defer.inlineCallbacks
    def test_dry_run(self):
        """dry-run checks and changes nothing."""
        serial = self.cfg.serial_no
        yield self.ok(self.client.CreateNetwork("net1", "192.0.2.0/28",
                                                dry_run=True))
        self.assertEqual((self.cfg.networks, self.cfg.serial_no),
                         ({}, serial))

    @defer.inlineCallbacks
    def test_refused_jobs_change_nothing(self):
        """The units' refusals fail the job; the config stays as it was."""
        yield self.ok(self.client.CreateNetwork("net1", "192.0.2.0/28"))
        serial = self.cfg.serial_no
        for submission in [
                self.client.CreateNetwork("net1", "198.51.100.0/28"),
                self.client.CreateNetwork("big", "10.0.0.0/8"),
                self.client.ConnectNetwork("net1", "nogroup", "bridged",
                                           "br0"),
                self.client.RenameNetwork("nope", "x"),
                self.client.DeleteNetwork("nope")]:
            ok, job = yield self.run_job(submission)
            self.assertFalse(ok, job)
        self.assertEqual(self.cfg.serial_no, serial)

    @defer.inlineCallbacks
    def test_needs_write_user(self):
        failure = yield self.assertFailure(
            self.reader.CreateNetwork("net1", "192.0.2.0/28"), RapiError)
        self.assertEqual(failure.code, 403)
        self.assertEqual(self.cfg.networks, {})
