# -*- test-case-name: tests.test_cmdlib_cluster_ops -*-
"""
Cluster-wide disk checks: ``gnt-cluster verify-disks`` and
``gnt-cluster repair-disk-sizes``.

There is no DRBD here, so Ganeti's "degraded" state does not apply: what
verify-disks can find is a disk whose data is gone, and an instance that
should run but whose disks are not recorded as active.
"""

from twisted.internet.defer import inlineCallbacks

from ganeti import constants, errors
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import get_instance, node_address
from ganeti.params import exclusive_storage, instance_disks
from ganeti import locking


def disk_volume(disk):
    """
    :return: how verify-disks names a disk's data: ``vg/lv`` for an LV (the
        tool prints it below ``/dev/``, as Ganeti does), the path for a
        file or block device.
    """
    path = disk.logical_id[-1] if disk.logical_id else ""
    if isinstance(path, str) and path.startswith("/"):
        return path
    return "/".join(str(part) for part in disk.logical_id)


def _groups(cfg, group_name):
    """
    :return: the node groups to check, by name: one, or all.
    :raise OpPrereqError: (``noent``) for an unknown group.
    """
    if group_name is None:
        return sorted(g.name for g in cfg.nodegroups.values())
    if cfg.group_by_name(group_name) is None:
        raise errors.OpPrereqError("Node group '%s' not found" % group_name,
                                   "noent")
    return [group_name]


class LUClusterVerifyDisks(LogicalUnit):
    """
    Hands back one OP_GROUP_VERIFY_DISKS job per node group (Ganeti's
    ``JobIdListOnly`` result), so groups are checked in parallel and each
    job only waits for its own group.
    """

    BGL_SHARED = None

    def check_prereq(self):
        self._group_names = _groups(self.cfg, self.op.get("group_name"))

    def execute(self):
        return {"jobs": [[{"OP_ID": "OP_GROUP_VERIFY_DISKS", "group_name": name,
                           "is_strict": self.op["is_strict"],
                           "priority": self.op["priority"]}]
                         for name in self._group_names]}


class LUGroupVerifyDisks(LogicalUnit):
    """
    Ask the nodes of one group whether the disks of its instances exist.

    Checked are the instances whose disks should be in use: those with
    active disks or marked up.  The result has Ganeti's shape
    ``(node errors, instances needing activation, missing disks)``:

     - ``{node: error}`` for nodes that could not answer;
     - the instances marked up whose disks all exist but are not active
       (Ganeti's "offline" disks): ``gnt-cluster verify-disks`` and the
       watcher activate them;
     - ``{instance: [[node, volume], ...]}`` for disks whose data is gone,
       which need ``gnt-instance recreate-disks`` or a restore.

    ``is_strict`` only decides lock strictness in Ganeti; the check here
    reads the configuration once and locks nothing but the BGL (shared).
    """

    def check_prereq(self):
        self._group = self.cfg.group_by_name(self.op["group_name"])
        if self._group is None:
            raise errors.OpPrereqError("Node group '%s' not found"
                                       % self.op["group_name"], "noent")

    def _instances_by_node(self):
        """
        :return: ``{node uuid: [instance, ...]}`` of the group's instances
            whose disks should be in use, on online nodes.
        """
        cfg = self.cfg
        by_node = {}
        for inst in sorted(cfg.instances.values(), key=lambda i: i.name):
            node = cfg.nodes.get(inst.primary_node)
            if (node is None or node.group != self._group.uuid or node.offline
                    or not inst.disks):
                continue
            if inst.disks_active or inst.admin_state == constants.ADMINST_UP:
                by_node.setdefault(node.uuid, []).append(inst)
        return by_node

    @inlineCallbacks
    def _check_node(self, node, instances, node_errors, inactive, missing):
        """Ask one node about its instances' disks; record what it says."""
        disks = {inst.name: instance_disks(self.cfg, inst) for inst in instances}
        results = yield self.ctx.rpc.call(
            [node_address(node)], "blockdev_exists_all",
            [d.to_dict() for inst in instances for d in disks[inst.name]])
        result = results[node.name]
        if not result.ok:
            self.log_warning("Error checking the disks on node %s: %s"
                             % (node.name, result.fail_msg))
            node_errors[node.name] = result.fail_msg
            return
        found = iter(result.payload)
        for inst in instances:
            gone = [[node.name, disk_volume(d)] for d in disks[inst.name]
                    if not next(found)]
            if gone:
                missing[inst.name] = gone
            elif not inst.disks_active:
                inactive.append(inst.name)

    @inlineCallbacks
    def execute(self):
        node_errors, inactive, missing = {}, [], {}
        nodes = self.cfg.nodes
        for uuid, instances in sorted(self._instances_by_node().items(),
                                      key=lambda item: nodes[item[0]].name):
            yield self._check_node(nodes[uuid], instances, node_errors,
                                   inactive, missing)
        return [node_errors, sorted(inactive), missing]


