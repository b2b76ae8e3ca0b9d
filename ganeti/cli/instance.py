# -*- test-case-name: tests.test_cli_instance -*-
"""
``gnt-instance``: create, list, start, stop, modify and remove instances.
"""

import os
import shlex
import sys

from ganeti import errors
from ganeti.cli import base, instance_multi, jobs, listing, options, parsing
from ganeti.cli.base import UsageError
from ganeti.cli.options import Args, Command, opt
from ganeti.cli.info import format_generic_info, format_params, format_time
from ganeti.cli.tags import tag_commands
from ganeti.utils import units

DEFAULT_FIELDS = ["name", "hypervisor", "os", "pnode", "status", "oper_ram"]


def _parse_size(text, what):
    try:
        return units.parse_unit(text)
    except errors.UnitParseError as e:
        raise UsageError("Invalid %s size '%s': %s" % (what, text, e))


def _indexed_options(values, option):
    """``--disk 0:size=1G`` style options -> list of dicts by index."""
    items = {}
    for text in values or []:
        if ":" in text:
            index, rest = text.split(":", 1)
        else:
            index, rest = text, ""
        try:
            number = int(index)
        except ValueError:
            raise UsageError("Invalid %s index passed: '%s'" % (option, index))
        if number in items:
            raise UsageError("Duplicate %s index %d" % (option, number))
        items[number] = parsing.parse_key_values(rest, option)
    if items and sorted(items) != list(range(len(items))):
        raise UsageError("Missing %s index: indices must be 0..%d"
                         % (option, len(items) - 1))
    return [items[i] for i in sorted(items)]


def _disks(opts):
    if opts.sd_size is not None:
        if opts.disks:
            raise UsageError("Please use either the '--disk' or '-s' option")
        return [{"size": _parse_size(opts.sd_size, "disk")}]
    disks = []
    for index, spec in enumerate(_indexed_options(opts.disks, "--disk")):
        disk = dict(spec)
        if "size" in disk:
            disk["size"] = _parse_size(str(disk["size"]), "disk %d" % index)
        elif "adopt" not in disk:
            raise UsageError("Missing size or adoption source for disk %d" % index)
        disks.append(disk)
    return disks


def _nics(opts, default):
    if opts.no_nics:
        if opts.nics:
            raise UsageError("Cannot specify both --no-nics and --net")
        return []
    nics = _indexed_options(opts.nics, "--net")
    return nics or default


def _hv_option(text):
    if not text:
        return None, {}
    return parsing.parse_ident_key_values(text, "-H")


def create_opcode(opts, args, mode, **params):
    """
    The OP_INSTANCE_CREATE of ``gnt-instance add`` and ``gnt-backup
    import``, from the options both share (L{CREATE_OPTS}).

    :param mode: ``create`` or ``import``; an import without ``--net``
        takes the exported NICs, a creation gets one default NIC.
    :param params: the mode's own opcode parameters.
    """
    hypervisor, hvparams = _hv_option(opts.hypervisor)
    op = {
        "OP_ID": "OP_INSTANCE_CREATE", "instance_name": args[0],
        "disk_template": opts.disk_template, "disks": _disks(opts),
        "nics": _nics(opts, [{}] if mode == "create" else []),
        "pnode": opts.node.split(":")[0] if opts.node else None,
        "snode": (opts.node.split(":", 1)[1] or None
                  if opts.node and ":" in opts.node else None),
        "wait_for_sync": opts.wait_for_sync,
        "iallocator": opts.iallocator,
        "hypervisor": hypervisor, "hvparams": hvparams or {},
        "beparams": parsing.parse_key_values(opts.beparams, "-B"),
        "osparams": parsing.parse_key_values(opts.osparams, "-O"),
        "name_check": opts.name_check,
        "ip_check": opts.ip_check and opts.name_check,
        "file_storage_dir": opts.file_storage_dir,
        "file_driver": opts.file_driver, "mode": mode,
        "tags": parsing.parse_comma_list(opts.tags),
    }
    op.update(params)
    return op


def add_instance(opts, args):
    """``gnt-instance add``."""
    jobs.submit_opcode(create_opcode(
        opts, args, "create", os_type=opts.os,
        start=opts.start and not opts.no_install,
        no_install=opts.no_install), opts)
    return 0


