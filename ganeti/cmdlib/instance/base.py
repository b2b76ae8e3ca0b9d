# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
What every instance logical unit shares: the instance and its primary
node looked up under the locks, running state, block devices, memory
checks, starting and stopping; and the builders of new NICs and disks
(MACs, IPs, logical ids) that creation, modification and imports use.
"""

import ipaddress
import random
import re
import uuid as uuidmod

import attrs
from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import constants, disk_templates, errors, hooks
from ganeti import params as paramsmod
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import call_node, get_instance
from ganeti.cmdlib.hooks import instance_object_variables
from ganeti.cmdlib.instance import nics as nicsmod
from ganeti import locking
from ganeti.objects import NIC, Disk
from ganeti.params import (
    instance_nodes, node_disks, node_instance_dict, secondary_nodes)

_MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


def new_uuid():
    """:return: a fresh uuid for a new instance, disk or NIC."""
    return str(uuidmod.uuid4())


def wrong_input(message):
    """:return: the prerequisite error for input that can never work."""
    return errors.OpPrereqError(message, "wrong_input")


def used_macs(cfg):
    """:return: every MAC address the cluster's NICs use."""
    return {nic.mac for inst in cfg.instances.values() for nic in inst.nics}


def choose_mac(cfg, wanted, taken=(), prefix=None):
    """
    Validate a requested MAC or generate one (``auto``/``generate``).

    :param taken: MACs already chosen in the same operation.
    :param prefix: the first three octets of a generated MAC (a
        network's prefix); the cluster's by default.
    :raise OpPrereqError: for a malformed or already used address.
    """
    used = used_macs(cfg) | set(taken)
    mac = (wanted or "auto").lower()
    if mac in ("auto", "generate"):
        prefix = prefix or cfg.cluster.mac_prefix
        for _ in range(1000):
            mac = "%s:%02x:%02x:%02x" % (prefix, random.randrange(256),
                                         random.randrange(256),
                                         random.randrange(256))
            if mac not in used:
                return mac
        raise errors.OpExecError("Could not generate a unique MAC address")
    if not _MAC_RE.match(mac):
        raise wrong_input("Invalid MAC address specified: %s" % mac)
    if mac in used:
        raise errors.OpPrereqError("MAC address %s already in use in cluster"
                                   % mac, "not_unique")
    return mac


def check_nic_ip(ip):
    """
    :return: the NIC's IP (None for none, ``pool`` for one from its
        network's pool); :raise OpPrereqError: if bad.
    """
    if ip in (None, "", "none"):
        return None
    if ip.lower() == nicsmod.IP_POOL:
        return nicsmod.IP_POOL
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise wrong_input("Invalid IP address '%s'" % ip)
    return ip


def build_disk(cluster, template, instance_name, index, spec, file_driver,
               subdir=None):
    """:return: a new L{Disk} from a ``--disk`` specification."""
    size = spec.get("size")
    if template not in disk_templates.SUPPORTED_TEMPLATES:
        raise wrong_input("Disk template '%s' is not supported yet" % template)
    if template != "blockdev" and not isinstance(size, int):
        raise wrong_input("Missing or invalid size for disk %d" % index)
    mode = spec.get("mode", "rw")
    if mode not in ("rw", "ro"):
        raise wrong_input("Invalid disk access mode '%s'" % mode)
    spindles = spec.get("spindles")
    if spindles is not None:
        try:
            spindles = int(spindles)
        except (TypeError, ValueError):
            spindles = -1
        if spindles < 1:
            raise wrong_input("Invalid number of spindles for disk %d: %r"
                              % (index, spec["spindles"]))
    params = disk_templates.disk_spec_params(template, spec)
    disk_uuid = new_uuid()
    # As in Ganeti, the volume or file is named after an id of its own,
    # not the disk's uuid.
    logical_id = disk_templates.logical_id_for(
        template, cluster, instance_name, new_uuid(), index,
        adopt=spec.get("adopt"), vg=spec.get("vg"),
        file_driver=file_driver or "loop", file_storage_subdir=subdir,
        provider=spec.get("provider"))
    return Disk(uuid=disk_uuid, dev_type=template, size=size or 0, mode=mode,
                logical_id=logical_id, iv_name="disk/%d" % index,
                name=spec.get("name"), params=params, spindles=spindles)


