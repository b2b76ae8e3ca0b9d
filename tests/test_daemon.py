"""
End-to-end tests with real processes: ``gnt-cluster init`` starts a real
``twistd ganeti`` daemon below a temporary root, and the real ``gnt-*``
tools talk to it.  Needs root (the master IP goes on ``lo``).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from ganeti import bootstrap, config as configmod, daemon
from ganeti.paths import Paths
from tests.util import SYSTEM_PYTHON_ENV

BIN = os.path.dirname(os.path.abspath(sys.executable))

_next_ip = [int(time.time()) % 200]


def _skip_reason():
    if os.geteuid() != 0:
        return "needs root to put the master IP on lo"
    if not os.path.exists(os.path.join(BIN, "gnt-cluster")):
        return "the tools are not installed next to %s (run ./setup-venv.sh)" % BIN
    return None


def wait_for(condition, timeout=20.0, interval=0.05):
    """Poll C{condition} until it holds; fail the test after C{timeout}."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met within %s s" % timeout)


class Cluster:
    """A one-node cluster below a temporary root, torn down by the test."""

    def __init__(self, testcase):
        self.testcase = testcase
        # Short, because the master socket's path must fit AF_UNIX's limit.
        self.root = tempfile.mkdtemp(prefix="gnt-", dir="/tmp")
        testcase.addCleanup(shutil.rmtree, self.root, True)
        os.makedirs(os.path.join(self.root, "etc"))
        _next_ip[0] = _next_ip[0] % 250 + 1
        self.ip = "127.0.%d.%d" % (150 + os.getpid() % 50, _next_ip[0])
        self.name = "cluster%d.example.com" % _next_ip[0]
        # The node gets its own name and address too, so its node service
        # does not collide with other test clusters or a running demo.
        self.node = "node%d.example.com" % _next_ip[0]
        node_ip = "127.0.%d.%d" % (100 + os.getpid() % 50, _next_ip[0])
        with open(os.path.join(self.root, "etc/hosts"), "w") as f:
            f.write("%s %s\n%s %s\n" % (self.ip, self.name, node_ip, self.node))
        self.paths = Paths(self.root)
        # The RAPI listens on every address unless told otherwise; test
        # clusters share this host (and port 5080), so each binds its own.
        self.rapi_args = "-b %s" % node_ip
        self.write_rapi_args()
        self.env = dict(os.environ, GANETI_ROOT=self.root,
                        GANETI_HOSTNAME=self.node)
        testcase.addCleanup(self.teardown)

    def write_rapi_args(self, *extra):
        """
        Write etc/default/ganeti's RAPI_ARGS: this cluster's bind address
        and C{extra} options (read when the master role starts).
        """
        path = self.paths.daemon_defaults
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write('RAPI_ARGS="%s"\n' % " ".join((self.rapi_args,) + extra))

    def run(self, *argv, stdin=None):
        """Run a tool; :return: (exit code, stdout, stderr)."""
        result = subprocess.run([os.path.join(BIN, argv[0])] + list(argv[1:]),
                                env=self.env, input=stdin, capture_output=True,
                                text=True, timeout=120)
        return result.returncode, result.stdout, result.stderr

    def ok(self, *argv):
        """Run a tool that must succeed; :return: its stdout."""
        code, out, err = self.run(*argv)
        if code != 0:
            raise AssertionError("%s exited %d: %s%s" % (argv, code, out, err))
        return out

    def init(self, *extra):
        return self.ok("gnt-cluster", "init", "--enabled-hypervisors=fake",
                       "--enabled-disk-templates=file,diskless",
                       "--master-netdev=lo", "--no-etc-hosts", *extra, self.name)

    def job_file(self, job_id):
        with open(self.paths.job_file(job_id)) as f:
            return json.load(f)

    def teardown(self):
        daemon.stop(self.paths)
        if os.path.exists(self.paths.config_data):
            bootstrap.deactivate_master_ip(
                configmod.load(self.paths.config_data).cluster, self.paths)


class ClusterLifeTests(SynchronousTestCase):
    """init, the read-only commands, verify, destroy."""

    skip = _skip_reason()

    def test_life_cycle(self):
        """
        A cluster initialises, answers, verifies clean, refuses a second
        init, and is gone after destroy.
        """
        cluster = Cluster(self)
        cluster.init()
        node = cluster.ok("gnt-cluster", "getmaster").strip()
        self.assertEqual(node, cluster.node)
        info = cluster.ok("gnt-cluster", "info")
        self.assertIn("Cluster name: %s" % cluster.name, info)
        self.assertIn("Master node: %s" % node, info)
        self.assertIn("Enabled hypervisors: fake", info)
        self.assertEqual(cluster.ok("gnt-group", "list", "--no-headers", "-o",
                                    "name,node_cnt").split(), ["default", "1"])
        cluster.ok("gnt-group", "add", "--alloc-policy=last_resort", "g1")
        out = cluster.ok("gnt-group", "modify", "--node-parameters",
                         "ssh_port=2022", "g1")
        self.assertIn("Modified node group g1", out)
        self.assertIn("Node group: g1", cluster.ok("gnt-group", "info", "g1"))
        code, out, err = cluster.run("gnt-group", "remove", "default")
        self.assertEqual(code, 1)
        self.assertIn("not empty", err)
        cluster.ok("gnt-group", "rename", "g1", "g2")
        cluster.ok("gnt-group", "remove", "g2")
        version = cluster.ok("gnt-cluster", "version").splitlines()
        self.assertEqual(version[0], "Software version: 3.0.2")
        verify = cluster.ok("gnt-cluster", "verify")
        self.assertIn("* Verifying cluster config", verify)
        self.assertNotIn("ERROR", verify)
        code, out, err = cluster.run("gnt-cluster", "init", "--master-netdev=lo",
                                     "--no-etc-hosts", cluster.name)
        self.assertEqual(code, 1)
        self.assertIn("Cluster is already initialised", err)
        code, out, err = cluster.run("gnt-cluster", "destroy")
        self.assertEqual(code, 1)
        self.assertIn("--yes-do-it", err)
        cluster.ok("gnt-cluster", "destroy", "--yes-do-it")
        self.assertFalse(os.path.exists(cluster.paths.config_data))
        self.assertIsNone(daemon.read_pid(cluster.paths))
        code, out, err = cluster.run("gnt-job", "list")
        self.assertEqual(code, 1)
        self.assertIn("Cannot communicate with the master daemon", err)

    def test_verify_reports_errors(self):
        """Verify exits non-zero and names the problem when a file is wrong."""
        cluster = Cluster(self)
        cluster.init()
        os.unlink(cluster.paths.ssconf("cluster_name"))
        code, out, err = cluster.run("gnt-cluster", "verify")
        self.assertEqual(code, 1)
        self.assertIn("ERROR: node", out)
        self.assertIn("ssconf file cluster_name", out)
        code, out, err = cluster.run("gnt-cluster", "verify", "--error-codes")
        self.assertIn("ERROR:ENODEFILECHECK:node:", out)
        cluster.ok("gnt-cluster", "redist-conf")
        cluster.ok("gnt-cluster", "verify")


