# -*- test-case-name: tests.test_cli_node -*-
"""
``gnt-node``: the nodes of the cluster and their storage.
"""

import os
import sys

from ganeti import errors
from ganeti.cli import base, jobs, listing, options, parsing
from ganeti.cli.options import Args, Command, opt
from ganeti.cli.info import format_generic_info
from ganeti.cli.tags import tag_commands

DEFAULT_FIELDS = ["name", "dtotal", "dfree", "mtotal", "mnode", "mfree",
                  "pinst_cnt", "sinst_cnt"]
STORAGE_FIELDS = ["node", "type", "name", "size", "used", "free", "allocatable"]
STORAGE_TITLES = {"node": "Node", "type": "Type", "name": "Name", "size": "Size",
                  "used": "Used", "free": "Free", "allocatable": "Allocatable"}
VOLUME_FIELDS = ["node", "phys", "vg", "name", "size", "instance"]
VOLUME_TITLES = {"node": "Node", "phys": "PhysDev", "vg": "VG", "name": "Name",
                 "size": "Size", "instance": "Instance"}
_UNIT_FIELDS = ("size", "used", "free")


def list_nodes(opts, args):
    """``gnt-node list``."""
    return listing.generic_list("node", args, opts, DEFAULT_FIELDS)


def list_fields(opts, args):
    """``gnt-node list-fields``."""
    return listing.generic_list_fields("node", args, opts)


def _print_rows(opts, fields, titles, rows):
    from ganeti.cli import table
    result = {"fields": [{"name": f, "title": titles[f],
                          "kind": "unit" if f in _UNIT_FIELDS else "text",
                          "doc": ""} for f in fields],
              "data": [[[0, value] for value in row] for row in rows]}
    lines, _ = table.format_query_result(result, headers=not opts.no_headers,
                                         separator=opts.separator,
                                         units=opts.units)
    for line in lines:
        base.to_stdout(line)


def list_storage(opts, args):
    """``gnt-node list-storage``."""
    from ganeti.cli import table
    fields = table.parse_fields(opts.output, STORAGE_FIELDS)
    rows = jobs.submit_opcode({"OP_ID": "OP_NODE_QUERY_STORAGE",
                               "output_fields": fields,
                               "storage_type": opts.storage_type,
                               "nodes": list(args)}, opts)
    if "allocatable" in fields:
        # Ganeti's tool prints the flag as Y or N.
        index = fields.index("allocatable")
        for row in rows:
            row[index] = "Y" if row[index] else "N"
    _print_rows(opts, fields, STORAGE_TITLES, rows)
    return 0


def list_volumes(opts, args):
    """``gnt-node volumes``."""
    from ganeti.cli import table
    fields = table.parse_fields(opts.output, VOLUME_FIELDS)
    rows = jobs.submit_opcode({"OP_ID": "OP_NODE_QUERYVOLS",
                               "output_fields": fields, "nodes": list(args)},
                              opts)
    _print_rows(opts, fields, VOLUME_TITLES, rows)
    return 0


def list_drbd(opts, args):
    """
    ``gnt-node list-drbd <node>``: the DRBD minors the config gives the
    node (Ganeti asks its confd; here the master answers from the same
    config).
    """
    from ganeti.cli import table
    try:
        rows = base.get_client().call("QueryNodeDrbd", args[0])
    except errors.OpPrereqError as e:
        # Ganeti's confd refuses an unknown node with an error status.
        base.to_stderr("Query gave non-ok status '1': %s" % e.args[0])
        return 1
    columns = [table.Column(title, str, align_right=title == "Minor")
               for title in ("Node", "Minor", "Instance", "Disk", "Role",
                             "PeerNode")]
    for line in table.format_table(rows, columns,
                                   headers=not opts.no_headers,
                                   separator=opts.separator):
        base.to_stdout(line)
    return 0


def _storage_type(text):
    """
    :return: C{text}, a storage type, checked before any job is sent.
    :raise OpPrereqError: for an unknown type, as Ganeti's tool does.
    """
    from ganeti.storage_units import STORAGE_TYPES
    if text not in STORAGE_TYPES:
        raise errors.OpPrereqError("Unknown storage type: %s" % text,
                                   "wrong_input")
    return text


