# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
An instance's disks as a whole: grow one, activate or deactivate them all,
recreate lost ones.
"""


import attrs
from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import errors, locking
from ganeti.cmdlib.common import call_node, get_node
from ganeti.cmdlib.instance import drbd as drbdmod
from ganeti.cmdlib.instance.base import (
    InstanceLU, check_usable_node, wrong_input)
from ganeti.params import (
    annotated_disk, exclusive_storage, fill_beparams, instance_disks,
    instance_nodes)


class LUInstanceGrowDisk(InstanceLU):
    """``gnt-instance grow-disk``."""

    HPATH = "disk-grow"

    def hooks_extra_env(self):
        op = self.op
        return {"DISK": op["disk"], "AMOUNT": op["amount"],
                "ABSOLUTE": op["absolute"]}

    def check_prereq(self):
        instance = self.instance
        disks = instance_disks(self.cfg, instance)
        index = self.op["disk"]
        if index >= len(disks):
            raise wrong_input("Invalid disk index %s (instance has %d disks)"
                         % (index, len(disks)))
        self.disk = disks[index]
        if self.disk.dev_type not in ("file", "sharedfile", "plain", "drbd",
                                      "ext"):
            raise errors.OpPrereqError(
                "Instance's disk layout '%s' does not support growing"
                % self.disk.dev_type, "wrong_state")
        amount = self.op["amount"]
        self.target = amount if self.op["absolute"] else self.disk.size + amount
        if self.target < self.disk.size:
            raise wrong_input("Requested size (%s) is smaller than current disk size"
                         " (%s)" % (self.target, self.disk.size))
        self.delta = self.target - self.disk.size
        self.excl_stor = exclusive_storage(self.cfg, self.pnode)
        if self.disk.dev_type == "drbd":
            return self._check_mirror_space()
        if self.disk.dev_type == "plain" and self.delta and not self.excl_stor:
            # With exclusive storage the dry run below is the check.
            from ganeti.cmdlib.instance.create import check_vg_space
            return check_vg_space(self.ctx, self.pnode, False, [
                attrs.evolve(self.disk, size=self.delta)])

    @inlineCallbacks
    def _check_mirror_space(self):
        """A mirror's data volume grows on both nodes: both need room."""
        from ganeti.cmdlib.instance.create import check_vg_space
        if not self.delta:
            return
        data = attrs.evolve(self.disk.children[0], size=self.delta)
        for node in [self.pnode] + self.snodes:
            yield check_vg_space(self.ctx, node, False, [data])

    @inlineCallbacks
    def execute(self):
        if self.disk.dev_type == "drbd":
            yield self._grow_mirror()
            return
        disk = annotated_disk(self.cfg, self.disk, self.pnode)
        self.feedback("Growing disk %s of instance '%s' by %s to %s"
                      % (self.op["disk"], self.instance.name,
                         _unit(self.delta), _unit(self.target)))
        if self.delta:
            # As Ganeti: a dry run first, so a growth that cannot be done
            # changes nothing.
            yield call_node(self.ctx, self.pnode, "blockdev_grow", disk,
                            self.delta, True, self.excl_stor,
                            what="Dry-run grow request failed to node %s"
                            % self.pnode.name)
            yield call_node(self.ctx, self.pnode, "blockdev_grow", disk,
                            self.delta, False, self.excl_stor,
                            what="Grow request failed to node %s"
                            % self.pnode.name)
            self._record_size()
            running = yield self.is_running()
            if running:
                # The guest keeps running and sees the bigger disk.
                yield call_node(self.ctx, self.pnode, "instance_resize_disk",
                                self.instance.name, self.instance.hypervisor,
                                self.op["disk"], self.target,
                                what="Could not tell the hypervisor about the"
                                     " new size")

    @inlineCallbacks
    def _grow_mirror(self):
        """
        Ganeti's order for a mirror: a dry run of the data volumes on both
        nodes, the volumes grown on both, then the device on the primary
        (``drbdsetup resize``, which the peer follows), the new size
        recorded and the resync of the new part waited for.  A mirror
        that was not active is assembled for it and shut down after.
        """
        cfg, instance = self.cfg, self.instance
        self.feedback("Growing disk %s of instance '%s' by %s to %s"
                      % (self.op["disk"], instance.name,
                         _unit(self.delta), _unit(self.target)))
        if not self.delta:
            return
        nodes = [self.pnode] + self.snodes
        activate = not instance.disks_active
        if activate:
            yield self.block_devices()
        try:
            for dryrun in (True, False):
                for node in nodes:
                    yield call_node(
                        self.ctx, node, "blockdev_grow",
                        annotated_disk(cfg, self.disk, node), self.delta,
                        dryrun, False, True,
                        what="%s request failed" % ("Dry-run grow" if dryrun
                                                    else "Grow"))
            yield call_node(self.ctx, self.pnode, "blockdev_grow",
                            annotated_disk(cfg, self.disk, self.pnode),
                            self.delta, False, False, False,
                            what="Grow request failed")
            data = self.disk.children[0]
            self.ctx.config.update_object("disks", self.disk.uuid,
                                          size=self.target, children=[
                attrs.evolve(data, size=data.size + self.delta)]
                + list(self.disk.children[1:]))
            if self.op["wait_for_sync"]:
                in_sync = yield drbdmod.wait_for_sync(self, self.instance)
                if not in_sync:
                    self.log_warning("Disk syncing has not returned a good"
                                     " status; check the instance")
            elif activate:
                # As Ganeti: the resync of the new part needs the mirror up.
                activate = False
                self.log_warning("Not shutting down the disk even if the"
                                 " instance is not supposed to be running"
                                 " because no wait for sync mode was"
                                 " requested")
            running = yield self.is_running()
            if running:
                yield call_node(self.ctx, self.pnode, "instance_resize_disk",
                                instance.name, instance.hypervisor,
                                self.op["disk"], self.target,
                                what="Could not tell the hypervisor about the"
                                     " new size")
        finally:
            if activate:
                yield self.shutdown_disks(ignore_failures=True)

    def _record_size(self):
        self.ctx.config.update_object("disks", self.disk.uuid,
                                      size=self.target)


