# -*- test-case-name: tests.test_cmdlib_cluster_ops -*-
"""
Cluster-wide disk checks: ``gnt-cluster verify-disks`` and
``gnt-cluster repair-disk-sizes``.

What verify-disks can find is a disk whose data is gone, an instance that
should run but whose disks are not recorded as active, and a mirror that
a node does not run (its disks need activating again).
"""

from twisted.internet.defer import inlineCallbacks

from ganeti import constants, errors
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import get_instance, node_address
from ganeti.params import annotated_disk, exclusive_storage, instance_disks
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
    Ask the nodes of one group whether the disks of its instances exist
    and whether their mirrors run.

    Checked are the instances whose disks should be in use: those with
    active disks or marked up.  The result has Ganeti's shape
    ``(node errors, instances needing activation, missing disks)``:

     - ``{node: error}`` for nodes that could not answer;
     - the instances marked up whose disks all exist but are not active
       (Ganeti's "offline" disks), and those with active ``drbd`` disks
       that a node has not set up, left StandAlone or without its local
       disk (a node that rebooted, a cut link): ``gnt-cluster
       verify-disks`` and the watcher activate them;
     - ``{instance: [[node, volume], ...]}`` for disks whose data is gone,
       on any of the instance's nodes (a mirror's data and metadata
       volumes on both), which need ``gnt-instance recreate-disks``,
       ``replace-disks`` or a restore.

    ``is_strict`` only decides lock strictness in Ganeti; the check here
    reads the configuration once and locks nothing but the BGL (shared).
    """

    def check_prereq(self):
        self._group = self.cfg.group_by_name(self.op["group_name"])
        if self._group is None:
            raise errors.OpPrereqError("Node group '%s' not found"
                                       % self.op["group_name"], "noent")

    def _instances(self):
        """
        :return: the group's instances whose disks should be in use,
            by name.
        """
        cfg = self.cfg
        found = []
        for inst in sorted(cfg.instances.values(), key=lambda i: i.name):
            node = cfg.nodes.get(inst.primary_node)
            if (node is None or node.group != self._group.uuid
                    or not inst.disks):
                continue
            if inst.disks_active or inst.admin_state == constants.ADMINST_UP:
                found.append(inst)
        return found

    def _volumes(self, inst):
        """
        :return: C{{node uuid: [(name, disk dict)]}}: where the instance's
            data must be, a ``drbd`` disk's by its volumes on both nodes.
        """
        cfg = self.cfg
        wanted = {}
        for disk in instance_disks(cfg, inst):
            if disk.dev_type == "drbd":
                for node_uuid in disk.nodes:
                    wanted.setdefault(node_uuid, []).extend(
                        (disk_volume(child), child.to_dict())
                        for child in disk.children)
            else:
                wanted.setdefault(inst.primary_node, []).append(
                    (disk_volume(disk), disk.to_dict()))
        return wanted

    @inlineCallbacks
    def _ask(self, node, method, entries, node_errors):
        """
        Call C{method} on C{node} with the disks of C{entries}; a node
        that fails is recorded in C{node_errors}.

        :return: (Deferred) the answers, or None if the node failed.
        """
        results = yield self.ctx.rpc.call(
            [node_address(node)], method, [disk for _, _, disk in entries])
        result = results[node.name]
        if not result.ok:
            self.log_warning("Error checking the disks on node %s: %s"
                             % (node.name, result.fail_msg))
            node_errors[node.name] = result.fail_msg
            return None
        return result.payload

    @inlineCallbacks
    def _check_volumes(self, instances, node_errors, inactive, missing):
        """Which instances' data is gone, and which are up but inactive."""
        cfg = self.cfg
        by_node = {}
        for inst in instances:
            for node_uuid, volumes in self._volumes(inst).items():
                by_node.setdefault(node_uuid, []).extend(
                    (inst, name, disk) for name, disk in volumes)
        for node_uuid, entries in sorted(
                by_node.items(), key=lambda item: cfg.nodes[item[0]].name):
            node = cfg.nodes[node_uuid]
            if node.offline:
                continue
            found = yield self._ask(node, "blockdev_exists_all", entries,
                                    node_errors)
            for (inst, name, _), exists in zip(entries, found or []):
                if not exists:
                    missing.setdefault(inst.name, []).append([node.name, name])
        for inst in instances:
            if (inst.name not in missing and not inst.disks_active
                    and cfg.nodes[inst.primary_node].name not in node_errors
                    and not cfg.nodes[inst.primary_node].offline):
                inactive.add(inst.name)

    @inlineCallbacks
    def _check_mirrors(self, instances, node_errors, inactive):
        """
        Instances with active ``drbd`` disks that a node has not set up,
        or runs StandAlone or diskless, need their disks activated again
        (Ganeti's C{drbd_needs_activation}).
        """
        cfg = self.cfg
        by_node = {}
        for inst in instances:
            if not inst.disks_active:
                continue
            for disk in instance_disks(cfg, inst):
                if disk.dev_type != "drbd":
                    continue
                for node_uuid in disk.nodes:
                    node = cfg.nodes.get(node_uuid)
                    if node is not None and not node.offline:
                        by_node.setdefault(node_uuid, []).append(
                            (inst, disk, annotated_disk(cfg, disk, node)))
        for node_uuid, entries in sorted(
                by_node.items(), key=lambda item: cfg.nodes[item[0]].name):
            node = cfg.nodes[node_uuid]
            if node.name in node_errors:
                continue
            states = yield self._ask(node, "drbd_status", entries,
                                     node_errors)
            for (inst, _, _), state in zip(entries, states or []):
                if (state["cstate"] in ("Unconfigured", "StandAlone")
                        or state["disk"] == "Diskless"):
                    inactive.add(inst.name)

    @inlineCallbacks
    def execute(self):
        node_errors, inactive, missing = {}, set(), {}
        instances = self._instances()
        yield self._check_volumes(instances, node_errors, inactive, missing)
        yield self._check_mirrors(instances, node_errors, inactive)
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
