# -*- test-case-name: tests.test_kvm_instances,tests.test_hypervisor_kvm -*-
"""
The files through which a node finds and controls its qemus again.

qemu is started with ``-daemonize -pidfile``, so it outlives the node
daemon, and everything needed to find and control it again is on disk
below ``<run_dir>/kvm-hypervisor/`` (Ganeti's layout):

  - ``pid/<name>``: qemu's pid file;
  - ``ctrl/<name>.qmp``: the QMP socket (L{ganeti.hypervisor.qmp});
  - ``ctrl/<name>.serial``: the serial console, a Unix socket server;
  - ``ctrl/<name>.qga``: the guest agent socket, when enabled;
  - ``conf/<name>.runtime``: JSON of the command line, parameters, disks
    and NICs (with their tap devices) the instance was started with;
  - ``nic/<name>/<index>``: the tap device of each NIC.

An instance is running when its pid file names a live process whose
command line carries ``-name <name>`` and I{this} pid file: the pid file
alone could name a recycled pid, and matching a process name could find
another node root's qemu.  A fresh hypervisor object (a restarted node
daemon) therefore adopts running qemus without any handover.

These are small local files, read and written inline.
"""

import json
import os
import shutil

from twisted.logger import Logger

from ganeti.hypervisor.kvm.command import command_option
from ganeti.hypervisor.kvm.processes import proc_cmdline
from ganeti.utils.io import atomic_write, read_file, remove_file

_log = Logger()


class RuntimeLayout:
    """
    Where one node's kvm runtime files live (see the module docstring),
    and reading and writing them.
    """

    def __init__(self, paths):
        self.root = os.path.join(paths.run_dir, "kvm-hypervisor")
        self.pid_dir = os.path.join(self.root, "pid")
        self.ctrl_dir = os.path.join(self.root, "ctrl")
        self.conf_dir = os.path.join(self.root, "conf")
        self.nic_dir = os.path.join(self.root, "nic")

    def dirs(self):
        """
        :return: every directory, parents first.
        """
        return [self.root, self.pid_dir, self.ctrl_dir, self.conf_dir,
                self.nic_dir]

    def pid_file(self, name):
        """:return: the pid file of instance C{name}."""
        return os.path.join(self.pid_dir, name)

    def qmp_socket(self, name):
        """:return: the QMP socket of instance C{name}."""
        return os.path.join(self.ctrl_dir, name + ".qmp")

    def serial_socket(self, name):
        """:return: the serial console socket of instance C{name}."""
        return os.path.join(self.ctrl_dir, name + ".serial")

    def qga_socket(self, name):
        """:return: the guest agent socket of instance C{name}."""
        return os.path.join(self.ctrl_dir, name + ".qga")

    def runtime_file(self, name):
        """:return: the saved runtime (JSON) of instance C{name}."""
        return os.path.join(self.conf_dir, name + ".runtime")

    def instance_nic_dir(self, name):
        """:return: the NIC files' directory of instance C{name}."""
        return os.path.join(self.nic_dir, name)

    def runtime_paths(self, name):
        """
        :return: the files (not directories) an instance leaves behind.
        """
        return [self.pid_file(name), self.qmp_socket(name),
                self.serial_socket(name), self.qga_socket(name),
                self.runtime_file(name)]

    def alive_pid(self, name):
        """
        :return: the pid of the instance's qemu, or C{None} if it is not
            running (no pid file, dead or recycled pid).
        """
        pid_file = self.pid_file(name)
        try:
            pid = int(read_file(pid_file).strip())
        except (OSError, ValueError):
            return None
        args = proc_cmdline(pid)
        if (not args or command_option(args, "-name") != name
                or command_option(args, "-pidfile") != pid_file):
            return None
        return pid

    def running_names(self):
        """
        :return: the sorted names of the instances whose qemu runs.
        """
        try:
            names = os.listdir(self.pid_dir)
        except FileNotFoundError:
            return []
        return sorted(n for n in names
                      if not n.startswith(".") and self.alive_pid(n))

    def load_runtime(self, name):
        """
        :return: the saved runtime dict of an instance, or C{None}.
        """
        try:
            return json.loads(read_file(self.runtime_file(name)))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            _log.warn("unreadable kvm runtime file of {name}: {error}",
                      name=name, error=e)
            return None

    def save_runtime(self, name, runtime):
        """
        Write the runtime file, and one file per NIC naming its tap (so
        leftover taps are found even if the runtime file is unreadable);
        rewritten whenever hotplug changes the devices.
        """
        atomic_write(self.runtime_file(name),
                     json.dumps(runtime, indent=1).encode("utf-8"),
                     mode=0o600, fsync=False)
        nic_dir = self.instance_nic_dir(name)
        shutil.rmtree(nic_dir, ignore_errors=True)
        if runtime["nics"]:
            os.makedirs(nic_dir, exist_ok=True)
        for seq, nic in enumerate(runtime["nics"]):
            atomic_write(os.path.join(nic_dir, str(seq)),
                         nic["tap"].encode("ascii"), fsync=False)

    def recorded_taps(self, name):
        """
        :return: the sorted tap devices the runtime file and the NIC files
            of an instance name.
        """
        runtime = self.load_runtime(name)
        taps = [nic.get("tap") for nic in (runtime or {}).get("nics", [])]
        nic_dir = self.instance_nic_dir(name)
        try:
            for entry in os.listdir(nic_dir):
                taps.append(read_file(os.path.join(nic_dir, entry))
                            .decode("utf-8", "replace").strip())
        except OSError:
            pass
        return sorted(set(t for t in taps if t))

    def remove_runtime(self, name):
        """
        Remove an instance's runtime files and NIC files.
        """
        for path in self.runtime_paths(name):
            remove_file(path)
        shutil.rmtree(self.instance_nic_dir(name), ignore_errors=True)
