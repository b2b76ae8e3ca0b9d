# -*- test-case-name: tests.test_hypervisor_fake,tests.test_hypervisor_kvm -*-
"""
The contract every L{IHypervisor} provider must honour.

L{IHypervisorTestsMixin} is run by C{tests.test_hypervisor_fake} against
the fake (synchronously) and by C{tests.test_hypervisor_kvm} against real
qemu (on the real reactor).  The tests are written once as generators of
Deferreds (L{scenario}); each test case decides how to wait for them
through its C{finish} method.
"""

import functools
import os

from twisted.internet.defer import gatherResults, inlineCallbacks, succeed
from zope.interface.verify import verifyObject

from ganeti.errors import HotplugError, HypervisorError
from ganeti.hypervisor.interfaces import (
    CONS_MESSAGE,
    CONS_SPICE,
    CONS_SSH,
    CONS_VNC,
    HOTPLUG_ADD,
    HOTPLUG_DISK,
    HOTPLUG_MODIFY,
    HOTPLUG_NIC,
    HOTPLUG_REMOVE,
    NODE_INFO_KEYS,
    STATE_RUNNING,
    IHypervisor,
)


def scenario(generator):
    """
    Turn a generator of Deferreds into a test method.

    The generator runs under L{inlineCallbacks}; the resulting Deferred is
    handed to C{self.finish}, which a synchronous test case implements
    with C{successResultOf} and an asynchronous one by returning it.
    """
    run = inlineCallbacks(generator)

    @functools.wraps(generator)
    def test(self):
        return self.finish(run(self))
    return test


