# -*- test-case-name: tests.test_extstorage -*-
"""
ExtStorage providers: the ``ext`` disk template (Ganeti's ExtStorage
interface, ``man ganeti-extstorage-interface``).

A provider is a directory ``<extstorage search path>/<provider>`` (by
default ``/srv/ganeti/extstorage``) with the executables ``create``,
``attach``, ``detach``, ``remove``, ``grow``, ``setinfo`` and ``verify``,
optionally ``open``, ``close`` and ``snapshot``, and the text file
``parameters.list``.  It reaches storage every node of a node group can
see (a SAN, a shared file system, a storage cluster), so ``ext``
instances fail over and migrate to any node; the scripts run on the node
that uses the volume.

A disk's C{logical_id} is ``[provider, volume name]`` (the master names
volumes ``<unique id>.ext.disk<N>``) and its C{params} carry the
provider's parameters, given to every script as ``EXTP_<NAME>``.  The
scripts get everything else through Ganeti's ``VOL_*`` variables
(L{environment}).  ``attach`` prints the volume's block device on its
first line, possibly empty for a provider with userspace access only,
and then ``<hypervisor>:<uri>`` lines.

Finding and checking providers, their logs and the wrapper running the
scripts are shared with the OS definitions (L{ganeti.scriptdir}).
"""

import os
import re
import stat

from attrs import field, frozen
from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from ganeti.errors import BlockDeviceError, CommandTimedOut
from ganeti.process import DEFAULT_ENV, run_command
from ganeti.scriptdir import (
    PARAMETERS_FILE, bad_name, check_file, create_log, exit_reason,
    find_directory, log_component, log_stamp, parse_parameters, read_lines,
    run_logged, tail_file, visible_entries)
from ganeti.storage.interfaces import MIB, IBlockStorage, disk_dict

TEMPLATE = "ext"

ACTION_CREATE = "create"
ACTION_REMOVE = "remove"
ACTION_GROW = "grow"
ACTION_ATTACH = "attach"
ACTION_DETACH = "detach"
ACTION_SETINFO = "setinfo"
ACTION_VERIFY = "verify"
ACTION_SNAPSHOT = "snapshot"
ACTION_OPEN = "open"
ACTION_CLOSE = "close"

#: Scripts every provider must have.
REQUIRED_SCRIPTS = (ACTION_CREATE, ACTION_REMOVE, ACTION_GROW, ACTION_ATTACH,
                    ACTION_DETACH, ACTION_SETINFO, ACTION_VERIFY)
#: Scripts a provider may have (Ganeti made them optional for providers
#: written before they existed).
OPTIONAL_SCRIPTS = (ACTION_SNAPSHOT, ACTION_OPEN, ACTION_CLOSE)

#: What Ganeti writes to a new volume with ``setinfo``: this prefix and
#: the instance's name.
METADATA_PREFIX = "originstname+"
#: Ganeti cuts ``setinfo`` metadata to this many characters.
METADATA_MAX_LENGTH = 128


@frozen
class ExtStorageProvider:
    """
    What a node knows about one provider, valid or not.

    :ivar name: the provider's name.
    :ivar path: its directory, or C{None} if it was not found.
    :ivar valid: whether it can be used.
    :ivar error: why it cannot (empty when valid).
    :ivar parameters: ``(name, description)`` pairs of
        ``parameters.list``.
    :ivar scripts: the scripts it has, required and optional.
    """

    name: str
    path: str | None
    valid: bool
    error: str = ""
    parameters: tuple = field(
        default=(), converter=lambda ps: tuple(tuple(p) for p in ps))
    scripts: tuple = field(default=(), converter=tuple)

    def script(self, action):
        """
        :return: the path of the script for C{action}, or C{None} if the
            provider has none (an optional one).
        """
        return os.path.join(self.path, action) if action in self.scripts \
            else None

    def require_valid(self):
        """
        :return: C{self}.
        :raise BlockDeviceError: with L{error} if the provider is invalid.
        """
        if not self.valid:
            raise BlockDeviceError(self.error)
        return self

    def to_dict(self):
        """
        :return: the JSON-able form of the ``extstorage_diagnose`` answer.
        """
        return {"name": self.name, "path": self.path, "valid": self.valid,
                "error": self.error,
                "parameters": [list(p) for p in self.parameters]}


def _invalid(name, path, error):
    return ExtStorageProvider(name=name, path=path, valid=False, error=error)


