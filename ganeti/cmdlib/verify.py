# -*- test-case-name: tests.test_cmdlib_cluster_ops -*-
"""
``gnt-cluster verify``: one job checks the config, one job per node group
checks its nodes.  Findings are reported as job log lines in Ganeti's
format, and a job's result is False when it found an error.
"""

import hashlib
import os
import re

from twisted.internet.defer import (
    DeferredList, gatherResults, inlineCallbacks, maybeDeferred)

from ganeti import config as configmod
from ganeti import constants, errors, hooks, ssconf
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import node_address
from ganeti.cmdlib.network import pool_problems
from ganeti.cmdlib.live import live_instances
from ganeti.params import (
    annotated_disk, exclusive_storage, fill_beparams, instance_disks,
    instance_nodes, secondary_nodes)
from ganeti.query.node import node_drbd_minors

ERROR = "ERROR"
WARNING = "WARNING"

# (object type, code) pairs, named as Ganeti's verify error codes.
ECLUSTERCFG = ("cluster", "ECLUSTERCFG")
ECLUSTERCERT = ("cluster", "ECLUSTERCERT")
ECLUSTERDANGLINGNODES = ("node", "ECLUSTERDANGLINGNODES")
ECLUSTERDANGLINGINST = ("instance", "ECLUSTERDANGLINGINST")
ENODEFILECHECK = ("node", "ENODEFILECHECK")
ENODEHV = ("node", "ENODEHV")
ENODEFILESTORAGEPATHUNUSABLE = ("node", "ENODEFILESTORAGEPATHUNUSABLE")
ENODESHAREDFILESTORAGEPATHUNUSABLE = ("node", "ENODESHAREDFILESTORAGEPATHUNUSABLE")
ENODEVERSION = ("node", "ENODEVERSION")
ENODERPC = ("node", "ENODERPC")
ENODETIME = ("node", "ENODETIME")
ENODEHOOKS = ("node", "ENODEHOOKS")
ENODESSH = ("node", "ENODESSH")
ENODELVM = ("node", "ENODELVM")
ENODEORPHANLV = ("node", "ENODEORPHANLV")
EGROUPDIFFERENTPVSIZE = ("group", "EGROUPDIFFERENTPVSIZE")
EINSTANCEMISSINGDISK = ("instance", "EINSTANCEMISSINGDISK")
EINSTANCEUNSUITABLENODE = ("instance", "EINSTANCEUNSUITABLENODE")
EINSTANCEMISSINGCFGPARAMETER = ("instance", "EINSTANCEMISSINGCFGPARAMETER")
ENODEDRBD = ("node", "ENODEDRBD")
ENODEDRBDHELPER = ("node", "ENODEDRBDHELPER")
ENODEN1 = ("node", "ENODEN1")
EINSTANCEFAULTYDISK = ("instance", "EINSTANCEFAULTYDISK")
EINSTANCEBADNODE = ("instance", "EINSTANCEBADNODE")

#: Seconds of clock difference verify tolerates (Ganeti's NODE_MAX_CLOCK_SKEW).
MAX_CLOCK_SKEW = 150
ENODEORPHANINSTANCE = ("node", "ENODEORPHANINSTANCE")
EINSTANCEDOWN = ("instance", "EINSTANCEDOWN")
EINSTANCEWRONGNODE = ("instance", "EINSTANCEWRONGNODE")


class _VerifyLU(LogicalUnit):
    """Collects findings and formats them as Ganeti does."""

    def execute(self):
        self.bad = False
        d = maybeDeferred(self.run_checks)
        return d.addCallback(lambda _: not self.bad)

    def report(self, code, item, message, level=ERROR):
        """Log one finding; errors (not warnings) make the job's result False."""
        object_type, ecode = code
        if ecode in self.op["ignore_errors"]:
            level = WARNING
        if self.op["error_codes"]:
            line = "  - %s:%s:%s:%s:%s" % (level, ecode, object_type, item or "",
                                            message)
        else:
            line = "  - %s: %s%s: %s" % (level, object_type,
                                         " %s" % item if item else "", message)
        self.feedback(line)
        if level == ERROR:
            self.bad = True

    def report_if(self, condition, code, item, message, level=ERROR):
        """L{report} when C{condition} holds (or errors are simulated)."""
        if condition or self.op["debug_simulate_errors"]:
            self.report(code, item, message, level)


