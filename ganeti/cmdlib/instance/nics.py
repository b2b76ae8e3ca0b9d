# -*- test-case-name: tests.test_cmdlib_network -*-
"""
NICs in networks: the parameters a NIC takes from its network's
connection to the primary node's group, its address from the pool
(``ip=pool``) or checked against it, and the pools' reservations kept in
step with the NICs when instances are created, changed or removed.

An address is chosen while prerequisites are checked, held in the
master's L{ganeti.network.PendingAddresses} until the opcode ends, and
reserved in the pool in the same config update that records the NIC.
"""

import attrs

from ganeti import errors
from ganeti.cmdlib.network import get_network
from ganeti.network import AddressPool

#: The ``ip`` of a NIC that asks for an address from its network's pool.
IP_POOL = "pool"


def spec_network(cfg, spec):
    """
    :return: the L{ganeti.objects.Network} a ``--net`` specification
        names (``network=NAME``), or None.
    :raise OpPrereqError: if it names none, or gives a mode or link too.
    """
    name = spec.get("network")
    if name in (None, "", "none"):
        return None
    net = get_network(cfg, name)
    if spec.get("mode") is not None or spec.get("link") is not None:
        raise errors.OpPrereqError("If network is given, no mode or link"
                                   " is allowed to be passed", "wrong_input")
    return net


def _addresses(nics):
    return {(nic.network, nic.ip) for nic in nics if nic.network and nic.ip}


def place_nics(lu, nics, node, conflicts_check=True):
    """
    Settle NICs on C{node}: those in a network get the mode, link and
    VLAN of its connection to the node's group and an address from (or
    checked against) its pool, held for C{lu}; the others' addresses
    must not belong to a network of that group (with C{conflicts_check}).

    :param nics: the L{ganeti.objects.NIC}s; an ``ip`` of ``pool`` asks
        for a free address.
    :return: the NICs, settled.
    :raise OpPrereqError: for a network not connected to the group, a
        full pool, an address taken or outside the network.
    """
    cfg = lu.cfg
    group = cfg.nodegroups[node.group]
    settled = []
    for index, nic in enumerate(nics):
        if nic.network is None:
            if nic.ip == IP_POOL:
                raise errors.OpPrereqError("if ip=pool, parameter network"
                                           " must be passed", "wrong_input")
            if conflicts_check and nic.ip:
                _check_foreign_ip(cfg, group, nic.ip)
            settled.append(nic)
            continue
        net = cfg.networks[nic.network]
        params = group.networks.get(net.uuid)
        if params is None:
            raise errors.OpPrereqError(
                "No netparams found for network %s. Probably not connected"
                " to node's %s nodegroup" % (net.name, node.name),
                "wrong_input")
        nicparams = {"mode": params["mode"], "link": params["link"]}
        if params.get("vlan"):
            nicparams["vlan"] = params["vlan"]
        ip = _settle_ip(lu, net, index, nic.ip, conflicts_check)
        settled.append(attrs.evolve(nic, ip=ip, nicparams=nicparams))
    return settled


def _settle_ip(lu, net, index, ip, conflicts_check):
    pool = AddressPool(net)
    held = lu.ctx.addresses.held(net.uuid, but=lu)
    if ip == IP_POOL:
        for _ in range(pool.free_count):
            candidate = pool.take_free()
            if candidate not in held:
                lu.ctx.addresses.hold(lu, net.uuid, candidate)
                lu.log_info("Chose IP %s from network %s"
                            % (candidate, net.name))
                return candidate
        raise errors.OpPrereqError("Unable to get a free IP for NIC %d from"
                                   " network '%s': it is full"
                                   % (index, net.name), "insufficient_resources")
    if ip is None:
        return None
    taken = (not pool.contains(ip)
             or (conflicts_check and (pool.is_reserved(ip)
                                      or pool.is_reserved(ip, external=True)
                                      or ip in held)))
    if taken:
        raise errors.OpPrereqError("IP address %s already in use or does not"
                                   " belong to network %s" % (ip, net.name),
                                   "not_unique")
    lu.ctx.addresses.hold(lu, net.uuid, ip)
    return ip


def _check_foreign_ip(cfg, group, ip):
    """A NIC outside networks may not use an address of one of the group's."""
    for uuid in group.networks:
        net = cfg.networks.get(uuid)
        if net is not None and AddressPool(net).contains(ip):
            raise errors.OpPrereqError(
                "The requested IP address (%s) belongs to network %s, but"
                " the target NIC does not." % (ip, net.name), "wrong_state")


def claim_addresses(cfg, old_nics, new_nics, check=True):
    """
    The pools after NICs changed from C{old_nics} to C{new_nics} (one
    instance's, or none for a new or removed instance): addresses no
    longer used are released, new ones reserved.  Called inside the
    config update that records the NICs, so it sees every other change.

    :param check: refuse an address reserved meanwhile (False: Ganeti's
        ``--no-conflicts-check``, the address is recorded as it is).
    :return: the new C{networks} map of the config.
    :raise OpExecError: if an address was taken meanwhile.
    """
    old, new = _addresses(old_nics), _addresses(new_nics)
    pools = {}

    def pool(uuid):
        if uuid not in pools:
            pools[uuid] = AddressPool(cfg.networks[uuid])
        return pools[uuid]

    for uuid, ip in sorted(old - new):
        if uuid in cfg.networks and pool(uuid).contains(ip) \
                and pool(uuid).is_reserved(ip):
            pool(uuid).release(ip)
    for uuid, ip in sorted(new - old):
        if uuid not in cfg.networks:
            raise errors.OpExecError("Network %s was removed meanwhile"
                                     % uuid)
        if pool(uuid).is_reserved(ip):
            if check:
                raise errors.OpExecError(
                    "IP %s of network %s was taken meanwhile"
                    % (ip, cfg.networks[uuid].name))
            continue
        pool(uuid).reserve(ip)
    if not pools:
        return cfg.networks
    return dict(cfg.networks, **{u: p.network for u, p in pools.items()})
