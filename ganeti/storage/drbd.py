# -*- test-case-name: tests.test_drbd -*-
"""
DRBD 8.4 devices: the ``drbd`` template, a disk mirrored over the network
between an instance's primary and secondary node.

A disk's ``logical_id`` is ``[node A, node B, port, minor A, minor B,
secret]`` (nodes by uuid, as in Ganeti) and its ``children`` are two
``plain`` disks on each node: the data volume and a 128 MiB metadata
volume.  The master annotates the disk for the node it calls with the
node's side of it, in C{dynamic_params}: C{local-minor}, C{remote-minor},
C{local-ip} and C{remote-ip} (the nodes' secondary addresses), so a node
never needs the cluster's config to drive its half.

Each device is its own DRBD resource, ``resource<minor>``, driven by
``drbdsetup`` and ``drbdmeta`` in the 8.4 syntax Ganeti uses (drbd-utils
9 runs its ``drbdsetup-84`` for an 8.4 kernel), and its state read from
``/proc/drbd``.  Every step checks what is already there first, so an
operation interrupted by a crash converges when it is run again.
"""

import re
import shlex

from twisted.internet.defer import Deferred, succeed
from zope.interface import implementer

from ganeti.disk_templates import DRBD_META_SIZE, DT_DRBD
from ganeti.errors import BlockDeviceError
from ganeti.process import run_command
from ganeti.storage.interfaces import IBlockStorage, disk_dict

TEMPLATE = DT_DRBD

PROC_DRBD = "/proc/drbd"
#: The block major of DRBD devices.
DRBD_MAJOR = 147
#: The authentication Ganeti configures for the replication link.
HMAC_ALG = "md5"
#: Seconds a drbd command may take.
DRBD_TIMEOUT = 60

#: Local disk states Ganeti reports (``ldisk``).
LDS_OKAY = "ok"
LDS_SYNC = "syncing"
LDS_FAULTY = "faulty"
LDS_UNKNOWN = "unknown"

_MINOR_LINE = re.compile(r"^\s*(\d+):\s+cs:(\S+)(?:\s+ro:(\S+)\s+ds:(\S+))?")
_SYNC_LINE = re.compile(r"sync'ed:\s*([0-9.]+)%")
_FINISH_LINE = re.compile(r"finish:\s*(\d+):(\d+):(\d+)")
_VERSION_LINE = re.compile(r"^version:\s*(\d+)\.(\d+)\.(\d+)")

#: Connection states in which the peers talk.
_CONNECTED = frozenset(["Connected", "SyncSource", "SyncTarget",
                        "PausedSyncS", "PausedSyncT", "VerifyS", "VerifyT",
                        "StartingSyncS", "StartingSyncT", "WFBitMapS",
                        "WFBitMapT", "WFSyncUUID"])
_RESYNCING = frozenset(["SyncSource", "SyncTarget", "PausedSyncS",
                        "PausedSyncT", "StartingSyncS", "StartingSyncT",
                        "WFBitMapS", "WFBitMapT", "WFSyncUUID"])


def device_path(minor):
    """:return: the node path of DRBD minor C{minor}."""
    return "/dev/drbd%d" % minor


def resource_name(minor):
    """:return: the DRBD resource of C{minor} (one resource per device)."""
    return "resource%d" % minor


def parse_version(text):
    """:return: ``(major, minor, point)`` of the module, from /proc/drbd."""
    for line in text.splitlines():
        match = _VERSION_LINE.match(line)
        if match:
            return tuple(int(part) for part in match.groups())
    raise BlockDeviceError("Can't parse the DRBD version from %s"
                           % PROC_DRBD)


