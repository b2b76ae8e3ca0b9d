# -*- test-case-name: tests.test_cli_cluster -*-
"""
``gnt-cluster``: create, inspect, verify, modify and destroy the cluster.
"""

import time

from ganeti import errors
from ganeti.cli import base, cluster_params, cluster_ssh, jobs, options, parsing
from ganeti.cli.base import UsageError
from ganeti.cli.options import Args, Command, opt
from ganeti.cli.info import format_generic_info, format_time
from ganeti.cli.tags import tag_commands


# --- commands ------------------------------------------------------------

def init_cluster(opts, args):
    """``gnt-cluster init``: create the cluster and start its daemon."""
    from ganeti import bootstrap, daemon
    settings = cluster_params.cluster_settings(opts)
    settings.update(cluster_name=args[0], no_etc_hosts=opts.no_etc_hosts,
                    no_ssh_init=opts.no_ssh_init,
                    secondary_ip=opts.secondary_ip)
    if settings.get("enabled_disk_templates") == []:
        raise UsageError("Disk templates unknown: ")
    paths = base.get_paths()
    config = bootstrap.init_cluster(paths, settings)
    try:
        daemon.start(paths, wait_for_master=True)
    except errors.GenericError:
        # A cluster whose daemon cannot run is no cluster: undo the init.
        daemon.stop(paths)
        bootstrap.destroy_cluster(paths, config)
        raise
    jobs.submit_opcode({"OP_ID": "OP_CLUSTER_POST_INIT"}, opts)
    return 0


def destroy_cluster(opts, args):
    """``gnt-cluster destroy --yes-do-it``."""
    if not opts.yes_do_it:
        base.to_stderr("Destroying a cluster is irreversible. If you really want"
                       " destroy this cluster, supply the --yes-do-it option.")
        return 1
    from ganeti import bootstrap, config, daemon
    jobs.submit_opcode({"OP_ID": "OP_CLUSTER_DESTROY"}, opts)
    paths = base.get_paths()
    cfg = config.load(paths.config_data)
    daemon.stop(paths)
    bootstrap.destroy_cluster(paths, cfg)
    return 0


def get_master(opts, args):
    """``gnt-cluster getmaster``: read from ssconf, no daemon needed."""
    from ganeti import ssconf
    paths = base.get_paths()
    master = ssconf.read(paths, "master_node")
    if master is None:
        path = paths.ssconf("master_node")
        raise errors.ConfigurationError(
            "Can't read ssconf file %s: [Errno 2] No such file or directory: '%s'"
            % (path, path))
    base.to_stdout(master)
    return 0


def show_version(opts, args):
    """``gnt-cluster version``."""
    info = base.get_client().call("QueryClusterInfo")
    for title, key in (("Software version", "software_version"),
                       ("Internode protocol", "protocol_version"),
                       ("Configuration format", "config_version"),
                       ("OS api version", "os_api_version"),
                       ("Export interface", "export_version"),
                       ("VCS version", "vcs_version")):
        base.to_stdout("%s: %s" % (title, info[key]))
    return 0


def master_ping(opts, args):
    """``gnt-cluster master-ping``: exit 0 if the master answers."""
    try:
        base.get_client().call("QueryClusterInfo")
    except errors.GenericError:
        return 1
    return 0


def _stringify(params):
    if isinstance(params, dict):
        return {k: _stringify(v) for k, v in params.items()}
    return str(params)


def _ipolicy_info(ipolicy):
    bounds = []
    for index, minmax in enumerate(ipolicy.get("minmax", [])):
        bounds.append([("min/%d" % index, _stringify(minmax.get("min", {}))),
                       ("max/%d" % index, _stringify(minmax.get("max", {})))])
    return [("bounds specs", bounds),
            ("std", _stringify(ipolicy.get("std", {}))),
            ("allowed disk templates",
             ", ".join(ipolicy.get("disk-templates", []))),
            ("vcpu-ratio", str(ipolicy.get("vcpu-ratio"))),
            ("spindle-ratio", str(ipolicy.get("spindle-ratio")))]


