"""
Tests for L{ganeti.node.diskstream}: whole disks copied between two
"nodes" over real TLS on the loopback, into image files and (as root)
into a loop block device, and the receiver's answers to broken streams.
"""

import os
import shutil
import subprocess

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import SSL4ClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase

from ganeti import crypto, errors
from ganeti.node import diskstream
from ganeti.protocols import tls
from tests.test_backup import cluster_pem

MIB = 1024 * 1024


def write_disk(path, layout):
    """
    Write an image from C{layout}: ``(kind, bytes)`` pairs, kind ``r``
    random data, ``z`` zeros, ``t`` compressible text.

    :return: the image's contents.
    """
    parts = []
    for kind, size in layout:
        if kind == "r":
            parts.append(os.urandom(size))
        elif kind == "z":
            parts.append(bytes(size))
        else:
            parts.append((b"ganeti %d\n" % len(parts) * size)[:size])
    data = b"".join(parts)
    with open(path, "wb") as f:
        f.write(data)
    return data


def make_target(path, size, fill=b"\xff"):
    """A target disk that holds garbage (as a fresh volume may)."""
    with open(path, "wb") as f:
        f.write(fill * size)


class _RawSender(Protocol):
    """Sends given bytes over TLS, then reports the receiver's answer."""

    def __init__(self, data):
        self.data = data
        self.answer = b""
        self.done = Deferred()

    def connectionMade(self):
        self.transport.write(self.data)

    def dataReceived(self, data):
        self.answer += data

    def connectionLost(self, reason):
        self.done.callback(self.answer)


