"""
A real multi-node cluster in the namespace test bed: one twistd per host,
node setup over real ssh, node RPC over TLS between namespaces, driven
only through the tools run on the hosts.
"""

import json
import os
import signal
import sys
import time

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.cluster.bed import Bed, bed_available
from tests.scenarios import TwoNodeScenarios
from tests.util import SYSTEM_PYTHON_ENV

BIN = os.path.dirname(os.path.abspath(sys.executable))

#: Prints the master named by GET /2/info on the given address.
RAPI_INFO_MASTER = r"""
import http.client, json, ssl, sys
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
connection = http.client.HTTPSConnection(sys.argv[1], 5080, context=context,
                                         timeout=30)
connection.request("GET", "/2/info")
print(json.loads(connection.getresponse().read())["master"])
"""

#: Run by the system Python with Debian's python3-ganeti-rapi on the
#: master: each move, then where the instance is and its status.
OFFICIAL_CLIENT_MOVES = r"""
import json, sys
from ganeti.rapi import client
node1, node2 = sys.argv[1], sys.argv[2]
c = client.GanetiRapiClient(node1, username="admin", password="secret")


def wait(job):
    if not c.WaitForJobCompletion(job, period=0.1, retries=600):
        sys.exit("job %s: %s" % (job, c.GetJobStatus(job)))


def where():
    inst = c.GetInstance("inst1")
    return [inst["pnode"], inst["status"]]


def wait_spawned(job):
    wait(job)
    for ok, spawned in c.GetJobStatus(job)["opresult"][0]["jobs"]:
        wait(spawned)


out = {}
wait(c.MigrateInstance("inst1", target_node=node2))
out["migrated"] = where()
wait(c.FailoverInstance("inst1", target_node=node1))
out["failed_over"] = where()
wait_spawned(c.MigrateNode(node1, target_node=node2))
out["node_migrated"] = where()
wait_spawned(c.EvacuateNode(node2, remote_node=node1, mode="primary-only"))
out["evacuated"] = where()
print(json.dumps(out))
"""


def _skip_reason():
    reason = bed_available()
    if reason:
        return reason
    if not os.path.exists(os.path.join(BIN, "gnt-cluster")):
        return "the tools are not installed next to %s" % BIN
    return None


class _BedMixin:
    """Three hosts; node1 becomes the master."""

    skip = _skip_reason()

    def setUp(self):
        self.bed = Bed(3)
        self.bed.start()
        self.addCleanup(self.bed.teardown)
        self.node1, self.node2, self.node3 = self.bed.hosts

    def tool(self, host, *argv, ok=True):
        result = host.run([os.path.join(BIN, argv[0])] + list(argv[1:]),
                          timeout=120)
        if ok and result.returncode != 0:
            raise AssertionError("%s on %s exited %d:\n%s%s" % (
                argv, host.name, result.returncode, result.stdout,
                result.stderr))
        return result

    def add_diskless(self, node, start=True):
        """Add the diskless fake instance ``inst1`` on C{node}."""
        self.tool(self.node1, "gnt-instance", "add", "-t", "diskless",
                  "--no-install", "--no-name-check", "--no-ip-check",
                  "-n", node.name, "inst1")
        if start:
            self.tool(self.node1, "gnt-instance", "startup", "inst1")

    def init(self):
        self.tool(self.node1, "gnt-cluster", "init", "--master-netdev=eth0",
                  "--enabled-hypervisors=fake",
                  "--enabled-disk-templates=file,diskless", "--no-etc-hosts",
                  self.bed.cluster_name)



class ScenarioTests(_BedMixin, TwoNodeScenarios, SynchronousTestCase):
    """The scenarios both beds run, here on namespace hosts."""

    def setUp(self):
        _BedMixin.setUp(self)
        self.init()
        self.tool(self.node1, "gnt-node", "add", self.node2.name)

    def gnt(self, index, *argv):
        return self.tool(self.bed.hosts[index - 1], *argv, ok=False)

    def node_name(self, index):
        return self.bed.hosts[index - 1].name


