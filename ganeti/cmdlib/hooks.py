# -*- test-case-name: tests.test_hooks -*-
"""
The master's side of hooks: for one logical unit, which nodes run the
scripts of each phase and with what environment (Ganeti's hooks master).

A logical unit with a hooks path (C{HPATH}) says what it acts on
(C{HTYPE}), builds its variables (C{build_hooks_env}) and names the nodes
of each phase by uuid (C{build_hooks_nodes}).  The pre phase runs after
the unit's prerequisites are checked and before it executes; a script
failing there stops the opcode.  The post phase runs after a successful
execution; failures there are warnings in the job log.

The scripts live on the nodes, so the master cannot know whether there
are any: every phase with nodes costs one node RPC per node, which the
node answers after one C{stat} when its directory does not exist.
"""

from twisted.internet.defer import succeed

from ganeti import hooks
from ganeti.cmdlib.common import node_address
from ganeti.params import (
    fill_beparams, fill_hvparams, fill_nicparams, secondary_nodes)


def _unique(items):
    """:return: C{items} without repeats, in their first order."""
    seen = set()
    result = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result


class HooksMaster:
    """
    Runs the hooks of one logical unit.  Built when the pre phase is
    about to run: the pre-phase variables and both phases' nodes are
    computed then, from the configuration the unit checked.

    :param lu: the L{ganeti.cmdlib.base.LogicalUnit}.
    """

    def __init__(self, lu):
        self._lu = lu
        cfg = lu.cfg
        self._opcode = lu.op["OP_ID"]
        self._cluster = cfg.cluster.cluster_name
        master = cfg.nodes.get(cfg.cluster.master_node)
        self._master = master.name if master is not None else None
        pre_nodes, post_nodes = lu.build_hooks_nodes()
        self.pre_nodes = list(pre_nodes)
        self.post_nodes = list(post_nodes)
        self.pre_env = hooks.phase_variables(lu.build_hooks_env(),
                                             hooks.PHASE_PRE)

    def environment(self, phase):
        """
        :return: the scripts' environment in C{phase} (the post phase's
            variables are computed now, after the unit ran).
        """
        variables = dict(self.pre_env)
        if phase == hooks.PHASE_POST:
            variables.update(hooks.phase_variables(
                self._lu.build_hooks_env(), hooks.PHASE_POST))
        return hooks.script_environment(
            self._opcode, self._lu.HPATH, phase, self._lu.HTYPE,
            self._cluster, self._master, variables)

    def _nodes(self, uuids):
        """
        :return: the online nodes among C{uuids} in the current
            configuration (an offline node is not asked, as in Ganeti).
        """
        cfg = self._lu.cfg
        nodes = [cfg.nodes.get(uuid) for uuid in _unique(uuids)]
        return [n for n in nodes if n is not None and not n.offline]

    def run_phase(self, phase, nodes=None):
        """
        Run C{phase}'s scripts on its nodes and judge the answers
        (L{ganeti.hooks.evaluate}; warnings go to the job log).

        :param nodes: L{ganeti.objects.Node}s to run on instead of the
            phase's own (a node about to leave the cluster).
        :return: a Deferred firing with ``{node name: RpcResult}``
            (empty when no node is to run the phase).
        :raise HooksAbort: (through the Deferred) when a pre script failed.
        """
        lu = self._lu
        if nodes is None:
            uuids = self.pre_nodes
            if phase == hooks.PHASE_POST:
                uuids = lu.prepare_post_hook_nodes(list(self.post_nodes))
            nodes = self._nodes(uuids)
        if not nodes:
            return succeed({})
        env = self.environment(phase)
        d = lu.ctx.rpc.call([node_address(n) for n in nodes], "hooks_runner",
                            lu.HPATH, phase, env)

        def judge(results):
            hooks.evaluate(phase, [(name, results[name].fail_msg,
                                    results[name].payload)
                                   for name in sorted(results)],
                           lu.log_warning)
            return results
        return d.addCallback(judge)


# --- variables shared by several logical units -------------------------------

def _nic_variables(cfg, index, nic):
    """The ``INSTANCE_NIC<n>_*`` variables of one NIC (Ganeti's names)."""
    params = fill_nicparams(cfg.cluster, nic.nicparams)
    mode, link = params.get("mode"), params.get("link")
    prefix = "INSTANCE_NIC%d_" % index
    env = {prefix + "UUID": nic.uuid, prefix + "IP": nic.ip or "",
           prefix + "MAC": nic.mac, prefix + "MODE": mode,
           prefix + "LINK": link, prefix + "VLAN": params.get("vlan", "")}
    if nic.name:
        env[prefix + "NAME"] = nic.name
    if nic.network:
        env.update(_network_variables(cfg, nic.network, prefix))
    if mode in ("bridged", "openvswitch"):
        env[prefix + "BRIDGE"] = link
    return env


