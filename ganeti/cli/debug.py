# -*- test-case-name: tests.test_cli_debug -*-
"""
``gnt-debug``: test opcodes, raw job submission, queue self-test, locks.
"""

import time

from ganeti import errors
from ganeti.cli import base
from ganeti.cli.base import Args, Command, opt


def delay(opts, args):
    """``gnt-debug delay``: an OP_TEST_DELAY job."""
    try:
        duration = float(args[0])
    except ValueError:
        raise base.UsageError("Invalid duration '%s': expected seconds"
                              % args[0])
    op = {"OP_ID": "OP_TEST_DELAY", "duration": duration,
          "on_master": opts.on_master, "on_nodes": opts.on_nodes,
          "repeat": opts.repeat, "interruptible": opts.interruptible,
          "no_locks": opts.no_locks}
    base.submit_opcode(op, opts)
    return 0


def submit_job(opts, args):
    """
    ``gnt-debug submit-job``: submit the opcodes of JSON files, optionally
    many times, and report timings.
    """
    executor = base.JobExecutor(verbose=opts.verbose, opts=opts)
    job_count = op_count = 0
    if opts.timing_stats:
        base.to_stdout("Loading...")
    loaded = {}
    for path in args:
        ops = base.load_json_file(path)
        if not isinstance(ops, list) or not all(isinstance(o, dict) for o in ops):
            raise base.UsageError("%s must hold a JSON list of opcodes" % path)
        loaded[path] = ops
    for index in range(opts.rep_job):
        for path in args:
            ops = [dict(op) for op in loaded[path]] * opts.rep_op
            ops = [dict(op) for op in ops]
            executor.queue_job("file %s/%d" % (path, index), *ops)
            op_count += len(ops)
            job_count += 1
    if opts.timing_stats:
        t1 = time.time()
        base.to_stdout("Submitting...")
    executor.submit_pending(each=opts.each)
    if opts.timing_stats:
        t2 = time.time()
        base.to_stdout("Executing...")
    results = executor.get_results()
    if opts.timing_stats:
        t3 = time.time()
        base.to_stdout("C:op     %4d" % op_count)
        base.to_stdout("C:job    %4d" % job_count)
        base.to_stdout("T:submit %4.4f" % (t2 - t1))
        base.to_stdout("T:exec   %4.4f" % (t3 - t2))
        base.to_stdout("T:total  %4.4f" % (t3 - t1))
    return 0 if all(ok for ok, _ in results) else 1


def _job_log(client, job_id):
    info = client.call("QueryJobs", [job_id], ["oplog"])[0]
    return [entry[3] for oplog in info[0] for entry in oplog]