class LUClusterVerify(LogicalUnit):
    """Submits the config check and one check per node group."""

    def execute(self):
        jobs = [[{"OP_ID": "OP_CLUSTER_VERIFY_CONFIG",
                  "ignore_errors": self.op["ignore_errors"],
                  "error_codes": self.op["error_codes"],
                  "debug_simulate_errors": self.op["debug_simulate_errors"],
                  "verbose": self.op["verbose"]}]]
        groups = sorted(self.cfg.nodegroups.values(), key=lambda g: g.name)
        if self.op.get("group_name"):
            groups = [g for g in groups if g.name == self.op["group_name"]]
            if not groups:
                raise errors.OpPrereqError("Node group '%s' not found"
                                           % self.op["group_name"], "noent")
            jobs = []
        for group in groups:
            jobs.append([{
                "OP_ID": "OP_CLUSTER_VERIFY_GROUP", "group_name": group.name,
                "ignore_errors": self.op["ignore_errors"],
                "error_codes": self.op["error_codes"],
                "debug_simulate_errors": self.op["debug_simulate_errors"],
                "skip_checks": self.op["skip_checks"],
                "verbose": self.op["verbose"],
                "verify_clutter": self.op["verify_clutter"],
                "depends": [[-len(jobs), []]] if jobs else None}])
        return {"jobs": jobs}


class LUClusterVerifyConfig(_VerifyLU):
    """Consistency of the configuration itself."""

    def run_checks(self):
        cfg = self.cfg
        self.feedback("* Verifying cluster config")
        for message in config_problems(cfg):
            self.report(ECLUSTERCFG, None, message)
        self.feedback("* Verifying cluster certificate files")
        server_pem = self.ctx.paths.server_pem
        self.report_if(not os.path.exists(server_pem), ECLUSTERCERT, None,
                       "%s is missing" % server_pem)
        self.feedback("* Verifying hypervisor parameters")
        for hv in cfg.cluster.enabled_hypervisors:
            known = constants.HV_DEFAULTS.get(hv, {})
            unknown = sorted(set(cfg.cluster.hvparams.get(hv, {})) - set(known))
            self.report_if(unknown, ECLUSTERCFG, None,
                           "hypervisor %s has unknown parameters: %s"
                           % (hv, ", ".join(unknown)))
        self.feedback("* Verifying all nodes belong to an existing group")
        for node in cfg.nodes.values():
            self.report_if(node.group not in cfg.nodegroups,
                           ECLUSTERDANGLINGNODES, None,
                           "node %s belongs to a non-existing group" % node.name)
        for inst in cfg.instances.values():
            self.report_if(inst.primary_node not in cfg.nodes,
                           ECLUSTERDANGLINGINST, None,
                           "instance %s has a non-existing primary node"
                           % inst.name)


def config_problems(cfg):
    """
    :return: human messages for inconsistencies in a L{ConfigData}.
    """
    problems = []
    cluster = cfg.cluster
    if cluster.master_node not in cfg.nodes:
        problems.append("master node %s is not in the node list"
                        % cluster.master_node)
    if cluster.default_hypervisor not in cluster.enabled_hypervisors:
        problems.append("default hypervisor %s is not enabled"
                        % cluster.default_hypervisor)
    for hv in cluster.enabled_hypervisors:
        if hv not in constants.HYPERVISORS:
            problems.append("enabled hypervisor %s is unknown" % hv)
    for template in cluster.enabled_disk_templates:
        if template not in constants.DISK_TEMPLATES:
            problems.append("enabled disk template %s is unknown" % template)
    names = {}
    for node in cfg.nodes.values():
        if node.name in names:
            problems.append("duplicate node name %s" % node.name)
        names[node.name] = node
    candidates = [n for n in cfg.nodes.values() if n.master_candidate]
    if not candidates:
        problems.append("there are no master candidates")
    for inst in cfg.instances.values():
        for disk_uuid in inst.disks:
            if disk_uuid not in cfg.disks:
                problems.append("instance %s has a non-existing disk %s"
                                % (inst.name, disk_uuid))
    return problems + pool_problems(cfg)


