# -*- test-case-name: tests.test_cmdlib_group -*-
"""
Node group logical units: add, remove, rename, modify, move nodes between
groups, and evacuate a group's instances.

A group keeps only its *custom* parameters (node, disk, instance policy);
everything else is inherited from the cluster, so a value reset to the
default is removed from the group rather than copied into it.  Every
change is one L{ganeti.config.ConfigWriter.update} call, so a refused or
failed opcode leaves the configuration as it was.
"""

import uuid as uuidmod

import attrs
from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import constants, errors, hooks, iallocator
from ganeti import params as paramsmod
from ganeti.cmdlib import allocators
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import get_node
from ganeti.objects import NodeGroup
from ganeti.query import nice_sort

#: Instance policy keys whose values are ratios (Ganeti's
#: C{IPOLICY_PARAMETERS}).
_IPOLICY_RATIOS = ("vcpu-ratio", "spindle-ratio")
#: The instance spec parameters of ``minmax`` bounds.
_ISPEC_KEYS = frozenset(constants.IPOLICY_DEFAULTS["std"])
#: Static hypervisor state a group may declare (Ganeti's C{HVST_DEFAULTS}).
_HV_STATE_KEYS = {"cpu_node": 1, "cpu_total": 1, "mem_hv": 0, "mem_node": 0,
                  "mem_total": 0}
#: Static disk state per storage unit (Ganeti's C{DS_DEFAULTS}).
_DISK_STATE_KEYS = {"disk_overhead": 0, "disk_reserved": 0, "disk_total": 0}
#: Disk templates whose storage may carry a static disk state.
_DISK_STATE_TYPES = ("plain",)


def _wrong(message):
    return errors.OpPrereqError(message, "wrong_input")


def _checked_dict(value, what):
    if not isinstance(value, dict):
        raise _wrong("Invalid %s: expected a dictionary" % what)
    return value


def get_group(cfg, name):
    """
    :param name: a group name or uuid, as Ganeti's lookup accepts.
    :return: the L{ganeti.objects.NodeGroup}.
    :raise OpPrereqError: (``noent``) if there is none.
    """
    group = cfg.nodegroups.get(name) or cfg.group_by_name(name)
    if group is None:
        raise errors.OpPrereqError("Node group '%s' not found" % name, "noent")
    return group


def group_members(cfg, group):
    """:return: the nodes of C{group}."""
    return [n for n in cfg.nodes.values() if n.group == group.uuid]


def update_custom(current, changes, defaults, what):
    """
    Apply changes to a group's custom parameters: values are checked and
    converted against the known parameters; None removes the custom value
    so the cluster's applies again.
    """
    result = dict(current)
    for name, value in paramsmod.force_types(changes, defaults, what).items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def update_diskparams(current, changes):
    """
    Per-template :func:`update_custom`.

    :raise OpPrereqError: for an unknown template, or a parameter the
        template does not have (Ganeti's "Provided option keys not
        supported").
    """
    result = {t: dict(p) for t, p in current.items()}
    for template, params in _checked_dict(changes,
                                          "disk parameters").items():
        defaults = constants.DISK_DEFAULTS.get(template)
        if defaults is None:
            raise _wrong("Unknown disk template '%s'" % template)
        unknown = sorted(set(_checked_dict(params, "disk parameters"))
                         - set(defaults))
        if unknown:
            raise _wrong("Provided option keys not supported: %s"
                         % ", ".join(unknown))
        merged = update_custom(result.get(template, {}), params, defaults,
                               "disk")
        if merged:
            result[template] = merged
        else:
            result.pop(template, None)
    return result


def _check_ispecs(minmax):
    if not (isinstance(minmax, list) and minmax):
        raise _wrong("Invalid instance policy: minmax must be a non-empty"
                     " list")
    for bounds in minmax:
        if not isinstance(bounds, dict) or set(bounds) != {"min", "max"}:
            raise _wrong("Invalid instance policy: each minmax entry needs"
                         " exactly 'min' and 'max'")
        for kind in ("min", "max"):
            specs = bounds[kind]
            if not isinstance(specs, dict) or set(specs) != _ISPEC_KEYS:
                raise _wrong("Invalid instance policy: %s specs must give %s"
                             % (kind, ", ".join(sorted(_ISPEC_KEYS))))
            for key, value in specs.items():
                if not isinstance(value, int) or isinstance(value, bool):
                    raise _wrong("Invalid instance policy: %s/%s must be an"
                                 " integer, not %r" % (kind, key, value))
        for key in _ISPEC_KEYS:
            if bounds["min"][key] > bounds["max"][key]:
                raise _wrong("Invalid instance policy: minimum %s is above"
                             " its maximum" % key)


