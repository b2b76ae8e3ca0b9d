"""
Tests for L{ganeti.network}: a network's address pool in Ganeti's
bitmap format.
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors
from ganeti.network import AddressPool, PendingAddresses, parse_network
from ganeti.objects import Network


def _network(**kwargs):
    kwargs.setdefault("network", "10.0.0.0/29")
    return Network(name="net1", uuid="net-uuid", **kwargs)


class AddressPoolTests(SynchronousTestCase):
    def test_new_network(self):
        """
        A new pool reserves the network, broadcast and gateway addresses
        outside Ganeti, one character per address, as Ganeti stores it.
        """
        pool = AddressPool.new(_network(gateway="10.0.0.1"))
        net = pool.network
        self.assertEqual(net.ext_reservations, "11000001")
        self.assertEqual(net.reservations, "00000000")
        self.assertEqual(pool.map, "XX.....X")
        self.assertEqual((pool.free_count, pool.reserved_count), (5, 3))
        self.assertEqual(pool.external_reservations,
                         ["10.0.0.0", "10.0.0.1", "10.0.0.7"])

    def test_take_and_release(self):
        """Free addresses go out lowest first and come back."""
        pool = AddressPool.new(_network(gateway="10.0.0.1"))
        self.assertEqual([pool.take_free() for _ in range(5)],
                         ["10.0.0.%d" % i for i in range(2, 7)])
        self.assertRaises(errors.AddressPoolError, pool.take_free)
        pool.release("10.0.0.4")
        reloaded = AddressPool(pool.network)
        self.assertEqual(reloaded.map, "XXXX.XXX")
        self.assertEqual(reloaded.take_free(), "10.0.0.4")

    def test_refusals(self):
        """Double reservations, foreign addresses and bad maps are refused."""
        pool = AddressPool.new(_network())
        pool.reserve("10.0.0.3")
        self.assertRaises(errors.AddressPoolError, pool.reserve, "10.0.0.3")
        self.assertRaises(errors.AddressPoolError, pool.release, "10.0.0.4")
        self.assertRaises(errors.AddressPoolError, pool.reserve, "10.1.0.3")
        self.assertRaises(errors.AddressPoolError, pool.release, "10.0.0.0")
        self.assertFalse(pool.contains("10.1.0.3"))
        self.assertFalse(pool.contains("not an ip"))
        self.assertRaises(errors.ConfigurationError, AddressPool,
                          _network(reservations="0101"))

    def test_sizes(self):
        """Ganeti's bounds: /16 to /30, IPv4 only."""
        for bad in ("10.0.0.0/15", "10.0.0.0/31", "fe80::/64", "10.0.0.1/24",
                    "nonsense"):
            self.assertRaises(errors.OpPrereqError, parse_network, bad)
        self.assertEqual(parse_network("10.0.0.0/16").num_addresses, 65536)


class PendingAddressesTests(SynchronousTestCase):
    def test_holds(self):
        """An owner sees the others' holds, not its own, until dropped."""
        pending, a, b = PendingAddresses(), object(), object()
        pending.hold(a, "n1", "10.0.0.2")
        pending.hold(b, "n1", "10.0.0.3")
        pending.hold(b, "n2", "10.0.0.4")
        self.assertEqual(pending.held("n1", but=a), {"10.0.0.3"})
        self.assertEqual(pending.held("n1"), {"10.0.0.2", "10.0.0.3"})
        pending.drop(b)
        self.assertEqual(pending.held("n1", but=a), set())
        self.assertEqual(pending.held("n2"), set())
