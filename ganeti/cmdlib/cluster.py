# -*- test-case-name: tests.test_cmdlib_cluster_ops -*-
"""
Cluster-wide logical units: query, verify, modify, rename, destroy.
"""

import platform
import struct

from twisted.internet.defer import inlineCallbacks


from ganeti import constants, errors, hooks, ssconf
from ganeti import config as configmod
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import call_node, node_address
from ganeti import params as paramsmod


#: This node's architecture, as Ganeti shows it.  Computed once:
#: platform.architecture() runs an external program.
ARCHITECTURE = ("%dbit" % (struct.calcsize("P") * 8), platform.machine())


def cluster_info(config, paths):
    """
    The facts ``gnt-cluster info`` shows (Ganeti's QueryClusterInfo).

    :param config: a L{ganeti.objects.ConfigData}.
    :return: a JSON-able dict.
    """
    c = config.cluster
    return {
        "software_version": constants.RELEASE_VERSION,
        "protocol_version": constants.PROTOCOL_VERSION,
        "config_version": constants.CONFIG_VERSION,
        "os_api_version": max(constants.OS_API_VERSIONS),
        "export_version": constants.EXPORT_VERSION,
        "vcs_version": constants.VCS_VERSION,
        "architecture": list(ARCHITECTURE),
        "name": c.cluster_name,
        "master": config.master_node.name,
        "default_hypervisor": c.default_hypervisor,
        "enabled_hypervisors": list(c.enabled_hypervisors),
        "hvparams": {hv: dict(p) for hv, p in c.hvparams.items()},
        "os_hvp": c.os_hvp,
        "beparams": c.beparams,
        "osparams": c.osparams,
        "ipolicy": c.ipolicy,
        "nicparams": c.nicparams,
        "ndparams": c.ndparams,
        "diskparams": c.diskparams,
        "candidate_pool_size": c.candidate_pool_size,
        "max_running_jobs": c.max_running_jobs,
        "max_tracked_jobs": c.max_tracked_jobs,
        "master_netdev": c.master_netdev,
        "master_netmask": c.master_netmask,
        "use_external_mip_script": c.use_external_mip_script,
        "volume_group_name": c.volume_group_name,
        "drbd_usermode_helper": c.drbd_usermode_helper,
        "file_storage_dir": c.file_storage_dir,
        "shared_file_storage_dir": c.shared_file_storage_dir,
        "gluster_storage_dir": c.gluster_storage_dir,
        "maintain_node_health": c.maintain_node_health,
        "ctime": c.ctime,
        "mtime": c.mtime,
        "uuid": c.uuid,
        "tags": list(c.tags),
        "uid_pool": c.uid_pool,
        "default_iallocator": c.default_iallocator,
        "default_iallocator_params": c.default_iallocator_params,
        "reserved_lvs": c.reserved_lvs,
        "primary_ip_version": 6 if c.primary_ip_family == 10 else 4,
        "prealloc_wipe_disks": c.prealloc_wipe_disks,
        "hidden_os": c.hidden_os,
        "blacklisted_os": c.blacklisted_os,
        "enabled_disk_templates": list(c.enabled_disk_templates),
        "install_image": c.install_image,
        "instance_communication_network": c.instance_communication_network,
        "zeroing_image": c.zeroing_image,
        "compression_tools": c.compression_tools,
        "enabled_user_shutdown": c.enabled_user_shutdown,
        "modify_ssh_setup": c.modify_ssh_setup,
        "ssh_key_type": c.ssh_key_type,
        "ssh_key_bits": c.ssh_key_bits,
        "mac_prefix": c.mac_prefix,
        "os_search_path": list(paths.os_search_path),
    }


