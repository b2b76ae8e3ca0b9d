# -*- test-case-name: tests.test_iallocator -*-
"""
Instance allocators: external programs that choose nodes for instances.

Ganeti delegates placement to executables speaking the iallocator protocol
(version 2): the master writes the cluster's state and one request as JSON
into a file, runs the allocator with that file's path and reads a JSON
answer ``{"success", "info", "result"}`` from its standard output.  Any
program speaking it works, e.g. htools' ``hail``; keeping the protocol
(rather than calling a placement library) is what lets sites plug their
own policies in.

This module is the protocol: it builds the input from the config plus the
nodes' live figures and checks the answer's shape for the request's mode,
so logical units only see validated node names and jobs (or an opcode
error quoting the allocator).  L{ganeti.cmdlib.allocator} gathers the
figures, finds the program and runs it.
"""

import json

from ganeti import constants, errors
from ganeti.params import fill_beparams, fill_nicparams, instance_disks

#: The protocol version written into every input document.
PROTOCOL_VERSION = 2

#: Request types (``request.type``).
MODE_ALLOC = "allocate"
MODE_RELOC = "relocate"
MODE_NODE_EVAC = "node-evacuate"
MODE_CHG_GROUP = "change-group"
MODE_MULTI_ALLOC = "multi-allocate"
MODES = (MODE_ALLOC, MODE_RELOC, MODE_NODE_EVAC, MODE_CHG_GROUP,
         MODE_MULTI_ALLOC)

#: The opcodes an evacuation answer may ask for (Ganeti accepts no others).
EVAC_OPCODES = frozenset(["OP_INSTANCE_FAILOVER", "OP_INSTANCE_MIGRATE",
                          "OP_INSTANCE_REPLACE_DISKS"])

#: Name meaning "the cluster's default allocator" (``-I .``).
DEFAULT_NAME = "."

#: DRBD's metadata volume per disk (MiB), counted by allocators.
_DRBD_META_SIZE = 128


def _wrong(message):
    return errors.OpPrereqError(message, "wrong_input")


def resolve_name(cluster, name):
    """
    :return: the allocator to use: C{name}, or the cluster default for
        ``.``; None if neither names one.
    """
    if name == DEFAULT_NAME:
        return cluster.default_iallocator or None
    return name or None


def choose(cluster, iallocator, *nodes):
    """
    Ganeti's rule for opcodes taking "a node or an allocator": an explicit
    allocator wins, given nodes come next, and with neither the cluster's
    default allocator is used.

    :return: the allocator name to run, or None to use C{nodes}.
    :raise OpPrereqError: if both an allocator and a node are given.
    """
    if iallocator and any(nodes):
        raise _wrong("Give either an iallocator or a node, not both")
    if iallocator:
        return resolve_name(cluster, iallocator) or _no_default()
    if any(nodes):
        return None
    return cluster.default_iallocator or None


def _no_default():
    raise _wrong("No default iallocator set in the cluster ('.' needs one)")


# --- the input document -----------------------------------------------------

def disk_space_total(template, disks):
    """
    :param disks: ``[{"size": MiB}, ...]``.
    :return: the MiB a template needs on its nodes' storage (0 where
        storage is outside the nodes, +metadata for DRBD).
    """
    if template in ("diskless", "blockdev"):
        return 0
    extra = _DRBD_META_SIZE if template == "drbd" else 0
    return sum(d["size"] + extra for d in disks)


def _filled_ipolicy(cluster, group=None):
    policy = dict(constants.IPOLICY_DEFAULTS, **cluster.ipolicy)
    if group is not None:
        policy.update(group.ipolicy)
    return policy


def nic_dict(cluster, nic):
    """:return: a NIC as allocators see it (parameters filled in)."""
    params = fill_nicparams(cluster, nic.nicparams)
    result = {"mac": nic.mac, "ip": nic.ip, "mode": params["mode"],
              "link": params["link"], "network": nic.network}
    if params["mode"] == "bridged":
        result["bridge"] = params["link"]
    return result


def _instance_dict(cfg, instance):
    cluster = cfg.cluster
    beparams = fill_beparams(cluster, instance.beparams)
    disks = [{"size": d.size, "mode": d.mode, "spindles": d.spindles,
              "dev_type": d.dev_type} for d in instance_disks(cfg, instance)]
    secondaries = sorted({n for d in instance_disks(cfg, instance)
                          for n in d.nodes} - {instance.primary_node})
    return {
        "tags": list(instance.tags), "admin_state": instance.admin_state,
        "vcpus": beparams["vcpus"], "memory": beparams["maxmem"],
        "spindle_use": beparams["spindle_use"], "os": instance.os,
        "nodes": [cfg.nodes[u].name for u in [instance.primary_node]
                  + secondaries],
        "nics": [nic_dict(cluster, nic) for nic in instance.nics],
        "disks": disks, "disk_template": instance.disk_template,
        "disks_active": instance.disks_active,
        "hypervisor": instance.hypervisor,
        "disk_space_total": disk_space_total(instance.disk_template, disks),
    }


