# -*- test-case-name: tests.test_hypervisor_fake -*-
"""
The ``fake`` hypervisor: instances that are only state files.

Nothing runs.  A "running" instance is a file named after it in
``<run_dir>/fake-hypervisor/`` holding three lines, as in Ganeti: an id
(always ``0``), the memory in MiB and the number of virtual CPUs, plus,
for an instance with disks or NICs, a fourth line of our own: JSON of
its device uuids by kind (``{"disk": [...], "nic": [...]}``), which
hotplug changes.  That is
enough for the master to see instances start, stop, fail over and migrate,
so whole clusters can be exercised without virtualisation, and it is the
reference the kvm provider's contract tests are written against.

File operations here are a few bytes on the run directory (normally a
tmpfs) and are done inline; the results still come as Deferreds, as the
interface asks.
"""

import json
import os

from twisted.internet.defer import fail, succeed
from twisted.logger import Logger
from zope.interface import implementer

from ganeti import constants
from ganeti.errors import HotplugError, HypervisorError
from ganeti.hypervisor.interfaces import (
    HOTPLUG_ADD,
    HOTPLUG_DISK,
    HOTPLUG_NIC,
    HOTPLUG_REMOVE,
    STATE_RUNNING,
    IHypervisor,
    check_hotplug_request,
    check_instance_name,
    console_message,
    instance_info,
    linux_node_info,
)
from ganeti.utils.io import atomic_write, remove_file

_log = Logger()

#: The parameters the fake hypervisor knows, and their accepted values.
_MIGRATION_MODES = ("live", "non-live")


def _deferred(method):
    """
    Run a synchronous method and deliver its outcome as a Deferred.
    """
    def wrapper(*args, **kwargs):
        try:
            return succeed(method(*args, **kwargs))
        except Exception:
            return fail()
    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def _state_text(memory, vcpus, devices):
    """
    :return: a state file's text: Ganeti's three lines, and the devices
        line if there are devices.
    """
    text = "0\n%d\n%d\n" % (int(memory), int(vcpus))
    if any(devices.values()):
        text += json.dumps(devices) + "\n"
    return text


def _parse_devices(name, text):
    """
    :return: the device uuids by kind in a state file's text (none for
        Ganeti's three lines).
    :raise HypervisorError: if the devices line is not JSON.
    """
    lines = text.splitlines()
    try:
        devices = json.loads(lines[3]) if len(lines) > 3 else {}
    except ValueError:
        raise HypervisorError("Corrupt state file for instance %s" % (name,))
    return {kind: list(devices.get(kind, []))
            for kind in (HOTPLUG_DISK, HOTPLUG_NIC)}


