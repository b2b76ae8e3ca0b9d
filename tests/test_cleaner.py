"""
Tests for the cleaner: what expires on the master and on the nodes
(L{ganeti.cleaner}), its daily service (L{ganeti.cleaner_service}) and
the ``ganeti-cleaner`` command (L{ganeti.cli.cleaner}).

Real files below temporary roots; the time is a L{Clock}'s, and the
files' ages are set with C{os.utime} relative to it.
"""

import io
import os
import subprocess
import sys

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

import ganeti
from ganeti import cleaner, errors
from ganeti.cleaner_service import FIRST_PASS, INTERVAL, CleanerService
from ganeti.cli import base, cleaner as cli_cleaner
from ganeti.master.replication import Replicator
from ganeti.node.handler import NodeHandler
from ganeti.query.job import query_jobs
from tests.util import NODE2_NAME, Master, make_paths, two_node_cluster

#: The clock's time in these tests (seconds since the epoch).
NOW = 2000000000.0

DAY = cleaner.DAY

_BIN = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(ganeti.__file__))), "bin", "ganeti-cleaner")


def jqueue():
    return {"OP_ID": "OP_TEST_JQUEUE"}


def age(path, days):
    """Make C{path} C{days} days old at L{NOW}."""
    when = NOW - days * DAY
    os.utime(path, (when, when))


def touch(path, days, data=b"x"):
    """Create C{path} (and its directory), C{days} days old."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    age(path, days)
    return path


def in_cluster(paths):
    """Give a bare node root the ssconf file a cluster member has."""
    with open(paths.ssconf("master_node"), "w") as f:
        f.write("node1.example.com\n")


def clock_at_now():
    clock = Clock()
    clock.advance(NOW)
    return clock


def listed_ids(result):
    """:return: the job ids of a job query's rows (first field: id)."""
    return [row[0][1] for row in result["data"]]


class MasterPassTests(SynchronousTestCase):
    """The master pass prunes the job archive by age, nothing else."""

    def setUp(self):
        self.clock = clock_at_now()
        self.master = Master(self, clock=self.clock)
        self.queue = self.master.queue
        self.paths = self.master.paths

    def archived(self, days):
        """:return: the id of a finished job archived C{days} days ago."""
        job_id = self.queue.submit([jqueue()])
        self.assertTrue(self.queue.archive(job_id))
        age(self.paths.archived_job_file(job_id), days)
        return job_id

    def run_pass(self):
        service = CleanerService("master", self.paths, self.clock)
        return self.successResultOf(service.run())

    def test_old_go_young_stay(self):
        """Archived jobs older than 21 days disappear from the archive, from
        C{gnt-job list --archived} and from C{gnt-job info}; younger ones
        and unarchived ones (however old their file) stay."""
        old = self.archived(30)
        just_over = self.archived(21.01)
        young = self.archived(20)
        unarchived = self.queue.submit([jqueue()])
        age(self.paths.job_file(unarchived), 400)
        report = self.run_pass()
        self.assertEqual(sorted(report.removed), sorted(
            self.paths.archived_job_file(i) for i in (old, just_over)))
        self.assertEqual(report.failed, [])
        for job_id in (old, just_over):
            self.assertFalse(os.path.exists(
                self.paths.archived_job_file(job_id)))
            self.assertRaises(errors.JobLost, self.queue.get, job_id)
        self.assertTrue(os.path.exists(self.paths.job_file(unarchived)))
        self.assertEqual(self.queue.job_ids(archived=True),
                         [young, unarchived])
        listing = self.master.handler.Query("job", ["id", "archived"], None)
        self.assertEqual(listed_ids(listing), [young, unarchived])
        self.assertTrue(self.queue.get(young).archived)

    def test_listing_under_way(self):
        """A listing that named the jobs before a pass reads them after it:
        the pruned ones are left out, not an error."""
        old, young = self.archived(30), self.archived(1)
        stale_ids = self.queue.job_ids(archived=True)
        self.run_pass()

        class Listed:
            """The queue as the listing saw it: ids from before the pass."""
            def job_ids(inner, archived=False):
                return stale_ids

            def get(inner, job_id):
                return self.queue.get(job_id)
        result = query_jobs(Listed(), ["id", "archived"], None)
        self.assertEqual(listed_ids(result), [young])
        self.assertNotIn(old, listed_ids(result))

    def test_archive_directories_stay(self):
        """An archive directory emptied by a pass stays, so a job archived
        into it afterwards (or at the same moment) still lands."""
        old = self.archived(30)
        directory = os.path.dirname(self.paths.archived_job_file(old))
        self.run_pass()
        self.assertEqual(os.listdir(directory), [])
        later = self.archived(0)
        self.assertEqual(self.queue.job_ids(archived=True), [later])

    def test_only_job_files(self):
        """Only C{job-<id>} files of the C{<n>} directories are pruned."""
        archive = self.paths.queue_archive_dir
        others = [touch(os.path.join(archive, "0", "notes"), 90),
                  touch(os.path.join(archive, "keep", "job-3"), 90),
                  touch(os.path.join(archive, "job-4"), 90)]
        self.assertEqual(self.run_pass().removed, [])
        for path in others:
            self.assertTrue(os.path.exists(path))

    def test_not_in_a_cluster(self):
        """A node that is in no cluster keeps its archive (as Ganeti)."""
        paths = make_paths(self)
        job = touch(paths.archived_job_file(1), 90)
        self.assertEqual(cleaner.clean_master(paths, NOW).removed, [])
        self.assertTrue(os.path.exists(job))


