# -*- test-case-name: tests.test_cmdlib_network -*-
"""
Network logical units: add, remove, rename, modify (gateways, MAC prefix,
reserved addresses), and connect to or disconnect from node groups.

A network is an address pool (L{ganeti.network}); a group connected to it
gives the NICs in it their mode, link and VLAN.  Each change is one
config update: a refused opcode changes nothing.  They take the Big
Ganeti Lock exclusively (they are rare, and it keeps instance changes,
which reserve addresses, out of their way).
"""

import re
import uuid as uuidmod

import attrs

from ganeti import errors, hooks
from ganeti import network as netmod
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.group import get_group, group_members
from ganeti.cmdlib.tags import check_tag
from ganeti.objects import Network
from ganeti.query import nice_sort

#: The value that clears a gateway, IPv6 network or MAC prefix.
VALUE_NONE = "none"

_MAC_PREFIX = re.compile(r"^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$")


def get_network(cfg, name):
    """
    :param name: a network name or uuid.
    :return: the L{ganeti.objects.Network}.
    :raise OpPrereqError: (``noent``) if there is none.
    """
    net = cfg.networks.get(name) or cfg.network_by_name(name)
    if net is None:
        raise errors.OpPrereqError("Network '%s' not found" % name, "noent")
    return net


def check_mac_prefix(value):
    """:return: C{value} normalised; :raise OpPrereqError: if malformed."""
    prefix = value.lower()
    if not _MAC_PREFIX.match(prefix):
        raise errors.OpPrereqError("Invalid MAC prefix '%s' (three octets,"
                                   " e.g. aa:00:00)" % value, "wrong_input")
    return prefix


def network_variables(name, subnet=None, gateway=None, network6=None,
                      gateway6=None, mac_prefix=None, tags=()):
    """The ``NETWORK_*`` hook variables; unset values are left out."""
    env = {}
    for key, value in (("NAME", name), ("SUBNET", subnet),
                       ("GATEWAY", gateway), ("SUBNET6", network6),
                       ("GATEWAY6", gateway6), ("MAC_PREFIX", mac_prefix)):
        if value:
            env["NETWORK_" + key] = value
    if tags:
        env["NETWORK_TAGS"] = " ".join(tags)
    return env


def _optional(value, check):
    """An opcode value for an attribute: None keeps, "none" clears."""
    if value == VALUE_NONE:
        return None
    return check(value)


def _ipv6_gateway(value):
    return str(netmod.parse_address(value, 6))


def _store(ctx, net):
    def change(cfg):
        return attrs.evolve(cfg, networks=dict(cfg.networks,
                                               **{net.uuid: net}))
    ctx.config.update(change)


class _NetworkLU(LogicalUnit):
    """A change of networks; hooks run on the master."""

    BGL_SHARED = False
    HTYPE = hooks.HTYPE_NETWORK

    def build_hooks_nodes(self):
        nodes = [self.cfg.cluster.master_node]
        return nodes, nodes


