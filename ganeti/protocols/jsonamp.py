# -*- test-case-name: tests.test_luxi -*-
"""
Method tables (LUXI, node RPC) bound to ``twisted.protocols.amp``.

A table maps method names to argument names; every argument and result is
a JSON value (L{ganeti.protocols.boxes}), and every Ganeti error crosses
the wire with its class and arguments.
"""

import json

from twisted.internet.defer import maybeDeferred
from twisted.protocols import amp

from ganeti import errors
from ganeti.protocols import boxes


class JSONArgument(amp.Argument):
    """
    A JSON value that may exceed AMP's value limit.

    It overrides the box-level hooks rather than the string ones because a
    large value occupies several keys.  A value the caller leaves out is
    left out of the responder's call too, so its default applies: an
    argument added to a method later (with a default) does not break the
    callers that do not know it.
    """

    def fromBox(self, name, strings, objects, proto):
        key = name.decode("ascii")
        if name in strings:
            objects[key] = boxes.decode_value(key, strings)

    def toBox(self, name, strings, objects, proto):
        key = name.decode("ascii")
        if key not in objects:
            return
        for box_key, value in boxes.encode_value(key, objects[key]):
            strings[box_key] = value


class WireError(Exception):
    """
    How a Ganeti error arrives at a Twisted client: its only argument is
    the JSON ``[class_name, args]`` encoding; L{decode_error} rebuilds the
    real exception.
    """


def _make_command(method, arg_names):
    attrs = {
        "commandName": method.encode("ascii"),
        # Optional for AMP: a caller may leave out trailing arguments
        # (see L{JSONArgument}); the responder's defaults apply.
        "arguments": [(n.encode("ascii"), JSONArgument(optional=True))
                      for n in arg_names],
        "response": [(boxes.RESULT.encode("ascii"), JSONArgument())],
        "errors": {WireError: boxes.ERROR_CODE},
        "__doc__": "Method %s." % method,
    }
    return type(method, (amp.Command,), attrs)


def make_commands(methods):
    """
    :param methods: method name -> argument names.
    :return: method name -> amp.Command subclass.
    """
    return {m: _make_command(m, args) for m, args in methods.items()}


def _to_remote_error(failure):
    # Every Ganeti error keeps its class and arguments on the way to the
    # client; anything else is a bug and AMP's generic handling logs it.
    failure.trap(errors.GenericError)
    raise amp.RemoteAmpError(boxes.ERROR_CODE,
                             json.dumps(failure.value.to_wire()))


class JsonLocator(amp.CommandLocator):
    """
    Dispatches each command of C{commands} to the method of the same name
    on C{handler} (called with keyword arguments; may return a Deferred).
    """

    def __init__(self, handler, commands):
        self._handler = handler
        self._commands = commands

    def locateResponder(self, name):
        method = name.decode("ascii", "replace")
        command = self._commands.get(method)
        if command is None:
            return None
        implementation = getattr(self._handler, method)

        def respond(**kwargs):
            d = maybeDeferred(implementation, **kwargs)
            d.addCallback(lambda result: {boxes.RESULT: result})
            return d.addErrback(_to_remote_error)

        def responder(box):
            kwargs = command.parseArguments(box, self)
            return respond(**kwargs).addCallback(command.makeResponse, self)

        return responder


def decode_error(failure):
    """
    Turn a failed AMP call into the Ganeti error it carries.

    :param failure: the Failure of a ``callRemote`` Deferred.
    :raise GenericError: the rebuilt error (other failures pass through).
    """
    failure.trap(WireError)
    raise errors.from_wire(json.loads(failure.value.args[0]))
