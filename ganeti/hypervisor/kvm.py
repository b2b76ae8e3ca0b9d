# -*- test-case-name: tests.test_hypervisor_kvm -*-
"""
The ``kvm`` hypervisor: one daemonised qemu process per instance.

qemu is started with ``-daemonize -pidfile``, so it outlives the node
daemon, and everything needed to find and control it again is on disk
below ``<run_dir>/kvm-hypervisor/`` (Ganeti's layout):

  - ``pid/<name>``: qemu's pid file;
  - ``ctrl/<name>.qmp``: the QMP socket (L{ganeti.hypervisor.qmp});
  - ``ctrl/<name>.serial``: the serial console, a Unix socket server;
  - ``ctrl/<name>.qga``: the guest agent socket, when enabled;
  - ``conf/<name>.runtime``: JSON of the command line, parameters, disks
    and NICs (with their tap devices) the instance was started with;
  - ``nic/<name>/<index>``: the tap device of each NIC.

An instance is running when its pid file names a live process whose
command line carries ``-name <name>`` and I{this} pid file: the pid file
alone could name a recycled pid, and matching a process name could find
another node root's qemu.  A fresh L{KvmHypervisor} (a restarted node
daemon) therefore adopts running qemus without any handover.

Waiting for a qemu to end is event-driven: a pidfd (``pidfd_open``, Linux
5.3) becomes readable when the process exits, and the reactor watches it
like a socket.  Where that is unavailable (or the reactor is a test clock)
the process is polled on the reactor's clock instead.

Acceleration follows ``kvm_flag``: ``enabled`` passes ``-accel kvm``,
``disabled`` passes ``-accel tcg`` (which also overrides the KVM default of
a binary called ``kvm``), and an empty value probes ``/dev/kvm`` once.
"""

import fcntl
import ipaddress
import json
import os
import pwd
import re
import select
import shutil
import signal
import stat

from twisted.internet.defer import (
    CancelledError,
    Deferred,
    DeferredLock,
    TimeoutError as DeferredTimeoutError,
    fail,
    gatherResults,
    inlineCallbacks,
    succeed,
)
from twisted.internet.interfaces import IReactorFDSet, IReadDescriptor
from twisted.internet.task import deferLater
from twisted.logger import Logger
from zope.interface import implementer

from ganeti import constants
from ganeti.errors import CommandError, HotplugError, HypervisorError
from ganeti.hypervisor.interfaces import (
    CONS_SPICE,
    CONS_SSH,
    CONS_VNC,
    HOTPLUG_ADD,
    HOTPLUG_DISK,
    HOTPLUG_MODIFY,
    HOTPLUG_NIC,
    HOTPLUG_REMOVE,
    STATE_RUNNING,
    STATE_SHUTDOWN,
    VNC_BASE_PORT,
    IHypervisor,
    check_instance_name,
    check_hotplug_request,
    console_message,
    instance_info,
    linux_node_info,
)
from ganeti.hypervisor.qmp import (
    MAX_SOCKET_PATH,
    QmpError,
    connect_qmp,
    qmp_call,
)
from ganeti.process import DEFAULT_PATH, check_command, run_command
from ganeti.utils.io import atomic_write, read_file, remove_file

_log = Logger()

HV_NAME = "kvm"

#: Allowed values of the enumerated parameters (Ganeti 3.0's sets; ``""``
#: where the empty string means "unset").
VALID_VALUES = {
    "boot_order": ("cdrom", "disk", "floppy", "network"),
    "nic_type": ("e1000", "i82551", "i82557b", "i82559er", "ne2k_isa",
                 "ne2k_pci", "paravirtual", "pcnet", "rtl8139"),
    "disk_type": ("ide", "mtd", "paravirtual", "pflash", "scsi",
                  "scsi-block", "scsi-cd", "scsi-generic", "scsi-hd", "sd"),
    "cdrom_disk_type": ("", "ide", "mtd", "paravirtual", "pflash", "scsi",
                        "scsi-block", "scsi-cd", "scsi-generic", "scsi-hd",
                        "sd"),
    "scsi_controller_type": ("lsi", "megasas", "virtio-scsi-pci", "dc390"),
    "disk_cache": ("default", "none", "writethrough", "writeback"),
    "disk_aio": ("threads", "native", "io_uring"),
    "disk_discard": ("default", "ignore", "unmap"),
    "usb_mouse": ("", "mouse", "tablet"),
    "security_model": ("none", "user", "pool"),
    "kvm_flag": ("", "enabled", "disabled"),
    "reboot_behavior": ("reboot", "exit"),
    "migration_mode": ("live", "non-live"),
    "spice_image_compression": ("", "auto_glz", "auto_lz", "glz", "lz",
                                "off", "quic"),
    "spice_jpeg_wan_compression": ("", "always", "auto", "never"),
    "spice_zlib_glz_wan_compression": ("", "always", "auto", "never"),
    "spice_streaming_video": ("", "all", "filter", "off"),
    "spice_ip_version": (0, 4, 6),
}

#: Serial line speeds the console may use (Ganeti's list).
VALID_SERIAL_SPEEDS = (75, 110, 300, 600, 1200, 1800, 2400, 4800, 9600,
                       14400, 19200, 28800, 38400, 57600, 115200, 230400,
                       345600, 460800)

#: Parameters whose value, when set, asks for something this
#: implementation cannot do yet; refusing is better than silently
#: starting an instance without it.
_UNSUPPORTED = {
    "spice_bind": "SPICE consoles are not supported yet",
    "use_chroot": "running qemu in a chroot is not supported yet",
    "user_shutdown": "user shutdown detection is not supported yet",
}

_SCSI_DEVICE_TYPES = ("scsi-block", "scsi-cd", "scsi-generic", "scsi-hd")
#: The PCI bus devices are hotplugged into (the ``pc`` machine's).
_PCI_BUS = "pci.0"
#: What the runtime file adds to a NIC of the instance dict.
_RUNTIME_NIC_KEYS = ("tap", "qdev", "netdev", "pci")
#: The device model a hotplugged disk gets, by ``disk_type``.
_HOTPLUG_DISK_MODELS = {"paravirtual": "virtio-blk-pci"}
_NIC_MODELS = {"paravirtual": "virtio-net-pci"}
_BOOT_LETTERS = {"disk": "c", "cdrom": "d", "network": "n", "floppy": "a"}

