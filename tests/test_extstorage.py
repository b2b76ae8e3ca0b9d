# -*- test-case-name: tests.test_extstorage -*-
"""
Tests for L{ganeti.storage.extstorage} (the ``ext`` disk template on a
node) and the shipped ``filevol`` provider: environment and names built
purely, providers found and judged in a temporary search path, scripts
run for real (``/bin/sh``), and the real provider on real loop devices,
held to the storage contract of L{tests.storage_mixin}.
"""

import glob
import hashlib
import os

from twisted.internet import reactor
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti import disk_templates
from ganeti.errors import BlockDeviceError, OpPrereqError
from ganeti.node.handler import NodeHandler
from ganeti.paths import Paths
from ganeti.process import DEFAULT_ENV, run_command
from ganeti.storage import extstorage, providers
from ganeti.storage.extstorage import (
    ExtStorage, diagnose, environment, find_provider, load_provider,
    log_file_name, metadata_text, parse_attach_output, userspace_uri)
from ganeti.storage.interfaces import MIB
from tests.storage_mixin import IBlockStorageTestsMixin, loop_skip_reason

#: Writes its name, arguments, working directory and whole environment
#: to ``$RECORD_DIR/<script>`` (the directory baked in by L{_recorder}).
_RECORDING = """#!/bin/sh
{{ echo "argv:$0 $*"; echo "cwd:$(pwd)"; env | sort; }} > {record}/$(basename "$0")
{extra}
"""


def _write(path, text, mode=0o755):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def make_provider(top, name="prov", scripts=None, parameters="p1 First\n",
                  skip=(), extra=None, record=None):
    """
    Write a provider of small shell scripts into directory C{top}.

    :param scripts: the scripts to write (default: the required ones).
    :param skip: files not to write.
    :param extra: script name -> shell lines appended to it.
    :param record: directory the scripts record their runs in.
    :return: the provider's directory.
    """
    path = os.path.join(top, name)
    os.makedirs(path, exist_ok=True)
    record = record or path
    for script in scripts or extstorage.REQUIRED_SCRIPTS:
        if script in skip:
            continue
        _write(os.path.join(path, script), _RECORDING.format(
            record=record, extra=(extra or {}).get(script, "exit 0")))
    if parameters is not None and "parameters.list" not in skip:
        _write(os.path.join(path, "parameters.list"), parameters, 0o644)
    return path


def ext_disk(volume="vol1.ext.disk0", provider="prov", size=8, **params):
    """:return: a disk dict of template ``ext``."""
    return {"uuid": "uuid-1", "name": "data", "dev_type": "ext",
            "size": size, "mode": "rw", "logical_id": [provider, volume],
            "params": dict({"provider": provider}, **params)}


def _record(directory, script):
    """:return: C{(lines, env)} a recording script left."""
    with open(os.path.join(directory, script)) as f:
        lines = f.read().splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line
               and not line.startswith(("argv:", "cwd:")))
    return lines, env