def update_ipolicy(current, changes):
    """
    Apply changes to a group's custom instance policy, as Ganeti does for
    groups: an empty value or ``"default"`` drops the key (the cluster's
    applies), ``std`` belongs to the cluster only.

    :raise OpPrereqError: naming the bad key or value.
    """
    unknown = sorted(set(_checked_dict(changes, "instance policy"))
                     - set(constants.IPOLICY_DEFAULTS))
    if unknown:
        raise _wrong("Invalid keys in ipolicy: %s" % ", ".join(unknown))
    result = dict(current)
    for key, value in changes.items():
        if value in (None, "", [], {}, "default", ["default"]):
            result.pop(key, None)
        elif key == "std":
            raise _wrong("std cannot appear in group instance specs")
        elif key in _IPOLICY_RATIOS:
            try:
                result[key] = float(value)
            except (TypeError, ValueError):
                raise _wrong("Invalid value for attribute '%s': '%s'"
                             % (key, value))
        elif key == "minmax":
            _check_ispecs(value)
            result[key] = value
        else:
            templates = value if isinstance(value, list) else [value]
            bad = [t for t in templates if t not in constants.DISK_TEMPLATES]
            if bad:
                raise _wrong("Invalid disk template(s) in ipolicy: %s"
                             % ", ".join(map(str, bad)))
            result[key] = list(templates)
    return result


def update_hv_state(current, changes):
    """Apply changes to a group's static state per hypervisor."""
    result = {hv: dict(v) for hv, v in current.items()}
    for hv, values in _checked_dict(changes, "hypervisor state").items():
        if hv not in constants.HYPERVISORS:
            raise _wrong("Invalid hypervisor state type '%s'" % hv)
        result[hv] = update_custom(result.get(hv, {}), values, _HV_STATE_KEYS,
                                   "hypervisor state")
    return result


def update_disk_state(current, changes):
    """Apply changes to a group's static state per storage unit."""
    result = {kind: dict(v) for kind, v in current.items()}
    for kind, units in _checked_dict(changes, "disk state").items():
        if kind not in _DISK_STATE_TYPES:
            raise _wrong("Invalid disk state type '%s'" % kind)
        merged = dict(result.get(kind, {}))
        for unit, values in _checked_dict(units, "disk state").items():
            merged[unit] = update_custom(merged.get(unit, {}), values,
                                         _DISK_STATE_KEYS, "disk state")
        result[kind] = merged
    return result


def compute_group_params(group, op):
    """
    The group attributes an add or modify opcode sets, checked.

    :param group: the current L{NodeGroup} (an empty one for add).
    :return: attribute name -> new value, only for what the opcode gives.
    :raise OpPrereqError: for bad parameters.
    """
    changes = {}
    if op["alloc_policy"] is not None:
        changes["alloc_policy"] = op["alloc_policy"]
    if op["ndparams"] is not None:
        changes["ndparams"] = update_custom(group.ndparams, op["ndparams"],
                                            constants.ND_DEFAULTS, "node")
    if op["diskparams"] is not None:
        changes["diskparams"] = update_diskparams(group.diskparams,
                                                  op["diskparams"])
    if op["ipolicy"] is not None:
        changes["ipolicy"] = update_ipolicy(group.ipolicy, op["ipolicy"])
    if op["hv_state"] is not None:
        changes["hv_state_static"] = update_hv_state(group.hv_state_static,
                                                     op["hv_state"])
    if op["disk_state"] is not None:
        changes["disk_state_static"] = update_disk_state(
            group.disk_state_static, op["disk_state"])
    return changes


class _GroupChangeLU(LogicalUnit):
    """
    A change of the group config: it runs alone (exclusive BGL).  Its
    hooks, if any, run on the master.
    """

    BGL_SHARED = False
    HTYPE = hooks.HTYPE_GROUP

    def build_hooks_env(self):
        return {"GROUP_NAME": self.op["group_name"]}

    def build_hooks_nodes(self):
        nodes = [self.cfg.cluster.master_node]
        return nodes, nodes

    def set_group(self, group_uuid, **changes):
        """Change one group in one config update, bumping its serial."""
        self.ctx.config.update_object("nodegroups", group_uuid, **changes)


