# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
``gnt-instance add``: a new instance, created from an OS definition or
imported from an export, on a node given or chosen by an allocator.

A failed creation removes what it created (disks, config entry), so bad
input leaves nothing behind.
"""

import os

import attrs
from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import constants, errors, iallocator, netutils, params as paramsmod
from ganeti.cmdlib import allocators
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import call_node, get_instance, get_node
from ganeti.cmdlib.exports import exports_by_node, staging_name, transfer
from ganeti.cmdlib.hooks import instance_variables
from ganeti.cmdlib.instance import drbd as drbdmod
from ganeti.cmdlib.instance.nics import claim_addresses, place_nics
from ganeti.cmdlib.instance.base import (
    InstanceLU, build_disk, build_nic, cfg_instance, check_spindles,
    check_usable_node, instance_hvparams, new_uuid,
    remove_instance_from_config, used_macs, wrong_input)
from ganeti import locking
from ganeti.objects import Instance
from ganeti.disk_templates import FIRST_DRBD_PORT, MIRRORED_TEMPLATES
from ganeti.params import annotated_disk, exclusive_storage, fill_beparams


class LUInstanceCreate(InstanceLU):
    """``gnt-instance add``."""

    HPATH = "instance-add"

    def needed_locks(self):
        result = LogicalUnit.needed_locks(self)
        result.append((locking.LEVEL_INSTANCE, [self.op["instance_name"]], False))
        pnode, snode = self.op.get("pnode"), self.op.get("snode")
        wanted = [n for n in (pnode, snode) if n]
        result.append((locking.LEVEL_NODE, wanted if pnode else locking.ALL_SET,
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

    def build_hooks_env(self):
        # As Ganeti: the instance as requested (both phases), with the
        # "start" flag as its status.
        op, cluster = self.op, self.cfg.cluster
        env = {"ADD_MODE": op["mode"]}
        if self.export is not None:
            env["SRC_NODE"] = self.src_node.name
            env["SRC_PATH"] = self.src_dir
            env["SRC_IMAGES"] = [os.path.join(self.src_dir, d["dump"])
                                 for d in self.export.disks]
        env.update(instance_variables(
            self.cfg, name=self.name, primary=self.node.name,
            secondaries=[self.snode.name] if self.snode else [],
            os_type=op["os_type"], status=op["start"],
            beparams=fill_beparams(cluster, self.beparams),
            hvparams=self.hvparams_filled(), nics=self.nics, disks=self.disks,
            hypervisor=self.hypervisor, tags=op["tags"]))
        return env

    def build_hooks_nodes(self):
        nodes = [self.cfg.cluster.master_node, self.node.uuid]
        if self.snode:
            nodes.append(self.snode.uuid)
        return nodes, nodes

    @inlineCallbacks
    def check_prereq(self):
        if self.op["mode"] == "remote-import":
            raise wrong_input("Remote import is not supported")
        if self.op["mode"] == "import":
            yield self._read_export()
        op, cfg = self.op, self.cfg
        cluster = cfg.cluster
        name = op["instance_name"]
        self.resolved_ip = None
        if op["name_check"]:
            name, ip = yield netutils.resolve_async(self.ctx.reactor, name,
                                                    self.ctx.paths)
            if op["ip_check"]:
                answers = yield netutils.tcp_ping(self.ctx.reactor, ip, 22)
                if answers:
                    raise errors.OpPrereqError("IP %s of instance %s already in"
                                               " use" % (ip, name),
                                               "already_exists")
            self.resolved_ip = ip
        elif op["ip_check"]:
            raise wrong_input("Cannot do IP address check without a name check")
        if cfg.instance_by_name(name) is not None:
            raise errors.OpPrereqError("Instance '%s' is already in the cluster"
                                       % name, "already_exists")
        self.name = name
        self.hypervisor = op["hypervisor"] or cluster.default_hypervisor
        if self.hypervisor not in cluster.enabled_hypervisors:
            raise wrong_input("Selected hypervisor (%s) not enabled in the cluster"
                         " (%s)" % (self.hypervisor,
                                    ", ".join(cluster.enabled_hypervisors)))
        self.hvparams = instance_hvparams(self.hypervisor, op["hvparams"])
        self.beparams = paramsmod.force_types(op["beparams"], constants.BE_DEFAULTS,
                                              "backend")
        template = op["disk_template"] or cluster.enabled_disk_templates[0]
        if template not in cluster.enabled_disk_templates:
            raise wrong_input("Cannot create an instance with disk template '%s', as"
                         " it's not enabled in cluster. Enabled disk templates"
                         " are: %s" % (template,
                                       ",".join(cluster.enabled_disk_templates)))
        self.template = template
        if template == "diskless" and op["disks"]:
            raise wrong_input("Diskless instances cannot have disks")
        if template != "diskless" and not op["disks"]:
            raise wrong_input("Disk template %s requires at least one disk" % template)
        mirrored = template in MIRRORED_TEMPLATES
        # A mirrored disk starts as the plain disk that becomes its data.
        self.disks = [build_disk(cluster, "plain" if mirrored else template,
                                 name, index, spec, op["file_driver"],
                                 op["file_storage_dir"])
                      for index, spec in enumerate(op["disks"])]
        self.nics = self._build_nics()
        self.install = not op["no_install"] and op["mode"] == "create"
        if self.install and not op["os_type"]:
            raise wrong_input("No guest OS or OS image specified")
        self.node, self.snode = yield self._choose_nodes(mirrored)
        self.nics = place_nics(self, self.nics, self.node,
                               op["conflicts_check"])
        self.excl_stor = exclusive_storage(cfg, self.node)
        if self.snode is not None and exclusive_storage(cfg, self.snode):
            self.excl_stor = True
        check_spindles(self.disks, self.excl_stor, template)
        if mirrored:
            allocation = drbdmod.Allocation(cfg)
            meta_vg = paramsmod.disk_params(cfg, template, self.node)["metavg"]
            self.disks = [drbdmod.drbd_disk(allocation, disk, self.node.uuid,
                                            self.snode.uuid, meta_vg)
                          for disk in self.disks]
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
            raise wrong_input("Importing an instance from a path requires a source"
                         " node option")
        found = yield exports_by_node(self.ctx, self.cfg)
        for node_name in sorted(found):
            if isinstance(found[node_name], list) and path in found[node_name]:
                returnValue((self.cfg.node_by_name(node_name), path))
        raise wrong_input("No export found for relative path %s" % path)

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
        of the cluster uses it now (Ganeti would fail instead), and its
        network if this cluster has it (which then gives mode and link).
        """
        used = used_macs(self.cfg)
        nics = []
        for nic in export.nics:
            spec = {k: nic[k] for k in ("mac", "ip", "mode", "link", "vlan",
                                        "name") if k in nic}
            if spec.get("mac") in used:
                spec["mac"] = "auto"
            net = self.cfg.networks.get(nic.get("network") or "")
            if net is not None:
                spec = {k: v for k, v in spec.items()
                        if k not in ("mode", "link", "vlan")}
                spec["network"] = net.uuid
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
            if str(spec.get("ip")).lower() == "auto":
                # The address the instance's name resolved to.
                if self.resolved_ip is None:
                    raise wrong_input("IP address set to auto but name checks"
                                      " have been skipped")
                spec = dict(spec, ip=self.resolved_ip)
            nic = build_nic(self.cfg, spec, used)
            used.add(nic.mac)
            nics.append(nic)
        return nics

    @inlineCallbacks
    def _choose_nodes(self, mirrored):
        """
        :return: (Deferred) the primary node and, for a mirrored
            template, the secondary (else C{None}).
        """
        op, cfg = self.op, self.cfg
        allocator = iallocator.choose(cfg.cluster, op["iallocator"], op["pnode"])
        if allocator:
            nodes = yield self._allocate(allocator, 2 if mirrored else 1)
        elif op["pnode"]:
            nodes = [get_node(cfg, op["pnode"])]
            if mirrored:
                if not op["snode"]:
                    raise wrong_input("The networked disk templates need a"
                                      " mirror node")
                nodes.append(get_node(cfg, op["snode"]))
                if nodes[1].uuid == nodes[0].uuid:
                    raise wrong_input("The secondary node cannot be the"
                                      " primary node")
            elif op["snode"]:
                self.log_warning("Secondary node will be ignored on"
                                 " non-mirrored disk template")
        else:
            nodes = yield self._most_free_memory(2 if mirrored else 1)
        for node in nodes:
            check_usable_node(node)
        returnValue((nodes[0], nodes[1] if mirrored else None))

    @inlineCallbacks
    def _most_free_memory(self, count):
        """:return: (Deferred) the C{count} nodes with most free memory."""
        candidates = [n for n in self.cfg.nodes.values()
                      if n.vm_capable and not n.offline and not n.drained]
        ranked = []
        for node in sorted(candidates, key=lambda n: n.name):
            try:
                info = yield call_node(self.ctx, node, "node_info",
                                       [self.hypervisor])
            except errors.GenericError:
                continue
            ranked.append((-(info.get("memory_free") or 0), node.name, node))
        if len(ranked) < count:
            raise errors.OpPrereqError("Can't find a node to place the instance"
                                       " on", "insufficient_resources")
        best = [node for _, _, node in sorted(ranked)[:count]]
        self.feedback("Selected nodes for instance %s via iallocator: %s"
                      % (self.name, ", ".join(n.name for n in best)))
        returnValue(best)

    @inlineCallbacks
    def _allocate(self, allocator, count):
        """:return: (Deferred) the C{count} nodes C{allocator} chose."""
        op = self.op
        beparams = fill_beparams(self.cfg.cluster, self.beparams)
        nics = [iallocator.nic_dict(self.cfg.cluster, nic) for nic in self.nics]
        request = iallocator.allocate_request(
            self.name, self.template,
            [{"size": d.size, "mode": d.mode, "spindles": d.spindles}
             for d in self.disks], nics,
            beparams["vcpus"], beparams["maxmem"], op["os_type"],
            self.hypervisor, tags=op["tags"],
            spindle_use=beparams["spindle_use"], group_name=op["group_name"])
        request["type"] = iallocator.MODE_ALLOC
        names = yield allocators.run(self.ctx, allocator, request)
        if len(names) != count:
            raise errors.OpPrereqError(
                "iallocator '%s' returned %d nodes, %d were needed"
                % (allocator, len(names), count), "insufficient_resources")
        self.feedback("Selected nodes for instance %s via iallocator %s: %s"
                      % (self.name, allocator, ", ".join(names)))
        returnValue([get_node(self.cfg, name) for name in names])

    @inlineCallbacks
    def _check_disk_space(self):
        if self.template == "plain":
            yield check_vg_space(self.ctx, self.node, self.excl_stor,
                                 self.disks)
            return
        if self.template in MIRRORED_TEMPLATES:
            volumes = [child for disk in self.disks for child in disk.children]
            for node in (self.node, self.snode):
                yield check_vg_space(self.ctx, node, False, volumes)
            return
        if self.template not in ("file", "sharedfile"):
            return
        needed = sum(d.size for d in self.disks)
        units = yield call_node(self.ctx, self.node, "storage_list",
                                self.template, None,
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
            name=self.name, uuid=new_uuid(), primary_node=node.uuid,
            os=op["os_type"] or "", hypervisor=self.hypervisor,
            disk_template=self.template, hvparams=self.hvparams,
            beparams=self.beparams, osparams=dict(op["osparams"]),
            nics=self.nics, disks=[d.uuid for d in self.disks],
            disks_active=True, network_port=None, tags=list(op["tags"]),
            ctime=self.ctx.reactor.seconds(), mtime=self.ctx.reactor.seconds())
        created = []
        if self.disks:
            self.feedback("* creating instance disks...")
        nodes = [n for n in (self.snode, node) if n is not None]
        try:
            for index, disk in enumerate(self.disks):
                for target in nodes:
                    created.append((target, disk))
                    yield call_node(self.ctx, target, "blockdev_create",
                                    annotated_disk(self.cfg, disk, target),
                                    self.name, self.excl_stor,
                                    what="Could not create disk %s"
                                    % disk.iv_name)
                if disk.dev_type == "blockdev":
                    # An adopted device has the size it has.
                    size = yield call_node(self.ctx, node, "blockdev_get_size",
                                           disk.to_dict(),
                                           what="Could not size %s" % disk.iv_name)
                    self.disks[index] = attrs.evolve(disk, size=size)
            self.feedback("adding instance %s to cluster config" % self.name)
            self._add_to_config(instance, wants_port)
        except Exception:
            yield self._remove_disks(created)
            raise
        all_disks = [(n, d) for d in self.disks for n in nodes]
        try:
            if self.snode is not None:
                yield drbdmod.first_sync(
                    self, cfg_instance(self.cfg, instance.uuid), self.disks,
                    self.op["wait_for_sync"])
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
            yield self._remove_disks(all_disks)
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
    def _remove_disks(self, placed):
        """:param placed: ``[(node, disk)]`` to remove."""
        for node, disk in placed:
            try:
                yield call_node(self.ctx, node, "blockdev_remove",
                                annotated_disk(self.cfg, disk, node))
            except errors.GenericError as e:
                self.log_warning("Could not remove disk %s on node %s: %s"
                                 % (disk.iv_name, node.name, e))

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
            cluster, new = drbdmod.claim_ports(cfg, self.disks), instance
            if wants_port:
                port = max(cluster.highest_used_port, FIRST_DRBD_PORT - 1) + 1
                cluster = attrs.evolve(cluster, highest_used_port=port)
                new = attrs.evolve(instance, network_port=port)
            disks = dict(cfg.disks)
            disks.update({d.uuid: d for d in self.disks})
            instances = dict(cfg.instances)
            instances[instance.uuid] = new
            networks = claim_addresses(cfg, [], instance.nics,
                                       self.op["conflicts_check"])
            return attrs.evolve(cfg, disks=disks, instances=instances,
                                cluster=cluster, networks=networks)
        self.ctx.config.update(change)

    def _remove_from_config(self, instance):
        remove_instance_from_config(self.ctx.config, instance.uuid)


@inlineCallbacks
def check_vg_space(ctx, node, excl_stor, disks):
    """
    Every volume group the new ``plain`` disks go to has room for them on
    C{node} (Ganeti's C{CheckNodesFreeDiskPerVG}); with exclusive storage
    free space counts whole empty PVs.

    :raise OpPrereqError: (through the Deferred) for a VG too full, or
        one the node cannot describe.
    """
    needed = {}
    for disk in disks:
        needed[disk.logical_id[0]] = needed.get(disk.logical_id[0], 0) + disk.size
    for vg, size in sorted(needed.items()):
        info = yield call_node(ctx, node, "lvm_vg_space", vg, excl_stor,
                               what="Cannot get current information from"
                               " node %s" % node.name, prereq=True)
        free = info.get("free")
        if not isinstance(free, int):
            raise errors.OpPrereqError(
                "Can't compute free disk space on node %s for vg %s, result"
                " was '%s'" % (node.name, vg, free), "environment_error")
        if size > free:
            raise errors.OpPrereqError(
                "Not enough disk space on target node %s vg %s: required %d"
                " MiB, available %d MiB" % (node.name, vg, size, free),
                "insufficient_resources")
