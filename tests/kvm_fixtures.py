# -*- test-case-name: tests.test_hypervisor_kvm,tests.test_kvm_hotplug,tests.test_kvm_migration -*-
"""
What the kvm tests share: instance dicts, short node roots, and the tiny
guest of L{ganeti.testing.guest} booted by real qemu (TCG, so no working
``/dev/kvm`` is needed).  Tests that need the guest are skipped, saying
what is missing, when qemu, the kernel or a static busybox is not
installed (``tests/install-deps.sh`` installs them).
"""

import os
import shutil
import socket
import tempfile

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import SkipTest

from ganeti import constants
from ganeti.hypervisor.kvm.hypervisor import KvmHypervisor
from ganeti.paths import Paths
from ganeti.testing.guest import (
    BOOT_LINE,
    GuestUnavailable,
    build_guest_image,
    connect_console,
)

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


class GuestFixture:
    """
    Mixed into a L{twisted.trial.unittest.TestCase}: a L{KvmHypervisor} on
    a fresh node root, on the real reactor, that boots the test guest;
    instances left running are stopped after each test.
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
