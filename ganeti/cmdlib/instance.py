# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
Instance logical units: create (or import an export), remove, start,
stop, reboot, reinstall, rename, modify, disks and console.

The master decides and records; every change on a node is a node RPC
(disks, OS scripts, the hypervisor).  A failed creation removes what it
created, so bad input leaves nothing behind.
"""

import ipaddress
import os
import random
import re
import uuid as uuidmod

import attrs
from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import constants, disk_templates, errors, iallocator, netutils
from ganeti.config import touched
from ganeti import params as paramsmod
from ganeti.cmdlib import allocators, hotplug
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import (
    call_node, complete_console, get_instance, get_node)
from ganeti.params import fill_beparams, instance_disks, node_instance_dict
from ganeti.cmdlib.exports import exports_by_node, staging_name, transfer
from ganeti.jobs import locks
from ganeti.objects import NIC, Disk, Instance

_MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")

#: First port handed out to instances (VNC and friends), as in Ganeti.
FIRST_PORT = 11000


def _new_uuid():
    return str(uuidmod.uuid4())


def _wrong(message):
    return errors.OpPrereqError(message, "wrong_input")


def used_macs(cfg):
    """:return: every MAC address the cluster's NICs use."""
    return {nic.mac for inst in cfg.instances.values() for nic in inst.nics}


def choose_mac(cfg, wanted, taken=()):
    """
    Validate a requested MAC or generate one (``auto``/``generate``).

    :param taken: MACs already chosen in the same operation.
    :raise OpPrereqError: for a malformed or already used address.
    """
    used = used_macs(cfg) | set(taken)
    mac = (wanted or "auto").lower()
    if mac in ("auto", "generate"):
        prefix = cfg.cluster.mac_prefix
        for _ in range(1000):
            mac = "%s:%02x:%02x:%02x" % (prefix, random.randrange(256),
                                         random.randrange(256),
                                         random.randrange(256))
            if mac not in used:
                return mac
        raise errors.OpExecError("Could not generate a unique MAC address")
    if not _MAC_RE.match(mac):
        raise _wrong("Invalid MAC address specified: %s" % mac)
    if mac in used:
        raise errors.OpPrereqError("MAC address %s already in use in cluster"
                                   % mac, "not_unique")
    return mac


def check_nic_ip(ip):
    """:return: the NIC's IP (None for none); :raise OpPrereqError: if bad."""
    if ip in (None, "", "none"):
        return None
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise _wrong("Invalid IP address '%s' (pools and 'auto' need networks,"
                     " which are not supported yet)" % ip)
    return ip


def build_disk(cluster, template, instance_name, index, spec, file_driver,
               subdir=None):
    """:return: a new L{Disk} from a ``--disk`` specification."""
    size = spec.get("size")
    if template not in disk_templates.SUPPORTED_TEMPLATES:
        raise _wrong("Disk template '%s' is not supported yet" % template)
    if template != "blockdev" and not isinstance(size, int):
        raise _wrong("Missing or invalid size for disk %d" % index)
    mode = spec.get("mode", "rw")
    if mode not in ("rw", "ro"):
        raise _wrong("Invalid disk access mode '%s'" % mode)
    disk_uuid = _new_uuid()
    logical_id = disk_templates.logical_id_for(
        template, cluster, instance_name, disk_uuid, index,
        adopt=spec.get("adopt"), vg=spec.get("vg"),
        file_driver=file_driver or "loop", file_storage_subdir=subdir)
    return Disk(uuid=disk_uuid, dev_type=template, size=size or 0, mode=mode,
                logical_id=logical_id, iv_name="disk/%d" % index,
                name=spec.get("name"), params={})


class _InstanceLU(LogicalUnit):
    """Looks up the instance and locks it and its node."""

    NODE_SHARED = False

    def needed_locks(self):
        name = self.op["instance_name"]
        instance = self.cfg.instance_by_name(name)
        result = super().needed_locks()
        result.append((locks.LEVEL_INSTANCE, [name], False))
        if instance is not None:
            node = self.cfg.nodes[instance.primary_node].name
            result.append((locks.LEVEL_NODE, [node], self.NODE_SHARED))
        return result

    @property
    def instance(self):
        return get_instance(self.cfg, self.op["instance_name"])

    @property
    def pnode(self):
        return self.cfg.nodes[self.instance.primary_node]

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

    def block_devices(self, instance=None, node=None):
        """
        :param node: where to assemble them; by default the primary node.
        :return: (Deferred) the assembled disks, for the hypervisor.
        """
        instance = instance or self.instance
        node = node or self.cfg.nodes[instance.primary_node]
        disks = [d.to_dict() for d in instance_disks(self.cfg, instance)]
        return call_node(self.ctx, node, "blockdev_assemble_all", disks,
                         instance.name,
                         what="Could not activate the disks of %s" % instance.name)

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
    def start(self, instance, startup_paused=False, hvparams=None, beparams=None):
        devices = yield self.block_devices(instance)
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


