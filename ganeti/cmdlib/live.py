# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
What the nodes say right now: running instances, their consoles, node
figures and OS definitions, asked of all nodes in parallel.

Queries, the allocator, verify and the watcher all need these answers;
they are gathered here, on the logical units' side of the node RPC, so the
field tables of L{ganeti.query} stay pure and the master only combines
the two.
"""

from twisted.internet.defer import DeferredList, inlineCallbacks, returnValue

from ganeti.cmdlib.common import complete_console, node_address
from ganeti.params import exclusive_storage, node_instance_dict


@inlineCallbacks
def live_instances(ctx, cfg, node_uuids=None):
    """
    Ask the (online) nodes which instances they run.

    :return: (Deferred) ``{node uuid: {name: info} or None}``.
    """
    nodes = [n for n in cfg.nodes.values()
             if not n.offline and (node_uuids is None or n.uuid in node_uuids)]
    hypervisors = list(cfg.cluster.enabled_hypervisors)
    results = yield ctx.rpc.call([node_address(n) for n in nodes],
                                 "all_instances_info", hypervisors)
    live = {}
    for node in nodes:
        result = results[node.name]
        live[node.uuid] = result.payload if result.ok else None
    returnValue(live)


@inlineCallbacks
def live_consoles(ctx, cfg, live, names=None):
    """
    Ask the primary nodes how to reach the consoles of the instances they
    run (of C{names} only, when given: a console costs one RPC).

    :return: (Deferred) ``{instance uuid: console dict}``.
    """
    calls = []
    for inst in cfg.instances.values():
        if names is not None and inst.name not in names:
            continue
        if inst.name not in (live.get(inst.primary_node) or {}):
            continue
        node = cfg.nodes[inst.primary_node]
        calls.append((inst.uuid, node.name, ctx.rpc.call(
            [node_address(node)], "instance_console",
            node_instance_dict(cfg, inst))))
    consoles = {}
    for uuid, node_name, d in calls:
        result = (yield d)[node_name]
        if result.ok:
            consoles[uuid] = complete_console(result.payload, node_name)
    returnValue(consoles)


def default_storage_type(cluster):
    """:return: the storage type of the cluster's default disk template."""
    for template in cluster.enabled_disk_templates:
        if template in ("file", "sharedfile"):
            return template
        if template in ("plain", "drbd"):
            return "lvm-vg"
    return None


@inlineCallbacks
def live_node_info(ctx, cfg, nodes):
    """:return: (Deferred) ``{node uuid: merged info or None}``."""
    targets = [node_address(n) for n in nodes
               if not n.offline and n.vm_capable]
    if not targets:
        returnValue({})
    storage = default_storage_type(cfg.cluster)
    calls = [ctx.rpc.call(targets, "node_info",
                          list(cfg.cluster.enabled_hypervisors))]
    vg = cfg.cluster.volume_group_name
    if storage == "lvm-vg" and vg:
        # Only the cluster's volume group counts, in whole empty PVs on
        # nodes with exclusive storage (and those have spindles), as in
        # Ganeti: one call per value of the flag.
        by_flag = {}
        for node in nodes:
            if not node.offline and node.vm_capable:
                by_flag.setdefault(exclusive_storage(cfg, node), []).append(
                    node_address(node))
        for flag, addresses in sorted(by_flag.items()):
            calls.append(ctx.rpc.call(addresses, "lvm_vg_space", vg, flag))
    elif storage:
        calls.append(ctx.rpc.call(targets, "storage_list", storage, None))
    results = yield DeferredList(calls, fireOnOneErrback=True, consumeErrors=True)
    info_results = results[0][1]
    storage_results = {}
    for _, answers in results[1:]:
        storage_results.update(answers)
    live = {}
    for node in nodes:
        result = info_results.get(node.name)
        if result is None or not result.ok:
            live[node.uuid] = None
            continue
        info = dict(result.payload)
        units = storage_results.get(node.name)
        if units is not None and units.ok and isinstance(units.payload, dict):
            space = units.payload
            info["storage_size"] = space.get("size")
            info["storage_free"] = space.get("free")
            info["spindles_total"] = space.get("spindles_total")
            info["spindles_free"] = space.get("spindles_free")
        elif units is not None and units.ok and units.payload:
            info["storage_size"] = sum(u.get("size") or 0 for u in units.payload)
            info["storage_free"] = sum(u.get("free") or 0 for u in units.payload)
        live[node.uuid] = info
    returnValue(live)


def merge_os_reports(reports):
    """
    Combine per-node OS diagnoses into one entry per OS name: valid only
    where valid on every node, variants and API versions common to all.

    :param reports: ``{node name: [os dict, ...] or None}``.
    """
    merged = {}
    answered = [n for n, r in reports.items() if r is not None]
    for node, report in sorted(reports.items()):
        for entry in report or []:
            item = merged.setdefault(entry["name"], {
                "name": entry["name"], "valid": True, "variants": None,
                "api_versions": None, "parameters": None, "node_status": {}})
            item["node_status"][node] = [[entry["path"], entry["valid"],
                                          entry.get("error") or "",
                                          entry["variants"],
                                          entry["parameters"],
                                          entry["api_versions"]]]
            item["valid"] = item["valid"] and entry["valid"]
            for key in ("variants", "api_versions"):
                values = entry[key]
                item[key] = (list(values) if item[key] is None else
                             [v for v in item[key] if v in values])
            if item["parameters"] is None:
                item["parameters"] = [list(p) for p in entry["parameters"]]
    for item in merged.values():
        if set(item["node_status"]) != set(answered):
            item["valid"] = False
        for key in ("variants", "api_versions", "parameters"):
            item[key] = item[key] or []
    return list(merged.values())


@inlineCallbacks
def diagnose_os(ctx, cfg):
    """:return: (Deferred) merged OS entries from every vm_capable node."""
    nodes = [n for n in cfg.nodes.values() if n.vm_capable and not n.offline]
    results = yield ctx.rpc.call([node_address(n) for n in nodes],
                                 "os_diagnose")
    returnValue(merge_os_reports(
        {name: (r.payload if r.ok else None) for name, r in results.items()}))
