"""
Tests for opcode hooks: the node running the scripts of a hooks
directory (real ``/bin/sh`` scripts, or a L{ProcessClock} for time
limits), and the master running each logical unit's phases through the
job queue, with their environment, vetoes and warnings.
"""

import os

from twisted.internet import reactor
from twisted.internet.defer import fail, inlineCallbacks
from twisted.internet.endpoints import SSL4ServerEndpoint
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti import crypto, errors, hooks
from ganeti.cli.base import format_error
from ganeti.cmdlib.hooks import HooksMaster
from ganeti.master.queries import query_instances
from ganeti.node.handler import NodeHandler
from ganeti.node.hooks import HooksRunner
from ganeti.node.service import node_factory
from ganeti.protocols import tls
from ganeti.rpc import NodeRpc
from ganeti.testing.process import ProcessClock
from tests.util import (
    NODE2_NAME, SETTINGS, allow_file_storage, finished_job, local_cluster,
    make_paths, two_node_cluster, write_config)

NODE = SETTINGS["node_name"]
NAME = "inst1.example.com"

#: What C{/bin/sh} adds to the environment it was given.
SHELL_VARIABLES = {"PWD"}


def write_script(paths, subdir, name, body, mode=0o755):
    """Write a ``/bin/sh`` script below the hooks directory of C{paths}."""
    directory = os.path.join(paths.hooks_dir, subdir)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, mode)
    return path


def env_dump(paths, subdir, name="50-env"):
    """
    A script that saves its environment; :return: the file it writes.
    """
    target = os.path.join(paths.root, "%s.env" % subdir)
    write_script(paths, subdir, name, "env > %s" % target)
    return target


def read_env(path):
    """:return: the variables a L{env_dump} script saw."""
    with open(path) as f:
        pairs = [line.rstrip("\n").split("=", 1) for line in f if "=" in line]
    return {k: v for k, v in pairs if k not in SHELL_VARIABLES}


def create(**params):
    op = {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": NAME,
          "disk_template": "diskless", "disks": [], "nics": [{}],
          "pnode": NODE, "no_install": True, "hypervisor": "fake",
          "start": False}
    op.update(params)
    return op


def startup(**params):
    return dict({"OP_ID": "OP_INSTANCE_STARTUP", "instance_name": NAME},
                **params)


def messages(job):
    """:return: the log messages of every opcode of C{job}."""
    return [entry[3] for op in job.ops for entry in op.log]


class CallCounter:
    """Node RPC that counts the calls of each method, then delegates."""

    def __init__(self, rpc):
        self.rpc = rpc
        self.calls = []

    def call(self, nodes, method, *args, **kwargs):
        self.calls.append((method, [name for name, _ in nodes], args))
        return self.rpc.call(nodes, method, *args, **kwargs)

    def hooks_calls(self):
        return [(args[0], args[1], nodes) for method, nodes, args in self.calls
                if method == "hooks_runner"]


# --- the node's side ---------------------------------------------------------

