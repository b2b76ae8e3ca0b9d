# -*- test-case-name: tests.test_kvm_instances -*-
"""
The host side of an instance's network: tap devices, made and removed
with ip(8) and bridge(8) as a NIC's mode says, and the address of an
interface VNC is bound to.

Every command runs through L{ganeti.process}, so none blocks the reactor.
"""

import os
import re

from twisted.internet.defer import inlineCallbacks
from twisted.logger import Logger

from ganeti.errors import CommandError, HypervisorError
from ganeti.hypervisor.kvm.command import nic_queues
from ganeti.process import check_command, run_command

_log = Logger()


def new_tap_name():
    """
    :return: a random name for a new tap device.
    """
    # Interface names have at most 15 characters.
    return "gnt" + os.urandom(4).hex()


@inlineCallbacks
def create_tap(reactor, tap, nic, hvp):
    """
    Create a tap device and connect it as the NIC's mode says:
    ``bridged`` adds it to the bridge named by ``link`` (an untagged
    access port of ``vlan`` if one is set), ``routed`` adds a host
    route to the NIC's IP (in the routing table named by ``link``),
    other modes (``ext``) only bring it up.

    :param hvp: the instance's filled hvparams (for multi-queue).
    :return: a Deferred firing when the device is ready; it fails with
        L{CommandError} if a command fails, L{HypervisorError} for a
        setup that cannot be done.
    """
    mode, link = nic.get("mode", "bridged"), nic.get("link") or ""
    if mode == "openvswitch":
        raise HypervisorError("Open vSwitch NICs are not supported yet")
    ip_cmd = ["ip", "tuntap", "add", "dev", tap, "mode", "tap"]
    if nic_queues(hvp) > 1:
        ip_cmd.append("multi_queue")
    yield check_command(reactor, ip_cmd, timeout=30)
    vlan = str(nic.get("vlan") or "").lstrip(".")
    if mode == "bridged":
        if not os.path.isdir("/sys/class/net/%s/bridge" % link):
            raise HypervisorError("Bridge '%s' of NIC %s does not exist"
                                  % (link, nic.get("mac")))
        yield check_command(reactor, ["ip", "link", "set", "dev", tap,
                                      "master", link], timeout=30)
        if vlan:
            if not vlan.isdigit():
                raise HypervisorError("VLAN trunks (%r) are not"
                                      " supported yet" % (vlan,))
            yield check_command(reactor, [
                "bridge", "vlan", "add", "dev", tap, "vid", vlan, "pvid",
                "untagged"], timeout=30)
    yield check_command(reactor, ["ip", "link", "set", "dev", tap, "up"],
                        timeout=30)
    if mode == "routed" and nic.get("ip"):
        command = ["ip", "route", "replace", nic["ip"], "dev", tap]
        if link:
            command += ["table", link]
        yield check_command(reactor, command, timeout=30)


@inlineCallbacks
def remove_taps(reactor, taps):
    """
    Delete tap devices; already missing ones are fine, and one that
    cannot be deleted is logged.

    :return: a Deferred firing when all have been tried.
    """
    for tap in taps:
        if not os.path.exists("/sys/class/net/" + tap):
            continue
        result = yield run_command(reactor, ["ip", "link", "del", "dev", tap],
                                   timeout=30)
        if result.failed:
            _log.warn("could not remove tap {tap}: {reason}", tap=tap,
                      reason=result.describe())


@inlineCallbacks
def interface_address(reactor, interface):
    """
    :return: (via a Deferred) the first IPv4 address of an interface.
    :raise HypervisorError: if it cannot be read or there is none.
    """
    try:
        result = yield check_command(
            reactor, ["ip", "-o", "-4", "addr", "show", "dev", interface],
            timeout=30)
    except CommandError as e:
        raise HypervisorError("VNC: cannot read the address of %s: %s"
                              % (interface, e))
    match = re.search(rb"\binet ([0-9.]+)/", result.stdout)
    if match is None:
        raise HypervisorError("VNC: interface %s has no IPv4 address"
                              % (interface,))
    return match.group(1).decode("ascii")
