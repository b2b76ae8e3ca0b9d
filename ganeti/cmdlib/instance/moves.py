# -*- test-case-name: tests.test_cmdlib_migrate -*-
"""
Moving an instance to another primary node: failover (stop, move, start)
and live migration, for templates whose disks every node reaches (to any
node) and for ``drbd`` (to the secondary, which becomes the primary).
"""


from twisted.internet.defer import inlineCallbacks, succeed

from ganeti import constants, errors, iallocator
from ganeti.cmdlib import allocators
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import call_node, get_node, node_address
from ganeti.cmdlib.instance import drbd as drbdmod
from ganeti.cmdlib.instance.base import (
    InstanceLU, check_usable_node, wrong_input)
from ganeti import locking
from ganeti.disk_templates import MIRRORED_TEMPLATES
from ganeti.params import fill_beparams, instance_nodes, node_disks


#: Disk templates whose disks every node reaches (Ganeti's
#: C{DTS_EXT_MIRROR}, where ``diskless`` counts "trivially"): their
#: instances fail over and migrate to any node given.
EXT_MIRROR_TEMPLATES = ("blockdev", "diskless", "ext", "gluster", "rbd",
                        "sharedfile")

#: Templates whose volumes are opened for I/O apart from being mapped
#: (ExtStorage ``open``/``close``): a live migration opens them shared on
#: both nodes, then exclusive on the target, as Ganeti does.
OPEN_TEMPLATES = ("ext",)

#: Seconds a failover that a migration fell back to waits for a clean
#: shutdown (the default of the failover opcode).
DEFAULT_SHUTDOWN_TIMEOUT = 120

#: Ganeti's answer when neither a node nor an allocator says where to go.
NO_TARGET_MESSAGE = ("No iallocator or node given and no cluster-wide"
                     " default iallocator found; please specify either an"
                     " iallocator or a node, or set a cluster-wide default"
                     " iallocator")


