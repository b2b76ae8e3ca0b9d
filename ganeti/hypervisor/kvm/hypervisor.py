# -*- test-case-name: tests.test_hypervisor_kvm -*-
"""
L{KvmHypervisor}, the ``kvm`` L{IHypervisor} provider: one daemonised
qemu process per instance.

The class puts together what the other modules of this package do:
starting and stopping (L{ganeti.hypervisor.kvm.instances}), hotplug
(L{ganeti.hypervisor.kvm.hotplug}) and migration
(L{ganeti.hypervisor.kvm.migration}); it adds the parameter checks and
what the node asks about its instances and itself.
"""

import os
import re
import shutil

from twisted.internet.defer import gatherResults, inlineCallbacks, succeed
from twisted.logger import Logger
from zope.interface import implementer

from ganeti.errors import CommandError, HypervisorError
from ganeti.hypervisor.interfaces import (
    CONS_SPICE,
    CONS_SSH,
    CONS_VNC,
    STATE_RUNNING,
    STATE_SHUTDOWN,
    VNC_BASE_PORT,
    IHypervisor,
    console_message,
    instance_info,
    linux_node_info,
)
from ganeti.hypervisor.kvm.command import command_option
from ganeti.hypervisor.kvm.hotplug import QemuHotplug
from ganeti.hypervisor.kvm.instances import per_instance
from ganeti.hypervisor.kvm.migration import QemuMigration
from ganeti.hypervisor.kvm.params import (
    HV_NAME,
    check_hvparams,
    fill_hvparams,
    validate_hvparams,
)
from ganeti.hypervisor.kvm.processes import cpu_time, proc_cmdline
from ganeti.hypervisor.qmp import QmpError
from ganeti.process import DEFAULT_PATH, check_command

_log = Logger()


@implementer(IHypervisor)
class KvmHypervisor(QemuHotplug, QemuMigration):
    """
    Instances as daemonised qemu processes; see the module docstring.
    """

    name = HV_NAME

    def __init__(self, *args, **kwargs):
        """
        See L{QemuInstances.__init__}.
        """
        super().__init__(*args, **kwargs)
        # qemu's version, by binary: asked once.
        self._versions = {}

    def check_parameters(self, hvparams):
        """
        See L{check_hvparams}.
        """
        check_hvparams(hvparams)

    def validate_parameters(self, hvparams):
        """
        See L{validate_hvparams}.
        """
        validate_hvparams(hvparams)

    def list_instances(self):
        """
        :return: (via a Deferred) the sorted names of running instances.
        """
        return succeed(self.layout.running_names())

    @per_instance(locked=False, invalid=None)
    def get_instance_info(self, name):
        """
        :return: (via a Deferred) the instance info: memory and vCPUs from
            qemu's command line, CPU time from C{/proc}, state from QMP
            ``query-status``; C{None} if it is not running (as for a name
            no instance here can have).
        """
        return self._info(name)

    @inlineCallbacks
    def _info(self, name):
        pid = self.layout.alive_pid(name)
        if pid is None:
            return None
        args = proc_cmdline(pid) or []
        try:
            memory = int(re.match(r"\d+", command_option(args, "-m")
                                  or "0").group(0))
            vcpus = int(re.match(r"\d+", command_option(args, "-smp")
                                 or "1").group(0))
        except (AttributeError, ValueError):
            memory, vcpus = 0, 1
        state = STATE_RUNNING
        try:
            status = yield self._qmp(name, "query-status")
        except QmpError as e:
            # A busy or stuck monitor must not hide a running instance.
            _log.warn("cannot query the status of {name}: {error}",
                      name=name, error=e)
        else:
            if status.get("status") in ("shutdown", "guest-panicked"):
                state = STATE_SHUTDOWN
        return instance_info(name, pid, memory, vcpus, state,
                             cpu_time(pid))

    @inlineCallbacks
    def get_all_instances_info(self):
        """
        :return: (via a Deferred) the info of every running instance.
        """
        infos = yield gatherResults(
            [self._info(name) for name in self.layout.running_names()],
            consumeErrors=True)
        return [info for info in infos if info is not None]

    @inlineCallbacks
    def get_node_info(self, hvparams=None):
        """
        The node's Linux figures plus ``hv_version``, qemu's version as
        ``[major, minor, micro]`` from ``kvm_path --version``.
        """
        result = linux_node_info()
        kvm_path = fill_hvparams(hvparams)["kvm_path"]
        if kvm_path not in self._versions:
            try:
                output = yield check_command(self._reactor,
                                             [kvm_path, "--version"],
                                             timeout=30)
            except CommandError as e:
                raise HypervisorError("Cannot get the version of %s: %s"
                                      % (kvm_path, e))
            match = re.search(rb"version (\d+)\.(\d+)(?:\.(\d+))?",
                              output.stdout)
            if match is None:
                raise HypervisorError("Cannot parse the version of %s: %r"
                                      % (kvm_path, output.stdout[:200]))
            self._versions[kvm_path] = [int(v or 0) for v in match.groups()]
        result["hv_version"] = list(self._versions[kvm_path])
        return result

    def get_console(self, instance):
        """
        How to reach an instance's console.

        With ``serial_console`` the answer has kind ``ssh`` and a
        ``command`` that, run on this node, attaches the terminal to the
        serial socket (``socat``; Ctrl-] detaches); ``host`` is left for
        the master to fill in.  A VNC display is added under ``vnc`` when
        configured, or is the answer itself without a serial console.
        """
        name = instance["name"]
        hvp = fill_hvparams(instance.get("hvparams"))
        port = instance.get("network_port")
        vnc = None
        if (hvp["vnc_bind_address"] and port is not None
                and port > VNC_BASE_PORT):
            vnc = {"instance": name, "kind": CONS_VNC,
                   "host": hvp["vnc_bind_address"], "port": port,
                   "display": port - VNC_BASE_PORT}
        if hvp["serial_console"]:
            socat = shutil.which("socat", path=DEFAULT_PATH) \
                or "/usr/bin/socat"
            console = {"instance": name, "kind": CONS_SSH, "host": None,
                       "user": "root",
                       "command": [socat, "STDIO,raw,echo=0,escape=0x1d",
                                   "UNIX-CONNECT:"
                                   + self.layout.serial_socket(name)]}
            if vnc is not None:
                console["vnc"] = vnc
            return console
        if vnc is not None:
            return vnc
        if hvp["spice_bind"]:
            return {"instance": name, "kind": CONS_SPICE,
                    "host": hvp["spice_bind"], "port": port}
        return console_message(name, "No serial shell for instance %s"
                               % (name,))

    def verify(self, hvparams=None):
        """
        :return: (via a Deferred) C{None}, or the problems found: missing
            or non-executable qemu, missing ``socat`` (consoles), missing
            runtime directories.
        """
        problems = []
        kvm_path = fill_hvparams(hvparams)["kvm_path"]
        if not (os.path.isfile(kvm_path) and os.access(kvm_path, os.X_OK)):
            problems.append("The KVM binary ('%s') does not exist or is not"
                            " executable" % (kvm_path,))
        if shutil.which("socat", path=DEFAULT_PATH) is None:
            problems.append("The socat binary (for consoles) is not"
                            " installed")
        for directory in self.layout.dirs():
            if not os.path.isdir(directory):
                problems.append("The required directory '%s' does not exist"
                                % (directory,))
        return succeed("; ".join(problems) if problems else None)
