# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
``gnt-instance modify``: parameters, disks and NICs of an existing
instance, checked completely before anything changes, hot-plugged into a
running kvm guest where asked.
"""


import attrs
from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import constants, params as paramsmod
from ganeti.cmdlib.instance import hotplug
from ganeti.cmdlib.common import call_node
from ganeti.cmdlib.hooks import instance_object_variables
from ganeti.cmdlib.instance.base import (
    InstanceLU, build_disk, build_nic, check_nic_ip, check_spindles,
    choose_mac, instance_hvparams, release_ports, wrong_input)
from ganeti import locking
from ganeti.cmdlib.instance import convert, drbd as drbdmod
from ganeti.cmdlib.instance.nics import claim_addresses, place_nics, spec_network
from ganeti.config import touched
from ganeti.disk_templates import DT_DRBD, MIRRORED_TEMPLATES
from ganeti.params import (
    annotated_disk, exclusive_storage, fill_beparams, instance_disks)


class LUInstanceSetParams(InstanceLU):
    """
    ``gnt-instance modify``: parameters, OS, disks and NICs.

    Everything is checked and planned in L{check_prereq}; L{execute} does
    the node work and then records all changes in one config update, so
    bad input changes nothing.
    """

    HPATH = "instance-modify"

    def build_hooks_env(self):
        # As Ganeti: the NICs and the memory and CPU figures are those the
        # change leaves, in both phases.
        cfg, instance = self.hooks_view()
        override = {}
        if getattr(self, "nics", None) is not None:
            override["nics"] = self.nics
        env = instance_object_variables(cfg, instance, **override)
        beparams = fill_beparams(cfg.cluster, self.changes.get(
            "beparams", instance.beparams))
        env.update(INSTANCE_MINMEM=beparams["minmem"],
                   INSTANCE_MAXMEM=beparams["maxmem"],
                   INSTANCE_MEMORY=beparams["maxmem"],
                   INSTANCE_VCPUS=beparams["vcpus"])
        if self.op["disk_template"]:
            env["NEW_DISK_TEMPLATE"] = self.op["disk_template"]
        if self.op["runtime_mem"]:
            env["RUNTIME_MEMORY"] = self.op["runtime_mem"]
        return env

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
                instance_hvparams(instance.hypervisor, op["hvparams"]), "hv")
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
        if op["pnode"] or op["runtime_mem"] or op["offline"] is not None:
            raise wrong_input("Changing the primary node, runtime memory or"
                              " offline state is not supported yet")
        disk_ops = self._parse_mods(op["disks"], "disk")
        nic_ops = self._parse_mods(op["nics"], "NIC")
        self.conversion = None
        if op["disk_template"]:
            snode = convert.check_conversion(self, op["disk_template"],
                                             op["remote_node"], disk_ops)
            yield self.require_stopped("cannot change disk template")
            self.conversion = (op["disk_template"], snode)
            self.result.append(["disk_template", op["disk_template"]])
        self.hotplug = yield hotplug.check_hotplug(self, disk_ops or nic_ops)
        if not (self.changes or disk_ops or nic_ops or self.conversion):
            raise wrong_input("No changes submitted")
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
                raise wrong_input("Invalid %s modification %r" % (what, mod))
            if action not in ("add", "remove", "modify"):
                raise wrong_input("Unsupported %s modification '%s'" % (what, action))
            result.append((action, index, params or {}))
        return result

    def _index(self, items, index, what):
        if isinstance(index, str) and not index.lstrip("-").isdigit():
            for position, item in enumerate(items):
                if item == index:
                    return position
            raise wrong_input("Unknown %s '%s'" % (what, index))
        index = int(index)
        if index == -1:
            index = len(items) - 1
        if not 0 <= index < len(items):
            raise wrong_input("Invalid %s index %s" % (what, index))
        return index

    def _plan_disks(self, disk_ops):
        """Check disk changes; fills C{self.disks} and the node work lists."""
        instance = self.instance
        disks = instance_disks(self.cfg, instance)
        self.to_create, self.to_remove = [], []
        mirrored = instance.disk_template in MIRRORED_TEMPLATES
        allocation = drbdmod.Allocation(self.cfg)
        for action, index, params in disk_ops:
            if action == "add":
                if instance.disk_template == "diskless":
                    raise wrong_input("Diskless instances cannot have disks")
                disk = build_disk(self.cfg.cluster,
                                  "plain" if mirrored else
                                  instance.disk_template,
                                  instance.name, len(disks), params, None)
                if mirrored:
                    disk = drbdmod.drbd_disk(
                        allocation, disk, self.pnode.uuid,
                        self.snodes[0].uuid, paramsmod.disk_params(
                            self.cfg, "drbd", self.pnode)["metavg"])
                check_spindles([disk], exclusive_storage(self.cfg, self.pnode),
                               instance.disk_template)
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
                    raise wrong_input("Invalid disk access mode '%s'" % mode)
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
                nic, = place_nics(self, [nic], self.pnode,
                                  self.op["conflicts_check"])
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
                changed = attrs.evolve(
                    nic, mac=mac, nicparams=nicparams,
                    ip=check_nic_ip(params["ip"]) if "ip" in params else nic.ip)
                if "network" in params:
                    net = spec_network(cfg, params)
                    changed = attrs.evolve(changed,
                                           network=net.uuid if net else None)
                if (changed.network, changed.ip) != (nic.network, nic.ip):
                    # A new address, or the old one in another network.
                    changed, = place_nics(self, [changed], self.pnode,
                                          self.op["conflicts_check"])
                nics[position] = changed
                for key, value in sorted(params.items()):
                    self.result.append(["nic.%s/%d" % (key, position), value])
        self.nics = nics

    def needed_locks(self):
        result = super().needed_locks()
        remote = self.op["remote_node"]
        for index, (level, names, shared) in enumerate(result):
            if level == locking.LEVEL_NODE and remote:
                result[index] = (level, sorted(set(names) | {remote}), shared)
        return result

    @inlineCallbacks
    def execute(self):
        if self.conversion is not None:
            template, snode = self.conversion
            if template == DT_DRBD:
                yield convert.plain_to_drbd(self, snode,
                                            self.op["wait_for_sync"])
            else:
                yield convert.drbd_to_plain(self)
            # The other changes are recorded over the converted disks.
            self.disks = instance_disks(self.cfg, self.instance)
        yield self._apply_changes()
        returnValue(self.result)

    @inlineCallbacks
    def _apply_changes(self):
        instance = self.instance
        nodes = self.snodes + [self.pnode]
        created = []
        try:
            for disk in self.to_create:
                for node in nodes:
                    created.append((node, disk))
                    yield call_node(self.ctx, node, "blockdev_create",
                                    annotated_disk(self.cfg, disk, node),
                                    instance.name,
                                    exclusive_storage(self.cfg, node),
                                    what="Could not create disk")
            yield self._add_mirrors()
            if self.hotplug:
                # Removed devices leave the guest before their disks go.
                yield hotplug.apply_hotplug(self, hotplug.plan_hotplug(
                    self.cfg, instance, self.disks, self.nics))
        except Exception:
            for node, disk in created:
                yield call_node(self.ctx, node, "blockdev_remove",
                                annotated_disk(self.cfg, disk, node))
            raise
        for disk in self.to_remove:
            for node in nodes:
                yield call_node(self.ctx, node, "blockdev_remove",
                                annotated_disk(self.cfg, disk, node),
                                what="Could not remove disk")
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
            # As Ganeti: a removed mirror's port goes back to the pool.
            cluster = release_ports(
                drbdmod.claim_ports(cfg, self.to_create),
                [d.logical_id[2] for d in self.to_remove
                 if d.dev_type == DT_DRBD])
            networks = claim_addresses(cfg, instance.nics, self.nics,
                                       self.op["conflicts_check"])
            return attrs.evolve(cfg, disks=disks, instances=instances,
                                cluster=cluster, networks=networks)
        self.ctx.config.update(change)

    @inlineCallbacks
    def _add_mirrors(self):
        """
        New ``drbd`` disks are brought up and synced before the guest
        sees them (hotplug) or the config records them.
        """
        new = [d for d in self.to_create if d.dev_type in MIRRORED_TEMPLATES]
        if not new:
            return
        planned = attrs.evolve(self.cfg, disks=dict(
            self.cfg.disks, **{d.uuid: d for d in new}))
        instance = attrs.evolve(self.instance, disks=list(
            self.instance.disks) + [d.uuid for d in new])
        yield drbdmod.first_sync(self, instance, new, cfg=planned)
