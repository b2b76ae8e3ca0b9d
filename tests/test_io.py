# -*- test-case-name: tests.test_io -*-
"""
Tests for L{ganeti.utils.io}.
"""

import errno
import os
import stat

from twisted.trial.unittest import SynchronousTestCase

from ganeti.utils.io import atomic_write, ensure_dirs, read_file, remove_file


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class AtomicWriteTests(SynchronousTestCase):
    """
    Tests for L{atomic_write}.
    """

    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        os.mkdir(self.directory)
        self.path = os.path.join(self.directory, "config.data")
        # A strict umask shows that the mode is set exactly, not masked.
        self.addCleanup(os.umask, os.umask(0o077))

    def test_creates_with_mode(self):
        """
        A new file gets the content and exactly the mode asked for.
        """
        atomic_write(self.path, b"serial 1\n", mode=0o640)
        self.assertEqual(read_file(self.path), b"serial 1\n")
        self.assertEqual(_mode(self.path), 0o640)

    def test_default_mode(self):
        """
        By default the file is readable by all, writable by its owner.
        """
        atomic_write(self.path, b"x")
        self.assertEqual(_mode(self.path), 0o644)

    def test_replaces_without_touching_old_file(self):
        """
        The content is replaced by a new file: a reader that opened the old
        one still reads the old content, never a mix; no temporary file is
        left behind.
        """
        atomic_write(self.path, b"old content")
        with open(self.path, "rb") as reader:
            atomic_write(self.path, b"new", mode=0o400)
            self.assertEqual(reader.read(), b"old content")
        self.assertEqual(read_file(self.path), b"new")
        self.assertEqual(_mode(self.path), 0o400)
        self.assertEqual(os.listdir(self.directory), ["config.data"])

    def test_bytes_like_data(self):
        """
        Any bytes-like object is accepted.
        """
        atomic_write(self.path, bytearray(b"ab") + memoryview(b"cd"))
        self.assertEqual(read_file(self.path), b"abcd")

    def write_old_file(self):
        """
        Create the file with its old content, C{b"old"}.
        """
        atomic_write(self.path, b"old")

    def assert_untouched_after(self, exception, data=b"new"):
        """
        Check that a write of C{data} over the old file raises
        C{exception}, keeps the old content and leaves no temporary file.
        """
        self.assertRaises(exception, atomic_write, self.path, data)
        self.assertEqual(read_file(self.path), b"old")
        self.assertEqual(os.listdir(self.directory), ["config.data"])

    def test_wrong_data_type(self):
        """
        Text instead of bytes fails with L{TypeError}; nothing changes.
        """
        self.write_old_file()
        self.assert_untouched_after(TypeError, data="text")

    def test_fsync_failure(self):
        """
        A disk error while flushing fails the write; nothing changes.
        """
        def failing_fsync(fd):
            raise OSError(errno.EIO, "I/O error")

        self.write_old_file()
        self.patch(os, "fsync", failing_fsync)
        self.assert_untouched_after(OSError)

    def test_rename_failure(self):
        """
        If the target cannot be replaced (it is a directory), the temporary
        file is removed.
        """
        os.mkdir(self.path)
        self.assertRaises(OSError, atomic_write, self.path, b"data")
        self.assertEqual(os.listdir(self.directory), ["config.data"])
        self.assertTrue(os.path.isdir(self.path))

    def test_fsync_flag(self):
        """
        With C{fsync} the data and the directory are flushed; without it,
        nothing is.
        """
        flushed = []
        real_fsync = os.fsync

        def recording_fsync(fd):
            flushed.append(stat.S_ISDIR(os.fstat(fd).st_mode))
            real_fsync(fd)

        self.patch(os, "fsync", recording_fsync)
        atomic_write(self.path, b"a")
        self.assertEqual(flushed, [False, True])
        del flushed[:]
        atomic_write(self.path, b"b", fsync=False)
        self.assertEqual(flushed, [])


class RemoveFileTests(SynchronousTestCase):
    """
    Tests for L{remove_file}.
    """

    def test_removes(self):
        """
        An existing file is removed.
        """
        path = self.mktemp()
        atomic_write(path, b"x")
        remove_file(path)
        self.assertFalse(os.path.exists(path))

    def test_missing_is_fine(self):
        """
        A file that does not exist is not an error.
        """
        remove_file(self.mktemp())

    def test_other_errors_raised(self):
        """
        Errors other than a missing file are raised.
        """
        path = self.mktemp()
        os.mkdir(path)
        self.assertRaises(OSError, remove_file, path)


class ReadFileTests(SynchronousTestCase):
    """
    Tests for L{read_file}.
    """

    def test_missing(self):
        """
        A missing file raises L{FileNotFoundError}.
        """
        self.assertRaises(FileNotFoundError, read_file, self.mktemp())


class EnsureDirsTests(SynchronousTestCase):
    """
    Tests for L{ensure_dirs}.
    """

    def setUp(self):
        self.base = os.path.abspath(self.mktemp())
        self.addCleanup(os.umask, os.umask(0o077))

    def test_creates_in_order_with_mode(self):
        """
        Directories are created in the order given, parents first, with
        exactly their modes despite the umask.
        """
        child = os.path.join(self.base, "queue")
        ensure_dirs([(self.base, 0o755), (child, 0o750)])
        self.assertEqual(_mode(self.base), 0o755)
        self.assertEqual(_mode(child), 0o750)

    def test_fixes_existing_mode(self):
        """
        An existing directory keeps its content and gets the mode asked for.
        """
        os.mkdir(self.base, 0o777)
        atomic_write(os.path.join(self.base, "keep"), b"x")
        ensure_dirs([(self.base, 0o700)])
        self.assertEqual(_mode(self.base), 0o700)
        self.assertEqual(os.listdir(self.base), ["keep"])

    def test_file_in_the_way(self):
        """
        A file where a directory should be is an error.
        """
        atomic_write(self.base, b"x")
        self.assertRaises(NotADirectoryError, ensure_dirs,
                          [(self.base, 0o700)])

    def test_missing_parent(self):
        """
        Parents are not created implicitly.
        """
        self.assertRaises(FileNotFoundError, ensure_dirs,
                          [(os.path.join(self.base, "child"), 0o700)])
