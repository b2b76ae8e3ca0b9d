# -*- test-case-name: tests.test_cli_debug -*-
"""
``gnt-debug``: test opcodes, raw job submission, queue self-test, locks.
"""

import time

from ganeti import errors
from ganeti.cli import base, jobs, listing, options, parsing
from ganeti.utils import units
from ganeti.cli.options import Args, Command, opt


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
    jobs.submit_opcode(op, opts)
    return 0


def _test_disks(text):
    """``SIZE[:MODE],...`` (sizes with units) as allocator disks."""
    disks = []
    for item in text.split(","):
        size, _, mode = item.partition(":")
        try:
            disks.append({"size": units.parse_unit(size), "mode": mode or "rw"})
        except errors.UnitParseError:
            raise base.UsageError("Invalid disk specification '%s'" % item)
    return disks


def _test_nics(text):
    """``MAC/IP/LINK,...`` as allocator NICs (bridged)."""
    nics = []
    for item in text.split(","):
        mac, ip, link = (item.split("/") + ["", "", ""])[:3]
        nics.append({"mac": mac or "auto", "ip": ip or None,
                     "mode": "bridged", "link": link or None})
    return nics


def test_allocator(opts, args):
    """
    ``gnt-debug iallocator``: print the document an allocator would get
    (``--dir in``) or its raw answer (``--dir out``).
    """
    op = {"OP_ID": "OP_TEST_ALLOCATOR", "direction": opts.direction,
          "mode": opts.mode, "name": args[0], "iallocator": opts.iallocator,
          "memory": opts.memory, "vcpus": opts.vcpus, "os": opts.os_type,
          "disk_template": opts.disk_template,
          "disks": _test_disks(opts.disks) if opts.disks else [],
          "nics": _test_nics(opts.nics) if opts.nics else [],
          "tags": parsing.parse_comma_list(opts.tags),
          "instances": [args[0]], "evac_mode": opts.evac_mode,
          "target_groups": opts.target_groups,
          "spindle_use": opts.spindle_use, "count": opts.count}
    # Printed as Ganeti does, whatever the allocator answered (even nothing).
    base.to_stdout("%s" % (jobs.submit_opcode(op, opts),))
    return 0


def submit_job(opts, args):
    """
    ``gnt-debug submit-job``: submit the opcodes of JSON files, optionally
    many times, and report timings.
    """
    executor = jobs.JobExecutor(verbose=opts.verbose, opts=opts)
    job_count = op_count = 0
    if opts.timing_stats:
        base.to_stdout("Loading...")
    loaded = {}
    for path in args:
        ops = parsing.load_json_file(path)
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


class _TestReporter(jobs.JobReporter):
    """Prints log lines but collects the test messages instead."""

    def __init__(self):
        jobs.JobReporter.__init__(self)
        self.messages = []

    def log_message(self, job_id, entry):
        message = entry[3]
        if isinstance(message, str) and message.startswith(TEST_PREFIX):
            self.messages.append(message[len(TEST_PREFIX):])
        else:
            jobs.JobReporter.log_message(self, job_id, entry)


TEST_PREFIX = "TESTMSG="


def _expect_failure(description, call, *args):
    try:
        call(*args)
    except errors.GenericError:
        return
    raise errors.OpExecError("%s did not fail when it should" % description)


def _test_submission(client):
    base.to_stdout("Testing job submission")
    delay = {"OP_ID": "OP_TEST_DELAY", "duration": 0.001}
    for priority in (-21, -20, -11, -9, -1, 1, 9, 11, 19, 20):
        op = dict(delay, priority=priority)
        _expect_failure("Submitting opcode with priority %s" % priority,
                        client.call, "SubmitJob", [op])
        result = client.call("SubmitManyJobs", [[delay] * 3, [op]])
        if result[1][0]:
            raise errors.OpExecError("Submitting manyjobs with an incorrect one"
                                     " did not fail when it should.")
        for ok, job_id in result:
            if ok:
                jobs.poll_job(job_id, jobs.SilentReporter(), client)
    _expect_failure("Submitting a malformed opcode", client.call, "SubmitJob",
                    [{"OP_ID": "OP_TEST_DELAY", "duration": "soon"}])
    _expect_failure("Submitting an unknown opcode", client.call, "SubmitJob",
                    [{"OP_ID": "OP_NO_SUCH_OPCODE"}])
    base.to_stdout("Job submission tests were successful")


def _test_dependencies(client):
    base.to_stdout("Testing job dependencies")
    delay = {"OP_ID": "OP_TEST_DELAY", "duration": 0.1}
    _expect_failure("Submitting plain opcode with relative job ID",
                    client.call, "SubmitJob", [dict(delay, depends=[[-1, []]])])
    specs = [None, [[-1, []]], [[-2, ["success"]]], [], [[-2, ["success"]]]]
    result = client.call("SubmitManyJobs",
                         [[dict(delay, depends=deps)] for deps in specs])
    ids = [job_id for ok, job_id in result]
    if not all(ok for ok, _ in result):
        raise errors.OpExecError("Submitting the dependency jobs failed: %s"
                                 % result)
    for job_id in ids:
        jobs.poll_job(job_id, jobs.SilentReporter(), client)
    info = client.call("QueryJobs", ids, ["ops", "opexec"])
    resolved = [op[0]["depends"] for op, _ in info]
    wanted = [None, [[ids[0], []]], [[ids[0], ["success"]]], [],
              [[ids[2], ["success"]]]]
    if resolved != wanted:
        raise errors.OpExecError("Relative job dependencies were resolved to"
                                 " %s, expected %s" % (resolved, wanted))
    started = [opexec[0] for _, opexec in info]
    if not (started[0] <= started[1] and started[0] <= started[2]
            and started[2] <= started[4]):
        raise errors.OpExecError("Dependent jobs started before their"
                                 " dependencies: %s" % started)
    base.to_stdout("Job dependency tests were successful")