class EnvironmentTests(SynchronousTestCase):
    """The scripts' environment and the names derived from disks."""

    def test_full_environment(self):
        """
        Every variable Ganeti defines is set when given; parameters are
        EXTP_ upper-cased; C{PATH} and C{LC_ALL} are fixed.
        """
        env = environment("v.ext.disk0", {"fromsnap": "s1", "access": "x"},
                          size=10, new_size=20, metadata="originstname+i",
                          name="data", uuid="u", snap_name="v.snap",
                          snap_size=10, exclusive=False)
        self.assertEqual(env, dict(
            DEFAULT_ENV, VOL_NAME="v.ext.disk0", EXTP_FROMSNAP="s1",
            EXTP_ACCESS="x", VOL_SIZE="10", VOL_NEW_SIZE="20",
            VOL_METADATA="originstname+i", VOL_CNAME="data", VOL_UUID="u",
            VOL_SNAPSHOT_NAME="v.snap", VOL_SNAPSHOT_SIZE="10",
            VOL_OPEN_EXCLUSIVE="False"))

    def test_minimal_environment(self):
        """Variables without a value are left out, not set empty."""
        self.assertEqual(environment("v", {}), dict(DEFAULT_ENV, VOL_NAME="v"))

    def test_daemon_environment_not_inherited(self):
        """Nothing of the daemon's environment reaches the scripts."""
        os.environ["GANETI_TEST_LEAK"] = "1"
        self.addCleanup(os.environ.pop, "GANETI_TEST_LEAK")
        self.assertNotIn("GANETI_TEST_LEAK", environment("v", {}))

    def test_metadata_text(self):
        """Ganeti's cleaning of setinfo metadata: bad characters, length."""
        self.assertEqual(metadata_text("originstname+web1.example.com"),
                         "originstname+web1.example.com")
        self.assertEqual(metadata_text("-a b/c"), "_a_b_c")
        self.assertEqual(len(metadata_text("x" * 300)), 128)

    def test_attach_output(self):
        """Line 1 is the device (may be empty), then hypervisor URIs."""
        self.assertEqual(parse_attach_output(b"/dev/loop3\n"),
                         ("/dev/loop3", []))
        self.assertEqual(parse_attach_output(b"\nkvm:rbd:p/v\n\n"),
                         (None, ["kvm:rbd:p/v"]))
        self.assertEqual(userspace_uri(["KVM:rbd:p/v"], "kvm"), "rbd:p/v")
        self.assertIsNone(userspace_uri(["xen:x"], "kvm"))

    def test_log_file_name(self):
        """Ganeti's <action>-<provider>-<volume>-<stamp>.log."""
        name = log_file_name("create", "prov", "v/1", 0)
        self.assertTrue(name.startswith("create-prov-v_1-"))
        self.assertTrue(name.endswith(".log"))

    def test_logical_id(self):
        """The master names ext volumes <unique id>.ext.disk<N>."""
        self.assertEqual(disk_templates.logical_id_for(
            "ext", {}, "i", "abc", 2, provider="prov"),
            ["prov", "abc.ext.disk2"])

    def test_provider_required(self):
        """Ganeti's messages for a missing or misplaced provider."""
        with self.assertRaises(OpPrereqError) as cm:
            disk_templates.disk_spec_params("ext", {"size": 1})
        self.assertEqual(cm.exception.args,
                         ("Missing provider for template 'ext'", "wrong_input"))
        with self.assertRaises(OpPrereqError) as cm:
            disk_templates.disk_spec_params("plain", {"provider": "p"})
        self.assertIn("only valid for the ext disk template, not plain",
                      cm.exception.args[0])

    def test_disk_params(self):
        """Keys not Ganeti's own go to the disk's parameters."""
        self.assertEqual(disk_templates.disk_spec_params("ext", {
            "size": 1, "mode": "rw", "name": "d", "provider": "p",
            "dir": "/x", "access": "userspace"}),
            {"provider": "p", "dir": "/x", "access": "userspace"})
        self.assertEqual(disk_templates.disk_spec_params("plain",
                                                         {"size": 1}), {})


