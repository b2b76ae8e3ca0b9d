# -*- test-case-name: tests.test_cmdlib_change_group -*-
"""
``OP_INSTANCE_CHANGE_GROUP`` (``gnt-instance change-group``): move an
instance to nodes of another node group.

As in Ganeti, an instance allocator plans the move with a
``change-group`` request, and the jobs of its answer (migrations or
failovers to the new nodes) are handed back to the job runner, as a node
evacuation does; each moves the instance under its own locks.
"""

from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import errors, hooks, iallocator, locking
from ganeti.cmdlib import allocators
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.hooks import instance_object_variables
from ganeti.cmdlib.common import get_instance
from ganeti.cmdlib.group import get_group, group_members
from ganeti.params import instance_nodes


def _wrong(message):
    return errors.OpPrereqError(message, "wrong_input")


def _groups_of(cfg, instance):
    """:return: the uuids of the groups holding the instance's nodes."""
    return {cfg.nodes[uuid].group for uuid in instance_nodes(cfg, instance)
            if uuid in cfg.nodes}


class LUInstanceChangeGroup(LogicalUnit):
    """
    Ask the allocator (given, else the cluster's default) where the
    instance goes among the target groups: those given, else every group
    but the instance's own.

    Everything it reads is held shared: the instance, the groups involved
    (all of them without C{target_groups}) and their nodes.
    """

    HPATH = "instance-change-group"
    HTYPE = hooks.HTYPE_INSTANCE

    #: The groups locked (uuids), or all (set by L{needed_locks}).
    locked_groups = locking.ALL_SET

    def needed_locks(self):
        cfg, op = self.cfg, self.op
        result = super().needed_locks()
        result.append((locking.LEVEL_INSTANCE, [op["instance_name"]], True))
        instance = cfg.instance_by_name(op["instance_name"])
        self.locked_groups = locking.ALL_SET
        if op["target_groups"] and instance is not None:
            groups = _groups_of(cfg, instance)
            for name in op["target_groups"]:
                group = cfg.nodegroups.get(name) or cfg.group_by_name(name)
                if group is not None:
                    groups.add(group.uuid)
            self.locked_groups = groups
            nodes = {node.name for uuid in groups if uuid in cfg.nodegroups
                     for node in group_members(cfg, cfg.nodegroups[uuid])}
            result.append((locking.LEVEL_NODEGROUP, sorted(
                cfg.nodegroups[uuid].name for uuid in groups
                if uuid in cfg.nodegroups), True))
            result.append((locking.LEVEL_NODE, sorted(nodes), True))
        else:
            result.append((locking.LEVEL_NODEGROUP, locking.ALL_SET, True))
            result.append((locking.LEVEL_NODE, locking.ALL_SET, True))
        return result

    def check_prereq(self):
        cfg, op = self.cfg, self.op
        self.instance = get_instance(cfg, op["instance_name"])
        self.allocator = (iallocator.resolve_name(cfg.cluster,
                                                  op["iallocator"])
                          or cfg.cluster.default_iallocator)
        if not self.allocator:
            raise _wrong("No iallocator was specified, neither in the opcode"
                         " nor as a cluster-wide default")
        own = _groups_of(cfg, self.instance)
        if (self.locked_groups is not locking.ALL_SET
                and not own <= self.locked_groups):
            raise errors.OpPrereqError(
                "Instance %s's node groups changed since locks were"
                " acquired, current groups are '%s'; retry the operation"
                % (self.instance.name, ", ".join(sorted(
                    cfg.nodegroups[uuid].name for uuid in own))),
                "wrong_state")
        if op["target_groups"]:
            targets = {get_group(cfg, name).uuid
                       for name in op["target_groups"]}
        else:
            targets = set(cfg.nodegroups) - own
        conflicting = targets & own
        if conflicting:
            raise _wrong("Can't use group(s) '%s' as targets, they are used by"
                         " the instance '%s'" % (", ".join(sorted(
                             cfg.nodegroups[uuid].name
                             for uuid in conflicting)), self.instance.name))
        if not targets:
            raise _wrong("There are no possible target groups")
        self.target_groups = sorted(targets)

    def build_hooks_env(self):
        env = instance_object_variables(self.cfg, self.instance)
        env["TARGET_GROUPS"] = " ".join(self.target_groups)
        return env

    def build_hooks_nodes(self):
        # As Ganeti: the moves themselves run their own hooks.
        master = [self.cfg.cluster.master_node]
        return master, master

    @inlineCallbacks
    def execute(self):
        name = self.instance.name
        answer = yield allocators.run(
            self.ctx, self.allocator,
            {"type": iallocator.MODE_CHG_GROUP, "instances": [name],
             "target_groups": self.target_groups},
            what="solution for changing group of instance '%s'" % name)
        result = iallocator.evacuation_jobs(self, answer,
                                            self.op["early_release"],
                                            use_nodes=False)
        self.log_info("Iallocator returned %d job(s) for changing group of"
                      " instance '%s'" % (len(result["jobs"]), name))
        returnValue(result)