class LUGroupAdd(_GroupChangeLU):
    """``gnt-group add``: a new, empty group."""

    HPATH = "group-add"

    def check_prereq(self):
        name = self.op["group_name"]
        existing = self.cfg.group_by_name(name)
        if existing is not None:
            raise errors.OpPrereqError(
                "Desired group name '%s' already exists as a node group"
                " (UUID: %s)" % (name, existing.uuid), "already_exists")
        self.params = compute_group_params(NodeGroup(name=name, uuid=""),
                                           self.op)

    def execute(self):
        now = self.ctx.reactor.seconds()
        group = NodeGroup(name=self.op["group_name"], uuid=str(uuidmod.uuid4()),
                          ctime=now, mtime=now, **self.params)

        def change(cfg):
            return attrs.evolve(cfg, nodegroups=dict(cfg.nodegroups,
                                                     **{group.uuid: group}))
        self.ctx.config.update(change)


class LUGroupRemove(_GroupChangeLU):
    """``gnt-group remove``: only an empty group that is not the last."""

    HPATH = "group-remove"

    def check_prereq(self):
        cfg, name = self.cfg, self.op["group_name"]
        self.group = get_group(cfg, name)
        members = group_members(cfg, self.group)
        if members:
            raise errors.OpPrereqError(
                "Group '%s' not empty, has the following nodes: %s"
                % (name, ", ".join(nice_sort(n.name for n in members))),
                "wrong_state")
        if len(cfg.nodegroups) == 1:
            raise errors.OpPrereqError(
                "Group '%s' is the only group, cannot be removed" % name,
                "wrong_state")

    def execute(self):
        uuid = self.group.uuid

        def change(cfg):
            groups = dict(cfg.nodegroups)
            del groups[uuid]
            return attrs.evolve(cfg, nodegroups=groups)
        self.ctx.config.update(change)


class LUGroupRename(_GroupChangeLU):
    """``gnt-group rename``: group names are unique."""

    HPATH = "group-rename"

    def build_hooks_env(self):
        return {"OLD_NAME": self.op["group_name"],
                "NEW_NAME": self.op["new_name"]}

    def build_hooks_nodes(self):
        # The master and the group's nodes.
        nodes = [self.cfg.cluster.master_node] + [
            n.uuid for n in group_members(self.cfg, self.group)]
        return nodes, nodes

    def check_prereq(self):
        self.group = get_group(self.cfg, self.op["group_name"])
        clash = self.cfg.group_by_name(self.op["new_name"])
        if clash is not None:
            raise errors.OpPrereqError(
                "Desired new name '%s' clashes with existing node group %s"
                " (UUID: %s)" % (self.op["new_name"], clash.name, clash.uuid),
                "already_exists")

    def execute(self):
        self.set_group(self.group.uuid, name=self.op["new_name"])
        return self.op["new_name"]


class LUGroupSetParams(_GroupChangeLU):
    """
    ``gnt-group modify``; like Ganeti it reports only the node and disk
    parameter changes as ``(parameter, new value)`` pairs.
    """

    HPATH = "group-modify"

    def build_hooks_env(self):
        return {"GROUP_NAME": self.op["group_name"],
                "NEW_ALLOC_POLICY": self.op["alloc_policy"]}

    def check_prereq(self):
        self.group = get_group(self.cfg, self.op["group_name"])
        keys = ("alloc_policy", "ndparams", "diskparams", "ipolicy",
                "hv_state", "disk_state")
        if all(self.op[key] is None for key in keys):
            raise _wrong("Please pass at least one modification")
        self.changes = compute_group_params(self.group, self.op)

    def execute(self):
        self.set_group(self.group.uuid, **self.changes)
        return [[key, str(self.changes[key])]
                for key in ("ndparams", "diskparams")
                if self.op[key] and key in self.changes]


def split_instances(cfg, moves):
    """
    Which instances span several groups after C{moves}.

    :param moves: node uuid -> new group uuid.
    :return: ``(newly split, still split)`` lists of instance names.
    """
    def group_of(node_uuid, with_moves):
        if with_moves and node_uuid in moves:
            return moves[node_uuid]
        return cfg.nodes[node_uuid].group

    new, previous = [], []
    for instance in cfg.instances.values():
        nodes = paramsmod.instance_nodes(cfg, instance)
        before = {group_of(n, False) for n in nodes}
        after = {group_of(n, True) for n in nodes}
        if len(after) > 1:
            (previous if len(before) > 1 else new).append(instance.name)
    return nice_sort(new), nice_sort(previous)


