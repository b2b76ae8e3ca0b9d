# -*- test-case-name: tests.test_kvm_hotplug -*-
"""
Tests for L{ganeti.hypervisor.kvm.hotplug}: disks and NICs hotplugged
into the test guest, which sees them come and go on its PCI bus.
"""

import json
import os

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import SkipTest, TestCase

from ganeti.errors import HotplugError
from ganeti.hypervisor.kvm.hypervisor import KvmHypervisor
from ganeti.testing.guest import BOOT_LINE
from tests.kvm_fixtures import GuestFixture


class KvmHotplugGuestTests(GuestFixture, TestCase):
    """
    Real qemu running the test guest: hotplugged disks and NICs.
    """

    @inlineCallbacks
    def guest_says(self, console, command, marker):
        """
        Run a shell command on the guest's console and wait for its
        answer, C{marker} followed by what the command printed; each
        marker is used once per console.

        :return: (via a Deferred) that answer's line.
        """
        # The terminal echoes the command: quotes split the markers there.
        split = (marker[:1] + '""' + marker[1:]).encode()
        console.transport.write(b"echo %s=$(%s)=%sDONE\n"
                                % (split, command.encode(), split))
        output = yield console.wait_for(marker + "DONE", timeout=30)
        line = output.rsplit(marker.encode() + b"=", 1)[1]
        return line.split(b"=" + marker.encode() + b"DONE")[0].decode()

    def guest_slot(self, console, sysfs, marker, present=True):
        """
        Wait (in the guest, up to 10 s) until the guest has, or no longer
        has, a PCI device, since it handles the ACPI event by itself.

        :return: (via a Deferred) the device's ``vendor:device:`` ids, or
            ``absent``.
        """
        test = "-e" if present else "! -e"
        return self.guest_says(
            console, "for i in $(seq 100); do [ %s %s ] && break; sleep 0.1;"
            " done; if [ -e %s ]; then cat %s/vendor %s/device | tr '\\n' :;"
            " else echo absent; fi" % (test, sysfs, sysfs, sysfs, sysfs),
            marker)

    @inlineCallbacks
    def test_hotplug_disk_in_guest(self):
        """
        A hot-added disk is a virtio-blk device (vendor 0x1af4) in the
        guest's PCI slot the runtime names, and a blockdev node in qemu;
        hot-removed, the guest has let go of the slot and the node is
        gone.  A restarted node daemon (a new object) finds and removes
        it.
        """
        console = yield self.boot()
        name = "inst1.example.com"
        image = os.path.join(self.paths.root, "disk1.img")
        with open(image, "wb") as f:
            f.truncate(16 * 1024 * 1024)
        disk = {"uuid": "0badc0de-0000-4000-8000-000000000001", "mode": "rw"}
        yield self.hv.hotplug_device(self.instance(), "add", "disk", disk,
                                     image, 0)
        with open(self.hv.layout.runtime_file(name)) as f:
            [entry] = json.load(f)["disks"]
        self.assertEqual(entry["qdev"], "disk-0badc0de-pci-%d" % entry["pci"])
        sysfs = "/sys/bus/pci/devices/0000:00:%02x.0" % entry["pci"]
        ids = yield self.guest_slot(console, sysfs, "ADDED")
        self.assertEqual(ids, "0x1af4:0x1001:")
        nodes = yield self.hv._qmp(name, "query-named-block-nodes")
        self.assertIn(entry["qdev"], [n["node-name"] for n in nodes])

        adopter = KvmHypervisor(self.paths, reactor)
        yield adopter.hotplug_device(self.instance(), "remove", "disk", disk,
                                     None, 0)
        gone = yield self.guest_slot(console, sysfs, "REMOVED", False)
        self.assertEqual(gone, "absent")
        nodes = yield self.hv._qmp(name, "query-named-block-nodes")
        self.assertNotIn(entry["qdev"], [n["node-name"] for n in nodes])
        with open(self.hv.layout.runtime_file(name)) as f:
            self.assertEqual(json.load(f)["disks"], [])

    @inlineCallbacks
    def test_failed_disk_hotplug(self):
        """
        A disk qemu cannot open fails the hotplug with qemu's reason and
        leaves the instance and its runtime as they were.
        """
        name = "inst1.example.com"
        yield self.hv.start_instance(self.instance(), [])
        nodes = yield self.hv._qmp(name, "query-named-block-nodes")
        disk = {"uuid": "0badc0de-0000-4000-8000-000000000002", "mode": "rw"}
        try:
            yield self.hv.hotplug_device(self.instance(), "add", "disk", disk,
                                         "/nonexistent/disk1", 0)
        except HotplugError as e:
            self.assertIn("No such file or directory", str(e))
        else:
            self.fail("a missing disk was hotplugged")
        self.assertEqual((yield self.hv._qmp(name, "query-named-block-nodes")),
                         nodes)
        with open(self.hv.layout.runtime_file(name)) as f:
            self.assertEqual(json.load(f)["disks"], [])

    @inlineCallbacks
    def test_unplug_start_disk(self):
        """
        A disk the instance was started with can be hot-removed: its
        device goes, and its drive with it.
        """
        image = os.path.join(self.paths.root, "disk0.img")
        with open(image, "wb") as f:
            f.truncate(16 * 1024 * 1024)
        name = "inst1.example.com"
        disk = {"uuid": "d0", "mode": "rw", "path": image}
        yield self.hv.start_instance(self.instance(), [disk])
        console = yield self.console()
        yield console.wait_for(BOOT_LINE, timeout=60)
        yield self.hv.hotplug_device(self.instance(), "remove", "disk", disk,
                                     None, 0)
        blocks = yield self.hv._qmp(name, "query-block")
        self.assertNotIn("disk0", [b["device"] for b in blocks])

    @inlineCallbacks
    def test_hotplug_nic_in_guest(self):
        """
        A hot-added NIC is a virtio-net device in the guest's PCI slot,
        backed by a new tap device that is up; hot-removed, slot and tap
        are gone.
        """
        if os.geteuid() != 0:
            raise SkipTest("needs root to create tap devices")
        console = yield self.boot()
        name = "inst1.example.com"
        nic = {"uuid": "feedf00d-0000-4000-8000-000000000001",
               "mac": "aa:00:00:ab:cd:01", "ip": None, "mode": "routed",
               "link": "", "vlan": ""}
        yield self.hv.hotplug_device(self.instance(), "add", "nic", nic,
                                     None, 0)
        with open(self.hv.layout.runtime_file(name)) as f:
            [entry] = json.load(f)["nics"]
        with open(os.path.join(self.hv.layout.instance_nic_dir(name),
                               "0")) as f:
            self.assertEqual(f.read(), entry["tap"])
        self.assertTrue(os.path.exists("/sys/class/net/" + entry["tap"]))
        sysfs = "/sys/bus/pci/devices/0000:00:%02x.0" % entry["pci"]
        ids = yield self.guest_slot(console, sysfs, "ADDED")
        self.assertEqual(ids, "0x1af4:0x1000:")
        yield self.hv.hotplug_device(self.instance(), "remove", "nic", nic,
                                     None, 0)
        gone = yield self.guest_slot(console, sysfs, "REMOVED", False)
        self.assertEqual(gone, "absent")
        self.assertFalse(os.path.exists("/sys/class/net/" + entry["tap"]))
        self.assertFalse(os.path.exists(
            self.hv.layout.instance_nic_dir(name)))
