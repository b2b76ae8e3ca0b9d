"""
Tests for L{ganeti.query.network}: the network fields against a config
with two networks, groups connecting them and instances using them.
"""

import attrs
from twisted.trial.unittest import SynchronousTestCase

from ganeti.network import AddressPool
from ganeti.objects import NIC, Instance, Network, NodeGroup
from ganeti.query import RS_NODATA, RS_NORMAL, RS_UNAVAIL
from ganeti.query.network import NETWORK_FIELDS, query_networks
from tests.util import make_paths, write_config


def _network(name, uuid, cidr, **kwargs):
    """:return: a network with a fresh pool, as OP_NETWORK_ADD makes it."""
    return AddressPool.new(Network(name=name, uuid=uuid, network=cidr,
                                   **kwargs)).network


def _instance(name, *nics):
    return Instance(name=name, uuid=name + "-uuid", primary_node="n",
                    os="", hypervisor="fake", disk_template="diskless",
                    nics=[NIC(mac="aa:00:00:00:00:%02d" % index,
                              uuid="%s-nic%d" % (name, index), ip=ip,
                              network=net)
                          for index, (ip, net) in enumerate(nics)])


def network_config(testcase):
    """
    :return: a one-node config with two networks: ``net1`` (a /29 with a
        gateway, one NIC address and one external reservation, connected
        to two groups, used by two instances) and ``net10`` (a bare /30).
    """
    cfg = write_config(make_paths(testcase))
    [default] = cfg.nodegroups.values()
    pool = AddressPool(_network("net1", "u1", "192.0.2.0/29",
                                gateway="192.0.2.1", tags=["a", "b"],
                                mac_prefix="aa:bb:cc"))
    pool.reserve("192.0.2.2")
    pool.reserve("192.0.2.5", external=True)
    net1 = pool.network
    net2 = _network("net10", "u10", "198.51.100.0/30")
    rack = NodeGroup(name="rack2", uuid="rack-uuid", networks={
        "u1": {"mode": "routed", "link": "rt1", "vlan": ""}})
    groups = dict(cfg.nodegroups)
    groups[default.uuid] = attrs.evolve(default, networks={
        "u1": {"mode": "bridged", "link": "br0", "vlan": "100"}})
    groups[rack.uuid] = rack
    instances = [_instance("web2", ("192.0.2.2", "u1"), ("192.0.2.3", "u1")),
                 _instance("web10", (None, "u1")),
                 _instance("db1", (None, None))]
    return attrs.evolve(
        cfg, nodegroups=groups, networks={"u1": net1, "u10": net2},
        instances={i.uuid: i for i in instances})


class NetworkFieldsTests(SynchronousTestCase):
    """The fields read the network, its pool, its groups and instances."""

    def setUp(self):
        self.cfg = network_config(self)

    def query(self, fields, qfilter=None):
        return query_networks(self.cfg, fields, qfilter)

    def values(self, fields, qfilter=None):
        return [[value for _, value in row]
                for row in self.query(fields, qfilter)["data"]]

    def test_definitions(self):
        """Names, titles and kinds are Ganeti's."""
        defs = {d["name"]: (d["title"], d["kind"])
                for d in NETWORK_FIELDS.fielddefs()}
        self.assertEqual(defs["network"], ("Subnet", "text"))
        self.assertEqual(defs["name"], ("Network", "text"))
        self.assertEqual(defs["gateway"], ("Gateway", "other"))
        self.assertEqual(defs["group_list"], ("GroupList", "other"))
        self.assertEqual(defs["group_cnt"], ("NodeGroups", "number"))
        self.assertEqual(defs["map"], ("Map", "text"))
        self.assertEqual(sorted(defs), sorted([
            "name", "uuid", "network", "gateway", "network6", "gateway6",
            "mac_prefix", "free_count", "reserved_count", "map",
            "external_reservations", "group_cnt", "group_list", "inst_cnt",
            "inst_list", "tags", "serial_no", "ctime", "mtime"]))

    def test_config_fields(self):
        """Rows are nicely sorted; unset optional values are unavailable."""
        result = self.query(["name", "network", "gateway", "network6",
                             "mac_prefix", "tags", "uuid"])
        self.assertEqual(result["data"], [
            [[RS_NORMAL, "net1"], [RS_NORMAL, "192.0.2.0/29"],
             [RS_NORMAL, "192.0.2.1"], [RS_UNAVAIL, None],
             [RS_NORMAL, "aa:bb:cc"], [RS_NORMAL, ["a", "b"]],
             [RS_NORMAL, "u1"]],
            [[RS_NORMAL, "net10"], [RS_NORMAL, "198.51.100.0/30"],
             [RS_UNAVAIL, None], [RS_UNAVAIL, None], [RS_UNAVAIL, None],
             [RS_NORMAL, []], [RS_NORMAL, "u10"]]])

    def test_pool_fields(self):
        """
        The map marks network, broadcast, gateway, the NIC's address and
        the external reservation.
        """
        self.assertEqual(self.values(["free_count", "reserved_count", "map",
                                      "external_reservations"]), [
            [3, 5, "XXX..X.X",
             "192.0.2.0, 192.0.2.1, 192.0.2.5, 192.0.2.7"],
            [2, 2, "X..X", "198.51.100.0, 198.51.100.3"]])

    def test_groups_and_instances(self):
        """
        group_list holds Ganeti's (group, mode, link, vlan) entries with
        ``-`` for an unset parameter; an instance counts once however many
        of its NICs use the network.
        """
        self.assertEqual(self.values(["group_cnt", "group_list", "inst_cnt",
                                      "inst_list"]), [
            [2, [["default", "bridged", "br0", "100"],
                 ["rack2", "routed", "rt1", "-"]], 2, ["web2", "web10"]],
            [0, [], 0, []]])

    def test_names_and_filters(self):
        """Names give their order; an unknown one is Ganeti's noent."""
        self.assertEqual(self.values(["name"], ["|", ["=", "name", "net10"],
                                                ["=", "name", "net1"]]),
                         [["net10"], ["net1"]])
        self.assertEqual(self.values(["name"], [">", "inst_cnt", 0]),
                         [["net1"]])
        from ganeti import errors
        err = self.assertRaises(errors.OpPrereqError, self.query, ["name"],
                                ["=", "name", "nope"])
        self.assertEqual(err.args, ("Network name nope not found", "noent"))

    def test_damaged_pool(self):
        """A pool map of the wrong size is no data, not a failed list."""
        net = attrs.evolve(self.cfg.networks["u10"], reservations="01")
        self.cfg = attrs.evolve(self.cfg, networks=dict(self.cfg.networks,
                                                        u10=net))
        rows = self.query(["name", "free_count", "map"])["data"]
        self.assertEqual(rows[1], [[RS_NORMAL, "net10"], [RS_NODATA, None],
                                   [RS_NODATA, None]])
