# -*- test-case-name: tests.test_cli_node -*-
"""
``gnt-node``: the nodes of the cluster and their storage.
"""

from ganeti.cli import base
from ganeti.cli.base import Args, Command, opt
from ganeti.cli.info import format_generic_info

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
    return base.generic_list("node", None, args, opts, DEFAULT_FIELDS)


def list_fields(opts, args):
    """``gnt-node list-fields``."""
    return base.generic_list_fields("node", args, opts)


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
    rows = base.submit_opcode({"OP_ID": "OP_NODE_QUERY_STORAGE",
                               "output_fields": fields,
                               "storage_type": opts.storage_type,
                               "nodes": list(args)}, opts)
    _print_rows(opts, fields, STORAGE_TITLES, rows)
    return 0


def list_volumes(opts, args):
    """``gnt-node volumes``."""
    from ganeti.cli import table
    fields = table.parse_fields(opts.output, VOLUME_FIELDS)
    rows = base.submit_opcode({"OP_ID": "OP_NODE_QUERYVOLS",
                               "output_fields": fields, "nodes": list(args)},
                              opts)
    _print_rows(opts, fields, VOLUME_TITLES, rows)
    return 0


def show_info(opts, args):
    """``gnt-node info``."""
    fields = ["name", "pip", "sip", "master_candidate", "drained", "offline",
              "master_capable", "vm_capable", "group", "pinst_list",
              "sinst_list", "ndparams"]
    from ganeti import qlang
    qfilter = qlang.make_filter(args, name_field="name") if args else None
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


COMMANDS = {
    "list": Command(list_nodes, Args(0, None), base.LIST_OPTS, "[nodes...]",
                    "Lists the nodes in the cluster. The available fields can"
                    " be shown using the \"list-fields\" command (see the man"
                    " page for details). The default field list is (in"
                    " order): %s." % ", ".join(DEFAULT_FIELDS)),
    "list-fields": Command(list_fields, Args(0, None),
                           [base.NOHDR_OPT, base.SEP_OPT], "[fields...]",
                           "Lists all available fields for nodes"),
    "info": Command(show_info, Args(0, None), [], "[<node_name>...]",
                    "Show information about the node(s)"),
    "list-storage": Command(list_storage, Args(0, None), [
        base.NOHDR_OPT, base.SEP_OPT, base.UNITS_OPT, base.FIELDS_OPT,
        opt("-t", "--storage-type", dest="storage_type", default=None,
            help="Storage type (lvm-pv, lvm-vg, file, sharedfile)")],
        "[<node_name>...]", "List physical volumes on node(s)."),
    "volumes": Command(list_volumes, Args(0, None), [
        base.NOHDR_OPT, base.SEP_OPT, base.UNITS_OPT, base.FIELDS_OPT],
        "[<node_name>...]", "List logical volumes on node(s)"),
}

ALIASES = {"show": "info"}


def main():
    """Entry point of ``gnt-node``."""
    base.run(COMMANDS, ALIASES)