class LUClusterRepairDiskSizes(LogicalUnit):
    """
    Record the real sizes of disks: each primary node measures the
    instance's disks (``blockdev_get_size``) and every size that differs
    from the configuration is corrected, all in one configuration update;
    on nodes with exclusive storage the disks' spindles too (the PVs each
    uses).  A node that cannot answer is skipped with a warning, as in
    Ganeti.
    """

    def needed_locks(self):
        names = self.op["instances"] or locking.ALL_SET
        return super().needed_locks() + [(locking.LEVEL_INSTANCE, names, False)]

    def check_prereq(self):
        names = self.op["instances"]
        if names:
            self._instances = [get_instance(self.cfg, name) for name in names]
        else:
            self._instances = sorted(self.cfg.instances.values(),
                                     key=lambda i: i.name)

    @inlineCallbacks
    def _measure(self, inst):
        """
        :return: (Deferred) ``[(disk, actual size in MiB)]`` for the disks
            of C{inst} its primary node could measure.
        """
        node = self.cfg.nodes[inst.primary_node]
        if node.offline:
            self.log_warning("Node %s is offline, skipping instance %s"
                             % (node.name, inst.name))
            return []
        sizes = []
        for index, disk in enumerate(instance_disks(self.cfg, inst)):
            results = yield self.ctx.rpc.call([node_address(node)],
                                              "blockdev_get_size",
                                              disk.to_dict())
            result = results[node.name]
            if not result.ok:
                self.log_warning("Disk %d of instance %s did not return size"
                                 " information, ignoring: %s"
                                 % (index, inst.name, result.fail_msg))
            elif not isinstance(result.payload, int):
                self.log_warning("Disk %d of instance %s did not return valid"
                                 " size information, ignoring"
                                 % (index, inst.name))
            else:
                sizes.append((index, disk, result.payload,
                              (yield self._spindles(node, inst, index, disk))))
        return sizes

    @inlineCallbacks
    def _spindles(self, node, inst, index, disk):
        """
        :return: (Deferred) the disk's spindles as its node counts them, on
            nodes with exclusive storage (where they matter); else None.
        """
        if not exclusive_storage(self.cfg, node):
            return None
        results = yield self.ctx.rpc.call([node_address(node)],
                                          "blockdev_get_spindles",
                                          disk.to_dict())
        result = results[node.name]
        if not result.ok or not isinstance(result.payload, int):
            self.log_warning("Disk %d of instance %s did not return valid"
                             " spindles information, ignoring"
                             % (index, inst.name))
            return None
        return result.payload

    @inlineCallbacks
    def execute(self):
        changed, updates = [], {}
        for inst in self._instances:
            for index, disk, size, spindles in (yield self._measure(inst)):
                if size != disk.size:
                    self.log_info("Disk %d of instance %s has mismatched size,"
                                  " correcting: recorded %d, actual %d"
                                  % (index, inst.name, disk.size, size))
                    updates.setdefault(disk.uuid, {})["size"] = size
                    changed.append([inst.name, index, "size", size])
                if spindles is not None and spindles != disk.spindles:
                    self.log_info("Disk %d of instance %s has mismatched"
                                  " spindles, correcting: recorded %s, actual"
                                  " %s" % (index, inst.name, disk.spindles,
                                           spindles))
                    updates.setdefault(disk.uuid, {})["spindles"] = spindles
                    changed.append([inst.name, index, "spindles", spindles])
        if updates:
            self.ctx.config.update_objects({"disks": updates})
        return changed