class CandidateCopyTests(SynchronousTestCase):
    """A master candidate's copies of archived jobs go by the same rule."""

    def test_replicated_copies(self):
        """Jobs the master archived and replicated are pruned on the master
        by its pass and on the candidate by the candidate's node pass."""
        clock = clock_at_now()
        master = two_node_cluster(self, clock=clock)
        master.attach_replicator(Replicator(
            master.context.rpc, lambda: master.config.config,
            master.queue.unarchived_files))
        node2 = master.node_paths[NODE2_NAME]
        old, young = (master.queue.submit([jqueue()]) for _ in range(2))
        for job_id in (old, young):
            self.assertTrue(master.queue.archive(job_id))
        for paths in (master.paths, node2):
            age(paths.archived_job_file(old), 22)
            age(paths.archived_job_file(young), 2)
        CleanerService("master", master.paths, clock).run()
        candidate = CleanerService("node", node2, clock,
                                   is_master=lambda: False)
        report = self.successResultOf(candidate.run())
        self.assertEqual(report.removed, [node2.archived_job_file(old)])
        for paths in (master.paths, node2):
            self.assertFalse(os.path.exists(paths.archived_job_file(old)))
            self.assertTrue(os.path.exists(paths.archived_job_file(young)))

    def test_copies_as_the_node_stores_them(self):
        """On a candidate the node pass prunes old archived copies, and
        never an unarchived copy; where the master role runs, the node
        pass leaves the archive to the master pass."""
        clock = clock_at_now()
        paths = make_paths(self)
        in_cluster(paths)
        handler = NodeHandler(paths, clock)
        for job_id in (7, 8, 9):
            self.successResultOf(handler.jobqueue_update(job_id, "{}"))
        for job_id in (7, 8):
            self.successResultOf(handler.jobqueue_archive(job_id))
        age(paths.archived_job_file(7), 30)
        age(paths.archived_job_file(8), 1)
        age(paths.job_file(9), 30)
        on_master = CleanerService("node", paths, clock,
                                   is_master=lambda: True)
        self.assertEqual(self.successResultOf(on_master.run()).removed, [])
        service = CleanerService("node", paths, clock, is_master=lambda: False)
        report = self.successResultOf(service.run())
        self.assertEqual(report.removed, [paths.archived_job_file(7)])
        self.assertTrue(os.path.exists(paths.archived_job_file(8)))
        self.assertTrue(os.path.exists(paths.job_file(9)))


