# -*- test-case-name: tests.test_backup -*-
"""
Backup logical units (``gnt-backup``): export an instance, remove an
export, prepare an export.

An export dumps every disk with the OS definition's ``export`` script on
the primary node, into a hidden staging directory of the export
directory.  The disks of an instance that is up are exported, as in
Ganeti, from snapshots taken while it is stopped (LVM for ``plain`` disks,
the provider's ``snapshot`` for ``ext`` disks),
so it runs again during the copy; an instance with other disks stays
down for the whole export, and only with ``--long-sleep``.  When the
target node is another node the dumps travel there through a one-shot
TLS transfer (L{ganeti.node.transfer}), never through node RPC.  The target then writes ``config.ini``
(L{ganeti.exportinfo}) and swaps the staging directory in as
``<export dir>/<instance>``, so a half-made export never replaces a good
one.  Only local exports exist here: remote (inter-cluster) exports are
refused.
"""

import os

from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import constants, errors, exportinfo, opcodes
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import call_node, get_node
from ganeti.params import annotated_disk, instance_disks
from ganeti.cmdlib.exports import exports_by_node, staging_name, transfer
from ganeti.cmdlib.instance.base import InstanceLU
from ganeti.cmdlib.instance.operations import LUInstanceRemove
from ganeti import locking


def refuse_remote(mode):
    """:raise OpPrereqError: for Ganeti's inter-cluster (remote) mode."""
    if mode != "local":
        raise errors.OpPrereqError("Export mode '%s' is not supported, only"
                                   " local exports are" % (mode,),
                                   "wrong_input")


class LUBackupPrepare(InstanceLU):
    """
    ``prepare-export``: nothing to prepare for a local export (Ganeti
    answers None); a remote one would hand out X509 keys, not supported.
    """

    def check_prereq(self):
        self.instance
        refuse_remote(self.op["mode"])

    def execute(self):
        return None


