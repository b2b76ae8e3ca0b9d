# -*- test-case-name: tests.test_config -*-
"""
The cluster's configuration objects, as immutable ``attrs`` values.

Frozen values make the single config writer the only place where state
changes: a logical unit builds a new value with L{attrs.evolve} and hands
it to the writer, which bumps serial numbers and saves atomically.  The
dict form of every object uses Ganeti's ``config.data`` key names.
"""

import attrs

from ganeti import constants


def _dict():
    return attrs.field(factory=dict)


def _list():
    return attrs.field(factory=list)


class ConfigObject:
    """Shared (de)serialisation of config objects."""

    def to_dict(self):
        """:return: the JSON-able form, as stored in ``config.data``."""
        return attrs.asdict(self, recurse=True)

    @classmethod
    def from_dict(cls, data):
        """
        Build an object from its stored form, ignoring keys this version
        does not know (a newer writer must not make the file unreadable).
        """
        names = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@attrs.frozen
class Cluster(ConfigObject):
    """Cluster-wide settings and parameter defaults."""

    cluster_name: str
    uuid: str
    master_node: str
    master_ip: str
    master_netdev: str
    master_netmask: int = 32
    use_external_mip_script: bool = False
    mac_prefix: str = constants.DEFAULT_MAC_PREFIX
    volume_group_name: str = ""
    reserved_lvs: list = _list()
    drbd_usermode_helper: str = ""
    default_hypervisor: str = "fake"
    enabled_hypervisors: list = _list()
    hvparams: dict = _dict()
    os_hvp: dict = _dict()
    beparams: dict = _dict()
    osparams: dict = _dict()
    osparams_private_cluster: dict = _dict()
    nicparams: dict = _dict()
    ndparams: dict = _dict()
    diskparams: dict = _dict()
    ipolicy: dict = _dict()
    candidate_pool_size: int = constants.DEFAULT_CANDIDATE_POOL_SIZE
    max_running_jobs: int = constants.DEFAULT_MAX_RUNNING_JOBS
    max_tracked_jobs: int = constants.DEFAULT_MAX_TRACKED_JOBS
    modify_etc_hosts: bool = True
    modify_ssh_setup: bool = True
    maintain_node_health: bool = False
    uid_pool: list = _list()
    default_iallocator: str = ""
    default_iallocator_params: dict = _dict()
    hidden_os: list = _list()
    blacklisted_os: list = _list()
    primary_ip_family: int = 2
    prealloc_wipe_disks: bool = False
    enabled_disk_templates: list = _list()
    file_storage_dir: str = ""
    shared_file_storage_dir: str = ""
    gluster_storage_dir: str = ""
    install_image: str = ""
    instance_communication_network: str = ""
    zeroing_image: str = ""
    compression_tools: list = attrs.field(
        factory=lambda: ["gzip", "gzip-fast", "gzip-slow"])
    enabled_user_shutdown: bool = False
    ssh_key_type: str = "rsa"
    ssh_key_bits: int = 2048
    highest_used_port: int = 0
    tcpudp_port_pool: list = _list()
    candidate_certs: dict = _dict()
    tags: list = _list()
    serial_no: int = 1
    ctime: float = 0.0
    mtime: float = 0.0


@attrs.frozen
class Node(ConfigObject):
    """One physical node."""

    name: str
    uuid: str
    primary_ip: str
    secondary_ip: str
    group: str
    master_candidate: bool = True
    offline: bool = False
    drained: bool = False
    master_capable: bool = True
    vm_capable: bool = True
    powered: bool = True
    ndparams: dict = _dict()
    tags: list = _list()
    serial_no: int = 1
    ctime: float = 0.0
    mtime: float = 0.0


@attrs.frozen
class NodeGroup(ConfigObject):
    """A set of nodes sharing parameters and policy."""

    name: str
    uuid: str
    alloc_policy: str = "preferred"
    ndparams: dict = _dict()
    diskparams: dict = _dict()
    ipolicy: dict = _dict()
    networks: dict = _dict()
    hv_state_static: dict = _dict()
    disk_state_static: dict = _dict()
    tags: list = _list()
    serial_no: int = 1
    ctime: float = 0.0
    mtime: float = 0.0


@attrs.frozen
class NIC(ConfigObject):
    """A network interface of an instance."""

    mac: str
    uuid: str
    ip: str = None
    network: str = None
    name: str = None
    nicparams: dict = _dict()


