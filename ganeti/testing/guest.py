# -*- test-case-name: tests.test_hypervisor_kvm -*-
"""
A tiny bootable guest for tests that run real qemu.

The guest is the node's own Debian kernel (``/boot/vmlinuz-*``) plus an
initramfs of about 1 MB built here: a static busybox and an ``/init``
script.  It boots under TCG in a few seconds and then:

  - prints L{BOOT_LINE} on the serial console (``ttyS0``), so a test can
    wait for the boot by reading the console socket;
  - watches the ACPI power button and, when pressed (QMP
    ``system_powerdown``), prints L{POWERDOWN_LINE} and powers off, so
    qemu exits: a soft stop really ends the process;
  - runs a shell on the console for anything else.

The power button needs the kernel's ``evdev`` and ``button`` drivers;
Debian builds them as modules, so the matching ``.ko`` files are copied
into the initramfs (uncompressed, as Debian 12 ships them).  Without them
the guest still boots but ignores the power button (``acpi_poweroff`` is
then false and soft stops time out).

The boot line is printed only once the power button is being watched, so
a test may ask for a soft stop as soon as it has seen the line.

L{build_guest_image} is fixture code that runs before the reactor does:
it reads and writes files directly.  Nothing is executed to build the
image; the ``newc`` cpio archive is written in Python.
L{connect_console} attaches a L{SerialConsole} to an instance's serial
socket, on which a test waits for lines without sleeping.
"""

import glob
import gzip
import hashlib
import os
import re
import stat
import struct

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol

from ganeti.utils.io import atomic_write

#: Printed on the serial console once the guest is up.
BOOT_LINE = "GANETI-GUEST-BOOTED"
#: Printed on the serial console when the power button is pressed.
POWERDOWN_LINE = "GANETI-GUEST-POWERDOWN"
#: Kernel arguments that keep the console quiet and the boot short.
KERNEL_ARGS = "quiet mitigations=off"

# Part of the cache key with /init, busybox and the modules: bump it when
# the archive's layout changes, so cached images are rebuilt.
_FORMAT = b"ganeti-test-guest-1"

#: Driver modules needed for the ACPI power button, relative to
#: C{/lib/modules/<version>/kernel/}.
_MODULES = ("drivers/input/evdev.ko", "drivers/acpi/button.ko")

_INIT = """#!/bin/sh
# Ganeti test guest; see ganeti/testing/guest.py.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for module in /lib/modules/*.ko; do
  [ -e "$module" ] && insmod "$module"
done
button=
tries=0
# The button appears as an input device once button.ko is loaded; its
# /dev node follows from devtmpfs a moment later.
while [ -d /sys/firmware/acpi ] && [ -z "$button" ] && [ $tries -lt 50 ]; do
  for device in /sys/class/input/event*; do
    if [ "$(cat "$device/device/name" 2>/dev/null)" = "Power Button" ]; then
      button=/dev/input/${device##*/}
    fi
  done
  [ -n "$button" ] || sleep 0.1
  tries=$((tries + 1))
done
tries=0
while [ -n "$button" ] && [ ! -c "$button" ] && [ $tries -lt 50 ]; do
  sleep 0.1
  tries=$((tries + 1))
done
if [ -n "$button" ] && [ -c "$button" ]; then
  # Open the device before announcing the boot: a press that comes
  # before the open would be lost.
  (exec 3<"$button" && : >/button-open
   dd of=/dev/null bs=24 count=1 <&3 2>/dev/null
   echo %(powerdown)s
   poweroff -f) &
  tries=0
  while [ ! -e /button-open ] && [ $tries -lt 50 ]; do
    sleep 0.1
    tries=$((tries + 1))
  done
else
  button=none
fi
echo "%(boot)s acpi=$button"
while :; do
  sh
done
""" % {"boot": BOOT_LINE, "powerdown": POWERDOWN_LINE}


class GuestUnavailable(Exception):
    """
    The guest cannot be built here; the message says what is missing
    (tests use it as their skip reason).
    """


def _version_key(text):
    return [int(part) if part.isdigit() else part
            for part in re.split(r"(\d+)", text)]


