"""
Tests for adding, changing and removing nodes (jobs through the queue,
node RPC in process).
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from ganeti import ssconf
from ganeti.master.replication import Replicator
from ganeti.node.handler import NodeHandler
from ganeti.testing.process import ProcessClock
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

    def test_modify_ndparams_typed(self):
        """
        Node parameters are checked and typed (the tools send text), so
        ``exclusive_storage=False`` is false; None drops a node's own
        value; unknown names are refused.
        """
        from ganeti.params import exclusive_storage
        self.add(ndparams={"spindle_count": "4"})
        self.assertEqual(self.node().ndparams, {"spindle_count": 4})
        for text, flag in (("True", True), ("False", False)):
            job = self.run_job({"OP_ID": "OP_NODE_SET_PARAMS",
                                "node_name": "node2.example.com",
                                "ndparams": {"exclusive_storage": text}})
            self.assertEqual(job.status, "success", job.ops[0].result)
            self.assertIs(exclusive_storage(self.master.config.config,
                                            self.node()), flag)
        self.run_job({"OP_ID": "OP_NODE_SET_PARAMS",
                      "node_name": "node2.example.com",
                      "ndparams": {"exclusive_storage": None}})
        self.assertEqual(self.node().ndparams, {"spindle_count": 4})
        job = self.run_job({"OP_ID": "OP_NODE_SET_PARAMS",
                            "node_name": "node2.example.com",
                            "ndparams": {"spindles": 2}})
        self.assertEqual(job.status, "error")
        self.assertIn("Unknown node parameter 'spindles'",
                      job.ops[0].result[1][0])

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
        from ganeti.master.queries import query_groups
        self.add()
        result = query_groups(self.master.context,
                              ["name", "node_cnt", "node_list", "pinst_cnt"], None)
        self.assertEqual([[cell[1] for cell in row] for row in result["data"]],
                         [["default", 2, [SETTINGS["node_name"],
                                          "node2.example.com"], 0]])


class StorageJobTests(SynchronousTestCase):
    """
    Node storage units through the job queue: the LVM commands the node
    runs are played on a L{ProcessClock}.
    """

    def setUp(self):
        self.clock = ProcessClock()
        self.master = local_cluster(self, clock=self.clock,
                                    enabled_disk_templates=["plain", "file"])
        self.node = SETTINGS["node_name"]
        self.answered = 0

    def submit(self, op_id, **params):
        """:return: the id of a job running one opcode on the master node."""
        return self.master.queue.submit([dict({"OP_ID": op_id,
                                               "node_name": self.node},
                                              **params)])

    def job(self, job_id):
        return self.master.queue.get(job_id)

    def answer(self, stdout=b"", code=0, stderr=b""):
        """
        Let the oldest unanswered child print and exit.

        :return: its argv.
        """
        proc = self.clock.processes[self.answered]
        self.answered += 1
        proc.feed_stdout(stdout)
        proc.feed_stderr(stderr)
        proc.exit(code)
        return proc.argv

    def assertRefused(self, job_id, fragment, error="OpPrereqError"):
        """The job failed with C{error} saying C{fragment}; nothing ran."""
        job = self.job(job_id)
        self.assertEqual(job.status, "error")
        self.assertEqual(job.ops[0].result[0], error)
        self.assertIn(fragment, job.ops[0].result[1][0])
        self.assertEqual(self.clock.processes[self.answered:], [])

    def test_modify_allocatable(self):
        """
        ``allocatable`` of an LVM PV becomes ``pvchange --allocatable``;
        the opcode's result is None.
        """
        job_id = self.submit("OP_NODE_MODIFY_STORAGE", storage_type="lvm-pv",
                             name="/dev/sdb1", changes={"allocatable": False})
        self.assertEqual(self.job(job_id).status, "running")
        self.assertEqual(self.answer(), ["pvchange", "--allocatable", "n",
                                         "/dev/sdb1"])
        job = self.job(job_id)
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertEqual(job.ops[0].result, None)

    def test_modify_failure(self):
        """
        A failing ``pvchange`` fails the job, naming the unit, the node
        and LVM's reason.
        """
        job_id = self.submit("OP_NODE_MODIFY_STORAGE", storage_type="lvm-pv",
                             name="/dev/sdx", changes={"allocatable": True})
        self.assertEqual(self.answer(code=5, stderr=b"  Failed to find"
                                     b" physical volume \"/dev/sdx\".\n")[:3],
                         ["pvchange", "--allocatable", "y"])
        job = self.job(job_id)
        self.assertEqual(job.status, "error")
        message = job.ops[0].result[1][0]
        self.assertIn("Failed to modify storage unit '/dev/sdx' on node %s"
                      % self.node, message)
        self.assertIn('Failed to find physical volume "/dev/sdx"', message)

    def test_modify_refused(self):
        """
        Only an LVM PV's allocatable flag, as a boolean, can be changed;
        anything else fails before the node runs a command.
        """
        for params, fragment in (
                ({"storage_type": "lvm-vg", "name": "xenvg",
                  "changes": {"allocatable": False}},
                 "Storage units of type 'lvm-vg' can not be modified"),
                ({"storage_type": "file", "name": "/srv",
                  "changes": {"allocatable": False}},
                 "Storage units of type 'file' can not be modified"),
                ({"storage_type": "lvm-pv", "name": "/dev/sdb1",
                  "changes": {"size": 1, "allocatable": False}},
                 "The following fields can not be modified for storage units"
                 " of type 'lvm-pv': ['size']"),
                ({"storage_type": "lvm-pv", "name": "/dev/sdb1",
                  "changes": {"allocatable": "no"}},
                 "must be true or false"),
                ({"storage_type": "lvm-pv", "name": "/dev/sdb1",
                  "changes": {}}, "No changes to perform"),
                ({"storage_type": "lvm-pv", "changes": {"allocatable": True}},
                 "No storage unit name given")):
            self.assertRefused(self.submit("OP_NODE_MODIFY_STORAGE", **params),
                               fragment)

    def test_unknown_node(self):
        """A node the cluster does not know is refused."""
        job_id = self.master.queue.submit([{
            "OP_ID": "OP_REPAIR_NODE_STORAGE", "node_name": "nosuch",
            "storage_type": "lvm-vg", "name": "xenvg"}])
        self.assertRefused(job_id, "Node 'nosuch' is unknown")

    def test_type_not_enabled(self):
        """
        LVM units of a cluster without LVM disk templates are refused.
        """
        master = local_cluster(self, clock=self.clock)
        job = master.queue.get(master.queue.submit([{
            "OP_ID": "OP_NODE_MODIFY_STORAGE", "node_name": self.node,
            "storage_type": "lvm-pv", "name": "/dev/sdb1",
            "changes": {"allocatable": False}}]))
        self.assertEqual(job.status, "error")
        self.assertIn("No disk template of storage type 'lvm-pv' is enabled"
                      " in this cluster. Enabled disk templates are:"
                      " file,diskless", job.ops[0].result[1][0])

    def test_dry_run(self):
        """A dry run checks the opcode and changes nothing."""
        job = self.job(self.submit("OP_NODE_MODIFY_STORAGE", dry_run=True,
                                   storage_type="lvm-pv", name="/dev/sdb1",
                                   changes={"allocatable": False}))
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertEqual(self.clock.processes, [])

    def test_repair(self):
        """
        Repairing a VG runs ``vgreduce --removemissing`` and checks the VG
        is still there; the job log says what is being repaired.
        """
        job_id = self.submit("OP_REPAIR_NODE_STORAGE", storage_type="lvm-vg",
                             name="xenvg")
        self.assertEqual(
            self.answer(b"  Wrote out consistent volume group xenvg.\n"),
            ["vgreduce", "--removemissing", "xenvg"])
        self.assertEqual(self.answer(b"  xenvg\n")[0], "vgs")
        job = self.job(job_id)
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertIn("Repairing storage unit 'xenvg' on %s ..." % self.node,
                      str(job.ops[0].log))

    def test_repair_refused(self):
        """Only volume groups can be repaired."""
        for storage_type in ("lvm-pv", "file", "gluster"):
            self.assertRefused(
                self.submit("OP_REPAIR_NODE_STORAGE", storage_type=storage_type,
                            name="/dev/sdb1"),
                "Storage units of type '%s' can not be repaired"
                % storage_type)

    def test_query_named_node(self):
        """
        The RAPI's query: one node, a storage type and some fields; the
        rows hold those fields in that order.
        """
        job_id = self.master.queue.submit([{
            "OP_ID": "OP_NODE_QUERY_STORAGE", "nodes": [self.node],
            "storage_type": "lvm-vg", "output_fields": ["name", "size", "node",
                                                        "allocatable"]}])
        self.assertEqual(self.answer(b"  xenvg|1020.00|500.00|wz--n-\n")[0],
                         "vgs")
        job = self.job(job_id)
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertEqual(job.ops[0].result,
                         [["xenvg", 1020, self.node, True]])

    def test_query_refused(self):
        """
        Unknown fields, unknown and unused storage types, unknown nodes are
        refused before any node is asked.
        """
        for params, fragment in (
                ({"storage_type": "lvm-pv", "output_fields": ["name", "bogus"]},
                 "Unknown output fields selected: bogus"),
                ({"storage_type": "gluster", "output_fields": ["name"]},
                 "Unknown storage type: gluster"),
                ({"storage_type": "sharedfile", "output_fields": ["name"]},
                 "No disk template of storage type 'sharedfile'"),
                ({"storage_type": "lvm-vg", "output_fields": ["name"],
                  "nodes": ["nosuch"]}, "Node 'nosuch' is unknown")):
            self.assertRefused(self.master.queue.submit([dict(
                {"OP_ID": "OP_NODE_QUERY_STORAGE"}, **params)]), fragment)
