# -*- test-case-name: tests.test_cli_group -*-
"""
``gnt-group``: node groups: listing, adding, changing, removing, moving
nodes between them and evacuating them, as Ganeti's tool does.
"""

from ganeti import errors
from ganeti.cli import base, jobs, listing, options, parsing
from ganeti.cli.base import UsageError
from ganeti.cli.options import Args, Command, opt
from ganeti.cli.info import format_generic_info, format_params
from ganeti.cli.tags import tag_commands

DEFAULT_FIELDS = ["name", "node_cnt", "pinst_cnt", "alloc_policy", "ndparams"]


def list_groups(opts, args):
    """``gnt-group list``."""
    return listing.generic_list("group", args, opts, DEFAULT_FIELDS)


def list_fields(opts, args):
    """``gnt-group list-fields``."""
    return listing.generic_list_fields("group", args, opts)


def _float(text, option):
    try:
        return float(text)
    except ValueError:
        raise UsageError("Invalid value '%s' for option %s: expected a number"
                         % (text, option))


def _group_params(opts):
    """:return: the opcode parameters ``add`` and ``modify`` share."""
    params = {}
    if opts.alloc_policy is not None:
        params["alloc_policy"] = opts.alloc_policy
    if opts.ndparams is not None:
        params["ndparams"] = parsing.parse_key_values(opts.ndparams,
                                                      "--node-parameters")
    if opts.diskparams:
        params["diskparams"] = parsing.parse_ident_options(opts.diskparams,
                                                           "-D")
    if opts.hv_state:
        params["hv_state"] = parsing.parse_ident_options(
            opts.hv_state, "--hypervisor-state")
    ipolicy = {}
    if opts.ipolicy_disk_templates is not None:
        ipolicy["disk-templates"] = parsing.parse_comma_list(
            opts.ipolicy_disk_templates)
    for name, option in (("vcpu-ratio", "--ipolicy-vcpu-ratio"),
                         ("spindle-ratio", "--ipolicy-spindle-ratio")):
        value = getattr(opts, "ipolicy_" + name.replace("-", "_"))
        if value is not None:
            ipolicy[name] = "default" if value == "default" else \
                _float(value, option)
    if ipolicy:
        params["ipolicy"] = ipolicy
    return params


def add_group(opts, args):
    """``gnt-group add``."""
    jobs.submit_opcode(dict(_group_params(opts), OP_ID="OP_GROUP_ADD",
                            group_name=args[0]), opts)
    return 0


def modify_group(opts, args):
    """``gnt-group modify``: prints the changes the master reports."""
    params = _group_params(opts)
    if not params:
        base.to_stderr("Please give at least one of the parameters.")
        return 1
    result = jobs.submit_opcode(dict(params, OP_ID="OP_GROUP_SET_PARAMS",
                                     group_name=args[0]), opts)
    jobs.print_modifications("node group", args[0], result)
    return 0


def remove_group(opts, args):
    """``gnt-group remove``."""
    jobs.submit_opcode({"OP_ID": "OP_GROUP_REMOVE", "group_name": args[0]},
                       opts)
    return 0


def rename_group(opts, args):
    """``gnt-group rename``."""
    jobs.submit_opcode({"OP_ID": "OP_GROUP_RENAME", "group_name": args[0],
                        "new_name": args[1]}, opts)
    return 0


def assign_nodes(opts, args):
    """``gnt-group assign-nodes``."""
    jobs.submit_opcode({"OP_ID": "OP_GROUP_ASSIGN_NODES",
                        "group_name": args[0], "nodes": list(args[1:]),
                        "force": opts.force}, opts)
    return 0


def evacuate_group(opts, args):
    """
    ``gnt-group evacuate``: follow the jobs the evacuation hands back;
    exit 1 if any failed.
    """
    result = jobs.submit_opcode({
        "OP_ID": "OP_GROUP_EVACUATE", "group_name": args[0],
        "iallocator": opts.iallocator, "target_groups": opts.to or None,
        "sequential": opts.sequential,
        "force_failover": opts.force_failover}, opts)
    if result is None:
        return 0
    if not result["jobs"]:
        base.to_stdout("No instances to evacuate on node group(s) %s,"
                       " exiting." % args[0])
        return 0
    failed = jobs.count_failed(jobs.follow_handed_back(result, opts))
    if failed:
        base.to_stdout("There were %s errors during the evacuation." % failed)
        return 1
    base.to_stdout("All instances evacuated successfully.")
    return 0