@attrs.frozen
class Disk(ConfigObject):
    """A disk of an instance, stored in the config's ``disks`` map."""

    uuid: str
    dev_type: str
    size: int
    mode: str = "rw"
    logical_id: list = _list()
    nodes: list = _list()
    iv_name: str = ""
    name: str = None
    spindles: int = None
    params: dict = _dict()
    #: The disks this one is made of (a ``drbd`` disk's data and metadata
    #: volumes), stored inside it as in Ganeti.
    children: list = _list()
    serial_no: int = 1
    ctime: float = 0.0
    mtime: float = 0.0

    @classmethod
    def from_dict(cls, data):
        disk = super().from_dict(data)
        return attrs.evolve(disk, children=[
            Disk.from_dict(c) if isinstance(c, dict) else c
            for c in disk.children])


@attrs.frozen
class Instance(ConfigObject):
    """A virtual machine."""

    name: str
    uuid: str
    primary_node: str
    os: str
    hypervisor: str
    disk_template: str
    admin_state: str = constants.ADMINST_DOWN
    admin_state_source: str = "admin"
    hvparams: dict = _dict()
    beparams: dict = _dict()
    osparams: dict = _dict()
    osparams_private: dict = _dict()
    nics: list = _list()
    disks: list = _list()
    disks_active: bool = False
    network_port: int = None
    tags: list = _list()
    serial_no: int = 1
    ctime: float = 0.0
    mtime: float = 0.0

    def to_dict(self):
        data = ConfigObject.to_dict(self)
        data["nics"] = [n.to_dict() if isinstance(n, NIC) else n
                        for n in self.nics]
        return data

    @classmethod
    def from_dict(cls, data):
        instance = super().from_dict(data)
        return attrs.evolve(instance, nics=[
            NIC.from_dict(n) if isinstance(n, dict) else n for n in instance.nics])


@attrs.frozen
class Network(ConfigObject):
    """
    An IP network instances' NICs may join, with its address pool.

    The pool is kept as Ganeti keeps it, so a ``config.data`` reads the
    same to an operator used to Ganeti: C{reservations} (addresses given
    to NICs) and C{ext_reservations} (network, broadcast, gateway and
    operator-reserved addresses) are strings of ``0``/``1``, one character
    per address of C{network}.  L{ganeti.network} reads and changes them.
    """

    name: str
    uuid: str
    network: str
    gateway: str = None
    network6: str = None
    gateway6: str = None
    mac_prefix: str = None
    reservations: str = ""
    ext_reservations: str = ""
    tags: list = _list()
    serial_no: int = 1
    ctime: float = 0.0
    mtime: float = 0.0


@attrs.frozen
class ConfigData(ConfigObject):
    """
    The whole ``config.data``: every object keyed by uuid.
    """

    cluster: Cluster
    nodes: dict = _dict()
    nodegroups: dict = _dict()
    instances: dict = _dict()
    disks: dict = _dict()
    networks: dict = _dict()
    filters: dict = _dict()
    version: int = constants.CONFIG_VERSION
    serial_no: int = 1
    ctime: float = 0.0
    mtime: float = 0.0

    _MAPS = (("nodes", Node), ("nodegroups", NodeGroup),
             ("instances", Instance), ("disks", Disk),
             ("networks", Network))

    def to_dict(self):
        data = {"version": self.version, "serial_no": self.serial_no,
                "ctime": self.ctime, "mtime": self.mtime,
                "cluster": self.cluster.to_dict(),
                "filters": dict(self.filters)}
        for key, _ in self._MAPS:
            data[key] = {uuid: obj.to_dict()
                         for uuid, obj in getattr(self, key).items()}
        return data

    @classmethod
    def from_dict(cls, data):
        kwargs = {"cluster": Cluster.from_dict(data["cluster"])}
        for key, kind in cls._MAPS:
            kwargs[key] = {uuid: kind.from_dict(value)
                           for uuid, value in data.get(key, {}).items()}
        for key in ("filters", "version", "serial_no", "ctime", "mtime"):
            if key in data:
                kwargs[key] = data[key]
        return cls(**kwargs)

    def node_by_name(self, name):
        """:return: the node called C{name}, or None."""
        for node in self.nodes.values():
            if node.name == name:
                return node
        return None

    def instance_by_name(self, name):
        """:return: the instance called C{name}, or None."""
        for instance in self.instances.values():
            if instance.name == name:
                return instance
        return None

    def group_by_name(self, name):
        """:return: the node group called C{name}, or None."""
        for group in self.nodegroups.values():
            if group.name == name:
                return group
        return None

    def network_by_name(self, name):
        """:return: the network called C{name}, or None."""
        for network in self.networks.values():
            if network.name == name:
                return network
        return None

    @property
    def master_node(self):
        """:return: the master's L{Node}."""
        return self.nodes[self.cluster.master_node]
