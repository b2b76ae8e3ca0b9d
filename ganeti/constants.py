# -*- test-case-name: tests.test_config -*-
"""
Fixed facts of the Ganeti world: versions, defaults, names.

The default values are Ganeti 3.0's, so a cluster initialised here looks
the same in ``gnt-cluster info`` as one initialised by Ganeti.
"""

RELEASE_VERSION = "3.0.2"
CONFIG_VERSION = 3000000
PROTOCOL_VERSION = 3000000
OS_API_VERSIONS = (20, 15, 10)
EXPORT_VERSION = 0
VCS_VERSION = "(ganeti-twisted) version v3.0.2"

HYPERVISORS = ("kvm", "xen-pvm", "xen-hvm", "lxc", "chroot", "fake")
#: The hypervisors this implementation has a provider for (the others are
#: known names a config may carry, but no cluster here can enable them).
IMPLEMENTED_HYPERVISORS = ("fake", "kvm")
#: What Ganeti enables when ``gnt-cluster init`` names no hypervisor.
DEFAULT_HYPERVISOR = "xen-pvm"
DISK_TEMPLATES = ("blockdev", "diskless", "drbd", "ext", "file", "gluster",
                  "plain", "rbd", "sharedfile")

#: Hypervisor parameters that only exist cluster-wide.
HV_GLOBALS = ("migration_bandwidth", "migration_mode", "migration_port", "xen_cmd")

_KVM_DEFAULTS = {
    "acpi": True, "boot_order": "disk", "cdrom2_image_path": "",
    "cdrom_disk_type": "", "cdrom_image_path": "", "cpu_cores": 0,
    "cpu_mask": "all", "cpu_sockets": 0, "cpu_threads": 0, "cpu_type": "",
    "disk_aio": "threads", "disk_cache": "default", "disk_discard": "default",
    "disk_type": "paravirtual", "floppy_image_path": "", "initrd_path": "",
    "kernel_args": "ro", "kernel_path": "/boot/vmlinuz-3-kvmU", "keymap": "",
    "kvm_extra": "", "kvm_flag": "", "kvm_path": "/usr/bin/kvm",
    "kvm_pci_reservations": 12, "machine_version": "", "mem_path": "",
    "migration_bandwidth": 32, "migration_caps": "", "migration_downtime": 30,
    "migration_mode": "live", "migration_port": 8102,
    "nic_type": "paravirtual", "reboot_behavior": "reboot",
    "root_path": "/dev/vda1", "scsi_controller_type": "lsi",
    "security_domain": "", "security_model": "none", "serial_console": True,
    "serial_speed": 38400, "soundhw": "", "spice_bind": "",
    "spice_image_compression": "", "spice_ip_version": 0,
    "spice_jpeg_wan_compression": "", "spice_password_file": "",
    "spice_playback_compression": True, "spice_streaming_video": "",
    "spice_tls_ciphers": "HIGH:-DES:-3DES:-EXPORT:-DH", "spice_use_tls": False,
    "spice_use_vdagent": True, "spice_zlib_glz_wan_compression": "",
    "usb_devices": "", "usb_mouse": "", "use_chroot": False,
    "use_guest_agent": False, "use_localtime": False, "user_shutdown": False,
    "vga": "", "vhost_net": False, "virtio_net_queues": 1,
    "vnc_bind_address": "", "vnc_password_file": "", "vnc_tls": False,
    "vnc_x509_path": "", "vnc_x509_verify": False, "vnet_hdr": True,
}

