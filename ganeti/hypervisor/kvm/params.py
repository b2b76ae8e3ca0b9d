# -*- test-case-name: tests.test_kvm_params -*-
"""
The kvm hypervisor parameters: their defaults, their allowed values, and
the checks Ganeti makes of them.

Two levels, as in Ganeti: L{check_hvparams} looks at the values alone
(the master runs it before anything reaches a node), L{validate_hvparams}
also looks at this node (files, users, features).  Both raise
L{HypervisorError} naming the first problem.  L{kvm_usable} probes
hardware acceleration for an empty ``kvm_flag``.
"""

import fcntl
import ipaddress
import os
import pwd
import re

from ganeti import constants
from ganeti.errors import HypervisorError

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


def is_ip(text):
    """
    :return: whether C{text} is an IPv4 or IPv6 address.
    """
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
    if vnc and not (is_ip(vnc) or os.path.isabs(vnc)
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
