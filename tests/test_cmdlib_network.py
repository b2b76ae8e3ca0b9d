"""
Tests for the network opcodes and for NICs in networks (pool addresses
given, checked and released), run as jobs through the real queue, locks
and config writer of an in-process master with the fake hypervisor.
"""

import attrs
from twisted.trial.unittest import SynchronousTestCase

from ganeti import config as configmod
from ganeti.cmdlib.network import pool_problems
from ganeti.network import AddressPool
from tests.util import SETTINGS, local_cluster

NODE1 = SETTINGS["node_name"]


class _NetworkTestBase(SynchronousTestCase):
    def setUp(self):
        self.master = local_cluster(self)
        self.queue = self.master.queue

    @property
    def cfg(self):
        return self.master.config.config

    def run_op(self, op_id, **params):
        return self.queue.get(self.queue.submit([dict(params, OP_ID=op_id)]))

    def assert_ok(self, job):
        self.assertEqual(job.status, "success", job.ops[0].result)
        return job.ops[0].result

    def assert_unchanged(self, op_id, text, **params):
        """The opcode is refused mentioning C{text}; nothing is written."""
        serial = self.cfg.serial_no
        job = self.run_op(op_id, **params)
        self.assertEqual(job.status, "error")
        self.assertIn(text, job.ops[0].result[1][0])
        self.assertEqual(self.cfg.serial_no, serial)
        self.assertEqual(configmod.load(self.master.paths.config_data).serial_no,
                         serial)
        return job

    def add_network(self, name="net1", network="10.0.0.0/28", **params):
        return self.assert_ok(self.run_op("OP_NETWORK_ADD", network_name=name,
                                          network=network, **params))

    def connect(self, name="net1", group="default", mode="bridged",
                link="br0", **params):
        return self.assert_ok(self.run_op(
            "OP_NETWORK_CONNECT", network_name=name, group_name=group,
            network_mode=mode, network_link=link, **params))

    def net(self, name="net1"):
        return self.cfg.network_by_name(name)

    def pool(self, name="net1"):
        return AddressPool(self.net(name))

    def create(self, name, nics, **params):
        op = {"instance_name": name, "disk_template": "diskless",
              "disks": [], "nics": nics, "pnode": NODE1, "no_install": True,
              "hypervisor": "fake", "start": False, "name_check": False,
              "ip_check": False}
        op.update(params)
        return self.run_op("OP_INSTANCE_CREATE", **op)

    def nic(self, name, index=0):
        return self.cfg.instance_by_name(name).nics[index]


