# -*- test-case-name: tests.test_kvm_command -*-
"""
Tests for L{ganeti.hypervisor.kvm.command}, and for what a
L{KvmHypervisor} derives from the parameters without running anything
(accelerator, console).
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti.hypervisor.kvm.command import kvm_command
from ganeti.hypervisor.kvm.hypervisor import KvmHypervisor
from ganeti.hypervisor.kvm.runtime import RuntimeLayout
from ganeti.paths import Paths
from ganeti.testing.process import ProcessClock
from tests.kvm_fixtures import kvm_instance


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