class LUInstanceCreate(_InstanceLU):
    """``gnt-instance add``."""

    def needed_locks(self):
        result = LogicalUnit.needed_locks(self)
        result.append((locks.LEVEL_INSTANCE, [self.op["instance_name"]], False))
        pnode = self.op.get("pnode")
        result.append((locks.LEVEL_NODE, [pnode] if pnode else locks.ALL_SET,
                       False))
        return result

    def instance_hypervisor(self):
        return self.hypervisor

    @property
    def instance(self):
        # The name may have been resolved to a longer one.
        return get_instance(self.cfg, getattr(self, "name", self.op["instance_name"]))

    #: Import mode: the parsed L{exportinfo.ExportInfo}, else None.
    export = None

    @inlineCallbacks
    def check_prereq(self):
        if self.op["mode"] == "remote-import":
            raise _wrong("Remote import is not supported")
        if self.op["mode"] == "import":
            yield self._read_export()
        op, cfg = self.op, self.cfg
        cluster = cfg.cluster
        name = op["instance_name"]
        if op["name_check"]:
            name, ip = yield netutils.resolve_async(self.ctx.reactor, name,
                                                    self.ctx.paths)
            if op["ip_check"]:
                answers = yield netutils.tcp_ping(self.ctx.reactor, ip, 22)
                if answers:
                    raise errors.OpPrereqError("IP %s of instance %s already in"
                                               " use" % (ip, name),
                                               "already_exists")
        elif op["ip_check"]:
            raise _wrong("Cannot do IP address check without a name check")
        if cfg.instance_by_name(name) is not None:
            raise errors.OpPrereqError("Instance '%s' is already in the cluster"
                                       % name, "already_exists")
        self.name = name
        self.hypervisor = op["hypervisor"] or cluster.default_hypervisor
        if self.hypervisor not in cluster.enabled_hypervisors:
            raise _wrong("Selected hypervisor (%s) not enabled in the cluster"
                         " (%s)" % (self.hypervisor,
                                    ", ".join(cluster.enabled_hypervisors)))
        self.hvparams = _instance_hvparams(self.hypervisor, op["hvparams"])
        self.beparams = paramsmod.force_types(op["beparams"], constants.BE_DEFAULTS,
                                              "backend")
        template = op["disk_template"] or cluster.enabled_disk_templates[0]
        if template not in cluster.enabled_disk_templates:
            raise _wrong("Cannot create an instance with disk template '%s', as"
                         " it's not enabled in cluster. Enabled disk templates"
                         " are: %s" % (template,
                                       ",".join(cluster.enabled_disk_templates)))
        self.template = template
        if template == "diskless" and op["disks"]:
            raise _wrong("Diskless instances cannot have disks")
        if template != "diskless" and not op["disks"]:
            raise _wrong("Disk template %s requires at least one disk" % template)
        self.disks = [build_disk(cluster, template, name, index, spec,
                                 op["file_driver"], op["file_storage_dir"])
                      for index, spec in enumerate(op["disks"])]
        self.nics = self._build_nics()
        self.install = not op["no_install"] and op["mode"] == "create"
        if self.install and not op["os_type"]:
            raise _wrong("No guest OS or OS image specified")
        self.node = yield self._choose_node()
        if self.install or self.export is not None:
            yield call_node(self.ctx, self.node, "os_check", op["os_type"],
                            op["osparams"], what="OS '%s' not suitable"
                            % op["os_type"], prereq=True)
        yield call_node(self.ctx, self.node, "hypervisor_check", self.hypervisor,
                        self.hvparams_filled(),
                        what="Hypervisor parameter validation failed",
                        prereq=True)
        if op["start"]:
            yield self.check_free_memory(
                self.node, fill_beparams(cluster, self.beparams)["maxmem"],
                "starting instance %s" % name)
        yield self._check_disk_space()

    @inlineCallbacks
    def _find_export(self):
        """
        Import: where the export is.  Without a source node the export
        (a name, not a path) is looked for on every node, as in Ganeti.

        :return: (Deferred) the source node and the export's path there.
        """
        op = self.op
        path = op["src_path"] or op["instance_name"]
        if op["src_node"]:
            returnValue((get_node(self.cfg, op["src_node"]), path))
        if os.path.isabs(path):
            raise _wrong("Importing an instance from a path requires a source"
                         " node option")
        found = yield exports_by_node(self.ctx, self.cfg)
        for node_name in sorted(found):
            if isinstance(found[node_name], list) and path in found[node_name]:
                returnValue((self.cfg.node_by_name(node_name), path))
        raise _wrong("No export found for relative path %s" % path)

    @inlineCallbacks
    def _read_export(self):
        """
        Import: read the export's ``config.ini`` and take from it what the
        opcode leaves out (OS, template, hypervisor, disks, NICs and
        parameters), as Ganeti does.  C{self.op} becomes a completed copy.
        """
        from ganeti import exportinfo
        self.src_node, path = yield self._find_export()
        info = yield call_node(self.ctx, self.src_node, "export_info", path,
                               what="No export or invalid export found in"
                               " dir %s" % path, prereq=True)
        export = exportinfo.ExportInfo(info["config"])
        self.export, self.src_dir = export, info["path"]
        op = self.op
        hypervisor = op["hypervisor"] or export.hypervisor
        changes = {
            "os_type": op["os_type"] or export.os,
            "disk_template": op["disk_template"] or export.disk_template,
            "hypervisor": hypervisor,
            "tags": op["tags"] or export.tags,
            "disks": op["disks"] or [
                {k: d[k] for k in ("size", "mode", "name") if k in d}
                for d in export.disks],
            "nics": op["nics"] or self._export_nics(export),
            "beparams": dict({k: v for k, v in export.beparams.items()
                              if k in constants.BE_DEFAULTS},
                             **op["beparams"]),
            "osparams": dict(export.osparams, **op["osparams"]),
        }
        if hypervisor == export.hypervisor:
            # Defaults and cluster-wide values stay out of the instance's
            # own parameters.
            defaults = constants.HV_DEFAULTS.get(hypervisor, {})
            changes["hvparams"] = dict(
                {k: v for k, v in export.hvparams.items()
                 if k in defaults and k not in constants.HV_GLOBALS
                 and v != str(defaults[k])}, **op["hvparams"])
        self.op = dict(op, **changes)

    def _export_nics(self, export):
        """
        The exported NICs; each keeps its MAC address unless another NIC
        of the cluster uses it now (Ganeti would fail instead).
        """
        used = used_macs(self.cfg)
        nics = []
        for nic in export.nics:
            spec = {k: nic[k] for k in ("mac", "ip", "mode", "link", "vlan",
                                        "name") if k in nic}
            if spec.get("mac") in used:
                spec["mac"] = "auto"
            nics.append(spec)
        return nics

    def hvparams_filled(self):
        from ganeti.params import fill_hvparams
        return fill_hvparams(self.cfg.cluster, self.hypervisor,
                             self.op["os_type"], self.hvparams)

    def _build_nics(self):
        nics = []
        used = set()
        for spec in self.op["nics"]:
            nic = build_nic(self.cfg, spec, used)
            used.add(nic.mac)
            nics.append(nic)
        return nics

    @inlineCallbacks
    def _choose_node(self):
        op, cfg = self.op, self.cfg
        allocator = iallocator.choose(cfg.cluster, op["iallocator"], op["pnode"])
        if allocator:
            node = yield self._allocate(allocator)
            returnValue(node)
        if op["pnode"]:
            node = get_node(cfg, op["pnode"])
            check_usable_node(node)
            returnValue(node)
        candidates = [n for n in cfg.nodes.values()
                      if n.vm_capable and not n.offline and not n.drained]
        best, best_free = None, -1
        for node in sorted(candidates, key=lambda n: n.name):
            try:
                info = yield call_node(self.ctx, node, "node_info",
                                       [self.hypervisor])
            except errors.GenericError:
                continue
            free = info.get("memory_free") or 0
            if free > best_free:
                best, best_free = node, free
        if best is None:
            raise errors.OpPrereqError("Can't find a node to place the instance"
                                       " on", "insufficient_resources")
        self.feedback("Selected nodes for instance %s via iallocator: %s"
                      % (self.name, best.name))
        returnValue(best)

    @inlineCallbacks
    def _allocate(self, allocator):
        """:return: (Deferred) the node the allocator C{allocator} chose."""
        op = self.op
        beparams = fill_beparams(self.cfg.cluster, self.beparams)
        nics = [iallocator.nic_dict(self.cfg.cluster, nic) for nic in self.nics]
        request = iallocator.allocate_request(
            self.name, self.template,
            [{"size": d.size, "mode": d.mode} for d in self.disks], nics,
            beparams["vcpus"], beparams["maxmem"], op["os_type"],
            self.hypervisor, tags=op["tags"],
            spindle_use=beparams["spindle_use"], group_name=op["group_name"])
        request["type"] = iallocator.MODE_ALLOC
        [name] = yield allocators.run(self.ctx, allocator, request)
        node = get_node(self.cfg, name)
        check_usable_node(node)
        self.feedback("Selected nodes for instance %s via iallocator %s: %s"
                      % (self.name, allocator, node.name))
        returnValue(node)

    @inlineCallbacks
    def _check_disk_space(self):
        if self.template not in ("file", "sharedfile", "plain"):
            return
        needed = sum(d.size for d in self.disks)
        storage_type = "lvm-vg" if self.template == "plain" else self.template
        units = yield call_node(self.ctx, self.node, "storage_list",
                                storage_type, None,
                                what="Cannot get storage information",
                                prereq=True)
        free = max([u.get("free") or 0 for u in units], default=0)
        if needed > free:
            raise errors.OpPrereqError(
                "Not enough disk space on target node %s: required %d MiB,"
                " available %d MiB" % (self.node.name, needed, free),
                "insufficient_resources")

    @inlineCallbacks
    def execute(self):
        op = self.op
        node = self.node
        wants_port = (self.hypervisor == "kvm" and
                      bool(self.hvparams_filled().get("vnc_bind_address")))
        instance = Instance(
            name=self.name, uuid=_new_uuid(), primary_node=node.uuid,
            os=op["os_type"] or "", hypervisor=self.hypervisor,
            disk_template=self.template, hvparams=self.hvparams,
            beparams=self.beparams, osparams=dict(op["osparams"]),
            nics=self.nics, disks=[d.uuid for d in self.disks],
            disks_active=True, network_port=None, tags=list(op["tags"]),
            ctime=self.ctx.reactor.seconds(), mtime=self.ctx.reactor.seconds())
        created = []
        if self.disks:
            self.feedback("* creating instance disks...")
        try:
            for index, disk in enumerate(self.disks):
                yield call_node(self.ctx, node, "blockdev_create",
                                disk.to_dict(), self.name,
                                what="Could not create disk %s" % disk.iv_name)
                created.append(disk)
                if disk.dev_type == "blockdev":
                    # An adopted device has the size it has.
                    size = yield call_node(self.ctx, node, "blockdev_get_size",
                                           disk.to_dict(),
                                           what="Could not size %s" % disk.iv_name)
                    self.disks[index] = attrs.evolve(disk, size=size)
            self.feedback("adding instance %s to cluster config" % self.name)
            self._add_to_config(instance, wants_port)
        except Exception:
            yield self._remove_disks(node, created)
            raise
        try:
            if self.install:
                self.feedback("* running the instance OS create scripts...")
                devices = yield self.block_devices(instance)
                yield call_node(self.ctx, node, "instance_os_add",
                                self.node_instance(instance), devices, False,
                                op.get("debug_level") or 0,
                                what="Could not add os for instance %s" % self.name)
            elif self.export is not None:
                yield self._import_disks(instance)
        except Exception:
            self.feedback("* removing the instance's disks and config entry")
            yield self._remove_disks(node, self.disks)
            self._remove_from_config(instance)
            raise
        if op["start"]:
            self.feedback("* starting instance...")
            yield self.start(cfg_instance(self.cfg, instance.uuid))
            self.update_instance(admin_state=constants.ADMINST_UP)
        returnValue([node.name])

    @inlineCallbacks
    def _import_disks(self, instance):
        """
        Import: fill each disk from its dump with the OS import script,
        the dump first sent to the new primary node when the export is on
        another node.  A disk that fails is a warning, as in Ganeti.
        """
        self.feedback("* running the instance OS import scripts...")
        devices = yield self.block_devices(instance)
        spec = self.node_instance(instance)
        remote = self.src_node.uuid != self.node.uuid
        staging = staging_name("import", self.name) if remote else None
        failed = []
        for index, disk in enumerate(self.export.disks[:len(self.disks)]):
            dump = os.path.join(self.src_dir, disk["dump"])
            try:
                if remote:
                    dump = yield transfer(self.ctx, self.src_node, dump,
                                          self.node, staging)
                yield call_node(self.ctx, self.node, "instance_import_disk",
                                spec, devices, index, dump,
                                self.op.get("debug_level") or 0,
                                what="Could not import disk/%d" % index)
            except errors.GenericError as e:
                self.log_warning(str(e))
                failed.append(index)
        if remote:
            try:
                yield call_node(self.ctx, self.node, "export_remove", staging)
            except errors.GenericError as e:
                self.log_warning("Could not remove %s: %s" % (staging, e))
        if failed:
            self.log_warning("Some disks for instance %s on node %s were not"
                             " imported successfully" % (self.name,
                                                         self.node.name))

    @inlineCallbacks
    def _remove_disks(self, node, disks):
        for disk in disks:
            try:
                yield call_node(self.ctx, node, "blockdev_remove", disk.to_dict())
            except errors.GenericError as e:
                self.log_warning("Could not remove disk %s: %s" % (disk.iv_name, e))

    def _add_to_config(self, instance, wants_port):
        # Checked against the config being changed, not the one seen at
        # prerequisite time: other jobs may have added NICs or ports since.
        def change(cfg):
            if cfg.instance_by_name(instance.name) is not None:
                raise errors.OpExecError("Instance %s appeared meanwhile"
                                         % instance.name)
            clashes = used_macs(cfg) & {nic.mac for nic in instance.nics}
            if clashes:
                raise errors.OpExecError("MAC address %s was taken meanwhile"
                                         % ", ".join(sorted(clashes)))
            cluster, new = cfg.cluster, instance
            if wants_port:
                port = _allocate_port(cfg)
                cluster = attrs.evolve(cluster, highest_used_port=port)
                new = attrs.evolve(instance, network_port=port)
            disks = dict(cfg.disks)
            disks.update({d.uuid: d for d in self.disks})
            instances = dict(cfg.instances)
            instances[instance.uuid] = new
            return attrs.evolve(cfg, disks=disks, instances=instances,
                                cluster=cluster)
        self.ctx.config.update(change)

    def _remove_from_config(self, instance):
        remove_instance_from_config(self.ctx.config, instance.uuid)


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


