# -*- test-case-name: tests.test_watcher -*-
"""
The watcher: the master's periodic look at the cluster, Ganeti's
``ganeti-watcher``.

Ganeti starts the watcher from cron every five minutes on every node.
Here it lives in the master role (a L{TimerService} of
L{ganeti.master.service.MasterService}), so it runs only where the
cluster's state is, needs no lock file against a second copy of itself,
and moves with the master; the ``ganeti-watcher`` command
(L{ganeti.cli.watcher}) asks the running master for one run now.

A run, unless ``gnt-cluster watcher pause`` is in force:

 1. archives finished jobs older than the job age (six hours);
 2. runs the executables of ``etc/ganeti/hooks/watcher/``;
 3. asks the cluster's own RAPI for its version and logs loudly when it
    gets no answer;
 4. asks every online node for its boot id, which both checks that it
    answers and shows when it rebooted;
 5. per node group: restarts instances that should run but do not
    (``ERROR_down``), at most L{MAXTRIES} times, activates the disks of
    instances whose node rebooted, and writes the group's state file and
    ``instance-status`` file;
 6. per node group, as Ganeti's watcher does: a low-priority
    OP_GROUP_VERIFY_DISKS job (the per-group half of ``gnt-cluster
    verify-disks``, which Ganeti's watcher submits directly), archived
    once read, then one job activating the disks of the instances it
    reports, leaving out those just restarted or activated and those
    nothing can be done about.

Jobs carry the reason source ``gnt:watcher``.
"""

import os
import re

from twisted.internet.defer import (
    DeferredList, DeferredLock, inlineCallbacks, maybeDeferred)
from twisted.logger import Logger

from ganeti import constants, errors
from ganeti.cmdlib.live import live_instances
from ganeti.cmdlib.common import node_address
from ganeti.params import instance_nodes
from ganeti.master.watcher_state import (
    WatcherState, instance_status_file, state_file)
from ganeti.process import run_command
from ganeti.query import instance as instance_query
from ganeti.utils.io import atomic_write

_log = Logger()

#: Seconds between two runs (Ganeti's cron line: every five minutes).
INTERVAL = 300

#: Restart attempts before the watcher gives up on an instance.
MAXTRIES = 5

#: The priority of the watcher's verify-disks jobs (Ganeti's
#: C{OP_PRIO_LOW}): a check must not hold up the operators' jobs.
PRIORITY_LOW = 10

#: The reason-trail source of the watcher's jobs.
REASON_SOURCE = "gnt:watcher"

#: Instance statuses nothing can be done about until the node is back.
HELPLESS = frozenset(["ERROR_nodedown", "ERROR_nodeoffline"])

#: Seconds a watcher hook may run: more than a run's interval would let
#: runs pile up behind it.
HOOK_TIMEOUT = INTERVAL

#: Seconds the RAPI gets to answer ``GET /version``.
RAPI_TIMEOUT = 30

#: The RAPI version a healthy RAPI reports.
RAPI_VERSION = 2

#: Names run-parts runs (Ganeti's rule): others, e.g. editor backups, are
#: skipped.
_HOOK_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")


def pause_file(paths):
    """:return: the file ``gnt-cluster watcher pause`` writes."""
    return os.path.join(paths.data_dir, "watcher.pause")


def paused_until(paths, now):
    """
    :param now: the current time (seconds since the epoch).
    :return: when the pause ends, or None if the watcher is not paused (no
        file, an unreadable one, or a pause already over).
    """
    try:
        with open(pause_file(paths)) as f:
            until = float(f.read().strip())
    except (OSError, ValueError):
        return None
    return until if until > now else None


