# -*- test-case-name: tests.test_storage -*-
"""
Tests for L{ganeti.storage}.

Command lines and the parsing of LVM's answers are tested on
L{ProcessClock}; the shared contract of L{tests.storage_mixin} runs against
each real backend: image files made by the real ``qemu-img``, a real loop
device for ``blockdev``, and a real volume group for ``plain`` where the
machine allows it (see the skip reasons).
"""

import os
import shutil

from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from ganeti.errors import (
    BlockDeviceError,
    FileStoragePathError,
    OpPrereqError,
    ProgrammerError,
    StorageError,
)
from ganeti.paths import Paths
from ganeti.process import DEFAULT_PATH, check_command, run_command
from ganeti.disk_templates import file_storage_dir_for, logical_id_for, plain_logical_id
from ganeti.storage import blockdev, lvm
from ganeti.storage.blockdev import AdoptedBlockDevice
from ganeti.storage.filestorage import (
    FileStorage,
    allowed_paths_file,
    check_file_storage_path,
    describe_storage_dir,
    is_below,
    load_allowed_paths,
)
from ganeti.storage.interfaces import IBlockStorage, INodeStorage, disk_dict
from ganeti.storage_units import (
    MODIFIABLE_STORAGE_FIELDS, SO_FIX_CONSISTENCY, STORAGE_TYPE_TEMPLATES,
    STORAGE_TYPES, VALID_STORAGE_OPERATIONS)
from ganeti.storage.lvm import LVM_ENV, LogicalVolumeStorage, instance_tag
from ganeti.storage.registry import (
    STORAGE_MODIFIERS,
    STORAGE_OPERATIONS,
    BlockStorageRegistry,
    NodeStorage,
)
from ganeti.testing.process import ProcessClock
from tests.storage_mixin import (
    IBlockStorageTestsMixin,
    loop_skip_reason,
    lvm_create_skip_reason,
    lvm_tools_skip_reason,
    make_loop_device,
    make_volume_group,
)

MIB = 1024 * 1024
INSTANCE = "inst1.example.com"


def qemu_img_skip_reason():
    """
    :return: why real image files cannot be made here, or C{None}.
    """
    if shutil.which("qemu-img", path=DEFAULT_PATH) is None:
        return "qemu-img not installed (Debian package qemu-utils)"
    return None


def make_file_paths(testcase):
    """
    :return: L{Paths} below a temporary root whose ``file-storage-paths``
        allows its file and shared file storage directories.
    """
    paths = Paths(os.path.realpath(testcase.mktemp()))
    os.makedirs(paths.conf_dir)
    with open(allowed_paths_file(paths), "w") as f:
        f.write("# allowed\n%s\n%s\n" % (paths.file_storage_dir,
                                         paths.shared_file_storage_dir))
    return paths


def cluster_dirs(paths):
    """
    :return: the cluster settings L{logical_id_for} needs, for C{paths}.
    """
    return {"file_storage_dir": paths.file_storage_dir,
            "shared_file_storage_dir": paths.shared_file_storage_dir,
            "volume_group_name": "xenvg"}


def file_disk(paths, template="file", index=0, size=10, uuid="d-uuid"):
    """
    :return: a disk dict of a file-based template below C{paths}.
    """
    return {"uuid": uuid, "dev_type": template, "size": size, "mode": "rw",
            "logical_id": logical_id_for(template, cluster_dirs(paths),
                                         INSTANCE, uuid, index),
            "params": {}}


class LogicalIdTests(SynchronousTestCase):
    """
    Tests for L{logical_id_for} and L{file_storage_dir_for}.
    """

    cluster = {"file_storage_dir": "/srv/ganeti/file-storage",
               "shared_file_storage_dir": "/srv/shared",
               "volume_group_name": "xenvg"}

    def test_file(self):
        """
        File disks live in ``<dir>/<instance>/<uuid>.file.disk<N>``.
        """
        self.assertEqual(
            logical_id_for("file", self.cluster, "i1", "u1", 2),
            ["loop", "/srv/ganeti/file-storage/i1/u1.file.disk2"])
        self.assertEqual(
            logical_id_for("sharedfile", self.cluster, "i1", "u1", 0,
                           file_driver="blktap2", file_storage_subdir="sub"),
            ["blktap2", "/srv/shared/sub/i1/u1.file.disk0"])

    def test_cluster_object(self):
        """
        A L{ganeti.objects.Cluster} is accepted as well as a dict.
        """
        from ganeti import objects
        cluster = objects.Cluster(
            cluster_name="c", uuid="u", master_node="n", master_ip="1",
            master_netdev="lo", file_storage_dir="/fs",
            volume_group_name="vg1")
        self.assertEqual(logical_id_for("file", cluster, "i", "u", 0),
                         ["loop", "/fs/i/u.file.disk0"])
        self.assertEqual(logical_id_for("plain", cluster, "i", "u", 1),
                         ["vg1", "u.disk1"])

    def test_plain(self):
        """
        Plain disks are ``[vg, "<uuid>.disk<N>"]``, the VG overridable.
        """
        self.assertEqual(logical_id_for("plain", self.cluster, "i", "u", 1),
                         ["xenvg", "u.disk1"])
        self.assertEqual(logical_id_for("plain", self.cluster, "i", "u", 1,
                                        vg="other"), ["other", "u.disk1"])
        self.assertRaises(OpPrereqError, logical_id_for, "plain",
                          {"volume_group_name": ""}, "i", "u", 0)

    def test_blockdev(self):
        """
        Adopted devices are ``["manual", device]``; one is required.
        """
        self.assertEqual(logical_id_for("blockdev", self.cluster, "i", "u",
                                        0, adopt="/dev/sdb"),
                         ["manual", "/dev/sdb"])
        self.assertRaises(OpPrereqError, logical_id_for, "blockdev",
                          self.cluster, "i", "u", 0)

    def test_errors(self):
        """
        Missing directories, escaping names, bad drivers and templates
        without disks are refused.
        """
        self.assertRaises(OpPrereqError, logical_id_for, "file", {}, "i",
                          "u", 0)
        for name in ("../etc", "a/../../b", "/abs", ""):
            self.assertRaises(OpPrereqError, file_storage_dir_for, "file",
                              self.cluster, name)
        self.assertRaises(OpPrereqError, logical_id_for, "file",
                          self.cluster, "i", "u", 0, file_driver="nbd")
        self.assertRaises(ProgrammerError, logical_id_for, "diskless",
                          self.cluster, "i", "u", 0)


class FileStoragePathTests(SynchronousTestCase):
    """
    Tests for L{check_file_storage_path}: file disks stay in the allowed
    directories.
    """

    def setUp(self):
        self.top = os.path.realpath(self.mktemp())
        self.allowed = os.path.join(self.top, "storage")
        os.makedirs(self.allowed)
        self.allowed_file = os.path.join(self.top, "file-storage-paths")
        with open(self.allowed_file, "w") as f:
            f.write("# comment\n\nrelative/ignored\n%s\n" % (self.allowed,))

    def check(self, path, **kwargs):
        """
        Check C{path} against this test's allowed directories.
        """
        return check_file_storage_path(path, self.allowed_file, **kwargs)

    def assertRefused(self, path, fragment, **kwargs):
        """
        Assert that C{path} is refused with a message containing
        C{fragment}.
        """
        e = self.assertRaises(FileStoragePathError, self.check, path,
                              **kwargs)
        self.assertIn(fragment, str(e))

    def test_allowed(self):
        """
        A path below an allowed directory is accepted.
        """
        path = os.path.join(self.allowed, "i1", "d.file.disk0")
        self.assertEqual(self.check(path), path)

    def test_list_parsing(self):
        """
        Comments, blank lines and relative entries are ignored.
        """
        self.assertEqual(load_allowed_paths(self.allowed_file),
                         [self.allowed])

    def test_dotdot(self):
        """
        ``..`` (or any non-normalised path) is refused even if it would
        resolve inside the directory.
        """
        self.assertRefused(os.path.join(self.allowed, "..", "x"),
                           "not normalised")
        self.assertRefused(self.allowed + "/i1/../i2/d", "not normalised")
        self.assertRefused(self.allowed + "//d", "not normalised")

    def test_outside(self):
        """
        Paths elsewhere, or merely sharing a prefix, are refused.
        """
        self.assertRefused(os.path.join(self.top, "other", "d"),
                           "not acceptable for file storage")
        self.assertRefused(self.allowed + "-evil/d",
                           "not acceptable for file storage")

    def test_directory_itself(self):
        """
        The allowed directory itself is only accepted when asked.
        """
        self.assertRefused(self.allowed, "not acceptable")
        self.assertEqual(self.check(self.allowed, exact_match_ok=True),
                         self.allowed)

    def test_relative(self):
        """
        Relative paths are refused.
        """
        self.assertRefused("storage/d", "must be absolute")

    def test_forbidden(self):
        """
        System directories are refused even when listed.
        """
        with open(self.allowed_file, "a") as f:
            f.write("/etc\n/usr/lib\n")
        self.assertRefused("/etc/passwd", "forbidden prefix")
        self.assertRefused("/usr/lib/x", "forbidden prefix")

    def test_symlink_escape(self):
        """
        A symlink inside the directory cannot lead outside it.
        """
        os.symlink(self.top, os.path.join(self.allowed, "link"))
        self.assertRefused(os.path.join(self.allowed, "link", "x"),
                           "outside the file storage directory")

    def test_no_list(self):
        """
        Without a readable ``file-storage-paths`` nothing is allowed.
        """
        os.remove(self.allowed_file)
        self.assertRefused(os.path.join(self.allowed, "d"),
                           "No paths are valid")

    def test_is_below(self):
        """
        L{is_below} compares whole path components.
        """
        self.assertTrue(is_below("/a", "/a/b"))
        self.assertTrue(is_below("/", "/a"))
        self.assertFalse(is_below("/a", "/a"))
        self.assertFalse(is_below("/a", "/ab"))