#: Seconds qemu may take to initialise and daemonise.
START_TIMEOUT = 60.0
#: Seconds a guest may take to release a device being unplugged: it has
#: to answer the ACPI eject request.
UNPLUG_TIMEOUT = 30.0
#: Seconds a killed qemu may take to disappear.
KILL_TIMEOUT = 30.0
#: Seconds allowed for one QMP exchange.
QMP_TIMEOUT = 10.0
#: How often to look at a process whose exit cannot be watched.
_POLL_INTERVAL = 0.05
#: How often to ask qemu how a migration is going (QMP has no event for
#: every state, and asking is cheap).
MIGRATION_POLL_INTERVAL = 0.25
#: Migration states that end a transfer badly (QMP ``query-migrate``).
_MIGRATION_FAILED = ("failed", "cancelled")
#: Run states in which a received guest is waiting to be resumed.
_RESUMABLE = ("paused", "postmigrate")

# ioctl numbers of /dev/kvm (linux/kvm.h): _IO(0xAE, 0) and _IO(0xAE, 1).
_KVM_GET_API_VERSION = 0xAE00
_KVM_CREATE_VM = 0xAE01
_KVM_API_VERSION = 12


def kvm_usable(device="/dev/kvm"):
    """
    Probe whether hardware acceleration can be used.

    Opening the device is not enough (it may exist in a container without
    the permissions or nested support behind it), so this also creates and
    drops a VM.  These are immediate ioctls, not waits.

    :return: C{True} if KVM answered every step.
    """
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if fcntl.ioctl(fd, _KVM_GET_API_VERSION, 0) != _KVM_API_VERSION:
            return False
        os.close(fcntl.ioctl(fd, _KVM_CREATE_VM, 0))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def fill_hvparams(hvparams):
    """
    :return: C{hvparams} completed with the kvm defaults.
    """
    return dict(constants.HV_DEFAULTS[HV_NAME], **(hvparams or {}))


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _looks_like_interface(text):
    return bool(re.match(r"^[A-Za-z0-9_.:@-]{1,15}$", text))


def _check_cpu_mask(mask):
    """
    :return: whether C{mask} is ``all``, a CPU list like ``0-2,5``, or a
        ``:``-separated list of those (one per virtual CPU).
    """
    item = r"(all|\d+(-\d+)?(,\d+(-\d+)?)*)"
    return bool(re.match(r"^%s(:%s)*$" % (item, item), mask))


def check_hvparams(hvparams):
    """
    Check kvm parameters for syntax and consistency (Ganeti's
    ``CheckParameterSyntax``); unset ones take the defaults.

    :raise HypervisorError: naming the first problem.
    """
    defaults = constants.HV_DEFAULTS[HV_NAME]
    unknown = sorted(set(hvparams) - set(defaults))
    if unknown:
        raise HypervisorError("Unknown kvm hypervisor parameters: %s"
                              % (", ".join(unknown),))
    hvp = fill_hvparams(hvparams)
    for name, default in defaults.items():
        value = hvp[name]
        wanted = type(default)
        if wanted is int and (isinstance(value, bool)
                              or not isinstance(value, int)):
            raise HypervisorError("Parameter %s must be an integer, not %r"
                                  % (name, value))
        if wanted in (bool, str) and not isinstance(value, wanted):
            raise HypervisorError("Parameter %s must be a %s, not %r"
                                  % (name, wanted.__name__, value))
    for name, valid in VALID_VALUES.items():
        if hvp[name] not in valid:
            raise HypervisorError(
                "Invalid value %r for %s; valid values: %s"
                % (hvp[name], name,
                   ", ".join(repr(v) for v in valid if v != "")))
    for name in ("cpu_cores", "cpu_threads", "cpu_sockets",
                 "migration_bandwidth", "migration_downtime"):
        if hvp[name] < 0:
            raise HypervisorError("Parameter %s must not be negative" % name)
    if not 0 < hvp["migration_port"] < 65536:
        raise HypervisorError("Invalid migration_port %r"
                              % (hvp["migration_port"],))
    if not 1 <= hvp["virtio_net_queues"] <= 32:
        raise HypervisorError("virtio_net_queues must be between 1 and 32")
    if not 0 <= hvp["kvm_pci_reservations"] <= 32:
        raise HypervisorError("kvm_pci_reservations must be between 0 and"
                              " 32")
    if hvp["serial_console"] and hvp["serial_speed"] not in \
            VALID_SERIAL_SPEEDS:
        raise HypervisorError(
            "Invalid serial console speed, must be one of: %s"
            % ", ".join(map(str, VALID_SERIAL_SPEEDS)))
    if hvp["boot_order"] == "cdrom" and not hvp["cdrom_image_path"]:
        raise HypervisorError("Cannot boot from cdrom without an ISO path")
    if hvp["boot_order"] == "floppy" and not hvp["floppy_image_path"]:
        raise HypervisorError("Cannot boot from floppy without an image"
                              " path")
    if hvp["security_model"] == "user" and not hvp["security_domain"]:
        raise HypervisorError("A security domain (user to run kvm as) must"
                              " be specified")
    if hvp["security_model"] != "user" and hvp["security_domain"]:
        raise HypervisorError("Cannot have a security domain when the"
                              " security model is 'none' or 'pool'")
    if hvp["vnc_x509_verify"] and not hvp["vnc_x509_path"]:
        raise HypervisorError("vnc_x509_path must be defined, if"
                              " vnc_x509_verify is")
    if hvp["disk_aio"] == "native" and hvp["disk_cache"] != "none":
        raise HypervisorError("When 'disk_aio' is set to 'native', the only"
                              " supported value for 'disk_cache' is 'none'.")
    vnc = hvp["vnc_bind_address"]
    if vnc and not (_is_ip(vnc) or os.path.isabs(vnc)
                    or _looks_like_interface(vnc)):
        raise HypervisorError(
            "VNC: The vnc_bind_address parameter must be either a valid IP"
            " address, an interface name, or an absolute path")
    if vnc and hvp["spice_bind"]:
        raise HypervisorError("Both SPICE and VNC are configured, but only"
                              " one of them can be used at a given time")
    if not _check_cpu_mask(hvp["cpu_mask"]):
        raise HypervisorError("Invalid cpu_mask %r" % (hvp["cpu_mask"],))
    for path_param in ("kvm_path", "kernel_path", "initrd_path",
                       "floppy_image_path", "vnc_password_file",
                       "vnc_x509_path", "mem_path"):
        value = hvp[path_param]
        if value and not os.path.isabs(value):
            raise HypervisorError("Parameter %s must be an absolute path,"
                                  " not %r" % (path_param, value))
    if not hvp["kvm_path"]:
        raise HypervisorError("kvm_path must be set")


