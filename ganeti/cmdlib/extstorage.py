# -*- test-case-name: tests.test_cmdlib_extstorage -*-
"""
ExtStorage providers across the cluster (OP_EXT_STORAGE_DIAGNOSE, the
job behind ``gnt-storage diagnose`` and ``gnt-storage info``).

Ganeti does not copy providers between nodes, so the master asks every
vm-capable node what its search path holds and judges each provider per
node group: usable in a group only when every answering node of it has a
valid copy, since an ``ext`` instance may move to any node of its group.
"""

from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import errors
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import node_address

#: The fields of the query, as Ganeti's EXTSTORAGE_FIELDS.
FIELDS = ("name", "node_status", "nodegroup_status", "parameters")


def merge_reports(reports, groups):
    """
    Merge the nodes' ``extstorage_diagnose`` answers per provider, as
    Ganeti's C{ExtStorageQuery} does.

    :param reports: node name -> its list of provider dicts (see
        L{ganeti.storage.extstorage.ExtStorageProvider.to_dict}), or
        C{None} for a node whose call failed (it then counts nowhere:
        a dead node does not make every provider invalid).
    :param groups: group name -> names of its member nodes.
    :return: provider name -> C{{"name", "node_status",
        "nodegroup_status", "parameters"}}: C{node_status} maps each
        answering node to ``[[path, valid, error, parameters]]`` (``[]``
        where the node has no such provider); C{nodegroup_status} maps
        each group to whether all its answering nodes have a valid copy;
        C{parameters} are the ``[name, description]`` pairs every valid
        copy declares, in the first node's order.
    """
    answered = sorted(name for name, report in reports.items()
                      if report is not None)
    merged = {}
    for node in answered:
        for entry in reports[node]:
            item = merged.setdefault(entry["name"], {
                "name": entry["name"],
                "node_status": {n: [] for n in answered}})
            item["node_status"][node].append(
                [entry["path"], entry["valid"], entry.get("error") or "",
                 [list(p) for p in entry.get("parameters") or []]])
    for item in merged.values():
        statuses = item["node_status"]
        item["nodegroup_status"] = {
            group: all(statuses[n] and statuses[n][0][1]
                       for n in members if n in statuses)
            for group, members in groups.items()}
        valid = [statuses[n][0][3] for n in answered
                 if statuses[n] and statuses[n][0][1]]
        parameters = []
        if valid:
            common = [set(map(tuple, params)) for params in valid[1:]]
            parameters = [p for p in valid[0]
                          if all(tuple(p) in other for other in common)]
        item["parameters"] = parameters
    return merged


class LUExtStorageDiagnose(LogicalUnit):
    """
    OP_EXT_STORAGE_DIAGNOSE: one row per provider found on any node,
    sorted by name, with the requested C{output_fields}; C{names} keeps
    only those providers (all of which must exist).
    """

    def check_prereq(self):
        unknown = [f for f in self.op["output_fields"] if f not in FIELDS]
        if unknown:
            raise errors.OpPrereqError("Unknown output fields selected: %s"
                                       % ", ".join(unknown), "wrong_input")

    @inlineCallbacks
    def execute(self):
        cfg = self.cfg
        nodes = [n for n in cfg.nodes.values()
                 if n.vm_capable and not n.offline]
        results = yield self.ctx.rpc.call([node_address(n) for n in nodes],
                                          "extstorage_diagnose")
        reports = {}
        for name, result in results.items():
            if result.ok:
                reports[name] = result.payload
            else:
                self.log_warning("Can't get the ExtStorage providers of node"
                                 " %s: %s" % (name, result.fail_msg))
                reports[name] = None
        groups = {group.name: [] for group in cfg.nodegroups.values()}
        for node in nodes:
            group = cfg.nodegroups.get(node.group)
            if group is not None:
                groups[group.name].append(node.name)
        merged = merge_reports(reports, groups)
        names = self.op["names"]
        if names:
            missing = sorted(set(names) - set(merged))
            if missing:
                raise errors.OpPrereqError(
                    "ExtStorage provider(s) not found: %s"
                    % ", ".join(missing), "noent")
        rows = []
        for name in sorted(merged):
            if names and name not in names:
                continue
            rows.append([merged[name][f] for f in self.op["output_fields"]])
        returnValue(rows)
