# -*- test-case-name: tests.test_hypervisor_fake,tests.test_hypervisor_kvm -*-
"""
The contract of a node-side hypervisor, and helpers its providers share.

The node service calls an L{IHypervisor} for everything that touches a
running instance.  Values crossing this interface are plain JSON-able
dicts and lists, because the node service forwards them over AMP as they
are:

  - an I{instance} is the dict the master builds for nodes
    (L{ganeti.cmdlib.common.node_instance_dict}): ``name``, ``uuid``,
    ``hvparams`` (filled in), ``beparams`` (filled in: ``maxmem``,
    ``minmem``, ``vcpus`` ...), ``nics`` (each ``mac``, ``ip``, ``mode``,
    ``link``, ``vlan``, ``uuid``) and ``network_port``;
  - a I{block device} is ``{"path": ..., "mode": "rw" | "ro", "uuid": ...}``;
  - I{instance info} is ``{"name", "id", "memory", "vcpus", "state",
    "cpu_time"}``, Ganeti's six-tuple with names (L{instance_info});
  - a I{console} is Ganeti's C{InstanceConsole} as a dict: ``instance``,
    ``kind`` (L{CONS_MESSAGE}, L{CONS_SSH}, L{CONS_VNC}, L{CONS_SPICE}) and
    the members that kind uses (``message``; ``host``, ``user``,
    ``command``; ``host``, ``port``, ``display``).
"""

import os
import re

from zope.interface import Attribute, Interface

from ganeti.errors import HotplugError, HypervisorError

#: The instance is running (Ganeti's C{HvInstanceState.RUNNING}).
STATE_RUNNING = "running"
#: The guest shut itself down but the hypervisor keeps its slot
#: (Ganeti's C{HvInstanceState.SHUTDOWN}, reported as ``USER_down``).
STATE_SHUTDOWN = "shutdown"

#: Console kinds, with Ganeti's names.
CONS_MESSAGE = "msg"
CONS_SSH = "ssh"
CONS_VNC = "vnc"
CONS_SPICE = "spice"

#: VNC display N listens on TCP port 5900 + N.
VNC_BASE_PORT = 5900

#: Hotplug actions and device kinds (Ganeti's C{HOTPLUG_ACTION_*} and
#: C{HOTPLUG_TARGET_*}).
HOTPLUG_ADD = "add"
HOTPLUG_REMOVE = "remove"
HOTPLUG_MODIFY = "modify"
HOTPLUG_DISK = "disk"
HOTPLUG_NIC = "nic"

#: The keys of L{IHypervisor.get_node_info}'s answer.
NODE_INFO_KEYS = ("memory_total", "memory_free", "memory_dom0", "cpu_total",
                  "cpu_dom0", "cpu_nodes", "cpu_sockets", "hv_version")


