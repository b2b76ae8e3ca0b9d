# -*- test-case-name: tests.test_luxi_contract -*-
"""
What the master answers on its LUXI socket, one method per LUXI call.

The methods are those of L{ganeti.protocols.luxi.ILuxiHandler}; every
method may return a Deferred.  Argument types are checked here because
they come from outside.
"""

import time
import uuid as uuidlib

from zope.interface import implementer

from ganeti import errors, ht
from ganeti.cmdlib import cluster
from ganeti.jobs import filters
from ganeti.master import queries, renew_crypto, watcher
from ganeti.protocols.luxi import ILuxiHandler
from ganeti.query import export as export_query
from ganeti.query import filter as filter_query
from ganeti.query import instance as instance_query
from ganeti.query import job as job_query
from ganeti.query import network as network_query
from ganeti.query import node as node_query
from ganeti.utils.io import atomic_write, remove_file


_FIELDSETS = {
    "job": job_query.JOB_FIELDS,
    "lock": job_query.LOCK_FIELDS,
    "instance": instance_query.INSTANCE_FIELDS,
    "node": node_query.NODE_FIELDS,
    "os": node_query.OS_FIELDS,
    "group": node_query.GROUP_FIELDS,
    "filter": filter_query.FILTER_FIELDS,
    "export": export_query.EXPORT_FIELDS,
    "network": network_query.NETWORK_FIELDS,
}


def _require(check, value, name):
    if not check(value):
        raise errors.OpPrereqError(
            "Argument '%s' must be %s, got %r" % (name, check.description, value),
            "wrong_input")


