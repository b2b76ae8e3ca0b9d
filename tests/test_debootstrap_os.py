# -*- test-case-name: tests.test_debootstrap_os -*-
"""
Compatibility with a real OS definition: Debian's
``ganeti-instance-debootstrap`` package.

L{DebootstrapDefinitionTests} checks that L{ganeti.osdef} reads the
installed definition as Ganeti does and runs its ``verify`` script; it
runs whenever the package is installed, and installs it with apt only when
slow tests are enabled.  L{DebootstrapInstallTests} runs the real
``create`` script onto a 1 GiB ``file`` disk, which downloads a Debian base
system from the mirror apt uses (a few minutes), so it runs only with
``GANETI_SLOW_TESTS=1``, as root.

The install uses a variant file of its own, written into the package's
variants directory for the test and removed afterwards, because the
package's defaults cannot work here unchanged: they install the long
archived ``jessie``, and partition the disk, which needs ``kpartx`` and
therefore device-mapper.  The variant installs the host's release
unpartitioned, and keeps the package's tarball cache untouched.
"""

import os
import shutil
import uuid

from twisted.trial.unittest import TestCase

from ganeti.errors import CommandError, OpExecError, OpPrereqError
from ganeti.osdef import check_variant, find_os
from ganeti.osenv import build_environment, script_environment
from ganeti.osscripts import run_script, verify_parameters
from ganeti.paths import Paths
from ganeti.process import DEFAULT_ENV, DEFAULT_PATH, check_command
from ganeti.storage.filestorage import FileStorage, allowed_paths_file
from ganeti.disk_templates import logical_id_for
from tests.storage_mixin import loop_skip_reason

SLOW = os.environ.get("GANETI_SLOW_TESTS") == "1"
SLOW_REASON = "slow test: set GANETI_SLOW_TESTS=1 to run it"

PACKAGE = "ganeti-instance-debootstrap"
OS_SEARCH_PATH = ["/usr/share/ganeti/os"]
OS_NAME = "debootstrap"
VARIANTS_DIR = "/etc/ganeti/instance-debootstrap/variants"
TEST_VARIANT = "ganeti-twisted-test"

APT_ENV = {**DEFAULT_ENV, "DEBIAN_FRONTEND": "noninteractive"}
# Wait for another apt run to finish instead of failing at once.
APT_OPTIONS = ["-o", "DPkg::Lock::Timeout=300"]


def apt_skip_reason():
    """
    :return: why the package cannot be installed here, or C{None}.
    """
    if os.geteuid() != 0:
        return "needs root to install %s with apt" % (PACKAGE,)
    if shutil.which("apt-get", path=DEFAULT_PATH) is None:
        return "apt-get not available to install %s" % (PACKAGE,)
    return None


def installed():
    """
    :return: whether the package's OS definition is present.
    """
    return os.path.isdir(os.path.join(OS_SEARCH_PATH[0], OS_NAME))


async def ensure_installed(testcase, reactor):
    """
    Install the package with apt if needed and allowed, else skip.
    """
    if installed():
        return
    if not SLOW:
        testcase.skipTest("%s is not installed; set GANETI_SLOW_TESTS=1 to"
                          " install it with apt" % (PACKAGE,))
    reason = apt_skip_reason()
    if reason:
        testcase.skipTest(reason)
    try:
        await check_command(reactor, ["apt-get"] + APT_OPTIONS + ["update"],
                            timeout=600, env=APT_ENV)
        await check_command(reactor, ["apt-get"] + APT_OPTIONS + [
            "install", "-y", "--no-install-recommends", PACKAGE],
            timeout=900, env=APT_ENV)
    except CommandError as e:
        testcase.skipTest("apt could not install %s: %s" % (PACKAGE, e))


def debian_mirror():
    """
    :return: the Debian mirror apt uses (C{GANETI_DEBOOTSTRAP_MIRROR}
        overrides it), falling back to ``http://deb.debian.org/debian``.
    """
    override = os.environ.get("GANETI_DEBOOTSTRAP_MIRROR")
    if override:
        return override
    candidates = ["/etc/apt/sources.list"]
    directory = "/etc/apt/sources.list.d"
    if os.path.isdir(directory):
        candidates += [os.path.join(directory, name)
                       for name in sorted(os.listdir(directory))
                       if name.endswith((".list", ".sources"))]
    for filename in candidates:
        try:
            with open(filename) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.split("#")[0].split()
            # One-line format "deb URI suite ..." or deb822 "URIs: URI".
            for uri in words[1:] if words[:1] in (["deb"], ["URIs:"]) \
                    else []:
                if uri.startswith("http") and uri.rstrip("/").endswith(
                        "/debian"):
                    return uri
    return "http://deb.debian.org/debian"