def remove_instance(opts, args):
    """``gnt-instance remove``."""
    name = args[0]
    if not opts.force and not base.ask_user(
            "This will remove the volumes of the instance %s (including"
            " mirrors), thus removing all the data of the instance. Continue?"
            % name):
        return base.EXIT_CONFIRMATION
    jobs.submit_opcode({"OP_ID": "OP_INSTANCE_REMOVE", "instance_name": name,
                        "ignore_failures": opts.ignore_failures,
                        "shutdown_timeout": opts.shutdown_timeout}, opts)
    return 0


def list_instances(opts, args):
    """``gnt-instance list``."""
    return listing.generic_list("instance", args, opts, DEFAULT_FIELDS)


def list_fields(opts, args):
    """``gnt-instance list-fields``."""
    return listing.generic_list_fields("instance", args, opts)


def rename(opts, args):
    """``gnt-instance rename``."""
    jobs.submit_opcode({"OP_ID": "OP_INSTANCE_RENAME", "instance_name": args[0],
                        "new_name": args[1], "name_check": opts.name_check,
                        "ip_check": opts.ip_check and opts.name_check}, opts)
    return 0


def _ensure_instance_exists(name):
    """
    Check before asking the user anything, as Ganeti's tool does.

    :raise OpPrereqError: (``noent``) if there is no such instance.
    """
    from ganeti.query import lang
    result = base.get_client().call("Query", "instance", ["name"],
                                    lang.make_filter([name],
                                                      name_field="name"))
    if not result["data"]:
        raise errors.OpPrereqError("Instance '%s' does not exist" % name,
                                   "noent")


def replace_disks(opts, args):
    """``gnt-instance replace-disks``: exactly one of -p, -s, -a, -n, -I."""
    try:
        disks = [int(i) for i in opts.disks.split(",")] if opts.disks else []
    except ValueError as e:
        raise errors.OpPrereqError("Invalid disk index passed: %s" % e,
                                   "wrong_input")
    chosen = [opts.on_primary, opts.on_secondary, opts.auto,
              opts.dst_node is not None, opts.iallocator is not None]
    if chosen.count(True) != 1:
        raise errors.OpPrereqError("One and only one of the -p, -s, -a, -n and"
                                   " -I options must be passed", "wrong_input")
    if opts.auto and disks:
        raise errors.OpPrereqError("Cannot specify disks when using automatic"
                                   " mode", "wrong_input")
    # Ganeti's REPLACE_DISK_* modes, in the order of the options above.
    mode = ["replace_on_primary", "replace_on_secondary", "replace_auto",
            "replace_new_secondary",
            "replace_new_secondary"][chosen.index(True)]
    jobs.submit_opcode({
        "OP_ID": "OP_INSTANCE_REPLACE_DISKS", "instance_name": args[0],
        "disks": disks, "remote_node": opts.dst_node, "mode": mode,
        "iallocator": opts.iallocator, "early_release": opts.early_release,
        "ignore_ipolicy": opts.ignore_ipolicy}, opts)
    return 0


def failover(opts, args):
    """``gnt-instance failover``: restart the instance on another node."""
    name = args[0]
    options.check_target_choice(opts)
    if not opts.force:
        _ensure_instance_exists(name)
        if not base.ask_user("Failover will happen to image %s. This requires"
                             " a shutdown of the instance. Continue?" % name):
            return 1
        if opts.ignore_consistency and not base.ask_user(
                "To failover instance %s, the source node must be marked"
                " offline first. Is this already the case?" % name):
            return 1
    jobs.submit_opcode({
        "OP_ID": "OP_INSTANCE_FAILOVER", "instance_name": name,
        "ignore_consistency": opts.ignore_consistency,
        "shutdown_timeout": opts.shutdown_timeout,
        "iallocator": opts.iallocator, "target_node": opts.dst_node,
        "cleanup": opts.cleanup, "ignore_ipolicy": opts.ignore_ipolicy}, opts)
    return 0


def move(opts, args):
    """``gnt-instance move``: copy the instance's disks to another node."""
    name = args[0]
    if not opts.force and not base.ask_user(
            "Instance %s will be moved. This requires a shutdown of the"
            " instance. Continue?" % name):
        return 1
    jobs.submit_opcode({
        "OP_ID": "OP_INSTANCE_MOVE", "instance_name": name,
        "target_node": opts.node, "compress": opts.compress,
        "shutdown_timeout": opts.shutdown_timeout,
        "ignore_consistency": opts.ignore_consistency,
        "ignore_ipolicy": opts.ignore_ipolicy}, opts)
    return 0