class ProviderTests(SynchronousTestCase):
    """Finding and judging providers in a search path."""

    def setUp(self):
        self.top = os.path.abspath(self.mktemp())
        os.makedirs(self.top)

    def test_valid(self):
        """
        A provider with the required scripts and parameters.list is valid;
        its parameters and present scripts are known.
        """
        path = make_provider(self.top, parameters="p1 First one\np2\n\n")
        provider = load_provider("prov", path)
        self.assertTrue(provider.valid, provider.error)
        self.assertEqual(provider.parameters, (("p1", "First one"),
                                               ("p2", "")))
        self.assertEqual(provider.script("attach"),
                         os.path.join(path, "attach"))
        self.assertIsNone(provider.script("snapshot"))
        self.assertEqual(provider.to_dict(), {
            "name": "prov", "path": path, "valid": True, "error": "",
            "parameters": [["p1", "First one"], ["p2", ""]]})

    def test_optional_present(self):
        """open, close and snapshot are used when present."""
        path = make_provider(self.top, scripts=extstorage.REQUIRED_SCRIPTS
                             + extstorage.OPTIONAL_SCRIPTS)
        provider = load_provider("prov", path)
        self.assertEqual(provider.script("snapshot"),
                         os.path.join(path, "snapshot"))

    def test_missing_script(self):
        """A missing required script makes it invalid, in Ganeti's words."""
        path = make_provider(self.top, skip=("grow",))
        provider = load_provider("prov", path)
        self.assertFalse(provider.valid)
        self.assertEqual(provider.error, "File 'grow' under path '%s' is"
                         " missing (No such file or directory)" % (path,))
        with self.assertRaises(BlockDeviceError):
            provider.require_valid()

    def test_not_executable(self):
        """A script without its executable bit is refused."""
        path = make_provider(self.top)
        os.chmod(os.path.join(path, "attach"), 0o644)
        self.assertIn("is not executable", load_provider("prov", path).error)

    def test_broken_optional(self):
        """An optional script that is there but not executable is refused."""
        path = make_provider(self.top)
        _write(os.path.join(path, "snapshot"), "#!/bin/sh\n", 0o644)
        self.assertIn("'snapshot'", load_provider("prov", path).error)

    def test_no_parameters_file(self):
        """parameters.list is required."""
        path = make_provider(self.top, skip=("parameters.list",))
        self.assertIn("File 'parameters.list'",
                      load_provider("prov", path).error)

    def test_find(self):
        """The first search directory holding it wins; names are checked."""
        second = os.path.join(self.top, "second")
        make_provider(second)
        first = os.path.join(self.top, "first")
        os.makedirs(first)
        self.assertEqual(find_provider([first, second], "prov").path,
                         os.path.join(second, "prov"))
        missing = find_provider([first], "prov")
        self.assertFalse(missing.valid)
        self.assertEqual(missing.error, "Directory for External Storage"
                         " Provider prov not found in search path")
        self.assertIn("Invalid ExtStorage provider name",
                      find_provider([second], "../prov").error)

    def test_diagnose(self):
        """Every visible entry is reported, valid or not, once."""
        make_provider(self.top, "good")
        make_provider(self.top, "bad", skip=("remove",))
        make_provider(self.top, ".hidden")
        found = diagnose([self.top, self.top])
        self.assertEqual([(p.name, p.valid) for p in found],
                         [("bad", False), ("good", True)])

    def test_node_rpc(self):
        """The node's extstorage_diagnose answers from its search path."""
        paths = Paths(os.path.abspath(self.mktemp()))
        make_provider(paths.extstorage_search_path[0], "good")
        handler = NodeHandler(paths, reactor)
        [entry] = handler.extstorage_diagnose()
        self.assertEqual((entry["name"], entry["valid"], entry["parameters"]),
                         ("good", True, [["p1", "First"]]))


