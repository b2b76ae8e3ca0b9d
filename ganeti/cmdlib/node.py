# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
Node-wide queries that are jobs in Ganeti: OS diagnosis, storage units,
volumes.
"""

from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import errors
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import get_node
from ganeti.master.query_node import (
    OS_FIELDS, _OsContext, default_storage_type, diagnose_os)

STORAGE_FIELDS = ("node", "type", "name", "size", "used", "free", "allocatable")
VOLUME_FIELDS = ("node", "phys", "vg", "name", "size", "instance")


class LUOsDiagnose(LogicalUnit):
    """The OS definitions of all nodes (``gnt-os list/diagnose``)."""

    @inlineCallbacks
    def execute(self):
        entries = yield diagnose_os(self.ctx, self.cfg)
        names = self.op["names"]
        if names:
            entries = [e for e in entries if e["name"] in names]
        cluster = self.cfg.cluster
        entries = [e for e in entries if e["valid"] or "valid" in self.op["output_fields"]
                   or "node_status" in self.op["output_fields"]]
        result = OS_FIELDS.query(_OsContext(cluster), entries,
                                 self.op["output_fields"])
        returnValue([[cell[1] for cell in row] for row in result["data"]])


def _nodes(cfg, names):
    if names:
        return [get_node(cfg, name) for name in names]
    return sorted((n for n in cfg.nodes.values() if not n.offline),
                  key=lambda n: n.name)


class _FieldsLU(LogicalUnit):
    """A query whose C{output_fields} must be among C{FIELDS}."""

    FIELDS = ()

    def check_prereq(self):
        unknown = [f for f in self.op["output_fields"] if f not in self.FIELDS]
        if unknown:
            raise errors.OpPrereqError("Unknown output fields selected: %s"
                                       % ", ".join(unknown), "wrong_input")


class LUNodeQueryStorage(_FieldsLU):
    """``gnt-node list-storage``."""

    FIELDS = STORAGE_FIELDS

    @inlineCallbacks
    def execute(self):
        storage_type = self.op["storage_type"] or default_storage_type(
            self.cfg.cluster)
        if storage_type is None:
            raise errors.OpPrereqError("No storage type could be derived from"
                                       " the enabled disk templates", "wrong_input")
        nodes = _nodes(self.cfg, self.op["nodes"])
        results = yield self.ctx.rpc.call([(n.name, n.primary_ip) for n in nodes],
                                          "storage_list", storage_type,
                                          self.op["name"])
        rows = []
        for node in nodes:
            result = results[node.name]
            if not result.ok:
                self.log_warning("Can't get storage data from node %s: %s"
                                 % (node.name, result.fail_msg))
                continue
            for unit in sorted(result.payload, key=lambda u: u.get("name") or ""):
                unit = dict(unit, node=node.name, type=storage_type)
                rows.append([unit.get(f) for f in self.op["output_fields"]])
        returnValue(rows)


class LUNodeQueryvols(_FieldsLU):
    """``gnt-node volumes``: logical volumes and who uses them."""

    FIELDS = VOLUME_FIELDS

    @inlineCallbacks
    def execute(self):
        cfg = self.cfg
        owners = {}
        for instance in cfg.instances.values():
            for uuid in instance.disks:
                disk = cfg.disks.get(uuid)
                if disk is not None and disk.dev_type == "plain":
                    owners[tuple(disk.logical_id)] = instance.name
        nodes = _nodes(cfg, self.op["nodes"])
        results = yield self.ctx.rpc.call([(n.name, n.primary_ip) for n in nodes],
                                          "node_volumes")
        rows = []
        for node in nodes:
            result = results[node.name]
            if not result.ok:
                continue
            for volume in sorted(result.payload, key=lambda v: v["name"]):
                values = {"node": node.name, "phys": volume.get("dev"),
                          "vg": volume.get("vg"), "name": volume["name"],
                          "size": volume.get("size"),
                          "instance": owners.get((volume.get("vg"),
                                                  volume["name"]), "-")}
                rows.append([values[f] for f in self.op["output_fields"]])
        returnValue(rows)