class HooksRunnerTests(TestCase):
    """The node runs a hooks directory's scripts as run-parts would."""

    def setUp(self):
        self.paths = make_paths(self)
        self.runner = HooksRunner(reactor, self.paths.hooks_dir,
                                  self.paths.data_dir)
        self.order = os.path.join(self.paths.root, "order")

    def env(self):
        return {"PATH": hooks.HOOKS_PATH, "GANETI_HOOKS_PHASE": "pre"}

    def test_missing_directory(self):
        """Without a directory nothing runs and the answer comes at once."""
        results = self.successResultOf(
            self.runner.run("instance-start", "pre", self.env()))
        self.assertEqual(results, [])

    @inlineCallbacks
    def test_name_order_and_skips(self):
        """
        Scripts run in name order; names run-parts refuses, files that
        are not executable and directories are skipped but listed.
        """
        subdir = "instance-start-pre.d"
        for name in ("20-second", "10-first", "Upper_case-3", "check.sh",
                     ".hidden"):
            write_script(self.paths, subdir, name, "echo %s >> %s"
                         % (name, self.order))
        write_script(self.paths, subdir, "15-plain", "echo no >> %s"
                     % self.order, mode=0o644)
        os.makedirs(os.path.join(self.paths.hooks_dir, subdir, "30-dir"))
        results = yield self.runner.run("instance-start", "pre", self.env())
        with open(self.order) as f:
            self.assertEqual(f.read().split(),
                             ["10-first", "20-second", "Upper_case-3"])
        self.assertEqual(results, [
            [subdir + "/10-first", hooks.HKR_SUCCESS, ""],
            [subdir + "/15-plain", hooks.HKR_SKIP, ""],
            [subdir + "/20-second", hooks.HKR_SUCCESS, ""],
            [subdir + "/30-dir", hooks.HKR_SKIP, ""],
            [subdir + "/Upper_case-3", hooks.HKR_SUCCESS, ""],
            [subdir + "/check.sh", hooks.HKR_SKIP, ""],
        ])

    @inlineCallbacks
    def test_output_and_failure(self):
        """
        Standard output and error are the script's output; a non-zero
        exit is a failure and the next script still runs.
        """
        write_script(self.paths, "node-add-post.d", "10-fails",
                     "echo out; echo err >&2; exit 3")
        write_script(self.paths, "node-add-post.d", "20-runs", "echo fine")
        results = yield self.runner.run("node-add", "post", self.env())
        self.assertEqual(results, [
            ["node-add-post.d/10-fails", hooks.HKR_FAIL, "out\nerr"],
            ["node-add-post.d/20-runs", hooks.HKR_SUCCESS, "fine"]])

    @inlineCallbacks
    def test_clean_environment(self):
        """
        A script sees the environment given plus the node's data
        directory, nothing of the daemon's own.
        """
        self.patch(os, "environ", dict(os.environ, DAEMON_SECRET="x"))
        dump = env_dump(self.paths, "group-add-pre.d")
        yield self.runner.run("group-add", "pre", self.env())
        self.assertEqual(read_env(dump), dict(
            self.env(), GANETI_DATA_DIR=self.paths.data_dir))

    def test_bad_request(self):
        """A path that would leave the hooks directory is refused."""
        self.assertRaises(errors.ProgrammerError, self.runner.run,
                          "../etc", "pre", self.env())
        self.assertRaises(errors.ProgrammerError, self.runner.run,
                          "node-add", "during", self.env())


class HooksOverTlsTests(TestCase):
    """The hooks RPC through the real node service (AMP over TLS)."""

    @inlineCallbacks
    def test_round_trip(self):
        """The master's call reaches the scripts and gets their results."""
        paths = make_paths(self)
        pem = crypto.generate_self_signed_pem("cluster.example.com")
        port = yield SSL4ServerEndpoint(
            reactor, 0, tls.server_options(pem), interface="127.0.0.1",
        ).listen(node_factory(NodeHandler(paths, reactor)))
        self.addCleanup(port.stopListening)
        rpc = NodeRpc(reactor, pem, port=port.getHost().port)
        self.addCleanup(rpc.close)
        write_script(paths, "node-add-pre.d", "10-say",
                     'echo "$GANETI_NODE_NAME" is welcome')
        results = yield rpc.call([("node1", "127.0.0.1")], "hooks_runner",
                                 "node-add", "pre",
                                 {"PATH": hooks.HOOKS_PATH,
                                  "GANETI_NODE_NAME": "node9"})
        self.assertEqual(results["node1"].payload, [
            ["node-add-pre.d/10-say", hooks.HKR_SUCCESS, "node9 is welcome"]])


class HooksTimeoutTests(SynchronousTestCase):
    """Each script has a time limit, measured on the reactor's clock."""

    def test_timeout_kills(self):
        """
        A script still running at the limit gets TERM, then KILL; it
        counts as failed and the next script runs.
        """
        paths = make_paths(self)
        clock = ProcessClock()
        runner = HooksRunner(clock, paths.hooks_dir, paths.data_dir,
                             timeout=10)
        write_script(paths, "instance-stop-pre.d", "10-hangs", "sleep 1000")
        write_script(paths, "instance-stop-pre.d", "20-next", "true")
        d = runner.run("instance-stop", "pre", {"PATH": hooks.HOOKS_PATH})
        [hung] = clock.processes
        clock.advance(9)
        self.assertEqual(hung.signals, [])
        clock.advance(1)
        self.assertEqual(hung.signals, ["TERM"])
        clock.advance(5)
        self.assertEqual(hung.signals, ["TERM", "KILL"])
        hung.die(9)
        clock.advance(0)
        [_, following] = clock.processes
        self.assertEqual(following.argv[0][-len("20-next"):], "20-next")
        following.exit(0)
        clock.advance(0)
        [first, second] = self.successResultOf(d)
        self.assertEqual(first[:2], ["instance-stop-pre.d/10-hangs",
                                     hooks.HKR_FAIL])
        self.assertIn("timed out after 10 seconds", first[2])
        self.assertEqual(second[1], hooks.HKR_SUCCESS)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_setting(self):
        """The node's limit is a setting of its handler; an hour by default."""
        paths = make_paths(self)
        self.assertEqual(NodeHandler(paths, ProcessClock()).hooks.timeout,
                         3600)
        self.assertEqual(NodeHandler(paths, ProcessClock(),
                                     hooks_timeout=60).hooks.timeout, 60)


