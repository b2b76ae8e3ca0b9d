# -*- test-case-name: tests.test_osdef -*-
"""
The environment of OS scripts (the ganeti-os-interface's variables).

The scripts get all their input through the environment, which is built
from scratch here, never inherited from the daemon, so an install does
not depend on how the daemon was started.  Building it is pure: no files
are read, nothing runs (see L{ganeti.osscripts} for that).
"""

from ganeti.osdef import (
    API_V15, API_V20, SCRIPT_CREATE, SCRIPT_EXPORT, SCRIPT_IMPORT,
    SCRIPT_RENAME)

#: C{PATH} given to OS scripts; without it nothing they call would be found.
OS_SCRIPT_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"

#: Disk templates whose node path is a block device, and those whose path
#: is a file (DISK_<N>_BACKEND_TYPE ``block`` vs ``file:<driver>``).
BLOCK_TEMPLATES = frozenset(["blockdev", "drbd", "ext", "plain", "rbd"])
FILE_TEMPLATES = frozenset(["file", "gluster", "sharedfile"])


def _get(obj, key, default=None):
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def core_environment(os_def, variant, osparams, debug=0):
    """
    The variables every script gets, ``verify`` nothing more.

    :param variant: the requested variant; with API 15+ an OS that has
        variants gets its first one when none was asked for.  API 10
        scripts get an empty C{OS_VARIANT} (as Ganeti passes it).
    :param osparams: OS parameters, passed as ``OSP_<NAME>`` (upper case,
        ``-`` as ``_``) to API 20 scripts only: older APIs have no
        parameters.
    :return: a dict of C{str}.
    """
    api = os_def.require_valid().api_version
    env = {
        "OS_API_VERSION": "%d" % (api,),
        "OS_NAME": os_def.name,
        "DEBUG_LEVEL": "%d" % (debug,),
        "PATH": OS_SCRIPT_PATH,
    }
    if api >= API_V15 and os_def.variants:
        env["OS_VARIANT"] = variant or os_def.variants[0]
    else:
        env["OS_VARIANT"] = ""
    if api >= API_V20:
        for name, value in (osparams or {}).items():
            env["OSP_%s" % (name.upper().replace("-", "_"),)] = str(value)
    return env


def _disk_environment(env, index, disk, hvparams):
    prefix = "DISK_%d_" % (index,)
    env[prefix + "ACCESS"] = str(_get(disk, "mode", "rw"))
    env[prefix + "UUID"] = str(_get(disk, "uuid", ""))
    env[prefix + "SIZE"] = str(_get(disk, "size", 0))
    if _get(disk, "path"):
        env[prefix + "PATH"] = str(_get(disk, "path"))
    if _get(disk, "uri"):
        env[prefix + "URI"] = str(_get(disk, "uri"))
    if _get(disk, "name"):
        env[prefix + "NAME"] = str(_get(disk, "name"))
    if "disk_type" in hvparams:
        env[prefix + "FRONTEND_TYPE"] = str(hvparams["disk_type"])
    dev_type = _get(disk, "dev_type")
    if dev_type in BLOCK_TEMPLATES:
        env[prefix + "BACKEND_TYPE"] = "block"
    elif dev_type in FILE_TEMPLATES:
        # The file driver is the first element of the logical_id; a disk
        # described without it uses the default driver.
        logical_id = list(_get(disk, "logical_id", None) or ["loop"])
        env[prefix + "BACKEND_TYPE"] = "file:%s" % (logical_id[0],)


def _network_environment(env, prefix, network):
    env[prefix + "NETWORK_NAME"] = str(_get(network, "name", ""))
    env[prefix + "NETWORK_UUID"] = str(_get(network, "uuid", ""))
    env[prefix + "NETWORK_TAGS"] = " ".join(_get(network, "tags", None) or [])
    for key, var in (("network", "SUBNET"), ("gateway", "GATEWAY"),
                     ("network6", "SUBNET6"), ("gateway6", "GATEWAY6"),
                     ("mac_prefix", "MAC_PREFIX"), ("family", "FAMILY")):
        if _get(network, key):
            env[prefix + "NETWORK_" + var] = str(_get(network, key))


def _nic_environment(env, index, nic, hvparams):
    prefix = "NIC_%d_" % (index,)
    nicparams = _get(nic, "nicparams", None) or {}
    mode = nicparams.get("mode", _get(nic, "mode", ""))
    link = nicparams.get("link", _get(nic, "link", ""))
    env[prefix + "MAC"] = str(_get(nic, "mac", ""))
    env[prefix + "UUID"] = str(_get(nic, "uuid", ""))
    if _get(nic, "name"):
        env[prefix + "NAME"] = str(_get(nic, "name"))
    if _get(nic, "ip"):
        env[prefix + "IP"] = str(_get(nic, "ip"))
    env[prefix + "MODE"] = str(mode)
    if mode == "bridged":
        env[prefix + "BRIDGE"] = str(link)
    if link:
        env[prefix + "LINK"] = str(link)
    if _get(nic, "netinfo"):
        _network_environment(env, prefix, _get(nic, "netinfo"))
    if "nic_type" in hvparams:
        env[prefix + "FRONTEND_TYPE"] = str(hvparams["nic_type"])