def migrate(opts, args):
    """``gnt-instance migrate``: move the running instance to another node."""
    name = args[0]
    options.check_target_choice(opts)
    if not opts.force:
        _ensure_instance_exists(name)
        if opts.cleanup:
            text = ("Instance %s will be recovered from a failed migration."
                    " Note that the migration procedure (including cleanup)"
                    % name)
        else:
            text = "Instance %s will be migrated. Note that migration" % name
        if not base.ask_user(text + " might impact the instance if anything"
                             " goes wrong (e.g. due to bugs in the"
                             " hypervisor). Continue?"):
            return 1
    jobs.submit_opcode({
        "OP_ID": "OP_INSTANCE_MIGRATE", "instance_name": name,
        "mode": options.migration_mode(opts), "cleanup": opts.cleanup,
        "iallocator": opts.iallocator, "target_node": opts.dst_node,
        "allow_failover": opts.allow_failover,
        "allow_runtime_changes": opts.allow_runtime_chgs,
        "ignore_ipolicy": opts.ignore_ipolicy,
        "ignore_hvversions": opts.ignore_hvversions}, opts)
    return 0


def _modifications(values, option):
    mods = []
    for text in values or []:
        ident, params = parsing.parse_ident_key_values(text, option)
        if params is None:
            params = {}
        action = None
        for word in ("add", "remove", "modify", "attach", "detach"):
            if word in params:
                params.pop(word)
                action = word
        if ident in ("add", "remove"):
            action, ident = ident, "-1"
        if action is None:
            action = "modify"
        mods.append([action, int(ident) if ident.lstrip("-").isdigit() else ident,
                     params])
    return mods


def modify(opts, args):
    """``gnt-instance modify``."""
    hv = {}
    if opts.hvparams:
        hv = parsing.parse_key_values(opts.hvparams, "-H")
    op = {"OP_ID": "OP_INSTANCE_SET_PARAMS", "instance_name": args[0],
          "hvparams": hv, "beparams": parsing.parse_key_values(opts.beparams, "-B"),
          "osparams": parsing.parse_key_values(opts.osparams, "-O"),
          "os_name": opts.os, "force": opts.force,
          "disks": _modifications(opts.disks, "--disk"),
          "nics": _modifications(opts.nics, "--net"),
          "hotplug": opts.hotplug,
          "hotplug_if_possible": opts.hotplug_if_possible,
          "disk_template": opts.disk_template, "remote_node": opts.node,
          "iallocator": opts.iallocator, "wait_for_sync": opts.wait_for_sync}
    for mod in op["disks"]:
        if mod[0] == "add" and "size" in mod[2]:
            mod[2]["size"] = _parse_size(str(mod[2]["size"]), "disk")
    if not (hv or op["beparams"] or op["osparams"] or op["os_name"]
            or op["disks"] or op["nics"] or opts.disk_template):
        base.to_stderr("Please give at least one of the parameters.")
        return 1
    result = jobs.submit_opcode(op, opts)
    jobs.print_modifications("instance", args[0], result)
    if result:
        base.to_stdout("Please don't forget that most parameters take effect"
                       " only at the next (re)start of the instance initiated"
                       " by ganeti; restarting from within the instance will"
                       " not be enough.")
    return 0


def activate_disks(opts, args):
    """``gnt-instance activate-disks``: prints ``node:disk/N:path``."""
    result = jobs.submit_opcode({"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS",
                                 "instance_name": args[0],
                                 "ignore_size": opts.ignore_size}, opts)
    for node, disk, path in result or []:
        base.to_stdout("%s:%s:%s" % (node, disk, path))
    return 0


def deactivate_disks(opts, args):
    """``gnt-instance deactivate-disks``."""
    jobs.submit_opcode({"OP_ID": "OP_INSTANCE_DEACTIVATE_DISKS",
                        "instance_name": args[0], "force": opts.force}, opts)
    return 0


def grow_disk(opts, args):
    """``gnt-instance grow-disk <instance> <disk> <amount>``."""
    try:
        disk = int(args[1])
    except ValueError:
        raise errors.OpPrereqError("Invalid disk index: %s" % args[1],
                                   "wrong_input")
    amount = _parse_size(args[2], "grow")
    jobs.submit_opcode({"OP_ID": "OP_INSTANCE_GROW_DISK", "instance_name": args[0],
                        "disk": disk, "amount": amount,
                        "absolute": opts.absolute,
                        "wait_for_sync": opts.wait_for_sync}, opts)
    return 0