class FileStorageUnitTests(SynchronousTestCase):
    """
    Tests for L{FileStorage}'s command lines on L{ProcessClock}.
    """

    def setUp(self):
        self.paths = make_file_paths(self)
        self.clock = ProcessClock()
        self.storage = FileStorage(self.clock, self.paths)
        self.disk = file_disk(self.paths)
        self.path = self.disk["logical_id"][1]

    def test_create(self):
        """
        C{create} makes the instance directory and runs ``qemu-img create``
        for a raw image of the disk's size.
        """
        d = self.storage.create(self.disk, INSTANCE)
        [proc] = self.clock.processes
        self.assertEqual(proc.argv, ["qemu-img", "create", "-f", "raw",
                                     self.path, "10M"])
        self.assertTrue(os.path.isdir(os.path.dirname(self.path)))
        proc.exit(0)
        self.assertEqual(self.successResultOf(d), self.path)

    def test_create_failure(self):
        """
        A failing ``qemu-img`` fails C{create} with its message.
        """
        d = self.storage.create(self.disk, INSTANCE)
        proc = self.clock.processes[0]
        proc.feed_stderr(b"qemu-img: disk full\n")
        proc.exit(1)
        message = str(self.failureResultOf(d, BlockDeviceError).value)
        self.assertIn("can't create", message)
        self.assertIn("qemu-img: disk full", message)

    def test_create_existing(self):
        """
        An existing image is never overwritten.
        """
        os.makedirs(os.path.dirname(self.path))
        open(self.path, "w").close()
        self.failureResultOf(self.storage.create(self.disk, INSTANCE),
                             BlockDeviceError)
        self.assertEqual(self.clock.processes, [])

    def test_create_bad_size(self):
        """
        A size that is not a positive integer is refused.
        """
        for size in (0, -1, 1.5, "10"):
            self.failureResultOf(
                self.storage.create(dict(self.disk, size=size), INSTANCE),
                BlockDeviceError)
        self.assertEqual(self.clock.processes, [])

    def test_refused_path(self):
        """
        A disk outside the allowed directories is refused before anything
        runs or is created.
        """
        disk = dict(self.disk, logical_id=["loop", "/tmp/evil/d"])
        self.failureResultOf(self.storage.create(disk, INSTANCE),
                             FileStoragePathError)
        self.failureResultOf(self.storage.remove(disk), FileStoragePathError)
        self.assertEqual(self.clock.processes, [])
        self.assertFalse(os.path.exists("/tmp/evil"))

    def test_bad_driver(self):
        """
        Unknown drivers are refused.
        """
        disk = dict(self.disk, logical_id=["nbd", self.path])
        self.failureResultOf(self.storage.exists(disk), BlockDeviceError)

    def test_grow(self):
        """
        C{grow} extends the image file by the amount (no external command,
        so it works while a qemu holds the image) and reports the new size.
        """
        os.makedirs(os.path.dirname(self.path))
        with open(self.path, "wb") as f:
            f.truncate(10 * MIB)
        d = self.storage.grow(self.disk, 6)
        self.assertEqual(self.successResultOf(d), 16)
        self.assertEqual(os.path.getsize(self.path), 16 * MIB)
        self.assertEqual(self.clock.processes, [])

    def test_grow_missing(self):
        """
        Growing a missing image fails without running anything.
        """
        self.failureResultOf(self.storage.grow(self.disk, 1),
                             BlockDeviceError)
        self.assertEqual(self.clock.processes, [])

    def test_remove_directory(self):
        """
        An instance directory can be removed once empty, and not before.
        """
        directory = os.path.dirname(self.path)
        os.makedirs(directory)
        open(self.path, "w").close()
        self.failureResultOf(self.storage.remove_directory(directory),
                             BlockDeviceError)
        self.successResultOf(self.storage.remove(self.disk))
        self.successResultOf(self.storage.remove_directory(directory))
        self.assertFalse(os.path.exists(directory))
        self.successResultOf(self.storage.remove_directory(directory))

    def test_threadpool(self):
        """
        With a thread pool, file system calls go through it.
        """
        calls = []

        class Pool:
            def callInThreadWithCallback(self, on_result, f, *a, **kw):
                calls.append(f)
                on_result(True, f(*a, **kw))

        class Reactor(ProcessClock):
            def callFromThread(self, f, *a, **kw):
                f(*a, **kw)

        storage = FileStorage(Reactor(), self.paths, threadpool=Pool())
        self.assertIs(self.successResultOf(storage.exists(self.disk)), False)
        self.assertEqual(calls, [os.path.isfile])

    def test_templates(self):
        """
        The shared variant reports the shared directory; other templates
        are refused.
        """
        shared = FileStorage(self.clock, self.paths, "sharedfile")
        self.assertEqual((shared.template, shared.storage_dir),
                         ("sharedfile", self.paths.shared_file_storage_dir))
        self.assertRaises(ValueError, FileStorage, self.clock, self.paths,
                          "plain")


class BlockdevUnitTests(SynchronousTestCase):
    """
    Tests for L{AdoptedBlockDevice} without a real device.
    """

    def setUp(self):
        self.clock = ProcessClock()
        self.storage = AdoptedBlockDevice(self.clock)
        self.disk = {"uuid": "u", "dev_type": "blockdev", "size": 0,
                     "logical_id": ["manual", "/dev/sdx"]}

    def test_get_size(self):
        """
        The size comes from ``blockdev --getsize64``.
        """
        self.patch(blockdev, "_is_block_device", lambda path: True)
        d = self.storage.get_size(self.disk)
        [proc] = self.clock.processes
        self.assertEqual(proc.argv, ["blockdev", "--getsize64", "/dev/sdx"])
        proc.feed_stdout(b"%d\n" % (3 * MIB + 5,))
        proc.exit(0)
        self.assertEqual(self.successResultOf(d), 3)

    def test_get_size_garbage(self):
        """
        Output that is not a number fails clearly.
        """
        self.patch(blockdev, "_is_block_device", lambda path: True)
        d = self.storage.get_size(self.disk)
        self.clock.processes[0].feed_stdout(b"what\n")
        self.clock.processes[0].exit(0)
        self.failureResultOf(d, BlockDeviceError)

    def test_outside_dev(self):
        """
        Only devices below ``/dev`` can be adopted.
        """
        disk = dict(self.disk, logical_id=["manual", "/tmp/file"])
        self.failureResultOf(self.storage.create(disk, INSTANCE),
                             BlockDeviceError)
        disk = dict(self.disk, logical_id=["manual", "/dev/../etc/passwd"])
        self.failureResultOf(self.storage.exists(disk), BlockDeviceError)

    def test_not_block_device(self):
        """
        A character device is not a block device.
        """
        disk = dict(self.disk, logical_id=["manual", "/dev/null"])
        f = self.failureResultOf(self.storage.create(disk, INSTANCE),
                                 BlockDeviceError)
        self.assertIn("/dev/null is not a block device", str(f.value))

    def test_wrong_driver(self):
        """
        Only the ``manual`` driver exists.
        """
        disk = dict(self.disk, logical_id=["auto", "/dev/sdx"])
        self.failureResultOf(self.storage.create(disk, INSTANCE),
                             BlockDeviceError)

    def test_remove_keeps_data(self):
        """
        Removing runs nothing: the data belongs to the administrator.
        """
        self.successResultOf(self.storage.remove(self.disk))
        self.assertEqual(self.clock.processes, [])