class NodePassTests(SynchronousTestCase):
    """The node pass: watcher files, OS logs, staging, temporaries."""

    def setUp(self):
        self.paths = make_paths(self)
        in_cluster(self.paths)

    def clean(self):
        return cleaner.clean_node(self.paths, NOW)

    def test_watcher_files(self):
        """Watcher files of groups not watched for 21 days go; the pause
        file and fresh watcher files stay."""
        data = self.paths.data_dir
        old = [touch(os.path.join(data, "watcher.%s.%s" % (uuid, kind)), 30)
               for uuid in ("0a1b-2c", "dead-beef")
               for kind in ("data", "instance-status")]
        fresh = touch(os.path.join(data, "watcher.f00d-1.data"), 0.01)
        pause = touch(os.path.join(data, "watcher.pause"), 90)
        self.assertEqual(sorted(self.clean().removed), sorted(old))
        self.assertTrue(os.path.exists(fresh))
        self.assertTrue(os.path.exists(pause))

    def test_os_logs(self):
        """OS script logs older than 21 days go."""
        logs = self.paths.os_log_dir
        old = touch(os.path.join(logs, "add-demo-web1-2020-01-01_00_00_00.log"),
                    22)
        young = touch(os.path.join(logs, "add-demo-web2-2020-02-01.log"), 20)
        self.assertEqual(self.clean().removed, [old])
        self.assertTrue(os.path.exists(young))

    def test_staging_directories(self):
        """Hidden staging directories in which nothing changed for a week
        go with their dumps; one with a fresh dump stays, and so do
        finished exports, however old."""
        export = self.paths.export_dir
        dead = os.path.join(export, ".export-web1-abc")
        touch(os.path.join(dead, "disk0.dump"), 8)
        age(dead, 8)
        replaced = os.path.join(export, ".old-web1-def")
        touch(os.path.join(replaced, "config.ini"), 30)
        age(replaced, 30)
        busy = os.path.join(export, ".import-web2-123")
        touch(os.path.join(busy, "disk0.dump"), 0.01)
        age(busy, 8)
        finished = os.path.join(export, "web3")
        touch(os.path.join(finished, "config.ini"), 300)
        age(finished, 300)
        self.assertEqual(sorted(self.clean().removed), [dead, replaced])
        self.assertEqual(sorted(os.listdir(export)),
                         [".import-web2-123", "web3"])

    def test_temporary_files(self):
        """Temporary files of atomic writes older than a day go; the
        files themselves (the queue's job files too) stay."""
        leftovers = [
            touch(os.path.join(self.paths.data_dir, ".config.data.k3j_x.tmp"),
                  2),
            touch(os.path.join(self.paths.queue_dir, ".job-5.a1b2.tmp"), 2)]
        young = touch(os.path.join(self.paths.queue_dir, ".job-6.zz.tmp"),
                      0.5)
        job = touch(self.paths.job_file(5), 90)
        config = touch(self.paths.config_data, 90)
        self.assertEqual(sorted(self.clean().removed), sorted(leftovers))
        for path in (young, job, config):
            self.assertTrue(os.path.exists(path))

    def test_no_archive_by_default(self):
        """Without C{archive} the node pass leaves the job archive alone."""
        job = touch(self.paths.archived_job_file(1), 90)
        self.assertEqual(self.clean().removed, [])
        self.assertTrue(os.path.exists(job))

    def test_empty_root(self):
        """A node with none of these directories has nothing to clean."""
        paths = make_paths(self)
        self.assertEqual(cleaner.clean_node(paths, NOW, archive=True),
                         cleaner.Report())


class ServiceTests(SynchronousTestCase):
    """The daily pass as a service on the injected clock."""

    def setUp(self):
        self.clock = clock_at_now()
        self.calls = []
        self.answer = succeed(cleaner.Report())

        def in_thread(function, *args):
            self.calls.append((function, args))
            return self.answer
        self.in_thread = in_thread
        self.paths = make_paths(self)

    def test_schedule(self):
        """The first pass runs a few minutes after the start, then one
        every day; stopping leaves no timer behind."""
        service = CleanerService("master", self.paths, self.clock,
                                 in_thread=self.in_thread)
        service.startService()
        self.assertEqual(self.calls, [])
        self.clock.advance(FIRST_PASS)
        self.assertEqual(self.calls, [(cleaner.clean_master,
                                       (self.paths, NOW + FIRST_PASS))])
        self.clock.advance(INTERVAL)
        self.assertEqual(len(self.calls), 2)
        service.stopService()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stopped_before_first_pass(self):
        """A service stopped before its first pass never runs one."""
        service = CleanerService("node", self.paths, self.clock,
                                 in_thread=self.in_thread)
        service.startService()
        service.stopService()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(FIRST_PASS + INTERVAL)
        self.assertEqual(self.calls, [])

    def test_node_pass_asks_for_the_role(self):
        """The node pass prunes the archive only while no master role runs
        on the node, asked at each pass."""
        master = []
        service = CleanerService("node", self.paths, self.clock,
                                 in_thread=self.in_thread,
                                 is_master=lambda: bool(master))
        service.run()
        master.append(True)
        service.run()
        self.assertEqual([args[2] for _, args in self.calls], [True, False])

    def test_busy_pass_skipped(self):
        """While a pass is still in its thread, the next one is skipped."""
        logged = EventLoggingObserver.createWithCleanup(self,
                                                        globalLogPublisher)
        self.answer = Deferred()
        service = CleanerService("master", self.paths, self.clock,
                                 in_thread=self.in_thread)
        service.run_periodic()
        service.run_periodic()
        self.assertEqual(len(self.calls), 1)
        self.assertIn("still busy", logged[-1]["log_format"])
        self.answer.callback(cleaner.Report())
        self.answer = succeed(cleaner.Report())
        service.run_periodic()
        self.assertEqual(len(self.calls), 2)

    def test_failures_logged(self):
        """What a pass could not remove is logged as a warning, and the
        next pass runs."""
        logged = EventLoggingObserver.createWithCleanup(self,
                                                        globalLogPublisher)
        self.answer = succeed(cleaner.Report(
            removed=["/a"], failed=[("/b", "Permission denied")]))
        service = CleanerService("master", self.paths, self.clock,
                                 in_thread=self.in_thread)
        service.run_periodic()
        warnings = [e for e in logged if e["log_level"].name == "warn"]
        self.assertEqual([(e["path"], e["error"]) for e in warnings],
                         [("/b", "Permission denied")])
        service.run_periodic()
        self.assertEqual(len(self.calls), 2)

    def test_unknown_mode(self):
        """Only the two passes exist."""
        self.assertRaises(ValueError, CleanerService, "cluster", self.paths,
                          self.clock)


