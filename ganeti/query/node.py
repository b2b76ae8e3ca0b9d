# -*- test-case-name: tests.test_cmdlib_node -*-
"""
Node, OS and node group query fields (``gnt-node list``, ``gnt-os list``,
``gnt-group list``).

Node live fields and OS entries come from the nodes; the caller gathers
them and hands them over in the contexts.
"""

from ganeti import constants, errors
from ganeti.params import secondary_nodes
from ganeti.query import (
    Field, FieldSet, NoData, Offline, QFT_BOOL, QFT_NUMBER, QFT_OTHER, QFT_TEXT,
    QFT_UNIT, Unavailable, nice_sort, object_fields)

#: Node fields that need the node itself.
LIVE_FIELDS = frozenset(["mtotal", "mnode", "mfree", "dtotal", "dfree",
                         "ctotal", "cnos", "cnodes", "csockets", "bootid",
                         "sptotal", "spfree"])


class NodeContext:
    """Config plus, for live fields, ``{node uuid: info or None}``."""

    def __init__(self, cfg, live=None):
        self.cfg = cfg
        self.live = live or {}
        #: ``{node uuid: [instance name]}`` of secondaries, when needed.
        self.secondaries = None


def _role(ctx, node):
    if node.uuid == ctx.cfg.cluster.master_node:
        return "M"
    if node.master_candidate:
        return "C"
    if node.drained:
        return "D"
    if node.offline:
        return "O"
    return "R"


def _instances(ctx, node):
    return nice_sort(i.name for i in ctx.cfg.instances.values()
                     if i.primary_node == node.uuid)


def _secondary_instances(ctx, node):
    """
    The instances mirroring their disks onto C{node} (Ganeti's
    ``sinst_list``); worked out once per query for all nodes.
    """
    if ctx.secondaries is None:
        ctx.secondaries = {}
        for inst in ctx.cfg.instances.values():
            for uuid in secondary_nodes(ctx.cfg, inst):
                ctx.secondaries.setdefault(uuid, []).append(inst.name)
    return nice_sort(ctx.secondaries.get(node.uuid, []))


def _live(key):
    def getter(ctx, node):
        if node.offline:
            return Offline
        if not node.vm_capable:
            return Unavailable
        info = ctx.live.get(node.uuid)
        if info is None:
            return NoData
        value = info.get(key)
        return Unavailable if value is None else value
    return getter


def _ndparams(ctx, node):
    # Defaults, cluster, group, node: what is in force on the node.
    from ganeti.params import fill_ndparams
    return fill_ndparams(ctx.cfg, node)