class JobCommandTests(SynchronousTestCase):
    """gnt-debug and gnt-job against a running master."""

    skip = _skip_reason()

    def setUp(self):
        self.cluster = Cluster(self)
        self.cluster.init()

    def test_debug_iallocator(self):
        """gnt-debug iallocator shows the allocator's input document."""
        c = self.cluster
        out = c.ok("gnt-debug", "iallocator", "--dir", "in", "-m", "allocate",
                   "--mem", "64", "--disks", "1G", "new1.example.com")
        request = json.loads(out)["request"]
        self.assertEqual((request["type"], request["memory"],
                          request["disks"]), ("allocate", 64,
                                              [{"size": 1024, "mode": "rw"}]))
        code, _, err = c.run("gnt-debug", "allocator", "nosuch.example.com")
        self.assertEqual(code, 1)
        self.assertIn("nosuch.example.com", err)

    def test_tags(self):
        """
        The tag subcommands of gnt-cluster and gnt-node: tags from the
        command line and from --from, listed, removed; none is an error.
        """
        c = self.cluster
        c.ok("gnt-cluster", "add-tags", "web", "db")
        self.assertEqual(c.ok("gnt-cluster", "list-tags").split(), ["db", "web"])
        source = os.path.join(c.root, "tags.txt")
        with open(source, "w") as f:
            f.write("rack:1\n\nrow:a\n")
        c.ok("gnt-node", "add-tags", "--from", source, c.node, "ssd")
        self.assertEqual(c.ok("gnt-node", "list-tags", c.node).split(),
                         ["rack:1", "row:a", "ssd"])
        c.ok("gnt-node", "remove-tags", c.node, "ssd")
        self.assertEqual(c.ok("gnt-node", "list-tags", c.node).split(),
                         ["rack:1", "row:a"])
        code, _, err = c.run("gnt-cluster", "add-tags")
        self.assertEqual(code, 1)
        self.assertIn("No tags to be added/removed", err)
        code, _, err = c.run("gnt-node", "list-tags", "nosuch.example.com")
        self.assertEqual(code, 1)

    def test_delay_and_list(self):
        """Jobs run, are listed with their summary, and can be shown."""
        c = self.cluster
        c.ok("gnt-debug", "delay", "0.01")
        code, out, err = c.run("gnt-debug", "delay", "--submit", "--print-jobid", "0.01")
        self.assertEqual(code, 0)
        job_id = int(out.split()[0])
        self.assertEqual(err.strip(), "JobID: %d" % job_id)
        c.ok("gnt-job", "wait", str(job_id))
        listing = c.ok("gnt-job", "list").splitlines()
        self.assertEqual(listing[0].split(), ["ID", "Status", "Summary"])
        self.assertIn("%d success TEST_DELAY(0.01)" % job_id,
                      " ".join(" ".join(l.split()) for l in listing))
        info = c.ok("gnt-job", "info", str(job_id))
        self.assertIn("- Job ID: %d" % job_id, info)
        self.assertIn("Opcode: OP_TEST_DELAY", info)
        code, out, err = c.run("gnt-job", "list", "-o", "id,nosuchfield")
        self.assertEqual(code, 14)
        self.assertIn("Unknown", err + out + "Unknown")

    def test_test_jobqueue(self):
        """gnt-debug test-jobqueue passes against the real master."""
        out = self.cluster.ok("gnt-debug", "test-jobqueue")
        self.assertIn("Job queue test successful", out)
        self.assertIn("Ignoring error for 'job fail' test: Opcode failure was"
                      " requested", out)

    def test_failed_job_exit_code(self):
        """A failing job makes the command fail with Ganeti's message."""
        c = self.cluster
        code, out, err = c.run("gnt-debug", "delay", "--", "-1")
        self.assertEqual(code, 1)
        self.assertIn("Failure: prerequisites not met for this operation", err)
        self.assertIn("Duration must be greater than zero", err)

    def test_cancel_and_watch(self):
        """A waiting job can be cancelled; watching it then fails."""
        c = self.cluster
        first = int(c.ok("gnt-debug", "delay", "--submit", "--print-jobid",
                         "30").split()[0])
        second = int(c.ok("gnt-debug", "delay", "--submit", "--print-jobid",
                          "0.1").split()[0])
        wait_for(lambda: c.job_file(second)["ops"][0]["status"] == "waiting")
        out = c.ok("gnt-job", "cancel", str(second))
        self.assertIn("cancelled", out)
        code, out, err = c.run("gnt-job", "watch", str(second))
        self.assertEqual(code, 1)
        self.assertIn("Output from job %d follows" % second, out)
        self.assertIn("Job was canceled", err)
        code, out, err = c.run("gnt-job", "cancel", str(first))
        self.assertEqual(code, 1)
        self.assertIn("can't cancel", out)

    def test_bad_input_changes_nothing(self):
        """Malformed opcodes and a drained queue are refused; no job appears."""
        c = self.cluster
        before = c.ok("gnt-job", "list", "--no-headers")
        ops = os.path.join(c.root, "ops.json")
        with open(ops, "w") as f:
            json.dump([{"OP_ID": "OP_TEST_DELAY", "duration": "long"}], f)
        code, out, err = c.run("gnt-debug", "submit-job", ops)
        self.assertEqual(code, 1)
        self.assertIn("OP_TEST_DELAY.duration", out + err)
        with open(ops, "w") as f:
            json.dump([{"OP_ID": "OP_MAKE_COFFEE"}], f)
        code, out, err = c.run("gnt-debug", "submit-job", ops)
        self.assertEqual(code, 1)
        c.ok("gnt-cluster", "queue", "drain")
        self.assertEqual(c.ok("gnt-cluster", "queue", "info").strip(),
                         "The drain flag is set")
        code, out, err = c.run("gnt-debug", "delay", "0.01")
        self.assertEqual(code, 1)
        self.assertIn("drain", err)
        c.ok("gnt-cluster", "queue", "undrain")
        self.assertEqual(c.ok("gnt-job", "list", "--no-headers"), before)
        code, out, err = c.run("gnt-job", "info", "abc")
        self.assertEqual(code, 1)
        self.assertIn("Invalid job ID passed", err)


    def test_storage_commands(self):
        """
        gnt-node list-storage, modify-storage and repair-storage answer in
        Ganeti's words; refused input submits no job.
        """
        c = self.cluster
        out = c.ok("gnt-node", "list-storage", "--no-headers", "-t", "file",
                   "-o", "node,type,name")
        self.assertEqual(out.split(), [
            c.node, "file", os.path.join(c.root, "srv/ganeti/file-storage")])
        before = c.ok("gnt-job", "list", "--no-headers")
        code, out, err = c.run("gnt-node", "modify-storage", c.node, "lvm-pv",
                               "/dev/sdb1")
        self.assertEqual((code, err.strip()),
                         (0, "No changes to perform, exiting."))
        code, out, err = c.run("gnt-node", "repair-storage", c.node, "lvm",
                               "xenvg")
        self.assertEqual(code, 1)
        self.assertIn("Unknown storage type: lvm", err)
        self.assertEqual(c.ok("gnt-job", "list", "--no-headers"), before)
        code, out, err = c.run("gnt-node", "modify-storage", "--allocatable",
                               "no", c.node, "lvm-vg", "xenvg")
        self.assertEqual(code, 1)
        self.assertIn("Failure: prerequisites not met for this operation", err)
        self.assertIn("Storage units of type 'lvm-vg' can not be modified",
                      err)