@implementer(IHypervisor)
class FakeHypervisor:
    """
    Instances as state files below C{paths.run_dir}.

    :ivar state_dir: the directory of instance files.
    """

    name = "fake"

    def __init__(self, paths, reactor=None, meminfo="/proc/meminfo",
                 cpuinfo="/proc/cpuinfo"):
        """
        :param paths: the node's L{ganeti.paths.Paths}.
        :param reactor: unused; accepted so every provider is built alike.
        :param meminfo: the file to read memory figures from (tests).
        :param cpuinfo: the file to read CPU figures from (tests).
        """
        self.state_dir = os.path.join(paths.run_dir, "fake-hypervisor")
        self._meminfo = meminfo
        self._cpuinfo = cpuinfo
        # As Ganeti: the directory is made when the hypervisor is loaded,
        # so verify() reports it only if it disappears afterwards.
        os.makedirs(self.state_dir, exist_ok=True)

    def _file(self, name):
        check_instance_name(name)
        return os.path.join(self.state_dir, name)

    def _read(self, name):
        """
        :return: the instance info of C{name}, or C{None} if not running
            (as for a name no instance here can have).
        """
        try:
            with open(self._file(name)) as f:
                lines = f.read().splitlines()
        except (FileNotFoundError, HypervisorError):
            return None
        except OSError as e:
            raise HypervisorError("Failed to read instance %s: %s"
                                  % (name, e))
        try:
            memory, vcpus = int(lines[1]), int(lines[2])
        except (IndexError, ValueError):
            raise HypervisorError("Corrupt state file for instance %s"
                                  % (name,))
        try:
            instance_id = int(lines[0])
        except ValueError:
            instance_id = lines[0].strip()
        return instance_info(name, instance_id, memory, vcpus,
                             STATE_RUNNING, 0)

    def _names(self):
        try:
            entries = os.listdir(self.state_dir)
        except OSError as e:
            raise HypervisorError("Failed to list instances: %s" % (e,))
        # Skip atomic_write's temporary files (".<name>.*.tmp").
        return sorted(n for n in entries if not n.startswith("."))

    def _mark_up(self, name, memory, vcpus, devices):
        """
        Write the state file of a running instance.

        :param devices: the device uuids by kind (see the module
            docstring).
        """
        atomic_write(self._file(name),
                     _state_text(memory, vcpus, devices).encode("utf-8"),
                     fsync=False)

    def _devices(self, name):
        """
        :return: the device uuids by kind of a running instance.
        """
        self._running(name)
        with open(self._file(name)) as f:
            return _parse_devices(name, f.read())

    @_deferred
    def start_instance(self, instance, block_devices, startup_paused=False):
        """
        Write the instance's state file; see L{IHypervisor.start_instance}.
        """
        name = instance["name"]
        if os.path.exists(self._file(name)):
            raise HypervisorError("Failed to start instance %s: already"
                                  " running" % (name,))
        self.check_parameters(instance.get("hvparams", {}))
        beparams = dict(constants.BE_DEFAULTS, **instance.get("beparams", {}))
        devices = {HOTPLUG_DISK: [d.get("uuid") for d in block_devices],
                   HOTPLUG_NIC: [n.get("uuid")
                                 for n in instance.get("nics") or []]}
        try:
            self._mark_up(name, beparams["maxmem"], beparams["vcpus"],
                          devices)
        except OSError as e:
            raise HypervisorError("Failed to start instance %s: %s"
                                  % (name, e))
        _log.info("fake instance {name} started", name=name)

    @_deferred
    def stop_instance(self, name, force=False, timeout=120):
        """
        Remove the instance's state file; see L{IHypervisor.stop_instance}.
        """
        path = self._file(name)
        if not os.path.exists(path):
            raise HypervisorError("Failed to stop instance %s: not running"
                                  % (name,))
        remove_file(path)
        _log.info("fake instance {name} stopped", name=name)

    @_deferred
    def reboot_instance(self, name):
        """
        Nothing to do, but the instance must be running.
        """
        if not os.path.exists(self._file(name)):
            raise HypervisorError("Failed to reboot instance %s: not running"
                                  % (name,))

    @_deferred
    def resize_disk(self, name, index, size_mib):
        # Fake instances have no disks to look at; only the state matters.
        if self._read(name) is None:
            raise HypervisorError("Instance %s is not running" % name)

    @_deferred
    def cleanup_instance(self, name):
        """
        A fake instance leaves nothing behind; refuses a running one.
        """
        if os.path.exists(self._file(name)):
            raise HypervisorError("Cannot clean up running instance %s"
                                  % (name,))

    @_deferred
    def list_instances(self):
        """
        :return: (via a Deferred) the names of the state files.
        """
        return self._names()

    @_deferred
    def get_instance_info(self, name):
        """
        :return: (via a Deferred) the info read from the state file, or
            C{None}.
        """
        return self._read(name)

    def _all_info(self):
        return [info for info in map(self._read, self._names())
                if info is not None]

    @_deferred
    def get_all_instances_info(self):
        """
        :return: (via a Deferred) the info of every state file.
        """
        return self._all_info()

    @_deferred
    def get_node_info(self, hvparams=None):
        """
        The node's Linux figures, minus the memory of fake instances.
        """
        result = linux_node_info(self._meminfo, self._cpuinfo)
        used = sum(info["memory"] for info in self._all_info())
        result["memory_free"] -= min(result["memory_free"], used)
        result["hv_version"] = [int(part) for part in
                                constants.RELEASE_VERSION.split(".")]
        return result

    def get_console(self, instance):
        """
        :return: a message console, as Ganeti's fake hypervisor.
        """
        return console_message(instance["name"],
                               "Console not available for fake hypervisor")

    @_deferred
    def verify(self, hvparams=None):
        """
        :return: (via a Deferred) C{None}, or a message if the state
            directory is missing.
        """
        if os.path.isdir(self.state_dir):
            return None
        return "The required directory '%s' does not exist" % (
            self.state_dir,)

    # -- migration: the state file moves from one node's directory to the
    # other's, as in Ganeti's fake hypervisor.

    def _running(self, name):
        """
        :return: the instance info of a running instance.
        :raise HypervisorError: if it is not running.
        """
        info = self._read(name)
        if info is None:
            raise HypervisorError("Instance %s is not running" % (name,))
        return info

    @_deferred
    def migration_info(self, name):
        """
        :return: (via a Deferred) the instance's state file, which the
            target writes once the migration succeeded.
        """
        info = self._running(name)
        return _state_text(info["memory"], info["vcpus"], self._devices(name))

    @_deferred
    def accept_instance(self, instance, info, block_devices, target_address):
        """
        Nothing to prepare, but the instance must not run here already.
        """
        name = instance["name"]
        if self._read(name) is not None:
            raise HypervisorError("Can't accept instance %s, already running"
                                  % (name,))

    @_deferred
    def migrate_instance(self, instance, target_address, live):
        """
        Nothing moves until the finalization; the instance must run here.
        """
        self._running(instance["name"])
        _log.info("fake instance {name} migrating to {target}",
                  name=instance["name"], target=target_address)

    @_deferred
    def finalize_migration_target(self, instance, info, success):
        """
        Write the state file from the source's on success, else make sure
        there is none.
        """
        name = instance["name"]
        if not success:
            remove_file(self._file(name))
            return
        try:
            _, memory, vcpus = info.splitlines()[:3]
            self._mark_up(name, int(memory), int(vcpus),
                          _parse_devices(name, info))
        except (ValueError, HypervisorError):
            raise HypervisorError("Invalid migration info for instance %s: %r"
                                  % (name, info))
        except OSError as e:
            raise HypervisorError("Failed to finalize migration of %s: %s"
                                  % (name, e))

    @_deferred
    def finalize_migration_source(self, name, success):
        """
        Remove the state file on success; a failed migration left the
        instance running here, untouched.
        """
        if success:
            remove_file(self._file(name))

    # -- hotplug: devices are uuids in the state file.

    def _hotplug_info(self, name):
        """
        :return: the instance info of a running instance.
        :raise HotplugError: if it is not running.
        """
        info = self._read(name)
        if info is None:
            raise HotplugError("Cannot hotplug: instance %s is not running"
                               % (name,))
        return info

    @_deferred
    def hotplug_supported(self, instance):
        """
        Any running fake instance can hotplug.
        """
        self._hotplug_info(instance["name"])

    @_deferred
    def hotplug_device(self, instance, action, dev_type, device, extra, seq):
        """
        Record an added device, forget a removed one; a modified NIC keeps
        its place.  The same mistakes as kvm's are refused: adding a
        device twice, removing one the instance does not have.
        """
        check_hotplug_request(action, dev_type)
        name = instance["name"]
        info = self._hotplug_info(name)
        devices = self._devices(name)
        plugged = devices[dev_type]
        uuid = device["uuid"]
        if action == HOTPLUG_ADD:
            if uuid in plugged:
                raise HotplugError("Device %s is already plugged into %s"
                                   % (uuid, name))
            plugged.insert(min(seq, len(plugged)), uuid)
        elif uuid not in plugged:
            raise HotplugError("Device %s is not plugged into %s"
                               % (uuid, name))
        elif action == HOTPLUG_REMOVE:
            plugged.remove(uuid)
        self._mark_up(name, info["memory"], info["vcpus"], devices)

    def plugged_devices(self, name):
        """
        :return: (via a Deferred) the device uuids of a running instance,
            by kind, as recorded (for tests and debugging).
        """
        return _deferred(self._devices)(name)

    def check_parameters(self, hvparams):
        """
        Only ``migration_mode`` exists; it must be ``live`` or ``non-live``.

        :raise HypervisorError: for an unknown parameter or a bad value.
        """
        unknown = sorted(set(hvparams) - set(constants.HV_DEFAULTS["fake"]))
        if unknown:
            raise HypervisorError("Unknown fake hypervisor parameters: %s"
                                  % (", ".join(unknown),))
        mode = hvparams.get("migration_mode", "live")
        if mode not in _MIGRATION_MODES:
            raise HypervisorError(
                "Invalid value %r for migration_mode (valid: %s)"
                % (mode, ", ".join(_MIGRATION_MODES)))

    def validate_parameters(self, hvparams):
        """
        Nothing on the node to check beyond L{check_parameters}.
        """
        self.check_parameters(hvparams)