class LUBackupExport(InstanceLU):
    """``gnt-backup export``; result ``[finalize_ok, [disk_ok, ...]]``."""

    HPATH = "instance-export"

    def hooks_extra_env(self):
        op = self.op
        return {"EXPORT_MODE": op["mode"], "EXPORT_NODE": op["target_node"],
                "EXPORT_DO_SHUTDOWN": op["shutdown"],
                "SHUTDOWN_TIMEOUT": op["shutdown_timeout"],
                "REMOVE_INSTANCE": bool(op["remove_instance"])}

    def build_hooks_nodes(self):
        # The master, the primary and, for a local export, its target.
        cfg = self.cfg
        nodes = [cfg.cluster.master_node, self.instance.primary_node,
                 self.target.uuid]
        return nodes, nodes

    def needed_locks(self):
        result = LogicalUnit.needed_locks(self)
        result.append((locking.LEVEL_INSTANCE, [self.op["instance_name"]], False))
        names = set()
        instance = self.cfg.instance_by_name(self.op["instance_name"])
        if instance is not None:
            names.add(self.cfg.nodes[instance.primary_node].name)
        if isinstance(self.op["target_node"], str):
            names.add(self.op["target_node"])
        result.append((locking.LEVEL_NODE, sorted(names), False))
        return result

    def check_prereq(self):
        op = self.op
        instance = self.instance
        refuse_remote(op["mode"])
        if op["compress"] != "none":
            raise errors.OpPrereqError("Compression '%s' of exports is not"
                                       " supported" % (op["compress"],),
                                       "wrong_input")
        self.target = get_node(self.cfg, op["target_node"])
        if self.target.offline:
            raise errors.OpPrereqError("Can't use offline node %s"
                                       % self.target.name, "wrong_state")
        if (op["remove_instance"] and not op["shutdown"] and
                instance.admin_state == constants.ADMINST_UP):
            raise errors.OpPrereqError("Can not remove instance without"
                                       " shutting it down before",
                                       "wrong_input")
        if instance.disks and not instance.os:
            raise errors.OpPrereqError("Instance %s has no OS to export its"
                                       " disks with" % instance.name,
                                       "wrong_input")
        if op["long_sleep"] and not op["shutdown"]:
            raise errors.OpPrereqError("The long sleep option only makes"
                                       " sense when the instance can be shut"
                                       " down.", "wrong_input")
        if (self._try_snapshot() and not self._can_snapshot()
                and self._no_snapshot_refusal()):
            # Ganeti finds this out after stopping the instance; nothing
            # has changed yet here.
            raise errors.OpPrereqError(self._no_snapshot_refusal(),
                                       "wrong_input")

    def _try_snapshot(self):
        """Whether snapshots are wanted: the instance is up and stays."""
        return (not self.op["remove_instance"] and
                self.instance.admin_state == constants.ADMINST_UP)

    def _can_snapshot(self):
        # A mirror is snapshotted through its data volume, as in Ganeti;
        # an ext volume by its provider (if it has a snapshot script).
        return all(disk.dev_type in ("plain", "drbd", "ext")
                   for disk in instance_disks(self.cfg, self.instance))

    def _snapshot_disk(self, disk, snapshot):
        """
        :return: the disk dict of the snapshot C{snapshot} (its
            C{logical_id}) taken of C{disk}: a ``plain`` volume, or a
            volume of the same ExtStorage provider.
        """
        if disk.dev_type == "ext":
            return dict(annotated_disk(self.cfg, disk, self.pnode),
                        logical_id=list(snapshot))
        return dict(disk.to_dict(), dev_type="plain",
                    logical_id=list(snapshot), children=[])

    def _no_snapshot_refusal(self):
        """
        :return: Ganeti's reason for refusing an export whose disks cannot
            all be snapshotted, or None when it may go on with the instance
            stopped throughout.
        """
        if not self.op["shutdown"]:
            return ("Not all disks could be snapshotted, and you requested a"
                    " live export; aborting")
        if not self.op["long_sleep"]:
            return ("Not all disks could be snapshotted, and you did not"
                    " allow the instance to remain offline for a longer time"
                    " through the --long-sleep option; aborting")
        return None

    @inlineCallbacks
    def execute(self):
        op, instance, pnode = self.op, self.instance, self.pnode
        stopped = False
        if op["shutdown"]:
            running = yield self.is_running()
            if running:
                self.feedback("Shutting down instance %s" % instance.name)
                yield self.stop(instance, op["shutdown_timeout"])
                stopped = True
        staging = staging_name("export", instance.name)
        snapshots = None
        if self._try_snapshot():
            try:
                snapshots = yield self._create_snapshots()
            except Exception:
                if stopped:
                    yield self.start(instance)
                raise
            refusal = self._no_snapshot_refusal() if snapshots is None else None
            if refusal:
                if stopped:
                    yield self.start(instance)
                raise errors.OpExecError(refusal)
        dumps = None
        try:
            if stopped and snapshots is not None:
                # The snapshots hold the data: the instance runs meanwhile.
                self.feedback("Starting instance %s" % instance.name)
                yield self.start(instance)
                stopped = False
            dumps = yield self._dump_disks(staging, snapshots)
        finally:
            if snapshots is not None:
                yield self._remove_snapshots(snapshots)
            # An instance to be removed stays down, unless exporting failed.
            if stopped and (dumps is None or not op["remove_instance"]):
                self.feedback("Starting instance %s" % instance.name)
                yield self.start(instance)
        if self.target.uuid != pnode.uuid:
            dumps = yield self._move_dumps(dumps, staging)
        disk_ok = [dump is not None for dump in dumps]
        if all(disk_ok):
            finalized = yield self._finalize(dumps, staging)
            failures = [] if finalized else ["export finalization"]
        else:
            # Unlike Ganeti, an incomplete export is not finalized, so it
            # never replaces an older, complete one.
            if self.target.uuid == pnode.uuid or any(disk_ok):
                yield self._remove_export(self.target, staging)
            failures = ["disk export: disk(s) %s" % ", ".join(
                str(i) for i, ok in enumerate(disk_ok) if not ok)]
        if failures:
            if stopped and op["remove_instance"]:
                yield self.start(instance)
            raise errors.OpExecError("Export failed, errors in %s"
                                     % ", ".join(failures))
        yield self._remove_older_exports()
        if op["remove_instance"]:
            yield self._remove_instance()
        returnValue([True, disk_ok])

    @inlineCallbacks
    def _create_snapshots(self):
        """
        Snapshot every disk on the primary node (Ganeti's
        C{CreateSnapshots}).

        :return: (Deferred) the snapshots' C{logical_id}s (``[vg, lv]``,
            ``[provider, volume]``) in disk order, or
            None when a disk could not be snapshotted (the others' are
            removed again).
        """
        pnode = self.pnode
        if not self._can_snapshot():
            returnValue(None)
        snapshots = []
        for index, disk in enumerate(instance_disks(self.cfg, self.instance)):
            self.feedback("Creating a snapshot of disk/%s on node %s"
                          % (index, pnode.name))
            try:
                snapshot = yield call_node(
                    self.ctx, pnode, "blockdev_snapshot",
                    annotated_disk(self.cfg, disk, pnode), None, None,
                    what="Could not snapshot disk/%s on node %s"
                    % (index, pnode.name))
            except errors.GenericError as e:
                self.log_warning(str(e))
                snapshot = None
            snapshots.append(snapshot)
        if None in snapshots:
            yield self._remove_snapshots(snapshots)
            returnValue(None)
        returnValue(snapshots)

    @inlineCallbacks
    def _remove_snapshots(self, snapshots):
        """Remove the snapshots taken (a failure is a warning)."""
        disks = instance_disks(self.cfg, self.instance)
        for index, (disk, snapshot) in enumerate(zip(disks, snapshots)):
            if snapshot is None:
                continue
            self.feedback("Removing snapshot of disk/%s on node %s"
                          % (index, self.pnode.name))
            try:
                yield call_node(self.ctx, self.pnode, "blockdev_remove",
                                self._snapshot_disk(disk, snapshot),
                                what="Could not remove snapshot for disk/%d"
                                " from node %s" % (index, self.pnode.name))
            except errors.GenericError as e:
                self.log_warning(str(e))

    @inlineCallbacks
    def _dump_disks(self, staging, snapshots=None):
        """
        :param snapshots: the disks' snapshots (``[vg, lv]``), read
            instead of the disks themselves.
        :return: (Deferred) per disk, its dump's path on the primary
            node, or None where the export script failed.
        """
        instance, pnode = self.instance, self.pnode
        disks = instance_disks(self.cfg, instance)
        if not disks:
            returnValue([])
        devices = yield self.block_devices(instance)
        if snapshots is not None:
            devices = yield self._snapshot_devices(disks, devices, snapshots)
        spec = self.node_instance(instance)
        dumps = []
        for index, disk in enumerate(disks):
            self.feedback("Exporting %s from node %s" % (disk.iv_name,
                                                          pnode.name))
            try:
                dump = yield call_node(
                    self.ctx, pnode, "instance_export_disk", spec, devices,
                    index, staging, self.op.get("debug_level") or 0,
                    what="Could not export %s" % disk.iv_name)
            except errors.GenericError as e:
                self.log_warning(str(e))
                dump = None
            dumps.append(dump)
        returnValue(dumps)

    @inlineCallbacks
    def _snapshot_devices(self, disks, devices, snapshots):
        """
        :return: (Deferred) C{devices} with the snapshots' paths: an LVM
            snapshot's ``/dev/vg/lv``; an ExtStorage snapshot mapped on
            the primary node by its provider.
        """
        result = []
        for disk, device, snapshot in zip(disks, devices, snapshots):
            if disk.dev_type == "ext":
                [mapped] = yield call_node(
                    self.ctx, self.pnode, "blockdev_assemble_all",
                    [self._snapshot_disk(disk, snapshot)],
                    self.instance.name,
                    what="Could not map the snapshot of %s" % disk.iv_name)
                path = mapped["path"]
            else:
                path = "/dev/%s/%s" % tuple(snapshot)
            result.append(dict(device, logical_id=list(snapshot), path=path))
        returnValue(result)

    @inlineCallbacks
    def _move_dumps(self, dumps, staging):
        """
        Send the dumps from the primary node to the target node.

        :return: (Deferred) the dumps' paths on the target (None where a
            disk failed).
        """
        moved = []
        for index, dump in enumerate(dumps):
            if dump is not None:
                self.feedback("Sending disk/%d to node %s" % (index,
                                                             self.target.name))
                try:
                    dump = yield transfer(self.ctx, self.pnode, dump,
                                          self.target, staging)
                except errors.GenericError as e:
                    self.log_warning(str(e))
                    dump = None
            moved.append(dump)
        if dumps:
            yield self._remove_export(self.pnode, staging)
        returnValue(moved)

    @inlineCallbacks
    def _finalize(self, dumps, staging):
        """:return: (Deferred) whether the target stored the export."""
        instance = self.instance
        spec = dict(self.node_instance(instance), tags=list(instance.tags))
        disks = [(disk.to_dict(), os.path.basename(dump))
                 for disk, dump in zip(instance_disks(self.cfg, instance),
                                       dumps)]
        config = exportinfo.build(spec, disks, self.pnode.name,
                                  self.ctx.reactor.seconds(),
                                  self.op["compress"])
        self.feedback("Finalizing export on %s" % self.target.name)
        try:
            yield call_node(self.ctx, self.target, "export_finalize",
                            instance.name, staging, config,
                            what="Could not finalize export")
        except errors.GenericError as e:
            self.log_warning(str(e))
            yield self._remove_export(self.target, staging)
            returnValue(False)
        returnValue(True)

    @inlineCallbacks
    def _remove_export(self, node, name):
        try:
            yield call_node(self.ctx, node, "export_remove", name,
                            what="Could not remove %s" % (name,))
        except errors.GenericError as e:
            self.log_warning(str(e))

    @inlineCallbacks
    def _remove_older_exports(self):
        """An instance has one export: older ones elsewhere go (as Ganeti)."""
        name = self.instance.name
        found = yield exports_by_node(self.ctx, self.cfg)
        for node_name, exports in sorted(found.items()):
            if (node_name != self.target.name and isinstance(exports, list)
                    and name in exports):
                self.feedback("Removing old export of %s on node %s"
                              % (name, node_name))
                yield self._remove_export(self.cfg.node_by_name(node_name),
                                          name)

    def _remove_instance(self):
        self.feedback("Removing instance %s" % self.instance.name)
        op = opcodes.validate({
            "OP_ID": "OP_INSTANCE_REMOVE",
            "instance_name": self.instance.name,
            "shutdown_timeout": self.op["shutdown_timeout"],
            "ignore_failures": self.op["ignore_remove_failures"]})
        return LUInstanceRemove(self.ctx, op, self.feedback).execute()


class LUBackupRemove(LogicalUnit):
    """``gnt-backup remove``: remove an instance's export from every node."""

    @inlineCallbacks
    def execute(self):
        instance = self.cfg.instance_by_name(self.op["instance_name"])
        name = instance.name if instance is not None else self.op["instance_name"]
        found = yield exports_by_node(self.ctx, self.cfg)
        removed = False
        for node_name, exports in sorted(found.items()):
            if not isinstance(exports, list):
                self.log_warning("Failed to query node %s (continuing)"
                                 % node_name)
                continue
            if name in exports:
                yield call_node(self.ctx, self.cfg.node_by_name(node_name),
                                "export_remove", name,
                                what="Could not remove export for instance %s"
                                % name)
                removed = True
        if not removed and instance is None:
            self.feedback("Export not found. If trying to remove an export"
                          " belonging to a deleted instance please use its"
                          " Fully Qualified Domain Name.")