def build_environment(os_def, variant, instance, disks, nics, osparams,
                      hypervisor, debug=0):
    """
    Build the complete environment of an OS script for one instance.

    :param os_def: a valid L{ganeti.osdef.OSDefinition}.
    :param variant: the OS variant (see L{core_environment}).
    :param instance: an L{ganeti.objects.Instance} or a dict with at
        least C{name}; C{os}, C{uuid}, C{ctime}, C{mtime},
        C{primary_node}, C{secondary_nodes}, C{hvparams} and
        C{beparams} (filled with cluster defaults) are used if present.
    :param disks: the instance's disks in order, dicts (or objects) with
        C{uuid}, C{size}, C{mode}, C{dev_type}, C{logical_id}, optional
        C{name}, and C{path} / C{uri} where the disk is reachable on this
        node (as returned by L{ganeti.storage.interfaces.IBlockStorage}).
    :param nics: the NICs in order, with C{mac}, C{uuid}, optional
        C{name}, C{ip}, C{nicparams} (C{mode}, C{link}) and C{netinfo}
        (the network: C{name}, C{uuid}, C{network}, C{gateway},
        C{network6}, C{gateway6}, C{mac_prefix}, C{tags}, C{family}).
    :param osparams: the OS parameters (API 20 only).
    :param hypervisor: the instance's hypervisor name.
    :param debug: 0 or 1, passed as C{DEBUG_LEVEL}.
    :return: a dict of C{str}: every variable of the ganeti-os-interface
        for the OS's API version, plus C{PATH}; nothing inherited.
    """
    env = core_environment(os_def, variant, osparams, debug)
    name = _get(instance, "name")
    env["INSTANCE_NAME"] = str(name)
    full_os = _get(instance, "os") or (
        os_def.name + ("+" + variant if variant else ""))
    env["INSTANCE_OS"] = str(full_os)
    for key in ("uuid", "ctime", "mtime", "primary_node"):
        value = _get(instance, key)
        if value is not None:
            env["INSTANCE_%s" % (key.upper(),)] = str(value)
    env["INSTANCE_SECONDARY_NODES"] = " ".join(
        _get(instance, "secondary_nodes", None) or [])
    env["HYPERVISOR"] = str(hypervisor or _get(instance, "hypervisor", ""))
    hvparams = dict(_get(instance, "hvparams", None) or {})
    beparams = dict(_get(instance, "beparams", None) or {})
    env["DISK_COUNT"] = "%d" % (len(disks),)
    for index, disk in enumerate(disks):
        _disk_environment(env, index, disk, hvparams)
    env["NIC_COUNT"] = "%d" % (len(nics),)
    for index, nic in enumerate(nics):
        _nic_environment(env, index, nic, hvparams)
    # Ganeti also exports the instance's parameters; the debootstrap OS,
    # for one, reads INSTANCE_HV_serial_console.
    for source, kind in ((beparams, "BE"), (hvparams, "HV")):
        for key, value in source.items():
            env["INSTANCE_%s_%s" % (kind, key)] = str(value)
    return env


def script_environment(env, script, disk_index=None, reinstall=False,
                       old_name=None):
    """
    Add the variables one script gets on top of L{build_environment}'s.

    :param script: C{"create"}, C{"import"}, C{"export"} or C{"rename"}.
    :param disk_index: for import/export, the disk being transferred
        (its C{DISK_<N>_PATH}/C{URI} become C{IMPORT_}/C{EXPORT_} aliases).
    :param reinstall: for create, sets C{INSTANCE_REINSTALL=1}.
    :param old_name: for rename, C{OLD_INSTANCE_NAME}.
    :return: a new dict.
    """
    env = dict(env)
    if script == SCRIPT_CREATE and reinstall:
        env["INSTANCE_REINSTALL"] = "1"
    elif script in (SCRIPT_IMPORT, SCRIPT_EXPORT):
        if disk_index is None:
            raise ValueError("%s needs a disk index" % (script,))
        prefix = script.upper()
        path = env.get("DISK_%d_PATH" % (disk_index,))
        uri = env.get("DISK_%d_URI" % (disk_index,))
        if path:
            env[prefix + "_DEVICE"] = path
            env[prefix + "_DISK_PATH"] = path
        if uri:
            env[prefix + "_DISK_URI"] = uri
        env[prefix + "_INDEX"] = str(disk_index)
    elif script == SCRIPT_RENAME:
        if old_name is None:
            raise ValueError("rename needs the old instance name")
        env["OLD_INSTANCE_NAME"] = old_name
    return env
