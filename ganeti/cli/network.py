# -*- test-case-name: tests.test_cli_network -*-
"""
``gnt-network``: IP networks, their address pools and their connections
to node groups, as Ganeti's tool handles them.

``connect`` and ``disconnect`` run one job per node group, as Ganeti does;
the groups are looked up before the first job, so a misspelt group
changes nothing.
"""

import textwrap

from ganeti import errors
from ganeti.cli import base, jobs, listing, options, parsing
from ganeti.cli.base import UsageError
from ganeti.cli.options import Args, Command, opt
from ganeti.cli.tags import tag_commands

DEFAULT_FIELDS = ["name", "network", "gateway", "mac_prefix", "group_list",
                  "tags"]

#: What ``connect`` fills in for ``-N`` keys not given (Ganeti's
#: C{NICC_DEFAULTS}, not the cluster's NIC parameters).
CONNECT_DEFAULTS = {"mode": "bridged", "link": "xen-br0", "vlan": ""}

#: The NIC modes; an old-style ``connect <net> <mode> <link>`` line is
#: told apart from group names by them.
_NIC_MODES = ("bridged", "routed", "openvswitch")

_INFO_FIELDS = ["name", "network", "gateway", "network6", "gateway6",
                "mac_prefix", "free_count", "reserved_count", "map",
                "group_list", "inst_list", "external_reservations",
                "serial_no", "uuid"]

#: Width of one line of the usage map and of the reserved-IP lines.
_MAP_WIDTH = 64


def _format_group_list(connections):
    """``group_list`` cells: ``group (mode, link, vlan), ...``."""
    return ", ".join("%s (%s, %s, %s)" % tuple(entry)
                     for entry in connections)


def list_networks(opts, args):
    """``gnt-network list``."""
    return listing.generic_list(
        "network", args, opts, DEFAULT_FIELDS,
        format_override={"group_list": (_format_group_list, False)})


def list_fields(opts, args):
    """``gnt-network list-fields``."""
    return listing.generic_list_fields("network", args, opts)


def _reserved_ips(text):
    """
    :return: the addresses of ``--add-reserved-ips``/``--remove-reserved-ips``;
        None when the option is absent, ``[]`` for an empty value.
    """
    return None if text is None else parsing.parse_comma_list(text)


def add_network(opts, args):
    """``gnt-network add``."""
    if opts.network is None:
        raise errors.OpPrereqError("The --network option must be given",
                                   "wrong_input")
    jobs.submit_opcode({
        "OP_ID": "OP_NETWORK_ADD", "network_name": args[0],
        "network": opts.network, "gateway": opts.gateway,
        "network6": opts.network6, "gateway6": opts.gateway6,
        "mac_prefix": opts.mac_prefix,
        "add_reserved_ips": _reserved_ips(opts.add_reserved_ips),
        "conflicts_check": opts.conflicts_check,
        "tags": opts.tags.split(",") if opts.tags else []}, opts)
    return 0


def modify_network(opts, args):
    """
    ``gnt-network modify``; ``none`` clears a gateway, IPv6 network or
    MAC prefix (the master reads it, as Ganeti's does).
    """
    changes = {
        "gateway": opts.gateway, "network6": opts.network6,
        "gateway6": opts.gateway6, "mac_prefix": opts.mac_prefix,
        "add_reserved_ips": _reserved_ips(opts.add_reserved_ips),
        "remove_reserved_ips": _reserved_ips(opts.remove_reserved_ips),
    }
    changes = {key: value for key, value in changes.items()
               if value is not None}
    if not changes:
        base.to_stderr("Please give at least one of the parameters.")
        return 1
    jobs.submit_opcode(dict(changes, OP_ID="OP_NETWORK_SET_PARAMS",
                            network_name=args[0]), opts)
    return 0


def remove_network(opts, args):
    """``gnt-network remove``."""
    jobs.submit_opcode({"OP_ID": "OP_NETWORK_REMOVE", "network_name": args[0],
                        "force": opts.force}, opts)
    return 0


def rename_network(opts, args):
    """``gnt-network rename``."""
    jobs.submit_opcode({"OP_ID": "OP_NETWORK_RENAME", "network_name": args[0],
                        "new_name": args[1]}, opts)
    return 0


def _query_rows(what, fields, names=None):
    """
    :param names: exact names (no globs: the master then answers in
        their order), or None for all items.
    :return: the plain values of a Query, one list per item.
    :raise OpPrereqError: (from the master) for a name that does not exist.
    """
    qfilter = (["|"] + [["=", "name", name] for name in names]
               if names else None)
    result = base.get_client().call("Query", what, fields, qfilter)
    return [[value for _, value in row] for row in result["data"]]


def _network_row(name, fields):
    """:return: one network's values; the master refuses an unknown name."""
    return _query_rows("network", fields, [name])[0]