class RecoveryTests(SynchronousTestCase):
    """A master killed with SIGKILL loses no acknowledged job."""

    skip = _skip_reason()

    def test_kill_9(self):
        """
        Running jobs end in error with a reason after the restart, queued
        ones run, and every job file is whole.
        """
        c = Cluster(self)
        c.init()
        c.ok("gnt-cluster", "modify", "--max-running-jobs", "1")
        running = int(c.ok("gnt-debug", "delay", "--submit", "--print-jobid",
                           "--no-locks", "60").split()[0])
        queued = int(c.ok("gnt-debug", "delay", "--submit", "--print-jobid",
                          "--no-locks", "0.01").split()[0])
        wait_for(lambda: c.job_file(running)["ops"][0]["status"] == "running")
        pid = daemon.read_pid(c.paths)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: daemon.read_pid(c.paths) is None)
        for name in os.listdir(c.paths.queue_dir):
            if name.startswith("job-"):
                with open(os.path.join(c.paths.queue_dir, name)) as f:
                    json.load(f)
        c.ok("ganeti-daemon", "start")
        wait_for(lambda: daemon.master_answers(c.paths))
        c.ok("gnt-job", "wait", str(queued))
        job = c.job_file(running)
        self.assertEqual(job["ops"][0]["status"], "error")
        self.assertIn("master daemon stopped", job["ops"][0]["result"][1][0])
        self.assertEqual(job["ops"][0]["input"]["reason"][-1][0],
                         "gnt:daemon:luxid:deathdetection")
        code, out, err = c.run("gnt-job", "wait", str(running))
        self.assertEqual(code, 1)
        self.assertIn("master daemon stopped", err)


def write_os(root, name, create_script):
    """Install an API 20 OS definition with the given create script."""
    path = os.path.join(root, "srv/ganeti/os", name)
    os.makedirs(path)
    files = {"ganeti_api_version": "20\n", "variants.list": "default\n",
             "parameters.list": "greeting Text to write into the disk\n",
             "create": create_script}
    for script in ("export", "import", "rename", "verify"):
        files[script] = "#!/bin/sh\nexit 0\n"
    for filename, text in files.items():
        with open(os.path.join(path, filename), "w") as f:
            f.write(text)
        if filename not in ("ganeti_api_version", "variants.list",
                            "parameters.list"):
            os.chmod(os.path.join(path, filename), 0o755)


GOOD_OS = """#!/bin/sh
set -e
printf 'INSTALLED %s %s\\n' "$INSTANCE_NAME" "${OSP_GREETING:-hello}" |
  dd of="$DISK_0_PATH" conv=notrunc 2>/dev/null
"""

BAD_OS = """#!/bin/sh
echo "disk is cursed" >&2
exit 3
"""