def remove_instance_from_config(writer, instance_uuid):
    """Drop an instance and its disks from the configuration."""
    def change(cfg):
        instances = dict(cfg.instances)
        instance = instances.pop(instance_uuid, None)
        if instance is None:
            return cfg
        disks = {k: v for k, v in cfg.disks.items() if k not in instance.disks}
        return attrs.evolve(cfg, instances=instances, disks=disks)
    writer.update(change)


def build_nic(cfg, spec, taken=()):
    """:return: a new L{NIC} from a ``--net`` specification, checked."""
    nicparams = paramsmod.force_types(
        {k: spec[k] for k in ("mode", "link", "vlan") if spec.get(k) is not None},
        constants.NIC_DEFAULTS, "nic")
    mode = nicparams.get("mode", cfg.cluster.nicparams.get("default", {}).get("mode"))
    if mode and mode not in ("bridged", "routed", "openvswitch"):
        raise _wrong("Invalid NIC mode '%s'" % mode)
    return NIC(mac=choose_mac(cfg, spec.get("mac"), taken), uuid=_new_uuid(),
               ip=check_nic_ip(spec.get("ip")), name=spec.get("name"),
               nicparams=nicparams)


def _instance_hvparams(hypervisor, hvparams):
    params = paramsmod.force_types(hvparams, constants.HV_DEFAULTS[hypervisor],
                                   "hypervisor")
    globals_ = sorted(set(params) & set(constants.HV_GLOBALS))
    if globals_:
        raise _wrong("The following hypervisor parameters are global and cannot"
                     " be customized at instance level, please modify them at"
                     " cluster level: %s" % ", ".join(globals_))
    return params