def validate_hvparams(hvparams):
    """
    Check that this node can honour the parameters (Ganeti's
    ``ValidateParameters``): named files exist, requested features are
    supported.  Includes L{check_hvparams}.

    These are a few C{stat} calls on local files, done inline.

    :raise HypervisorError: naming the first problem.
    """
    check_hvparams(hvparams)
    hvp = fill_hvparams(hvparams)
    kvm_path = hvp["kvm_path"]
    if not (os.path.isfile(kvm_path) and os.access(kvm_path, os.X_OK)):
        raise HypervisorError("The KVM binary ('%s') does not exist or is"
                              " not executable" % (kvm_path,))
    for name in ("kernel_path", "initrd_path", "floppy_image_path",
                 "vnc_password_file"):
        if hvp[name] and not os.path.isfile(hvp[name]):
            raise HypervisorError("Parameter %s: file '%s' does not exist"
                                  % (name, hvp[name]))
    for name in ("cdrom_image_path", "cdrom2_image_path"):
        value = hvp[name]
        if value and "://" not in value and not os.path.isfile(value):
            raise HypervisorError("Parameter %s: file '%s' does not exist"
                                  % (name, value))
    for name in ("vnc_x509_path", "mem_path"):
        if hvp[name] and not os.path.isdir(hvp[name]):
            raise HypervisorError("Parameter %s: directory '%s' does not"
                                  " exist" % (name, hvp[name]))
    if hvp["security_model"] == "user":
        try:
            pwd.getpwnam(hvp["security_domain"])
        except KeyError:
            raise HypervisorError("Unknown security domain user %s"
                                  % (hvp["security_domain"],))
    if hvp["security_model"] == "pool":
        raise HypervisorError("security_model 'pool' is not supported yet")
    if hvp["cpu_mask"] != "all":
        raise HypervisorError("CPU pinning (cpu_mask) is not supported yet")
    for name, reason in _UNSUPPORTED.items():
        if hvp[name]:
            raise HypervisorError("Parameter %s: %s" % (name, reason))


class RuntimeLayout:
    """
    Where one node's kvm runtime files live (see the module docstring).
    """

    def __init__(self, paths):
        self.root = os.path.join(paths.run_dir, "kvm-hypervisor")
        self.pid_dir = os.path.join(self.root, "pid")
        self.ctrl_dir = os.path.join(self.root, "ctrl")
        self.conf_dir = os.path.join(self.root, "conf")
        self.nic_dir = os.path.join(self.root, "nic")

    def dirs(self):
        """
        :return: every directory, parents first.
        """
        return [self.root, self.pid_dir, self.ctrl_dir, self.conf_dir,
                self.nic_dir]

    def pid_file(self, name):
        """:return: the pid file of instance C{name}."""
        return os.path.join(self.pid_dir, name)

    def qmp_socket(self, name):
        """:return: the QMP socket of instance C{name}."""
        return os.path.join(self.ctrl_dir, name + ".qmp")

    def serial_socket(self, name):
        """:return: the serial console socket of instance C{name}."""
        return os.path.join(self.ctrl_dir, name + ".serial")

    def qga_socket(self, name):
        """:return: the guest agent socket of instance C{name}."""
        return os.path.join(self.ctrl_dir, name + ".qga")

    def runtime_file(self, name):
        """:return: the saved runtime (JSON) of instance C{name}."""
        return os.path.join(self.conf_dir, name + ".runtime")

    def instance_nic_dir(self, name):
        """:return: the NIC files' directory of instance C{name}."""
        return os.path.join(self.nic_dir, name)

    def runtime_paths(self, name):
        """
        :return: the files (not directories) an instance leaves behind.
        """
        return [self.pid_file(name), self.qmp_socket(name),
                self.serial_socket(name), self.qga_socket(name),
                self.runtime_file(name)]


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
    return [] if slot is None else ["bus=" + _PCI_BUS, "addr=0x%x" % slot]


def _disk_options(hvp, block_devices):
    """
    :param block_devices: the disk dicts; those that come from a migration
        source's runtime (L{_device_ids}) keep their ids and PCI slots.
    :return: the qemu arguments for the instance's disks.
    """
    disk_type = hvp["disk_type"]
    argv = []
    scsi = _is_scsi(hvp)
    if scsi and block_devices:
        argv += ["-device", "%s,id=scsi" % hvp["scsi_controller_type"]]
    for index, device in enumerate(_device_ids(hvp, block_devices, [])[0]):
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


def _device_ids(hvp, disks, nics):
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


def _nic_queues(hvp):
    return hvp["virtio_net_queues"] if hvp["nic_type"] == "paravirtual" \
        else 1


def _tap_settings(hvp):
    """
    :return: the tap netdev settings the parameters ask for, shared by
        the command line and QMP ``netdev_add``.
    """
    settings = {}
    if hvp["vhost_net"] and hvp["nic_type"] == "paravirtual":
        settings["vhost"] = True
    if not hvp["vnet_hdr"]:
        settings["vnet_hdr"] = False
    if _nic_queues(hvp) > 1:
        settings["queues"] = _nic_queues(hvp)
    return settings


