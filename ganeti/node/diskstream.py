# -*- test-case-name: tests.test_diskstream -*-
"""
Copying a whole disk from one node to another (``gnt-instance move``),
outside the node RPC, as L{ganeti.node.transfer} copies files.

The master asks the receiving node to listen once, on an ephemeral port
with the cluster certificate, for the disk it just created there
(L{receive_disk}), then asks the sending node to connect and stream its
disk (L{DiskSend}).  Both ends demand the cluster certificate.

The sender reads its device in threads, a batch of L{BATCH} bytes at a
time, and looks at each L{BLOCK} of it: blocks of zeros are not sent.
On the wire, after the line ``GANETI-DISK 1 <size in bytes>``, come
records of a 17-byte header (L{RECORD}: kind, offset, length, payload
length) and a payload:

  - ``D``: C{length} bytes of data to write at C{offset} (at most
    L{CHUNK});
  - ``C``: the same data compressed with zlib (``--compress gzip``...),
    sent only where it came out smaller;
  - ``Z``: C{length} bytes of zeros at C{offset}, no payload.  A
    regular-file target is emptied to holes before the first record
    (it was just created, sparse), so these need no write there; a block
    device (an LV is *not* zero when created: it holds whatever its
    extents held) gets them zeroed with ``BLKZEROOUT``, or written
    zeros where the kernel cannot;
  - ``E``: the end, at offset C{size}.

Records follow each other without gap or overlap, so the receiver knows
the whole disk was covered.  Both ends keep a SHA-256 of the records'
headers and uncompressed data; once everything is written and synced,
the receiver answers ``OK <digest>`` (or ``ERR <message>``) and the
sender compares it with its own.

Flow control: the sender is a push producer on its connection, reading
the next batch while the previous one is being sent; the receiver pauses
its connection while more than L{HIGH_WATER} bytes wait for its writer
thread.  No file I/O happens in the reactor thread.
"""

import errno
import fcntl
import hashlib
import os
import stat
import struct
import zlib

from twisted.internet import threads
from twisted.internet.defer import Deferred, fail
from twisted.internet.endpoints import SSL4ClientEndpoint, SSL4ServerEndpoint
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from zope.interface import implementer

from ganeti import errors
from ganeti.node.transfer import OneShotPort
from ganeti.protocols import tls

_log = Logger()

#: The first line's word and format version.
MAGIC = b"GANETI-DISK"
VERSION = 1

#: Kind (1 byte), offset (8), length (4), payload length (4).
RECORD = struct.Struct(">cQII")
DATA, COMPRESSED, ZERO, END = b"D", b"C", b"Z", b"E"

#: The most data one record carries.
CHUNK = 1024 * 1024
#: The unit of zero detection: a block of zeros is not sent.
BLOCK = 64 * 1024
#: What the sender reads in one thread call.
BATCH = 4 * CHUNK
#: Bytes waiting for the receiver's writer before it stops reading.
HIGH_WATER = 16 * CHUNK
#: ... and below which it reads again.
LOW_WATER = 4 * CHUNK

#: Seconds a receiver waits for its sender before it stops listening.
ACCEPT_TIMEOUT = 300

#: Compression modes (Ganeti's names) -> zlib level; the default
#: compression tools of a Ganeti 3.0 cluster are the three ``gzip`` ones.
COMPRESSION_LEVELS = {"none": None, "gzip": 6, "gzip-fast": 1,
                      "gzip-slow": 9}

#: ``_IO(0x12, 127)``: zero a byte range of a block device.
BLKZEROOUT = 0x127F

#: TLS 1.3 suites with ChaCha20-Poly1305 first.  Without AES
#: instructions (qemu's default emulated CPU, for one) AES-GCM runs about
#: ten times slower than ChaCha20 (17 against 150 MiB/s measured in a VM
#: bed guest) and would bound the copy.
_CHACHA_FIRST = (b"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
                 b"TLS_AES_256_GCM_SHA384")
#: OpenSSL's C{SSL_OP_PRIORITIZE_CHACHA} (not exported by pyOpenSSL): a
#: client that lists ChaCha20 first gets it even from a server that
#: prefers AES.
_OP_PRIORITIZE_CHACHA = 0x00200000

_MAX_HEADER = 64
_AES = []
_ZEROS = bytes(CHUNK)
_ZERO_BLOCK = bytes(BLOCK)


