# -*- test-case-name: tests.test_rapi_client -*-
"""
``OP_INSTANCE_QUERY_DATA``: the detailed per-instance description that
Ganeti's ``/2/instances/<name>/info`` job returns.
"""

from twisted.internet.defer import gatherResults, inlineCallbacks, returnValue

from ganeti import errors
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import get_instance, node_address
from ganeti.params import (
    annotated_disk, fill_beparams, fill_hvparams, fill_nicparams,
    instance_disks, secondary_nodes)

#: The disk kinds whose state the nodes report (``blockdev_find_all``).
_FOUND_KINDS = ("drbd", "plain")


def _nic_data(cfg, nic):
    """
    Ganeti's NIC tuple: name, uuid, ip, mac, mode, link, vlan, network
    and the network's description (None without one).
    """
    params = fill_nicparams(cfg.cluster, nic.nicparams)
    network = cfg.networks.get(nic.network) if nic.network else None
    netinfo = network.to_dict() if network else None
    return [nic.name, nic.uuid, nic.ip, nic.mac, params["mode"],
            params["link"], params.get("vlan", ""), nic.network, netinfo]


def _status_tuple(status):
    """Ganeti's status tuple of a disk found on a node, or None."""
    if not status:
        return None
    return [status["dev_path"], status["major"], status["minor"],
            status["sync_percent"], status["estimated_time"],
            status["is_degraded"], status["ldisk_status"]]


def _disk_sides(cfg, inst, disk):
    """
    :return: C{(primary uuid, secondary uuid or None)} whose state Ganeti
        shows for a disk and its children: a ``drbd`` disk's other node.
    """
    snode = None
    if disk.dev_type == "drbd":
        node_a, node_b = disk.logical_id[:2]
        snode = node_b if node_a == inst.primary_node else node_a
    return inst.primary_node, snode


def _disk_data(cfg, inst, disk, found, top_index=None, snode=None,
               path=()):
    """
    Ganeti's description of one disk and its children.

    :param found: C{{(node uuid, disk path): status}} the nodes reported
        (empty when static).
    :param path: the disk's position in the tree (indices), the key of
        C{found}.
    """
    drbd_info = None
    logical_id = list(disk.logical_id)
    if disk.dev_type == "drbd":
        _, snode = _disk_sides(cfg, inst, disk)
        node_a, node_b, port, minor_a, minor_b, _ = disk.logical_id
        primary_first = node_a == inst.primary_node
        drbd_info = {
            "primary_node": cfg.nodes[inst.primary_node].name,
            "primary_minor": minor_a if primary_first else minor_b,
            "secondary_node": cfg.nodes[snode].name if snode in cfg.nodes
            else snode,
            "secondary_minor": minor_b if primary_first else minor_a,
            "port": port}
        # The shared secret stays in the config.
        logical_id[-1] = None
    return {
        "iv_name": ("disk/%d" % top_index if top_index is not None
                    else disk.iv_name or None),
        "dev_type": disk.dev_type, "logical_id": logical_id,
        "drbd_info": drbd_info,
        "pstatus": _status_tuple(found.get((inst.primary_node, path))),
        "sstatus": _status_tuple(found.get((snode, path))),
        "children": [_disk_data(cfg, inst, child, found, snode=snode,
                                path=path + (i,))
                     for i, child in enumerate(disk.children)],
        "mode": disk.mode, "size": disk.size, "spindles": disk.spindles,
        "name": disk.name, "uuid": disk.uuid}


def _tree(disk, path):
    """:return: C{[(path, disk dict)]} of an annotated disk and children."""
    entries = [(path, disk)]
    for index, child in enumerate(disk["children"]):
        entries.extend(_tree(child, path + (index,)))
    return entries


class LUInstanceQueryData(LogicalUnit):
    """
    Every field is read from one config snapshot; the run state asks the
    primary nodes and the state of ``plain`` and ``drbd`` disks their
    nodes, one call per node (both skipped with ``static``).
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
        running, found = {}, {}
        if not self.op["static"]:
            for inst in self.wanted:
                if cfg.nodes[inst.primary_node].offline:
                    self.log_warning(
                        "Primary node %s is marked offline, returning static"
                        " information only for instance %s"
                        % (cfg.nodes[inst.primary_node].name, inst.name))
            running = yield self._running(cfg)
            found = yield self._found_disks(cfg)
        result = {}
        for inst in self.wanted:
            result[inst.name] = self._describe(cfg, inst, running,
                                               found.get(inst.uuid, {}))
        returnValue(result)

    @inlineCallbacks
    def _found_disks(self, cfg):
        """
        Ask each node holding a ``plain`` or ``drbd`` disk of the wanted
        instances where its disks are (Ganeti asks per disk and node).

        :return: C{{instance uuid: {(node uuid, disk path): status}}}.
        :raise OpExecError: if an online node does not answer, as
            Ganeti's query does.
        """
        asked = {}
        for inst in self.wanted:
            for index, disk in enumerate(instance_disks(cfg, inst)):
                if disk.dev_type not in _FOUND_KINDS:
                    continue
                for node_uuid in _disk_sides(cfg, inst, disk):
                    node = cfg.nodes.get(node_uuid)
                    if node is None or node.offline:
                        continue
                    for path, entry in _tree(annotated_disk(cfg, disk, node),
                                             (index,)):
                        asked.setdefault(node_uuid, []).append(
                            (inst, path, entry))
        nodes = [cfg.nodes[uuid] for uuid in asked]
        # Each node gets its own disks, so one call per node, in parallel.
        answers = yield gatherResults([
            self.ctx.rpc.call([node_address(node)], "blockdev_find_all",
                              [entry for _, _, entry in asked[node.uuid]])
            for node in nodes])
        found = {}
        for node, answer in zip(nodes, answers):
            result = answer[node.name]
            if not result.ok:
                inst = asked[node.uuid][0][0]
                raise errors.OpExecError(
                    "Can't compute disk status for %s: %s"
                    % (inst.name, result.fail_msg))
            for (inst, path, _), status in zip(asked[node.uuid],
                                               result.payload):
                found.setdefault(inst.uuid, {})[(node.uuid, path)] = status
        returnValue(found)

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
    def _describe(cfg, inst, running, found):
        cluster = cfg.cluster
        pnode = cfg.nodes[inst.primary_node]
        group = cfg.nodegroups.get(pnode.group)
        state = running.get(inst.uuid)
        snodes = [u for u in secondary_nodes(cfg, inst) if u in cfg.nodes]
        return {
            "name": inst.name, "uuid": inst.uuid,
            "config_state": inst.admin_state,
            "run_state": None if state is None else ("up" if state
                                                     else "down"),
            "pnode": pnode.name, "pnode_group_uuid": pnode.group,
            "pnode_group_name": group.name if group else None,
            "snodes": [cfg.nodes[u].name for u in snodes],
            "snodes_group_uuids": [cfg.nodes[u].group for u in snodes],
            "snodes_group_names": [
                cfg.nodegroups[cfg.nodes[u].group].name for u in snodes],
            "os": inst.os, "hypervisor": inst.hypervisor,
            "network_port": inst.network_port,
            "nics": [_nic_data(cfg, nic) for nic in inst.nics],
            "disk_template": inst.disk_template,
            "disks": [_disk_data(cfg, inst, d, found, top_index=i, path=(i,))
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
