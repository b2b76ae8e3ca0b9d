# -*- test-case-name: tests.test_cli_node -*-
"""
Host names and addresses.

A node whose files live below a private root (tests, the demo) may carry
its own ``etc/hosts`` there; it is consulted before the system resolver so
several simulated hosts can share one machine's resolver.
"""

import ipaddress
import os
import re
import socket

from ganeti import errors


#: What Ganeti accepts as a host name once lower-cased: a little looser
#: than the DNS rules (underscores pass), but nothing a shell or a path
#: would give a meaning to.
_VALID_NAME = re.compile(r"[a-z0-9._-]{1,255}\Z")


def normalize_hostname(name):
    """
    Ganeti's form of a new instance, node or cluster name, checked even
    when no name check resolves it: the name ends up in paths, in the
    environment of OS scripts and hooks, and on command lines.

    :return: C{name} lower-cased, without trailing dots.
    :raise OpPrereqError: "Invalid hostname" for characters outside
        ``[a-z0-9._-]``, more than 255 of them, an empty label or a
        leading dot.
    """
    lowered = name.lower()
    if (not _VALID_NAME.match(lowered) or ".." in lowered
            or lowered.startswith(".")):
        raise errors.OpPrereqError("Invalid hostname '%s'" % lowered,
                                   "wrong_input")
    return lowered.rstrip(".")


def system_hostname():
    """:return: this machine's host name (as ``hostname`` prints it)."""
    return socket.gethostname()


def _hosts_file_lookup(path, name):
    try:
        with open(path) as f:
            lines = f.readlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and name in fields[1:]:
            return fields[1], fields[0]
    return None


def resolve(name, paths=None):
    """
    Find the canonical name and IPv4 address of a host.

    :param name: a host name or an IP address.
    :param paths: the node's L{ganeti.paths.Paths}, whose ``etc/hosts`` is
        read first when the node has a private root.
    :return: ``(canonical_name, ip)``.
    :raise ResolverError: if the name does not resolve.
    """
    try:
        ipaddress.ip_address(name)
        return name, name
    except ValueError:
        pass
    if paths is not None and paths.root != "/":
        found = _hosts_file_lookup(paths.etc_hosts, name)
        if found is not None:
            return found
    try:
        canonical, _, addresses = socket.gethostbyname_ex(name)
    except (socket.gaierror, socket.herror, UnicodeError) as e:
        raise errors.ResolverError(name, str(e))
    if "." in name and "." not in canonical:
        # A short canonical name from /etc/hosts is less useful than what
        # the operator typed.
        canonical = name
    return canonical, addresses[0]


def local_node_name(paths=None):
    """:return: the canonical name of this node."""
    name = os.environ.get("GANETI_HOSTNAME") or system_hostname()
    try:
        return resolve(name, paths)[0]
    except errors.ResolverError:
        return name


def is_loopback(ip):
    """:return: True for addresses such as 127.0.0.1."""
    return ipaddress.ip_address(ip).is_loopback


def resolve_async(reactor, name, paths=None):
    """
    L{resolve} without blocking the reactor (the lookup runs in the
    reactor's thread pool).

    :return: a Deferred firing with ``(canonical_name, ip)``.
    """
    from twisted.internet.threads import deferToThreadPool
    return deferToThreadPool(reactor, reactor.getThreadPool(), resolve, name,
                             paths)


def tcp_ping(reactor, ip, port, timeout=1.0):
    """
    :return: a Deferred firing with True if something accepts a TCP
        connection on C{ip}:C{port} within C{timeout} seconds.
    """
    from twisted.internet.endpoints import TCP4ClientEndpoint
    from twisted.internet.protocol import Factory, Protocol

    endpoint = TCP4ClientEndpoint(reactor, ip, port, timeout=timeout)
    d = endpoint.connect(Factory.forProtocol(Protocol))

    def connected(protocol):
        protocol.transport.abortConnection()
        return True
    return d.addCallbacks(connected, lambda _: False)


#: How Ganeti's master IP setup script names the two actions.
_SCRIPT_ACTIONS = {"add": "start", "del": "stop"}


def master_ip_command(cluster, action, paths):
    """
    :param action: ``add`` or ``del``.
    :return: ``(argv, env)`` of the command that puts the cluster IP on the
        master netdev or takes it off (the tool at init and the node
        daemon at failover use the same one): ``ip address``, or with
        ``--use-external-mip-script`` the operator's
        ``etc/ganeti/scripts/master-ip-setup start|stop`` with Ganeti's
        ``MASTER_*`` environment; C{env} None means the default one.
    """
    if cluster.use_external_mip_script:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
               "MASTER_NETDEV": cluster.master_netdev,
               "MASTER_IP": cluster.master_ip,
               "MASTER_NETMASK": str(cluster.master_netmask),
               "CLUSTER_IP_VERSION": str(
                   ipaddress.ip_address(cluster.master_ip).version)}
        return [paths.external_master_setup_script,
                _SCRIPT_ACTIONS[action]], env
    argv = ["ip", "address", action, "%s/%d" % (cluster.master_ip,
                                                cluster.master_netmask),
            "dev", cluster.master_netdev]
    if action == "add":
        argv += ["label", "%s:0" % cluster.master_netdev]
    return argv, None


def master_ip_add_error(exit_code, stderr):
    """
    :return: why adding the master IP failed, or None when it worked or the
        address was already there (which is what was wanted).
    """
    if exit_code == 0 or "File exists" in stderr or "already assigned" in stderr:
        return None
    return stderr.strip() or "exit code %d" % exit_code
