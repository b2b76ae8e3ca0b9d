"""
Tests for L{ganeti.cli.cluster} (with its parameters,
L{ganeti.cli.cluster_params}, and ssh commands, L{ganeti.cli.cluster_ssh}):
what ``gnt-cluster`` command lines submit or ask the master, what the
tool prints and its exit codes; with them the main loop every tool shares
(L{ganeti.cli.base}) and the option values (L{ganeti.cli.parsing}).
"""

import os
import subprocess
import time

from twisted.trial.unittest import SynchronousTestCase

from ganeti import __version__, bootstrap, daemon, errors
from ganeti.cli import base, cluster, failover_rpc
from ganeti.cli.testing import FakeTool, query_result


class ClusterToolTestCase(SynchronousTestCase):
    """Runs ``gnt-cluster`` on a fake master."""

    def setUp(self):
        self.tool = FakeTool(self, cluster)
        self.client = self.tool.client

    def assert_refused(self, args, message, code=1):
        """The command line exits C{code}, says C{message}, sends no job."""
        status, _, err = self.tool.run(*args)
        self.assertEqual(status, code)
        self.assertIn(message, err)
        self.assertEqual(self.client.jobs, [])


class MainLoopTests(ClusterToolTestCase):
    """What every tool's main loop does with the command line."""

    def test_usage(self):
        """No command prints the list of commands and exits 1."""
        code, out, _ = self.tool.run()
        self.assertEqual(code, 1)
        self.assertEqual(out.splitlines()[0],
                         "Usage: gnt-cluster {command} [options...]"
                         " [argument...]")
        self.assertIn(" redist-conf          - Forces a push of the"
                      " configuration file", out)

    def test_help(self):
        """--help prints the same list and exits 0."""
        code, out, _ = self.tool.run("--help")
        self.assertEqual(code, 0)
        self.assertIn("Commands:", out)

    def test_version(self):
        """--version names the tool and the version."""
        self.assertEqual(self.tool.run("--version"),
                         (0, "gnt-cluster (ganeti) %s\n" % __version__, ""))

    def test_argument_count(self):
        """A wrong number of arguments is a usage error, exit 1."""
        self.assertEqual(self.tool.run("rename"), (
            1, "", "Error: Command rename expects 1 argument(s)\n"))
        self.assertEqual(self.tool.run("verify", "extra"), (
            1, "", "Error: Command verify expects no arguments\n"))

    def test_unknown_option(self):
        """An unknown option is argparse's usage error, exit 2."""
        code, _, err = self.tool.run("verify", "--no-such-option")
        self.assertEqual(code, 2)
        self.assertIn("unrecognized arguments: --no-such-option", err)

    def test_options_from_environment(self):
        """GNT_CLUSTER_<COMMAND> holds options put before the command's."""
        self.patch(base.os, "environ", dict(os.environ,
                                            GNT_CLUSTER_RENAME="-f"))
        self.tool.run("rename", "new.example.com")
        self.assertEqual(self.tool.questions, [])
        self.assertEqual(self.client.submitted(), [
            {"OP_ID": "OP_CLUSTER_RENAME", "name": "new.example.com"}])

    def test_no_master(self):
        """A master that cannot be reached is reported, exit 1."""
        def unreachable(*args):
            raise errors.LuxiError("Cannot communicate with the master"
                                   " daemon.")
        self.client.answers["QueryClusterInfo"] = unreachable
        self.assertEqual(self.tool.run("version"), (
            1, "", "Cannot communicate with the master daemon.\n"))
        self.assertEqual(self.tool.run("master-ping"), (1, "", ""))