def parse_proc(text):
    """
    Read the state of every minor from the text of ``/proc/drbd``.

    :return: C{{minor: status}}, a status being a dict with C{cstate}
        (connection state), C{role}, C{peer_role}, C{disk}, C{peer_disk}
        (the local and remote disk states) and, during a resync,
        C{sync_percent} and C{estimated_time} (seconds), else C{None}.
        Unconfigured minors are left out.
    """
    minors = {}
    current = None
    for line in text.splitlines():
        match = _MINOR_LINE.match(line)
        if match:
            number, cstate, roles, disks = match.groups()
            current = None
            if cstate == "Unconfigured":
                continue
            role, _, peer_role = (roles or "Unknown/Unknown").partition("/")
            disk, _, peer_disk = (disks or "Diskless/DUnknown").partition("/")
            current = minors[int(number)] = {
                "cstate": cstate, "role": role, "peer_role": peer_role,
                "disk": disk, "peer_disk": peer_disk,
                "sync_percent": None, "estimated_time": None}
            continue
        if current is None:
            continue
        sync = _SYNC_LINE.search(line)
        if sync:
            current["sync_percent"] = float(sync.group(1))
        finish = _FINISH_LINE.search(line)
        if finish:
            hours, minutes, seconds = (int(x) for x in finish.groups())
            current["estimated_time"] = hours * 3600 + minutes * 60 + seconds
    return minors


def read_proc():
    """
    :return: the text of ``/proc/drbd`` (a read of a kernel file: does not
        block).
    :raise BlockDeviceError: if the DRBD module is not loaded.
    """
    try:
        with open(PROC_DRBD) as f:
            return f.read()
    except OSError as e:
        raise BlockDeviceError("DRBD is not available on this node (%s: %s);"
                               " is the drbd module loaded?"
                               % (PROC_DRBD, e.strerror))


def sync_status(minor, status):
    """
    Ganeti's view of one device (its C{BlockDevStatus}).

    :param status: the minor's entry of L{parse_proc}, or C{None} if it
        is not configured.
    :return: C{{"dev_path", "major", "minor", "sync_percent",
        "estimated_time", "is_degraded", "ldisk_status", "cstate",
        "role", "peer_role", "disk", "peer_disk"}}.
    """
    if status is None:
        status = {"cstate": "Unconfigured", "role": "Unknown",
                  "peer_role": "Unknown", "disk": "Diskless",
                  "peer_disk": "DUnknown", "sync_percent": None,
                  "estimated_time": None}
    connected = status["cstate"] in _CONNECTED
    uptodate = status["disk"] == "UpToDate"
    if status["disk"] == "Diskless" or status["cstate"] in (
            "StandAlone", "Unconfigured"):
        ldisk = LDS_FAULTY
    elif uptodate:
        ldisk = LDS_OKAY
    elif status["cstate"] in _RESYNCING:
        ldisk = LDS_SYNC
    else:
        ldisk = LDS_UNKNOWN
    return dict(status, dev_path=device_path(minor), major=DRBD_MAJOR,
                minor=minor, is_degraded=not connected or not uptodate,
                ldisk_status=ldisk)


def parse_show(text):
    """
    The parts of ``drbdsetup show <minor>`` that say what a device is
    attached and connected to.

    :return: C{{"disk", "meta", "local", "remote"}}, each C{None} if
        absent (addresses as ``family:host:port``).
    """
    def find(pattern):
        match = re.search(pattern, text)
        return match.group(1) if match else None

    def address(section):
        match = re.search(section + r"\s*\{[^}]*?address\s+(\S+)\s+(\S+);",
                          text)
        if not match:
            return None
        return "%s:%s" % (match.group(1), match.group(2))
    return {"disk": find(r'\bdisk\s+"([^"]+)";'),
            "meta": find(r'\bmeta-disk\s+"([^"]+)";'),
            "local": address("_this_host"), "remote": address("_remote_host")}


def _family(host):
    return "ipv6" if ":" in host else "ipv4"


def _endpoint(host, port):
    if ":" in host:
        return "ipv6:[%s]:%d" % (host, port)
    return "ipv4:%s:%d" % (host, port)