def show_info(opts, args):
    """``gnt-cluster info``."""
    from ganeti.query import nice_sort
    r = base.get_client().call("QueryClusterInfo")
    enabled = r["enabled_hypervisors"]
    join = ", ".join
    info = [
        ("Cluster name", r["name"]),
        ("Cluster UUID", r["uuid"]),
        ("Creation time", format_time(r["ctime"])),
        ("Modification time", format_time(r["mtime"])),
        ("Master node", r["master"]),
        ("Architecture (this node)", "%s (%s)" % tuple(r["architecture"])),
        ("Tags", join(nice_sort(r["tags"])) if r["tags"] else "(none)"),
        ("Default hypervisor", r["default_hypervisor"]),
        ("Enabled hypervisors", join(enabled)),
        ("Hypervisor parameters", _stringify(
            {hv: p for hv, p in r["hvparams"].items() if hv in enabled})),
        ("OS-specific hypervisor parameters", _stringify(r["os_hvp"])),
        ("OS parameters", _stringify(r["osparams"])),
        ("Hidden OSes", join(r["hidden_os"])),
        ("Blacklisted OSes", join(r["blacklisted_os"])),
        ("Cluster parameters", [
            ("candidate pool size", r["candidate_pool_size"]),
            ("maximal number of jobs running simultaneously",
             r["max_running_jobs"]),
            ("maximal number of jobs simultaneously tracked by the scheduler",
             r["max_tracked_jobs"]),
            ("mac prefix", r["mac_prefix"]),
            ("master netdev", r["master_netdev"]),
            ("master netmask", r["master_netmask"]),
            ("use external master IP address setup script",
             r["use_external_mip_script"]),
            ("lvm volume group", r["volume_group_name"]),
            ("lvm reserved volumes",
             join(r["reserved_lvs"]) if r["reserved_lvs"] else "(none)"),
            ("drbd usermode helper", r["drbd_usermode_helper"]),
            ("file storage path", r["file_storage_dir"]),
            ("shared file storage path", r["shared_file_storage_dir"]),
            ("gluster storage path", r["gluster_storage_dir"]),
            ("maintenance of node health", r["maintain_node_health"]),
            ("uid pool", join(map(str, r["uid_pool"]))),
            ("default instance allocator", r["default_iallocator"]),
            ("default instance allocator parameters",
             _stringify(r["default_iallocator_params"])),
            ("primary ip version", r["primary_ip_version"]),
            ("preallocation wipe disks", r["prealloc_wipe_disks"]),
            ("OS search path", join(r["os_search_path"])),
            ("enabled disk templates", join(r["enabled_disk_templates"])),
            ("install image", r["install_image"]),
            ("instance communication network",
             r["instance_communication_network"]),
            ("zeroing image", r["zeroing_image"]),
            ("compression tools", r["compression_tools"]),
            ("enabled user shutdown", r["enabled_user_shutdown"]),
            ("modify ssh setup", r["modify_ssh_setup"]),
            ("ssh_key_type", r["ssh_key_type"]),
            ("ssh_key_bits", r["ssh_key_bits"]),
        ]),
        ("Default node parameters", _stringify(r["ndparams"])),
        ("Default instance parameters", _stringify(r["beparams"])),
        ("Default nic parameters", _stringify(r["nicparams"])),
        ("Default disk parameters", _stringify(r["diskparams"])),
        ("Instance policy - limits for instances", _ipolicy_info(r["ipolicy"])),
    ]
    base.to_stdout(format_generic_info(info))
    return 0


def verify_cluster(opts, args):
    """``gnt-cluster verify``: run the verify jobs, exit 1 on any error."""
    op = {"OP_ID": "OP_CLUSTER_VERIFY", "verbose": bool(opts.verbose),
          "error_codes": opts.error_codes,
          "debug_simulate_errors": opts.simulate_errors,
          "ignore_errors": opts.ignore_errors,
          "group_name": opts.nodegroup,
          "verify_clutter": opts.verify_clutter}
    if opts.skip_nplusone_mem:
        op["skip_checks"] = ["nplusone_mem"]
    code = failed = 0
    for ok, results in jobs.follow_handed_back(jobs.submit_opcode(op, opts),
                                               opts):
        if not ok:
            failed += 1
        elif not results or not results[0]:
            code = 1
    if failed:
        base.to_stdout("%s job(s) failed while verifying the cluster." % failed)
        code = 1
    return code