VGS_OUTPUT = b"  xenvg|1020.00|500.00|wz--n-\n  other|100.00|100.00|wz--n-\n"
PVS_OUTPUT = (b"  /dev/sda3|xenvg|510.00|300.00|210.00|a--\n"
              b"  /dev/sdb1|xenvg|510.00|220.00|290.00|a--\n"
              b"  /dev/sdc1|xenvg|100.00|0|100.00|---\n"
              b"  /dev/sdd1|other|100.00|0|100.00|a--\n")
#: The same PVs as L{pv_info} asks for them: name, vg, free, attr, size.
PV_INFO_OUTPUT = (b"  /dev/sda3|xenvg|210.00|a--|510.00\n"
                  b"  /dev/sdb1|xenvg|290.00|a--|510.00\n"
                  b"  /dev/sdc1|xenvg|100.00|---|100.00\n"
                  b"  /dev/sdd1|other|100.00|a--|100.00\n")
#: Four equal PVs, two of them empty (exclusive storage).
ES_PV_OUTPUT = (b"  /dev/vda|esvg|0|a--|1024.00\n"
                b"  /dev/vdb|esvg|1024.00|a--|1024.00\n"
                b"  /dev/vdc|esvg|1023.50|a--|1024.00\n"
                b"  /dev/vdd|esvg|500.00|a--|1024.00\n")
DM_ERROR = (b"  /dev/mapper/control: open failed: No such device\n"
            b"  Failure to communicate with kernel device-mapper driver.\n")


#: ``lvs`` of one LV as L{LogicalVolumeStorage} attaches to it: one
#: stripe of 4 MiB extents on one PV.
LV_DETAILS = b"  xenvg|u.disk0|-wi-a-----|4096.00|1|/dev/sda3(0)\n"