def barrier_options(disk_barriers, meta_barriers):
    """
    :param disk_barriers: Ganeti's ``disk-barriers`` parameter: letters of
        the mechanisms to disable (``b`` barriers, ``f`` flushes, ``d``
        drain), or ``n`` for none.
    :param meta_barriers: Ganeti's ``meta-barriers``: disable flushes of
        the metadata device.
    :return: ``drbdsetup attach`` options (8.4 syntax).
    :raise BlockDeviceError: for an unknown letter.
    """
    options = []
    letters = set(disk_barriers or "n") - {"n"}
    unknown = letters - set("bfd")
    if unknown:
        raise BlockDeviceError("Invalid disk-barriers value %r"
                               % (disk_barriers,))
    if meta_barriers:
        options.append("--md-flushes=no")
    for letter, option in (("f", "--disk-flushes=no"),
                           ("d", "--disk-drain=no"),
                           ("b", "--disk-barrier=no")):
        if letter in letters:
            options.append(option)
    return options


def sync_options(params):
    """
    :return: the ``drbdsetup disk-options`` arguments of the disk
        parameters: a fixed ``resync-rate``, or DRBD's dynamic resync
        controller (the ``c-*`` parameters) with ``dynamic-resync``.
    :raise BlockDeviceError: for ``c-plan-ahead`` 0 with the dynamic
        controller (that would silently disable it).
    """
    if params.get("dynamic-resync"):
        if not params.get("c-plan-ahead"):
            raise BlockDeviceError(
                "A value of 0 for c-plan-ahead disables the dynamic sync"
                " speed controller at DRBD level; set the dynamic-resync"
                " disk parameter to False instead")
        return ["--c-plan-ahead", str(params["c-plan-ahead"]),
                "--c-fill-target", str(params["c-fill-target"]),
                "--c-delay-target", str(params["c-delay-target"]),
                "--c-max-rate", str(params["c-max-rate"]),
                "--c-min-rate", str(params["c-min-rate"])]
    return ["--resync-rate", "%d" % params.get("resync-rate", 61440)]


class DrbdDevice:
    """
    One node's half of a ``drbd`` disk, as annotated by the master.
    """

    def __init__(self, disk):
        disk = disk_dict(disk)
        try:
            _, _, port, _, _, secret = disk["logical_id"]
            dyn = disk["dynamic_params"]
            self.minor = int(dyn["local-minor"])
            self.local_ip = dyn["local-ip"]
            self.remote_ip = dyn["remote-ip"]
            self.port = int(port)
            data, meta = disk["children"]
        except (KeyError, TypeError, ValueError):
            raise BlockDeviceError("Invalid drbd disk %r: it needs a logical"
                                   " id of six parts, two children and the"
                                   " node's dynamic parameters"
                                   % (disk.get("uuid"),))
        self.disk = disk
        self.secret = secret
        self.data = disk_dict(data)
        self.meta = disk_dict(meta)
        self.params = disk.get("params") or {}
        self.size = disk["size"]

    @property
    def path(self):
        return device_path(self.minor)

    @property
    def resource(self):
        return resource_name(self.minor)

    def local_endpoint(self):
        return _endpoint(self.local_ip, self.port)

    def remote_endpoint(self):
        return _endpoint(self.remote_ip, self.port)