class NetworkOpcodeTests(_NetworkTestBase):
    def test_add(self):
        """
        A new network keeps its settings and a pool in Ganeti's format:
        network, broadcast, gateway and reserved addresses taken.
        """
        self.add_network(gateway="10.0.0.1", network6="2001:db8::/64",
                         gateway6="2001:db8::1", mac_prefix="AA:BB:CC",
                         add_reserved_ips=["10.0.0.5"], tags=["red"])
        net = self.net()
        self.assertEqual((net.network, net.gateway, net.network6,
                          net.gateway6, net.mac_prefix, net.tags),
                         ("10.0.0.0/28", "10.0.0.1", "2001:db8::/64",
                          "2001:db8::1", "aa:bb:cc", ["red"]))
        self.assertEqual(net.ext_reservations, "1100010000000001")
        self.assertEqual(net.reservations, "0" * 16)
        on_disk = configmod.load(self.master.paths.config_data)
        self.assertEqual(on_disk.networks[net.uuid], net)

    def test_add_reserves_cluster_addresses(self):
        """With conflict checks, node and master addresses are reserved."""
        self.add_network(network="192.0.2.0/28")
        self.assertEqual(self.pool().external_reservations,
                         ["192.0.2.0", "192.0.2.1", "192.0.2.10",
                          "192.0.2.15"])
        self.add_network("net2", "192.0.2.0/28", conflicts_check=False)
        self.assertEqual(self.pool("net2").external_reservations,
                         ["192.0.2.0", "192.0.2.15"])

    def test_add_refused(self):
        """Bad networks, gateways, names and reservations change nothing."""
        self.add_network()
        self.assert_unchanged("OP_NETWORK_ADD", "already exists",
                              network_name="net1", network="10.1.0.0/24")
        for params, text in (
                ({"network": "10.0.0.0/8"}, "at most a /16"),
                ({"network": "10.0.0.0/31"}, "too small"),
                ({"network": "10.0.0.1/24"}, "Invalid IPv4 network"),
                ({"network": "10.2.0.0/24", "gateway": "10.3.0.1"},
                 "not in network"),
                ({"network": "10.2.0.0/24", "mac_prefix": "zz:00"},
                 "Invalid MAC prefix"),
                ({"network": "10.2.0.0/24", "add_reserved_ips": ["10.9.0.1"]},
                 "Cannot reserve IP address"),
                ({"network": "10.2.0.0/24", "tags": ["bad tag"]},
                 "invalid characters")):
            self.assert_unchanged("OP_NETWORK_ADD", text,
                                  network_name="net2", **params)

    def test_modify(self):
        """Gateway moves its reservation; reserved addresses come and go."""
        self.add_network(gateway="10.0.0.1")
        self.assert_ok(self.run_op("OP_NETWORK_SET_PARAMS",
                                   network_name="net1", gateway="10.0.0.14",
                                   mac_prefix="aa:00:01"))
        self.assertEqual(self.pool().external_reservations,
                         ["10.0.0.0", "10.0.0.14", "10.0.0.15"])
        self.assertEqual(self.net().mac_prefix, "aa:00:01")
        self.assert_ok(self.run_op("OP_NETWORK_SET_PARAMS",
                                   network_name="net1",
                                   add_reserved_ips=["10.0.0.3", "10.0.0.4"]))
        self.assert_ok(self.run_op("OP_NETWORK_SET_PARAMS",
                                   network_name="net1",
                                   remove_reserved_ips=["10.0.0.3",
                                                        "10.0.0.14"]))
        self.assertEqual(self.pool().external_reservations,
                         ["10.0.0.0", "10.0.0.4", "10.0.0.14", "10.0.0.15"])
        self.assert_ok(self.run_op("OP_NETWORK_SET_PARAMS",
                                   network_name="net1", gateway="none",
                                   mac_prefix="none"))
        self.assertEqual((self.net().gateway, self.net().mac_prefix),
                         (None, None))
        self.assertNotIn("10.0.0.14", self.pool().external_reservations)
        self.assert_unchanged("OP_NETWORK_SET_PARAMS", "at the same time",
                              network_name="net1", gateway="10.0.0.2",
                              add_reserved_ips=["10.0.0.3"])
        self.assert_unchanged("OP_NETWORK_SET_PARAMS", "not found",
                              network_name="nonet", gateway="10.0.0.2")

    def test_connect_disconnect_remove(self):
        """
        A connected network cannot be removed; connecting twice is a
        warning; disconnected, it goes.
        """
        self.add_network()
        self.connect(mode="openvswitch", link="ovs0", network_vlan="100")
        group = self.cfg.group_by_name("default")
        self.assertEqual(group.networks, {self.net().uuid: {
            "mode": "openvswitch", "link": "ovs0", "vlan": "100"}})
        job = self.run_op("OP_NETWORK_CONNECT", network_name="net1",
                          group_name="default", network_mode="routed",
                          network_link="")
        self.assert_ok(job)
        self.assertIn("already mapped", " ".join(
            str(m) for m in job.ops[0].log))
        self.assert_unchanged("OP_NETWORK_REMOVE", "still connected",
                              network_name="net1")
        self.assert_ok(self.run_op("OP_NETWORK_DISCONNECT",
                                   network_name="net1", group_name="default"))
        self.assertEqual(self.cfg.group_by_name("default").networks, {})
        self.assert_ok(self.run_op("OP_NETWORK_REMOVE", network_name="net1"))
        self.assertEqual(self.cfg.networks, {})

    def test_connect_refused(self):
        """Unknown group, bridged without a link."""
        self.add_network()
        self.assert_unchanged("OP_NETWORK_CONNECT", "not found",
                              network_name="net1", group_name="nogroup",
                              network_mode="bridged", network_link="br0")
        self.assert_unchanged("OP_NETWORK_CONNECT", "Missing bridged NIC link",
                              network_name="net1", group_name="default",
                              network_mode="bridged", network_link="")

    def test_rename(self):
        self.add_network()
        self.add_network("net2", "10.1.0.0/24")
        self.assert_unchanged("OP_NETWORK_RENAME", "clashes",
                              network_name="net1", new_name="net2")
        self.assertEqual(self.assert_ok(self.run_op(
            "OP_NETWORK_RENAME", network_name="net1", new_name="lan")), "lan")
        self.assertIsNotNone(self.net("lan"))

    def test_tags(self):
        """Networks carry tags like the other objects."""
        self.add_network()
        self.assert_ok(self.run_op("OP_TAGS_SET", kind="network", name="net1",
                                   tags=["a", "b"]))
        self.assertEqual(self.assert_ok(self.run_op(
            "OP_TAGS_GET", kind="network", name="net1")), ["a", "b"])


