# -*- test-case-name: tests.vm.test_vmbed -*-
"""
A test bed of real virtual machines: the hosts Ganeti's own storage needs.

The namespace bed (``tests/cluster/bed.py``) shares this machine's kernel,
which has neither device-mapper nor DRBD.  Debian's cloud kernel has both
as modules, so the hosts here are qemu guests (TCG emulation) booting that
kernel: real LVM on a second virtual disk, real DRBD, real sshd, nothing
faked.  Each guest:

  - boots ``/boot/vmlinuz-*`` and its initrd from this machine, with a root
    disk that is a copy-on-write overlay of one Debian image built with
    ``debootstrap`` and cached below L{CACHE_DIR}, keyed by its recipe (so
    a changed recipe builds a new image and an unchanged one is reused);
  - gets a third, read-only "seed" disk made for each bed: the project at
    the checkout's state, the Python packages it runs on (copied from the
    running environment, so the guest runs exactly what the tests do),
    names, addresses, ssh keys and the boot script;
  - has three network cards: ``eth0`` a user-mode NIC with only an ssh
    port forwarded from ``127.0.0.1`` (``restrict=on``: the guest reaches
    nothing), ``eth1`` the primary network and ``eth2`` the secondary
    (replication) one.  The two cluster networks are hubs run by this
    module that pass Ethernet frames between the guests' qemu processes
    over Unix sockets: no interface, bridge or address on this machine;
  - mounts the bed's shared directory (L{SHARED_MOUNT}, the same host
    directory in every guest) over virtio-fs, with the project's
    ``filevol`` ExtStorage provider installed to keep its volumes there;
  - starts udev, loads ``dm-mod`` and ``drbd``, puts volume group
    ``xenvg`` on its second disk (once) and runs sshd.  Root's key is the
    same on every guest and authorized everywhere, and ``known_hosts`` is
    filled in, as in the namespace bed.

This is blocking fixture code (``subprocess``, ``time.sleep``), never
imported by the daemons.  Processes are found through pid files and
checked against ``/proc/PID/cmdline`` before a signal, never by name.

The command line (``python -m ganeti.testing.vmbed``) drives one bed in
L{DEFAULT_BED}; see L{main}.
"""

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from ganeti.storage import providers
from ganeti.testing import guest as guestmod

#: Images, pip-free package copies and the command line's bed live here.
CACHE_DIR = "/var/tmp/ganeti-vmbed"
#: The bed the command line drives.
DEFAULT_BED = os.path.join(CACHE_DIR, "bed")

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
#: What a Ganeti node needs besides the project: storage tools, sshd, the
#: Python the project runs on, qemu-img for file disks, udev for LVM, and
#: htools' ``hail`` allocator (``-I hail``).
PACKAGES = ("openssh-server", "openssh-client", "lvm2", "drbd-utils",
            "python3", "iproute2", "kmod", "procps", "qemu-utils", "udev",
            "util-linux", "e2fsprogs", "iputils-ping", "ganeti-htools-3.0")

DOMAIN = "example.com"
CLUSTER_NAME = "cluster." + DOMAIN
#: The two cluster networks (only the hubs carry them).
PRIMARY_NET = "192.0.2"
SECONDARY_NET = "198.51.100"
#: A primary address no guest has: the cluster IP.
MASTER_IP = PRIMARY_NET + ".254"
GUEST_MEMORY_MIB = 768
#: qemu's TCG translation cache per guest.
TB_SIZE_MIB = 128
#: Size of each guest's LVM disk (sparse; Ganeti wants a VG of 20 GiB or more).
VG_DISK_SIZE = "24G"
VG_NAME = "xenvg"

#: Where every guest mounts the bed's shared directory (a shared file
#: system, as ExtStorage providers such as ``filevol`` expect).
SHARED_MOUNT = "/srv/ganeti-shared"
#: The ``filevol`` provider's volume directory, below L{SHARED_MOUNT}.
FILEVOL_SUBDIR = "filevol"
#: Debian's virtio-fs daemon (package qemu-system-common).  Debian's cloud
#: kernel has virtio-fs but no 9p (C{CONFIG_NET_9P} is off), so the
#: shared directory is virtio-fs.
VIRTIOFSD = "/usr/lib/qemu/virtiofsd"
#: The shared directory's tag, which the guest's mount names.
SHARED_TAG = "shared"

