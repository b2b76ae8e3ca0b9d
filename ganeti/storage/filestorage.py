# -*- test-case-name: tests.test_storage -*-
"""
Disks kept as image files: the ``file`` and ``sharedfile`` templates.

A disk's ``logical_id`` is ``[driver, path]``, the driver (``loop``,
``blktap``, ``blktap2``) telling the hypervisor how to attach the file.
The path comes from the master, and a node must not write wherever a
(possibly forged) configuration says, so every path is checked against
the directories the node's administrator listed in
``<conf_dir>/file-storage-paths`` (Ganeti's rule), after refusing paths
that are relative, not normalised (``..``), below a system directory, or
that escape the allowed directory through a symlink.

Images are created and grown with ``qemu-img`` (Debian package
``qemu-utils``) as sparse raw files.  The remaining work (``stat``,
``unlink``, ``mkdir``) is quick on a local disk, but a ``sharedfile``
directory is usually on NFS where it may hang, so a thread pool can be
injected to run it off the reactor thread.
"""

import errno
import os
import stat

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.threads import deferToThreadPool
from zope.interface import implementer

from ganeti.disk_templates import FILE_DRIVERS
from ganeti.errors import BlockDeviceError, FileStoragePathError
from ganeti.process import run_command
from ganeti.storage.interfaces import MIB, IBlockStorage, disk_dict
from ganeti.storage_units import ST_FILE, ST_SHARED_FILE

#: Seconds ``qemu-img`` may take; creating a sparse file is instant, but
#: NFS can be slow.
QEMU_IMG_TIMEOUT = 120


def _forbidden_prefixes():
    """
    :return: the system directories that must never hold instance disks,
        whatever ``file-storage-paths`` says.
    """
    paths = {"/boot", "/dev", "/etc", "/home", "/proc", "/root", "/sys"}
    for prefix in ("", "/usr", "/usr/local"):
        for name in ("bin", "lib", "lib32", "lib64", "sbin"):
            paths.add(prefix + "/" + name)
    return frozenset(os.path.normpath(p) for p in paths)


FORBIDDEN_PREFIXES = _forbidden_prefixes()


def allowed_paths_file(paths):
    """
    :param paths: a L{ganeti.paths.Paths}.
    :return: the file listing the directories allowed for file storage.
    """
    return getattr(paths, "file_storage_paths",
                   os.path.join(paths.conf_dir, "file-storage-paths"))


def is_below(parent, path):
    """
    :return: whether C{path} lies strictly inside directory C{parent}
        (both normalised first, so ``/a/b/../c`` is compared as ``/a/c``).
    """
    parent = os.path.normpath(parent)
    path = os.path.normpath(path)
    if parent == "/":
        return path != "/" and path.startswith("/")
    return path.startswith(parent + "/")


def load_allowed_paths(filename):
    """
    Read the administrator's list of file storage directories.

    :return: the absolute paths listed, one per line (blank lines and
        ``#`` comments skipped; relative entries ignored, as Ganeti does);
        an empty list if the file cannot be read.
    """
    try:
        with open(filename) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    result = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#") and os.path.isabs(line):
            result.append(line)
    return result


def check_file_storage_path(path, allowed_file, exact_match_ok=False):
    """
    Refuse a path this node must not use for file storage.

    :param path: the path of an image file (or of a storage directory,
        with C{exact_match_ok}).
    :param allowed_file: the ``file-storage-paths`` file.
    :param exact_match_ok: accept C{path} equal to an allowed directory.
    :return: C{path}.
    :raise FileStoragePathError: with the reason.
    """
    if not isinstance(path, str) or not os.path.isabs(path):
        raise FileStoragePathError(
            "File storage path must be absolute, got %r" % (path,))
    if os.path.normpath(path) != path:
        # A path that normalises differently hides "..", "." or "//";
        # accepting it would let a logical_id climb out of the directory.
        raise FileStoragePathError(
            "File storage path '%s' is not normalised (it should read"
            " '%s')" % (path, os.path.normpath(path)))
    for prefix in FORBIDDEN_PREFIXES:
        if path == prefix or is_below(prefix, path):
            raise FileStoragePathError(
                "Path '%s' uses a forbidden prefix (%s)" % (path, prefix))
    allowed = load_allowed_paths(allowed_file)
    if not allowed:
        raise FileStoragePathError(
            "No paths are valid or path file '%s' was not accessible."
            % (allowed_file,))
    real = os.path.realpath(path)
    for directory in allowed:
        if is_below(directory, path) or (
                exact_match_ok
                and os.path.normpath(directory) == path):
            real_dir = os.path.realpath(directory)
            # A symlink inside the allowed directory could point anywhere.
            if is_below(real_dir, real) or (exact_match_ok
                                            and real == real_dir):
                return path
            raise FileStoragePathError(
                "Path '%s' resolves to '%s', outside the file storage"
                " directory '%s'" % (path, real, directory))
    raise FileStoragePathError(
        "Path '%s' is not acceptable for file storage (allowed: %s)"
        % (path, ", ".join(allowed)))


