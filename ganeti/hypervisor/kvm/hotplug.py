# -*- test-case-name: tests.test_kvm_hotplug -*-
"""
Hotplug: adding, removing and replacing disks and NICs of a running
qemu over QMP.

A hotplugged device gets a free slot on the guest's PCI bus and an id
that names it (L{_hotplug_id}); the runtime file follows every step, so
that migration and a restarted node daemon know the devices the guest
really has.
"""

import os
import stat

from twisted.internet.defer import (
    Deferred,
    TimeoutError as DeferredTimeoutError,
    inlineCallbacks,
)
from twisted.logger import Logger

from ganeti.errors import CommandError, HotplugError
from ganeti.hypervisor.interfaces import (
    HOTPLUG_ADD,
    HOTPLUG_DISK,
    HOTPLUG_MODIFY,
    HOTPLUG_NIC,
    HOTPLUG_REMOVE,
    check_hotplug_request,
)
from ganeti.hypervisor.kvm.command import (
    NIC_MODELS,
    PCI_BUS,
    nic_device_settings,
    tap_settings,
)
from ganeti.hypervisor.kvm.instances import QemuInstances, per_instance
from ganeti.hypervisor.kvm.network import create_tap, new_tap_name, remove_taps
from ganeti.hypervisor.qmp import QmpError, connect_qmp

_log = Logger()

#: What the runtime file adds to a NIC of the instance dict.
_RUNTIME_NIC_KEYS = ("tap", "qdev", "netdev", "pci")
#: The device model a hotplugged disk gets, by ``disk_type``.
_HOTPLUG_DISK_MODELS = {"paravirtual": "virtio-blk-pci"}


def _plugged_entry(name, devices, uuid, action):
    """
    :return: the runtime entry of the device to remove or replace, or
        C{None} for one to add.
    :raise HotplugError: if a device to add is there already, or one to
        remove or replace is not.
    """
    known = [d for d in devices if d.get("uuid") == uuid]
    if action == HOTPLUG_ADD:
        if known:
            raise HotplugError("Device %s is already plugged into %s"
                               % (uuid, name))
        return None
    if not known:
        raise HotplugError("Device %s is not plugged into %s" % (uuid, name))
    return known[0]


def _hotplug_id(dev_type, uuid, slot):
    """
    :return: a hotplugged device's qemu id, Ganeti's form
        ``<kind>-<first part of the uuid>-pci-<slot>``: unique within an
        instance (one device per slot), and telling whose it is.
    """
    return "%s-%s-pci-%d" % (dev_type, uuid.split("-")[0], slot)


def _blockdev_options(hvp, node, path, readonly):
    """
    :return: QMP ``blockdev-add`` arguments opening C{path} as a raw
        node, with the cache, AIO and discard settings a start's
        ``-drive`` gets.
    """
    aio, cache = hvp["disk_aio"], hvp["disk_cache"]
    is_block = os.path.exists(path) and stat.S_ISBLK(os.stat(path).st_mode)
    protocol = {"driver": "host_device" if is_block else "file",
                "filename": path, "aio": aio}
    options = {"driver": "raw", "node-name": node, "file": protocol,
               "read-only": readonly}
    if aio == "native" or cache == "none":
        options["cache"] = {"direct": True}
    if hvp["disk_discard"] != "default":
        options["discard"] = hvp["disk_discard"]
    return options


