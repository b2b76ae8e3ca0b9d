# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
The day-to-day instance operations: remove, start, stop, reboot,
reinstall, rename and console.
"""

import os

from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import constants, errors, netutils, params as paramsmod
from ganeti.cmdlib.common import call_node, complete_console, get_instance
from ganeti.cmdlib.instance.base import (
    InstanceLU, cfg_instance, instance_hvparams, remove_instance_from_config,
    wrong_input)
from ganeti import locking
from ganeti.params import annotated_disk, fill_beparams, instance_disks


class LUInstanceRemove(InstanceLU):
    """``gnt-instance remove``: stop it, remove its disks and config entry."""

    HPATH = "instance-remove"

    def hooks_extra_env(self):
        return {"SHUTDOWN_TIMEOUT": self.op["shutdown_timeout"]}

    def build_hooks_nodes(self):
        # As in Ganeti: only the master may veto, all hear of it after.
        nodes, post = super().build_hooks_nodes()
        return nodes[:1], post[1:] + nodes[:1]

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
        for target in [node] + self.snodes:
            for disk in instance_disks(self.cfg, instance):
                try:
                    yield call_node(self.ctx, target, "blockdev_remove",
                                    annotated_disk(self.cfg, disk, target),
                                    what="Could not remove disk %s on node %s"
                                    % (disk.iv_name, target.name))
                except errors.GenericError as e:
                    if not ignore:
                        raise
                    self.log_warning(str(e))
        self.feedback("Removing instance %s out of cluster config" % instance.name)
        remove_instance_from_config(self.ctx.config, instance.uuid)


class LUInstanceStartup(InstanceLU):
    """``gnt-instance startup``."""

    HPATH = "instance-start"

    def hooks_extra_env(self):
        return {"FORCE": self.op["force"]}

    @inlineCallbacks
    def check_prereq(self):
        instance = self.instance
        self.hvparams = instance_hvparams(instance.hypervisor, self.op["hvparams"])
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
            # As Ganeti: --force starts it even where a mirror's secondary
            # cannot be reached.
            yield self.start(self.instance, self.op["startup_paused"],
                             self.hvparams, self.beparams,
                             ignore_secondaries=self.op["force"])
        # Recorded only once it runs: a failed start leaves it ADMIN_down.
        if not self.op["no_remember"]:
            self.update_instance(admin_state=constants.ADMINST_UP,
                                 admin_state_source="admin")


class LUInstanceShutdown(InstanceLU):
    """``gnt-instance shutdown``."""

    HPATH = "instance-stop"

    def hooks_extra_env(self):
        return {"TIMEOUT": self.op["timeout"]}

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


class LUInstanceReboot(InstanceLU):
    """``gnt-instance reboot``: soft (in the guest), hard or full."""

    HPATH = "instance-reboot"

    def hooks_extra_env(self):
        op = self.op
        return {"IGNORE_SECONDARIES": op["ignore_secondaries"],
                "REBOOT_TYPE": op["reboot_type"],
                "SHUTDOWN_TIMEOUT": op["shutdown_timeout"]}

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


class LUInstanceReinstall(InstanceLU):
    """``gnt-instance reinstall``: run the OS create script again."""

    HPATH = "instance-reinstall"

    @inlineCallbacks
    def check_prereq(self):
        yield self.require_stopped("cannot reinstall")
        self.os_name = self.op["os_type"] or self.instance.os
        if not self.os_name:
            raise wrong_input("Instance %s has no OS and none was given"
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


class LUInstanceRename(InstanceLU):
    """``gnt-instance rename``."""

    HPATH = "instance-rename"

    def hooks_extra_env(self):
        # The name as resolved by the prerequisite check.
        return {"INSTANCE_NEW_NAME": getattr(self, "new_name",
                                             self.op["new_name"])}

    def needed_locks(self):
        result = super().needed_locks()
        names = sorted({self.op["instance_name"], self.op["new_name"]})
        return [(level, names if level == locking.LEVEL_INSTANCE else which, shared)
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


class LUInstanceConsole(InstanceLU):
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