def find_kernel(boot_dir="/boot"):
    """
    Choose the kernel: a Debian ``cloud`` flavour if there is one (fewer
    drivers to probe, so it boots faster under emulation), else any; the
    newest version of those.

    :return: the path of a readable ``vmlinuz-*``.
    :raise GuestUnavailable: if there is none.
    """
    kernels = [path for path in glob.glob(os.path.join(boot_dir,
                                                       "vmlinuz-*"))
               if os.access(path, os.R_OK)]
    if not kernels:
        raise GuestUnavailable(
            "no readable kernel in %s (install linux-image-cloud-amd64)"
            % (boot_dir,))
    kernels.sort(key=lambda path: ("cloud" in path, _version_key(path)))
    return kernels[-1]


def _is_static_elf(path):
    """
    :return: whether C{path} is a 64-bit little-endian ELF executable
        without a program interpreter (statically linked).
    """
    try:
        with open(path, "rb") as f:
            header = f.read(64)
            if header[:6] != b"\x7fELF\x02\x01":
                return False
            phoff, = struct.unpack_from("<Q", header, 32)
            phentsize, phnum = struct.unpack_from("<HH", header, 54)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except (OSError, struct.error):
        return False
    for index in range(phnum):
        p_type, = struct.unpack_from("<I", table, index * phentsize)
        if p_type == 3:  # PT_INTERP: needs a dynamic loader.
            return False
    return True


def find_busybox(candidates=("/bin/busybox", "/usr/bin/busybox")):
    """
    :return: the path of a statically linked busybox.
    :raise GuestUnavailable: if there is none.
    """
    for path in candidates:
        if _is_static_elf(path):
            return path
    raise GuestUnavailable("no static busybox (install busybox-static)")


def _modules_for(kernel, modules_root="/lib/modules"):
    """
    :return: C{(paths, complete)}: the power-button module files of
        C{kernel}'s version to copy, and whether every needed driver is
        either among them or built into the kernel.
    """
    version = os.path.basename(kernel)[len("vmlinuz-"):]
    base = os.path.join(modules_root, version)
    try:
        with open(os.path.join(base, "modules.builtin")) as f:
            builtin = set(line.strip() for line in f)
    except OSError:
        builtin = set()
    found, complete = [], True
    for module in _MODULES:
        path = os.path.join(base, "kernel", module)
        if os.path.isfile(path):
            found.append(path)
        elif "kernel/" + module not in builtin:
            complete = False
    return found, complete


def _cpio_entry(name, mode, data=b"", rdev=(0, 0), inode=0):
    """
    :return: one ``newc`` cpio record (header, name, data, padding).
    """
    encoded = name.encode("utf-8") + b"\0"
    fields = (inode, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
              len(encoded), 0)
    record = b"070701" + b"".join(b"%08X" % value for value in fields)
    record += encoded
    record += b"\0" * (-len(record) % 4)
    record += data + b"\0" * (-len(data) % 4)
    return record


