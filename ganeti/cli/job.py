# -*- test-case-name: tests.test_cli_job -*-
"""
``gnt-job``: list, inspect, watch, cancel and archive jobs.
"""

from ganeti import errors
from ganeti.cli import base, jobs, listing, options
from ganeti.cli.options import Args, Command, opt
from ganeti.cli.info import format_generic_info, format_timestamp

DEFAULT_FIELDS = ["id", "status", "summary"]

_STATUS_FILTERS = {
    "pending": ["queued", "waiting", "canceling"],
    "queued": ["queued"],
    "waiting": ["waiting"],
    "running": ["running"],
    "error": ["error"],
    "finished": ["canceled", "success", "error"],
}

def _timestamps(values):
    return ",".join(format_timestamp(v) for v in values)


#: Field -> (formatter, align right), as Ganeti's gnt-job list shows them.
_LIST_FORMAT = {
    "summary": (",".join, False),
    "opstart": (_timestamps, False),
    "opexec": (_timestamps, False),
    "opend": (_timestamps, False),
}


def _status_filter(opts):
    statuses = getattr(opts, "status_filter", None)
    if statuses is None:
        return None
    return ["|"] + [["=", "status", s] for s in statuses]


def parse_job_ids(args):
    """:return: integer job ids; bad ones are an OpPrereqError as in Ganeti."""
    try:
        return [int(a) for a in args]
    except ValueError as e:
        raise errors.OpPrereqError("Invalid job ID passed: %s" % e, "wrong_input")


def list_jobs(opts, args):
    """``gnt-job list``."""
    from ganeti.cli import table
    fields = table.parse_fields(opts.output, DEFAULT_FIELDS)
    if opts.archived and "archived" not in fields:
        fields.append("archived")
    opts.output = ",".join(fields)
    qfilter = _status_filter(opts)
    ids = parse_job_ids(args) if not opts.force_filter else args
    if ids and not opts.force_filter:
        id_filter = ["|"] + [["=", "id", i] for i in ids]
        qfilter = id_filter if qfilter is None else ["&", id_filter, qfilter]
    return listing.generic_list(
        "job", args, opts, DEFAULT_FIELDS, name_field="id", is_numeric=True,
        qfilter=qfilter if (qfilter or not args) else None,
        format_override=_LIST_FORMAT)


def list_fields(opts, args):
    """``gnt-job list-fields``."""
    return listing.generic_list_fields("job", args, opts)


def _delta(start, end):
    return end[0] - start[0] + (end[1] - start[1]) / 1000000.0


def _job_timestamp(name, ts, prior=None):
    if ts is None:
        return (name, "unknown (%s)" % ts, "job_timestamp")
    delta = ""
    if prior is not None:
        delta = " (delta %.6fs)" % _delta(prior, ts)
    return (name, format_timestamp(ts) + delta, "job_timestamp")


def _op_timestamp(name, ts):
    text = format_timestamp(ts) if isinstance(ts, (list, tuple)) else "N/A"
    return (name, text, "opcode_timestamp")