def modify_storage(opts, args):
    """``gnt-node modify-storage``: e.g. a PV's allocatable flag."""
    node_name, storage_type, name = args
    op = {"OP_ID": "OP_NODE_MODIFY_STORAGE", "node_name": node_name,
          "storage_type": _storage_type(storage_type), "name": name,
          "changes": {}}
    if opts.allocatable is not None:
        op["changes"]["allocatable"] = parsing.parse_bool(opts.allocatable,
                                                          "--allocatable")
    if not op["changes"]:
        base.to_stderr("No changes to perform, exiting.")
        return 0
    jobs.submit_opcode(op, opts)
    return 0


def repair_storage(opts, args):
    """``gnt-node repair-storage``: e.g. drop a VG's missing PVs."""
    node_name, storage_type, name = args
    jobs.submit_opcode({"OP_ID": "OP_REPAIR_NODE_STORAGE",
                        "node_name": node_name,
                        "storage_type": _storage_type(storage_type),
                        "name": name,
                        "ignore_consistency": opts.ignore_consistency}, opts)
    return 0


def _node_instances(name, fields):
    """
    :param fields: instance list fields, e.g. ``["pinst_list"]``.
    :return: the node's name and the union of those lists, nice-sorted.
    :raise OpPrereqError: (``noent``) for an unknown node.
    """
    from ganeti.query import lang
    from ganeti.query import nice_sort
    result = base.get_client().call("Query", "node", ["name"] + fields,
                                    lang.make_filter([name],
                                                      name_field="name"))
    if not result["data"]:
        raise errors.OpPrereqError("Node '%s' is unknown" % name, "noent")
    row = [cell[1] for cell in result["data"][0]]
    return row[0], nice_sort(set(n for names in row[1:] for n in names or []))


def migrate_node(opts, args):
    """``gnt-node migrate``: migrate all primary instances of a node."""
    node, instances = _node_instances(args[0], ["pinst_list"])
    if not instances:
        base.to_stdout("No primary instances on node %s, exiting." % node)
        return 0
    if not (opts.force or base.ask_user("Migrate instance(s) %s?"
                                        % ", ".join(instances))):
        return base.EXIT_CONFIRMATION
    result = jobs.submit_opcode({
        "OP_ID": "OP_NODE_MIGRATE", "node_name": node,
        "mode": options.migration_mode(opts), "iallocator": opts.iallocator,
        "target_node": opts.dst_node,
        "allow_runtime_changes": opts.allow_runtime_chgs,
        "ignore_ipolicy": opts.ignore_ipolicy}, opts)
    if result is None:
        return 0
    failed = jobs.count_failed(jobs.follow_handed_back(result, opts))
    if failed:
        base.to_stdout("There were %s errors during the node migration."
                       % failed)
        return 1
    base.to_stdout("All instances migrated successfully.")
    return 0


def failover_node(opts, args):
    """``gnt-node failover``: fail over all primary instances of a node."""
    node, instances = _node_instances(args[0], ["pinst_list"])
    if not instances:
        base.to_stderr("No primary instances on node %s, exiting." % node)
        return 0
    if not opts.force and not base.ask_user(
            "Fail over instance(s) %s?"
            % ",".join("'%s'" % name for name in instances)):
        return 2
    executor = jobs.JobExecutor(opts=opts)
    for name in instances:
        executor.queue_job(name, {
            "OP_ID": "OP_INSTANCE_FAILOVER", "instance_name": name,
            "ignore_consistency": opts.ignore_consistency,
            "iallocator": opts.iallocator, "target_node": opts.dst_node})
    results = executor.get_results()
    failed = jobs.count_failed(results)
    if failed:
        base.to_stdout("There were errors during the failover:\n%d error(s)"
                       " out of %d instance(s)." % (failed, len(results)))
    else:
        base.to_stdout("All %d instance(s) failed over successfully."
                       % len(results))
    # Ganeti's tool exits 0 either way; the errors are printed.
    return 0