def _report_disk_check(opts, bad_nodes, instances, missing):
    """
    Print one group's verify-disks result as Ganeti does, activating the
    disks that need it.

    :return: the exit code for this group.
    """
    code = 0
    for node, text in sorted(bad_nodes.items()):
        base.to_stdout("Error gathering data on node %s: %s"
                       % (node, text[-400:]))
        base.to_stdout("You need to fix these nodes first before fixing"
                       " instances")
        code = 1
    for name in instances:
        if name in missing:
            continue
        base.to_stdout("Activating disks for instance '%s'" % name)
        try:
            jobs.submit_opcode({"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS",
                                "instance_name": name}, opts)
        except errors.GenericError as e:
            error_code, message = base.format_error(e)
            code |= error_code
            base.to_stderr("Error activating disks for instance %s: %s"
                           % (name, message))
    for name, volumes in sorted(missing.items()):
        if all(node in bad_nodes for node, _ in volumes):
            base.to_stdout("Instance %s cannot be verified as it lives on"
                           " broken nodes" % name)
            continue
        base.to_stdout("Instance %s has missing logical volumes:" % name)
        for node, volume in sorted(volumes):
            # LVs are named vg/lv as in Ganeti; files by their path.
            path = volume if volume.startswith("/") else "/dev/" + volume
            base.to_stdout("\t%s%s %s" % ("broken node " if node in bad_nodes
                                          else "", node, path))
    if missing:
        base.to_stdout("You need to replace or recreate disks for all the"
                       " above instances if this message persists after"
                       " fixing broken nodes.")
        code = 1
    elif not instances:
        base.to_stdout("No disks need to be activated.")
    return code


def verify_disks(opts, args):
    """
    ``gnt-cluster verify-disks``: one check job per node group, then the
    disks that need it are activated, each by its own job.
    """
    result = jobs.submit_opcode({"OP_ID": "OP_CLUSTER_VERIFY_DISKS",
                                 "group_name": opts.nodegroup,
                                 "is_strict": opts.strict}, opts)
    code = 0
    for ok, job_result in jobs.follow_handed_back(result, opts):
        if not ok:
            base.to_stdout("Job failed: %s" % job_result)
            code = 1
            continue
        [(bad_nodes, instances, missing)] = job_result
        code |= _report_disk_check(opts, bad_nodes, instances, missing)
    return code


def repair_disk_sizes(opts, args):
    """``gnt-cluster repair-disk-sizes``: print every size corrected."""
    changed = jobs.submit_opcode({"OP_ID": "OP_CLUSTER_REPAIR_DISK_SIZES",
                                  "instances": list(args)}, opts)
    for name, index, what, value in changed or []:
        base.to_stdout("Instance %s, disk %d: %s set to %s"
                       % (name, index, what, value))
    return 0


def activate_master_ip(opts, args):
    """``gnt-cluster activate-master-ip``."""
    jobs.submit_opcode({"OP_ID": "OP_CLUSTER_ACTIVATE_MASTER_IP"}, opts)
    return 0


def deactivate_master_ip(opts, args):
    """``gnt-cluster deactivate-master-ip``: asks first, unless --yes."""
    if not opts.confirm and not base.ask_user(
            "This will disable the master IP. All the open connections to"
            " the master IP will be closed. To reach the master you will"
            " need to use its node IP. Continue?"):
        return 1
    jobs.submit_opcode({"OP_ID": "OP_CLUSTER_DEACTIVATE_MASTER_IP"}, opts)
    return 0