def test_jobqueue(opts, args):
    """
    ``gnt-debug test-jobqueue``: exercise the queue end to end (log
    messages, failures, cancellation, dependencies) and say what broke.
    """
    client = base.get_client()
    checks = []

    def check(description, condition):
        checks.append((description, bool(condition)))
        base.to_stdout("%s: %s" % ("OK  " if condition else "FAIL", description))

    def run(ops, **kw):
        job_id = client.call("SubmitJob", [dict(op, **kw) for op in ops])
        try:
            return job_id, base.poll_job(job_id, base.SilentReporter()), None
        except errors.GenericError as e:
            return job_id, None, e

    base.to_stdout("Testing job queue")
    messages = ["Hello World", "Job queue test %s" % time.time(), "x" * 70000]
    job_id, result, err = run([{"OP_ID": "OP_TEST_JQUEUE",
                                "log_messages": messages}])
    check("a job with log messages succeeds", err is None and result == [True])
    check("its log messages arrive in order and complete",
          _job_log(client, job_id) == messages)

    _, _, err = run([{"OP_ID": "OP_TEST_JQUEUE", "fail": True}])
    check("a failing opcode fails its job with the opcode's error",
          isinstance(err, errors.OpExecError)
          and "failure was requested" in str(err))

    job_id, _, err = run([{"OP_ID": "OP_TEST_JQUEUE"},
                          {"OP_ID": "OP_TEST_JQUEUE", "fail": True},
                          {"OP_ID": "OP_TEST_JQUEUE"}])
    statuses = client.call("QueryJobs", [job_id], ["opstatus"])[0][0]
    check("opcodes after a failed one are marked failed",
          statuses == ["success", "error", "error"])

    blocker = client.call("SubmitJob", [{"OP_ID": "OP_TEST_DELAY",
                                         "duration": 1.0}])
    dependent = client.call("SubmitJob", [{"OP_ID": "OP_TEST_JQUEUE",
                                           "depends": [[blocker, ["success"]]]}])
    cancelled = client.call("CancelJob", dependent, False)
    check("a job waiting for a dependency can be cancelled", cancelled[0])
    base.poll_job(blocker, base.SilentReporter())
    final = client.call("QueryJobs", [dependent], ["status"])[0][0]
    check("the cancelled job ends canceled", final == "canceled")

    first = client.call("SubmitJob", [{"OP_ID": "OP_TEST_JQUEUE"}])
    second = client.call("SubmitJob", [{"OP_ID": "OP_TEST_JQUEUE",
                                        "depends": [[first, ["error"]]]}])
    _, _, err = run([{"OP_ID": "OP_TEST_JQUEUE"}])
    try:
        base.poll_job(second, base.SilentReporter())
        dep_err = None
    except errors.GenericError as e:
        dep_err = e
    check("a dependency that ends in the wrong status fails the job",
          isinstance(dep_err, errors.OpExecError))

    _, _, err = run([{"OP_ID": "OP_TEST_DELAY", "duration": "soon"}])
    check("a malformed opcode is refused", False)
    return 0 if all(ok for _, ok in checks) else 1


def list_locks(opts, args):
    """``gnt-debug locks``."""
    return base.generic_list("lock", None, args, opts,
                             ["name", "mode", "owner", "pending"])


COMMANDS = {
    "delay": Command(delay, Args(1, 1), base.JOB_OPTS + [
        opt("--no-master", dest="on_master", action="store_false", default=True,
            help="Do not sleep in the master code"),
        opt("-n", "--node", dest="on_nodes", action="append", default=[],
            help="Select nodes to sleep on"),
        opt("-r", "--repeat", type=int, default=0,
            help="Number of times to repeat the sleep"),
        opt("-i", "--interruptible", action="store_true", default=False,
            help="Allows the opcode to be interrupted by using a domain socket"),
        opt("--no-locks", action="store_true", default=False,
            help="Don't take locks while sleeping"),
    ], "[opts...] <duration>", "Executes a TestDelay OpCode"),
    "submit-job": Command(submit_job, Args(1, None), [
        base.VERBOSE_OPT, base.PRINT_JOBID_OPT, base.PRIORITY_OPT,
        opt("--op-repeat", type=int, default=1, dest="rep_op",
            help="Repeat the opcode sequence this number of times"),
        opt("--job-repeat", type=int, default=1, dest="rep_job",
            help="Repeat the job this number of times"),
        opt("--timing-stats", action="store_true", default=False,
            help="Show timing statistics"),
        opt("--each", action="store_true", default=False,
            help="Submit each job separately"),
    ], "<op_list_file...>",
        "Submits jobs built from json files containing a list of serialized"
        " opcodes"),
    "test-jobqueue": Command(test_jobqueue, Args(0, 0), [], "",
                             "Test a few aspects of the job queue"),
    "locks": Command(list_locks, Args(0, 0), base.LIST_OPTS + [
        opt("--interval", type=int, default=None,
            help="Select interval in seconds")],
        "[--interval N]", "Show list of locks in the master daemon"),
}


def main():
    """Entry point of ``gnt-debug``."""
    base.run(COMMANDS)