def _network_variables(cfg, network, prefix):
    """
    The ``NETWORK_*`` variables of a NIC's network; a network missing
    from the configuration leaves only its name, as in Ganeti.
    """
    info = cfg.networks.get(network)
    if info is None:
        return {prefix + "NETWORK_NAME": network}
    env = {prefix + "NETWORK_NAME": info.name,
           prefix + "NETWORK_UUID": info.uuid,
           prefix + "NETWORK_TAGS": " ".join(info.tags)}
    for key, name in (("network", "SUBNET"), ("gateway", "GATEWAY"),
                      ("network6", "SUBNET6"), ("gateway6", "GATEWAY6"),
                      ("mac_prefix", "MAC_PREFIX")):
        if getattr(info, key):
            env[prefix + "NETWORK_" + name] = getattr(info, key)
    return env


#: Where each disk template keeps its driver (or volume group) and id in
#: a disk's logical id, for ``INSTANCE_DISK<n>_*``.
_LOGICAL_ID_NAMES = {
    "plain": ("VG", "ID"),
    "file": ("DRIVER", "ID"),
    "sharedfile": ("DRIVER", "ID"),
    "gluster": ("DRIVER", "ID"),
    "blockdev": ("DRIVER", "ID"),
    "rbd": ("DRIVER", "ID"),
    "ext": ("PROVIDER", "ID"),
}


def _disk_variables(index, disk):
    """The ``INSTANCE_DISK<n>_*`` variables of one L{Disk}."""
    prefix = "INSTANCE_DISK%d_" % index
    env = {prefix + "UUID": disk.uuid, prefix + "SIZE": disk.size,
           prefix + "MODE": disk.mode, prefix + "DEV_TYPE": disk.dev_type}
    if disk.name:
        env[prefix + "NAME"] = disk.name
    names = _LOGICAL_ID_NAMES.get(disk.dev_type)
    if names and len(disk.logical_id) == 2:
        for name, value in zip(names, disk.logical_id):
            env[prefix + name] = value
    return env


def disk_template_of(disks):
    """:return: the template a set of disks amounts to, as Ganeti sums it."""
    kinds = {d.dev_type for d in disks}
    if not kinds:
        return "diskless"
    if len(kinds) > 1:
        return "mixed"
    return kinds.pop()


def instance_variables(cfg, name, primary, secondaries, os_type, status,
                       beparams, hvparams, nics, disks, hypervisor, tags):
    """
    The instance's variables (Ganeti's C{BuildInstanceHookEnv}).

    :param primary: the primary node's name.
    :param secondaries: the secondary nodes' names.
    :param beparams: filled backend parameters (``INSTANCE_BE_*``).
    :param hvparams: filled hypervisor parameters (``INSTANCE_HV_*``).
    :param nics: L{NIC}s; :param disks: L{Disk}s.
    :return: variable name (without prefix) -> value.
    """
    env = {
        "OP_TARGET": name,
        "INSTANCE_NAME": name,
        "INSTANCE_PRIMARY": primary,
        "INSTANCE_SECONDARIES": " ".join(secondaries),
        "INSTANCE_OS_TYPE": os_type,
        "INSTANCE_STATUS": status,
        "INSTANCE_MINMEM": beparams.get("minmem"),
        "INSTANCE_MAXMEM": beparams.get("maxmem"),
        # Ganeti's older name, still given.
        "INSTANCE_MEMORY": beparams.get("maxmem"),
        "INSTANCE_VCPUS": beparams.get("vcpus"),
        "INSTANCE_DISK_TEMPLATE": disk_template_of(disks),
        "INSTANCE_HYPERVISOR": hypervisor,
        "INSTANCE_NIC_COUNT": len(nics),
        "INSTANCE_DISK_COUNT": len(disks),
        "INSTANCE_TAGS": " ".join(tags or []),
    }
    for index, nic in enumerate(nics):
        env.update(_nic_variables(cfg, index, nic))
    for index, disk in enumerate(disks):
        env.update(_disk_variables(index, disk))
    for kind, params in (("BE", beparams), ("HV", hvparams)):
        for key, value in params.items():
            env["INSTANCE_%s_%s" % (kind, key)] = value
    return env


def instance_object_variables(cfg, instance, **override):
    """
    The variables of an instance of the configuration (Ganeti's
    C{BuildInstanceHookEnvByObject}); C{override} replaces arguments of
    L{instance_variables} (e.g. the NICs a modification will leave).
    """
    cluster = cfg.cluster
    args = {
        "name": instance.name,
        "primary": cfg.nodes[instance.primary_node].name,
        "secondaries": [cfg.nodes[u].name for u in secondary_nodes(cfg, instance)
                        if u in cfg.nodes],
        "os_type": instance.os,
        "status": instance.admin_state,
        "beparams": fill_beparams(cluster, instance.beparams),
        "hvparams": fill_hvparams(cluster, instance.hypervisor, instance.os,
                                  instance.hvparams),
        "nics": instance.nics,
        "disks": [d for d in (cfg.disks.get(u) for u in instance.disks)
                  if d is not None],
        "hypervisor": instance.hypervisor,
        "tags": instance.tags,
    }
    args.update(override)
    return instance_variables(cfg, **args)