#: The parts of renew-crypto this cluster refuses: option dest -> why
#: (see L{ganeti.master.renew_crypto}).
_RENEW_REFUSED = {
    "new_cluster_cert":
        "renewing the cluster certificate needs every node daemon to switch"
        " to the new one at once, which this cluster cannot do safely",
    "new_node_certs":
        "the nodes share the cluster certificate; there are no node"
        " certificates to renew",
    "new_confd_hmac_key": "this cluster runs no confd, so it has no HMAC key",
    "new_cds": "this cluster keeps no cluster domain secret",
    "cds_file": "this cluster keeps no cluster domain secret",
    "new_spice_cert": "this cluster has no SPICE certificates",
    "spice_cert": "this cluster has no SPICE certificates",
    "spice_cacert": "this cluster has no SPICE certificates",
    "new_ssh_keys": "this cluster does not manage SSH keys",
}


def _read_rapi_certificate(path):
    """:return: the PEM text of C{path}; the master checks what it holds."""
    try:
        with open(path, encoding="ascii") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise errors.OpPrereqError(
            "Unable to load X509 certificate from %s: Unable to read"
            " certificate: %s" % (path, e), "wrong_input")


def renew_crypto(opts, args):
    """
    ``gnt-cluster renew-crypto``: the RAPI certificate, new or given,
    replaced on every node while the cluster runs; other parts refused.
    """
    refused = [(option, why) for option, why in sorted(_RENEW_REFUSED.items())
               if getattr(opts, option)]
    if refused:
        for option, why in refused:
            base.to_stderr("Cannot renew (--%s): %s."
                           % (option.replace("_", "-"), why))
        return 1
    if opts.new_rapi_cert and opts.rapi_cert:
        base.to_stderr("Only one of the --new-rapi-certificate and"
                       " --rapi-certificate options can be specified at the"
                       " same time.")
        return 1
    if not (opts.new_rapi_cert or opts.rapi_cert):
        base.to_stderr("Nothing to renew: give --new-rapi-certificate or"
                       " --rapi-certificate.")
        return 1
    pem = _read_rapi_certificate(opts.rapi_cert) if opts.rapi_cert else None
    if not opts.force and not base.ask_user(
            "This replaces the RAPI certificate on all nodes; RAPI clients"
            " that check the old one will refuse the new one. Continue?"):
        return 1
    base.to_stdout("Updating certificates and keys")
    behind = base.get_client().call("RenewCrypto", bool(opts.new_rapi_cert),
                                    pem)
    for node, error in sorted(behind.items()):
        base.to_stderr("Node %s did not get the new files yet (%s); they will"
                       " be sent again until it has them" % (node, error))
    base.to_stdout("All requested certificates and keys have been replaced."
                   " Running \"gnt-cluster verify\" now is recommended.")
    return 0


def master_failover(opts, args):
    """``gnt-cluster master-failover``: run on the new master."""
    if opts.no_voting and not opts.yes_do_it:
        if not base.ask_user(
                "This will perform the failover even if most other nodes are"
                " down, or if this node is outdated. This is dangerous as it"
                " can lead to a non-consistent cluster. Check the"
                " gnt-cluster(8) man page before proceeding. Continue?"):
            return base.EXIT_CONFIRMATION
    from ganeti.cli import failover_rpc
    failover_rpc.run_master_failover(base.get_paths(), opts.no_voting,
                                     base.to_stderr)
    return 0


def queue_ops(opts, args):
    """``gnt-cluster queue drain|undrain|info``."""
    command = args[0]
    client = base.get_client()
    if command in ("drain", "undrain"):
        client.call("SetDrainFlag", command == "drain")
    elif command == "info":
        (flag,) = client.call("QueryConfigValues", ["drain_flag"])
        base.to_stdout("The drain flag is %s" % ("set" if flag else "unset"))
    else:
        raise errors.OpPrereqError("Command '%s' is not valid." % command,
                                   "wrong_input")
    return 0