class LUClusterVerifyGroup(_VerifyLU):
    """
    The nodes of one group: files, storage paths, hypervisors, and what
    the ``cluster-verify`` post hooks on them say (a failed script is a
    verify error, as in Ganeti).
    """

    HPATH = "cluster-verify"
    HTYPE = hooks.HTYPE_CLUSTER

    def _group_nodes(self):
        group = self.cfg.group_by_name(self.op["group_name"])
        if group is None:
            return []
        return sorted((n for n in self.cfg.nodes.values()
                       if n.group == group.uuid), key=lambda n: n.name)

    def build_hooks_env(self):
        env = {"CLUSTER_TAGS": " ".join(self.cfg.cluster.tags)}
        for node in self._group_nodes():
            env["NODE_TAGS_%s" % node.name] = " ".join(node.tags)
        return env

    #: Uuids of the group's nodes that did not answer (set by the checks).
    _silent = frozenset()

    def build_hooks_nodes(self):
        return [], [n.uuid for n in self._group_nodes()]

    def prepare_post_hook_nodes(self, node_uuids):
        # A node already reported unreachable is not asked again: its
        # hooks call would wait out the hooks' long timeout.
        return [uuid for uuid in node_uuids if uuid not in self._silent]

    def hooks_callback(self, phase, results, result):
        """The post scripts' failures become verify errors."""
        if phase != hooks.PHASE_POST or not self._group_nodes():
            return result
        self.feedback("* Hooks Results")
        for name in sorted(results):
            answer = results[name]
            if not answer.ok:
                self.report(ENODEHOOKS, name,
                            "Communication failure in hooks execution: %s"
                            % answer.fail_msg)
                result = False
                continue
            for script, status, output in answer.payload:
                if status != hooks.HKR_FAIL:
                    continue
                self.report(ENODEHOOKS, name,
                            "Script %s failed, output:" % script)
                self.feedback("\n".join("      " + line
                                         for line in output.split("\n")))
                result = False
        return result

    @inlineCallbacks
    def run_checks(self):
        cfg = self.cfg
        group = cfg.group_by_name(self.op["group_name"])
        if group is None:
            self.report(ECLUSTERCFG, None,
                        "node group %s does not exist" % self.op["group_name"])
            return
        nodes = sorted((n for n in cfg.nodes.values() if n.group == group.uuid),
                       key=lambda n: n.name)
        self.feedback("* Verifying group '%s'" % group.name)
        if not nodes:
            self.feedback("* Empty node group, skipping verification")
            return
        self.feedback("* Gathering data (%d nodes)" % len(nodes))
        online = [n for n in nodes if not n.offline]
        versions = yield self.ctx.rpc.call(
            [node_address(n) for n in online], "version")
        # Nodes that did not answer the short version call are not asked
        # again: a dead node costs one timeout, not one per check.
        answering = [n for n in online if versions[n.name].ok]
        self._silent = frozenset(n.uuid for n in online
                                 if not versions[n.name].ok)
        self.vg_name = cfg.cluster.volume_group_name or None
        self.exclusive = {n.uuid: exclusive_storage(cfg, n) for n in nodes}
        self.drbd = "drbd" in cfg.cluster.enabled_disk_templates
        reports = yield self._node_verify(cfg, answering)
        started = self.ctx.reactor.seconds()
        live = yield live_instances(self.ctx, cfg, {n.uuid for n in answering})
        # Nodes whose verify call failed, as Ganeti's rpc_fail.
        self.failed = set(self._silent) | {
            n.uuid for n in answering
            if n.name in reports and not reports[n.name].ok}
        self.feedback("* Gathering disk information (%d nodes)" % len(nodes))
        self.disk_status = yield self._collect_disk_status(
            cfg, [n for n in answering if n.uuid not in self.failed])
        self.feedback("* Verifying configuration file consistency")
        self._verify_files(cfg, online, reports)
        self.feedback("* Verifying node status")
        # Node uuid -> its volumes ({"vg/lv": ...}), for the nodes whose
        # LVM answered; node uuid -> (smallest PV, biggest PV).
        self.volumes, self.pv_extremes = {}, {}
        for node in nodes:
            if node.offline:
                self.feedback("* Skipping offline node %s" % node.name)
                continue
            role = "master" if node.uuid == cfg.cluster.master_node else (
                "master candidate" if node.master_candidate else "regular")
            self.feedback("* Verifying node %s (%s)" % (node.name, role))
            answer = versions[node.name]
            if not answer.ok:
                self.report(ENODERPC, node.name, "while contacting node: %s"
                            % answer.fail_msg)
                continue
            self.report_if(answer.payload != constants.PROTOCOL_VERSION,
                           ENODEVERSION, node.name,
                           "incompatible protocol versions: master %s, node %s"
                           % (constants.PROTOCOL_VERSION, answer.payload))
            report = reports.get(node.name)
            if report is not None and report.ok:
                self._verify_node(node, report.payload, started)
            elif report is not None:
                # A node that answered the version call but not this one
                # is not silently taken as fine.
                self.report(ENODERPC, node.name, "while contacting node: %s"
                            % report.fail_msg)
        self._verify_group_drbd_version(cfg, reports)
        self._verify_group_lvm(cfg, group)
        self.feedback("* Verifying instance status")
        self._verify_instances(cfg, nodes, live)
        self.feedback("* Verifying orphan volumes")
        self._verify_orphan_volumes(cfg, nodes)
        if "nplusone_mem" not in self.op["skip_checks"]:
            self.feedback("* Verifying N+1 Memory redundancy")
            yield self._verify_n_plus_one(cfg, nodes)
        self.feedback("* Other Notes")
        mine = [i for i in cfg.instances.values()
                if i.primary_node in {n.uuid for n in nodes}]
        non_redundant = [i for i in mine if not instance_disks(cfg, i) or any(
            d.dev_type not in _MIRRORED for d in instance_disks(cfg, i))]
        if non_redundant:
            self.feedback("  - NOTICE: %d non-redundant instance(s) found."
                          % len(non_redundant))
        unbalanced = [i for i in mine if not fill_beparams(
            cfg.cluster, i.beparams)["auto_balance"]]
        if unbalanced:
            self.feedback("  - NOTICE: %d non-auto-balanced instance(s) found."
                          % len(unbalanced))
        offline = [n for n in nodes if n.offline]
        drained = [n for n in nodes if n.drained]
        if offline:
            self.feedback("  - NOTICE: %d offline node(s) found." % len(offline))
        if drained:
            self.feedback("  - NOTICE: %d drained node(s) found." % len(drained))

    def _node_verify(self, cfg, nodes):
        """
        Ask the nodes for their verify report; the vm_capable ones also
        about LVM when the cluster has a volume group (Ganeti asks only
        them).

        :return: (Deferred) ``{node name: RpcResult}``.
        """
        args = [list(cfg.cluster.enabled_hypervisors), self._storage_dirs(cfg),
                sorted(n.name for n in cfg.nodes.values())
                if self.op["verify_clutter"] and cfg.cluster.modify_ssh_setup
                else None]
        calls = []
        for with_lvm in (False, True):
            targets = [n for n in nodes
                       if (self.vg_name is not None and n.vm_capable)
                       == with_lvm]
            if not targets:
                continue
            extra = [{"vg_name": self.vg_name,
                      "exclusive_storage": any(self.exclusive.get(n.uuid)
                                               for n in targets)}
                     if with_lvm else None]
            if self.drbd:
                extra.append({})
            calls.append(self.ctx.rpc.call(
                [node_address(n) for n in targets], "node_verify",
                *(args + extra)))
        d = DeferredList(calls, fireOnOneErrback=True, consumeErrors=True)

        def merge(results):
            merged = {}
            for _, answers in results:
                merged.update(answers)
            return merged
        return d.addCallback(merge)

    def _verify_group_drbd_version(self, cfg, reports):
        """Nodes running different DRBD versions get a warning each."""
        versions = {}
        for name, answer in reports.items():
            drbd = answer.payload.get("drbd") if answer.ok else None
            if drbd and drbd.get("version"):
                versions[name] = drbd["version"]
        if len(set(versions.values())) > 1:
            for name, version in sorted(versions.items()):
                self.report(ENODEDRBDHELPER, name, "DRBD version mismatch: %s"
                            % version, level=WARNING)

    @inlineCallbacks
    def _collect_disk_status(self, cfg, nodes):
        """
        Ask each node for the mirror state of the ``drbd`` disks of the
        instances it is primary or secondary for (Ganeti asks of every
        disk; the others have no mirror state to be degraded in).

        :return: (Deferred) C{{instance uuid: {node uuid: [(disk index,
            ok, status or message)]}}}.
        """
        asked = {}
        for inst in cfg.instances.values():
            for node in nodes:
                if node.uuid not in instance_nodes(cfg, inst):
                    continue
                for index, disk in enumerate(instance_disks(cfg, inst)):
                    if disk.dev_type == "drbd" and node.uuid in disk.nodes:
                        asked.setdefault(node.uuid, []).append(
                            (inst, index, annotated_disk(cfg, disk, node)))
        targets = [n for n in nodes if n.uuid in asked]
        answers = yield gatherResults([
            self.ctx.rpc.call([node_address(node)], "drbd_status",
                              [entry for _, _, entry in asked[node.uuid]])
            for node in targets])
        found = {}
        for node, answer in zip(targets, answers):
            result = answer[node.name]
            if not result.ok:
                self.report(ENODERPC, node.name, "while getting disk"
                            " information: %s" % result.fail_msg)
                statuses = [(False, result.fail_msg)] * len(asked[node.uuid])
            else:
                statuses = [(False, "Can't find device %s" % s["dev_path"])
                            if s["cstate"] == "Unconfigured" else (True, s)
                            for s in result.payload]
            for (inst, index, _), (ok, status) in zip(asked[node.uuid],
                                                      statuses):
                found.setdefault(inst.uuid, {}).setdefault(
                    node.uuid, []).append((index, ok, status))
        return found

    def _verify_instance_disks(self, cfg, inst):
        """
        The instance's mirrors as its nodes see them: unknown or degraded
        is an error, degraded while in sync or resyncing a warning
        (Ganeti's EINSTANCEFAULTYDISK); and its secondaries answer and are
        online.
        """
        for node_uuid, entries in sorted(self.disk_status.get(
                inst.uuid, {}).items()):
            name = cfg.nodes[node_uuid].name
            for index, ok, status in entries:
                self.report_if(inst.disks_active and not ok,
                               EINSTANCEFAULTYDISK, inst.name,
                               "couldn't retrieve status for disk/%s on %s: %s"
                               % (index, name, status))
                if inst.disks_active and ok and status["is_degraded"]:
                    ldisk = status["ldisk_status"]
                    self.report(EINSTANCEFAULTYDISK, inst.name,
                                "disk/%s on %s is degraded; local disk state"
                                " is '%s'" % (index, name, ldisk),
                                level=WARNING if ldisk in ("ok", "syncing")
                                else ERROR)
        offline = []
        for snode in secondary_nodes(cfg, inst):
            node = cfg.nodes.get(snode)
            if node is None:
                continue
            if node.offline:
                offline.append(node.name)
            self.report_if(snode in self.failed and not node.offline,
                           ENODERPC, node.name, "instance %s, connection to"
                           " secondary node failed" % inst.name)
        self.report_if(offline, EINSTANCEBADNODE, inst.name,
                       "instance has offline secondary node(s) %s"
                       % ", ".join(offline))

    @inlineCallbacks
    def _verify_n_plus_one(self, cfg, nodes):
        """
        Each node can start, from its free memory, the auto-balanced
        instances it is secondary for should any one primary fail
        (Ganeti's ENODEN1; stopped instances count too).
        """
        by_primary = {}
        for inst in cfg.instances.values():
            params = fill_beparams(cfg.cluster, inst.beparams)
            for snode in secondary_nodes(cfg, inst):
                needed = by_primary.setdefault(snode, {}).setdefault(
                    inst.primary_node, 0)
                by_primary[snode][inst.primary_node] = needed + (
                    params["minmem"] if params["auto_balance"] else 0)
        targets = [n for n in nodes if n.uuid in by_primary
                   and not n.offline and n.uuid not in self.failed]
        if not targets:
            return
        answers = yield self.ctx.rpc.call(
            [node_address(n) for n in targets], "node_info",
            [cfg.cluster.default_hypervisor])
        for node in targets:
            answer = answers[node.name]
            free = answer.payload.get("memory_free") if answer.ok else None
            if not isinstance(free, int):
                self.report(ENODEHV, node.name,
                            "rpc call to node failed (hvinfo)")
                continue
            for primary, needed in sorted(by_primary[node.uuid].items()):
                self.report_if(free < needed, ENODEN1, node.name,
                               "not enough memory to accomodate instance"
                               " failovers should node %s fail (%dMiB needed,"
                               " %dMiB available)"
                               % (cfg.nodes[primary].name, needed, free))

    def _verify_node_lvm(self, node, report):
        """
        A node's volume group, PVs and LVs (Ganeti's ENODELVM checks); its
        volumes are kept for the instance and orphan checks.
        """
        vg_name = self.vg_name
        if vg_name is None or not node.vm_capable:
            return
        report = report or {}
        vgs = report.get("vgs")
        self.report_if(not vgs, ENODELVM, node.name,
                       "unable to check volume groups")
        if vgs:
            size = vgs.get(vg_name)
            if size is None:
                problem = "volume group '%s' missing" % vg_name
            elif size < constants.MIN_VG_SIZE:
                problem = ("volume group '%s' too small (%s MiB required, %d"
                           " MiB found)" % (vg_name, constants.MIN_VG_SIZE,
                                            size))
            else:
                problem = None
            self.report_if(problem, ENODELVM, node.name, problem)
        if report.get("pvs") is None:
            self.report(ENODELVM, node.name, "Can't get PV list from node")
        for message in report.get("pv_problems") or []:
            self.report(ENODELVM, node.name, message)
        if report.get("pv_extremes") and any(self.exclusive.values()):
            self.pv_extremes[node.uuid] = tuple(report["pv_extremes"])
        lvs = report.get("lvs")
        if isinstance(lvs, str):
            self.report(ENODELVM, node.name, "LVM problem on node: %s" % lvs)
        elif not isinstance(lvs, dict):
            self.report(ENODELVM, node.name, "rpc call to node failed (lvlist)")
        else:
            self.volumes[node.uuid] = lvs
        self.report_if(vg_name not in (vgs or {}), ENODELVM, node.name,
                       "node didn't return data for the volume group '%s' - it"
                       " is either missing or broken" % vg_name)

    def _verify_group_lvm(self, cfg, group):
        """With exclusive storage, the group's PVs must be of one size."""
        if self.vg_name is None or not any(self.exclusive.values()):
            return
        if not self.pv_extremes:
            return
        smallest, small_node = min((v[0], cfg.nodes[u].name)
                                   for u, v in self.pv_extremes.items())
        biggest, big_node = max((v[1], cfg.nodes[u].name)
                                for u, v in self.pv_extremes.items())
        self.report_if(
            smallest * (1 + _PART_MARGIN) < biggest * (1 - _PART_MARGIN),
            EGROUPDIFFERENTPVSIZE, group.name,
            "PV sizes differ too much in the group; smallest (%s MB) is on"
            " %s, biggest (%s MB) is on %s"
            % (smallest, small_node, biggest, big_node))

    def _verify_instance_volumes(self, cfg, inst):
        """
        The instance's logical volumes exist on their node, and with
        exclusive storage its disks can live there.
        """
        for node_uuid, volumes in sorted(_instance_lvs(cfg, inst).items()):
            found = self.volumes.get(node_uuid)
            if found is None:
                # Offline, unreachable, or its LVM failed: reported already.
                continue
            for volume in volumes:
                self.report_if(volume not in found, EINSTANCEMISSINGDISK,
                               inst.name, "volume %s missing on node %s"
                               % (volume, cfg.nodes[node_uuid].name))
        disks = instance_disks(cfg, inst)
        es_nodes = [cfg.nodes[inst.primary_node].name] if self.exclusive.get(
            inst.primary_node) else []
        if not es_nodes:
            return
        unsupported = [d.dev_type for d in disks if d.dev_type != "plain"]
        self.report_if(unsupported, EINSTANCEUNSUITABLENODE, inst.name,
                       "instance uses disk types %s, which are not supported"
                       " on nodes that have exclusive storage set: %s"
                       % (", ".join(unsupported), ", ".join(es_nodes)))
        for index, disk in enumerate(disks):
            self.report_if(disk.spindles is None, EINSTANCEMISSINGCFGPARAMETER,
                           inst.name, "number of spindles not configured for"
                           " disk %s while exclusive storage is enabled, try"
                           " running gnt-cluster repair-disk-sizes" % index)

    def _verify_orphan_volumes(self, cfg, nodes):
        """
        Volumes of the cluster's VG that no instance owns and that
        ``reserved_lvs`` (regular expressions on ``vg/lv``) does not name
        are unknown: a warning, as in Ganeti.
        """
        if self.vg_name is None:
            return
        should = {}
        for inst in cfg.instances.values():
            for node_uuid, volumes in _instance_lvs(cfg, inst).items():
                should.setdefault(node_uuid, set()).update(volumes)
        reserved = [re.compile("^%s$" % pattern)
                    for pattern in cfg.cluster.reserved_lvs]
        for node in nodes:
            for volume in sorted(self.volumes.get(node.uuid) or {}):
                if volume.split("/")[0] != self.vg_name:
                    continue
                if (volume in should.get(node.uuid, ()) or
                        any(p.match(volume) for p in reserved)):
                    continue
                self.report(ENODEORPHANLV, node.name,
                            "volume %s is unknown" % volume, level=WARNING)

    def _verify_instances(self, cfg, nodes, live):
        group_nodes = {n.uuid for n in nodes}
        known = set()
        for inst in sorted(cfg.instances.values(), key=lambda i: i.name):
            if inst.primary_node not in group_nodes:
                continue
            known.add(inst.name)
            if self.op["verbose"]:
                self.feedback("* Verifying instance %s" % inst.name)
            self._verify_instance_volumes(cfg, inst)
            self._verify_instance_disks(cfg, inst)
            answers = live.get(inst.primary_node)
            if answers is None:
                continue
            running_on = [cfg.nodes[uuid].name for uuid, names in live.items()
                          if names and inst.name in names]
            pnode = cfg.nodes[inst.primary_node].name
            if inst.admin_state == constants.ADMINST_UP:
                self.report_if(pnode not in running_on, EINSTANCEDOWN, inst.name,
                               "instance not running on its primary node %s"
                               % pnode)
            for other in running_on:
                self.report_if(other != pnode, EINSTANCEWRONGNODE, inst.name,
                               "instance should not run on node %s" % other)
        all_names = {i.name for i in cfg.instances.values()}
        for uuid, names in sorted(live.items()):
            for name in sorted(set(names or {}) - all_names):
                self.report(ENODEORPHANINSTANCE, cfg.nodes[uuid].name,
                            "instance %s on node %s is unknown"
                            % (name, cfg.nodes[uuid].name))

    @staticmethod
    def _storage_dirs(cfg):
        cluster = cfg.cluster
        dirs = []
        if "file" in cluster.enabled_disk_templates:
            dirs.append(cluster.file_storage_dir)
        if "sharedfile" in cluster.enabled_disk_templates:
            dirs.append(cluster.shared_file_storage_dir)
        return dirs

    def _verify_files(self, cfg, nodes, reports):
        """config.data on the candidates and ssconf everywhere match."""
        expected_config = hashlib.sha1(configmod.dump(cfg)).hexdigest()
        expected_ssconf = {k: v.strip() for k, v in ssconf.values(cfg).items()}
        for node in nodes:
            report = reports.get(node.name)
            if report is None or not report.ok:
                continue
            data = report.payload
            if node.master_candidate or node.uuid == cfg.cluster.master_node:
                self.report_if(data["config_digest"] != expected_config,
                               ENODEFILECHECK, node.name,
                               "File %s differs from the master's configuration"
                               % self.ctx.paths.config_data)
            for key, value in sorted(expected_ssconf.items()):
                self.report_if(data["ssconf"].get(key) != value, ENODEFILECHECK,
                               node.name,
                               "ssconf file %s is missing or out of date" % key)

    def _verify_node(self, node, data, now):
        for hypervisor, problem in sorted(data["hypervisors"].items()):
            self.report_if(problem, ENODEHV, node.name,
                           "hypervisor %s verify failure: '%s'"
                           % (hypervisor, problem))
        for path, problem in sorted(data["storage"].items()):
            self.report_if(problem, ENODEFILESTORAGEPATHUNUSABLE, node.name,
                           "The file storage path '%s' is not usable: %s"
                           % (path, problem))
        clutter = data.get("ssh_clutter")
        self.report_if(clutter, ENODESSH, node.name,
                       "There are hosts which have more than one SSH key"
                       " stored for the same user in the 'authorized_keys'"
                       " file of node %s: %s; clean it up by hand"
                       % (node.name, "; ".join(
                           "%s in lines %s" % (owner, ", ".join(map(str, lines)))
                           for owner, lines in sorted((clutter or {}).items()))))
        skew = abs(data["time"] - now)
        self.report_if(skew > MAX_CLOCK_SKEW, ENODETIME, node.name,
                       "Node time diverges by at least %.1fs from master node"
                       " time" % skew)
        self._verify_node_lvm(node, data.get("lvm"))
        if self.drbd and node.vm_capable:
            self._verify_node_drbd(node, data.get("drbd") or {})

    def _verify_node_drbd(self, node, report):
        """
        The node's DRBD usermode helper is the cluster's, and the minors
        in use there are those the config gives it (Ganeti's
        ENODEDRBDHELPER and ENODEDRBD checks).
        """
        cfg = self.cfg
        wanted = cfg.cluster.drbd_usermode_helper
        helper = report.get("helper")
        if wanted:
            self.report_if(helper is None, ENODEDRBDHELPER, node.name,
                           "no drbd usermode helper returned")
            if helper:
                ok, value = helper
                self.report_if(not ok, ENODEDRBDHELPER, node.name,
                               "drbd usermode helper check unsuccessful: %s"
                               % value)
                self.report_if(ok and value != wanted, ENODEDRBDHELPER,
                               node.name, "wrong drbd usermode helper: %s"
                               % value)
        used = report.get("minors", [])
        if not isinstance(used, list):
            self.report(ENODEDRBD, node.name,
                        "cannot parse drbd status file: %s" % used)
            return
        expected = {}
        for minor, inst, _, disk_uuid, _, _ in node_drbd_minors(cfg, node.uuid):
            expected[minor] = (disk_uuid, inst)
        for minor, (disk_uuid, inst) in sorted(expected.items()):
            self.report_if(inst.disks_active and minor not in used, ENODEDRBD,
                           node.name, "drbd minor %d of disk %s (attached in"
                           " instance '%s') is not active"
                           % (minor, disk_uuid, inst.name))
        for minor in used:
            self.report_if(minor not in expected, ENODEDRBD, node.name,
                           "unallocated drbd minor %d is in use" % minor)


