# -*- test-case-name: tests.test_replace_disks -*-
"""
``gnt-instance replace-disks``: new volumes under a ``drbd`` mirror, on
one of its nodes (``-p``, ``-s``, ``-a``) or on a new secondary node
(``-n``, ``-I``), with the data copied from the side that stays.

The steps, their order and their log lines are Ganeti's (TLReplaceDisks):
the side that stays must hold good data before anything changes, the old
volumes are removed only once the new ones are in sync (unless
``--early-release``), and the configuration changes in one update at the
moment the primary is switched to the new secondary.
"""

import time

import attrs
from twisted.internet.defer import inlineCallbacks

from ganeti import errors, hooks, iallocator, locking
from ganeti.cmdlib import allocators
from ganeti.cmdlib.common import call_node, get_node
from ganeti.cmdlib.instance import drbd as drbdmod
from ganeti.cmdlib.instance.base import (
    InstanceLU, check_usable_node, new_uuid, wrong_input)
from ganeti.cmdlib.ipolicy import check_target_node_ipolicy
from ganeti.disk_templates import DT_DRBD, DT_PLAIN
from ganeti.objects import Disk
from ganeti.opcodes import (
    REPLACE_DISK_AUTO, REPLACE_DISK_CHG, REPLACE_DISK_PRI)
from ganeti.params import annotated_disk, instance_disks


def _check_arguments(mode, remote_node, allocator):
    """A new node or an allocator, only and always when changing nodes."""
    if mode == REPLACE_DISK_CHG:
        if remote_node is None and allocator is None:
            raise wrong_input("When changing the secondary either an"
                              " iallocator script must be used or the new"
                              " node given")
        if remote_node is not None and allocator is not None:
            raise wrong_input("Give either the iallocator or the new"
                              " secondary, not both")
    elif remote_node is not None or allocator is not None:
        raise wrong_input("The iallocator and new node options can only be"
                          " used when changing the secondary node")


