"""
Tests for the watcher (L{ganeti.master.watcher}) on a one-node master with
the real node handler and the fake hypervisor, on a Clock, and for the
``ganeti-watcher`` command (L{ganeti.cli.watcher}).
"""

import io
import json
import os
import socket

import attrs
from twisted.internet import reactor
from twisted.internet.defer import fail, inlineCallbacks
from twisted.internet.task import deferLater
from twisted.logger import globalLogPublisher
from twisted.internet.testing import EventLoggingObserver
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti import crypto, errors
from ganeti.cli import base, watcher as cli_watcher
from ganeti.cmdlib.base import MasterContext
from ganeti.master import watcher as watchermod
from ganeti.master.luxi import LuxiHandler
from ganeti.master.watcher import MAXTRIES, Watcher
from ganeti.testing.process import ProcessClock
from tests.util import NODE2_NAME, SETTINGS, local_cluster, two_node_cluster

NAME = "inst1.example.com"
NODE = SETTINGS["node_name"]


def create(name=NAME, start=True):
    return {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name,
            "disk_template": "diskless", "disks": [], "nics": [{}],
            "pnode": NODE, "no_install": True, "hypervisor": "fake",
            "start": start}


class _WatcherCase:
    """A master with one running instance and a watcher on its Clock."""

    def make_master(self, master):
        self.master = master
        self.clock = master.clock
        self.queue = master.queue
        self.watcher = Watcher(master.context)
        self.group = next(iter(master.config.config.nodegroups))
        self.events = EventLoggingObserver.createWithCleanup(
            self, globalLogPublisher)

    def run_job(self, *ops):
        job = self.queue.get(self.queue.submit(list(ops)))
        self.assertEqual(job.status, "success", job.ops[-1].result)
        return job

    def kill(self, name=NAME):
        """Stop an instance behind the master's back."""
        os.unlink(os.path.join(self.master.paths.run_dir, "fake-hypervisor",
                               name))

    def run_watcher(self, **kwargs):
        return self.successResultOf(self.watcher.run(**kwargs))

    def state(self):
        path = os.path.join(self.master.paths.data_dir,
                            "watcher.%s.data" % self.group)
        with open(path) as f:
            return json.load(f)

    def instance_status(self):
        path = os.path.join(self.master.paths.data_dir,
                            "watcher.%s.instance-status" % self.group)
        with open(path) as f:
            return f.read()

    def logged(self, text):
        return [e for e in self.events
                if text in e.get("log_format", "")]


