"""
Tests for the instance logical units, run as jobs through the real queue
on a Clock, with the real node handler and the fake hypervisor.
"""

import os

from twisted.internet import reactor
from twisted.internet.defer import fail, inlineCallbacks
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti.errors import HotplugError
from ganeti.hypervisor.fake import FakeHypervisor
from ganeti.master.queries import query_instances
from tests.util import allow_file_storage, finished_job, local_cluster

NAME = "inst1.example.com"


def create(**params):
    op = {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": NAME,
          "disk_template": "diskless", "disks": [], "nics": [{}],
          "pnode": "node1.example.com", "no_install": True,
          "hypervisor": "fake", "start": False}
    op.update(params)
    return op


class InstanceJobTests(SynchronousTestCase):
    """Diskless fake instances from creation to removal."""

    def setUp(self):
        self.master = local_cluster(self)
        self.queue = self.master.queue

    def run_job(self, *ops):
        job_id = self.queue.submit(list(ops))
        job = self.queue.get(job_id)
        return job

    def status(self, name=NAME):
        result = self.successResultOf(query_instances(
            self.master.context, ["name", "status", "admin_state", "oper_ram"],
            None))
        rows = {row[0][1]: [cell[1] for cell in row[1:]] for row in result["data"]}
        return rows.get(name)

    def assert_ok(self, job):
        self.assertEqual(job.status, "success", job.ops[-1].result)

    def test_create_stopped(self):
        """An instance added with --no-start exists and is ADMIN_down."""
        job = self.run_job(create())
        self.assert_ok(job)
        self.assertEqual(job.ops[0].result, ["node1.example.com"])
        self.assertEqual(self.status()[:2], ["ADMIN_down", "down"])

    def test_create_started(self):
        """An instance added with start runs and reports its memory."""
        self.assert_ok(self.run_job(create(start=True,
                                           os_type=None)))
        self.assertEqual(self.status(), ["running", "up", 128])

    def test_odd_stored_name_removable(self):
        """
        An instance stored under a name today's validation refuses (an
        older version let it in) is still removed, and so is its config
        entry, without --ignore-failures.
        """
        self.assert_ok(self.run_job(create()))
        odd = "$(touch /tmp/pwned)"
        cfg = self.master.config.config
        [uuid] = cfg.instances
        self.master.config.update_object("instances", uuid, name=odd)
        self.assert_ok(self.run_job({"OP_ID": "OP_INSTANCE_REMOVE",
                                     "instance_name": odd}))
        self.assertEqual(self.master.config.config.instances, {})

    def test_life_cycle(self):
        """Shutdown, startup, reboot and remove change what the node runs."""
        self.assert_ok(self.run_job(create(start=True)))
        self.assert_ok(self.run_job({"OP_ID": "OP_INSTANCE_SHUTDOWN",
                                     "instance_name": NAME}))
        self.assertEqual(self.status()[0], "ADMIN_down")
        self.assert_ok(self.run_job({"OP_ID": "OP_INSTANCE_STARTUP",
                                     "instance_name": NAME}))
        self.assertEqual(self.status()[0], "running")
        self.assert_ok(self.run_job({"OP_ID": "OP_INSTANCE_REBOOT",
                                     "instance_name": NAME,
                                     "reboot_type": "hard"}))
        self.assertEqual(self.status()[0], "running")
        self.assert_ok(self.run_job({"OP_ID": "OP_INSTANCE_REMOVE",
                                     "instance_name": NAME}))
        self.assertIsNone(self.status())
        state_dir = os.path.join(self.master.paths.run_dir, "fake-hypervisor")
        self.assertEqual(os.listdir(state_dir), [])

    def test_duplicate_refused(self):
        """A second instance of the same name is refused; nothing changes."""
        self.assert_ok(self.run_job(create()))
        serial = self.master.config.config.serial_no
        job = self.run_job(create())
        self.assertEqual(job.status, "error")
        self.assertEqual(job.ops[0].result[0], "OpPrereqError")
        self.assertIn("already in the cluster", job.ops[0].result[1][0])
        self.assertEqual(self.master.config.config.serial_no, serial)

    def test_too_much_memory(self):
        """Memory beyond the node's free memory is refused before anything."""
        job = self.run_job(create(start=True,
                                  beparams={"maxmem": 100 * 1024 * 1024}))
        self.assertEqual(job.status, "error")
        self.assertIn("Not enough memory on node", job.ops[0].result[1][0])
        self.assertIsNone(self.status())

    def test_unknown_hypervisor_parameter(self):
        """An unknown -H parameter is named and refused."""
        job = self.run_job(create(hvparams={"nosuch": "1"}))
        self.assertEqual(job.status, "error")
        self.assertIn("Unknown hypervisor parameter 'nosuch'",
                      job.ops[0].result[1][0])

    def test_disabled_template(self):
        """A disk template the cluster does not enable is refused."""
        job = self.run_job(create(disk_template="plain",
                                  disks=[{"size": 1024}]))
        self.assertEqual(job.status, "error")
        self.assertIn("not enabled in cluster", job.ops[0].result[1][0])

    def test_modify_and_query(self):
        """-B changes show in the merged and custom parameters."""
        self.assert_ok(self.run_job(create()))
        job = self.run_job({"OP_ID": "OP_INSTANCE_SET_PARAMS",
                            "instance_name": NAME, "beparams": {"maxmem": "256"}})
        self.assert_ok(job)
        self.assertEqual(job.ops[0].result, [["be/maxmem", 256]])
        instance = self.master.config.config.instance_by_name(NAME)
        self.assertEqual(instance.beparams, {"maxmem": 256})

    def test_rename(self):
        """A stopped instance can be renamed."""
        self.assert_ok(self.run_job(create()))
        self.assert_ok(self.run_job({"OP_ID": "OP_INSTANCE_RENAME",
                                     "instance_name": NAME,
                                     "new_name": "inst2.example.com"}))
        self.assertIsNone(self.status())
        self.assertEqual(self.status("inst2.example.com")[0], "ADMIN_down")

    def test_console_needs_running(self):
        """The console of a stopped instance is refused."""
        self.assert_ok(self.run_job(create()))
        job = self.run_job({"OP_ID": "OP_INSTANCE_CONSOLE", "instance_name": NAME})
        self.assertEqual(job.status, "error")
        self.assertIn("is stopped", job.ops[0].result[1][0])


