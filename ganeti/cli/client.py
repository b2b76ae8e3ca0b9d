# -*- test-case-name: tests.test_luxi -*-
"""
A small blocking AMP client for the master's Unix socket.

The tools run one request at a time and exit, so a plain socket beats
starting a reactor (importing it alone costs about 0.3 s here).  The boxes
are the ones L{ganeti.protocols.jsonamp} speaks.
"""

import json
import socket
import struct

from ganeti import errors
from ganeti.protocols import boxes, luxi_calls

_LENGTH = struct.Struct(">H")

#: Message shown when the master socket does not answer (Ganeti's words).
NO_MASTER = ("Cannot communicate with the master daemon.\n"
             "Is the process running and listening for connections?")


def encode_box(pairs):
    """
    :param pairs: ``(key_bytes, value_bytes)`` pairs.
    :return: one serialized AMP box.
    """
    out = []
    for key, value in pairs:
        out.append(_LENGTH.pack(len(key)))
        out.append(key)
        out.append(_LENGTH.pack(len(value)))
        out.append(value)
    out.append(b"\x00\x00")
    return b"".join(out)


class LuxiClient:
    """
    A connection to the master daemon; one call at a time.

    :param path: the master's Unix socket.
    :param timeout: seconds to wait for any single answer (None: forever).
    """

    def __init__(self, path, timeout=None):
        self._path = path
        self._timeout = timeout
        self._sock = None
        self._buffer = b""
        self._tag = 0

    def _connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise errors.LuxiError(NO_MASTER)
        sock.settimeout(self._timeout)
        self._sock = sock

    def close(self):
        """Close the connection (a later call reconnects)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def call(self, method, *args):
        """
        Call one LUXI method and wait for its answer.

        :param method: a name from L{luxi_calls.METHODS}.
        :param args: its arguments, positionally.
        :return: the decoded result.
        :raise GenericError: the error the master raised.
        :raise LuxiError: when the master cannot be reached.
        """
        names = luxi_calls.METHODS[method]
        if len(args) != len(names):
            raise errors.ProgrammerError(
                "%s takes %d arguments, got %d" % (method, len(names), len(args)))
        if self._sock is None:
            self._connect()
        self._tag += 1
        tag = str(self._tag).encode("ascii")
        pairs = [(b"_command", method.encode("ascii")), (b"_ask", tag)]
        for name, value in zip(names, args):
            pairs.extend(boxes.encode_value(name, value))
        try:
            self._sock.sendall(encode_box(pairs))
            box = self._read_box()
        except OSError:
            self.close()
            raise errors.LuxiError(NO_MASTER)
        if b"_error" in box:
            self._raise(box)
        return boxes.decode_value(boxes.RESULT, box)

    def _raise(self, box):
        code = box.get(b"_error_code", b"")
        description = box.get(b"_error_description", b"").decode("utf-8", "replace")
        if code == boxes.ERROR_CODE:
            raise errors.from_wire(json.loads(description))
        raise errors.LuxiError("Master daemon error %s: %s"
                               % (code.decode("ascii", "replace"), description))

    def _read_exactly(self, count):
        while len(self._buffer) < count:
            data = self._sock.recv(max(65536, count - len(self._buffer)))
            if not data:
                raise errors.LuxiError("The master daemon closed the connection")
            self._buffer += data
        chunk, self._buffer = self._buffer[:count], self._buffer[count:]
        return chunk

    def _read_box(self):
        box = {}
        while True:
            (key_length,) = _LENGTH.unpack(self._read_exactly(2))
            if key_length == 0:
                return box
            key = self._read_exactly(key_length)
            (value_length,) = _LENGTH.unpack(self._read_exactly(2))
            box[key] = self._read_exactly(value_length)