def _allocate_port(cfg):
    return max(cfg.cluster.highest_used_port, FIRST_PORT - 1) + 1


class LUInstanceRemove(_InstanceLU):
    """``gnt-instance remove``: stop it, remove its disks and config entry."""

    @inlineCallbacks
    def execute(self):
        instance, node = self.instance, self.pnode
        ignore = self.op["ignore_failures"]
        self.feedback("Shutting down instance %s on node %s"
                      % (instance.name, node.name))
        try:
            running = yield self.is_running()
            if running:
                yield self.stop(instance, self.op["shutdown_timeout"])
        except errors.GenericError as e:
            if not ignore:
                raise
            self.log_warning("Could not shutdown instance: %s" % e)
        self.feedback("Removing block devices for instance %s" % instance.name)
        for disk in instance_disks(self.cfg, instance):
            try:
                yield call_node(self.ctx, node, "blockdev_remove", disk.to_dict(),
                                what="Could not remove disk %s" % disk.iv_name)
            except errors.GenericError as e:
                if not ignore:
                    raise
                self.log_warning(str(e))
        self.feedback("Removing instance %s out of cluster config" % instance.name)
        remove_instance_from_config(self.ctx.config, instance.uuid)


class LUInstanceStartup(_InstanceLU):
    """``gnt-instance startup``."""

    @inlineCallbacks
    def check_prereq(self):
        instance = self.instance
        self.hvparams = _instance_hvparams(instance.hypervisor, self.op["hvparams"])
        self.beparams = paramsmod.force_types(self.op["beparams"],
                                              constants.BE_DEFAULTS, "backend")
        if self.pnode.offline:
            if not self.op["ignore_offline_nodes"]:
                raise errors.OpPrereqError(
                    "Instance %s's primary node %s is offline"
                    % (instance.name, self.pnode.name), "wrong_state")
            self.running = None
            return
        self.running = yield self.is_running()
        if not self.running:
            memory = dict(fill_beparams(self.cfg.cluster, instance.beparams),
                          **self.beparams)["maxmem"]
            yield self.check_free_memory(self.pnode, memory,
                                         "starting instance %s" % instance.name)

    @inlineCallbacks
    def execute(self):
        if self.running is None:
            self.log_info("Primary node offline, marked instance as started")
        elif self.running:
            self.log_info("Instance %s is already running" % self.instance.name)
        else:
            yield self.start(self.instance, self.op["startup_paused"],
                             self.hvparams, self.beparams)
        # Recorded only once it runs: a failed start leaves it ADMIN_down.
        if not self.op["no_remember"]:
            self.update_instance(admin_state=constants.ADMINST_UP,
                                 admin_state_source="admin")


class LUInstanceShutdown(_InstanceLU):
    """``gnt-instance shutdown``."""

    def check_prereq(self):
        if self.pnode.offline and not self.op["ignore_offline_nodes"]:
            raise errors.OpPrereqError(
                "Instance %s's primary node %s is offline"
                % (self.instance.name, self.pnode.name), "wrong_state")

    @inlineCallbacks
    def execute(self):
        instance = self.instance
        if self.pnode.offline:
            self.update_instance(admin_state=constants.ADMINST_DOWN)
            self.log_info("Primary node offline, marked instance as stopped")
            return
        if not self.op["no_remember"]:
            self.update_instance(admin_state=constants.ADMINST_DOWN,
                                 admin_state_source=self.op["admin_state_source"]
                                 or "admin")
        running = yield self.is_running()
        if not running:
            self.log_warning("Instance %s is not running" % instance.name)
            return
        yield self.stop(instance, self.op["timeout"], self.op["force"])


class LUInstanceReboot(_InstanceLU):
    """``gnt-instance reboot``: soft (in the guest), hard or full."""

    @inlineCallbacks
    def execute(self):
        instance, kind = self.instance, self.op["reboot_type"]
        running = yield self.is_running()
        if running and kind == "soft":
            yield call_node(self.ctx, self.pnode, "instance_reboot", instance.name,
                            instance.hypervisor,
                            what="Could not reboot instance %s" % instance.name)
        else:
            if running:
                yield self.stop(instance, self.op["shutdown_timeout"],
                                force=(kind == "hard"))
            yield self.start(instance)
        self.update_instance(admin_state=constants.ADMINST_UP,
                             admin_state_source="admin")


class LUInstanceReinstall(_InstanceLU):
    """``gnt-instance reinstall``: run the OS create script again."""

    @inlineCallbacks
    def check_prereq(self):
        yield self.require_stopped("cannot reinstall")
        self.os_name = self.op["os_type"] or self.instance.os
        if not self.os_name:
            raise _wrong("Instance %s has no OS and none was given"
                         % self.instance.name)
        yield call_node(self.ctx, self.pnode, "os_check", self.os_name,
                        self.op["osparams"] or {},
                        what="OS '%s' not suitable" % self.os_name, prereq=True)

    @inlineCallbacks
    def execute(self):
        changes = {"os": self.os_name}
        if self.op["osparams"] is not None:
            changes["osparams"] = self.op["osparams"]
        self.update_instance(**changes)
        instance = self.instance
        devices = yield self.block_devices(instance)
        self.feedback("Running the instance OS create scripts...")
        yield call_node(self.ctx, self.pnode, "instance_os_add",
                        self.node_instance(instance), devices, True,
                        self.op.get("debug_level") or 0,
                        what="Could not install OS for instance %s" % instance.name)


