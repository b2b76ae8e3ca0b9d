# -*- test-case-name: tests.test_rapi -*-
"""
RAPI handlers for ``/2/jobs`` and ``/2/jobs/<id>[/wait]``: listing,
reading and cancelling jobs, and the long-poll for a job's changes.

Unlike the object families these talk to the job queue's calls
(``QueryJobs``, ``WaitForJobChange``) rather than to query2.
"""

from twisted.internet import defer

from ganeti.rapi.context import (
    HttpError, job_id_number, links, string_list)

#: Seconds a ``/2/jobs/<id>/wait`` long-poll waits (Ganeti's _WFJC_TIMEOUT).
WAIT_TIMEOUT = 10

J_FIELDS_BULK = ["id", "ops", "status", "summary", "opstatus", "received_ts",
                 "start_ts", "end_ts"]
J_FIELDS = J_FIELDS_BULK + ["oplog", "opresult"]


def _job_id(ctx):
    """
    The route takes ASCII digits only; a number too long for Python to
    convert names no job either.

    :raise HttpError: 404 for such a number.
    """
    try:
        return int(ctx.items[0])
    except ValueError:
        raise HttpError(404, "Job %s not found" % ctx.items[0][:40])


def get_jobs(ctx):
    bulk = ctx.bool_arg("bulk")
    fields = J_FIELDS_BULK if bulk else ["id"]
    d = defer.maybeDeferred(ctx.handler.QueryJobs, None, fields)

    def shape(rows):
        jobs = [dict(zip(fields, row)) for row in rows if row is not None]
        jobs.sort(key=lambda j: job_id_number(j["id"]))
        if bulk:
            return jobs
        return links("jobs", "id", [j["id"] for j in jobs])
    return d.addCallback(shape)


def get_job(ctx):
    job_id = _job_id(ctx)
    d = defer.maybeDeferred(ctx.handler.QueryJobs, [job_id], J_FIELDS)

    def shape(rows):
        if not rows or rows[0] is None:
            raise HttpError(404, "Job %s not found" % job_id)
        return dict(zip(J_FIELDS, rows[0]))
    return d.addCallback(shape)


def delete_job(ctx):
    return defer.maybeDeferred(ctx.handler.CancelJob, _job_id(ctx), False)


def get_job_wait(ctx):
    """
    Long-poll for a job change (Ganeti's ``WaitForJobChangeOnce``):
    ``null`` when nothing changed within L{WAIT_TIMEOUT} seconds.
    """
    job_id = _job_id(ctx)
    body = ctx.body_dict()
    fields = string_list(body.get("fields"),
                         "The 'fields' parameter should be a list")
    prev_info = body.get("previous_job_info")
    if not (prev_info is None or isinstance(prev_info, list)):
        raise HttpError(400, "The 'previous_job_info' parameter should be"
                        " a list")
    prev_serial = body.get("previous_log_serial")
    if not (prev_serial is None or (isinstance(prev_serial, int)
                                    and not isinstance(prev_serial, bool))):
        raise HttpError(400, "The 'previous_log_serial' parameter should be"
                        " a number")
    d = defer.maybeDeferred(ctx.handler.WaitForJobChange, job_id, fields,
                            prev_info, prev_serial, WAIT_TIMEOUT)

    def shape(result):
        if not result:
            raise HttpError(404, "Job %s not found" % job_id)
        if result == "nochange":
            return None
        job_info, log_entries = result
        return {"job_info": job_info, "log_entries": log_entries}
    return d.addCallback(shape)