def check_spindles(disks, exclusive, template):
    """
    Ganeti's rules for spindles: exclusive storage (on the node the disks
    go to) needs ``plain`` disks with their spindles given, and spindles
    mean nothing without it.

    :param disks: new L{Disk}s.
    :raise OpPrereqError: when they are broken.
    """
    if exclusive and template != "plain":
        raise errors.OpPrereqError("Disk template %s not supported with"
                                   " exclusive storage" % template,
                                   "wrong_state")
    for disk in disks:
        if not exclusive and disk.spindles is not None:
            raise wrong_input("Spindles in instance disks cannot be specified"
                              " when exclusive storage is not active")
        if exclusive and disk.spindles is None:
            raise wrong_input("You must specify spindles in instance disks"
                              " when exclusive storage is active")


class InstanceLU(LogicalUnit):
    """
    Looks up the instance and locks it and its node.

    Units with hooks (an C{HPATH}) run them, as most of Ganeti's do, on
    the master and the instance's nodes with the instance's variables
    plus L{hooks_extra_env}.
    """

    NODE_SHARED = False
    HTYPE = hooks.HTYPE_INSTANCE

    #: ``(config, instance)`` as the pre phase saw them.
    _hooks_seen = None

    def needed_locks(self):
        name = self.op["instance_name"]
        instance = self.cfg.instance_by_name(name)
        result = super().needed_locks()
        result.append((locking.LEVEL_INSTANCE, [name], False))
        if instance is not None:
            nodes = [self.cfg.nodes[uuid].name
                     for uuid in instance_nodes(self.cfg, instance)]
            result.append((locking.LEVEL_NODE, nodes, self.NODE_SHARED))
        return result

    @property
    def instance(self):
        return get_instance(self.cfg, self.op["instance_name"])

    @property
    def pnode(self):
        return self.cfg.nodes[self.instance.primary_node]

    @property
    def snodes(self):
        """:return: the instance's secondary L{Node}s."""
        return [self.cfg.nodes[uuid]
                for uuid in secondary_nodes(self.cfg, self.instance)]

    def hooks_view(self):
        """
        :return: ``(config, instance)`` the hooks describe: the current
            ones; once the instance is gone (removed), those the pre
            phase saw.
        """
        cfg = self.cfg
        if self._hooks_seen is None:
            self._hooks_seen = (cfg, self.instance)
        current = cfg.instances.get(self._hooks_seen[1].uuid)
        if current is None:
            return self._hooks_seen
        return cfg, current

    def hooks_extra_env(self):
        """:return: the unit's own variables, beside the instance's."""
        return {}

    def build_hooks_env(self):
        cfg, instance = self.hooks_view()
        env = instance_object_variables(cfg, instance)
        env.update(self.hooks_extra_env())
        return env

    def build_hooks_nodes(self):
        cfg = self.cfg
        nodes = [cfg.cluster.master_node] + instance_nodes(cfg, self.instance)
        return nodes, nodes

    def node_instance(self, instance=None):
        return node_instance_dict(self.cfg, instance or self.instance)

    def update_instance(self, **changes):
        """Record changes of the instance (serial number bumped)."""
        self.ctx.config.update_object("instances", self.instance.uuid,
                                      **changes)

    def running_info(self, prereq=False):
        """
        :return: (Deferred) the hypervisor's info on the instance on its
            primary node (memory, state...), or None if it is not running.
        """
        return call_node(self.ctx, self.pnode, "instance_info",
                         self.instance.name, self.instance.hypervisor,
                         what="Error checking node %s" % self.pnode.name,
                         prereq=prereq)

    @inlineCallbacks
    def is_running(self):
        """:return: (Deferred) whether the hypervisor runs the instance."""
        info = yield self.running_info()
        returnValue(info is not None)

    @inlineCallbacks
    def require_stopped(self, what):
        instance = self.instance
        if instance.admin_state == constants.ADMINST_UP:
            raise errors.OpPrereqError(
                "Instance %s is marked to be up, %s" % (instance.name, what),
                "wrong_state")
        running = yield self.is_running()
        if running:
            raise errors.OpPrereqError(
                "Instance %s is running, %s" % (instance.name, what),
                "wrong_state")

    @inlineCallbacks
    def block_devices(self, instance=None, node=None,
                      ignore_secondaries=False):
        """
        Assemble the instance's disks: a mirror's secondary sides first,
        then the primary's, made primary (as Ganeti's
        C{AssembleInstanceDisks}).

        :param node: the node to be primary; by default the primary node.
        :param ignore_secondaries: a secondary that fails is a warning
            (a failover away from a dead node).
        :return: (Deferred) the disks as assembled there, for the
            hypervisor.
        """
        cfg = self.cfg
        instance = instance or self.instance
        node = node or cfg.nodes[instance.primary_node]
        for uuid in instance_nodes(cfg, instance):
            if uuid != node.uuid:
                peer = cfg.nodes[uuid]
                try:
                    yield call_node(
                        self.ctx, peer, "blockdev_assemble_all",
                        node_disks(cfg, instance, peer), instance.name, False,
                        what="Could not activate the disks of %s"
                        % instance.name)
                except errors.GenericError as e:
                    if not ignore_secondaries:
                        raise
                    self.log_warning(str(e))
        devices = yield call_node(
            self.ctx, node, "blockdev_assemble_all",
            node_disks(cfg, instance, node), instance.name, True,
            what="Could not activate the disks of %s" % instance.name)
        returnValue(devices)

    @inlineCallbacks
    def shutdown_disks(self, instance=None, nodes=None, ignore_failures=False):
        """
        Take the instance's disks down on its nodes (or C{nodes}), as
        Ganeti's C{ShutdownInstanceDisks}.

        :param ignore_failures: log a node's failure as a warning and go
            on (a node that is down keeps nothing assembled anyway).
        """
        cfg = self.cfg
        instance = instance or self.instance
        for node in nodes or [cfg.nodes[u] for u in instance_nodes(cfg, instance)]:
            try:
                yield call_node(self.ctx, node, "blockdev_shutdown_all",
                                node_disks(cfg, instance, node),
                                what="Could not shutdown block devices")
            except errors.GenericError as e:
                if not ignore_failures:
                    raise
                self.log_warning(str(e))

    @inlineCallbacks
    def check_free_memory(self, node, needed, reason):
        info = yield call_node(self.ctx, node, "node_info",
                               [self.instance_hypervisor()],
                               what="Can't get data from node %s" % node.name,
                               prereq=True)
        free = info.get("memory_free")
        if free is None:
            raise errors.OpPrereqError("Can't compute free memory on node %s"
                                       % node.name, "environment_error")
        if needed > free:
            raise errors.OpPrereqError(
                "Not enough memory on node %s for %s: needed %s MiB, available"
                " %s MiB" % (node.name, reason, needed, free), "insufficient_resources")

    def instance_hypervisor(self):
        return self.instance.hypervisor

    @inlineCallbacks
    def start(self, instance, startup_paused=False, hvparams=None, beparams=None,
              ignore_secondaries=False):
        devices = yield self.block_devices(
            instance, ignore_secondaries=ignore_secondaries)
        spec = self.node_instance(instance)
        spec["hvparams"].update(hvparams or {})
        spec["beparams"].update(beparams or {})
        yield call_node(self.ctx, self.cfg.nodes[instance.primary_node],
                        "instance_start", spec, devices, startup_paused,
                        what="Could not start instance %s" % instance.name)

    def stop(self, instance, timeout, force=False):
        # The node may wait the whole shutdown timeout before it kills.
        return call_node(self.ctx, self.cfg.nodes[instance.primary_node],
                         "instance_shutdown", instance.name, instance.hypervisor,
                         timeout, force,
                         what="Could not shutdown instance %s" % instance.name,
                         timeout=timeout + 60)

    @inlineCallbacks
    def stop_to_move(self, timeout, may_ignore, warning):
        """
        Stop the instance on its primary node before it moves away.  A
        node that cannot stop it stops the move unless C{may_ignore}
        (the operator vouches that it is down): then C{warning} is logged.

        :param warning: the warning's text, with the instance's name, the
            node's name twice and the error, in that order.
        :return: (Deferred) whether it ran and was stopped.
        """
        instance, source = self.instance, self.pnode
        try:
            running = yield self.is_running()
            if running:
                yield self.stop(instance, timeout)
        except errors.GenericError as e:
            if not may_ignore:
                raise errors.OpExecError(
                    "Could not shutdown instance %s on node %s: %s"
                    % (instance.name, source.name, e))
            self.log_warning(warning % (instance.name, source.name,
                                        source.name, e))
            returnValue(False)
        returnValue(running)