def _node_dict(cfg, node, live, running):
    """
    One node: its config facts, plus (when it can take instances and
    answered) its resources, with memory that stopped instances may claim
    again counted as used, as Ganeti does.
    """
    group = cfg.nodegroups.get(node.group)
    result = {
        "tags": list(node.tags), "primary_ip": node.primary_ip,
        "secondary_ip": node.secondary_ip, "group": node.group,
        "master_candidate": node.master_candidate,
        "master_capable": node.master_capable,
        "vm_capable": node.vm_capable, "offline": node.offline,
        "drained": node.drained,
        "ndparams": dict(constants.ND_DEFAULTS, **cfg.cluster.ndparams,
                         **(group.ndparams if group else {}), **node.ndparams),
    }
    if node.offline or node.drained or not node.vm_capable or live is None:
        return result
    free_memory = live.get("memory_free") or 0
    pri_memory = pri_up_memory = 0
    for instance in cfg.instances.values():
        if instance.primary_node != node.uuid:
            continue
        maxmem = fill_beparams(cfg.cluster, instance.beparams)["maxmem"]
        used = (running.get(instance.name) or {}).get("memory", 0)
        free_memory -= max(0, maxmem - used)
        pri_memory += maxmem
        if instance.admin_state == constants.ADMINST_UP:
            pri_up_memory += maxmem
    result.update({
        "total_memory": live.get("memory_total") or 0,
        "reserved_memory": live.get("memory_dom0") or 0,
        "free_memory": max(0, free_memory),
        "total_disk": live.get("storage_size") or 0,
        "free_disk": live.get("storage_free") or 0,
        "total_spindles": live.get("spindles_total") or 0,
        "free_spindles": live.get("spindles_free") or 0,
        "total_cpus": live.get("cpu_total") or 1,
        "reserved_cpus": live.get("cpu_dom0") or 0,
        "i_pri_memory": pri_memory, "i_pri_up_memory": pri_up_memory,
    })
    return result


def input_document(cfg, request, live, running):
    """
    The whole input document for one request.

    :param request: the ``request`` object, with its ``type``.
    :param live: ``{node uuid: node figures or None}`` as the nodes told.
    :param running: ``{node uuid: {instance name: info} or None}``.
    :return: the document as a dict.
    """
    cluster = cfg.cluster
    return {
        "version": PROTOCOL_VERSION,
        "cluster_name": cluster.cluster_name,
        "cluster_tags": list(cluster.tags),
        "enabled_hypervisors": list(cluster.enabled_hypervisors),
        "ipolicy": _filled_ipolicy(cluster),
        "nodegroups": {
            g.uuid: {"name": g.name, "alloc_policy": g.alloc_policy,
                     "networks": sorted(g.networks),
                     "ipolicy": _filled_ipolicy(cluster, g),
                     "tags": list(g.tags)}
            for g in cfg.nodegroups.values()},
        "nodes": {n.name: _node_dict(cfg, n, live.get(n.uuid),
                                     running.get(n.uuid) or {})
                  for n in cfg.nodes.values()},
        "instances": {i.name: _instance_dict(cfg, i)
                      for i in cfg.instances.values()},
        "request": request,
    }


# --- requests -----------------------------------------------------------------

def allocate_request(name, template, disks, nics, vcpus, memory, os_name,
                     hypervisor, tags=(), spindle_use=1, group_name=None):
    """
    What a new instance needs (without ``type``: multi-allocate lists
    these).

    :param disks: ``[{"size": MiB, "mode": "rw"}, ...]``.
    :param nics: ``[{"mac", "ip", "mode", "link"}, ...]``.
    """
    request = {
        "name": name, "disk_template": template, "tags": list(tags),
        "os": os_name, "vcpus": vcpus, "memory": memory,
        "spindle_use": spindle_use, "disks": disks,
        "disk_space_total": disk_space_total(template, disks), "nics": nics,
        "required_nodes": 2 if template == "drbd" else 1,
        "hypervisor": hypervisor,
    }
    if group_name:
        request["group_name"] = group_name
    return request


