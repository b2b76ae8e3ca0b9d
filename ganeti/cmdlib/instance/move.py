# -*- test-case-name: tests.test_instance_move -*-
"""
``gnt-instance move``: an instance whose disks live on its node alone
(``plain``, ``file``) moves to another node by copying them.

The instance is stopped, its disks are created on the target node and
streamed there node to node (L{ganeti.node.diskstream}: the target
listens once, the source connects; zero blocks are not sent), the
configuration switches the primary node in one update, the old disks are
removed and, if the instance is marked up, it starts on the target.
While disks are copied the job log shows how far each got, from the
source node's answers to a status call every L{PROGRESS_INTERVAL}
seconds.
"""

import uuid as uuidmod

from twisted.internet.defer import DeferredList, inlineCallbacks, returnValue
from twisted.internet.task import LoopingCall

from ganeti import constants, errors
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import call_node, get_node, node_address
from ganeti.cmdlib.instance.base import InstanceLU, check_usable_node
from ganeti.cmdlib.ipolicy import check_target_node_ipolicy
from ganeti import locking
from ganeti.params import (
    annotated_disk, exclusive_storage, fill_beparams, instance_disks)
from ganeti.utils.units import format_unit

#: Disk templates whose disks a move copies (Ganeti's C{DTS_COPYABLE}:
#: ``sharedfile`` is missing on purpose, its file is the same on every
#: node, so copying it onto itself would destroy it; fail it over).
COPYABLE_TEMPLATES = ("plain", "file")

#: Compression modes the disk stream implements (zlib at gzip's levels).
STREAM_COMPRESSION = ("none", "gzip", "gzip-fast", "gzip-slow")

#: Seconds between two progress lines of a disk being copied.
PROGRESS_INTERVAL = 5.0

_MIB = 1024 * 1024


def format_seconds(seconds):
    """:return: C{seconds} as Ganeti prints a duration (``1h 2m 3s``)."""
    parts = []
    seconds = int(round(seconds))
    if seconds > 0:
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            whole, seconds = divmod(seconds, size)
            if whole or parts:
                parts.append("%d%s" % (whole, unit))
    parts.append("%ds" % seconds)
    return " ".join(parts)