class IHypervisorTestsMixin:
    """
    Tests for an L{IHypervisor} provider.

    Subclasses (mixed with a trial test case) provide:
      - C{make_hypervisor()}: a fresh provider on a fresh node root;
      - C{make_instance(name)}: an instance dict it can start;
      - C{finish(d)}: wait for a Deferred (see L{scenario});
      - C{plugged_devices(hv, name)}: a Deferred with the device uuids
        the running instance really has, by kind (``disk``, ``nic``);
    and may override L{node_hvparams}, L{block_devices}, L{new_nic} and
    L{wait_for_guest}.
    """

    #: The instance name the tests use.
    instance_name = "inst1.example.com"

    #: The address a migration target listens on: both "nodes" of the
    #: migration tests are on this host.
    migration_address = "127.0.0.1"

    def setUp(self):
        super().setUp()
        self.hv = self.make_hypervisor()
        self.addCleanup(self._stop_leftovers, self.hv)

    def _stop_leftovers(self, hv):
        # A failed test must not leave a qemu running behind it.
        d = hv.list_instances()
        d.addCallback(lambda names: gatherResults(
            [hv.stop_instance(name, force=True) for name in names],
            consumeErrors=True))
        return self.finish(d)

    def make_target(self):
        """
        :return: a second provider on its own node root, the other end of
            a migration.
        """
        target = self.make_hypervisor()
        self.addCleanup(self._stop_leftovers, target)
        return target

    def node_hvparams(self):
        """
        :return: the hvparams for node-wide calls (C{get_node_info},
            C{verify}); C{None} means the defaults.
        """
        return None

    def block_devices(self, name):
        """
        :return: the disks to start C{name} with (none by default).
        """
        return []

    def new_disk(self, uuid, size_mib=8):
        """
        :return: a disk dict and the path of a fresh (sparse) image for it,
            what the master hands over after assembling a new disk.
        """
        path = os.path.abspath(self.mktemp())
        with open(path, "wb") as f:
            f.truncate(size_mib * 1024 * 1024)
        return {"uuid": uuid, "mode": "rw", "size": size_mib}, path

    def new_nic(self, uuid, mac="aa:00:00:12:34:56"):
        """
        :return: a NIC dict to hotplug: routed without an IP, so that the
            node needs no bridge.
        """
        return {"uuid": uuid, "mac": mac, "ip": None, "mode": "routed",
                "link": "", "vlan": ""}

    def wait_for_guest(self, name):
        """
        :return: a Deferred firing once the guest of the running instance
            C{name} is up: a real guest must be, to release a device being
            unplugged.  Nothing to wait for by default.
        """
        return succeed(None)

    def start(self, name=None):
        """
        :return: a Deferred for starting an instance built by
            C{make_instance}.
        """
        name = name or self.instance_name
        return self.hv.start_instance(self.make_instance(name),
                                      self.block_devices(name))

    @inlineCallbacks
    def assert_fails(self, d, *errors):
        """
        :return: a Deferred firing with the error C{d} failed with; it
            fails the test if C{d} succeeds or fails with another error.
        """
        try:
            result = yield d
        except errors as e:
            return e
        self.fail("expected %s, got result %r"
                  % ("/".join(e.__name__ for e in errors), result))

    def test_interface(self):
        """
        The provider really provides L{IHypervisor} and has a name.
        """
        self.assertTrue(verifyObject(IHypervisor, self.hv))
        self.assertIsInstance(self.hv.name, str)

    @scenario
    def test_nothing_running(self):
        """
        A fresh node runs no instances and knows nothing of an unknown one.
        """
        self.assertEqual((yield self.hv.list_instances()), [])
        self.assertEqual((yield self.hv.get_all_instances_info()), [])
        self.assertIsNone((yield self.hv.get_instance_info("nope.example")))

    @scenario
    def test_start_lists_instance(self):
        """
        A started instance is listed, with its memory and virtual CPUs in
        its info, in the state "running".
        """
        yield self.start()
        self.assertEqual((yield self.hv.list_instances()),
                         [self.instance_name])
        info = yield self.hv.get_instance_info(self.instance_name)
        instance = self.make_instance(self.instance_name)
        self.assertEqual(
            {key: info[key] for key in ("name", "memory", "vcpus", "state")},
            {"name": self.instance_name,
             "memory": instance["beparams"]["maxmem"],
             "vcpus": instance["beparams"]["vcpus"],
             "state": STATE_RUNNING})
        self.assertEqual(sorted(info), ["cpu_time", "id", "memory", "name",
                                        "state", "vcpus"])
        [again] = yield self.hv.get_all_instances_info()
        # CPU time moves on between the calls.
        del info["cpu_time"], again["cpu_time"]
        self.assertEqual(again, info)

    @scenario
    def test_start_twice_fails(self):
        """
        Starting a running instance fails with L{HypervisorError} and
        leaves the running one alone.
        """
        yield self.start()
        error = yield self.assert_fails(self.start(), HypervisorError)
        self.assertIn("already running", str(error))
        self.assertEqual((yield self.hv.list_instances()),
                         [self.instance_name])

    @scenario
    def test_two_instances(self):
        """
        Instances are listed sorted by name and stopped independently.
        """
        yield self.start("inst2.example.com")
        yield self.start("inst1.example.com")
        self.assertEqual((yield self.hv.list_instances()),
                         ["inst1.example.com", "inst2.example.com"])
        yield self.hv.stop_instance("inst2.example.com", force=True)
        self.assertEqual((yield self.hv.list_instances()),
                         ["inst1.example.com"])

    @scenario
    def test_forced_stop(self):
        """
        A forced stop ends the instance: it is no longer listed and has no
        info.
        """
        yield self.start()
        yield self.hv.stop_instance(self.instance_name, force=True)
        self.assertEqual((yield self.hv.list_instances()), [])
        self.assertIsNone((yield self.hv.get_instance_info(
            self.instance_name)))

    @scenario
    def test_stop_with_timeout(self):
        """
        A soft stop ends the instance within the timeout plus the time a
        kill takes, whether or not the guest reacts to the request.
        """
        yield self.start()
        yield self.hv.stop_instance(self.instance_name, timeout=1)
        self.assertEqual((yield self.hv.list_instances()), [])

    @scenario
    def test_restart_after_stop(self):
        """
        A stopped instance can be started again.
        """
        yield self.start()
        yield self.hv.stop_instance(self.instance_name, force=True)
        yield self.start()
        self.assertEqual((yield self.hv.list_instances()),
                         [self.instance_name])

    @scenario
    def test_stop_unknown_fails(self):
        """
        Stopping an instance that does not run fails with
        L{HypervisorError}.
        """
        error = yield self.assert_fails(
            self.hv.stop_instance("nope.example.com"), HypervisorError)
        self.assertIn("not running", str(error))

    @scenario
    def test_reboot(self):
        """
        Rebooting a running instance succeeds and it keeps running.
        """
        yield self.start()
        yield self.hv.reboot_instance(self.instance_name)
        self.assertEqual((yield self.hv.list_instances()),
                         [self.instance_name])

    @scenario
    def test_reboot_unknown_fails(self):
        """
        Rebooting an instance that does not run fails with
        L{HypervisorError}.
        """
        yield self.assert_fails(self.hv.reboot_instance("nope.example.com"),
                                HypervisorError)

    @scenario
    def test_cleanup(self):
        """
        Cleaning up a running instance is refused; a stopped one is fine.
        """
        yield self.start()
        yield self.assert_fails(self.hv.cleanup_instance(self.instance_name),
                                HypervisorError)
        yield self.hv.stop_instance(self.instance_name, force=True)
        yield self.hv.cleanup_instance(self.instance_name)

    @scenario
    def test_invalid_names(self):
        """
        Names that could escape the state directory are refused.
        """
        for name in ("", "../etc", "a/b", ".hidden"):
            instance = self.make_instance("x.example.com")
            instance["name"] = name
            yield self.assert_fails(self.hv.start_instance(instance, []),
                                    HypervisorError)
            yield self.assert_fails(self.hv.stop_instance(name),
                                    HypervisorError)
            # No such instance can run, so one stored under such a name
            # (by an older version) shows as stopped and can be removed.
            self.assertIsNone((yield self.hv.get_instance_info(name)))

    @scenario
    def test_node_info(self):
        """
        Node info has every key, with plausible memory and CPU figures.
        """
        info = yield self.hv.get_node_info(self.node_hvparams())
        self.assertEqual(sorted(info), sorted(NODE_INFO_KEYS))
        self.assertGreater(info["memory_total"], 0)
        self.assertLessEqual(info["memory_free"], info["memory_total"])
        self.assertGreaterEqual(info["cpu_total"], 1)
        self.assertGreaterEqual(info["cpu_nodes"], 1)
        self.assertGreaterEqual(info["cpu_sockets"], 1)
        self.assertTrue(all(isinstance(v, int) for v in info["hv_version"]))

    def test_console(self):
        """
        The console description has the instance's name, a known kind and
        the members that kind needs.
        """
        console = self.hv.get_console(self.make_instance(self.instance_name))
        self.assertEqual(console["instance"], self.instance_name)
        needed = {CONS_MESSAGE: ["message"], CONS_SSH: ["command", "user"],
                  CONS_VNC: ["host", "port", "display"],
                  CONS_SPICE: ["host", "port"]}
        self.assertIn(console["kind"], needed)
        for key in needed[console["kind"]]:
            self.assertTrue(console[key], key)

    @scenario
    def test_verify(self):
        """
        A working node verifies without problems.
        """
        self.assertIsNone((yield self.hv.verify(self.node_hvparams())))

    def test_check_parameters(self):
        """
        The instance's own parameters pass; an unknown one is refused.
        """
        hvparams = self.make_instance(self.instance_name)["hvparams"]
        self.hv.check_parameters(hvparams)
        self.hv.validate_parameters(hvparams)
        self.assertRaises(HypervisorError, self.hv.check_parameters,
                          dict(hvparams, no_such_parameter=1))

    @inlineCallbacks
    def migrate(self, target, instance, live=True):
        """
        Run a whole migration of C{instance} from C{self.hv} to C{target},
        in the master's order.
        """
        name = instance["name"]
        info = yield self.hv.migration_info(name)
        self.assertIsInstance(info, str)
        yield target.accept_instance(instance, info, self.block_devices(name),
                                     self.migration_address)
        yield self.hv.migrate_instance(instance, self.migration_address, live)
        yield self.hv.finalize_migration_source(name, True)
        yield target.finalize_migration_target(instance, info, True)

    @inlineCallbacks
    def assert_runs_only_on(self, hv, others, instance):
        """
        C{instance} runs on C{hv}, with its memory and CPUs, and not on
        any of C{others}.
        """
        name = instance["name"]
        self.assertEqual((yield hv.list_instances()), [name])
        info = yield hv.get_instance_info(name)
        self.assertEqual(
            (info["memory"], info["vcpus"], info["state"]),
            (instance["beparams"]["maxmem"], instance["beparams"]["vcpus"],
             STATE_RUNNING))
        for other in others:
            self.assertEqual((yield other.list_instances()), [])

    @scenario
    def test_live_migration(self):
        """
        A live migration moves a running instance: afterwards it runs on
        the target, with the same memory and CPUs, and no longer on the
        source.
        """
        target = self.make_target()
        instance = self.make_instance(self.instance_name)
        yield self.start()
        yield self.migrate(target, instance)
        yield self.assert_runs_only_on(target, [self.hv], instance)

    @scenario
    def test_non_live_migration(self):
        """
        A non-live migration ends the same way: running on the target.
        """
        target = self.make_target()
        instance = self.make_instance(self.instance_name)
        yield self.start()
        yield self.migrate(target, instance, live=False)
        yield self.assert_runs_only_on(target, [self.hv], instance)

    @scenario
    def test_migrate_back(self):
        """
        An instance migrated away can be migrated back and stopped there.
        """
        target = self.make_target()
        instance = self.make_instance(self.instance_name)
        yield self.start()
        yield self.migrate(target, instance)
        info = yield target.migration_info(self.instance_name)
        yield self.hv.accept_instance(instance, info, [],
                                      self.migration_address)
        yield target.migrate_instance(instance, self.migration_address, True)
        yield target.finalize_migration_source(self.instance_name, True)
        yield self.hv.finalize_migration_target(instance, info, True)
        yield self.assert_runs_only_on(self.hv, [target], instance)
        yield self.hv.stop_instance(self.instance_name, force=True)
        self.assertEqual((yield self.hv.list_instances()), [])

    @scenario
    def test_aborted_migration(self):
        """
        Finalizing both sides as failed after the target accepted keeps the
        instance running on the source only.
        """
        target = self.make_target()
        instance = self.make_instance(self.instance_name)
        yield self.start()
        info = yield self.hv.migration_info(self.instance_name)
        yield target.accept_instance(instance, info, [],
                                     self.migration_address)
        yield target.finalize_migration_target(instance, info, False)
        yield self.hv.finalize_migration_source(self.instance_name, False)
        yield self.assert_runs_only_on(self.hv, [target], instance)

    @scenario
    def test_accept_running_refused(self):
        """
        A node already running the instance refuses to accept it, and the
        running instance is left alone.
        """
        target = self.make_target()
        instance = self.make_instance(self.instance_name)
        yield self.start()
        info = yield self.hv.migration_info(self.instance_name)
        yield target.start_instance(instance, [])
        error = yield self.assert_fails(
            target.accept_instance(instance, info, [],
                                   self.migration_address), HypervisorError)
        self.assertIn("already running", str(error))
        self.assertEqual((yield target.list_instances()), [self.instance_name])

    @scenario
    def test_migrate_not_running(self):
        """
        An instance that does not run has no migration info and cannot be
        sent.
        """
        instance = self.make_instance(self.instance_name)
        error = yield self.assert_fails(
            self.hv.migration_info(self.instance_name), HypervisorError)
        self.assertIn("not running", str(error))
        yield self.assert_fails(
            self.hv.migrate_instance(instance, self.migration_address, True),
            HypervisorError)

    # -- hotplug -------------------------------------------------------------

    @inlineCallbacks
    def hotplug(self, action, dev_type, device, extra=None, seq=0, hv=None):
        """
        :return: a Deferred for hotplugging into the test instance.
        """
        hv = hv or self.hv
        yield hv.hotplug_device(self.make_instance(self.instance_name),
                                action, dev_type, device, extra, seq)

    @inlineCallbacks
    def assert_plugged(self, disks, nics, hv=None):
        """
        The running test instance has exactly these disk and NIC uuids.
        """
        devices = yield self.plugged_devices(hv or self.hv,
                                             self.instance_name)
        self.assertEqual((sorted(devices[HOTPLUG_DISK]),
                          sorted(devices[HOTPLUG_NIC])),
                         (sorted(disks), sorted(nics)))

    @scenario
    def test_hotplug_supported(self):
        """
        Hotplug is supported for a running instance only; otherwise the
        refusal is a L{HotplugError} that says why.
        """
        instance = self.make_instance(self.instance_name)
        error = yield self.assert_fails(self.hv.hotplug_supported(instance),
                                        HotplugError)
        self.assertIn("not running", str(error))
        yield self.start()
        self.assertIsNone((yield self.hv.hotplug_supported(instance)))

    @scenario
    def test_hotplug_disk(self):
        """
        A disk hot-added to a running instance is there, and is gone once
        hot-removed.
        """
        yield self.start()
        disk, path = self.new_disk("d1a2b3c4-0000-4000-8000-000000000001")
        yield self.hotplug(HOTPLUG_ADD, HOTPLUG_DISK, disk, path)
        yield self.assert_plugged([disk["uuid"]], [])
        yield self.wait_for_guest(self.instance_name)
        yield self.hotplug(HOTPLUG_REMOVE, HOTPLUG_DISK, disk)
        yield self.assert_plugged([], [])

    @scenario
    def test_hotplug_mistakes_refused(self):
        """
        Adding a device twice, removing one the instance does not have,
        modifying a disk, or hotplugging into a stopped instance fail with
        L{HotplugError} and change nothing.
        """
        disk, path = self.new_disk("d1a2b3c4-0000-4000-8000-000000000002")
        yield self.assert_fails(
            self.hotplug(HOTPLUG_ADD, HOTPLUG_DISK, disk, path), HotplugError)
        yield self.start()
        yield self.hotplug(HOTPLUG_ADD, HOTPLUG_DISK, disk, path)
        error = yield self.assert_fails(
            self.hotplug(HOTPLUG_ADD, HOTPLUG_DISK, disk, path), HotplugError)
        self.assertIn("already plugged", str(error))
        error = yield self.assert_fails(
            self.hotplug(HOTPLUG_MODIFY, HOTPLUG_DISK, disk, path),
            HotplugError)
        self.assertIn("modify is not supported", str(error))
        error = yield self.assert_fails(
            self.hotplug(HOTPLUG_REMOVE, HOTPLUG_NIC, self.new_nic("n-none")),
            HotplugError)
        self.assertIn("not plugged", str(error))
        yield self.assert_plugged([disk["uuid"]], [])

    @scenario
    def test_hotplug_nic(self):
        """
        A NIC can be hot-added, modified (replaced, with a new MAC) and
        hot-removed.
        """
        nic = self.new_nic("a1b2c3d4-0000-4000-8000-000000000003")
        yield self.start()
        yield self.hotplug(HOTPLUG_ADD, HOTPLUG_NIC, nic)
        yield self.assert_plugged([], [nic["uuid"]])
        yield self.wait_for_guest(self.instance_name)
        yield self.hotplug(HOTPLUG_MODIFY, HOTPLUG_NIC,
                           dict(nic, mac="aa:00:00:12:34:57"))
        yield self.assert_plugged([], [nic["uuid"]])
        yield self.hotplug(HOTPLUG_REMOVE, HOTPLUG_NIC, nic)
        yield self.assert_plugged([], [])

    @scenario
    def test_hotplugged_disk_migrates(self):
        """
        A migration target builds the hotplugged disk too, and it can be
        removed there.
        """
        target = self.make_target()
        instance = self.make_instance(self.instance_name)
        yield self.start()
        yield self.wait_for_guest(self.instance_name)
        disk, path = self.new_disk("d1a2b3c4-0000-4000-8000-000000000004")
        yield self.hotplug(HOTPLUG_ADD, HOTPLUG_DISK, disk, path)
        info = yield self.hv.migration_info(self.instance_name)
        yield target.accept_instance(instance, info, [dict(disk, path=path)],
                                     self.migration_address)
        yield self.hv.migrate_instance(instance, self.migration_address, True)
        yield self.hv.finalize_migration_source(self.instance_name, True)
        yield target.finalize_migration_target(instance, info, True)
        yield self.assert_plugged([disk["uuid"]], [], hv=target)
        yield self.hotplug(HOTPLUG_REMOVE, HOTPLUG_DISK, disk, hv=target)
        yield self.assert_plugged([], [], hv=target)
