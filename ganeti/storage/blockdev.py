# -*- test-case-name: tests.test_storage -*-
"""
Adopted block devices: the ``blockdev`` template.

The administrator provides the device (a SAN LUN, a multipath map, a
partition) and Ganeti only uses it: ``logical_id`` is ``["manual",
"/dev/..."]``, "creating" a disk checks that the device is there and
removing one leaves the data alone.  The device must be reachable under
the same name on every node that may run the instance.
"""

import os
import stat

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from ganeti.disk_templates import DRIVER_MANUAL, DT_BLOCK
from ganeti.errors import BlockDeviceError
from ganeti.process import run_command
from ganeti.storage.interfaces import MIB, IBlockStorage, disk_dict

TEMPLATE = DT_BLOCK


def _is_block_device(path):
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


@implementer(IBlockStorage)
class AdoptedBlockDevice:
    """
    Disks that are existing block devices below ``/dev``.
    """

    template = TEMPLATE

    def __init__(self, reactor, timeout=30):
        """
        :param reactor: an L{IReactorProcess} and L{IReactorTime}.
        :param timeout: seconds ``blockdev --getsize64`` may take.
        """
        self._reactor = reactor
        self._timeout = timeout

    @staticmethod
    def device_path(disk):
        """
        :return: the device path of C{disk}.
        :raise BlockDeviceError: if the C{logical_id} is not
            ``["manual", path]`` with a path that lies in ``/dev`` (after
            following symlinks, so ``/dev/disk/by-id/...`` is fine).
        """
        logical_id = disk_dict(disk)["logical_id"]
        if len(logical_id) != 2 or logical_id[0] != DRIVER_MANUAL:
            raise BlockDeviceError("Invalid blockdev logical_id %r: expected"
                                   " ['manual', '/dev/...']" % (logical_id,))
        path = logical_id[1]
        if (not isinstance(path, str)
                or not os.path.realpath(path).startswith("/dev/")):
            raise BlockDeviceError("Device path %r lies outside /dev"
                                   % (path,))
        return path

    def _checked_device(self, disk):
        path = self.device_path(disk)
        if not _is_block_device(path):
            raise BlockDeviceError("%s is not a block device" % (path,))
        return path

    def create(self, disk, instance_name):
        """
        Adopt the device: check it is a block device, change nothing.

        :return: a Deferred firing with the device path.
        """
        try:
            return succeed(self._checked_device(disk))
        except BlockDeviceError:
            return fail()

    def remove(self, disk):
        """
        Forget the device; its data stays (it belongs to the administrator).

        :return: a Deferred firing with C{None}.
        """
        try:
            self.device_path(disk)
        except BlockDeviceError:
            return fail()
        return succeed(None)

    def grow(self, disk, amount_mib):
        """
        Adopted devices are resized outside Ganeti.

        :return: a Deferred failing with L{BlockDeviceError}.
        """
        return fail(BlockDeviceError(
            "Grow is not supported for adopted block devices (blockdev"
            " template)"))

    def assemble(self, disk):
        """
        :return: a Deferred firing with the device path if it is present.
        """
        return self.create(disk, None)

    def shutdown(self, disk):
        """
        Nothing to undo.

        :return: a Deferred firing with C{None}.
        """
        return self.remove(disk)

    def get_size(self, disk):
        """
        Ask the kernel with ``blockdev --getsize64``.

        :return: a Deferred firing with the device's size in MiB.
        """
        return Deferred.fromCoroutine(self._get_size(disk))

    async def _get_size(self, disk):
        path = self._checked_device(disk)
        result = await run_command(self._reactor,
                                   ["blockdev", "--getsize64", path],
                                   timeout=self._timeout)
        if result.failed:
            raise BlockDeviceError("Can't get the size of %s: %s"
                                   % (path, result.describe()))
        try:
            return int(result.stdout.strip()) // MIB
        except ValueError:
            raise BlockDeviceError("Can't parse the size of %s: %r"
                                   % (path, result.stdout))

    def exists(self, disk):
        """
        :return: a Deferred firing with whether the device is present.
        """
        try:
            return succeed(_is_block_device(self.device_path(disk)))
        except BlockDeviceError:
            return fail()
