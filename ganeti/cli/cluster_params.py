# -*- test-case-name: tests.test_cli_cluster -*-
"""
The cluster parameters ``gnt-cluster init`` and ``gnt-cluster modify``
both take (hypervisors, disk templates, ``-H``/``-B``/``-N``/``-D``
parameters, master network, storage directories, yes/no policies), and
how they become settings.

Apart from L{ganeti.cli.cluster} because the two commands share this long
declaration and nothing else in the tool needs it.
"""

from ganeti.cli import options, parsing
from ganeti.cli.base import UsageError
from ganeti.cli.options import opt

#: The options of ``init`` and ``modify`` that L{cluster_settings} reads.
CLUSTER_OPTS = [
    opt("--enabled-hypervisors", default=None,
        help="Comma-separated list of hypervisors"),
    opt("--enabled-disk-templates", default=None,
        help="Comma-separated list of disk templates"),
    opt("-H", "--hypervisor-parameters", dest="hvparams", action="append",
        default=[], help="Hypervisor and hypervisor options, in the format"
                         " hypervisor:option=value,option=value,..."),
    options.BACKEND_PARAMS_OPT,
    opt("-N", "--nic-parameters", dest="nicparams", default=None,
        help="NIC parameters"),
    options.NODE_PARAMS_OPT,
    options.DISK_PARAMS_OPT,
    opt("--master-netdev", default=None,
        help="Specify the node interface (cluster-wide) on which the master"
             " IP address will be active"),
    opt("--master-netmask", default=None,
        help="Specify the netmask of the master IP"),
    opt("-m", "--mac-prefix", dest="mac_prefix", default=None,
        help="Specify the mac prefix for the instance IP addresses"),
    opt("--vg-name", default=None,
        help="Specifies the volume group used for LVM disk templates"),
    opt("--file-storage-dir", default=None,
        help="Specify the default directory (cluster-wide) for storing the"
             " file-based disks"),
    opt("--shared-file-storage-dir", default=None,
        help="Specify the default directory (cluster-wide) for storing the"
             " shared file-based disks"),
    opt("--drbd-usermode-helper", dest="drbd_helper", default=None,
        help="Specifies the DRBD usermode helper"),
    opt("-C", "--candidate-pool-size", type=int, default=None,
        help="Set the candidate pool size"),
    opt("--maintain-node-health", default=None,
        help="Configure the cluster to automatically maintain node health, by"
             " shutting down unknown instances, shutting down unknown DRBD"
             " devices, etc. (yes|no)"),
    opt("--prealloc-wipe-disks", default=None,
        help="Wipe disks prior to instance creation (yes|no)"),
    opt("--use-external-mip-script", default=None,
        help="Specify whether to run a user-provided script for the master IP"
             " address turnup and turndown operations (yes|no)"),
    opt("--user-shutdown", dest="enabled_user_shutdown", default=None,
        help="Whether user shutdown is enabled (yes|no)"),
    opt("-I", "--default-iallocator", default=None,
        help="Set the default instance allocator plugin"),
    opt("--default-iallocator-params", default=None,
        help="Set the default instance allocator plugin parameters"
             " (key=value,...)"),
    options.IPOLICY_DISK_TEMPLATES_OPT,
]


def cluster_settings(opts):
    """
    :param opts: parsed L{CLUSTER_OPTS} (among others).
    :return: the settings they give, by setting name; options not given
        are left out.
    :raise UsageError: for a malformed value.
    """
    settings = {}
    for name in ("enabled_hypervisors", "enabled_disk_templates",
                 "ipolicy_disk_templates"):
        if getattr(opts, name) is not None:
            settings[name] = parsing.parse_comma_list(getattr(opts, name))
    for name, option in (("hvparams", "-H"), ("diskparams", "-D")):
        if getattr(opts, name):
            settings[name] = parsing.parse_ident_options(getattr(opts, name),
                                                         option)
    for name, option in (("beparams", "-B"), ("nicparams", "-N"),
                         ("ndparams", "--node-parameters"),
                         ("default_iallocator_params",
                          "--default-iallocator-params")):
        if getattr(opts, name) is not None:
            settings[name] = parsing.parse_key_values(getattr(opts, name),
                                                      option)
    if opts.master_netmask is not None:
        try:
            settings["master_netmask"] = int(opts.master_netmask)
        except ValueError:
            raise UsageError("Invalid master netmask value: %s"
                             % opts.master_netmask)
    for name in ("master_netdev", "mac_prefix", "vg_name", "file_storage_dir",
                 "shared_file_storage_dir", "default_iallocator",
                 "drbd_helper", "candidate_pool_size"):
        if getattr(opts, name) is not None:
            settings[name] = getattr(opts, name)
    for name, option in (("maintain_node_health", "--maintain-node-health"),
                         ("prealloc_wipe_disks", "--prealloc-wipe-disks"),
                         ("use_external_mip_script",
                          "--use-external-mip-script"),
                         ("enabled_user_shutdown", "--user-shutdown")):
        value = parsing.parse_optional_bool(getattr(opts, name), option)
        if value is not None:
            settings[name] = value
    return settings