def recreate_disks(opts, args):
    """``gnt-instance recreate-disks``."""
    disks = []
    for text in opts.disks:
        index, _, rest = text.partition(":")
        if not index.isdigit():
            raise UsageError("Invalid --disk index passed: '%s'" % index)
        spec = parsing.parse_key_values(rest, "--disk")
        if "size" in spec:
            spec["size"] = _parse_size(str(spec["size"]), "disk")
        disks.append([int(index), spec] if spec else int(index))
    jobs.submit_opcode({"OP_ID": "OP_INSTANCE_RECREATE_DISKS",
                        "instance_name": args[0], "disks": disks,
                        "nodes": opts.node.split(":") if opts.node else [],
                        "iallocator": opts.iallocator}, opts)
    return 0


def console(opts, args):
    """``gnt-instance console``: attach to the serial console."""
    result = jobs.submit_opcode({"OP_ID": "OP_INSTANCE_CONSOLE",
                                 "instance_name": args[0]}, opts)
    kind = result.get("kind")
    if kind == "msg":
        base.to_stderr(result.get("message", ""))
        return 1
    if kind == "vnc":
        base.to_stdout("Instance %s has VNC listening on %s:%s (display %s),"
                       " please use a VNC client to connect"
                       % (args[0], result.get("host"), result.get("port"),
                          result.get("display")))
        return 0
    command = result.get("command")
    if not command:
        base.to_stderr("No console available for instance %s" % args[0])
        return 1
    if kind == "ssh" and result.get("host") not in (None, _local_node()):
        # The console lives on the instance's node: go there, as Ganeti.
        command = ["ssh", "-oBatchMode=yes", "-q", "-t",
                   "%s@%s" % (result.get("user") or "root", result["host"]),
                   " ".join(shlex.quote(a) for a in command)]
    if opts.show_command:
        base.to_stdout(" ".join(shlex.quote(a) for a in command))
        return 0
    sys.stdout.flush()
    os.execvp(command[0], command)


def _local_node():
    from ganeti import ssconf
    return ssconf.read(base.get_paths(), "master_node")


def _device_status(dev_type, status):
    """
    One node's line of a disk in ``gnt-instance info``: where the device
    is and, for ``drbd``, its sync and health as Ganeti words them.
    """
    path, major, minor, sync_percent, eta, degraded, ldisk = status
    text = "%s (%s:%s)" % (path, "N/A" if major is None else major,
                           "N/A" if minor is None else minor)
    if dev_type == "drbd":
        if sync_percent is not None:
            sync = "*RECOVERING* %5.2f%%, ETA %s" % (
                sync_percent, "%ss" % eta if eta else "unknown")
        else:
            sync = "in sync"
        extra = {"faulty": " *MISSING DISK*",
                 "unknown": " *UNCERTAIN STATE*"}.get(ldisk, "")
        text += " %s, status %s%s" % (sync, "*DEGRADED*" if degraded
                                      else "ok", extra)
    elif dev_type == "plain" and ldisk == "faulty":
        text += " *FAILED* (failed drive?)"
    return text


def _disk_info(index, top_level, dev):
    """The ``gnt-instance info`` lines of a disk and its children."""
    if top_level:
        title = dev["iv_name"] or "disk %d" % index
    else:
        title = "child %d" % index
    size = dev["size"]
    size = units.format_unit(size, "h") if isinstance(size, int) else size
    data = [(title, "%s, size %s" % (dev["dev_type"], size))]
    if top_level:
        if dev["spindles"] is not None:
            data.append(("spindles", dev["spindles"]))
        data.append(("access mode", dev["mode"]))
    if dev["dev_type"] == "drbd" and dev.get("drbd_info"):
        drbd = dev["drbd_info"]
        data.extend([
            ("nodeA", "%s, minor=%s" % (drbd["primary_node"],
                                        drbd["primary_minor"])),
            ("nodeB", "%s, minor=%s" % (drbd["secondary_node"],
                                        drbd["secondary_minor"])),
            ("port", str(drbd["port"]))])
    elif dev["dev_type"] == "plain" and len(dev["logical_id"] or []) == 2:
        data.append(("logical_id", "%s/%s" % tuple(dev["logical_id"])))
    elif dev["logical_id"] is not None:
        data.append(("logical_id", str(dev["logical_id"])))
    if dev["pstatus"]:
        data.append(("on primary", _device_status(dev["dev_type"],
                                                  dev["pstatus"])))
    if dev["sstatus"]:
        data.append(("on secondary", _device_status(dev["dev_type"],
                                                    dev["sstatus"])))
    data.extend([("name", dev["name"]), ("UUID", dev["uuid"])])
    if dev["children"]:
        data.append(("child devices", [
            _disk_info(i, False, child)
            for i, child in enumerate(dev["children"])]))
    return data


