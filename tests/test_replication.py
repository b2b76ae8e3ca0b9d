"""
Tests for replication: config and jobs to master candidates, ssconf to
every node, catching up nodes that were down.
"""

import os

import attrs
from twisted.trial.unittest import SynchronousTestCase

from ganeti import ssconf
from ganeti.master.replication import Replicator
from ganeti.node.handler import NodeHandler
from ganeti.objects import Node
from ganeti.testing.rpc import LocalRpc
from tests.util import Master, make_paths


class ReplicationTests(SynchronousTestCase):
    """A master and two other nodes, talking through LocalRpc."""

    def setUp(self):
        self.master = Master(self)
        self.node_paths = {}
        handlers = {}
        for name in ("node2.example.com", "node3.example.com"):
            paths = make_paths(self)
            self.node_paths[name] = paths
            handlers[name] = NodeHandler(paths, self.master.clock)
        self.rpc = LocalRpc(handlers)
        self.replicator = Replicator(self.rpc, lambda: self.master.config.config,
                                     self.master.queue.unarchived_files)
        self.master.queue.replicator = self.replicator
        self.master.config.add_listener(self.replicator.config_changed)
        group = next(iter(self.master.config.config.nodegroups))

        def add_nodes(cfg):
            nodes = dict(cfg.nodes)
            for index, (name, candidate) in enumerate(
                    (("node2.example.com", True), ("node3.example.com", False))):
                uuid = "uuid-%s" % name
                nodes[uuid] = Node(name=name, uuid=uuid,
                                   primary_ip="192.0.2.%d" % (20 + index),
                                   secondary_ip="192.0.2.%d" % (20 + index),
                                   group=group, master_candidate=candidate)
            return attrs.evolve(cfg, nodes=nodes)
        self.master.config.update(add_nodes)

    def node_file(self, name, path_of):
        path = path_of(self.node_paths[name])
        with open(path, "rb") as f:
            return f.read()

    def test_config_to_candidates_ssconf_to_all(self):
        """Candidates get config.data; every node gets ssconf."""
        with open(self.master.paths.config_data, "rb") as f:
            master_config = f.read()
        self.assertEqual(self.node_file("node2.example.com",
                                        lambda p: p.config_data), master_config)
        self.assertFalse(os.path.exists(
            self.node_paths["node3.example.com"].config_data))
        for name in self.node_paths:
            self.assertEqual(ssconf.read(self.node_paths[name], "node_list"),
                             "node1.example.com\nnode2.example.com\n"
                             "node3.example.com")

    def test_jobs_to_candidates(self):
        """Every job write reaches the candidates' queue directory."""
        job_id = self.master.queue.submit([{"OP_ID": "OP_TEST_JQUEUE"}])
        data = self.node_file("node2.example.com",
                              lambda p: p.job_file(job_id))
        self.assertIn(b'"status":"success"', data)
        self.assertFalse(os.path.exists(
            self.node_paths["node3.example.com"].job_file(job_id)))
        self.master.queue.archive(job_id)
        self.assertTrue(os.path.exists(
            self.node_paths["node2.example.com"].archived_job_file(job_id)))

    def test_down_node_catches_up(self):
        """A node that was down gets the newest state when it returns."""
        handler = self.rpc.handlers["node2.example.com"]
        self.rpc.handlers["node2.example.com"] = None
        self.master.config.update_cluster(tags=["moved"])
        self.assertNotEqual(ssconf.read(self.node_paths["node2.example.com"],
                                        "cluster_tags"), "moved")
        self.rpc.handlers["node2.example.com"] = handler
        self.successResultOf(self.replicator.catch_up())
        self.assertEqual(ssconf.read(self.node_paths["node2.example.com"],
                                     "cluster_tags"), "moved")

    def test_new_candidate_gets_queue(self):
        """A node promoted to candidate receives the jobs it lacks."""
        job_id = self.master.queue.submit([{"OP_ID": "OP_TEST_JQUEUE"}])

        def promote(cfg):
            nodes = dict(cfg.nodes)
            uuid = "uuid-node3.example.com"
            nodes[uuid] = attrs.evolve(nodes[uuid], master_candidate=True)
            return attrs.evolve(cfg, nodes=nodes)
        self.master.config.update(promote)
        self.assertTrue(os.path.exists(
            self.node_paths["node3.example.com"].job_file(job_id)))
