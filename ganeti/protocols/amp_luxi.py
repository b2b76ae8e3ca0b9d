# -*- test-case-name: tests.test_luxi -*-
"""
The LUXI description bound to ``twisted.protocols.amp`` for the daemon.
"""

import json

from twisted.internet.defer import maybeDeferred
from twisted.protocols import amp

from ganeti import errors
from ganeti.protocols import luxi


class JSONArgument(amp.Argument):
    """
    A JSON value that may exceed AMP's value limit.

    It overrides the box-level hooks rather than the string ones because a
    large value occupies several keys.
    """

    def fromBox(self, name, strings, objects, proto):
        key = name.decode("ascii")
        objects[key] = luxi.decode_value(key, strings)

    def toBox(self, name, strings, objects, proto):
        key = name.decode("ascii")
        for box_key, value in luxi.encode_value(key, objects[key]):
            strings[box_key] = value


class WireError(Exception):
    """
    How a Ganeti error arrives at a Twisted LUXI client: its only argument
    is the JSON ``[class_name, args]`` encoding; L{luxi_error} rebuilds the
    real exception.
    """


def _make_command(method, arg_names):
    attrs = {
        "commandName": method.encode("ascii"),
        "arguments": [(n.encode("ascii"), JSONArgument()) for n in arg_names],
        "response": [(luxi.RESULT.encode("ascii"), JSONArgument())],
        "errors": {WireError: luxi.ERROR_CODE},
        "__doc__": "LUXI method %s." % method,
    }
    return type(method, (amp.Command,), attrs)


#: method name -> amp.Command subclass
COMMANDS = {m: _make_command(m, args) for m, args in luxi.METHODS.items()}


def _to_remote_error(failure):
    # Every Ganeti error keeps its class and arguments on the way to the
    # client; anything else is a bug and AMP's generic handling logs it.
    failure.trap(errors.GenericError)
    raise amp.RemoteAmpError(luxi.ERROR_CODE,
                             json.dumps(failure.value.to_wire()))


class LuxiLocator(amp.CommandLocator):
    """
    Dispatches each LUXI command to the method of the same name on
    C{handler} (called with keyword arguments; may return a Deferred).
    """

    def __init__(self, handler):
        self._handler = handler

    def locateResponder(self, name):
        method = name.decode("ascii", "replace")
        command = COMMANDS.get(method)
        if command is None:
            return None
        implementation = getattr(self._handler, method)

        def respond(**kwargs):
            d = maybeDeferred(implementation, **kwargs)
            d.addCallback(lambda result: {luxi.RESULT: result})
            return d.addErrback(_to_remote_error)

        def responder(box):
            kwargs = command.parseArguments(box, self)
            return respond(**kwargs).addCallback(command.makeResponse, self)

        return responder


def luxi_error(failure):
    """
    Turn a failed AMP call into the Ganeti error it carries.

    :param failure: the Failure of a ``callRemote`` Deferred.
    :raise GenericError: the rebuilt error (other failures pass through).
    """
    failure.trap(WireError)
    raise errors.from_wire(json.loads(failure.value.args[0]))