def rapi_token_ops(opts, args):
    """
    ``gnt-cluster rapi-token add NAME|list|remove NAME``: the RAPI's API
    tokens (L{ganeti.rapi.tokens}), kept on the master next to the users
    file and pushed to the master candidates by a redist-conf job.
    """
    from ganeti.rapi import tokens
    path = base.get_paths().rapi_tokens
    command, names = args[0], args[1:]
    if command == "list":
        if names:
            raise UsageError("'list' takes no arguments")
        rows = sorted(tokens.read_tokens(path).values(),
                      key=lambda t: t.name)
        for token in rows:
            base.to_stdout("%s %s%s" % (token.name, token.scope,
                                        " tag=" + token.instance_tag
                                        if token.instance_tag else ""))
        return 0
    if command not in ("add", "remove") or len(names) != 1:
        raise UsageError("Usage: gnt-cluster rapi-token add|remove NAME,"
                         " or list")
    base.get_client()  # Only the master keeps the file.
    try:
        if command == "add":
            secret = tokens.add_token(
                path, names[0], "write" if opts.write else "read",
                opts.instance_tag)
            base.to_stdout(secret)
            base.to_stderr("Keep this token: it is shown only once.")
        else:
            tokens.remove_token(path, names[0])
    except ValueError as e:
        raise errors.OpPrereqError(str(e), "wrong_input")
    jobs.submit_opcode({"OP_ID": "OP_CLUSTER_REDIST_CONF"}, opts)
    return 0


def watcher_ops(opts, args):
    """``gnt-cluster watcher pause <duration>|continue|info``."""
    from ganeti.cli.job import parse_timespec
    command = args[0]
    client = base.get_client()
    if command == "continue":
        client.call("SetWatcherPause", None)
        base.to_stdout("The watcher is no longer paused.")
    elif command == "pause":
        if len(args) < 2:
            raise errors.OpPrereqError("Missing pause duration", "wrong_input")
        until = client.call("SetWatcherPause", time.time() + parse_timespec(args[1]))
        base.to_stdout("The watcher is paused until %s." % time.ctime(until))
    elif command == "info":
        (until,) = client.call("QueryConfigValues", ["watcher_pause"])
        if until is None:
            base.to_stdout("The watcher is not paused.")
        else:
            base.to_stdout("The watcher is paused until %s." % time.ctime(until))
    else:
        raise errors.OpPrereqError("Command '%s' is not valid." % command,
                                   "wrong_input")
    return 0


def modify_cluster(opts, args):
    """``gnt-cluster modify``."""
    settings = cluster_params.cluster_settings(opts)
    templates = settings.pop("ipolicy_disk_templates", None)
    op = dict(settings, OP_ID="OP_CLUSTER_SET_PARAMS", force=opts.force)
    if templates is not None:
        op["ipolicy"] = {"disk-templates": templates}
    for name in ("max_running_jobs", "max_tracked_jobs"):
        if getattr(opts, name) is not None:
            op[name] = getattr(opts, name)
    if opts.modify_etc_hosts is not None:
        op["modify_etc_hosts"] = parsing.parse_bool(opts.modify_etc_hosts,
                                                    "--modify-etc-hosts")
    if opts.reserved_lvs is not None:
        op["reserved_lvs"] = parsing.parse_comma_list(opts.reserved_lvs)
    if len(op) == 2:
        base.to_stderr("Please give at least one of the parameters.")
        return 1
    jobs.submit_opcode(op, opts)
    return 0


def redist_conf(opts, args):
    """``gnt-cluster redist-conf``."""
    jobs.submit_opcode({"OP_ID": "OP_CLUSTER_REDIST_CONF"}, opts)
    return 0


def rename_cluster(opts, args):
    """``gnt-cluster rename``."""
    if not opts.force and not base.ask_user(
            "This will rename the cluster from '%s' to '%s'. If you are"
            " connected over the network to the cluster name, the operation is"
            " very dangerous as the IP address will be removed from the node"
            " and the change may not go through. Continue?"
            % (base.get_client().call("QueryConfigValues", ["cluster_name"])[0],
               args[0])):
        return 1
    jobs.submit_opcode({"OP_ID": "OP_CLUSTER_RENAME", "name": args[0]}, opts)
    return 0


def search_tags(opts, args):
    """``gnt-cluster search-tags``: exit 1 when nothing matches."""
    found = jobs.submit_opcode({"OP_ID": "OP_TAGS_SEARCH", "pattern": args[0]},
                               opts)
    for path, tag in sorted(found):
        base.to_stdout("%s %s" % (path, tag))
    return 0 if found else 1