class LUInstanceRename(_InstanceLU):
    """``gnt-instance rename``."""

    def needed_locks(self):
        result = super().needed_locks()
        names = sorted({self.op["instance_name"], self.op["new_name"]})
        return [(level, names if level == locks.LEVEL_INSTANCE else which, shared)
                for level, which, shared in result]

    @inlineCallbacks
    def check_prereq(self):
        yield self.require_stopped("cannot rename")
        new_name = self.op["new_name"]
        if self.op["name_check"]:
            new_name, ip = yield netutils.resolve_async(
                self.ctx.reactor, new_name, self.ctx.paths)
            if self.op["ip_check"]:
                answers = yield netutils.tcp_ping(self.ctx.reactor, ip, 22)
                if answers:
                    raise errors.OpPrereqError("IP %s of instance %s already in"
                                               " use" % (ip, new_name),
                                               "already_exists")
        if new_name != self.instance.name and \
                self.cfg.instance_by_name(new_name) is not None:
            raise errors.OpPrereqError("Instance '%s' is already in the cluster"
                                       % new_name, "already_exists")
        self.new_name = new_name

    @inlineCallbacks
    def execute(self):
        old_name = self.instance.name
        yield self._move_file_storage(old_name)
        self.update_instance(name=self.new_name)
        instance = cfg_instance(self.cfg, self.instance_uuid())
        if instance.os:
            devices = yield self.block_devices(instance)
            try:
                yield call_node(self.ctx, self.pnode, "instance_run_rename",
                                self.node_instance(instance), devices, old_name,
                                self.op.get("debug_level") or 0,
                                what="Could not run OS rename script for"
                                     " instance %s" % self.new_name)
            except errors.GenericError as e:
                self.log_warning(str(e))
        returnValue(self.new_name)

    @inlineCallbacks
    def _move_file_storage(self, old_name):
        """File disks live in a directory named after the instance."""
        disks = [d for d in instance_disks(self.cfg, self.instance)
                 if d.dev_type in ("file", "sharedfile")]
        if not disks or old_name == self.new_name:
            return
        old_dir = os.path.dirname(disks[0].logical_id[1])
        if os.path.basename(old_dir) != old_name:
            return
        new_dir = os.path.join(os.path.dirname(old_dir), self.new_name)
        yield call_node(self.ctx, self.pnode, "file_storage_dir_rename",
                        old_dir, new_dir,
                        what="Could not rename the file storage directory")

        self.ctx.config.update_objects({"disks": {
            disk.uuid: {"logical_id": [
                disk.logical_id[0],
                os.path.join(new_dir, os.path.basename(disk.logical_id[1]))]}
            for disk in disks}})

    def instance_uuid(self):
        return self.cfg.instance_by_name(self.new_name).uuid

    @property
    def instance(self):
        found = self.cfg.instance_by_name(self.op["instance_name"])
        return found or get_instance(self.cfg, getattr(self, "new_name",
                                                       self.op["instance_name"]))


class LUInstanceGrowDisk(_InstanceLU):
    """``gnt-instance grow-disk``."""

    def check_prereq(self):
        instance = self.instance
        disks = instance_disks(self.cfg, instance)
        index = self.op["disk"]
        if index >= len(disks):
            raise _wrong("Invalid disk index %s (instance has %d disks)"
                         % (index, len(disks)))
        self.disk = disks[index]
        if self.disk.dev_type not in ("file", "sharedfile", "plain"):
            raise errors.OpPrereqError(
                "Instance's disk layout '%s' does not support growing"
                % self.disk.dev_type, "wrong_state")
        amount = self.op["amount"]
        self.target = amount if self.op["absolute"] else self.disk.size + amount
        if self.target < self.disk.size:
            raise _wrong("Requested size (%s) is smaller than current disk size"
                         " (%s)" % (self.target, self.disk.size))
        self.delta = self.target - self.disk.size

    @inlineCallbacks
    def execute(self):
        disk = self.disk
        self.feedback("Growing disk %s of instance '%s' by %s to %s"
                      % (self.op["disk"], self.instance.name,
                         _unit(self.delta), _unit(self.target)))
        if self.delta:
            yield call_node(self.ctx, self.pnode, "blockdev_grow", disk.to_dict(),
                            self.delta, what="Grow request failed")
            self._record_size()
            running = yield self.is_running()
            if running:
                # The guest keeps running and sees the bigger disk.
                yield call_node(self.ctx, self.pnode, "instance_resize_disk",
                                self.instance.name, self.instance.hypervisor,
                                self.op["disk"], self.target,
                                what="Could not tell the hypervisor about the"
                                     " new size")

    def _record_size(self):
        self.ctx.config.update_object("disks", self.disk.uuid,
                                      size=self.target)


def _unit(mib):
    if mib < 1024:
        return "%dM" % mib
    return "%.1fG" % (mib / 1024.0)


class LUInstanceActivateDisks(_InstanceLU):
    """``gnt-instance activate-disks``: make the disks usable on the node."""

    @inlineCallbacks
    def execute(self):
        instance = self.instance
        devices = yield self.block_devices(instance)
        self.update_instance(disks_active=True)
        returnValue([[self.pnode.name, "disk/%d" % index, device["path"]]
                     for index, device in enumerate(devices)])


class LUInstanceDeactivateDisks(_InstanceLU):
    """``gnt-instance deactivate-disks``."""

    @inlineCallbacks
    def check_prereq(self):
        if not self.op["force"]:
            running = yield self.is_running()
            if running:
                raise errors.OpPrereqError(
                    "Instance %s is running, can't shutdown block devices."
                    % self.instance.name, "wrong_state")

    @inlineCallbacks
    def execute(self):
        disks = [d.to_dict() for d in instance_disks(self.cfg, self.instance)]
        yield call_node(self.ctx, self.pnode, "blockdev_shutdown_all", disks,
                        what="Could not shutdown block devices")
        self.update_instance(disks_active=False)


class LUInstanceRecreateDisks(_InstanceLU):
    """``gnt-instance recreate-disks``: create the disks again (empty)."""

    @inlineCallbacks
    def check_prereq(self):
        yield self.require_stopped("cannot recreate disks")
        disks = instance_disks(self.cfg, self.instance)
        wanted = {}
        for item in self.op["disks"]:
            if isinstance(item, int):
                index, changes = item, {}
            else:
                index, changes = item[0], item[1]
            if not 0 <= index < len(disks):
                raise _wrong("Invalid disk index '%s'" % index)
            wanted[index] = changes
        if not self.op["disks"]:
            wanted = {index: {} for index in range(len(disks))}
        self.wanted = [(disks[i], wanted[i]) for i in sorted(wanted)]

    @inlineCallbacks
    def execute(self):
        node = self.pnode
        for disk, changes in self.wanted:
            new = attrs.evolve(disk, size=changes.get("size", disk.size),
                               mode=changes.get("mode", disk.mode))
            # Recreating is for lost disks: an existing one makes the node
            # refuse, and its data is never deleted here.
            yield call_node(self.ctx, node, "blockdev_create", new.to_dict(),
                            self.instance.name,
                            what="Could not create disk %s" % disk.iv_name)
            self.ctx.config.update_object("disks", new.uuid, size=new.size,
                                          mode=new.mode)


class LUInstanceConsole(_InstanceLU):
    """``gnt-instance console``: how to reach the instance's console."""

    NODE_SHARED = True

    @inlineCallbacks
    def check_prereq(self):
        running = yield self.is_running()
        if not running:
            state = ("stopped" if self.instance.admin_state != constants.ADMINST_UP
                     else "not running")
            raise errors.OpPrereqError("Instance %s is %s" % (
                self.instance.name, state), "wrong_state")

    @inlineCallbacks
    def execute(self):
        console = yield call_node(self.ctx, self.pnode, "instance_console",
                                  self.node_instance(), what="Cannot get console")
        returnValue(complete_console(console, self.pnode.name))


