"""
Tests for L{ganeti.cli.network}: the opcodes ``gnt-network`` command lines
submit, what the tool prints and its exit codes.  Queries are answered
from a real config through the master's field tables, so ``list`` and
``info`` print what they would print against a master.
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti.cli import network
from ganeti.cli.testing import FakeTool
from ganeti.query.instance import INSTANCE_FIELDS, Context
from ganeti.query.network import query_networks
from ganeti.query.node import GROUP_FIELDS, NodeContext
from tests.test_query_network import network_config


class NetworkToolTestCase(SynchronousTestCase):
    """Runs ``gnt-network`` on a fake master holding L{network_config}."""

    def setUp(self):
        self.tool = FakeTool(self, network)
        self.client = self.tool.client
        self.cfg = network_config(self)
        self.client.answers["Query"] = self._query

    def _query(self, what, fields, qfilter):
        cfg = self.cfg
        if what == "network":
            return query_networks(cfg, fields, qfilter)
        if what == "group":
            return GROUP_FIELDS.query(NodeContext(cfg),
                                      list(cfg.nodegroups.values()), fields,
                                      qfilter)
        return INSTANCE_FIELDS.query(Context(cfg, None, None),
                                     list(cfg.instances.values()), fields,
                                     qfilter)

    def assert_refused(self, args, code, err_text):
        """The command exits C{code} saying C{err_text}; no job is sent."""
        got, _, err = self.tool.run(*args)
        self.assertEqual(got, code, err)
        self.assertIn(err_text, err)
        self.assertEqual(self.client.jobs, [])


class AddModifyTests(NetworkToolTestCase):
    """``add``, ``modify``, ``remove`` and ``rename``."""

    def test_add(self):
        """Every option reaches OP_NETWORK_ADD."""
        op = self.tool.opcode(
            "add", "--network=10.1.0.0/24", "--gateway", "10.1.0.1",
            "--network6", "2001:db8::/64", "--gateway6", "2001:db8::1",
            "--mac-prefix", "aa:00:01", "--add-reserved-ips",
            "10.1.0.2,10.1.0.3", "--no-conflicts-check", "--tags", "x,y",
            "net3")
        self.assertEqual(op, {
            "OP_ID": "OP_NETWORK_ADD", "network_name": "net3",
            "network": "10.1.0.0/24", "gateway": "10.1.0.1",
            "network6": "2001:db8::/64", "gateway6": "2001:db8::1",
            "mac_prefix": "aa:00:01",
            "add_reserved_ips": ["10.1.0.2", "10.1.0.3"],
            "conflicts_check": False, "tags": ["x", "y"]})

    def test_add_defaults(self):
        """Unset options are None, conflicts are checked, no tags."""
        op = self.tool.opcode("add", "--network", "10.1.0.0/24", "net3")
        self.assertEqual(
            (op["gateway"], op["add_reserved_ips"], op["conflicts_check"],
             op["tags"]), (None, None, True, []))

    def test_add_needs_network(self):
        """Without --network: Ganeti's message, exit 1, no job."""
        self.assert_refused(["add", "net3"], 1,
                            "The --network option must be given")

    def test_modify(self):
        """Only the given parameters are sent; ``none`` goes as typed."""
        op = self.tool.opcode("modify", "--gateway", "none",
                              "--remove-reserved-ips", "192.0.2.5",
                              "--mac-prefix", "aa:bb:dd", "net1")
        self.assertEqual(op, {
            "OP_ID": "OP_NETWORK_SET_PARAMS", "network_name": "net1",
            "gateway": "none", "mac_prefix": "aa:bb:dd",
            "remove_reserved_ips": ["192.0.2.5"]})

    def test_modify_nothing(self):
        """modify without a parameter says so and exits 1."""
        self.assertEqual(self.tool.run("modify", "net1"), (
            1, "", "Please give at least one of the parameters.\n"))

    def test_remove_rename(self):
        """remove (with --force) and rename (dry run) name the network."""
        self.tool.run("remove", "-f", "net1")
        self.tool.run("rename", "--dry-run", "net1", "net9")
        self.assertEqual(self.client.submitted(), [
            {"OP_ID": "OP_NETWORK_REMOVE", "network_name": "net1",
             "force": True},
            {"OP_ID": "OP_NETWORK_RENAME", "network_name": "net1",
             "new_name": "net9", "dry_run": True}])

    def test_submit(self):
        """--submit prints the job id on stderr, --print-jobid on stdout."""
        self.assertEqual(self.tool.run("remove", "--submit", "--print-jobid",
                                       "net1"), (0, "1\n", "JobID: 1\n"))

    def test_wrong_arguments(self):
        """Argument counts are checked before anything is sent."""
        self.assert_refused(["rename", "net1"], 1,
                            "Command rename expects 2 argument(s)")
        self.assert_refused(["add", "--network", "10.0.0.0/24"], 1,
                            "Command add expects 1 argument(s)")