class LUGroupAssignNodes(_GroupChangeLU):
    """
    ``gnt-group assign-nodes``: move nodes into a group.

    Ganeti refuses (unless C{force}) a move that leaves an instance with
    nodes in two groups; there that means a DRBD instance whose primary and
    secondary would part.  The same check runs here over every node an
    instance uses: its primary plus the nodes its disks record.  The disk
    templates this cluster supports keep an instance on its primary node
    alone, so today no move splits anything; the check guards configs
    written by a Ganeti with DRBD instances.
    """

    def check_prereq(self):
        cfg = self.cfg
        self.group = get_group(cfg, self.op["group_name"])
        self.nodes = [get_node(cfg, name) for name in self.op["nodes"]]
        moves = {n.uuid: self.group.uuid for n in self.nodes}
        new, previous = split_instances(cfg, moves)
        if new:
            if not self.op["force"]:
                raise errors.OpExecError(
                    "The following instances get split by this change and"
                    " --force was not given: %s" % ", ".join(new))
            self.log_warning("This operation will split the following"
                             " instances: %s" % ", ".join(new))
            if previous:
                self.log_warning("In addition, these already-split instances"
                                 " continue to be split across groups: %s"
                                 % ", ".join(previous))

    def execute(self):
        target = self.group.uuid
        moving = [n for n in self.nodes if n.group != target]
        if not moving:
            return
        # Both the groups the nodes leave and the one they join change.
        groups = {target} | {n.group for n in moving}
        self.ctx.config.update_objects({
            "nodes": {n.uuid: {"group": target} for n in moving},
            "nodegroups": {uuid: {} for uuid in groups}})


class LUGroupEvacuate(LogicalUnit):
    """
    ``gnt-group evacuate``: move every primary instance of a group to nodes
    of other groups, one migrate (or, with C{force_failover}, failover)
    job per instance, as Ganeti's allocator plans for instances without
    secondaries.

    An allocator (given, else the cluster's default) plans the moves with
    a ``change-group`` request.  Without one, target nodes are the online,
    undrained, vm-capable nodes of the target groups (those given, else
    every other group that is not ``unallocable``), taken in turn by name.
    With C{sequential} each job waits for the one before.
    """

    HPATH = "group-evacuate"
    HTYPE = hooks.HTYPE_GROUP

    def build_hooks_env(self):
        return {"GROUP_NAME": self.op["group_name"],
                "TARGET_GROUPS": " ".join(self.target_groups)}

    def build_hooks_nodes(self):
        nodes = [self.cfg.cluster.master_node] + [
            n.uuid for n in group_members(self.cfg, self.group)]
        return nodes, nodes

    def check_prereq(self):
        cfg, op = self.cfg, self.op
        self.allocator = iallocator.choose(cfg.cluster, op["iallocator"])
        self.group = get_group(cfg, op["group_name"])
        if op["target_groups"]:
            targets = [get_group(cfg, name) for name in op["target_groups"]]
            if self.group.uuid in {g.uuid for g in targets}:
                raise _wrong("Group to be evacuated (%s) can not be used as a"
                             " target group" % self.group.name)
        else:
            targets = [g for g in cfg.nodegroups.values()
                       if g.uuid != self.group.uuid
                       and g.alloc_policy != "unallocable"]
            if not targets:
                raise _wrong("There are no possible target groups")
        members = {n.uuid for n in group_members(cfg, self.group)}
        self.instances = sorted((i for i in cfg.instances.values()
                                 if i.primary_node in members),
                                key=lambda i: i.name)
        target_uuids = {g.uuid for g in targets}
        self.target_groups = sorted(target_uuids)
        self.targets = sorted(
            (n.name for n in cfg.nodes.values()
             if n.group in target_uuids and n.vm_capable and not n.offline
             and not n.drained))
        if self.instances and not self.targets:
            raise errors.OpPrereqError(
                "No node in group(s) %s can receive instances"
                % ", ".join(sorted(g.name for g in targets)), "wrong_state")

    @inlineCallbacks
    def execute(self):
        op = self.op
        if self.allocator and self.instances:
            answer = yield allocators.run(self.ctx, self.allocator, {
                "type": iallocator.MODE_CHG_GROUP,
                "instances": [i.name for i in self.instances],
                "target_groups": self.target_groups})
            jobs = iallocator.evacuation_jobs(self, answer,
                                              op["early_release"])["jobs"]
        else:
            jobs = [[self._move(instance, index)]
                    for index, instance in enumerate(self.instances)]
        if op["sequential"]:
            for job in jobs[1:]:
                job[0]["depends"] = [[-1, []]]
        returnValue({"jobs": jobs})

    def _move(self, instance, index):
        """:return: the opcode moving C{instance} without an allocator."""
        target = self.targets[index % len(self.targets)]
        if self.op["force_failover"]:
            move = {"OP_ID": "OP_INSTANCE_FAILOVER", "target_node": target}
        else:
            move = {"OP_ID": "OP_INSTANCE_MIGRATE", "target_node": target,
                    "allow_failover": True}
        move["instance_name"] = instance.name
        return move