class MasterIpHooksTests(SynchronousTestCase):
    """The node runs the master IP hooks around changing the master IP."""

    def setUp(self):
        self.paths = make_paths(self)
        write_config(self.paths)
        self.clock = ProcessClock()
        self.handler = NodeHandler(self.paths, self.clock)

    def test_pre_veto(self):
        """A failed master-ip-turnup pre script leaves the IP alone."""
        write_script(self.paths, "master-ip-turnup-pre.d", "10-no", "exit 1")
        d = self.handler.node_activate_master_ip()
        [script] = self.clock.processes
        env = script.env
        self.assertEqual(env["GANETI_HOOKS_PATH"], "master-ip-turnup")
        self.assertEqual(env["GANETI_OP_CODE"], "OP_CLUSTER_IP_TURNUP")
        self.assertEqual(env["GANETI_OBJECT_TYPE"], "CLUSTER")
        self.assertEqual(env["GANETI_CLUSTER"], SETTINGS["cluster_name"])
        self.assertEqual(env["GANETI_MASTER"], NODE)
        self.assertEqual(env["GANETI_MASTER_IP"], SETTINGS["cluster_ip"])
        self.assertEqual(env["GANETI_MASTER_NETDEV"], "lo")
        self.assertEqual(env["GANETI_MASTER_NETMASK"], "32")
        self.assertEqual(env["GANETI_CLUSTER_IP_VERSION"], "4")
        script.feed_stdout(b"not now\n")
        script.exit(1)
        self.clock.advance(0)
        failure = self.failureResultOf(d, errors.HooksAbort)
        self.assertEqual(failure.value.failures(), [
            (NODE, "master-ip-turnup-pre.d/10-no", "not now")])
        # The "ip address add" never ran.
        self.assertEqual(len(self.clock.processes), 1)

    def test_post_after_change(self):
        """The turndown post scripts run once the IP is gone."""
        write_script(self.paths, "master-ip-turndown-post.d", "10-log", "true")
        d = self.handler.node_deactivate_master_ip()
        [ip_del] = self.clock.processes
        self.assertNotIn("GANETI_HOOKS_PATH", ip_del.env or {})
        ip_del.exit(0)
        self.clock.advance(0)
        [_, script] = self.clock.processes
        self.assertEqual(script.env["GANETI_HOOKS_PHASE"], "post")
        self.assertEqual(script.env["GANETI_POST_MASTER_IP"],
                         SETTINGS["cluster_ip"])
        script.exit(0)
        self.clock.advance(0)
        self.assertTrue(self.successResultOf(d))


# --- the master's side --------------------------------------------------------

