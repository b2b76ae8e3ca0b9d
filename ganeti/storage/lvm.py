# -*- test-case-name: tests.test_storage -*-
"""
LVM logical volumes: the ``plain`` template, and LVM storage units (report,
modify, repair).

A disk's ``logical_id`` is ``[vg, lv]`` and its node path
``/dev/<vg>/<lv>``.  Everything goes through the LVM tools (``lvcreate``,
``lvremove``, ``lvextend``, ``lvchange``, ``lvs``, ``vgs``, ``pvs``, and
``pvchange``/``vgreduce`` for modifying and repairing storage units) run
with L{ganeti.process.run_command}, with the option set Ganeti uses so
that the output is one ``|``-separated line per object, sizes in MiB
without unit suffixes.

LVM needs the kernel's device-mapper to create or activate a volume.
Where it is missing (containers without ``/dev/mapper/control``) the
metadata commands (``pvcreate``, ``vgcreate``, ``vgs``, ``pvs``, ``lvs``)
still work but ``lvcreate`` fails; L{LogicalVolumeStorage.create} then says
so plainly, with ``lvcreate``'s own words.
"""

import os
import re

from twisted.internet.defer import Deferred
from zope.interface import implementer

from ganeti.disk_templates import DT_PLAIN
from ganeti.errors import BlockDeviceError, StorageError
from ganeti.process import DEFAULT_ENV, run_command
from ganeti.storage.interfaces import IBlockStorage, disk_dict
from ganeti.storage_units import ST_LVM_PV, ST_LVM_VG

TEMPLATE = DT_PLAIN

#: The LVM tools warn on standard error about every inherited descriptor;
#: that noise would end up in error messages.
LVM_ENV = {**DEFAULT_ENV, "LVM_SUPPRESS_FD_WARNINGS": "1"}

#: The device-mapper control node LVM needs to create or activate a volume.
DM_CONTROL = "/dev/mapper/control"

#: Seconds an LVM command may take before it is killed.
LVM_TIMEOUT = 60

_SEP = "|"
_REPORT_OPTIONS = ["--noheadings", "--nosuffix", "--units=m",
                   "--unbuffered", "--separator=" + _SEP]

# lvm(8): allowed characters (not starting with a hyphen) and reserved
# names, for VGs and LVs alike.
_VALID_NAME = re.compile(r"^[a-zA-Z0-9+_.][a-zA-Z0-9+_.-]*$")
_RESERVED_NAMES = frozenset([".", "..", "snapshot", "pvmove"])
_RESERVED_SUBSTRINGS = ("_mlog", "_mimage")

#: Allocation policies tried in turn when growing a volume: the strictest
#: may find no room where a looser one still does.
GROW_ALLOC_POLICIES = ("contiguous", "cling", "normal")

# Messages by which lvs/lvremove say "no such volume (group)".
_NOT_FOUND_MARKERS = ("failed to find logical volume", "not found")