class LVMUnitTests(SynchronousTestCase):
    """
    Tests for L{ganeti.storage.lvm} on L{ProcessClock}.
    """

    def setUp(self):
        self.clock = ProcessClock()
        self.storage = LogicalVolumeStorage(self.clock)
        self.disk = {"uuid": "u", "dev_type": "plain", "size": 100,
                     "mode": "rw", "logical_id": ["xenvg", "u.disk0"],
                     "params": {"stripes": 2}}

    def answer(self, index, stdout=b"", code=0, stderr=b""):
        """
        Play child C{index}: print C{stdout}/C{stderr}, exit with C{code}.

        :return: the L{FakeProcess}.
        """
        proc = self.clock.processes[index]
        if stdout:
            proc.feed_stdout(stdout)
        if stderr:
            proc.feed_stderr(stderr)
        proc.exit(code)
        return proc

    def test_list_vgs(self):
        """
        ``vgs`` runs with Ganeti's report options; sizes become integers,
        used is size minus free.
        """
        d = lvm.list_vgs(self.clock)
        proc = self.answer(0, VGS_OUTPUT)
        self.assertEqual(proc.argv, [
            "vgs", "--noheadings", "--nosuffix", "--units=m", "--unbuffered",
            "--separator=|", "-ovg_name,vg_size,vg_free,vg_attr"])
        self.assertEqual(proc.env, LVM_ENV)
        self.assertEqual(self.successResultOf(d), [
            {"type": "lvm-vg", "name": "xenvg", "size": 1020, "used": 520,
             "free": 500, "allocatable": True},
            {"type": "lvm-vg", "name": "other", "size": 100, "used": 0,
             "free": 100, "allocatable": True}])

    def test_list_pvs(self):
        """
        ``pvs`` gives one unit per PV; ``a`` in the attributes means
        allocatable.
        """
        d = lvm.list_pvs(self.clock, "/dev/sdc1")
        proc = self.answer(0, PVS_OUTPUT.splitlines(True)[2])
        self.assertEqual(proc.argv[-2:], [
            "-opv_name,vg_name,pv_size,pv_used,pv_free,pv_attr",
            "/dev/sdc1"])
        self.assertEqual(self.successResultOf(d), [
            {"type": "lvm-pv", "name": "/dev/sdc1", "vg": "xenvg",
             "size": 100, "used": 0, "free": 100, "allocatable": False}])

    def test_list_volumes_bad_size(self):
        """
        A size LVM should never print is refused as a L{StorageError}.
        """
        d = lvm.list_volumes(self.clock)
        proc = self.answer(0, b"  thin||xenvg|\n")
        self.assertEqual(proc.argv[-1], "-olv_name,lv_size,devices,vg_name")
        self.failureResultOf(d, StorageError)

    def test_list_volumes_multi_pv(self):
        """
        An LV over two PVs is listed twice; one without devices once.
        """
        d = lvm.list_volumes(self.clock)
        self.answer(0, b"  a.disk0|1024.00|/dev/sda3(0),/dev/sdb1(5)|xenvg\n"
                       b"  b|8.00||xenvg\n")
        self.assertEqual(self.successResultOf(d), [
            {"name": "a.disk0", "size": 1024, "dev": "/dev/sda3",
             "vg": "xenvg"},
            {"name": "a.disk0", "size": 1024, "dev": "/dev/sdb1",
             "vg": "xenvg"},
            {"name": "b", "size": 8, "dev": "", "vg": "xenvg"}])

    def test_report_failure(self):
        """
        A failing report command is a L{StorageError} with its reason.
        """
        d = lvm.list_vgs(self.clock, "nope")
        self.answer(0, code=5,
                    stderr=b'  Volume group "nope" not found\n')
        self.assertIn('Volume group "nope" not found',
                      str(self.failureResultOf(d, StorageError).value))

    def test_bad_line(self):
        """
        Output with the wrong number of fields is refused.
        """
        d = lvm.list_vgs(self.clock)
        self.answer(0, b"  xenvg|1020.00\n")
        self.failureResultOf(d, StorageError)

    def test_create(self):
        """
        C{create} checks the PVs, then runs ``lvcreate`` striped over the
        allocatable PVs of the VG (most free first), tagged with the
        instance.
        """
        d = self.storage.create(self.disk, INSTANCE)
        self.answer(0, PV_INFO_OUTPUT)
        proc = self.answer(1)
        self.assertEqual(proc.argv, [
            "lvcreate", "-Wn", "-L100m", "-nu.disk0", "--addtag",
            "originstname+inst1.example.com", "-i2", "xenvg", "/dev/sdb1",
            "/dev/sda3"])
        self.assertEqual(self.successResultOf(d), "/dev/xenvg/u.disk0")

    def test_create_fewer_stripes(self):
        """
        When the wide stripe cannot be allocated, fewer stripes are tried.
        """
        d = self.storage.create(self.disk, INSTANCE)
        self.answer(0, PV_INFO_OUTPUT)
        self.answer(1, code=5, stderr=b"  Insufficient suitable allocatable"
                                      b" extents\n")
        proc = self.answer(2)
        self.assertIn("-i1", proc.argv)
        self.assertEqual(self.successResultOf(d), "/dev/xenvg/u.disk0")

    def test_create_all_fail(self):
        """
        When every attempt fails, the last reason is given.
        """
        d = self.storage.create(self.disk, INSTANCE)
        self.answer(0, PV_INFO_OUTPUT)
        self.answer(1, code=5, stderr=b"  first\n")
        self.answer(2, code=5, stderr=b"  second\n")
        message = str(self.failureResultOf(d, BlockDeviceError).value)
        self.assertIn("LV create failed", message)
        self.assertIn("second", message)

    def test_create_without_device_mapper(self):
        """
        Without device-mapper the error says so and quotes ``lvcreate``;
        no other stripe count is tried.
        """
        d = self.storage.create(dict(self.disk, params={}), INSTANCE)
        self.answer(0, PV_INFO_OUTPUT)
        self.answer(1, code=3, stderr=DM_ERROR)
        message = str(self.failureResultOf(d, BlockDeviceError).value)
        self.assertIn("device-mapper is not available on this node",
                      message)
        self.assertIn("lvcreate said: /dev/mapper/control: open failed: No"
                      " such device Failure to communicate", message)
        self.assertEqual(len(self.clock.processes), 2)

    def test_create_no_space(self):
        """
        A VG without enough free space is refused before ``lvcreate``.
        """
        d = self.storage.create(dict(self.disk, size=1000), INSTANCE)
        self.answer(0, PV_INFO_OUTPUT)
        self.assertIn("required 1000 MiB, available 500 MiB",
                      str(self.failureResultOf(d, BlockDeviceError).value))
        self.assertEqual(len(self.clock.processes), 1)

    def test_create_unknown_vg(self):
        """
        A VG without PVs (or that does not exist) is refused.
        """
        disk = dict(self.disk, logical_id=["novg", "x"])
        d = self.storage.create(disk, INSTANCE)
        self.answer(0, PV_INFO_OUTPUT)
        self.assertIn("no allocatable physical volumes",
                      str(self.failureResultOf(d, BlockDeviceError).value))

    def test_invalid_names(self):
        """
        Names LVM would refuse (or misread) are refused before running.
        """
        for vg, lv in (("xenvg", "a/b"), ("xenvg", ".."), ("x y", "a"),
                       ("xenvg", "a_mlog"), ("xenvg", "snapshot"),
                       ("xenvg", "")):
            disk = dict(self.disk, logical_id=[vg, lv])
            self.failureResultOf(self.storage.create(disk, INSTANCE),
                                 BlockDeviceError)
        self.assertEqual(self.clock.processes, [])

    def test_remove_missing(self):
        """
        Removing an LV that ``lvs`` does not know runs no ``lvremove``.
        """
        d = self.storage.remove(self.disk)
        proc = self.answer(0, code=5, stderr=b'  Failed to find logical'
                                             b' volume "xenvg/u.disk0"\n')
        self.assertEqual(proc.argv[-2:], ["-olv_name,lv_size",
                                          "xenvg/u.disk0"])
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(len(self.clock.processes), 1)

    def test_remove(self):
        """
        An existing LV is removed with ``lvremove -f``.
        """
        d = self.storage.remove(self.disk)
        self.answer(0, b"  u.disk0|100.00\n")
        proc = self.answer(1)
        self.assertEqual(proc.argv, ["lvremove", "-f", "xenvg/u.disk0"])
        self.assertIsNone(self.successResultOf(d))

    def test_lvs_other_failure(self):
        """
        An ``lvs`` failure that is not "not found" is an error.
        """
        d = self.storage.exists(self.disk)
        self.answer(0, code=5, stderr=b"  Locking failed\n")
        self.failureResultOf(d, BlockDeviceError)

    def test_exists_and_size(self):
        """
        C{exists} and C{get_size} ask ``lvs``.
        """
        d = self.storage.exists(self.disk)
        self.answer(0, b"  u.disk0|100.00\n")
        self.assertIs(self.successResultOf(d), True)
        d = self.storage.get_size(self.disk)
        self.answer(1, b"  u.disk0|104.00\n")
        self.assertEqual(self.successResultOf(d), 104)
        d = self.storage.get_size(self.disk)
        self.answer(2, code=5, stderr=b'  Volume group "xenvg" not found\n')
        self.failureResultOf(d, BlockDeviceError)

    def test_grow(self):
        """
        C{grow} tries ``lvextend`` with ever looser allocation policies.
        """
        d = self.storage.grow(self.disk, 20)
        self.answer(0, b"  u.disk0|100.00\n")
        details = self.answer(1, LV_DETAILS)
        first = self.answer(2, code=5, stderr=b"  Insufficient\n")
        second = self.answer(3)
        self.answer(4, b"  u.disk0|120.00\n")
        self.assertEqual(details.argv, [
            "lvs", "--noheadings", "--separator=|", "--units=k",
            "--nosuffix", "-ovg_name,lv_name,lv_attr,vg_extent_size,stripes,"
            "devices", "xenvg/u.disk0"])
        self.assertEqual(first.argv, ["lvextend", "-L", "+20480k", "--alloc",
                                      "contiguous", "/dev/xenvg/u.disk0"])
        self.assertEqual(second.argv[4], "cling")
        self.assertEqual(self.successResultOf(d), 120)

    def test_grow_fails(self):
        """
        When no policy works, C{grow} fails with the last reason.
        """
        d = self.storage.grow(self.disk, 20)
        self.answer(0, b"  u.disk0|100.00\n")
        self.answer(1, LV_DETAILS)
        for index in (2, 3, 4):
            self.answer(index, code=5, stderr=b"  no room\n")
        self.assertIn("no room",
                      str(self.failureResultOf(d, BlockDeviceError).value))

    def test_assemble(self):
        """
        C{assemble} activates the LV with ``lvchange -ay``.
        """
        d = self.storage.assemble(self.disk)
        proc = self.answer(0)
        self.assertEqual(proc.argv, ["lvchange", "-ay",
                                     "/dev/xenvg/u.disk0"])
        self.assertEqual(self.successResultOf(d), "/dev/xenvg/u.disk0")

    def test_assemble_without_device_mapper(self):
        """
        Activation without device-mapper says why it failed.
        """
        d = self.storage.assemble(self.disk)
        self.answer(0, code=5, stderr=DM_ERROR)
        self.assertIn("device-mapper is not available",
                      str(self.failureResultOf(d, BlockDeviceError).value))

    def test_instance_tag(self):
        """
        Tags keep only the characters LVM allows, and 128 of them.
        """
        self.assertEqual(instance_tag("a b/c"), "originstname+a_b_c")
        self.assertEqual(len(instance_tag("x" * 300)), 128)

    def test_set_pv_allocatable(self):
        """
        ``pvchange --allocatable y|n`` sets the flag; its failure is a
        L{StorageError} with LVM's reason.
        """
        d = lvm.set_pv_allocatable(self.clock, "/dev/sdb1", False)
        proc = self.answer(0)
        self.assertEqual(proc.argv, ["pvchange", "--allocatable", "n",
                                     "/dev/sdb1"])
        self.assertEqual(proc.env, LVM_ENV)
        self.assertIsNone(self.successResultOf(d))
        d = lvm.set_pv_allocatable(self.clock, "/dev/sdx", True)
        self.assertEqual(self.answer(1, code=5, stderr=b"  Failed to find"
                                     b" physical volume\n").argv[2], "y")
        self.assertIn("Failed to find physical volume",
                      str(self.failureResultOf(d, StorageError).value))

    def test_set_pv_allocatable_refused(self):
        """
        A PV name that is not a device path (it could pass for an option)
        or a flag that is not a boolean runs nothing.
        """
        for pv, flag in (("-a", True), ("sdb1", True), ("/dev/sdb1", "no"),
                         (None, True)):
            d = lvm.set_pv_allocatable(self.clock, pv, flag)
            self.failureResultOf(d, StorageError)
        self.assertEqual(self.clock.processes, [])

    def test_repair_vg(self):
        """
        A VG ``vgreduce --removemissing`` made (or found) consistent needs
        no ``--force``; ``vgs`` then confirms the VG.
        """
        for said in (b"  Wrote out consistent volume group xenvg.\n",
                     b'  Volume group "xenvg" is already consistent.\n'):
            self.clock = ProcessClock()
            d = lvm.repair_vg(self.clock, "xenvg")
            self.assertEqual(self.answer(0, said).argv,
                             ["vgreduce", "--removemissing", "xenvg"])
            proc = self.answer(1, b"  xenvg\n")
            self.assertEqual(proc.argv[0], "vgs")
            self.assertEqual(proc.argv[-2:], ["-ovg_name", "xenvg"])
            self.assertIsNone(self.successResultOf(d))

    def test_repair_vg_force(self):
        """
        When ``vgreduce`` leaves partial volumes (and says only
        ``--force`` helps), or fails, it runs again with ``--force``.
        """
        for stdout, code in (
                (b"  WARNING: Partial LV lv0 needs to be repaired or removed."
                 b"\n  To remove them unconditionally use: vgreduce"
                 b" --removemissing --force.\n", 0),
                (b"", 5)):
            self.clock = ProcessClock()
            d = lvm.repair_vg(self.clock, "xenvg")
            self.answer(0, stdout, code=code)
            self.assertEqual(self.answer(1).argv,
                             ["vgreduce", "--removemissing", "--force",
                              "xenvg"])
            self.answer(2, b"  xenvg\n")
            self.assertIsNone(self.successResultOf(d))

    def test_repair_vg_lost(self):
        """
        A VG ``vgs`` no longer finds is a L{StorageError} quoting what
        ``vgreduce`` said.
        """
        d = lvm.repair_vg(self.clock, "xenvg")
        self.answer(0, code=5, stderr=b'  Volume group "xenvg" not found\n')
        self.answer(1, code=5, stderr=b'  Volume group "xenvg" not found\n')
        self.answer(2, code=5)
        message = str(self.failureResultOf(d, StorageError).value)
        self.assertIn("Volume group 'xenvg' still not found", message)
        self.assertIn('Volume group "xenvg" not found', message)

    def test_repair_vg_bad_name(self):
        """
        A name LVM would refuse, or take for an option, runs nothing.
        """
        for name in ("--force", "a b", ""):
            self.failureResultOf(lvm.repair_vg(self.clock, name), StorageError)
        self.assertEqual(self.clock.processes, [])


