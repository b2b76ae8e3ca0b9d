# -*- test-case-name: tests.test_kvm_command -*-
"""
The qemu command line of a kvm instance, built from its parameters.

Everything here is pure (no files read, nothing run), so the command line
can be tested alone and saved in the runtime file for migrations.  The
device settings that QMP hotplug needs too (tap and NIC options, device
models, the PCI bus) are defined once here, so a hotplugged device is
built like one on the command line.
"""

import os

from twisted.logger import Logger

from ganeti import constants
from ganeti.errors import HypervisorError
from ganeti.hypervisor.interfaces import VNC_BASE_PORT
from ganeti.hypervisor.kvm.params import fill_hvparams

_log = Logger()

_SCSI_DEVICE_TYPES = ("scsi-block", "scsi-cd", "scsi-generic", "scsi-hd")
#: The PCI bus devices are hotplugged into (the ``pc`` machine's).
PCI_BUS = "pci.0"
#: The qemu device model of a NIC, by ``nic_type`` (others are their own).
NIC_MODELS = {"paravirtual": "virtio-net-pci"}
_BOOT_LETTERS = {"disk": "c", "cdrom": "d", "network": "n", "floppy": "a"}


def _qemu_escape(value):
    """
    Escape a value for a qemu ``key=value,...`` option: commas double.
    """
    return str(value).replace(",", ",,")


def _drive_cache_options(hvp):
    aio, cache = hvp["disk_aio"], hvp["disk_cache"]
    options = []
    if aio == "native":
        # Native AIO needs O_DIRECT; check_hvparams insists on cache=none.
        options += ["cache=none", "aio=native"]
    else:
        options.append("aio=" + aio)
        if cache != "default":
            options.append("cache=" + cache)
    if hvp["disk_discard"] != "default":
        options.append("discard=" + hvp["disk_discard"])
    return options


def _pci_address(device):
    """
    :return: the ``bus``/``addr`` options pinning a device to the PCI slot
        it had on the migration source, or nothing for a new instance
        (qemu then picks the slots).
    """
    slot = device.get("pci")
    return [] if slot is None else ["bus=" + PCI_BUS, "addr=0x%x" % slot]


def _disk_options(hvp, block_devices):
    """
    :param block_devices: the disk dicts; those that come from a migration
        source's runtime (L{device_ids}) keep their ids and PCI slots.
    :return: the qemu arguments for the instance's disks.
    """
    disk_type = hvp["disk_type"]
    argv = []
    scsi = _is_scsi(hvp)
    if scsi and block_devices:
        argv += ["-device", "%s,id=scsi" % hvp["scsi_controller_type"]]
    for index, device in enumerate(device_ids(hvp, block_devices, [])[0]):
        if device.get("mode", "rw") not in ("rw", "ro"):
            raise HypervisorError("Invalid disk mode %r" % (device["mode"],))
        drive_id = device.get("drive")
        drive = ["file=" + _qemu_escape(device["path"]), "format=raw"]
        drive += _drive_cache_options(hvp)
        if device.get("mode") == "ro":
            drive.append("readonly=on")
        if disk_type == "paravirtual":
            drive += ["if=none", "id=" + drive_id]
            argv += ["-drive", ",".join(drive), "-device", ",".join(
                ["virtio-blk-pci", "drive=" + drive_id,
                 "id=" + device["qdev"]] + _pci_address(device))]
        elif scsi:
            model = "scsi-hd" if disk_type == "scsi" else disk_type
            drive += ["if=none", "id=" + drive_id]
            argv += ["-drive", ",".join(drive), "-device",
                     "%s,drive=%s,id=%s,bus=scsi.0,scsi-id=%d"
                     % (model, drive_id, device["qdev"], index)]
        else:
            drive.append("if=" + disk_type)
            if disk_type == "ide":
                drive.append("index=%d" % index)
            argv += ["-drive", ",".join(drive)]
    return argv


def _cdrom_options(hvp, image, boot):
    disk_type = hvp["cdrom_disk_type"] or hvp["disk_type"]
    if boot:
        # Firmware boots CD-ROMs from IDE only, as Ganeti notes.
        interface = "ide"
    elif disk_type == "paravirtual":
        interface = "virtio"
    elif disk_type == "scsi" or disk_type in _SCSI_DEVICE_TYPES:
        interface = "scsi"
    else:
        interface = disk_type
    drive = ["file=" + _qemu_escape(image), "media=cdrom", "readonly=on",
             "if=" + interface]
    if "://" not in image:
        drive.insert(2, "format=raw")
    return ["-drive", ",".join(drive)]