class ScriptRunTests(TestCase):
    """
    The scripts run for real (``/bin/sh``): their arguments, working
    directory and exact environment, and how failures are reported.
    """

    def setUp(self):
        self.top = os.path.abspath(self.mktemp())
        self.record = os.path.join(self.top, "record")
        os.makedirs(self.record)
        self.log_dir = os.path.join(self.top, "log")
        self.path = make_provider(
            os.path.join(self.top, "es"), record=self.record,
            scripts=extstorage.REQUIRED_SCRIPTS + ("open", "snapshot"),
            # Userspace access only: no block device is needed.
            extra={"attach": "echo; echo kvm:file:/x"})
        self.storage = ExtStorage(reactor, [os.path.dirname(self.path)],
                                  self.log_dir)

    async def test_create(self):
        """
        create gets VOL_SIZE, then attach maps it and setinfo records the
        instance, as Ganeti does; no argument, cwd the provider's dir.
        """
        disk = ext_disk(fromsnap="s1")
        self.assertIsNone(await self.storage.create(disk, "inst1"))
        lines, env = _record(self.record, "create")
        self.assertEqual(lines[:2], ["argv:%s/create " % self.path,
                                     "cwd:%s" % self.path])
        self.assertEqual(env, dict(
            DEFAULT_ENV, VOL_NAME="vol1.ext.disk0", VOL_SIZE="8",
            VOL_CNAME="data", VOL_UUID="uuid-1", EXTP_PROVIDER="prov",
            EXTP_FROMSNAP="s1", PWD=self.path))
        self.assertEqual(_record(self.record, "setinfo")[1]["VOL_METADATA"],
                         "originstname+inst1")
        self.assertTrue(os.path.exists(os.path.join(self.record, "attach")))
        logs = sorted(os.listdir(self.log_dir))
        self.assertEqual([name.split("-")[0] for name in logs],
                         ["create", "setinfo"])

    async def test_grow(self):
        """grow gets the configured size and the new one."""
        self.assertEqual(await self.storage.grow(ext_disk(), 4), 8)
        env = _record(self.record, "grow")[1]
        self.assertEqual((env["VOL_SIZE"], env["VOL_NEW_SIZE"]), ("8", "12"))

    async def test_grow_zero_runs_nothing(self):
        """Growing by 0 runs no grow script; a negative amount is refused."""
        await self.storage.grow(ext_disk(), 0)
        self.assertFalse(os.path.exists(os.path.join(self.record, "grow")))
        with self.assertRaises(BlockDeviceError):
            await self.storage.grow(ext_disk(), -1)

    async def test_open_exclusive(self):
        """assemble attaches and opens, exclusive unless told otherwise."""
        await self.storage.assemble(ext_disk())
        self.assertEqual(_record(self.record, "open")[1]
                         ["VOL_OPEN_EXCLUSIVE"], "True")
        await self.storage.assemble(ext_disk(), exclusive=False)
        self.assertEqual(_record(self.record, "open")[1]
                         ["VOL_OPEN_EXCLUSIVE"], "False")

    async def test_missing_optional(self):
        """close is optional: without the script nothing runs."""
        self.assertIsNone(await self.storage.close(ext_disk()))

    async def test_snapshot(self):
        """snapshot gets Ganeti's default name and size."""
        self.assertEqual(await self.storage.snapshot(ext_disk()),
                         ["prov", "vol1.ext.disk0.snap"])
        env = _record(self.record, "snapshot")[1]
        self.assertEqual((env["VOL_SNAPSHOT_NAME"], env["VOL_SNAPSHOT_SIZE"]),
                         ("vol1.ext.disk0.snap", "8"))

    async def test_no_snapshot_script(self):
        """Without a snapshot script the disk cannot be snapshotted."""
        os.unlink(os.path.join(self.path, "snapshot"))
        with self.assertRaises(BlockDeviceError) as cm:
            await self.storage.snapshot(ext_disk())
        self.assertIn("has no snapshot script", str(cm.exception))

    async def test_failure_names_provider_script_output(self):
        """
        A failing script is a BlockDeviceError naming the provider, the
        script, its exit and its standard error (from its log file).
        """
        _write(os.path.join(self.path, "create"),
               "#!/bin/sh\necho 'no space on the array' >&2\nexit 3\n")
        with self.assertRaises(BlockDeviceError) as cm:
            await self.storage.create(ext_disk(), "inst1")
        message = str(cm.exception)
        self.assertIn("create script of provider prov failed", message)
        self.assertIn("exit code 3", message)
        self.assertIn("no space on the array", message)
        self.assertIn(self.log_dir, message)

    async def test_attach_failure(self):
        """attach keeps no log: its own standard error is quoted."""
        _write(os.path.join(self.path, "attach"),
               "#!/bin/sh\necho 'volume offline' >&2\nexit 1\n")
        with self.assertRaises(BlockDeviceError) as cm:
            await self.storage.assemble(ext_disk())
        self.assertIn("attach script of provider prov failed",
                      str(cm.exception))
        self.assertIn("volume offline", str(cm.exception))
        self.assertIs(await self.storage.exists(ext_disk()), False)

    async def test_attach_not_block_device(self):
        """A path that is no block device, or no output at all, fails."""
        _write(os.path.join(self.path, "attach"), "#!/bin/sh\necho /dev/null\n")
        with self.assertRaises(BlockDeviceError) as cm:
            await self.storage.assemble(ext_disk())
        self.assertIn("/dev/null for volume vol1.ext.disk0, which is not a"
                      " block device", str(cm.exception))
        _write(os.path.join(self.path, "attach"), "#!/bin/sh\n")
        with self.assertRaises(BlockDeviceError) as cm:
            await self.storage.assemble(ext_disk())
        self.assertIn("neither a block device nor a userspace URI",
                      str(cm.exception))

    async def test_unknown_provider(self):
        """A provider this node lacks fails every operation, clearly."""
        with self.assertRaises(BlockDeviceError) as cm:
            await self.storage.create(ext_disk(provider="nope"), "i")
        self.assertIn("Provider nope not found", str(cm.exception))
        with self.assertRaises(BlockDeviceError):
            await self.storage.exists(ext_disk(provider="nope"))

    async def test_remove_missing(self):
        """A volume that cannot be attached counts as removed already."""
        _write(os.path.join(self.path, "attach"), "#!/bin/sh\nexit 1\n")
        await self.storage.remove(ext_disk())
        self.assertFalse(os.path.exists(os.path.join(self.record, "remove")))