class LUNetworkAdd(_NetworkLU):
    """``gnt-network add``."""

    HPATH = "network-add"

    def build_hooks_env(self):
        op = self.op
        return network_variables(op["network_name"], op["network"],
                                 op["gateway"], op["network6"], op["gateway6"],
                                 op["mac_prefix"], op["tags"])

    def check_prereq(self):
        op, cfg = self.op, self.cfg
        existing = cfg.network_by_name(op["network_name"])
        if existing is not None:
            raise errors.OpPrereqError(
                "Desired network name '%s' already exists as a network"
                " (UUID: %s)" % (op["network_name"], existing.uuid),
                "already_exists")
        subnet = netmod.parse_network(op["network"])
        gateway = None
        if op["gateway"]:
            gateway = str(netmod.parse_address(op["gateway"]))
            if netmod.parse_address(gateway) not in subnet:
                raise errors.OpPrereqError(
                    "Gateway %s is not in network %s" % (gateway, subnet),
                    "wrong_input")
        for tag in op["tags"]:
            check_tag(tag)
        self.net = Network(
            name=op["network_name"], uuid=str(uuidmod.uuid4()),
            network=str(subnet), gateway=gateway,
            network6=(str(netmod.parse_network6(op["network6"]))
                      if op["network6"] else None),
            gateway6=_ipv6_gateway(op["gateway6"]) if op["gateway6"] else None,
            mac_prefix=(check_mac_prefix(op["mac_prefix"])
                        if op["mac_prefix"] else None),
            tags=list(op["tags"]))
        pool = netmod.AddressPool.new(self.net)
        for ip in op["add_reserved_ips"] or []:
            try:
                pool.reserve(ip, external=True)
            except (errors.AddressPoolError, ValueError) as e:
                raise errors.OpPrereqError("Cannot reserve IP address '%s':"
                                           " %s" % (ip, e), "wrong_input")
        self.pool = pool

    def execute(self):
        pool = self.pool
        if self.op["conflicts_check"]:
            # Nodes' and the master's addresses cannot go to instances.
            cfg = self.cfg
            owners = [("IP address of node '%s'" % n.name, ip)
                      for n in nice_sort(cfg.nodes.values(),
                                         key=lambda n: n.name)
                      for ip in sorted({n.primary_ip, n.secondary_ip})]
            owners.append(("cluster master IP address", cfg.cluster.master_ip))
            for what, ip in owners:
                if not pool.contains(ip) or pool.is_reserved(ip, True):
                    continue
                pool.reserve(ip, external=True)
                self.log_info("Reserved %s (%s)" % (what, ip))
        now = self.ctx.reactor.seconds()
        _store(self.ctx, attrs.evolve(pool.network, ctime=now, mtime=now))


class LUNetworkRemove(_NetworkLU):
    """``gnt-network remove``: only a network no group is connected to."""

    HPATH = "network-remove"

    def build_hooks_env(self):
        return {"NETWORK_NAME": self.op["network_name"]}

    def check_prereq(self):
        self.net = get_network(self.cfg, self.op["network_name"])
        groups = [g.name for g in self.cfg.nodegroups.values()
                  if self.net.uuid in g.networks]
        if groups:
            self.log_warning("Network '%s' is connected to the following"
                             " node groups: %s"
                             % (self.op["network_name"],
                                ", ".join(nice_sort(groups))))
            raise errors.OpPrereqError("Network still connected",
                                       "wrong_state")

    def execute(self):
        uuid = self.net.uuid

        def change(cfg):
            if uuid not in cfg.networks:
                raise errors.OpExecError("Network '%s' with UUID %s"
                                         " disappeared"
                                         % (self.op["network_name"], uuid))
            networks = dict(cfg.networks)
            del networks[uuid]
            return attrs.evolve(cfg, networks=networks)
        self.ctx.config.update(change)


class LUNetworkRename(_NetworkLU):
    """``gnt-network rename``."""

    HPATH = "network-rename"

    def build_hooks_env(self):
        return {"OLD_NAME": self.op["network_name"],
                "NEW_NAME": self.op["new_name"]}

    def build_hooks_nodes(self):
        # The master and the nodes of the groups it is connected to.
        nodes = [self.cfg.cluster.master_node] + [
            n.uuid for g in self.cfg.nodegroups.values()
            if self.net.uuid in g.networks
            for n in group_members(self.cfg, g)]
        return nodes, nodes

    def check_prereq(self):
        self.net = get_network(self.cfg, self.op["network_name"])
        clash = self.cfg.network_by_name(self.op["new_name"])
        if clash is not None:
            raise errors.OpPrereqError(
                "Desired new name '%s' clashes with existing network (UUID:"
                " %s)" % (self.op["new_name"], clash.uuid), "already_exists")

    def execute(self):
        self.ctx.config.update_object("networks", self.net.uuid,
                                      name=self.op["new_name"])
        return self.op["new_name"]