class LUInstanceSetParams(_InstanceLU):
    """
    ``gnt-instance modify``: parameters, OS, disks and NICs.

    Everything is checked and planned in L{check_prereq}; L{execute} does
    the node work and then records all changes in one config update, so
    bad input changes nothing.
    """

    def _merge(self, current, changes, prefix):
        merged = dict(current)
        for key, value in changes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
            self.result.append(["%s/%s" % (prefix, key), value])
        return merged

    @inlineCallbacks
    def check_prereq(self):
        op, instance, cfg = self.op, self.instance, self.cfg
        self.changes = {}
        self.result = []
        if op["hvparams"]:
            self.changes["hvparams"] = self._merge(
                instance.hvparams,
                _instance_hvparams(instance.hypervisor, op["hvparams"]), "hv")
        if op["beparams"]:
            self.changes["beparams"] = self._merge(
                instance.beparams, paramsmod.force_types(
                    op["beparams"], constants.BE_DEFAULTS, "backend"), "be")
        if op["osparams"]:
            self.changes["osparams"] = self._merge(instance.osparams,
                                                   op["osparams"], "os")
        if op["os_name"]:
            yield call_node(self.ctx, self.pnode, "os_check", op["os_name"],
                            self.changes.get("osparams", instance.osparams),
                            what="OS '%s' not suitable" % op["os_name"],
                            prereq=True)
            self.changes["os"] = op["os_name"]
            self.result.append(["os", op["os_name"]])
        if op["disk_template"] or op["pnode"] or op["runtime_mem"] \
                or op["offline"] is not None:
            raise _wrong("Changing the disk template, primary node, runtime"
                         " memory or offline state is not supported yet")
        disk_ops = self._parse_mods(op["disks"], "disk")
        nic_ops = self._parse_mods(op["nics"], "NIC")
        self.hotplug = yield hotplug.check_hotplug(self, disk_ops or nic_ops)
        if not (self.changes or disk_ops or nic_ops):
            raise _wrong("No changes submitted")
        self._plan_disks(disk_ops)
        self._plan_nics(nic_ops)
        if "beparams" in self.changes:
            old = fill_beparams(cfg.cluster, instance.beparams)["maxmem"]
            new = fill_beparams(cfg.cluster, self.changes["beparams"])["maxmem"]
            running = yield self.is_running()
            if running and new > old:
                yield self.check_free_memory(
                    self.pnode, new - old,
                    "increasing memory of instance %s" % instance.name)

    @staticmethod
    def _parse_mods(mods, what):
        """Normalize Ganeti's three modification list shapes to (op, index, params)."""
        result = []
        for mod in mods:
            if len(mod) == 2:
                action, params = mod
                if action in ("add", "remove", "attach", "detach"):
                    index = -1
                else:
                    index, action = action, "modify"
            elif len(mod) == 3:
                action, index, params = mod
            else:
                raise _wrong("Invalid %s modification %r" % (what, mod))
            if action not in ("add", "remove", "modify"):
                raise _wrong("Unsupported %s modification '%s'" % (what, action))
            result.append((action, index, params or {}))
        return result

    def _index(self, items, index, what):
        if isinstance(index, str) and not index.lstrip("-").isdigit():
            for position, item in enumerate(items):
                if item == index:
                    return position
            raise _wrong("Unknown %s '%s'" % (what, index))
        index = int(index)
        if index == -1:
            index = len(items) - 1
        if not 0 <= index < len(items):
            raise _wrong("Invalid %s index %s" % (what, index))
        return index

    def _plan_disks(self, disk_ops):
        """Check disk changes; fills C{self.disks} and the node work lists."""
        instance = self.instance
        disks = instance_disks(self.cfg, instance)
        self.to_create, self.to_remove = [], []
        for action, index, params in disk_ops:
            if action == "add":
                if instance.disk_template == "diskless":
                    raise _wrong("Diskless instances cannot have disks")
                disk = build_disk(self.cfg.cluster, instance.disk_template,
                                  instance.name, len(disks), params, None)
                disks.append(disk)
                self.to_create.append(disk)
                self.result.append(["disk/%d" % (len(disks) - 1),
                                    "add:size=%s,mode=%s" % (disk.size, disk.mode)])
            elif action == "remove":
                position = self._index([d.name for d in disks], index, "disk")
                self.to_remove.append(disks.pop(position))
                self.result.append(["disk/%d" % position, "remove"])
            else:
                position = self._index([d.name for d in disks], index, "disk")
                mode = params.get("mode", disks[position].mode)
                if mode not in ("rw", "ro"):
                    raise _wrong("Invalid disk access mode '%s'" % mode)
                disks[position] = attrs.evolve(
                    disks[position], mode=mode,
                    name=params.get("name", disks[position].name))
                self.result.append(["disk.mode/%d" % position, mode])
        self.disks = disks

    def _plan_nics(self, nic_ops):
        """Check NIC changes; fills C{self.nics}."""
        instance = self.instance
        nics = list(instance.nics)
        own = {nic.mac for nic in nics}
        # The instance's own MACs may move between its NICs.
        cfg = attrs.evolve(self.cfg, instances={
            u: i for u, i in self.cfg.instances.items() if u != instance.uuid})
        for action, index, params in nic_ops:
            if action == "add":
                nic = build_nic(cfg, params, {n.mac for n in nics} - own)
                nics.append(nic)
                self.result.append(["nic.%d" % (len(nics) - 1),
                                    "add:mac=%s,ip=%s" % (nic.mac, nic.ip)])
            elif action == "remove":
                position = self._index([n.name for n in nics], index, "NIC")
                nics.pop(position)
                self.result.append(["nic.%d" % position, "remove"])
            else:
                position = self._index([n.name for n in nics], index, "NIC")
                nic = nics[position]
                mac = nic.mac
                if "mac" in params and params["mac"].lower() != nic.mac:
                    mac = choose_mac(cfg, params["mac"],
                                     {n.mac for n in nics} - own)
                nicparams = paramsmod.force_types(dict(nic.nicparams, **{
                    k: params[k] for k in ("mode", "link", "vlan") if k in params}),
                    constants.NIC_DEFAULTS, "nic")
                nics[position] = attrs.evolve(
                    nic, mac=mac, nicparams=nicparams,
                    ip=check_nic_ip(params["ip"]) if "ip" in params else nic.ip)
                for key, value in sorted(params.items()):
                    self.result.append(["nic.%s/%d" % (key, position), value])
        self.nics = nics

    @inlineCallbacks
    def execute(self):
        instance = self.instance
        created = []
        try:
            for disk in self.to_create:
                yield call_node(self.ctx, self.pnode, "blockdev_create",
                                disk.to_dict(), instance.name,
                                what="Could not create disk")
                created.append(disk)
            if self.hotplug:
                # Removed devices leave the guest before their disks go.
                yield hotplug.apply_hotplug(self, hotplug.plan_hotplug(
                    self.cfg, instance, self.disks, self.nics))
        except Exception:
            for disk in created:
                yield call_node(self.ctx, self.pnode, "blockdev_remove",
                                disk.to_dict())
            raise
        for disk in self.to_remove:
            yield call_node(self.ctx, self.pnode, "blockdev_remove",
                            disk.to_dict(), what="Could not remove disk")
        changes = dict(self.changes, nics=self.nics,
                       disks=[d.uuid for d in self.disks])

        def change(cfg):
            disks = {u: d for u, d in cfg.disks.items()
                     if u not in {r.uuid for r in self.to_remove}}
            disks.update({d.uuid: d for d in self.disks})
            instances = dict(cfg.instances)
            instances[instance.uuid] = touched(
                instances[instance.uuid], self.ctx.reactor.seconds(),
                **changes)
            return attrs.evolve(cfg, disks=disks, instances=instances)
        self.ctx.config.update(change)
        returnValue(self.result)