class ModifyTests(SynchronousTestCase):
    """gnt-instance modify checks everything before it changes anything."""

    def setUp(self):
        self.master = local_cluster(self)
        self.queue = self.master.queue
        job = self.queue.get(self.queue.submit([create()]))
        self.assertEqual(job.status, "success")

    def modify(self, **params):
        op = dict({"OP_ID": "OP_INSTANCE_SET_PARAMS", "instance_name": NAME},
                  **params)
        return self.queue.get(self.queue.submit([op]))

    def instance(self):
        return self.master.config.config.instance_by_name(NAME)

    def test_bad_nic_changes_nothing(self):
        """A bad MAC in one change leaves the other changes unapplied."""
        serial = self.master.config.config.serial_no
        job = self.modify(beparams={"maxmem": 256},
                          nics=[["add", {"mac": "bogus"}]])
        self.assertEqual(job.status, "error")
        self.assertIn("Invalid MAC address", job.ops[0].result[1][0])
        self.assertEqual(self.instance().beparams, {})
        self.assertEqual(self.master.config.config.serial_no, serial)

    def test_duplicate_mac_refused(self):
        """A MAC used by another instance is refused, on create and modify."""
        mac = self.instance().nics[0].mac
        job = self.queue.get(self.queue.submit([create(
            instance_name="other.example.com", nics=[{"mac": mac}])]))
        self.assertEqual(job.status, "error")
        self.assertIn("already in use", job.ops[0].result[1][0])

    def test_nic_add_and_remove(self):
        """NICs are added and removed in one job, recorded at once."""
        job = self.modify(nics=[["add", {"ip": "192.0.2.50"}], ["remove", 0, {}]])
        self.assertEqual(job.status, "success", job.ops[0].result)
        nics = self.instance().nics
        self.assertEqual(len(nics), 1)
        self.assertEqual(nics[0].ip, "192.0.2.50")

    def test_bad_ip_refused(self):
        """An IP that is not an address is refused."""
        job = self.modify(nics=[["add", {"ip": "not-an-ip"}]])
        self.assertEqual(job.status, "error")
        self.assertEqual(len(self.instance().nics), 1)


