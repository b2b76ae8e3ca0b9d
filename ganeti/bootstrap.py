# -*- test-case-name: tests.test_daemon -*-
"""
Creating and destroying a cluster on its first node (``gnt-cluster init``
and ``destroy``); runs in the tool, before any daemon exists.

Every file is written atomically and the config last, so an ``init`` that
fails part-way leaves no config behind and can simply be run again.
"""

import ipaddress
import os
import re
import shutil
import socket
import subprocess
import time
import uuid

from ganeti import constants, crypto, errors, netutils, ssconf
from ganeti import config as configmod
from ganeti import params as paramsmod
from ganeti.objects import Cluster, ConfigData, Node, NodeGroup
from ganeti.utils.io import atomic_write, remove_file

_MAC_PREFIX = re.compile(r"^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$")


def _new_uuid():
    return str(uuid.uuid4())


def _ip_active(ip, port=1811, timeout=0.5):
    """True if something answers on C{ip} (Ganeti's "Cluster IP already active")."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((ip, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def build_config(settings, paths, now=None):
    """
    Build the first configuration from validated ``init`` settings.

    :param settings: dict with the ``init`` options (see L{init_cluster}).
    :return: a L{ConfigData}.
    :raise OpPrereqError: on invalid settings.
    """
    now = time.time() if now is None else now
    hypervisors = (settings.get("enabled_hypervisors")
                   or [constants.DEFAULT_HYPERVISOR])
    paramsmod.check_hypervisors(
        hypervisors, defaulted=not settings.get("enabled_hypervisors"))
    templates = settings.get("enabled_disk_templates") or ["drbd", "plain"]
    paramsmod.check_disk_templates(templates)
    mac_prefix = settings.get("mac_prefix") or constants.DEFAULT_MAC_PREFIX
    if not _MAC_PREFIX.match(mac_prefix):
        raise errors.OpPrereqError("Invalid mac prefix given '%s'" % mac_prefix,
                                   "wrong_input")
    hvparams = paramsmod.merge_hvparams(
        {hv: dict(constants.HV_DEFAULTS[hv]) for hv in constants.HYPERVISORS},
        settings.get("hvparams") or {})
    beparams = paramsmod.merge_params(constants.BE_DEFAULTS,
                                      settings.get("beparams") or {},
                                      constants.BE_DEFAULTS, "backend")
    nicparams = paramsmod.merge_params(constants.NIC_DEFAULTS,
                                       settings.get("nicparams") or {},
                                       constants.NIC_DEFAULTS, "nic")
    ndparams = paramsmod.merge_params(constants.ND_DEFAULTS,
                                      settings.get("ndparams") or {},
                                      constants.ND_DEFAULTS, "node")
    diskparams = paramsmod.merge_diskparams(
        {t: dict(p) for t, p in constants.DISK_DEFAULTS.items()},
        settings.get("diskparams") or {})
    ipolicy = {k: (list(v) if isinstance(v, list) else v)
               for k, v in constants.IPOLICY_DEFAULTS.items()}
    ipolicy_templates = settings.get("ipolicy_disk_templates")
    if ipolicy_templates:
        paramsmod.check_disk_templates(ipolicy_templates)
        ipolicy["disk-templates"] = ipolicy_templates
    netmask = settings.get("master_netmask")
    if netmask is None:
        netmask = 32
    if not 0 < netmask <= 32:
        raise errors.OpPrereqError("Invalid master netmask value: %s" % netmask,
                                   "wrong_input")
    uses_lvm = bool({"plain", "drbd"} & set(templates))
    vg_name = settings.get("vg_name")
    if vg_name is None:
        vg_name = constants.DEFAULT_VG if uses_lvm else ""
    if uses_lvm and not vg_name:
        raise errors.OpPrereqError("LVM disk templates are enabled, but vg name"
                                   " not set.", "wrong_input")
    group_uuid = _new_uuid()
    node_uuid = _new_uuid()
    node = Node(name=settings["node_name"], uuid=node_uuid,
                primary_ip=settings["node_ip"],
                secondary_ip=settings.get("secondary_ip") or settings["node_ip"],
                group=group_uuid, master_candidate=True, ctime=now, mtime=now)
    group = NodeGroup(name=constants.DEFAULT_NODEGROUP, uuid=group_uuid,
                      ipolicy={}, ctime=now, mtime=now)
    cluster = Cluster(
        cluster_name=settings["cluster_name"], uuid=_new_uuid(),
        master_node=node_uuid, master_ip=settings["cluster_ip"],
        master_netdev=settings.get("master_netdev") or "xen-br0",
        master_netmask=netmask,
        use_external_mip_script=bool(settings.get("use_external_mip_script")),
        mac_prefix=mac_prefix, volume_group_name=vg_name,
        drbd_usermode_helper=settings.get("drbd_helper") or (
            constants.DEFAULT_DRBD_HELPER if "drbd" in templates else ""),
        default_hypervisor=hypervisors[0], enabled_hypervisors=hypervisors,
        hvparams=hvparams, beparams={"default": beparams},
        nicparams={"default": nicparams}, ndparams=ndparams,
        diskparams=diskparams, ipolicy=ipolicy,
        candidate_pool_size=settings.get("candidate_pool_size") or
        constants.DEFAULT_CANDIDATE_POOL_SIZE,
        modify_etc_hosts=not settings.get("no_etc_hosts"),
        modify_ssh_setup=not settings.get("no_ssh_init"),
        maintain_node_health=bool(settings.get("maintain_node_health")),
        default_iallocator=settings.get("default_iallocator") or "",
        default_iallocator_params=settings.get("default_iallocator_params") or {},
        prealloc_wipe_disks=bool(settings.get("prealloc_wipe_disks")),
        enabled_disk_templates=templates,
        file_storage_dir=settings.get("file_storage_dir") or paths.file_storage_dir,
        shared_file_storage_dir=settings.get("shared_file_storage_dir") or
        paths.shared_file_storage_dir,
        gluster_storage_dir=os.path.join(paths.run_dir, "gluster"),
        enabled_user_shutdown=bool(settings.get("enabled_user_shutdown")),
        tcpudp_port_pool=[], ctime=now, mtime=now)
    return ConfigData(cluster=cluster, nodes={node_uuid: node},
                      nodegroups={group_uuid: group}, ctime=now, mtime=now)


def _run(command):
    argv, env = command
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        return 127, "%s: %s" % (argv[0], e.strerror)
    return result.returncode, result.stderr.decode("utf-8", "replace").strip()


def activate_master_ip(cluster, paths):
    """
    Put the cluster IP on the master netdev (``ip address add``, or the
    external master IP setup script).

    :raise OpExecError: if the command fails for another reason than the
        address being there already.
    """
    problem = netutils.master_ip_add_error(
        *_run(netutils.master_ip_command(cluster, "add", paths)))
    if problem:
        raise errors.OpExecError("Could not activate the master IP %s on %s: %s"
                                 % (cluster.master_ip, cluster.master_netdev,
                                    problem))


def deactivate_master_ip(cluster, paths):
    """Remove the cluster IP from the master netdev, if it is there."""
    _run(netutils.master_ip_command(cluster, "del", paths))


def _update_etc_hosts(paths, name, ip, add):
    path = paths.etc_hosts
    try:
        with open(path) as f:
            lines = f.readlines()
    except FileNotFoundError:
        lines = []
    short = name.split(".")[0]
    kept = [line for line in lines
            if name not in line.split("#", 1)[0].split()[1:]]
    if add:
        kept.append("%s\t%s %s\n" % (ip, name, short) if short != name
                    else "%s\t%s\n" % (ip, name))
    if kept != lines:
        atomic_write(path, "".join(kept).encode(), mode=0o644)


def init_cluster(paths, settings):
    """
    Create a cluster's state on this node.

    :param settings: ``cluster_name`` plus the ``init`` options as
        L{build_config} reads them.
    :return: the new L{ConfigData}.
    :raise OpPrereqError: if a cluster exists here or settings are bad;
        nothing is left behind then.
    """
    if os.path.exists(paths.config_data):
        raise errors.OpPrereqError("Cluster is already initialised", "wrong_state")
    node_name = netutils.local_node_name(paths)
    node_name, node_ip = netutils.resolve(node_name, paths)
    cluster_name, cluster_ip = netutils.resolve(
        netutils.normalize_hostname(settings["cluster_name"]), paths)
    if ipaddress.ip_address(cluster_ip).version != 4:
        raise errors.OpPrereqError("Only IPv4 clusters are supported",
                                   "wrong_input")
    if cluster_ip == node_ip or _ip_active(cluster_ip):
        raise errors.OpPrereqError("Cluster IP already active", "wrong_state")
    settings = dict(settings, cluster_name=cluster_name, cluster_ip=cluster_ip,
                    node_name=node_name, node_ip=node_ip)
    config = build_config(settings, paths)
    for directory in paths.cluster_dirs() + [
            config.cluster.file_storage_dir,
            config.cluster.shared_file_storage_dir,
            os.path.join(paths.run_dir, "fake-hypervisor")]:
        os.makedirs(directory, exist_ok=True)
    crypto.write_cluster_certificate(paths.server_pem, cluster_name)
    crypto.write_cluster_certificate(paths.rapi_pem, cluster_name,
                                     key_type=crypto.RAPI_KEY_TYPE)
    atomic_write(os.path.join(paths.conf_dir, "file-storage-paths"),
                 ("%s\n%s\n" % (config.cluster.file_storage_dir,
                                config.cluster.shared_file_storage_dir)).encode())
    atomic_write(paths.queue_serial, b"0\n")
    atomic_write(os.path.join(paths.queue_dir, "version"), b"1\n")
    if config.cluster.modify_etc_hosts:
        _update_etc_hosts(paths, cluster_name, cluster_ip, add=True)
    activate_master_ip(config.cluster, paths)
    ssconf.write(paths, ssconf.values(config))
    # The config goes last: its presence is what "initialised" means.
    configmod.save(paths.config_data, config)
    return config


def destroy_cluster(paths, config):
    """
    Remove the cluster's state from this (the last) node: config, ssconf,
    queue, certificates; the master IP goes down.
    """
    deactivate_master_ip(config.cluster, paths)
    if config.cluster.modify_etc_hosts:
        _update_etc_hosts(paths, config.cluster.cluster_name, None, add=False)
    for path in (paths.config_data, paths.server_pem, paths.rapi_pem,
                 os.path.join(paths.conf_dir, "file-storage-paths"),
                 os.path.join(paths.data_dir, "watcher.pause")):
        remove_file(path)
    ssconf.remove_all(paths)
    shutil.rmtree(paths.queue_dir, ignore_errors=True)
