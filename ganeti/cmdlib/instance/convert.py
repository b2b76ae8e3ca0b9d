# -*- test-case-name: tests.test_cmdlib_drbd -*-
"""
``gnt-instance modify -t``: an instance's disks changed between ``plain``
and ``drbd`` in place, keeping their data, as Ganeti's
C{_ConvertPlainToDrbd} and C{_ConvertDrbdToPlain} do.

To ``drbd``: the secondary gets data and metadata volumes, the primary a
metadata volume beside its existing one, which is renamed to be the
mirror's data volume; the mirror is brought up with the primary's side
as the good one and synced to the secondary.  To ``plain``: the mirrors
go down, the primary's data volumes become the disks, everything else
is removed and the ports return to the cluster's pool.  The disks keep
their uuids, names and sizes; the configuration changes in one update.
"""

import attrs
from twisted.internet.defer import inlineCallbacks

from ganeti import errors, iallocator
from ganeti.cmdlib.common import call_node, get_node
from ganeti.cmdlib.instance import drbd as drbdmod
from ganeti.cmdlib.instance.moves import NO_TARGET_MESSAGE
from ganeti.cmdlib.instance.base import (
    check_usable_node, new_uuid, release_ports, wrong_input)
from ganeti.disk_templates import DT_DRBD, DT_PLAIN
from ganeti.objects import Disk
from ganeti.params import annotated_disk, disk_params, instance_disks

#: The conversions there are (Ganeti 3.0 has these two and some to and
#: from the file templates, which need no second node).
CONVERSIONS = {(DT_PLAIN, DT_DRBD), (DT_DRBD, DT_PLAIN)}


def check_conversion(lu, template, remote_node, other_changes):
    """
    :return: the new secondary L{Node} for a conversion to ``drbd``,
        else C{None}.
    :raise OpPrereqError: for a conversion that cannot be done.
    """
    instance = lu.instance
    if other_changes:
        raise wrong_input("Disk template conversion and other disk changes"
                          " not supported at the same time")
    if template == instance.disk_template:
        raise wrong_input("Instance already has disk template %s" % template)
    if template not in lu.cfg.cluster.enabled_disk_templates:
        raise wrong_input("Disk template '%s' is not enabled for this"
                          " cluster" % template)
    if (instance.disk_template, template) not in CONVERSIONS:
        raise wrong_input("Unsupported disk template conversion from %s to %s"
                          % (instance.disk_template, template))
    if template != DT_DRBD:
        return None
    if not remote_node:
        if not iallocator.choose(lu.cfg.cluster, lu.op["iallocator"]):
            raise wrong_input(NO_TARGET_MESSAGE)
        # Ganeti asks its allocator's allocate-secondary mode, which the
        # allocator protocol here does not have yet.
        raise wrong_input("Choosing the new secondary node with an"
                          " iallocator is not supported, please give it"
                          " with -n")
    snode = get_node(lu.cfg, remote_node)
    if snode.uuid == instance.primary_node:
        raise wrong_input("Given new secondary node %s is the same as the"
                          " primary node of the instance" % snode.name)
    check_usable_node(snode)
    return snode


