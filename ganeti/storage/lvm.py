# -*- test-case-name: tests.test_storage -*-
"""
LVM logical volumes: the ``plain`` template, and LVM storage units (report,
modify, repair).

A disk's ``logical_id`` is ``[vg, lv]`` and its node path
``/dev/<vg>/<lv>``.  Everything goes through the LVM tools (``lvcreate``,
``lvremove``, ``lvextend``, ``lvrename``, ``lvchange``, ``lvs``, ``vgs``,
``pvs``, and ``pvchange``/``vgreduce`` for modifying and repairing storage
units) run with L{ganeti.process.run_command}, with the option set Ganeti
uses so that the output is one ``|``-separated line per object, sizes in
MiB without unit suffixes.

With a node's ``exclusive_storage`` flag (Ganeti's "exclusive storage"),
every physical volume serves one logical volume at most: a volume is
created on as many empty PVs as its disk's ``spindles`` say, free space is
counted in whole empty PVs of a standard size (the smallest PV less
Ganeti's margins, L{std_pv_size}), and a volume grows only within its own
PVs.

LVM needs the kernel's device-mapper to create or activate a volume.
Where it is missing (containers without ``/dev/mapper/control``) the
metadata commands (``pvcreate``, ``vgcreate``, ``vgs``, ``pvs``, ``lvs``)
still work but ``lvcreate`` fails; L{LogicalVolumeStorage.create} then says
so plainly, with ``lvcreate``'s own words.
"""

import math
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

#: Exclusive storage: PVs may differ in size by this fraction, and this
#: fraction of each is kept free (Ganeti's PART_MARGIN, PART_RESERVED).
PART_MARGIN = 0.01
PART_RESERVED = 0.02

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


def pv_info(reactor, vg_names=None, filter_allocatable=True,
            include_lvs=False, timeout=LVM_TIMEOUT):
    """
    Describe physical volumes as Ganeti's volume code needs them (for
    creating volumes, exclusive storage and cluster verify).

    :param vg_names: only the PVs of these volume groups (all if empty).
    :param filter_allocatable: leave out PVs not allocatable.
    :param include_lvs: list the LVs on each PV (``pvs`` then reports one
        line per segment).
    :return: a Deferred firing with a list of C{{"name", "vg", "size",
        "free", "attributes", "lv_list"}} (sizes in MiB, floats), in
        ``pvs`` order; failing with L{StorageError}.
    """
    async def run():
        fields = ["pv_name", "vg_name", "pv_free", "pv_attr", "pv_size"]
        if include_lvs:
            fields.append("lv_name")
        rows = await _report(reactor, "pvs", fields, None, timeout)
        if include_lvs:
            rows.sort(key=lambda row: (row[0], row[5]))
        result = []
        for row in rows:
            name, vg, free, attr, size = row[:5]
            lv = row[5] if include_lvs else ""
            if filter_allocatable and attr[:1] != "a":
                continue
            if vg_names and vg not in vg_names:
                continue
            if result and result[-1]["name"] == name:
                # Another segment of the same PV.
                if lv and lv not in result[-1]["lv_list"]:
                    result[-1]["lv_list"].append(lv)
                continue
            result.append({"name": name, "vg": vg, "size": _float(size),
                           "free": _float(free), "attributes": attr,
                           "lv_list": [lv] if lv else []})
        return result
    return Deferred.fromCoroutine(run())


def _float(text):
    try:
        return float(text)
    except ValueError:
        raise StorageError("Can't parse LVM size %r" % (text,))


def pv_is_empty(pv):
    """:return: whether no volume uses the PV (1 MiB of slack, as Ganeti)."""
    return pv["size"] <= pv["free"] + 1


def std_pv_size(pvs):
    """
    :param pvs: L{pv_info} entries, not empty.
    :return: the size in MiB exclusive storage counts every PV as: the
        smallest less Ganeti's margins.
    """
    smallest = min(pv["size"] for pv in pvs)
    return smallest // (1 + PART_MARGIN + PART_RESERVED)