class _HotplugCase:
    """A running fake instance, changed by gnt-instance modify jobs."""

    template = "diskless"
    disks = []

    def setUp(self):
        self.master = self.make_cluster()
        allow_file_storage(self.master, self.master.paths)
        self.queue = self.master.queue
        self.hv = FakeHypervisor(self.master.paths)
        return self.run_ok(create(disk_template=self.template,
                                  disks=self.disks, start=True))

    def instance(self):
        return self.master.config.config.instance_by_name(NAME)

    def modify(self, **params):
        return self.run_job(dict({"OP_ID": "OP_INSTANCE_SET_PARAMS",
                                  "instance_name": NAME}, **params))

    def assert_plugged(self):
        """The running instance has exactly the config's disks and NICs."""
        devices = self.successResultOf(self.hv.plugged_devices(NAME))
        self.assertEqual(devices, {"disk": self.instance().disks,
                                   "nic": [n.uuid for n in self.instance().nics]})


class HotplugTests(_HotplugCase, SynchronousTestCase):
    """
    gnt-instance modify on a running (diskless) instance hotplugs its NIC
    changes, or changes nothing.
    """

    def make_cluster(self):
        return local_cluster(self)

    def run_job(self, op):
        return self.queue.get(self.queue.submit([op]))

    def run_ok(self, op):
        job = self.run_job(op)
        self.assertEqual(job.status, "success", job.ops[0].result)

    def test_nic_add_modify_remove(self):
        """
        NICs are hot-added, replaced when modified, and hot-removed.
        """
        old = self.instance().nics[0]
        job = self.modify(nics=[["add", {}], ["modify", 0, {"ip": "192.0.2.9"}]])
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertEqual([n.ip for n in self.instance().nics],
                         ["192.0.2.9", None])
        self.assert_plugged()
        self.assertIn(" - INFO: Hotplug done.", [e[-1] for e in job.ops[0].log])
        job = self.modify(nics=[["remove", 0, {}]])
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertNotIn(old.uuid, [n.uuid for n in self.instance().nics])
        self.assert_plugged()

    def test_failure_undone(self):
        """
        A failed hotplug undoes the steps made before it, in reverse:
        config and instance stay as they were.
        """
        calls = []
        real = FakeHypervisor.hotplug_device

        def failing(hv, instance, action, dev_type, device, extra, seq):
            calls.append((action, device.get("ip")))
            if action == "add":
                return fail(HotplugError("no slot left"))
            return real(hv, instance, action, dev_type, device, extra, seq)
        self.patch(FakeHypervisor, "hotplug_device", failing)
        serial = self.master.config.config.serial_no
        job = self.modify(nics=[["add", {}], ["modify", 0, {"ip": "192.0.2.9"}]])
        self.assertEqual(job.status, "error")
        self.assertIn("Could not hotplug device", job.ops[0].result[1][0])
        self.assertIn("no slot left", job.ops[0].result[1][0])
        self.assertEqual(calls, [("modify", "192.0.2.9"), ("add", None),
                                 ("modify", None)])
        self.assertEqual(self.master.config.config.serial_no, serial)
        self.assert_plugged()

    def test_without_hotplug_refused(self):
        """
        Without hotplug, disk and NIC changes of a running instance are
        refused, as before.
        """
        job = self.modify(hotplug=False, nics=[["add", {}]])
        self.assertEqual(job.status, "error")
        self.assertIn("need it stopped", job.ops[0].result[1][0])
        self.assertEqual(len(self.instance().nics), 1)

    def test_not_possible(self):
        """
        When the node says hotplug is not possible, ``hotplug`` fails with
        Ganeti's message; ``hotplug_if_possible`` warns and falls back to
        the rule without hotplug.
        """
        self.patch(FakeHypervisor, "hotplug_supported",
                   lambda hv, instance: fail(HotplugError("qemu too old")))
        job = self.modify(nics=[["add", {}]])
        self.assertEqual(job.status, "error")
        self.assertIn("Hotplug is not possible", job.ops[0].result[1][0])
        self.assertIn("qemu too old", job.ops[0].result[1][0])
        job = self.modify(hotplug=False, hotplug_if_possible=True,
                          nics=[["add", {}]])
        self.assertEqual(job.status, "error")
        self.assertIn("need it stopped", job.ops[0].result[1][0])
        self.assertIn("qemu too old", "\n".join(e[-1] for e in job.ops[0].log))
        self.assertEqual(len(self.instance().nics), 1)

    def test_stopped_instance_needs_no_hotplug(self):
        """
        Changes to a stopped instance are recorded for its next start,
        whatever the hotplug options say.
        """
        self.run_ok({"OP_ID": "OP_INSTANCE_SHUTDOWN", "instance_name": NAME})
        self.patch(FakeHypervisor, "hotplug_supported",
                   lambda hv, instance: fail(HotplugError("not running")))
        job = self.modify(nics=[["add", {}]])
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertEqual(len(self.instance().nics), 2)