def _loop_devices_of(directory):
    """:return: the loop devices backed by files of C{directory}."""
    found = []
    for backing in glob.glob("/sys/block/loop*/loop/backing_file"):
        try:
            with open(backing) as f:
                target = f.read().strip()
        except OSError:
            continue
        if os.path.dirname(target) == directory:
            found.append((target, "/dev/" + backing.split("/")[3]))
    return found


async def _detach_all(directory):
    for _, device in _loop_devices_of(directory):
        await run_command(reactor, ["losetup", "-d", device], timeout=30)


class FileVolMixin:
    """The shipped ``filevol`` provider installed below a temporary dir."""

    skip = loop_skip_reason()

    def install_filevol(self):
        top = os.path.realpath(self.mktemp())
        self.volumes = os.path.join(top, "volumes")
        os.makedirs(self.volumes)
        self.search_dir = os.path.join(top, "extstorage")
        providers.install(self.search_dir, volume_dir=self.volumes)
        self.addCleanup(_detach_all, self.volumes)
        return ExtStorage(reactor, [self.search_dir],
                          os.path.join(top, "log"))

    def filevol_disk(self, index=0, **params):
        return {"uuid": "uuid-%d" % (index,), "dev_type": "ext",
                "size": self.disk_size, "mode": "rw", "name": None,
                "logical_id": ["filevol", "u%d.ext.disk0" % (index,)],
                "params": dict({"provider": "filevol",
                                "access": "kernelspace"}, **params)}


class FileVolContractTests(FileVolMixin, IBlockStorageTestsMixin, TestCase):
    """The storage contract, for ``ext`` through the real ``filevol``."""

    template = "ext"

    def setUp(self):
        self.storage = self.install_filevol()

    def new_disk(self, index=0):
        return self.filevol_disk(index)

    def missing_disk(self):
        return self.new_disk(9)

    def expected_path(self, disk):
        volume = os.path.join(self.volumes, disk["logical_id"][1])
        [device] = [d for f, d in _loop_devices_of(self.volumes)
                    if f == volume]
        return device