def device_ids(hvp, disks, nics):
    """
    Name every disk and NIC as the runtime file records them, so that
    hotplug can remove them and a migration target can rebuild them:
    the guest device (``qdev``), its drive (``drive``) or tap netdev
    (``netdev``).  Ids a device already has (from a migration source's
    runtime) are kept; a hotplugged disk's blockdev node becomes the
    target's drive.  Disk types that are not PCI devices of their own
    (``ide``...) get no ``qdev`` and cannot be unplugged.

    :return: the disk and NIC lists, as new dicts.
    """
    named_disks = []
    for index, disk in enumerate(disks):
        disk = dict(disk)
        disk["drive"] = disk.pop("node", None) or disk.get("drive") \
            or "disk%d" % index
        if hvp["disk_type"] == "paravirtual" or _is_scsi(hvp):
            disk.setdefault("qdev", "disk%d-dev" % index)
        named_disks.append(disk)
    named_nics = [dict({"netdev": "netdev%d" % seq, "qdev": "nic%d" % seq},
                       **nic) for seq, nic in enumerate(nics)]
    return named_disks, named_nics


def _is_scsi(hvp):
    return hvp["disk_type"] == "scsi" or hvp["disk_type"] in _SCSI_DEVICE_TYPES


def nic_queues(hvp):
    """
    :return: how many queue pairs each NIC (and its tap device) has:
        ``virtio_net_queues`` for paravirtual NICs, else one.
    """
    return hvp["virtio_net_queues"] if hvp["nic_type"] == "paravirtual" \
        else 1


def tap_settings(hvp):
    """
    :return: the tap netdev settings the parameters ask for, shared by
        the command line and QMP ``netdev_add``.
    """
    settings = {}
    if hvp["vhost_net"] and hvp["nic_type"] == "paravirtual":
        settings["vhost"] = True
    if not hvp["vnet_hdr"]:
        settings["vnet_hdr"] = False
    if nic_queues(hvp) > 1:
        settings["queues"] = nic_queues(hvp)
    return settings


def nic_device_settings(hvp):
    """
    :return: the NIC device's settings beyond model and MAC (multi-queue),
        shared by the command line and QMP ``device_add``.
    """
    queues = nic_queues(hvp)
    return {"mq": True, "vectors": 2 * queues + 2} if queues > 1 else {}


def _option_text(settings):
    """:return: C{settings} as qemu's ``key=value,...`` (bools on/off)."""
    return ["%s=%s" % (key, {True: "on", False: "off"}.get(value, value))
            for key, value in settings.items()]


def _nic_options(hvp, nics, taps):
    if not nics:
        return ["-nic", "none"]
    argv = []
    model = NIC_MODELS.get(hvp["nic_type"], hvp["nic_type"])
    for nic, tap in zip(device_ids(hvp, [], nics)[1], taps):
        netdev = nic["netdev"]
        tap_opts = ["tap", "id=" + netdev, "ifname=" + tap, "script=no",
                    "downscript=no"] + _option_text(tap_settings(hvp))
        device = [model, "netdev=" + netdev, "mac=" + nic["mac"]]
        device += _option_text(nic_device_settings(hvp))
        device += ["id=" + nic["qdev"]] + _pci_address(nic)
        argv += ["-netdev", ",".join(tap_opts), "-device", ",".join(device)]
    return argv


def _vnc_options(hvp, name, network_port, vnc_address):
    """
    :param vnc_address: the address to bind to (an interface name already
        resolved), or a directory for a Unix socket.
    """
    argv = []
    if os.path.isabs(vnc_address):
        vnc_arg = "unix:%s/%s.vnc" % (vnc_address, name)
    elif network_port is None or network_port <= VNC_BASE_PORT:
        _log.error("network port {port} of {name} is not a VNC display;"
                   " not starting VNC", port=network_port, name=name)
        vnc_arg = "none"
    else:
        display = network_port - VNC_BASE_PORT
        if vnc_address == "0.0.0.0":
            vnc_arg = ":%d" % display
        elif ":" in vnc_address:
            vnc_arg = "[%s]:%d" % (vnc_address, display)
        else:
            vnc_arg = "%s:%d" % (vnc_address, display)
        if hvp["vnc_tls"]:
            if hvp["vnc_x509_path"]:
                tls = ("tls-creds-x509,id=vnctls0,endpoint=server,dir=%s,"
                       "verify-peer=%s" % (
                           _qemu_escape(hvp["vnc_x509_path"]),
                           "yes" if hvp["vnc_x509_verify"] else "no"))
            else:
                tls = "tls-creds-anon,id=vnctls0,endpoint=server"
            argv += ["-object", tls]
            vnc_arg += ",tls-creds=vnctls0"
        if hvp["vnc_password_file"]:
            vnc_arg += ",password=on"
    return argv + ["-vnc", vnc_arg]