def device_mapper_available():
    """
    :return: whether this node can create and activate logical volumes:
        the kernel has registered device-mapper, or opening its control
        node works (which also loads the module if needed).  The node
        merely existing proves nothing: ``libdevmapper`` creates it even
        where the kernel has no driver behind it.
    """
    if os.path.exists("/sys/class/misc/device-mapper"):
        return True
    try:
        fd = os.open(DM_CONTROL, os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


def validate_name(name):
    """
    :return: C{name}, if LVM accepts it as a VG or LV name.
    :raise BlockDeviceError: otherwise.
    """
    if (not isinstance(name, str) or not _VALID_NAME.match(name)
            or name in _RESERVED_NAMES
            or any(s in name for s in _RESERVED_SUBSTRINGS)):
        raise BlockDeviceError("Invalid LVM name %r" % (name,))
    return name


def instance_tag(instance_name):
    """
    :return: the LVM tag naming the instance that owns a volume
        (Ganeti's ``originstname+<name>``), reduced to the characters and
        the length LVM accepts in tags.
    """
    text = "originstname+%s" % (instance_name,)
    text = re.sub(r"[^-A-Za-z0-9_+.]", "_", text)
    if text[:1] == "-":
        text = "_" + text[1:]
    return text[:128]


def _size(text):
    """
    :return: an LVM size in MiB (printed like ``1020.00``) as an L{int}.
    """
    try:
        return int(round(float(text)))
    except ValueError:
        raise StorageError("Can't parse LVM size %r" % (text,))


def parse_report(output, field_count):
    """
    Split the output of ``vgs``/``pvs``/``lvs`` as run here.

    :param output: the command's standard output (bytes).
    :param field_count: how many fields each line must have.
    :return: a list of lists of stripped field strings.
    :raise StorageError: for a line with a different number of fields.
    """
    rows = []
    for line in output.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        fields = [f.strip() for f in line.strip().split(_SEP)]
        # Some LVM versions end a line with an extra separator.
        if len(fields) == field_count + 1 and fields[-1] == "":
            fields.pop()
        if len(fields) != field_count:
            raise StorageError("Can't parse LVM output line %r" % (line,))
        rows.append(fields)
    return rows


async def _report(reactor, command, fields, name=None, timeout=LVM_TIMEOUT):
    argv = [command] + _REPORT_OPTIONS + ["-o" + ",".join(fields)]
    if name is not None:
        argv.append(name)
    result = await run_command(reactor, argv, timeout=timeout, env=LVM_ENV)
    if result.failed:
        raise StorageError("Can't list LVM %s: %s"
                           % (command, result.describe()))
    return parse_report(result.stdout, len(fields))


def list_vgs(reactor, name=None, timeout=LVM_TIMEOUT):
    """
    Report volume groups with ``vgs``.

    :return: a Deferred firing with a list of
        C{{"type": "lvm-vg", "name", "size", "used", "free",
        "allocatable"}} (MiB); failing with L{StorageError}.
    """
    async def run():
        rows = await _report(reactor, "vgs",
                             ["vg_name", "vg_size", "vg_free", "vg_attr"],
                             name, timeout)
        return [{"type": ST_LVM_VG, "name": vg, "size": _size(size),
                 "used": _size(size) - _size(free), "free": _size(free),
                 # Ganeti reports VGs as always allocatable.
                 "allocatable": True}
                for vg, size, free, attr in rows]
    return Deferred.fromCoroutine(run())


def list_pvs(reactor, name=None, timeout=LVM_TIMEOUT):
    """
    Report physical volumes with ``pvs``.

    :return: a Deferred firing with a list of
        C{{"type": "lvm-pv", "name", "vg", "size", "used", "free",
        "allocatable"}} (MiB; C{allocatable} from the ``a`` attribute);
        failing with L{StorageError}.
    """
    async def run():
        rows = await _report(reactor, "pvs",
                             ["pv_name", "vg_name", "pv_size", "pv_used",
                              "pv_free", "pv_attr"], name, timeout)
        return [{"type": ST_LVM_PV, "name": pv, "vg": vg,
                 "size": _size(size), "used": _size(used),
                 "free": _size(free), "allocatable": attr[:1] == "a"}
                for pv, vg, size, used, free, attr in rows]
    return Deferred.fromCoroutine(run())


def list_volumes(reactor, timeout=LVM_TIMEOUT):
    """
    List every logical volume with ``lvs``, for ``gnt-node volumes``.

    An LV spread over several PVs appears once per PV, as in Ganeti.

    :return: a Deferred firing with a list of
        C{{"name", "size", "dev", "vg"}} (size in MiB, C{dev} the PV);
        failing with L{StorageError}.
    """
    async def run():
        rows = await _report(reactor, "lvs",
                             ["lv_name", "lv_size", "devices", "vg_name"],
                             None, timeout)
        volumes = []
        for lv, size, devices, vg in rows:
            # devices reads "/dev/sda1(0),/dev/sdb1(12)": PV(first extent).
            for dev in devices.split(",") if devices else [""]:
                volumes.append({"name": lv, "size": _size(size),
                                "dev": dev.split("(")[0], "vg": vg})
        return volumes
    return Deferred.fromCoroutine(run())


def _check_vg_name(vg):
    """
    :raise StorageError: unless LVM accepts C{vg} as a volume group name
        (which also keeps it from being read as an option).
    """
    try:
        return validate_name(vg)
    except BlockDeviceError:
        raise StorageError("Invalid volume group name %r" % (vg,))


def _check_pv_name(pv):
    """
    :raise StorageError: unless C{pv} is a device path, the form ``pvs``
        reports physical volumes in; anything else could be read as an
        option by the LVM tools.
    """
    if not isinstance(pv, str) or not os.path.isabs(pv) or "\0" in pv:
        raise StorageError("Invalid physical volume name %r" % (pv,))
    return pv


def set_pv_allocatable(reactor, pv, allocatable, timeout=LVM_TIMEOUT):
    """
    Allow or forbid new extents on a physical volume with ``pvchange
    --allocatable y|n`` (``gnt-node modify-storage``): an operator takes a
    failing disk out of allocation before evacuating it.

    :return: a Deferred firing with C{None}; failing with L{StorageError}.
    """
    async def run():
        if not isinstance(allocatable, bool):
            raise StorageError("The allocatable flag must be true or false,"
                               " not %r" % (allocatable,))
        argv = ["pvchange", "--allocatable", "y" if allocatable else "n",
                _check_pv_name(pv)]
        result = await run_command(reactor, argv, timeout=timeout,
                                   env=LVM_ENV)
        if result.failed:
            raise StorageError("Failed to modify physical volume %s: %s"
                               % (pv, result.describe()))
    return Deferred.fromCoroutine(run())


#: What ``vgreduce --removemissing`` prints once the VG is consistent.
_VG_CONSISTENT_MARKERS = ("Wrote out consistent volume group",
                          "is already consistent")
#: Its hint that it left volumes with extents on missing PVs alone.
_VG_NEEDS_FORCE_MARKER = "--removemissing --force"


def _vgreduce_done(output):
    """:return: whether ``vgreduce`` left a consistent VG behind."""
    return (any(marker in output for marker in _VG_CONSISTENT_MARKERS)
            and _VG_NEEDS_FORCE_MARKER not in output)


def repair_vg(reactor, vg, timeout=LVM_TIMEOUT):
    """
    Drop the missing physical volumes from a volume group (``gnt-node
    repair-storage``), as Ganeti does.

    ``vgreduce --removemissing`` runs first.  Its exit status is not
    trusted (some LVM versions fail on a VG they did fix), its words are:
    unless it reports a consistent VG, it runs again with ``--force``,
    which also removes the logical volumes that had extents on the
    missing PVs (their data is gone with the disk; mirrored disks are
    rebuilt by ``replace-disks``).  The VG must then still be listed.

    :return: a Deferred firing with C{None}; failing with L{StorageError}
        carrying what ``vgreduce`` said.
    """
    async def run():
        _check_vg_name(vg)
        argv = ["vgreduce", "--removemissing", vg]
        output = await _combined_output(reactor, argv, timeout)
        if not _vgreduce_done(output):
            output += "\n" + await _combined_output(
                reactor, argv[:2] + ["--force", vg], timeout)
        try:
            found = await _report(reactor, "vgs", ["vg_name"], vg, timeout)
        except StorageError:
            found = []
        if not found:
            raise StorageError("Volume group '%s' still not found (vgreduce"
                               " output: %r)" % (vg, output.strip()))
    return Deferred.fromCoroutine(run())


async def _combined_output(reactor, argv, timeout):
    """
    :return: what C{argv} printed, standard output then standard error,
        whatever its exit status.
    """
    result = await run_command(reactor, argv, timeout=timeout, env=LVM_ENV)
    return (result.stdout + result.stderr).decode("utf-8", "replace")


def _describe_dm_failure(what, result):
    """
    :return: a message explaining that device-mapper is missing, if
        C{result}'s error output shows it, else C{None}.
    """
    stderr = result.stderr.decode("utf-8", "replace")
    if "device-mapper" in stderr.lower() or DM_CONTROL in stderr:
        return ("%s: the kernel's device-mapper is not available on this"
                " node (%s is missing or unusable), so LVM cannot create or"
                " activate logical volumes. %s said: %s"
                % (what, DM_CONTROL, result.argv[0], " ".join(
                    line.strip() for line in stderr.splitlines()
                    if line.strip())))
    return None


@implementer(IBlockStorage)
class LogicalVolumeStorage:
    """
    Disks that are LVM logical volumes.
    """

    template = TEMPLATE

    def __init__(self, reactor, timeout=LVM_TIMEOUT):
        """
        :param reactor: an L{IReactorProcess} and L{IReactorTime}.
        :param timeout: seconds each LVM command may take.
        """
        self._reactor = reactor
        self._timeout = timeout

    @staticmethod
    def volume(disk):
        """
        :return: C{(vg, lv)} of C{disk}.
        :raise BlockDeviceError: for a malformed C{logical_id}.
        """
        logical_id = disk_dict(disk)["logical_id"]
        if len(logical_id) != 2:
            raise BlockDeviceError("Invalid plain logical_id %r: expected"
                                   " [vg, lv]" % (logical_id,))
        return validate_name(logical_id[0]), validate_name(logical_id[1])

    def _run(self, argv):
        return run_command(self._reactor, argv, timeout=self._timeout,
                           env=LVM_ENV)

    async def _lv_size(self, vg, lv):
        """
        :return: the LV's size in MiB, or C{None} if it does not exist.
        :raise BlockDeviceError: if ``lvs`` fails for another reason.
        """
        result = await self._run(["lvs"] + _REPORT_OPTIONS
                                 + ["-olv_name,lv_size", "%s/%s" % (vg, lv)])
        if result.failed:
            stderr = result.stderr.decode("utf-8", "replace").lower()
            if any(marker in stderr for marker in _NOT_FOUND_MARKERS):
                return None
            raise BlockDeviceError("Can't query %s/%s: %s"
                                   % (vg, lv, result.describe()))
        rows = parse_report(result.stdout, 2)
        if not rows:
            return None
        return _size(rows[0][1])

    async def _require_size(self, vg, lv):
        size = await self._lv_size(vg, lv)
        if size is None:
            raise BlockDeviceError("Logical volume %s/%s does not exist"
                                   % (vg, lv))
        return size

    def create(self, disk, instance_name):
        """
        Create the LV with ``lvcreate``, striped over up to
        C{disk["params"]["stripes"]} PVs (fewer if the VG has fewer PVs or
        the space is badly spread), tagged with the owning instance.

        :return: a Deferred firing with ``/dev/<vg>/<lv>``; failing with
            L{BlockDeviceError} (which names device-mapper when that is
            what is missing).
        """
        return Deferred.fromCoroutine(self._create(disk, instance_name))

    async def _create(self, disk, instance_name):
        vg, lv = self.volume(disk)
        info = disk_dict(disk)
        size = info["size"]
        if not isinstance(size, int) or size <= 0:
            raise BlockDeviceError("%s/%s: invalid size %r" % (vg, lv, size))
        try:
            pvs = await list_pvs(self._reactor, timeout=self._timeout)
        except StorageError as e:
            raise BlockDeviceError("Can't compute PV info for vg %s: %s"
                                   % (vg, e))
        pvs = [pv for pv in pvs if pv["vg"] == vg and pv["allocatable"]]
        if not pvs:
            raise BlockDeviceError("Can't create %s/%s: volume group %s has"
                                   " no allocatable physical volumes (does"
                                   " it exist?)" % (vg, lv, vg))
        free = sum(pv["free"] for pv in pvs)
        if free < size:
            raise BlockDeviceError("Not enough free space in %s to create"
                                   " %s: required %d MiB, available %d MiB"
                                   % (vg, lv, size, free))
        # Most free space first, so the widest stripes fit.
        pvs.sort(key=lambda pv: pv["free"], reverse=True)
        pv_names = [pv["name"] for pv in pvs]
        wanted = int((info.get("params") or {}).get("stripes", 1) or 1)
        stripes = max(1, min(len(pv_names), wanted))
        base = ["lvcreate", "-Wn", "-L%dm" % (size,), "-n" + lv]
        if instance_name:
            base += ["--addtag", instance_tag(instance_name)]
        for count in range(stripes, 0, -1):
            result = await self._run(base + ["-i%d" % (count,), vg]
                                     + pv_names)
            if not result.failed:
                return "/dev/%s/%s" % (vg, lv)
            dm_message = _describe_dm_failure(
                "Can't create logical volume %s/%s" % (vg, lv), result)
            if dm_message:
                raise BlockDeviceError(dm_message)
        raise BlockDeviceError("LV create failed for %s/%s: %s"
                               % (vg, lv, result.describe()))

    def remove(self, disk):
        """
        Remove the LV with ``lvremove -f``; a missing LV is not an error.

        :return: a Deferred firing with C{None}.
        """
        return Deferred.fromCoroutine(self._remove(disk))

    async def _remove(self, disk):
        vg, lv = self.volume(disk)
        if await self._lv_size(vg, lv) is None:
            return
        result = await self._run(["lvremove", "-f", "%s/%s" % (vg, lv)])
        if result.failed:
            raise BlockDeviceError("Can't lvremove %s/%s: %s"
                                   % (vg, lv, result.describe()))

    def grow(self, disk, amount_mib):
        """
        Extend the LV with ``lvextend -L+<n>m``, trying the allocation
        policies of L{GROW_ALLOC_POLICIES} in turn.

        :return: a Deferred firing with the new size in MiB.
        """
        return Deferred.fromCoroutine(self._grow(disk, amount_mib))

    async def _grow(self, disk, amount_mib):
        vg, lv = self.volume(disk)
        if not isinstance(amount_mib, int) or amount_mib < 0:
            raise BlockDeviceError("%s/%s: can't grow by %r MiB"
                                   % (vg, lv, amount_mib))
        size = await self._require_size(vg, lv)
        if not amount_mib:
            return size
        for policy in GROW_ALLOC_POLICIES:
            result = await self._run(["lvextend", "-L+%dm" % (amount_mib,),
                                      "--alloc", policy,
                                      "/dev/%s/%s" % (vg, lv)])
            if not result.failed:
                return await self._require_size(vg, lv)
        raise BlockDeviceError("Can't grow LV %s/%s: %s"
                               % (vg, lv, result.describe()))

    def assemble(self, disk):
        """
        Activate the LV with ``lvchange -ay`` (volumes are sometimes
        inactive after a boot).

        :return: a Deferred firing with ``/dev/<vg>/<lv>``.
        """
        return Deferred.fromCoroutine(self._assemble(disk))

    async def _assemble(self, disk):
        vg, lv = self.volume(disk)
        path = "/dev/%s/%s" % (vg, lv)
        result = await self._run(["lvchange", "-ay", path])
        if result.failed:
            message = _describe_dm_failure("Can't activate %s" % (path,),
                                           result)
            raise BlockDeviceError(message or "Can't activate %s: %s"
                                   % (path, result.describe()))
        return path

    def shutdown(self, disk):
        """
        Leave the LV active, as Ganeti does: deactivating gains nothing.

        :return: a Deferred firing with C{None}.
        """
        async def run():
            self.volume(disk)
        return Deferred.fromCoroutine(run())

    def get_size(self, disk):
        """
        :return: a Deferred firing with the LV's size in MiB (from ``lvs``).
        """
        async def run():
            return await self._require_size(*self.volume(disk))
        return Deferred.fromCoroutine(run())

    def exists(self, disk):
        """
        :return: a Deferred firing with whether ``lvs`` knows the LV.
        """
        async def run():
            return await self._lv_size(*self.volume(disk)) is not None
        return Deferred.fromCoroutine(run())