class LVMExclusiveTests(SynchronousTestCase):
    """
    Exclusive storage, growing, renaming, snapshots and the reports
    cluster verify reads, in L{ganeti.storage.lvm} on L{ProcessClock}.
    """

    def setUp(self):
        self.clock = ProcessClock()
        self.storage = LogicalVolumeStorage(self.clock)
        self.disk = {"uuid": "u", "dev_type": "plain", "size": 1500,
                     "mode": "rw", "logical_id": ["esvg", "u.disk0"],
                     "params": {"stripes": 1}, "spindles": 2}

    answer = LVMUnitTests.answer

    def create(self, **changes):
        d = self.storage.create(dict(self.disk, **changes), INSTANCE,
                                excl_stor=True)
        self.answer(0, ES_PV_OUTPUT)
        return d

    def test_create_on_empty_pvs(self):
        """
        With exclusive storage a volume takes as many empty PVs as its
        spindles, striped over all of them, however few stripes the disk
        parameters ask for.
        """
        d = self.create()
        proc = self.answer(1)
        self.assertEqual(proc.argv, [
            "lvcreate", "-Wn", "-L1500m", "-nu.disk0", "--addtag",
            "originstname+inst1.example.com", "-i2", "esvg", "/dev/vdb",
            "/dev/vdc"])
        self.assertEqual(self.successResultOf(d), "/dev/esvg/u.disk0")

    def test_create_needs_spindles(self):
        """Without spindles the error says to repair the disk sizes."""
        message = str(self.failureResultOf(self.create(spindles=None),
                                           BlockDeviceError).value)
        self.assertIn("Unspecified number of spindles", message)
        self.assertIn("gnt-cluster repair-disk-sizes", message)

    def test_create_too_few_spindles(self):
        """
        A disk bigger than its spindles' standard size is refused: 1500
        MiB needs two 994 MiB PVs (1024 less Ganeti's 3 %).
        """
        message = str(self.failureResultOf(self.create(spindles=1),
                                           BlockDeviceError).value)
        self.assertIn("Requested number of spindles (1) is not enough for a"
                      " disk of 1500 MB (at least 2 spindles needed)", message)

    def test_create_too_few_empty_pvs(self):
        """Only empty PVs count: two of the four are."""
        message = str(self.failureResultOf(self.create(spindles=3),
                                           BlockDeviceError).value)
        self.assertIn("Not enough empty PVs (spindles) to create a disk of"
                      " 1500 MB: 2 available, 3 needed", message)
        self.assertEqual(len(self.clock.processes), 1)

    def test_pv_arithmetic(self):
        """Ganeti's standard PV size, PVs needed, empty PVs, size margin."""
        pvs = [{"name": "a", "size": 1030.0, "free": 1029.5},
               {"name": "b", "size": 1000.0, "free": 10.0}]
        self.assertEqual(lvm.std_pv_size(pvs), 970.0)
        self.assertEqual(lvm.pvs_needed(971, pvs), 2)
        self.assertEqual(lvm.empty_pv_names(pvs), ["a"])
        self.assertFalse(lvm.bad_pv_sizes(1000, 1020))
        self.assertTrue(lvm.bad_pv_sizes(1000, 1021))

    def test_grow_rounds_to_stripes(self):
        """
        Growth is rounded up to whole stripes of extents (two stripes of
        4 MiB: 10 MiB becomes 16); a dry run adds ``--test`` and gives the
        current size.
        """
        disk = dict(self.disk, logical_id=["xenvg", "u.disk0"])
        d = self.storage.grow(disk, 10, dryrun=True)
        self.answer(0, b"  u.disk0|100.00\n")
        self.answer(1, b"  xenvg|u.disk0|-wi-a-----|4096.00|2|"
                       b"/dev/sda(0),/dev/sdb(0)\n")
        proc = self.answer(2)
        self.assertEqual(proc.argv, [
            "lvextend", "-L", "+16384k", "--test", "--alloc", "contiguous",
            "/dev/xenvg/u.disk0"])
        self.assertEqual(self.successResultOf(d), 100)
        self.assertEqual(len(self.clock.processes), 3)

    def test_grow_exclusive(self):
        """
        With exclusive storage a volume grows only on its own PVs, within
        their standard size.
        """
        d = self.storage.grow(self.disk, 100, excl_stor=True)
        self.answer(0, b"  u.disk0|1500.00\n")
        self.answer(1, b"  esvg|u.disk0|-wi-a-----|4096.00|2|"
                       b"/dev/vdd(0),/dev/vda(0)\n")
        # vdd has 500 MiB free, vda none; 30 MiB of each are reserved.
        self.answer(2, ES_PV_OUTPUT)
        proc = self.answer(3)
        self.assertEqual(proc.argv, [
            "lvextend", "-L", "+106496k", "--alloc", "contiguous",
            "/dev/esvg/u.disk0", "/dev/vdd", "/dev/vda"])
        self.answer(4, b"  u.disk0|1604.00\n")
        self.assertEqual(self.successResultOf(d), 1604)

        d = self.storage.grow(self.disk, 500, excl_stor=True)
        self.answer(5, b"  u.disk0|1604.00\n")
        self.answer(6, b"  esvg|u.disk0|-wi-a-----|4096.00|2|"
                       b"/dev/vdd(0),/dev/vda(0)\n")
        self.answer(7, ES_PV_OUTPUT)
        self.assertIn("Not enough free space to grow /dev/esvg/u.disk0: 504"
                      " MiB required, 440 available",
                      str(self.failureResultOf(d, BlockDeviceError).value))

    def test_rename(self):
        """``lvrename`` within the VG; another VG is refused."""
        d = self.storage.rename(self.disk, ["esvg", "new.disk0"])
        proc = self.answer(0)
        self.assertEqual(proc.argv, ["lvrename", "esvg", "u.disk0",
                                     "new.disk0"])
        self.assertEqual(self.successResultOf(d), "/dev/esvg/new.disk0")
        self.failureResultOf(self.storage.rename(self.disk, ["xenvg", "x"]),
                             BlockDeviceError)
        self.assertEqual(len(self.clock.processes), 1)

    def test_snapshot(self):
        """
        A snapshot ``<lv>.snap`` of the disk's whole size: an old one is
        removed first, and the VG must have room.
        """
        d = self.storage.snapshot(self.disk)
        self.answer(0, b"  u.disk0|1500.00\n")
        self.answer(1, b"  u.disk0.snap|1500.00\n")
        remove = self.answer(2)
        self.answer(3, b"  esvg|2000.00|wz--n-|4096.00\n")
        create = self.answer(4)
        self.assertEqual(remove.argv, ["lvremove", "-f", "esvg/u.disk0.snap"])
        self.assertEqual(create.argv, ["lvcreate", "-L1500m", "-s",
                                       "-nu.disk0.snap", "/dev/esvg/u.disk0"])
        self.assertEqual(self.successResultOf(d), ["esvg", "u.disk0.snap"])

    def test_snapshot_no_room(self):
        """Without room in the VG no snapshot is attempted."""
        d = self.storage.snapshot(self.disk)
        self.answer(0, b"  u.disk0|1500.00\n")
        self.answer(1, code=5, stderr=b"  Failed to find logical volume\n")
        self.answer(2, b"  esvg|1000.00|wz--n-|4096.00\n")
        self.assertIn("Not enough free space: required 1500, available 1000",
                      str(self.failureResultOf(d, BlockDeviceError).value))
        self.assertEqual(len(self.clock.processes), 3)

    def test_list_lvs(self):
        """
        ``vg/lv`` -> size, inactive, online; virtual volumes (their PV is
        gone) are left out.
        """
        d = lvm.list_lvs(self.clock, ["xenvg"])
        proc = self.answer(0, b"  xenvg|a.disk0|1024.00|-wi-ao----\n"
                              b"  xenvg|b.disk0|8.00|-wi-------\n"
                              b"  xenvg|c.disk0|8.00|vwi-a-v---\n")
        self.assertEqual(proc.argv, [
            "lvs", "--noheadings", "--units=m", "--nosuffix", "--separator=|",
            "-ovg_name,lv_name,lv_size,lv_attr", "xenvg"])
        self.assertEqual(self.successResultOf(d), {
            "xenvg/a.disk0": [1024, False, True],
            "xenvg/b.disk0": [8, True, False]})

    def test_vg_reports(self):
        """
        VG sizes for verify (nothing when ``vgs`` fails); a VG's space for
        node info, counted in empty standard PVs with exclusive storage.
        """
        d = lvm.vg_sizes(self.clock)
        self.answer(0, b"  xenvg|8188.00\n  esvg|4096.00\n")
        self.assertEqual(self.successResultOf(d),
                         {"xenvg": 8188, "esvg": 4096})
        d = lvm.vg_sizes(self.clock)
        self.answer(1, code=5)
        self.assertEqual(self.successResultOf(d), {})
        d = lvm.vg_space(self.clock, "esvg", True)
        self.answer(2, b"  esvg|2547.50|wz--n-|4096.00\n")
        self.answer(3, ES_PV_OUTPUT)
        self.assertEqual(self.successResultOf(d), {
            "name": "esvg", "size": 4096, "free": 1988,
            "spindles_total": 4, "spindles_free": 2})
        d = lvm.vg_space(self.clock, "nope")
        self.answer(4, b"  esvg|2547.50|wz--n-|4096.00\n")
        self.assertEqual(self.successResultOf(d), {
            "name": "nope", "size": None, "free": None,
            "spindles_total": 0, "spindles_free": 0})

    def test_pv_info_with_lvs(self):
        """
        One entry per PV, with the LVs of its segments; the check Ganeti's
        verify runs flags shared PVs, ':' in names and uneven sizes.
        """
        d = lvm.pv_info(self.clock, ["esvg"], filter_allocatable=False,
                        include_lvs=True)
        self.answer(0, b"  /dev/vdb|esvg|0|a--|1024.00|b\n"
                       b"  /dev/vda|esvg|0|a--|1024.00|a\n"
                       b"  /dev/vdb|esvg|0|a--|1024.00|a\n"
                       b"  /dev/vdb|esvg|0|a--|1024.00|a\n"
                       b"  /dev/x:1|esvg|1100.00|---|1100.00|\n"
                       b"  /dev/sda|xenvg|0|a--|1024.00|c\n")
        pvs = self.successResultOf(d)
        self.assertEqual([(pv["name"], pv["lv_list"]) for pv in pvs],
                         [("/dev/vda", ["a"]), ("/dev/vdb", ["a", "b"]),
                          ("/dev/x:1", [])])
        messages, extremes = lvm.check_node_pvs(pvs, True)
        self.assertEqual(messages, [
            "Invalid character ':' in PV '/dev/x:1' of VG 'esvg'",
            "Sizes of PVs are too different: min=1024 max=1100",
            "PV /dev/vdb is shared among unrelated LVs (a, b)"])
        self.assertEqual(extremes, (1024.0, 1100.0))
        self.assertEqual(lvm.check_node_pvs(pvs, False)[1], None)