class IHypervisor(Interface):
    """
    Runs instances on this node.

    Operations that touch instances return Deferreds, so a provider may run
    commands (L{ganeti.process.run_command}) or talk to a monitor socket
    without blocking the reactor.  Failures are L{HypervisorError}s.
    """

    name = Attribute("The hypervisor's name, e.g. ``'kvm'``.")

    def start_instance(instance, block_devices, startup_paused=False):
        """
        Start an instance.

        :param instance: the instance dict (see the module docstring).
        :param block_devices: the disks, in order: dicts with ``path``,
            ``mode`` and ``uuid``.
        :param startup_paused: start with the virtual CPUs stopped.
        :return: a Deferred firing with C{None} once the instance runs, or
            failing with L{HypervisorError} if it is already running or
            could not be started (the message carries the hypervisor's own
            error output).  A failed start leaves nothing behind.
        """

    def stop_instance(name, force=False, timeout=120):
        """
        Stop an instance.

        :param name: the instance's name.
        :param force: kill it at once instead of asking the guest to shut
            down.
        :param timeout: seconds a clean shutdown may take before the
            instance is killed anyway.
        :return: a Deferred firing with C{None} once the instance is gone
            and its runtime files are removed, or failing with
            L{HypervisorError} if it was not running.
        """

    def reboot_instance(name):
        """
        Reboot a running instance.

        :return: a Deferred firing with C{None}, or failing with
            L{HypervisorError} if the instance is not running.
        """

    def resize_disk(name, index, size_mib):
        """
        Tell a running instance that its disk C{index} now has
        C{size_mib} MiB (the data was grown underneath it).

        :return: a Deferred firing with C{None}, or failing with
            L{HypervisorError} if the instance is not running.
        """

    def cleanup_instance(name):
        """
        Remove what a stopped (or crashed) instance left behind.

        :return: a Deferred firing with C{None}, or failing with
            L{HypervisorError} if the instance is still running.
        """

    def list_instances():
        """
        :return: a Deferred firing with the sorted names of the running
            instances.
        """

    def get_instance_info(name):
        """
        :return: a Deferred firing with the instance info dict of one
            instance, or C{None} if it is not running.
        """

    def get_all_instances_info():
        """
        :return: a Deferred firing with a list of instance info dicts,
            sorted by name.
        """

    def get_node_info(hvparams=None):
        """
        Describe the node's resources as this hypervisor sees them.

        :param hvparams: the cluster's parameters for this hypervisor, or
            C{None} for the defaults.
        :return: a Deferred firing with a dict with L{NODE_INFO_KEYS}
            (memory in MiB; ``hv_version`` a list of integers).
        """

    def get_console(instance):
        """
        Say how to reach an instance's console.

        :param instance: the instance dict.
        :return: a console dict (see the module docstring); synchronous.
        """

    def verify(hvparams=None):
        """
        Check that this node can run instances with this hypervisor.

        :return: a Deferred firing with C{None} if all is well, else with a
            one-line description of the problems.
        """

    def check_parameters(hvparams):
        """
        Check parameter syntax: values, combinations (master-side check).

        Missing parameters take their cluster defaults.  Synchronous.

        :raise HypervisorError: naming the first invalid parameter.
        """

    def validate_parameters(hvparams):
        """
        Check that this node can honour the parameters: the files they
        name exist, the features they ask for are supported (node-side
        check).  Includes L{check_parameters}.  Synchronous.

        :raise HypervisorError: naming the problem.
        """

    # Migration, in Ganeti's steps: the master asks the source for
    # L{migration_info}, has the target L{accept_instance}, the source
    # L{migrate_instance}, then finalizes both sides (the source first, as
    # Ganeti does), or both with C{success=False} to abort.

    def migration_info(name):
        """
        Describe a running instance for the node that will accept it.

        :return: a Deferred firing with an opaque string for
            L{accept_instance} (what the instance really runs with), or
            failing with L{HypervisorError} if it is not running.
        """

    def accept_instance(instance, info, block_devices, target_address):
        """
        Prepare this node to receive a migrating instance.

        :param instance: the instance dict.
        :param info: what L{migration_info} said on the source node.
        :param block_devices: the disks as assembled on this node.
        :param target_address: this node's address the source sends to.
        :return: a Deferred firing with C{None} once the instance can be
            received, or failing with L{HypervisorError} (for instance if
            it already runs here); a failure leaves nothing behind.
        """

    def migrate_instance(instance, target_address, live):
        """
        Send a running instance to a node that accepted it.

        :param instance: the instance dict.
        :param target_address: the address given to L{accept_instance}.
        :param live: keep the guest running while its memory is copied;
            otherwise it is paused first.
        :return: a Deferred firing with C{None} once the transfer is
            complete, or failing with L{HypervisorError}; after a failure
            the instance still exists here (see
            L{finalize_migration_source}).
        """

    def finalize_migration_target(instance, info, success):
        """
        Finish a migration on the receiving node.

        :param success: whether the transfer succeeded: if so the instance
            must end up running here; if not, what L{accept_instance}
            prepared is removed.
        :return: a Deferred firing with C{None}, or failing with
            L{HypervisorError} if the instance cannot be made to run.
        """

    def finalize_migration_source(name, success):
        """
        Finish a migration on the sending node.

        :param success: whether the transfer succeeded: if so the old
            instance is stopped and its runtime files go; if not, it is
            kept (and resumed if the migration paused it).
        :return: a Deferred firing with C{None}, or failing with
            L{HypervisorError}.
        """

    def hotplug_supported(instance):
        """
        Say whether devices can be hotplugged into a running instance,
        before the master creates anything for it.

        :param instance: the instance dict.
        :return: a Deferred firing with C{None}, or failing with
            L{HotplugError} naming the reason (not running, ...).
        """

    def hotplug_device(instance, action, dev_type, device, extra, seq):
        """
        Add, remove or modify one device of a running instance.

        :param action: L{HOTPLUG_ADD}, L{HOTPLUG_REMOVE} or
            L{HOTPLUG_MODIFY} (NICs only: Ganeti replaces the NIC).
        :param dev_type: L{HOTPLUG_DISK} or L{HOTPLUG_NIC}.
        :param device: the disk or NIC dict; it must have a ``uuid``.
        :param extra: for a disk being added, the path it was assembled
            at; otherwise unused.
        :param seq: the device's index among the instance's disks or NICs.
        :return: a Deferred firing with C{None} once the guest has (or no
            longer has) the device and the provider's runtime state says
            so, or failing with L{HotplugError}; a failed add leaves the
            instance as it was.
        """