class Watcher:
    """
    The watcher of one master.

    :param ctx: the master's L{ganeti.cmdlib.base.MasterContext} (config,
        paths, reactor, job queue, node RPC).
    :param rapi: ``(address, port)`` of this master's RAPI, or None when it
        serves none.  There is no separate RAPI daemon here to restart, as
        Ganeti's watcher does: the RAPI is part of the master process, so a
        silent one needs an operator, and the run says so loudly.
    :param write: ``write(function, *args) -> Deferred`` for the state
        files (the master's thread pool, as for jobs and the config); by
        default they are written at once.
    """

    def __init__(self, ctx, rapi=None, write=None):
        self._ctx = ctx
        self._reactor = ctx.reactor
        self._rapi = rapi
        self._write = write or maybeDeferred
        # Held from a run's start until its jobs end, so a run never counts
        # a restart another run's job is still trying.
        self._lock = DeferredLock()

    def run_periodic(self):
        """
        The timer's entry point: start a run unless one is still busy.

        The run's Deferred is not returned, so a job that hangs does not
        hold up the timer nor the master's shutdown.
        """
        if self._lock.locked:
            _log.info("watcher: previous run still busy, skipping this one")
            return
        self.run().addErrback(
            lambda f: _log.failure("watcher run failed", f))

    @inlineCallbacks
    def run(self, ignore_pause=False, wait=False,
            job_age=constants.JOB_AUTOARCHIVE_AGE):
        """
        One watcher run.

        :param ignore_pause: run even if paused.
        :param wait: answer once the run's jobs have ended, not once they
            are submitted (``--wait-children``).
        :param job_age: archive finished jobs older than this (seconds).
        :return: a Deferred firing with a report: ``paused`` (bool),
            ``archived`` (count), ``unreachable`` (node names), ``rapi``
            (True/False, None if not checked) and ``jobs`` (``[job id,
            what, status]``) and ``disk_checks`` (the verify-disks jobs, in
            the same form).
        """
        until = paused_until(self._ctx.paths, self._reactor.seconds())
        if until is not None and not ignore_pause:
            _log.info("watcher paused until {until}, not running", until=until)
            return {"paused": True, "until": until}
        yield self._lock.acquire()
        try:
            report = yield self._check(job_age)
        except BaseException:
            self._lock.release()
            raise
        checks = report.pop("pending")
        finished = DeferredList([self._follow(report["jobs"])] + checks,
                                consumeErrors=True)
        finished.addBoth(lambda _: self._lock.release())
        if wait:
            yield finished
        for key in ("jobs", "disk_checks"):
            report[key] = [[job_id, what, self._job_status(job_id)]
                           for job_id, what in report[key]]
        return report

    def _job_status(self, job_id):
        try:
            return self._ctx.queue.get(job_id).status
        except errors.JobLost:
            return None

    def _follow(self, jobs):
        """:return: a Deferred firing when all C{jobs} have ended, logged."""
        def ended(status, job_id, what):
            log = _log.info if status == "success" else _log.warn
            log("watcher job {job_id} ({what}) ended: {status}",
                job_id=job_id, what=what, status=status)
        waits = [self._ctx.queue.when_finalized(job_id).addCallback(
            ended, job_id, what) for job_id, what in jobs]
        return DeferredList(waits, consumeErrors=True)

    @inlineCallbacks
    def _check(self, job_age):
        ctx = self._ctx
        report = {"paused": False, "archived": 0, "unreachable": [],
                  "rapi": None, "jobs": [], "disk_checks": [], "pending": []}
        if not ctx.queue.running:
            return report
        report["archived"] = ctx.queue.auto_archive(job_age)[0]
        yield self._run_hooks()
        report["rapi"] = yield self._check_rapi()
        cfg = ctx.config.config
        boot_ids = yield self._boot_ids(cfg, report)
        live = yield live_instances(ctx, cfg)
        statuses = instance_query.Context(cfg, live)
        for group_uuid in sorted(cfg.nodegroups):
            handled = yield self._check_group(cfg, group_uuid, statuses,
                                              boot_ids, report)
            check = self._verify_disks(cfg.nodegroups[group_uuid], handled,
                                       report)
            report["pending"].append(check.addErrback(
                lambda f: _log.failure("watcher: verify-disks failed", f)))
        return report

    # --- hooks ----------------------------------------------------------------

    @inlineCallbacks
    def _run_hooks(self):
        """Run ``hooks/watcher/*`` one after the other, as run-parts does."""
        directory = os.path.join(self._ctx.paths.hooks_dir, "watcher")
        try:
            names = sorted(os.listdir(directory))
        except FileNotFoundError:
            return
        for name in names:
            path = os.path.join(directory, name)
            if not (_HOOK_NAME.match(name) and os.path.isfile(path)
                    and os.access(path, os.X_OK)):
                _log.debug("watcher hook {name}: skipped", name=name)
                continue
            try:
                result = yield run_command(self._reactor, [path],
                                           timeout=HOOK_TIMEOUT)
            except errors.GenericError as e:
                _log.warn("watcher hook {name}: error ({error})", name=name,
                          error=e)
                continue
            if result.failed:
                _log.warn("watcher hook {name}: {outcome}", name=name,
                          outcome=result.describe())

    # --- RAPI -----------------------------------------------------------------

    @inlineCallbacks
    def _check_rapi(self):
        """:return: (Deferred) whether the RAPI answered, None if none."""
        if self._rapi is None:
            return None
        from ganeti.rapi.client import RapiClient
        host, port = self._rapi
        with open(self._ctx.paths.rapi_pem, "rb") as f:
            pem = f.read()
        client = RapiClient(host, port, reactor=self._reactor, ca_pem=pem)
        try:
            version = yield client.GetVersion().addTimeout(RAPI_TIMEOUT,
                                                           self._reactor)
        except Exception as e:
            version = "no answer (%s)" % (e,)
        # Not in a finally: a generator collected mid-request must not
        # yield while it is being closed.
        yield client.close()
        if version != RAPI_VERSION:
            _log.critical("RAPI at {host}:{port} is not responding: {answer}."
                          " It runs inside the master daemon; please"
                          " investigate.", host=host, port=port, answer=version)
            return False
        return True

    # --- nodes ----------------------------------------------------------------

    @inlineCallbacks
    def _boot_ids(self, cfg, report):
        """
        Ask every online node for its boot id (node_info with no
        hypervisor), which also tells which nodes answer.

        :return: (Deferred) ``{node uuid: boot id}`` of the nodes that answered.
        """
        nodes = sorted((n for n in cfg.nodes.values() if not n.offline),
                       key=lambda n: n.name)
        results = yield self._ctx.rpc.call([node_address(n) for n in nodes],
                                           "node_info", [])
        boot_ids = {}
        for node in nodes:
            result = results[node.name]
            if not result.ok:
                _log.warn("watcher: node {node} does not answer: {error}",
                          node=node.name, error=result.fail_msg)
                report["unreachable"].append(node.name)
            elif (result.payload or {}).get("bootid"):
                boot_ids[node.uuid] = result.payload["bootid"]
        return boot_ids

    @staticmethod
    def _rebooted(nodes, boot_ids, state):
        """
        Compare the boot ids with those of the last run and remember the
        new ones.  A node seen for the first time is only recorded: the
        watcher cannot tell whether it just rebooted.

        :return: the uuids of the nodes that rebooted since.
        """
        rebooted = set()
        for node in nodes:
            new = boot_ids.get(node.uuid)
            if new is None:
                continue
            old = state.boot_id(node.name)
            if old is not None and old != new:
                _log.info("watcher: node {node} rebooted", node=node.name)
                rebooted.add(node.uuid)
            state.set_boot_id(node.name, new)
        return rebooted

    # --- one node group -------------------------------------------------------

    @inlineCallbacks
    def _check_group(self, cfg, group_uuid, statuses, boot_ids, report):
        paths = self._ctx.paths
        now = self._reactor.seconds()
        state = WatcherState(state_file(paths, group_uuid))
        nodes = [n for n in cfg.nodes.values() if n.group == group_uuid]
        members = {n.uuid for n in nodes}
        instances = sorted((i for i in cfg.instances.values()
                            if i.primary_node in members),
                           key=lambda i: i.name)
        status = {i.name: instance_query.status(statuses, i)
                  for i in instances}
        state.prune(set(status), now)
        handled = {i.name for i in instances
                   if self._restart(i, status[i.name], state, now, report)
                   or status[i.name] in HELPLESS}
        rebooted = self._rebooted(nodes, boot_ids, state)
        for inst in instances:
            if (rebooted and inst.disks_active
                    and inst.name not in handled
                    and rebooted & set(instance_nodes(cfg, inst))):
                handled.add(inst.name)
                self._submit(report["jobs"], "activate disks of instance %s"
                             % inst.name, _activate_disks(inst.name))
        yield state.save(self._write)
        yield self._write(atomic_write, instance_status_file(paths, group_uuid),
                          "".join("%s %s\n" % (name, status[name])
                                  for name in sorted(status)).encode("utf-8"))
        return handled

    def _restart(self, inst, status, state, now, report):
        """
        Restart C{inst} if it should run and does not, counting attempts.

        :return: True if a restart job was submitted.
        """
        name = inst.name
        attempts = state.restart_attempts(name)
        if status != "ERROR_down":
            if attempts:
                state.forget(name)
                if status not in HELPLESS:
                    _log.info("watcher: restart of {name} succeeded",
                              name=name)
            return False
        if attempts > MAXTRIES:
            _log.warn("watcher: not restarting {name}, retries exhausted",
                      name=name)
            return False
        state.record_restart(name, now)
        if attempts == MAXTRIES:
            _log.error("watcher: could not restart {name} after {tries}"
                       " attempts, giving up", name=name, tries=MAXTRIES)
            return False
        _log.info("watcher: restarting {name} (attempt #{attempt})",
                  name=name, attempt=attempts + 1)
        return self._submit(report["jobs"], "restart instance %s" % name,
                            {"OP_ID": "OP_INSTANCE_STARTUP",
                             "instance_name": name}) is not None

    @inlineCallbacks
    def _verify_disks(self, group, handled, report):
        """
        Check the disks of one group and activate those that need it, as
        Ganeti's watcher does: the check's job is waited for and archived,
        the activations go in one job.

        :param handled: names of instances this run already restarted or
            activated, or that nothing can be done about: left alone.
        :return: a Deferred firing once the jobs have ended.
        """
        queue = self._ctx.queue
        check = self._submit(report["disk_checks"], "verify disks of group %s"
                             % group.name,
                             {"OP_ID": "OP_GROUP_VERIFY_DISKS",
                              "group_name": group.name,
                              "priority": PRIORITY_LOW})
        if check is None:
            return
        status = yield queue.when_finalized(check)
        if status != "success":
            _log.warn("watcher: verify-disks of group {group} ended: {status}",
                      group=group.name, status=status)
            return
        [(_, inactive, _)] = queue.get(check).field("opresult")
        queue.archive(check)
        names = [name for name in inactive if name not in handled]
        if not names:
            return
        what = "activate disks of instance(s) %s" % ", ".join(names)
        job_id = self._submit(report["jobs"], what,
                              *[_activate_disks(name) for name in names])
        if job_id is not None:
            yield self._follow([[job_id, what]])

    def _submit(self, jobs, what, *ops):
        """
        Submit C{ops} as one job with the watcher's reason, and note it in
        C{jobs} as ``[job id, what]``.

        :return: the job id, or None if the queue refused it.
        """
        for op in ops:
            op["reason"] = [[REASON_SOURCE, what,
                             int(self._reactor.seconds() * 1e9)]]
        try:
            job_id = self._ctx.queue.submit(list(ops))
        except errors.GenericError as e:
            _log.error("watcher: could not submit a job to {what}: {error}",
                       what=what, error=e)
            return None
        jobs.append([job_id, what])
        return job_id


def _activate_disks(name):
    """:return: the opcode activating the disks of instance C{name}."""
    return {"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS", "instance_name": name}