class RegistryTests(SynchronousTestCase):
    """
    Tests for L{BlockStorageRegistry} and L{NodeStorage}.
    """

    def setUp(self):
        self.paths = make_file_paths(self)
        self.clock = ProcessClock()

    def test_providers(self):
        """
        Each supported template has a provider for it.
        """
        registry = BlockStorageRegistry(self.clock, self.paths)
        self.assertEqual(registry.templates,
                         ("blockdev", "drbd", "ext", "file", "plain",
                          "sharedfile"))
        for template in registry.templates:
            provider = registry.get(template)
            self.assertTrue(verifyObject(IBlockStorage, provider))
            self.assertEqual(provider.template, template)
        self.assertIs(registry.for_disk({"dev_type": "plain"}),
                      registry.get("plain"))
        for template in ("diskless", "rbd", "nope"):
            self.assertRaises(BlockDeviceError, registry.get, template)

    def test_disk_dict(self):
        """
        L{disk_dict} fills defaults and insists on a C{logical_id}.
        """
        self.assertEqual(disk_dict({"uuid": "u", "logical_id": ("a", "b")}),
                         {"uuid": "u", "logical_id": ["a", "b"],
                          "mode": "rw", "params": {}, "size": 0})
        self.assertRaises(ProgrammerError, disk_dict, {"uuid": "u"})

    def test_file_storage(self):
        """
        File storage reports the file system's size and free space and the
        size of the files in the directory, in MiB.
        """
        directory = os.path.join(self.paths.file_storage_dir, "i1")
        os.makedirs(directory)
        with open(os.path.join(directory, "d"), "wb") as f:
            f.truncate(5 * MIB)
        node = NodeStorage(self.clock, self.paths, node_name="node1")
        self.assertTrue(verifyObject(INodeStorage, node))
        [unit] = self.successResultOf(node.list_storage("file"))
        st = os.statvfs(self.paths.file_storage_dir)
        self.assertEqual(unit, {
            "node": "node1", "type": "file",
            "name": self.paths.file_storage_dir,
            "size": st.f_frsize * st.f_blocks // MIB, "used": 5,
            "free": unit["free"], "allocatable": True})
        self.assertLessEqual(unit["free"], unit["size"])

    def test_shared_file_storage(self):
        """
        Shared file storage reports its own directory; a name picks another.
        """
        os.makedirs(self.paths.shared_file_storage_dir)
        node = NodeStorage(self.clock, self.paths)
        [unit] = self.successResultOf(node.list_storage("sharedfile"))
        self.assertEqual((unit["type"], unit["name"], unit["used"]),
                         ("sharedfile", self.paths.shared_file_storage_dir,
                          0))
        self.assertNotIn("node", unit)
        [unit] = self.successResultOf(
            node.list_storage("file", self.paths.conf_dir))
        self.assertEqual(unit["name"], self.paths.conf_dir)

    def test_missing_directory(self):
        """
        A missing directory is a L{StorageError}.
        """
        node = NodeStorage(self.clock, self.paths)
        self.assertIn("Failed to retrieve file system information", str(
            self.failureResultOf(node.list_storage("file"),
                                 StorageError).value))

    def test_unknown_type(self):
        """
        Unknown storage types are refused.
        """
        node = NodeStorage(self.clock, self.paths)
        self.failureResultOf(node.list_storage("gluster"), StorageError)

    def test_lvm_types(self):
        """
        ``lvm-vg`` and ``lvm-pv`` units come from ``vgs``/``pvs``, with the
        node name added; volumes from ``lvs``.
        """
        node = NodeStorage(self.clock, self.paths, node_name="n1")
        d = node.list_storage("lvm-pv", "/dev/sdd1")
        proc = self.clock.processes[0]
        self.assertEqual(proc.argv[0], "pvs")
        proc.feed_stdout(PVS_OUTPUT.splitlines(True)[3])
        proc.exit(0)
        self.assertEqual(self.successResultOf(d), [
            {"node": "n1", "type": "lvm-pv", "name": "/dev/sdd1",
             "size": 100, "used": 0, "free": 100, "allocatable": True}])
        d = node.list_storage("lvm-vg")
        self.clock.processes[1].feed_stdout(VGS_OUTPUT)
        self.clock.processes[1].exit(0)
        self.assertEqual([u["name"] for u in self.successResultOf(d)],
                         ["xenvg", "other"])
        d = node.list_volumes()
        self.assertEqual(self.clock.processes[2].argv[0], "lvs")
        self.clock.processes[2].exit(0)
        self.assertEqual(self.successResultOf(d), [])

    def test_modify_storage(self):
        """
        A PV's allocatable flag goes to ``pvchange``; other types and
        fields are refused with nothing run.
        """
        node = NodeStorage(self.clock, self.paths)
        d = node.modify_storage("lvm-pv", "/dev/sdb1", {"allocatable": True})
        self.assertEqual(self.clock.processes[0].argv,
                         ["pvchange", "--allocatable", "y", "/dev/sdb1"])
        self.clock.processes[0].exit(0)
        self.assertIsNone(self.successResultOf(d))
        for storage_type, changes, fragment in (
                ("lvm-vg", {"allocatable": True}, "can not be modified"),
                ("file", {}, "can not be modified"),
                ("lvm-pv", {"allocatable": True, "name": "x"},
                 "of type 'lvm-pv': ['name']")):
            d = node.modify_storage(storage_type, "/dev/sdb1", changes)
            self.assertIn(fragment,
                          str(self.failureResultOf(d, StorageError).value))
        self.assertEqual(len(self.clock.processes), 1)

    def test_execute_storage(self):
        """
        Fixing a VG's consistency runs ``vgreduce``; any other operation or
        type is refused with nothing run.
        """
        node = NodeStorage(self.clock, self.paths)
        node.execute_storage("lvm-vg", "xenvg", SO_FIX_CONSISTENCY)
        self.assertEqual(self.clock.processes[0].argv[0], "vgreduce")
        for storage_type, operation in (("lvm-pv", SO_FIX_CONSISTENCY),
                                        ("lvm-vg", "defrag")):
            d = node.execute_storage(storage_type, "xenvg", operation)
            self.assertIn("Operation '%s' is not supported on storage units"
                          " of type '%s'" % (operation, storage_type),
                          str(self.failureResultOf(d, StorageError).value))
        self.assertEqual(len(self.clock.processes), 1)

    def test_capability_tables(self):
        """
        What the master may ask for (the tables in
        L{ganeti.storage.interfaces}) is exactly what a node implements.
        """
        self.assertEqual(
            set(STORAGE_MODIFIERS),
            {(storage_type, field) for storage_type, fields
             in MODIFIABLE_STORAGE_FIELDS.items() for field in fields})
        self.assertEqual(
            set(STORAGE_OPERATIONS),
            {(storage_type, operation) for storage_type, operations
             in VALID_STORAGE_OPERATIONS.items() for operation in operations})
        self.assertEqual(set(STORAGE_TYPE_TEMPLATES), set(STORAGE_TYPES))

    def test_describe_storage_dir(self):
        """
        L{describe_storage_dir} counts the apparent size of nested files.
        """
        top = os.path.realpath(self.mktemp())
        os.makedirs(os.path.join(top, "a", "b"))
        for name, size in (("a/x", 2 * MIB), ("a/b/y", 3 * MIB)):
            with open(os.path.join(top, name), "wb") as f:
                f.truncate(size)
        self.assertEqual(describe_storage_dir(top, "sharedfile")["used"], 5)