def _initramfs(busybox, modules):
    """
    :return: the gzip-compressed cpio archive of the guest's root.
    """
    directory = stat.S_IFDIR | 0o755
    entries = [("dev", directory, b"", (0, 0)),
               # The kernel opens /dev/console for init before devtmpfs is
               # mounted; without the node init would have no console.
               ("dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)),
               ("bin", directory, b"", (0, 0)),
               ("bin/busybox", stat.S_IFREG | 0o755, busybox, (0, 0)),
               ("bin/sh", stat.S_IFLNK | 0o777, b"busybox", (0, 0)),
               ("proc", directory, b"", (0, 0)),
               ("sys", directory, b"", (0, 0)),
               ("lib", directory, b"", (0, 0)),
               ("lib/modules", directory, b"", (0, 0))]
    for name, data in modules:
        entries.append(("lib/modules/" + name, stat.S_IFREG | 0o644, data,
                        (0, 0)))
    entries.append(("init", stat.S_IFREG | 0o755, _INIT.encode("ascii"),
                    (0, 0)))
    archive = b"".join(_cpio_entry(name, mode, data, rdev, inode)
                       for inode, (name, mode, data, rdev)
                       in enumerate(entries, 1))
    archive += _cpio_entry("TRAILER!!!", 0)
    # mtime=0: the same inputs give the same bytes.
    return gzip.compress(archive, compresslevel=6, mtime=0)


def build_guest_image(cache_dir, kernel=None):
    """
    Build the test guest, or reuse a cached build of the same inputs.

    :param cache_dir: where images are kept; created if missing.  Images
        are named after a hash of everything that goes into them.
    :param kernel: the kernel to boot; by default L{find_kernel}.
    :return: a dict: ``kernel`` and ``initrd`` (paths), ``kernel_args``
        (L{KERNEL_ARGS}), ``boot_line`` (L{BOOT_LINE}), ``acpi_poweroff``
        (whether the guest powers off on an ACPI power-button press).
    :raise GuestUnavailable: if the kernel or a static busybox is missing.
    """
    kernel = kernel or find_kernel()
    with open(find_busybox(), "rb") as f:
        busybox = f.read()
    modules = []
    module_paths, complete = _modules_for(kernel)
    for path in module_paths:
        with open(path, "rb") as f:
            modules.append((os.path.basename(path), f.read()))
    digest = hashlib.sha256(_FORMAT)
    for part in [_INIT.encode("ascii"), busybox] + [
            name.encode() + data for name, data in modules]:
        digest.update(hashlib.sha256(part).digest())
    os.makedirs(cache_dir, exist_ok=True)
    initrd = os.path.join(cache_dir,
                          "guest-%s.cpio.gz" % digest.hexdigest()[:16])
    if not os.path.exists(initrd):
        atomic_write(initrd, _initramfs(busybox, modules), fsync=False)
    return {"kernel": kernel, "initrd": initrd, "kernel_args": KERNEL_ARGS,
            "boot_line": BOOT_LINE,
            "acpi_poweroff": complete}


class SerialConsole(Protocol):
    """
    A client of an instance's serial console socket that keeps all output
    and lets a test wait for a text to appear in it.

    :ivar output: everything received so far, as L{bytes}.
    """

    def __init__(self, reactor):
        self._reactor = reactor
        self.output = b""
        self._waiters = []
        self._lost = False
        self._closed = []

    def dataReceived(self, data):
        self.output += data
        self._check()

    def connectionLost(self, reason):
        self._lost = True
        self._check()
        closed, self._closed = self._closed, []
        for d in closed:
            d.callback(None)

    def close(self):
        """
        Disconnect.

        :return: a Deferred firing once the connection is closed (at once
            if it already is), so a test leaves a clean reactor.
        """
        d = Deferred()
        if self._lost:
            d.callback(None)
        else:
            self._closed.append(d)
            self.transport.loseConnection()
        return d

    def count(self, text):
        """
        :return: how often C{text} (L{str} or L{bytes}) appeared so far.
        """
        if isinstance(text, str):
            text = text.encode("utf-8")
        return self.output.count(text)

    def wait_for(self, text, count=1, timeout=60.0):
        """
        :return: a Deferred firing with the output so far once C{text} has
            appeared C{count} times in total; it fails with
            L{AssertionError} (naming what was seen) after C{timeout}
            seconds or if the console closes first.
        """
        d = Deferred()
        timer = self._reactor.callLater(timeout, self._give_up, d, text,
                                        "no %r within %g seconds"
                                        % (text, timeout))
        self._waiters.append((text, count, d, timer))
        self._check()
        return d

    def _give_up(self, d, text, why):
        self._waiters = [w for w in self._waiters if w[2] is not d]
        d.errback(AssertionError("%s; console output:\n%s"
                                 % (why, self.output.decode("utf-8",
                                                            "replace"))))

    def _check(self):
        for waiter in list(self._waiters):
            text, count, d, timer = waiter
            if self.count(text) >= count:
                self._waiters.remove(waiter)
                timer.cancel()
                d.callback(self.output)
            elif self._lost:
                self._waiters.remove(waiter)
                timer.cancel()
                self._give_up(d, text, "console closed before %r" % (text,))


def connect_console(reactor, path):
    """
    Connect to a serial console socket.

    Connect right after the instance starts: qemu drops console output
    while no client is connected.

    :return: a Deferred firing with a connected L{SerialConsole}.
    """
    console = SerialConsole(reactor)
    endpoint = UNIXClientEndpoint(reactor, path, timeout=10)
    return connectProtocol(endpoint, console)