def _node_fields():
    f = Field
    fields = [
        f("name", "Node", QFT_TEXT, "Node name", lambda c, n: n.name),
        f("uuid", "UUID", QFT_TEXT, "Node UUID", lambda c, n: n.uuid),
        f("pip", "PrimaryIP", QFT_TEXT, "Primary IP address",
          lambda c, n: n.primary_ip),
        f("sip", "SecondaryIP", QFT_TEXT, "Secondary IP address",
          lambda c, n: n.secondary_ip),
        f("master", "IsMaster", QFT_BOOL, "Whether node is master",
          lambda c, n: n.uuid == c.cfg.cluster.master_node),
        f("master_candidate", "MasterC", QFT_BOOL,
          "Whether node is a master candidate", lambda c, n: n.master_candidate),
        f("master_capable", "MasterCapable", QFT_BOOL,
          "Whether node can become a master candidate",
          lambda c, n: n.master_capable),
        f("vm_capable", "VMCapable", QFT_BOOL, "Whether node can host instances",
          lambda c, n: n.vm_capable),
        f("drained", "Drained", QFT_BOOL, "Whether node is drained",
          lambda c, n: n.drained),
        f("offline", "Offline", QFT_BOOL, "Whether node is marked offline",
          lambda c, n: n.offline),
        f("role", "Role", QFT_TEXT, "Node role; \"M\" for master, \"C\" for"
          " master candidate, \"R\" for regular, \"D\" for drained, \"O\" for"
          " offline", _role),
        f("group", "Group", QFT_TEXT, "Node group",
          lambda c, n: c.cfg.nodegroups[n.group].name),
        f("group.uuid", "GroupUUID", QFT_TEXT, "UUID of node group",
          lambda c, n: n.group),
        f("pinst_cnt", "Pinst", QFT_NUMBER,
          "Number of instances with this node as primary",
          lambda c, n: len(_instances(c, n))),
        f("sinst_cnt", "Sinst", QFT_NUMBER,
          "Number of instances with this node as secondary",
          lambda c, n: len(_secondary_instances(c, n))),
        f("pinst_list", "PriInstances", QFT_OTHER,
          "List of instances with this node as primary", _instances),
        f("sinst_list", "SecInstances", QFT_OTHER,
          "List of instances with this node as secondary",
          _secondary_instances),
        f("tags", "Tags", QFT_OTHER, "Tags", lambda c, n: list(n.tags)),
        f("powered", "Powered", QFT_BOOL, "Whether node is thought to be"
          " powered on", lambda c, n: Unavailable),
        f("ndparams", "NodeParameters", QFT_OTHER, "Merged node parameters",
          _ndparams),
        f("custom_ndparams", "CustomNodeParameters", QFT_OTHER,
          "Custom node parameters", lambda c, n: dict(n.ndparams)),
        f("hv_state", "HypervisorState", QFT_OTHER, "Hypervisor state",
          lambda c, n: {}),
        f("disk_state", "DiskState", QFT_OTHER, "Disk state", lambda c, n: {}),
        *object_fields("Node"),
        f("mtotal", "MTotal", QFT_UNIT, "Total amount of memory of physical"
          " machine", _live("memory_total")),
        f("mnode", "MNode", QFT_UNIT, "Amount of memory used by node (dom0 for"
          " Xen)", _live("memory_dom0")),
        f("mfree", "MFree", QFT_UNIT, "Memory available for instance"
          " allocations", _live("memory_free")),
        f("dtotal", "DTotal", QFT_UNIT, "Total amount of disk space in the"
          " default storage", _live("storage_size")),
        f("dfree", "DFree", QFT_UNIT, "Available disk space in the default"
          " storage", _live("storage_free")),
        f("ctotal", "CTotal", QFT_NUMBER, "Number of logical processors",
          _live("cpu_total")),
        f("cnos", "CNOs", QFT_NUMBER, "Number of logical processors used by"
          " the node OS (dom0 for Xen)", _live("cpu_dom0")),
        f("cnodes", "CNodes", QFT_NUMBER, "Number of NUMA domains on node",
          _live("cpu_nodes")),
        f("csockets", "CSockets", QFT_NUMBER, "Number of physical CPU sockets",
          _live("cpu_sockets")),
        f("bootid", "BootID", QFT_TEXT, "Random UUID renewed for each system"
          " reboot, can be used for detecting reboots by tracking changes",
          _live("bootid")),
        f("sptotal", "SpTotal", QFT_NUMBER, "Total number of physical disk"
          " spindles", _live("spindles_total")),
        f("spfree", "SpFree", QFT_NUMBER, "Available number of physical disk"
          " spindles", _live("spindles_free")),
    ]
    for name in sorted(constants.ND_DEFAULTS):
        fields.append(f("ndp/%s" % name, name, QFT_OTHER,
                        "The \"%s\" node parameter" % name,
                        lambda c, n, name=name: _ndparams(c, n)[name]))
    return fields


NODE_FIELDS = FieldSet(_node_fields(), item_kind="Node")


# --- DRBD minors (gnt-node list-drbd) ------------------------------------------

def node_drbd_minors(cfg, node_uuid):
    """
    The DRBD minors the config gives C{node_uuid}, as Ganeti's confd
    answers its ``node-drbd`` request (and ``gnt-cluster verify`` expects
    them): one entry per mirror side on the node.

    :return: C{[(minor, instance, disk index, disk uuid, role, peer node
        uuid)]}, C{role} being ``primary`` or ``secondary``, in config
        order.
    """
    found = []
    for inst in cfg.instances.values():
        role = "primary" if inst.primary_node == node_uuid else "secondary"
        for index, disk_uuid in enumerate(inst.disks):
            disk = cfg.disks.get(disk_uuid)
            if disk is None:
                continue
            for minor, peer in _drbd_sides(disk, node_uuid):
                found.append((minor, inst, index, disk.uuid, role, peer))
    return found


def _drbd_sides(disk, node_uuid):
    """:return: C{[(minor, peer uuid)]} of C{node_uuid} in a disk tree."""
    sides = []
    if disk.dev_type == "drbd" and len(disk.logical_id) == 6:
        node_a, node_b, _, minor_a, minor_b, _ = disk.logical_id
        if node_a == node_uuid:
            sides.append((minor_a, node_b))
        elif node_b == node_uuid:
            sides.append((minor_b, node_a))
    for child in disk.children:
        sides.extend(_drbd_sides(child, node_uuid))
    return sides


def node_drbd_rows(cfg, node_name):
    """
    ``gnt-node list-drbd``'s rows for a node named (or given by uuid).

    :return: sorted C{[node, minor, instance, "disk/N", role, peer]},
        names rather than uuids.
    :raise OpPrereqError: if there is no such node.
    """
    node = cfg.nodes.get(node_name) or next(
        (n for n in cfg.nodes.values() if n.name == node_name), None)
    if node is None:
        raise errors.OpPrereqError("Node name %s not found" % node_name,
                                   "noent")

    def name(uuid):
        peer = cfg.nodes.get(uuid)
        return peer.name if peer is not None else uuid
    return sorted([node.name, minor, inst.name, "disk/%d" % index, role,
                   name(peer)]
                  for minor, inst, index, _, role, peer
                  in node_drbd_minors(cfg, node.uuid))


