# -*- test-case-name: tests.test_storage -*-
"""
The contract every L{IBlockStorage} provider is held to, and helpers that
make real loop devices and volume groups for it.

L{IBlockStorageTestsMixin} is mixed into a L{TestCase} per backend in
L{tests.test_storage}; the subclass's C{setUp} sets C{self.storage} and
the subclass tells how its disks look (L{IBlockStorageTestsMixin.new_disk},
L{IBlockStorageTestsMixin.missing_disk}) and what the backend promises
(C{creates_data}, C{supports_grow}).
"""

import os
import shutil
import uuid

from zope.interface.verify import verifyObject

from ganeti import objects
from ganeti.errors import BlockDeviceError
from ganeti.process import DEFAULT_PATH, check_command, run_command
from ganeti.storage.interfaces import IBlockStorage
from ganeti.storage.lvm import LVM_ENV, device_mapper_available


def loop_skip_reason():
    """
    :return: why real loop devices cannot be used here, or C{None}.
    """
    if os.geteuid() != 0:
        return "needs root to set up loop devices"
    if not os.path.exists("/dev/loop-control"):
        return "no loop device support (/dev/loop-control missing)"
    if not shutil.which("losetup", path=DEFAULT_PATH):
        return "losetup not installed (Debian package mount)"
    return None


def lvm_tools_skip_reason():
    """
    :return: why a real volume group cannot be made here, or C{None}.
    """
    reason = loop_skip_reason()
    if reason:
        return reason
    if not shutil.which("vgcreate", path=DEFAULT_PATH):
        return "LVM tools not installed (Debian package lvm2)"
    return None


def lvm_create_skip_reason():
    """
    :return: why logical volumes cannot be created here, or C{None}.
    """
    reason = lvm_tools_skip_reason()
    if reason:
        return reason
    if not device_mapper_available():
        return ("the kernel's device-mapper is not available (opening"
                " /dev/mapper/control fails), so lvcreate cannot create"
                " logical volumes on this machine")
    return None


async def make_loop_device(testcase, reactor, size_mib):
    """
    Attach a sparse file of C{size_mib} MiB to a free loop device, detached
    again when the test ends.

    :return: the device path, e.g. ``/dev/loop3``.
    """
    backing = os.path.abspath(testcase.mktemp())
    with open(backing, "wb") as f:
        f.truncate(size_mib * 1024 * 1024)
    result = await check_command(reactor, ["losetup", "--find", "--show",
                                           backing], timeout=30)
    device = result.stdout.decode().strip()
    testcase.addCleanup(run_command, reactor, ["losetup", "-d", device],
                        timeout=30)
    return device


async def make_volume_group(testcase, reactor, size_mib=64):
    """
    Make a volume group on a fresh loop device, removed with its PV when
    the test ends.

    :return: C{(vg_name, pv_path)}.
    """
    device = await make_loop_device(testcase, reactor, size_mib)
    vg = "gnttest" + uuid.uuid4().hex[:8]
    await check_command(reactor, ["pvcreate", "-ff", "-y", device],
                        timeout=60, env=LVM_ENV)
    testcase.addCleanup(run_command, reactor, ["pvremove", "-ff", "-y",
                                               device],
                        timeout=60, env=LVM_ENV)
    await check_command(reactor, ["vgcreate", vg, device], timeout=60,
                        env=LVM_ENV)
    testcase.addCleanup(run_command, reactor, ["vgremove", "-f", vg],
                        timeout=60, env=LVM_ENV)
    return vg, device