def load_provider(name, path):
    """
    Read and check the provider in directory C{path}, as Ganeti's
    C{ExtStorageFromDisk} does.

    :return: an L{ExtStorageProvider}, invalid with the reason if a check
        fails.
    """
    if not os.path.isdir(path):
        return _invalid(name, path, "Directory for External Storage"
                        " Provider %s not found in search path" % (name,))
    scripts = []
    for script in REQUIRED_SCRIPTS + OPTIONAL_SCRIPTS:
        error = check_file(path, script, executable=True)
        if error is None:
            scripts.append(script)
        elif (script in REQUIRED_SCRIPTS
              or os.path.lexists(os.path.join(path, script))):
            # An optional script that is there but broken is an error
            # too, as in Ganeti: it would fail when first needed.
            return _invalid(name, path, error)
    error = check_file(path, PARAMETERS_FILE, executable=False)
    if error:
        return _invalid(name, path, error)
    parameters_file = os.path.join(path, PARAMETERS_FILE)
    try:
        lines = read_lines(parameters_file)
    except OSError as e:
        return _invalid(name, path, "Error while reading the EXT parameters"
                        " file at %s: %s" % (parameters_file, e.strerror))
    return ExtStorageProvider(name=name, path=path, valid=True,
                              parameters=parse_parameters(lines),
                              scripts=scripts)


def find_provider(search_path, name):
    """
    :return: the L{ExtStorageProvider} C{name} from the first search
        directory that has it; an invalid one if none has it.
    """
    if bad_name(name):
        return _invalid(name, None, "Invalid ExtStorage provider name %r"
                        % (name,))
    directory = find_directory(search_path, name)
    if directory is None:
        return _invalid(name, None, "Directory for External Storage Provider"
                        " %s not found in search path" % (name,))
    return load_provider(name, directory)


def diagnose(search_path):
    """
    Examine every entry of the search path (``gnt-storage diagnose``).

    :return: a list of L{ExtStorageProvider}, in search path order.
    """
    return [load_provider(name, path)
            for name, path in visible_entries(search_path)]


def environment(vol_name, params, size=None, new_size=None, metadata=None,
                name=None, uuid=None, snap_name=None, snap_size=None,
                exclusive=None):
    """
    The complete environment of a provider script: Ganeti's variables,
    each only when it has a value, plus a fixed C{PATH} and C{LC_ALL}
    (nothing of the daemon's own environment leaks in).

    :param params: the disk's parameters, exported as ``EXTP_<NAME>``
        (the name upper-cased, as Ganeti does).
    :param size: ``VOL_SIZE`` (MiB; create, grow).
    :param new_size: ``VOL_NEW_SIZE`` (MiB; grow).
    :param metadata: ``VOL_METADATA`` (setinfo).
    :param name: ``VOL_CNAME``, the disk's name.
    :param uuid: ``VOL_UUID``, the disk's uuid.
    :param snap_name: ``VOL_SNAPSHOT_NAME`` (snapshot).
    :param snap_size: ``VOL_SNAPSHOT_SIZE`` (snapshot).
    :param exclusive: ``VOL_OPEN_EXCLUSIVE`` (open): ``True`` or
        ``False``, as Python writes them (Ganeti's form).
    :return: a dict of C{str}.
    """
    env = dict(DEFAULT_ENV)
    env["VOL_NAME"] = vol_name
    for pname, value in (params or {}).items():
        env["EXTP_%s" % (pname.upper(),)] = str(value)
    for key, value in (("VOL_SIZE", size), ("VOL_NEW_SIZE", new_size),
                       ("VOL_METADATA", metadata), ("VOL_CNAME", name),
                       ("VOL_UUID", uuid), ("VOL_SNAPSHOT_NAME", snap_name),
                       ("VOL_SNAPSHOT_SIZE", snap_size),
                       ("VOL_OPEN_EXCLUSIVE", exclusive)):
        if value is not None:
            env[key] = str(value)
    return env


def metadata_text(text):
    """
    :return: C{text} as Ganeti passes it to ``setinfo``: characters
        outside ``[-A-Za-z0-9_+.]`` (and a leading ``-``) replaced by
        ``_``, at most L{METADATA_MAX_LENGTH} characters.
    """
    text = re.sub("^[^A-Za-z0-9_+.]", "_", text)
    text = re.sub("[^-A-Za-z0-9_+.]", "_", text)
    return text[:METADATA_MAX_LENGTH]


def parse_attach_output(stdout):
    """
    :param stdout: what ``attach`` printed (bytes).
    :return: C{(device path or None, [userspace URIs])}.
    """
    lines = stdout.decode("utf-8", "replace").split("\n")
    device = lines[0].strip() or None
    uris = [line.strip() for line in lines[1:] if line.strip()]
    return device, uris