def relocate_request(cfg, instance):
    """A new primary node for an instance whose storage all nodes reach."""
    disks = [{"size": d.size} for d in instance_disks(cfg, instance)]
    return {"type": MODE_RELOC, "name": instance.name, "required_nodes": 1,
            "disk_space_total": disk_space_total(instance.disk_template, disks),
            "relocate_from": [cfg.nodes[instance.primary_node].name]}


def _bad(name, why):
    return errors.OpExecError("Invalid iallocator '%s' answer: %s" % (name, why))


def parse_answer(cfg, request, stdout, name, what="nodes"):
    """
    :param what: what could not be computed, for the refusal (Ganeti's
        words differ by request: ``nodes``, ``solution for changing group
        of instance 'x'``).
    :return: the checked ``result`` of an allocator's answer.
    :raise OpPrereqError: (``insufficient_resources``) when it answered
        ``"success": false``, with its ``info``.
    :raise OpExecError: for malformed answers.
    """
    try:
        answer = json.loads(stdout)
    except ValueError as e:
        raise _bad(name, "not JSON (%s)" % e)
    if not isinstance(answer, dict):
        raise _bad(name, "not a JSON object")
    if "result" not in answer and "nodes" in answer:
        answer["result"] = answer["nodes"]  # protocol version 1's key
    for key in ("success", "info", "result"):
        if key not in answer:
            raise _bad(name, "missing key '%s'" % key)
    if not answer["success"]:
        raise errors.OpPrereqError(
            "Can't compute %s using iallocator '%s': %s"
            % (what, name, answer["info"]), "insufficient_resources")
    check = _CHECKS[request["type"]]
    if not check(cfg, request, answer["result"]):
        raise _bad(name, "result %r does not fit a %s request"
                   % (answer["result"], request["type"]))
    return answer["result"]


def _node_names(cfg, value):
    return (isinstance(value, list)
            and all(isinstance(n, str) and cfg.node_by_name(n) is not None
                    for n in value))


def _check_nodes(cfg, request, result):
    return _node_names(cfg, result) and len(result) == request["required_nodes"]


def _check_evacuation(cfg, request, result):
    if not (isinstance(result, list) and len(result) == 3
            and all(isinstance(part, list) for part in result)):
        return False
    moved, failed, jobs = result
    return (all(isinstance(m, list) and len(m) == 3 and _node_names(cfg, m[2])
                for m in moved)
            and all(isinstance(f, list) and len(f) == 2 for f in failed)
            and all(isinstance(job, list)
                    and all(isinstance(op, dict)
                            and op.get("OP_ID") in EVAC_OPCODES for op in job)
                    for job in jobs))


def _check_multi(cfg, request, result):
    if not (isinstance(result, list) and len(result) == 2):
        return False
    allocated, failed = result
    return (isinstance(allocated, list) and isinstance(failed, list)
            and all(isinstance(a, list) and len(a) == 2
                    and _node_names(cfg, a[1]) for a in allocated))


_CHECKS = {MODE_ALLOC: _check_nodes, MODE_RELOC: _check_nodes,
           MODE_NODE_EVAC: _check_evacuation,
           MODE_CHG_GROUP: _check_evacuation, MODE_MULTI_ALLOC: _check_multi}


def evacuation_jobs(lu, result, early_release=False, use_nodes=True):
    """
    Turn an evacuation answer into the jobs the logical unit hands back.

    Allocators built against another Ganeti version write opcodes with
    every parameter they know; only this project's parameters are kept,
    and unset ones dropped, so the jobs validate here.

    :param lu: the logical unit (for its log).
    :param use_nodes: log where instances go by their new nodes (node
        evacuation), else by their new group (group changes), as Ganeti.
    :return: the result for the job runner: ``{"jobs": [...]}``.
    :raise OpExecError: if some instances cannot be moved.
    """
    from ganeti.opcodes import OPCODES
    moved, failed, jobs = result
    if failed:
        raise errors.OpExecError(
            "Unable to evacuate instances %s" % ", ".join(
                "%s (%s)" % (inst, reason) for inst, reason in failed))
    if moved:
        lu.log_info("Instances to be moved: %s" % ", ".join(
            "%s (to %s)" % (inst, ", ".join(nodes) if use_nodes else group)
            for inst, group, nodes in moved))
    result_jobs = []
    for job in jobs:
        ops = []
        for op in job:
            known = {p for p, _, _ in OPCODES[op["OP_ID"]].params}
            kept = {k: v for k, v in op.items()
                    if k in known and v is not None and k != "depends"}
            if "early_release" in known:
                kept["early_release"] = early_release
            kept["OP_ID"] = op["OP_ID"]
            ops.append(kept)
        result_jobs.append(ops)
    return {"jobs": result_jobs}
