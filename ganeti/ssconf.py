# -*- test-case-name: tests.test_config -*-
"""
ssconf: small plain-text facts every node keeps (``ssconf_<key>`` files).

Non-master nodes and scripts read these instead of the full config; the
CLI reads them to learn which node is the master without asking it.
"""

import os

from ganeti import constants
from ganeti.utils.io import atomic_write, sync_directory


def values(config):
    """
    Compute every ssconf value from a configuration.

    :param config: a L{ganeti.objects.ConfigData}.
    :return: dict of key -> file content (text, no trailing newline).
    """
    cluster = config.cluster
    nodes = sorted(config.nodes.values(), key=lambda n: n.name)
    candidates = [n for n in nodes if n.master_candidate]
    lines = "\n".join
    result = {
        "cluster_name": cluster.cluster_name,
        "cluster_tags": lines(sorted(cluster.tags)),
        "file_storage_dir": cluster.file_storage_dir,
        "shared_file_storage_dir": cluster.shared_file_storage_dir,
        "gluster_storage_dir": cluster.gluster_storage_dir,
        "master_candidates": lines(n.name for n in candidates),
        "master_candidates_ips": lines(n.primary_ip for n in candidates),
        "master_candidates_certs": lines(
            "%s=%s" % item for item in sorted(cluster.candidate_certs.items())),
        "master_ip": cluster.master_ip,
        "master_netdev": cluster.master_netdev,
        "master_netmask": str(cluster.master_netmask),
        "master_node": config.master_node.name,
        "node_list": lines(n.name for n in nodes),
        "node_primary_ips": lines("%s %s" % (n.name, n.primary_ip) for n in nodes),
        "node_secondary_ips": lines("%s %s" % (n.name, n.secondary_ip) for n in nodes),
        "node_vm_capable": lines("%s=%s" % (n.name, n.vm_capable) for n in nodes),
        "offline_nodes": lines(n.name for n in nodes if n.offline),
        "online_nodes": lines(n.name for n in nodes if not n.offline),
        "primary_ip_family": str(cluster.primary_ip_family),
        "instance_list": lines(sorted(i.name for i in config.instances.values())),
        "release_version": constants.RELEASE_VERSION,
        "hypervisor_list": lines(cluster.enabled_hypervisors),
        "maintain_node_health": str(cluster.maintain_node_health),
        "uid_pool": lines(map(str, cluster.uid_pool)),
        "nodegroups": lines("%s %s" % (g.uuid, g.name)
                            for g in config.nodegroups.values()),
        "networks": lines("%s %s" % (uuid, net.name)
                          for uuid, net in config.networks.items()),
        "enabled_user_shutdown": str(cluster.enabled_user_shutdown),
        "ssh_ports": lines("%s=%s" % (n.name, n.ndparams.get(
            "ssh_port", cluster.ndparams.get("ssh_port", 22))) for n in nodes),
    }
    for hv in constants.HYPERVISORS:
        params = cluster.hvparams.get(hv, {})
        result["hvparams_" + hv] = lines(
            "%s=%s" % item for item in sorted(params.items()))
    return result


def write(paths, contents):
    """
    Write ssconf files, each atomically; unchanged files are left alone.

    :param paths: the node's L{ganeti.paths.Paths}.
    :param contents: dict as returned by L{values}.
    """
    changed = False
    for key, text in contents.items():
        path = paths.ssconf(key)
        data = (text + "\n").encode("utf-8") if text else b""
        try:
            with open(path, "rb") as f:
                if f.read() == data:
                    continue
        except FileNotFoundError:
            pass
        # Each file's data reaches the disk before its name does (a node
        # that loses power must not come back with empty files); the
        # directory is flushed once for all of them.
        atomic_write(path, data, flush_directory=False)
        changed = True
    if changed:
        sync_directory(paths.data_dir)


def read(paths, key):
    """
    :return: the text of one ssconf file, stripped, or None if missing.
    """
    try:
        with open(paths.ssconf(key), encoding="utf-8") as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def remove_all(paths):
    """Remove every ssconf file of a node (cluster destroy, node removal)."""
    try:
        names = os.listdir(paths.data_dir)
    except FileNotFoundError:
        return
    for name in names:
        if name.startswith("ssconf_"):
            os.unlink(os.path.join(paths.data_dir, name))
