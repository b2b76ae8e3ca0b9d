# -*- test-case-name: tests.test_jobqueue -*-
"""
Job and lock query fields (``gnt-job list``, ``gnt-debug locks``), and the
job query, which reads archived jobs only when it has to.
"""

from ganeti import errors
from ganeti.query import (Field, FieldSet, QFT_BOOL, QFT_NUMBER, QFT_OTHER,
                          QFT_TEXT, Unavailable)


def _job_field(name, title, kind, doc):
    return Field(name, title, kind, doc, lambda ctx, job: job.field(name))


JOB_FIELDS = FieldSet([
    _job_field("id", "ID", QFT_NUMBER, "Job ID"),
    _job_field("status", "Status", QFT_TEXT, "Job status"),
    _job_field("priority", "Priority", QFT_NUMBER,
               "Current job priority (19 to -20)"),
    _job_field("archived", "Archived", QFT_BOOL, "Whether job is archived"),
    _job_field("ops", "OpCodes", QFT_OTHER, "List of all opcodes"),
    _job_field("opresult", "OpCode_result", QFT_OTHER, "List of opcodes results"),
    _job_field("opstatus", "OpCode_status", QFT_OTHER, "List of opcodes status"),
    _job_field("oplog", "OpCode_log", QFT_OTHER, "List of opcode output logs"),
    _job_field("opstart", "OpCode_start", QFT_OTHER,
               "List of opcode start timestamps (before acquiring locks)"),
    _job_field("opexec", "OpCode_exec", QFT_OTHER,
               "List of opcode execution start timestamps (after acquiring"
               " locks)"),
    _job_field("opend", "OpCode_end", QFT_OTHER,
               "List of opcode execution end timestamps"),
    _job_field("oppriority", "OpCode_prio", QFT_OTHER, "List of opcode priorities"),
    _job_field("summary", "Summary", QFT_OTHER, "List of per-opcode summaries"),
    _job_field("received_ts", "Received", QFT_OTHER,
               "Timestamp of when job was received (tuple containing seconds"
               " and microseconds)"),
    _job_field("start_ts", "Start", QFT_OTHER,
               "Timestamp of job start (tuple containing seconds and"
               " microseconds)"),
    _job_field("end_ts", "End", QFT_OTHER,
               "Timestamp of job end (tuple containing seconds and"
               " microseconds)"),
], item_kind="Job")


def _or_unavailable(value):
    return value if value else Unavailable


LOCK_FIELDS = FieldSet([
    Field("name", "Name", QFT_TEXT, "Lock name", lambda ctx, lock: lock["name"]),
    Field("mode", "Mode", QFT_OTHER, "Mode in which the lock is currently acquired"
          " (exclusive or shared)",
          lambda ctx, lock: _or_unavailable(lock["mode"])),
    Field("owner", "Owner", QFT_OTHER, "Current lock owner(s)",
          lambda ctx, lock: _or_unavailable(["job/%s" % o for o in lock["owner"]])),
    Field("pending", "Pending", QFT_OTHER, "Jobs waiting for the lock",
          lambda ctx, lock: _or_unavailable(
              [[mode, ["job/%s" % o for o in owners]]
               for mode, owners in lock["pending"]])),
], item_kind="Lock")


def _mentions(qfilter, field):
    if isinstance(qfilter, list):
        if len(qfilter) > 1 and qfilter[1] == field:
            return True
        return any(_mentions(part, field) for part in qfilter[1:])
    return False


def _wanted_job_ids(qfilter):
    # Ganeti's tools select jobs as an "or" of id equalities; those jobs are
    # read even from the archive.
    if not isinstance(qfilter, list) or not qfilter:
        return None
    if qfilter[0] == "=" and qfilter[1] == "id" and isinstance(qfilter[2], int):
        return [qfilter[2]]
    if qfilter[0] == "|":
        ids = []
        for part in qfilter[1:]:
            found = _wanted_job_ids(part)
            if found is None:
                return None
            ids.extend(found)
        return ids
    return None


def query_jobs(queue, fields, qfilter):
    """
    Query jobs: unarchived ones, archived ones when the query asks about
    archiving, and any job named by id.
    """
    wanted = _wanted_job_ids(qfilter)
    if wanted is not None:
        ids = wanted
    else:
        archived = "archived" in fields or _mentions(qfilter, "archived")
        ids = queue.job_ids(archived=archived)
    jobs = []
    for job_id in ids:
        try:
            jobs.append(queue.get(job_id))
        except errors.JobLost:
            continue
    return JOB_FIELDS.query(None, jobs, fields, qfilter, name_field="id")