def _nic_info(index, nic):
    name, uuid, ip, mac, mode, link, vlan, _, netinfo = nic
    return [("nic/%d" % index, ""), ("MAC", str(mac)), ("IP", str(ip)),
            ("mode", str(mode)), ("link", str(link)), ("vlan", str(vlan)),
            ("network", str(netinfo["name"] if netinfo else None)),
            ("UUID", str(uuid)), ("name", str(name))]


def _instance_info(inst):
    """Ganeti's ``gnt-instance info`` block of one instance."""
    state = "configured to be %s" % inst["config_state"]
    if inst["run_state"]:
        state += ", actual state is %s" % inst["run_state"]
    secondaries = ", ".join(
        "%s (group %s, group UUID %s)" % entry for entry in zip(
            inst["snodes"], inst["snodes_group_names"],
            inst["snodes_group_uuids"]))
    # Ganeti still shows the old name of maxmem.
    be_actual = dict(inst["be_actual"], memory=inst["be_actual"]["maxmem"])
    return [
        ("Instance name", inst["name"]), ("UUID", inst["uuid"]),
        ("Serial number", str(inst["serial_no"])),
        ("Creation time", format_time(inst["ctime"])),
        ("Modification time", format_time(inst["mtime"])),
        ("State", state),
        ("Nodes", [[("primary", inst["pnode"]),
                    ("group", "%s (UUID %s)" % (inst["pnode_group_name"],
                                                inst["pnode_group_uuid"]))],
                   [("secondaries", secondaries)]]),
        ("Operating system", inst["os"]),
        ("Operating system parameters",
         format_params(inst["os_instance"], inst["os_actual"])),
        ("Allocated network port", str(inst["network_port"])),
        ("Hypervisor", inst["hypervisor"]),
        ("Hypervisor parameters",
         format_params(inst["hv_instance"], inst["hv_actual"])),
        ("Back-end parameters", format_params(inst["be_instance"],
                                              be_actual)),
        ("NICs", [_nic_info(i, nic) for i, nic in enumerate(inst["nics"])]),
        ("Disk template", inst["disk_template"]),
        ("Disks", [_disk_info(i, True, dev)
                   for i, dev in enumerate(inst["disks"])]),
    ]


def show_info(opts, args):
    """
    ``gnt-instance info``: as Ganeti, an OP_INSTANCE_QUERY_DATA job, so
    the disks' state on both nodes comes from the nodes (not with
    ``--static``).
    """
    if not args and not opts.show_all:
        base.to_stderr("No instance selected. Please pass in --all if you"
                       " want to query all instances.\nNote that this can"
                       " take a long time on a big cluster.")
        return 1
    if args and opts.show_all:
        base.to_stderr("Cannot use --all if you specify instance names.")
        return 1
    result = jobs.submit_opcode({"OP_ID": "OP_INSTANCE_QUERY_DATA",
                                 "instances": list(args),
                                 "static": opts.static,
                                 "use_locking": not opts.static}, opts)
    if not result:
        base.to_stdout("No instances.")
        return 1
    base.to_stdout(format_generic_info(
        [_instance_info(inst) for inst in result.values()]))
    return 0


#: The options of the commands acting on many instances.
_MULTI_OPTS = ([instance_multi.FORCE_MULTIPLE_OPT]
               + instance_multi.SELECTION_OPTS)
_IGNORE_OFFLINE = opt("--ignore-offline", action="store_true", default=False,
                      help="Ignore offline nodes and do as much as possible")
_NO_REMEMBER = opt("--no-remember", action="store_true", default=False,
                   help="Perform but do not record the change in the"
                        " configuration")
_SHUTDOWN_TIMEOUT = opt("--shutdown-timeout", type=int, default=120,
                        help="Maximum time to wait for instance shutdown")
_OS_OPT = opt("-o", "--os-type", dest="os", default=None,
              help="What OS to run")