class _MoveInstanceLU(InstanceLU):
    """
    Failover and migration: the instance's primary node changes to
    C{target_node}, whose node lock is held too.

    Both check the instance and the target alike (L{check_move}), and a
    migration falls back to L{fail_over} when the instance is not running
    and the opcode allows it.
    """

    #: The word Ganeti's messages use for this move.
    MOVES = None

    def move_env(self):
        """
        The variables of both moves: the primary before and after (fixed
        when the pre phase ran), and the secondaries, which no template
        here has.
        """
        cfg, before = self._hooks_seen
        target = getattr(self, "target", None)
        return {"OLD_PRIMARY": cfg.nodes[before.primary_node].name,
                "NEW_PRIMARY": target.name if target is not None else None,
                "OLD_SECONDARY": "", "NEW_SECONDARY": ""}

    def target_uuids(self):
        """:return: the target's uuid in a list (none for a cleanup)."""
        target = getattr(self, "target", None)
        return [target.uuid] if target is not None else []

    def needed_locks(self):
        result = LogicalUnit.needed_locks(self)
        result.append((locking.LEVEL_INSTANCE, [self.op["instance_name"]], False))
        instance = self.cfg.instance_by_name(self.op["instance_name"])
        if instance is not None:
            names = {self.cfg.nodes[uuid].name
                     for uuid in instance_nodes(self.cfg, instance)}
            if self.op["target_node"]:
                names.add(self.op["target_node"])
            elif instance.disk_template in MIRRORED_TEMPLATES:
                pass
            else:
                # A cleanup without a target looks for the instance on
                # every node; an allocator may choose any node.
                names = locking.ALL_SET
            self.locked_nodes = names
            result.append((locking.LEVEL_NODE, names if names is locking.ALL_SET
                           else sorted(names), False))
        return result

    def check_move(self):
        """
        Check what every failover and migration needs: a template whose
        disks the target reaches, and a usable target other than the
        primary (unless C{cleanup}, where the target is optional), given
        or chosen by an allocator (a ``relocate`` request).

        Sets C{self.target} (a L{Node} or None); returns a Deferred.
        """
        instance = self.instance
        if (self.locked_nodes is not locking.ALL_SET
                and self.pnode.name not in self.locked_nodes):
            raise errors.OpPrereqError(
                "Instance %s moved to node %s while waiting for locks, please"
                " retry" % (instance.name, self.pnode.name), "wrong_state")
        if instance.disk_template in MIRRORED_TEMPLATES:
            return succeed(self._check_mirrored())
        if instance.disk_template not in EXT_MIRROR_TEMPLATES:
            raise errors.OpPrereqError(
                "Instance's disk layout '%s' does not allow %s"
                % (instance.disk_template, self.MOVES), "wrong_state")
        return self._check_any_target()

    def _check_mirrored(self):
        """A mirrored instance moves to its secondary and nowhere else."""
        snodes = self.snodes
        if not snodes:
            raise errors.ConfigurationError(
                "No secondary node but using %s disk template"
                % self.instance.disk_template)
        self.target = snodes[0]
        op = self.op
        if op["iallocator"] or (op["target_node"] and
                                get_node(self.cfg, op["target_node"]).uuid
                                != self.target.uuid):
            raise wrong_input(
                "Instances with disk template %s cannot be %s to arbitrary"
                " nodes (neither an iallocator nor a target node can be"
                " passed)" % (self.instance.disk_template,
                              "failed over" if self.MOVES == "failovers"
                              else "migrated"))
        if not self.cleanup:
            check_usable_node(self.target)

    @inlineCallbacks
    def _check_any_target(self):
        instance = self.instance
        self.target = None
        allocator = iallocator.choose(self.cfg.cluster, self.op["iallocator"],
                                      self.op["target_node"])
        if allocator and not self.cleanup:
            [name] = yield allocators.run(
                self.ctx, allocator, iallocator.relocate_request(self.cfg,
                                                                 instance))
            self.target = get_node(self.cfg, name)
            self.log_info("Selected nodes for instance %s via iallocator %s:"
                          " %s" % (instance.name, allocator, name))
        elif self.op["target_node"]:
            self.target = get_node(self.cfg, self.op["target_node"])
        elif not self.cleanup:
            raise wrong_input(NO_TARGET_MESSAGE)
        if self.target is None:
            return
        if self.target.uuid == instance.primary_node:
            raise errors.OpPrereqError(
                "Cannot migrate instance %s to its primary (%s)"
                % (instance.name, self.pnode.name), "wrong_state")
        check_usable_node(self.target)

    def check_target_memory(self):
        """The target must have room for the instance's memory."""
        memory = fill_beparams(self.cfg.cluster, self.instance.beparams)["maxmem"]
        return self.check_free_memory(self.target, memory, "migrating instance %s"
                                      % self.instance.name)

    @inlineCallbacks
    def fail_over(self, shutdown_timeout, ignore_consistency):
        """
        Stop the instance on its primary node, switch the primary to the
        target and start it there if it is marked up.

        A source node that cannot stop the instance (dead, offline) stops
        the failover unless C{ignore_consistency} is set or it is offline:
        then the operator vouches that it is down.
        """
        instance, source, target = self.instance, self.pnode, self.target
        mirrored = instance.disk_template in MIRRORED_TEMPLATES
        if mirrored and instance.disks_active:
            yield self._check_target_consistent(ignore_consistency
                                                or source.offline)
        self.feedback("* shutting down instance on source node")
        yield self.stop_to_move(
            shutdown_timeout, ignore_consistency or source.offline,
            "Could not shutdown instance %s on node %s, proceeding anyway;"
            " please make sure node %s is down; error details: %s")
        self.feedback("* deactivating the instance's disks on source node")
        # A mirror is taken down on both sides, so the target's side can
        # become primary.
        yield self.shutdown_disks(
            instance, None if mirrored else [source], ignore_failures=True)
        self.update_instance(primary_node=target.uuid, disks_active=False)
        if instance.admin_state != constants.ADMINST_UP:
            return
        instance = self.instance
        self.feedback("* activating the instance's disks on target node %s"
                      % target.name)
        self.feedback("* starting the instance on the target node %s"
                      % target.name)
        try:
            yield self.start(instance, ignore_secondaries=True)
        except errors.GenericError:
            yield self.shutdown_disks(instance, [target],
                                      ignore_failures=True)
            raise
        self.update_instance(disks_active=True)

    @inlineCallbacks
    def _check_target_consistent(self, ignore):
        """
        The target's side of every mirror must hold good data (Ganeti's
        C{CheckDiskConsistency} on the secondary), unless C{ignore}.
        """
        self.feedback("* checking disk consistency between source and target")
        target = self.target
        statuses = yield call_node(
            self.ctx, target, "drbd_status",
            node_disks(self.cfg, self.instance, target),
            what="Can't get the mirror status",
            prereq=False)
        for index, status in enumerate(statuses):
            if status["ldisk_status"] == "ok":
                continue
            if not ignore:
                raise errors.OpExecError(
                    "Disk %d is degraded on target node, aborting failover."
                    % index if self.MOVES == "failovers" else
                    "Disk %d is degraded or not fully synchronized on target"
                    " node, aborting migration" % index)
            self.log_warning("Disk %d is degraded on target node %s,"
                             " ignoring it" % (index, target.name))


