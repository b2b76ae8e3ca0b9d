# -*- test-case-name: tests.test_cli_job -*-
"""
A ``gnt-*`` tool run without a master: the tests of every tool check the
opcodes a command line submits, what it prints and its exit code, and
none of that needs a daemon.

L{FakeLuxiClient} takes the place of the tool's master connection.  It
accepts only the methods and argument counts of L{ganeti.protocols.luxi_calls.METHODS}, the table
the real client and the master are built from, and its jobs finish at
once with canned results, in the shapes the master's answers have.
"""

import io
import sys

from ganeti import errors
from ganeti.cli import base
from ganeti.protocols import luxi_calls


def query_result(fields, rows):
    """
    :param fields: field names.
    :param rows: one list of values per row (all with a normal status).
    :return: a Query answer, as the master gives it.
    """
    return {"fields": [{"name": name, "title": name.capitalize(),
                        "kind": "text", "doc": ""} for name in fields],
            "data": [[[0, value] for value in row] for row in rows]}


class FakeLuxiClient:
    """
    Answers a tool's calls to the master at once.

    :ivar jobs: the opcode lists submitted, job id N at index N - 1.
    :ivar op_results: OP_ID -> what a submitted opcode returns: a value,
        an L{errors.GenericError} (the opcode fails with it), or a callable
        taking the opcode and returning either.  Unlisted opcodes return
        None.
    :ivar answers: method name -> the answer to any other call: a value or
        a callable taking the call's arguments.
    :ivar log: the log entries (``[serial, [sec, usec], type, message]``)
        every job shows while it is followed.
    """

    def __init__(self):
        self.calls = []
        self.jobs = []
        self.op_results = {}
        self.answers = {}
        self.log = []
        self._handlers = {"SubmitJob": self.add_job,
                          "SubmitManyJobs": self._submit_many,
                          "WaitForJobChange": self._wait_for_change}

    def call(self, method, *args):
        """
        :return: the answer to one call, as L{LuxiClient.call} would.
        :raise ProgrammerError: for an unknown method, a wrong number of
            arguments, or a call the test gave no answer for.
        """
        names = luxi_calls.METHODS.get(method)
        if names is None or len(args) != len(names):
            raise errors.ProgrammerError("Bad LUXI call %s%r" % (method, args))
        self.calls.append((method,) + args)
        if method in self.answers:
            answer = self.answers[method]
            return answer(*args) if callable(answer) else answer
        if method in self._handlers:
            return self._handlers[method](*args)
        raise errors.ProgrammerError("No answer for %s" % method)

    def submitted(self):
        """
        :return: every opcode submitted, in order, without its reason
            trail (it holds the time of the call).
        """
        return [{k: v for k, v in op.items() if k != "reason"}
                for ops in self.jobs for op in ops]

    def add_job(self, ops):
        """
        Queue a job, as a submission or a job that hands back jobs does.

        :return: its id.
        """
        self.jobs.append(ops)
        return len(self.jobs)

    def _submit_many(self, jobs):
        return [[True, self.add_job(ops)] for ops in jobs]

    def _result(self, op):
        result = self.op_results.get(op["OP_ID"])
        return result(op) if callable(result) else result

    def _wait_for_change(self, job_id, fields, prev_info, prev_serial,
                         timeout):
        statuses, results = [], []
        for op in self.jobs[job_id - 1]:
            result = self._result(op)
            if "error" in statuses:
                statuses.append("error")
                results.append(None)
            elif isinstance(result, errors.GenericError):
                statuses.append("error")
                results.append(result.to_wire())
            else:
                statuses.append("success")
                results.append(result)
        values = {"status": "error" if "error" in statuses else "success",
                  "opstatus": statuses, "opresult": results}
        entries = [entry for entry in self.log
                   if prev_serial is None or entry[0] > prev_serial]
        return [[values[field] for field in fields], entries]


class FakeTool:
    """
    Runs one tool's main loop (L{base.main}) on a L{FakeLuxiClient},
    capturing what it prints and answering its yes/no questions.

    :ivar client: the L{FakeLuxiClient}.
    :ivar questions: every question asked, in order.
    :ivar keys: the keys offered with each question (``["y", "n"]``).
    :ivar answers: keys to type, one per question, in order; when they
        run out, L{confirm} answers.
    :ivar confirm: the answer to every other question: True types ``y``,
        False ``n``.
    """

    def __init__(self, testcase, module):
        """
        :param testcase: the running test (its C{patch} undoes all this).
        :param module: the tool's module, e.g. L{ganeti.cli.node}.
        """
        self._testcase = testcase
        self._module = module
        self._binary = "gnt-" + module.__name__.rsplit(".", 1)[-1]
        self.client = FakeLuxiClient()
        self.questions = []
        self.keys = []
        self.answers = []
        self.confirm = True
        testcase.patch(base, "_client", self.client)
        testcase.patch(base, "ask_user", self._ask)

    def _ask(self, text, choices=None):
        choices = choices or base.YES_NO
        self.questions.append(text)
        self.keys.append([key for key, _, _ in choices])
        key = self.answers.pop(0) if self.answers else \
            ("y" if self.confirm else "n")
        return {k: value for k, value, _ in choices}[key]

    def run(self, *args):
        """
        :param args: the command line after the tool's name.
        :return: ``(exit code, stdout, stderr)``; a usage error that
            argparse reports (exit code 2) is returned too.
        """
        out, err = io.StringIO(), io.StringIO()
        argv = [self._binary] + list(args)
        patch = self._testcase.patch
        patch(sys, "stdout", out)
        patch(sys, "stderr", err)
        patch(sys, "argv", argv)
        try:
            code = base.main(self._module.COMMANDS,
                             getattr(self._module, "ALIASES", None), argv)
        except SystemExit as e:
            code = e.code
        return code, out.getvalue(), err.getvalue()

    def opcode(self, *args):
        """
        Run a command that must succeed and submit exactly one opcode.

        :return: that opcode, without its reason trail.
        """
        code, _, err = self.run(*args)
        self._testcase.assertEqual((code, err), (0, ""))
        [op] = self.client.submitted()
        return op
