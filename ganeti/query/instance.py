# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
Instance query fields (``gnt-instance list``), with Ganeti's names,
titles and statuses.

Most fields come from the configuration; ``status``, ``oper_*`` and
``console`` read what the nodes said, which the caller gathers (only when
such a field is requested) and hands over in the L{Context}.
"""

from ganeti import constants
from ganeti.params import (
    fill_beparams, fill_hvparams, fill_nicparams, secondary_nodes)
from ganeti.query import (
    Field, FieldSet, NoData, Offline, QFT_BOOL, QFT_NUMBER, QFT_OTHER, QFT_TEXT,
    QFT_UNIT, Unavailable, object_fields)

#: Fields whose values need the nodes.
LIVE_FIELDS = frozenset(["status", "oper_state", "oper_ram", "oper_vcpus",
                         "console"])

MAX_DISKS = 16
MAX_NICS = 8


class Context:
    """
    What instance getters read: the config and, for live fields, what the
    nodes said (C{live} maps node uuid to ``{instance name: info}`` or to
    None for a node that did not answer; C{consoles} maps the uuid of a
    running instance to its console dict).
    """

    def __init__(self, cfg, live=None, consoles=None):
        self.cfg = cfg
        self.live = live
        self.consoles = consoles or {}
        self._nicparams = {}

    def nicparams(self, nic):
        """
        The NIC's parameters with the cluster defaults filled in, once per
        NIC and query: eight ``nic.*`` fields of a bulk list need them.
        """
        params = self._nicparams.get(nic.uuid)
        if params is None:
            params = fill_nicparams(self.cfg.cluster, nic.nicparams)
            self._nicparams[nic.uuid] = params
        return params

    def disks(self, inst):
        return [self.cfg.disks[u] for u in inst.disks if u in self.cfg.disks]

    def pnode(self, inst):
        return self.cfg.nodes.get(inst.primary_node)

    def snodes(self, inst):
        """:return: the instance's secondary L{Node}s (a drbd disk's peer)."""
        return [self.cfg.nodes[uuid] for uuid in secondary_nodes(self.cfg, inst)
                if uuid in self.cfg.nodes]


def status(ctx, inst):
    """Ganeti's instance status word (running, ADMIN_down, ERROR_down...)."""
    if inst.admin_state == constants.ADMINST_OFFLINE:
        return "ADMIN_offline"
    node = ctx.pnode(inst)
    if node is None or node.offline:
        return "ERROR_nodeoffline"
    answers = ctx.live.get(inst.primary_node)
    if answers is None:
        return "ERROR_nodedown"
    up = inst.admin_state == constants.ADMINST_UP
    if inst.name in answers:
        return "running" if up else "ERROR_up"
    for node_uuid, other in ctx.live.items():
        if other and node_uuid != inst.primary_node and inst.name in other:
            return "ERROR_wrongnode"
    if up:
        return "ERROR_down"
    if inst.admin_state_source == "user":
        return "USER_down"
    return "ADMIN_down"


def _console(ctx, inst):
    running = _live(None)(ctx, inst)
    if running is not True:
        return Unavailable if running is False else running
    return ctx.consoles.get(inst.uuid, Unavailable)


def _live(key):
    def getter(ctx, inst):
        node = ctx.pnode(inst)
        if node is None or node.offline:
            return Offline
        answers = ctx.live.get(inst.primary_node)
        if answers is None:
            return NoData
        info = answers.get(inst.name)
        if info is None:
            return False if key is None else Unavailable
        return True if key is None else info.get(key)
    return getter


def _nic_values(ctx, inst, key):
    values = []
    for nic in inst.nics:
        if key in ("mode", "link", "vlan"):
            values.append(ctx.nicparams(nic).get(key))
        elif key == "network_name":
            network = ctx.cfg.networks.get(nic.network)
            values.append(network.name if network else None)
        elif key == "bridge":
            params = ctx.nicparams(nic)
            values.append(params["link"] if params["mode"] in
                          ("bridged", "openvswitch") else None)
        else:
            values.append(getattr(nic, key))
    return values


def _indexed(values, index):
    return values[index] if index < len(values) else Unavailable


