# -*- test-case-name: tests.test_watcher -*-
"""
What the watcher remembers between runs, one JSON file per node group
(``data_dir/watcher.<group uuid>.data``), laid out as Ganeti's watcher
lays it out so an operator's habits (reading it, deleting it to reset the
counters) carry over: ``{"instance": {name: {"restart_count": n,
"restart_when": t}}, "node": {name: {"bootid": id}}}``.

The master runs the watcher in its own process, so no file lock is taken
(Ganeti's cron-started watchers lock the file against each other); the
runs are serialized by L{ganeti.master.watcher.Watcher} instead.
"""

import json
import os

from twisted.logger import Logger

from ganeti.utils.io import atomic_write

_log = Logger()

#: Seconds after which a restart record is forgotten, so an instance the
#: watcher gave up on gets new attempts eventually (Ganeti's 8 hours).
RETRY_EXPIRATION = 8 * 3600


def state_file(paths, group_uuid):
    """:return: the state file of one node group."""
    return os.path.join(paths.data_dir, "watcher.%s.data" % group_uuid)


def instance_status_file(paths, group_uuid):
    """:return: the per-group ``name status`` file Ganeti's watcher writes."""
    return os.path.join(paths.data_dir,
                        "watcher.%s.instance-status" % group_uuid)


class WatcherState:
    """
    The restart counters and node boot ids of one node group.

    :param path: the state file; a missing or unreadable one reads as empty
        (losing counters is harmless, refusing to watch is not).
    """

    def __init__(self, path):
        self._path = path
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read() or b"{}")
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as e:
            _log.warn("invalid watcher state file {path}, starting afresh:"
                      " {error}", path=path, error=e)
            data = {}
        data.setdefault("instance", {})
        data.setdefault("node", {})
        self._data = data

    def save(self, write):
        """
        Write the state atomically.

        :param write: ``write(function, *args) -> Deferred`` (the master's
            thread pool: the flush must not stall the reactor).
        :return: a Deferred firing once it is written.
        """
        return write(atomic_write, self._path, json.dumps(
            self._data, sort_keys=True, indent=1).encode("utf-8"))

    # --- nodes --------------------------------------------------------------

    def boot_id(self, node):
        """:return: the boot id last seen for C{node}, or None."""
        return self._data["node"].get(node, {}).get("bootid")

    def set_boot_id(self, node, boot_id):
        """Remember C{node}'s current boot id."""
        self._data["node"].setdefault(node, {})["bootid"] = boot_id

    # --- instances ----------------------------------------------------------

    def restart_attempts(self, name):
        """:return: how often the watcher tried to restart C{name}."""
        return self._data["instance"].get(name, {}).get("restart_count", 0)

    def record_restart(self, name, now):
        """Count one more restart attempt of C{name}, made at C{now}."""
        record = self._data["instance"].setdefault(name, {})
        record["restart_when"] = now
        record["restart_count"] = record.get("restart_count", 0) + 1

    def forget(self, name):
        """Drop C{name}'s record (it runs again, or cannot be helped)."""
        self._data["instance"].pop(name, None)

    def prune(self, names, now):
        """
        Forget instances that no longer exist and records older than
        L{RETRY_EXPIRATION}.

        :param names: the instances that exist.
        """
        records = self._data["instance"]
        for name in list(records):
            when = records[name].get("restart_when", 0)
            if name not in names or when < now - RETRY_EXPIRATION:
                del records[name]