class DiskStreamTests(TestCase):
    """A disk from one path to another, through the real listener."""

    #: A layout with zeros between data, blocks of mixed chunks, and an
    #: end that is not a whole block.
    LAYOUT = [("r", MIB), ("z", 3 * MIB), ("r", 100000),
              ("z", 5 * MIB - 100000), ("r", 70000), ("z", 50000),
              ("r", 12345)]

    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.source = os.path.join(self.directory, "source")
        self.target = os.path.join(self.directory, "target")

    def receive(self, target=None):
        """
        Listen for a disk into C{target}; the test ends only once the
        receiving side is over too.

        :return: (Deferred) the port.
        """
        receive = diskstream.DiskReceive(reactor, cluster_pem(), "127.0.0.1",
                                         target or self.target)
        d = receive.listen()

        def wait_for_end():
            receive.stop()
            return receive.ended
        d.addCallback(lambda port: self.addCleanup(wait_for_end) or port)
        return d

    @inlineCallbacks
    def copy(self, compress="none"):
        """:return: (Deferred) the sender's totals."""
        port = yield self.receive()
        send = diskstream.DiskSend(reactor, cluster_pem(), "127.0.0.1",
                                   port, self.source, compress)
        totals = yield send.run()
        return totals

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    @inlineCallbacks
    def test_file_byte_for_byte(self):
        """
        The target holds the source's bytes, garbage where the source has
        zeros included; zero blocks were not sent and stay holes.
        """
        data = write_disk(self.source, self.LAYOUT)
        make_target(self.target, len(data))
        totals = yield self.copy()
        self.assertEqual(self.read(self.target), data)
        self.assertEqual(totals["total"], len(data))
        self.assertEqual(totals["done"], len(data))
        self.assertEqual(totals["data"] + totals["zero"], len(data))
        # Data blocks are whole 64 KiB blocks but for the end.
        self.assertLess(totals["data"], 2 * MIB)
        self.assertGreater(totals["zero"], 7 * MIB)
        self.assertLess(totals["wire"], totals["data"] + 4096)
        self.assertLess(os.stat(self.target).st_blocks * 512, 3 * MIB)

    @inlineCallbacks
    def test_compressed(self):
        """With gzip the data travels compressed and arrives the same."""
        data = write_disk(self.source, [("t", 3 * MIB), ("z", MIB),
                                        ("r", MIB)])
        make_target(self.target, len(data))
        totals = yield self.copy("gzip-fast")
        self.assertEqual(self.read(self.target), data)
        # Text shrinks, random data is sent as it is.
        self.assertLess(totals["wire"], 2 * MIB)
        self.assertGreater(totals["wire"], MIB)

    @inlineCallbacks
    def test_empty_disk(self):
        """A disk of zeros sends no data at all."""
        data = write_disk(self.source, [("z", 9 * MIB)])
        make_target(self.target, len(data))
        totals = yield self.copy()
        self.assertEqual(self.read(self.target), data)
        self.assertEqual(totals["data"], 0)

    @inlineCallbacks
    def test_bigger_target(self):
        """A target larger than the source keeps its size, holes after."""
        data = write_disk(self.source, [("r", MIB)])
        make_target(self.target, 2 * MIB)
        yield self.copy()
        self.assertEqual(self.read(self.target), data + bytes(MIB))

    @inlineCallbacks
    def test_target_too_small(self):
        """A target smaller than the source is refused by the receiver."""
        write_disk(self.source, [("r", 2 * MIB)])
        make_target(self.target, MIB)
        error = yield self.assertFailure(self.copy(), errors.OpExecError)
        self.assertIn("is smaller than the disk sent", str(error))

    @inlineCallbacks
    def test_missing_target(self):
        """Nothing listens for a target that does not exist."""
        d = diskstream.receive_disk(reactor, cluster_pem(), "127.0.0.1",
                                    self.target)
        error = yield self.assertFailure(d, errors.OpExecError)
        self.assertIn("does not exist", str(error))

    @inlineCallbacks
    def test_unreadable_source(self):
        """A source that cannot be opened fails before connecting."""
        send = diskstream.DiskSend(reactor, cluster_pem(), "127.0.0.1", 1,
                                   self.source)
        error = yield self.assertFailure(send.run(), errors.OpExecError)
        self.assertIn("Cannot read %s" % self.source, str(error))

    def test_unknown_compression(self):
        """Only the zlib modes exist."""
        self.assertRaises(errors.OpExecError, diskstream.DiskSend, reactor,
                          b"", "127.0.0.1", 1, self.source, "lzop")

    @inlineCallbacks
    def test_foreign_certificate_refused(self):
        """
        A sender without the cluster certificate writes nothing, and the
        port stays for the cluster's sender.
        """
        data = write_disk(self.source, [("r", MIB)])
        make_target(self.target, MIB)
        port = yield self.receive()
        other = crypto.generate_self_signed_pem("cluster1.example.com")
        send = diskstream.DiskSend(reactor, other, "127.0.0.1", port,
                                   self.source)
        yield self.assertFailure(send.run(), errors.OpExecError)
        self.assertEqual(self.read(self.target), b"\xff" * MIB)
        send = diskstream.DiskSend(reactor, cluster_pem(), "127.0.0.1", port,
                                   self.source)
        yield send.run()
        self.assertEqual(self.read(self.target), data)

    @inlineCallbacks
    def raw_answer(self, stream, size=MIB):
        """:return: (Deferred) the receiver's answer to C{stream}."""
        make_target(self.target, size)
        port = yield self.receive()
        sender = _RawSender(stream)
        endpoint = SSL4ClientEndpoint(reactor, "127.0.0.1", port,
                                      tls.client_options(cluster_pem()))
        yield endpoint.connect(Factory.forProtocol(lambda: sender))
        answer = yield sender.done
        return answer.decode()

    def record(self, kind, offset, length, payload=b""):
        return diskstream.RECORD.pack(kind, offset, length,
                                      len(payload)) + payload

    @inlineCallbacks
    def test_gap_refused(self):
        """Records must cover the disk without a gap."""
        stream = (b"GANETI-DISK 1 1048576\n"
                  + self.record(diskstream.ZERO, 0, 4096)
                  + self.record(diskstream.DATA, 8192, 4, b"abcd"))
        answer = yield self.raw_answer(stream)
        self.assertEqual(answer, "ERR record at byte 8192, expected one at"
                                 " byte 4096\n")

    @inlineCallbacks
    def test_short_stream_refused(self):
        """An end before the last byte is refused."""
        stream = (b"GANETI-DISK 1 1048576\n"
                  + self.record(diskstream.ZERO, 0, 4096)
                  + self.record(diskstream.END, 4096, 0))
        answer = yield self.raw_answer(stream)
        self.assertEqual(answer, "ERR the disk ended at byte 4096 of"
                                 " 1048576\n")

    @inlineCallbacks
    def test_bad_header_refused(self):
        """Another format or version is refused."""
        answer = yield self.raw_answer(b"GANETI-DISK 2 10\n")
        self.assertEqual(answer, "ERR unknown disk stream version 2\n")

    @inlineCallbacks
    def test_corrupt_compression_refused(self):
        """A compressed record that does not inflate to its length fails."""
        stream = (b"GANETI-DISK 1 4096\n"
                  + self.record(diskstream.COMPRESSED, 0, 4096, b"junk"))
        answer = yield self.raw_answer(stream, size=4096)
        self.assertTrue(answer.startswith("ERR corrupt compressed record at"
                                          " byte 0"), answer)

    @inlineCallbacks
    def test_raw_stream(self):
        """
        A hand-made stream: data written where it says, zeros zeroed
        (here, holes), and the digest of the records in the answer.
        """
        import hashlib
        stream = (self.record(diskstream.DATA, 0, 4, b"abcd")
                  + self.record(diskstream.ZERO, 4, 4092)
                  + self.record(diskstream.END, 4096, 0))
        # The digest covers headers without payload lengths, and the data.
        digest = hashlib.sha256(
            self.record(diskstream.DATA, 0, 4) + b"abcd"
            + self.record(diskstream.ZERO, 4, 4092)
            + self.record(diskstream.END, 4096, 0))
        answer = yield self.raw_answer(b"GANETI-DISK 1 4096\n" + stream,
                                       size=4096)
        self.assertEqual(answer, "OK %s\n" % digest.hexdigest())
        self.assertEqual(self.read(self.target), b"abcd" + bytes(4092))


