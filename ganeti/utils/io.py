# -*- test-case-name: tests.test_io -*-
"""
File helpers for state that must survive crashes.

The cluster configuration, certificates and job files are read by other
processes and after reboots, so a file must never be seen half written:
L{atomic_write} writes a temporary file next to the target and renames it
over the target, which POSIX makes atomic.  A reader sees the old file or the
new one, and a crash leaves the old one (plus, at worst, a stray temporary
file named C{.<name>.*.tmp}).

These calls block on the disk.  They are meant for small files; reactor code
writing large ones should move them to a thread pool.
"""

import os
import stat
import tempfile


def sync_directory(directory):
    """
    Flush a directory entry to disk, so that a rename in it survives a
    power loss and not just a process crash.
    """
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, data, mode=0o644, fsync=True, flush_directory=None):
    """
    Replace the content of C{path} with C{data}, all at once.

    :param path: the file to create or replace.
    :param data: the new content: L{bytes} or another bytes-like object.
    :param mode: the permission bits of the new file.  They are set exactly,
        whatever the umask, and before any data is written, so a secret
        is never readable by others even briefly.
    :param fsync: flush the data and then the directory entry to disk
        before returning.  Without it a power loss (not a crash) may leave
        an empty or old file.
    :param flush_directory: also flush the directory entry (default: as
        C{fsync}).  Replacing an existing file without it is still atomic
        (after a power loss the old or the new complete file is there), so
        frequent rewrites of one file may skip the second flush.
    :raise TypeError: if C{data} is not bytes-like (e.g. L{str}); the old
        file is left untouched.
    :raise OSError: if writing or renaming fails; the old file is left
        untouched and the temporary file is removed.
    """
    directory, name = os.path.split(os.path.abspath(os.fspath(path)))
    # The temporary file must be in the same directory: rename() is only
    # atomic within one file system.
    fd, temporary = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp",
                                     dir=directory)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    if fsync if flush_directory is None else flush_directory:
        sync_directory(directory)


def read_file(path):
    """
    :return: the whole content of C{path} as L{bytes}.
    :raise OSError: if it cannot be read (C{FileNotFoundError} if missing).
    """
    with open(path, "rb") as f:
        return f.read()


def remove_file(path):
    """
    Remove a file if it exists.

    Removal is the goal, so a file that is already gone is not an error;
    every other failure is.

    :raise OSError: if C{path} exists but cannot be removed (for instance
        because it is a directory).
    """
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def ensure_dirs(dirs):
    """
    Make sure directories exist with the given permissions.

    Parents are not created implicitly: list them first.  Existing
    directories get their mode corrected, as an operator may have changed it.

    :param dirs: an iterable of C{(path, mode)} pairs, handled in order.
    :raise NotADirectoryError: if a path exists but is not a directory.
    :raise OSError: if a directory cannot be created or changed.
    """
    for path, mode in dirs:
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            pass
        if not stat.S_ISDIR(os.stat(path).st_mode):
            raise NotADirectoryError(
                "%s exists but is not a directory" % (path,))
        # mkdir() applies the umask, and an existing directory may have any
        # mode at all; chmod() sets exactly what was asked.
        os.chmod(path, mode)