class InitModifyTests(ClusterToolTestCase):
    """``gnt-cluster init`` and ``modify``: the cluster parameters."""

    def setUp(self):
        ClusterToolTestCase.setUp(self)
        self.settings = []
        self.patch(bootstrap, "init_cluster",
                   lambda paths, settings: self.settings.append(settings))
        self.patch(daemon, "start", lambda paths, wait_for_master: None)

    def test_init(self):
        """init creates the cluster from the options, then post-inits it."""
        code, _, _ = self.tool.run(
            "init", "--enabled-hypervisors", "kvm,fake", "-H",
            "kvm:acpi=false,kernel_path=", "-H", "fake",
            "-B", "memory=512,auto_balance", "--maintain-node-health", "yes",
            "--master-netmask", "24", "--no-etc-hosts",
            "cluster1.example.com")
        self.assertEqual(code, 0)
        self.assertEqual(self.settings, [{
            "enabled_hypervisors": ["kvm", "fake"],
            "hvparams": {"kvm": {"acpi": "false", "kernel_path": ""},
                         "fake": {}},
            "beparams": {"memory": "512", "auto_balance": True},
            "maintain_node_health": True, "master_netmask": 24,
            "cluster_name": "cluster1.example.com", "no_etc_hosts": True,
            "no_ssh_init": False, "secondary_ip": None}])
        self.assertEqual(self.client.submitted(),
                         [{"OP_ID": "OP_CLUSTER_POST_INIT"}])

    def test_init_daemon_fails(self):
        """A daemon that does not start undoes the init; the error shows."""
        undone = []

        def fail(paths, wait_for_master):
            raise errors.OpExecError("master daemon did not start")
        self.patch(daemon, "start", fail)
        self.patch(daemon, "stop", lambda paths: undone.append("stop"))
        self.patch(bootstrap, "destroy_cluster",
                   lambda paths, config: undone.append("destroy"))
        self.assert_refused(["init", "cluster1.example.com"],
                            "Failure: command execution error:\n"
                            "master daemon did not start")
        self.assertEqual(undone, ["stop", "destroy"])

    def test_init_bad_values(self):
        """Bad parameter values stop init before anything is created."""
        self.assert_refused(["init", "--master-netmask", "wide", "c1"],
                            "Invalid master netmask value: wide")
        self.assert_refused(["init", "--enabled-disk-templates", ",", "c1"],
                            "Disk templates unknown: ")
        self.assert_refused(["init", "--prealloc-wipe-disks", "often", "c1"],
                            "Invalid value 'often' for option"
                            " --prealloc-wipe-disks: expected yes or no")
        self.assertEqual(self.settings, [])

    def test_modify(self):
        """modify sends the options given, the ipolicy's templates nested."""
        op = self.tool.opcode(
            "modify", "-B", "memory=1024", "-N", "link=br0",
            "--ipolicy-disk-templates", "plain,drbd", "--max-running-jobs",
            "30", "--modify-etc-hosts", "no", "--reserved-lvs", "xenvg/a,",
            "-D", "drbd:resync-rate=1024", "--user-shutdown", "yes")
        self.assertEqual(op, {
            "OP_ID": "OP_CLUSTER_SET_PARAMS", "force": False,
            "beparams": {"memory": "1024"}, "nicparams": {"link": "br0"},
            "ipolicy": {"disk-templates": ["plain", "drbd"]},
            "max_running_jobs": 30, "modify_etc_hosts": False,
            "reserved_lvs": ["xenvg/a"],
            "diskparams": {"drbd": {"resync-rate": "1024"}},
            "enabled_user_shutdown": True})

    def test_modify_nothing(self):
        """modify without a parameter says so and exits 1."""
        self.assert_refused(["modify"],
                            "Please give at least one of the parameters.")

    def test_parameter_syntax(self):
        """Malformed ``k=v`` and ``ident:k=v`` values are usage errors."""
        self.assert_refused(["modify", "-B", "memory=1,memory=2"],
                            "Duplicate key 'memory' in option -B")
        self.assert_refused(["modify", "-B", "=1"], "Invalid -B value '=1'")
        self.assert_refused(["modify", "-D", ":stripes=2"],
                            "Missing identifier in option -D: ':stripes=2'")

    def test_escaped_comma_and_reset(self):
        """``\\,`` keeps a comma in a value; ``-key`` resets a parameter."""
        op = self.tool.opcode("modify", "-H", r"kvm:serial_console,"
                              r"kernel_args=ro\,quiet,-cpu_mask,no_acpi")
        self.assertEqual(op["hvparams"], {"kvm": {
            "serial_console": True, "kernel_args": "ro,quiet",
            "cpu_mask": None, "acpi": False}})


