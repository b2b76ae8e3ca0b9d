# -*- test-case-name: tests.test_hypervisor_kvm -*-
"""
Tests for L{ganeti.hypervisor.kvm} and L{ganeti.hypervisor.qmp}.

The command line and the start/failure bookkeeping are tested on a
L{ProcessClock}, without qemu.  The rest runs real qemu (TCG, so no
working ``/dev/kvm`` is needed) on the real reactor, booting the tiny guest
of L{ganeti.testing.guest}; those tests are skipped, saying what is
missing, when qemu, the kernel or a static busybox is not installed
(``tests/install-deps.sh`` installs them).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from ganeti import constants
from ganeti.errors import HotplugError, HypervisorError
from ganeti.hypervisor.interfaces import STATE_RUNNING
from ganeti.hypervisor.kvm import (
    KvmHypervisor,
    RuntimeLayout,
    _ProcessHandle,
    check_hvparams,
    fill_hvparams,
    kvm_command,
    validate_hvparams,
)
from ganeti.hypervisor.qmp import (
    QmpCommandError,
    QmpError,
    QmpProtocol,
    connect_qmp,
    qmp_call,
)
from ganeti.hypervisor.registry import get_hypervisor
from ganeti.paths import Paths
from ganeti.process import run_command
from ganeti.testing.guest import (
    BOOT_LINE,
    POWERDOWN_LINE,
    GuestUnavailable,
    build_guest_image,
    connect_console,
)
from ganeti.testing.process import ProcessClock
from tests.hypervisor_mixin import IHypervisorTestsMixin

QEMU = "/usr/bin/qemu-system-x86_64"
KVM_LINK = "/usr/bin/kvm"
#: Built guest images survive between runs here (they are keyed by
#: content, so a changed kernel or busybox gives a new image).
GUEST_CACHE = os.path.join(tempfile.gettempdir(), "ganeti-test-guest")

_guest = []


def guest_or_skip():
    """
    :return: the test guest (see L{build_guest_image}), built once per run.
    :raise SkipTest: naming what is missing.
    """
    if not os.access(QEMU, os.X_OK):
        raise SkipTest("%s is not installed (run tests/install-deps.sh)"
                       % (QEMU,))
    if not _guest:
        try:
            _guest.append(build_guest_image(GUEST_CACHE))
        except GuestUnavailable as e:
            _guest.append(e)
    if isinstance(_guest[0], GuestUnavailable):
        raise SkipTest("no test guest: %s (run tests/install-deps.sh)"
                       % (_guest[0],))
    return _guest[0]


def short_root(testcase):
    """
    :return: L{Paths} below a new directory in C{/tmp}, removed after the
        test.  Trial's own temporary directories are too deep: a Unix
        socket path may not exceed 107 bytes.
    """
    root = tempfile.mkdtemp(prefix="gnt-kvm-", dir="/tmp")
    testcase.addCleanup(shutil.rmtree, root, True)
    return Paths(root)


def kvm_instance(name, hvparams=None, nics=(), maxmem=128, vcpus=1,
                 network_port=None):
    """
    :return: an instance dict for the kvm hypervisor.
    """
    return {"name": name, "uuid": "7c1e6a4e-5b2d-4d38-9a51-%012x"
                                  % (abs(hash(name)) % 2 ** 48),
            "hvparams": dict(hvparams or {}),
            "beparams": dict(constants.BE_DEFAULTS, maxmem=maxmem,
                             minmem=maxmem, vcpus=vcpus),
            "nics": [dict(nic) for nic in nics],
            "network_port": network_port}


def guest_hvparams(guest, **overrides):
    """
    :return: hvparams that boot the test guest under TCG.
    """
    return dict({"kvm_path": QEMU, "kvm_flag": "disabled",
                 "kernel_path": guest["kernel"],
                 "initrd_path": guest["initrd"],
                 "kernel_args": guest["kernel_args"],
                 "serial_speed": 115200}, **overrides)


def runtime_files(hv):
    """
    :return: every file in the kvm runtime directories, and every
        per-instance NIC directory.
    """
    found = []
    for directory in hv.layout.dirs():
        for entry in os.listdir(directory):
            path = os.path.join(directory, entry)
            if directory == hv.layout.nic_dir or not os.path.isdir(path):
                found.append(path)
    return sorted(found)


def free_port():
    """
    :return: a TCP port on 127.0.0.1 that nothing listens on right now.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_gone(pid):
    """
    :return: whether C{pid} has ended (reaped, or a zombie).
    """
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read() == b""
    except OSError:
        return True


class QmpProtocolTests(SynchronousTestCase):
    """
    Tests for L{QmpProtocol} against a scripted qemu.
    """

    GREETING = {"QMP": {"version": {"qemu": {"major": 7, "minor": 2,
                                             "micro": 0}},
                        "capabilities": []}}

    def setUp(self):
        self.transport = StringTransport()
        self.protocol = QmpProtocol()
        self.protocol.makeConnection(self.transport)

    def sent(self):
        """
        :return: the JSON messages written since the last call.
        """
        lines = self.transport.value().splitlines()
        self.transport.clear()
        return [json.loads(line) for line in lines]

    def receive(self, *messages):
        for message in messages:
            self.protocol.dataReceived(json.dumps(message).encode() + b"\r\n")

    def negotiate(self):
        self.receive(self.GREETING)
        [request] = self.sent()
        self.receive({"return": {}, "id": request["id"]})
        return request

    def test_negotiation(self):
        """
        The greeting is answered with ``qmp_capabilities``; C{ready} fires
        with the greeting once qemu accepts it.
        """
        self.assertNoResult(self.protocol.ready)
        request = self.negotiate()
        self.assertEqual(request["execute"], "qmp_capabilities")
        self.assertEqual(self.successResultOf(self.protocol.ready),
                         self.GREETING["QMP"])

    def test_execute_before_ready(self):
        """
        Commands before negotiation fail at once.
        """
        self.failureResultOf(self.protocol.execute("query-status"), QmpError)

    def test_answers_by_id(self):
        """
        Answers are matched by id, whatever their order, and events in
        between reach handlers and waiters.
        """
        self.negotiate()
        events = []
        self.protocol.add_event_handler(events.append)
        waiting = self.protocol.wait_for_event("POWERDOWN")
        first = self.protocol.execute("query-status")
        second = self.protocol.execute("system_powerdown", {"x": 1})
        one, two = self.sent()
        self.assertEqual(two["arguments"], {"x": 1})
        powerdown = {"event": "POWERDOWN", "timestamp": {}}
        self.receive(powerdown, {"return": {}, "id": two["id"]},
                     {"return": {"status": "running"}, "id": one["id"]})
        self.assertEqual(self.successResultOf(first), {"status": "running"})
        self.assertEqual(self.successResultOf(second), {})
        self.assertEqual(self.successResultOf(waiting), powerdown)
        self.assertEqual(events, [powerdown])

    def test_error_answer(self):
        """
        An error answer fails the command with L{QmpCommandError}.
        """
        self.negotiate()
        d = self.protocol.execute("nope")
        [request] = self.sent()
        self.receive({"error": {"class": "CommandNotFound",
                                "desc": "The command nope has not been"
                                        " found"}, "id": request["id"]})
        error = self.failureResultOf(d, QmpCommandError).value
        self.assertEqual(error.error_class, "CommandNotFound")
        self.assertIn("nope", str(error))

    def test_connection_lost(self):
        """
        A lost connection fails pending commands and event waiters and
        fires L{QmpProtocol.when_closed}.
        """
        self.negotiate()
        d = self.protocol.execute("query-status")
        waiting = self.protocol.wait_for_event("SHUTDOWN")
        closed = self.protocol.when_closed()
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.failureResultOf(d, QmpError)
        self.failureResultOf(waiting, QmpError)
        self.successResultOf(closed)
        self.successResultOf(self.protocol.when_closed())

    def test_garbage(self):
        """
        A line that is not JSON fails negotiation and drops the connection.
        """
        self.protocol.dataReceived(b"hello\r\n")
        self.failureResultOf(self.protocol.ready, QmpError)
        self.assertTrue(self.transport.disconnecting)