#: Disk templates whose disks every node reaches (Ganeti's
#: C{DTS_EXT_MIRROR}, where ``diskless`` counts "trivially"): their
#: instances fail over and migrate to any node given.  Ganeti's
#: internally mirrored ``drbd`` does not exist here yet.
EXT_MIRROR_TEMPLATES = ("blockdev", "diskless", "ext", "gluster", "rbd",
                        "sharedfile")

#: Seconds a failover that a migration fell back to waits for a clean
#: shutdown (the default of the failover opcode).
DEFAULT_SHUTDOWN_TIMEOUT = 120

#: Ganeti's answer when neither a node nor an allocator says where to go.
NO_TARGET_MESSAGE = ("No iallocator or node given and no cluster-wide"
                     " default iallocator found; please specify either an"
                     " iallocator or a node, or set a cluster-wide default"
                     " iallocator")


class _MoveInstanceLU(_InstanceLU):
    """
    Failover and migration: the instance's primary node changes to
    C{target_node}, whose node lock is held too.

    Both check the instance and the target alike (L{check_move}), and a
    migration falls back to L{fail_over} when the instance is not running
    and the opcode allows it.
    """

    #: The word Ganeti's messages use for this move.
    MOVES = None

    def needed_locks(self):
        result = LogicalUnit.needed_locks(self)
        result.append((locks.LEVEL_INSTANCE, [self.op["instance_name"]], False))
        instance = self.cfg.instance_by_name(self.op["instance_name"])
        if instance is not None:
            names = {self.cfg.nodes[instance.primary_node].name}
            if self.op["target_node"]:
                names.add(self.op["target_node"])
            else:
                # A cleanup without a target looks for the instance on
                # every node; an allocator may choose any node.
                names = locks.ALL_SET
            self.locked_nodes = names
            result.append((locks.LEVEL_NODE, names if names is locks.ALL_SET
                           else sorted(names), False))
        return result

    @inlineCallbacks
    def check_move(self):
        """
        Check what every failover and migration needs: a template whose
        disks the target reaches, and a usable target other than the
        primary (unless C{cleanup}, where the target is optional), given
        or chosen by an allocator (a ``relocate`` request).

        Sets C{self.target} (a L{Node} or None); returns a Deferred.
        """
        instance = self.instance
        if (self.locked_nodes is not locks.ALL_SET
                and self.pnode.name not in self.locked_nodes):
            raise errors.OpPrereqError(
                "Instance %s moved to node %s while waiting for locks, please"
                " retry" % (instance.name, self.pnode.name), "wrong_state")
        if instance.disk_template not in EXT_MIRROR_TEMPLATES:
            raise errors.OpPrereqError(
                "Instance's disk layout '%s' does not allow %s"
                % (instance.disk_template, self.MOVES), "wrong_state")
        self.target = None
        allocator = iallocator.choose(self.cfg.cluster, self.op["iallocator"],
                                      self.op["target_node"])
        if allocator and not self.cleanup:
            [name] = yield allocators.run(
                self.ctx, allocator, iallocator.relocate_request(self.cfg,
                                                                 instance))
            self.target = get_node(self.cfg, name)
            self.log_info("Selected nodes for instance %s via iallocator %s:"
                          " %s" % (instance.name, allocator, name))
        elif self.op["target_node"]:
            self.target = get_node(self.cfg, self.op["target_node"])
        elif not self.cleanup:
            raise _wrong(NO_TARGET_MESSAGE)
        if self.target is None:
            return
        if self.target.uuid == instance.primary_node:
            raise errors.OpPrereqError(
                "Cannot migrate instance %s to its primary (%s)"
                % (instance.name, self.pnode.name), "wrong_state")
        check_usable_node(self.target)

    def check_target_memory(self):
        """The target must have room for the instance's memory."""
        memory = fill_beparams(self.cfg.cluster, self.instance.beparams)["maxmem"]
        return self.check_free_memory(self.target, memory, "migrating instance %s"
                                      % self.instance.name)

    @inlineCallbacks
    def fail_over(self, shutdown_timeout, ignore_consistency):
        """
        Stop the instance on its primary node, switch the primary to the
        target and start it there if it is marked up.

        A source node that cannot stop the instance (dead, offline) stops
        the failover unless C{ignore_consistency} is set or it is offline:
        then the operator vouches that it is down.
        """
        instance, source, target = self.instance, self.pnode, self.target
        self.feedback("* shutting down instance on source node")
        try:
            running = yield self.is_running()
            if running:
                yield self.stop(instance, shutdown_timeout)
        except errors.GenericError as e:
            if not (ignore_consistency or source.offline):
                raise errors.OpExecError(
                    "Could not shutdown instance %s on node %s: %s"
                    % (instance.name, source.name, e))
            self.log_warning(
                "Could not shutdown instance %s on node %s, proceeding anyway;"
                " please make sure node %s is down; error details: %s"
                % (instance.name, source.name, source.name, e))
        self.feedback("* deactivating the instance's disks on source node")
        yield self.shutdown_disks(source, instance)
        self.update_instance(primary_node=target.uuid, disks_active=False)
        if instance.admin_state != constants.ADMINST_UP:
            return
        instance = self.instance
        self.feedback("* activating the instance's disks on target node %s"
                      % target.name)
        self.feedback("* starting the instance on the target node %s"
                      % target.name)
        try:
            yield self.start(instance)
        except errors.GenericError:
            yield self.shutdown_disks(target, instance)
            raise
        self.update_instance(disks_active=True)

    @inlineCallbacks
    def shutdown_disks(self, node, instance):
        """
        Release the instance's disks on C{node}; a failure only warns, as
        the disks are shared and the node may be gone.
        """
        disks = [d.to_dict() for d in instance_disks(self.cfg, instance)]
        if not disks:
            return
        try:
            yield call_node(self.ctx, node, "blockdev_shutdown_all", disks,
                            what="Could not shutdown block devices")
        except errors.GenericError as e:
            self.log_warning("Could not shut down the disks of %s on node %s:"
                             " %s" % (instance.name, node.name, e))


class LUInstanceFailover(_MoveInstanceLU):
    """
    ``gnt-instance failover``: stop the instance, start it on the target.

    ``cleanup`` is accepted, as by Ganeti, and means nothing for a
    failover.
    """

    MOVES = "failovers"
    cleanup = False

    @inlineCallbacks
    def check_prereq(self):
        yield self.check_move()
        if self.instance.admin_state == constants.ADMINST_UP:
            yield self.check_target_memory()
        else:
            self.log_info("Not checking memory on the secondary node as"
                          " instance will not be started")

    def execute(self):
        self.feedback("Failover instance %s" % self.instance.name)
        return self.fail_over(self.op["shutdown_timeout"],
                              self.op["ignore_consistency"])


