# -*- test-case-name: tests.test_config -*-
"""
The one writer of the cluster configuration.

All changes go through L{ConfigWriter.update}: it applies a pure function
to the current L{ConfigData}, bumps the serial number and modification
time, and writes ``config.data`` atomically (temp file, fsync, rename)
before anyone sees the new value.  Listeners (ssconf, replication to master
candidates) are told after the write succeeded.
"""

import json
import time

import attrs

from ganeti import errors
from ganeti.objects import ConfigData
from ganeti.utils.io import atomic_write


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


class ConfigWriter:
    """
    Owns the in-memory configuration and its file.

    :param path: the ``config.data`` path.
    :param clock: something with ``seconds()``, for modification times.
    """

    def __init__(self, path, clock=None, config=None):
        self._path = path
        self._clock = clock
        self._config = config if config is not None else load(path)
        self._listeners = []

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
        save(self._path, new)
        self._config = new
        for listener in self._listeners:
            listener(new)
        return new

    def update_cluster(self, **changes):
        """Change cluster attributes, bumping the cluster's serial number."""
        def change(config):
            cluster = config.cluster
            return attrs.evolve(config, cluster=attrs.evolve(
                cluster, serial_no=cluster.serial_no + 1, mtime=self._now(),
                **changes))
        return self.update(change)