def _fields():
    f = Field
    fields = [
        f("name", "Instance", QFT_TEXT, "Instance name", lambda c, i: i.name),
        f("uuid", "UUID", QFT_TEXT, "Instance UUID", lambda c, i: i.uuid),
        f("os", "OS", QFT_TEXT, "Operating system", lambda c, i: i.os),
        f("hypervisor", "Hypervisor", QFT_TEXT, "Hypervisor name",
          lambda c, i: i.hypervisor),
        f("disk_template", "Disk_template", QFT_TEXT,
          "Instance disk template", lambda c, i: i.disk_template),
        f("pnode", "Primary_node", QFT_TEXT, "Primary node",
          lambda c, i: c.pnode(i).name if c.pnode(i) else Unavailable),
        f("pnode.group", "PrimaryNodeGroup", QFT_TEXT,
          "Primary node's group",
          lambda c, i: c.cfg.nodegroups[c.pnode(i).group].name),
        f("pnode.group.uuid", "PrimaryNodeGroupUUID", QFT_TEXT,
          "Primary node's group UUID", lambda c, i: c.pnode(i).group),
        f("snodes", "Secondary_Nodes", QFT_OTHER, "Secondary nodes",
          lambda c, i: [n.name for n in c.snodes(i)]),
        f("snodes.group", "SecondaryNodesGroups", QFT_OTHER,
          "Node groups of secondary nodes",
          lambda c, i: [c.cfg.nodegroups[n.group].name for n in c.snodes(i)]),
        f("snodes.group.uuid", "SecondaryNodesGroupsUUID", QFT_OTHER,
          "Node group UUIDs of secondary nodes",
          lambda c, i: [n.group for n in c.snodes(i)]),
        f("admin_state", "InstanceState", QFT_TEXT,
          "Desired state of instance", lambda c, i: i.admin_state),
        f("admin_up", "Autostart", QFT_BOOL,
          "Desired state of instance (up or down)",
          lambda c, i: i.admin_state == constants.ADMINST_UP),
        f("admin_state_source", "InstanceStateSource", QFT_TEXT,
          "Who last changed the desired state", lambda c, i: i.admin_state_source),
        f("disks_active", "DisksActive", QFT_BOOL,
          "Desired state of instance disks", lambda c, i: i.disks_active),
        f("forthcoming", "Forthcoming", QFT_BOOL,
          "Whether the instance is forthcoming", lambda c, i: False),
        f("tags", "Tags", QFT_OTHER, "Tags", lambda c, i: list(i.tags)),
        f("network_port", "Network_port", QFT_OTHER,
          "Instance network port if available (e.g. for VNC console)",
          lambda c, i: i.network_port if i.network_port else Unavailable),
        f("status", "Status", QFT_TEXT, "Instance status", status),
        f("oper_state", "Running", QFT_BOOL, "Actual state of instance",
          _live(None)),
        f("oper_ram", "Memory", QFT_UNIT,
          "Actual memory usage as seen by hypervisor", _live("memory")),
        f("oper_vcpus", "VCPUs", QFT_NUMBER,
          "Actual number of VCPUs as seen by hypervisor", _live("vcpus")),
        f("console", "Console", QFT_OTHER,
          "Instance console information", _console),
        f("hvparams", "HypervisorParameters", QFT_OTHER,
          "Hypervisor parameters (merged)",
          lambda c, i: fill_hvparams(c.cfg.cluster, i.hypervisor, i.os,
                                     i.hvparams)),
        f("beparams", "BackendParameters", QFT_OTHER,
          "Backend parameters (merged)",
          lambda c, i: fill_beparams(c.cfg.cluster, i.beparams)),
        f("osparams", "OpSysParameters", QFT_OTHER,
          "Operating system parameters (merged)",
          lambda c, i: dict(c.cfg.cluster.osparams.get(i.os.split("+")[0], {}),
                            **i.osparams)),
        f("custom_hvparams", "CustomHypervisorParameters", QFT_OTHER,
          "Custom hypervisor parameters", lambda c, i: dict(i.hvparams)),
        f("custom_beparams", "CustomBackendParameters", QFT_OTHER,
          "Custom backend parameters", lambda c, i: dict(i.beparams)),
        f("custom_osparams", "CustomOpSysParameters", QFT_OTHER,
          "Custom operating system parameters", lambda c, i: dict(i.osparams)),
        f("custom_nicparams", "CustomNicParameters", QFT_OTHER,
          "Custom network interface parameters",
          lambda c, i: [dict(n.nicparams) for n in i.nics]),
        f("disk_usage", "DiskUsage", QFT_UNIT, "Total disk space used by"
          " instance on each of its nodes; this is not the disk size visible"
          " to the instance, but the usage on the node",
          lambda c, i: sum(d.size for d in c.disks(i))),
        f("disk.count", "Disks", QFT_NUMBER, "Number of disks",
          lambda c, i: len(i.disks)),
        f("disk.sizes", "Disk_sizes", QFT_OTHER, "List of disk sizes",
          lambda c, i: [d.size for d in c.disks(i)]),
        f("disk.spindles", "Disk_spindles", QFT_OTHER,
          "List of disk spindles", lambda c, i: [d.spindles for d in c.disks(i)]),
        f("disk.names", "Disk_names", QFT_OTHER, "List of disk names",
          lambda c, i: [d.name for d in c.disks(i)]),
        f("disk.uuids", "Disk_UUIDs", QFT_OTHER, "List of disk UUIDs",
          lambda c, i: [d.uuid for d in c.disks(i)]),
        f("nic.count", "NICs", QFT_NUMBER, "Number of network interfaces",
          lambda c, i: len(i.nics)),
        *object_fields("Instance"),
    ]
    for key, name, title, doc in (
            ("mac", "nic.macs", "NIC_MACs", "List containing each network"
             " interface's MAC address"),
            ("ip", "nic.ips", "NIC_IPs", "List containing each network"
             " interface's IP address"),
            ("name", "nic.names", "NIC_Names", "List containing each network"
             " interface's name"),
            ("uuid", "nic.uuids", "NIC_UUIDs", "List containing each network"
             " interface's UUID"),
            ("mode", "nic.modes", "NIC_modes", "List containing each network"
             " interface's mode"),
            ("link", "nic.links", "NIC_links", "List containing each network"
             " interface's link"),
            ("vlan", "nic.vlans", "NIC_VLANs", "List containing each network"
             " interface's VLAN"),
            ("bridge", "nic.bridges", "NIC_bridges", "List containing each"
             " network interface's bridge"),
            ("network", "nic.networks", "NIC_networks", "List containing each"
             " interface's network"),
            ("network_name", "nic.networks.names", "NIC_networks_names",
             "List containing each interface's network name")):
        fields.append(f(name, title, QFT_OTHER, doc,
                        lambda c, i, key=key: _nic_values(c, i, key)))
    for index in range(MAX_NICS):
        for key, prefix, title in (("ip", "nic.ip", "NicIP"), ("mac", "nic.mac", "NicMAC"),
                                   ("name", "nic.name", "NicName"),
                                   ("uuid", "nic.uuid", "NicUUID"),
                                   ("mode", "nic.mode", "NicMode"),
                                   ("link", "nic.link", "NicLink"),
                                   ("bridge", "nic.bridge", "NicBridge"),
                                   ("vlan", "nic.vlan", "NicVLAN"),
                                   ("network", "nic.network", "NicNetwork"),
                                   ("network_name", "nic.network.name",
                                    "NicNetworkName")):
            fields.append(f(
                "%s/%d" % (prefix, index), "%s/%d" % (title, index), QFT_TEXT,
                "%s of %d. network interface" % (title, index + 1),
                lambda c, i, key=key, index=index:
                _indexed(_nic_values(c, i, key), index)))
    for index in range(MAX_DISKS):
        fields.extend([
            f("disk.size/%d" % index, "Disk/%d" % index, QFT_UNIT,
              "Disk size of %d. disk" % (index + 1),
              lambda c, i, n=index: _indexed([d.size for d in c.disks(i)], n)),
            f("disk.spindles/%d" % index, "DiskSpindles/%d" % index, QFT_NUMBER,
              "Spindles of %d. disk" % (index + 1),
              lambda c, i, n=index: _indexed([d.spindles for d in c.disks(i)], n)),
            f("disk.name/%d" % index, "DiskName/%d" % index, QFT_TEXT,
              "Name of %d. disk" % (index + 1),
              lambda c, i, n=index: _indexed([d.name for d in c.disks(i)], n)),
            f("disk.uuid/%d" % index, "DiskUUID/%d" % index, QFT_TEXT,
              "UUID of %d. disk" % (index + 1),
              lambda c, i, n=index: _indexed([d.uuid for d in c.disks(i)], n)),
        ])
    hv_names = sorted({name for params in constants.HV_DEFAULTS.values()
                       for name in params} - set(constants.HV_GLOBALS))
    for name in hv_names:
        fields.append(f("hv/%s" % name, name, QFT_OTHER,
                        "The \"%s\" hypervisor parameter" % name,
                        lambda c, i, name=name: fill_hvparams(
                            c.cfg.cluster, i.hypervisor, i.os,
                            i.hvparams).get(name, Unavailable)))
    for name in sorted(constants.BE_DEFAULTS):
        fields.append(f("be/%s" % name, name, QFT_OTHER,
                        "The \"%s\" backend parameter" % name,
                        lambda c, i, name=name: fill_beparams(
                            c.cfg.cluster, i.beparams)[name]))
    return fields


INSTANCE_FIELDS = FieldSet(_fields(), aliases=[
    ("vcpus", "be/vcpus"), ("be/memory", "be/maxmem"),
    ("sda_size", "disk.size/0"), ("sdb_size", "disk.size/1"),
    ("ip", "nic.ip/0"), ("mac", "nic.mac/0"), ("bridge", "nic.bridge/0"),
    ("nic_mode", "nic.mode/0"), ("nic_link", "nic.link/0"),
    ("nic_network", "nic.network/0")], item_kind="Instance")
