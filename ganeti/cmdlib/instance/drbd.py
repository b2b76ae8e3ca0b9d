# -*- test-case-name: tests.test_cmdlib_drbd -*-
"""
What the master decides for a ``drbd`` disk: its minors on both nodes, its
TCP port, its shared secret and its two volumes; and the waiting for a
mirror to be in sync.

Minors and ports are computed from the configuration: every unit that
creates or moves a ``drbd`` disk holds the locks of the nodes involved,
so no other job hands out a minor on those nodes meanwhile.  Ports are
cluster-wide, so their claim is checked again in the config update that
records the disk.
"""

import secrets

import attrs
from twisted.internet.defer import inlineCallbacks, returnValue
from twisted.internet.task import deferLater

from ganeti import errors
from ganeti.cmdlib.common import call_node
from ganeti.cmdlib.instance.base import new_uuid
from ganeti.disk_templates import (
    DRBD_META_SIZE, DT_DRBD, DT_PLAIN, FIRST_DRBD_PORT, LAST_DRBD_PORT,
    drbd_children_ids)
from ganeti.objects import Disk
from ganeti.params import annotated_disk, instance_disks, secondary_nodes

#: Seconds between two looks at a resync's progress.
SYNC_POLL_INTERVAL = 2.0
#: Polls a degraded mirror that makes no progress is given before the
#: wait gives up (Ganeti's ten tries).
SYNC_DEGRADED_TRIES = 10


def drbd_disks(cfg):
    """:return: every ``drbd`` disk of the configuration."""
    return [d for d in cfg.disks.values() if d.dev_type == DT_DRBD]


def used_minors(cfg, node_uuid):
    """:return: the minors the configuration gives to C{node_uuid}."""
    used = set()
    for disk in drbd_disks(cfg):
        node_a, node_b, _, minor_a, minor_b, _ = disk.logical_id
        if node_a == node_uuid:
            used.add(minor_a)
        if node_b == node_uuid:
            used.add(minor_b)
    return used


def primary_minor(disk, node_uuid):
    """:return: the minor of ``drbd`` disk C{disk} on C{node_uuid}."""
    node_a, _, _, minor_a, minor_b, _ = disk.logical_id
    return minor_a if node_a == node_uuid else minor_b


def used_ports(cfg):
    """:return: every port the configuration hands to a disk or console."""
    ports = {disk.logical_id[2] for disk in drbd_disks(cfg)}
    ports.update(i.network_port for i in cfg.instances.values()
                 if i.network_port)
    return ports


class Allocation:
    """
    Minors and ports handed out by one operation, so that several new
    disks of it do not get the same ones.
    """

    def __init__(self, cfg):
        self._cfg = cfg
        self._minors = {}
        self._ports = set()

    def minor(self, node_uuid):
        """:return: the lowest minor free on C{node_uuid}."""
        taken = self._minors.setdefault(node_uuid,
                                        used_minors(self._cfg, node_uuid))
        minor = 0
        while minor in taken:
            minor += 1
        taken.add(minor)
        return minor

    def port(self):
        """
        :return: a port from the cluster's ``tcpudp_port_pool``, else the
            one after the highest used (as Ganeti's C{AllocatePort}).
        :raise OpPrereqError: when the DRBD port range is exhausted.
        """
        cluster = self._cfg.cluster
        taken = used_ports(self._cfg) | self._ports
        for port in sorted(cluster.tcpudp_port_pool):
            if port not in taken:
                self._ports.add(port)
                return port
        port = max([cluster.highest_used_port, FIRST_DRBD_PORT - 1]
                   + list(taken)) + 1
        if port > LAST_DRBD_PORT:
            raise errors.OpPrereqError(
                "The highest port reached %d: no free DRBD port left"
                % LAST_DRBD_PORT, "insufficient_resources")
        self._ports.add(port)
        return port


def new_secret():
    """:return: a fresh shared secret for one disk's replication link."""
    return secrets.token_hex(20)


def drbd_disk(allocation, plain, pnode_uuid, snode_uuid, meta_vg=None):
    """
    Turn a new ``plain`` disk into a ``drbd`` disk of the same size whose
    data volume it becomes, with a metadata volume beside it.

    :param plain: the L{Disk} built for the ``plain`` template (its
        C{logical_id} names the data volume's VG and base name).
    :param meta_vg: the metadata volume's VG (the ``metavg`` disk
        parameter; by default the data's).
    :return: the new L{Disk}.
    """
    vg, name = plain.logical_id
    data_id, meta_id = drbd_children_ids(vg, meta_vg, name)
    nodes = [pnode_uuid, snode_uuid]
    data = attrs.evolve(plain, uuid=new_uuid(), logical_id=data_id,
                        iv_name="", name=None, nodes=nodes)
    meta = Disk(uuid=new_uuid(), dev_type=DT_PLAIN, size=DRBD_META_SIZE,
                mode="rw", logical_id=meta_id, nodes=nodes)
    logical_id = [pnode_uuid, snode_uuid, allocation.port(),
                  allocation.minor(pnode_uuid), allocation.minor(snode_uuid),
                  new_secret()]
    return attrs.evolve(plain, dev_type=DT_DRBD, logical_id=logical_id,
                        children=[data, meta], nodes=nodes, spindles=None)


