# -*- test-case-name: tests.test_noderpc,tests.test_luxi -*-
"""
Every exception that may cross a process boundary.

Errors travel between the master daemon and the ``gnt-*`` tools (and are
stored in job results) as ``[class_name, [args...]]``, the shape Ganeti
uses, so a tool can re-raise the very class the master raised.  Keep the
class names identical to Ganeti's: operators and scripts match on them.
"""


class GenericError(Exception):
    """Base of all Ganeti errors."""

    def to_wire(self):
        """
        :return: the JSON-able ``[class_name, args]`` encoding of this error.
        """
        return [type(self).__name__, list(self.args)]

    def __str__(self):
        # The first argument is always the human message; error codes that
        # follow it are for programs, not for people.
        if self.args and isinstance(self.args[0], str):
            return self.args[0]
        return super().__str__()


class ProgrammerError(GenericError):
    """A bug: an impossible state was reached."""


class ConfigurationError(GenericError):
    """The cluster configuration is missing, corrupt or inconsistent."""


class ParameterError(GenericError):
    """A parameter has a wrong name or value."""


class OpPrereqError(GenericError):
    """
    An opcode's prerequisites are not met; nothing was changed.

    The optional second argument is Ganeti's error classification
    (``wrong_input``, ``wrong_state``, ``exists``, ``noent``, ...).
    """


class OpExecError(GenericError):
    """An opcode failed while it was changing things."""


class OpCodeUnknown(GenericError):
    """The ``OP_ID`` of a submitted opcode is not known."""


class JobLost(GenericError):
    """The job id does not name a job in the queue or its archive."""


class JobCanceled(GenericError):
    """The job was canceled while waiting to run."""


class JobQueueError(GenericError):
    """The job queue refused an operation."""


class JobQueueDrainError(JobQueueError):
    """The queue is drained and takes no new jobs."""


class JobQueueFull(JobQueueError):
    """The queue holds too many unarchived jobs to take a new one."""


class LockError(GenericError):
    """A lock could not be acquired as asked (wrong order, unknown level)."""


class ParseError(GenericError):
    """Text given by the user could not be parsed."""


class QueryFilterParseError(ParseError):
    """A query filter expression is malformed."""


class UnitParseError(GenericError):
    """A size with a unit could not be parsed."""


class ResolverError(GenericError):
    """A host name could not be resolved."""


class CommandError(GenericError):
    """An external command failed."""


class CommandTimedOut(CommandError):
    """
    An external command did not finish within its time limit and was killed.

    A subclass of L{CommandError} so callers that treat every command
    failure alike need not know about timeouts.
    """


class AddressPoolError(GenericError):
    """A network's address pool cannot do what was asked."""


class TagError(GenericError):
    """A tag is invalid or there are too many."""


class HooksFailure(GenericError):
    """Hooks could not be run at all (usually a setup problem)."""


class HooksAbort(HooksFailure):
    """
    A pre-phase hook script failed, so the opcode did not run.

    Its one argument lists ``[node, script, output]`` for every script
    that failed, as Ganeti's does (stored job results keep that shape).
    """

    def failures(self):
        """:return: the ``(node, script, output)`` triples."""
        listed = self.args[0] if self.args else []
        return [tuple(item) for item in listed
                if isinstance(item, (list, tuple)) and len(item) == 3]

    def __str__(self):
        # The words of Ganeti's command line tools, one line per script.
        lines = ["hooks execution failed:"]
        for node, script, output in self.failures():
            if output:
                lines.append("  node: %s, script: %s, output: %s"
                             % (node, script, output))
            else:
                lines.append("  node: %s, script: %s (no output)"
                             % (node, script))
        return "\n".join(lines)


class LuxiError(GenericError):
    """The master daemon could not be talked to."""


class HypervisorError(GenericError):
    """The hypervisor failed to do what it was asked."""


class HotplugError(HypervisorError):
    """
    A device cannot be (or was not) added to or removed from a running
    instance; Ganeti's name, so callers can tell it from other failures.
    """


def from_wire(encoded):
    """
    Rebuild an exception from its ``[class_name, args]`` encoding.

    Unknown class names (a newer master, a foreign error) come back as
    L{GenericError} so the message is never lost.

    :param encoded: a value produced by L{GenericError.to_wire}.
    :return: an exception instance (not raised).
    """
    try:
        name, args = encoded
        args = list(args) if isinstance(args, (list, tuple)) else [args]
    except (TypeError, ValueError):
        return GenericError("Unhandled Ganeti error: %r" % (encoded,))
    cls = globals().get(name)
    if not (isinstance(cls, type) and issubclass(cls, GenericError)):
        return GenericError("%s: %s" % (name, " ".join(map(str, args))))
    return cls(*args)


class BlockDeviceError(GenericError):
    """A disk could not be created, found, grown, activated or removed."""


class StorageError(GenericError):
    """
    Node storage (volume groups, file storage dirs) could not be listed or
    changed.
    """


class FileStoragePathError(GenericError):
    """
    A file storage path is not allowed on this node.

    Only paths below a directory listed in ``file-storage-paths`` may hold
    instance disks, so a crafted ``logical_id`` cannot touch other files.
    """