class LUNetworkSetParams(_NetworkLU):
    """``gnt-network modify``."""

    HPATH = "network-modify"

    def build_hooks_env(self):
        net = self.new
        return network_variables(self.op["network_name"], net.network,
                                 net.gateway, net.network6, net.gateway6,
                                 net.mac_prefix, net.tags)

    def check_prereq(self):
        op = self.op
        if op["gateway"] and (op["add_reserved_ips"]
                              or op["remove_reserved_ips"]):
            raise errors.OpPrereqError("Cannot modify gateway and reserved"
                                       " ips at the same time", "wrong_input")
        net = get_network(self.cfg, op["network_name"])
        pool = netmod.AddressPool(net)
        changes = {}
        if op["gateway"]:
            gateway = _optional(op["gateway"],
                                lambda v: str(netmod.parse_address(v)))
            if gateway == net.gateway:
                self.log_warning("Gateway is already %s" % gateway)
            else:
                if gateway is not None:
                    if not pool.contains(gateway):
                        raise errors.OpPrereqError(
                            "Gateway %s is not in network %s"
                            % (gateway, net.network), "wrong_input")
                    if pool.is_reserved(gateway):
                        raise errors.OpPrereqError(
                            "Gateway IP address '%s' is already reserved"
                            % gateway, "wrong_state")
                    if not pool.is_reserved(gateway, external=True):
                        pool.reserve(gateway, external=True)
                if net.gateway and pool.is_reserved(net.gateway, True):
                    pool.release(net.gateway, external=True)
                changes["gateway"] = gateway
        for ip in op["add_reserved_ips"] or []:
            try:
                pool.reserve(ip, external=True)
            except (errors.AddressPoolError, ValueError) as e:
                self.log_warning("Cannot reserve IP address %s: %s" % (ip, e))
        for ip in op["remove_reserved_ips"] or []:
            if ip == net.gateway:
                self.log_warning("Cannot unreserve Gateway's IP")
                continue
            try:
                pool.release(ip, external=True)
            except (errors.AddressPoolError, ValueError) as e:
                self.log_warning("Cannot release IP address %s: %s" % (ip, e))
        if op["mac_prefix"]:
            changes["mac_prefix"] = _optional(op["mac_prefix"],
                                              check_mac_prefix)
        if op["network6"]:
            changes["network6"] = _optional(
                op["network6"], lambda v: str(netmod.parse_network6(v)))
        if op["gateway6"]:
            changes["gateway6"] = _optional(op["gateway6"], _ipv6_gateway)
        self.new = attrs.evolve(pool.network, **changes)

    def execute(self):
        new = self.new
        self.ctx.config.update_object(
            "networks", new.uuid, **{
                f.name: getattr(new, f.name) for f in attrs.fields(Network)
                if f.name not in ("uuid", "serial_no", "ctime", "mtime")})


def _conflicts(lu, cfg, group, action, conflicting):
    """
    Ganeti's check before a network joins or leaves a group: the group's
    instances must have no NIC for which C{conflicting(nic)} holds.

    :raise OpPrereqError: listing them (as a warning) if some do.
    """
    found = []
    for instance in nice_sort(cfg.instances.values(), key=lambda i: i.name):
        node = cfg.nodes.get(instance.primary_node)
        if node is None or node.group != group.uuid:
            continue
        nics = ["nic%d/%s" % (index, nic.ip)
                for index, nic in enumerate(instance.nics) if conflicting(nic)]
        if nics:
            found.append("%s: %s" % (instance.name, ", ".join(nics)))
    if found:
        lu.log_warning("IP addresses from network '%s', which is about to %s"
                       " node group '%s', are in use: %s"
                       % (lu.op["network_name"], action, group.name,
                          ", ".join(found)))
        raise errors.OpPrereqError("Conflicting IP addresses found; "
                                   " remove/modify the corresponding network"
                                   " interfaces", "wrong_state")


class _GroupNetworkLU(_NetworkLU):
    """Connect or disconnect: hooks run on the group's nodes."""

    def build_hooks_nodes(self):
        nodes = [n.uuid for n in group_members(self.cfg, self.group)]
        return nodes, nodes

    def _lookup(self):
        self.net = get_network(self.cfg, self.op["network_name"])
        self.group = get_group(self.cfg, self.op["group_name"])

    def set_networks(self, networks):
        self.ctx.config.update_object("nodegroups", self.group.uuid,
                                      networks=networks)