class LUInstanceFailover(_MoveInstanceLU):
    """
    ``gnt-instance failover``: stop the instance, start it on the target.

    ``cleanup`` is accepted, as by Ganeti, and means nothing for a
    failover.
    """

    MOVES = "failovers"
    cleanup = False
    HPATH = "instance-failover"

    def hooks_extra_env(self):
        env = self.move_env()
        env.update(IGNORE_CONSISTENCY=self.op["ignore_consistency"],
                   SHUTDOWN_TIMEOUT=self.op["shutdown_timeout"],
                   FAILOVER_CLEANUP=self.op["cleanup"])
        return env

    def build_hooks_nodes(self):
        # The source hears of it only afterwards (it may be dead).
        cfg, instance = self.cfg, self.instance
        nodes = ([cfg.cluster.master_node] +
                 instance_nodes(cfg, instance)[1:] + self.target_uuids())
        return nodes, nodes + [instance.primary_node]

    @inlineCallbacks
    def check_prereq(self):
        yield self.check_move()
        if self.instance.admin_state == constants.ADMINST_UP:
            yield self.check_target_memory()
        else:
            self.log_info("Not checking memory on the secondary node as"
                          " instance will not be started")

    def execute(self):
        self.feedback("Failover instance %s" % self.instance.name)
        return self.fail_over(self.op["shutdown_timeout"],
                              self.op["ignore_consistency"])