#: PV sizes within a group may differ by this fraction (Ganeti's
#: PART_MARGIN; see L{ganeti.storage.lvm}, which the master does not
#: import).
_PART_MARGIN = 0.01


#: The templates whose instances survive the loss of their primary.
_MIRRORED = ("drbd", "sharedfile", "blockdev", "rbd", "ext", "gluster")


def _instance_lvs(cfg, inst):
    """
    :return: ``{node uuid: ["vg/lv", ...]}``: the logical volumes of the
        instance's ``plain`` disks on its primary and of its ``drbd``
        disks' data and metadata on both their nodes (Ganeti's
        C{GetInstanceLVsByNode}).
    """
    volumes = {}
    for disk in instance_disks(cfg, inst):
        if disk.dev_type == "plain" and len(disk.logical_id) == 2:
            volumes.setdefault(inst.primary_node, []).append(
                "%s/%s" % tuple(disk.logical_id))
        elif disk.dev_type == "drbd" and len(disk.logical_id) == 6:
            for node_uuid in disk.logical_id[:2]:
                volumes.setdefault(node_uuid, []).extend(
                    "%s/%s" % tuple(child.logical_id)
                    for child in disk.children
                    if child.dev_type == "plain"
                    and len(child.logical_id) == 2)
    return volumes