class LUInstanceReplaceDisks(InstanceLU):
    """``gnt-instance replace-disks``."""

    HPATH = "mirrors-replace"
    HTYPE = hooks.HTYPE_INSTANCE

    new_node = None
    #: Remove the old volumes before the resync (``--early-release``).
    early_release = False

    def needed_locks(self):
        result = super().needed_locks()
        op = self.op
        extra = (locking.ALL_SET if op["iallocator"]
                 else [op["remote_node"]] if op["remote_node"] else [])
        for index, (level, names, shared) in enumerate(result):
            if level == locking.LEVEL_NODE and extra:
                result[index] = (level, extra if extra is locking.ALL_SET
                                 else sorted(set(names) | set(extra)), shared)
        return result

    def hooks_extra_env(self):
        snodes = self.snodes
        return {"MODE": self.op["mode"],
                "NEW_SECONDARY": (self.new_node.name if self.new_node
                                  else None),
                "OLD_SECONDARY": snodes[0].name if snodes else None}

    def build_hooks_nodes(self):
        nodes, _ = super().build_hooks_nodes()
        if self.new_node is not None:
            nodes = nodes + [self.new_node.uuid]
        return nodes, nodes

    # --- prerequisites ---------------------------------------------------------

    @inlineCallbacks
    def check_prereq(self):
        op, instance = self.op, self.instance
        mode = op["mode"]
        self.early_release = op["early_release"]
        _check_arguments(mode, op["remote_node"], op["iallocator"])
        disks = instance_disks(self.cfg, instance)
        if not disks or any(d.dev_type != DT_DRBD for d in disks):
            raise wrong_input("Can only run replace disks for DRBD8-based"
                              " instances")
        snodes = self.snodes
        if len(snodes) != 1:
            raise errors.OpPrereqError(
                "The instance has a strange layout, expected one secondary"
                " but found %d" % len(snodes), "fault")
        secondary = snodes[0]
        if op["disks"] and mode in (REPLACE_DISK_AUTO, REPLACE_DISK_CHG):
            raise wrong_input("Cannot specify disks to be replaced")
        for index in op["disks"]:
            if index >= len(disks):
                raise wrong_input("Invalid disk index '%s'" % index)
        self.disks = list(op["disks"]) or list(range(len(disks)))
        if mode == REPLACE_DISK_CHG:
            yield self._check_new_secondary(secondary)
            self.target, self.other = secondary, self.pnode
            check = [self.new_node, self.pnode]
        elif mode == REPLACE_DISK_AUTO:
            yield self._check_auto(secondary)
            check = [n for n in (self.target, self.other) if n is not None]
        elif mode == REPLACE_DISK_PRI:
            self.target, self.other = self.pnode, secondary
            check = [self.target, self.other]
        else:
            self.target, self.other = secondary, self.pnode
            check = [self.target, self.other]
        for node in check:
            if node.offline:
                raise errors.OpPrereqError("Can't use offline node %s"
                                           % node.name, "wrong_state")

    @inlineCallbacks
    def _check_new_secondary(self, secondary):
        op, cfg = self.op, self.cfg
        if op["iallocator"]:
            request = iallocator.relocate_request(cfg, self.instance)
            request["relocate_from"] = [secondary.name]
            [name] = yield allocators.run(self.ctx, op["iallocator"], request)
            self.log_info("Selected new secondary for instance '%s': %s"
                          % (self.instance.name, name))
            node = get_node(cfg, name)
        else:
            node = get_node(cfg, op["remote_node"])
        if node.uuid == self.instance.primary_node:
            raise wrong_input("The specified node is the primary node of the"
                              " instance")
        if node.uuid == secondary.uuid:
            raise wrong_input("The specified node is already the secondary"
                              " node of the instance")
        check_usable_node(node)
        check_target_node_ipolicy(self, self.instance, node,
                                  ignore=op["ignore_ipolicy"])
        self.new_node = node
        if secondary.offline and not self.early_release:
            # Waiting to remove volumes on a node that is gone makes no
            # sense.
            self.early_release = True
            self.log_info("Old secondary %s is offline, automatically"
                          " enabling early-release mode" % secondary.name)

    @inlineCallbacks
    def _check_auto(self, secondary):
        """Find the side whose disks are faulty; both faulty is refused."""
        if not self.instance.disks_active:
            raise errors.OpPrereqError("Please run activate-disks on instance"
                                       " %s first" % self.instance.name,
                                       "wrong_state")
        faulty_primary = yield self._faulty(self.pnode)
        faulty_secondary = yield self._faulty(secondary)
        if faulty_primary and faulty_secondary:
            raise errors.OpPrereqError(
                "Instance %s has faulty disks on more than one node and can"
                " not be repaired automatically" % self.instance.name,
                "wrong_state")
        if faulty_primary:
            self.disks, self.target, self.other = (faulty_primary, self.pnode,
                                                   secondary)
        elif faulty_secondary:
            self.disks, self.target, self.other = (faulty_secondary, secondary,
                                                   self.pnode)
        else:
            self.disks, self.target, self.other = [], None, None

    @inlineCallbacks
    def _faulty(self, node):
        statuses = yield self._statuses(node, prereq=True)
        return [index for index, status in enumerate(statuses)
                if status["ldisk_status"] == "faulty"]

    def _statuses(self, node, prereq=False):
        cfg = self.cfg
        return call_node(self.ctx, node, "drbd_status",
                         [annotated_disk(cfg, d, node)
                          for d in instance_disks(cfg, self.instance)],
                         what="Failed to get disk status from node %s"
                         % node.name, prereq=prereq)

    # --- execution --------------------------------------------------------------

    @inlineCallbacks
    def execute(self):
        instance = self.instance
        if not self.disks:
            self.feedback("No disks need replacement for instance '%s'"
                          % instance.name)
            return
        self.feedback("Replacing disk(s) %s for instance '%s'"
                      % (", ".join(map(str, self.disks)), instance.name))
        self.feedback("Current primary node: %s" % self.pnode.name)
        self.feedback("Current secondary node: %s"
                      % ", ".join(n.name for n in self.snodes))
        activate = not instance.disks_active
        if activate:
            yield self.block_devices()
        try:
            if self.new_node is not None:
                yield self._new_secondary()
            else:
                yield self._same_nodes()
        finally:
            if activate:
                yield self.shutdown_disks(ignore_failures=True)

    def _step(self, number, total, text):
        self.feedback("STEP %d/%d %s" % (number, total, text))

    @inlineCallbacks
    def _check_devices(self, nodes):
        """Every disk to replace exists on C{nodes} (as a DRBD device)."""
        for node in nodes:
            statuses = yield self._statuses(node)
            for index in self.disks:
                self.log_info("Checking disk/%d on %s" % (index, node.name))
                if statuses[index]["cstate"] == "Unconfigured":
                    raise errors.OpExecError("Can't find disk/%d on node %s"
                                             % (index, node.name))

    @inlineCallbacks
    def _check_consistent(self, node):
        """The side that stays must hold good data."""
        self.log_info("Checking disk/%s consistency on node %s"
                      % (",".join(map(str, self.disks)), node.name))
        statuses = yield self._statuses(node)
        for index in self.disks:
            if statuses[index]["ldisk_status"] != "ok":
                raise errors.OpExecError(
                    "Node %s has degraded storage, unsafe to replace disks"
                    " for instance %s" % (node.name, self.instance.name))

    def _disk(self, index):
        return instance_disks(self.cfg, self.instance)[index]

    @inlineCallbacks
    def _remove_volumes(self, node, volumes):
        """Remove old volumes (C{[(iv_name, plain Disk)]}); failures warn."""
        for iv_name, volume in volumes:
            self.log_info("Remove logical volumes for %s" % iv_name)
            try:
                yield call_node(self.ctx, node, "blockdev_remove",
                                annotated_disk(self.cfg, volume, node),
                                what="Can't remove old LV")
            except errors.GenericError as e:
                self.log_warning("%s; manually remove unused LVs" % e)

    @inlineCallbacks
    def _same_nodes(self):
        """``-p``/``-s``/``-a``: new volumes on one side of the mirrors."""
        target, other, cfg = self.target, self.other, self.cfg
        total = 6
        self._step(1, total, "Check device existence")
        yield self._check_devices([target, other])
        self._step(2, total, "Check peer consistency")
        yield self._check_consistent(other)
        self._step(3, total, "Allocate new storage")
        created = {}
        for index in self.disks:
            disk = self._disk(index)
            self.log_info("Adding storage on %s for disk/%d"
                          % (target.name, index))
            created[index] = [
                attrs.evolve(child, uuid=new_uuid(), logical_id=[
                    child.logical_id[0], "%s.disk%d_%s" % (new_uuid(), index,
                                                           role)])
                for child, role in zip(disk.children, ("data", "meta"))]
            for volume in created[index]:
                yield call_node(self.ctx, target, "blockdev_create",
                                annotated_disk(cfg, volume, target),
                                self.instance.name, False,
                                what="Can't create block device")
        self._step(4, total, "Changing drbd configuration")
        suffix = "_replaced-%d" % int(time.time())
        old = []
        for index in self.disks:
            disk = self._disk(index)
            self.log_info("Detaching %s drbd from local storage"
                          % disk.iv_name)
            self.log_info("Renaming the old LVs on the target node")
            self.log_info("Renaming the new LVs on the target node")
            self.log_info("Adding new mirror component on %s" % target.name)
            aside = yield call_node(
                self.ctx, target, "drbd_replace_children",
                annotated_disk(cfg, disk, target),
                [annotated_disk(cfg, v, target) for v in created[index]],
                suffix, what="Can't add local storage to drbd")
            old += [(disk.iv_name, Disk(uuid=new_uuid(), dev_type=DT_PLAIN,
                                        size=child.size, logical_id=lid))
                    for child, lid in zip(disk.children, aside)]
        yield self._sync_and_release(total, target, old)

    @inlineCallbacks
    def _sync_and_release(self, total, node, old):
        """Steps 5 and 6: wait for the resync, remove the old volumes."""
        if self.early_release:
            self._step(5, total, "Removing old storage")
            yield self._remove_volumes(node, old)
        self._step(5 if not self.early_release else 6, total, "Sync devices")
        in_sync = yield drbdmod.wait_for_sync(self, self.instance)
        if not in_sync:
            raise errors.OpExecError("DRBD device disk/%s is degraded!"
                                     % ",".join(map(str, self.disks)))
        if not self.early_release:
            self._step(6, total, "Removing old storage")
            yield self._remove_volumes(node, old)

    @inlineCallbacks
    def _new_secondary(self):
        """``-n``/``-I``: the mirrors' second side moves to a new node."""
        cfg, instance = self.cfg, self.instance
        pnode, old_node, new_node = self.pnode, self.target, self.new_node
        total = 6
        self._step(1, total, "Check device existence")
        yield self._check_devices([pnode])
        self._step(2, total, "Check peer consistency")
        yield self._check_consistent(pnode)
        self._step(3, total, "Allocate new storage")
        allocation = drbdmod.Allocation(cfg)
        new_disks = []
        for index in self.disks:
            disk = self._disk(index)
            _, _, port, _, _, secret = disk.logical_id
            nodes = [pnode.uuid, new_node.uuid]
            new_disks.append(attrs.evolve(
                disk, nodes=nodes,
                logical_id=[pnode.uuid, new_node.uuid, port,
                            drbdmod.primary_minor(disk, pnode.uuid),
                            allocation.minor(new_node.uuid), secret],
                children=[attrs.evolve(c, nodes=nodes)
                          for c in disk.children]))
        # The new side is described against a configuration that already
        # holds it; the config itself changes only at step 4's switch.
        planned = attrs.evolve(cfg, disks=dict(
            cfg.disks, **{d.uuid: d for d in new_disks}))
        for index, disk in zip(self.disks, new_disks):
            self.log_info("Adding new local storage on %s for disk/%d"
                          % (new_node.name, index))
            yield call_node(self.ctx, new_node, "blockdev_create",
                            annotated_disk(planned, disk, new_node),
                            instance.name, False,
                            what="Can't create block device")
        self._step(4, total, "Changing drbd configuration")
        for index, disk in zip(self.disks, new_disks):
            self.log_info("activating a new drbd on %s for disk/%d"
                          % (new_node.name, index))
        yield call_node(self.ctx, new_node, "blockdev_assemble_all",
                        [annotated_disk(planned, d, new_node)
                         for d in new_disks], instance.name, False,
                        what="Can't activate the new drbd devices on %s"
                        % new_node.name)
        for index in self.disks:
            self.log_info("Shutting down drbd for disk/%d on old node" % index)
        try:
            yield call_node(self.ctx, old_node, "blockdev_shutdown_all",
                            [annotated_disk(cfg, self._disk(i), old_node)
                             for i in self.disks],
                            what="Failed to shutdown drbd on old node")
        except errors.GenericError as e:
            self.log_warning("%s; please cleanup this device manually as soon"
                             " as possible" % e)
        self.log_info("Detaching primary drbds from the network"
                      " (=> standalone)")
        yield call_node(self.ctx, pnode, "drbd_disconnect_net",
                        [annotated_disk(cfg, self._disk(i), pnode)
                         for i in self.disks],
                        what="Can't detach the disks from the network on old"
                        " node")
        old = [(self._disk(i).iv_name, self._disk(i)) for i in self.disks]
        self.log_info("Updating instance configuration")
        self.ctx.config.update(lambda c: attrs.evolve(
            c, disks=dict(c.disks, **{d.uuid: d for d in new_disks})))
        self.log_info("Attaching primary drbds to new secondary"
                      " (standalone => connected)")
        yield call_node(self.ctx, pnode, "drbd_attach_net",
                        [annotated_disk(self.cfg, d, pnode)
                         for d in new_disks], False,
                        what="Can't attach drbd disks")
        yield self._sync_and_release(total, old_node,
                                     [(iv, d) for iv, d in old
                                      if not old_node.offline])