def _unit(mib):
    if mib < 1024:
        return "%dM" % mib
    return "%.1fG" % (mib / 1024.0)


class LUInstanceActivateDisks(InstanceLU):
    """``gnt-instance activate-disks``: make the disks usable on the node."""

    @inlineCallbacks
    def execute(self):
        instance = self.instance
        devices = yield self.block_devices(instance)
        self.update_instance(disks_active=True)
        returnValue([[self.pnode.name, "disk/%d" % index, device["path"]]
                     for index, device in enumerate(devices)])


class LUInstanceDeactivateDisks(InstanceLU):
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
        yield self.shutdown_disks()
        self.update_instance(disks_active=False)


#: What ``recreate-disks --disk N:...`` may change (Ganeti's list).
_RECREATE_CHANGES = frozenset(["size", "mode", "spindles"])


def _changed(disk, changes):
    """
    :return: C{disk} with a new size, mode or spindles; a mirror's data
        volume gets the new size too.
    """
    size = changes.get("size", disk.size)
    children = list(disk.children)
    if disk.dev_type == "drbd" and children:
        children[0] = attrs.evolve(children[0], size=size)
    return attrs.evolve(disk, size=size, children=children,
                        mode=changes.get("mode", disk.mode),
                        spindles=changes.get("spindles", disk.spindles))