class RestartTests(_WatcherCase, SynchronousTestCase):
    """Instances that should run but do not are restarted, up to a limit."""

    def setUp(self):
        self.make_master(local_cluster(self))
        self.run_job(create())

    def test_restarts_error_down(self):
        """
        An instance stopped behind the master's back is restarted by an
        OP_INSTANCE_STARTUP job whose reason source is gnt:watcher; the
        attempt is counted, and forgotten once the instance runs.
        """
        self.kill()
        report = self.run_watcher()
        [(job_id, what, status)] = report["jobs"]
        self.assertEqual((what, status), ("restart instance %s" % NAME,
                                          "success"))
        op = self.queue.get(job_id).ops[0].input
        self.assertEqual(op["OP_ID"], "OP_INSTANCE_STARTUP")
        self.assertEqual(op["reason"][0][0], "gnt:watcher")
        self.assertEqual(self.state()["instance"][NAME]["restart_count"], 1)
        self.assertEqual(self.instance_status(), "%s ERROR_down\n" % NAME)
        report = self.run_watcher()
        self.assertEqual(report["jobs"], [])
        self.assertEqual(self.state()["instance"], {})
        self.assertEqual(self.instance_status(), "%s running\n" % NAME)
        self.assertTrue(self.logged("restart of {name} succeeded"))

    def test_gives_up_after_maxtries(self):
        """
        A restart that keeps failing is tried MAXTRIES times; the next run
        logs that it gives up, later ones submit nothing, and the counter
        survives a new watcher (it is in the state file).
        """
        handler = self.master.context.rpc.handlers[NODE]
        handler.instance_start = lambda **kwargs: fail(
            errors.HypervisorError("refused"))
        self.kill()
        for attempt in range(1, MAXTRIES + 1):
            [(_, _, status)] = self.run_watcher()["jobs"]
            self.assertEqual(status, "error")
            self.assertEqual(self.state()["instance"][NAME]["restart_count"],
                             attempt)
        self.assertEqual(self.run_watcher()["jobs"], [])
        self.assertEqual(len(self.logged("giving up")), 1)
        self.watcher = Watcher(self.master.context)
        self.assertEqual(self.run_watcher()["jobs"], [])
        self.assertTrue(self.logged("retries exhausted"))
        self.assertEqual(len(self.logged("giving up")), 1)

    def test_counter_expires(self):
        """After eight hours a given-up instance gets new attempts."""
        handler = self.master.context.rpc.handlers[NODE]
        handler.instance_start = lambda **kwargs: fail(
            errors.HypervisorError("refused"))
        self.kill()
        for _ in range(MAXTRIES + 1):
            self.run_watcher()
        self.clock.advance(8 * 3600 + 1)
        self.assertEqual(len(self.run_watcher()["jobs"]), 1)

    def test_paused(self):
        """
        A paused watcher does nothing (no job, no file) unless told to
        ignore the pause.
        """
        self.kill()
        with open(watchermod.pause_file(self.master.paths), "w") as f:
            f.write("%d\n" % (self.clock.seconds() + 3600))
        self.assertEqual(self.run_watcher(), {"paused": True,
                                              "until": 3600.0})
        self.assertFalse(os.path.exists(os.path.join(
            self.master.paths.data_dir, "watcher.%s.data" % self.group)))
        report = self.run_watcher(ignore_pause=True)
        self.assertEqual(len(report["jobs"]), 1)
        self.clock.advance(3601)
        self.assertFalse(self.run_watcher()["paused"])

    def test_instance_status_file(self):
        """The per-group status file has one "name status" line each."""
        self.run_job(create("inst0.example.com", start=False))
        self.run_watcher()
        self.assertEqual(self.instance_status(),
                         "inst0.example.com ADMIN_down\n"
                         "%s running\n" % NAME)

    def test_archives_old_jobs(self):
        """Finished jobs older than the job age are archived by a run."""
        self.clock.advance(6 * 3600 + 1)
        self.assertEqual(self.run_watcher()["archived"], 1)
        self.assertEqual(self.run_watcher(job_age=-1)["archived"], 0)

    def test_drained_queue(self):
        """A queue that refuses jobs is logged; the attempt still counts."""
        self.kill()
        self.queue.set_drain_flag(True)
        self.assertEqual(self.run_watcher()["jobs"], [])
        self.assertTrue(self.logged("could not submit"))
        self.assertEqual(self.state()["instance"][NAME]["restart_count"], 1)

    def test_one_run_at_a_time(self):
        """
        A run holds the watcher until its jobs end: the timer skips a tick
        meanwhile, and a second run waits for the first.
        """
        self.kill()
        handler = self.master.context.rpc.handlers[NODE]
        start = handler.instance_start
        handler.instance_start = lambda **kwargs: deferLater(
            self.clock, 10, start, **kwargs)
        first = self.watcher.run()
        self.assertEqual(len(self.successResultOf(first)["jobs"]), 1)
        self.watcher.run_periodic()
        self.assertTrue(self.logged("previous run still busy"))
        second = self.watcher.run(wait=True)
        self.assertNoResult(second)
        self.clock.advance(10)
        self.assertEqual(self.successResultOf(second)["jobs"], [])
        self.assertEqual(self.state()["instance"], {})