def evacuate_node(opts, args):
    """
    ``gnt-node evacuate``: move a node's instances away.

    Unlike Ganeti, ``-n`` does not limit the evacuation to secondary
    instances: without allocators it is where primaries go too.
    """
    if opts.primary_only and opts.secondary_only:
        raise errors.OpPrereqError("Only one of the --primary-only and"
                                   " --secondary-only options can be passed",
                                   "wrong_input")
    options.check_target_choice(opts)
    from ganeti.opcodes import NODE_EVAC_ALL, NODE_EVAC_PRI, NODE_EVAC_SEC
    mode = (NODE_EVAC_PRI if opts.primary_only else
            NODE_EVAC_SEC if opts.secondary_only else NODE_EVAC_ALL)
    fields = [field for field, skip in (("pinst_list", opts.secondary_only),
                                        ("sinst_list", opts.primary_only))
              if not skip]
    node, instances = _node_instances(args[0], fields)
    if not instances:
        base.to_stderr("No instances to evacuate on node(s) %s, exiting."
                       % node)
        return 0
    if not (opts.force or base.ask_user(
            "Relocate instance(s) %s from node(s) %s?"
            % (", ".join(instances), node))):
        return base.EXIT_CONFIRMATION
    result = jobs.submit_opcode({
        "OP_ID": "OP_NODE_EVACUATE", "node_name": node, "mode": mode,
        "remote_node": opts.dst_node, "iallocator": opts.iallocator,
        "early_release": opts.early_release,
        "ignore_soft_errors": opts.ignore_soft_errors}, opts)
    if result is None:
        return 0
    failed = jobs.count_failed(jobs.follow_handed_back(result, opts))
    if failed:
        base.to_stdout("There were %s errors during the evacuation." % failed)
        return 1
    base.to_stdout("All instances evacuated successfully.")
    return 0


def _ssh(host, command, stdin=None, timeout=60):
    """Run C{command} (a shell string) as root on C{host}; blocking (a tool)."""
    import subprocess
    argv = ["ssh", "-oBatchMode=yes", "-oConnectTimeout=10", "-q",
            "root@%s" % host, command]
    try:
        result = subprocess.run(argv, input=stdin, capture_output=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        raise errors.OpExecError("ssh to %s timed out after %d seconds"
                                 % (host, timeout))
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).decode("utf-8", "replace")
        raise errors.OpExecError("Command '%s' on %s failed (exit code %d): %s"
                                 % (command.split()[0], host, result.returncode,
                                    detail.strip() or "no output"))
    return result.stdout


def _setup_node(name, paths):
    """
    Put the cluster's certificate on a new node and start its daemon over
    ssh, as Ganeti's node setup does; the master then checks it over TLS.
    """
    import shlex
    from ganeti.paths import Paths
    from ganeti import ssconf
    remote = Paths(os.environ.get("GANETI_REMOTE_ROOT", "/"))
    storage_dirs = [ssconf.read(paths, key) for key in
                    ("file_storage_dir", "shared_file_storage_dir")]
    directories = " ".join(shlex.quote(d) for d in
                           remote.cluster_dirs() + [d for d in storage_dirs if d])
    with open(paths.server_pem, "rb") as f:
        pem = f.read()
    steps = ["mkdir -p %s" % directories, "umask 077",
             "cat > %s.new" % shlex.quote(remote.server_pem),
             # Flushed before the rename (and all of it once more before
             # the restart): a node that loses power right after joining
             # must not come back with an empty key.
             "sync %s.new" % shlex.quote(remote.server_pem),
             "mv %s.new %s" % (shlex.quote(remote.server_pem),
                               shlex.quote(remote.server_pem)), "umask 022"]
    storage_paths = os.path.join(paths.conf_dir, "file-storage-paths")
    if os.path.exists(storage_paths):
        with open(storage_paths) as f:
            steps.append("printf %%s %s > %s" % (
                shlex.quote(f.read()),
                shlex.quote(os.path.join(remote.conf_dir, "file-storage-paths"))))
    daemon = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])),
                          "ganeti-daemon")
    steps.append("sync")
    steps.append("%s restart" % shlex.quote(daemon))
    # One ssh session: each connection costs a key exchange.
    _ssh(name, " && ".join(steps), stdin=pem, timeout=120)


def add_node(opts, args):
    """``gnt-node add``: set the node up over ssh, then add it as a job."""
    from ganeti import netutils
    paths = base.get_paths()
    # Checked before the name reaches ssh's command line.
    name, ip = netutils.resolve(netutils.normalize_hostname(args[0]), paths)
    # As Ganeti: no node is touched unless a master answers here.
    base.get_client().call("QueryClusterInfo")
    try:
        _setup_node(name, paths)
    except errors.GenericError as e:
        base.to_stderr("Node setup failed: %s" % e)
        return base.EXIT_NODESETUP_ERROR
    op = {"OP_ID": "OP_NODE_ADD", "node_name": name, "primary_ip": ip,
          "secondary_ip": opts.secondary_ip, "readd": opts.readd,
          "group": opts.nodegroup,
          "master_capable": parsing.parse_optional_bool(opts.master_capable,
                                                        "--master-capable"),
          "vm_capable": parsing.parse_optional_bool(opts.vm_capable,
                                                    "--vm-capable"),
          "ndparams": parsing.parse_key_values(opts.ndparams,
                                               "--node-parameters")
          if opts.ndparams else None}
    jobs.submit_opcode(op, opts)
    return 0