#: Printed on a guest's console once its sshd runs.
READY_LINE = "VMBED-READY"
#: How long a guest may take from qemu's start to ssh answering.
BOOT_TIMEOUT = 180.0

# Part of the image's cache key: bump it when the build steps change.
_FORMAT = "vmbed-image-1"

#: PID 1 of the image.  It only mounts the seed disk and hands over to the
#: bed's boot script there, so a change to the boot steps needs no new
#: image.
_IMAGE_INIT = r"""#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -o remount,rw /
mkdir -p /seed
mount -o ro "$(blkid -L vmbed-seed)" /seed
exec /bin/sh /seed/boot.sh
"""

#: The bed's boot script (on the seed disk, run as PID 1): the guest
#: index comes from the kernel command line.
_BOOT = r"""set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
node=$(sed -n 's/.*vmbed\.node=\([0-9]*\).*/\1/p' /proc/cmdline)
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mkdir -p /run/lock /run/sshd
hostname "node$node.{domain}"
echo "node$node.{domain}" > /etc/hostname
cp /seed/hosts /etc/hosts
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add
udevadm settle --timeout=60
modprobe dm-mod
modprobe loop
modprobe virtiofs
mkdir -p {shared}
mount -t virtiofs {tag} {shared}
mkdir -p /srv/ganeti/extstorage
cp -a /seed/extstorage/. /srv/ganeti/extstorage/
modprobe drbd minor_count=128 usermode_helper=/bin/true
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
ip addr add {primary}.$((10 + node))/24 dev eth1
ip link set eth1 up
ip addr add {secondary}.$((10 + node))/24 dev eth2
ip link set eth2 up
mkdir -p /root/.ssh
cp /seed/ssh/id_ed25519 /seed/ssh/id_ed25519.pub /seed/ssh/known_hosts \
    /root/.ssh/
cp /seed/ssh/id_ed25519.pub /root/.ssh/authorized_keys
chmod 600 /root/.ssh/id_ed25519
cp /seed/ssh/node$node/* /etc/ssh/
chmod 600 /etc/ssh/ssh_host_ed25519_key
rm -rf /opt/ganeti
cp -a /seed/ganeti /opt/ganeti
for tool in /opt/ganeti/src/bin/*; do ln -sf "$tool" /usr/local/sbin/; done
if ! vgs {vg} >/dev/null 2>&1; then
    pvcreate -q /dev/vdb && vgcreate -q {vg} /dev/vdb
fi
/usr/sbin/sshd -o UseDNS=no
# A node of a cluster starts its daemon at boot, as Debian's unit does.
if [ -e /var/lib/ganeti/server.pem ]; then
    ganeti-daemon start
fi
echo {ready} > /dev/console
exec python3 -c '
import os, time
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(1)
'
"""


class BedError(Exception):
    """Building or driving the bed failed; the message says what."""


