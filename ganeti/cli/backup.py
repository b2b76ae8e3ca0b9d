# -*- test-case-name: tests.test_cli_backup -*-
"""
``gnt-backup``: export instances to a node's export directory, import
them back, list and remove exports, as Ganeti's tool does.

``import`` is ``gnt-instance add`` in import mode, so it shares that
command's option parsing (L{ganeti.cli.instance.create_opcode}).
"""

from ganeti.cli import base, jobs, listing, options
from ganeti.cli.base import UsageError
from ganeti.cli.options import Args, Command, opt
from ganeti.cli.instance import CREATE_OPTS, create_opcode

DEFAULT_FIELDS = ["node", "export"]


def list_exports(opts, args):
    """``gnt-backup list``: exports of every node, or of ``--node`` ones."""
    qfilter = None
    if opts.nodes:
        qfilter = ["|"] + [["=", "node", name] for name in opts.nodes]
    return listing.generic_list("export", args, opts, DEFAULT_FIELDS,
                                qfilter=qfilter)


def list_fields(opts, args):
    """``gnt-backup list-fields``."""
    return listing.generic_list_fields("export", args, opts)


def export_instance(opts, args):
    """
    ``gnt-backup export``: exit 1 (with Ganeti's messages) when the
    finalization or a disk failed.
    """
    if not opts.node:
        raise UsageError("Target node must be specified")
    result = jobs.submit_opcode({
        "OP_ID": "OP_BACKUP_EXPORT", "instance_name": args[0],
        "target_node": opts.node, "shutdown": opts.shutdown,
        "shutdown_timeout": opts.shutdown_timeout,
        "remove_instance": opts.remove_instance,
        "ignore_remove_failures": opts.ignore_remove_failures,
        "compress": opts.transport_compression, "mode": "local",
        "long_sleep": opts.long_sleep}, opts)
    if result is None:
        return 0
    finalized, disks = result
    code = 0
    if not finalized:
        base.to_stderr("Export failed during the finalization")
        code = 1
    if not all(disks):
        base.to_stderr("Export failed for disk(s): %s" % ", ".join(
            str(index) for index, ok in enumerate(disks) if not ok))
        code = 1
    return code


def import_instance(opts, args):
    """``gnt-backup import``: an instance creation in import mode."""
    jobs.submit_opcode(create_opcode(
        opts, args, "import", src_node=opts.src_node,
        src_path=opts.src_dir, start=False,
        identify_defaults=opts.identify_defaults), opts)
    return 0


def remove_export(opts, args):
    """``gnt-backup remove``."""
    jobs.submit_opcode({"OP_ID": "OP_BACKUP_REMOVE",
                        "instance_name": args[0]}, opts)
    return 0


COMMANDS = {
    "export": Command(export_instance, Args(1, 1), [
        opt("-n", "--node", default=None, help="Target node"),
        opt("--shutdown-timeout", type=int, default=120,
            help="Maximum time to wait for instance shutdown"),
        opt("--noshutdown", dest="shutdown", action="store_false",
            default=True, help="Don't shutdown the instance (unsafe)"),
        opt("--remove-instance", action="store_true", default=False,
            help="Remove the instance from the cluster"),
        opt("--ignore-remove-failures", action="store_true", default=False,
            help="Remove the instance from the cluster configuration even"
                 " if there are failures during the removal process"),
        opt("--transport-compression", default="none",
            help="Compression mode to use during the move (none only)"),
        opt("--long-sleep", action="store_true", default=False,
            help="Allow long shutdowns when backing up instances"),
    ] + options.JOB_OPTS, "-n <target_node> [opts...] <name>",
        "Exports an instance to an image"),
    "import": Command(import_instance, Args(1, 1), CREATE_OPTS + [
        opt("--src-node", default=None, help="Source node"),
        opt("--src-dir", default=None, help="Source directory"),
        opt("--identify-defaults", action="store_true", default=False,
            help="Identify which saved instance parameters are equal to"
                 " the current cluster defaults and set them as such,"
                 " instead of marking them as overridden"),
    ], "[...] -t disk-type -n node[:secondary-node] <name>",
        "Imports an instance from an exported image"),
    "list": Command(list_exports, Args(0, 0), [
        opt("--node", dest="nodes", action="append", default=[],
            help="List only exports on this node (may be repeated)"),
    ] + options.LIST_OPTS, "", "Lists instance exports available in the"
        " ganeti cluster"),
    "list-fields": Command(list_fields, Args(0, None),
                           [options.NOHDR_OPT, options.SEP_OPT], "[fields...]",
                           "Lists all available fields for exports"),
    "remove": Command(remove_export, Args(1, 1), options.JOB_OPTS,
                      "<name>", "Remove exports of named instance from the"
                      " filesystem."),
}


def main():
    """Entry point of ``gnt-backup``."""
    base.run(COMMANDS)