class ConnectTests(NetworkToolTestCase):
    """``connect`` and ``disconnect``: one job per group."""

    def _connections(self):
        return [(op["group_name"], op["network_mode"], op["network_link"],
                 op["network_vlan"], op["conflicts_check"])
                for op in self.client.submitted()]

    def test_connect_groups(self):
        """-N fills mode, link and vlan; one job per named group."""
        code, _, err = self.tool.run("connect", "-N",
                                     "mode=routed,link=rt0,vlan=7",
                                     "--no-conflicts-check", "net10",
                                     "rack2", "default")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(len(self.client.jobs), 2)
        self.assertEqual(self._connections(), [
            ("rack2", "routed", "rt0", "7", False),
            ("default", "routed", "rt0", "7", False)])
        self.assertEqual(self.client.submitted()[0]["network_name"], "net10")

    def test_connect_all_groups(self):
        """Without groups every group is connected, with Ganeti's defaults."""
        self.tool.run("connect", "net10")
        self.assertEqual(self._connections(), [
            ("default", "bridged", "xen-br0", "", True),
            ("rack2", "bridged", "xen-br0", "", True)])

    def test_connect_by_uuid(self):
        """A group's uuid names it too."""
        self.tool.run("connect", "net10", "rack-uuid")
        self.assertEqual(self._connections()[0][0], "rack2")

    def test_connect_unknown(self):
        """
        An unknown group or network, an unknown -N key, and Ganeti's old
        ``<net> <mode> <link>`` form are refused before any job.
        """
        self.assert_refused(["connect", "net10", "rack2", "rack9"], 1,
                            "Node group 'rack9' not found")
        self.assert_refused(["connect", "nope", "rack2"], 1,
                            "Network name nope not found")
        self.assert_refused(["connect", "-N", "mtu=9000", "net10"], 1,
                            "Unknown NIC parameter(s) for -N: mtu")
        self.assert_refused(["connect", "-N", "mode", "net10"], 1,
                            "Invalid -N value for 'mode'")
        self.assert_refused(["connect", "net10", "bridged", "br0"], 1,
                            "use -N mode=bridged,link=<link> instead")

    def test_disconnect(self):
        """Without groups, every group the network is connected to."""
        self.tool.run("disconnect", "net1")
        self.tool.run("disconnect", "net1", "rack2")
        self.assertEqual(self.client.submitted(), [
            {"OP_ID": "OP_NETWORK_DISCONNECT", "network_name": "net1",
             "group_name": group} for group in ("default", "rack2", "rack2")])

    def test_disconnect_nothing(self):
        """A network connected nowhere needs no job, and says so."""
        self.assertEqual(self.tool.run("disconnect", "net10"), (
            0, "", "Network 'net10' is not connected to any node group\n"))
        self.assertEqual(self.client.jobs, [])
        self.assert_refused(["disconnect", "nope"], 1,
                            "Network name nope not found")


class ListInfoTests(NetworkToolTestCase):
    """``list``, ``list-fields``, ``info`` and the tags."""

    def test_list(self):
        """Default fields; group connections as Ganeti prints them."""
        code, out, _ = self.tool.run("list")
        self.assertEqual(code, 0)
        lines = [line.rstrip() for line in out.splitlines()]
        self.assertEqual(lines[0].split(), [
            "Network", "Subnet", "Gateway", "MacPrefix", "GroupList", "Tags"])
        self.assertEqual(lines[1:], [
            "net1    192.0.2.0/29    192.0.2.1 aa:bb:cc  default (bridged,"
            " br0, 100), rack2 (routed, rt1, -) a,b",
            "net10   198.51.100.0/30 -         -"])

    def test_list_fields_and_unknown(self):
        """-o picks fields; an unknown one exits 14."""
        code, out, _ = self.tool.run("list", "--no-headers", "--separator=|",
                                     "-o", "name,free_count,inst_list",
                                     "net1")
        self.assertEqual((code, out), (0, "net1|3|web2,web10\n"))
        code, _, err = self.tool.run("list", "-o", "name,bogus")
        self.assertEqual(code, 14)
        self.assertIn("Queried for unknown fields bogus", err)
        self.client.answers["QueryFields"] = {"fields": [
            {"name": "map", "title": "Map", "kind": "text",
             "doc": "Actual mapping"}]}
        code, out, _ = self.tool.run("list-fields", "map")
        self.assertEqual(out.splitlines()[1].split(None, 3),
                         ["map", "Text", "Map", "Actual mapping"])

    def test_info(self):
        """Ganeti's layout: pool, map, reservations, groups, NICs."""
        code, out, _ = self.tool.run("info", "net1")
        self.assertEqual(code, 0)
        self.assertEqual(out.splitlines(), [
            "Network name: net1",
            "UUID: u1",
            "Serial number: 1",
            "  Subnet: 192.0.2.0/29",
            "  Gateway: 192.0.2.1",
            "  IPv6 Subnet: None",
            "  IPv6 Gateway: None",
            "  Mac Prefix: aa:bb:cc",
            "  Size: 8",
            "  Free: 3 (37.50%)",
            "  Usage map:",
            "        0 XXX..X.X" + " " * 56 + " 63",
            "         (X) used    (.) free",
            "  externally reserved IPs:",
            "    192.0.2.0, 192.0.2.1, 192.0.2.5, 192.0.2.7",
            "  connected to node groups:",
            "    default (mode:bridged link:br0 vlan:100)",
            "    rack2 (mode:routed link:rt1 vlan:-)",
            "  used by 2 instances:",
            "    web2: 0:192.0.2.2, 1:192.0.2.3",
            "    web10: 0:None"])

    def test_info_all_and_unknown(self):
        """Without names every network; an unknown name exits 1."""
        code, out, _ = self.tool.run("info")
        self.assertEqual(out.count("Network name: "), 2)
        self.assertIn("  not connected to any node group\n"
                      "  not used by any instances\n", out)
        code, _, err = self.tool.run("info", "nope")
        self.assertEqual(code, 1)
        self.assertIn("Network name nope not found", err)

    def test_tags(self):
        """Network tags are of the network kind."""
        self.assertEqual(self.tool.opcode("add-tags", "net1", "dmz"), {
            "OP_ID": "OP_TAGS_SET", "kind": "network", "name": "net1",
            "tags": ["dmz"]})
        self.client.op_results["OP_TAGS_GET"] = ["a", "b"]
        self.assertEqual(self.tool.run("list-tags", "net1"), (0, "a\nb\n", ""))