def _resolve_groups(names):
    """
    :param names: group names or uuids from the command line; none
        means every group.
    :return: the groups' names, in the order given.
    :raise UsageError: for Ganeti's old ``<net> <mode> <link>`` form.
    :raise OpPrereqError: for a group that does not exist.
    """
    groups = _query_rows("group", ["name", "uuid"])
    if not names:
        return [name for name, _ in groups]
    by_key = {}
    for name, uuid in groups:
        by_key[uuid] = by_key[name] = name
    resolved = []
    for name in names:
        if name in by_key:
            resolved.append(by_key[name])
        elif name in _NIC_MODES:
            raise UsageError(
                "Passing mode and link as positional arguments is not"
                " supported any more; use -N mode=%s,link=<link> instead"
                % name)
        else:
            raise errors.OpPrereqError("Node group '%s' not found" % name,
                                       "noent")
    return resolved


def _connect_params(opts):
    """
    :return: mode, link and vlan of ``-N``, the missing ones filled as
        Ganeti fills them.
    :raise UsageError: for a key ``connect`` does not know or a value
        that is not text.
    """
    given = parsing.parse_key_values(opts.nicparams, "-N")
    unknown = sorted(set(given) - set(CONNECT_DEFAULTS))
    if unknown:
        raise UsageError("Unknown NIC parameter(s) for -N: %s (known: %s)"
                         % (", ".join(unknown),
                            ", ".join(sorted(CONNECT_DEFAULTS))))
    for key, value in given.items():
        if not isinstance(value, str):
            raise UsageError("Invalid -N value for '%s': expected %s=<value>"
                             % (key, key))
    return dict(CONNECT_DEFAULTS, **given)


def connect_network(opts, args):
    """
    ``gnt-network connect``: one job per group, to every group when none
    is named.
    """
    params = _connect_params(opts)
    _network_row(args[0], ["name"])
    for group in _resolve_groups(args[1:]):
        jobs.submit_opcode({
            "OP_ID": "OP_NETWORK_CONNECT", "group_name": group,
            "network_name": args[0], "network_mode": params["mode"],
            "network_link": params["link"], "network_vlan": params["vlan"],
            "conflicts_check": opts.conflicts_check}, opts)
    return 0


def disconnect_network(opts, args):
    """
    ``gnt-network disconnect``: one job per group; without groups, from
    every group the network is connected to.
    """
    [connections] = _network_row(args[0], ["group_list"])
    if args[1:]:
        groups = _resolve_groups(args[1:])
    else:
        groups = [entry[0] for entry in connections or []]
        if not groups:
            base.to_stderr("Network '%s' is not connected to any node group"
                           % args[0])
    for group in groups:
        jobs.submit_opcode({"OP_ID": "OP_NETWORK_DISCONNECT",
                            "group_name": group, "network_name": args[0]},
                           opts)
    return 0


def _nic_addresses(instances, network_uuid):
    """
    :return: ``{instance: "0:ip, 2:ip"}``, the index and address of each
        of its NICs on the network (one query for all instances).
    """
    if not instances:
        return {}
    rows = _query_rows("instance", ["name", "nic.ips", "nic.networks"],
                       instances)
    return {name: ", ".join("%d:%s" % (index, ip)
                            for index, (ip, net) in enumerate(zip(ips, nets))
                            if net == network_uuid)
            for name, ips, nets in rows}


def _info_lines(row, addresses):
    """:return: ``gnt-network info``'s lines for one network (Ganeti's)."""
    (name, network, gateway, network6, gateway6, mac_prefix, free, reserved,
     mapping, connections, instances, external, serial, uuid) = row
    size = free + reserved
    lines = ["Network name: %s" % name, "UUID: %s" % uuid,
             "Serial number: %d" % serial,
             "  Subnet: %s" % network, "  Gateway: %s" % gateway,
             "  IPv6 Subnet: %s" % network6, "  IPv6 Gateway: %s" % gateway6,
             "  Mac Prefix: %s" % mac_prefix, "  Size: %d" % size,
             "  Free: %d (%.2f%%)" % (free, 100.0 * free / size if size else 0),
             "  Usage map:"]
    for start in range(0, len(mapping), _MAP_WIDTH):
        lines.append("     %s %s %d" % (
            str(start).rjust(4),
            mapping[start:start + _MAP_WIDTH].ljust(_MAP_WIDTH),
            start + _MAP_WIDTH - 1))
    lines.append("         (X) used    (.) free")
    if external:
        lines.append("  externally reserved IPs:")
        lines.extend("    %s" % line
                     for line in textwrap.wrap(external, width=_MAP_WIDTH))
    if connections:
        lines.append("  connected to node groups:")
        lines.extend("    %s (mode:%s link:%s vlan:%s)" % tuple(entry)
                     for entry in connections)
    else:
        lines.append("  not connected to any node group")
    if instances:
        lines.append("  used by %d instances:" % len(instances))
        lines.extend("    %s: %s" % (inst, addresses.get(inst, ""))
                     for inst in instances)
    else:
        lines.append("  not used by any instances")
    return lines