def userspace_uri(uris, hypervisor):
    """
    :return: the URI of C{uris} (``<hypervisor>:<uri>`` lines of
        ``attach``) for C{hypervisor}, without its prefix, or C{None}.
    """
    prefix = hypervisor.lower() + ":"
    for uri in uris:
        if uri[:len(prefix)].lower() == prefix:
            return uri[len(prefix):]
    return None


def log_file_name(action, provider, vol_name, timestamp):
    """
    :return: Ganeti's ``<action>-<provider>-<volume>-<timestamp>.log``.
    """
    return "%s-%s-%s-%s.log" % (action, log_component(provider),
                                log_component(vol_name),
                                log_stamp(timestamp))


@frozen
class Volume:
    """
    One provider volume: a disk as the scripts see it.

    :ivar provider: the provider's name (C{logical_id[0]}).
    :ivar name: the volume's name (C{logical_id[1]}, ``VOL_NAME``).
    :ivar size: the disk's size in MiB, as the configuration has it.
    :ivar params: the disk's parameters (``EXTP_*``).
    :ivar cname: the disk's name (``VOL_CNAME``), if it has one.
    :ivar uuid: the disk's uuid (``VOL_UUID``).
    """

    provider: str
    name: str
    size: int
    params: dict
    cname: str | None
    uuid: str | None

    @classmethod
    def from_disk(cls, disk):
        """
        :raise BlockDeviceError: unless C{logical_id} is
            ``[provider, volume name]``.
        """
        disk = disk_dict(disk)
        logical_id = disk["logical_id"]
        if (len(logical_id) != 2
                or not all(isinstance(p, str) and p for p in logical_id)):
            raise BlockDeviceError("Invalid ext logical_id %r: expected"
                                   " [provider, volume name]"
                                   % (logical_id,))
        return cls(provider=logical_id[0], name=logical_id[1],
                   size=disk.get("size") or 0,
                   params=dict(disk.get("params") or {}),
                   cname=disk.get("name"), uuid=disk.get("uuid"))