def show_jobs(opts, args):
    """``gnt-job info``: every detail of the given (or all) jobs."""
    fields = ["id", "status", "ops", "opresult", "opstatus", "oplog",
              "opstart", "opexec", "opend", "received_ts", "start_ts", "end_ts"]
    ids = parse_job_ids(args)
    qfilter = ["|"] + [["=", "id", i] for i in ids] if ids else None
    result = base.get_client().call("Query", "job", fields, qfilter)
    found = {row[0][1]: row for row in result["data"]}
    infos = []
    for job_id in ids or sorted(found):
        row = found.get(job_id)
        if row is None:
            infos.append("Job ID %s not found" % job_id)
            continue
        (status, ops, opresult, opstatus, oplog, opstart, opexec, opend,
         received, started, ended) = [cell[1] for cell in row[1:]]
        info = [("Job ID", job_id), ("Status", status),
                _job_timestamp("Received", received),
                _job_timestamp("Processing start", started, received),
                _job_timestamp("Processing end", ended, started)]
        if ended is not None and received is not None:
            info.append(("Total processing time",
                         "%.6f seconds" % _delta(received, ended)))
        else:
            info.append(("Total processing time", "N/A"))
        opcodes = []
        for op, res, st, log, s_ts, x_ts, e_ts in zip(
                ops, opresult, opstatus, oplog, opstart, opexec, opend):
            opcodes.append([
                ("Opcode", op["OP_ID"]), ("Status", st),
                _op_timestamp("Processing start", s_ts),
                _op_timestamp("Execution start", x_ts),
                _op_timestamp("Processing end", e_ts),
                ("Input fields", op), ("Result", res),
                ("Execution log", [
                    [("Time", format_timestamp(ts)),
                     ("Content", (serial, log_type, str(message)))]
                    for serial, ts, log_type, message in log]),
            ])
        info.append(("Opcodes", opcodes))
        infos.append(info)
    base.to_stdout(format_generic_info(infos))
    return 0


def _follow(job_id, reporter, follow=jobs.poll_job):
    try:
        follow(job_id, reporter)
    except errors.GenericError as e:
        code, message = base.format_error(e)
        base.to_stderr("Job %s failed: %s" % (job_id, message))
        return code
    return 0


def watch_job(opts, args):
    """``gnt-job watch``: print the job's log as it grows."""
    (job_id,) = parse_job_ids(args)
    message = "Output from job %s follows" % job_id
    base.to_stdout(message)
    base.to_stdout("-" * len(message))
    return _follow(job_id, jobs.JobReporter(), jobs.follow_events)


def wait_job(opts, args):
    """``gnt-job wait``: wait silently for the job to end."""
    (job_id,) = parse_job_ids(args)
    return _follow(job_id, jobs.SilentReporter())


def _multi_job_action(opts, args, question, action):
    if bool(args) == (opts.status_filter is not None):
        raise errors.OpPrereqError("Either a status filter or job ID(s) must be"
                                   " specified and never both", "wrong_input")
    client = base.get_client()
    if opts.status_filter is not None:
        response = client.call("Query", "job", ["id", "status", "summary"],
                               _status_filter(opts))
        job_ids = [row[0][1] for row in response["data"]]
        if not job_ids:
            raise errors.OpPrereqError("No jobs with the requested status have"
                                       " been found", "wrong_state")
        if not opts.force:
            from ganeti.cli import table
            lines, _ = table.format_query_result(response,
                                                 format_override=_LIST_FORMAT)
            for line in lines:
                base.to_stdout(line)
            if not base.ask_user(question):
                return base.EXIT_CONFIRMATION
    else:
        job_ids = parse_job_ids(args)
    code = 0
    for job_id in job_ids:
        success, message = action(client, job_id)
        if not success:
            code = 1
        base.to_stdout(message)
    return code


def cancel_jobs(opts, args):
    """``gnt-job cancel``."""
    if opts.kill and not opts.yes_do_it:
        raise errors.OpPrereqError("The --kill option must be confirmed"
                                   " with --yes-do-it", "wrong_input")
    name = "KILL" if opts.kill else "Cancel"
    return _multi_job_action(
        opts, args, "%s job(s) listed above?" % name,
        lambda client, job_id: client.call("CancelJob", job_id, opts.kill))


def change_priority(opts, args):
    """``gnt-job change-priority``."""
    if opts.priority is None:
        base.to_stderr("--priority option must be given.")
        return 1
    priority = options.PRIORITIES[opts.priority]
    return _multi_job_action(
        opts, args, "Change priority of job(s) listed above?",
        lambda client, job_id: client.call("ChangeJobPriority", job_id, priority))


def archive_jobs(opts, args):
    """``gnt-job archive``."""
    client = base.get_client()
    code = 0
    for job_id in parse_job_ids(args):
        if not client.call("ArchiveJob", job_id):
            base.to_stderr("Failed to archive job with ID '%s'" % job_id)
            code = 1
    return code