def host_suite():
    """
    :return: the host's Debian release name (C{GANETI_DEBOOTSTRAP_SUITE}
        overrides it), ``bookworm`` if unknown.
    """
    override = os.environ.get("GANETI_DEBOOTSTRAP_SUITE")
    if override:
        return override
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("VERSION_CODENAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "bookworm"


class DebootstrapDefinitionTests(TestCase):
    """
    The installed ``debootstrap`` OS definition, read by L{find_os}.
    """

    async def setUp(self):
        from twisted.internet import reactor

        self.reactor = reactor
        await ensure_installed(self, reactor)
        self.os_def = find_os(OS_SEARCH_PATH, OS_NAME + "+default")

    def test_valid(self):
        """
        The definition is valid at API 20, with the package's variant and
        its ``filesystem`` parameter.
        """
        self.assertTrue(self.os_def.valid, self.os_def.error)
        self.assertEqual(self.os_def.path,
                         os.path.join(OS_SEARCH_PATH[0], OS_NAME))
        self.assertIn(20, self.os_def.api_versions)
        self.assertEqual(self.os_def.api_version, 20)
        self.assertIn("default", self.os_def.variants)
        self.assertEqual(self.os_def.parameter_names, ("filesystem",))
        self.assertIn("mke2fs", dict(self.os_def.parameters)["filesystem"])
        check_variant(self.os_def, OS_NAME + "+default")
        self.assertRaises(OpPrereqError, check_variant, self.os_def,
                          OS_NAME + "+nonexistent")

    async def test_verify(self):
        """
        The package's ``verify`` accepts ext4 and refuses xfs.
        """
        self.assertIs(await verify_parameters(
            self.reactor, self.os_def, {"filesystem": "ext4"}), True)
        with self.assertRaises(OpExecError) as caught:
            await verify_parameters(self.reactor, self.os_def,
                                    {"filesystem": "xfs"})
        self.assertIn("Invalid value 'xfs' for the filesystem parameter",
                      str(caught.exception))


class DebootstrapInstallTests(TestCase):
    """
    A real install with the package's ``create`` script.
    """

    skip = None if SLOW else SLOW_REASON

    async def setUp(self):
        from twisted.internet import reactor

        self.reactor = reactor
        reason = loop_skip_reason()
        if reason:
            self.skipTest(reason)
        if shutil.which("qemu-img", path=DEFAULT_PATH) is None:
            self.skipTest("qemu-img not installed (Debian package"
                          " qemu-utils)")
        await ensure_installed(self, reactor)
        self.os_def = find_os(OS_SEARCH_PATH, OS_NAME).require_valid()
        self.paths = Paths(os.path.realpath(self.mktemp()))
        os.makedirs(self.paths.conf_dir)
        with open(allowed_paths_file(self.paths), "w") as f:
            f.write(self.paths.file_storage_dir + "\n")
        self.write_variant()

    def write_variant(self):
        """
        Install the test's variant file (see the module docstring).
        """
        path = os.path.join(VARIANTS_DIR, TEST_VARIANT + ".conf")
        with open(path, "w") as f:
            f.write('# Written by ganeti-twisted tests/test_debootstrap_os.py'
                    '\nSUITE="%s"\nMIRROR="%s"\nPARTITION_STYLE="none"\n'
                    'GENERATE_CACHE="no"\n' % (host_suite(), debian_mirror()))
        self.addCleanup(os.remove, path)

    async def mount(self, image):
        """
        Mount a file system image read-only until the test ends.

        :return: the mount point.
        """
        target = os.path.realpath(self.mktemp())
        os.makedirs(target)
        await check_command(self.reactor, ["mount", "-o", "loop,ro", image,
                                           target], timeout=60)
        self.addCleanup(check_command, self.reactor, ["umount", target],
                        timeout=60)
        return target

    async def test_create(self):
        """
        The ``create`` script installs Debian onto a new 1 GiB file disk:
        the disk then holds a root file system with ``/etc/debian_version``
        and the instance's host name, and the log shows debootstrap's run.
        """
        instance = {"name": "deb-test.example.com",
                    "os": OS_NAME + "+" + TEST_VARIANT,
                    "uuid": str(uuid.uuid4()), "hypervisor": "kvm",
                    "hvparams": {"serial_console": False},
                    "beparams": {"maxmem": 512}}
        disk_uuid = str(uuid.uuid4())
        disk = {"uuid": disk_uuid, "dev_type": "file", "size": 1024,
                "mode": "rw", "params": {},
                "logical_id": logical_id_for(
                    "file", {"file_storage_dir": self.paths.file_storage_dir},
                    instance["name"], disk_uuid, 0)}
        storage = FileStorage(self.reactor, self.paths)
        disk["path"] = await storage.create(disk, instance["name"])
        self.addCleanup(storage.remove, disk)
        nic = {"mac": "aa:00:00:12:34:56", "uuid": str(uuid.uuid4()),
               "nicparams": {"mode": "bridged", "link": "br0"}}
        env = build_environment(self.os_def, TEST_VARIANT, instance, [disk],
                                [nic], {"filesystem": "ext4"}, "kvm")
        log = await run_script(self.reactor, self.os_def, "create",
                               script_environment(env, "create"),
                               self.paths.os_log_dir, instance["name"],
                               timeout=1500)
        with open(log) as f:
            self.assertIn("Base system installed successfully", f.read())
        root = await self.mount(disk["path"])
        with open(os.path.join(root, "etc", "debian_version")) as f:
            self.assertRegex(f.read(), r"^\d+")
        with open(os.path.join(root, "etc", "hostname")) as f:
            self.assertEqual(f.read().strip(), instance["name"])
        self.assertTrue(os.path.exists(os.path.join(root, "bin", "sh")))

    test_create.timeout = 1800
