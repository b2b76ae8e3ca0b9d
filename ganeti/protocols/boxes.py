# -*- test-case-name: tests.test_luxi -*-
"""
JSON values in AMP boxes: the encoding every Ganeti AMP protocol uses.

Every argument and every result is JSON, split over as many AMP keys as it
needs (AMP values hold at most 65,535 bytes): the first piece is stored
under the argument's name, the following ones under ``name.1``, ``name.2``
and so on.  Standard library only: the tools import this.
"""

import json

#: AMP's limit on a single value.
MAX_VALUE_LENGTH = 0xFFFF

#: The name of the value carrying a command's result.
RESULT = "result"

#: The AMP error code every Ganeti error travels under; its description is
#: the JSON ``[class_name, args]`` encoding of the exception.
ERROR_CODE = b"GANETI_ERROR"


def encode_value(name, value):
    """
    Split one JSON value into AMP key/value pairs.

    :param name: the argument name (str).
    :param value: any JSON-serialisable value.
    :return: a list of ``(key_bytes, value_bytes)``.
    """
    data = json.dumps(value, separators=(",", ":")).encode("utf-8")
    pieces = [data[i:i + MAX_VALUE_LENGTH]
              for i in range(0, len(data), MAX_VALUE_LENGTH)] or [b""]
    key = name.encode("ascii")
    pairs = [(key, pieces[0])]
    for index, piece in enumerate(pieces[1:], 1):
        pairs.append((b"%s.%d" % (key, index), piece))
    return pairs


def decode_value(name, box):
    """
    Join the pieces of one value from an AMP box.

    :param name: the argument name (str).
    :param box: a mapping of bytes keys to bytes values.
    :return: the decoded JSON value.
    :raise KeyError: if the value is missing.
    """
    key = name.encode("ascii")
    pieces = [box[key]]
    index = 1
    while True:
        piece = box.get(b"%s.%d" % (key, index))
        if piece is None:
            break
        pieces.append(piece)
        index += 1
    return json.loads(b"".join(pieces))
