# -*- test-case-name: tests.test_replication -*-
"""
Keeping the other nodes up to date: the configuration and the job files
go to every master candidate, ssconf and the ancillary files (RAPI
certificate and users) to every node.

Pushes are asynchronous and never block the change that caused them; a
node that misses one (down, unreachable) is remembered and retried until
it has caught up, so a returning node gets the newest state.
"""

import hashlib
import json

from twisted.internet.defer import inlineCallbacks
from twisted.logger import Logger

from ganeti import config as configmod
from ganeti import ssconf
from ganeti.protocols.node import ANCILLARY_FILES

_log = Logger()

#: Seconds between two attempts to catch up nodes that missed a push.
RETRY_INTERVAL = 30

#: Seconds a node may take to store a pushed file before it counts as
#: behind (and is left out of pushes until it has caught up).
PUSH_TIMEOUT = 5


def read_ancillary_files(paths):
    """
    :return: ``{key: text}`` of the master's ancillary files (see
        L{ANCILLARY_FILES}) that exist.  They are a few KiB: read inline.
    """
    files = {}
    for key in ANCILLARY_FILES:
        try:
            with open(getattr(paths, key), encoding="utf-8") as f:
                files[key] = f.read()
        except FileNotFoundError:
            pass
    return files


class Replicator:
    """
    :param rpc: an L{ganeti.rpc.INodeRpc}.
    :param get_config: returns the current L{ganeti.objects.ConfigData}.
    :param queue_files: returns ``{job_id: bytes}`` of the unarchived jobs,
        for candidates that need the whole queue.
    :param ancillary_files: returns ``{key: text}`` of the files every node
        keeps (L{read_ancillary_files}); they go with the next push after
        they change, e.g. when the operator edits the RAPI users file.
    """

    def __init__(self, rpc, get_config, queue_files=None,
                 ancillary_files=None):
        self._rpc = rpc
        self._get_config = get_config
        self._queue_files = queue_files or (lambda: {})
        self._ancillary_files = ancillary_files or (lambda: {})
        self._behind = set()
        self._candidates_seen = set()
        #: node name -> digest of the ancillary files it has.
        self._files_sent = {}

    def _others(self, cfg, candidates_only, include_behind=False):
        master = cfg.cluster.master_node
        return [n for n in cfg.nodes.values()
                if n.uuid != master and not n.offline
                and (n.master_candidate or not candidates_only)
                and (include_behind or n.name not in self._behind)]

    def config_changed(self, cfg):
        """Push config (candidates) and ssconf (all nodes); returns a Deferred."""
        return self._push(cfg, self._others(cfg, False))

    def _call(self, nodes, method, *args):
        return self._rpc.call(nodes, method, *args, timeout=PUSH_TIMEOUT)

    @inlineCallbacks
    def _push(self, cfg, nodes):
        if not nodes:
            return
        values = ssconf.values(cfg)
        data = configmod.dump(cfg).decode("utf-8")
        addresses = [(n.name, n.primary_ip) for n in nodes]
        results = yield self._call(addresses, "write_ssconf_files", values)
        candidates = [(n.name, n.primary_ip) for n in nodes if n.master_candidate]
        if candidates:
            config_results = yield self._call(candidates, "upload_config",
                                              data, cfg.serial_no)
            results = dict(results)
            for name, result in config_results.items():
                if not result.ok:
                    results[name] = result
        results = dict(results)
        results.update((yield self._send_ancillary_files(addresses)))
        new_candidates = {n.name for n in nodes if n.master_candidate} - \
            self._candidates_seen
        if new_candidates:
            # A node that just became a candidate gets the queue it lacks
            # (Ganeti leaves it without the older jobs).
            yield self._send_queue([(n.name, n.primary_ip) for n in nodes
                                    if n.name in new_candidates])
        for name, result in results.items():
            if result.ok:
                self._behind.discard(name)
                if name in new_candidates:
                    self._candidates_seen.add(name)
            else:
                _log.warn("could not update node {node}: {error}", node=name,
                          error=result.fail_msg)
                self._behind.add(name)

    @inlineCallbacks
    def _send_ancillary_files(self, addresses):
        """
        Send the ancillary files to the nodes that lack their current
        version.

        :return: (Deferred) ``{name: RpcResult}`` of the failed nodes.
        """
        files = self._ancillary_files()
        digest = hashlib.sha256(json.dumps(files, sort_keys=True)
                                .encode("utf-8")).hexdigest()
        stale = [a for a in addresses if self._files_sent.get(a[0]) != digest]
        failed = {}
        for key, text in sorted(files.items()):
            if not stale:
                break
            results = yield self._call(stale, "upload_ancillary_file", key,
                                       text)
            failed.update((name, r) for name, r in results.items()
                          if not r.ok)
            stale = [a for a in stale if a[0] not in failed]
        for name, _ in stale:
            self._files_sent[name] = digest
        return failed

    @inlineCallbacks
    def _send_queue(self, nodes):
        for job_id, data in sorted(self._queue_files().items()):
            yield self._call(nodes, "jobqueue_update", job_id,
                             data.decode("utf-8"))

    def job_changed(self, job_id, data):
        """Copy one job file to the candidates; returns a Deferred."""
        cfg = self._get_config()
        nodes = [(n.name, n.primary_ip) for n in self._others(cfg, True)]
        if not nodes:
            return None
        d = self._call(nodes, "jobqueue_update", job_id, data.decode("utf-8"))
        return d.addCallback(self._note_failures)

    def _note_failures(self, results):
        for name, result in results.items():
            if not result.ok:
                self._behind.add(name)
                # It missed a job file: it gets the whole queue again.
                self._candidates_seen.discard(name)
        return results

    def job_archived(self, job_id):
        cfg = self._get_config()
        nodes = [(n.name, n.primary_ip) for n in self._others(cfg, True)]
        if not nodes:
            return None
        d = self._call(nodes, "jobqueue_archive", job_id)
        return d.addCallback(self._note_failures)

    def catch_up(self):
        """Retry the nodes that missed a push (timer)."""
        if not self._behind:
            return None
        cfg = self._get_config()
        nodes = [n for n in self._others(cfg, False, include_behind=True)
                 if n.name in self._behind]
        return self._push(cfg, nodes)

    @inlineCallbacks
    def ancillary_files_changed(self):
        """
        Push the ancillary files to every online node now (a renewed RAPI
        certificate), rather than with the next configuration change.  A
        node that misses them is retried like any node that fell behind.

        :return: (Deferred) ``{name: error}`` of the nodes that missed them.
        """
        cfg = self._get_config()
        addresses = [(n.name, n.primary_ip)
                     for n in self._others(cfg, False, include_behind=True)]
        failed = yield self._send_ancillary_files(addresses)
        self._behind.update(failed)
        return {name: result.fail_msg for name, result in failed.items()}

    def redistribute(self):
        """Push everything to every node now (``gnt-cluster redist-conf``)."""
        cfg = self._get_config()
        self._candidates_seen.clear()
        self._files_sent.clear()
        return self._push(cfg, self._others(cfg, False, include_behind=True))