def _run(argv, check=True, **kwargs):
    """Run a fixture command, capturing its output as text."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    result = subprocess.run(argv, **kwargs)
    if check and result.returncode != 0:
        raise BedError("%s failed (exit %d): %s" % (
            shlex.join(argv), result.returncode,
            (result.stderr or result.stdout or "").strip()[-2000:]))
    return result


def missing():
    """
    :return: why this machine cannot run the bed (for a test's skip), or
        None when it can.
    """
    if os.geteuid() != 0:
        return "the VM bed needs root (debootstrap, image building)"
    for tool in ("qemu-system-x86_64", "qemu-img", "debootstrap",
                 "mkfs.ext4", "ssh", "ssh-keygen", VIRTIOFSD):
        if shutil.which(tool, path=os.environ.get("PATH", "") +
                        ":/usr/sbin:/sbin") is None:
            return "the VM bed needs %s" % tool
    try:
        kernel = guestmod.find_kernel()
    except guestmod.GuestUnavailable as e:
        return str(e)
    if not os.path.exists(_initrd_for(kernel)):
        return "no initrd for %s" % kernel
    return None


def _initrd_for(kernel):
    return kernel.replace("vmlinuz-", "initrd.img-")


def _kernel_version(kernel):
    return os.path.basename(kernel)[len("vmlinuz-"):]


# --- the image ---------------------------------------------------------------

def image_key(kernel):
    """:return: the cache key of the image for C{kernel}: its recipe."""
    recipe = {"format": _FORMAT, "suite": SUITE, "packages": PACKAGES,
              "init": _IMAGE_INIT, "kernel": _kernel_version(kernel)}
    text = json.dumps(recipe, sort_keys=True).encode()
    return hashlib.sha256(text).hexdigest()[:16]


def build_image(kernel, log=print, cache_dir=CACHE_DIR):
    """
    The guests' root image, built once per recipe: ``debootstrap`` of
    L{PACKAGES}, the kernel's modules, L{_IMAGE_INIT} as ``/sbin``'s
    init and a ``.pth`` file that puts the seed's project on Debian's
    Python path; then an ext4 filesystem made from that tree with
    ``mkfs.ext4 -d`` (no mount needed).

    :return: the path of the raw image.
    """
    image_dir = os.path.join(cache_dir, "image-" + image_key(kernel))
    image = os.path.join(image_dir, "root.img")
    if os.path.exists(image):
        return image
    os.makedirs(cache_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="image-build-", dir=cache_dir)
    try:
        root = os.path.join(work, "root")
        log("vmbed: building the guest image (debootstrap %s)..." % SUITE)
        started = time.monotonic()
        _run(["debootstrap", "--variant=minbase",
              "--include=" + ",".join(PACKAGES), SUITE, root, MIRROR])
        version = _kernel_version(kernel)
        shutil.copytree(os.path.join("/lib/modules", version),
                        os.path.join(root, "lib/modules", version),
                        symlinks=True, dirs_exist_ok=True)
        with open(os.path.join(root, "sbin/vmbed-init"), "w") as f:
            f.write(_IMAGE_INIT)
        os.chmod(os.path.join(root, "sbin/vmbed-init"), 0o755)
        with open(os.path.join(root, "usr/lib/python3/dist-packages",
                               "ganeti-vmbed.pth"), "w") as f:
            f.write("/opt/ganeti/site\n/opt/ganeti/src\n")
        # The daemons' runtime directories as Debian's packages would
        # make them; apt's caches are not needed in the guest.
        shutil.rmtree(os.path.join(root, "var/cache/apt/archives"),
                      ignore_errors=True)
        partial = os.path.join(work, "root.img")
        _run(["mkfs.ext4", "-q", "-F", "-L", "vmbed-root", "-d", root,
              partial, "3G"])
        os.makedirs(image_dir, exist_ok=True)
        os.rename(partial, image)
        log("vmbed: image built in %.0f s: %s"
            % (time.monotonic() - started, image))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return image


# --- the seed ----------------------------------------------------------------

def _project_root():
    """:return: the checkout the running ``ganeti`` package comes from."""
    import ganeti
    return os.path.dirname(os.path.dirname(os.path.abspath(ganeti.__file__)))


def _runtime_distributions():
    """
    :return: the installed distributions the project needs at run time
        (the closure of its requirements, extras left out).
    """
    wanted, seen = ["ganeti-twisted"], {}
    while wanted:
        name = wanted.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        seen[key] = dist
        for requirement in dist.requires or []:
            if "extra ==" in requirement:
                continue
            wanted.append(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
    seen.pop("ganeti-twisted", None)
    return list(seen.values())


def _copy_site(target):
    """Copy the files of the runtime distributions into C{target}."""
    for dist in _runtime_distributions():
        for entry in dist.files or []:
            source = os.path.normpath(str(dist.locate_file(entry)))
            relative = str(entry)
            if relative.startswith("..") or "__pycache__" in relative:
                continue
            if not os.path.isfile(source):
                continue
            destination = os.path.join(target, relative)
            os.makedirs(os.path.dirname(destination), exist_ok=True)
            shutil.copy2(source, destination)


def _copy_project(target):
    """
    Copy the project's code (package, tools, twistd plugin) and its tests,
    which can then also run where device-mapper and DRBD are real.
    """
    root = _project_root()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "dropin.cache",
                                    "_trial_temp*")
    for name in ("ganeti", "bin", os.path.join("twisted", "plugins"),
                 "tests"):
        shutil.copytree(os.path.join(root, name), os.path.join(target, name),
                        ignore=ignore)


# --- processes ---------------------------------------------------------------

def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _owned(pid, marker):
    """:return: whether process C{pid} is ours: C{marker} in its argv."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return marker.encode() in f.read()
    except OSError:
        return False


def _exiting(pid):
    """
    :return: whether process C{pid} may still hold its files (and with
        them its disk images' locks).  Its command line goes before its
        files, and its main thread turns zombie while the other threads,
        which share the files, are still ending: only once every thread
        is a zombie (or gone) may another qemu open the images.
    """
    try:
        threads = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return False
    for thread in threads:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, thread)) as f:
                state = f.read().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            return True
    return False