class HookedJobTests(SynchronousTestCase):
    """Jobs with hooks on a Clock, their nodes without any script."""

    def setUp(self):
        self.master = local_cluster(self)
        self.rpc = self.master.context.rpc = CallCounter(
            self.master.context.rpc)
        self.queue = self.master.queue

    def run_job(self, *ops):
        return self.queue.get(self.queue.submit(list(ops)))

    def test_no_hooks_no_rpc(self):
        """An opcode without a hooks path asks no node about hooks."""
        job = self.run_job({"OP_ID": "OP_CLUSTER_QUERY"})
        self.assertEqual(job.status, "success")
        self.assertEqual(self.rpc.hooks_calls(), [])

    def test_phases_and_nodes(self):
        """
        An instance start asks the master and the primary (one node here)
        once per phase.
        """
        self.assertEqual(self.run_job(create()).status, "success")
        del self.rpc.calls[:]
        self.assertEqual(self.run_job(startup()).status, "success")
        self.assertEqual(self.rpc.hooks_calls(), [
            ("instance-start", "pre", [NODE]),
            ("instance-start", "post", [NODE])])

    def test_removed_instance_described(self):
        """
        instance-remove lets only the master veto; its post scripts see
        the instance as it was.
        """
        self.assertEqual(self.run_job(create()).status, "success")
        del self.rpc.calls[:]
        job = self.run_job({"OP_ID": "OP_INSTANCE_REMOVE",
                            "instance_name": NAME})
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertEqual(self.rpc.hooks_calls(), [
            ("instance-remove", "pre", [NODE]),
            ("instance-remove", "post", [NODE])])
        [env] = [args[2] for method, _, args in self.rpc.calls
                 if method == "hooks_runner" and args[1] == "post"]
        self.assertEqual(env["GANETI_POST_INSTANCE_NAME"], NAME)
        self.assertEqual(env["GANETI_POST_SHUTDOWN_TIMEOUT"], "120")
        self.assertEqual(env["GANETI_POST_INSTANCE_NIC_COUNT"], "1")

    def test_cluster_init_post_only(self):
        """The post-init opcode runs only post hooks, on the master."""
        job = self.run_job({"OP_ID": "OP_CLUSTER_POST_INIT"})
        self.assertEqual(job.status, "success")
        self.assertEqual(self.rpc.hooks_calls(),
                         [("cluster-init", "post", [NODE])])

    def test_no_post_after_failure(self):
        """An opcode that fails while executing runs no post hooks."""
        self.assertEqual(self.run_job(create()).status, "success")
        del self.rpc.calls[:]
        self.patch(NodeHandler, "instance_start", lambda *args: fail(
            errors.HypervisorError("no memory")))
        job = self.run_job(startup())
        self.assertEqual(job.status, "error")
        self.assertEqual(self.rpc.hooks_calls(),
                         [("instance-start", "pre", [NODE])])


    def test_broken_post_phase_warns(self):
        """
        Post hooks that cannot even be run (a bug) leave the opcode
        successful, with a warning.
        """
        self.assertEqual(self.run_job(create()).status, "success")
        environment = HooksMaster.environment

        def broken(master, phase):
            if phase == hooks.PHASE_POST:
                raise ValueError("no variables")
            return environment(master, phase)
        self.patch(HooksMaster, "environment", broken)
        job = self.run_job(startup())
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertIn(" - WARNING: Running the post hooks failed: no variables",
                      messages(job))
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)


class UnreachableNodeTests(SynchronousTestCase):
    """A node that does not answer vetoes nothing."""

    def test_warning_only(self):
        """The opcode runs; the job log names the node that was silent."""
        master = two_node_cluster(self)
        master.handlers[NODE2_NAME] = None
        job = master.queue.get(master.queue.submit([{
            "OP_ID": "OP_NODE_SET_PARAMS", "node_name": NODE2_NAME,
            "drained": True}]))
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertIn(" - WARNING: Communication failure to node %s: Node %s"
                      " is not reachable" % (NODE2_NAME, NODE2_NAME),
                      messages(job))
        self.assertTrue(master.config.config.node_by_name(NODE2_NAME).drained)

    def test_verify_skips_silent_node(self):
        """
        cluster-verify does not run post hooks on a node that did not
        answer its first call: a dead link would hold the job for the
        hooks' whole timeout.
        """
        master = two_node_cluster(self)
        master.handlers[NODE2_NAME] = None
        rpc = master.context.rpc = CallCounter(master.context.rpc)
        job = master.queue.get(master.queue.submit([{
            "OP_ID": "OP_CLUSTER_VERIFY_GROUP", "group_name": "default"}]))
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertEqual(rpc.hooks_calls(), [("cluster-verify", "post",
                                              [NODE])])

    def test_removed_node_runs_post_hooks(self):
        """A node being removed runs its post hooks before it leaves."""
        master = two_node_cluster(self)
        rpc = master.context.rpc = CallCounter(master.context.rpc)
        job = master.queue.get(master.queue.submit([{
            "OP_ID": "OP_NODE_REMOVE", "node_name": NODE2_NAME}]))
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertEqual(rpc.hooks_calls(), [
            ("node-remove", "pre", [NODE]),
            ("node-remove", "post", [NODE2_NAME]),
            ("node-remove", "post", [NODE])])
        methods = [method for method, _, _ in rpc.calls]
        self.assertLess(methods.index("hooks_runner", 1),
                        methods.index("node_leave_cluster"))


