"""
Tests for replication: config and jobs to master candidates, ssconf to
every node, catching up nodes that were down.
"""

import os

import attrs
from twisted.trial.unittest import SynchronousTestCase

from ganeti import ssconf
from ganeti.master.replication import Replicator, read_ancillary_files
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
        self.write_master_file(self.master.paths.rapi_pem, "CERTIFICATE")
        self.write_master_file(self.master.paths.rapi_users, "admin pw write\n")
        self.replicator = Replicator(
            self.rpc, lambda: self.master.config.config,
            self.master.queue.unarchived_files,
            lambda: read_ancillary_files(self.master.paths))
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

    @staticmethod
    def write_master_file(path, text):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

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

    def test_ancillary_files_to_all(self):
        """
        Every node gets the RAPI certificate and users, so whichever takes
        over serves the same RAPI; an edited users file follows with the
        next push, also to a node that was down meanwhile.
        """
        for name in self.node_paths:
            self.assertEqual(self.node_file(name, lambda p: p.rapi_pem),
                             b"CERTIFICATE")
            self.assertEqual(os.stat(self.node_paths[name].rapi_pem).st_mode
                             & 0o777, 0o400)
            self.assertEqual(self.node_file(name, lambda p: p.rapi_users),
                             b"admin pw write\n")
        self.write_master_file(self.master.paths.rapi_users, "other pw read\n")
        handler = self.rpc.handlers["node3.example.com"]
        self.rpc.handlers["node3.example.com"] = None
        self.master.config.update_cluster(tags=["x"])
        self.assertEqual(self.node_file("node2.example.com",
                                        lambda p: p.rapi_users),
                         b"other pw read\n")
        self.rpc.handlers["node3.example.com"] = handler
        self.successResultOf(self.replicator.catch_up())
        self.assertEqual(self.node_file("node3.example.com",
                                        lambda p: p.rapi_users),
                         b"other pw read\n")

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