def parse_timespec(text):
    """:return: seconds from ``30``, ``5m``, ``2h``, ``1d``, ``1w``."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if not text:
        raise errors.OpPrereqError("Empty time specification passed",
                                   "wrong_input")
    multiplier = units.get(text[-1])
    number = text[:-1] if multiplier else text
    try:
        return int(number) * (multiplier or 1)
    except ValueError:
        raise errors.OpPrereqError("Invalid time specification '%s'" % text,
                                   "wrong_input")


def autoarchive(opts, args):
    """``gnt-job autoarchive``."""
    age = -1 if args[0] == "all" else parse_timespec(args[0])
    archived, left = base.get_client().call("AutoArchiveJobs", age, None)
    base.to_stdout("Archived %s jobs, %s unchecked left" % (archived, left))
    return 0


def _status_opt(flag, statuses, text):
    return opt(flag, dest="status_filter", action="store_const",
               const=statuses, help=text)


_PENDING = _status_opt("--pending", _STATUS_FILTERS["pending"],
                       "Select jobs pending execution or being cancelled")
_QUEUED = _status_opt("--queued", _STATUS_FILTERS["queued"],
                      "Select queued jobs only")
_WAITING = _status_opt("--waiting", _STATUS_FILTERS["waiting"],
                       "Select waiting jobs only")
_RUNNING = _status_opt("--running", _STATUS_FILTERS["running"],
                       "Show jobs currently running only")
_ERROR = _status_opt("--error", _STATUS_FILTERS["error"],
                     "Show failed jobs only")
_FINISHED = _status_opt("--finished", _STATUS_FILTERS["finished"],
                        "Show finished jobs only")
_ARCHIVED = opt("--archived", action="store_true", default=False,
                help="Include archived jobs in list (slow and expensive)")
_KILL = opt("--kill", action="store_true", default=False,
            help="Kill running jobs with SIGKILL")

COMMANDS = {
    "list": Command(list_jobs, Args(0, None), options.LIST_OPTS + [
        _ARCHIVED, _RUNNING, _ERROR, _FINISHED, _PENDING],
        "[job_id...]",
        "Lists the jobs and their status. The available fields can be shown"
        " using the \"list-fields\" command (see the man page for details)."
        " The default field list is (in order): id, status, summary."),
    "list-fields": Command(list_fields, Args(0, None),
                           [options.NOHDR_OPT, options.SEP_OPT], "[fields...]",
                           "Lists all available fields for jobs"),
    "archive": Command(archive_jobs, Args(1, None), [], "<job-id> [<job-id> ...]",
                       "Archive specified jobs"),
    "autoarchive": Command(autoarchive, Args(1, 1), [], "<age>",
                           "Auto archive jobs older than the given age"),
    "cancel": Command(cancel_jobs, Args(0, None), [
        options.FORCE_OPT, _KILL, options.YES_DOIT_OPT, _PENDING, _QUEUED,
        _WAITING],
        "{[--force] [--kill --yes-do-it] {--pending | --queued | --waiting} |"
        " <job-id> [<job-id> ...]}", "Cancel jobs"),
    "info": Command(show_jobs, Args(0, None), [], "<job-id> [<job-id> ...]",
                    "Show detailed information about the specified jobs"),
    "wait": Command(wait_job, Args(1, 1), [], "<job-id>",
                    "Wait for a job to finish"),
    "watch": Command(watch_job, Args(1, 1), [], "<job-id>",
                     "Follows a job and prints its output as it arrives"),
    "change-priority": Command(change_priority, Args(0, None), [
        options.PRIORITY_OPT, options.FORCE_OPT, _PENDING, _QUEUED, _WAITING],
        "--priority <priority> {[--force] {--pending | --queued | --waiting} |"
        " <job-id> [<job-id> ...]}", "Change the priority of jobs"),
}

ALIASES = {"show": "info"}


def main():
    """Entry point of ``gnt-job``."""
    base.run(COMMANDS, ALIASES)