def run_blocking(reactor, threadpool, function, *args):
    """
    Run a short blocking call in C{threadpool}, or inline without one.

    :return: a Deferred firing with C{function(*args)}.
    """
    if threadpool is None:
        return maybeDeferred(function, *args)
    return deferToThreadPool(reactor, threadpool, function, *args)


def directory_size(path):
    """
    :return: the apparent size (sum of C{st_size}) in bytes of the files
        below C{path}, as Ganeti reports ``used`` for file storage.
    """
    total = 0
    for top, dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(top, name)).st_size
            except OSError:
                # Removed while we walked: it no longer uses space.
                pass
    return total


def describe_storage_dir(path, storage_type=ST_FILE):
    """
    Report the space of a file storage directory (blocking: C{statvfs}
    and a walk of the directory).

    :return: a dict with C{type}, C{name}, C{size}, C{used}, C{free} (MiB)
        and C{allocatable}.
    :raise OSError: if the directory cannot be examined.
    """
    st = os.statvfs(path)
    return {
        "type": storage_type,
        "name": path,
        "size": st.f_frsize * st.f_blocks // MIB,
        "used": directory_size(path) // MIB,
        "free": st.f_frsize * st.f_bavail // MIB,
        "allocatable": True,
    }


def _prepare_new_file(path):
    """
    Create the disk's directory and make sure the image does not exist yet
    (``qemu-img create`` would silently overwrite it).
    """
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    if os.path.lexists(path):
        raise BlockDeviceError("%s: can't create: file exists" % (path,))


def _remove_file(path):
    """
    :return: whether a file was removed (C{False} if there was none).
    """
    try:
        os.remove(path)
    except FileNotFoundError:
        return False
    return True


def _extend_file(path, size):
    with open(path, "r+b") as f:
        f.truncate(size)