HV_DEFAULTS = {
    "kvm": _KVM_DEFAULTS,
    "xen-pvm": {
        "blockdev_prefix": "sd", "bootloader_args": "", "bootloader_path": "",
        "cpu_cap": 0, "cpu_mask": "all", "cpu_weight": 256, "cpuid": "",
        "initrd_path": "", "kernel_args": "ro",
        "kernel_path": "/boot/vmlinuz-3-xenU", "migration_mode": "live",
        "migration_port": 8002, "reboot_behavior": "reboot",
        "root_path": "/dev/xvda1", "soundhw": "", "use_bootloader": False,
        "vif_script": "", "xen_cmd": "xm",
    },
    "xen-hvm": {
        "acpi": True, "blockdev_prefix": "hd", "boot_order": "cd",
        "cdrom_image_path": "", "cpu_cap": 0, "cpu_mask": "all",
        "cpu_weight": 256, "cpuid": "",
        "device_model": "/usr/lib/xen/bin/qemu-dm", "disk_type": "paravirtual",
        "kernel_path": "/usr/lib/xen/boot/hvmloader",
        "migration_mode": "non-live", "migration_port": 8002,
        "nic_type": "rtl8139", "pae": True, "pci_pass": "",
        "reboot_behavior": "reboot", "soundhw": "", "use_localtime": False,
        "vif_script": "", "vif_type": "ioemu", "viridian": False,
        "vnc_bind_address": "0.0.0.0", "xen_cmd": "xm",
    },
    "lxc": {
        "cpu_mask": "",
        "devices": "c 1:3 rw,c 1:5 rw,c 1:7 rw,c 1:8 rw,c 1:9 rw,c 1:10 rw,"
                   "c 5:0 rw,c 5:1 rw,c 5:2 rw,c 136:* rw",
        "drop_capabilities": "mac_override,sys_boot,sys_module,sys_time,sys_admin",
        "extra_cgroups": "", "extra_config": "", "num_ttys": 6,
        "startup_timeout": 30,
    },
    "chroot": {"init_script": "/ganeti-chroot"},
    "fake": {"migration_mode": "live"},
}

BE_DEFAULTS = {"always_failover": False, "auto_balance": True, "maxmem": 128,
               "minmem": 128, "spindle_use": 1, "vcpus": 1}

ND_DEFAULTS = {"cpu_speed": 1.0, "exclusive_storage": False, "oob_program": "",
               "ovs": False, "ovs_link": "", "ovs_name": "switch1",
               "spindle_count": 1, "ssh_port": 22}

NIC_DEFAULTS = {"link": "xen-br0", "mode": "bridged", "vlan": ""}

DISK_DEFAULTS = {
    "diskless": {}, "file": {}, "sharedfile": {}, "plain": {"stripes": 1},
    "blockdev": {},
    "drbd": {
        "c-delay-target": 1, "c-fill-target": 0, "c-max-rate": 61440,
        "c-min-rate": 4096, "c-plan-ahead": 20, "data-stripes": 1,
        "disk-barriers": "n", "disk-custom": "", "dynamic-resync": False,
        "meta-barriers": False, "meta-stripes": 1, "metavg": "xenvg",
        "net-custom": "", "protocol": "C", "resync-rate": 61440,
    },
    "rbd": {"access": "kernelspace", "pool": "rbd"},
    "ext": {"access": "kernelspace"},
    "gluster": {"access": "kernelspace", "host": "127.0.0.1", "port": 24007,
                "volume": "gv0"},
}

_ISPEC_MIN = {"cpu-count": 1, "disk-count": 1, "disk-size": 1024,
              "memory-size": 128, "nic-count": 1, "spindle-use": 1}
_ISPEC_MAX = {"cpu-count": 8, "disk-count": 16, "disk-size": 1048576,
              "memory-size": 32768, "nic-count": 8, "spindle-use": 12}

IPOLICY_DEFAULTS = {
    "disk-templates": list(DISK_TEMPLATES),
    "minmax": [{"min": dict(_ISPEC_MIN), "max": dict(_ISPEC_MAX)}],
    "spindle-ratio": 32.0,
    "std": dict(_ISPEC_MIN),
    "vcpu-ratio": 4.0,
}

DEFAULT_MAC_PREFIX = "aa:00:00"
DEFAULT_VG = "xenvg"
#: MiB a volume group must have for cluster verify (Ganeti's MIN_VG_SIZE).
MIN_VG_SIZE = 20480
DEFAULT_CANDIDATE_POOL_SIZE = 10
DEFAULT_MAX_RUNNING_JOBS = 20
DEFAULT_MAX_TRACKED_JOBS = 25
DEFAULT_NODEGROUP = "default"
DEFAULT_DRBD_HELPER = "/bin/true"

#: Unarchived jobs the queue holds before it refuses new ones.
JOB_QUEUE_SIZE_HARD_LIMIT = 5000

#: Jobs older than this are archived by the watcher (seconds).
JOB_AUTOARCHIVE_AGE = 6 * 3600

#: Instance admin states.
ADMINST_UP = "up"
ADMINST_DOWN = "down"
ADMINST_OFFLINE = "offline"