@implementer(ILuxiHandler)
class LuxiHandler:
    """
    :param master: the L{ganeti.master.core.MasterCore} whose queue,
        configuration and locks it answers about.
    """

    def __init__(self, master):
        self._master = master
        self._queue = master.queue
        self._paths = master.paths

    @property
    def _config(self):
        return self._master.config.config

    @property
    def metrics(self):
        """
        The master's L{ganeti.metrics.master.MasterMetrics} (the RAPI's
        ``/metrics``), or None for a master without.
        """
        return getattr(self._master, "metrics", None)

    @property
    def consoles(self):
        """
        The master's L{ganeti.console.gateway.ConsoleGateway} (the RAPI's
        console tokens and WebSockets), or None for a master without.
        """
        return getattr(self._master, "consoles", None)

    # --- jobs ---------------------------------------------------------------

    def _acknowledged(self, job_ids, result):
        # A job id is given out only once the candidates have the job too.
        return self._queue.replicated(job_ids).addCallback(lambda _: result)

    def SubmitJob(self, ops):
        job_id = self._queue.submit(ops)
        return self._acknowledged([job_id], job_id)

    def SubmitJobToDrainedQueue(self, ops):
        job_id = self._queue.submit(ops, ignore_drain=True)
        return self._acknowledged([job_id], job_id)

    def SubmitManyJobs(self, jobs):
        _require(ht.TList, jobs, "jobs")
        results = self._queue.submit_many(jobs)
        return self._acknowledged([i for ok, i in results if ok], results)

    def WaitForJobChange(self, job_id, fields, prev_job_info, prev_log_serial,
                         timeout):
        _require(ht.TInt, job_id, "job_id")
        _require(ht.TListOf(ht.TString), fields, "fields")
        _require(ht.TNumber, timeout, "timeout")
        unknown = [f for f in fields if f not in job_query.JOB_FIELDS]
        if unknown:
            raise errors.OpPrereqError("Unknown job fields: %s"
                                       % ", ".join(unknown), "wrong_input")
        return self._queue.wait_for_change(job_id, fields, prev_job_info,
                                           prev_log_serial, timeout)

    @property
    def job_events(self):
        """The queue's L{ganeti.jobs.events.JobEvents} (the RAPI's stream)."""
        return self._queue.events

    def WaitForJobEvents(self, job_ids, after, timeout):
        _require(ht.TMaybe(ht.TListOf(ht.TInt)), job_ids, "job_ids")
        _require(ht.TMaybe(ht.TString), after, "after")
        _require(ht.TNumber, timeout, "timeout")
        d = self._queue.events.wait(after, job_ids, timeout)
        return d.addCallback(lambda events: [event._asdict()
                                             for event in events])

    def CancelJob(self, job_id, kill):
        _require(ht.TInt, job_id, "job_id")
        return self._queue.cancel(job_id, bool(kill))

    def ArchiveJob(self, job_id):
        _require(ht.TInt, job_id, "job_id")
        return self._queue.archive(job_id)

    def AutoArchiveJobs(self, age, timeout):
        _require(ht.TNumber, age, "age")
        return self._queue.auto_archive(age, timeout)

    def ChangeJobPriority(self, job_id, priority):
        _require(ht.TInt, job_id, "job_id")
        _require(ht.TIntInRange(-20, 19), priority, "priority")
        return self._queue.change_priority(job_id, priority)

    def QueryJobs(self, job_ids, fields):
        _require(ht.TMaybe(ht.TListOf(ht.TInt)), job_ids, "job_ids")
        _require(ht.TListOf(ht.TString), fields, "fields")
        if not job_ids:
            job_ids = self._queue.job_ids()
        result = []
        for job_id in job_ids:
            try:
                job = self._queue.get(job_id)
            except errors.JobLost:
                result.append(None)
                continue
            result.append([job.field(f) for f in fields])
        return result

    # --- queries ------------------------------------------------------------

    def _resource(self, what):
        fieldset = _FIELDSETS.get(what)
        if fieldset is None:
            raise errors.OpPrereqError("Resource type '%s' unknown" % (what,),
                                       "wrong_input")
        return fieldset

    def Query(self, what, fields, qfilter):
        _require(ht.TListOf(ht.TString), fields, "fields")
        self._resource(what)
        ctx = self._master.context
        if what == "job":
            return job_query.query_jobs(self._queue, fields, qfilter)
        if what == "instance":
            return queries.query_instances(ctx, fields, qfilter)
        if what == "node":
            return queries.query_nodes(ctx, fields, qfilter)
        if what == "os":
            return queries.query_os(ctx, fields, qfilter)
        if what == "group":
            return queries.query_groups(ctx, fields, qfilter)
        if what == "filter":
            return filter_query.query_filters(self._config, fields, qfilter)
        if what == "export":
            return queries.query_exports(ctx, fields, qfilter)
        if what == "network":
            return network_query.query_networks(self._config, fields, qfilter)
        return job_query.LOCK_FIELDS.query(
            None, self._master.locks.describe(), fields, qfilter)

    def QueryFields(self, what, fields):
        fieldset = self._resource(what)
        return {"fields": fieldset.fielddefs(fields or None)}

    def QueryClusterInfo(self):
        return cluster.cluster_info(self._config, self._paths)

    def QueryConfigValues(self, fields):
        _require(ht.TListOf(ht.TString), fields, "fields")
        result = []
        for name in fields:
            if name == "drain_flag":
                result.append(self._queue.drained)
            elif name == "watcher_pause":
                result.append(self._watcher_pause())
            elif name in cluster.CONFIG_VALUES:
                result.append(cluster.CONFIG_VALUES[name](self._config))
            else:
                raise errors.OpPrereqError("Unknown config value '%s'" % name,
                                           "wrong_input")
        return result

    def QueryNodeDrbd(self, node):
        _require(ht.TString, node, "node")
        return node_query.node_drbd_rows(self._config, node)

    def QueryTags(self, kind, name):
        if kind != "cluster":
            raise errors.OpPrereqError("Tags of %s objects are not supported"
                                       % kind, "wrong_input")
        return sorted(self._config.cluster.tags)

    # --- job filter rules ---------------------------------------------------

    def QueryFilters(self, uuids, fields):
        _require(ht.TMaybe(ht.TListOf(ht.TString)), uuids, "uuids")
        _require(ht.TListOf(ht.TString), fields, "fields")
        result = filter_query.query_filters(self._config, fields, uuids=uuids)
        return [[value for _, value in row] for row in result["data"]]

    def ReplaceFilter(self, uuid, priority, predicates, action, reason):
        """
        Add (C{uuid} None) or replace a rule; as in Ganeti the watermark
        becomes the highest job id so far and the trail gains a ``luxid``
        entry.  Queued jobs are judged again at once.

        :return: the rule's uuid.
        """
        if uuid is None:
            uuid = str(uuidlib.uuid4())
        rule = filters.make_rule(uuid, self._queue.last_job_id, priority,
                                 predicates, action, reason)
        now_ns = int(self._master.context.reactor.seconds() * 1e9)
        rule["reason_trail"].append(["luxid", "", now_ns])
        self._master.config.update(lambda cfg: filters.with_rule(cfg, rule))
        self._queue.filters_changed()
        return rule["uuid"]

    def DeleteFilter(self, uuid):
        _require(ht.TString, uuid, "uuid")
        self._master.config.update(lambda cfg: filters.without_rule(cfg, uuid))
        self._queue.filters_changed()
        return None

    # --- flags --------------------------------------------------------------

    def SetDrainFlag(self, drain_flag):
        _require(ht.TBool, drain_flag, "drain_flag")
        return self._queue.set_drain_flag(drain_flag)

    def _watcher_pause(self):
        return watcher.paused_until(self._paths, time.time())

    def SetWatcherPause(self, until):
        _require(ht.TMaybe(ht.TNumber), until, "until")
        if until is None:
            remove_file(watcher.pause_file(self._paths))
        else:
            atomic_write(watcher.pause_file(self._paths), b"%d\n" % int(until))
        return until

    def RunWatcher(self, ignore_pause, wait, job_age):
        """One watcher run now (``ganeti-watcher``); see L{watcher.Watcher.run}."""
        _require(ht.TBool, ignore_pause, "ignore_pause")
        _require(ht.TBool, wait, "wait")
        _require(ht.TMaybe(ht.TNumber), job_age, "job_age")
        kwargs = {} if job_age is None else {"job_age": job_age}
        return self._master.watcher.run(ignore_pause, wait, **kwargs)

    # --- crypto -------------------------------------------------------------

    def RenewCrypto(self, new_rapi_certificate, rapi_certificate):
        """
        ``gnt-cluster renew-crypto``'s RAPI certificate part (not a job:
        see L{renew_crypto}).

        :return: (Deferred) ``{node: error}`` of nodes not updated yet.
        """
        _require(ht.TBool, new_rapi_certificate, "new_rapi_certificate")
        _require(ht.TMaybe(ht.TString), rapi_certificate, "rapi_certificate")
        return renew_crypto.renew_rapi_certificate(
            self._paths, self._config.cluster.cluster_name,
            self._master.replicator, self._master.in_thread,
            new_rapi_certificate, rapi_certificate)