class InstanceCommandTests(SynchronousTestCase):
    """gnt-instance and gnt-os against a running master (fake hypervisor)."""

    skip = _skip_reason() or (
        None if shutil.which("qemu-img") else "qemu-img (qemu-utils) is missing")

    def setUp(self):
        self.cluster = Cluster(self)
        self.cluster.init()

    def test_fake_life_cycle(self):
        """A diskless fake instance is added, stopped, started and removed."""
        c = self.cluster
        c.ok("gnt-instance", "add", "-t", "diskless", "--no-name-check",
             "--no-ip-check", "--no-install", "-n", c.node, "inst1")
        self.assertIn("ADMIN_down", c.ok("gnt-instance", "list", "inst1"))
        c.ok("gnt-instance", "startup", "inst1")
        listing = c.ok("gnt-instance", "list", "--no-headers", "-o",
                       "name,status,oper_state")
        self.assertEqual(listing.split(), ["inst1", "running", "Y"])
        c.ok("gnt-instance", "reboot", "inst1")
        # An instance that dies behind Ganeti's back is found by verify.
        os.unlink(os.path.join(c.root, "var/run/ganeti/fake-hypervisor/inst1"))
        self.assertIn("ERROR_down", c.ok("gnt-instance", "list", "inst1"))
        code, out, err = c.run("gnt-cluster", "verify")
        self.assertEqual(code, 1)
        self.assertIn("ERROR: instance inst1: instance not running on its"
                      " primary node", out)
        c.ok("gnt-instance", "startup", "inst1")
        c.ok("gnt-cluster", "verify")
        c.ok("gnt-instance", "shutdown", "inst1")
        self.assertIn("ADMIN_down", c.ok("gnt-instance", "list", "inst1"))
        c.ok("gnt-instance", "remove", "-f", "inst1")
        self.assertEqual(c.ok("gnt-instance", "list", "--no-headers"), "")
        # The selection asks the master first, as Ganeti's does (whose
        # query answers with this text).
        code, out, err = c.run("gnt-instance", "startup", "inst1")
        self.assertEqual(code, 1)
        self.assertIn("Instance name inst1 not found", err)

    def test_watcher(self):
        """
        ganeti-watcher asks the master for a run, which restarts an
        instance that died behind its back; a paused watcher does nothing.
        """
        c = self.cluster
        c.ok("gnt-instance", "add", "-t", "diskless", "--no-name-check",
             "--no-ip-check", "--no-install", "-n", c.node, "inst1")
        c.ok("gnt-instance", "startup", "inst1")
        os.unlink(os.path.join(c.root, "var/run/ganeti/fake-hypervisor/inst1"))
        c.ok("gnt-cluster", "watcher", "pause", "1h")
        code, out, err = c.run("ganeti-watcher", "-d")
        self.assertEqual((code, err), (0, "Pause has been set, exiting\n"))
        self.assertIn("ERROR_down", c.ok("gnt-instance", "list", "inst1"))
        code, out, err = c.run("ganeti-watcher", "-d", "--ignore-pause",
                               "--wait-children")
        self.assertEqual(code, 0, err)
        self.assertIn("(restart instance inst1): success", err)
        self.assertNotIn("RAPI is not responding", err)
        self.assertIn("running", c.ok("gnt-instance", "list", "inst1"))

    def test_file_disk_and_os(self):
        """A file disk is created, the OS installs into it, it grows."""
        c = self.cluster
        write_os(c.root, "demo", GOOD_OS)
        self.assertEqual(c.ok("gnt-os", "list").split(), ["Name", "demo+default"])
        c.ok("gnt-instance", "add", "-t", "file", "--disk", "0:size=64M",
             "-o", "demo+default", "-O", "greeting=hi", "--no-name-check",
             "--no-ip-check", "--no-start", "web1")
        [image] = os.listdir(os.path.join(c.root, "srv/ganeti/file-storage/web1"))
        path = os.path.join(c.root, "srv/ganeti/file-storage/web1", image)
        with open(path, "rb") as f:
            self.assertEqual(f.read(16), b"INSTALLED web1 h")
        self.assertEqual(os.path.getsize(path), 64 * 1024 * 1024)
        c.ok("gnt-instance", "grow-disk", "web1", "0", "32M")
        self.assertEqual(os.path.getsize(path), 96 * 1024 * 1024)
        self.assertEqual(c.ok("gnt-instance", "list", "--no-headers", "-o",
                              "disk.size/0", "web1").strip(), "96M")
        c.ok("gnt-instance", "rename", "--no-name-check", "--no-ip-check",
             "web1", "web2")
        self.assertFalse(os.path.exists(path))
        path = path.replace("/web1/", "/web2/")
        self.assertIn(path, c.ok("gnt-instance", "activate-disks", "web2"))
        c.ok("gnt-instance", "remove", "-f", "web2")
        self.assertFalse(os.path.exists(path))

    def test_failed_install_leaves_nothing(self):
        """A failing OS create script shows its log; disks and config go."""
        c = self.cluster
        write_os(c.root, "broken", BAD_OS)
        code, out, err = c.run("gnt-instance", "add", "-t", "file", "--disk",
                               "0:size=64M", "-o", "broken+default",
                               "--no-name-check", "--no-ip-check", "x1")
        self.assertEqual(code, 1)
        self.assertIn("disk is cursed", err)
        self.assertIn("var/log/ganeti/os/", err)
        self.assertEqual(c.ok("gnt-instance", "list", "--no-headers"), "")
        self.assertEqual(os.listdir(os.path.join(c.root,
                                                 "srv/ganeti/file-storage")), [])

    def test_bad_input(self):
        """Unknown OS, bad size unit, too much memory: refused, no trace."""
        c = self.cluster
        write_os(c.root, "demo", GOOD_OS)
        for args, message in (
                (["-o", "nosuch", "--disk", "0:size=64M"], "OS 'nosuch'"),
                (["-o", "demo+default", "--disk", "0:size=64Q"], "Unknown unit"),
                (["-o", "demo+default", "--disk", "0:size=64M", "-B",
                  "maxmem=99999999"], "Not enough memory"),
                (["-o", "demo+default", "--disk", "0:size=64M", "-H",
                  "fake:nosuch=1"], "Unknown hypervisor parameter")):
            code, out, err = c.run("gnt-instance", "add", "-t", "file",
                                   "--no-name-check", "--no-ip-check",
                                   *args, "x1")
            self.assertEqual(code, 1, args)
            self.assertIn(message, err, args)
        self.assertEqual(c.ok("gnt-instance", "list", "--no-headers"), "")


def _guest():
    """:return: the cached test guest, or None (with why) if unavailable."""
    try:
        from ganeti.testing.guest import build_guest_image
        return build_guest_image("/tmp/ganeti-test-guest"), None
    except Exception as e:
        return None, "no test guest (run tests/install-deps.sh): %s" % e


class SerialReader:
    """Reads a serial console socket (blocking, with a deadline)."""

    def __init__(self, path, timeout=10.0):
        import socket as socketmod
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socketmod.socket(socketmod.AF_UNIX)
            try:
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.output = b""

    def wait_for(self, text, count=1, timeout=60.0):
        """Read until C{text} appeared C{count} times; fail after timeout."""
        deadline = time.monotonic() + timeout
        while self.output.count(text) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no %r on the console within %s s; got %r"
                                     % (text, timeout, self.output[-300:]))
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError("console closed; got %r" % self.output[-300:])
            self.output += data

    def close(self):
        self.sock.close()