def remove_node(opts, args):
    """``gnt-node remove``."""
    jobs.submit_opcode({"OP_ID": "OP_NODE_REMOVE", "node_name": args[0]}, opts)
    return 0


def modify_node(opts, args):
    """``gnt-node modify``."""
    op = {"OP_ID": "OP_NODE_SET_PARAMS", "node_name": args[0],
          "force": opts.force, "auto_promote": opts.auto_promote}
    for key in ("master_candidate", "drained", "offline", "master_capable",
                "vm_capable"):
        value = parsing.parse_optional_bool(getattr(opts, key),
                                            "--" + key.replace("_", "-"))
        if value is not None:
            op[key] = value
    if opts.secondary_ip:
        op["secondary_ip"] = opts.secondary_ip
    if opts.ndparams:
        op["ndparams"] = parsing.parse_key_values(opts.ndparams,
                                                  "--node-parameters")
    if len(op) == 4:
        base.to_stderr("Please give at least one of the parameters.")
        return 1
    jobs.print_modifications("node", args[0], jobs.submit_opcode(op, opts))
    return 0


def show_info(opts, args):
    """``gnt-node info``."""
    fields = ["name", "pip", "sip", "master_candidate", "drained", "offline",
              "master_capable", "vm_capable", "group", "pinst_list",
              "sinst_list", "ndparams"]
    from ganeti.query import lang
    qfilter = lang.make_filter(args, name_field="name") if args else None
    result = base.get_client().call("Query", "node", fields, qfilter)
    for row in result["data"]:
        v = dict(zip(fields, [cell[1] for cell in row]))
        base.to_stdout(format_generic_info([
            ("Node name", v["name"]),
            ("primary ip", v["pip"]),
            ("secondary ip", v["sip"]),
            ("master candidate", v["master_candidate"]),
            ("drained", v["drained"]),
            ("offline", v["offline"]),
            ("master_capable", v["master_capable"]),
            ("vm_capable", v["vm_capable"]),
            ("primary for instances", v["pinst_list"] or ""),
            ("secondary for instances", v["sinst_list"] or ""),
            ("node parameters", {k: str(x) for k, x in v["ndparams"].items()}),
        ]))
    return 0


_YES_NO = "yes|no"