def check_usable_node(node):
    """
    A node instances are put on must be online, not drained and
    vm-capable (Ganeti's C{CheckNodeOnline} and friends).

    :raise OpPrereqError: (``wrong_state``) naming what is wrong.
    """
    for flag in ("offline", "drained"):
        if getattr(node, flag):
            raise errors.OpPrereqError("Can't use %s node %s"
                                       % (flag, node.name), "wrong_state")
    if not node.vm_capable:
        raise errors.OpPrereqError("Can't use non-vm_capable node %s"
                                   % node.name, "wrong_state")


def cfg_instance(cfg, instance_uuid):
    """:return: the stored instance with that uuid."""
    return cfg.instances[instance_uuid]


def release_ports(cluster, ports):
    """:return: C{cluster} with C{ports} back in its ``tcpudp_port_pool``."""
    if not ports:
        return cluster
    return attrs.evolve(cluster, tcpudp_port_pool=sorted(
        set(cluster.tcpudp_port_pool) | set(ports)))


def remove_instance_from_config(writer, instance_uuid):
    """
    Drop an instance and its disks from the configuration; its mirrors'
    ports and its network (console) port go back to the cluster's pool,
    its NICs' addresses to their networks' pools, as in Ganeti.
    """
    def change(cfg):
        instances = dict(cfg.instances)
        instance = instances.pop(instance_uuid, None)
        if instance is None:
            return cfg
        disks = {k: v for k, v in cfg.disks.items() if k not in instance.disks}
        ports = [cfg.disks[k].logical_id[2] for k in instance.disks
                 if k in cfg.disks and cfg.disks[k].dev_type == "drbd"]
        if instance.network_port:
            ports.append(instance.network_port)
        return attrs.evolve(cfg, instances=instances, disks=disks,
                            cluster=release_ports(cfg.cluster, ports),
                            networks=nicsmod.claim_addresses(
                                cfg, instance.nics, []))
    writer.update(change)