class LUInstanceMigrate(_MoveInstanceLU):
    """
    ``gnt-instance migrate``: move a running instance without stopping it
    (the hypervisor copies its memory), or with ``cleanup`` find where a
    migration that was interrupted left it and record that.

    On any failure before the source lets go, both sides are rolled back:
    the instance keeps running on its primary node and the configuration
    is unchanged.
    """

    MOVES = "migrations"
    HPATH = "instance-migrate"

    def hooks_extra_env(self):
        env = self.move_env()
        env.update(MIGRATE_LIVE=self.live, MIGRATE_CLEANUP=self.op["cleanup"],
                   ALLOW_RUNTIME_CHANGES=self.op["allow_runtime_changes"])
        return env

    def build_hooks_nodes(self):
        cfg = self.cfg
        nodes = ([cfg.cluster.master_node] +
                 instance_nodes(cfg, self.instance) + self.target_uuids())
        return nodes, nodes

    @property
    def cleanup(self):
        return self.op["cleanup"]

    @inlineCallbacks
    def check_prereq(self):
        op, instance = self.op, self.instance
        yield self.check_move()
        if op["live"] is not None and op["mode"] is not None:
            raise wrong_input("Only one of the 'live' and 'mode' parameters are"
                         " accepted")
        if op["live"] is not None:
            mode = "live" if op["live"] else "non-live"
        else:
            mode = op["mode"] or self.node_instance()["hvparams"].get(
                "migration_mode", "live")
        self.live = mode == "live"
        self.failover = False
        if self.cleanup:
            return
        if instance.admin_state != constants.ADMINST_UP and op["allow_failover"]:
            self.log_info("Instance is marked down or offline, fallback"
                          " allowed, switching to failover")
            self.failover = True
        else:
            yield self._check_running()
        if not self.failover or instance.admin_state == constants.ADMINST_UP:
            yield self.check_target_memory()

    @inlineCallbacks
    def _check_running(self):
        """Only a running instance migrates; else fail over, if allowed."""
        try:
            info = yield self.running_info(prereq=True)
            if info is None:
                raise errors.OpPrereqError("Instance %s is not running"
                                           % self.instance.name, "wrong_state")
        except errors.OpPrereqError as e:
            if not self.op["allow_failover"]:
                raise errors.OpPrereqError("Can't migrate, please use failover:"
                                           " %s" % e.args[0], "wrong_state")
            self.log_info("Can't migrate, instance offline, fallback to"
                          " failover")
            self.failover = True

    def execute(self):
        if self.cleanup:
            return self._clean_up()
        if self.failover:
            self.feedback("Failover instance %s" % self.instance.name)
            return self.fail_over(DEFAULT_SHUTDOWN_TIMEOUT, False)
        self.feedback("Migrating instance %s" % self.instance.name)
        return self._migrate()

    @inlineCallbacks
    def _migrate(self):
        instance, source, target = self.instance, self.pnode, self.target
        mirrored = instance.disk_template in MIRRORED_TEMPLATES
        if mirrored:
            yield self._check_target_consistent(False)
            yield self._set_mirror_mode(dual_primary=True)
        spec = self.node_instance(instance)
        address = target.secondary_ip or target.primary_ip
        info = yield call_node(self.ctx, source, "migration_info",
                               instance.name, instance.hypervisor,
                               what="Failed fetching source migration"
                                    " information from %s" % source.name)
        opens = instance.disk_template in OPEN_TEMPLATES
        if opens:
            yield self._open_disks(source, False)
        self.feedback("* preparing %s to accept the instance" % target.name)
        try:
            if opens:
                # Mapped and opened shared: the source still writes.
                devices = yield self._open_disks(target, False)
            else:
                devices = yield self.block_devices(instance, target)
            yield call_node(self.ctx, target, "accept_instance", spec, info,
                            devices, address, what="Pre-migration failed")
        except errors.GenericError as e:
            self.feedback("Pre-migration failed, aborting")
            yield self._release_side(target)
            raise errors.OpExecError("Could not pre-migrate instance %s: %s"
                                     % (instance.name, e))
        self.feedback("* migrating instance to %s" % target.name)
        self.feedback("* starting memory transfer")
        try:
            yield call_node(self.ctx, source, "instance_migrate", spec, address,
                            self.live, what="Migration failed")
        except errors.GenericError as e:
            self.feedback("Migration failed, aborting")
            yield self._abort(spec, info)
            raise errors.OpExecError("Could not migrate instance %s: %s"
                                     % (instance.name, e))
        self.feedback("* memory transfer complete")
        yield self._finalize(source, "instance_finalize_migration_src",
                             instance.name, instance.hypervisor, True)
        self.update_instance(primary_node=target.uuid)
        yield self._finalize(target, "instance_finalize_migration_dst", spec,
                             info, True)
        if mirrored:
            self.feedback("* changing the instance's disks on source node to"
                          " secondary")
            yield self._release_side(source)
        else:
            if opens:
                yield self._close_disks(source)
                yield self._open_disks(target, True)
            self.feedback("* unmapping instance's disks from %s" % source.name)
            yield self._release_side(source)
        self.feedback("* done")

    @inlineCallbacks
    def _open_disks(self, node, exclusive):
        """
        Map (if need be) and open the instance's ``ext`` volumes on
        C{node}, shared while both sides of a migration hold them, as
        Ganeti's C{_OpenInstanceDisks}.

        :return: (Deferred) the disks as assembled there.
        """
        self.feedback("* opening instance disks on node %s in %s mode"
                      % (node.name, "exclusive" if exclusive else "shared"))
        instance = self.instance
        devices = yield call_node(
            self.ctx, node, "blockdev_assemble_all",
            node_disks(self.cfg, instance, node), instance.name, True,
            bool(exclusive),
            what="Cannot open instance disks on node %s" % node.name)
        return devices

    def _close_disks(self, node):
        """``close`` the instance's ``ext`` volumes on C{node}."""
        self.feedback("* closing instance disks on node %s" % node.name)
        return call_node(self.ctx, node, "blockdev_close_all",
                         node_disks(self.cfg, self.instance, node),
                         what="Cannot close instance disks on node %s"
                         % node.name)

    @inlineCallbacks
    def _release_side(self, node):
        """
        The instance no longer runs on C{node}: a mirror's side there
        becomes secondary and the mirror single-primary again; other disks
        are released there.
        """
        instance = self.instance
        if instance.disk_template not in MIRRORED_TEMPLATES:
            yield self.shutdown_disks(instance, [node], ignore_failures=True)
            return
        yield call_node(self.ctx, node, "blockdev_close_all",
                        node_disks(self.cfg, instance, node),
                        what="Cannot change disks to secondary")
        yield self._set_mirror_mode(dual_primary=False)

    @inlineCallbacks
    def _set_mirror_mode(self, dual_primary):
        """
        Reconnect both sides of the mirrors allowing two primaries (for
        the live move) or one, then wait for them to be in sync, as
        Ganeti's migration does.
        """
        instance, cfg = self.instance, self.cfg
        nodes = [cfg.nodes[uuid] for uuid in instance_nodes(cfg, instance)]
        self.feedback("* changing into standalone mode")
        for node in nodes:
            yield call_node(self.ctx, node, "drbd_disconnect_net",
                            node_disks(cfg, instance, node),
                            what="Cannot disconnect disks")
        self.feedback("* changing disks into %s mode"
                      % ("dual-master" if dual_primary else "single-master"))
        for node in nodes:
            yield call_node(self.ctx, node, "drbd_attach_net",
                            node_disks(cfg, instance, node), dual_primary,
                            what="Cannot change disks config")
        self.feedback("* wait until resync is done")
        yield drbdmod.wait_for_sync(self, instance)

    @inlineCallbacks
    def _abort(self, spec, info):
        """
        Undo an accepted migration: the target drops what it prepared, the
        source keeps (and resumes) the instance.  Failures only warn: the
        migration error is what the operator must see.
        """
        instance, source, target = self.instance, self.pnode, self.target
        for node, method, args in (
                (target, "instance_finalize_migration_dst", (spec, info)),
                (source, "instance_finalize_migration_src",
                 (instance.name, instance.hypervisor))):
            try:
                yield call_node(self.ctx, node, method, *args, False)
            except errors.GenericError as e:
                self.log_warning("Rolling back the migration on node %s"
                                 " failed: %s" % (node.name, e))
        yield self._release_side(target)
        if instance.disk_template in OPEN_TEMPLATES:
            try:
                yield self._open_disks(source, True)
            except errors.GenericError as e:
                self.log_warning(str(e))

    def _finalize(self, node, method, *args):
        return call_node(self.ctx, node, method, *args,
                         what="Could not finalize instance migration")

    @inlineCallbacks
    def _clean_up(self):
        """
        Find the node that runs the instance (its primary and the target,
        or every node without a target) and make it the primary.
        """
        instance, pnode = self.instance, self.pnode
        if self.target is not None:
            nodes = [pnode, self.target]
        else:
            nodes = [pnode] + sorted(
                (n for n in self.cfg.nodes.values() if n.uuid != pnode.uuid
                 and not n.offline and n.vm_capable), key=lambda n: n.name)
        self.feedback("* checking where the instance actually runs (if this"
                      " hangs, the hypervisor might be in a bad state)")
        results = yield self.ctx.rpc.call(
            [node_address(n) for n in nodes], "instance_info",
            instance.name, instance.hypervisor)
        running_on = []
        for node in nodes:
            result = results[node.name]
            if not result.ok:
                if node is pnode or node is self.target:
                    raise errors.OpExecError("Can't contact node %s: %s"
                                             % (node.name, result.fail_msg))
                self.log_warning("Can't contact node %s: %s"
                                 % (node.name, result.fail_msg))
            elif result.payload is not None:
                running_on.append(node)
        if len(running_on) > 1:
            raise errors.OpExecError(
                "Instance seems to be running on two nodes, or the hypervisor"
                " is confused; you will have to ensure manually that it runs"
                " only on one and restart this operation")
        if not running_on:
            raise errors.OpExecError(
                "Instance does not seem to be running at all; in this case"
                " it's safer to repair by running 'gnt-instance stop' to"
                " ensure disk shutdown, and then restarting it")
        [node] = running_on
        if node is pnode:
            self.feedback("* instance confirmed to be running on its primary"
                          " node (%s)" % pnode.name)
        else:
            self.feedback("* instance running on secondary node (%s),"
                          " updating config" % node.name)
            self.update_instance(primary_node=node.uuid)
        self.feedback("* done")