class DiskHotplugTests(_HotplugCase, TestCase):
    """
    Disks of a running instance: created before they are hotplugged,
    unplugged before they are removed (file disks are made by qemu-img,
    so the node runs on the real reactor).
    """

    template = "file"
    disks = [{"size": 4}]

    def make_cluster(self):
        return local_cluster(self, reactor=reactor)

    def run_job(self, op):
        return finished_job(self.queue, [op])

    @inlineCallbacks
    def run_ok(self, op):
        job = yield self.run_job(op)
        self.assertEqual(job.status, "success", job.ops[0].result)

    def disk_paths(self):
        cfg = self.master.config.config
        return [cfg.disks[u].logical_id[1] for u in self.instance().disks]

    @inlineCallbacks
    def test_disk_add_and_remove(self):
        """
        A new disk is created and hotplugged; a removed one is unplugged
        and deleted.
        """
        yield self.run_ok({"OP_ID": "OP_INSTANCE_SET_PARAMS",
                           "instance_name": NAME,
                           "disks": [["add", {"size": 4}]]})
        self.assert_plugged()
        first, second = self.disk_paths()
        self.assertTrue(os.path.exists(second))
        yield self.run_ok({"OP_ID": "OP_INSTANCE_SET_PARAMS",
                           "instance_name": NAME,
                           "disks": [["remove", 0, {}]]})
        self.assert_plugged()
        self.assertFalse(os.path.exists(first))
        self.assertEqual(self.disk_paths(), [second])

    @inlineCallbacks
    def test_failed_hotplug_removes_disk(self):
        """
        A disk whose hotplug fails is removed again; nothing is recorded.
        """
        self.patch(FakeHypervisor, "hotplug_device",
                   lambda *args: fail(HotplugError("no slot left")))
        directory = os.path.dirname(self.disk_paths()[0])
        files = os.listdir(directory)
        job = yield self.modify(disks=[["add", {"size": 4}]])
        self.assertEqual(job.status, "error")
        self.assertIn("no slot left", job.ops[0].result[1][0])
        self.assertEqual(len(self.instance().disks), 1)
        self.assertEqual(os.listdir(directory), files)
        self.assert_plugged()