def pvs_needed(size, pvs):
    """:return: how many standard PVs a volume of C{size} MiB needs."""
    return int(math.ceil(float(size) / std_pv_size(pvs)))


def empty_pv_names(pvs, limit=None):
    """:return: the names of the empty PVs, the first C{limit} only."""
    names = [pv["name"] for pv in pvs if pv_is_empty(pv)]
    return names if limit is None else names[:limit]


def bad_pv_sizes(small, big):
    """
    :return: whether PVs of sizes C{small} and C{big} are too different
        for exclusive storage (no size is within the margin of both).
    """
    return small * (1 + PART_MARGIN) < big * (1 - PART_MARGIN)


def check_node_pvs(pvs, exclusive_storage):
    """
    What cluster verify says about a node's PVs.

    :param pvs: L{pv_info} entries (with their LVs if exclusive).
    :return: ``(messages, (smallest, biggest) or None)``; the sizes only
        with exclusive storage.
    """
    messages = []
    for pv in pvs:
        # lvcreate reads "pv:extents" as a range of one PV.
        if ":" in pv["name"]:
            messages.append("Invalid character ':' in PV '%s' of VG '%s'"
                            % (pv["name"], pv["vg"]))
    extremes = None
    if exclusive_storage and pvs:
        sizes = [pv["size"] for pv in pvs]
        extremes = (min(sizes), max(sizes))
        if bad_pv_sizes(*extremes):
            messages.append("Sizes of PVs are too different: min=%d max=%d"
                            % extremes)
        for pv in pvs:
            if len(pv["lv_list"]) > 1:
                messages.append("PV %s is shared among unrelated LVs (%s)"
                                % (pv["name"], ", ".join(pv["lv_list"])))
    return messages, extremes


def vg_sizes(reactor, timeout=LVM_TIMEOUT):
    """
    :return: a Deferred firing with C{{vg name: size in MiB}} of every
        volume group (empty when ``vgs`` fails, as Ganeti's list).
    """
    async def run():
        try:
            rows = await _report(reactor, "vgs", ["vg_name", "vg_size"],
                                 None, timeout)
        except StorageError:
            return {}
        return {vg: int(float(size)) for vg, size in rows}
    return Deferred.fromCoroutine(run())


def vg_space(reactor, vg, exclusive_storage=False, timeout=LVM_TIMEOUT):
    """
    The space of one volume group as node info reports it (``gnt-node
    list`` dtotal, dfree, sptotal, spfree; free space checks).

    :return: a Deferred firing with C{{"name", "size", "free",
        "spindles_total", "spindles_free"}} (MiB; C{size} and C{free} None
        if the VG does not exist).  With exclusive storage C{free} counts
        only empty PVs, each as L{std_pv_size}, and the spindles are the
        VG's PVs and its empty ones; without, both spindle counts are 0,
        as in Ganeti.
    """
    async def run():
        try:
            rows = await _report(reactor, "vgs",
                                 ["vg_name", "vg_free", "vg_attr", "vg_size"],
                                 None, timeout)
        except StorageError:
            rows = []
        found = [row for row in rows if row[0] == vg and row[2][:1] != "r"]
        info = {"name": vg, "size": None, "free": None,
                "spindles_total": 0, "spindles_free": 0}
        if found:
            _, free, _, size = found[0]
            info["size"] = int(round(_float(size)))
            info["free"] = int(round(_float(free)))
        if exclusive_storage:
            pvs = await pv_info(reactor, [vg], timeout=timeout)
            empty = len(empty_pv_names(pvs))
            info["spindles_total"] = len(pvs)
            info["spindles_free"] = empty
            if found:
                info["free"] = int(round(std_pv_size(pvs) * empty
                                         if pvs else 0))
        return info
    return Deferred.fromCoroutine(run())


#: ``lvs`` lines of L{list_lvs}: vg, lv, size, attributes.
_LVS_LINE = re.compile(r"^ *([^|]+)\|([^|]+)\|([0-9.]+)\|([^|]{6,})\|?$")


