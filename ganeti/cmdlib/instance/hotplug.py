# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
Hotplug for ``gnt-instance modify`` (Ganeti's ``hotplug`` and
``hotplug_if_possible``): the disk and NIC changes the logical unit
planned are made on the running instance, device by device, through the
primary node's ``hotplug_device``.

The steps come from comparing the instance's devices before and after
(by uuid), in an order that frees before it adds: removals, NIC
replacements, additions.  A failed step undoes the done ones in reverse,
so the instance keeps the devices the unchanged config says it has.
"""

import attrs
from twisted.internet.defer import inlineCallbacks

from ganeti import errors
from ganeti.cmdlib.common import call_node
from ganeti.params import annotated_disk, instance_disks, node_instance_dict

#: What undoes each action (a replaced NIC is replaced back).
_UNDO = {"add": "remove", "remove": "add", "modify": "modify"}


@attrs.frozen
class HotplugStep:
    """
    One ``hotplug_device`` call.

    :ivar device: the disk dict, or the NIC as the node sees it.
    :ivar seq: the device's index among the instance's disks or NICs.
    :ivar old: for a NIC replacement, the NIC it replaces.
    """

    action: str
    dev_type: str
    device: dict
    seq: int
    old: dict = None

    def undo(self):
        """:return: the step that reverts this one."""
        if self.action == "modify":
            return attrs.evolve(self, device=self.old, old=self.device)
        return attrs.evolve(self, action=_UNDO[self.action])


@inlineCallbacks
def check_hotplug(lu, device_changes):
    """
    Decide whether the disk and NIC changes of C{lu} are hotplugged.

    :param device_changes: whether any disk or NIC changes are asked for.
    :return: (Deferred) C{False} for an instance that is not running (the
        changes take effect at its next start), C{True} for one that is
        and supports hotplug.
    :raise OpPrereqError: for a running instance that cannot take them:
        hotplug not asked for, or not possible (after a warning, with
        ``hotplug_if_possible``).
    """
    if not device_changes:
        return False
    running = yield lu.is_running()
    if not running:
        return False
    if lu.op["hotplug"] or lu.op["hotplug_if_possible"]:
        try:
            yield call_node(lu.ctx, lu.pnode, "hotplug_supported",
                            lu.node_instance(),
                            what="Hotplug is not possible", prereq=True)
            return True
        except errors.OpPrereqError as e:
            if not lu.op["hotplug_if_possible"]:
                raise
            lu.log_warning(str(e))
    raise errors.OpPrereqError(
        "Instance %s is running; disk and NIC changes need it stopped or"
        " hotplugged" % lu.instance.name, "wrong_state")


def _node_nics(cfg, instance, nics):
    return node_instance_dict(cfg, attrs.evolve(instance, nics=nics))["nics"]


def plan_hotplug(cfg, instance, disks, nics):
    """
    :param disks: the instance's disks after the change.
    :param nics: its NICs after the change.
    :return: the L{HotplugStep}s that turn the running instance's devices
        into these (disk mode and name changes need none).
    """
    old_disks = instance_disks(cfg, instance)
    pnode = cfg.nodes[instance.primary_node]

    def device(disk):
        # As the primary node needs it (a mirror's side there).
        return annotated_disk(cfg, disk, pnode)
    old_nics = _node_nics(cfg, instance, instance.nics)
    new_nics = _node_nics(cfg, instance, nics)
    kept_disks = {d.uuid for d in disks}
    had_disks = {d.uuid for d in old_disks}
    kept_nics = {n["uuid"] for n in new_nics}
    had_nics = {n["uuid"]: n for n in old_nics}
    steps = [HotplugStep("remove", "disk", device(d), seq)
             for seq, d in enumerate(old_disks) if d.uuid not in kept_disks]
    steps += [HotplugStep("remove", "nic", n, seq)
              for seq, n in enumerate(old_nics) if n["uuid"] not in kept_nics]
    steps += [HotplugStep("modify", "nic", n, seq, had_nics[n["uuid"]])
              for seq, n in enumerate(new_nics)
              if n["uuid"] in had_nics and _differs(n, had_nics[n["uuid"]])]
    steps += [HotplugStep("add", "disk", device(d), seq)
              for seq, d in enumerate(disks) if d.uuid not in had_disks]
    steps += [HotplugStep("add", "nic", n, seq)
              for seq, n in enumerate(new_nics) if n["uuid"] not in had_nics]
    return steps


def _differs(nic, old):
    """Whether the guest would see a change (a new name it would not)."""
    return dict(nic, name=None) != dict(old, name=None)


@inlineCallbacks
def _run(lu, step):
    """
    Make one step on the primary node; a disk being added is assembled
    there first, for its path.
    """
    extra = None
    if step.dev_type == "disk" and step.action == "add":
        [assembled] = yield call_node(
            lu.ctx, lu.pnode, "blockdev_assemble_all", [step.device],
            lu.instance.name, what="Could not assemble disk for hotplug")
        extra = assembled["path"]
    lu.log_info("Trying to hotplug device (%s %s %d)..."
                % (step.action, step.dev_type, step.seq))
    yield call_node(lu.ctx, lu.pnode, "hotplug_device", lu.node_instance(),
                    step.action, step.dev_type, step.device, extra, step.seq,
                    what="Could not hotplug device")
    lu.log_info("Hotplug done.")


@inlineCallbacks
def apply_hotplug(lu, steps):
    """
    Make the steps in order; after a failure undo the done ones (a failed
    undo is only warned about) and re-raise.

    :raise OpExecError: (through the Deferred) from the failed step.
    """
    done = []
    try:
        for step in steps:
            yield _run(lu, step)
            done.append(step)
    except errors.GenericError:
        for step in reversed(done):
            try:
                yield _run(lu, step.undo())
            except errors.GenericError as e:
                lu.log_warning("Could not undo the hotplug of %s %d: %s"
                               % (step.dev_type, step.seq, e))
        raise