COMMANDS = {
    "init": Command(init_cluster, Args(1, 1), cluster_params.CLUSTER_OPTS + [
        opt("--no-etc-hosts", action="store_true", default=False,
            help="Don't modify /etc/hosts"),
        opt("--no-ssh-init", action="store_true", default=False,
            help="Don't initialize SSH keys"),
        opt("-s", "--secondary-ip", default=None,
            help="Specify the secondary ip for this node"),
        opt("--primary-ip-version", default="4",
            help="Cluster-wide IP version for primary IP"),
    ], "[opts...] <cluster_name>", "Initialises a new cluster configuration"),
    "destroy": Command(destroy_cluster, Args(0, 0), [options.YES_DOIT_OPT], "",
                       "Destroy cluster"),
    "getmaster": Command(get_master, Args(0, 0), [], "",
                         "Display the current master"),
    "master-ping": Command(master_ping, Args(0, 0), [], "",
                           "Checks if the master is alive"),
    "version": Command(show_version, Args(0, 0), [], "",
                       "Shows the cluster version"),
    "info": Command(show_info, Args(0, 0), [
        opt("--roman", action="store_true", default=False,
            help="Use roman numbers for positive integers")],
        "[--roman]", "Show cluster configuration"),
    "verify": Command(verify_cluster, Args(0, 0), [
        options.VERBOSE_OPT, options.DRY_RUN_OPT, options.PRIORITY_OPT,
        opt("--error-codes", action="store_true", default=False,
            help="Enable parseable error messages"),
        opt("--debug-simulate-errors", dest="simulate_errors",
            action="store_true", default=False,
            help="Debugging option that makes the operation treat most runtime"
                 " checks as failed"),
        opt("--no-nplus1-mem", dest="skip_nplusone_mem", action="store_true",
            default=False, help="Skip N+1 memory redundancy tests"),
        opt("-g", "--node-group", dest="nodegroup", default=None,
            help="Node group (name or uuid)"),
        opt("-I", "--ignore-errors", dest="ignore_errors", action="append",
            default=[], help="Error code to be ignored"),
        opt("--verify-ssh-clutter", dest="verify_clutter",
            action="store_true", default=False,
            help="Verify that Ganeti did not clutter up the 'authorized_keys'"
                 " file"),
    ], "", "Does a check on the cluster configuration"),
    "verify-disks": Command(verify_disks, Args(0, 0), [
        options.PRIORITY_OPT,
        opt("-g", "--node-group", dest="nodegroup", default=None,
            help="Node group (name or uuid)"),
        opt("--no-strict", dest="strict", action="store_false", default=True,
            help="Do not lock the nodes strictly")],
        "", "Does a check on the cluster disk status"),
    "repair-disk-sizes": Command(repair_disk_sizes, Args(0, None), [
        options.DRY_RUN_OPT] + options.JOB_OPTS,
        "[instance...]", "Updates mismatches in recorded disk sizes"),
    "activate-master-ip": Command(activate_master_ip, Args(0, 0), [], "",
                                  "Activates the master IP"),
    "deactivate-master-ip": Command(deactivate_master_ip, Args(0, 0), [
        opt("--yes", dest="confirm", action="store_true", default=False,
            help="Do not ask for confirmation")], "[--yes]",
        "Deactivates the master IP"),
    "renew-crypto": Command(renew_crypto, Args(0, 0), [
        options.FORCE_OPT,
        opt("--new-cluster-certificate", dest="new_cluster_cert",
            action="store_true", default=False,
            help="Generate a new cluster certificate"),
        opt("--new-node-certificates", dest="new_node_certs",
            action="store_true", default=False,
            help="Generate new node certificates"),
        opt("--new-confd-hmac-key", action="store_true", default=False,
            help="Create a new HMAC key for confd"),
        opt("--new-rapi-certificate", dest="new_rapi_cert",
            action="store_true", default=False,
            help="Generate a new self-signed RAPI certificate"),
        opt("--rapi-certificate", dest="rapi_cert", default=None,
            help="File containing new RAPI certificate"),
        opt("--new-spice-certificate", dest="new_spice_cert",
            action="store_true", default=False,
            help="Generate a new self-signed SPICE certificate"),
        opt("--spice-certificate", dest="spice_cert", default=None,
            help="File containing new SPICE certificate"),
        opt("--spice-ca-certificate", dest="spice_cacert", default=None,
            help="File containing the certificate of the CA that signed the"
                 " SPICE certificate"),
        opt("--new-cluster-domain-secret", dest="new_cds",
            action="store_true", default=False,
            help="Create a new cluster domain secret"),
        opt("--cluster-domain-secret", dest="cds_file", default=None,
            help="Load new cluster domain secret from file"),
        opt("--new-ssh-keys", action="store_true", default=False,
            help="Renew the cluster's SSH keys"),
        opt("--no-ssh-key-check", action="store_true", default=False,
            help="Do not check the SSH keys (only with --new-ssh-keys)"),
        opt("--ssh-key-type", default=None,
            help="Type of the new SSH keys (only with --new-ssh-keys)"),
        opt("--ssh-key-bits", type=int, default=None,
            help="Length of the new SSH keys (only with --new-ssh-keys)"),
        options.VERBOSE_OPT],
        "", "Renews cluster certificates, keys and secrets"),
    "master-failover": Command(master_failover, Args(0, 0), [
        options.YES_DOIT_OPT,
        opt("--no-voting", action="store_true", default=False,
            help="Skip node agreement check (dangerous)"),
        opt("--ignore-offline-nodes", action="store_true", default=False,
            help="Ignore offline nodes and do as much as possible")],
        "", "Makes the current node the master"),
    "queue": Command(queue_ops, Args(1, 1), [], "drain|undrain|info",
                     "Change queue properties"),
    "rapi-token": Command(rapi_token_ops, Args(1, 2), [
        opt("--write", action="store_true", default=False,
            help="The token may change the cluster (default: read only)"),
        opt("--instance-tag", default=None, metavar="TAG",
            help="The token may change only instances with this tag")],
        "{add [--write] [--instance-tag TAG] <name>|list|remove <name>}",
        "Manage the RAPI's API tokens"),
    "watcher": Command(watcher_ops, Args(1, 2), [],
                       "{pause <timespec>|continue|info}",
                       "Change watcher properties"),
    "modify": Command(modify_cluster, Args(0, 0), cluster_params.CLUSTER_OPTS + [
        options.FORCE_OPT, options.DRY_RUN_OPT] + options.JOB_OPTS + [
        opt("--max-running-jobs", type=int, default=None,
            help="The maximal number of jobs running in parallel"),
        opt("--max-tracked-jobs", type=int, default=None,
            help="The maximal number of jobs tracked by the scheduler"),
        opt("--modify-etc-hosts", default=None,
            help="Defines whether the cluster should autonomously modify and"
                 " keep in sync the /etc/hosts file of the nodes (yes|no)"),
        opt("--reserved-lvs", default=None,
            help="A comma-separated list of reserved logical volumes names,"
                 " that will be ignored by cluster verify"),
    ], "[opts...]", "Alters the parameters of the cluster"),
    "redist-conf": Command(redist_conf, Args(0, 0), options.JOB_OPTS, "[--submit]",
                           "Forces a push of the configuration file and"
                           " ssconf files to the nodes in the cluster"),
    "rename": Command(rename_cluster, Args(1, 1),
                      [options.FORCE_OPT] + options.JOB_OPTS,
                      "<new_name>", "Renames the cluster"),
    "search-tags": Command(search_tags, Args(1, 1), [], "", "Searches the tags"
                           " on all objects on the cluster for a given pattern"
                           " (regex)"),
}
COMMANDS.update(cluster_ssh.COMMANDS)
COMMANDS.update(tag_commands("cluster"))

ALIASES = {"show": "info", "masterfailover": "master-failover"}


def main():
    """Entry point of ``gnt-cluster``."""
    base.run(COMMANDS, {k: v for k, v in ALIASES.items() if v in COMMANDS})