_OSPARAMS = opt("-O", "--os-parameters", dest="osparams", default=None,
                help="OS parameters")
_NAME_CHECK = [
    opt("--name-check", dest="name_check", action="store_true", default=True,
        help="Check that the instance name resolves"),
    opt("--no-name-check", dest="name_check", action="store_false",
        help="Don't check that the instance's name is resolvable"),
    opt("--ip-check", dest="ip_check", action="store_true", default=True,
        help="Check that the instance's IP is not in use"),
    opt("--no-ip-check", dest="ip_check", action="store_false",
        help="Don't check that the instance's IP is alive"),
]
_DISK_OPT = opt("--disk", dest="disks", action="append", default=[],
                help="Disk parameters")
_NET_OPT = opt("--net", dest="nics", action="append", default=[],
               help="NIC parameters")
_CLEANUP = opt("--cleanup", action="store_true", default=False,
               help="Instead of performing the migration/failover, try to"
                    " recover from a failed cleanup. This is safe to run"
                    " even if the instance is healthy")

#: The options of L{create_opcode} (``gnt-instance add``, ``gnt-backup
#: import``).
CREATE_OPTS = options.JOB_OPTS + [
    options.DRY_RUN_OPT, _OSPARAMS, options.BACKEND_PARAMS_OPT, _DISK_OPT, _NET_OPT,
    opt("-t", "--disk-template", dest="disk_template", default=None,
        help="Disk template"),
    opt("-s", "--os-size", dest="sd_size", default=None,
        help="Disk size, for a single disk"),
    opt("--no-nics", action="store_true", default=False,
        help="Do not create any network cards for the instance"),
    opt("-n", "--node", default=None, help="Target node and optional"
        " secondary node (pnode[:snode])"),
    options.IALLOCATOR_OPT,
    opt("--no-wait-for-sync", dest="wait_for_sync", action="store_false",
        default=True, help="Don't wait for the disk to synchronize"),
    opt("-H", "--hypervisor-parameters", dest="hypervisor", default=None,
        help="Hypervisor and hypervisor options, in the format"
             " hypervisor:option=value,option=value,..."),
    opt("--file-storage-dir", default=None, help="Relative path under the"
        " default file storage dir to store file-based disks"),
    opt("--file-driver", default=None, choices=["loop", "blktap", "blktap2"],
        help="Driver to use for image files"),
    opt("--tags", default=None, help="Comma-separated list of instance tags"),
] + _NAME_CHECK