def _kill(pidfile, marker, sig=signal.SIGKILL, wait=10.0):
    """Signal the process of C{pidfile} if it is ours; wait for its end."""
    pid = _read_pid(pidfile)
    if pid is None or not _owned(pid, marker):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait
    while _exiting(pid):
        if time.monotonic() > deadline:
            raise BedError("process %d (%s) did not end within %d s of"
                           " signal %d" % (pid, marker, wait, sig))
        time.sleep(0.05)
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass


def _wait_for_socket(what, path, process, log, timeout=10.0):
    """
    Wait for a helper process (a hub, a virtio-fs daemon) to create the
    Unix socket qemu connects to.

    :raise BedError: naming C{what} and its C{log}, if it ends or takes
        longer than C{timeout} seconds.
    """
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if process.poll() is not None or time.monotonic() > deadline:
            raise BedError("%s did not start; see %s" % (what, log))
        time.sleep(0.02)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Guest:
    """
    One virtual machine of a L{VmBed}: ``node<index>.example.com``.

    :ivar ssh_port: the port on ``127.0.0.1`` forwarded to its sshd.
    """

    def __init__(self, bed, index, ssh_port):
        self.bed = bed
        self.index = index
        self.name = "node%d.%s" % (index, DOMAIN)
        self.ip = "%s.%d" % (PRIMARY_NET, 10 + index)
        self.secondary_ip = "%s.%d" % (SECONDARY_NET, 10 + index)
        self.ssh_port = ssh_port
        self._file = lambda suffix: os.path.join(bed.workdir, "node%d.%s"
                                                 % (index, suffix))
        self.disk = self._file("root.qcow2")
        self.vg_disk = self._file("vg.img")
        self.pidfile = self._file("pid")
        self.console_log = self._file("console.log")
        self.fs_socket = self._file("fs.sock")
        self.fs_pidfile = self._file("fs.pid")

    def __repr__(self):
        return "<Guest %s>" % (self.name,)

    def ssh_args(self, command, connect_timeout=10):
        """
        :param command: a shell command line (a string) or an argv, run as
            root in the guest.
        :return: the ssh argv that runs it from this machine.
        """
        if not isinstance(command, str):
            command = shlex.join(command)
        return ["ssh", "-i", self.bed.key, "-p", str(self.ssh_port),
                "-o", "UserKnownHostsFile=" + self.bed.known_hosts,
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=%d" % connect_timeout,
                "root@127.0.0.1", "--", command]

    def run(self, command, check=False, timeout=600, **kwargs):
        """
        Run C{command} as root in the guest and wait for it.

        :return: the L{subprocess.CompletedProcess} (text output).
        :raise BedError: with C{check}, for a non-zero exit.
        """
        return _run(self.ssh_args(command), check=check, timeout=timeout,
                    **kwargs)

    def running(self):
        """:return: whether this guest's qemu runs."""
        pid = _read_pid(self.pidfile)
        return pid is not None and _owned(pid, self.disk)

    def _start_fs(self):
        """
        Start the virtio-fs daemon that serves the bed's shared directory
        to this guest (one per guest: it serves one qemu and ends with
        it), and wait for its socket, which qemu connects to at start.

        ``cache=none``: the guest keeps neither data nor attributes of
        the shared files, so what one guest wrote through a loop device
        is what another reads once the first detached; the host's page
        cache is the one cache all guests share.  ``sandbox=chroot``
        because this machine may itself be a container.
        """
        _kill(self.fs_pidfile, self.fs_socket)
        if os.path.exists(self.fs_socket):
            os.unlink(self.fs_socket)
        with open(self._file("fs.log"), "w") as log:
            process = subprocess.Popen(
                [VIRTIOFSD, "--socket-path=" + self.fs_socket,
                 "-o", "source=" + self.bed.shared_dir, "-o", "cache=none",
                 "-o", "sandbox=chroot", "-o", "log_level=warn"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True)
        with open(self.fs_pidfile, "w") as f:
            f.write("%d\n" % process.pid)
        _wait_for_socket("the virtio-fs daemon of %s" % self.name,
                         self.fs_socket, process, self._file("fs.log"))

    def start(self):
        """Power the guest on (its disks keep what they held)."""
        if self.running():
            return
        bed = self.bed
        self._start_fs()
        mac = lambda net: "52:54:00:%02x:00:%02x" % (net, self.index)
        argv = [
            # A smaller translation cache than qemu's 1 GiB default: the
            # guests run little code, and the host keeps ~1 GiB per guest.
            "qemu-system-x86_64", "-accel", "tcg,tb-size=%d" % TB_SIZE_MIB,
            "-nodefaults",
            "-no-user-config", "-display", "none", "-no-reboot",
            "-m", str(GUEST_MEMORY_MIB), "-smp", "1",
            # virtio-fs needs the guest's memory shared with its daemon.
            "-object", "memory-backend-memfd,id=mem,share=on,size=%dM"
                       % GUEST_MEMORY_MIB,
            "-machine", "memory-backend=mem",
            "-kernel", bed.kernel, "-initrd", _initrd_for(bed.kernel),
            "-append", "root=/dev/vda rw console=ttyS0 quiet panic=-1 net.ifnames=0"
                       " mitigations=off init=/sbin/vmbed-init"
                       " vmbed.node=%d" % self.index,
            "-drive", "file=%s,if=virtio,format=qcow2" % self.disk,
            "-drive", "file=%s,if=virtio,format=raw,cache=unsafe"
                      % self.vg_disk,
            "-drive", "file=%s,if=virtio,format=raw,readonly=on" % bed.seed,
            "-netdev", "user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22"
                       % self.ssh_port,
            "-device", "virtio-net-pci,netdev=mgmt,mac=%s" % mac(0),
            "-chardev", "socket,id=fs,path=%s" % self.fs_socket,
            "-device", "vhost-user-fs-pci,chardev=fs,tag=%s" % SHARED_TAG]
        for net, sock in enumerate(bed.hub_sockets, 1):
            argv += ["-netdev", "stream,id=net%d,server=off,addr.type=unix,"
                                "addr.path=%s" % (net, sock),
                     "-device", "virtio-net-pci,netdev=net%d,mac=%s"
                                % (net, mac(net))]
        argv += ["-serial", "file:" + self.console_log,
                 "-pidfile", self.pidfile, "-daemonize"]
        _run(argv)

    def stop(self):
        """Power the guest off hard (qemu killed): a crash, for fault tests."""
        _kill(self.pidfile, self.disk)
        _kill(self.fs_pidfile, self.fs_socket, sig=signal.SIGTERM)

    def _console_says(self, line):
        try:
            with open(self.console_log, errors="replace") as f:
                return line in f.read()
        except FileNotFoundError:
            return False

    def wait_ready(self, timeout=BOOT_TIMEOUT):
        """
        Wait until the guest's boot is over (its node daemon started, if
        it is a node) and root can log in over ssh.

        :raise BedError: if it stops or does not get there in time.
        """
        deadline = time.monotonic() + timeout
        while not self._console_says(READY_LINE):
            if not self.running():
                raise BedError("%s stopped while booting; see %s"
                               % (self.name, self.console_log))
            if time.monotonic() > deadline:
                raise BedError("%s did not boot within %d s; see %s"
                               % (self.name, timeout, self.console_log))
            time.sleep(0.2)
        while _run(self.ssh_args("true", connect_timeout=3), check=False,
                   timeout=30).returncode != 0:
            if time.monotonic() > deadline:
                raise BedError("%s did not answer ssh within %d s"
                               % (self.name, timeout))
            time.sleep(0.5)


class VmBed:
    """
    N guests and the two hubs between them, all below C{workdir}.

    A bed's state (its guests' ports) is kept in ``bed.json`` there, so
    the command line's separate invocations drive the same bed.
    """

    def __init__(self, workdir=DEFAULT_BED, log=print):
        self.workdir = workdir
        self.log = log
        self.key = os.path.join(workdir, "ssh", "id_ed25519")
        self.known_hosts = os.path.join(workdir, "known_hosts")
        self.seed = os.path.join(workdir, "seed.img")
        #: The host directory every guest mounts at L{SHARED_MOUNT}.
        self.shared_dir = os.path.join(workdir, "shared")
        self.hub_sockets = [os.path.join(workdir, "hub%d.sock" % n)
                            for n in (1, 2)]
        self._state_file = os.path.join(workdir, "bed.json")
        self.kernel = guestmod.find_kernel()
        self.guests = []
        state = self._load()
        if state:
            self.kernel = state["kernel"]
            self.guests = [Guest(self, i + 1, port)
                           for i, port in enumerate(state["ports"])]

    def _load(self):
        try:
            with open(self._state_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def _save(self):
        data = json.dumps({"kernel": self.kernel,
                           "ports": [g.ssh_port for g in self.guests]})
        with open(self._state_file + ".tmp", "w") as f:
            f.write(data)
        os.rename(self._state_file + ".tmp", self._state_file)

    def __getitem__(self, index):
        """:return: guest number C{index} (1-based, as in its name)."""
        if not 1 <= index <= len(self.guests):
            raise BedError("no guest %d (the bed has %d)"
                           % (index, len(self.guests)))
        return self.guests[index - 1]

    # --- up / down -----------------------------------------------------------

    def up(self, count):
        """
        Build what is missing and boot C{count} guests; an existing bed is
        taken down first.

        :return: seconds from the first qemu start to every guest's ssh.
        """
        if count < 1:
            raise BedError("a bed needs at least one guest")
        self.down()
        os.makedirs(self.workdir, exist_ok=True)
        image = build_image(self.kernel, self.log)
        self.guests = [Guest(self, i, _free_port())
                       for i in range(1, count + 1)]
        self._save()
        os.makedirs(os.path.join(self.shared_dir, FILEVOL_SUBDIR))
        self._make_keys()
        self._make_seed()
        for guest in self.guests:
            _run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
                  "-b", image, guest.disk])
            _run(["qemu-img", "create", "-q", "-f", "raw", guest.vg_disk,
                  VG_DISK_SIZE])
        self._start_hubs()
        started = time.monotonic()
        for guest in self.guests:
            guest.start()
        for guest in self.guests:
            guest.wait_ready()
        return time.monotonic() - started

    def down(self):
        """Stop every guest and hub this bed started and remove its files."""
        for guest in self.guests:
            guest.stop()
        for n, sock in enumerate(self.hub_sockets, 1):
            _kill(os.path.join(self.workdir, "hub%d.pid" % n), sock,
                  sig=signal.SIGTERM)
        if os.path.isdir(self.workdir):
            shutil.rmtree(self.workdir)
        self.guests = []

    def _make_keys(self):
        """The bed's root key and one host key per guest, known to all."""
        ssh_dir = os.path.dirname(self.key)
        os.makedirs(ssh_dir)
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
              "root@vmbed", "-f", self.key])
        known = []
        for guest in self.guests:
            host_dir = os.path.join(ssh_dir, "node%d" % guest.index)
            os.makedirs(host_dir)
            path = os.path.join(host_dir, "ssh_host_ed25519_key")
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                  guest.name, "-f", path])
            with open(path + ".pub") as f:
                public = " ".join(f.read().split()[:2])
            known.append("%s,%s,node%d %s" % (guest.name, guest.ip,
                                              guest.index, public))
            known.append("[127.0.0.1]:%d %s" % (guest.ssh_port, public))
        with open(os.path.join(ssh_dir, "known_hosts"), "w") as f:
            f.write("\n".join(known) + "\n")
        shutil.copy(os.path.join(ssh_dir, "known_hosts"), self.known_hosts)

    def _make_seed(self):
        """The read-only disk every guest boots its bed-specific setup from."""
        tree = os.path.join(self.workdir, "seed")
        os.makedirs(tree)
        shutil.copytree(os.path.dirname(self.key), os.path.join(tree, "ssh"))
        hosts = ["127.0.0.1 localhost",
                 "%s %s cluster" % (MASTER_IP, CLUSTER_NAME)]
        hosts += ["%s %s node%d" % (g.ip, g.name, g.index)
                  for g in self.guests]
        with open(os.path.join(tree, "hosts"), "w") as f:
            f.write("\n".join(hosts) + "\n")
        with open(os.path.join(tree, "boot.sh"), "w") as f:
            f.write(_BOOT.replace("{domain}", DOMAIN)
                    .replace("{primary}", PRIMARY_NET)
                    .replace("{secondary}", SECONDARY_NET)
                    .replace("{vg}", VG_NAME).replace("{ready}", READY_LINE)
                    .replace("{shared}", SHARED_MOUNT)
                    .replace("{tag}", SHARED_TAG))
        # The shipped provider, installed by its own installer and told
        # to keep its volumes in the shared directory.
        providers.install(os.path.join(tree, "extstorage"),
                          volume_dir=os.path.join(SHARED_MOUNT,
                                                  FILEVOL_SUBDIR))
        _copy_site(os.path.join(tree, "ganeti", "site"))
        _copy_project(os.path.join(tree, "ganeti", "src"))
        # Compiled here (the guest's Python is the same minor version): a
        # guest would otherwise compile everything at every boot, which
        # under emulation takes longer than the boot itself.
        _run([sys.executable, "-m", "compileall", "-q",
              os.path.join(tree, "ganeti")], check=False)
        _run(["mkfs.ext4", "-q", "-F", "-L", "vmbed-seed", "-d", tree,
              self.seed, "512M"])
        shutil.rmtree(tree)

    def _start_hubs(self):
        for n, sock in enumerate(self.hub_sockets, 1):
            pidfile = os.path.join(self.workdir, "hub%d.pid" % n)
            log = open(os.path.join(self.workdir, "hub%d.log" % n), "w")
            process = subprocess.Popen(
                [sys.executable, "-m", "ganeti.testing.vmbed", "hub", sock],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True)
            log.close()
            with open(pidfile, "w") as f:
                f.write("%d\n" % process.pid)
            _wait_for_socket("the network hub", sock, process, log.name)

    # --- a cluster -------------------------------------------------------------

    def init_cluster(self, templates=("drbd", "plain", "file", "diskless",
                                      "ext")):
        """
        Initialise a cluster on guest 1 and add the others, as an operator
        would: ``gnt-cluster init`` then ``gnt-node add`` over ssh.

        :return: ``{"init": seconds, "add": [seconds per node]}``.
        """
        master = self[1]
        started = time.monotonic()
        master.run(["gnt-cluster", "init", "--enabled-hypervisors=fake",
                    "--enabled-disk-templates=" + ",".join(templates),
                    "--vg-name", VG_NAME, "--master-netdev", "eth1",
                    "-s", master.secondary_ip, "--no-etc-hosts",
                    CLUSTER_NAME], check=True)
        figures = {"init": time.monotonic() - started, "add": []}
        for guest in self.guests[1:]:
            started = time.monotonic()
            master.run(["gnt-node", "add", "-s", guest.secondary_ip,
                        guest.name], check=True)
            figures["add"].append(time.monotonic() - started)
        return figures