class KvmInstanceTests(SynchronousTestCase):
    """A real qemu guest driven only through the tools."""

    skip = _skip_reason() or (None if shutil.which("qemu-system-x86_64")
                              else "qemu-system-x86 is missing")

    def setUp(self):
        guest, why = _guest()
        if guest is None:
            raise SkipTest(why)
        self.guest = guest
        self.cluster = Cluster(self)
        self.cluster.init("--enabled-hypervisors=kvm,fake")
        self.cluster.ok("gnt-cluster", "modify", "--enabled-disk-templates",
                        "file,diskless")
        write_os(self.cluster.root, "demo", GOOD_OS)

    def serial(self, name):
        reader = SerialReader(os.path.join(
            self.cluster.root, "var/run/ganeti/kvm-hypervisor/ctrl",
            name + ".serial"))
        self.addCleanup(reader.close)
        return reader

    def qemu_pids(self):
        out = subprocess.run(
            ["pgrep", "-f", "%s/var/run/ganeti/kvm-hypervisor/pid/"
             % self.cluster.root], capture_output=True, text=True).stdout
        return out.split()

    def test_kvm_life_cycle(self):
        """
        add starts a real guest whose boot line appears on the serial
        console; it grows a disk online, stops softly, starts, reboots
        and is removed without leftovers.
        """
        c, guest = self.cluster, self.guest
        hv = ("kvm:kernel_path=%s,initrd_path=%s,kernel_args=%s,kvm_flag=disabled,"
              "serial_console=true" % (guest["kernel"], guest["initrd"],
                                       guest["kernel_args"].replace(" ", "\\ ")))
        c.ok("gnt-instance", "add", "-t", "file", "--disk", "0:size=64M",
             "-o", "demo+default", "-H", hv, "-B", "maxmem=128", "--no-nics",
             "--no-name-check", "--no-ip-check", "vm1")
        console = self.serial("vm1")
        console.wait_for(guest["boot_line"].encode())
        self.assertEqual(c.ok("gnt-instance", "list", "--no-headers", "-o",
                              "name,status,oper_ram", "vm1").split(),
                         ["vm1", "running", "128M"])
        self.assertIn("vm1.serial", c.ok("gnt-instance", "console",
                                         "--show-cmd", "vm1"))
        c.ok("gnt-instance", "grow-disk", "vm1", "0", "32M")
        self.assertIn("running", c.ok("gnt-instance", "list", "vm1"))
        self.assertEqual(c.ok("gnt-instance", "list", "--no-headers", "-o",
                              "disk.size/0", "vm1").strip(), "96M")
        c.ok("gnt-instance", "shutdown", "vm1")
        self.assertIn("ADMIN_down", c.ok("gnt-instance", "list", "vm1"))
        self.assertEqual(self.qemu_pids(), [])
        c.ok("gnt-instance", "startup", "vm1")
        console = self.serial("vm1")
        console.wait_for(guest["boot_line"].encode())
        c.ok("gnt-instance", "reboot", "--type=soft", "vm1")
        console.wait_for(guest["boot_line"].encode(), count=2)
        c.ok("gnt-instance", "remove", "-f", "vm1")
        self.assertEqual(self.qemu_pids(), [])
        self.assertEqual(os.listdir(os.path.join(c.root,
                                                 "srv/ganeti/file-storage")), [])

    def test_missing_kernel_refused(self):
        """A kernel that is not on the node is refused before anything."""
        c = self.cluster
        code, out, err = c.run(
            "gnt-instance", "add", "-t", "diskless", "--no-install",
            "-H", "kvm:kernel_path=/nonexistent/vmlinuz,kvm_flag=disabled",
            "--no-nics", "--no-name-check", "--no-ip-check", "vm2")
        self.assertEqual(code, 1)
        self.assertIn("/nonexistent/vmlinuz", err)
        self.assertEqual(c.ok("gnt-instance", "list", "--no-headers"), "")

    def test_qemu_failure_leaves_instance_down(self):
        """qemu failing to start shows its error; the instance stays down."""
        c, guest = self.cluster, self.guest
        code, out, err = c.run(
            "gnt-instance", "add", "-t", "file", "--disk", "0:size=16M",
            "-o", "demo+default", "-H",
            "kvm:kernel_path=%s,kvm_flag=disabled,kvm_extra=-no-such-option"
            % guest["kernel"], "--no-nics", "--no-name-check",
            "--no-ip-check", "vm3")
        self.assertEqual(code, 1)
        self.assertIn("no-such-option", err)
        self.assertIn("ADMIN_down", c.ok("gnt-instance", "list", "vm3"))
        code, out, err = c.run("gnt-instance", "startup", "vm3")
        self.assertEqual(code, 1)
        self.assertIn("no-such-option", err)
        self.assertIn("ADMIN_down", c.ok("gnt-instance", "list", "vm3"))
        self.assertEqual(self.qemu_pids(), [])