class NodeAddHooksTests(SynchronousTestCase):
    """node-add asks the existing nodes first, the new one as well after."""

    def test_nodes_and_variables(self):
        """The new node joins the post phase; the variables name it."""
        master = local_cluster(self)
        handlers = master.context.rpc.handlers
        handlers[NODE2_NAME] = NodeHandler(make_paths(self), master.clock)
        rpc = master.context.rpc = CallCounter(master.context.rpc)
        job = master.queue.get(master.queue.submit([{
            "OP_ID": "OP_NODE_ADD", "node_name": NODE2_NAME,
            "primary_ip": "192.0.2.11"}]))
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertEqual([call[:2] + (sorted(call[2]),)
                          for call in rpc.hooks_calls()], [
            ("node-add", "pre", [NODE]),
            ("node-add", "post", [NODE, NODE2_NAME])])
        [env] = [args[2] for method, _, args in rpc.calls
                 if method == "hooks_runner" and args[1] == "pre"]
        self.assertEqual(env["GANETI_OBJECT_TYPE"], "NODE")
        self.assertEqual(env["GANETI_NODE_NAME"], NODE2_NAME)
        self.assertEqual(env["GANETI_NODE_PIP"], "192.0.2.11")
        self.assertEqual(env["GANETI_NODE_SIP"], "192.0.2.11")
        self.assertEqual(env["GANETI_MASTER_CAPABLE"], "True")
        self.assertEqual(env["GANETI_VM_CAPABLE"], "True")