def _file_size(path):
    """
    :return: the size of an existing image file in bytes.
    :raise BlockDeviceError: if it is missing or not a regular file.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise BlockDeviceError("%s: No such file" % (path,))
    if not stat.S_ISREG(st.st_mode):
        raise BlockDeviceError("%s: not a regular file" % (path,))
    return st.st_size


def _remove_directory(path):
    """
    Remove an instance's (empty) file storage directory, if present.
    """
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        if e.errno == errno.ENOTEMPTY:
            raise BlockDeviceError(
                "Can't remove file storage directory '%s': it is not"
                " empty" % (path,))
        raise BlockDeviceError("Can't remove file storage directory"
                               " '%s': %s" % (path, e.strerror))


@implementer(IBlockStorage)
class FileStorage:
    """
    Image-file disks of the ``file`` or ``sharedfile`` template.

    :ivar template: C{"file"} or C{"sharedfile"}.
    :ivar storage_dir: the cluster's (shared) file storage directory on
        this node, reported by L{ganeti.storage.registry.NodeStorage}.
    """

    def __init__(self, reactor, paths, template=ST_FILE, threadpool=None,
                 timeout=QEMU_IMG_TIMEOUT, storage_dir=None):
        """
        :param reactor: an L{IReactorProcess} and L{IReactorTime}.
        :param paths: the node's L{ganeti.paths.Paths}.
        :param template: C{"file"} or C{"sharedfile"}.
        :param threadpool: a started L{ThreadPool} for file system calls,
            or C{None} to make them in the reactor thread.
        :param timeout: seconds a ``qemu-img`` run may take.
        :param storage_dir: overrides the directory from C{paths}.
        """
        if template not in (ST_FILE, ST_SHARED_FILE):
            raise ValueError("not a file-based template: %r" % (template,))
        self.template = template
        self._reactor = reactor
        self._threadpool = threadpool
        self._timeout = timeout
        self._allowed_file = allowed_paths_file(paths)
        if storage_dir is None:
            storage_dir = (paths.file_storage_dir if template == ST_FILE
                           else paths.shared_file_storage_dir)
        self.storage_dir = storage_dir

    def _blocking(self, function, *args):
        return run_blocking(self._reactor, self._threadpool, function, *args)

    def _checked_path(self, disk):
        """
        :return: the image path of C{disk}, once it passed every check.
        :raise BlockDeviceError: for a malformed C{logical_id}.
        :raise FileStoragePathError: for a path this node refuses.
        """
        logical_id = disk_dict(disk)["logical_id"]
        if len(logical_id) != 2:
            raise BlockDeviceError("Invalid file logical_id %r: expected"
                                   " [driver, path]" % (logical_id,))
        driver, path = logical_id
        if driver not in FILE_DRIVERS:
            raise BlockDeviceError("Unknown file driver %r (known: %s)"
                                   % (driver, ", ".join(FILE_DRIVERS)))
        return check_file_storage_path(path, self._allowed_file)

    async def _qemu_img(self, path, action, argv):
        result = await run_command(self._reactor, argv,
                                   timeout=self._timeout)
        if result.failed:
            raise BlockDeviceError("%s: can't %s: %s"
                                   % (path, action, result.describe()))

    def create(self, disk, instance_name):
        """
        Create a sparse raw image of C{disk["size"]} MiB, and its directory.

        :return: a Deferred firing with the image path; failing with
            L{BlockDeviceError} if the file exists or ``qemu-img`` fails.
        """
        return Deferred.fromCoroutine(self._create(disk))

    async def _create(self, disk):
        path = self._checked_path(disk)
        size = disk_dict(disk)["size"]
        if not isinstance(size, int) or size <= 0:
            raise BlockDeviceError("%s: invalid size %r" % (path, size))
        await self._blocking(_prepare_new_file, path)
        await self._qemu_img(path, "create",
                             ["qemu-img", "create", "-f", "raw", path,
                              "%dM" % (size,)])
        return path

    def remove(self, disk):
        """
        Delete the image file; a missing file is not an error.

        :return: a Deferred firing with C{None}.
        """
        return Deferred.fromCoroutine(self._remove(disk))

    async def _remove(self, disk):
        path = self._checked_path(disk)
        await self._blocking(_remove_file, path)

    def remove_directory(self, path):
        """
        Remove an instance's file storage directory once its disks are
        gone (Ganeti's ``file_storage_dir_remove``).

        :return: a Deferred firing with C{None}; failing with
            L{BlockDeviceError} if the directory is not empty.
        """
        return Deferred.fromCoroutine(self._remove_directory(path))

    async def _remove_directory(self, path):
        check_file_storage_path(path, self._allowed_file)
        await self._blocking(_remove_directory, path)

    def grow(self, disk, amount_mib):
        """
        Enlarge the image by extending the file (as Ganeti does): unlike
        ``qemu-img resize`` this works while a qemu holds the image, which
        is then told of the new size by the hypervisor.

        :return: a Deferred firing with the new size in MiB.
        """
        return Deferred.fromCoroutine(self._grow(disk, amount_mib))

    async def _grow(self, disk, amount_mib):
        path = self._checked_path(disk)
        if not isinstance(amount_mib, int) or amount_mib < 0:
            raise BlockDeviceError("%s: can't grow by %r MiB"
                                   % (path, amount_mib))
        size = await self._blocking(_file_size, path)
        if amount_mib:
            await self._blocking(_extend_file, path, size + amount_mib * MIB)
        return (await self._blocking(_file_size, path)) // MIB

    def assemble(self, disk):
        """
        A file needs no activation; check that it is there.

        :return: a Deferred firing with the image path.
        """
        return Deferred.fromCoroutine(self._assemble(disk))

    async def _assemble(self, disk):
        path = self._checked_path(disk)
        await self._blocking(_file_size, path)
        return path

    def shutdown(self, disk):
        """
        Nothing to undo for a file.

        :return: a Deferred firing with C{None}.
        """
        return maybeDeferred(self._checked_path, disk).addCallback(
            lambda _: None)

    def get_size(self, disk):
        """
        :return: a Deferred firing with the image's size in MiB.
        """
        return Deferred.fromCoroutine(self._get_size(disk))

    async def _get_size(self, disk):
        path = self._checked_path(disk)
        return (await self._blocking(_file_size, path)) // MIB

    def exists(self, disk):
        """
        :return: a Deferred firing with whether the image file exists.
        """
        return Deferred.fromCoroutine(self._exists(disk))

    async def _exists(self, disk):
        path = self._checked_path(disk)
        return await self._blocking(os.path.isfile, path)