class LUInstanceRecreateDisks(InstanceLU):
    """
    ``gnt-instance recreate-disks``: create lost disks again (empty),
    optionally on new nodes (``-n node[:secondary]``, or ``-I``); a
    mirror is then brought up as a new one.
    """

    HPATH = "instance-recreate-disks"

    def needed_locks(self):
        result = super().needed_locks()
        op = self.op
        extra = (locking.ALL_SET if op["iallocator"] else list(op["nodes"]))
        for index, (level, names, shared) in enumerate(result):
            if level == locking.LEVEL_NODE and extra:
                result[index] = (level, extra if extra is locking.ALL_SET
                                 else sorted(set(names) | set(extra)), shared)
        return result

    @inlineCallbacks
    def check_prereq(self):
        op, cfg, instance = self.op, self.cfg, self.instance
        disks = instance_disks(cfg, instance)
        wanted = {}
        for item in op["disks"]:
            if isinstance(item, int):
                index, changes = item, {}
            else:
                index, changes = item[0], item[1]
            if index in wanted:
                raise wrong_input("Some disks have been specified more than"
                                  " once: %s" % index)
            unsupported = sorted(set(changes) - _RECREATE_CHANGES)
            if unsupported:
                raise wrong_input("Parameters for disk %s try to change"
                                  " unmodifyable parameter(s): %s"
                                  % (index, ", ".join(unsupported)))
            if not 0 <= index < len(disks):
                raise wrong_input("Invalid disk index '%s'" % index)
            wanted[index] = changes
        moving = bool(op["nodes"] or op["iallocator"])
        if not (moving and self.pnode.offline):
            # As Ganeti: an offline primary being replaced cannot be asked.
            yield self.require_stopped("cannot recreate disks")
        if op["nodes"] and op["iallocator"]:
            raise wrong_input("Give either the iallocator or the new nodes,"
                              " not both")
        self.new_nodes = None
        if moving:
            if op["disks"] and len(wanted) != len(disks):
                raise wrong_input("Can't recreate disks partially and change"
                                  " the nodes at the same time")
            self.new_nodes = yield self._new_nodes()
        if not op["disks"]:
            wanted = {index: {} for index in range(len(disks))}
        self.wanted = [(disks[i], wanted[i]) for i in sorted(wanted)]

    @inlineCallbacks
    def _new_nodes(self):
        op, cfg, instance = self.op, self.cfg, self.instance
        count = len(instance_nodes(cfg, instance))
        if op["iallocator"]:
            from ganeti import iallocator
            from ganeti.cmdlib import allocators
            beparams = fill_beparams(cfg.cluster, instance.beparams)
            request = iallocator.allocate_request(
                instance.name, instance.disk_template,
                [{"size": d.size, "mode": d.mode, "spindles": d.spindles}
                 for d in instance_disks(cfg, instance)],
                [iallocator.nic_dict(cfg.cluster, n) for n in instance.nics],
                beparams["vcpus"], beparams["maxmem"], instance.os,
                instance.hypervisor, tags=instance.tags,
                spindle_use=beparams["spindle_use"])
            request["type"] = iallocator.MODE_ALLOC
            names = yield allocators.run(self.ctx, op["iallocator"], request)
            self.log_info("Selected nodes for instance %s via iallocator %s:"
                          " %s" % (instance.name, op["iallocator"],
                                   ", ".join(names)))
        else:
            names = list(op["nodes"])
        if len(names) != count:
            raise wrong_input("Instance %s currently has %d nodes, but %d"
                              " replacement nodes were specified"
                              % (instance.name, count, len(names)))
        nodes = [get_node(cfg, name) for name in names]
        if len({n.uuid for n in nodes}) != len(nodes):
            raise wrong_input("The new nodes must be distinct")
        for node in nodes:
            check_usable_node(node)
        return nodes

    @inlineCallbacks
    def execute(self):
        cfg, instance = self.cfg, self.instance
        resized = {disk.uuid: _changed(disk, changes)
                   for disk, changes in self.wanted}
        if self.new_nodes is not None:
            self.log_warning("Changing the instance's nodes, you will have to"
                             " remove any disks left on the older nodes"
                             " manually")
            allocation = drbdmod.Allocation(cfg)
            resized = {uuid: self._moved(disk, allocation)
                       for uuid, disk in resized.items()}
            primary = self.new_nodes[0].uuid
        else:
            primary = instance.primary_node

        def change(c):
            instances = dict(c.instances)
            instances[instance.uuid] = attrs.evolve(
                c.instances[instance.uuid], primary_node=primary)
            return attrs.evolve(c, disks=dict(c.disks, **resized),
                                instances=instances)
        # What is left of the old devices lets go of its volumes first.
        yield self.shutdown_disks(ignore_failures=True)
        # Recorded first, as Ganeti: the disks' new places are where they
        # are created.
        self.ctx.config.update(change)
        cfg, instance = self.cfg, self.instance
        for disk in (resized[d.uuid] for d, _ in self.wanted):
            for uuid in disk.nodes or [instance.primary_node]:
                node = cfg.nodes[uuid]
                # Recreating is for lost disks: an existing one makes the
                # node refuse, and its data is never deleted here.
                yield call_node(self.ctx, node, "blockdev_create",
                                annotated_disk(cfg, disk, node),
                                instance.name, exclusive_storage(cfg, node),
                                what="Could not create disk %s"
                                % disk.iv_name)
        mirrors = [d for d in resized.values() if d.dev_type == "drbd"]
        if mirrors:
            yield drbdmod.first_sync(self, instance, mirrors)
            yield self.shutdown_disks(ignore_failures=True)

    def _moved(self, disk, allocation):
        """The disk placed on the new nodes (new minors for a mirror)."""
        nodes = [n.uuid for n in self.new_nodes]
        if disk.dev_type != "drbd":
            return attrs.evolve(disk, nodes=nodes[:1])
        _, _, port, _, _, secret = disk.logical_id
        return attrs.evolve(
            disk, nodes=nodes, logical_id=[
                nodes[0], nodes[1], port, allocation.minor(nodes[0]),
                allocation.minor(nodes[1]), secret],
            children=[attrs.evolve(c, nodes=nodes) for c in disk.children])