class MultiNodeTests(_BedMixin, SynchronousTestCase):
    """Nodes join, replicate, run instances and are verified."""

    def test_add_nodes_and_replicate(self):
        """
        gnt-node add sets nodes up over ssh; they get the config (as
        candidates) and ssconf, run instances, and verify is clean.
        """
        self.init()
        started = time.monotonic()
        self.tool(self.node1, "gnt-node", "add", self.node2.name)
        added = time.monotonic() - started
        self.tool(self.node1, "gnt-node", "add", self.node3.name)
        listing = self.tool(self.node1, "gnt-node", "list", "--no-headers",
                            "-o", "name,role").stdout.split()
        self.assertEqual(listing, [self.node1.name, "M", self.node2.name, "C",
                                   self.node3.name, "C"])
        # The files reach the other hosts' own /var/lib/ganeti.
        master_node = os.path.join(self.node2.root_paths["/var/lib/ganeti"],
                                   "ssconf_master_node")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not os.path.exists(master_node):
            time.sleep(0.05)
        with open(master_node) as f:
            self.assertEqual(f.read().strip(), self.node1.name)
        self.assertTrue(os.path.exists(os.path.join(
            self.node3.root_paths["/var/lib/ganeti"], "config.data")))
        self.add_diskless(self.node2)
        state = os.path.join(self.node2.root_paths["/var/run/ganeti"],
                             "fake-hypervisor", "inst1")
        self.assertTrue(os.path.exists(state))
        listing = self.tool(self.node1, "gnt-instance", "list", "--no-headers",
                            "-o", "name,pnode,status").stdout.split()
        self.assertEqual(listing, ["inst1", self.node2.name, "running"])
        self.tool(self.node1, "gnt-cluster", "verify")
        self.assertLess(added, 30)

    def test_command_and_copyfile(self):
        """command runs on every node (master last); copyfile copies."""
        self.init()
        self.tool(self.node1, "gnt-node", "add", self.node2.name)
        out = self.tool(self.node1, "gnt-cluster", "command", "hostname").stdout
        self.assertEqual(out.count("return code = 0"), 2)
        self.assertLess(out.index("node: %s" % self.node2.name),
                        out.index("node: %s" % self.node1.name))
        path = "/etc/ganeti/copied.txt"
        with open(os.path.join(self.node1.root_paths["/etc/ganeti"],
                               "copied.txt"), "w") as f:
            f.write("hello\n")
        self.tool(self.node1, "gnt-cluster", "copyfile", path)
        with open(os.path.join(self.node2.root_paths["/etc/ganeti"],
                               "copied.txt")) as f:
            self.assertEqual(f.read(), "hello\n")

    def test_cut_link(self):
        """A node cut off the network is reported; verify does not hang."""
        self.init()
        self.tool(self.node1, "gnt-node", "add", self.node3.name)
        self.node3.cut_link()
        started = time.monotonic()
        result = self.tool(self.node1, "gnt-cluster", "verify", ok=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("ERROR: node %s" % self.node3.name, result.stdout)
        # One short RPC timeout (10 s), not one per check.
        self.assertLess(time.monotonic() - started, 25)
        self.node3.restore_link()

    def test_dead_node_reported(self):
        """A node whose daemon was killed is reported by verify, quickly."""
        self.init()
        self.tool(self.node1, "gnt-node", "add", self.node2.name)
        self.node2.pidfile_kill("/var/run/ganeti/ganeti.pid", signal.SIGKILL)
        started = time.monotonic()
        result = self.tool(self.node1, "gnt-cluster", "verify", ok=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("ERROR: node %s" % self.node2.name, result.stdout)
        self.assertLess(time.monotonic() - started, 30)

    def test_remove_node(self):
        """A removed node leaves the config and forgets the cluster."""
        self.init()
        self.tool(self.node1, "gnt-node", "add", self.node2.name)
        self.tool(self.node1, "gnt-node", "remove", self.node2.name)
        listing = self.tool(self.node1, "gnt-node", "list", "--no-headers",
                            "-o", "name").stdout.split()
        self.assertEqual(listing, [self.node1.name])
        self.assertFalse(os.path.exists(os.path.join(
            self.node2.root_paths["/var/lib/ganeti"], "server.pem")))


class FailoverTests(_BedMixin, SynchronousTestCase):
    """The master role moves to a candidate; the queue goes with it."""

    def test_master_failover(self):
        """
        After master-failover on node2 every node names node2 as master,
        jobs and instances are there, running jobs ended in error, and the
        old master no longer answers.
        """
        self.init()
        for host in (self.node2, self.node3):
            self.tool(self.node1, "gnt-node", "add", host.name)
        self.add_diskless(self.node3, start=False)
        running = self.tool(self.node1, "gnt-debug", "delay", "--submit",
                            "--print-jobid", "--no-locks", "600").stdout.split()[0]
        started = time.monotonic()
        self.tool(self.node2, "gnt-cluster", "master-failover")
        took = time.monotonic() - started
        for host in self.bed.hosts:
            self.assertEqual(self.tool(host, "gnt-cluster", "getmaster")
                             .stdout.strip(), self.node2.name)
        listing = self.tool(self.node2, "gnt-instance", "list", "--no-headers",
                            "-o", "name,pnode").stdout.split()
        self.assertEqual(listing, ["inst1", self.node3.name])
        status = self.tool(self.node2, "gnt-job", "list", "--no-headers", "-o",
                           "status", running).stdout.strip()
        self.assertEqual(status, "error")
        old = self.tool(self.node1, "gnt-job", "list", ok=False)
        self.assertEqual(old.returncode, 1)
        self.assertIn("Cannot communicate with the master daemon", old.stderr)
        self.tool(self.node2, "gnt-debug", "delay", "0.01")
        self.assertLess(took, 30)
        # The RAPI moved with the master role and the cluster IP.
        self.assertEqual(self.rapi_master(self.node3), self.node2.name)

    def rapi_master(self, host):
        """:return: the master named by the RAPI on the cluster IP."""
        result = host.run([sys.executable, "-c", RAPI_INFO_MASTER,
                           self.bed.cluster_name], timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.strip()

    def test_not_candidate_refused(self):
        """A node that is not a master candidate cannot take over."""
        self.init()
        self.tool(self.node1, "gnt-node", "add", "--master-capable=no",
                  self.node2.name)
        result = self.tool(self.node2, "gnt-cluster", "master-failover", ok=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("not a master candidate", result.stderr)

    def test_failover_after_master_killed(self):
        """
        kill -9 of the master during a job; failover to a candidate finds
        every acknowledged job and config change.
        """
        self.init()
        for host in (self.node2, self.node3):
            self.tool(self.node1, "gnt-node", "add", host.name)
        self.tool(self.node1, "gnt-cluster", "add-tags", "before-crash")
        done = self.tool(self.node1, "gnt-debug", "delay", "--print-jobid",
                         "0.01").stdout.split()[0]
        running = self.tool(self.node1, "gnt-debug", "delay", "--submit",
                            "--print-jobid", "--no-locks", "600").stdout.split()[0]
        self.node1.pidfile_kill("/var/run/ganeti/ganeti.pid", signal.SIGKILL)
        self.tool(self.node2, "gnt-cluster", "master-failover")
        statuses = self.tool(self.node2, "gnt-job", "list", "--no-headers",
                             "-o", "id,status", done, running).stdout.split()
        self.assertEqual(statuses, [done, "success", running, "error"])
        self.assertIn("before-crash",
                      self.tool(self.node2, "gnt-cluster", "list-tags").stdout)
        self.assertEqual(self.tool(self.node3, "gnt-cluster", "getmaster")
                         .stdout.strip(), self.node2.name)


class InstanceMoveTests(_BedMixin, SynchronousTestCase):
    """Instances fail over and migrate between real nodes."""

    def where(self):
        """:return: ``[name, pnode, status]`` of the instance."""
        return self.tool(self.node1, "gnt-instance", "list", "--no-headers",
                         "-o", "name,pnode,status").stdout.split()

    def fake_state(self, host):
        """:return: whether C{host}'s fake hypervisor runs the instance."""
        return os.path.exists(os.path.join(
            host.root_paths["/var/run/ganeti"], "fake-hypervisor", "inst1"))

    def test_failover_and_migrate(self):
        """
        A running diskless instance fails over to node2, migrates back to
        node1, and gnt-node migrate moves it to node2 again, waiting for
        the job it submitted; each time only the new node runs it.
        """
        self.init()
        self.tool(self.node1, "gnt-node", "add", self.node2.name)
        self.add_diskless(self.node1)
        self.tool(self.node1, "gnt-instance", "failover", "-f",
                  "-n", self.node2.name, "inst1")
        self.assertEqual(self.where(), ["inst1", self.node2.name, "running"])
        self.assertEqual((self.fake_state(self.node1),
                          self.fake_state(self.node2)), (False, True))
        out = self.tool(self.node1, "gnt-instance", "migrate", "-f",
                        "-n", self.node1.name, "inst1").stdout
        self.assertIn("* memory transfer complete", out)
        self.assertEqual(self.where(), ["inst1", self.node1.name, "running"])
        self.assertEqual((self.fake_state(self.node1),
                          self.fake_state(self.node2)), (True, False))
        out = self.tool(self.node1, "gnt-node", "migrate", "-f",
                        "-n", self.node2.name, self.node1.name).stdout
        self.assertIn("All instances migrated successfully.", out)
        self.assertEqual(self.where(), ["inst1", self.node2.name, "running"])
        refused = self.tool(self.node1, "gnt-instance", "migrate", "-f",
                            "inst1", ok=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("No iallocator or node given", refused.stderr)

    def test_official_rapi_client_moves(self):
        """
        Debian's official RAPI client, run on the master, migrates, fails
        over, migrates a whole node and evacuates it.
        """
        probe = self.node1.run(["/usr/bin/python3", "-c",
                                "import ganeti.rapi.client"], cwd="/",
                               env=SYSTEM_PYTHON_ENV)
        if probe.returncode != 0:
            raise SkipTest("python3-ganeti-rapi is not installed")
        self.init()
        self.tool(self.node1, "gnt-node", "add", self.node2.name)
        self.add_diskless(self.node1)
        users = os.path.join(self.node1.root_paths["/var/lib/ganeti"],
                             "rapi", "users")
        with open(users, "w") as f:
            f.write("admin secret write\n")
        result = self.node1.run(
            ["/usr/bin/python3", "-c", OFFICIAL_CLIENT_MOVES, self.node1.name,
             self.node2.name], cwd="/", env=SYSTEM_PYTHON_ENV, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        n1, n2 = self.node1.name, self.node2.name
        self.assertEqual(json.loads(result.stdout), {
            "migrated": [n2, "running"], "failed_over": [n1, "running"],
            "node_migrated": [n2, "running"], "evacuated": [n1, "running"]})


class BackupTests(_BedMixin, SynchronousTestCase):
    """gnt-backup between real nodes."""

    def test_export_to_other_node_and_import_back(self):
        """
        An instance on node1 is exported to node2 (its disk dump streamed
        between the node daemons), removed, and imported back onto node1
        from the export found on node2; the disk holds what it held.
        """
        from ganeti.paths import Paths
        from tests.test_backup import MARKER, NAME, install_os
        self.init()
        self.tool(self.node1, "gnt-node", "add", self.node2.name)
        for host in (self.node1, self.node2):
            install_os(Paths(host.root))
        self.tool(self.node1, "gnt-instance", "add", "-t", "file", "--disk",
                  "0:size=1M", "-o", "marker", "--no-name-check",
                  "--no-ip-check", "--no-start", "-n", self.node1.name, NAME)
        self.tool(self.node1, "gnt-backup", "export", "-n", self.node2.name,
                  NAME)
        self.assertEqual(self.tool(self.node1, "gnt-backup", "list",
                                   "--no-headers").stdout.split(),
                         [self.node2.name, NAME])
        dump = os.path.join(Paths(self.node2.root).export_dir, NAME,
                            "disk0.snap")
        with open(dump, "rb") as f:
            self.assertEqual(f.read(len(MARKER)), MARKER)
        self.tool(self.node1, "gnt-instance", "remove", "-f", NAME)
        self.tool(self.node1, "gnt-backup", "import", "-n", self.node1.name,
                  "--no-name-check", "--no-ip-check", NAME)
        storage = os.path.join(Paths(self.node1.root).file_storage_dir, NAME)
        [image] = os.listdir(storage)
        with open(os.path.join(storage, image), "rb") as f:
            self.assertEqual(f.read(len(MARKER)), MARKER)