def check_hotplug_request(action, dev_type):
    """
    Refuse what no provider can hotplug: unknown kinds and actions, and
    modifying a disk (Ganeti only modifies NICs, by replacing them).

    :raise HotplugError: naming what is not supported.
    """
    if dev_type not in (HOTPLUG_DISK, HOTPLUG_NIC):
        raise HotplugError("Hotplug is not supported for %r devices"
                           % (dev_type,))
    if action not in (HOTPLUG_ADD, HOTPLUG_REMOVE, HOTPLUG_MODIFY):
        raise HotplugError("Unknown hotplug action %r" % (action,))
    if dev_type == HOTPLUG_DISK and action == HOTPLUG_MODIFY:
        raise HotplugError("Disk hotplug modify is not supported")


def check_instance_name(name):
    """
    Refuse names that cannot be used as a file name in a state directory.

    :raise HypervisorError: for an empty name, one with a slash or NUL, or
        one starting with a dot (hidden and temporary files).
    """
    if (not isinstance(name, str) or not name or "/" in name
            or "\0" in name or name.startswith(".")):
        raise HypervisorError("Invalid instance name %r" % (name,))


def instance_info(name, instance_id, memory, vcpus, state, cpu_time):
    """
    :return: an instance info dict, the names for Ganeti's six-tuple
        ``(name, id, memory, vcpus, state, cpu_time)``; memory in MiB,
        CPU time in seconds.
    """
    return {"name": name, "id": instance_id, "memory": memory,
            "vcpus": vcpus, "state": state, "cpu_time": cpu_time}


def console_message(name, message):
    """
    :return: a console dict of kind L{CONS_MESSAGE}.
    """
    return {"instance": name, "kind": CONS_MESSAGE, "message": message}


def _read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        raise HypervisorError("Failed to read node info from %s: %s"
                              % (path, e))


def linux_node_info(meminfo="/proc/meminfo", cpuinfo="/proc/cpuinfo",
                    numa_dir="/sys/devices/system/node"):
    """
    The node's memory and CPUs as Linux reports them, Ganeti's way.

    Used by hypervisors whose instances are ordinary processes of this
    kernel.  The files are in C{/proc} and C{/sys}, answered from kernel
    memory, so reading them in the reactor thread does not wait on a disk.

    :return: a dict with memory in MiB: ``memory_total`` (MemTotal),
        ``memory_free`` (MemFree + Buffers + Cached), ``memory_dom0``
        (Active), ``cpu_total`` and ``cpu_dom0`` (processors listed),
        ``cpu_nodes`` (NUMA nodes, at least 1), ``cpu_sockets`` (distinct
        physical ids, at least 1).
    :raise HypervisorError: if the files cannot be read or parsed.
    """
    result = {"memory_dom0": 0}
    free = 0
    try:
        for line in _read_text(meminfo).splitlines():
            key, _, value = line.partition(":")
            if not value:
                continue
            key = key.strip()
            kib = int(value.split()[0])
            if key == "MemTotal":
                result["memory_total"] = kib // 1024
            elif key in ("MemFree", "Buffers", "Cached"):
                free += kib // 1024
            elif key == "Active":
                result["memory_dom0"] = kib // 1024
    except (ValueError, IndexError) as e:
        raise HypervisorError("Failed to parse %s: %s" % (meminfo, e))
    if "memory_total" not in result:
        raise HypervisorError("No MemTotal in %s" % (meminfo,))
    result["memory_free"] = free
    text = _read_text(cpuinfo)
    cpus = len(re.findall(r"(?m)^processor\s*:\s*[0-9]+\s*$", text))
    result["cpu_total"] = cpus
    # Ganeti assumes the node's own OS may use every CPU.
    result["cpu_dom0"] = cpus
    sockets = set(re.findall(r"(?m)^physical id\s*:\s*([0-9]+)\s*$", text))
    result["cpu_sockets"] = max(1, len(sockets))
    try:
        nodes = [n for n in os.listdir(numa_dir) if re.match(r"node\d+$", n)]
    except OSError:
        nodes = []
    result["cpu_nodes"] = max(1, len(nodes))
    return result