def format_progress(progress):
    """
    :param progress: a source node's figures for one disk (see
        L{ganeti.node.handler.NodeHandler.disk_transfer_status}).
    :return: Ganeti's progress text: ``512M, 40.1 MiB/s, 50%, ETA 12s``.
    """
    done, total = progress["done"], progress["total"]
    seconds = progress["seconds"]
    speed = done / _MIB / seconds if seconds > 0 else 0.0
    parts = [format_unit(done / _MIB, "h"), "%0.1f MiB/s" % speed]
    if total:
        parts.append("%d%%" % (100 * done // total))
        if speed > 0:
            parts.append("ETA %s" % format_seconds(
                (total - done) / _MIB / speed))
    return ", ".join(parts)


def format_totals(progress):
    """:return: what one finished copy moved, for the job log."""
    seconds = progress["seconds"]
    speed = progress["total"] / _MIB / seconds if seconds > 0 else 0.0
    return ("%s in %s (%0.1f MiB/s), %s of it zeros not sent, %s sent"
            % (format_unit(progress["total"] / _MIB, "h"),
               "%0.1fs" % seconds, speed,
               format_unit(progress["zero"] / _MIB, "h"),
               format_unit(progress["wire"] / _MIB, "h")))


class _ProgressReporter:
    """
    Asks the source node how far its copies got and logs one line per
    disk, every L{PROGRESS_INTERVAL} seconds, until L{stop}.
    """

    def __init__(self, lu, source):
        self._lu = lu
        self._source = source
        self._names = {}
        self._loop = LoopingCall(self._poll)
        self._loop.clock = lu.ctx.reactor

    def add(self, transfer_id, name):
        self._names[transfer_id] = name
        if not self._loop.running:
            self._loop.start(PROGRESS_INTERVAL, now=False)

    def remove(self, transfer_id):
        self._names.pop(transfer_id, None)
        if not self._names and self._loop.running:
            self._loop.stop()

    def stop(self):
        self._names.clear()
        if self._loop.running:
            self._loop.stop()

    def _poll(self):
        ids = sorted(self._names)
        d = self._lu.ctx.rpc.call([node_address(self._source)],
                                  "disk_transfer_status", ids)

        def report(results):
            result = results[self._source.name]
            if not result.ok:
                return
            for tid, progress in sorted(result.payload.items(),
                                        key=lambda item: self._names.get(
                                            item[0], "")):
                if tid in self._names:
                    self._lu.feedback("%s sent %s" % (
                        self._names[tid], format_progress(progress)))
        # Progress is a courtesy: a lost status answer stops nothing.
        return d.addCallback(report).addErrback(lambda _: None)


class LUInstanceMove(InstanceLU):
    """
    ``gnt-instance move -n NODE``: copy the instance's disks to NODE and
    make it the primary node (Ganeti's C{LUInstanceMove}).
    """

    HPATH = "instance-move"

    def needed_locks(self):
        result = LogicalUnit.needed_locks(self)
        result.append((locking.LEVEL_INSTANCE, [self.op["instance_name"]],
                       False))
        names = {self.op["target_node"]}
        instance = self.cfg.instance_by_name(self.op["instance_name"])
        if instance is not None:
            names.add(self.cfg.nodes[instance.primary_node].name)
        self.locked_nodes = names
        result.append((locking.LEVEL_NODE, sorted(names), False))
        return result

    def hooks_extra_env(self):
        target = getattr(self, "target", None)
        return {"TARGET_NODE": target.name if target is not None
                else self.op["target_node"],
                "SHUTDOWN_TIMEOUT": self.op["shutdown_timeout"]}

    def build_hooks_nodes(self):
        cfg = self.cfg
        nodes = [cfg.cluster.master_node, self.instance.primary_node,
                 self.target.uuid]
        return nodes, nodes

    def _check_compression(self):
        compress = self.op["compress"]
        allowed = list(self.cfg.cluster.compression_tools or [])
        if compress != "none" and compress not in allowed:
            raise errors.OpPrereqError(
                "Compression tool not allowed, tools allowed are [%s]"
                % ", ".join(allowed), "wrong_input")
        if compress not in STREAM_COMPRESSION:
            raise errors.OpPrereqError(
                "Compression tool '%s' cannot be used for moves, which"
                " compress with zlib; use one of %s" % (
                    compress, ", ".join(STREAM_COMPRESSION)), "wrong_input")

    @inlineCallbacks
    def check_prereq(self):
        op, instance = self.op, self.instance
        if self.pnode.name not in self.locked_nodes:
            raise errors.OpPrereqError(
                "Instance %s moved to node %s while waiting for locks, please"
                " retry" % (instance.name, self.pnode.name), "wrong_state")
        self._check_compression()
        for index, disk in enumerate(instance_disks(self.cfg, instance)):
            if disk.dev_type not in COPYABLE_TEMPLATES:
                raise errors.OpPrereqError(
                    "Instance disk %d has disk type %s and is not suitable"
                    " for copying" % (index, disk.dev_type), "wrong_state")
        self.target = target = get_node(self.cfg, op["target_node"])
        if target.uuid == instance.primary_node:
            raise errors.OpPrereqError("Instance %s is already on the node %s"
                                       % (instance.name, target.name),
                                       "wrong_state")
        check_usable_node(target)
        check_target_node_ipolicy(self, instance, target,
                                  ignore=op["ignore_ipolicy"])
        if instance.admin_state == constants.ADMINST_UP:
            memory = fill_beparams(self.cfg.cluster,
                                   instance.beparams)["maxmem"]
            yield self.check_free_memory(target, memory,
                                         "failing over instance %s"
                                         % instance.name)
        else:
            self.log_info("Not checking memory on the secondary node as"
                          " instance will not be started")

    @inlineCallbacks
    def execute(self):
        instance, source, target = self.instance, self.pnode, self.target
        stopped = yield self._shut_down()
        disks = instance_disks(self.cfg, instance)
        excl_stor = exclusive_storage(self.cfg, target)
        created = []
        try:
            for disk in disks:
                yield call_node(self.ctx, target, "blockdev_create",
                                annotated_disk(self.cfg, disk, target),
                                instance.name, excl_stor,
                                what="Could not create disk %s"
                                % disk.iv_name)
                created.append(disk)
        except errors.GenericError:
            self.log_warning("Device creation failed")
            yield self._remove_disks(target, created)
            yield self._restart_on_source(stopped)
            raise
        copied = yield self._copy_disks(disks)
        if not all(copied):
            self.log_warning("Some disks failed to copy, aborting")
            yield self._remove_disks(target, created)
            yield self._restart_on_source(stopped)
            raise errors.OpExecError("Errors during disk copy: %s"
                                     % "Failed to transfer instance data")
        # One update: the instance is on the target with all its disks,
        # or still on the source.
        self.ctx.config.update_objects({
            "instances": {instance.uuid: {"primary_node": target.uuid,
                                          "disks_active": False}},
            "disks": {disk.uuid: {"nodes": [target.uuid]} for disk in disks},
        })
        self.log_info("Removing the disks on the original node")
        yield self._remove_disks(source, disks)
        if instance.admin_state == constants.ADMINST_UP:
            yield self._start_on_target()

    @inlineCallbacks
    def _shut_down(self):
        """
        Stop the instance on its node; with ``ignore_consistency`` a node
        that cannot only earns a warning.

        :return: (Deferred) whether it was running and is now stopped.
        """
        self.log_info("Shutting down instance %s on source node %s"
                      % (self.instance.name, self.pnode.name))
        running = yield self.stop_to_move(
            self.op["shutdown_timeout"], self.op["ignore_consistency"],
            "Could not shutdown instance %s on node %s. Proceeding anyway."
            " Please make sure node %s is down. Error details: %s")
        returnValue(running)

    @inlineCallbacks
    def _copy_disks(self, disks):
        """
        Copy every disk from the source node to the target node, all at
        once as Ganeti does.

        :return: (Deferred) one boolean per disk: whether it arrived.
        """
        source, target = self.pnode, self.target
        address = target.secondary_ip or target.primary_ip
        reporter = _ProgressReporter(self, source)
        copies = []
        try:
            for index, disk in enumerate(disks):
                copies.append(self._copy_disk(reporter, index, disk, address))
            results = yield DeferredList(copies, consumeErrors=True)
        finally:
            reporter.stop()
        copied = []
        for ok, outcome in results:
            if not ok:
                self.log_warning("Copying a disk failed: %s"
                                 % outcome.getErrorMessage())
            copied.append(ok and outcome)
        returnValue(copied)

    @inlineCallbacks
    def _copy_disk(self, reporter, index, disk, address):
        """:return: (Deferred) whether disk C{index} reached the target."""
        source, target = self.pnode, self.target
        name = "disk/%d" % index
        self.feedback("Exporting %s from %s to %s" % (name, source.name,
                                                      target.name))
        transfer_id = str(uuidmod.uuid4())
        try:
            receive = yield call_node(self.ctx, target, "disk_receive",
                                      disk.to_dict(), address, transfer_id,
                                      what="Could not receive %s" % name)
        except errors.GenericError as e:
            self.feedback("%s failed to receive data: %s" % (name, e))
            returnValue(False)
        self.feedback("%s is now listening, starting export" % name)
        self.feedback("%s is sending data on %s" % (name, source.name))
        reporter.add(transfer_id, name)
        try:
            totals = yield call_node(
                self.ctx, source, "disk_send", disk.to_dict(), address,
                receive["port"], self.op["compress"], transfer_id,
                what="Could not send %s" % name)
        except errors.GenericError as e:
            self.feedback("%s failed to send data: %s" % (name, e))
            # The target must let go of its disk before it is removed.
            try:
                yield call_node(self.ctx, target, "disk_receive_stop",
                                [transfer_id])
            except errors.GenericError as e:
                self.log_warning("Could not stop receiving %s on node %s: %s"
                                 % (name, target.name, e))
            returnValue(False)
        finally:
            reporter.remove(transfer_id)
        self.feedback("%s finished sending data" % name)
        self.log_info("%s: %s" % (name, format_totals(totals)))
        returnValue(True)

    @inlineCallbacks
    def _remove_disks(self, node, disks):
        """Remove C{disks} from C{node}; a failure only warns."""
        for disk in disks:
            try:
                yield call_node(self.ctx, node, "blockdev_remove",
                                disk.to_dict(),
                                what="Could not remove disk %s" % disk.iv_name)
            except errors.GenericError as e:
                self.log_warning("Could not remove disk %s on node %s,"
                                 " continuing anyway: %s"
                                 % (disk.iv_name, node.name, e))

    @inlineCallbacks
    def _restart_on_source(self, stopped):
        """
        A move that failed after stopping the instance starts it again
        where it is (Ganeti leaves that to the watcher).
        """
        if not stopped:
            return
        instance = self.instance
        self.log_info("Starting instance %s again on node %s"
                      % (instance.name, self.pnode.name))
        try:
            yield self.start(instance)
        except errors.GenericError as e:
            self.log_warning("Could not restart instance %s: %s"
                             % (instance.name, e))

    @inlineCallbacks
    def _start_on_target(self):
        instance, target = self.instance, self.target
        self.log_info("Starting instance %s on node %s" % (instance.name,
                                                           target.name))
        try:
            devices = yield self.block_devices(instance, target)
        except errors.GenericError:
            yield self._shutdown_disks(target)
            raise errors.OpExecError("Can't activate the instance's disks")
        self.update_instance(disks_active=True)
        try:
            yield call_node(self.ctx, target, "instance_start",
                            self.node_instance(instance), devices, False,
                            what="Could not start instance")
        except errors.GenericError as e:
            yield self._shutdown_disks(target)
            self.update_instance(disks_active=False)
            raise errors.OpExecError("Could not start instance %s on node %s:"
                                     " %s" % (instance.name, target.name, e))

    @inlineCallbacks
    def _shutdown_disks(self, node):
        disks = [d.to_dict() for d in instance_disks(self.cfg, self.instance)]
        if not disks:
            return
        try:
            yield call_node(self.ctx, node, "blockdev_shutdown_all", disks)
        except errors.GenericError as e:
            self.log_warning("Could not shut down the disks of %s on node %s:"
                             " %s" % (self.instance.name, node.name, e))
