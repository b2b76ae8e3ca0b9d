# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
Node logical units: adding, removing and changing nodes, and the
node-wide queries that are jobs in Ganeti (OS diagnosis, storage units,
volumes).
"""

import uuid as uuidmod

import attrs
from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import constants, errors, hooks, iallocator, params as paramsmod
from ganeti.config import touched
from ganeti.disk_templates import MIRRORED_TEMPLATES
from ganeti.cmdlib import allocators
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import call_node, get_node, node_address
from ganeti.cmdlib.instance.moves import NO_TARGET_MESSAGE
from ganeti.cmdlib.live import default_storage_type, diagnose_os
from ganeti import locking
from ganeti.objects import Node
from ganeti.params import instance_nodes, secondary_nodes
from ganeti.query.node import OS_FIELDS, OsContext
from ganeti.storage_units import (
    MODIFIABLE_STORAGE_FIELDS, SF_ALLOCATABLE, SO_FIX_CONSISTENCY,
    STORAGE_FIELDS, STORAGE_TYPE_TEMPLATES, VALID_STORAGE_OPERATIONS)

VOLUME_FIELDS = ("node", "phys", "vg", "name", "size", "instance")


class LUOsDiagnose(LogicalUnit):
    """The OS definitions of all nodes (``gnt-os list/diagnose``)."""

    @inlineCallbacks
    def execute(self):
        entries = yield diagnose_os(self.ctx, self.cfg)
        names = self.op["names"]
        if names:
            entries = [e for e in entries if e["name"] in names]
        cluster = self.cfg.cluster
        entries = [e for e in entries if e["valid"] or "valid" in self.op["output_fields"]
                   or "node_status" in self.op["output_fields"]]
        result = OS_FIELDS.query(OsContext(cluster), entries,
                                 self.op["output_fields"])
        returnValue([[cell[1] for cell in row] for row in result["data"]])


def _nodes(cfg, names):
    if names:
        return [get_node(cfg, name) for name in names]
    return sorted((n for n in cfg.nodes.values() if not n.offline),
                  key=lambda n: n.name)


class _FieldsLU(LogicalUnit):
    """A query whose C{output_fields} must be among C{FIELDS}."""

    FIELDS = ()

    def check_prereq(self):
        unknown = [f for f in self.op["output_fields"] if f not in self.FIELDS]
        if unknown:
            raise errors.OpPrereqError("Unknown output fields selected: %s"
                                       % ", ".join(unknown), "wrong_input")


def check_storage_type_enabled(cluster, storage_type):
    """
    Ganeti acts only on storage units of a kind the cluster uses, so a
    typo'd or unused storage type fails before any node is asked.

    :raise OpPrereqError: for an unknown storage type, or one none of whose
        disk templates is enabled.
    """
    if storage_type not in STORAGE_TYPE_TEMPLATES:
        raise errors.OpPrereqError("Unknown storage type: %s" % storage_type,
                                   "wrong_input")
    enabled = cluster.enabled_disk_templates
    if not set(STORAGE_TYPE_TEMPLATES[storage_type]) & set(enabled):
        raise errors.OpPrereqError(
            "No disk template of storage type '%s' is enabled in this"
            " cluster. Enabled disk templates are: %s"
            % (storage_type, ",".join(enabled)), "wrong_state")


class LUNodeQueryStorage(_FieldsLU):
    """``gnt-node list-storage`` (and the RAPI's ``/2/nodes/<n>/storage``)."""

    FIELDS = STORAGE_FIELDS

    def check_prereq(self):
        super().check_prereq()
        storage_type = self.op["storage_type"]
        if storage_type:
            check_storage_type_enabled(self.cfg.cluster, storage_type)
        else:
            storage_type = default_storage_type(self.cfg.cluster)
        if storage_type is None:
            raise errors.OpPrereqError("No storage type could be derived from"
                                       " the enabled disk templates", "wrong_input")
        self.storage_type = storage_type
        self.nodes = _nodes(self.cfg, self.op["nodes"])

    @inlineCallbacks
    def execute(self):
        storage_type, nodes = self.storage_type, self.nodes
        results = yield self.ctx.rpc.call([node_address(n) for n in nodes],
                                          "storage_list", storage_type,
                                          self.op["name"])
        rows = []
        for node in nodes:
            result = results[node.name]
            if not result.ok:
                self.log_warning("Can't get storage data from node %s: %s"
                                 % (node.name, result.fail_msg))
                continue
            for unit in sorted(result.payload, key=lambda u: u.get("name") or ""):
                unit = dict(unit, node=node.name, type=storage_type)
                rows.append([unit.get(f) for f in self.op["output_fields"]])
        returnValue(rows)


class LUNodeQueryvols(_FieldsLU):
    """``gnt-node volumes``: logical volumes and who uses them."""

    FIELDS = VOLUME_FIELDS

    @inlineCallbacks
    def execute(self):
        cfg = self.cfg
        owners = {}
        for instance in cfg.instances.values():
            for uuid in instance.disks:
                disk = cfg.disks.get(uuid)
                if disk is not None and disk.dev_type == "plain":
                    owners[tuple(disk.logical_id)] = instance.name
        nodes = _nodes(cfg, self.op["nodes"])
        results = yield self.ctx.rpc.call([node_address(n) for n in nodes],
                                          "node_volumes")
        rows = []
        for node in nodes:
            result = results[node.name]
            if not result.ok:
                self.log_warning("Can't compute volume data on node %s: %s"
                                 % (node.name, result.fail_msg))
                continue
            # By physical device, as Ganeti lists them.
            for volume in sorted(result.payload,
                                 key=lambda v: (v.get("dev") or "", v["name"])):
                values = {"node": node.name, "phys": volume.get("dev"),
                          "vg": volume.get("vg"), "name": volume["name"],
                          "size": volume.get("size"),
                          "instance": owners.get((volume.get("vg"),
                                                  volume["name"]), "-")}
                rows.append([values[f] for f in self.op["output_fields"]])
        returnValue(rows)


class _StorageUnitLU(LogicalUnit):
    """
    Acts on one storage unit of one node, which stays locked meanwhile so
    that two LVM changes on it never race.

    :cvar VERB: what the LU does to the unit, for its failure message.
    :cvar METHOD: the node RPC method; called with the storage type, the
        unit's name and L{node_argument}.
    """

    VERB = None
    METHOD = None

    def needed_locks(self):
        result = super().needed_locks()
        result.append((locking.LEVEL_NODE, [self.op["node_name"]], False))
        return result

    def check_arguments(self):
        """
        :raise OpPrereqError: for what this LU can never do with the
            opcode's storage type.
        """
        raise NotImplementedError

    def node_argument(self):
        """:return: the last argument of L{METHOD}."""
        raise NotImplementedError

    def check_prereq(self):
        op = self.op
        self.node = get_node(self.cfg, op["node_name"])
        self.check_arguments()
        if not op["name"]:
            raise errors.OpPrereqError("No storage unit name given",
                                       "wrong_input")
        check_storage_type_enabled(self.cfg.cluster, op["storage_type"])

    def execute(self):
        op = self.op
        d = call_node(self.ctx, self.node, self.METHOD, op["storage_type"],
                      op["name"], self.node_argument(),
                      what="Failed to %s storage unit '%s'"
                      % (self.VERB, op["name"]))
        return d.addCallback(lambda _: None)


class LUNodeModifyStorage(_StorageUnitLU):
    """
    ``gnt-node modify-storage``: only an LVM physical volume's
    C{allocatable} flag can change (taking a failing disk out of
    allocation before evacuating it).
    """

    VERB = "modify"
    METHOD = "storage_modify"

    def check_arguments(self):
        storage_type, changes = self.op["storage_type"], self.op["changes"]
        modifiable = MODIFIABLE_STORAGE_FIELDS.get(storage_type)
        if modifiable is None:
            raise errors.OpPrereqError("Storage units of type '%s' can not be"
                                       " modified" % storage_type, "wrong_input")
        unknown = sorted(set(changes) - modifiable)
        if unknown:
            raise errors.OpPrereqError(
                "The following fields can not be modified for storage units"
                " of type '%s': %r" % (storage_type, unknown), "wrong_input")
        if not changes:
            raise errors.OpPrereqError("No changes to perform", "wrong_input")
        if not isinstance(changes.get(SF_ALLOCATABLE, False), bool):
            raise errors.OpPrereqError(
                "The '%s' change must be true or false, not %r"
                % (SF_ALLOCATABLE, changes[SF_ALLOCATABLE]), "wrong_input")

    def node_argument(self):
        return self.op["changes"]


class LURepairNodeStorage(_StorageUnitLU):
    """
    ``gnt-node repair-storage``: only an LVM volume group can be repaired,
    by dropping its missing physical volumes.

    Ganeti first checks that no instance with active disks here has faulty
    mirrors on its other nodes (C{ignore_consistency} turns that into a
    warning).  Every disk template supported here keeps an instance's disks
    on one node, so there is no mirror to check.
    """

    VERB = "repair"
    METHOD = "storage_execute"

    def check_arguments(self):
        storage_type = self.op["storage_type"]
        if SO_FIX_CONSISTENCY not in VALID_STORAGE_OPERATIONS.get(storage_type,
                                                                  ()):
            raise errors.OpPrereqError("Storage units of type '%s' can not be"
                                       " repaired" % storage_type, "wrong_input")

    def node_argument(self):
        return SO_FIX_CONSISTENCY

    def execute(self):
        self.feedback("Repairing storage unit '%s' on %s ..."
                      % (self.op["name"], self.node.name))
        return super().execute()


def _candidate_count(cfg, exclude=None):
    return sum(1 for n in cfg.nodes.values()
               if n.master_candidate and n.uuid != exclude)


class LUNodeAdd(LogicalUnit):
    """
    ``gnt-node add``: the tool has already put the cluster's certificate
    and files on the node and started its daemon; this checks the node
    answers as a member and records it.
    """

    BGL_SHARED = False
    HPATH = "node-add"
    HTYPE = hooks.HTYPE_NODE

    def build_hooks_env(self):
        op = self.op
        return {"OP_TARGET": op["node_name"], "NODE_NAME": op["node_name"],
                "NODE_PIP": op["primary_ip"],
                "NODE_SIP": op["secondary_ip"] or op["primary_ip"],
                "MASTER_CAPABLE": _default_true(op["master_capable"]),
                "VM_CAPABLE": _default_true(op["vm_capable"])}

    def build_hooks_nodes(self):
        # The existing nodes; the new one joins them after (a re-added
        # node is not asked before).
        added = self.cfg.node_by_name(self.op["node_name"])
        nodes = [uuid for uuid in self.cfg.nodes
                 if added is None or uuid != added.uuid]
        return nodes, nodes

    def prepare_post_hook_nodes(self, node_uuids):
        added = self.cfg.node_by_name(self.op["node_name"])
        return node_uuids + ([added.uuid] if added is not None else [])

    @inlineCallbacks
    def check_prereq(self):
        op, cfg = self.op, self.cfg
        name = op["node_name"]
        existing = cfg.node_by_name(name)
        if existing is not None and not op["readd"]:
            raise errors.OpPrereqError("Node %s is already in the configuration"
                                       % name, "already_exists")
        if existing is None and op["readd"]:
            raise errors.OpPrereqError("Node %s is not in the configuration"
                                       % name, "noent")
        if existing is not None and existing.uuid == cfg.cluster.master_node:
            raise errors.OpPrereqError("The master node cannot be re-added",
                                       "wrong_input")
        ip = op["primary_ip"]
        if not ip:
            raise errors.OpPrereqError("The node's primary IP is needed",
                                       "wrong_input")
        for other in cfg.nodes.values():
            if other.name != name and ip in (other.primary_ip, other.secondary_ip):
                raise errors.OpPrereqError(
                    "New node ip address(es) conflict with existing node %s"
                    % other.name, "not_unique")
        group_name = op["group"] or constants.DEFAULT_NODEGROUP
        group = cfg.group_by_name(group_name)
        if group is None:
            raise errors.OpPrereqError("Node group '%s' not found" % group_name,
                                       "noent")
        self.group = group
        self.existing = existing
        results = yield self.ctx.rpc.call([(name, ip)], "version")
        answer = results[name]
        if not answer.ok:
            raise errors.OpPrereqError(
                "Node %s does not answer as a cluster member (is its daemon"
                " running with the cluster certificate?): %s"
                % (name, answer.fail_msg), "environment_error")
        if answer.payload != constants.PROTOCOL_VERSION:
            raise errors.OpPrereqError(
                "Version mismatch master version %s, node version %s"
                % (constants.PROTOCOL_VERSION, answer.payload), "wrong_state")

    def execute(self):
        op = self.op
        name = op["node_name"]
        now = self.ctx.reactor.seconds()
        master_capable = _default_true(op["master_capable"])
        vm_capable = _default_true(op["vm_capable"])

        def change(cfg):
            nodes = dict(cfg.nodes)
            candidate = master_capable and (
                _candidate_count(cfg) < cfg.cluster.candidate_pool_size)
            if self.existing is not None:
                node = touched(
                    self.existing, now, primary_ip=op["primary_ip"],
                    secondary_ip=op["secondary_ip"] or op["primary_ip"],
                    offline=False, drained=False, master_candidate=candidate,
                    master_capable=master_capable, vm_capable=vm_capable)
            else:
                uuid = str(uuidmod.uuid4())
                node = Node(name=name, uuid=uuid, primary_ip=op["primary_ip"],
                            secondary_ip=op["secondary_ip"] or op["primary_ip"],
                            group=self.group.uuid, master_candidate=candidate,
                            master_capable=master_capable, vm_capable=vm_capable,
                            ndparams=paramsmod.force_types(
                                op["ndparams"] or {}, constants.ND_DEFAULTS,
                                "node"), ctime=now,
                            mtime=now)
            nodes[node.uuid] = node
            return attrs.evolve(cfg, nodes=nodes)
        self.ctx.config.update(change)
        if self.existing is not None:
            self.feedback("Readded node %s" % name)


def _default_true(flag):
    """:return: an optional flag's value, True when not given."""
    return True if flag is None else flag


class LUNodeRemove(LogicalUnit):
    """``gnt-node remove``: a node without instances leaves the cluster."""

    BGL_SHARED = False
    HPATH = "node-remove"
    HTYPE = hooks.HTYPE_NODE

    def build_hooks_env(self):
        name = self.op["node_name"]
        return {"OP_TARGET": name, "NODE_NAME": name}

    def build_hooks_nodes(self):
        # A node that is failing could never be removed if it could veto.
        nodes = [uuid for uuid in self.cfg.nodes if uuid != self.node.uuid]
        return nodes, nodes

    def check_prereq(self):
        cfg = self.cfg
        node = get_node(cfg, self.op["node_name"])
        if node.uuid == cfg.cluster.master_node:
            raise errors.OpPrereqError(
                "Node is the master node, failover to another node is"
                " required", "wrong_input")
        # A mirror's secondary holds the instance's data too.
        used = sorted(i.name for i in cfg.instances.values()
                      if node.uuid in instance_nodes(cfg, i))
        if used:
            raise errors.OpPrereqError("Instance %s is still running on the node,"
                                       " please remove first" % used[0],
                                       "wrong_input")
        self.node = node

    @inlineCallbacks
    def execute(self):
        node = self.node
        self.feedback("Removing node %s" % node.name)

        def change(cfg):
            nodes = dict(cfg.nodes)
            nodes.pop(node.uuid, None)
            return attrs.evolve(cfg, nodes=nodes)
        self.ctx.config.update(change)
        # Its own post hooks run before it leaves (as in Ganeti).
        yield self.run_post_hook(node)
        if not node.offline:
            results = yield self.ctx.rpc.call([(node.name, node.primary_ip)],
                                              "node_leave_cluster")
            if not results[node.name].ok:
                self.log_warning("Errors encountered on the remote node while"
                                 " leaving the cluster: %s"
                                 % results[node.name].fail_msg)


class LUNodeSetParams(LogicalUnit):
    """``gnt-node modify``: roles and capabilities."""

    BGL_SHARED = False
    HPATH = "node-modify"
    HTYPE = hooks.HTYPE_NODE

    def build_hooks_env(self):
        op = self.op
        return {"OP_TARGET": op["node_name"],
                "MASTER_CANDIDATE": op["master_candidate"],
                "OFFLINE": op["offline"], "DRAINED": op["drained"],
                "MASTER_CAPABLE": op["master_capable"],
                "VM_CAPABLE": op["vm_capable"]}

    def build_hooks_nodes(self):
        nodes = [self.cfg.cluster.master_node, self.node.uuid]
        return nodes, nodes

    def check_prereq(self):
        op, cfg = self.op, self.cfg
        node = get_node(cfg, op["node_name"])
        flags = [f for f in ("master_candidate", "offline", "drained") if op[f]]
        if len(flags) > 1:
            raise errors.OpPrereqError(
                "Can't set the node into more than one state at the same time",
                "wrong_input")
        changes = {}
        for key in ("master_candidate", "offline", "drained", "master_capable",
                    "vm_capable", "secondary_ip"):
            if op[key] is not None:
                changes[key] = op[key]
        if op["ndparams"] is not None:
            # Typed (``exclusive_storage=True`` arrives as text), and a
            # None value drops the node's own so the group's applies.
            from ganeti.cmdlib.group import update_custom
            changes["ndparams"] = update_custom(
                node.ndparams, op["ndparams"], constants.ND_DEFAULTS, "node")
        if not changes:
            raise errors.OpPrereqError("Please pass at least one modification",
                                       "wrong_input")
        if node.uuid == cfg.cluster.master_node and (
                op["offline"] or op["drained"] or op["master_candidate"] is False):
            raise errors.OpPrereqError("The master role can be changed only via"
                                       " master failover", "wrong_input")
        if op["offline"] or op["drained"] or op["master_capable"] is False:
            changes["master_candidate"] = False
        if changes.get("master_candidate") is True and not changes.get(
                "master_capable", node.master_capable):
            raise errors.OpPrereqError("Node %s is not master capable"
                                       % node.name, "wrong_state")
        if node.master_candidate and changes.get("master_candidate") is False \
                and not op["auto_promote"] and \
                _candidate_count(cfg, exclude=node.uuid) < \
                min(cfg.cluster.candidate_pool_size, len(cfg.nodes) - 1):
            raise errors.OpPrereqError(
                "Not enough master candidates (desired %d, new value will be"
                " %d), use --auto-promote" % (
                    cfg.cluster.candidate_pool_size,
                    _candidate_count(cfg, exclude=node.uuid)), "wrong_state")
        self.node, self.changes = node, changes

    def execute(self):
        self.ctx.config.update_object("nodes", self.node.uuid, **self.changes)
        if self.op["auto_promote"] and self.changes.get("master_candidate") is False:
            cfg = self.cfg
            for other in sorted(cfg.nodes.values(), key=lambda n: n.name):
                if _candidate_count(cfg) >= cfg.cluster.candidate_pool_size:
                    break
                if not other.master_candidate and other.master_capable \
                        and not other.offline and not other.drained \
                        and other.uuid != self.node.uuid:
                    self.ctx.config.update_object("nodes", other.uuid,
                                                  master_candidate=True)
                    cfg = self.cfg
        return [[key, value] for key, value in sorted(self.changes.items())]


def _primary_instances(cfg, node):
    """:return: the instances whose primary node is C{node}, by name."""
    return sorted((i for i in cfg.instances.values()
                   if i.primary_node == node.uuid), key=lambda i: i.name)


def _secondary_instances(cfg, node):
    """:return: the instances with C{node} as a secondary, by name."""
    return sorted((i for i in cfg.instances.values()
                   if node.uuid in secondary_nodes(cfg, i)),
                  key=lambda i: i.name)


def _mirrored(instance):
    return instance.disk_template in MIRRORED_TEMPLATES


class _InstanceJobsLU(LogicalUnit):
    """
    Moves a node's instances by handing back one instance job each (the
    job runner submits them), as Ganeti's node migrate and evacuate do:
    each instance then takes its own locks and fails on its own.
    """

    def needed_locks(self):
        result = super().needed_locks()
        result.append((locking.LEVEL_NODE, [self.op["node_name"]], True))
        return result

    #: The instance allocator choosing targets (set by L{check_target}).
    allocator = None

    def check_target(self, name):
        """
        Sets C{self.allocator} when an allocator (given, or the cluster's
        default when no node is) chooses the targets.

        :return: the node instances go to, None when the allocator chooses.
        :raise OpPrereqError: if neither is given or the node is the one
            being emptied.
        """
        self.allocator = iallocator.choose(self.cfg.cluster,
                                           self.op["iallocator"], name)
        if self.allocator:
            return None
        if not name:
            raise errors.OpPrereqError(NO_TARGET_MESSAGE, "wrong_input")
        target = get_node(self.cfg, name)
        if target.uuid == self.node.uuid:
            raise errors.OpPrereqError("Can not use evacuated node as a new"
                                       " secondary node", "wrong_input")
        return target

    def migrate_jobs(self, **params):
        """
        :return: the result handing back one migrate job per instance; a
            mirrored instance goes to its secondary, so it gets neither
            target nor allocator.
        """
        def job(instance):
            own = dict(params)
            if _mirrored(instance):
                own.update(target_node=None, iallocator=None)
            return [dict({"OP_ID": "OP_INSTANCE_MIGRATE",
                          "instance_name": instance.name}, **own)]
        return {"jobs": [job(instance) for instance in self.instances]}


class LUNodeMigrate(_InstanceJobsLU):
    """``gnt-node migrate``: migrate every primary instance of a node."""

    HPATH = "node-migrate"
    HTYPE = hooks.HTYPE_NODE

    def build_hooks_env(self):
        return {"NODE_NAME": self.op["node_name"],
                "ALLOW_RUNTIME_CHANGES": self.op["allow_runtime_changes"]}

    def build_hooks_nodes(self):
        nodes = [self.cfg.cluster.master_node]
        return nodes, nodes

    def check_prereq(self):
        self.node = get_node(self.cfg, self.op["node_name"])
        self.instances = _primary_instances(self.cfg, self.node)
        if any(not _mirrored(i) for i in self.instances):
            self.check_target(self.op["target_node"])

    def execute(self):
        op = self.op
        return self.migrate_jobs(
            mode=op["mode"], live=op["live"], target_node=op["target_node"],
            iallocator=self.allocator,
            allow_runtime_changes=op["allow_runtime_changes"],
            ignore_ipolicy=op["ignore_ipolicy"])


class LUNodeEvacuate(_InstanceJobsLU):
    """
    ``gnt-node evacuate``: move a node's instances to C{remote_node}.

    Mirrored instances with the node as secondary get a new secondary
    there (``replace-disks -n``), as in Ganeti.  Primary instances are
    migrated there, failed over when not running (Ganeti's allocator
    plans the same); a mirrored one moves to its secondary and then gets
    the given node as its new secondary.  Without an allocator Ganeti
    moves only secondaries to a given node; here the given node receives
    the primaries too.  With one, its ``node-evacuate`` answer's jobs are
    handed back.
    """

    def check_prereq(self):
        from ganeti.opcodes import NODE_EVAC_PRI, NODE_EVAC_SEC
        cfg, mode = self.cfg, self.op["mode"]
        self.node = get_node(cfg, self.op["node_name"])
        self.target = self.check_target(self.op["remote_node"])
        self.instances = [] if mode == NODE_EVAC_SEC else \
            _primary_instances(cfg, self.node)
        self.secondaries = [] if mode == NODE_EVAC_PRI else \
            _secondary_instances(cfg, self.node)

    def _replace_secondary(self, instance):
        return {"OP_ID": "OP_INSTANCE_REPLACE_DISKS",
                "instance_name": instance.name,
                "mode": "replace_new_secondary",
                "remote_node": self.target.name,
                "early_release": self.op["early_release"]}

    @inlineCallbacks
    def execute(self):
        if self.allocator is None:
            result = self.migrate_jobs(target_node=self.target.name,
                                       allow_failover=True)
            for job, instance in zip(result["jobs"], self.instances):
                if _mirrored(instance):
                    job.append(self._replace_secondary(instance))
            result["jobs"] += [[self._replace_secondary(instance)]
                               for instance in self.secondaries]
            returnValue(result)
        instances = self.instances + self.secondaries
        if not instances:
            returnValue({"jobs": []})
        result = yield allocators.run(self.ctx, self.allocator, {
            "type": iallocator.MODE_NODE_EVAC, "evac_mode": self.op["mode"],
            "instances": [i.name for i in instances]})
        returnValue(iallocator.evacuation_jobs(self, result,
                                               self.op["early_release"]))