class ScriptJobTests(TestCase):
    """
    Jobs whose node runs real scripts (so on the real reactor): the
    environment they see, their vetoes and their warnings.
    """

    def setUp(self):
        self.master = local_cluster(self, reactor=reactor)
        allow_file_storage(self.master, self.master.paths)
        self.paths = self.master.paths
        self.queue = self.master.queue

    @inlineCallbacks
    def run_ok(self, *ops):
        job = yield finished_job(self.queue, ops)
        self.assertEqual(job.status, "success", job.ops[-1].result)
        return job

    def instance(self):
        return self.master.config.config.instance_by_name(NAME)

    def status(self):
        result = self.successResultOf(query_instances(
            self.master.context, ["name", "status"], None))
        return {row[0][1]: row[1][1] for row in result["data"]}.get(NAME)

    @inlineCallbacks
    def test_instance_add_environment(self):
        """
        instance-add scripts get the common variables and the new
        instance's, with Ganeti's names, in both phases.
        """
        pre = env_dump(self.paths, "instance-add-pre.d")
        post = env_dump(self.paths, "instance-add-post.d")
        yield self.run_ok(create(
            disk_template="file", disks=[{"size": 4, "name": "root"}],
            nics=[{"mac": "aa:00:00:11:22:33", "ip": "192.0.2.50"}],
            beparams={"maxmem": 256, "minmem": 128, "vcpus": 2},
            tags=["web", "prod"]))
        env = read_env(pre)
        expected = {
            "PATH": "/sbin:/bin:/usr/sbin:/usr/bin",
            "GANETI_HOOKS_VERSION": "2",
            "GANETI_HOOKS_PHASE": "pre",
            "GANETI_HOOKS_PATH": "instance-add",
            "GANETI_OP_CODE": "OP_INSTANCE_CREATE",
            "GANETI_OBJECT_TYPE": "INSTANCE",
            "GANETI_CLUSTER": SETTINGS["cluster_name"],
            "GANETI_MASTER": NODE,
            "GANETI_DATA_DIR": self.paths.data_dir,
            "GANETI_ADD_MODE": "create",
            "GANETI_OP_TARGET": NAME,
            "GANETI_INSTANCE_NAME": NAME,
            "GANETI_INSTANCE_PRIMARY": NODE,
            "GANETI_INSTANCE_SECONDARIES": "",
            "GANETI_INSTANCE_STATUS": "False",
            "GANETI_INSTANCE_MEMORY": "256",
            "GANETI_INSTANCE_MAXMEM": "256",
            "GANETI_INSTANCE_MINMEM": "128",
            "GANETI_INSTANCE_VCPUS": "2",
            "GANETI_INSTANCE_HYPERVISOR": "fake",
            "GANETI_INSTANCE_DISK_TEMPLATE": "file",
            "GANETI_INSTANCE_DISK_COUNT": "1",
            "GANETI_INSTANCE_DISK0_SIZE": "4",
            "GANETI_INSTANCE_DISK0_MODE": "rw",
            "GANETI_INSTANCE_DISK0_NAME": "root",
            "GANETI_INSTANCE_DISK0_DEV_TYPE": "file",
            "GANETI_INSTANCE_NIC_COUNT": "1",
            "GANETI_INSTANCE_NIC0_MAC": "aa:00:00:11:22:33",
            "GANETI_INSTANCE_NIC0_IP": "192.0.2.50",
            "GANETI_INSTANCE_NIC0_MODE": "bridged",
            "GANETI_INSTANCE_TAGS": "web prod",
        }
        self.assertEqual({k: env.get(k) for k in expected}, expected)
        self.assertEqual(env["GANETI_INSTANCE_NIC0_BRIDGE"],
                         env["GANETI_INSTANCE_NIC0_LINK"])
        self.assertEqual(env["GANETI_INSTANCE_BE_maxmem"], "256")
        self.assertIn("GANETI_INSTANCE_BE_auto_balance", env)
        self.assertIn("GANETI_INSTANCE_DISK0_UUID", env)
        self.assertEqual(env["GANETI_INSTANCE_DISK0_DRIVER"], "loop")
        self.assertTrue(env["GANETI_INSTANCE_DISK0_ID"].endswith(".disk0"),
                        env["GANETI_INSTANCE_DISK0_ID"])
        self.assertEqual(
            sorted(k for k in env if not k.startswith("GANETI_")), ["PATH"])
        self.assertFalse([k for k in env if k.startswith("GANETI_POST_")])
        after = read_env(post)
        self.assertEqual(after["GANETI_HOOKS_PHASE"], "post")
        self.assertEqual(after["GANETI_POST_INSTANCE_NAME"], NAME)
        # The pre phase's variables come along unchanged.
        self.assertEqual({k: after[k] for k in expected
                          if k != "GANETI_HOOKS_PHASE"},
                         {k: v for k, v in expected.items()
                          if k != "GANETI_HOOKS_PHASE"})

    @inlineCallbacks
    def test_network_environment(self):
        """
        network-add and network-connect scripts get the network's
        variables (and the group connection's), an instance in the
        network its NIC's NETWORK_* ones.
        """
        add = env_dump(self.paths, "network-add-pre.d")
        connect = env_dump(self.paths, "network-connect-post.d")
        instance = env_dump(self.paths, "instance-add-pre.d")
        yield self.run_ok({"OP_ID": "OP_NETWORK_ADD", "network_name": "net1",
                           "network": "10.0.0.0/24", "gateway": "10.0.0.1",
                           "mac_prefix": "aa:bb:cc", "tags": ["t1"]})
        yield self.run_ok({"OP_ID": "OP_NETWORK_CONNECT",
                           "network_name": "net1", "group_name": "default",
                           "network_mode": "routed", "network_link": "rt1"})
        yield self.run_ok(create(nics=[{"network": "net1", "ip": "pool"}]))
        env = read_env(add)
        self.assertEqual({k: env.get(k) for k in (
            "GANETI_OBJECT_TYPE", "GANETI_NETWORK_NAME",
            "GANETI_NETWORK_SUBNET", "GANETI_NETWORK_GATEWAY",
            "GANETI_NETWORK_MAC_PREFIX", "GANETI_NETWORK_TAGS")},
            {"GANETI_OBJECT_TYPE": "NETWORK", "GANETI_NETWORK_NAME": "net1",
             "GANETI_NETWORK_SUBNET": "10.0.0.0/24",
             "GANETI_NETWORK_GATEWAY": "10.0.0.1",
             "GANETI_NETWORK_MAC_PREFIX": "aa:bb:cc",
             "GANETI_NETWORK_TAGS": "t1"})
        env = read_env(connect)
        self.assertEqual((env["GANETI_GROUP_NAME"],
                          env["GANETI_GROUP_NETWORK_MODE"],
                          env["GANETI_GROUP_NETWORK_LINK"]),
                         ("default", "routed", "rt1"))
        env = read_env(instance)
        self.assertEqual((env["GANETI_INSTANCE_NIC0_IP"],
                          env["GANETI_INSTANCE_NIC0_NETWORK_NAME"],
                          env["GANETI_INSTANCE_NIC0_NETWORK_SUBNET"],
                          env["GANETI_INSTANCE_NIC0_MODE"]),
                         ("10.0.0.2", "net1", "10.0.0.0/24", "routed"))

    @inlineCallbacks
    def test_instance_start_environment(self):
        """
        instance-start scripts see the instance down before and up after
        (``GANETI_POST_*``), and the opcode's FORCE flag.
        """
        yield self.run_ok(create())
        pre = env_dump(self.paths, "instance-start-pre.d")
        post = env_dump(self.paths, "instance-start-post.d")
        yield self.run_ok(startup(force=True))
        before, after = read_env(pre), read_env(post)
        self.assertEqual(before["GANETI_OP_CODE"], "OP_INSTANCE_STARTUP")
        self.assertEqual(before["GANETI_HOOKS_PATH"], "instance-start")
        self.assertEqual(before["GANETI_FORCE"], "True")
        self.assertEqual(before["GANETI_INSTANCE_STATUS"], "down")
        self.assertEqual(before["GANETI_INSTANCE_HV_migration_mode"], "live")
        self.assertEqual(before["GANETI_INSTANCE_BE_maxmem"], "128")
        self.assertEqual(before["GANETI_INSTANCE_DISK_COUNT"], "0")
        self.assertEqual(before["GANETI_INSTANCE_DISK_TEMPLATE"], "diskless")
        self.assertEqual(after["GANETI_INSTANCE_STATUS"], "down")
        self.assertEqual(after["GANETI_POST_INSTANCE_STATUS"], "up")
        self.assertEqual(after["GANETI_POST_FORCE"], "True")

    @inlineCallbacks
    def test_pre_hook_veto(self):
        """
        A failed pre script stops instance-start before it does anything:
        the instance stays down, the config is unchanged and the job
        fails with Ganeti's HooksAbort.
        """
        yield self.run_ok(create())
        ran = os.path.join(self.paths.root, "post-ran")
        write_script(self.paths, "instance-start-pre.d", "10-deny",
                     "echo maintenance window closed; exit 1")
        write_script(self.paths, "instance-start-pre.d", "20-allow", "true")
        write_script(self.paths, "instance-start-post.d", "10-mark",
                     "touch %s" % ran)
        serial = self.master.config.config.serial_no
        job = yield finished_job(self.queue, [startup()])
        self.assertEqual(job.status, "error")
        self.assertEqual(job.ops[0].result, ["HooksAbort", [[
            [NODE, "instance-start-pre.d/10-deny",
             "maintenance window closed"]]]])
        error = errors.from_wire(job.ops[0].result)
        self.assertEqual(format_error(error), (1, (
            "Failure: hooks execution failed:\n"
            "  node: %s, script: instance-start-pre.d/10-deny, output:"
            " maintenance window closed" % NODE)))
        self.assertEqual(self.master.config.config.serial_no, serial)
        self.assertEqual(self.instance().admin_state, "down")
        self.assertEqual(self.status(), "ADMIN_down")
        self.assertFalse(os.path.exists(ran))

    @inlineCallbacks
    def test_post_hook_warning(self):
        """A failed post script is a warning; the job succeeds."""
        yield self.run_ok(create())
        write_script(self.paths, "instance-start-post.d", "10-fails",
                     "echo cannot notify >&2; exit 2")
        write_script(self.paths, "instance-start-post.d", "20-quiet", "exit 1")
        job = yield self.run_ok(startup())
        self.assertEqual(self.status(), "running")
        log = messages(job)
        self.assertIn(" - WARNING: On %s script instance-start-post.d/10-fails"
                      " failed, output: cannot notify" % NODE, log)
        self.assertIn(" - WARNING: On %s script instance-start-post.d/20-quiet"
                      " failed, output: (no output)" % NODE, log)

    @inlineCallbacks
    def test_dry_run(self):
        """
        A dry run runs the pre scripts, which may veto it, as Ganeti's
        does, and no post script.
        """
        yield self.run_ok(create())
        pre = env_dump(self.paths, "instance-start-pre.d")
        post = env_dump(self.paths, "instance-start-post.d")
        yield self.run_ok(startup(dry_run=True))
        self.assertTrue(os.path.exists(pre))
        self.assertFalse(os.path.exists(post))
        self.assertEqual(self.instance().admin_state, "down")
        write_script(self.paths, "instance-start-pre.d", "10-deny", "exit 1")
        job = yield finished_job(self.queue, [startup(dry_run=True)])
        self.assertEqual(job.ops[0].result[0], "HooksAbort")

    @inlineCallbacks
    def test_cluster_init_hooks(self):
        """cluster-init runs its post scripts on the master, no pre ones."""
        pre = env_dump(self.paths, "cluster-init-pre.d")
        post = env_dump(self.paths, "cluster-init-post.d")
        yield self.run_ok({"OP_ID": "OP_CLUSTER_POST_INIT"})
        self.assertFalse(os.path.exists(pre))
        env = read_env(post)
        self.assertEqual(env["GANETI_OP_CODE"], "OP_CLUSTER_POST_INIT")
        self.assertEqual(env["GANETI_OP_TARGET"], SETTINGS["cluster_name"])
        self.assertEqual(env["GANETI_POST_OP_TARGET"],
                         SETTINGS["cluster_name"])


