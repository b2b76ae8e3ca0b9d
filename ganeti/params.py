# -*- test-case-name: tests.test_params -*-
"""
Parameter dicts (hv, be, nd, nic, disk params): checking, merging and
filling them in.

The CLI sends ``key=value`` strings; the master turns them into the type of
the parameter's default, so ``acpi=false`` becomes ``False`` and
``maxmem=512`` becomes ``512`` whichever client sent them.  What is in
force for an instance is its own values over the OS's over the cluster's
over the built-in defaults.

Pure config logic, below the logical units: cluster init, the queries,
the allocator protocol and the logical units all fill parameters the same
way.
"""

from ganeti import constants, errors

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _coerce(value, default, name, what):
    wanted = type(default)
    if value is None or isinstance(value, wanted) and not (
            wanted is int and isinstance(value, bool)):
        return value
    if wanted is bool:
        text = str(value).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    elif wanted is int and not isinstance(value, bool):
        try:
            return int(value)
        except (TypeError, ValueError):
            pass
    elif wanted is float and not isinstance(value, bool):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    elif wanted is str and isinstance(value, (int, float)):
        return str(value)
    raise errors.OpPrereqError(
        "Invalid value %r for %s parameter '%s': expected %s"
        % (value, what, name, {bool: "a boolean", int: "an integer",
                               float: "a number", str: "a string"}.get(wanted, wanted.__name__)),
        "wrong_input")


def force_types(params, defaults, what):
    """
    Check names and convert values of a parameter dict.

    :param params: the dict given by the user.
    :param defaults: the known parameters with their default values.
    :param what: a word for messages (``hypervisor``, ``backend`` ...).
    :return: a new dict with converted values (None means "reset").
    :raise OpPrereqError: naming the unknown parameter or bad value.
    """
    if not isinstance(params, dict):
        raise errors.OpPrereqError("Invalid %s parameters: expected a"
                                   " dictionary" % what, "wrong_input")
    result = {}
    for name, value in params.items():
        if what == "backend" and name == "memory":
            # Ganeti's legacy spelling sets both memory sizes.
            for alias in ("maxmem", "minmem"):
                result[alias] = _coerce(value, defaults[alias], alias, what)
            continue
        if name not in defaults:
            raise errors.OpPrereqError(
                "Unknown %s parameter '%s'" % (what, name), "wrong_input")
        result[name] = _coerce(value, defaults[name], name, what)
    return result


def merge_params(current, changes, defaults, what):
    """
    Apply C{changes} to a parameter dict; a None value resets a parameter
    to its default.
    """
    merged = dict(current)
    for name, value in force_types(changes, defaults, what).items():
        merged[name] = defaults[name] if value is None else value
    return merged


def _check_names(names, known, none_message, bad_message):
    if not names:
        raise errors.OpPrereqError(none_message, "wrong_input")
    bad = [n for n in names if n not in known]
    if bad:
        raise errors.OpPrereqError(
            "%s contains invalid entries: %s (valid: %s)"
            % (bad_message, ", ".join(bad), ", ".join(known)), "wrong_input")


def check_hypervisors(names, defaulted=False):
    """
    Refuse, when a cluster is set up or modified, a hypervisor it could
    never run, rather than at the first instance.

    :param defaulted: the names are Ganeti's default, not the operator's.
    :raise OpPrereqError: unless every name is a known hypervisor this
        implementation can run.
    """
    _check_names(names, constants.HYPERVISORS,
                 "At least one hypervisor must be enabled",
                 "Enabled hypervisors")
    missing = [n for n in names if n not in constants.IMPLEMENTED_HYPERVISORS]
    if missing:
        raise errors.OpPrereqError(
            "Hypervisor %s%s is not available in this implementation, which"
            " runs %s; choose with --enabled-hypervisors"
            % (", ".join(missing),
               " (Ganeti's default when no hypervisor is given)"
               if defaulted else "",
               ", ".join(constants.IMPLEMENTED_HYPERVISORS)), "wrong_input")