@inlineCallbacks
def plain_to_drbd(lu, snode, wait):
    """Mirror the instance's ``plain`` disks onto C{snode}."""
    lu.feedback("Converting disk template from 'plain' to 'drbd'")
    cfg, instance, pnode = lu.cfg, lu.instance, lu.pnode
    allocation = drbdmod.Allocation(cfg)
    meta_vg = disk_params(cfg, DT_DRBD, pnode)["metavg"]
    old = instance_disks(cfg, instance)
    new = [drbdmod.drbd_disk(allocation, attrs.evolve(disk, logical_id=[
        disk.logical_id[0], "%s.disk%d" % (new_uuid(), index)]),
        pnode.uuid, snode.uuid, meta_vg) for index, disk in enumerate(old)]
    from ganeti.cmdlib.instance.create import check_vg_space
    yield check_vg_space(lu.ctx, snode, False,
                         [c for d in new for c in d.children])
    yield check_vg_space(lu.ctx, pnode, False, [d.children[1] for d in new])
    lu.feedback("Creating additional volumes...")
    created, renamed = [], []
    try:
        for disk in new:
            created.append((snode, disk))
            yield call_node(lu.ctx, snode, "blockdev_create",
                            annotated_disk(cfg, disk, snode), instance.name,
                            False, what="Could not create the volumes")
        lu.feedback("Renaming original volumes...")
        for plain, disk in zip(old, new):
            yield call_node(lu.ctx, pnode, "blockdev_rename",
                            [[annotated_disk(cfg, plain, pnode),
                              disk.children[0].logical_id]],
                            what="Failed to rename the original volumes")
            renamed.append((plain, disk))
        lu.feedback("Initializing DRBD devices...")
        for disk in new:
            created.append((pnode, _meta_only(disk)))
            yield call_node(lu.ctx, pnode, "blockdev_create",
                            annotated_disk(cfg, disk, pnode), instance.name,
                            False, what="Could not create the DRBD device")
    except errors.GenericError:
        yield _undo_plain_to_drbd(lu, created, renamed)
        raise

    _record(lu, DT_DRBD, new, lambda c: drbdmod.claim_ports(c, new))
    yield drbdmod.first_sync(lu, lu.instance, new, wait)
    if wait:
        yield lu.shutdown_disks(ignore_failures=True)
    else:
        # The resync goes on in the background, on active disks.
        lu.update_instance(disks_active=True)


def _record(lu, template, disks, cluster):
    """
    The conversion in one config update: the instance's new template,
    its converted disks and C{cluster(config)}, the cluster's ports.
    """
    uuid = lu.instance.uuid

    def change(c):
        instances = dict(c.instances)
        instances[uuid] = attrs.evolve(c.instances[uuid],
                                       disk_template=template)
        return attrs.evolve(c, disks=dict(c.disks, **{d.uuid: d
                                                      for d in disks}),
                            instances=instances, cluster=cluster(c))
    lu.ctx.config.update(change)


def _meta_only(disk):
    """The part of a new mirror to remove on the primary: its metadata."""
    return Disk(uuid=new_uuid(), dev_type=DT_PLAIN, size=disk.children[1].size,
                logical_id=disk.children[1].logical_id)


@inlineCallbacks
def _undo_plain_to_drbd(lu, created, renamed):
    """Put the original volumes back; failures are warnings."""
    cfg, pnode = lu.cfg, lu.pnode
    steps = [(node, "blockdev_remove", [annotated_disk(cfg, disk, node)])
             for node, disk in created]
    steps += [(pnode, "blockdev_rename", [[[annotated_disk(
        cfg, attrs.evolve(plain, logical_id=disk.children[0].logical_id),
        pnode), plain.logical_id]]]) for plain, disk in renamed]
    for node, method, args in steps:
        try:
            yield call_node(lu.ctx, node, method, *args,
                            what="Could not roll back the conversion")
        except errors.GenericError as e:
            lu.log_warning(str(e))


@inlineCallbacks
def drbd_to_plain(lu):
    """Keep the primary's data volumes as the instance's disks."""
    cfg, instance, pnode = lu.cfg, lu.instance, lu.pnode
    snodes = lu.snodes
    lu.feedback("Converting disk template from 'drbd' to 'plain'")
    old = instance_disks(cfg, instance)
    yield lu.shutdown_disks(ignore_failures=True)
    new = [attrs.evolve(disk, dev_type=DT_PLAIN, children=[],
                        logical_id=list(disk.children[0].logical_id),
                        nodes=[pnode.uuid], params={})
           for disk in old]
    ports = [disk.logical_id[2] for disk in old]

    _record(lu, DT_PLAIN, new, lambda c: release_ports(c.cluster, ports))
    lu.feedback("Removing volumes on the secondary node...")
    for node in snodes:
        for disk in old:
            yield _remove(lu, node, annotated_disk(cfg, disk, node))
    lu.feedback("Removing unneeded volumes on the primary node...")
    for disk in old:
        yield _remove(lu, pnode, annotated_disk(cfg, _meta_only(disk), pnode))


@inlineCallbacks
def _remove(lu, node, disk):
    try:
        yield call_node(lu.ctx, node, "blockdev_remove", disk,
                        what="Could not remove volumes")
    except errors.GenericError as e:
        lu.log_warning("%s; please remove them manually" % e)