class ProcessHandleTests(SynchronousTestCase):
    """
    Tests for L{_ProcessHandle} on a plain clock, where exits are polled.
    """

    def setUp(self):
        # A stand-in for a qemu: a process that is not going anywhere.
        self.child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"])
        self.addCleanup(self.child.wait)
        self.addCleanup(self.child.kill)
        self.clock = Clock()
        self.handle = _ProcessHandle(self.clock, self.child.pid)
        self.addCleanup(self.handle.close)

    def test_timeout(self):
        """
        Waiting on a live process gives C{False} after the timeout.
        """
        d = self.handle.wait(5)
        self.clock.advance(4.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.assertIs(self.successResultOf(d), False)
        self.assertFalse(self.handle.exited())

    def test_exit(self):
        """
        A killed process is noticed at the next poll, before the timeout.
        """
        d = self.handle.wait(5)
        self.handle.send_signal(signal.SIGKILL)
        # Wait (without reaping) until the kernel has really ended it.
        os.waitid(os.P_PID, self.child.pid, os.WEXITED | os.WNOWAIT)
        self.clock.advance(0.1)
        self.assertIs(self.successResultOf(d), True)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertIs(self.successResultOf(self.handle.wait(5)), True)


class KvmCommandLineTests(SynchronousTestCase):
    """
    Tests for L{kvm_command}: the qemu command line built from parameters.
    """

    def setUp(self):
        self.layout = RuntimeLayout(Paths("/r"))

    def command(self, instance, block_devices=(), taps=(), accel="tcg",
                **kwargs):
        return kvm_command(instance, list(block_devices), self.layout,
                           list(taps), accel, **kwargs)

    def assert_sequence(self, argv, *expected):
        """
        Assert that C{expected} appears in C{argv} as consecutive items.
        """
        n = len(expected)
        for i in range(len(argv) - n + 1):
            if tuple(argv[i:i + n]) == expected:
                return
        self.fail("%r not in %r" % (expected, argv))

    def test_basics(self):
        """
        Name, memory, CPUs, pid file, daemonisation, UUID, accelerator,
        serial and QMP sockets, no display and no NIC by default.
        """
        instance = kvm_instance("a.example.com", maxmem=512, vcpus=2)
        argv = self.command(instance)
        run = "/r/var/run/ganeti/kvm-hypervisor"
        self.assertEqual(argv[:10], [
            "/usr/bin/kvm", "-name", "a.example.com", "-m", "512", "-smp",
            "2", "-pidfile", run + "/pid/a.example.com", "-daemonize"])
        self.assert_sequence(argv, "-uuid", instance["uuid"])
        self.assert_sequence(argv, "-accel", "tcg")
        self.assert_sequence(
            argv, "-serial",
            "unix:%s/ctrl/a.example.com.serial,server=on,wait=off" % run)
        self.assert_sequence(
            argv, "-qmp",
            "unix:%s/ctrl/a.example.com.qmp,server=on,wait=off" % run)
        self.assert_sequence(argv, "-display", "none")
        self.assert_sequence(argv, "-nic", "none")
        self.assertNotIn("-no-acpi", argv)
        self.assertNotIn("-S", argv)

    def test_accelerator(self):
        """
        The accelerator is passed explicitly, so ``tcg`` also overrides
        the KVM default of a binary called ``kvm``.
        """
        instance = kvm_instance("a", {"kvm_path": "/usr/bin/kvm"})
        self.assert_sequence(self.command(instance, accel="tcg"),
                             "-accel", "tcg")
        self.assert_sequence(self.command(instance, accel="kvm"),
                             "-accel", "kvm")

    def test_accelerator_choice(self):
        """
        ``kvm_flag`` picks the accelerator; empty probes the device, and a
        missing device means TCG.
        """
        hv = KvmHypervisor(Paths(self.mktemp()), ProcessClock(),
                           kvm_device=self.mktemp())
        self.assertEqual(hv.accelerator({"kvm_flag": "disabled"}), "tcg")
        self.assertEqual(hv.accelerator({"kvm_flag": "enabled"}), "kvm")
        self.assertEqual(hv.accelerator({"kvm_flag": ""}), "tcg")

    def test_kernel(self):
        """
        Direct kernel boot passes kernel, initrd and the command line:
        root, kernel_args and the serial console at its speed.
        """
        argv = self.command(kvm_instance("a", {
            "kernel_path": "/boot/vmlinuz", "initrd_path": "/boot/initrd",
            "kernel_args": "ro quiet", "serial_speed": 115200}))
        self.assert_sequence(argv, "-kernel", "/boot/vmlinuz", "-initrd",
                             "/boot/initrd", "-append",
                             "root=/dev/vda1 ro quiet console=ttyS0,115200")
        self.assertNotIn("-boot", argv)

    def test_no_serial_console(self):
        """
        Without a serial console there is no console= argument and no
        serial port.
        """
        argv = self.command(kvm_instance("a", {"serial_console": False,
                                               "root_path": ""}))
        self.assert_sequence(argv, "-append", "ro")
        self.assert_sequence(argv, "-serial", "none")

    def test_boot_from_disk(self):
        """
        Without a kernel the firmware boots as boot_order says.
        """
        argv = self.command(kvm_instance("a", {"kernel_path": ""}))
        self.assert_sequence(argv, "-boot", "c")
        self.assertNotIn("-kernel", argv)
        argv = self.command(kvm_instance("a", {
            "kernel_path": "", "boot_order": "cdrom",
            "cdrom_image_path": "/isos/d,1.iso"}))
        self.assert_sequence(argv, "-boot", "d")
        self.assert_sequence(
            argv, "-drive",
            "file=/isos/d,,1.iso,media=cdrom,format=raw,readonly=on,if=ide")

    def test_acpi_and_reboot(self):
        """
        ``acpi`` off gives ``-no-acpi``; reboot_behavior ``exit`` gives
        ``-no-reboot``; a paused start gives ``-S``.
        """
        argv = self.command(kvm_instance("a", {"acpi": False,
                                               "reboot_behavior": "exit"}),
                            startup_paused=True)
        for flag in ("-no-acpi", "-no-reboot", "-S"):
            self.assertIn(flag, argv)

    def test_paravirtual_disks(self):
        """
        Paravirtual disks are virtio-blk devices backed by raw drives,
        with cache, AIO, discard and read-only options; commas in paths
        are escaped.
        """
        argv = self.command(
            kvm_instance("a", {"disk_cache": "writeback",
                               "disk_discard": "unmap"}),
            [{"path": "/dev/xenvg/d0", "mode": "rw", "uuid": "u0"},
             {"path": "/srv/a,b.img", "mode": "ro", "uuid": "u1"}])
        self.assert_sequence(
            argv, "-drive", "file=/dev/xenvg/d0,format=raw,aio=threads,"
            "cache=writeback,discard=unmap,if=none,id=disk0",
            "-device", "virtio-blk-pci,drive=disk0,id=disk0-dev")
        self.assert_sequence(
            argv, "-drive", "file=/srv/a,,b.img,format=raw,aio=threads,"
            "cache=writeback,discard=unmap,readonly=on,if=none,id=disk1",
            "-device", "virtio-blk-pci,drive=disk1,id=disk1-dev")

    def test_other_disk_types(self):
        """
        IDE disks use ``if=ide`` with an index; SCSI disks get a
        controller of scsi_controller_type.
        """
        disks = [{"path": "/d0", "mode": "rw", "uuid": "u0"}]
        argv = self.command(kvm_instance("a", {"disk_type": "ide",
                                               "disk_aio": "native",
                                               "disk_cache": "none"}),
                            disks)
        self.assert_sequence(argv, "-drive", "file=/d0,format=raw,cache=none,"
                             "aio=native,if=ide,index=0")
        argv = self.command(kvm_instance("a", {
            "disk_type": "scsi", "scsi_controller_type": "virtio-scsi-pci"}),
            disks)
        self.assert_sequence(argv, "-device", "virtio-scsi-pci,id=scsi")
        self.assert_sequence(
            argv, "-device", "scsi-hd,drive=disk0,id=disk0-dev,bus=scsi.0,"
            "scsi-id=0")

    def test_nics(self):
        """
        Every NIC is a tap netdev with its device model and MAC.
        """
        nics = [{"mac": "aa:00:00:00:00:01", "mode": "bridged",
                 "link": "br0"},
                {"mac": "aa:00:00:00:00:02", "mode": "bridged",
                 "link": "br0"}]
        argv = self.command(kvm_instance("a", nics=nics),
                            taps=["gnt1", "gnt2"])
        self.assert_sequence(
            argv, "-netdev",
            "tap,id=netdev0,ifname=gnt1,script=no,downscript=no",
            "-device",
            "virtio-net-pci,netdev=netdev0,mac=aa:00:00:00:00:01,id=nic0")
        self.assert_sequence(
            argv, "-netdev",
            "tap,id=netdev1,ifname=gnt2,script=no,downscript=no",
            "-device",
            "virtio-net-pci,netdev=netdev1,mac=aa:00:00:00:00:02,id=nic1")
        self.assertNotIn("-nic", argv)
        argv = self.command(
            kvm_instance("a", {"nic_type": "e1000", "vhost_net": True,
                               "vnet_hdr": False}, nics=nics[:1]),
            taps=["gnt1"])
        self.assert_sequence(
            argv, "-netdev",
            "tap,id=netdev0,ifname=gnt1,script=no,downscript=no,"
            "vnet_hdr=off",
            "-device", "e1000,netdev=netdev0,mac=aa:00:00:00:00:01,id=nic0")

    def test_pinned_devices(self):
        """
        Disks and NICs that carry ids and a PCI slot (a migration source's
        runtime, after hotplug) keep them: the target builds the devices
        the guest knows, where it knows them.
        """
        argv = self.command(
            kvm_instance("a", nics=[{"mac": "aa:00:00:00:00:01",
                                     "qdev": "nic-a1-pci-6",
                                     "netdev": "nic-a1-pci-6", "pci": 6}]),
            [{"path": "/d0", "mode": "rw", "uuid": "u0",
              "qdev": "disk-d1-pci-5", "node": "disk-d1-pci-5", "pci": 5}],
            taps=["gnt1"])
        self.assert_sequence(
            argv, "-drive", "file=/d0,format=raw,aio=threads,if=none,"
            "id=disk-d1-pci-5", "-device", "virtio-blk-pci,"
            "drive=disk-d1-pci-5,id=disk-d1-pci-5,bus=pci.0,addr=0x5")
        self.assert_sequence(
            argv, "-netdev", "tap,id=nic-a1-pci-6,ifname=gnt1,script=no,"
            "downscript=no", "-device", "virtio-net-pci,netdev=nic-a1-pci-6,"
            "mac=aa:00:00:00:00:01,id=nic-a1-pci-6,bus=pci.0,addr=0x6")

    def test_multiqueue(self):
        """
        virtio_net_queues above 1 enables multi-queue on tap and device.
        """
        argv = self.command(kvm_instance(
            "a", {"virtio_net_queues": 4, "vhost_net": True},
            nics=[{"mac": "aa:00:00:00:00:01"}]), taps=["gnt1"])
        self.assert_sequence(
            argv, "-netdev", "tap,id=netdev0,ifname=gnt1,script=no,"
            "downscript=no,vhost=on,queues=4", "-device",
            "virtio-net-pci,netdev=netdev0,mac=aa:00:00:00:00:01,mq=on,"
            "vectors=10,id=nic0")

    def test_vnc(self):
        """
        VNC listens on display network_port - 5900, with a USB tablet for
        the pointer; a port below 5900 gives no VNC server.
        """
        argv = self.command(kvm_instance("a", {"vnc_bind_address":
                                               "127.0.0.1"},
                                         network_port=5903))
        self.assert_sequence(argv, "-vnc", "127.0.0.1:3")
        self.assert_sequence(argv, "-usb", "-device", "usb-tablet")
        self.assertNotIn("-display", argv)
        argv = self.command(kvm_instance("a", {"vnc_bind_address":
                                               "0.0.0.0"},
                                         network_port=5901))
        self.assert_sequence(argv, "-vnc", ":1")
        argv = self.command(kvm_instance("a", {"vnc_bind_address": "::1"},
                                         network_port=5901))
        self.assert_sequence(argv, "-vnc", "[::1]:1")
        argv = self.command(kvm_instance("a", {"vnc_bind_address":
                                               "127.0.0.1"},
                                         network_port=1811))
        self.assert_sequence(argv, "-vnc", "none")

    def test_vnc_tls_and_password(self):
        """
        VNC TLS adds a credentials object; a password file asks qemu for
        password authentication.
        """
        argv = self.command(kvm_instance("a", {
            "vnc_bind_address": "127.0.0.1", "vnc_tls": True,
            "vnc_x509_path": "/etc/x509", "vnc_x509_verify": True,
            "vnc_password_file": "/etc/vncpw"}, network_port=5901))
        self.assert_sequence(argv, "-object", "tls-creds-x509,id=vnctls0,"
                             "endpoint=server,dir=/etc/x509,verify-peer=yes",
                             "-vnc",
                             "127.0.0.1:1,tls-creds=vnctls0,password=on")

    def test_extra_options(self):
        """
        machine_version, cpu_type, use_localtime, keymap, mem_path,
        use_guest_agent map to their qemu options; kvm_extra comes last.
        """
        argv = self.command(kvm_instance("a", {
            "machine_version": "pc-i440fx-7.2", "cpu_type": "host",
            "use_localtime": True, "keymap": "de", "mem_path": "/hugepages",
            "use_guest_agent": True, "cpu_cores": 2, "cpu_sockets": 1,
            "kvm_extra": "-device virtio-rng-pci"}, vcpus=2))
        self.assert_sequence(argv, "-smp", "2,cores=2,sockets=1")
        self.assert_sequence(argv, "-machine", "pc-i440fx-7.2")
        self.assert_sequence(argv, "-cpu", "host")
        self.assert_sequence(argv, "-rtc", "base=localtime")
        self.assert_sequence(argv, "-k", "de")
        self.assert_sequence(argv, "-mem-path", "/hugepages",
                             "-mem-prealloc")
        self.assert_sequence(
            argv, "-chardev", "socket,path=/r/var/run/ganeti/kvm-hypervisor/"
            "ctrl/a.qga,server=on,wait=off,id=qga0")
        self.assertEqual(argv[-2:], ["-device", "virtio-rng-pci"])

    def test_console(self):
        """
        With a serial console, the console command attaches socat to the
        serial socket; VNC details are added when VNC is configured.
        """
        hv = KvmHypervisor(Paths(self.mktemp()), ProcessClock())
        console = hv.get_console(kvm_instance(
            "a.example.com", {"vnc_bind_address": "192.0.2.1"},
            network_port=5902))
        self.assertEqual(console["kind"], "ssh")
        self.assertEqual(console["command"][1:],
                         ["STDIO,raw,echo=0,escape=0x1d",
                          "UNIX-CONNECT:" + hv.layout.serial_socket(
                              "a.example.com")])
        self.assertEqual(console["vnc"], {
            "instance": "a.example.com", "kind": "vnc", "host": "192.0.2.1",
            "port": 5902, "display": 2})
        console = hv.get_console(kvm_instance(
            "a.example.com", {"vnc_bind_address": "192.0.2.1",
                              "serial_console": False}, network_port=5902))
        self.assertEqual(console["kind"], "vnc")
        console = hv.get_console(kvm_instance(
            "a.example.com", {"serial_console": False}))
        self.assertEqual(console["kind"], "msg")


class KvmParameterTests(SynchronousTestCase):
    """
    Tests for L{check_hvparams} and L{validate_hvparams}.
    """

    def assert_invalid(self, text, **hvparams):
        error = self.assertRaises(HypervisorError, check_hvparams, hvparams)
        self.assertIn(text, str(error))

    def test_defaults_valid(self):
        """
        The cluster defaults pass the syntax check.
        """
        check_hvparams({})
        check_hvparams(dict(constants.HV_DEFAULTS["kvm"]))

    def test_invalid_values(self):
        """
        Values outside a parameter's set are refused, naming it.
        """
        self.assert_invalid("nic_type", nic_type="virtio")
        self.assert_invalid("boot_order", boot_order="usb")
        self.assert_invalid("disk_type", disk_type="nvme")
        self.assert_invalid("disk_cache", disk_cache="unsafe")
        self.assert_invalid("kvm_flag", kvm_flag="maybe")
        self.assert_invalid("serial console speed", serial_speed=12345)
        self.assert_invalid("virtio_net_queues", virtio_net_queues=33)
        self.assert_invalid("cpu_mask", cpu_mask="0-")

    def test_types(self):
        """
        Values of the wrong type are refused.
        """
        self.assert_invalid("acpi", acpi="yes")
        self.assert_invalid("serial_speed", serial_speed="38400")
        self.assert_invalid("cpu_cores", cpu_cores=True)

    def test_unknown(self):
        """
        Unknown parameter names are refused.
        """
        self.assert_invalid("xen_cmd", xen_cmd="xl")

    def test_combinations(self):
        """
        Ganeti's cross-parameter rules hold.
        """
        self.assert_invalid("cdrom", boot_order="cdrom")
        self.assert_invalid("security domain", security_model="user")
        self.assert_invalid("security domain", security_domain="nobody")
        self.assert_invalid("vnc_x509_path", vnc_x509_verify=True)
        self.assert_invalid("disk_aio", disk_aio="native")
        self.assert_invalid("vnc_bind_address",
                            vnc_bind_address="not an address")
        self.assert_invalid("only one", vnc_bind_address="127.0.0.1",
                            spice_bind="127.0.0.1")

    def test_node_checks(self):
        """
        The node-side check wants an executable qemu and existing files,
        and refuses features not implemented yet.
        """
        kernel = os.path.abspath(self.mktemp())
        with open(kernel, "wb"):
            pass
        good = {"kvm_path": "/bin/sh", "kernel_path": kernel}
        validate_hvparams(good)
        for bad, text in [({"kvm_path": kernel}, "KVM binary"),
                          ({"kernel_path": kernel + "-missing"},
                           "kernel_path"),
                          ({"cpu_mask": "0-1"}, "not supported"),
                          ({"use_chroot": True}, "not supported")]:
            error = self.assertRaises(HypervisorError, validate_hvparams,
                                      dict(good, **bad))
            self.assertIn(text, str(error))


class KvmProcessClockTests(SynchronousTestCase):
    """
    Starting and failing to start, with qemu and ``ip`` played by a
    L{ProcessClock}.
    """

    def setUp(self):
        self.clock = ProcessClock()
        self.paths = short_root(self)
        self.hv = KvmHypervisor(self.paths, self.clock)
        self.kernel = os.path.abspath(self.mktemp())
        with open(self.kernel, "wb"):
            pass
        self.hvparams = {"kvm_path": "/bin/sh", "kvm_flag": "disabled",
                         "kernel_path": self.kernel}

    def test_failed_start(self):
        """
        When qemu fails, the start fails with L{HypervisorError} carrying
        qemu's standard error, and no runtime file is left; the runtime
        file did exist while qemu started.
        """
        instance = kvm_instance("a.example.com", self.hvparams)
        disks = [{"path": "/nonexistent/disk0", "mode": "rw", "uuid": "u0"}]
        d = self.hv.start_instance(instance, disks)
        [qemu] = self.clock.processes
        self.assertEqual(qemu.argv, kvm_command(instance, disks,
                                                self.hv.layout, [], "tcg"))
        self.assertEqual(qemu.env["LC_ALL"], "C")
        self.assertTrue(os.path.exists(
            self.hv.layout.runtime_file("a.example.com")))
        qemu.feed_stderr(b"qemu-system-x86_64: -drive file=/nonexistent/"
                         b"disk0: Could not open '/nonexistent/disk0': No"
                         b" such file or directory\n")
        qemu.exit(1)
        error = self.failureResultOf(d, HypervisorError).value
        self.assertIn("Could not open '/nonexistent/disk0'", str(error))
        self.assertIn("a.example.com", str(error))
        self.assertEqual(runtime_files(self.hv), [])

    def test_routed_nic(self):
        """
        A routed NIC gets a tap device, brought up, with a host route to
        the NIC's IP in the link's table; the tap is recorded in the NIC
        files and runtime file before qemu starts.
        """
        nic = {"mac": "aa:00:00:12:34:56", "ip": "192.0.2.50",
               "mode": "routed", "link": "100", "vlan": "", "uuid": "n0"}
        instance = kvm_instance("a.example.com", self.hvparams, nics=[nic])
        d = self.hv.start_instance(instance, [])
        tuntap = self.clock.processes[0]
        tap = tuntap.argv[4]
        self.assertEqual(tuntap.argv,
                         ["ip", "tuntap", "add", "dev", tap, "mode", "tap"])
        self.assertLessEqual(len(tap), 15)
        tuntap.exit(0)
        up = self.clock.processes[1]
        self.assertEqual(up.argv, ["ip", "link", "set", "dev", tap, "up"])
        up.exit(0)
        route = self.clock.processes[2]
        self.assertEqual(route.argv, ["ip", "route", "replace", "192.0.2.50",
                                      "dev", tap, "table", "100"])
        route.exit(0)
        qemu = self.clock.processes[3]
        self.assertIn("tap,id=netdev0,ifname=%s,script=no,downscript=no"
                      % (tap,), qemu.argv)
        nic_file = os.path.join(self.hv.layout.instance_nic_dir(
            "a.example.com"), "0")
        with open(nic_file) as f:
            self.assertEqual(f.read(), tap)
        qemu.exit(1)
        self.failureResultOf(d, HypervisorError)
        self.assertEqual(runtime_files(self.hv), [])

    def test_tap_failure(self):
        """
        A tap device that cannot be made fails the start before qemu runs.
        """
        nic = {"mac": "aa:00:00:12:34:56", "mode": "routed", "link": ""}
        d = self.hv.start_instance(kvm_instance(
            "a.example.com", self.hvparams, nics=[nic]), [])
        self.clock.processes[0].feed_stderr(b"ioctl(TUNSETIFF): EPERM\n")
        self.clock.processes[0].exit(1)
        error = self.failureResultOf(d, HypervisorError).value
        self.assertIn("EPERM", str(error))
        self.assertEqual(len(self.clock.processes), 1)
        self.assertEqual(runtime_files(self.hv), [])

    def test_invalid_parameters(self):
        """
        Invalid parameters fail the start before anything runs.
        """
        d = self.hv.start_instance(kvm_instance(
            "a.example.com", dict(self.hvparams, nic_type="virtio")), [])
        self.failureResultOf(d, HypervisorError)
        self.assertEqual(self.clock.processes, [])

    def test_stale_pid_file(self):
        """
        A pid file naming a process that is not this instance's qemu (a
        recycled pid) does not make the instance running.
        """
        with open(self.hv.layout.pid_file("a.example.com"), "w") as f:
            f.write("%d\n" % os.getpid())
        self.assertEqual(self.successResultOf(self.hv.list_instances()), [])
        self.assertIsNone(self.successResultOf(
            self.hv.get_instance_info("a.example.com")))
        self.failureResultOf(self.hv.stop_instance("a.example.com"),
                             HypervisorError)
        # The failed stop cleaned the leftover up.
        self.assertEqual(runtime_files(self.hv), [])

    def test_socket_path_too_long(self):
        """
        A node root so deep that the sockets cannot be created fails
        clearly, before qemu runs.
        """
        hv = KvmHypervisor(Paths(os.path.abspath(self.mktemp()) + "/" +
                                 "x" * 100), self.clock)
        error = self.failureResultOf(hv.start_instance(
            kvm_instance("a.example.com", self.hvparams), []),
            HypervisorError).value
        self.assertIn("too long", str(error))
        self.assertEqual(self.clock.processes, [])

    def test_registry(self):
        """
        The registry builds a L{KvmHypervisor} for ``kvm``.
        """
        hv = get_hypervisor("kvm", self.paths, self.clock)
        self.assertIsInstance(hv, KvmHypervisor)
        self.assertEqual(hv.layout.root, self.hv.layout.root)


class KvmContractTests(IHypervisorTestsMixin, TestCase):
    """
    The shared contract, run against L{KvmHypervisor} with real qemu.
    """

    timeout = 60

    def make_hypervisor(self):
        self.guest = guest_or_skip()
        return KvmHypervisor(short_root(self), reactor)

    def make_instance(self, name):
        # Both ends of the migration tests are on this host: each instance
        # gets a free port to migrate through.
        return kvm_instance(name, guest_hvparams(
            self.guest, migration_port=free_port()))

    def node_hvparams(self):
        return fill_hvparams(guest_hvparams(self.guest))

    @inlineCallbacks
    def wait_for_guest(self, name):
        console = yield connect_console(reactor,
                                        self.hv.layout.serial_socket(name))
        self.addCleanup(console.close)
        yield console.wait_for(BOOT_LINE, timeout=60)

    def new_nic(self, uuid, mac="aa:00:00:12:34:56"):
        if os.geteuid() != 0:
            raise SkipTest("needs root to create tap devices")
        return super().new_nic(uuid, mac)

    @inlineCallbacks
    def plugged_devices(self, hv, name):
        """
        The devices of the runtime file that qemu really has on its PCI
        bus (QMP ``query-pci``).
        """
        buses = yield hv._qmp(name, "query-pci")
        present = {device.get("qdev_id") for bus in buses
                   for device in bus["devices"]}
        with open(hv.layout.runtime_file(name)) as f:
            runtime = json.load(f)
        return {kind: [d["uuid"] for d in runtime[key]
                       if d.get("qdev") in present]
                for kind, key in (("disk", "disks"), ("nic", "nics"))}

    def finish(self, d):
        return d


class KvmGuestTests(TestCase):
    """
    Real qemu running the test guest: console, soft and hard stops, reboot,
    failures, adoption, QMP.
    """

    timeout = 90

    def setUp(self):
        self.guest = guest_or_skip()
        self.paths = short_root(self)
        self.hv = KvmHypervisor(self.paths, reactor)
        self.addCleanup(self._stop_leftovers)

    @inlineCallbacks
    def _stop_leftovers(self):
        for name in (yield self.hv.list_instances()):
            yield self.hv.stop_instance(name, force=True)

    def instance(self, name="inst1.example.com", **hvparams):
        return kvm_instance(name, guest_hvparams(self.guest, **hvparams))

    @inlineCallbacks
    def console(self, name="inst1.example.com"):
        """
        :return: (via a Deferred) a serial console client, closed after
            the test.
        """
        console = yield connect_console(reactor,
                                        self.hv.layout.serial_socket(name))
        self.addCleanup(console.close)
        return console

    @inlineCallbacks
    def boot(self, name="inst1.example.com", **hvparams):
        """
        Start the guest and wait until it says it has booted.

        :return: (via a Deferred) its serial console.
        """
        yield self.hv.start_instance(self.instance(name, **hvparams), [])
        console = yield self.console(name)
        yield console.wait_for(BOOT_LINE, timeout=60)
        return console

    @inlineCallbacks
    def test_soft_stop(self):
        """
        The guest prints its boot line on the serial console; a soft stop
        presses the ACPI power button, the guest powers off and qemu ends
        well before the timeout, leaving no runtime files.
        """
        if not self.guest["acpi_poweroff"]:
            raise SkipTest("the guest kernel lacks evdev/button drivers")
        console = yield self.boot()
        info = yield self.hv.get_instance_info("inst1.example.com")
        started = reactor.seconds()
        yield self.hv.stop_instance("inst1.example.com", timeout=60)
        self.assertLess(reactor.seconds() - started, 30)
        yield console.wait_for(POWERDOWN_LINE, timeout=10)
        self.assertTrue(process_gone(info["id"]))
        self.assertEqual(runtime_files(self.hv), [])

    @inlineCallbacks
    def test_resize_disk_online(self):
        """
        A disk grown underneath a running guest is announced to qemu,
        which then reports the new size; a stopped instance is refused.
        """
        image = os.path.join(self.paths.root, "disk0.img")
        with open(image, "wb") as f:
            f.truncate(32 * 1024 * 1024)
        name = "inst1.example.com"
        yield self.hv.start_instance(self.instance(name),
                                     [{"path": image, "mode": "rw", "uuid": "d0"}])
        with open(image, "r+b") as f:
            f.truncate(48 * 1024 * 1024)
        yield self.hv.resize_disk(name, 0, 48)
        blocks = yield self.hv._qmp(name, "query-block")
        sizes = [b["inserted"]["image"]["virtual-size"] for b in blocks
                 if b.get("device") == "disk0"]
        self.assertEqual(sizes, [48 * 1024 * 1024])
        yield self.hv.stop_instance(name, force=True)
        yield self.assertFailure(self.hv.resize_disk(name, 0, 64),
                                 HypervisorError)

    @inlineCallbacks
    def guest_says(self, console, command, marker):
        """
        Run a shell command on the guest's console and wait for its
        answer, C{marker} followed by what the command printed; each
        marker is used once per console.

        :return: (via a Deferred) that answer's line.
        """
        # The terminal echoes the command: quotes split the markers there.
        split = (marker[:1] + '""' + marker[1:]).encode()
        console.transport.write(b"echo %s=$(%s)=%sDONE\n"
                                % (split, command.encode(), split))
        output = yield console.wait_for(marker + "DONE", timeout=30)
        line = output.rsplit(marker.encode() + b"=", 1)[1]
        return line.split(b"=" + marker.encode() + b"DONE")[0].decode()

    def guest_slot(self, console, sysfs, marker, present=True):
        """
        Wait (in the guest, up to 10 s) until the guest has, or no longer
        has, a PCI device, since it handles the ACPI event by itself.

        :return: (via a Deferred) the device's ``vendor:device:`` ids, or
            ``absent``.
        """
        test = "-e" if present else "! -e"
        return self.guest_says(
            console, "for i in $(seq 100); do [ %s %s ] && break; sleep 0.1;"
            " done; if [ -e %s ]; then cat %s/vendor %s/device | tr '\\n' :;"
            " else echo absent; fi" % (test, sysfs, sysfs, sysfs, sysfs),
            marker)

    @inlineCallbacks
    def test_hotplug_disk_in_guest(self):
        """
        A hot-added disk is a virtio-blk device (vendor 0x1af4) in the
        guest's PCI slot the runtime names, and a blockdev node in qemu;
        hot-removed, the guest has let go of the slot and the node is
        gone.  A restarted node daemon (a new object) finds and removes
        it.
        """
        console = yield self.boot()
        name = "inst1.example.com"
        image = os.path.join(self.paths.root, "disk1.img")
        with open(image, "wb") as f:
            f.truncate(16 * 1024 * 1024)
        disk = {"uuid": "0badc0de-0000-4000-8000-000000000001", "mode": "rw"}
        yield self.hv.hotplug_device(self.instance(), "add", "disk", disk,
                                     image, 0)
        with open(self.hv.layout.runtime_file(name)) as f:
            [entry] = json.load(f)["disks"]
        self.assertEqual(entry["qdev"], "disk-0badc0de-pci-%d" % entry["pci"])
        sysfs = "/sys/bus/pci/devices/0000:00:%02x.0" % entry["pci"]
        ids = yield self.guest_slot(console, sysfs, "ADDED")
        self.assertEqual(ids, "0x1af4:0x1001:")
        nodes = yield self.hv._qmp(name, "query-named-block-nodes")
        self.assertIn(entry["qdev"], [n["node-name"] for n in nodes])

        adopter = KvmHypervisor(self.paths, reactor)
        yield adopter.hotplug_device(self.instance(), "remove", "disk", disk,
                                     None, 0)
        gone = yield self.guest_slot(console, sysfs, "REMOVED", False)
        self.assertEqual(gone, "absent")
        nodes = yield self.hv._qmp(name, "query-named-block-nodes")
        self.assertNotIn(entry["qdev"], [n["node-name"] for n in nodes])
        with open(self.hv.layout.runtime_file(name)) as f:
            self.assertEqual(json.load(f)["disks"], [])

    @inlineCallbacks
    def test_failed_disk_hotplug(self):
        """
        A disk qemu cannot open fails the hotplug with qemu's reason and
        leaves the instance and its runtime as they were.
        """
        name = "inst1.example.com"
        yield self.hv.start_instance(self.instance(), [])
        nodes = yield self.hv._qmp(name, "query-named-block-nodes")
        disk = {"uuid": "0badc0de-0000-4000-8000-000000000002", "mode": "rw"}
        try:
            yield self.hv.hotplug_device(self.instance(), "add", "disk", disk,
                                         "/nonexistent/disk1", 0)
        except HotplugError as e:
            self.assertIn("No such file or directory", str(e))
        else:
            self.fail("a missing disk was hotplugged")
        self.assertEqual((yield self.hv._qmp(name, "query-named-block-nodes")),
                         nodes)
        with open(self.hv.layout.runtime_file(name)) as f:
            self.assertEqual(json.load(f)["disks"], [])

    @inlineCallbacks
    def test_unplug_start_disk(self):
        """
        A disk the instance was started with can be hot-removed: its
        device goes, and its drive with it.
        """
        image = os.path.join(self.paths.root, "disk0.img")
        with open(image, "wb") as f:
            f.truncate(16 * 1024 * 1024)
        name = "inst1.example.com"
        disk = {"uuid": "d0", "mode": "rw", "path": image}
        yield self.hv.start_instance(self.instance(), [disk])
        console = yield self.console()
        yield console.wait_for(BOOT_LINE, timeout=60)
        yield self.hv.hotplug_device(self.instance(), "remove", "disk", disk,
                                     None, 0)
        blocks = yield self.hv._qmp(name, "query-block")
        self.assertNotIn("disk0", [b["device"] for b in blocks])

    @inlineCallbacks
    def test_hotplug_nic_in_guest(self):
        """
        A hot-added NIC is a virtio-net device in the guest's PCI slot,
        backed by a new tap device that is up; hot-removed, slot and tap
        are gone.
        """
        if os.geteuid() != 0:
            raise SkipTest("needs root to create tap devices")
        console = yield self.boot()
        name = "inst1.example.com"
        nic = {"uuid": "feedf00d-0000-4000-8000-000000000001",
               "mac": "aa:00:00:ab:cd:01", "ip": None, "mode": "routed",
               "link": "", "vlan": ""}
        yield self.hv.hotplug_device(self.instance(), "add", "nic", nic,
                                     None, 0)
        with open(self.hv.layout.runtime_file(name)) as f:
            [entry] = json.load(f)["nics"]
        with open(os.path.join(self.hv.layout.instance_nic_dir(name),
                               "0")) as f:
            self.assertEqual(f.read(), entry["tap"])
        self.assertTrue(os.path.exists("/sys/class/net/" + entry["tap"]))
        sysfs = "/sys/bus/pci/devices/0000:00:%02x.0" % entry["pci"]
        ids = yield self.guest_slot(console, sysfs, "ADDED")
        self.assertEqual(ids, "0x1af4:0x1000:")
        yield self.hv.hotplug_device(self.instance(), "remove", "nic", nic,
                                     None, 0)
        gone = yield self.guest_slot(console, sysfs, "REMOVED", False)
        self.assertEqual(gone, "absent")
        self.assertFalse(os.path.exists("/sys/class/net/" + entry["tap"]))
        self.assertFalse(os.path.exists(
            self.hv.layout.instance_nic_dir(name)))

    def target(self):
        """
        :return: a second L{KvmHypervisor} on its own node root, as the
            other end of a migration.
        """
        target = KvmHypervisor(short_root(self), reactor)

        @inlineCallbacks
        def stop_all():
            for name in (yield target.list_instances()):
                yield target.stop_instance(name, force=True)
        self.addCleanup(stop_all)
        return target

    @inlineCallbacks
    def assert_shell_answers(self, console):
        """
        The guest's shell still runs: it evaluates what the console sends.
        """
        console.transport.write(b"echo ALIVE-$((6*7))\n")
        yield console.wait_for("ALIVE-42", timeout=30)

    @inlineCallbacks
    def test_live_migration_keeps_guest(self):
        """
        A booted guest migrated live keeps running on the target: its shell
        answers on the target's serial console, and the source qemu and its
        files are gone.
        """
        yield self.boot()
        name = "inst1.example.com"
        old = yield self.hv.get_instance_info(name)
        target = self.target()
        instance = self.instance(migration_port=free_port())
        info = yield self.hv.migration_info(name)
        yield target.accept_instance(instance, info, [], "127.0.0.1")
        console = yield connect_console(reactor,
                                        target.layout.serial_socket(name))
        self.addCleanup(console.close)
        yield self.hv.migrate_instance(instance, "127.0.0.1", True)
        yield self.hv.finalize_migration_source(name, True)
        yield target.finalize_migration_target(instance, info, True)
        yield self.assert_shell_answers(console)
        self.assertTrue(process_gone(old["id"]))
        self.assertEqual(runtime_files(self.hv), [])
        self.assertEqual((yield target.list_instances()), [name])

    @inlineCallbacks
    def test_failed_migration_resumes_source(self):
        """
        A non-live migration to a port nobody listens on fails with
        L{HypervisorError}; finalizing the source as failed resumes the
        paused guest, whose shell answers again.
        """
        console = yield self.boot()
        name = "inst1.example.com"
        instance = self.instance(migration_port=free_port())
        try:
            yield self.hv.migrate_instance(instance, "127.0.0.1", False)
        except HypervisorError as e:
            self.assertIn(name, str(e))
        else:
            self.fail("migration to a closed port succeeded")
        yield self.hv.finalize_migration_source(name, False)
        status = yield self.hv._qmp(name, "query-status")
        self.assertEqual(status["status"], "running")
        yield self.assert_shell_answers(console)

    @inlineCallbacks
    def test_hard_stop(self):
        """
        A forced stop kills qemu at once.
        """
        yield self.hv.start_instance(self.instance(), [])
        info = yield self.hv.get_instance_info("inst1.example.com")
        started = reactor.seconds()
        yield self.hv.stop_instance("inst1.example.com", force=True)
        self.assertLess(reactor.seconds() - started, 10)
        self.assertTrue(process_gone(info["id"]))
        self.assertEqual(runtime_files(self.hv), [])

    @inlineCallbacks
    def test_no_acpi_stop_kills(self):
        """
        Without ACPI the guest cannot be asked to stop, so even a soft
        stop kills it at once (Ganeti's behaviour).
        """
        yield self.hv.start_instance(self.instance(acpi=False), [])
        started = reactor.seconds()
        yield self.hv.stop_instance("inst1.example.com", timeout=60)
        self.assertLess(reactor.seconds() - started, 10)
        self.assertEqual((yield self.hv.list_instances()), [])

    @inlineCallbacks
    def test_reboot(self):
        """
        A reboot resets the guest, which boots again in the same qemu.
        """
        console = yield self.boot()
        info = yield self.hv.get_instance_info("inst1.example.com")
        yield self.hv.reboot_instance("inst1.example.com")
        yield console.wait_for(BOOT_LINE, count=2, timeout=60)
        after = yield self.hv.get_instance_info("inst1.example.com")
        self.assertEqual(after["id"], info["id"])

    @inlineCallbacks
    def test_failed_start(self):
        """
        A qemu that cannot start (its disk does not exist) fails the start
        with qemu's own error message and leaves nothing behind.
        """
        disks = [{"path": "/nonexistent/disk0", "mode": "rw", "uuid": "u0"}]
        try:
            yield self.hv.start_instance(self.instance(), disks)
        except HypervisorError as e:
            self.assertIn("/nonexistent/disk0", str(e))
            self.assertIn("No such file or directory", str(e))
        else:
            self.fail("qemu started with a missing disk")
        self.assertEqual((yield self.hv.list_instances()), [])
        self.assertEqual(runtime_files(self.hv), [])

    @inlineCallbacks
    def test_adoption(self):
        """
        A new L{KvmHypervisor} on the same root (a restarted node daemon)
        finds, describes and stops the qemu the previous one started.
        """
        yield self.hv.start_instance(self.instance(), [])
        old = yield self.hv.get_instance_info("inst1.example.com")
        adopter = KvmHypervisor(self.paths, reactor)
        self.assertEqual((yield adopter.list_instances()),
                         ["inst1.example.com"])
        info = yield adopter.get_instance_info("inst1.example.com")
        self.assertEqual((info["id"], info["memory"], info["state"]),
                         (old["id"], 128, STATE_RUNNING))
        yield adopter.stop_instance("inst1.example.com", force=True)
        self.assertEqual((yield self.hv.list_instances()), [])
        self.assertTrue(process_gone(old["id"]))
        self.assertEqual(runtime_files(self.hv), [])

    @inlineCallbacks
    def test_kvm_binary_forced_to_tcg(self):
        """
        ``kvm_flag=disabled`` makes even the ``kvm`` binary (which picks
        KVM by itself) emulate with TCG.
        """
        if not os.path.exists(KVM_LINK):
            raise SkipTest("%s is not installed" % (KVM_LINK,))
        yield self.hv.start_instance(self.instance(kvm_path=KVM_LINK), [])
        status = yield qmp_call(reactor, self.hv.layout.qmp_socket(
            "inst1.example.com"), "query-kvm")
        self.assertFalse(status["enabled"])

    @inlineCallbacks
    def test_qmp_session(self):
        """
        A QMP session runs commands, reports qemu's errors as
        L{QmpCommandError} and delivers events; the paused instance still
        counts as running.
        """
        yield self.hv.start_instance(self.instance(), [], startup_paused=True)
        session = yield connect_qmp(reactor, self.hv.layout.qmp_socket(
            "inst1.example.com"))
        try:
            self.assertIn("qemu", session.greeting["version"])
            status = yield session.execute("query-status")
            self.assertEqual(status["status"], "prelaunch")
            resumed = session.wait_for_event("RESUME")
            yield session.execute("cont")
            event = yield resumed
            self.assertEqual(event["event"], "RESUME")
            try:
                yield session.execute("no-such-command")
            except QmpCommandError as e:
                self.assertEqual(e.error_class, "CommandNotFound")
            else:
                self.fail("unknown QMP command succeeded")
        finally:
            yield session.close()
        info = yield self.hv.get_instance_info("inst1.example.com")
        self.assertEqual(info["state"], STATE_RUNNING)

    @inlineCallbacks
    def test_node_info_version(self):
        """
        The hypervisor version is qemu's.
        """
        result = yield run_command(reactor, [QEMU, "--version"])
        info = yield self.hv.get_node_info(fill_hvparams(
            {"kvm_path": QEMU}))
        self.assertIn(b"version %d.%d" % tuple(info["hv_version"][:2]),
                      result.stdout)

    @inlineCallbacks
    def test_vnc(self):
        """
        With vnc_bind_address and a network port, qemu serves VNC there.
        """
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port <= 5900:
            raise SkipTest("no free port above 5900")
        instance = self.instance(vnc_bind_address="127.0.0.1")
        instance["network_port"] = port
        yield self.hv.start_instance(instance, [])
        banner = _FirstBytes()
        yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port),
                              banner)
        data = yield banner.received
        yield banner.close()
        self.assertTrue(data.startswith(b"RFB "), data)

    @inlineCallbacks
    def test_bridged_nic(self):
        """
        A bridged NIC gets a tap device attached to the bridge, removed
        again when the instance stops.
        """
        if os.geteuid() != 0:
            raise SkipTest("needs root to create bridges and tap devices")
        bridge = "gntbr" + os.urandom(3).hex()
        made = yield run_command(reactor, ["ip", "link", "add", "name",
                                           bridge, "type", "bridge"])
        if made.failed:
            raise SkipTest("cannot create a bridge: " + made.describe())
        self.addCleanup(run_command, reactor,
                        ["ip", "link", "del", "dev", bridge])
        nic = {"mac": "aa:00:00:ab:cd:ef", "ip": None, "mode": "bridged",
               "link": bridge, "vlan": "", "uuid": "n0"}
        instance = self.instance()
        instance["nics"] = [nic]
        yield self.hv.start_instance(instance, [])
        with open(self.hv.layout.runtime_file("inst1.example.com")) as f:
            tap = json.load(f)["nics"][0]["tap"]
        self.assertEqual(
            os.path.basename(os.readlink("/sys/class/net/%s/master" % tap)),
            bridge)
        yield self.hv.stop_instance("inst1.example.com", force=True)
        self.assertFalse(os.path.exists("/sys/class/net/" + tap))


class _FirstBytes(Protocol):
    """
    Collect the first bytes a server sends (e.g. a VNC banner).
    """

    def __init__(self):
        self.received = Deferred()
        self._lost = Deferred()

    def dataReceived(self, data):
        if not self.received.called:
            self.received.callback(data)

    def connectionLost(self, reason):
        self._lost.callback(None)

    def close(self):
        self.transport.loseConnection()
        return self._lost
