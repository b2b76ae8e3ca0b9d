"""
Tests for adding, changing and removing nodes (jobs through the queue,
node RPC in process).
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from ganeti import ssconf
from ganeti.master.replication import Replicator
from ganeti.node.handler import NodeHandler
from tests.util import SETTINGS, local_cluster, make_paths


class NodeJobTests(SynchronousTestCase):
    """A master plus a second node whose daemon answers."""

    def setUp(self):
        self.master = local_cluster(self)
        self.queue = self.master.queue
        self.rpc = self.master.context.rpc
        self.node2 = make_paths(self)
        self.rpc.handlers["node2.example.com"] = NodeHandler(self.node2,
                                                             self.master.clock)
        replicator = Replicator(self.rpc, lambda: self.master.config.config,
                                self.queue.unarchived_files)
        self.master.context.replicator = replicator
        self.master.config.add_listener(replicator.config_changed)

    def run_job(self, op):
        return self.queue.get(self.queue.submit([op]))

    def add(self, name="node2.example.com", ip="192.0.2.11", **params):
        return self.run_job(dict({"OP_ID": "OP_NODE_ADD", "node_name": name,
                                  "primary_ip": ip}, **params))

    def node(self, name="node2.example.com"):
        return self.master.config.config.node_by_name(name)

    def test_add(self):
        """An answering node is added as a candidate and gets the files."""
        job = self.add()
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertTrue(self.node().master_candidate)
        self.assertEqual(ssconf.read(self.node2, "master_node"),
                         SETTINGS["node_name"])
        self.assertTrue(os.path.exists(self.node2.config_data))

    def test_add_unreachable(self):
        """A node whose daemon does not answer is refused; nothing changes."""
        serial = self.master.config.config.serial_no
        job = self.add(name="node9.example.com")
        self.assertEqual(job.status, "error")
        self.assertIn("does not answer", job.ops[0].result[1][0])
        self.assertEqual(self.master.config.config.serial_no, serial)

    def test_add_twice_and_readd(self):
        """A known node needs --readd; readd clears offline."""
        self.add()
        self.assertEqual(self.add().status, "error")
        self.run_job({"OP_ID": "OP_NODE_SET_PARAMS",
                      "node_name": "node2.example.com", "offline": True,
                      "auto_promote": True})
        self.assertTrue(self.node().offline)
        self.assertFalse(self.node().master_candidate)
        job = self.add(readd=True)
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertFalse(self.node().offline)

    def test_modify_one_role_only(self):
        """Only one of candidate/offline/drained may be set at once."""
        self.add()
        job = self.run_job({"OP_ID": "OP_NODE_SET_PARAMS",
                            "node_name": "node2.example.com", "offline": True,
                            "drained": True})
        self.assertEqual(job.status, "error")
        self.assertIn("more than one state", job.ops[0].result[1][0])

    def test_remove(self):
        """A removed node leaves the config and forgets the cluster."""
        self.add()
        job = self.run_job({"OP_ID": "OP_NODE_REMOVE",
                            "node_name": "node2.example.com"})
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertIsNone(self.node())
        self.assertIsNone(ssconf.read(self.node2, "master_node"))

    def test_remove_master_refused(self):
        """The master cannot be removed."""
        job = self.run_job({"OP_ID": "OP_NODE_REMOVE",
                            "node_name": SETTINGS["node_name"]})
        self.assertEqual(job.status, "error")
        self.assertIn("master node", job.ops[0].result[1][0])

    def test_group_query(self):
        """The default group lists its nodes and their instances."""
        from ganeti.master.query_node import query_groups
        self.add()
        result = query_groups(self.master.context,
                              ["name", "node_cnt", "node_list", "pinst_cnt"], None)
        self.assertEqual([[cell[1] for cell in row] for row in result["data"]],
                         [["default", 2, [SETTINGS["node_name"],
                                          "node2.example.com"], 0]])