class VerifyTests(ClusterToolTestCase):
    """``gnt-cluster verify`` and ``verify-disks``."""

    def hand_back(self, op_id, *results):
        """C{op_id} hands back one job per result, returning that result."""
        self.client.op_results[op_id] = lambda op: {"jobs": [
            [True, self.client.add_job([{"OP_ID": "OP_TEST", "result": r}])]
            for r in results]}
        self.client.op_results["OP_TEST"] = lambda op: op["result"]

    def test_verify_ok(self):
        """The options reach the opcode; passing checks exit 0."""
        self.hand_back("OP_CLUSTER_VERIFY", True, True)
        code, out, _ = self.tool.run("verify", "--error-codes", "-I", "ENODEN1",
                                     "--no-nplus1-mem", "-g", "rack1",
                                     "--verify-ssh-clutter")
        self.assertEqual(code, 0)
        self.assertEqual(self.client.submitted()[0], {
            "OP_ID": "OP_CLUSTER_VERIFY", "verbose": False,
            "error_codes": True, "debug_simulate_errors": False,
            "ignore_errors": ["ENODEN1"], "group_name": "rack1",
            "skip_checks": ["nplusone_mem"], "verify_clutter": True})
        self.assertEqual(out.splitlines(), [
            "Submitted jobs 2, 3", "Waiting for job 2 ...",
            "Waiting for job 3 ..."])

    def test_verify_finds_errors(self):
        """A check that found errors exits 1."""
        self.hand_back("OP_CLUSTER_VERIFY", True, False)
        self.assertEqual(self.tool.run("verify")[0], 1)

    def test_verify_job_fails(self):
        """A failed check job is counted and reported."""
        self.hand_back("OP_CLUSTER_VERIFY", True)
        self.client.op_results["OP_TEST"] = errors.OpExecError("node down")
        code, out, err = self.tool.run("verify")
        self.assertEqual(code, 1)
        self.assertIn("1 job(s) failed while verifying the cluster.", out)
        self.assertIn("Job 2 has failed: Failure: command execution error:\n"
                      "node down", err)

    def test_verify_disks(self):
        """Instances whose disks need it are activated, each by a job."""
        self.hand_back("OP_CLUSTER_VERIFY_DISKS",
                       [{}, ["inst1"], {"inst2": [["node2", "xenvg/d0"]]}])
        code, out, _ = self.tool.run("verify-disks", "--no-strict")
        self.assertEqual(code, 1)
        ops = self.client.submitted()
        self.assertEqual(ops[0], {"OP_ID": "OP_CLUSTER_VERIFY_DISKS",
                                  "group_name": None, "is_strict": False})
        self.assertEqual(ops[2], {"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS",
                                  "instance_name": "inst1"})
        self.assertIn("Activating disks for instance 'inst1'\n"
                      "Instance inst2 has missing logical volumes:\n"
                      "\tnode2 /dev/xenvg/d0\n", out)

    def test_verify_disks_clean(self):
        """Nothing to activate and nothing missing exits 0."""
        self.hand_back("OP_CLUSTER_VERIFY_DISKS", [{}, [], {}])
        code, out, _ = self.tool.run("verify-disks")
        self.assertEqual(code, 0)
        self.assertIn("No disks need to be activated.", out)