def list_lvs(reactor, vg_names=(), timeout=LVM_TIMEOUT):
    """
    The logical volumes of some volume groups, as cluster verify and
    verify-disks see them.

    :param vg_names: these VGs only (all when empty).
    :return: a Deferred firing with C{{"vg/lv": [size MiB, inactive,
        online]}}; volumes LVM calls virtual (no data behind them any more
        after ``vgreduce --removemissing``) are left out, as Ganeti does;
        failing with L{StorageError}.
    """
    async def run():
        argv = (["lvs", "--noheadings", "--units=m", "--nosuffix",
                 "--separator=" + _SEP, "-ovg_name,lv_name,lv_size,lv_attr"]
                + [_check_vg_name(vg) for vg in vg_names])
        result = await run_command(reactor, argv, timeout=timeout,
                                   env=LVM_ENV)
        if result.failed:
            raise StorageError("Failed to list logical volumes, lvs output:"
                               " %s" % (result.describe(),))
        volumes = {}
        for line in result.stdout.decode("utf-8", "replace").splitlines():
            match = _LVS_LINE.match(line.strip())
            if not match:
                continue
            vg, lv, size, attr = match.groups()
            if attr[0] == "v":
                continue
            volumes["%s/%s" % (vg, lv)] = [_size(size), attr[4] == "-",
                                           attr[5] == "o"]
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

    def create(self, disk, instance_name, excl_stor=False):
        """
        Create the LV with ``lvcreate``, tagged with the owning instance.

        Without exclusive storage it is striped over up to
        C{disk["params"]["stripes"]} allocatable PVs (fewer if the VG has
        fewer PVs or the space is badly spread).  With exclusive storage it
        takes C{disk["spindles"]} empty PVs (at least as many as its size
        needs in standard PVs) and is striped over all of them.

        :param excl_stor: the node's exclusive storage flag.
        :return: a Deferred firing with ``/dev/<vg>/<lv>``; failing with
            L{BlockDeviceError} (which names device-mapper when that is
            what is missing).
        """
        return Deferred.fromCoroutine(self._create(disk, instance_name,
                                                   excl_stor))

    async def _create(self, disk, instance_name, excl_stor):
        vg, lv = self.volume(disk)
        info = disk_dict(disk)
        size = info["size"]
        if not isinstance(size, int) or size <= 0:
            raise BlockDeviceError("%s/%s: invalid size %r" % (vg, lv, size))
        try:
            pvs = await pv_info(self._reactor, [vg], timeout=self._timeout)
        except StorageError as e:
            raise BlockDeviceError("Can't compute PV info for vg %s: %s"
                                   % (vg, e))
        if not pvs:
            if excl_stor:
                raise BlockDeviceError("No (empty) PVs found in volume group"
                                       " %s" % (vg,))
            raise BlockDeviceError("Can't create %s/%s: volume group %s has"
                                   " no allocatable physical volumes (does"
                                   " it exist?)" % (vg, lv, vg))
        # Most free space first, so the widest stripes fit.
        pvs.sort(key=lambda pv: pv["free"], reverse=True)
        pv_names = [pv["name"] for pv in pvs]
        if any(":" in name for name in pv_names):
            raise BlockDeviceError("Some of your PVs have the invalid"
                                   " character ':' in their name, this is"
                                   " not supported - please filter them"
                                   " out in lvm.conf")
        wanted = int((info.get("params") or {}).get("stripes", 1) or 1)
        stripes = max(1, min(len(pv_names), wanted))
        if excl_stor:
            pv_names = self._exclusive_pvs(info, size, pvs)
            stripes = len(pv_names)
        else:
            free = sum(pv["free"] for pv in pvs)
            if free < size:
                raise BlockDeviceError(
                    "Not enough free space in %s to create %s: required %d"
                    " MiB, available %d MiB" % (vg, lv, size, free))
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

    @staticmethod
    def _exclusive_pvs(info, size, pvs):
        """
        :return: the empty PVs a new volume takes under exclusive storage:
            as many as the disk's spindles.
        :raise BlockDeviceError: without spindles, with too few for the
            size, or with too few empty PVs.
        """
        spindles = info.get("spindles")
        if spindles is None:
            raise BlockDeviceError(
                "Unspecified number of spindles: this is required when"
                " exclusive storage is enabled, try running gnt-cluster"
                " repair-disk-sizes")
        needed = pvs_needed(size, pvs)
        if spindles < needed:
            raise BlockDeviceError(
                "Requested number of spindles (%s) is not enough for a disk"
                " of %d MB (at least %d spindles needed)"
                % (spindles, size, needed))
        names = empty_pv_names(pvs, spindles)
        if len(names) < spindles:
            raise BlockDeviceError(
                "Not enough empty PVs (spindles) to create a disk of %d MB:"
                " %d available, %d needed" % (size, len(names), spindles))
        return names

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

    async def _details(self, vg, lv):
        """
        :return: C{{"attr", "extent_kib", "stripes", "pvs"}} of an LV (its
            attributes, extent size in KiB, stripe count and PV names), as
            Ganeti attaches to one; C{None} if it does not exist.
        :raise BlockDeviceError: for output that cannot be parsed.
        """
        result = await self._run([
            "lvs", "--noheadings", "--separator=" + _SEP, "--units=k",
            "--nosuffix", "-ovg_name,lv_name,lv_attr,vg_extent_size,stripes,"
            "devices", "%s/%s" % (vg, lv)])
        if result.failed:
            return None
        lines = [line for line in result.stdout.decode(
            "utf-8", "replace").splitlines() if line.strip()]
        if not lines:
            return None
        fields = [f.strip() for f in lines[0].strip().split(_SEP)]
        if len(fields) == 7 and fields[-1] == "":
            fields.pop()
        try:
            _, _, attr, extent, stripes, devices = fields
            details = {"attr": attr, "extent_kib": int(float(extent)),
                       "stripes": int(stripes), "pvs": []}
        except ValueError:
            raise BlockDeviceError("Can't parse lvs output for %s/%s: %r"
                                   % (vg, lv, lines[0]))
        # One line per segment: the PVs of all of them, each once.
        for line in lines:
            segment = line.strip().split(_SEP)
            devices = segment[5].strip() if len(segment) > 5 else ""
            for device in devices.split(",") if devices else []:
                name = device.split("(")[0]
                if name and name not in details["pvs"]:
                    details["pvs"].append(name)
        return details

    def grow(self, disk, amount_mib, dryrun=False, excl_stor=False):
        """
        Extend the LV with ``lvextend``, rounding the amount up to whole
        stripes of extents, and trying the allocation policies of
        L{GROW_ALLOC_POLICIES} in turn, as Ganeti does.

        :param dryrun: only check that the growth would work
            (``lvextend --test``).
        :param excl_stor: the node's exclusive storage flag: the volume
            then grows only on its own PVs, within their standard size.
        :return: a Deferred firing with the size in MiB afterwards (the
            current size for a dry run).
        """
        return Deferred.fromCoroutine(self._grow(disk, amount_mib, dryrun,
                                                 excl_stor))

    async def _grow(self, disk, amount_mib, dryrun, excl_stor):
        vg, lv = self.volume(disk)
        if not isinstance(amount_mib, int) or amount_mib < 0:
            raise BlockDeviceError("%s/%s: can't grow by %r MiB"
                                   % (vg, lv, amount_mib))
        size = await self._require_size(vg, lv)
        if not amount_mib:
            return size
        details = await self._details(vg, lv)
        if details is None:
            raise BlockDeviceError("Can't attach to LV %s/%s during grow"
                                   % (vg, lv))
        amount_kib = amount_mib * 1024
        full_stripe = details["extent_kib"] * max(details["stripes"], 1)
        if full_stripe and amount_kib % full_stripe:
            amount_kib += full_stripe - amount_kib % full_stripe
        path = "/dev/%s/%s" % (vg, lv)
        argv = ["lvextend", "-L", "+%dk" % (amount_kib,)]
        if dryrun:
            argv.append("--test")
        pv_names = []
        if excl_stor:
            pvs = await pv_info(self._reactor, [vg], timeout=self._timeout)
            if not pvs:
                raise BlockDeviceError("Cannot get information about PVs for"
                                       " %s" % (path,))
            standard = std_pv_size(pvs)
            available = sum(pv["free"] - (pv["size"] - standard)
                            for pv in pvs if pv["name"] in details["pvs"])
            if amount_kib > available * 1024:
                raise BlockDeviceError(
                    "Not enough free space to grow %s: %d MiB required, %d"
                    " available" % (path, amount_kib // 1024, available))
            # Growing never adds spindles: the volume keeps its PVs.
            pv_names = list(details["pvs"])
        for policy in GROW_ALLOC_POLICIES:
            result = await self._run(argv + ["--alloc", policy, path]
                                     + pv_names)
            if not result.failed:
                if dryrun:
                    return size
                return await self._require_size(vg, lv)
        raise BlockDeviceError("Can't grow LV %s/%s: %s"
                               % (vg, lv, result.describe()))

    def spindles(self, disk):
        """
        :return: a Deferred firing with the number of PVs the LV has
            extents on (its spindles under exclusive storage).
        """
        async def run():
            vg, lv = self.volume(disk)
            details = await self._details(vg, lv)
            if details is None:
                raise BlockDeviceError("Logical volume %s/%s does not exist"
                                       % (vg, lv))
            return len(details["pvs"])
        return Deferred.fromCoroutine(run())

    def rename(self, disk, new_logical_id):
        """
        Rename the LV with ``lvrename`` (volumes cannot move between
        volume groups).

        :param new_logical_id: ``[vg, new lv name]``.
        :return: a Deferred firing with the new ``/dev/<vg>/<lv>``.
        """
        async def run():
            vg, lv = self.volume(disk)
            if (not isinstance(new_logical_id, (list, tuple))
                    or len(new_logical_id) != 2):
                raise BlockDeviceError("Invalid new logical id %r"
                                       % (new_logical_id,))
            new_vg, new_lv = (validate_name(new_logical_id[0]),
                              validate_name(new_logical_id[1]))
            if new_vg != vg:
                raise BlockDeviceError(
                    "Can't move a logical volume across volume groups (from"
                    " %s to %s)" % (vg, new_vg))
            result = await self._run(["lvrename", vg, lv, new_lv])
            if result.failed:
                raise BlockDeviceError("Failed to rename the logical volume"
                                       " %s/%s: %s"
                                       % (vg, lv, result.describe()))
            return "/dev/%s/%s" % (vg, new_lv)
        return Deferred.fromCoroutine(run())

    def snapshot(self, disk, snap_name=None, snap_size=None):
        """
        Take an LVM snapshot of the LV (``lvcreate -s``), for exporting a
        running instance: a snapshot of the same name left from an earlier
        run is removed first, and the snapshot gets the whole size of the
        disk unless told otherwise (as in Ganeti, so it can never fill).

        :return: a Deferred firing with the snapshot's ``[vg, lv]``
            (default name ``<lv>.snap``); failing with L{BlockDeviceError}
            when the VG has not enough free space.
        """
        return Deferred.fromCoroutine(self._snapshot(disk, snap_name,
                                                     snap_size))

    async def _snapshot(self, disk, snap_name, snap_size):
        vg, lv = self.volume(disk)
        name = validate_name(snap_name or lv + ".snap")
        size = snap_size or disk_dict(disk)["size"]
        await self._require_size(vg, lv)
        snap = dict(disk_dict(disk), logical_id=[vg, name], size=size)
        try:
            await self._remove(snap)
        except BlockDeviceError:
            pass
        space = await vg_space(self._reactor, vg, timeout=self._timeout)
        if space["free"] is None:
            raise BlockDeviceError("Can't compute VG info for vg %s" % (vg,))
        if space["free"] < size:
            raise BlockDeviceError("Not enough free space: required %s,"
                                   " available %s" % (size, space["free"]))
        result = await self._run(["lvcreate", "-L%dm" % (size,), "-s",
                                  "-n" + name, "/dev/%s/%s" % (vg, lv)])
        if result.failed:
            raise BlockDeviceError("Can't snapshot %s/%s: %s"
                                   % (vg, lv, result.describe()))
        return [vg, name]

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