def _nic_device_settings(hvp):
    """
    :return: the NIC device's settings beyond model and MAC (multi-queue),
        shared by the command line and QMP ``device_add``.
    """
    queues = _nic_queues(hvp)
    return {"mq": True, "vectors": 2 * queues + 2} if queues > 1 else {}


def _option_text(settings):
    """:return: C{settings} as qemu's ``key=value,...`` (bools on/off)."""
    return ["%s=%s" % (key, {True: "on", False: "off"}.get(value, value))
            for key, value in settings.items()]


def _nic_options(hvp, nics, taps):
    if not nics:
        return ["-nic", "none"]
    argv = []
    model = _NIC_MODELS.get(hvp["nic_type"], hvp["nic_type"])
    for nic, tap in zip(_device_ids(hvp, [], nics)[1], taps):
        netdev = nic["netdev"]
        tap_opts = ["tap", "id=" + netdev, "ifname=" + tap, "script=no",
                    "downscript=no"] + _option_text(_tap_settings(hvp))
        device = [model, "netdev=" + netdev, "mac=" + nic["mac"]]
        device += _option_text(_nic_device_settings(hvp))
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


def _with_runtime_ids(block_devices, runtime_disks):
    """
    :return: a migration target's disks (paths of this node) with the
        ids and PCI slots the source's runtime gives them, matched by
        uuid, so the target builds the devices the guest knows.
    """
    ids = {disk.get("uuid"): {key: disk[key] for key in
                              ("qdev", "drive", "node", "pci") if key in disk}
           for disk in runtime_disks}
    return [dict(ids.get(device.get("uuid"), {}), **device)
            for device in block_devices]


def _option(argv, flag):
    """
    :return: the value following C{flag} in C{argv}, or C{None}.
    """
    for index, arg in enumerate(argv[:-1]):
        if arg == flag:
            return argv[index + 1]
    return None


def _migration_uri(instance, address):
    """
    :return: the ``tcp:`` URI qemu migrates an instance through: the
        target's address and the ``migration_port`` parameter.
    """
    port = fill_hvparams(instance.get("hvparams"))["migration_port"]
    if ":" in address:
        address = "[%s]" % address
    return "tcp:%s:%d" % (address, port)


def _proc_cmdline(pid):
    """
    :return: the argument list of process C{pid} (empty for a zombie), or
        C{None} if there is no such process.
    """
    try:
        data = read_file("/proc/%d/cmdline" % pid)
    except OSError:
        return None
    return [os.fsdecode(arg) for arg in data.split(b"\0")[:-1]]


def _cpu_time(pid):
    """
    :return: user plus system CPU seconds of process C{pid}, or 0.
    """
    try:
        text = read_file("/proc/%d/stat" % pid).decode("ascii", "replace")
        # The command name (field 2) may hold spaces; count after it.
        fields = text[text.rindex(")") + 2:].split()
        ticks = int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return 0
    return ticks / os.sysconf("SC_CLK_TCK")


def _stderr_text(result):
    text = result.stderr.decode("utf-8", "replace").strip()
    if len(text) > 4000:
        text = "..." + text[-4000:]
    return text


@implementer(IReadDescriptor)
class _ProcessHandle:
    """
    A process that is not our child, watched until it exits.

    A pidfd pins the process: signals sent through it cannot reach a
    later process that reuses the pid, and it becomes readable when the
    process exits, which the reactor reports like data on a socket.
    """

    def __init__(self, reactor, pid):
        self._reactor = reactor
        self.pid = pid
        self._fd = None
        self._waiters = []
        self._poller = None
        self._watching = False
        try:
            self._fd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._gone = True
            return
        except (AttributeError, OSError):
            # Old kernel or Python: fall back to pid-based signals and
            # polling.
            pass
        self._gone = False

    def exited(self):
        """
        :return: whether the process has ended (a zombie counts as ended).
        """
        if self._gone:
            return True
        if self._fd is not None:
            ready, _, _ = select.select([self._fd], [], [], 0)
            self._gone = bool(ready)
        else:
            args = _proc_cmdline(self.pid)
            self._gone = not args
        return self._gone

    def send_signal(self, signum):
        """
        Signal the process; nothing happens if it has ended.
        """
        if self.exited():
            return
        try:
            if self._fd is not None:
                signal.pidfd_send_signal(self._fd, signum)
            else:
                os.kill(self.pid, signum)
        except ProcessLookupError:
            self._gone = True

    def wait(self, timeout):
        """
        :return: a Deferred firing with C{True} when the process exits, or
            with C{False} after C{timeout} seconds if it has not.
        """
        d = Deferred(lambda d: self._waiters.remove(d))
        if self.exited():
            d.callback(True)
            return d
        self._waiters.append(d)
        timer = self._reactor.callLater(timeout, d.cancel)

        def done(result):
            if timer.active():
                timer.cancel()
            return result

        def timed_out(reason):
            reason.trap(CancelledError)
            return False

        d.addCallbacks(done, timed_out)
        self._watch()
        return d

    def _watch(self):
        if self._fd is not None and IReactorFDSet.providedBy(self._reactor):
            if not self._watching:
                self._watching = True
                self._reactor.addReader(self)
        elif self._poller is None or not self._poller.active():
            self._poller = self._reactor.callLater(_POLL_INTERVAL, self._poll)

    def _poll(self):
        if self.exited():
            self._fire()
        elif self._waiters:
            self._poller = self._reactor.callLater(_POLL_INTERVAL, self._poll)

    def _fire(self):
        self._gone = True
        self._stop_watching()
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(True)

    def _stop_watching(self):
        if self._watching:
            self._watching = False
            self._reactor.removeReader(self)

    def close(self):
        """
        Stop watching and release the pidfd.
        """
        self._stop_watching()
        if self._poller is not None and self._poller.active():
            self._poller.cancel()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # IReadDescriptor, for the reactor.
    def fileno(self):
        return self._fd if self._fd is not None else -1

    def doRead(self):
        self._fire()

    def connectionLost(self, reason):
        self._watching = False

    def logPrefix(self):
        return "qemu-%d" % self.pid