#: What QueryConfigValues answers, from the config alone.
CONFIG_VALUES = {
    "cluster_name": lambda cfg: cfg.cluster.cluster_name,
    "master_node": lambda cfg: cfg.master_node.name,
    "master_ip": lambda cfg: cfg.cluster.master_ip,
    "master_netdev": lambda cfg: cfg.cluster.master_netdev,
    "software_version": lambda cfg: constants.RELEASE_VERSION,
    "cluster_tags": lambda cfg: list(cfg.cluster.tags),
    "enabled_hypervisors": lambda cfg: list(cfg.cluster.enabled_hypervisors),
    "default_hypervisor": lambda cfg: cfg.cluster.default_hypervisor,
}


def _apply_os_list(current, modifications):
    """Apply Ganeti's ``[[add|remove, os], ...]`` changes to an OS list."""
    result = list(current)
    for item in modifications:
        if not (isinstance(item, list) and len(item) == 2
                and item[0] in ("add", "remove")):
            raise errors.OpPrereqError("Invalid OS list modification %r" % (item,),
                                       "wrong_input")
        action, name = item
        if action == "add" and name not in result:
            result.append(name)
        elif action == "remove" and name in result:
            result.remove(name)
    return result


class _ClusterHooksLU(LogicalUnit):
    """A cluster-wide unit whose hooks run on the master."""

    HTYPE = hooks.HTYPE_CLUSTER

    def build_hooks_env(self):
        return {"OP_TARGET": self.cfg.cluster.cluster_name}

    def build_hooks_nodes(self):
        nodes = [self.cfg.cluster.master_node]
        return nodes, nodes


class LUClusterPostInit(_ClusterHooksLU):
    """
    Runs once after ``gnt-cluster init``; checks the config loads.  Its
    one use for the operator: the ``cluster-init`` post hooks on the
    master (there is no pre phase).
    """

    HPATH = "cluster-init"

    def build_hooks_nodes(self):
        return [], [self.cfg.cluster.master_node]

    def execute(self):
        return True


class LUClusterQuery(LogicalUnit):
    """The cluster's facts, as a job (RAPI ``/2/info`` uses the LUXI call)."""

    def execute(self):
        return cluster_info(self.cfg, self.ctx.paths)


class LUClusterConfigQuery(LogicalUnit):
    """Selected config values (the opcode behind QueryConfigValues)."""

    def check_prereq(self):
        unknown = [f for f in self.op["output_fields"] if f not in CONFIG_VALUES]
        if unknown:
            raise errors.OpPrereqError(
                "Unknown output fields selected: %s" % ", ".join(unknown),
                "wrong_input")

    def execute(self):
        return [CONFIG_VALUES[f](self.cfg) for f in self.op["output_fields"]]


class LUClusterRedistConf(LogicalUnit):
    """Rewrite the config-derived files on every node."""

    BGL_SHARED = False

    @inlineCallbacks
    def execute(self):
        configmod.save(self.ctx.paths.config_data, self.cfg)
        ssconf.write(self.ctx.paths, ssconf.values(self.cfg))
        if self.ctx.replicator is not None:
            yield self.ctx.replicator.redistribute()
        self.log_info("Configuration and ssconf files redistributed to %d"
                      " node(s)" % len(self.cfg.nodes))


class LUClusterRename(_ClusterHooksLU):
    """Change the cluster's name (its IP stays what it is)."""

    BGL_SHARED = False
    HPATH = "cluster-rename"

    def build_hooks_env(self):
        return dict(super().build_hooks_env(), NEW_NAME=self.op["name"])

    def build_hooks_nodes(self):
        # Every node hears of the new name.
        return [self.cfg.cluster.master_node], list(self.cfg.nodes)

    def check_prereq(self):
        name = self.op["name"]
        if name == self.cfg.cluster.cluster_name:
            raise errors.OpPrereqError(
                "Cluster name is unchanged (%s)" % name, "wrong_input")

    def execute(self):
        self.ctx.config.update_cluster(cluster_name=self.op["name"])
        return self.op["name"]