class FileContractTests(IBlockStorageTestsMixin, TestCase):
    """
    The contract for ``file`` disks, with the real ``qemu-img``.
    """

    skip = qemu_img_skip_reason()
    template = "file"

    def setUp(self):
        from twisted.internet import reactor

        self.paths = make_file_paths(self)
        self.storage = FileStorage(reactor, self.paths, self.template)

    def new_disk(self, index=0):
        return file_disk(self.paths, self.template, index,
                         size=self.disk_size, uuid="uuid-%d" % (index,))

    def missing_disk(self):
        return self.new_disk(9)

    def expected_path(self, disk):
        return disk["logical_id"][1]

    async def test_image_is_sparse_raw(self):
        """
        The image is a raw file of exactly the size, taking (almost) no
        space until written.
        """
        disk = self.new_disk()
        path = await self.storage.create(disk, self.instance_name)
        st = os.stat(path)
        self.assertEqual(st.st_size, self.disk_size * MIB)
        self.assertLess(st.st_blocks * 512, MIB)


class SharedFileContractTests(FileContractTests):
    """
    The contract for ``sharedfile`` disks.
    """

    template = "sharedfile"


class BlockdevContractTests(IBlockStorageTestsMixin, TestCase):
    """
    The contract for adopted block devices, on a real loop device.
    """

    skip = loop_skip_reason()
    template = "blockdev"
    creates_data = False
    supports_grow = False

    async def setUp(self):
        from twisted.internet import reactor

        self.storage = AdoptedBlockDevice(reactor)
        self.device = await make_loop_device(self, reactor, self.disk_size)

    def new_disk(self, index=0):
        return {"uuid": "uuid-%d" % (index,), "dev_type": "blockdev",
                "size": self.disk_size, "mode": "rw",
                "logical_id": ["manual", self.device], "params": {}}

    def missing_disk(self):
        return dict(self.new_disk(),
                    logical_id=["manual", "/dev/ganeti-test-no-such-device"])

    def expected_path(self, disk):
        return self.device


class PlainContractTests(IBlockStorageTestsMixin, TestCase):
    """
    The contract for LVM ``plain`` disks, on a volume group on a loop
    device.
    """

    skip = lvm_create_skip_reason()
    template = "plain"

    async def setUp(self):
        from twisted.internet import reactor

        self.storage = LogicalVolumeStorage(reactor)
        self.vg, _ = await make_volume_group(self, reactor)

    def new_disk(self, index=0):
        return {"uuid": "uuid-%d" % (index,), "dev_type": "plain",
                "size": self.disk_size, "mode": "rw",
                "logical_id": plain_logical_id(self.vg, "uuid", index),
                "params": {"stripes": 1}}

    def missing_disk(self):
        return self.new_disk(9)

    def expected_path(self, disk):
        return "/dev/%s/%s" % tuple(disk["logical_id"])


class RealLVMTests(TestCase):
    """
    The LVM tools for real, on a volume group on a loop device: reports
    work everywhere; where device-mapper is missing, C{create} must say so.
    """

    skip = lvm_tools_skip_reason()

    async def setUp(self):
        from twisted.internet import reactor

        self.reactor = reactor
        self.vg, self.pv = await make_volume_group(self, reactor, 64)
        self.node = NodeStorage(reactor, Paths("/nonexistent"), "n1")

    async def test_reports(self):
        """
        ``vgs`` and ``pvs`` describe the new VG and its PV; ``lvs`` lists
        no volume in it.
        """
        [vg] = await self.node.list_storage("lvm-vg", self.vg)
        self.assertEqual((vg["node"], vg["type"], vg["name"],
                          vg["allocatable"], vg["used"]),
                         ("n1", "lvm-vg", self.vg, True, 0))
        # 64 MiB minus LVM's metadata, in whole extents.
        self.assertTrue(56 <= vg["size"] <= 64, vg)
        self.assertEqual(vg["free"], vg["size"])
        [pv] = await self.node.list_storage("lvm-pv", self.pv)
        self.assertEqual((pv["name"], pv["size"], pv["free"],
                          pv["allocatable"]),
                         (self.pv, vg["size"], vg["free"], True))
        volumes = await self.node.list_volumes()
        self.assertEqual([v for v in volumes if v["vg"] == self.vg], [])

    async def test_unknown_vg(self):
        """
        Asking for a VG that does not exist is a L{StorageError}.
        """
        with self.assertRaises(StorageError):
            await self.node.list_storage("lvm-vg", self.vg + "x")

    async def test_create_reports_missing_device_mapper(self):
        """
        Where device-mapper is missing, C{create} fails saying so, with
        ``lvcreate``'s own words.
        """
        if lvm.device_mapper_available():
            self.skipTest("device-mapper is available here")
        storage = LogicalVolumeStorage(self.reactor)
        disk = {"uuid": "u", "dev_type": "plain", "size": 8,
                "logical_id": [self.vg, "u.disk0"], "params": {}}
        with self.assertRaises(BlockDeviceError) as caught:
            await storage.create(disk, INSTANCE)
        message = str(caught.exception)
        self.assertIn("device-mapper is not available on this node",
                      message)
        self.assertIn("lvcreate said:", message)
        self.assertIs(await storage.exists(disk), False)

    async def test_modify_allocatable(self):
        """
        ``modify_storage`` really takes a PV out of allocation and back.
        """
        for allocatable in (False, True):
            await self.node.modify_storage("lvm-pv", self.pv,
                                           {"allocatable": allocatable})
            [pv] = await self.node.list_storage("lvm-pv", self.pv)
            self.assertIs(pv["allocatable"], allocatable)


async def _multi_pv_group(testcase, reactor, count, size_mib):
    """
    A volume group on C{count} fresh loop devices (removed, with its PVs,
    when the test ends).

    :return: C{(vg_name, [pv paths])}.
    """
    import uuid
    devices = []
    for _ in range(count):
        device = await make_loop_device(testcase, reactor, size_mib)
        await check_command(reactor, ["pvcreate", "-ff", "-y", device],
                            timeout=60, env=LVM_ENV)
        testcase.addCleanup(run_command, reactor, ["pvremove", "-ff", "-y",
                                                   device],
                            timeout=60, env=LVM_ENV)
        devices.append(device)
    vg = "gnttest" + uuid.uuid4().hex[:8]
    await check_command(reactor, ["vgcreate", vg] + devices, timeout=60,
                        env=LVM_ENV)
    testcase.addCleanup(run_command, reactor, ["vgremove", "-f", vg],
                        timeout=60, env=LVM_ENV)
    return vg, devices


