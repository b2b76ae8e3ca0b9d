# -*- test-case-name: tests.test_kvm_instances -*-
"""
The life of an instance's qemu: start, stop, reboot, clean up; and what
hotplug and migration share with it: the per-instance lock, QMP access,
and undoing a start.

Every public method that names an instance goes through L{per_instance},
so that one instance's start, stop, hotplug or migration never overlap.

Acceleration follows ``kvm_flag``: ``enabled`` passes ``-accel kvm``,
``disabled`` passes ``-accel tcg`` (which also overrides the KVM default of
a binary called ``kvm``), and an empty value probes ``/dev/kvm`` once.
"""

import functools
import os
import signal
from collections.abc import Mapping

from twisted.internet.defer import (
    DeferredLock,
    fail,
    inlineCallbacks,
    maybeDeferred,
    succeed,
)
from twisted.logger import Logger

from ganeti.errors import CommandError, HypervisorError
from ganeti.hypervisor.interfaces import check_instance_name
from ganeti.hypervisor.kvm.command import (
    command_option,
    device_ids,
    kvm_command,
)
from ganeti.hypervisor.kvm.network import (
    create_tap,
    interface_address,
    new_tap_name,
    remove_taps,
)
from ganeti.hypervisor.kvm.params import (
    fill_hvparams,
    is_ip,
    kvm_usable,
    validate_hvparams,
)
from ganeti.hypervisor.kvm.processes import ProcessHandle
from ganeti.hypervisor.kvm.runtime import RuntimeLayout
from ganeti.hypervisor.qmp import MAX_SOCKET_PATH, QmpError, qmp_call
from ganeti.process import run_command
from ganeti.utils.io import read_file

_log = Logger()

#: Seconds qemu may take to initialise and daemonise.
START_TIMEOUT = 60.0
#: Seconds a guest may take to release a device being unplugged: it has
#: to answer the ACPI eject request.
UNPLUG_TIMEOUT = 30.0
#: Seconds a killed qemu may take to disappear.
KILL_TIMEOUT = 30.0
#: Seconds allowed for one QMP exchange.
QMP_TIMEOUT = 10.0


#: L{per_instance}'s C{invalid} default: an invalid name fails the call.
_REFUSE = object()


def per_instance(method=None, *, locked=True, invalid=_REFUSE):
    """
    Decorate a public method whose first argument names an instance (its
    name, or an instance dict with a ``name``): the name is checked first
    (L{check_instance_name}), before the name reaches a file path, and,
    unless C{locked} is false, the method runs under the instance's lock.
    Queries that only read (and must answer while a long stop runs) pass
    C{locked=False}.

    Use as C{@per_instance} or C{@per_instance(locked=False)}.

    :param invalid: what an invalid name answers instead of a failure
        (a query: no such instance can run here).
    :return: the decorated method, which always returns a Deferred: the
        method's result, or a failure (or C{invalid}), without running it,
        for an invalid name.
    """
    if method is None:
        return functools.partial(per_instance, locked=locked, invalid=invalid)

    @functools.wraps(method)
    def decorated(self, target, *args, **kwargs):
        try:
            name = target["name"] if isinstance(target, Mapping) else target
            check_instance_name(name)
        except Exception:
            return fail() if invalid is _REFUSE else succeed(invalid)
        if not locked:
            return maybeDeferred(method, self, target, *args, **kwargs)
        return self._lock(name).run(method, self, target, *args, **kwargs)
    return decorated


def _stderr_text(result):
    text = result.stderr.decode("utf-8", "replace").strip()
    if len(text) > 4000:
        text = "..." + text[-4000:]
    return text