class LUClusterDestroy(_ClusterHooksLU):
    """
    Check that the cluster may be destroyed; the CLI then stops the daemon
    and removes the files.  The ``cluster-destroy`` post hooks run on the
    master during the execution, while it still is one.
    """

    BGL_SHARED = False
    HPATH = "cluster-destroy"

    def build_hooks_nodes(self):
        return [], []

    def check_prereq(self):
        cfg = self.cfg
        others = [n.name for n in cfg.nodes.values()
                  if n.uuid != cfg.cluster.master_node]
        if others:
            raise errors.OpPrereqError(
                "There are still %d node(s) in this cluster" % len(others),
                "wrong_state")
        if cfg.instances:
            raise errors.OpPrereqError(
                "There are still %d instance(s) in this cluster"
                % len(cfg.instances), "wrong_state")

    @inlineCallbacks
    def execute(self):
        master = self.cfg.master_node
        yield self.run_post_hook(master)
        return master.name


class LUClusterSetParams(_ClusterHooksLU):
    """``gnt-cluster modify``: change what ``init`` set."""

    BGL_SHARED = False
    HPATH = "cluster-modify"

    def build_hooks_env(self):
        return dict(super().build_hooks_env(), NEW_VG_NAME=self.op["vg_name"])

    _SIMPLE = ("candidate_pool_size", "max_running_jobs", "max_tracked_jobs",
               "maintain_node_health", "prealloc_wipe_disks", "drbd_helper",
               "default_iallocator", "default_iallocator_params", "mac_prefix",
               "master_netdev", "master_netmask", "reserved_lvs",
               "use_external_mip_script", "modify_etc_hosts",
               "file_storage_dir", "shared_file_storage_dir", "install_image",
               "zeroing_image", "compression_tools", "enabled_user_shutdown",
               "uid_pool", "vg_name")
    _RENAMED = {"drbd_helper": "drbd_usermode_helper",
                "vg_name": "volume_group_name"}

    @inlineCallbacks
    def check_prereq(self):
        self._changes = self._compute_changes()
        if not self._changes:
            raise errors.OpPrereqError("Please give at least one of the"
                                       " parameters", "wrong_input")
        yield self._check_vg_name()

    @inlineCallbacks
    def _check_vg_name(self):
        """
        Ganeti's checks of the volume group: it cannot be unset while LVM
        templates are enabled or ``plain`` disks exist, LVM templates
        cannot be enabled without one, and a VG set (or put to use) must
        be on every node with at least Ganeti's MIN_VG_SIZE (a node that
        does not answer is a warning).
        """
        op, cfg = self.op, self.cfg
        cluster = cfg.cluster
        old_templates = cluster.enabled_disk_templates
        templates = self._changes.get("enabled_disk_templates", old_templates)
        lvm = {"plain", "drbd"}
        lvm_enabled = bool(lvm & set(templates))
        lvm_gets_enabled = lvm_enabled and not lvm & set(old_templates)
        vg_name = op.get("vg_name")
        if vg_name == "" and lvm_enabled:
            raise errors.OpPrereqError("Cannot unset volume group if"
                                       " lvm-based disk templates are or get"
                                       " enabled.", "wrong_input")
        if vg_name is None and not cluster.volume_group_name and lvm_enabled:
            raise errors.OpPrereqError("Please specify a volume group when"
                                       " enabling lvm-based disk-templates.",
                                       "wrong_input")
        if vg_name == "" and any(d.dev_type == "plain"
                                 for d in cfg.disks.values()):
            raise errors.OpPrereqError("Cannot disable lvm storage while"
                                       " lvm-based instances exist",
                                       "wrong_input")
        wanted = vg_name or cluster.volume_group_name
        if not ((vg_name and lvm_enabled) or
                (cluster.volume_group_name and lvm_gets_enabled)):
            return
        nodes = sorted((n for n in cfg.nodes.values()
                        if n.vm_capable and not n.offline),
                       key=lambda n: n.name)
        results = yield self.ctx.rpc.call([node_address(n) for n in nodes],
                                          "storage_list", "lvm-vg", None)
        for node in nodes:
            result = results[node.name]
            if not result.ok:
                self.log_warning("Error while gathering data on node %s"
                                 " (ignoring node): %s"
                                 % (node.name, result.fail_msg))
                continue
            sizes = {u["name"]: u["size"] for u in result.payload}
            if wanted not in sizes:
                problem = "volume group '%s' missing" % wanted
            elif sizes[wanted] < constants.MIN_VG_SIZE:
                problem = ("volume group '%s' too small (%s MiB required, %d"
                           " MiB found)" % (wanted, constants.MIN_VG_SIZE,
                                            sizes[wanted]))
            else:
                continue
            raise errors.OpPrereqError("Error on node '%s': %s"
                                       % (node.name, problem),
                                       "environment_error")

    def _compute_changes(self):
        op, cluster = self.op, self.cfg.cluster
        changes = {}
        for name in self._SIMPLE:
            if op.get(name) is not None:
                changes[self._RENAMED.get(name, name)] = op[name]
        for key in ("hidden_os", "blacklisted_os"):
            if op.get(key) is not None:
                changes[key] = _apply_os_list(getattr(cluster, key), op[key])
        enabled_hv = op.get("enabled_hypervisors")
        if enabled_hv is not None:
            paramsmod.check_hypervisors(enabled_hv)
            changes["enabled_hypervisors"] = enabled_hv
            changes["default_hypervisor"] = enabled_hv[0]
        templates = op.get("enabled_disk_templates")
        if templates is not None:
            paramsmod.check_disk_templates(templates)
            changes["enabled_disk_templates"] = templates
        hvparams = op.get("hvparams")
        if hvparams is not None:
            changes["hvparams"] = paramsmod.merge_hvparams(
                cluster.hvparams, hvparams)
        for key, defaults, what in (
                ("beparams", constants.BE_DEFAULTS, "backend"),
                ("nicparams", constants.NIC_DEFAULTS, "nic")):
            # These live in the "default" profile, as in Ganeti.
            if op.get(key) is not None:
                current = getattr(cluster, key)
                changes[key] = dict(current, default=paramsmod.merge_params(
                    current.get("default", defaults), op[key], defaults, what))
        if op.get("ndparams") is not None:
            changes["ndparams"] = paramsmod.merge_params(
                cluster.ndparams, op["ndparams"], constants.ND_DEFAULTS, "node")
        if op.get("diskparams") is not None:
            changes["diskparams"] = paramsmod.merge_diskparams(
                cluster.diskparams, op["diskparams"])
        if op.get("ipolicy") is not None:
            changes["ipolicy"] = dict(cluster.ipolicy, **op["ipolicy"])
        for key in ("os_hvp", "osparams"):
            if op.get(key) is not None:
                merged = dict(getattr(cluster, key))
                merged.update(op[key])
                changes[key] = merged
        return changes

    def execute(self):
        self.ctx.config.update_cluster(**self._changes)
        return [[k, v] for k, v in sorted(self._changes.items())]


class _LUMasterIp(LogicalUnit):
    """
    Ask the master node to put the cluster IP on its master netdev or
    take it off (``gnt-cluster activate-master-ip`` /
    ``deactivate-master-ip``), e.g. around network maintenance.  The
    master daemon keeps running either way: only the address moves.

    :cvar METHOD: the node RPC method that does it.
    """

    METHOD = None

    def execute(self):
        master = self.cfg.master_node
        d = call_node(self.ctx, master, self.METHOD,
                      what="Could not change the master IP")
        return d.addCallback(lambda _: None)


class LUClusterActivateMasterIp(_LUMasterIp):
    """``gnt-cluster activate-master-ip``."""

    METHOD = "node_activate_master_ip"


class LUClusterDeactivateMasterIp(_LUMasterIp):
    """``gnt-cluster deactivate-master-ip``."""

    METHOD = "node_deactivate_master_ip"