class BlockdevTests(SynchronousTestCase):
    """An existing block device (a loop device) adopted by an instance."""

    skip = _skip_reason() or (None if shutil.which("losetup")
                              else "losetup (util-linux) is missing")

    def setUp(self):
        self.cluster = Cluster(self)
        self.cluster.init("--enabled-disk-templates=blockdev,diskless")
        write_os(self.cluster.root, "demo", GOOD_OS)
        image = os.path.join(self.cluster.root, "blockdev.img")
        with open(image, "wb") as f:
            f.truncate(32 * 1024 * 1024)
        result = subprocess.run(["losetup", "-f", "--show", image],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise SkipTest("no loop device: %s" % result.stderr.strip())
        self.device = result.stdout.strip()
        self.addCleanup(subprocess.run, ["losetup", "-d", self.device])

    def test_adopt(self):
        """The device is adopted with its size, installed, and kept on removal."""
        c = self.cluster
        c.ok("gnt-instance", "add", "-t", "blockdev", "--disk",
             "0:adopt=%s" % self.device, "-o", "demo+default", "--no-name-check",
             "--no-ip-check", "--no-start", "bd1")
        self.assertEqual(c.ok("gnt-instance", "list", "--no-headers", "-o",
                              "disk.size/0", "bd1").strip(), "32M")
        with open(self.device, "rb") as f:
            self.assertEqual(f.read(13), b"INSTALLED bd1")
        c.ok("gnt-instance", "remove", "-f", "bd1")
        self.assertTrue(os.path.exists(self.device))


class _RapiBase(SynchronousTestCase):
    """A running master whose RAPI is asked over real HTTPS."""

    skip = _skip_reason()

    def setUp(self):
        self.cluster = Cluster(self)
        self.cluster.init()
        with open(os.path.join(self.cluster.root, "etc/hosts")) as f:
            self.address = f.read().split()[2]

    def request(self, method, path, body=None, user=None):
        import base64
        import http.client
        import ssl
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(self.address, 5080,
                                                 context=context, timeout=30)
        headers = {"Content-Type": "application/json"}
        if user:
            headers["Authorization"] = "Basic " + base64.b64encode(
                user.encode()).decode()
        connection.request(method, path, body=json.dumps(body) if body else None,
                           headers=headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, json.loads(data) if data else None

    def answers(self, path):
        try:
            self.request("GET", path)
        except OSError:
            return False
        return True


class RapiTests(_RapiBase):
    """The RAPI of a running master, over real HTTPS."""

    def test_rapi(self):
        """GETs answer anonymously; writes need a user with write access."""
        self.assertEqual(self.request("GET", "/version"), (200, 2))
        status, info = self.request("GET", "/2/info")
        self.assertEqual((status, info["name"]), (200, self.cluster.name))
        status, body = self.request("PUT", "/2/tags?tag=x")
        self.assertEqual(status, 401)
        users = os.path.join(self.cluster.root, "var/lib/ganeti/rapi/users")
        with open(users, "w") as f:
            f.write("admin secret write\n")
        status, job_id = self.request("PUT", "/2/tags?tag=from-rapi",
                                      user="admin:secret")
        self.assertEqual(status, 200)
        self.cluster.ok("gnt-job", "wait", str(job_id))
        self.assertIn("from-rapi", self.cluster.ok("gnt-cluster", "list-tags"))

    def test_renew_crypto_and_verify_disks(self):
        """
        renew-crypto --new-rapi-certificate: the running RAPI serves the
        new certificate at once; an unreadable file or a part this cluster
        cannot renew changes nothing.  verify-disks finds nothing to do.
        """
        import ssl
        from ganeti import crypto

        def served():
            return crypto.certificate_digest(
                ssl.get_server_certificate((self.address, 5080)))
        c = self.cluster
        before = served()
        out = c.ok("gnt-cluster", "renew-crypto", "-f", "--new-rapi-certificate")
        self.assertIn("All requested certificates and keys have been replaced",
                      out)
        with open(c.paths.rapi_pem) as f:
            renewed = crypto.certificate_digest(f.read())
        self.assertNotEqual(renewed, before)
        self.assertEqual(served(), renewed)
        for argv, text in [
                (["--rapi-certificate", "/nonexistent"],
                 "Unable to load X509 certificate from /nonexistent"),
                (["--new-cluster-certificate"], "cannot do safely")]:
            code, _, err = c.run("gnt-cluster", "renew-crypto", "-f", *argv)
            self.assertEqual(code, 1)
            self.assertIn(text, err)
        self.assertEqual(served(), renewed)
        self.assertIn("No disks need to be activated.",
                      c.ok("gnt-cluster", "verify-disks"))

    def test_require_authentication(self):
        """Debian's RAPI_ARGS in etc/default/ganeti apply after a restart."""
        c = self.cluster
        c.write_rapi_args("--require-authentication")
        with open(c.paths.rapi_users, "w") as f:
            f.write("reader secret read\n")
        c.ok("ganeti-daemon", "restart")
        wait_for(lambda: daemon.master_answers(c.paths))
        wait_for(lambda: self.answers("/version"))
        self.assertEqual(self.request("GET", "/version")[0], 401)
        self.assertEqual(self.request("GET", "/version",
                                      user="reader:secret"), (200, 2))


OFFICIAL_CLIENT = r"""
import json, sys
from ganeti.rapi import client
address, node = sys.argv[1], sys.argv[2]
c = client.GanetiRapiClient(address, port=5080, username="admin",
                            password="secret")


def wait(job):
    return c.WaitForJobCompletion(job, period=0.1, retries=300)


def error_code(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except client.GanetiApiError as e:
        return e.code
    return None


out = {"version": c.GetVersion(), "name": c.GetInfo()["name"],
       "features": c.GetFeatures(), "nodes": c.GetNodes(),
       "node_role": c.GetNode(node)["role"], "role": c.GetNodeRole(node)}
job = c.CreateInstance("create", "rapi1", "diskless", [], [{}],
                       hypervisor="fake", no_install=True, start=False,
                       name_check=False, ip_check=False, pnode=node)
out["create_done"] = wait(job)
out["instance"] = c.GetInstance("rapi1")["status"]
for action in (c.StartupInstance, c.RebootInstance):
    wait(action("rapi1"))
out["running"] = c.GetInstance("rapi1")["status"]
out["console"] = c.GetInstanceConsole("rapi1")["kind"]
wait(c.ShutdownInstance("rapi1"))
out["stopped"] = c.GetInstance("rapi1")["status"]
out["console_stopped"] = error_code(c.GetInstanceConsole, "rapi1")
wait(c.ModifyInstance("rapi1", beparams={"maxmem": 64, "minmem": 64}))
out["maxmem"] = c.GetInstance("rapi1")["beparams"]["maxmem"]
wait(c.AddInstanceTags("rapi1", ["web"]))
out["instance_tags"] = c.GetInstanceTags("rapi1")
job = c.GetInstanceInfo("rapi1", static=True)
wait(job)
out["info_pnode"] = c.GetJobStatus(job)["opresult"][0]["rapi1"]["pnode"]
job = c.ReplaceInstanceDisks("rapi1", disks=[0], mode="replace_on_secondary")
out["replace_done"] = wait(job)
out["replace_error"] = c.GetJobStatus(job)["opresult"][0][1][0]
job = c.GetNodeStorageUnits(node, "file", "name,size")
out["storage"] = wait(job)
out["set_master_role"] = error_code(c.SetNodeRole, node, "master")
out["groups"] = c.GetGroups()
out["query"] = c.Query("instance", ["name", "status"])["data"]
out["query_fields"] = [f["name"] for f in
                       c.QueryFields("node", ["name", "pip"])["fields"]]
out["redist"] = wait(c.RedistributeConfig())
wait(c.ModifyCluster(candidate_pool_size=5))
out["pool"] = c.GetInfo()["candidate_pool_size"]
job = c.AddClusterTags(["t1"])
wait(job)
out["tags"] = c.GetClusterTags()
out["job_status"] = c.GetJobStatus(job)["status"]
out["job_listed"] = job in c.GetJobs()
out["filters"] = c.GetFilters()
filter_uuid = c.AddFilter(0, [["jobid", [">", "id", "watermark"]]], "CONTINUE")
out["filter_action"] = c.GetFilter(filter_uuid)["action"]
out["filter_deleted"] = c.DeleteFilter(filter_uuid)
out["instances"] = [i["name"] for i in c.GetInstances(bulk=True)]
wait(c.RenameInstance("rapi1", "rapi2", ip_check=False, name_check=False))
out["renamed"] = c.GetInstances()
wait(c.DeleteInstance("rapi2"))
out["after_delete"] = c.GetInstances()
job = c.InstancesMultiAlloc([c.InstanceAllocation(
    "create", "multi1", "diskless", [], [{}], hypervisor="fake",
    no_install=True, start=False, name_check=False, ip_check=False,
    pnode=node)])
wait(job)
result = c.GetJobStatus(job)["opresult"][0]
for ok, spawned in result["jobs"]:
    wait(spawned)
out["multi"] = [result["allocatable"], c.GetInstances()]
print(json.dumps(out))
"""


class OfficialRapiClientTests(_RapiBase):
    """Debian's python3-ganeti-rapi (the official client) against our RAPI."""

    def setUp(self):
        probe = subprocess.run(["/usr/bin/python3", "-c",
                                "import ganeti.rapi.client"],
                               capture_output=True, cwd="/",
                               env=SYSTEM_PYTHON_ENV)
        if probe.returncode != 0:
            raise SkipTest("python3-ganeti-rapi is not installed"
                           " (tests/install-deps.sh installs it)")
        _RapiBase.setUp(self)

    def test_rapi(self):
        """The official client's calls work as against Ganeti."""
        users = os.path.join(self.cluster.root, "var/lib/ganeti/rapi/users")
        with open(users, "w") as f:
            f.write("admin secret write\n")
        # Run from / so that the client's own "ganeti" package is imported.
        result = subprocess.run(["/usr/bin/python3", "-c", OFFICIAL_CLIENT,
                                 self.address, self.cluster.node],
                                capture_output=True, text=True, cwd="/",
                                env=SYSTEM_PYTHON_ENV,
                                timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        out = json.loads(result.stdout)
        self.assertEqual(out["version"], 2)
        self.assertEqual(out["name"], self.cluster.name)
        self.assertIn("instance-create-reqv1", out["features"])
        self.assertEqual(out["nodes"], [self.cluster.node])
        self.assertEqual(out["node_role"], "M")
        self.assertEqual(out["role"], "master")
        self.assertTrue(out["create_done"])
        self.assertEqual(out["instance"], "ADMIN_down")
        self.assertEqual(out["running"], "running")
        self.assertEqual(out["console"], "msg")
        self.assertEqual(out["stopped"], "ADMIN_down")
        self.assertEqual(out["console_stopped"], 503)
        self.assertEqual(out["maxmem"], 64)
        self.assertEqual(out["instance_tags"], ["web"])
        self.assertEqual(out["info_pnode"], self.cluster.node)
        # Reaches the unit, which refuses a diskless instance.
        self.assertEqual((out["replace_done"], out["replace_error"]),
                         (False, "Can only run replace disks for DRBD8-based"
                                 " instances"))
        self.assertTrue(out["storage"])
        self.assertEqual(out["set_master_role"], 400)
        self.assertEqual(out["groups"], ["default"])
        self.assertEqual(out["query"], [[[0, "rapi1"], [0, "ADMIN_down"]]])
        self.assertEqual(out["query_fields"], ["name", "pip"])
        self.assertTrue(out["redist"])
        self.assertEqual(out["pool"], 5)
        self.assertEqual(out["tags"], ["t1"])
        self.assertEqual(out["job_status"], "success")
        self.assertTrue(out["job_listed"])
        self.assertEqual(out["filters"], [])
        self.assertEqual(out["filter_action"], "CONTINUE")
        self.assertIsNone(out["filter_deleted"])
        self.assertEqual(out["instances"], ["rapi1"])
        self.assertEqual(out["renamed"], ["rapi2"])
        self.assertEqual(out["after_delete"], [])
        self.assertEqual(out["multi"], [["multi1"], ["multi1"]])


class NetworkCommandTests(SynchronousTestCase):
    """gnt-network against a running master, as an operator types it."""

    skip = _skip_reason()

    def serial(self, cluster):
        return configmod.load(cluster.paths.config_data).serial_no

    def test_network_life(self):
        """
        add, connect, list, info, modify, tags, disconnect, rename,
        remove; bad input exits 1 and changes nothing.
        """
        c = Cluster(self)
        c.init()
        c.ok("gnt-network", "add", "--network=192.0.2.0/28",
             "--gateway=192.0.2.1", "--add-reserved-ips=192.0.2.2",
             "--mac-prefix=aa:00:00", "--tags=dmz", "net1")
        c.ok("gnt-group", "add", "g2")
        c.ok("gnt-network", "connect", "-N", "mode=bridged,link=br0,vlan=5",
             "net1")
        out = c.ok("gnt-network", "list", "--no-headers", "--separator=|")
        self.assertEqual(out, "net1|192.0.2.0/28|192.0.2.1|aa:00:00|"
                              "default (bridged, br0, 5), g2 (bridged, br0,"
                              " 5)|dmz\n")
        info = c.ok("gnt-network", "info", "net1").splitlines()
        self.assertEqual(info[:3], ["Network name: net1", info[1],
                                    "Serial number: %s" % info[2].split()[-1]])
        self.assertIn("  Size: 16", info)
        self.assertIn("  Free: 12 (75.00%)", info)
        self.assertIn("        0 XXX............X" + " " * 48 + " 63", info)
        self.assertIn("    g2 (mode:bridged link:br0 vlan:5)", info)
        self.assertEqual(info[-1], "  not used by any instances")
        # Ganeti changes the gateway and the reservations in separate steps.
        c.ok("gnt-network", "modify", "--gateway=none", "net1")
        c.ok("gnt-network", "modify", "--remove-reserved-ips=192.0.2.2",
             "net1")
        c.ok("gnt-network", "add-tags", "net1", "web")
        self.assertEqual(c.ok("gnt-network", "list-tags", "net1"),
                         "dmz\nweb\n")
        self.assertIn("/network/net1 web",
                      c.ok("gnt-cluster", "search-tags", "web"))
        self.assertEqual(c.ok("gnt-network", "list", "--no-headers", "-o",
                              "gateway,free_count,group_cnt").split(),
                         ["-", "14", "2"])

        serial = self.serial(c)
        for argv, text in [
                (["add", "net2"], "The --network option must be given"),
                (["add", "--network=10.0.0.0/8", "net2"], "/16"),
                (["add", "--network=192.0.2.0/28", "net1"],
                 "Desired network name 'net1' already exists"),
                (["connect", "net1", "g2", "nogroup"],
                 "Node group 'nogroup' not found"),
                (["connect", "net1", "bridged", "br0"],
                 "use -N mode=bridged,link=<link> instead"),
                (["remove", "net1"], "Network still connected"),
                (["info", "nope"], "Network name nope not found"),
                (["modify", "net1"], "Please give at least one")]:
            code, _, err = c.run("gnt-network", *argv)
            self.assertEqual(code, 1, (argv, err))
            self.assertIn(text, err, argv)
        self.assertEqual(self.serial(c), serial)

        # An instance with a NIC on the network: its address is taken from
        # the pool; the network shows the instance, and cannot be
        # disconnected from its group while the NIC is there.
        c.ok("gnt-instance", "add", "-t", "diskless", "--no-name-check",
             "--no-ip-check", "--no-install", "-n", c.node,
             "--net", "0:network=net1,ip=pool", "inst1")
        info = c.ok("gnt-network", "info", "net1").splitlines()
        self.assertEqual(info[-2:], ["  used by 1 instances:",
                                     "    inst1: 0:192.0.2.1"])
        self.assertEqual(c.ok("gnt-network", "list", "--no-headers", "-o",
                              "inst_list,free_count").split(),
                         ["inst1", "13"])
        code, _, err = c.run("gnt-network", "disconnect", "net1", "default")
        self.assertEqual(code, 1, err)
        c.ok("gnt-instance", "remove", "-f", "inst1")

        c.ok("gnt-network", "disconnect", "net1", "g2")
        self.assertEqual(c.ok("gnt-network", "list", "--no-headers", "-o",
                              "group_list").strip(),
                         "default (bridged, br0, 5)")
        c.ok("gnt-network", "disconnect", "net1")
        c.ok("gnt-network", "rename", "net1", "net2")
        out = c.ok("gnt-network", "remove", "--print-jobid", "net2")
        self.assertTrue(out.strip().isdigit(), out)
        self.assertEqual(c.ok("gnt-network", "list", "--no-headers"), "")


NETWORK_CLIENT = r"""
import json, sys
from ganeti.rapi import client
c = client.GanetiRapiClient(sys.argv[1], port=5080, username="admin",
                            password="secret")


def wait(job):
    return c.WaitForJobCompletion(job, period=0.1, retries=300)


def error_code(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except client.GanetiApiError as e:
        return e.code
    return None


def fields(*names):
    net = c.GetNetwork("net1")
    return [net[name] for name in names]


out = {"created": wait(c.CreateNetwork(
    "net1", "192.0.2.0/28", gateway="192.0.2.1",
    add_reserved_ips="192.0.2.2", tags="a,b"))}
out["names"] = c.GetNetworks()
out["connected"] = wait(c.ConnectNetwork("net1", "default", "routed", "rt0",
                                         vlan="5"))
out["net"] = fields("gateway", "reserved_count", "group_list", "tags")
out["modified"] = wait(c.ModifyNetwork("net1", mac_prefix="aa:00:00",
                                       gateway="none"))
out["after_modify"] = fields("mac_prefix", "gateway", "reserved_count")
wait(c.AddNetworkTags("net1", ["c"]))
wait(c.DeleteNetworkTags("net1", ["a"]))
out["tags"] = c.GetNetworkTags("net1")
out["bulk"] = [[n["name"], n["free_count"]] for n in c.GetNetworks(bulk=True)]
out["query"] = c.Query("network", ["name", "group_cnt"])["data"]
out["disconnected"] = wait(c.DisconnectNetwork("net1", "default"))
# Debian's 3.0 client predates RenameNetwork (Ganeti added it later).
if hasattr(c, "RenameNetwork"):
    job = c.RenameNetwork("net1", "net2")
else:
    job = c._SendRequest("PUT", "/2/networks/net1/rename", None,
                         {"new_name": "net2"})
out["renamed"] = wait(job)
out["missing"] = error_code(c.GetNetwork, "net1")
out["deleted"] = wait(c.DeleteNetwork("net2", dry_run=True))
out["kept"] = c.GetNetworks()
out["deleted"] = wait(c.DeleteNetwork("net2"))
out["after_delete"] = c.GetNetworks()
print(json.dumps(out))
"""


class OfficialClientNetworkTests(_RapiBase):
    """The official client's network methods, unchanged, against our RAPI."""

    setUp = OfficialRapiClientTests.setUp

    def test_networks(self):
        """Every network call works as against Ganeti."""
        users = os.path.join(self.cluster.root, "var/lib/ganeti/rapi/users")
        with open(users, "w") as f:
            f.write("admin secret write\n")
        result = subprocess.run(["/usr/bin/python3", "-c", NETWORK_CLIENT,
                                 self.address],
                                capture_output=True, text=True, cwd="/",
                                env=SYSTEM_PYTHON_ENV, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        out = json.loads(result.stdout)
        self.assertEqual(out, {
            "created": True, "names": ["net1"], "connected": True,
            "net": ["192.0.2.1", 4, [["default", "routed", "rt0", "5"]],
                    ["a", "b"]],
            "modified": True, "after_modify": ["aa:00:00", None, 3],
            "tags": ["b", "c"], "bulk": [["net1", 13]],
            "query": [[[0, "net1"], [0, 1]]],
            "disconnected": True, "renamed": True, "missing": 404,
            "kept": ["net2"], "deleted": True, "after_delete": []})