def check_disk_templates(names):
    """:raise OpPrereqError: unless every name is a known disk template."""
    _check_names(names, constants.DISK_TEMPLATES,
                 "At least one disk template must be enabled",
                 "Cluster-wide disk template list")


def _merge_nested(current, changes, defaults_by_key, kind, what):
    merged = {key: dict(params) for key, params in current.items()}
    for key, params in changes.items():
        if key not in defaults_by_key:
            raise errors.OpPrereqError("Unknown %s '%s'" % (kind, key),
                                       "wrong_input")
        defaults = defaults_by_key[key]
        merged[key] = merge_params(merged.get(key, defaults), params, defaults,
                                   what)
    return merged


def merge_hvparams(current, changes):
    """
    Apply per-hypervisor changes (``{"kvm": {"acpi": "false"}}``).
    """
    return _merge_nested(current, changes, constants.HV_DEFAULTS,
                         "hypervisor", "hypervisor")


def merge_diskparams(current, changes):
    """Apply per-template disk parameter changes."""
    return _merge_nested(current, changes, constants.DISK_DEFAULTS,
                         "disk template", "disk")


def fill_hvparams(cluster, hypervisor, os_name=None, own=None):
    """:return: the hypervisor parameters in force: cluster, OS, own."""
    params = dict(constants.HV_DEFAULTS.get(hypervisor, {}))
    params.update(cluster.hvparams.get(hypervisor, {}))
    if os_name:
        base = os_name.split("+", 1)[0]
        params.update(cluster.os_hvp.get(base, {}).get(hypervisor, {}))
    params.update(own or {})
    return params


def fill_beparams(cluster, own=None):
    """:return: the backend parameters in force: defaults, cluster, own."""
    params = dict(constants.BE_DEFAULTS)
    params.update(cluster.beparams.get("default", {}))
    params.update(own or {})
    return params


def fill_nicparams(cluster, own=None):
    """:return: the NIC parameters in force: defaults, cluster, own."""
    params = dict(constants.NIC_DEFAULTS)
    params.update(cluster.nicparams.get("default", {}))
    params.update(own or {})
    return params


def instance_disks(cfg, instance):
    """:return: the instance's L{Disk} objects in order."""
    return [cfg.disks[uuid] for uuid in instance.disks]


def _netinfo(network):
    if network is None:
        return None
    return {"name": network.name, "uuid": network.uuid,
            "network": network.network, "gateway": network.gateway,
            "network6": network.network6, "gateway6": network.gateway6,
            "mac_prefix": network.mac_prefix, "tags": list(network.tags)}


def node_instance_dict(cfg, instance):
    """
    The instance as a node needs it: every parameter filled in.

    :return: a JSON-able dict (see L{ganeti.hypervisor.interfaces}).
    """
    cluster = cfg.cluster
    nics = []
    for nic in instance.nics:
        params = fill_nicparams(cluster, nic.nicparams)
        network = cfg.networks.get(nic.network) if nic.network else None
        nics.append({"mac": nic.mac, "ip": nic.ip, "uuid": nic.uuid,
                     "name": nic.name, "network": nic.network,
                     "mode": params["mode"], "link": params["link"],
                     "vlan": params.get("vlan", ""),
                     # What OS scripts get as NIC_<n>_NETWORK_*.
                     "netinfo": _netinfo(network)})
    return {
        "name": instance.name, "uuid": instance.uuid, "os": instance.os,
        "hypervisor": instance.hypervisor,
        "hvparams": fill_hvparams(cluster, instance.hypervisor, instance.os,
                                  instance.hvparams),
        "beparams": fill_beparams(cluster, instance.beparams),
        "osparams": dict(cluster.osparams.get(instance.os.split("+")[0], {}),
                         **instance.osparams),
        "nics": nics, "network_port": instance.network_port,
        "disk_template": instance.disk_template,
        "disks": [disk.to_dict() for disk in instance_disks(cfg, instance)],
    }