# --- operating systems --------------------------------------------------------

def _os_fields():
    f = Field
    return [
        f("name", "Name", QFT_TEXT, "Operating system name",
          lambda c, o: o["name"]),
        f("valid", "Valid", QFT_BOOL, "Whether operating system definition is"
          " valid", lambda c, o: o["valid"]),
        f("hidden", "Hidden", QFT_BOOL, "Whether operating system is hidden",
          lambda c, o: o["name"] in c.cluster.hidden_os),
        f("blacklisted", "Blacklisted", QFT_BOOL,
          "Whether operating system is blacklisted",
          lambda c, o: o["name"] in c.cluster.blacklisted_os),
        f("variants", "Variants", QFT_OTHER, "Operating system variants",
          lambda c, o: o["variants"]),
        f("api_versions", "ApiVersions", QFT_OTHER,
          "Operating system API versions", lambda c, o: o["api_versions"]),
        f("parameters", "Parameters", QFT_OTHER,
          "Operating system parameters", lambda c, o: o["parameters"]),
        f("node_status", "NodeStatus", QFT_OTHER,
          "Status from node", lambda c, o: o["node_status"]),
        f("os_hvp", "OsHypervisorParams", QFT_OTHER,
          "Operating system specific hypervisor parameters",
          lambda c, o: c.cluster.os_hvp.get(o["name"], {})),
        f("osparams", "OsParameters", QFT_OTHER,
          "Operating system specific parameters",
          lambda c, o: c.cluster.osparams.get(o["name"], {})),
        f("trusted", "Trusted", QFT_BOOL, "Whether this OS is trusted",
          lambda c, o: True),
    ]


OS_FIELDS = FieldSet(_os_fields(), item_kind="OS")


class OsContext:
    """What OS getters read: the cluster's hidden, blacklisted and per-OS
    parameters."""

    def __init__(self, cluster):
        self.cluster = cluster


# --- node groups ------------------------------------------------------------

def _group_nodes(ctx, group):
    return nice_sort(n.name for n in ctx.cfg.nodes.values() if n.group == group.uuid)


def _group_instances(ctx, group):
    members = {n.uuid for n in ctx.cfg.nodes.values() if n.group == group.uuid}
    return nice_sort(i.name for i in ctx.cfg.instances.values()
                     if i.primary_node in members)


def _merged_diskparams(cluster, group):
    """Group disk parameters override the cluster's per template and key."""
    merged = {template: dict(params) for template, params in cluster.items()}
    for template, params in group.items():
        merged[template] = dict(merged.get(template, {}), **params)
    return merged


def _group_fields():
    f = Field
    return [
        f("name", "Group", QFT_TEXT, "Group name", lambda c, g: g.name),
        f("uuid", "UUID", QFT_TEXT, "Group UUID", lambda c, g: g.uuid),
        f("alloc_policy", "AllocPolicy", QFT_TEXT, "Allocation policy for group",
          lambda c, g: g.alloc_policy),
        f("node_cnt", "Nodes", QFT_NUMBER, "Number of nodes",
          lambda c, g: len(_group_nodes(c, g))),
        f("node_list", "NodeList", QFT_OTHER, "List of nodes", _group_nodes),
        f("pinst_cnt", "Instances", QFT_NUMBER,
          "Number of primary instances", lambda c, g: len(_group_instances(c, g))),
        f("pinst_list", "InstanceList", QFT_OTHER,
          "List of primary instances", _group_instances),
        f("tags", "Tags", QFT_OTHER, "Tags", lambda c, g: list(g.tags)),
        f("ipolicy", "InstancePolicy", QFT_OTHER, "Instance policy limitations"
          " (merged)", lambda c, g: dict(c.cfg.cluster.ipolicy, **g.ipolicy)),
        f("custom_ipolicy", "CustomInstancePolicy", QFT_OTHER,
          "Custom instance policy limitations", lambda c, g: dict(g.ipolicy)),
        f("ndparams", "NDParams", QFT_OTHER, "Node parameters",
          lambda c, g: dict(c.cfg.cluster.ndparams, **g.ndparams)),
        f("custom_ndparams", "CustomNDParams", QFT_OTHER,
          "Custom node parameters", lambda c, g: dict(g.ndparams)),
        f("diskparams", "DiskParameters", QFT_OTHER, "Disk parameters (merged)",
          lambda c, g: _merged_diskparams(c.cfg.cluster.diskparams,
                                          g.diskparams)),
        f("custom_diskparams", "CustomDiskParameters", QFT_OTHER,
          "Custom disk parameters", lambda c, g: dict(g.diskparams)),
        *object_fields("Group"),
    ]


GROUP_FIELDS = FieldSet(_group_fields(), item_kind="Group")