def show_info(opts, args):
    """``gnt-group info``: parameters of the named (or all) groups."""
    from ganeti.query import lang
    fields = ["name", "ndparams", "custom_ndparams", "diskparams",
              "custom_diskparams", "ipolicy", "custom_ipolicy"]
    result = base.get_client().call("Query", "group", fields,
                                    lang.make_filter(args, name_field="name"))
    rows = [[cell[1] for cell in row] for row in result["data"]]
    known = {row[0] for row in rows}
    missing = [name for name in args if name not in known]
    if missing:
        raise errors.OpPrereqError("Node group '%s' not found" % missing[0],
                                   "noent")
    info = []
    for name, nd, custom_nd, disk, custom_disk, ipolicy, custom_ip in rows:
        info.append([
            ("Node group", name),
            ("Node parameters", format_params(custom_nd, nd)),
            ("Disk parameters", format_params(custom_disk, disk)),
            ("Instance policy", format_params(custom_ip, ipolicy)),
        ])
    base.to_stdout(format_generic_info(info))
    return 0


_GROUP_OPTS = [
    opt("--alloc-policy", default=None,
        choices=["preferred", "last_resort", "unallocable"],
        help="Allocation policy for the node group"),
    options.NODE_PARAMS_OPT,
    options.DISK_PARAMS_OPT,
    opt("--hypervisor-state", dest="hv_state", action="append", default=[],
        help="Specify hypervisor states"),
    options.IPOLICY_DISK_TEMPLATES_OPT,
    opt("--ipolicy-vcpu-ratio", default=None,
        help="The maximum allowed vcpu-to-cpu ratio"),
    opt("--ipolicy-spindle-ratio", default=None,
        help="The maximum allowed instances to spindle ratio"),
] + options.JOB_OPTS + [options.DRY_RUN_OPT]

COMMANDS = {
    "list": Command(list_groups, Args(0, None), options.LIST_OPTS, "[<group>...]",
                    "Lists the node groups in the cluster. The available fields"
                    " can be shown using the \"list-fields\" command (see the"
                    " man page for details). The default list is (in order):"
                    " %s." % ", ".join(DEFAULT_FIELDS)),
    "list-fields": Command(list_fields, Args(0, None),
                           [options.NOHDR_OPT, options.SEP_OPT], "[fields...]",
                           "Lists all available fields for node groups"),
    "add": Command(add_group, Args(1, 1), _GROUP_OPTS, "<group_name>",
                   "Add a new node group to the cluster"),
    "modify": Command(modify_group, Args(1, 1), _GROUP_OPTS, "<group_name>",
                      "Alters the parameters of a node group"),
    "remove": Command(remove_group, Args(1, 1),
                      options.JOB_OPTS + [options.DRY_RUN_OPT],
                      "[--dry-run] <group>",
                      "Remove an (empty) node group from the cluster"),
    "rename": Command(rename_group, Args(2, 2),
                      options.JOB_OPTS + [options.DRY_RUN_OPT],
                      "[--dry-run] <group_name> <new_name>",
                      "Rename a node group"),
    "assign-nodes": Command(
        assign_nodes, Args(2, None),
        [options.FORCE_OPT] + options.JOB_OPTS + [options.DRY_RUN_OPT],
        "<group_name> <node>...", "Assign nodes to a group"),
    "evacuate": Command(
        evacuate_group, Args(1, 1),
        [options.IALLOCATOR_OPT,
         opt("--to", action="append", default=[],
             help="Group(s) to which the instances should be moved"),
         opt("--sequential", action="store_true", default=False,
             help="Execute all resulting jobs sequentially"),
         opt("--force-failover", action="store_true", default=False,
             help="Always fail over instances instead of migrating them")]
        + options.JOB_OPTS + [options.DRY_RUN_OPT],
        "[-I <iallocator>] [--to <group>] <group_name>",
        "Evacuate all instances within a group"),
    "info": Command(show_info, Args(0, None), [], "[<group_name>...]",
                    "Show group information"),
}
COMMANDS.update(tag_commands("nodegroup", "group"))


def main():
    """Entry point of ``gnt-group``."""
    base.run(COMMANDS)
