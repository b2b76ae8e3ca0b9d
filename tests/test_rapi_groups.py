"""
Tests for the node group RAPI resources (``/2/groups...``), driven by the
project's RAPI client against a real in-process master: every change is a
job that runs through the queue into the config.
"""

from twisted.internet import defer

from ganeti.rapi.client import RapiError
from tests.test_rapi_client import ClientTestBase
from tests.util import NODE2_NAME, two_node_cluster


class GroupClientTests(ClientTestBase):
    make_master = staticmethod(two_node_cluster)

    @property
    def cfg(self):
        return self.master.config.config

    @defer.inlineCallbacks
    def create_group(self, name="g1", **kwargs):
        ok, job = yield self.run_job(self.client.CreateGroup(name, **kwargs))
        self.assertTrue(ok, job["opresult"])

    @defer.inlineCallbacks
    def test_create_modify_rename_delete(self):
        """A group's life through the RAPI, as Ganeti's client drives it."""
        yield self.create_group(alloc_policy="last_resort")
        group = yield self.client.GetGroup("g1")
        self.assertEqual((group["alloc_policy"], group["node_cnt"]),
                         ("last_resort", 0))
        ok, job = yield self.run_job(self.client.ModifyGroup(
            "g1", custom_ndparams={"ssh_port": 2022}, alloc_policy="preferred"))
        self.assertTrue(ok, job["opresult"])
        self.assertEqual(job["opresult"],
                         [[["ndparams", str({"ssh_port": 2022})]]])
        group = yield self.client.GetGroup("g1")
        self.assertEqual((group["alloc_policy"], group["custom_ndparams"]),
                         ("preferred", {"ssh_port": 2022}))
        ok, job = yield self.run_job(self.client.RenameGroup("g1", "g2"))
        self.assertEqual(job["opresult"], ["g2"])
        ok, job = yield self.run_job(self.client.DeleteGroup("g2"))
        self.assertTrue(ok, job["opresult"])
        names = yield self.client.GetGroups()
        self.assertEqual([g["name"] for g in names], ["default"])

    @defer.inlineCallbacks
    def test_dry_run(self):
        """dry-run checks and changes nothing."""
        serial = self.cfg.serial_no
        ok, _ = yield self.run_job(self.client.CreateGroup("g1", dry_run=True))
        self.assertTrue(ok)
        self.assertIsNone(self.cfg.group_by_name("g1"))
        self.assertEqual(self.cfg.serial_no, serial)

    @defer.inlineCallbacks
    def test_assign_nodes(self):
        """Nodes move into a group; the node list shows it."""
        yield self.create_group()
        ok, job = yield self.run_job(self.client.AssignGroupNodes(
            "g1", [NODE2_NAME], force=True))
        self.assertTrue(ok, job["opresult"])
        group = yield self.client.GetGroup("g1")
        self.assertEqual(group["node_list"], [NODE2_NAME])

    @defer.inlineCallbacks
    def test_tags(self):
        yield self.create_group()
        yield self.run_job(self.client.AddGroupTags("g1", ["a", "b"]))
        yield self.run_job(self.client.DeleteGroupTags("g1", ["a"]))
        tags = yield self.client.GetGroupTags("g1")
        self.assertEqual(tags, ["b"])

    @defer.inlineCallbacks
    def test_bad_input(self):
        """
        Bad parameters are a 400 before any job; refused jobs fail with
        Ganeti's message; nothing changes either way.
        """
        serial = self.cfg.serial_no
        failure = yield self.assertFailure(
            self.client.CreateGroup("g1", alloc_policy="sometimes"), RapiError)
        self.assertEqual(failure.code, 400)
        self.assertIn("alloc_policy", failure.explain)
        failure = yield self.assertFailure(
            self.client.ModifyGroup("default", custom_ndparams={"a": 1},
                                    ndparams={"a": 1}), RapiError)
        self.assertEqual(failure.code, 400)
        ok, job = yield self.run_job(self.client.DeleteGroup("default"))
        self.assertFalse(ok)
        self.assertIn("not empty", job["opresult"][0][1][0])
        ok, job = yield self.run_job(self.client.RenameGroup("nope", "x"))
        self.assertIn("Node group 'nope' not found", job["opresult"][0][1][0])
        self.assertEqual(self.cfg.serial_no, serial)

    @defer.inlineCallbacks
    def test_needs_write_user(self):
        failure = yield self.assertFailure(self.reader.CreateGroup("g1"),
                                           RapiError)
        self.assertEqual(failure.code, 403)