@implementer(IBlockStorage)
class ExtStorage:
    """
    Volumes of the ExtStorage providers installed on this node.

    Every operation finds the provider again, so a provider installed or
    fixed while the node runs is used at once, as in Ganeti.
    """

    template = TEMPLATE

    def __init__(self, reactor, search_path, log_dir, timeout=3600,
                 size_timeout=60):
        """
        :param reactor: an L{IReactorProcess} and L{IReactorTime}.
        :param search_path: the directories providers are looked for in
            (the node's L{ganeti.paths.Paths.extstorage_search_path}).
        :param log_dir: where the scripts' logs go
            (L{ganeti.paths.Paths.extstorage_log_dir}).
        :param timeout: seconds one script may run.
        :param size_timeout: seconds ``blockdev --getsize64`` may take.
        """
        self._reactor = reactor
        self._search_path = list(search_path)
        self._log_dir = log_dir
        self._timeout = timeout
        self._size_timeout = size_timeout

    def provider(self, name):
        """
        :return: the valid L{ExtStorageProvider} C{name}.
        :raise BlockDeviceError: if it is missing or invalid here.
        """
        return find_provider(self._search_path, name).require_valid()

    # --- running scripts ------------------------------------------------

    def run(self, action, volume, **variables):
        """
        Run one script of the volume's provider.

        :param action: the script, one of L{REQUIRED_SCRIPTS} or
            L{OPTIONAL_SCRIPTS}.
        :param variables: keyword arguments of L{environment}.
        :return: a Deferred firing with what the script printed on its
            standard output for ``attach`` (the others log it), C{None}
            for an optional script the provider does not have; failing
            with L{BlockDeviceError} naming the provider, the script and
            its last lines of output.
        """
        try:
            provider = self.provider(volume.provider)
            script = provider.script(action)
            if script is None:
                if action in OPTIONAL_SCRIPTS:
                    return succeed(None)
                raise BlockDeviceError("ExtStorage provider %s has no %s"
                                       " script" % (provider.name, action))
            env = environment(volume.name, volume.params, **variables)
            # Ganeti keeps no log of attach, which runs on every
            # activation and lookup; its output is the answer.
            log_path = None if action == ACTION_ATTACH else create_log(
                self._log_dir, log_file_name(action, provider.name,
                                             volume.name,
                                             self._reactor.seconds()))
        except Exception:
            return fail()
        if log_path is None:
            d = run_command(self._reactor, [script], timeout=self._timeout,
                            env=env, cwd=provider.path)
        else:
            d = run_logged(self._reactor, script, (), env, provider.path,
                           log_path, self._timeout,
                           name="ganeti-extstorage-" + action)

        def message(reason, lines):
            where = (" (log file %s)" % (log_path,)) if log_path else ""
            return ("External storage's %s script of provider %s failed for"
                    " volume %s (%s), last lines of output%s:\n%s"
                    % (action, provider.name, volume.name, reason, where,
                       "\n".join(lines)))

        def output_lines(result):
            if log_path is not None:
                return tail_file(log_path)
            text = (result.stderr or result.stdout).decode("utf-8",
                                                           "replace")
            return text.splitlines()[-20:]

        def finished(result):
            if result.failed:
                raise BlockDeviceError(message(exit_reason(result),
                                               output_lines(result)))
            return result.stdout if log_path is None else None

        def timed_out(failure):
            failure.trap(CommandTimedOut)
            partial = failure.value.result if hasattr(
                failure.value, "result") else None
            lines = output_lines(partial) if partial is not None else []
            raise BlockDeviceError(message(
                "timed out after %g seconds" % (self._timeout,), lines))

        return d.addCallbacks(finished, timed_out)

    async def attach(self, disk):
        """
        Map the volume on this node (``attach``; idempotent).

        :return: (coroutine) C{(device path or None, userspace URIs)}.
        :raise BlockDeviceError: if the script fails, prints neither a
            device nor a URI, or a device that is not a block device.
        """
        volume = Volume.from_disk(disk)
        stdout = await self.run(ACTION_ATTACH, volume, name=volume.cname,
                                uuid=volume.uuid)
        device, uris = parse_attach_output(stdout or b"")
        if device is None:
            if not uris:
                raise BlockDeviceError(
                    "The attach script of ExtStorage provider %s gave neither"
                    " a block device nor a userspace URI for volume %s"
                    % (volume.provider, volume.name))
            return None, uris
        try:
            is_block = stat.S_ISBLK(os.stat(device).st_mode)
        except OSError as e:
            raise BlockDeviceError("The attach script of ExtStorage provider"
                                   " %s gave %s for volume %s: %s"
                                   % (volume.provider, device, volume.name,
                                      e.strerror))
        if not is_block:
            raise BlockDeviceError("The attach script of ExtStorage provider"
                                   " %s gave %s for volume %s, which is not"
                                   " a block device"
                                   % (volume.provider, device, volume.name))
        return device, uris

    def _action(self, action, disk, **variables):
        """Run C{action} for C{disk} with the disk's name and uuid."""
        try:
            volume = Volume.from_disk(disk)
        except BlockDeviceError:
            return fail()
        return self.run(action, volume, name=volume.cname, uuid=volume.uuid,
                        **variables)

    # --- IBlockStorage ----------------------------------------------------

    def create(self, disk, instance_name):
        """
        Provision the volume (``create`` with ``VOL_SIZE``), map it and
        record its instance (``setinfo`` with ``originstname+<instance>``,
        as Ganeti does after every creation).

        :return: a Deferred firing with the volume's device path (C{None}
            for a userspace-only provider).
        """
        return Deferred.fromCoroutine(self._create(disk, instance_name))

    async def _create(self, disk, instance_name):
        volume = Volume.from_disk(disk)
        await self._action(ACTION_CREATE, disk, size=volume.size)
        device, _ = await self.attach(disk)
        if instance_name:
            await self.set_info(disk, METADATA_PREFIX + instance_name)
        return device

    def set_info(self, disk, text):
        """
        Give the volume metadata (``setinfo``), cleaned as Ganeti does
        (L{metadata_text}).

        :return: a Deferred firing with C{None}.
        """
        return self._action(ACTION_SETINFO, disk,
                            metadata=metadata_text(text))

    def remove(self, disk):
        """
        Unmap and delete the volume.  A volume that cannot be attached is
        taken to be gone already (Ganeti's rule), so removing twice works.

        :return: a Deferred firing with C{None}.
        """
        return Deferred.fromCoroutine(self._remove(disk))

    async def _remove(self, disk):
        Volume.from_disk(disk)
        if not await self.exists(disk):
            return None
        await self._action(ACTION_DETACH, disk)
        await self._action(ACTION_REMOVE, disk)
        return None

    def grow(self, disk, amount_mib):
        """
        Enlarge the volume (``grow`` with ``VOL_SIZE``, the configured
        size, and ``VOL_NEW_SIZE``).  Growing by 0 runs nothing.

        :return: a Deferred firing with the new size in MiB as the device
            shows it.
        """
        return Deferred.fromCoroutine(self._grow(disk, amount_mib))

    async def _grow(self, disk, amount_mib):
        volume = Volume.from_disk(disk)
        if amount_mib < 0:
            raise BlockDeviceError("Cannot shrink volume %s of ExtStorage"
                                   " provider %s by %d MiB"
                                   % (volume.name, volume.provider,
                                      -amount_mib))
        await self.attach(disk)
        if amount_mib:
            await self._action(ACTION_GROW, disk, size=volume.size,
                               new_size=volume.size + amount_mib)
        return await self.get_size(disk)

    def assemble(self, disk, exclusive=True):
        """
        Map the volume and open it for I/O (``open``, if the provider has
        it, with ``VOL_OPEN_EXCLUSIVE``), as Ganeti activates a disk.

        :param exclusive: C{False} while a migration has the volume open
            on two nodes.
        :return: a Deferred firing with the device path.
        """
        return Deferred.fromCoroutine(self._assemble(disk, exclusive))

    async def _assemble(self, disk, exclusive):
        device, _ = await self.attach(disk)
        await self.open(disk, exclusive)
        return device

    def open(self, disk, exclusive=True):
        """
        ``open`` the volume (mapped before); nothing if the provider has
        no such script.

        :return: a Deferred firing with C{None}.
        """
        return self._action(ACTION_OPEN, disk, exclusive=bool(exclusive))

    def close(self, disk):
        """
        ``close`` the volume: no more I/O from this node (before a
        migration's other side takes over); nothing without the script.

        :return: a Deferred firing with C{None}.
        """
        return self._action(ACTION_CLOSE, disk)

    def shutdown(self, disk):
        """
        Unmap the volume from this node (``detach``; idempotent).  As in
        Ganeti, ``close`` is not run: a provider's ``detach`` undoes all
        that ``attach`` and ``open`` did.

        :return: a Deferred firing with C{None}.
        """
        return self._action(ACTION_DETACH, disk)

    def get_size(self, disk):
        """
        :return: a Deferred firing with the mapped device's size in MiB
            (``blockdev --getsize64``); the configured size for a
            userspace-only provider, which has no device to ask.
        """
        return Deferred.fromCoroutine(self._get_size(disk))

    async def _get_size(self, disk):
        volume = Volume.from_disk(disk)
        device, _ = await self.attach(disk)
        if device is None:
            return volume.size
        result = await run_command(self._reactor,
                                   ["blockdev", "--getsize64", device],
                                   timeout=self._size_timeout)
        if result.failed:
            raise BlockDeviceError("Can't get the size of %s: %s"
                                   % (device, result.describe()))
        try:
            return int(result.stdout.strip()) // MIB
        except ValueError:
            raise BlockDeviceError("Can't parse the size of %s: %r"
                                   % (device, result.stdout))

    def exists(self, disk):
        """
        :return: a Deferred firing with whether the provider can map the
            volume here; failing if the provider itself is unusable (then
            nothing can be told about the volume).
        """
        return Deferred.fromCoroutine(self._exists(disk))

    async def _exists(self, disk):
        volume = Volume.from_disk(disk)
        self.provider(volume.provider)
        try:
            await self.attach(disk)
        except BlockDeviceError:
            return False
        return True

    # --- exports ------------------------------------------------------------

    def snapshot(self, disk, snap_name=None, snap_size=None):
        """
        Snapshot the volume (``snapshot``; Ganeti's defaults: the volume's
        name with ``.snap``, the disk's size).

        :return: a Deferred firing with the snapshot's C{logical_id},
            ``[provider, snapshot name]``; failing with
            L{BlockDeviceError} if the provider has no ``snapshot``.
        """
        return Deferred.fromCoroutine(self._snapshot(disk, snap_name,
                                                     snap_size))

    async def _snapshot(self, disk, snap_name, snap_size):
        volume = Volume.from_disk(disk)
        provider = self.provider(volume.provider)
        if provider.script(ACTION_SNAPSHOT) is None:
            raise BlockDeviceError("ExtStorage provider %s has no snapshot"
                                   " script: volume %s cannot be snapshotted"
                                   % (provider.name, volume.name))
        snap_name = snap_name or volume.name + ".snap"
        snap_size = snap_size or volume.size
        await self.run(ACTION_SNAPSHOT, volume, snap_name=snap_name,
                       snap_size=snap_size)
        return [volume.provider, snap_name]