class IBlockStorageTestsMixin:
    """
    Tests every L{IBlockStorage} provider must pass.

    :cvar template: the disk template the provider serves.
    :cvar disk_size: the size in MiB of the disks of L{new_disk}.
    :cvar creates_data: whether C{create} makes the data (and C{remove}
        deletes it); C{False} for adopted devices.
    :cvar supports_grow: whether C{grow} works.
    :ivar storage: the provider, set by the subclass's C{setUp}.
    """

    template = None
    disk_size = 8
    creates_data = True
    supports_grow = True
    instance_name = "inst1.example.com"

    def new_disk(self, index=0):
        """
        :return: a disk dict for a disk that does not exist yet (for an
            adopting backend: one that may be adopted).
        """
        raise NotImplementedError()

    def missing_disk(self):
        """
        :return: a well-formed disk dict whose data does not exist.
        """
        raise NotImplementedError()

    def expected_path(self, disk):
        """
        :return: the node path C{create} and C{assemble} must give.
        """
        raise NotImplementedError()

    def test_interface(self):
        """
        The provider really provides L{IBlockStorage} for its template.
        """
        self.assertTrue(verifyObject(IBlockStorage, self.storage))
        self.assertEqual(self.storage.template, self.template)

    async def test_create(self):
        """
        A created disk exists, has the asked size and is assembled at the
        path C{create} gave.
        """
        disk = self.new_disk()
        path = await self.storage.create(disk, self.instance_name)
        self.assertEqual(path, self.expected_path(disk))
        self.assertIs(await self.storage.exists(disk), True)
        self.assertEqual(await self.storage.assemble(disk), path)
        self.assertEqual(await self.storage.get_size(disk), self.disk_size)

    async def test_config_object(self):
        """
        Disks may also be given as L{objects.Disk}.
        """
        disk = objects.Disk.from_dict(self.new_disk())
        path = await self.storage.create(disk, self.instance_name)
        self.assertEqual(await self.storage.assemble(disk), path)

    async def test_create_twice(self):
        """
        Creating an existing disk fails, except for adopted devices, which
        may be adopted again.
        """
        disk = self.new_disk()
        path = await self.storage.create(disk, self.instance_name)
        if self.creates_data:
            with self.assertRaises(BlockDeviceError):
                await self.storage.create(disk, self.instance_name)
        else:
            self.assertEqual(
                await self.storage.create(disk, self.instance_name), path)

    async def test_remove(self):
        """
        Removing deletes the data (never for adopted devices), and can be
        repeated.
        """
        disk = self.new_disk()
        await self.storage.create(disk, self.instance_name)
        self.assertIsNone(await self.storage.remove(disk))
        self.assertIs(await self.storage.exists(disk),
                      not self.creates_data)
        self.assertIsNone(await self.storage.remove(disk))

    async def test_remove_missing(self):
        """
        Removing a disk that does not exist succeeds.
        """
        self.assertIsNone(await self.storage.remove(self.missing_disk()))

    async def test_missing(self):
        """
        A missing disk does not exist, cannot be assembled and has no size.
        """
        disk = self.missing_disk()
        self.assertIs(await self.storage.exists(disk), False)
        with self.assertRaises(BlockDeviceError):
            await self.storage.assemble(disk)
        with self.assertRaises(BlockDeviceError):
            await self.storage.get_size(disk)

    async def test_grow(self):
        """
        Growing adds the amount and gives the new size, or fails for a
        backend that cannot grow.
        """
        disk = self.new_disk()
        await self.storage.create(disk, self.instance_name)
        if not self.supports_grow:
            with self.assertRaises(BlockDeviceError):
                await self.storage.grow(disk, 4)
            return
        self.assertEqual(await self.storage.grow(disk, 4),
                         self.disk_size + 4)
        self.assertEqual(await self.storage.get_size(disk),
                         self.disk_size + 4)
        self.assertEqual(await self.storage.grow(disk, 0),
                         self.disk_size + 4)

    async def test_grow_negative(self):
        """
        A disk never shrinks through C{grow}.
        """
        disk = self.new_disk()
        await self.storage.create(disk, self.instance_name)
        with self.assertRaises(BlockDeviceError):
            await self.storage.grow(disk, -4)
        self.assertEqual(await self.storage.get_size(disk), self.disk_size)

    async def test_shutdown(self):
        """
        Shutting an assembled disk down keeps its data.
        """
        disk = self.new_disk()
        await self.storage.create(disk, self.instance_name)
        await self.storage.assemble(disk)
        self.assertIsNone(await self.storage.shutdown(disk))
        self.assertIs(await self.storage.exists(disk), True)

    async def test_bad_logical_id(self):
        """
        A malformed C{logical_id} is refused with L{BlockDeviceError}.
        """
        disk = dict(self.new_disk(), logical_id=["bogus"])
        with self.assertRaises(BlockDeviceError):
            await self.storage.create(disk, self.instance_name)
        with self.assertRaises(BlockDeviceError):
            await self.storage.exists(disk)