class StreamError(Exception):
    """The peer broke the wire format."""


def cpu_has_aes(cpuinfo="/proc/cpuinfo"):
    """
    :return: whether this machine's CPU has AES instructions (the ``aes``
        flag of x86 and ARM); True when it cannot tell.
    """
    try:
        with open(cpuinfo) as f:
            text = f.read()
    except OSError:
        return True
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return "aes" in value.split()
    return True


def stream_server_options(pem, chacha_first=None):
    """
    :param pem: the cluster certificate and key (bytes).
    :param chacha_first: prefer ChaCha20-Poly1305 to AES-GCM; by default
        when this CPU has no AES instructions (the receiver's choice
        decides, as the server's order does; the nodes of a cluster are
        alike most of the time).
    :return: the node service's TLS options, with the cipher order the
        disk stream goes fastest with.
    """
    if chacha_first is None:
        if not _AES:
            _AES.append(cpu_has_aes())
        chacha_first = not _AES[0]
    options = tls.server_options(pem)
    context = options.getContext()
    if chacha_first:
        context.set_tls13_ciphersuites(_CHACHA_FIRST)
    else:
        context.set_options(_OP_PRIORITIZE_CHACHA)
    return options


def _digest_header(kind, offset, length):
    # Compressed or not, the digest covers the data as written.
    return RECORD.pack(DATA if kind == COMPRESSED else kind, offset, length, 0)


# --- sending ------------------------------------------------------------------

class _Encoder:
    """
    Turns the blocks of one batch into records: runs of zero blocks into
    one ``Z`` record, data blocks into ``D``/``C`` records of at most
    L{CHUNK} bytes (in a thread).
    """

    def __init__(self, level, digest):
        self.level = level
        self.digest = digest
        self.wire = []
        self.data_bytes = 0
        self.zero_bytes = 0
        self._zero_at, self._zero_length = None, 0
        self._data_at, self._data, self._data_length = None, [], 0

    def add(self, offset, block, zero):
        if zero:
            self._flush_data()
            if self._zero_at is None:
                self._zero_at = offset
            self._zero_length += len(block)
        else:
            self._flush_zero()
            if self._data_at is None:
                self._data_at = offset
            self._data.append(block)
            self._data_length += len(block)
            if self._data_length >= CHUNK:
                self._flush_data()

    def finish(self):
        """:return: the batch's records, as bytes to send in order."""
        self._flush_data()
        self._flush_zero()
        return self.wire

    def _flush_zero(self):
        if self._zero_at is None:
            return
        self.digest.update(_digest_header(ZERO, self._zero_at,
                                          self._zero_length))
        self.wire.append(RECORD.pack(ZERO, self._zero_at, self._zero_length,
                                     0))
        self.zero_bytes += self._zero_length
        self._zero_at, self._zero_length = None, 0

    def _flush_data(self):
        if self._data_at is None:
            return
        raw = b"".join(self._data)
        self.digest.update(_digest_header(DATA, self._data_at, len(raw)))
        self.digest.update(raw)
        kind, payload = DATA, raw
        if self.level is not None:
            packed = zlib.compress(raw, self.level)
            if len(packed) < len(raw):
                kind, payload = COMPRESSED, packed
        self.wire.append(RECORD.pack(kind, self._data_at, len(raw),
                                     len(payload)))
        self.wire.append(payload)
        self.data_bytes += len(raw)
        self._data_at, self._data, self._data_length = None, [], 0


def _read_batch(fd, offset, size, level, digest):
    """
    Read the batch at C{offset} and encode it (in a thread).

    :return: ``(records, data bytes, zero bytes, next offset)``.
    :raise OSError: if the device cannot be read or ends early.
    """
    encoder = _Encoder(level, digest)
    stop = min(size, offset + BATCH)
    position = offset
    while position < stop:
        wanted = min(CHUNK, stop - position)
        chunk = os.pread(fd, wanted, position)
        if len(chunk) != wanted:
            raise OSError(errno.EIO, "short read at byte %d (%d of %d bytes)"
                          % (position, len(chunk), wanted))
        if chunk == _ZEROS[:wanted]:
            encoder.add(position, chunk, True)
        else:
            for start in range(0, wanted, BLOCK):
                block = chunk[start:start + BLOCK]
                zeros = (_ZERO_BLOCK if len(block) == BLOCK
                         else bytes(len(block)))
                encoder.add(position + start, block, block == zeros)
        position += wanted
    wire = encoder.finish()
    return wire, encoder.data_bytes, encoder.zero_bytes, position