def kvm_command(instance, block_devices, layout, taps, accel,
                startup_paused=False, vnc_address=None):
    """
    Build the qemu command line of an instance.

    Pure: it reads no files and runs nothing, so it can be tested alone
    and the result saved for restarts.

    :param instance: the instance dict; ``hvparams`` may be partial.
    :param block_devices: the disk dicts, in order.
    :param layout: the node's L{RuntimeLayout}.
    :param taps: one tap device name per NIC.
    :param accel: ``"kvm"`` or ``"tcg"``.
    :param startup_paused: start with the CPUs stopped (``-S``).
    :param vnc_address: the resolved VNC bind address; by default
        ``vnc_bind_address`` as it is.
    :return: the argument list, starting with ``kvm_path``.
    """
    name = instance["name"]
    hvp = fill_hvparams(instance.get("hvparams"))
    beparams = dict(constants.BE_DEFAULTS, **instance.get("beparams", {}))
    nics = instance.get("nics") or []
    smp = ["%d" % beparams["vcpus"]]
    for key in ("cores", "threads", "sockets"):
        if hvp["cpu_" + key]:
            smp.append("%s=%d" % (key, hvp["cpu_" + key]))
    argv = [hvp["kvm_path"], "-name", name, "-m", "%d" % beparams["maxmem"],
            "-smp", ",".join(smp), "-pidfile", layout.pid_file(name),
            "-daemonize"]
    if instance.get("uuid"):
        argv += ["-uuid", instance["uuid"]]
    if hvp["machine_version"]:
        argv += ["-machine", hvp["machine_version"]]
    argv += ["-accel", accel]
    if not hvp["acpi"]:
        argv.append("-no-acpi")
    if hvp["reboot_behavior"] == "exit":
        argv.append("-no-reboot")
    if startup_paused:
        argv.append("-S")
    if hvp["cpu_type"]:
        argv += ["-cpu", hvp["cpu_type"]]
    if hvp["mem_path"]:
        argv += ["-mem-path", hvp["mem_path"], "-mem-prealloc"]
    if hvp["use_localtime"]:
        argv += ["-rtc", "base=localtime"]
    if hvp["keymap"]:
        argv += ["-k", hvp["keymap"]]
    if hvp["vga"]:
        argv += ["-vga", hvp["vga"]]
    if hvp["soundhw"]:
        argv += ["-device", hvp["soundhw"]]
    if hvp["security_model"] == "user":
        argv += ["-runas", hvp["security_domain"]]

    kernel_path = hvp["kernel_path"]
    if kernel_path:
        argv += ["-kernel", kernel_path]
        if hvp["initrd_path"]:
            argv += ["-initrd", hvp["initrd_path"]]
        append = []
        if hvp["root_path"]:
            append.append("root=" + hvp["root_path"])
        if hvp["kernel_args"]:
            append.append(hvp["kernel_args"])
        if hvp["serial_console"]:
            append.append("console=ttyS0,%d" % hvp["serial_speed"])
        argv += ["-append", " ".join(append)]
    else:
        argv += ["-boot", _BOOT_LETTERS[hvp["boot_order"]]]
    boot_cdrom = not kernel_path and hvp["boot_order"] == "cdrom"
    if hvp["cdrom_image_path"]:
        argv += _cdrom_options(hvp, hvp["cdrom_image_path"], boot_cdrom)
    if hvp["cdrom2_image_path"]:
        argv += _cdrom_options(hvp, hvp["cdrom2_image_path"], False)
    if hvp["floppy_image_path"]:
        argv += ["-drive", "file=%s,format=raw,if=floppy"
                 % _qemu_escape(hvp["floppy_image_path"])]

    argv += _disk_options(hvp, block_devices)
    argv += _nic_options(hvp, nics, taps)

    if hvp["serial_console"]:
        argv += ["-serial", "unix:%s,server=on,wait=off"
                 % _qemu_escape(layout.serial_socket(name))]
    else:
        argv += ["-serial", "none"]
    argv += ["-qmp", "unix:%s,server=on,wait=off"
             % _qemu_escape(layout.qmp_socket(name))]
    if hvp["use_guest_agent"]:
        argv += ["-chardev", "socket,path=%s,server=on,wait=off,id=qga0"
                 % _qemu_escape(layout.qga_socket(name)),
                 "-device", "virtio-serial-pci,id=qgaserial0",
                 "-device",
                 "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"]

    vnc = hvp["vnc_bind_address"]
    if vnc:
        argv += _vnc_options(hvp, name, instance.get("network_port"),
                             vnc_address or vnc)
    else:
        argv += ["-display", "none"]
    mouse = hvp["usb_mouse"] or ("tablet" if vnc else "")
    usb_devices = hvp["usb_devices"].replace(",", " ").split()
    if mouse or usb_devices:
        argv.append("-usb")
        if mouse:
            argv += ["-device", "usb-" + mouse]
        for device in usb_devices:
            argv += ["-usbdevice", device]
    if hvp["kvm_extra"]:
        # Last, so that an operator's options can override ours.
        argv += hvp["kvm_extra"].split()
    return argv


def command_option(argv, flag):
    """
    Read a command line back: a running qemu's (from C{/proc}) or a saved
    one (from the runtime file).

    :return: the value following C{flag} in C{argv}, or C{None}.
    """
    for index, arg in enumerate(argv[:-1]):
        if arg == flag:
            return argv[index + 1]
    return None