def fill_ndparams(cfg, node):
    """
    :return: the node parameters in force on C{node}: defaults, cluster,
        the node's group, the node's own (as Ganeti's C{GetNdParams}).
    """
    params = dict(constants.ND_DEFAULTS)
    params.update(cfg.cluster.ndparams)
    group = cfg.nodegroups.get(node.group)
    if group is not None:
        params.update(group.ndparams)
    params.update(node.ndparams)
    return params


def exclusive_storage(cfg, node):
    """:return: whether exclusive storage is in force on C{node}."""
    return bool(fill_ndparams(cfg, node)["exclusive_storage"])


def disk_params(cfg, template, node=None):
    """
    :return: the disk parameters of C{template} in force on C{node}:
        defaults, the cluster's, its node group's.
    """
    params = dict(constants.DISK_DEFAULTS.get(template, {}))
    params.update(cfg.cluster.diskparams.get(template, {}))
    group = cfg.nodegroups.get(node.group) if node is not None else None
    if group is not None:
        params.update(group.diskparams.get(template, {}))
    return params


def annotated_disk(cfg, disk, node=None):
    """
    A disk as a node needs it: its disk parameters filled from the
    defaults, the cluster's and its node group's, and for a ``drbd`` disk
    the node's side of it (Ganeti annotates disks so before every node
    call that acts on them).

    :param node: the node called (none: the cluster's parameters only;
        a ``drbd`` disk needs one of its two nodes).
    :return: the disk's dict form (see L{ganeti.objects.Disk.to_dict}),
        its children annotated too.
    """
    params = disk_params(cfg, disk.dev_type, node)
    params.update(disk.params or {})
    result = dict(disk.to_dict(), params=params,
                  children=[annotated_disk(cfg, child, node)
                            for child in disk.children])
    if disk.dev_type == "drbd" and node is not None:
        result["dynamic_params"] = drbd_side(cfg, disk, node.uuid)
    return result


def drbd_side(cfg, disk, node_uuid):
    """
    :return: one node's side of a ``drbd`` disk (Ganeti's dynamic disk
        parameters): its minor and secondary address and the peer's.
    :raise ProgrammerError: if the disk is not on that node.
    """
    node_a, node_b, _, minor_a, minor_b, _ = disk.logical_id
    if node_uuid == node_a:
        peer, minor, peer_minor = node_b, minor_a, minor_b
    elif node_uuid == node_b:
        peer, minor, peer_minor = node_a, minor_b, minor_a
    else:
        raise errors.ProgrammerError("drbd disk %s is not on node %s"
                                     % (disk.uuid, node_uuid))
    local, remote = cfg.nodes[node_uuid], cfg.nodes[peer]
    return {"local-minor": minor, "remote-minor": peer_minor,
            "local-ip": local.secondary_ip or local.primary_ip,
            "remote-ip": remote.secondary_ip or remote.primary_ip}


def node_disks(cfg, instance, node):
    """:return: the instance's disks annotated for C{node}, in order."""
    return [annotated_disk(cfg, disk, node)
            for disk in instance_disks(cfg, instance)]


def secondary_nodes(cfg, instance):
    """
    :return: the uuids of the instance's nodes other than its primary,
        as its disks record them (a ``drbd`` disk's second node).
    """
    nodes = []
    for disk_uuid in instance.disks:
        disk = cfg.disks.get(disk_uuid)
        if disk is not None:
            nodes.extend(n for n in disk.nodes
                         if n != instance.primary_node and n not in nodes)
    return nodes


def instance_nodes(cfg, instance):
    """:return: the uuids of the instance's primary and secondary nodes."""
    return [instance.primary_node] + secondary_nodes(cfg, instance)