class RebootTests(_WatcherCase, SynchronousTestCase):
    """A node whose boot id changed gets its instances' disks activated."""

    def setUp(self):
        self.make_master(local_cluster(self))
        self.boot_id = self.mktemp()
        self.set_boot_id("boot-1")
        self.master.context.rpc.handlers[NODE].boot_id_file = self.boot_id

    def set_boot_id(self, value):
        with open(self.boot_id, "w") as f:
            f.write(value + "\n")

    def test_reboot_activates_disks(self):
        """
        An instance with active disks on a rebooted node gets an
        OP_INSTANCE_ACTIVATE_DISKS job; the first run only records.
        """
        self.run_job(create(start=False))
        self.run_job({"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS",
                      "instance_name": NAME})
        self.assertEqual(self.run_watcher()["jobs"], [])
        self.assertEqual(self.state()["node"], {NODE: {"bootid": "boot-1"}})
        self.set_boot_id("boot-2")
        [(job_id, what, status)] = self.run_watcher()["jobs"]
        self.assertEqual(status, "success")
        op = self.queue.get(job_id).ops[0].input
        self.assertEqual(op["OP_ID"], "OP_INSTANCE_ACTIVATE_DISKS")
        self.assertEqual(op["reason"][0][0], "gnt:watcher")
        self.assertEqual(self.run_watcher()["jobs"], [])

    def test_restarted_not_activated(self):
        """An instance restarted by the run needs no separate activation."""
        self.run_job(create())
        self.run_watcher()
        self.set_boot_id("boot-2")
        self.kill()
        [(_, what, _)] = self.run_watcher()["jobs"]
        self.assertEqual(what, "restart instance %s" % NAME)


class NodeTests(_WatcherCase, SynchronousTestCase):
    """Nodes that do not answer are reported; their instances left alone."""

    def test_unreachable_node(self):
        """A node that does not answer is named and logged."""
        master = two_node_cluster(self)
        self.make_master(master)
        master.handlers[NODE2_NAME] = None
        report = self.run_watcher()
        self.assertEqual(report["unreachable"], [NODE2_NAME])
        self.assertTrue(self.logged("does not answer"))


class VerifyDisksTests(_WatcherCase, TestCase):
    """Each group's disks are checked; reported ones get activated."""

    def setUp(self):
        self.make_master(two_node_cluster(self, reactor=reactor))

    @inlineCallbacks
    def test_activates_reported_disks(self):
        """
        A running instance whose disks are not recorded active is reported
        by the low-priority OP_GROUP_VERIFY_DISKS job, which is archived,
        and a watcher job activates its disks.
        """
        op = dict(create(), disk_template="file", disks=[{"size": 1}])
        yield self.queue.when_finalized(self.queue.submit([op]))

        def disks_off(cfg):
            inst = cfg.instance_by_name(NAME)
            return attrs.evolve(cfg, instances=dict(cfg.instances, **{
                inst.uuid: attrs.evolve(inst, disks_active=False)}))
        self.master.config.update(disks_off)
        report = yield self.watcher.run(wait=True)
        [(check_id, what, status)] = report["disk_checks"]
        self.assertEqual(status, "success")
        check = self.queue.get(check_id)
        self.assertEqual(check.ops[0].input["OP_ID"], "OP_GROUP_VERIFY_DISKS")
        self.assertEqual(check.ops[0].input["priority"], 10)
        self.assertFalse(os.path.exists(self.master.paths.job_file(check_id)))
        [(_, what, status)] = report["jobs"]
        self.assertEqual((what, status), ("activate disks of instance(s) %s"
                                          % NAME, "success"))
        self.assertTrue(
            self.master.config.config.instance_by_name(NAME).disks_active)
        report = yield self.watcher.run(wait=True)
        self.assertEqual(report["jobs"], [])