class QemuHotplug(QemuInstances):
    """
    L{QemuInstances} whose disks and NICs can be hotplugged.
    """

    @inlineCallbacks
    def _free_pci_slot(self, name):
        """
        :return: (via a Deferred) the lowest free slot of the first bus.
        """
        used = {device["slot"] for device in (yield self._pci_devices(name))}
        for slot in range(1, 32):
            if slot not in used:
                return slot
        raise HotplugError("No free PCI slot left in instance %s" % (name,))

    def _hotplug_runtime(self, name):
        """
        :return: the runtime dict of a running instance.
        :raise HotplugError: if it is not running (or was not started by
            this module, which left no runtime).
        """
        runtime = self.layout.load_runtime(name)
        if self.layout.alive_pid(name) is None or runtime is None:
            raise HotplugError("Cannot hotplug: instance %s is not running"
                               % (name,))
        return runtime

    @per_instance(locked=False)
    def hotplug_supported(self, instance):
        """
        Devices can be hotplugged into any running instance this module
        started: every device is named and the guest's PCI bus takes new
        ones.
        """
        self._hotplug_runtime(instance["name"])

    @per_instance
    @inlineCallbacks
    def hotplug_device(self, instance, action, dev_type, device, extra, seq):
        """
        Add or remove a disk or NIC of a running qemu, or replace a NIC
        (Ganeti's modify); see L{IHypervisor.hotplug_device}.  The runtime
        file follows every step, so migration and adoption know the
        devices.
        """
        check_hotplug_request(action, dev_type)
        name = instance["name"]
        runtime = self._hotplug_runtime(name)
        devices = runtime["disks" if dev_type == HOTPLUG_DISK else "nics"]
        known = _plugged_entry(name, devices, device["uuid"], action)
        if known is not None:
            yield self._unplug(name, dev_type, known)
            devices.remove(known)
            self.layout.save_runtime(name, runtime)
        if action != HOTPLUG_REMOVE:
            hvp = runtime["hvparams"]
            try:
                entry = yield self._plug(name, hvp, dev_type, device, extra)
            except Exception:
                if action == HOTPLUG_MODIFY:
                    # A failed replacement must not lose the NIC.
                    entry = yield self._plug(name, hvp, dev_type, {
                        k: v for k, v in known.items()
                        if k not in _RUNTIME_NIC_KEYS}, None)
                    devices.insert(min(seq, len(devices)), entry)
                    self.layout.save_runtime(name, runtime)
                raise
            devices.insert(min(seq, len(devices)), entry)
            self.layout.save_runtime(name, runtime)
        _log.info("kvm instance {name}: hotplug {action} of {kind} {uuid}"
                  " done", name=name, action=action, kind=dev_type,
                  uuid=device["uuid"])

    def _plug(self, name, hvp, dev_type, device, extra):
        """
        :return: (via a Deferred) the runtime entry of a newly plugged
            disk (at path C{extra}) or NIC.
        """
        if dev_type == HOTPLUG_DISK:
            return self._plug_disk(name, hvp, device, extra)
        return self._plug_nic(name, hvp, device)

    @inlineCallbacks
    def _plug_disk(self, name, hvp, disk, path):
        """
        Open the disk as a blockdev node and add a guest device on it in
        a free slot; a failed device_add removes the node again.

        :return: (via a Deferred) the disk's runtime entry.
        """
        model = _HOTPLUG_DISK_MODELS.get(hvp["disk_type"])
        if model is None:
            raise HotplugError("Hotplug is not supported for disk type %s"
                               % (hvp["disk_type"],))
        if disk.get("mode", "rw") not in ("rw", "ro"):
            raise HotplugError("Invalid disk mode %r" % (disk["mode"],))
        slot = yield self._free_pci_slot(name)
        qdev = _hotplug_id(HOTPLUG_DISK, disk["uuid"], slot)
        yield self._qmp_hotplug(name, "blockdev-add",
                                _blockdev_options(hvp, qdev, path,
                                                  disk.get("mode") == "ro"))
        try:
            yield self._qmp_hotplug(name, "device_add", {
                "driver": model, "id": qdev, "drive": qdev, "bus": PCI_BUS,
                "addr": "0x%x" % slot})
        except HotplugError:
            yield self._qmp_hotplug(name, "blockdev-del", {"node-name": qdev})
            raise
        return dict(disk, path=path, qdev=qdev, node=qdev, pci=slot)

    @inlineCallbacks
    def _plug_nic(self, name, hvp, nic):
        """
        Make a tap device as a start does, open it as a netdev and add the
        guest's NIC on it in a free slot; a failure undoes the steps done.

        :return: (via a Deferred) the NIC's runtime entry.
        """
        slot = yield self._free_pci_slot(name)
        qdev = _hotplug_id(HOTPLUG_NIC, nic["uuid"], slot)
        tap = new_tap_name()
        try:
            yield create_tap(self._reactor, tap, nic, hvp)
            yield self._qmp_hotplug(name, "netdev_add", dict(
                {"type": "tap", "id": qdev, "ifname": tap, "script": "no",
                 "downscript": "no"}, **tap_settings(hvp)))
            try:
                yield self._qmp_hotplug(name, "device_add", dict(
                    {"driver": NIC_MODELS.get(hvp["nic_type"],
                                              hvp["nic_type"]),
                     "id": qdev, "netdev": qdev, "mac": nic["mac"],
                     "bus": PCI_BUS, "addr": "0x%x" % slot},
                    **nic_device_settings(hvp)))
            except HotplugError:
                yield self._qmp_hotplug(name, "netdev_del", {"id": qdev})
                raise
        except Exception as e:
            yield remove_taps(self._reactor, [tap])
            if isinstance(e, CommandError):
                raise HotplugError("Cannot hotplug NIC %s: %s"
                                   % (nic["mac"], e))
            raise
        return dict(nic, tap=tap, qdev=qdev, netdev=qdev, pci=slot)

    @inlineCallbacks
    def _unplug(self, name, dev_type, device):
        """
        Remove a guest device and then what backed it: a hotplugged disk's
        blockdev node (a start's drives go with their device), a NIC's
        netdev and tap.
        """
        if not device.get("qdev"):
            raise HotplugError("Device %s of %s is not a PCI device and"
                               " cannot be unplugged"
                               % (device["uuid"], name))
        yield self._qmp_lock(name).run(self._device_del, name, device["qdev"])
        if dev_type == HOTPLUG_DISK:
            if device.get("node"):
                yield self._qmp_hotplug(name, "blockdev-del",
                                        {"node-name": device["node"]})
        else:
            yield self._qmp_hotplug(name, "netdev_del",
                                    {"id": device["netdev"]})
            yield remove_taps(self._reactor, [device["tap"]])

    @inlineCallbacks
    def _device_del(self, name, qdev):
        """
        Ask for a device's removal and wait for qemu's C{DEVICE_DELETED},
        which comes once the guest has let go of it (ACPI eject), within
        the unplug timeout.  The caller holds the QMP lock: the session
        stays open for the event.
        """
        try:
            session = yield connect_qmp(self._reactor,
                                        self.layout.qmp_socket(name),
                                        self._qmp_timeout)
        except QmpError as e:
            raise HotplugError(str(e))
        deleted = Deferred()

        def on_event(event):
            if (event.get("event") == "DEVICE_DELETED"
                    and event.get("data", {}).get("device") == qdev
                    and not deleted.called):
                deleted.callback(None)
        session.add_event_handler(on_event)
        try:
            yield session.execute("device_del", {"id": qdev})
            deleted.addTimeout(self._unplug_timeout, self._reactor)
            yield deleted
        except QmpError as e:
            raise HotplugError("Cannot unplug %s from %s: %s"
                               % (qdev, name, e))
        except DeferredTimeoutError:
            raise HotplugError("The guest of %s did not release device %s"
                               " within %g seconds"
                               % (name, qdev, self._unplug_timeout))
        finally:
            yield session.close()

    def _qmp_hotplug(self, name, command, arguments):
        """
        :return: L{_qmp}'s Deferred, failing with L{HotplugError}.
        """
        d = self._qmp(name, command, arguments)

        def failed(reason):
            reason.trap(QmpError)
            raise HotplugError("Hotplug command %s failed on %s: %s"
                               % (command, name, reason.value))
        return d.addErrback(failed)