class LUInstanceMigrate(_MoveInstanceLU):
    """
    ``gnt-instance migrate``: move a running instance without stopping it
    (the hypervisor copies its memory), or with ``cleanup`` find where a
    migration that was interrupted left it and record that.

    On any failure before the source lets go, both sides are rolled back:
    the instance keeps running on its primary node and the configuration
    is unchanged.
    """

    MOVES = "migrations"

    @property
    def cleanup(self):
        return self.op["cleanup"]

    @inlineCallbacks
    def check_prereq(self):
        op, instance = self.op, self.instance
        yield self.check_move()
        if op["live"] is not None and op["mode"] is not None:
            raise _wrong("Only one of the 'live' and 'mode' parameters are"
                         " accepted")
        if op["live"] is not None:
            mode = "live" if op["live"] else "non-live"
        else:
            mode = op["mode"] or self.node_instance()["hvparams"].get(
                "migration_mode", "live")
        self.live = mode == "live"
        self.failover = False
        if self.cleanup:
            return
        if instance.admin_state != constants.ADMINST_UP and op["allow_failover"]:
            self.log_info("Instance is marked down or offline, fallback"
                          " allowed, switching to failover")
            self.failover = True
        else:
            yield self._check_running()
        if not self.failover or instance.admin_state == constants.ADMINST_UP:
            yield self.check_target_memory()

    @inlineCallbacks
    def _check_running(self):
        """Only a running instance migrates; else fail over, if allowed."""
        try:
            info = yield self.running_info(prereq=True)
            if info is None:
                raise errors.OpPrereqError("Instance %s is not running"
                                           % self.instance.name, "wrong_state")
        except errors.OpPrereqError as e:
            if not self.op["allow_failover"]:
                raise errors.OpPrereqError("Can't migrate, please use failover:"
                                           " %s" % e.args[0], "wrong_state")
            self.log_info("Can't migrate, instance offline, fallback to"
                          " failover")
            self.failover = True

    def execute(self):
        if self.cleanup:
            return self._clean_up()
        if self.failover:
            self.feedback("Failover instance %s" % self.instance.name)
            return self.fail_over(DEFAULT_SHUTDOWN_TIMEOUT, False)
        self.feedback("Migrating instance %s" % self.instance.name)
        return self._migrate()

    @inlineCallbacks
    def _migrate(self):
        instance, source, target = self.instance, self.pnode, self.target
        spec = self.node_instance(instance)
        address = target.secondary_ip or target.primary_ip
        info = yield call_node(self.ctx, source, "migration_info",
                               instance.name, instance.hypervisor,
                               what="Failed fetching source migration"
                                    " information from %s" % source.name)
        self.feedback("* preparing %s to accept the instance" % target.name)
        try:
            devices = yield self.block_devices(instance, target)
            yield call_node(self.ctx, target, "accept_instance", spec, info,
                            devices, address, what="Pre-migration failed")
        except errors.GenericError as e:
            self.feedback("Pre-migration failed, aborting")
            yield self.shutdown_disks(target, instance)
            raise errors.OpExecError("Could not pre-migrate instance %s: %s"
                                     % (instance.name, e))
        self.feedback("* migrating instance to %s" % target.name)
        self.feedback("* starting memory transfer")
        try:
            yield call_node(self.ctx, source, "instance_migrate", spec, address,
                            self.live, what="Migration failed")
        except errors.GenericError as e:
            self.feedback("Migration failed, aborting")
            yield self._abort(spec, info)
            raise errors.OpExecError("Could not migrate instance %s: %s"
                                     % (instance.name, e))
        self.feedback("* memory transfer complete")
        yield self._finalize(source, "instance_finalize_migration_src",
                             instance.name, instance.hypervisor, True)
        self.update_instance(primary_node=target.uuid)
        yield self._finalize(target, "instance_finalize_migration_dst", spec,
                             info, True)
        self.feedback("* unmapping instance's disks from %s" % source.name)
        yield self.shutdown_disks(source, instance)
        self.feedback("* done")

    @inlineCallbacks
    def _abort(self, spec, info):
        """
        Undo an accepted migration: the target drops what it prepared, the
        source keeps (and resumes) the instance.  Failures only warn: the
        migration error is what the operator must see.
        """
        instance, source, target = self.instance, self.pnode, self.target
        for node, method, args in (
                (target, "instance_finalize_migration_dst", (spec, info)),
                (source, "instance_finalize_migration_src",
                 (instance.name, instance.hypervisor))):
            try:
                yield call_node(self.ctx, node, method, *args, False)
            except errors.GenericError as e:
                self.log_warning("Rolling back the migration on node %s"
                                 " failed: %s" % (node.name, e))
        yield self.shutdown_disks(target, instance)

    def _finalize(self, node, method, *args):
        return call_node(self.ctx, node, method, *args,
                         what="Could not finalize instance migration")

    @inlineCallbacks
    def _clean_up(self):
        """
        Find the node that runs the instance (its primary and the target,
        or every node without a target) and make it the primary.
        """
        instance, pnode = self.instance, self.pnode
        if self.target is not None:
            nodes = [pnode, self.target]
        else:
            nodes = [pnode] + sorted(
                (n for n in self.cfg.nodes.values() if n.uuid != pnode.uuid
                 and not n.offline and n.vm_capable), key=lambda n: n.name)
        self.feedback("* checking where the instance actually runs (if this"
                      " hangs, the hypervisor might be in a bad state)")
        results = yield self.ctx.rpc.call(
            [(n.name, n.primary_ip) for n in nodes], "instance_info",
            instance.name, instance.hypervisor)
        running_on = []
        for node in nodes:
            result = results[node.name]
            if not result.ok:
                if node is pnode or node is self.target:
                    raise errors.OpExecError("Can't contact node %s: %s"
                                             % (node.name, result.fail_msg))
                self.log_warning("Can't contact node %s: %s"
                                 % (node.name, result.fail_msg))
            elif result.payload is not None:
                running_on.append(node)
        if len(running_on) > 1:
            raise errors.OpExecError(
                "Instance seems to be running on two nodes, or the hypervisor"
                " is confused; you will have to ensure manually that it runs"
                " only on one and restart this operation")
        if not running_on:
            raise errors.OpExecError(
                "Instance does not seem to be running at all; in this case"
                " it's safer to repair by running 'gnt-instance stop' to"
                " ensure disk shutdown, and then restarting it")
        [node] = running_on
        if node is pnode:
            self.feedback("* instance confirmed to be running on its primary"
                          " node (%s)" % pnode.name)
        else:
            self.feedback("* instance running on secondary node (%s),"
                          " updating config" % node.name)
            self.update_instance(primary_node=node.uuid)
        self.feedback("* done")