def build_nic(cfg, spec, taken=()):
    """:return: a new L{NIC} from a ``--net`` specification, checked."""
    nicparams = paramsmod.force_types(
        {k: spec[k] for k in ("mode", "link", "vlan") if spec.get(k) is not None},
        constants.NIC_DEFAULTS, "nic")
    mode = nicparams.get("mode", cfg.cluster.nicparams.get("default", {}).get("mode"))
    if mode and mode not in ("bridged", "routed", "openvswitch"):
        raise wrong_input("Invalid NIC mode '%s'" % mode)
    net = nicsmod.spec_network(cfg, spec)
    return NIC(mac=choose_mac(cfg, spec.get("mac"), taken,
                              net.mac_prefix if net else None),
               uuid=new_uuid(), ip=check_nic_ip(spec.get("ip")),
               name=spec.get("name"), network=net.uuid if net else None,
               nicparams=nicparams)


def instance_hvparams(hypervisor, hvparams):
    """
    :return: an instance's own hypervisor parameters, typed.
    :raise OpPrereqError: for cluster-wide parameters, which an instance
        cannot override (as in Ganeti).
    """
    params = paramsmod.force_types(hvparams, constants.HV_DEFAULTS[hypervisor],
                                   "hypervisor")
    globals_ = sorted(set(params) & set(constants.HV_GLOBALS))
    if globals_:
        raise wrong_input("The following hypervisor parameters are global and cannot"
                     " be customized at instance level, please modify them at"
                     " cluster level: %s" % ", ".join(globals_))
    return params