@implementer(IBlockStorage)
class DrbdStorage:
    """
    DRBD devices over ``plain`` children; see the module's description.

    Besides L{ganeti.storage.interfaces.IBlockStorage} it has what the
    moves of a mirrored disk need: L{open} and L{close} (roles),
    L{disconnect} and L{connect} (the replication link, optionally
    dual-primary), L{status}, L{replace_children}.
    """

    template = TEMPLATE

    def __init__(self, reactor, volumes, timeout=DRBD_TIMEOUT):
        """
        :param volumes: the L{ganeti.storage.lvm.LogicalVolumeStorage}
            holding the children.
        """
        self._reactor = reactor
        self._volumes = volumes
        self._timeout = timeout

    # --- running the tools ---------------------------------------------------

    async def _run(self, argv, what):
        result = await run_command(self._reactor, argv,
                                   timeout=self._timeout)
        if result.failed:
            raise BlockDeviceError("%s: %s" % (what, result.describe()))
        return result

    def _minors(self):
        return parse_proc(read_proc())

    def _state(self, device):
        return self._minors().get(device.minor)

    async def _show(self, device):
        result = await run_command(self._reactor,
                                   ["drbdsetup", "show", str(device.minor)],
                                   timeout=self._timeout)
        if result.failed:
            return parse_show("")
        return parse_show(result.stdout.decode("utf-8", "replace"))

    def _child_path(self, child):
        return "/dev/%s/%s" % tuple(child["logical_id"])

    # --- the device's life ---------------------------------------------------

    def create(self, disk, instance_name):
        """
        Create both volumes and write fresh DRBD metadata; the device
        itself only exists once assembled.  Volumes already there are
        kept (a create interrupted after them converges).

        :return: a Deferred firing with the device's path.
        """
        return Deferred.fromCoroutine(self._create(disk, instance_name))

    async def _create(self, disk, instance_name):
        device = DrbdDevice(disk)
        status = self._state(device)
        if status is not None:
            raise BlockDeviceError("drbd%d: minor is already in use at create"
                                   " time" % device.minor)
        for child in (device.data, device.meta):
            if not await self._volumes.exists(child):
                await self._volumes.create(child, instance_name)
        await self._init_meta(device.meta)
        return device.path

    async def _init_meta(self, meta):
        """
        Write fresh metadata on a meta volume.  drbdmeta wants a minor
        with it, one not configured (it refuses one in use), so any free
        one serves, as in Ganeti.
        """
        meta_path = self._child_path(meta)
        used = self._minors()
        minor = next(m for m in range(len(used) + 1) if m not in used)
        # Zeroed first so drbdmeta finds no old signature to ask about.
        await self._run(["dd", "if=/dev/zero", "of=" + meta_path, "bs=1M",
                         "count=%d" % DRBD_META_SIZE, "oflag=direct"],
                        "Can't wipe the meta device %s" % meta_path)
        await self._run(["drbdmeta", "--force", device_path(minor), "v08",
                         meta_path, "flex-external", "create-md"],
                        "Can't initialize the meta device %s" % meta_path)

    def assemble(self, disk, primary=False):
        """
        Bring the device up on this node: its volumes active, attached to
        them, connected to the peer, and primary if C{primary}.  Whatever
        already matches is kept; a device of this minor set up
        differently is torn down and set up again.

        :return: a Deferred firing with the device's path.
        """
        return Deferred.fromCoroutine(self._assemble(disk, primary))

    async def _assemble(self, disk, primary):
        device = DrbdDevice(disk)
        for child in (device.data, device.meta):
            await self._volumes.assemble(child)
        status = self._state(device)
        data_path = self._child_path(device.data)
        meta_path = self._child_path(device.meta)
        if status is not None:
            shown = await self._show(device)
            wrong_disk = (shown["disk"] not in (None, data_path)
                          or shown["meta"] not in (None, meta_path))
            wrong_net = shown["remote"] not in (None,
                                                device.remote_endpoint())
            if wrong_disk or wrong_net:
                await self._down(device)
                status = None
        if status is None or status["disk"] == "Diskless":
            await self._attach(device, status is not None)
            status = self._state(device)
        if status is None or status["cstate"] == "StandAlone":
            await self._connect(device, dual_primary=False)
        if primary:
            await self._primary(device, force=False)
        return device.path

    async def _new_minor(self, device):
        """The device's resource and minor, before attach or connect."""
        await self._run(["drbdsetup", "new-resource", device.resource],
                        "drbd%d: can't create the resource" % device.minor)
        await self._run(["drbdsetup", "new-minor", device.resource,
                         str(device.minor), "0"],
                        "drbd%d: can't create the minor" % device.minor)

    async def _attach(self, device, resource_exists):
        meta_path = self._child_path(device.meta)
        data_path = self._child_path(device.data)
        if not resource_exists:
            await self._new_minor(device)
        # The activity log must be applied before the attach.
        await self._run(["drbdmeta", device.path, "v08", meta_path,
                         "flex-external", "apply-al"],
                        "drbd%d: can't apply the activity log"
                        % device.minor)
        params = device.params
        argv = ["drbdsetup", "attach", str(device.minor), data_path,
                meta_path, "flexible", "--on-io-error=detach",
                "--size", "%dm" % device.size]
        argv += barrier_options(params.get("disk-barriers"),
                                params.get("meta-barriers"))
        argv += shlex.split(params.get("disk-custom") or "")
        await self._run(argv, "drbd%d: can't attach local disk"
                        % device.minor)
        await self._run(["drbdsetup", "disk-options", str(device.minor)]
                        + sync_options(params),
                        "drbd%d: can't set the sync parameters"
                        % device.minor)

    async def _connect(self, device, dual_primary):
        if self._state(device) is None:
            await self._new_minor(device)
        argv = ["drbdsetup", "connect", device.resource,
                device.local_endpoint(), device.remote_endpoint(),
                "--protocol", device.params.get("protocol", "C"),
                "--after-sb-0pri", "discard-zero-changes",
                "--after-sb-1pri", "consensus"]
        if dual_primary:
            argv.append("--allow-two-primaries")
        if device.secret:
            argv += ["--cram-hmac-alg", HMAC_ALG,
                     "--shared-secret", device.secret]
        argv += shlex.split(device.params.get("net-custom") or "")
        await self._run(argv, "drbd%d: can't set up the network"
                        % device.minor)

    async def _primary(self, device, force):
        argv = ["drbdsetup", "primary", str(device.minor)]
        if force:
            argv.append("--force")
        await self._run(argv, "drbd%d: can't make drbd device primary"
                        % device.minor)

    async def _down(self, device):
        if self._state(device) is None:
            return
        await self._run(["drbdsetup", "down", device.resource],
                        "drbd%d: can't shutdown drbd device" % device.minor)

    def open(self, disk, force=False):
        """
        Make this node's side primary (assembling it first); C{force}
        overrides DRBD's refusal when no side has good data, which only a
        new disk's first primary or a failover from a dead node needs.
        """
        async def run():
            await self._assemble(disk, primary=False)
            await self._primary(DrbdDevice(disk), force)
            return DrbdDevice(disk).path
        return Deferred.fromCoroutine(run())

    def close(self, disk):
        """
        Make this node's side secondary (it fails while the device is in
        use).
        """
        async def run():
            device = DrbdDevice(disk)
            status = self._state(device)
            if status is not None and status["role"] == "Primary":
                await self._run(["drbdsetup", "secondary",
                                 str(device.minor)],
                                "drbd%d: can't switch drbd device to"
                                " secondary" % device.minor)
        return Deferred.fromCoroutine(run())

    def shutdown(self, disk):
        """
        Take the device down on this node (its data and metadata stay).
        """
        return Deferred.fromCoroutine(self._down(DrbdDevice(disk)))

    def remove(self, disk):
        """
        Take the device down and delete both volumes; missing ones are
        fine, so a removal can be retried.
        """
        async def run():
            device = DrbdDevice(disk)
            await self._down(device)
            for child in (device.data, device.meta):
                await self._volumes.remove(child)
        return Deferred.fromCoroutine(run())

    def grow(self, disk, amount_mib, dryrun=False, backingstore=False):
        """
        Ganeti grows a mirrored disk in two passes: the data volumes on
        both nodes (C{backingstore}), then the device on the primary
        (``drbdsetup resize``), which DRBD passes on to the peer.

        :return: a Deferred firing with the new size in MiB.
        """
        device = DrbdDevice(disk)
        if backingstore:
            return self._volumes.grow(device.data, amount_mib, dryrun=dryrun)
        if dryrun:
            return succeed(device.size + amount_mib)

        async def run():
            new_size = device.size + amount_mib
            await self._run(["drbdsetup", "resize", str(device.minor),
                             "--size", "%dm" % new_size],
                            "drbd%d: resize failed" % device.minor)
            return new_size
        return Deferred.fromCoroutine(run())

    def get_size(self, disk):
        """
        :return: a Deferred firing with the size of the data volume.
        """
        return self._volumes.get_size(DrbdDevice(disk).data)

    def exists(self, disk):
        """
        :return: a Deferred firing with whether both volumes exist.
        """
        async def run():
            device = DrbdDevice(disk)
            for child in (device.data, device.meta):
                if not await self._volumes.exists(child):
                    return False
            return True
        return Deferred.fromCoroutine(run())

    # --- the replication link --------------------------------------------------

    def status(self, disk):
        """
        :return: a Deferred firing with L{sync_status} of the device.
        """
        device = DrbdDevice(disk)
        return succeed(sync_status(device.minor, self._state(device)))

    def disconnect(self, disk):
        """
        Cut this side's link to the peer (the device goes StandAlone and
        keeps serving its local data).
        """
        async def run():
            device = DrbdDevice(disk)
            status = self._state(device)
            if status is None or status["cstate"] == "StandAlone":
                return
            await self._run(["drbdsetup", "disconnect",
                             device.local_endpoint(),
                             device.remote_endpoint()],
                            "drbd%d: can't shutdown network"
                            % device.minor)
        return Deferred.fromCoroutine(run())

    def connect(self, disk, dual_primary=False):
        """
        (Re)connect this side to the peer the disk names, allowing two
        primaries for a live migration if C{dual_primary}; a connected
        device is disconnected first so the new settings apply.
        """
        async def run():
            device = DrbdDevice(disk)
            status = self._state(device)
            if status is not None and status["cstate"] != "StandAlone":
                await self._run(["drbdsetup", "disconnect",
                                 device.local_endpoint(),
                                 device.remote_endpoint()],
                                "drbd%d: can't shutdown network"
                                % device.minor)
            await self._connect(device, dual_primary)
        return Deferred.fromCoroutine(run())

    def replace_children(self, disk, new_children, old_suffix):
        """
        Put this side on new volumes (``replace-disks -p``/``-s``), as
        Ganeti does: detach the device from its volumes, rename those to
        ``<name><old_suffix>``, give the new ones (created before, under
        other names) the old names, so the configuration stays as it is,
        write fresh metadata and attach; DRBD then copies the data back
        from the peer.  A step found done already is skipped, so a run
        interrupted by a crash can be repeated.

        :param new_children: the new data and meta volumes, as disks.
        :return: a Deferred firing with the C{logical_id}s of the old
            volumes, for the caller to remove once the resync is done.
        """
        async def run():
            device = DrbdDevice(disk)
            status = self._state(device)
            if status is None:
                raise BlockDeviceError("drbd%d: not active, can't replace its"
                                       " disks" % device.minor)
            if status["disk"] != "Diskless":
                await self._run(["drbdsetup", "detach", str(device.minor)],
                                "drbd%d: can't detach local disk"
                                % device.minor)
            replaced = []
            for old, new in zip((device.data, device.meta),
                                [disk_dict(c) for c in new_children]):
                vg, name = old["logical_id"]
                aside = [vg, name + old_suffix]
                replaced.append(aside)
                if await self._volumes.exists(dict(old, logical_id=aside)):
                    continue
                if await self._volumes.exists(old):
                    await self._volumes.rename(old, aside)
                await self._volumes.rename(new, old["logical_id"])
            await self._init_meta(device.meta)
            await self._attach(device, resource_exists=True)
            return replaced
        return Deferred.fromCoroutine(run())