COMMANDS = {
    "add": Command(add_instance, Args(1, 1), CREATE_OPTS + [
        _OS_OPT,
        opt("--no-start", dest="start", action="store_false", default=True,
            help="Don't start the instance after creation"),
        opt("--no-install", action="store_true", default=False,
            help="Do not install the OS (will enable no-start)"),
    ], "[...] -t disk-type -n node[:secondary-node] -o os-type"
        " <name>", "Creates and adds a new instance to the cluster"),
    "remove": Command(remove_instance, Args(1, 1), options.JOB_OPTS + [
        options.FORCE_OPT, _SHUTDOWN_TIMEOUT,
        opt("--ignore-failures", action="store_true", default=False,
            help="Remove the instance from the cluster configuration even if"
                 " there are failures during the removal process")],
        "[--ignore-failures] <instance>", "Shuts down the instance and removes"
        " it"),
    "list": Command(list_instances, Args(0, None), options.LIST_OPTS,
                    "[<instance>...]", "Lists the instances and their status."
                    " The available fields can be shown using the"
                    " \"list-fields\" command (see the man page for details)."
                    " The default field list is (in order): %s."
                    % ", ".join(DEFAULT_FIELDS)),
    "list-fields": Command(list_fields, Args(0, None),
                           [options.NOHDR_OPT, options.SEP_OPT], "[fields...]",
                           "Lists all available fields for instances"),
    "info": Command(show_info, Args(0, None), [
        opt("-s", "--static", action="store_true", default=False,
            help="Only show configuration data, not runtime data"),
        opt("--all", dest="show_all", action="store_true", default=False,
            help="Show info on all instances on the cluster."),
        opt("--roman", action="store_true", default=False,
            help="Use roman numbers for positive integers")],
        "[-s] {--all | <instance>...}",
        "Show information on the specified instance(s)"),
    "batch-create": Command(instance_multi.batch_create, Args(1, 1),
                            options.JOB_OPTS + [options.DRY_RUN_OPT,
                                                options.IALLOCATOR_OPT],
                            "<instances.json>", "Create a bunch of instances"
                            " based on specs in the file."),
    "startup": Command(instance_multi.startup, Args(0, None), options.JOB_OPTS
                       + _MULTI_OPTS + [
        options.DRY_RUN_OPT, options.FORCE_OPT, _IGNORE_OFFLINE, _NO_REMEMBER,
        options.BACKEND_PARAMS_OPT,
        opt("-H", "--hypervisor-parameters", dest="hvparams", default=None,
            help="Temporary hypervisor parameters"),
        opt("--paused", dest="startup_paused", action="store_true",
            default=False, help="Pause instance at startup")],
        "<instance>...", "Starts one or more instances"),
    "shutdown": Command(instance_multi.shutdown, Args(0, None),
                        options.JOB_OPTS + _MULTI_OPTS + [
        options.DRY_RUN_OPT, options.FORCE_OPT, _IGNORE_OFFLINE, _NO_REMEMBER,
        opt("--timeout", type=int, default=120,
            help="Maximum time to wait for instance shutdown")],
        "<instance>...", "Stops one or more instances"),
    "reboot": Command(instance_multi.reboot, Args(0, None), options.JOB_OPTS
                      + _MULTI_OPTS + [
        options.DRY_RUN_OPT, _SHUTDOWN_TIMEOUT,
        opt("-t", "--type", dest="reboot_type", default="hard",
            choices=["soft", "hard", "full"], help="Type of reboot"),
        opt("--ignore-secondaries", action="store_true", default=False,
            help="Ignore errors from secondaries")],
        "<instance>...", "Reboots one or more instances"),
    "reinstall": Command(instance_multi.reinstall, Args(0, None),
                         options.JOB_OPTS + _MULTI_OPTS + [
        options.DRY_RUN_OPT, options.FORCE_OPT, _OS_OPT, _OSPARAMS,
        opt("--force-variant", action="store_true", default=False,
            help="Force an unknown variant"),
        opt("--select-os", action="store_true", default=False,
            help="Interactive OS reinstall, lists available OS templates for"
                 " selection")],
        "[-f] <instance>", "Reinstall a stopped instance"),
    "rename": Command(rename, Args(2, 2), options.JOB_OPTS + _NAME_CHECK,
                      "<instance> <new_name>", "Rename the instance"),
    "modify": Command(modify, Args(1, 1), options.JOB_OPTS + [
        options.FORCE_OPT, options.BACKEND_PARAMS_OPT, _OSPARAMS, _DISK_OPT, _NET_OPT,
        opt("-H", "--hypervisor-parameters", dest="hvparams", default=None,
            help="Hypervisor parameters"),
        opt("-o", "--os-type", dest="os", default=None,
            help="Change the instance's OS (needs a reinstall)"),
        opt("--hotplug", dest="hotplug", action="store_true", default=True,
            help="Hotplug disk and NIC changes into the running instance"
                 " (the default)"),
        opt("--no-hotplug", dest="hotplug", action="store_false",
            help="Do not hotplug: disk and NIC changes need the instance"
                 " stopped"),
        opt("--hotplug-if-possible", action="store_true", default=False,
            help="Hotplug if the instance supports it, else only warn"),
        opt("-t", "--disk-template", dest="disk_template", default=None,
            help="Convert the instance's disks to this template (plain,"
                 " drbd)"),
        opt("-n", "--node", default=None,
            help="The secondary node of a conversion to drbd"),
        options.IALLOCATOR_OPT,
        opt("--no-wait-for-sync", dest="wait_for_sync", action="store_false",
            default=True, help="Don't wait for the disks to synchronize")],
        "<instance>", "Alters the parameters of an instance"),
    "activate-disks": Command(activate_disks, Args(1, 1), options.JOB_OPTS + [
        opt("--ignore-size", action="store_true", default=False,
            help="Ignore current recorded size (useful for forcing activation"
                 " when the recorded size is wrong)")],
        "<instance>", "Activate an instance's disks"),
    "deactivate-disks": Command(deactivate_disks, Args(1, 1),
                                options.JOB_OPTS + [options.FORCE_OPT],
                                "[-f] <instance>", "Deactivate an instance's"
                                " disks"),
    "recreate-disks": Command(recreate_disks, Args(1, 1),
                              options.JOB_OPTS + [
        _DISK_OPT, options.IALLOCATOR_OPT,
        opt("-n", "--node", default=None,
            help="New node(s) for the disks (node[:secondary-node])")],
                              "[-n node1:[node2]] [-I name] <instance>",
                              "Recreate an instance's disks"),
    "grow-disk": Command(grow_disk, Args(3, 3), options.JOB_OPTS + [
        opt("--absolute", action="store_true", default=False,
            help="Marks the grow as absolute instead of the (default)"
                 " relative mode"),
        opt("--no-wait-for-sync", dest="wait_for_sync", action="store_false",
            default=True, help="Don't wait for sync (DANGEROUS!)")],
        "<instance> <disk> <size>", "Grow an instance's disk"),
    "failover": Command(failover, Args(1, 1), options.JOB_OPTS + [
        options.FORCE_OPT, options.IGNORE_CONSIST_OPT, _SHUTDOWN_TIMEOUT, _CLEANUP,
        options.IGNORE_IPOLICY_OPT, options.DST_NODE_OPT, options.IALLOCATOR_OPT],
        "[-f] [--ignore-consistency] [--shutdown-timeout=N] [-n node | -I"
        " alloc] <instance>", "Stops the instance, changes its primary node"
        " and (if it was originally running) starts it on the new node (the"
        " secondary for mirrored instances or any node for shared storage)."),
    "move": Command(move, Args(1, 1), options.JOB_OPTS + [
        options.FORCE_OPT,
        opt("-n", "--node", default=None, help="Target node"),
        opt("--compress", default="none",
            help="The compression mode to use"),
        _SHUTDOWN_TIMEOUT, options.DRY_RUN_OPT, options.IGNORE_CONSIST_OPT,
        options.IGNORE_IPOLICY_OPT],
        "[-f] <instance-name>", "Move instance to an arbitrary node (only for"
        " instances of type file and lv)"),
    "migrate": Command(migrate, Args(1, 1), options.JOB_OPTS + options.MIGRATION_OPTS + [
        options.FORCE_OPT, _CLEANUP,
        opt("--allow-failover", action="store_true", default=False,
            help="If migration is not possible fallback to failover"),
        opt("--ignore-hvversions", action="store_true", default=False,
            help="Ignore incompatible hypervisor versions between source"
                 " and target")],
        "[-f] [--allow-failover] [--non-live] [--migration-mode=live|non-live]"
        " [-n node | -I alloc] [--cleanup] <instance>",
        "Migrate instance to its secondary node (only for mirrored"
        " instances)"),
    "replace-disks": Command(replace_disks, Args(1, 1), options.JOB_OPTS + [
        opt("-a", "--auto", action="store_true", default=False,
            help="Automatically replace faulty disks"),
        opt("--disks", default=None,
            help="Comma-separated list of disks indices to act on"),
        options.IALLOCATOR_OPT, options.EARLY_RELEASE_OPT,
        opt("-n", "--new-secondary", dest="dst_node", default=None,
            help="Specifies the new node for the instance"),
        opt("-p", "--on-primary", action="store_true", default=False,
            help="Replace the disk(s) on the primary node (applies only to"
                 " internally mirrored disk templates, e.g. %s)" % "drbd"),
        opt("-s", "--on-secondary", action="store_true", default=False,
            help="Replace the disk(s) on the secondary node (applies only to"
                 " internally mirrored disk templates, e.g. %s)" % "drbd"),
        options.DRY_RUN_OPT, options.IGNORE_IPOLICY_OPT],
        "[-s|-p|-a|-n NODE|-I NAME] <instance-name>",
        "Replaces disks for the instance"),
    "change-group": Command(instance_multi.change_group, Args(1, 1),
                            options.JOB_OPTS + [
        options.IALLOCATOR_OPT,
        opt("--to", action="append", default=None, metavar="<group>",
            help="Destination node group (name or uuid)"),
        options.EARLY_RELEASE_OPT],
        "[-I <iallocator>] [--to <group>] <instance>",
        "Change group of instance"),
    "console": Command(console, Args(1, 1), [
        opt("--show-cmd", dest="show_command", action="store_true",
            default=False, help="Show command instead of executing it")],
        "[--show-cmd] <instance>", "Opens a console on the specified instance"),
}
COMMANDS.update(tag_commands("instance", "instance"))

ALIASES = {"start": "startup", "stop": "shutdown", "show": "info"}


def main():
    """Entry point of ``gnt-instance``."""
    base.run(COMMANDS, ALIASES)