class VerifyHooksTests(SynchronousTestCase):
    """
    ``cluster-verify`` post scripts feed the group's verification (the
    node plays its scripts on a L{ProcessClock}).
    """

    def setUp(self):
        self.clock = ProcessClock()
        self.master = local_cluster(self, clock=self.clock)
        self.paths = self.master.paths

    def verify(self, play):
        """
        Verify the default group, C{play(process)} acting each script.

        :return: the finished job.
        """
        job = self.master.queue.get(self.master.queue.submit([{
            "OP_ID": "OP_CLUSTER_VERIFY_GROUP", "group_name": "default"}]))
        for process in self.clock.processes:
            play(process)
            self.clock.advance(0)
        self.assertEqual(job.status, "success", job.ops[0].result)
        return job

    def test_failed_script_is_an_error(self):
        """
        A failed script is an ENODEHOOKS error with its output indented
        under it, and the group's result is False.
        """
        write_script(self.paths, "cluster-verify-post.d", "20-disk", "false")

        def fail(process):
            process.feed_stdout(b"disk 3 degraded\ndisk 4 degraded\n")
            process.exit(1)
        job = self.verify(fail)
        self.assertIs(job.ops[0].result, False)
        log = messages(job)
        start = log.index("* Hooks Results")
        self.assertEqual(log[start + 1:], [
            "  - ERROR: node %s: Script cluster-verify-post.d/20-disk failed,"
            " output:" % NODE,
            "      disk 3 degraded\n      disk 4 degraded"])
        self.assertIn(" - WARNING: On %s script cluster-verify-post.d/20-disk"
                      " failed, output: disk 3 degraded\ndisk 4 degraded"
                      % NODE, log)

    def test_error_codes(self):
        """With --error-codes the finding carries Ganeti's code."""
        write_script(self.paths, "cluster-verify-post.d", "20-disk", "false")
        job = self.master.queue.get(self.master.queue.submit([{
            "OP_ID": "OP_CLUSTER_VERIFY_GROUP", "group_name": "default",
            "error_codes": True}]))
        [process] = self.clock.processes
        process.exit(1)
        self.clock.advance(0)
        self.assertIn("  - ERROR:ENODEHOOKS:node:%s:Script"
                      " cluster-verify-post.d/20-disk failed, output:" % NODE,
                      messages(job))

    def test_passing_scripts(self):
        """
        Passing scripts leave the result True; they see the cluster's and
        the group's nodes' tags.
        """
        write_script(self.paths, "cluster-verify-post.d", "10-ok", "true")
        seen = []

        def succeed(process):
            seen.append(process.env)
            process.exit(0)
        job = self.verify(succeed)
        self.assertIs(job.ops[0].result, True)
        self.assertEqual(messages(job)[-1], "* Hooks Results")
        [env] = seen
        self.assertEqual(env["GANETI_HOOKS_PATH"], "cluster-verify")
        self.assertEqual(env["GANETI_OBJECT_TYPE"], "CLUSTER")
        self.assertEqual(env["GANETI_CLUSTER_TAGS"], "")
        self.assertEqual(env["GANETI_NODE_TAGS_%s" % NODE], "")
