# -*- test-case-name: tests.test_config -*-
"""
The one writer of the cluster configuration.

All changes go through L{ConfigWriter.update}: it applies a pure function
to the current L{ConfigData}, bumps the serial number and modification
time, and writes ``config.data`` atomically (temp file, fsync, rename).

The tools write at once.  The master hands the writes to a thread (a disk
flush must not stall the reactor): the new value is in force at once, the
file follows, several changes made while a write is in flight share the
next one, and L{ConfigWriter.flushed} says when everything so far is on
disk; the job runner waits for it before it reports an opcode done.
Listeners (ssconf, replication to master candidates) are told of every
new value.
"""

import json
import time

import attrs
from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger

from ganeti import errors
from ganeti.objects import ConfigData
from ganeti.utils.io import atomic_write

_log = Logger()


def load(path):
    """
    Read a configuration file.

    :return: a L{ConfigData}.
    :raise ConfigurationError: if it is missing or corrupt.
    """
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
        return ConfigData.from_dict(data)
    except FileNotFoundError:
        raise errors.ConfigurationError("Cluster configuration %s not found" % path)
    except (ValueError, KeyError, TypeError) as e:
        raise errors.ConfigurationError("Cluster configuration %s is corrupt: %s"
                                        % (path, e))


def dump(config):
    """:return: the bytes of ``config.data`` for C{config}."""
    return json.dumps(config.to_dict(), separators=(",", ":")).encode("utf-8")


def save(path, config):
    """Write C{config} to C{path} atomically and durably."""
    atomic_write(path, dump(config), mode=0o600)


def touched(obj, now, **changes):
    """
    :return: C{obj} with C{changes}, its serial number bumped and its
        modification time C{now}: the two always move together, as in
        Ganeti, so a client can tell from either that the object changed.
    """
    return attrs.evolve(obj, serial_no=obj.serial_no + 1, mtime=now, **changes)


class ConfigWriter:
    """
    Owns the in-memory configuration and its file.

    :param path: the ``config.data`` path.
    :param clock: something with ``seconds()``, for modification times.
    :param write: ``write(function, *args, **kwargs) -> Deferred`` runs a
        blocking file write (the master passes a thread pool); without it
        every update is written before L{update} returns.
    """

    def __init__(self, path, clock=None, config=None, write=None):
        self._path = path
        self._clock = clock
        self._config = config if config is not None else load(path)
        self._listeners = []
        self._write = write
        #: Updates made / updates on disk (or failed to get there).
        self._generation = 0
        self._written = 0
        #: The newest ``(generation, data)`` not yet handed to a write.
        self._unsaved = None
        self._saving = False
        #: ``(generation, Deferred)`` of L{flushed} callers.
        self._flush_waiters = []
        #: Why the last write failed, while no later one succeeded.
        self._failure = None

    @property
    def config(self):
        """The current L{ConfigData} (immutable; safe to keep)."""
        return self._config

    def _now(self):
        return self._clock.seconds() if self._clock is not None else time.time()

    def add_listener(self, listener):
        """Call C{listener(config)} after every successful write."""
        self._listeners.append(listener)

    def update(self, change):
        """
        Apply C{change} and persist the result.

        :param change: a function from L{ConfigData} to a new L{ConfigData};
            it may raise to abort, leaving everything untouched.
        :return: the new configuration.
        """
        new = change(self._config)
        if new is self._config:
            return new
        new = attrs.evolve(new, serial_no=self._config.serial_no + 1,
                           mtime=self._now())
        if self._write is None:
            save(self._path, new)
        else:
            # Serialised now, so a value that cannot be written is refused
            # before it is in force.
            self._generation += 1
            self._unsaved = (self._generation, dump(new))
            self._save_next()
        self._config = new
        for listener in self._listeners:
            listener(new)
        return new

    def flushed(self):
        """
        :return: a Deferred firing once every update made so far is on
            disk, or failing if its write failed.
        """
        if self._written >= self._generation:
            return succeed(None)
        if self._failure is not None and not self._saving:
            return fail(self._failure)
        d = Deferred()
        self._flush_waiters.append((self._generation, d))
        return d

    def _save_next(self):
        """Start writing the newest value unless a write is in flight."""
        if self._saving or self._unsaved is None:
            return
        (generation, data), self._unsaved = self._unsaved, None
        self._saving = True
        d = self._write(atomic_write, self._path, data, mode=0o600)
        d.addBoth(self._saved, generation)

    def _saved(self, outcome, generation):
        self._saving = False
        if outcome is None:
            self._written, self._failure = generation, None
        else:
            # The next update writes the whole configuration again.
            _log.failure("could not write {path}", outcome, path=self._path)
            self._failure = outcome
        done = [d for g, d in self._flush_waiters if g <= generation]
        self._flush_waiters = [(g, d) for g, d in self._flush_waiters
                               if g > generation]
        for d in done:
            if outcome is None:
                d.callback(None)
            else:
                d.errback(outcome)
        self._save_next()

    def update_cluster(self, **changes):
        """Change cluster attributes, bumping the cluster's serial number."""
        def change(config):
            return attrs.evolve(config, cluster=touched(
                config.cluster, self._now(), **changes))
        return self.update(change)

    def update_objects(self, changes):
        """
        Change several objects in one update (one write, one serial
        number of the configuration), each as L{touched} does.

        :param changes: ``{kind: {uuid: {attribute: value}}}``, kind being
            a collection of L{ConfigData} (``instances``, ``nodes``,
            ``disks``, ``nodegroups``).
        :return: the new configuration.
        """
        def change(config):
            now = self._now()
            collections = {}
            for kind, by_uuid in changes.items():
                objects = dict(getattr(config, kind))
                for uuid, attributes in by_uuid.items():
                    objects[uuid] = touched(objects[uuid], now, **attributes)
                collections[kind] = objects
            return attrs.evolve(config, **collections)
        return self.update(change)

    def update_object(self, kind, uuid, **changes):
        """
        Change one object of the collection C{kind} (see
        L{update_objects}).

        :return: the new configuration.
        """
        return self.update_objects({kind: {uuid: changes}})
