# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
Helpers shared by logical units: name lookups, parameter filling and node
RPC calls that turn node failures into opcode errors.
"""

from twisted.internet.defer import fail

from ganeti import constants, errors


def get_instance(cfg, name):
    """
    :return: the instance called C{name}.
    :raise OpPrereqError: (``noent``) if there is none.
    """
    instance = cfg.instance_by_name(name)
    if instance is None:
        raise errors.OpPrereqError("Instance '%s' not known" % name, "noent")
    return instance


def get_node(cfg, name):
    """
    :return: the node called C{name}.
    :raise OpPrereqError: (``noent``) if there is none.
    """
    node = cfg.node_by_name(name)
    if node is None:
        raise errors.OpPrereqError("Node '%s' is unknown" % name, "noent")
    return node


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


def node_instance_dict(cfg, instance):
    """
    The instance as a node needs it: every parameter filled in.

    :return: a JSON-able dict (see L{ganeti.hypervisor.interfaces}).
    """
    cluster = cfg.cluster
    nics = []
    for nic in instance.nics:
        params = fill_nicparams(cluster, nic.nicparams)
        nics.append({"mac": nic.mac, "ip": nic.ip, "uuid": nic.uuid,
                     "name": nic.name, "network": nic.network,
                     "mode": params["mode"], "link": params["link"],
                     "vlan": params.get("vlan", "")})
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


def complete_console(console, node_name):
    """
    An ``ssh`` console runs its command on the instance's node; the node
    leaves the host out since it may not know the name the cluster uses.
    """
    if console.get("kind") == "ssh" and not console.get("host"):
        console = dict(console, host=node_name)
    return console


def node_address(node):
    """:return: ``(name, address)`` for node RPC."""
    return (node.name, node.primary_ip)


def call_node(ctx, node, method, *args, what=None, timeout=None,
              prereq=False):
    """
    Call one node; :return: a Deferred firing with its answer.

    :param prereq: the call checks a prerequisite, so a refusal is an
        OpPrereqError (nothing was changed), not an execution error.
    :raise OpExecError: (through the Deferred) naming the node and C{what}.
    """
    if node.offline:
        d = fail(errors.OpExecError("Node %s is offline" % node.name))
    else:
        d = ctx.rpc.call([node_address(node)], method, *args, timeout=timeout)
        d.addCallback(lambda results: results[node.name].raise_on_failure(
            what or "Call %s failed" % method))
    if prereq:
        def refused(failure):
            failure.trap(errors.OpExecError)
            raise errors.OpPrereqError(str(failure.value), "environment_error")
        d.addErrback(refused)
    return d