COMMANDS = {
    "add": Command(add_node, Args(1, 1), options.JOB_OPTS + [
        opt("--readd", action="store_true", default=False,
            help="Readd old node after replacing it"),
        opt("-s", "--secondary-ip", default=None,
            help="Specify the secondary ip for the node"),
        opt("-g", "--node-group", dest="nodegroup", default=None,
            help="Node group (name or uuid)"),
        opt("--master-capable", default=None,
            help="Set the master_capable flag on the node (%s)" % _YES_NO),
        opt("--vm-capable", default=None,
            help="Set the vm_capable flag on the node (%s)" % _YES_NO),
        options.NODE_PARAMS_OPT],
        "[-s ip] [--readd] [-g group] <node_name>",
        "Add a node to the cluster"),
    "remove": Command(remove_node, Args(1, 1), options.JOB_OPTS, "<node_name>",
                      "Removes a node from the cluster"),
    "modify": Command(modify_node, Args(1, 1), options.JOB_OPTS + [
        options.FORCE_OPT,
        opt("-C", "--master-candidate", default=None,
            help="Set the master_candidate flag on the node (%s)" % _YES_NO),
        opt("-D", "--drained", default=None,
            help="Set the drained flag on the node (%s)" % _YES_NO),
        opt("-O", "--offline", default=None,
            help="Set the offline flag on the node (%s)" % _YES_NO),
        opt("--master-capable", default=None,
            help="Set the master_capable flag on the node (%s)" % _YES_NO),
        opt("--vm-capable", default=None,
            help="Set the vm_capable flag on the node (%s)" % _YES_NO),
        opt("--auto-promote", action="store_true", default=False,
            help="Automatically promote master candidates if needed"),
        opt("-s", "--secondary-ip", default=None,
            help="Specify the secondary ip for the node"),
        options.NODE_PARAMS_OPT],
        "<node_name>", "Alters the parameters of a node"),
    "list": Command(list_nodes, Args(0, None), options.LIST_OPTS, "[nodes...]",
                    "Lists the nodes in the cluster. The available fields can"
                    " be shown using the \"list-fields\" command (see the man"
                    " page for details). The default field list is (in"
                    " order): %s." % ", ".join(DEFAULT_FIELDS)),
    "list-fields": Command(list_fields, Args(0, None),
                           [options.NOHDR_OPT, options.SEP_OPT], "[fields...]",
                           "Lists all available fields for nodes"),
    "info": Command(show_info, Args(0, None), [], "[<node_name>...]",
                    "Show information about the node(s)"),
    "list-storage": Command(list_storage, Args(0, None), [
        options.NOHDR_OPT, options.SEP_OPT, options.UNITS_OPT, options.FIELDS_OPT,
        opt("-t", "--storage-type", dest="storage_type", default=None,
            help="Storage type (lvm-pv, lvm-vg, file, sharedfile)")],
        "[<node_name>...]", "List physical volumes on node(s)."),
    "migrate": Command(migrate_node, Args(1, 1), options.JOB_OPTS
                       + options.MIGRATION_OPTS + [options.FORCE_OPT],
                       "[-f] [--non-live] [--migration-mode=live|non-live]"
                       " [-n node] <node>",
                       "Migrate all the primary instance on a node away from"
                       " it (only for instances of type drbd or shared"
                       " storage)"),
    "failover": Command(failover_node, Args(1, 1), [
        options.FORCE_OPT, options.IGNORE_CONSIST_OPT, options.DST_NODE_OPT,
        options.IALLOCATOR_OPT, options.PRIORITY_OPT, options.REASON_OPT],
        "[-f] [--ignore-consistency] [-n node] <node>",
        "Stops the primary instances on a node and starts them on their"
        " secondary node (only for instances with drbd disk template) or"
        " on the given node (shared storage)"),
    "evacuate": Command(evacuate_node, Args(1, 1), options.JOB_OPTS + [
        options.FORCE_OPT, options.IALLOCATOR_OPT,
        opt("-n", "--new-secondary", dest="dst_node", default=None,
            help="Node to move the instances to"),
        opt("--early-release", action="store_true", default=False,
            help="Release the locks on the secondary node(s) early"),
        opt("--ignore-soft-errors", action="store_true", default=False,
            help="Tell htools to ignore 'soft' errors"),
        opt("-p", "--primary-only", action="store_true", default=False,
            help="Evacuate primary instances only"),
        opt("-s", "--secondary-only", action="store_true", default=False,
            help="Evacuate secondary instances only")],
        "[-f] {-I <iallocator> | -n <dst>} [-p | -s] [options...] <node>",
        "Relocate the primary and/or secondary instances from a node"),
    "volumes": Command(list_volumes, Args(0, None), [
        options.NOHDR_OPT, options.SEP_OPT, options.UNITS_OPT, options.FIELDS_OPT],
        "[<node_name>...]", "List logical volumes on node(s)"),
    "list-drbd": Command(list_drbd, Args(1, 1),
                         [options.NOHDR_OPT, options.SEP_OPT], "<node>",
                         "Query the list of used DRBD minors on the given"
                         " node"),
    "modify-storage": Command(modify_storage, Args(3, 3), [
        opt("--allocatable", default=None,
            help="Set the allocatable flag on a volume (%s)" % _YES_NO),
        options.DRY_RUN_OPT] + options.JOB_OPTS,
        "<node_name> <storage_type> <name>",
        "Modify storage volume on a node"),
    "repair-storage": Command(repair_storage, Args(3, 3), [
        options.IGNORE_CONSIST_OPT, options.DRY_RUN_OPT] + options.JOB_OPTS,
        "<node_name> <storage_type> <name>",
        "Repairs a storage volume on a node"),
}
COMMANDS.update(tag_commands("node", "node"))

ALIASES = {"show": "info"}


def main():
    """Entry point of ``gnt-node``."""
    base.run(COMMANDS, ALIASES)