def show_info(opts, args):
    """``gnt-network info``: the named (or all) networks, Ganeti's layout."""
    for row in _query_rows("network", _INFO_FIELDS, args):
        instances = row[_INFO_FIELDS.index("inst_list")] or []
        addresses = _nic_addresses(instances, row[-1])
        for line in _info_lines(row, addresses):
            base.to_stdout(line)
    return 0


# --- the command table --------------------------------------------------------

def _address_opt(flag, help_text):
    return opt(flag, dest=flag[2:].replace("-", "_"), default=None,
               help=help_text)


NETWORK_OPT = _address_opt("--network", "IP network in CIDR notation")
GATEWAY_OPT = _address_opt("--gateway", "IP address of the router (gateway)")
NETWORK6_OPT = _address_opt("--network6", "IP network in CIDR notation")
GATEWAY6_OPT = _address_opt("--gateway6",
                            "IPv6 address of the router (gateway)")
MAC_PREFIX_OPT = _address_opt("--mac-prefix",
                              "MAC address prefix for the network's NICs")
ADD_RESERVED_IPS_OPT = _address_opt(
    "--add-reserved-ips",
    "Comma-separated list of reserved IPs to add")
REMOVE_RESERVED_IPS_OPT = _address_opt(
    "--remove-reserved-ips",
    "Comma-separated list of reserved IPs to remove")
NO_CONFLICTS_CHECK_OPT = opt(
    "--no-conflicts-check", dest="conflicts_check", action="store_false",
    default=True, help="Don't check for conflicting IPs")
TAGS_OPT = opt("--tags", default=None, help="Comma-separated list of tags")
NIC_PARAMS_OPT = opt("-N", "--nic-parameters", dest="nicparams",
                     default=None,
                     help="NIC parameters of the connection: mode, link,"
                          " vlan")

_JOB_OPTS = options.JOB_OPTS + [options.DRY_RUN_OPT]

COMMANDS = {
    "add": Command(
        add_network, Args(1, 1),
        [NETWORK_OPT, GATEWAY_OPT, ADD_RESERVED_IPS_OPT, MAC_PREFIX_OPT,
         NETWORK6_OPT, GATEWAY6_OPT, NO_CONFLICTS_CHECK_OPT, TAGS_OPT]
        + _JOB_OPTS,
        "--network=<cidr> [options...] <network-name>",
        "Add a new IP network to the cluster"),
    "list": Command(
        list_networks, Args(0, None), options.LIST_OPTS,
        "[<network-name>...]",
        "Lists the IP networks in the cluster. The available fields can be"
        " shown using the \"list-fields\" command (see the man page for"
        " details). The default list is (in order): %s."
        % ", ".join(DEFAULT_FIELDS)),
    "list-fields": Command(list_fields, Args(0, None),
                           [options.NOHDR_OPT, options.SEP_OPT],
                           "[<fields>...]",
                           "Lists all available fields for networks"),
    "info": Command(show_info, Args(0, None), [], "[<network>...]",
                    "Show information about the network(s)"),
    "modify": Command(
        modify_network, Args(1, 1),
        [ADD_RESERVED_IPS_OPT, REMOVE_RESERVED_IPS_OPT, GATEWAY_OPT,
         MAC_PREFIX_OPT, NETWORK6_OPT, GATEWAY6_OPT] + _JOB_OPTS,
        "[options...] <network>", "Alters the parameters of a network"),
    "connect": Command(
        connect_network, Args(1, None),
        [NO_CONFLICTS_CHECK_OPT, NIC_PARAMS_OPT] + _JOB_OPTS,
        "[-N mode=<mode>,link=<link>,vlan=<vlan>] <network> [<group>...]",
        "Map a given network to the specified node group with given mode"
        " and link (netparams)"),
    "disconnect": Command(
        disconnect_network, Args(1, None), _JOB_OPTS,
        "<network> [<group>...]",
        "Unmap a given network from a specified node group"),
    "remove": Command(
        remove_network, Args(1, 1), [options.FORCE_OPT] + _JOB_OPTS,
        "[--dry-run] <network>",
        "Remove an (empty) network from the cluster"),
    "rename": Command(
        rename_network, Args(2, 2), _JOB_OPTS,
        "[--dry-run] <old-name> <new-name>", "Rename a network"),
}
COMMANDS.update(tag_commands("network", "network"))


def main():
    """Entry point of ``gnt-network``."""
    base.run(COMMANDS)