def _open_source(path):
    """:return: ``(fd, size in bytes)`` of the disk to send (in a thread)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
    except OSError:
        os.close(fd)
        raise
    return fd, size


@implementer(IPushProducer)
class _Sender(Protocol):
    """Streams one disk (see the module docstring), then awaits the verdict."""

    def __init__(self, send):
        self._send = send
        self._answer = b""
        self._paused = False
        self._reading = False
        self._ready = None
        self._position = 0
        self._ended = False
        self._stopped = False
        self.done = Deferred()
        self._settled = False

    def connectionMade(self):
        send = self._send
        send.started = send.reactor.seconds()
        self.transport.write(b"%s %d %d\n" % (MAGIC, VERSION, send.size))
        self.transport.registerProducer(self, True)
        self._pump()

    # IPushProducer: the transport stops us while its buffer is full.
    def pauseProducing(self):
        self._paused = True

    def resumeProducing(self):
        self._paused = False
        self._pump()

    def stopProducing(self):
        self._stopped = True

    def _pump(self):
        send = self._send
        if self._stopped or self._ended:
            return
        if self._ready is not None and not self._paused:
            wire, data, zero, position = self._ready
            self._ready = None
            self.transport.writeSequence(wire)
            send.wire_bytes += sum(len(part) for part in wire)
            send.data_bytes += data
            send.zero_bytes += zero
            send.done_bytes = position
        if self._ready is None and not self._reading:
            if self._position < send.size:
                # Read the next batch while this one is on its way.
                self._reading = True
                d = threads.deferToThreadPool(
                    send.reactor, send.reactor.getThreadPool(), _read_batch,
                    send.fd, self._position, send.size, send.level,
                    send.digest)
                d.addCallbacks(self._read, self._unreadable)
            elif send.done_bytes == send.size:
                self._ended = True
                end = RECORD.pack(END, send.size, 0, 0)
                send.digest.update(end)
                self.transport.write(end)
                send.wire_bytes += len(end)
                self.transport.unregisterProducer()

    def _read(self, batch):
        self._reading = False
        self._ready = batch
        self._position = batch[3]
        self._pump()

    def _unreadable(self, failure):
        self._reading = False
        self._stopped = True
        self._settle(errors.OpExecError("Cannot read %s: %s"
                                        % (self._send.path,
                                           failure.getErrorMessage())))
        self.transport.abortConnection()

    def dataReceived(self, data):
        self._answer += data

    def connectionLost(self, reason):
        self._stopped = True
        line = self._answer.split(b"\n", 1)[0].decode("utf-8", "replace")
        if line.startswith("OK "):
            if not self._ended or line[3:] != self._send.digest.hexdigest():
                self._settle(errors.OpExecError(
                    "The receiver got different data than was sent"))
            else:
                self._settle(None)
        elif line.startswith("ERR "):
            self._settle(errors.OpExecError("The receiver failed: %s"
                                            % line[4:]))
        else:
            self._settle(errors.OpExecError(
                "The receiver closed the connection without an answer (%s)"
                % reason.getErrorMessage()))

    def _settle(self, error):
        if self._settled:
            return
        self._settled = True
        if error is None:
            self.done.callback(None)
        else:
            self.done.errback(error)


class DiskSend:
    """
    Sends one disk to a node listening after L{receive_disk}.

    :ivar size: the disk's size in bytes (once L{run} opened it).
    :ivar done_bytes: how far the disk has been handed to the connection.
    :ivar data_bytes: of that, the bytes sent as data.
    :ivar zero_bytes: ... and those skipped as zeros.
    :ivar wire_bytes: bytes written to the connection (headers included,
        before TLS).
    """

    def __init__(self, reactor, pem, host, port, path, compress="none",
                 connect_timeout=30):
        """
        :param pem: the cluster certificate and key (bytes).
        :param path: the disk's device or image file on this node.
        :param compress: a key of L{COMPRESSION_LEVELS}.
        """
        if compress not in COMPRESSION_LEVELS:
            raise errors.OpExecError("Unknown compression mode %r (known: %s)"
                                     % (compress, ", ".join(
                                         sorted(COMPRESSION_LEVELS))))
        self.reactor = reactor
        self.path = path
        self.level = COMPRESSION_LEVELS[compress]
        self.digest = hashlib.sha256()
        self.fd = None
        self.size = None
        self.started = None
        self.done_bytes = self.data_bytes = self.zero_bytes = 0
        self.wire_bytes = 0
        self._pem = pem
        self._host, self._port = host, port
        self._connect_timeout = connect_timeout

    def _elapsed(self):
        if self.started is None:
            return 0.0
        return max(0.0, self.reactor.seconds() - self.started)

    def progress(self):
        """
        :return: ``{"done", "total", "data", "zero", "wire"}`` in bytes and
            ``"seconds"`` since the connection was made.
        """
        return {"done": self.done_bytes, "total": self.size or 0,
                "data": self.data_bytes, "zero": self.zero_bytes,
                "wire": self.wire_bytes, "seconds": self._elapsed()}

    def run(self):
        """
        Open the disk, connect and stream it.

        :return: a Deferred firing with L{progress} once the receiver has
            written and synced all of it; failing with L{OpExecError}.
        """
        pool = self.reactor.getThreadPool()
        d = threads.deferToThreadPool(self.reactor, pool, _open_source,
                                      self.path)

        def unreadable(failure):
            failure.trap(OSError)
            raise errors.OpExecError("Cannot read %s: %s"
                                     % (self.path, failure.getErrorMessage()))

        def opened(result):
            self.fd, self.size = result
            sender = _Sender(self)
            endpoint = SSL4ClientEndpoint(
                self.reactor, self._host, self._port,
                tls.client_options(self._pem), timeout=self._connect_timeout)

            def not_connected(failure):
                raise errors.OpExecError(
                    "Cannot connect to %s:%s to send %s: %s"
                    % (self._host, self._port, self.path,
                       failure.getErrorMessage()))
            connected = endpoint.connect(Factory.forProtocol(lambda: sender))
            return connected.addCallbacks(lambda _: sender.done, not_connected)

        def close(result):
            if self.fd is not None:
                fd, self.fd = self.fd, None
                closed = threads.deferToThreadPool(self.reactor, pool,
                                                   os.close, fd)
                return closed.addBoth(lambda _: result)
            return result
        d.addCallbacks(opened, unreadable)
        d.addBoth(close)
        return d.addCallback(lambda _: self.progress())


# --- receiving ----------------------------------------------------------------

class _Target:
    """The disk being written (its methods run in the writer thread)."""

    def __init__(self, path, size):
        self.path = path
        self.size = size
        self.fd = None
        self.is_file = False

    def open(self):
        if self.fd is not None:
            return
        fd = os.open(self.path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            mode = os.fstat(fd).st_mode
            capacity = os.lseek(fd, 0, os.SEEK_END)
            if capacity < self.size:
                raise StreamError("%s is smaller than the disk sent (%d < %d"
                                  " bytes)" % (self.path, capacity, self.size))
            if stat.S_ISREG(mode):
                # Freshly made for this copy: all holes, so reading as
                # zeros wherever nothing is written.
                os.ftruncate(fd, 0)
                os.ftruncate(fd, capacity)
                self.is_file = True
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def write(self, offset, data):
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, offset)
            view = view[written:]
            offset += written

    def zero(self, offset, length):
        if self.is_file:
            return
        try:
            fcntl.ioctl(self.fd, BLKZEROOUT, struct.pack("=QQ", offset, length))
            return
        except OSError:
            pass
        zeros = bytes(min(length, CHUNK))
        while length > 0:
            piece = min(length, len(zeros))
            self.write(offset, zeros[:piece])
            offset += piece
            length -= piece

    def finish(self):
        self.open()
        os.fsync(self.fd)
        self.close()

    def close(self):
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)


def _apply(target, records, digest):
    """Write one batch of records, in order (in the writer thread)."""
    target.open()
    for kind, offset, length, payload in records:
        digest.update(_digest_header(kind, offset, length))
        if kind == ZERO:
            target.zero(offset, length)
            continue
        if kind == COMPRESSED:
            inflater = zlib.decompressobj()
            try:
                data = inflater.decompress(payload, length + 1)
            except zlib.error as e:
                raise StreamError("corrupt compressed record at byte %d: %s"
                                  % (offset, e))
            if len(data) != length or not inflater.eof:
                raise StreamError("compressed record at byte %d does not"
                                  " hold %d bytes" % (offset, length))
        else:
            data = payload
        digest.update(data)
        target.write(offset, data)


class _Receiver(Protocol):
    """Writes one incoming disk; see the module docstring for the wire."""

    def __init__(self, job):
        self._job = job
        self._claimed = False
        self._buffer = bytearray()
        self._size = None
        self._head = None
        self._next = 0
        self._pending = []
        self._pending_bytes = 0
        self._busy = False
        self._paused = False
        self._ended = False
        self._over = False
        self._target = None
        self._digest = hashlib.sha256()

    def dataReceived(self, data):
        if not self._claimed:
            # Data flows only after the TLS handshake, so this peer holds
            # the cluster certificate: it, and no later one, gets the port.
            if not self._job.claim(self):
                self.transport.abortConnection()
                return
            self._claimed = True
        if self._over:
            return
        self._buffer += data
        try:
            self._parse()
        except StreamError as e:
            self._fail(str(e))

    def _parse(self):
        buffer = self._buffer
        while not self._over:
            if self._size is None:
                end = buffer.find(b"\n")
                if end < 0:
                    if len(buffer) > _MAX_HEADER:
                        raise StreamError("malformed disk stream header")
                    return
                self._start(bytes(buffer[:end]))
                del buffer[:end + 1]
                continue
            if self._head is None:
                if len(buffer) < RECORD.size:
                    return
                self._head = self._check(*RECORD.unpack_from(buffer))
                del buffer[:RECORD.size]
            kind, offset, length, payload_length = self._head
            if len(buffer) < payload_length:
                return
            # One copy (a bytearray), which the writer thread writes as is.
            payload = buffer[:payload_length]
            del buffer[:payload_length]
            self._head = None
            if kind == END:
                self._ended = True
                if buffer:
                    raise StreamError("data after the end of the disk")
            else:
                self._pending.append((kind, offset, length, payload))
                self._pending_bytes += payload_length
            self._pump()
        if self._pending_bytes > HIGH_WATER and not self._paused:
            self._paused = True
            self.transport.pauseProducing()

    def _start(self, line):
        words = line.split()
        try:
            if len(words) != 3 or words[0] != MAGIC:
                raise ValueError()
            version, size = int(words[1]), int(words[2])
        except ValueError:
            raise StreamError("malformed disk stream header")
        if version != VERSION:
            raise StreamError("unknown disk stream version %d" % version)
        if size < 0:
            raise StreamError("malformed disk stream header")
        self._size = size
        self._target = _Target(self._job.path, size)

    def _check(self, kind, offset, length, payload_length):
        if self._ended:
            raise StreamError("data after the end of the disk")
        if offset != self._next:
            raise StreamError("record at byte %d, expected one at byte %d"
                              % (offset, self._next))
        if kind == END:
            if offset != self._size or length or payload_length:
                raise StreamError("the disk ended at byte %d of %d"
                                  % (offset, self._size))
        elif kind == ZERO:
            if payload_length:
                raise StreamError("malformed zero record")
        elif kind in (DATA, COMPRESSED):
            if length > CHUNK or payload_length > CHUNK or (
                    kind == DATA and payload_length != length):
                raise StreamError("malformed data record")
        else:
            raise StreamError("unknown record kind %r" % (kind,))
        if offset + length > self._size:
            raise StreamError("record beyond the end of the disk (%d bytes)"
                              % self._size)
        self._next = offset + length
        return kind, offset, length, payload_length

    def _thread(self, function, *args):
        reactor = self._job.reactor
        return threads.deferToThreadPool(reactor, reactor.getThreadPool(),
                                         function, *args)

    def _pump(self):
        if self._busy or self._over:
            return
        if self._pending:
            batch, self._pending = self._pending, []
            self._busy = True
            d = self._thread(_apply, self._target, batch, self._digest)
            d.addCallbacks(self._applied, self._write_failed,
                           callbackArgs=(sum(len(r[3]) for r in batch),))
        elif self._ended:
            # Every record is written: the digest ends as the sender's.
            self._digest.update(RECORD.pack(END, self._size, 0, 0))
            self._busy = True
            d = self._thread(self._target.finish)
            d.addCallbacks(self._finished, self._write_failed)

    def _applied(self, _, size):
        self._busy = False
        self._pending_bytes -= size
        if self._over:
            self._close()
            return
        if self._paused and self._pending_bytes < LOW_WATER:
            self._paused = False
            self.transport.resumeProducing()
        self._pump()

    def _write_failed(self, failure):
        self._busy = False
        if failure.check(StreamError):
            message = failure.getErrorMessage()
        else:
            message = "cannot write %s: %s" % (self._job.path,
                                                failure.getErrorMessage())
        self._fail(message)

    def _finished(self, _):
        self._busy = False
        self._over = True
        self.transport.write(b"OK " + self._digest.hexdigest().encode()
                             + b"\n")
        self._hang_up()
        self._job.finished(self._size)

    def _fail(self, message):
        if self._over:
            return
        self._over = True
        self.transport.write(b"ERR " + message.encode("utf-8", "replace")
                             + b"\n")
        self._hang_up()
        self._job.failed(message)
        self._close()

    def _hang_up(self):
        # A TLS shutdown waits for the peer's close: keep reading.
        if self._paused:
            self._paused = False
            self.transport.resumeProducing()
        self.transport.loseConnection()

    def _close(self):
        # Closing a block device flushes it: a thread's job.
        if not self._busy and self._target is not None:
            target, self._target = self._target, None
            self._thread(target.close).addErrback(
                lambda f: _log.failure("closing {path} failed", f,
                                       path=self._job.path))

    def connectionLost(self, reason):
        if self._claimed and not self._over:
            self._over = True
            self._job.failed("the sender went away at byte %d of %s"
                             % (self._next, self._size))
            self._close()
        if self._claimed:
            self._job.connection_ended()


class DiskReceive(OneShotPort):
    """
    One listening port that takes exactly one disk, then closes.

    :ivar ended: a Deferred firing with None once the copy is over, well
        or not (the connection closed, or nobody came in time).
    """

    def __init__(self, reactor, pem, address, path, timeout=ACCEPT_TIMEOUT,
                 chacha_first=None):
        """
        :param pem: the cluster certificate and key (bytes).
        :param address: where to listen.
        :param path: the block device or image file to write.
        :param timeout: seconds to wait for the sender before giving up.
        :param chacha_first: see L{stream_server_options}.
        """
        OneShotPort.__init__(self, reactor, timeout)
        self.path = path
        self.ended = Deferred()
        self.cipher = None
        self._pem = pem
        self._chacha_first = chacha_first
        self._address = address
        self._connection = None

    def listen(self):
        """
        :return: a Deferred firing with the port number once listening;
            the copy itself goes on in the background and its outcome
            reaches the sender (see L{DiskSend}).
        """
        if not os.path.exists(self.path):
            return fail(errors.OpExecError("Cannot receive into %s: it does"
                                           " not exist" % (self.path,)))
        endpoint = SSL4ServerEndpoint(
            self.reactor, 0,
            stream_server_options(self._pem, self._chacha_first),
            interface=self._address)
        return endpoint.listen(self).addCallback(self.listening)

    def make_protocol(self):
        return _Receiver(self)

    def claim(self, connection):
        """
        :param connection: the L{_Receiver} asking.
        :return: whether the calling connection may send the disk (only
            the first to ask may); the port closes once it is claimed.
        """
        if not self.take():
            return False
        self._connection = connection
        handle = connection.transport.getHandle()
        if hasattr(handle, "get_cipher_name"):
            self.cipher = handle.get_cipher_name()
        return True

    def timed_out(self):
        _log.warn("nobody sent {path} within {seconds} seconds",
                  path=self.path, seconds=self._timeout)
        self.ended.callback(None)

    def finished(self, size):
        _log.info("received {path} ({size} bytes, {cipher})", path=self.path,
                  size=size, cipher=self.cipher)

    def failed(self, message):
        _log.warn("receiving {path} failed: {message}", path=self.path,
                  message=message)

    def stop(self):
        """
        Give up: stop waiting for a sender that has not come, or cut off
        the one that is sending (L{ended} fires once it is gone).
        """
        if self._connection is not None:
            self._connection.transport.abortConnection()
        elif self.take():
            self.ended.callback(None)

    def connection_ended(self):
        """The claiming connection is gone: the copy is over."""
        self._connection = None
        self.ended.callback(None)


def receive_disk(reactor, pem, address, path, timeout=ACCEPT_TIMEOUT):
    """
    Listen once, on an ephemeral port of C{address}, for a disk to write
    into C{path} (see L{DiskReceive}).

    :return: a Deferred firing with the port number once listening.
    """
    return DiskReceive(reactor, pem, address, path, timeout).listen()