class NicPoolTests(_NetworkTestBase):
    def setUp(self):
        super().setUp()
        self.add_network(gateway="10.0.0.1", mac_prefix="aa:bb:cc")
        self.connect()

    def test_pool_addresses(self):
        """
        NICs with ip=pool get distinct free addresses, the mode and link
        of the group's connection and the network's MAC prefix; the pool
        shows them reserved, and removing an instance releases its own.
        """
        for name in ("i1", "i2"):
            self.assert_ok(self.create(name, [{"network": "net1",
                                               "ip": "pool"}]))
        one, two = self.nic("i1"), self.nic("i2")
        self.assertEqual((one.ip, two.ip), ("10.0.0.2", "10.0.0.3"))
        self.assertEqual(one.network, self.net().uuid)
        self.assertEqual(one.nicparams, {"mode": "bridged", "link": "br0"})
        self.assertTrue(one.mac.startswith("aa:bb:cc:"))
        self.assertEqual(self.pool().map, "XXXX...........X")
        self.assert_ok(self.run_op("OP_INSTANCE_REMOVE", instance_name="i1"))
        self.assertEqual(self.pool().map, "XX.X...........X")
        self.assertEqual(pool_problems(self.cfg), [])

    def test_concurrent_creations(self):
        """
        Two creations whose prerequisites are checked before either is
        recorded still get different addresses (the pending holds).
        """
        jobs = [self.queue.submit([dict(
            OP_ID="OP_INSTANCE_CREATE", instance_name=name,
            disk_template="diskless", disks=[],
            nics=[{"network": "net1", "ip": "pool"}], pnode=NODE1,
            no_install=True, hypervisor="fake", start=False,
            name_check=False, ip_check=False)]) for name in ("i1", "i2")]
        for job_id in jobs:
            self.assert_ok(self.queue.get(job_id))
        self.assertEqual(sorted([self.nic("i1").ip, self.nic("i2").ip]),
                         ["10.0.0.2", "10.0.0.3"])
        self.assertEqual(self.master.context.addresses.held(
            self.net().uuid), set())

    def test_explicit_address(self):
        """A given address is checked against the pool and reserved."""
        self.assert_ok(self.create("i1", [{"network": "net1",
                                           "ip": "10.0.0.9"}]))
        self.assertTrue(self.pool().is_reserved("10.0.0.9"))
        serial = self.cfg.serial_no
        for ip, text in (("10.0.0.9", "already in use"),
                         ("10.0.0.1", "already in use"),
                         ("10.5.0.1", "does not belong")):
            job = self.create("i2", [{"network": "net1", "ip": ip}])
            self.assertEqual(job.status, "error")
            self.assertIn(text, job.ops[0].result[1][0])
        self.assertEqual(self.cfg.serial_no, serial)
        # Without the conflict check an address in use is let through.
        self.assert_ok(self.create("i2", [{"network": "net1",
                                           "ip": "10.0.0.9"}],
                                   conflicts_check=False))
        self.assertEqual(self.nic("i2").ip, "10.0.0.9")

    def test_refused_nics(self):
        """Full pools, unconnected networks and foreign addresses."""
        self.add_network("tiny", "10.9.0.0/30")
        job = self.create("i1", [{"network": "tiny", "ip": "pool"}])
        self.assertIn("not connected", job.ops[0].result[1][0])
        self.connect("tiny")
        self.assert_ok(self.create("i1", [{"network": "tiny", "ip": "pool"}]))
        self.assert_ok(self.create("i2", [{"network": "tiny", "ip": "pool"}]))
        serial = self.cfg.serial_no
        for nics, text in (
                ([{"network": "tiny", "ip": "pool"}], "it is full"),
                ([{"ip": "pool"}], "parameter network must be passed"),
                ([{"network": "nonet"}], "not found"),
                ([{"network": "net1", "mode": "routed"}], "no mode or link"),
                ([{"ip": "10.0.0.7"}], "belongs to network net1"),
                ([{"ip": "auto"}], "name checks have been skipped")):
            job = self.create("i3", nics)
            self.assertEqual(job.status, "error", nics)
            self.assertIn(text, job.ops[0].result[1][0])
        self.assertEqual(self.cfg.serial_no, serial)

    def test_modify_nics(self):
        """
        Adding a NIC in the network takes an address, removing it gives
        it back, and moving a NIC's address re-reserves it.
        """
        self.assert_ok(self.create("i1", [{}]))
        modify = {"instance_name": "i1"}
        self.assert_ok(self.run_op("OP_INSTANCE_SET_PARAMS", nics=[
            ["add", {"network": "net1", "ip": "pool"}]], **modify))
        self.assertEqual(self.nic("i1", 1).ip, "10.0.0.2")
        self.assert_ok(self.run_op("OP_INSTANCE_SET_PARAMS", nics=[
            [1, {"ip": "10.0.0.8"}]], **modify))
        self.assertEqual(self.pool().map, "XX......X......X")
        self.assert_ok(self.run_op("OP_INSTANCE_SET_PARAMS", nics=[
            [0, {"network": "net1", "ip": "pool"}]], **modify))
        self.assertEqual(self.nic("i1", 0).ip, "10.0.0.2")
        self.assertEqual(self.nic("i1", 0).nicparams["link"], "br0")
        self.assert_ok(self.run_op("OP_INSTANCE_SET_PARAMS", nics=[
            ["remove", {}]], **modify))
        self.assertEqual(self.pool().map, "XXX............X")
        self.assertEqual(pool_problems(self.cfg), [])

    def test_disconnect_refused_while_used(self):
        """A group's NICs keep their network connected."""
        self.assert_ok(self.create("i1", [{"network": "net1", "ip": "pool"}]))
        job = self.assert_unchanged("OP_NETWORK_DISCONNECT",
                                    "Conflicting IP addresses",
                                    network_name="net1", group_name="default")
        self.assertIn("i1: nic0/10.0.0.2", " ".join(
            str(m) for m in job.ops[0].log))

    def test_connect_conflicts(self):
        """A NIC outside the network using one of its addresses blocks it."""
        self.add_network("net2", "10.7.0.0/24")
        self.assert_ok(self.create("i1", [{"ip": "10.7.0.5"}]))
        self.assert_unchanged("OP_NETWORK_CONNECT", "Conflicting IP",
                              network_name="net2", group_name="default",
                              network_mode="bridged", network_link="br1")
        self.connect("net2", conflicts_check=False)

    def test_verify_finds_pool_mismatches(self):
        """
        ``gnt-cluster verify`` reports a NIC address its pool does not
        hold and a reservation no NIC has.
        """
        self.assert_ok(self.create("i1", [{"network": "net1", "ip": "pool"}]))
        net = self.net()
        self.master.config.update(lambda cfg: attrs.evolve(
            cfg, networks={net.uuid: attrs.evolve(
                net, reservations="0" * 5 + "1" + "0" * 10)}))
        problems = pool_problems(self.cfg)
        self.assertEqual(problems, [
            "instance i1 nic 0: IP 10.0.0.2 is not reserved in the pool of"
            " network net1",
            "network net1: IP 10.0.0.5 is reserved for an instance but no"
            " NIC uses it"])
        job = self.run_op("OP_CLUSTER_VERIFY_CONFIG")
        self.assertIn("10.0.0.5 is reserved for an instance", " ".join(
            str(m) for m in job.ops[0].log))

    def test_nodes_get_the_network(self):
        """
        What a node gets for a NIC names its network, so OS scripts see
        ``NIC_<n>_NETWORK_*`` (see tests.test_osdef).
        """
        from ganeti.params import node_instance_dict
        self.assert_ok(self.create("i1", [{"network": "net1", "ip": "pool"}]))
        nic, = node_instance_dict(self.cfg, self.cfg.instance_by_name("i1"))[
            "nics"]
        self.assertEqual((nic["ip"], nic["mode"], nic["link"]),
                         ("10.0.0.2", "bridged", "br0"))
        self.assertEqual(nic["netinfo"], {
            "name": "net1", "uuid": self.net().uuid, "network": "10.0.0.0/28",
            "gateway": "10.0.0.1", "network6": None, "gateway6": None,
            "mac_prefix": "aa:bb:cc", "tags": []})