class FileVolTests(FileVolMixin, TestCase):
    """What the ``filevol`` provider does beyond the contract."""

    disk_size = 4

    def setUp(self):
        self.storage = self.install_filevol()

    def run_script(self, script, *args, **env):
        return run_command(reactor, [os.path.join(self.search_dir, "filevol",
                                                  script)] + list(args),
                           env=dict(DEFAULT_ENV, **env), timeout=30)

    async def test_data_kept_and_idempotent(self):
        """
        Data written through the device is there after a detach and a new
        attach; attach twice gives one device, detach twice is fine.
        """
        disk = self.filevol_disk()
        device = await self.storage.create(disk, "inst1")
        self.assertEqual(await self.storage.assemble(disk), device)
        payload = os.urandom(MIB)
        with open(device, "r+b") as f:
            f.write(payload)
        await self.storage.shutdown(disk)
        await self.storage.shutdown(disk)
        self.assertEqual(_loop_devices_of(self.volumes), [])
        device = await self.storage.assemble(disk)
        with open(device, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read(MIB)).digest(),
                             hashlib.sha256(payload).digest())
        self.assertEqual(len(_loop_devices_of(self.volumes)), 1)

    async def test_grow_attached(self):
        """A mapped volume's device shows the new size at once."""
        disk = self.filevol_disk()
        device = await self.storage.create(disk, "inst1")
        self.assertEqual(await self.storage.grow(disk, 4), 8)
        result = await run_command(reactor, ["blockdev", "--getsize64",
                                             device], timeout=30)
        self.assertEqual(int(result.stdout), 8 * MIB)

    async def test_setinfo_and_snapshot(self):
        """
        setinfo leaves the instance's name next to the volume; a snapshot
        is a new volume with the same data.
        """
        disk = self.filevol_disk()
        device = await self.storage.create(disk, "inst1.example.com")
        with open(os.path.join(self.volumes, "u0.ext.disk0.info")) as f:
            self.assertEqual(f.read(), "originstname+inst1.example.com\n")
        with open(device, "r+b") as f:
            f.write(b"snapshot me")
        snapshot = await self.storage.snapshot(disk)
        self.assertEqual(snapshot, ["filevol", "u0.ext.disk0.snap"])
        snap_disk = dict(disk, logical_id=snapshot)
        snap_device = await self.storage.assemble(snap_disk)
        with open(snap_device, "rb") as f:
            self.assertEqual(f.read(11), b"snapshot me")
        await self.storage.remove(snap_disk)
        self.assertFalse(os.path.exists(os.path.join(self.volumes,
                                                     "u0.ext.disk0.snap")))

    async def test_dir_parameter(self):
        """A disk's dir= parameter puts its volume elsewhere."""
        other = os.path.realpath(self.mktemp())
        os.makedirs(other)
        self.addCleanup(_detach_all, other)
        disk = self.filevol_disk(dir=other)
        await self.storage.create(disk, "inst1")
        self.assertTrue(os.path.exists(os.path.join(other, "u0.ext.disk0")))
        await self.storage.shutdown(disk)
        await self.storage.remove(disk)
        self.assertEqual(os.listdir(other), [])

    async def test_verify(self):
        """verify parameters accepts dir, refuses unknown ones, shows usage."""
        result = await self.run_script("verify", "parameters",
                                       EXTP_DIR=self.volumes,
                                       EXTP_PROVIDER="filevol")
        self.assertEqual(result.exit_code, 0, result.stderr)
        result = await self.run_script("verify", "parameters", EXTP_SIZE="1")
        self.assertEqual(result.exit_code, 1)
        self.assertIn(b"unknown parameter 'size'", result.stderr)
        result = await self.run_script("verify", "parameters",
                                       EXTP_DIR="relative")
        self.assertIn(b"absolute path", result.stderr)
        result = await self.run_script("verify", "--help")
        self.assertIn(b"usage: verify parameters", result.stderr)

    async def test_bad_names_refused(self):
        """Volume names that would leave the directory are refused."""
        with self.assertRaises(BlockDeviceError) as cm:
            await self.storage.create(dict(self.filevol_disk(),
                                           logical_id=["filevol", "../x"]),
                                      "i")
        self.assertIn("invalid volume name '../x'", str(cm.exception))
        self.assertEqual(os.listdir(self.volumes), [])

    def test_install(self):
        """The installed copy is valid and names its volume directory."""
        provider = find_provider([self.search_dir], "filevol")
        self.assertTrue(provider.valid, provider.error)
        self.assertEqual([p[0] for p in provider.parameters], ["dir"])
        self.assertIn("snapshot", provider.scripts)
        with open(os.path.join(provider.path, "settings")) as f:
            self.assertEqual(f.read(), "FILEVOL_DIR=%s\n" % (self.volumes,))

    def test_install_command(self):
        """python -m ganeti.storage.providers TARGET --dir D installs it."""
        target = os.path.realpath(self.mktemp())
        self.assertEqual(providers.main([target, "--dir", "/shared"]), 0)
        path = os.path.join(target, "filevol")
        self.assertTrue(load_provider("filevol", path).valid)
        with open(os.path.join(path, "settings")) as f:
            self.assertEqual(f.read(), "FILEVOL_DIR=/shared\n")
