# -*- test-case-name: tests.test_hypervisor_kvm -*-
"""
Tests for L{ganeti.hypervisor.kvm.hypervisor} and
L{ganeti.hypervisor.qmp}.

QMP is tested against a scripted qemu; the rest runs real qemu (TCG) on
the real reactor, booting the tiny guest of L{ganeti.testing.guest} (see
L{tests.kvm_fixtures}): the shared hypervisor contract, stops, reboots,
adoption, consoles.  The other modules of the package have their own
tests, C{tests.test_kvm_*}.
"""

import json
import os
import socket

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from ganeti.errors import HypervisorError
from ganeti.hypervisor.interfaces import STATE_RUNNING
from ganeti.hypervisor.kvm.hypervisor import KvmHypervisor
from ganeti.hypervisor.kvm.params import fill_hvparams
from ganeti.hypervisor.qmp import (
    QmpCommandError,
    QmpError,
    QmpProtocol,
    connect_qmp,
    qmp_call,
)
from ganeti.process import run_command
from ganeti.testing.guest import BOOT_LINE, POWERDOWN_LINE, connect_console
from tests.hypervisor_mixin import IHypervisorTestsMixin
from tests.kvm_fixtures import (
    KVM_LINK,
    QEMU,
    GuestFixture,
    free_port,
    guest_hvparams,
    guest_or_skip,
    kvm_instance,
    process_gone,
    runtime_files,
    short_root,
)


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



class KvmGuestTests(GuestFixture, TestCase):
    """
    Real qemu running the test guest: console, soft and hard stops, reboot,
    failures, adoption, QMP.
    """

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