class MasterTests(ClusterToolTestCase):
    """Commands about the master: failover, its IP, renaming, crypto."""

    def setUp(self):
        ClusterToolTestCase.setUp(self)
        self.failovers = []
        self.patch(failover_rpc, "run_master_failover",
                   lambda paths, no_voting, report:
                   self.failovers.append(no_voting))

    def test_master_failover(self):
        """master-failover runs the node RPC part, with voting."""
        self.assertEqual(self.tool.run("master-failover"), (0, "", ""))
        self.assertEqual((self.failovers, self.tool.questions), ([False], []))

    def test_no_voting_asks(self):
        """--no-voting asks first; no exits 13 without failing over."""
        self.tool.confirm = False
        self.assertEqual(self.tool.run("master-failover", "--no-voting")[0],
                         13)
        self.assertEqual(self.failovers, [])
        self.tool.confirm = True
        self.tool.run("master-failover", "--no-voting")
        self.assertEqual(self.failovers, [True])
        self.tool.run("master-failover", "--no-voting", "--yes-do-it")
        self.assertEqual(len(self.tool.questions), 2)

    def test_master_failover_refused(self):
        """Why this node cannot become master is printed, exit 1."""
        def refuse(paths, no_voting, report):
            raise errors.OpPrereqError("This node is already the master",
                                       "wrong_input")
        self.patch(failover_rpc, "run_master_failover", refuse)
        code, _, err = self.tool.run("master-failover")
        self.assertEqual(code, 1)
        self.assertIn("This node is already the master", err)

    def test_deactivate_master_ip(self):
        """deactivate-master-ip asks unless --yes."""
        self.tool.confirm = False
        self.assertEqual(self.tool.run("deactivate-master-ip")[0], 1)
        self.assertEqual(self.client.jobs, [])
        self.assertEqual(self.tool.opcode("deactivate-master-ip", "--yes"),
                         {"OP_ID": "OP_CLUSTER_DEACTIVATE_MASTER_IP"})

    def test_rename(self):
        """rename names both the current and the new name in its question."""
        self.client.answers["QueryConfigValues"] = ["old.example.com"]
        op = self.tool.opcode("rename", "new.example.com")
        self.assertEqual(op, {"OP_ID": "OP_CLUSTER_RENAME",
                              "name": "new.example.com"})
        self.assertIn("from 'old.example.com' to 'new.example.com'",
                      self.tool.questions[0])

    def test_renew_crypto_rapi(self):
        """A new RAPI certificate is asked of the master."""
        self.client.answers["RenewCrypto"] = {}
        code, out, _ = self.tool.run("renew-crypto", "-f",
                                     "--new-rapi-certificate")
        self.assertEqual(code, 0)
        self.assertEqual(self.client.calls, [("RenewCrypto", True, None)])
        self.assertIn("All requested certificates and keys have been"
                      " replaced.", out)

    def test_renew_crypto_refused(self):
        """What this cluster cannot renew, or conflicting options, exit 1."""
        self.assertEqual(self.tool.run("renew-crypto", "--new-ssh-keys"), (
            1, "", "Cannot renew (--new-ssh-keys): this cluster does not"
                   " manage SSH keys.\n"))
        code, _, err = self.tool.run("renew-crypto", "--new-rapi-certificate",
                                     "--rapi-certificate", "/tmp/x.pem")
        self.assertEqual(code, 1)
        self.assertIn("Only one of the --new-rapi-certificate and"
                      " --rapi-certificate options", err)
        self.assertEqual(self.tool.run("renew-crypto")[0], 1)
        self.assertEqual(self.client.calls, [])