def _test_cancel(client):
    base.to_stdout("Testing job cancellation")
    blocker = client.call("SubmitJob", [{"OP_ID": "OP_TEST_DELAY",
                                         "duration": 0.5}])
    dependent = client.call("SubmitJob", [{"OP_ID": "OP_TEST_JQUEUE",
                                           "depends": [[blocker, ["success"]]]}])
    ok, message = client.call("CancelJob", dependent, False)
    jobs.poll_job(blocker, jobs.SilentReporter(), client)
    (status,) = client.call("QueryJobs", [dependent], ["status"])[0]
    if not ok or status != "canceled":
        raise errors.OpExecError("Cancelling a waiting job gave %r, status %s"
                                 % (message, status))
    base.to_stdout("Job cancellation tests were successful")


def _test_mode(client, title, count, fail_at, messages):
    base.to_stdout(title)
    ops = [{"OP_ID": "OP_TEST_JQUEUE", "log_messages": messages,
            "fail": index == fail_at} for index in range(count)]
    job_id = client.call("SubmitJob", ops)
    reporter = _TestReporter()
    try:
        results = jobs.poll_job(job_id, reporter, client)
    except errors.GenericError as e:
        if fail_at is None:
            raise
        base.to_stdout("Ignoring error for 'job fail' test: %s" % e)
    else:
        if fail_at is not None:
            raise errors.OpExecError("Job didn't fail when it should")
        if len(results) != count:
            raise errors.OpExecError("Received %s results (%s), expected %s"
                                     % (len(results), results, count))
    ran = count if fail_at is None else fail_at + 1
    if reporter.messages != messages * ran:
        raise errors.OpExecError(
            "Received test messages don't match input (input %r, received %r)"
            % (messages * ran, reporter.messages))
    status, opstatus = client.call("QueryJobs", [job_id],
                                   ["status", "opstatus"])[0]
    wanted = ["success"] * count if fail_at is None else (
        ["success"] * fail_at + ["error"] * (count - fail_at))
    if opstatus != wanted:
        raise errors.OpExecError("Opcode status is %s, expected %s"
                                 % (opstatus, wanted))


def test_jobqueue(opts, args):
    """
    ``gnt-debug test-jobqueue``: exercise the queue end to end: refused
    submissions, dependencies, cancellation, log messages and failures.
    """
    client = base.get_client()
    _test_submission(client)
    _test_dependencies(client)
    _test_cancel(client)
    messages = ["Hello World", "A", "", "B", "Foo|bar|baz",
                time.strftime("%Y-%m-%d_%H_%M_%S"), "x" * 70000]
    for title, count, fail_at in (("Testing job success", 1, None),
                                  ("Testing multiple successful opcodes", 2, None),
                                  ("Testing job failure", 1, 0),
                                  ("Testing partial job failure", 4, 2)):
        _test_mode(client, title, count, fail_at, messages)
    base.to_stdout("Job queue test successful")
    return 0


_LOCK_FORMAT = {
    "owner": (",".join, False),
    "pending": (lambda pending: ", ".join(
        "%s:%s" % (mode, ",".join(owners)) for mode, owners in pending), False),
}


def list_locks(opts, args):
    """``gnt-debug locks``."""
    return listing.generic_list("lock", args, opts,
                                ["name", "mode", "owner", "pending"],
                                format_override=_LOCK_FORMAT)


COMMANDS = {
    "iallocator": Command(test_allocator, Args(1, 1), [
        opt("--dir", dest="direction", default="in", choices=["in", "out"],
            help="Show the allocator's input (in) or run it (out)"),
        opt("-I", "--iallocator", "--algorithm", dest="iallocator",
            default=None, help="The allocator to run (with --dir out)"),
        opt("-m", "--mode", default="relocate",
            choices=["allocate", "relocate", "node-evacuate", "change-group"],
            help="The request type"),
        opt("--mem", dest="memory", type=int, default=128,
            help="Memory of the instance to allocate (MiB)"),
        opt("--disks", default="4096,4096",
            help="Disks of the instance to allocate: SIZE[:MODE],..."),
        opt("-t", "--disk-template", default=None,
            help="Disk template of the instance to allocate"),
        opt("--nics", default="00:11:22:33:44:55/192.0.2.2/",
            help="NICs of the instance to allocate: MAC/IP/LINK,..."),
        opt("-o", "--os-type", default=None, help="OS of the instance"),
        opt("--vcpus", type=int, default=1, help="VCPUs of the instance"),
        opt("--tags", default=None, help="Comma-separated instance tags"),
        opt("--evac-mode", default="all",
            choices=["primary-only", "secondary-only", "all"],
            help="Evacuation mode (node-evacuate)"),
        opt("--target-groups", action="append", default=[],
            help="Target groups (change-group)"),
        opt("--spindle-use", type=int, default=1, help="Spindles used"),
        opt("--count", type=int, default=1,
            help="How many instances to allocate"),
    ], "[opts...] <instance>", "Runs a test allocator request"),
    "delay": Command(delay, Args(1, 1), options.JOB_OPTS + [
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
        options.VERBOSE_OPT, options.PRINT_JOBID_OPT, options.PRIORITY_OPT,
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
    "locks": Command(list_locks, Args(0, 0), options.LIST_OPTS + [
        opt("--interval", type=int, default=None,
            help="Select interval in seconds")],
        "[--interval N]", "Show list of locks in the master daemon"),
}


#: Ganeti's other name of the command.
ALIASES = {"allocator": "iallocator"}


def main():
    """Entry point of ``gnt-debug``."""
    base.run(COMMANDS, ALIASES)
