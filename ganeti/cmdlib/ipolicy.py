# -*- test-case-name: tests.test_instance_move -*-
"""
Instance policies (``ipolicy``) checked when an instance changes node
group: its memory, CPUs, disks and NICs against the target group's
``minmax`` bounds and allowed disk templates, with Ganeti's messages.
"""

from ganeti import constants, errors
from ganeti.params import fill_beparams, instance_disks


def group_ipolicy(cluster, group):
    """
    :return: the policy in force in C{group}: the defaults, overridden by
        the cluster's keys, overridden by the group's (a group's
        ``minmax`` replaces the cluster's whole, as in Ganeti).
    """
    policy = dict(constants.IPOLICY_DEFAULTS)
    policy.update(cluster.ipolicy or {})
    if group is not None:
        policy.update(group.ipolicy or {})
    return policy


def _out_of_range(name, qualifier, bounds, value):
    """:return: Ganeti's message if C{value} leaves C{bounds}, else None."""
    if value is None or value == "auto":
        return None
    high = bounds["max"].get(name, value)
    low = bounds["min"].get(name, value)
    if low <= value <= high:
        return None
    label = "%s/%s" % (name, qualifier) if qualifier else name
    return "%s value %s is not in range [%s, %s]" % (label, value, low, high)


def instance_violations(cfg, instance, policy):
    """
    :return: what in C{instance} breaks C{policy} (Ganeti's
        C{ComputeIPolicyInstanceViolation}): an empty list when nothing.
    """
    beparams = fill_beparams(cfg.cluster, instance.beparams)
    disks = instance_disks(cfg, instance)
    settings = [("memory-size", "", beparams.get("maxmem")),
                ("cpu-count", "", beparams.get("vcpus")),
                ("nic-count", "", len(instance.nics)),
                ("spindle-use", "", beparams.get("spindle_use"))]
    settings += [("disk-size", str(index), disk.size)
                 for index, disk in enumerate(disks)]
    allowed = set(policy.get("disk-templates") or [])
    found = []
    if disks:
        settings.append(("disk-count", "", len(disks)))
    elif "diskless" not in allowed:
        found.append("Disk template diskless is not allowed (allowed"
                     " templates %s)" % ", ".join(sorted(allowed)))
    forbidden = sorted({disk.dev_type for disk in disks} - allowed)
    if forbidden:
        found.append("Disk template %s is not allowed (allowed templates: %s)"
                     % (", ".join(forbidden), ", ".join(sorted(allowed))))
    # The bounds the instance fits best are the ones it is judged by.
    best = None
    for bounds in policy.get("minmax") or []:
        problems = [p for p in (_out_of_range(name, qualifier, bounds, value)
                                for name, qualifier, value in settings) if p]
        if best is None or len(problems) < len(best):
            best = problems
    return found + (best or [])


def check_target_node_ipolicy(lu, instance, node, ignore=False):
    """
    An instance going to C{node} of another group must meet that group's
    policy (Ganeti's C{CheckTargetNodeIPolicy}); within its own group
    nothing is checked.

    :param ignore: only warn (``--ignore-ipolicy``).
    :raise OpPrereqError: (``wrong_input``) listing the violations.
    """
    cfg = lu.cfg
    current = cfg.nodes[instance.primary_node].group
    if node.group == current:
        return
    policy = group_ipolicy(cfg.cluster, cfg.nodegroups.get(node.group))
    problems = instance_violations(cfg, instance, policy)
    if not problems:
        return
    message = ("Instance does not meet target node group's (%s) instance"
               " policy: %s" % (node.group, ", ".join(problems)))
    if ignore:
        lu.log_warning(message)
    else:
        raise errors.OpPrereqError(message, "wrong_input")