class HookTests(_WatcherCase, SynchronousTestCase):
    """The executables of hooks/watcher/ run, one after the other."""

    def test_hooks_run(self):
        """
        Executables with run-parts names run in order; other files are
        skipped; the run waits for them.
        """
        clock = ProcessClock()
        self.make_master(local_cluster(self, clock=clock))
        directory = os.path.join(self.master.paths.hooks_dir, "watcher")
        os.makedirs(directory)
        for name, mode in (("20-second", 0o755), ("10-first", 0o755),
                           ("backup~", 0o755), ("30-not-executable", 0o644)):
            path = os.path.join(directory, name)
            with open(path, "w") as f:
                f.write("#!/bin/sh\n")
            os.chmod(path, mode)
        d = self.watcher.run()
        [first] = clock.processes
        self.assertEqual(first.argv[0], os.path.join(directory, "10-first"))
        self.assertNoResult(d)
        first.exit(1)
        clock.advance(0)
        second = clock.processes[1]
        self.assertEqual(second.argv[0], os.path.join(directory, "20-second"))
        second.exit(0)
        clock.advance(0)
        self.successResultOf(d)
        self.assertEqual(len(clock.processes), 2)
        self.assertTrue(self.logged("watcher hook {name}: {outcome}"))


class RapiCheckTests(TestCase):
    """The run asks the RAPI for its version (real reactor: real TCP)."""

    def test_rapi_down_logged(self):
        """A RAPI that does not answer is logged as critical."""
        master = local_cluster(self)
        with open(master.paths.rapi_pem, "wb") as f:
            f.write(crypto.generate_self_signed_pem(bits=1024))
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        ctx = MasterContext(master.config, master.paths, reactor,
                            master.queue, master.context.rpc)
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        d = Watcher(ctx, rapi=("127.0.0.1", port)).run()

        def check(report):
            self.assertIs(report["rapi"], False)
            [event] = [e for e in events
                       if "RAPI at" in e.get("log_format", "")]
            self.assertEqual(event["log_level"].name, "critical")
            self.assertEqual(event["port"], port)
        return d.addCallback(check)


class LuxiTests(SynchronousTestCase):
    """RunWatcher on the master's LUXI handler."""

    def test_run_watcher(self):
        """RunWatcher runs the watcher with the given options."""
        master = local_cluster(self)
        master.watcher = Watcher(master.context)
        handler = LuxiHandler(master)
        report = self.successResultOf(handler.RunWatcher(False, True, None))
        self.assertEqual(report["jobs"], [])
        self.assertRaises(errors.OpPrereqError, handler.RunWatcher,
                          "yes", True, None)


class CommandTests(SynchronousTestCase):
    """The ganeti-watcher command."""

    def setUp(self):
        self.stderr = io.StringIO()
        self.patch(base.sys, "stderr", self.stderr)
        self.calls = []
        master = local_cluster(self)
        self.patch(base, "get_paths", lambda: master.paths)
        self.patch(cli_watcher.netutils, "local_node_name", lambda paths: NODE)

        class Client:
            def call(client, method, *args):
                self.calls.append((method,) + args)
                return self.answer
        self.patch(base, "get_client", Client)

    def test_paused(self):
        """When paused, -d says so and the exit code is 0."""
        self.answer = {"paused": True, "until": 5.0}
        self.assertEqual(cli_watcher.main(["-d", "--job-age", "1h"]), 0)
        self.assertEqual(self.calls, [("RunWatcher", False, False, 3600)])
        self.assertEqual(self.stderr.getvalue(), "Pause has been set, exiting\n")

    def test_report(self):
        """-d shows the run's report; without it the command is quiet."""
        self.answer = {"paused": False, "archived": 2, "unreachable": ["n2"],
                       "rapi": False, "jobs": [[7, "restart instance i1",
                                                "success"]]}
        self.assertEqual(cli_watcher.main(["--ignore-pause",
                                           "--wait-children"]), 0)
        self.assertEqual(self.calls, [("RunWatcher", True, True, None)])
        self.assertEqual(self.stderr.getvalue(), "")
        cli_watcher.main(["-d"])
        self.assertEqual(self.stderr.getvalue().splitlines(), [
            "Archived 2 jobs", "Node n2 does not answer",
            "RAPI is not responding. Please investigate.",
            "Job 7 (restart instance i1): success"])

    def test_not_master(self):
        """On a node that is not the master it exits 0 without asking."""
        self.patch(cli_watcher.netutils, "local_node_name",
                   lambda paths: "other.example.com")
        self.assertEqual(cli_watcher.main([]), 0)
        self.assertEqual(self.calls, [])
