"""
Networks on a real two-node cluster of the namespace bed: a network
added and connected with gnt-network, instances on both nodes given
addresses from its pool, the pool (also in the master candidate's
replicated config) showing them reserved and a removal releasing one.
"""

import json
import os

from twisted.trial.unittest import SynchronousTestCase

from tests.cluster.bed import Bed
from tests.cluster.test_multinode import BIN, _skip_reason


class NetworkPoolTests(SynchronousTestCase):
    skip = _skip_reason()

    def setUp(self):
        self.bed = Bed(2)
        self.bed.start()
        self.addCleanup(self.bed.teardown)
        self.node1, self.node2 = self.bed.hosts

    def tool(self, *argv, ok=True):
        result = self.node1.run([os.path.join(BIN, argv[0])] + list(argv[1:]),
                                timeout=120)
        if ok and result.returncode != 0:
            raise AssertionError("%s exited %d:\n%s%s" % (
                argv, result.returncode, result.stdout, result.stderr))
        return result

    def field(self, *fields):
        out = self.tool("gnt-network", "list", "--no-headers",
                        "--separator=|", "-o", ",".join(fields), "net1")
        return out.stdout.strip().split("|")

    def replicated_pool(self):
        """:return: net1's reservation map in node2's copy of the config."""
        path = os.path.join(self.node2.root_paths["/var/lib/ganeti"],
                            "config.data")
        with open(path) as f:
            networks = json.load(f)["networks"]
        net, = [n for n in networks.values() if n["name"] == "net1"]
        return net["reservations"]

    def test_pool_addresses_on_two_nodes(self):
        self.tool("gnt-cluster", "init", "--master-netdev=eth0",
                  "--enabled-hypervisors=fake",
                  "--enabled-disk-templates=diskless", "--no-etc-hosts",
                  self.bed.cluster_name)
        self.tool("gnt-node", "add", self.node2.name)
        self.tool("gnt-network", "add", "--network=10.10.0.0/28",
                  "--gateway=10.10.0.1", "--add-reserved-ips=10.10.0.2",
                  "net1")
        self.tool("gnt-network", "connect", "-N", "mode=routed,link=100",
                  "net1")
        self.assertEqual(self.field("name", "free_count", "reserved_count",
                                    "group_list"),
                         ["net1", "12", "4", "default (routed, 100, -)"])
        for name, node in (("inst1", self.node1), ("inst2", self.node2)):
            self.tool("gnt-instance", "add", "-t", "diskless", "--no-install",
                      "--no-name-check", "--no-ip-check", "-n", node.name,
                      "--net", "0:network=net1,ip=pool", name)
        listed = self.tool("gnt-instance", "list", "--no-headers",
                           "--separator=|", "-o",
                           "name,pnode,nic.ip/0,nic.mode/0,nic.link/0,"
                           "nic.network.name/0,status").stdout.split()
        self.assertEqual(listed, [
            "inst1|%s|10.10.0.3|routed|100|net1|ADMIN_down" % self.node1.name,
            "inst2|%s|10.10.0.4|routed|100|net1|ADMIN_down" % self.node2.name])
        self.assertEqual(self.field("free_count", "map", "inst_list"),
                         ["10", "XXXXX..........X", "inst1,inst2"])
        self.assertEqual(self.replicated_pool(), "0001100000000000")
        self.tool("gnt-instance", "remove", "-f", "inst1")
        self.assertEqual(self.field("free_count", "map", "inst_list"),
                         ["11", "XXX.X..........X", "inst2"])
        self.assertEqual(self.replicated_pool(), "0000100000000000")
        # The address is the next one handed out, and verify agrees.
        self.tool("gnt-instance", "add", "-t", "diskless", "--no-install",
                  "--no-name-check", "--no-ip-check", "--no-start",
                  "-n", self.node1.name, "--net", "0:network=net1,ip=pool",
                  "inst3")
        self.assertEqual(self.tool("gnt-instance", "list", "--no-headers",
                                   "-o", "nic.ip/0", "inst3").stdout.strip(),
                         "10.10.0.3")
        self.tool("gnt-cluster", "verify")
        refused = self.tool("gnt-network", "disconnect", "net1", ok=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("Conflicting IP addresses", refused.stderr)