class CipherTests(TestCase):
    """The receiver picks the cipher the stream goes fastest with."""

    def test_cpu_flags(self):
        """The ``aes`` flag (x86 ``flags``, ARM ``Features``) is found."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        path = os.path.join(directory, "cpuinfo")
        for text, expected in (("flags\t\t: fpu sse2 aes avx\n", True),
                               ("flags\t\t: fpu sse2 pni\n", False),
                               ("Features\t: fp asimd aes pmull\n", True),
                               ("processor\t: 0\n", True)):
            with open(path, "w") as f:
                f.write(text)
            self.assertEqual(diskstream.cpu_has_aes(path), expected)
        self.assertTrue(diskstream.cpu_has_aes(path + ".missing"))

    @inlineCallbacks
    def check_cipher(self, chacha_first):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        source = os.path.join(directory, "source")
        target = os.path.join(directory, "target")
        write_disk(source, [("r", 65536)])
        make_target(target, 65536)
        receive = diskstream.DiskReceive(reactor, cluster_pem(), "127.0.0.1",
                                         target, chacha_first=chacha_first)
        port = yield receive.listen()
        yield diskstream.DiskSend(reactor, cluster_pem(), "127.0.0.1", port,
                                  source).run()
        yield receive.ended
        return receive.cipher

    @inlineCallbacks
    def test_chacha_first(self):
        """Without AES instructions, ChaCha20-Poly1305."""
        cipher = yield self.check_cipher(True)
        self.assertEqual(cipher, "TLS_CHACHA20_POLY1305_SHA256")

    @inlineCallbacks
    def test_aes(self):
        """With them, OpenSSL's usual AES-GCM."""
        cipher = yield self.check_cipher(False)
        self.assertIn("AES", cipher)


class BlockDeviceTests(TestCase):
    """
    A disk copied into a block device that holds garbage, as a new
    logical volume does: the zero regions are zeroed (``BLKZEROOUT``).
    """

    def setUp(self):
        if os.geteuid() != 0 or not shutil.which("losetup"):
            raise self.skipTest("needs root and losetup for a loop device")
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.backing = os.path.join(self.directory, "backing")
        make_target(self.backing, 8 * MIB)
        result = subprocess.run(["losetup", "--find", "--show", self.backing],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise self.skipTest("no loop device: %s" % result.stderr.strip())
        self.device = result.stdout.strip()
        self.addCleanup(subprocess.run, ["losetup", "-d", self.device])

    @inlineCallbacks
    def test_zeros_are_written(self):
        """Byte for byte, the zeros included, and flushed to the backing."""
        source = os.path.join(self.directory, "source")
        data = write_disk(source, [("z", 2 * MIB), ("r", 65536),
                                   ("z", 6 * MIB - 65536)])
        receive = diskstream.DiskReceive(reactor, cluster_pem(), "127.0.0.1",
                                         self.device)
        port = yield receive.listen()
        send = diskstream.DiskSend(reactor, cluster_pem(), "127.0.0.1", port,
                                   source)
        totals = yield send.run()
        yield receive.ended
        self.assertEqual(totals["data"], 65536)
        with open(self.device, "rb") as f:
            self.assertEqual(f.read(), data)
        with open(self.backing, "rb") as f:
            self.assertEqual(f.read(), data)
