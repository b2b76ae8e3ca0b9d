# -*- test-case-name: tests.test_rapi_client -*-
"""
``OP_INSTANCE_QUERY_DATA``: the detailed per-instance description that
Ganeti's ``/2/instances/<name>/info`` job returns.
"""

from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import get_instance, node_address
from ganeti.params import (
    fill_beparams, fill_hvparams, fill_nicparams, instance_disks)


def _nic_data(cluster, nic):
    """Ganeti's NIC tuple: name, uuid, mac, ip, mode, link, vlan, network."""
    params = fill_nicparams(cluster, nic.nicparams)
    return [nic.name, nic.uuid, nic.mac, nic.ip, params["mode"],
            params["link"], params.get("vlan", ""), nic.network, None]


def _disk_data(index, disk):
    return {"iv_name": "disk/%d" % index, "dev_type": disk.dev_type,
            "logical_id": disk.logical_id, "physical_id": None,
            "pstatus": None, "sstatus": None, "children": [],
            "mode": disk.mode, "size": disk.size, "spindles": None,
            "name": disk.name, "uuid": disk.uuid}


class LUInstanceQueryData(LogicalUnit):
    """
    Every field is read from one config snapshot; only the run state asks
    the primary nodes (skipped with ``static``).
    """

    BGL_SHARED = None

    def check_prereq(self):
        cfg = self.cfg
        if self.op["instances"]:
            self.wanted = [get_instance(cfg, name)
                           for name in self.op["instances"]]
        else:
            self.wanted = sorted(cfg.instances.values(), key=lambda i: i.name)

    @inlineCallbacks
    def execute(self):
        cfg = self.cfg
        running = {}
        if not self.op["static"]:
            running = yield self._running(cfg)
        result = {}
        for inst in self.wanted:
            result[inst.name] = self._describe(cfg, inst, running)
        returnValue(result)

    @inlineCallbacks
    def _running(self, cfg):
        """:return: ``{instance uuid: True/False/None}`` (None: node down)."""
        by_node = {}
        for inst in self.wanted:
            by_node.setdefault(inst.primary_node, []).append(inst)
        nodes = [cfg.nodes[uuid] for uuid in by_node
                 if not cfg.nodes[uuid].offline]
        hypervisors = list(cfg.cluster.enabled_hypervisors)
        answers = yield self.ctx.rpc.call([node_address(n) for n in nodes],
                                          "all_instances_info", hypervisors)
        running = {}
        for node in nodes:
            result = answers[node.name]
            for inst in by_node[node.uuid]:
                running[inst.uuid] = (inst.name in result.payload
                                      if result.ok else None)
        returnValue(running)

    @staticmethod
    def _describe(cfg, inst, running):
        cluster = cfg.cluster
        pnode = cfg.nodes[inst.primary_node]
        group = cfg.nodegroups.get(pnode.group)
        state = running.get(inst.uuid)
        return {
            "name": inst.name, "uuid": inst.uuid,
            "config_state": inst.admin_state,
            "run_state": None if state is None else ("up" if state
                                                     else "down"),
            "pnode": pnode.name, "pnode_group_uuid": pnode.group,
            "pnode_group_name": group.name if group else None,
            "snodes": [], "snodes_group_uuids": [], "snodes_group_names": [],
            "os": inst.os, "hypervisor": inst.hypervisor,
            "network_port": inst.network_port,
            "nics": [_nic_data(cluster, nic) for nic in inst.nics],
            "disk_template": inst.disk_template,
            "disks": [_disk_data(i, d)
                      for i, d in enumerate(instance_disks(cfg, inst))],
            "hv_instance": dict(inst.hvparams),
            "hv_actual": fill_hvparams(cluster, inst.hypervisor, inst.os,
                                       inst.hvparams),
            "be_instance": dict(inst.beparams),
            "be_actual": fill_beparams(cluster, inst.beparams),
            "os_instance": dict(inst.osparams),
            "os_actual": dict(cluster.osparams.get(inst.os.split("+")[0], {}),
                              **inst.osparams),
            "serial_no": inst.serial_no, "ctime": inst.ctime,
            "mtime": inst.mtime, "forthcoming": False,
        }
