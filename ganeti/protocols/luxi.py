# -*- test-case-name: tests.test_luxi_contract -*-
"""
The master daemon's command set (LUXI), declared as an interface.

L{ILuxiHandler} is what the master's LUXI socket and its RAPI call; its
methods' names and arguments are the protocol.  The same calls as plain
data, L{ganeti.protocols.luxi_calls.METHODS}, are what the daemon binds to
``twisted.protocols.amp`` Commands (L{ganeti.protocols.jsonamp}) and what
the ``gnt-*`` tools send with a small blocking client
(L{ganeti.cli.client}), which imports neither the reactor nor
C{zope.interface}.  Method and argument names follow Ganeti's LUXI;
values are encoded by L{ganeti.protocols.boxes}.
"""

from zope.interface import Interface


class ILuxiHandler(Interface):
    """
    The master's answers, one method per LUXI call.

    Every method may return a Deferred.  Arguments come from outside, so
    a bad one fails with L{ganeti.errors.OpPrereqError}; an unknown job
    with L{ganeti.errors.JobLost}.
    """

    def SubmitJob(ops):
        """
        Queue a job made of the opcode dicts C{ops}.

        :return: its id, once its file is on disk and on the candidates.
        :raise JobQueueDrainError: while the queue is drained.
        """

    def SubmitJobToDrainedQueue(ops):
        """L{SubmitJob}, even while the queue is drained."""

    def SubmitManyJobs(jobs):
        """
        Queue several jobs (each a list of opcode dicts); negative
        dependencies refer to jobs earlier in C{jobs}.

        :return: ``[[True, job_id] | [False, error message], ...]``.
        """

    def WaitForJobChange(job_id, fields, prev_job_info, prev_log_serial,
                         timeout):
        """
        :return: ``[job_info, new_log_entries]`` as soon as the job's
            C{fields} differ from C{prev_job_info} or it logs past
            C{prev_log_serial}, or ``"nochange"`` after C{timeout} seconds.
        """

    def WaitForJobEvents(job_ids, after, timeout):
        """
        Not Ganeti's: the job events of L{ganeti.jobs.events}, as a long
        poll (``gnt-job watch``; the RAPI streams the same events).

        :param job_ids: the jobs to follow, or None for every job.
        :param after: the id of the last event seen, or None.
        :return: ``[{"id", "event", "data"}, ...]``, at once when events
            past C{after} exist, else the first ones within C{timeout}
            seconds, else an empty list.
        """

    def CancelJob(job_id, kill):
        """
        Cancel a queued or waiting job, or (C{kill}) kill a running one.

        :return: ``[success, message]``.
        """

    def ArchiveJob(job_id):
        """:return: whether the finished job was moved to the archive."""

    def AutoArchiveJobs(age, timeout):
        """
        Archive the jobs finished more than C{age} seconds ago (all
        finished ones for a negative age).

        :return: ``[archived_count, jobs_left]``.
        """

    def ChangeJobPriority(job_id, priority):
        """:return: ``[success, message]``."""

    def Query(what, fields, qfilter):
        """
        :param what: a resource (``job``, ``node``, ``instance``, ...).
        :return: ``{"fields": field definitions, "data": rows}``.
        """

    def QueryFields(what, fields):
        """:return: ``{"fields": definitions}`` of C{fields} (all if empty)."""

    def QueryJobs(job_ids, fields):
        """
        :return: a row of C{fields} per job (every unarchived job if
            C{job_ids} is empty), None for an unknown one.
        """

    def QueryClusterInfo():
        """:return: the ``gnt-cluster info`` dict."""

    def QueryConfigValues(fields):
        """:return: the values of C{fields} (``drain_flag``, ...), in order."""

    def QueryTags(kind, name):
        """:return: the sorted tags of the object (the cluster only)."""

    def QueryNodeDrbd(node):
        """
        :return: the DRBD minors the config gives a node, as rows
            C{[node, minor, instance, disk, role, peer]} (what Ganeti's
            confd answers to ``gnt-node list-drbd``).
        :raise OpPrereqError: if there is no such node.
        """

    def QueryFilters(uuids, fields):
        """:return: a row of C{fields} per job filter rule (all if None)."""

    def ReplaceFilter(uuid, priority, predicates, action, reason):
        """
        Add (C{uuid} None) or replace a job filter rule.

        :return: the rule's uuid.
        """

    def DeleteFilter(uuid):
        """Remove a job filter rule."""

    def SetDrainFlag(drain_flag):
        """Drain (refuse new jobs) or undrain the queue."""

    def SetWatcherPause(until):
        """
        Pause the watcher until the time C{until} (None: resume).

        :return: C{until}.
        """

    def RunWatcher(ignore_pause, wait, job_age):
        """:return: the report of one watcher run, made now."""

    def RenewCrypto(new_rapi_certificate, rapi_certificate):
        """
        Replace the RAPI certificate (a new one, or the PEM given) on
        every node.

        :return: ``{node: error}`` of the nodes not updated yet.
        """