# --- the network hub ------------------------------------------------------------

def run_hub(path):
    """
    Pass every Ethernet frame one guest's qemu sends to all the others
    (qemu's ``stream`` netdev: each frame preceded by its length, 4 bytes
    big-endian).  Runs until killed.
    """
    from twisted.internet import reactor
    from twisted.internet.endpoints import UNIXServerEndpoint
    from twisted.internet.protocol import Factory
    from twisted.protocols.basic import Int32StringReceiver

    ports = []

    class Port(Int32StringReceiver):
        MAX_LENGTH = 1 << 17

        def connectionMade(self):
            ports.append(self)

        def connectionLost(self, reason):
            ports.remove(self)

        def stringReceived(self, frame):
            for port in ports:
                if port is not self:
                    port.sendString(frame)

    if os.path.exists(path):
        os.unlink(path)
    UNIXServerEndpoint(reactor, path).listen(Factory.forProtocol(Port))
    reactor.run()


# --- command line ----------------------------------------------------------------

def main(argv=None):
    """
    ``python -m ganeti.testing.vmbed`` COMMAND:

      - ``up N``: N guests (the bed's previous guests are removed);
      - ``cluster N``: N guests and a cluster on them (node1 master);
      - ``run I -- CMD...``: CMD as root in guest I, its output and exit
        status passed through;
      - ``stop I`` / ``start I``: power guest I off hard / back on;
      - ``down``: remove the bed (its processes by pid file);
      - ``status``: which guests run, and their ssh ports.
    """
    parser = argparse.ArgumentParser(prog="python -m ganeti.testing.vmbed")
    parser.add_argument("--workdir", default=DEFAULT_BED)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "cluster"):
        sub.add_parser(name).add_argument("count", type=int)
    run = sub.add_parser("run")
    run.add_argument("index", type=int)
    run.add_argument("argv", nargs=argparse.REMAINDER)
    for name in ("stop", "start"):
        sub.add_parser(name).add_argument("index", type=int)
    sub.add_parser("down")
    sub.add_parser("status")
    sub.add_parser("hub").add_argument("path")
    args = parser.parse_args(argv)
    if args.command == "hub":
        run_hub(args.path)
        return 0
    reason = missing()
    if reason:
        print("vmbed: %s" % reason, file=sys.stderr)
        return 1
    bed = VmBed(args.workdir)
    try:
        return _command(bed, args)
    except BedError as e:
        print("vmbed: %s" % e, file=sys.stderr)
        return 1


def _command(bed, args):
    if args.command in ("up", "cluster"):
        seconds = bed.up(args.count)
        print("vmbed: %d guest(s) up in %.1f s (boot to ssh)"
              % (args.count, seconds))
        if args.command == "cluster":
            figures = bed.init_cluster()
            print("vmbed: cluster %s: init %.1f s, node add %s"
                  % (CLUSTER_NAME, figures["init"],
                     ", ".join("%.1f s" % s for s in figures["add"]) or "-"))
        for guest in bed.guests:
            print("  %s  ssh port %d  console %s"
                  % (guest.name, guest.ssh_port, guest.console_log))
        print("  shared directory %s, in each guest at %s"
              % (bed.shared_dir, SHARED_MOUNT))
        return 0
    if args.command == "run":
        command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not command:
            raise BedError("run needs a command")
        return subprocess.call(bed[args.index].ssh_args(command))
    if args.command == "stop":
        bed[args.index].stop()
        return 0
    if args.command == "start":
        guest = bed[args.index]
        guest.start()
        guest.wait_ready()
        return 0
    if args.command == "down":
        bed.down()
        return 0
    for guest in bed.guests:
        print("%s %s ssh port %d" % (
            guest.name, "running" if guest.running() else "stopped",
            guest.ssh_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