def claim_ports(cfg, disks):
    """
    The cluster as it is once C{disks} are recorded: their ports out of
    the pool and C{highest_used_port} raised.

    :raise OpExecError: if another job took one of the ports meanwhile.
    """
    ports = [d.logical_id[2] for d in disks if d.dev_type == DT_DRBD]
    clash = sorted(set(ports) & used_ports(cfg))
    if clash:
        raise errors.OpExecError("Port %s was taken meanwhile"
                                 % ", ".join(map(str, clash)))
    cluster = cfg.cluster
    if not ports:
        return cluster
    pool = [p for p in cluster.tcpudp_port_pool if p not in ports]
    return attrs.evolve(cluster, tcpudp_port_pool=pool,
                        highest_used_port=max([cluster.highest_used_port]
                                              + ports))


def _describe(iv_name, status):
    if status["sync_percent"] is None:
        return None
    eta = status["estimated_time"]
    return ("- device %s: %5.2f%% done, %s" % (
        iv_name, status["sync_percent"],
        "no time estimate" if eta is None
        else "%ds remaining (estimated)" % eta))


@inlineCallbacks
def wait_for_sync(lu, instance, node=None, oneshot=False, cfg=None):
    """
    Wait until the mirrors of C{instance} are in sync, logging each
    disk's progress and estimate as Ganeti's C{WaitForSync} does.

    :param node: the node asked (by default the primary).
    :param oneshot: look once and report, do not wait.
    :param cfg: the configuration describing the instance (by default
        the unit's; a change not yet recorded passes its own).
    :return: (Deferred) C{True} if no disk is degraded at the end.
    """
    cfg = cfg or lu.cfg
    node = node or cfg.nodes[instance.primary_node]
    disks = [d for d in instance_disks(cfg, instance)
             if d.dev_type == DT_DRBD]
    if not disks:
        returnValue(True)
    if not oneshot:
        lu.feedback("* Waiting for instance %s to sync disks" % instance.name)
    tries = 0
    while True:
        statuses = yield call_node(
            lu.ctx, node, "drbd_status",
            [annotated_disk(cfg, d, node) for d in disks],
            what="Can't get the mirror status")
        syncing = degraded = False
        for disk, status in zip(disks, statuses):
            line = _describe(disk.iv_name, status)
            if line is not None:
                syncing = True
                lu.feedback(line)
            elif status["is_degraded"]:
                degraded = True
            elif status.get("peer_disk") == "Inconsistent":
                # Connected, but the resync has not shown progress yet:
                # not in sync either, for a few polls.
                tries += 1
                if tries <= SYNC_DEGRADED_TRIES:
                    syncing = True
                else:
                    degraded = True
        if oneshot or not syncing:
            if degraded and not oneshot and tries < SYNC_DEGRADED_TRIES:
                # A mirror just connected may need a moment to say how
                # far behind it is.
                tries += 1
                yield deferLater(lu.ctx.reactor, SYNC_POLL_INTERVAL,
                                 lambda: None)
                continue
            break
        yield deferLater(lu.ctx.reactor, SYNC_POLL_INTERVAL, lambda: None)
    if not oneshot:
        lu.feedback("* Instance %s's disks are %s." % (
            instance.name, "degraded" if degraded else "in sync"))
    returnValue(not degraded)


@inlineCallbacks
def first_sync(lu, instance, new_disks, wait=True, cfg=None):
    """
    Bring new mirrors of C{instance} up (a new instance's, added disks,
    a conversion's): the secondary's side, then the primary's, forced
    primary (neither side has good data yet, so DRBD would refuse), then
    wait for the first resync unless C{wait} is false; not waiting, the
    disks must at least not be degraded (Ganeti's one look).

    :param new_disks: the new ``drbd`` L{Disk}s.
    :param cfg: the configuration holding them (by default the unit's).
    :raise OpExecError: if waiting ended with degraded disks.
    """
    cfg = cfg or lu.cfg
    pnode = cfg.nodes[instance.primary_node]
    for uuid in secondary_nodes(cfg, instance) + [pnode.uuid]:
        node = cfg.nodes[uuid]
        yield call_node(lu.ctx, node, "blockdev_assemble_all",
                        [annotated_disk(cfg, d, node) for d in new_disks],
                        instance.name, False,
                        what="Could not assemble the disks")
    yield call_node(lu.ctx, pnode, "drbd_open",
                    [annotated_disk(cfg, d, pnode) for d in new_disks], True,
                    what="Could not make the disks primary")
    in_sync = yield wait_for_sync(lu, instance, oneshot=not wait, cfg=cfg)
    if not in_sync and wait:
        raise errors.OpExecError("There are some degraded disks for this"
                                 " instance")