class QueueWatcherTests(ClusterToolTestCase):
    """``gnt-cluster queue``, ``watcher`` and ``search-tags``."""

    def test_queue(self):
        """drain sets the flag; info reads it; anything else is refused."""
        self.client.answers["SetDrainFlag"] = True
        self.client.answers["QueryConfigValues"] = [True]
        self.assertEqual(self.tool.run("queue", "drain")[0], 0)
        self.assertEqual(self.tool.run("queue", "info"),
                         (0, "The drain flag is set\n", ""))
        self.assertEqual(self.client.calls, [
            ("SetDrainFlag", True), ("QueryConfigValues", ["drain_flag"])])
        self.assert_refused(["queue", "flush"],
                            "Command 'flush' is not valid.")

    def test_rapi_token(self):
        """
        add prints the token once (the file keeps its digest) and pushes
        the file with a redist-conf job; list shows names and scopes;
        remove drops it; bad names are refused without a job.
        """
        from ganeti.paths import Paths
        from ganeti.rapi import tokens
        paths = Paths(self.mktemp())
        self.patch(base, "get_paths", lambda: paths)
        code, out, err = self.tool.run("rapi-token", "add", "--write",
                                       "--instance-tag", "web", "ci")
        self.assertEqual(code, 0, err)
        name, _, secret = out.strip().partition(".")
        self.assertEqual(name, "ci")
        self.assertIn("shown only once", err)
        self.assertIsNotNone(tokens.TokensFile(paths.rapi_tokens)
                             .authenticate("ci", secret))
        self.assertEqual([op["OP_ID"] for op in self.client.submitted()],
                         ["OP_CLUSTER_REDIST_CONF"])
        self.assertEqual(self.tool.run("rapi-token", "list"),
                         (0, "ci write tag=web\n", ""))
        self.assertEqual(self.tool.run("rapi-token", "remove", "ci")[0], 0)
        self.assertEqual(self.tool.run("rapi-token", "list"), (0, "", ""))
        del self.client.jobs[:]
        self.assert_refused(["rapi-token", "add", "bad/name"],
                            "Invalid token name")
        self.assert_refused(["rapi-token", "remove", "ci"], "not found")

    def test_watcher_pause(self):
        """pause 1h asks for a pause until an hour from now."""
        self.client.answers["SetWatcherPause"] = lambda until: until
        before = time.time()
        self.assertEqual(self.tool.run("watcher", "pause", "1h")[0], 0)
        [(_, until)] = self.client.calls
        self.assertTrue(before + 3600 <= until <= time.time() + 3600)

    def test_watcher_errors(self):
        """A pause needs a valid duration."""
        self.assert_refused(["watcher", "pause"], "Missing pause duration")
        self.assert_refused(["watcher", "pause", "soon"],
                            "Invalid time specification 'soon'")

    def test_search_tags(self):
        """Matches are printed; none exits 1."""
        self.client.op_results["OP_TAGS_SEARCH"] = [["/nodes/node2", "ssd"]]
        self.assertEqual(self.tool.run("search-tags", "^s"),
                         (0, "/nodes/node2 ssd\n", ""))
        self.client.op_results["OP_TAGS_SEARCH"] = []
        self.assertEqual(self.tool.run("search-tags", "^x")[0], 1)

    def test_cluster_tags(self):
        """The cluster's tag commands take no object name."""
        self.assertEqual(self.tool.opcode("add-tags", "a", "b"), {
            "OP_ID": "OP_TAGS_SET", "kind": "cluster", "tags": ["a", "b"]})


class CommandTests(ClusterToolTestCase):
    """``gnt-cluster command`` over ssh."""

    def setUp(self):
        ClusterToolTestCase.setUp(self)
        self.client.answers["Query"] = query_result(
            ["name", "offline", "master", "group"],
            [["node1", False, True, "default"],
             ["node2", False, False, "default"],
             ["node3", True, False, "default"]])
        self.ran = []

        def run(argv, **kwargs):
            self.ran.append(argv)
            return subprocess.CompletedProcess(argv, 0, "up\n", "")
        self.patch(subprocess, "run", run)

    def test_command(self):
        """The command runs on online nodes, the master last."""
        code, out, _ = self.tool.run("command", "uptime")
        self.assertEqual(code, 0)
        self.assertEqual([argv[-2:] for argv in self.ran],
                         [["root@node2", "uptime"], ["root@node1", "uptime"]])
        self.assertIn("node: node2\nup\nreturn code = 0\n", out)

    def test_unknown_node(self):
        """-n with an unknown node runs nothing."""
        code, _, err = self.tool.run("command", "-n", "node9", "uptime")
        self.assertEqual(code, 1)
        self.assertIn("Node 'node9' is unknown", err)
        self.assertEqual(self.ran, [])
