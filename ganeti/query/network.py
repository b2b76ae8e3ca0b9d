# -*- test-case-name: tests.test_query_network -*-
"""
Network query fields (``gnt-network list``, ``/2/networks``,
``/2/query/network``), with Ganeti's names, titles, kinds and docs.

Everything comes from the config: the network object itself, its address
pool (read through L{ganeti.network.AddressPool}), the node groups that
connect it and the instances whose NICs sit on it.  The last two are
worked out once per query for all networks, not once per row.
"""

from ganeti import errors
from ganeti.network import AddressPool
from ganeti.query import (
    Field, FieldSet, NoData, QFT_NUMBER, QFT_OTHER, QFT_TEXT, Unavailable,
    nice_sort, object_fields)

#: What a group connection shows for a NIC parameter it does not set
#: (Ganeti's ``-``).
_UNSET = "-"


class NetworkContext:
    """
    The config, plus what several fields of one query share: the pools
    and the network -> groups and network -> instances maps, each built
    the first time a field asks for it.
    """

    def __init__(self, cfg):
        self.cfg = cfg
        self._pools = {}
        self._groups = None
        self._instances = None

    def pool(self, network):
        """
        :return: the network's L{AddressPool}, or None when its stored
            reservation maps do not fit its size (a damaged config must
            not hide every other network from ``list``).
        """
        if network.uuid not in self._pools:
            try:
                self._pools[network.uuid] = AddressPool(network)
            except (errors.ConfigurationError, ValueError):
                self._pools[network.uuid] = None
        return self._pools[network.uuid]

    def groups(self, network):
        """
        :return: ``[group name, mode, link, vlan]`` of every group the
            network is connected to, sorted by group name (Ganeti's
            ``group_list`` entries).
        """
        if self._groups is None:
            self._groups = {}
            for group in nice_sort(self.cfg.nodegroups.values(),
                                   key=lambda g: g.name):
                for uuid, params in group.networks.items():
                    params = params or {}
                    self._groups.setdefault(uuid, []).append(
                        [group.name] + [params.get(key) or _UNSET
                                        for key in ("mode", "link", "vlan")])
        return self._groups.get(network.uuid, [])

    def instances(self, network):
        """:return: the names of the instances with a NIC on the network."""
        if self._instances is None:
            self._instances = {}
            for inst in self.cfg.instances.values():
                for uuid in {nic.network for nic in inst.nics if nic.network}:
                    self._instances.setdefault(uuid, []).append(inst.name)
        return nice_sort(self._instances.get(network.uuid, []))


def _maybe(name):
    """A getter for an optional attribute: unset is "unavailable" (``-``)."""
    def get(ctx, network):
        value = getattr(network, name)
        return Unavailable if value is None else value
    return get


def _pool_stat(read):
    """A getter for a number or text the address pool gives."""
    def get(ctx, network):
        pool = ctx.pool(network)
        return NoData if pool is None else read(pool)
    return get


def _network_fields():
    f = Field
    return [
        f("name", "Network", QFT_TEXT, "Name", lambda c, n: n.name),
        f("network", "Subnet", QFT_TEXT, "IPv4 subnet",
          lambda c, n: n.network),
        f("gateway", "Gateway", QFT_OTHER, "IPv4 gateway", _maybe("gateway")),
        f("network6", "IPv6Subnet", QFT_OTHER, "IPv6 subnet",
          _maybe("network6")),
        f("gateway6", "IPv6Gateway", QFT_OTHER, "IPv6 gateway",
          _maybe("gateway6")),
        f("mac_prefix", "MacPrefix", QFT_OTHER, "MAC address prefix",
          _maybe("mac_prefix")),
        f("free_count", "FreeCount", QFT_NUMBER,
          "Number of available addresses",
          _pool_stat(lambda pool: pool.free_count)),
        f("reserved_count", "ReservedCount", QFT_NUMBER,
          "Number of reserved addresses",
          _pool_stat(lambda pool: pool.reserved_count)),
        f("map", "Map", QFT_TEXT, "Actual mapping",
          _pool_stat(lambda pool: pool.map)),
        f("external_reservations", "ExternalReservations", QFT_TEXT,
          "External reservations",
          _pool_stat(lambda pool: ", ".join(pool.external_reservations))),
        f("group_list", "GroupList", QFT_OTHER,
          "List of nodegroups (group name, NIC mode, NIC link)",
          lambda c, n: c.groups(n)),
        f("group_cnt", "NodeGroups", QFT_NUMBER, "Number of nodegroups",
          lambda c, n: len(c.groups(n))),
        f("inst_list", "InstanceList", QFT_OTHER, "List of instances",
          lambda c, n: c.instances(n)),
        f("inst_cnt", "Instances", QFT_NUMBER, "Number of instances",
          lambda c, n: len(c.instances(n))),
        f("uuid", "UUID", QFT_TEXT, "Network UUID", lambda c, n: n.uuid),
        f("tags", "Tags", QFT_OTHER, "Tags", lambda c, n: list(n.tags)),
        *object_fields("Network"),
    ]


NETWORK_FIELDS = FieldSet(_network_fields(), item_kind="Network")


def query_networks(cfg, fields, qfilter):
    """
    :param cfg: the L{ganeti.objects.ConfigData}.
    :return: a query result for networks (config only, no node asked).
    """
    return NETWORK_FIELDS.query(NetworkContext(cfg),
                                list(cfg.networks.values()), fields, qfilter)