class RealPlainTests(TestCase):
    """
    The ``plain`` operations beyond the contract, on real LVM (three loop
    device PVs): exclusive storage, growth, renaming, snapshots and the
    reports verify reads.  They need device-mapper, so they run in the VM
    bed's guests (tests.vm).
    """

    skip = lvm_create_skip_reason()

    async def setUp(self):
        from twisted.internet import reactor
        self.reactor = reactor
        self.vg, self.pvs = await _multi_pv_group(self, reactor, 3, 64)
        self.storage = LogicalVolumeStorage(reactor)

    def disk(self, name="u.disk0", size=8, **extra):
        return dict({"uuid": "u", "dev_type": "plain", "size": size,
                     "mode": "rw", "logical_id": [self.vg, name],
                     "params": {"stripes": 1}}, **extra)

    async def lv_pvs(self, name):
        """:return: the sorted PVs the LV has extents on."""
        result = await check_command(self.reactor, [
            "lvs", "--noheadings", "-odevices", "%s/%s" % (self.vg, name)],
            timeout=60, env=LVM_ENV)
        return sorted({d.split("(")[0].strip() for line in
                       result.stdout.decode().split() for d in line.split(",")
                       if d.strip()})

    async def test_exclusive_storage(self):
        """
        With exclusive storage a volume takes whole empty PVs by its
        spindles; the next one cannot share them, and growing stays on
        them; free space counts only the empty PV left.
        """
        path = await self.storage.create(self.disk(spindles=2), INSTANCE,
                                         excl_stor=True)
        self.assertEqual(path, "/dev/%s/u.disk0" % self.vg)
        used = await self.lv_pvs("u.disk0")
        self.assertEqual(len(used), 2)
        with self.assertRaises(BlockDeviceError) as caught:
            await self.storage.create(self.disk("v.disk0", spindles=2),
                                      INSTANCE, excl_stor=True)
        self.assertIn("Not enough empty PVs", str(caught.exception))
        space = await lvm.vg_space(self.reactor, self.vg, True)
        self.assertEqual((space["spindles_total"], space["spindles_free"]),
                         (3, 1))
        standard = lvm.std_pv_size(await lvm.pv_info(self.reactor, [self.vg]))
        self.assertEqual(space["free"], int(round(standard)))
        size = await self.storage.grow(self.disk(spindles=2), 16,
                                       excl_stor=True)
        self.assertEqual(size, 24)
        self.assertEqual(await self.lv_pvs("u.disk0"), used)

    async def test_grow_dry_run_and_stripes(self):
        """
        A dry run changes nothing; a two-stripe volume grows by whole
        stripes (4 MiB extents: 2 MiB become 8).
        """
        disk = self.disk(params={"stripes": 2})
        await self.storage.create(disk, INSTANCE)
        self.assertEqual(await self.storage.grow(disk, 2, dryrun=True), 8)
        self.assertEqual(await self.storage.get_size(disk), 8)
        self.assertEqual(await self.storage.grow(disk, 2), 16)
        with self.assertRaises(BlockDeviceError):
            await self.storage.grow(disk, 4000, dryrun=True)
        self.assertEqual(await self.storage.get_size(disk), 16)

    async def test_rename(self):
        """``lvrename`` keeps the data under the new name."""
        disk = self.disk()
        await self.storage.create(disk, INSTANCE)
        path = await self.storage.rename(disk, [self.vg, "w.disk0"])
        self.assertEqual(path, "/dev/%s/w.disk0" % self.vg)
        self.assertIs(await self.storage.exists(disk), False)
        self.assertIs(await self.storage.exists(
            self.disk("w.disk0")), True)

    async def test_snapshot(self):
        """
        A snapshot holds the data as it was when taken, while the volume
        changes; it shows in the LV list verify reads, and goes with
        C{remove}.
        """
        disk = self.disk()
        path = await self.storage.create(disk, INSTANCE)
        with open(path, "r+b") as f:
            f.write(b"before")
        snap = await self.storage.snapshot(disk)
        self.assertEqual(snap, [self.vg, "u.disk0.snap"])
        with open(path, "r+b") as f:
            f.write(b"after!")
        with open("/dev/%s/%s" % tuple(snap), "rb") as f:
            self.assertEqual(f.read(6), b"before")
        volumes = await lvm.list_lvs(self.reactor, [self.vg])
        self.assertEqual(sorted(volumes), ["%s/u.disk0" % self.vg,
                                           "%s/u.disk0.snap" % self.vg])
        self.assertEqual(volumes["%s/u.disk0" % self.vg], [8, False, False])
        # Taken again, the old one is replaced.
        self.assertEqual(await self.storage.snapshot(disk), snap)
        await self.storage.remove(self.disk(snap[1]))
        self.assertEqual(sorted(await lvm.list_lvs(self.reactor, [self.vg])),
                         ["%s/u.disk0" % self.vg])

    async def test_verify_reports(self):
        """
        What a node tells cluster verify: the VG's size, its LVs, and
        with exclusive storage each PV's LVs (a PV shared by two LVs is a
        problem).
        """
        from ganeti.node.handler import NodeHandler
        await self.storage.create(self.disk(), INSTANCE)
        handler = NodeHandler(Paths("/nonexistent"), self.reactor)
        report = await handler._verify_lvm(self.vg, True)
        self.assertTrue(180 <= report["vgs"][self.vg] <= 192, report["vgs"])
        self.assertEqual(report["lvs"]["%s/u.disk0" % self.vg][0], 8)
        self.assertEqual(sorted(pv["name"] for pv in report["pvs"]),
                         sorted(self.pvs))
        self.assertEqual(report["pv_problems"], [])
        self.assertEqual(report["pv_extremes"][0], report["pv_extremes"][1])
        [pv] = await self.lv_pvs("u.disk0")
        await check_command(self.reactor, ["lvcreate", "-Wn", "-L8m",
                                           "-nv.disk0", self.vg, pv],
                            timeout=60, env=LVM_ENV)
        report = await handler._verify_lvm(self.vg, True)
        self.assertEqual(len(report["pv_problems"]), 1, report)
        self.assertIn("is shared among unrelated LVs", report["pv_problems"][0])


async def _attach_file(testcase, reactor, size_mib):
    """
    Attach a sparse file to a loop device the test may detach itself.

    The cleanup detaches only devices still backed by that file: once the
    test has detached its device, the same number may belong to someone
    else.

    :return: the device path.
    """
    backing = os.path.abspath(testcase.mktemp())
    with open(backing, "wb") as f:
        f.truncate(size_mib * MIB)
    result = await check_command(reactor, ["losetup", "--find", "--show",
                                           backing], timeout=30)

    async def detach():
        found = await run_command(reactor, ["losetup", "-j", backing],
                                  timeout=30)
        for line in found.stdout.decode().splitlines():
            await run_command(reactor, ["losetup", "-d", line.split(":")[0]],
                              timeout=30)
    testcase.addCleanup(detach)
    return result.stdout.decode().strip()


class RealRepairTests(TestCase):
    """
    ``repair-storage`` for real: a volume group loses one of its two loop
    device PVs and is made consistent again.
    """

    skip = lvm_tools_skip_reason()

    async def setUp(self):
        from twisted.internet import reactor

        self.reactor = reactor
        self.vg, self.pv = await make_volume_group(self, reactor, 32)
        # Runs after the lost PV's device is gone and before the VG is
        # removed, in case the test failed before repairing it.
        self.addCleanup(self.lvm, "vgreduce", "--removemissing", "--force",
                        self.vg)
        self.lost = await _attach_file(self, reactor, 32)
        await check_command(reactor, ["pvcreate", "-ff", "-y", self.lost],
                            timeout=60, env=LVM_ENV)
        await check_command(reactor, ["vgextend", self.vg, self.lost],
                            timeout=60, env=LVM_ENV)
        self.node = NodeStorage(reactor, Paths("/nonexistent"), "n1")

    def lvm(self, *argv):
        return run_command(self.reactor, list(argv), timeout=60, env=LVM_ENV)

    async def vg_pvs(self):
        """:return: the sorted names of the VG's PVs (missing ones too)."""
        return sorted(pv["name"] for pv in await lvm.list_pvs(self.reactor)
                      if pv["vg"] == self.vg)

    async def test_repair_missing_pv(self):
        """
        After its device is gone, the PV is dropped from the VG, which
        keeps the other one; repairing again changes nothing.
        """
        self.assertEqual(await self.vg_pvs(), sorted([self.pv, self.lost]))
        await check_command(self.reactor, ["losetup", "-d", self.lost],
                            timeout=30)
        self.assertEqual(await self.vg_pvs(), sorted([self.pv, "[unknown]"]))
        for _ in range(2):
            await self.node.execute_storage("lvm-vg", self.vg,
                                            SO_FIX_CONSISTENCY)
            self.assertEqual(await self.vg_pvs(), [self.pv])

    async def test_repair_unknown_vg(self):
        """
        Repairing a VG that does not exist fails saying so.
        """
        with self.assertRaises(StorageError) as caught:
            await self.node.execute_storage("lvm-vg", self.vg + "x",
                                            SO_FIX_CONSISTENCY)
        self.assertIn("Volume group '%sx' still not found" % self.vg,
                      str(caught.exception))