@implementer(IHypervisor)
class KvmHypervisor:
    """
    Instances as daemonised qemu processes; see the module docstring.

    :ivar layout: the L{RuntimeLayout} of this node.
    """

    name = HV_NAME

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
        self._versions = {}
        self._locks = {}
        self._qmp_locks = {}
        # As Ganeti: the directories exist once the hypervisor is loaded.
        for directory in self.layout.dirs():
            os.makedirs(directory, mode=0o750, exist_ok=True)

    # -- parameters ----------------------------------------------------------

    def check_parameters(self, hvparams):
        """
        See L{check_hvparams}.
        """
        check_hvparams(hvparams)

    def validate_parameters(self, hvparams):
        """
        See L{validate_hvparams}.
        """
        validate_hvparams(hvparams)

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

    # -- finding qemu processes ---------------------------------------------

    def _alive_pid(self, name):
        """
        :return: the pid of the instance's qemu, or C{None} if it is not
            running (no pid file, dead or recycled pid).
        """
        pid_file = self.layout.pid_file(name)
        try:
            pid = int(read_file(pid_file).strip())
        except (OSError, ValueError):
            return None
        args = _proc_cmdline(pid)
        if (not args or _option(args, "-name") != name
                or _option(args, "-pidfile") != pid_file):
            return None
        return pid

    def _running_names(self):
        try:
            names = os.listdir(self.layout.pid_dir)
        except FileNotFoundError:
            return []
        return sorted(n for n in names
                      if not n.startswith(".") and self._alive_pid(n))

    def _load_runtime(self, name):
        """
        :return: the saved runtime dict of an instance, or C{None}.
        """
        try:
            return json.loads(read_file(self.layout.runtime_file(name)))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            _log.warn("unreadable kvm runtime file of {name}: {error}",
                      name=name, error=e)
            return None

    def _save_runtime(self, name, runtime):
        """
        Write the runtime file, and one file per NIC naming its tap (so
        leftover taps are found even if the runtime file is unreadable);
        rewritten whenever hotplug changes the devices.
        """
        atomic_write(self.layout.runtime_file(name),
                     json.dumps(runtime, indent=1).encode("utf-8"),
                     mode=0o600, fsync=False)
        nic_dir = self.layout.instance_nic_dir(name)
        shutil.rmtree(nic_dir, ignore_errors=True)
        if runtime["nics"]:
            os.makedirs(nic_dir, exist_ok=True)
        for seq, nic in enumerate(runtime["nics"]):
            atomic_write(os.path.join(nic_dir, str(seq)),
                         nic["tap"].encode("ascii"), fsync=False)

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

    # -- NICs ----------------------------------------------------------------

    def _new_tap_name(self):
        # Interface names have at most 15 characters.
        return "gnt" + os.urandom(4).hex()

    @inlineCallbacks
    def _create_tap(self, tap, nic, hvp):
        """
        Create a tap device and connect it as the NIC's mode says:
        ``bridged`` adds it to the bridge named by ``link`` (an untagged
        access port of ``vlan`` if one is set), ``routed`` adds a host
        route to the NIC's IP (in the routing table named by ``link``),
        other modes (``ext``) only bring it up.
        """
        mode, link = nic.get("mode", "bridged"), nic.get("link") or ""
        if mode == "openvswitch":
            raise HypervisorError("Open vSwitch NICs are not supported yet")
        queues = hvp["virtio_net_queues"] \
            if hvp["nic_type"] == "paravirtual" else 1
        ip_cmd = ["ip", "tuntap", "add", "dev", tap, "mode", "tap"]
        if queues > 1:
            ip_cmd.append("multi_queue")
        yield check_command(self._reactor, ip_cmd, timeout=30)
        vlan = str(nic.get("vlan") or "").lstrip(".")
        if mode == "bridged":
            if not os.path.isdir("/sys/class/net/%s/bridge" % link):
                raise HypervisorError("Bridge '%s' of NIC %s does not exist"
                                      % (link, nic.get("mac")))
            yield check_command(self._reactor, ["ip", "link", "set", "dev",
                                                tap, "master", link],
                                timeout=30)
            if vlan:
                if not vlan.isdigit():
                    raise HypervisorError("VLAN trunks (%r) are not"
                                          " supported yet" % (vlan,))
                yield check_command(self._reactor, [
                    "bridge", "vlan", "add", "dev", tap, "vid", vlan, "pvid",
                    "untagged"], timeout=30)
        yield check_command(self._reactor, ["ip", "link", "set", "dev", tap,
                                            "up"], timeout=30)
        if mode == "routed" and nic.get("ip"):
            command = ["ip", "route", "replace", nic["ip"], "dev", tap]
            if link:
                command += ["table", link]
            yield check_command(self._reactor, command, timeout=30)

    @inlineCallbacks
    def _remove_taps(self, taps):
        """
        Delete tap devices; already missing ones are fine.
        """
        for tap in taps:
            if not os.path.exists("/sys/class/net/" + tap):
                continue
            result = yield run_command(self._reactor,
                                       ["ip", "link", "del", "dev", tap],
                                       timeout=30)
            if result.failed:
                _log.warn("could not remove tap {tap}: {reason}", tap=tap,
                          reason=result.describe())

    def _saved_taps(self, name, runtime):
        taps = [nic.get("tap") for nic in (runtime or {}).get("nics", [])]
        nic_dir = self.layout.instance_nic_dir(name)
        try:
            for entry in os.listdir(nic_dir):
                taps.append(read_file(os.path.join(nic_dir, entry))
                            .decode("utf-8", "replace").strip())
        except OSError:
            pass
        return sorted(set(t for t in taps if t))

    @inlineCallbacks
    def _remove_leftovers(self, name, taps=()):
        """
        Remove an instance's runtime files and tap devices.
        """
        runtime = self._load_runtime(name)
        yield self._remove_taps(sorted(set(taps)
                                       | set(self._saved_taps(name, runtime))))
        for path in self.layout.runtime_paths(name):
            remove_file(path)
        shutil.rmtree(self.layout.instance_nic_dir(name), ignore_errors=True)

    @inlineCallbacks
    def _interface_address(self, interface):
        """
        :return: (via a Deferred) the first IPv4 address of an interface.
        """
        try:
            result = yield check_command(
                self._reactor, ["ip", "-o", "-4", "addr", "show", "dev",
                                interface], timeout=30)
        except CommandError as e:
            raise HypervisorError("VNC: cannot read the address of %s: %s"
                                  % (interface, e))
        match = re.search(rb"\binet ([0-9.]+)/", result.stdout)
        if match is None:
            raise HypervisorError("VNC: interface %s has no IPv4 address"
                                  % (interface,))
        return match.group(1).decode("ascii")

    # -- IHypervisor ---------------------------------------------------------

    def start_instance(self, instance, block_devices, startup_paused=False):
        """
        Start qemu for an instance; see L{IHypervisor.start_instance}.
        """
        try:
            check_instance_name(instance["name"])
        except Exception:
            return fail()
        return self._lock(instance["name"]).run(
            self._start, instance, block_devices, startup_paused)

    def _start(self, instance, block_devices, startup_paused):
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
        if self._alive_pid(name) is not None:
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
        taps = [self._new_tap_name() for _ in nics]
        vnc_address = hvp["vnc_bind_address"]
        if (vnc_address and not _is_ip(vnc_address)
                and not os.path.isabs(vnc_address)):
            vnc_address = yield self._interface_address(vnc_address)
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
        disks, named_nics = _device_ids(hvp, block_devices, nics)
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
                yield self._create_tap(tap, nic, hvp)
            self._save_runtime(name, runtime)
            result = yield run_command(self._reactor, argv,
                                       timeout=self._start_timeout)
            if result.failed:
                raise HypervisorError(
                    "Failed to start instance %s: %s\n%s"
                    % (name, result.describe(), _stderr_text(result)))
            if self._alive_pid(name) is None:
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
                  accel=_option(argv, "-accel"))

    @inlineCallbacks
    def _kill_and_clean(self, name, taps=()):
        """
        Kill the instance's qemu if there is one and remove its files: to
        undo a failed start, or to end a qemu whose guest state has moved
        (or will not arrive) elsewhere.
        """
        pid = self._alive_pid(name)
        if pid is not None:
            handle = _ProcessHandle(self._reactor, pid)
            try:
                handle.send_signal(signal.SIGKILL)
                yield handle.wait(self._kill_timeout)
            finally:
                handle.close()
        yield self._remove_leftovers(name, taps)

    def stop_instance(self, name, force=False, timeout=120):
        """
        Stop an instance's qemu; see L{IHypervisor.stop_instance}.

        A soft stop sends an ACPI power-button press (QMP
        ``system_powerdown``) and waits for qemu to exit; instances with
        ``acpi`` off cannot be asked and are killed, as in Ganeti.
        """
        try:
            check_instance_name(name)
        except Exception:
            return fail()
        return self._lock(name).run(self._stop, name, force, timeout)

    @inlineCallbacks
    def _stop(self, name, force, timeout):
        pid = self._alive_pid(name)
        if pid is None:
            yield self._remove_leftovers(name)
            raise HypervisorError("Failed to stop instance %s: not running"
                                  % (name,))
        runtime = self._load_runtime(name) or {}
        acpi = runtime.get("hvparams", {}).get("acpi", True)
        handle = _ProcessHandle(self._reactor, pid)
        try:
            # Look again now that the pidfd pins the process: the pid read
            # from the file may have ended (and been reused) in between.
            gone = self._alive_pid(name) != pid
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

    def reboot_instance(self, name):
        """
        Reset the guest (QMP ``system_reset``): the virtual machine restarts
        at once, with the same qemu process and command line.
        """
        try:
            check_instance_name(name)
        except Exception:
            return fail()
        return self._lock(name).run(self._reboot, name)

    @inlineCallbacks
    def _reboot(self, name):
        if self._alive_pid(name) is None:
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
        runtime = self._load_runtime(name)
        if self._alive_pid(name) is None or runtime is None:
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

    def cleanup_instance(self, name):
        """
        Remove runtime files and taps of an instance that is not running.
        """
        try:
            check_instance_name(name)
        except Exception:
            return fail()
        return self._lock(name).run(self._cleanup, name)

    @inlineCallbacks
    def _cleanup(self, name):
        if self._alive_pid(name) is not None:
            raise HypervisorError("Cannot clean up running instance %s"
                                  % (name,))
        yield self._remove_leftovers(name)

    # -- hotplug -------------------------------------------------------------

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
        self._save_runtime(name, runtime)

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
        runtime = self._load_runtime(name)
        if self._alive_pid(name) is None or runtime is None:
            raise HotplugError("Cannot hotplug: instance %s is not running"
                               % (name,))
        return runtime

    def hotplug_supported(self, instance):
        """
        Devices can be hotplugged into any running instance this module
        started: every device is named and the guest's PCI bus takes new
        ones.
        """
        try:
            check_instance_name(instance["name"])
            self._hotplug_runtime(instance["name"])
        except Exception:
            return fail()
        return succeed(None)

    def hotplug_device(self, instance, action, dev_type, device, extra, seq):
        """
        Add or remove a disk or NIC of a running qemu, or replace a NIC
        (Ganeti's modify); see L{IHypervisor.hotplug_device}.  The runtime
        file follows every step, so migration and adoption know the
        devices.
        """
        try:
            check_instance_name(instance["name"])
            check_hotplug_request(action, dev_type)
        except Exception:
            return fail()
        return self._lock(instance["name"]).run(
            self._hotplug, instance["name"], action, dev_type, device, extra,
            seq)

    @inlineCallbacks
    def _hotplug(self, name, action, dev_type, device, extra, seq):
        runtime = self._hotplug_runtime(name)
        devices = runtime["disks" if dev_type == HOTPLUG_DISK else "nics"]
        known = _plugged_entry(name, devices, device["uuid"], action)
        if known is not None:
            yield self._unplug(name, dev_type, known)
            devices.remove(known)
            self._save_runtime(name, runtime)
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
                    self._save_runtime(name, runtime)
                raise
            devices.insert(min(seq, len(devices)), entry)
            self._save_runtime(name, runtime)
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
                "driver": model, "id": qdev, "drive": qdev, "bus": _PCI_BUS,
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
        tap = self._new_tap_name()
        try:
            yield self._create_tap(tap, nic, hvp)
            yield self._qmp_hotplug(name, "netdev_add", dict(
                {"type": "tap", "id": qdev, "ifname": tap, "script": "no",
                 "downscript": "no"}, **_tap_settings(hvp)))
            try:
                yield self._qmp_hotplug(name, "device_add", dict(
                    {"driver": _NIC_MODELS.get(hvp["nic_type"],
                                               hvp["nic_type"]),
                     "id": qdev, "netdev": qdev, "mac": nic["mac"],
                     "bus": _PCI_BUS, "addr": "0x%x" % slot},
                    **_nic_device_settings(hvp)))
            except HotplugError:
                yield self._qmp_hotplug(name, "netdev_del", {"id": qdev})
                raise
        except Exception as e:
            yield self._remove_taps([tap])
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
            yield self._remove_taps([device["tap"]])

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

    # -- migration -----------------------------------------------------------

    def migration_info(self, name):
        """
        :return: (via a Deferred) the saved runtime (JSON text) of a
            running instance: the target builds the same virtual machine
            from it, whatever the configuration says by now.
        """
        try:
            check_instance_name(name)
            if self._alive_pid(name) is None:
                raise HypervisorError("Instance %s is not running" % (name,))
            return succeed(read_file(self.layout.runtime_file(name))
                           .decode("utf-8"))
        except OSError as e:
            return fail(HypervisorError("Cannot read the runtime of %s: %s"
                                        % (name, e)))
        except Exception:
            return fail()

    def accept_instance(self, instance, info, block_devices, target_address):
        """
        Start qemu with the source's virtual hardware, waiting for the
        guest on ``tcp:<target_address>:<migration_port>``.
        """
        try:
            check_instance_name(instance["name"])
            runtime = json.loads(info)
            spec = dict(instance, hvparams=runtime["hvparams"],
                        beparams=runtime["beparams"],
                        nics=[{k: v for k, v in nic.items() if k != "tap"}
                              for nic in runtime["nics"]],
                        network_port=runtime.get("network_port"))
            block_devices = _with_runtime_ids(block_devices, runtime["disks"])
            accel = _option(runtime["argv"], "-accel") or \
                self.accelerator(runtime["hvparams"])
        except (ValueError, KeyError, TypeError) as e:
            return fail(HypervisorError("Invalid migration info for %s: %s"
                                        % (instance["name"], e)))
        except Exception:
            return fail()
        return self._lock(instance["name"]).run(
            self._launch, spec, block_devices, accel, False,
            _migration_uri(instance, target_address))

    def migrate_instance(self, instance, target_address, live):
        """
        Send the guest to the accepting qemu (QMP ``migrate``) with the
        bandwidth and downtime limits of the parameters, and wait until
        qemu says the transfer is complete.  A non-live migration pauses
        the guest first.
        """
        try:
            check_instance_name(instance["name"])
        except Exception:
            return fail()
        return self._lock(instance["name"]).run(
            self._migrate, instance, target_address, live)

    @inlineCallbacks
    def _migrate(self, instance, target_address, live):
        name = instance["name"]
        if self._alive_pid(name) is None:
            raise HypervisorError("Instance %s is not running" % (name,))
        hvp = fill_hvparams(instance.get("hvparams"))
        try:
            yield self._qmp(name, "migrate-set-parameters", {
                "max-bandwidth": hvp["migration_bandwidth"] * 1024 * 1024,
                "downtime-limit": hvp["migration_downtime"]})
            capabilities = [c for c in hvp["migration_caps"].split(":") if c]
            if capabilities:
                yield self._qmp(name, "migrate-set-capabilities", {
                    "capabilities": [{"capability": c, "state": True}
                                     for c in capabilities]})
            if not live:
                yield self._qmp(name, "stop")
            yield self._qmp(name, "migrate",
                            {"uri": _migration_uri(instance, target_address)})
            yield self._wait_for_migration(name)
        except QmpError as e:
            raise HypervisorError("Failed to migrate instance %s: %s"
                                  % (name, e))
        _log.info("kvm instance {name} sent to {target}", name=name,
                  target=target_address)

    @inlineCallbacks
    def _wait_for_migration(self, name):
        """
        Poll QMP ``query-migrate`` until the transfer has ended.

        :raise HypervisorError: if qemu reports it failed or was cancelled.
        """
        while True:
            status = yield self._qmp(name, "query-migrate")
            state = status.get("status")
            if state == "completed":
                return
            if state in _MIGRATION_FAILED:
                raise HypervisorError(
                    "Migration of instance %s %s: %s"
                    % (name, state, status.get("error-desc", "no details")))
            yield deferLater(self._reactor, MIGRATION_POLL_INTERVAL,
                             lambda: None)

    def finalize_migration_target(self, instance, info, success):
        """
        On success, make sure the received guest runs (``cont`` if the
        migration left it paused); otherwise kill the waiting qemu.
        """
        try:
            check_instance_name(instance["name"])
        except Exception:
            return fail()
        if not success:
            return self._lock(instance["name"]).run(
                self._kill_and_clean, instance["name"])
        return self._lock(instance["name"]).run(self._resume_received,
                                                instance["name"])

    @inlineCallbacks
    def _resume_received(self, name):
        if self._alive_pid(name) is None:
            raise HypervisorError("Instance %s is not running after its"
                                  " migration" % (name,))
        try:
            state = yield self._settled_state(name)
            if state in _RESUMABLE:
                yield self._qmp(name, "cont")
        except QmpError as e:
            raise HypervisorError("Cannot resume migrated instance %s: %s"
                                  % (name, e))

    @inlineCallbacks
    def _settled_state(self, name):
        """
        :return: (via a Deferred) the run state of a received guest once
            qemu has loaded it (it says ``inmigrate`` until then).
        :raise HypervisorError: if that takes longer than a start may.
        """
        deadline = self._reactor.seconds() + self._start_timeout
        while True:
            status = yield self._qmp(name, "query-status")
            state = status.get("status")
            if state != "inmigrate":
                return state
            if self._reactor.seconds() >= deadline:
                raise HypervisorError("Instance %s did not arrive within %d"
                                      " seconds" % (name, self._start_timeout))
            yield deferLater(self._reactor, MIGRATION_POLL_INTERVAL,
                             lambda: None)

    def finalize_migration_source(self, name, success):
        """
        On success the old qemu (paused by qemu at the end of the
        transfer) is killed and its files removed; otherwise the guest is
        resumed if the migration had paused it.
        """
        try:
            check_instance_name(name)
        except Exception:
            return fail()
        if success:
            return self._lock(name).run(self._kill_and_clean, name)
        return self._lock(name).run(self._resume_kept, name)

    @inlineCallbacks
    def _resume_kept(self, name):
        if self._alive_pid(name) is None:
            raise HypervisorError("Instance %s is not running" % (name,))
        try:
            status = yield self._qmp(name, "query-status")
            if status.get("status") in _RESUMABLE:
                yield self._qmp(name, "cont")
        except QmpError as e:
            raise HypervisorError("Cannot resume instance %s: %s"
                                  % (name, e))

    def list_instances(self):
        """
        :return: (via a Deferred) the sorted names of running instances.
        """
        return succeed(self._running_names())

    def get_instance_info(self, name):
        """
        :return: (via a Deferred) the instance info: memory and vCPUs from
            qemu's command line, CPU time from C{/proc}, state from QMP
            ``query-status``; C{None} if it is not running.
        """
        try:
            check_instance_name(name)
        except Exception:
            return fail()
        return self._info(name)

    @inlineCallbacks
    def _info(self, name):
        pid = self._alive_pid(name)
        if pid is None:
            return None
        args = _proc_cmdline(pid) or []
        try:
            memory = int(re.match(r"\d+", _option(args, "-m") or "0")
                         .group(0))
            vcpus = int(re.match(r"\d+", _option(args, "-smp") or "1")
                        .group(0))
        except (AttributeError, ValueError):
            memory, vcpus = 0, 1
        state = STATE_RUNNING
        try:
            status = yield self._qmp(name, "query-status")
        except QmpError as e:
            # A busy or stuck monitor must not hide a running instance.
            _log.warn("cannot query the status of {name}: {error}",
                      name=name, error=e)
        else:
            if status.get("status") in ("shutdown", "guest-panicked"):
                state = STATE_SHUTDOWN
        return instance_info(name, pid, memory, vcpus, state,
                             _cpu_time(pid))

    @inlineCallbacks
    def get_all_instances_info(self):
        """
        :return: (via a Deferred) the info of every running instance.
        """
        infos = yield gatherResults(
            [self._info(name) for name in self._running_names()],
            consumeErrors=True)
        return [info for info in infos if info is not None]

    @inlineCallbacks
    def get_node_info(self, hvparams=None):
        """
        The node's Linux figures plus ``hv_version``, qemu's version as
        ``[major, minor, micro]`` from ``kvm_path --version``.
        """
        result = linux_node_info()
        kvm_path = fill_hvparams(hvparams)["kvm_path"]
        if kvm_path not in self._versions:
            try:
                output = yield check_command(self._reactor,
                                             [kvm_path, "--version"],
                                             timeout=30)
            except CommandError as e:
                raise HypervisorError("Cannot get the version of %s: %s"
                                      % (kvm_path, e))
            match = re.search(rb"version (\d+)\.(\d+)(?:\.(\d+))?",
                              output.stdout)
            if match is None:
                raise HypervisorError("Cannot parse the version of %s: %r"
                                      % (kvm_path, output.stdout[:200]))
            self._versions[kvm_path] = [int(v or 0) for v in match.groups()]
        result["hv_version"] = list(self._versions[kvm_path])
        return result

    def get_console(self, instance):
        """
        How to reach an instance's console.

        With ``serial_console`` the answer has kind ``ssh`` and a
        ``command`` that, run on this node, attaches the terminal to the
        serial socket (``socat``; Ctrl-] detaches); ``host`` is left for
        the master to fill in.  A VNC display is added under ``vnc`` when
        configured, or is the answer itself without a serial console.
        """
        name = instance["name"]
        hvp = fill_hvparams(instance.get("hvparams"))
        port = instance.get("network_port")
        vnc = None
        if (hvp["vnc_bind_address"] and port is not None
                and port > VNC_BASE_PORT):
            vnc = {"instance": name, "kind": CONS_VNC,
                   "host": hvp["vnc_bind_address"], "port": port,
                   "display": port - VNC_BASE_PORT}
        if hvp["serial_console"]:
            socat = shutil.which("socat", path=DEFAULT_PATH) \
                or "/usr/bin/socat"
            console = {"instance": name, "kind": CONS_SSH, "host": None,
                       "user": "root",
                       "command": [socat, "STDIO,raw,echo=0,escape=0x1d",
                                   "UNIX-CONNECT:"
                                   + self.layout.serial_socket(name)]}
            if vnc is not None:
                console["vnc"] = vnc
            return console
        if vnc is not None:
            return vnc
        if hvp["spice_bind"]:
            return {"instance": name, "kind": CONS_SPICE,
                    "host": hvp["spice_bind"], "port": port}
        return console_message(name, "No serial shell for instance %s"
                               % (name,))

    def verify(self, hvparams=None):
        """
        :return: (via a Deferred) C{None}, or the problems found: missing
            or non-executable qemu, missing ``socat`` (consoles), missing
            runtime directories.
        """
        problems = []
        kvm_path = fill_hvparams(hvparams)["kvm_path"]
        if not (os.path.isfile(kvm_path) and os.access(kvm_path, os.X_OK)):
            problems.append("The KVM binary ('%s') does not exist or is not"
                            " executable" % (kvm_path,))
        if shutil.which("socat", path=DEFAULT_PATH) is None:
            problems.append("The socat binary (for consoles) is not"
                            " installed")
        for directory in self.layout.dirs():
            if not os.path.isdir(directory):
                problems.append("The required directory '%s' does not exist"
                                % (directory,))
        return succeed("; ".join(problems) if problems else None)