class LUNetworkConnect(_GroupNetworkLU):
    """``gnt-network connect``: NICs in the network get these parameters."""

    HPATH = "network-connect"

    def build_hooks_env(self):
        env = {"GROUP_NAME": self.op["group_name"],
               "GROUP_NETWORK_MODE": self.op["network_mode"],
               "GROUP_NETWORK_LINK": self.op["network_link"],
               "GROUP_NETWORK_VLAN": self.op["network_vlan"]}
        env.update(network_variables(
            self.net.name, self.net.network, self.net.gateway,
            self.net.network6, self.net.gateway6, self.net.mac_prefix,
            self.net.tags))
        return env

    def check_prereq(self):
        self._lookup()
        op = self.op
        if op["network_mode"] == "bridged" and not op["network_link"]:
            raise errors.OpPrereqError("Missing bridged NIC link",
                                       "wrong_input")
        self.connected = self.net.uuid in self.group.networks
        if self.connected:
            self.log_warning("Network '%s' is already mapped to group '%s'"
                             % (self.net.name, self.group.name))
        elif op["conflicts_check"]:
            pool = netmod.AddressPool(self.net)
            _conflicts(self, self.cfg, self.group, "connect to",
                       lambda nic: pool.contains(nic.ip))

    def execute(self):
        if self.connected:
            return
        params = {"mode": self.op["network_mode"],
                  "link": self.op["network_link"],
                  "vlan": self.op["network_vlan"]}
        self.set_networks(dict(self.group.networks,
                               **{self.net.uuid: params}))


class LUNetworkDisconnect(_GroupNetworkLU):
    """``gnt-network disconnect``: refused while NICs of the group use it."""

    HPATH = "network-disconnect"

    def build_hooks_env(self):
        env = {"GROUP_NAME": self.op["group_name"]}
        params = self.group.networks.get(self.net.uuid)
        if params:
            env.update({"GROUP_NETWORK_MODE": params.get("mode", ""),
                        "GROUP_NETWORK_LINK": params.get("link", ""),
                        "GROUP_NETWORK_VLAN": params.get("vlan", "")})
        return env

    def check_prereq(self):
        self._lookup()
        self.connected = self.net.uuid in self.group.networks
        if not self.connected:
            self.log_warning("Network '%s' is not mapped to group '%s'"
                             % (self.net.name, self.group.name))
            return
        _conflicts(self, self.cfg, self.group, "disconnect from",
                   lambda nic: nic.network == self.net.uuid)

    def execute(self):
        if not self.connected:
            return
        networks = dict(self.group.networks)
        del networks[self.net.uuid]
        self.set_networks(networks)


def pool_problems(cfg):
    """
    :return: messages for pools that disagree with the NICs (checked by
        ``gnt-cluster verify``): a NIC in a missing network, a NIC's
        address outside its network or not reserved for it, an address
        reserved for a NIC that no NIC has, and one address given to two
        NICs of the same network.
    """
    problems = []
    users = {}
    for instance in nice_sort(cfg.instances.values(), key=lambda i: i.name):
        for index, nic in enumerate(instance.nics):
            if nic.network is None:
                continue
            where = "instance %s nic %d" % (instance.name, index)
            net = cfg.networks.get(nic.network)
            if net is None:
                problems.append("%s is in a non-existing network %s"
                                % (where, nic.network))
                continue
            if nic.ip is None:
                continue
            users.setdefault((net.uuid, nic.ip), []).append(where)
            pool = netmod.AddressPool(net)
            if not pool.contains(nic.ip):
                problems.append("%s: IP %s is not in network %s (%s)"
                                % (where, nic.ip, net.name, net.network))
            elif not pool.is_reserved(nic.ip):
                problems.append("%s: IP %s is not reserved in the pool of"
                                " network %s" % (where, nic.ip, net.name))
    for (uuid, ip), owners in sorted(users.items()):
        if len(owners) > 1:
            problems.append("IP address %s of network %s is used by multiple"
                            " owners: %s" % (ip, cfg.networks[uuid].name,
                                             ", ".join(owners)))
    for net in nice_sort(cfg.networks.values(), key=lambda n: n.name):
        pool = netmod.AddressPool(net)
        for index, used in enumerate(net.reservations):
            ip = str(pool.net[index])
            if used == "1" and (net.uuid, ip) not in users:
                problems.append("network %s: IP %s is reserved for an"
                                " instance but no NIC uses it"
                                % (net.name, ip))
    return problems