class CommandTests(SynchronousTestCase):
    """The ganeti-cleaner command."""

    def setUp(self):
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        self.patch(base.sys, "stdout", self.stdout)
        self.patch(base.sys, "stderr", self.stderr)
        self.paths = make_paths(self)
        in_cluster(self.paths)
        self.patch(base, "get_paths", lambda: self.paths)

    def logs(self, mode):
        directory = cleaner.log_dir(self.paths, mode)
        return sorted(os.path.join(directory, name)
                      for name in os.listdir(directory))

    def test_master(self):
        """C{master} prunes the archive, prints nothing, logs what it
        removed and exits 0."""
        old = touch(self.paths.archived_job_file(3), 30)
        young = touch(self.paths.archived_job_file(4), 3)
        self.assertEqual(cli_cleaner.main(["master"], now=NOW), 0)
        self.assertFalse(os.path.exists(old))
        self.assertTrue(os.path.exists(young))
        self.assertEqual((self.stdout.getvalue(), self.stderr.getvalue()),
                         ("", ""))
        [log] = self.logs("master")
        with open(log) as f:
            self.assertIn("removed %s\n" % old, f.read())

    def test_node(self):
        """C{node} runs the node pass (not the archive) and exits 0."""
        watcher = touch(os.path.join(self.paths.data_dir,
                                     "watcher.dead-1.data"), 30)
        job = touch(self.paths.archived_job_file(3), 30)
        self.assertEqual(cli_cleaner.main(["node"], now=NOW), 0)
        self.assertFalse(os.path.exists(watcher))
        self.assertTrue(os.path.exists(job))
        self.assertEqual(len(self.logs("node")), 1)

    def test_keeps_fifty_logs(self):
        """Of its own logs the command keeps the newest 50."""
        directory = cleaner.log_dir(self.paths, "node")
        for day in range(1, 61):
            touch(os.path.join(directory, "cleaner-2000-01-%02dT00_00.1.log"
                               % day), 0)
        cli_cleaner.main(["node"], now=NOW)
        logs = self.logs("node")
        self.assertEqual(len(logs), cleaner.KEEP_LOGS)
        self.assertEqual(os.path.basename(logs[0]),
                         "cleaner-2000-01-12T00_00.1.log")

    def test_usage(self):
        """No mode, an unknown one or two modes: the usage line on stderr,
        exit code 1, nothing removed; C{--help} exits 0."""
        job = touch(self.paths.archived_job_file(3), 30)
        for argv in ([], ["cluster"], ["master", "node"], ["-x"]):
            self.stderr.truncate(0)
            self.stderr.seek(0)
            self.assertEqual(cli_cleaner.main(argv, now=NOW), 1)
            self.assertEqual(self.stderr.getvalue(), cli_cleaner.USAGE + "\n")
        self.assertTrue(os.path.exists(job))
        self.assertEqual(cli_cleaner.main(["--help"]), 0)
        self.assertEqual(self.stdout.getvalue(), cli_cleaner.USAGE + "\n")

    def test_failure(self):
        """A file that cannot be removed makes the exit code 1 and is
        named in the log."""
        touch(self.paths.archived_job_file(3), 30)

        def refuse(path):
            raise PermissionError(13, "Permission denied", path)
        self.patch(cleaner.os, "unlink", refuse)
        self.assertEqual(cli_cleaner.main(["master"], now=NOW), 1)
        self.assertIn("could not remove 1 files", self.stderr.getvalue())

    def test_real_command(self):
        """C{bin/ganeti-cleaner} honours C{GANETI_ROOT}: exit code 0 for a
        mode, 1 with the usage line for a wrong argument."""
        env = dict(os.environ, GANETI_ROOT=self.paths.root)
        old = touch(self.paths.archived_job_file(3), 30)
        os.utime(old, (0, 0))      # the epoch: old at any real time
        done = subprocess.run([sys.executable, _BIN, "master"], env=env,
                              capture_output=True, timeout=60)
        self.assertEqual((done.returncode, done.stdout, done.stderr),
                         (0, b"", b""))
        self.assertFalse(os.path.exists(old))
        wrong = subprocess.run([sys.executable, _BIN, "everything"], env=env,
                               capture_output=True, timeout=60)
        self.assertEqual((wrong.returncode, wrong.stderr),
                         (1, b"Usage: ganeti-cleaner node|master\n"))