class QemuInstances:
    """
    Instances as daemonised qemu processes, found again through their
    runtime files (L{RuntimeLayout}).

    :ivar layout: the L{RuntimeLayout} of this node.
    """

    def __init__(self, paths, reactor, start_timeout=START_TIMEOUT,
                 qmp_timeout=QMP_TIMEOUT, kill_timeout=KILL_TIMEOUT,
                 kvm_device="/dev/kvm", unplug_timeout=UNPLUG_TIMEOUT):
        """
        :param paths: the node's L{ganeti.paths.Paths}.
        :param reactor: an L{IReactorProcess}, L{IReactorTime} and
            L{IReactorUNIX} provider; with L{IReactorFDSet} too, process
            exits are watched rather than polled.
        :param start_timeout: seconds qemu may take to daemonise.
        :param qmp_timeout: seconds allowed for each QMP exchange.
        :param kill_timeout: seconds a killed qemu may take to go away.
        :param kvm_device: the device probed when ``kvm_flag`` is empty.
        :param unplug_timeout: seconds a guest may take to release a
            hot-removed device.
        """
        self.layout = RuntimeLayout(paths)
        self._reactor = reactor
        self._start_timeout = start_timeout
        self._qmp_timeout = qmp_timeout
        self._kill_timeout = kill_timeout
        self._unplug_timeout = unplug_timeout
        self._kvm_device = kvm_device
        self._kvm_usable = None
        self._locks = {}
        self._qmp_locks = {}
        # As Ganeti: the directories exist once the hypervisor is loaded.
        for directory in self.layout.dirs():
            os.makedirs(directory, mode=0o750, exist_ok=True)

    def accelerator(self, hvparams):
        """
        :return: ``"kvm"`` or ``"tcg"`` for these parameters; an empty
            ``kvm_flag`` probes the KVM device (once per object).
        """
        flag = fill_hvparams(hvparams)["kvm_flag"]
        if flag == "enabled":
            return "kvm"
        if flag == "disabled":
            return "tcg"
        if self._kvm_usable is None:
            self._kvm_usable = kvm_usable(self._kvm_device)
        return "kvm" if self._kvm_usable else "tcg"

    def _lock(self, name):
        return self._locks.setdefault(name, DeferredLock())

    def _qmp_lock(self, name):
        # qemu serves one QMP client at a time: its users take turns.
        return self._qmp_locks.setdefault(name, DeferredLock())

    def _qmp(self, name, command, arguments=None):
        """
        Run one QMP command on an instance's qemu, one client at a time.

        :return: a Deferred with the command's result; L{QmpError} on
            failure.
        """
        return self._qmp_lock(name).run(
            qmp_call, self._reactor, self.layout.qmp_socket(name), command,
            arguments, self._qmp_timeout)

    @inlineCallbacks
    def _pci_devices(self, name):
        """
        :return: (via a Deferred) the devices on the instance's first PCI
            bus, as QMP ``query-pci`` describes them.
        """
        buses = yield self._qmp(name, "query-pci")
        return [device for bus in buses if bus.get("bus") == 0
                for device in bus.get("devices", [])]

    @inlineCallbacks
    def _record_pci_slots(self, name, runtime):
        """
        Write down the PCI slot of every disk and NIC of a started qemu,
        so that a migration target pins each device where the guest has
        it (qemu matches device state by PCI address), however hotplug
        has rearranged them since.
        """
        slots = {device.get("qdev_id"): device["slot"]
                 for device in (yield self._pci_devices(name))}
        for device in runtime["disks"] + runtime["nics"]:
            if device.get("qdev") in slots:
                device["pci"] = slots[device["qdev"]]
        self.layout.save_runtime(name, runtime)

    @inlineCallbacks
    def _remove_leftovers(self, name, taps=()):
        """
        Remove an instance's runtime files and tap devices.
        """
        recorded = self.layout.recorded_taps(name)
        yield remove_taps(self._reactor, sorted(set(taps) | set(recorded)))
        self.layout.remove_runtime(name)

    @per_instance
    def start_instance(self, instance, block_devices, startup_paused=False):
        """
        Start qemu for an instance; see L{IHypervisor.start_instance}.
        """
        hvp = fill_hvparams(instance.get("hvparams"))
        return self._launch(instance, block_devices, self.accelerator(hvp),
                            startup_paused)

    @inlineCallbacks
    def _launch(self, instance, block_devices, accel, startup_paused,
                incoming=None):
        """
        Start qemu for an instance: taps, runtime files, the process.

        :param accel: the accelerator (``"kvm"`` or ``"tcg"``).
        :param incoming: a ``-incoming`` URI: qemu then waits for the
            instance's state from a migration source instead of booting.
        """
        name = instance["name"]
        if "," in name:
            # qemu would read what follows a comma in -name as options.
            raise HypervisorError("Invalid instance name %r for kvm" % name)
        hvp = fill_hvparams(instance.get("hvparams"))
        validate_hvparams(instance.get("hvparams") or {})
        if self.layout.alive_pid(name) is not None:
            raise HypervisorError("Failed to start instance %s: already"
                                  " running" % (name,))
        for path in self.layout.runtime_paths(name):
            if len(os.fsencode(path)) > MAX_SOCKET_PATH:
                raise HypervisorError(
                    "Failed to start instance %s: runtime path %s is too"
                    " long for a Unix socket" % (name, path))
        for directory in self.layout.dirs():
            os.makedirs(directory, mode=0o750, exist_ok=True)
        # A qemu that crashed or was killed behind our back leaves files
        # and taps; they would confuse the new instance.
        yield self._remove_leftovers(name)

        nics = instance.get("nics") or []
        taps = [new_tap_name() for _ in nics]
        vnc_address = hvp["vnc_bind_address"]
        if (vnc_address and not is_ip(vnc_address)
                and not os.path.isabs(vnc_address)):
            vnc_address = yield interface_address(self._reactor, vnc_address)
        vnc_password = None
        if hvp["vnc_password_file"]:
            try:
                vnc_password = read_file(hvp["vnc_password_file"]).decode(
                    "utf-8").splitlines()[0]
            except (OSError, IndexError, UnicodeDecodeError) as e:
                raise HypervisorError("Failed to read VNC password file %s:"
                                      " %s" % (hvp["vnc_password_file"], e))
        argv = kvm_command(instance, block_devices, self.layout, taps,
                           accel, startup_paused, vnc_address)
        if incoming is not None:
            argv += ["-incoming", incoming]
        disks, named_nics = device_ids(hvp, block_devices, nics)
        runtime = {
            "name": name, "uuid": instance.get("uuid"), "argv": argv,
            "hvparams": hvp, "beparams": instance.get("beparams", {}),
            "nics": [dict(nic, tap=tap) for nic, tap in zip(named_nics, taps)],
            "disks": disks,
            "network_port": instance.get("network_port"),
            "startup_paused": bool(startup_paused),
        }
        created = []
        try:
            for nic, tap in zip(nics, taps):
                created.append(tap)
                yield create_tap(self._reactor, tap, nic, hvp)
            self.layout.save_runtime(name, runtime)
            result = yield run_command(self._reactor, argv,
                                       timeout=self._start_timeout)
            if result.failed:
                raise HypervisorError(
                    "Failed to start instance %s: %s\n%s"
                    % (name, result.describe(), _stderr_text(result)))
            if self.layout.alive_pid(name) is None:
                raise HypervisorError(
                    "Failed to start instance %s: qemu exited without"
                    " leaving a running process\n%s"
                    % (name, _stderr_text(result)))
            if vnc_password is not None:
                yield self._qmp(name, "set_password",
                                {"protocol": "vnc",
                                 "password": vnc_password})
            yield self._record_pci_slots(name, runtime)
        except Exception as e:
            error = e
            yield self._kill_and_clean(name, created)
            if isinstance(error, CommandError):
                error = HypervisorError("Failed to start instance %s: %s"
                                        % (name, error))
            elif isinstance(error, QmpError):
                error = HypervisorError(str(error))
            raise error
        _log.info("kvm instance {name} started ({accel})", name=name,
                  accel=command_option(argv, "-accel"))

    @inlineCallbacks
    def _kill_and_clean(self, name, taps=()):
        """
        Kill the instance's qemu if there is one and remove its files: to
        undo a failed start, or to end a qemu whose guest state has moved
        (or will not arrive) elsewhere.
        """
        pid = self.layout.alive_pid(name)
        if pid is not None:
            handle = ProcessHandle(self._reactor, pid)
            try:
                handle.send_signal(signal.SIGKILL)
                yield handle.wait(self._kill_timeout)
            finally:
                handle.close()
        yield self._remove_leftovers(name, taps)

    @per_instance
    @inlineCallbacks
    def stop_instance(self, name, force=False, timeout=120):
        """
        Stop an instance's qemu; see L{IHypervisor.stop_instance}.

        A soft stop sends an ACPI power-button press (QMP
        ``system_powerdown``) and waits for qemu to exit; instances with
        ``acpi`` off cannot be asked and are killed, as in Ganeti.
        """
        pid = self.layout.alive_pid(name)
        if pid is None:
            yield self._remove_leftovers(name)
            raise HypervisorError("Failed to stop instance %s: not running"
                                  % (name,))
        runtime = self.layout.load_runtime(name) or {}
        acpi = runtime.get("hvparams", {}).get("acpi", True)
        handle = ProcessHandle(self._reactor, pid)
        try:
            # Look again now that the pidfd pins the process: the pid read
            # from the file may have ended (and been reused) in between.
            gone = self.layout.alive_pid(name) != pid
            if not gone and not force and acpi:
                try:
                    yield self._qmp(name, "system_powerdown")
                except QmpError as e:
                    _log.warn("soft stop of {name} failed ({error});"
                              " killing it", name=name, error=e)
                else:
                    gone = yield handle.wait(timeout)
                    if not gone:
                        _log.warn("{name} did not shut down within"
                                  " {timeout} seconds; killing it",
                                  name=name, timeout=timeout)
            if not gone:
                handle.send_signal(signal.SIGKILL)
                gone = yield handle.wait(self._kill_timeout)
                if not gone:
                    raise HypervisorError(
                        "Failed to stop instance %s: qemu process %d did not"
                        " die" % (name, pid))
        finally:
            handle.close()
        yield self._remove_leftovers(name)
        _log.info("kvm instance {name} stopped", name=name)

    @per_instance
    @inlineCallbacks
    def reboot_instance(self, name):
        """
        Reset the guest (QMP ``system_reset``): the virtual machine restarts
        at once, with the same qemu process and command line.
        """
        if self.layout.alive_pid(name) is None:
            raise HypervisorError("Failed to reboot instance %s: not running"
                                  % (name,))
        try:
            yield self._qmp(name, "system_reset")
        except QmpError as e:
            raise HypervisorError("Failed to reboot instance %s: %s"
                                  % (name, e))

    def resize_disk(self, name, index, size_mib):
        """
        Grow a disk of a running qemu (QMP ``block_resize``), found by its
        place in the runtime: hotplug may have renumbered the disks.
        """
        runtime = self.layout.load_runtime(name)
        if self.layout.alive_pid(name) is None or runtime is None:
            return fail(HypervisorError("Instance %s is not running" % name))
        if not 0 <= index < len(runtime["disks"]):
            return fail(HypervisorError("Instance %s has no disk %d"
                                        % (name, index)))
        disk = runtime["disks"][index]
        target = {"node-name": disk["node"]} if disk.get("node") else \
            {"device": disk.get("drive", "disk%d" % index)}
        d = self._qmp(name, "block_resize",
                      dict(target, size=size_mib * 1024 * 1024))
        return d.addCallback(lambda _: None)

    @per_instance
    @inlineCallbacks
    def cleanup_instance(self, name):
        """
        Remove runtime files and taps of an instance that is not running.
        """
        if self.layout.alive_pid(name) is not None:
            raise HypervisorError("Cannot clean up running instance %s"
                                  % (name,))
        yield self._remove_leftovers(name)
