# -*- test-case-name: tests.test_network -*-
"""
The address pool of a network: which IPv4 addresses are given to NICs,
which are reserved outside Ganeti, and the next free one.

The pool lives in the L{ganeti.objects.Network} as two strings of
``0``/``1`` (Ganeti's format); an L{AddressPool} edits a mutable copy
and L{AddressPool.network} hands back the changed, frozen value for the
config writer.
"""

import ipaddress

import attrs

from ganeti import errors

#: The smallest (``/30``) and largest (``/16``) IPv4 networks Ganeti pools.
MIN_PREFIX = 30
MAX_PREFIX = 16


def parse_network(value):
    """
    :return: the L{ipaddress.IPv4Network} of a ``--network`` value.
    :raise OpPrereqError: for a malformed, IPv6, too small or too big one.
    """
    try:
        net = ipaddress.IPv4Network(value)
    except (ValueError, TypeError):
        raise errors.OpPrereqError("Invalid IPv4 network '%s'" % (value,),
                                   "wrong_input")
    if net.prefixlen < MAX_PREFIX:
        raise errors.OpPrereqError(
            "A big network with %d host(s) is currently not supported."
            " please specify at most a /%d network"
            % (net.num_addresses, MAX_PREFIX), "wrong_input")
    if net.prefixlen > MIN_PREFIX:
        raise errors.OpPrereqError(
            "A network with only %d host(s) is too small, please specify at"
            " least a /%d network" % (net.num_addresses, MIN_PREFIX),
            "wrong_input")
    return net


def parse_network6(value):
    """:return: the L{ipaddress.IPv6Network} of ``--network6``."""
    try:
        return ipaddress.IPv6Network(value)
    except (ValueError, TypeError):
        raise errors.OpPrereqError("Invalid IPv6 network '%s'" % (value,),
                                   "wrong_input")


def parse_address(value, version=4):
    """:return: the address C{value}; :raise OpPrereqError: if malformed."""
    kind = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    try:
        return kind(value)
    except (ValueError, TypeError):
        raise errors.OpPrereqError("Invalid IPv%d address '%s'"
                                   % (version, value), "wrong_input")


class AddressPool:
    """
    The pool of one network (IPv4 only, as in Ganeti).

    :ivar net: the L{ipaddress.IPv4Network}.
    """

    def __init__(self, network):
        self._network = network
        self.net = ipaddress.IPv4Network(network.network)
        size = self.net.num_addresses
        self._mine = self._bits(network.reservations, size)
        self._external = self._bits(network.ext_reservations, size)

    @staticmethod
    def _bits(text, size):
        if not text:
            return bytearray(size)
        if len(text) != size:
            raise errors.ConfigurationError(
                "Reservation map of %d addresses for a network of %d"
                % (len(text), size))
        return bytearray(c == "1" for c in text)

    @classmethod
    def new(cls, network):
        """
        :return: the pool of a new network, with its network and
            broadcast addresses and its gateway reserved externally.
        """
        pool = cls(attrs.evolve(network, reservations="",
                                ext_reservations=""))
        pool.reserve(pool.net.network_address, external=True)
        pool.reserve(pool.net.broadcast_address, external=True)
        if network.gateway:
            pool.reserve(network.gateway, external=True)
        return pool

    @property
    def network(self):
        """:return: the L{ganeti.objects.Network} with this pool."""
        return attrs.evolve(
            self._network,
            reservations="".join("1" if b else "0" for b in self._mine),
            ext_reservations="".join("1" if b else "0"
                                     for b in self._external))

    def contains(self, address):
        """:return: whether C{address} (a string or None) is in the network."""
        if address is None:
            return False
        try:
            return ipaddress.ip_address(address) in self.net
        except ValueError:
            return False

    def _index(self, address):
        addr = ipaddress.ip_address(address)
        if addr not in self.net:
            raise errors.AddressPoolError("%s does not contain %s"
                                          % (self.net, addr))
        return int(addr) - int(self.net.network_address)

    def is_reserved(self, address, external=False):
        """:return: whether C{address} is reserved (by a NIC, or outside)."""
        bits = self._external if external else self._mine
        return bool(bits[self._index(address)])

    def reserve(self, address, external=False):
        """
        Mark C{address} used.

        :raise AddressPoolError: if it is already, or not in the network.
        """
        if self.is_reserved(address, external):
            raise errors.AddressPoolError(
                "IP %s is already externally reserved" % address if external
                else "IP %s is already used by an instance" % address)
        (self._external if external else self._mine)[
            self._index(address)] = 1

    def release(self, address, external=False):
        """
        Give C{address} back.

        :raise AddressPoolError: if it was not reserved that way.
        """
        if not self.is_reserved(address, external):
            raise errors.AddressPoolError(
                "IP %s is not externally reserved" % address if external
                else "IP %s is not used by an instance" % address)
        (self._external if external else self._mine)[
            self._index(address)] = 0

    def _combined(self):
        return [a or b for a, b in zip(self._mine, self._external)]

    def take_free(self):
        """
        :return: the lowest free address, now reserved for a NIC.
        :raise AddressPoolError: if the network is full.
        """
        for index, used in enumerate(self._combined()):
            if not used:
                self._mine[index] = 1
                return str(self.net[index])
        raise errors.AddressPoolError("%s is full" % self.net)

    @property
    def free_count(self):
        return self._combined().count(False)

    @property
    def reserved_count(self):
        return self._combined().count(True)

    @property
    def map(self):
        """One character per address: ``X`` reserved, ``.`` free."""
        return "".join("X" if used else "." for used in self._combined())

    @property
    def external_reservations(self):
        """:return: the externally reserved addresses, in order."""
        return [str(self.net[i]) for i, b in enumerate(self._external) if b]


class PendingAddresses:
    """
    Addresses chosen by opcodes still running, not yet in the config.

    Ganeti's temporary reservations: an instance creation picks its pool
    address when it checks its prerequisites and records it only at the
    end, so a second creation running meanwhile must not pick the same
    one.  The job runner drops an opcode's holds when it ends.
    """

    def __init__(self):
        self._held = {}

    def hold(self, owner, network_uuid, address):
        """Keep C{address} of C{network_uuid} for C{owner}."""
        self._held.setdefault(owner, set()).add((network_uuid, address))

    def held(self, network_uuid, but=None):
        """:return: the addresses of C{network_uuid} held by others than C{but}."""
        return {address for owner, holds in self._held.items()
                if owner is not but
                for net, address in holds if net == network_uuid}

    def drop(self, owner):
        """Forget what C{owner} held."""
        self._held.pop(owner, None)
