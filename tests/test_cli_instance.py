"""
Tests for L{ganeti.cli.instance} and L{ganeti.cli.instance_multi}: the
opcodes ``gnt-instance`` builds, the instances its selection options
choose, its questions (and L{ganeti.cli.base.ask_user} on a terminal),
what it prints and its exit codes.
"""

import io
import json

from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors
from ganeti.cli import base, instance, jobs
from ganeti.cli.testing import FakeTool, query_result


class ModifyOptionsTests(SynchronousTestCase):
    """``gnt-instance modify`` passes the hotplug options on."""

    def setUp(self):
        self.ops = []
        self.patch(jobs, "submit_opcode",
                   lambda op, opts: self.ops.append(op) or [])

    def modify(self, *options):
        """:return: the opcode ``gnt-instance modify <options> inst1``."""
        code = base.main(instance.COMMANDS, instance.ALIASES,
                         ["gnt-instance", "modify"] + list(options)
                         + ["--net", "add", "inst1"])
        self.assertEqual(code, 0)
        [op] = self.ops
        return op["hotplug"], op["hotplug_if_possible"]

    def test_default_hotplugs(self):
        """Without options the opcode asks for hotplug, as Ganeti 3.0."""
        self.assertEqual(self.modify(), (True, False))

    def test_hotplug(self):
        """``--hotplug`` asks for hotplug."""
        self.assertEqual(self.modify("--hotplug"), (True, False))

    def test_no_hotplug(self):
        """``--no-hotplug`` turns it off."""
        self.assertEqual(self.modify("--no-hotplug"), (False, False))

    def test_hotplug_if_possible(self):
        """``--hotplug-if-possible`` only warns if hotplug is impossible."""
        self.assertEqual(self.modify("--hotplug-if-possible"), (True, True))


class DiskPlacementOptionsTests(SynchronousTestCase):
    """
    ``modify -t`` and ``recreate-disks`` pass their nodes, allocator and
    sync option on as Ganeti's tool does.
    """

    def setUp(self):
        self.ops = []
        self.patch(jobs, "submit_opcode",
                   lambda op, opts: self.ops.append(op) or [])

    def run_tool(self, *argv):
        code = base.main(instance.COMMANDS, instance.ALIASES,
                         ["gnt-instance"] + list(argv) + ["inst1"])
        self.assertEqual(code, 0)
        return self.ops.pop()

    def test_modify_template(self):
        """``-t drbd -n NODE --no-wait-for-sync`` alone is a change."""
        op = self.run_tool("modify", "-t", "drbd", "-n", "node2",
                           "--no-wait-for-sync")
        self.assertEqual((op["disk_template"], op["remote_node"],
                          op["iallocator"], op["wait_for_sync"]),
                         ("drbd", "node2", None, False))
        op = self.run_tool("modify", "-t", "plain")
        self.assertEqual((op["disk_template"], op["remote_node"],
                          op["wait_for_sync"]), ("plain", None, True))

    def test_recreate_nodes(self):
        """``-n pnode:snode`` gives both nodes, ``-I`` an allocator."""
        op = self.run_tool("recreate-disks", "-n", "node2:node1")
        self.assertEqual((op["nodes"], op["iallocator"]),
                         (["node2", "node1"], None))
        op = self.run_tool("recreate-disks", "-I", "hail")
        self.assertEqual((op["nodes"], op["iallocator"]), ([], "hail"))


#: The fake cluster of L{ManyToolTestCase}: instance -> tags.
INSTANCES = {"inst1": ["web"], "inst2": [], "inst3": ["web", "db"],
             "inst4": []}
#: node -> (primary instances, secondary instances, tags).
NODES = {"node1": (["inst1", "inst2"], ["inst3"], ["rack1"]),
         "node2": (["inst3"], ["inst1"], []),
         "node3": (["inst4"], [], ["rack1", "ssd"])}


class ManyToolTestCase(SynchronousTestCase):
    """
    Runs ``gnt-instance`` on a fake master that answers instance and node
    queries from L{INSTANCES} and L{NODES}, by name as the master does
    (in the order asked, failing on an unknown one) or all sorted.
    """

    def setUp(self):
        self.tool = FakeTool(self, instance)
        self.client = self.tool.client
        self.instances = dict(INSTANCES)
        self.client.answers["Query"] = self.query

    def query(self, what, fields, qfilter):
        values = {
            "instance": {name: {"name": name, "tags": tags}
                         for name, tags in self.instances.items()},
            "node": {name: {"name": name, "pinst_list": pri,
                            "sinst_list": sec, "tags": tags}
                     for name, (pri, sec, tags) in NODES.items()},
        }[what]
        if qfilter is None:
            names = sorted(values)
        else:
            self.assertEqual(qfilter[0], "|")
            names = [condition[2] for condition in qfilter[1:]]
        rows = []
        for name in names:
            if name not in values:
                raise errors.OpPrereqError("%s name %s not found"
                                           % (what.capitalize(), name),
                                           "noent")
            rows.append([values[name][field] for field in fields])
        return query_result(fields, rows)

    def names(self):
        """:return: the instance of each submitted job, in order."""
        return [op["instance_name"] for op in self.client.submitted()]


class SelectionTests(ManyToolTestCase):
    """The selection options pick instances by name, node and tags."""

    def selected(self, *args):
        """:return: the instances ``startup --force-multiple`` starts."""
        code, _, err = self.tool.run("startup", "--force-multiple", *args)
        self.assertEqual((code, err), (0, ""))
        return self.names()

    def test_by_name(self):
        """By default the arguments are instance names, in their order."""
        self.assertEqual(self.selected("inst3", "inst1"), ["inst3", "inst1"])
        self.assertEqual(self.client.calls[0],
                         ("Query", "instance", ["name"],
                          ["|", ["==", "name", "inst3"],
                           ["==", "name", "inst1"]]))

    def test_all(self):
        """--all selects every instance of the cluster."""
        self.assertEqual(self.selected("--all"),
                         ["inst1", "inst2", "inst3", "inst4"])

    def test_node(self):
        """--node: primary then secondary instances of the nodes, once."""
        self.assertEqual(self.selected("--node", "node1", "node2"),
                         ["inst1", "inst2", "inst3"])

    def test_primary_secondary(self):
        """--primary and --secondary take one role only."""
        self.assertEqual(self.selected("--primary", "node1"),
                         ["inst1", "inst2"])
        self.client.jobs[:] = []
        self.assertEqual(self.selected("--secondary", "node1"), ["inst3"])

    def test_tags(self):
        """--tags: instances with any of the tags."""
        self.assertEqual(self.selected("--tags", "db", "web"),
                         ["inst1", "inst3"])

    def test_node_tags(self):
        """The node tag options select by the tags of the nodes."""
        self.assertEqual(self.selected("--node-tags", "rack1"),
                         ["inst1", "inst2", "inst4", "inst3"])
        for option, expected in [("--pri-node-tags", ["inst1", "inst2",
                                                      "inst4"]),
                                 ("--sec-node-tags", ["inst3"])]:
            self.client.jobs[:] = []
            self.assertEqual(self.selected(option, "rack1"), expected)

    def test_last_option_wins(self):
        """Of several selection options the last one counts, as in Ganeti."""
        self.assertEqual(self.selected("--all", "--primary", "node3"),
                         ["inst4"])

    def assert_refused(self, args, message, kind="wrong_input"):
        code, out, err = self.tool.run("startup", *args)
        self.assertEqual((code, out, err), (
            1, "", "Failure: prerequisites not met for this operation:\n"
                   "error type: %s, error details:\n%s\n" % (kind, message)))
        self.assertEqual(self.client.jobs, [])

    def test_refused(self):
        """Missing or superfluous arguments: Ganeti's errors, no job."""
        for args, message in [
                ((), "No instance names passed"),
                (("--all", "inst1"), "Cluster filter mode takes no arguments"),
                (("--node",), "No node names passed"),
                (("--sec-node-tags",), "No node tags passed"),
                (("--tags",), "No instance tags passed"),
                (("--tags", "nosuchtag"),
                 "Selection filter does not match any instances"),
                (("--secondary", "node3"),
                 "Selection filter does not match any instances")]:
            self.assert_refused(args, message)

    def test_unknown_names(self):
        """An unknown instance or node name fails as the master says."""
        self.assert_refused(["inst1", "inst9"], "Instance name inst9 not"
                            " found", "noent")
        self.assert_refused(["--node", "node9"], "Node name node9 not found",
                            "noent")

    def test_empty_cluster(self):
        """--all on an empty cluster says so (in Ganeti's words), exit 0."""
        self.instances.clear()
        self.assertEqual(self.tool.run("reboot", "--all"),
                         (0, "Cluster is empty, no instances to shutdown\n",
                          ""))


class ManyOpsTests(ManyToolTestCase):
    """startup, shutdown and reboot: the question, the jobs, the output."""

    def test_one_instance(self):
        """One named instance: no question, one job, followed by name."""
        code, out, err = self.tool.run("startup", "--no-remember",
                                       "-H", "kernel_args=single", "inst1")
        self.assertEqual((code, out, err),
                         (0, "Waiting for job 1 for inst1 ...\n", ""))
        self.assertEqual(self.tool.questions, [])
        self.assertEqual(self.client.submitted(), [{
            "OP_ID": "OP_INSTANCE_STARTUP", "instance_name": "inst1",
            "force": False, "ignore_offline_nodes": False,
            "hvparams": {"kernel_args": "single"}, "beparams": {},
            "no_remember": True, "startup_paused": False}])

    def test_asks_for_many(self):
        """Several instances: Ganeti's question with the list, y/n."""
        code, out, _ = self.tool.run("shutdown", "--timeout", "30", "inst1",
                                     "inst2")
        self.assertEqual(self.tool.questions, [
            "The shutdown will operate on 2 instances.\n"
            "Do you want to continue?\n"
            "Affected instances:\n  inst1\n  inst2"])
        self.assertEqual(self.tool.keys, [["y", "n"]])
        self.assertEqual((code, out.splitlines()), (0, [
            "Submitted jobs 1, 2", "Waiting for job 1 for inst1 ...",
            "Waiting for job 2 for inst2 ..."]))
        self.assertEqual(self.client.submitted()[1], {
            "OP_ID": "OP_INSTANCE_SHUTDOWN", "instance_name": "inst2",
            "force": False, "ignore_offline_nodes": False, "timeout": 30,
            "no_remember": False})

    def test_selection_asks_for_one(self):
        """A selection other than by name asks even for one instance."""
        self.tool.run("reboot", "--primary", "node3")
        self.assertEqual(self.tool.questions, [
            "The reboot will operate on 1 instances.\n"
            "Do you want to continue?\nAffected instances:\n  inst4"])

    def test_no(self):
        """Answering no: exit 1, nothing submitted."""
        self.tool.confirm = False
        self.assertEqual(self.tool.run("reboot", "--all"), (1, "", ""))
        self.assertEqual(self.client.jobs, [])

    def test_force_multiple(self):
        """--force-multiple does not ask."""
        self.assertEqual(self.tool.run("reboot", "--force-multiple", "--all",
                                       "-t", "soft")[0], 0)
        self.assertEqual(self.tool.questions, [])
        self.assertEqual(self.client.submitted()[0], {
            "OP_ID": "OP_INSTANCE_REBOOT", "instance_name": "inst1",
            "reboot_type": "soft", "ignore_secondaries": False,
            "shutdown_timeout": 120})

    def test_view_the_list(self):
        """Beyond 20 instances ``v`` shows the list, then y/n again."""
        self.instances = {"web%02d" % i: [] for i in range(21)}
        self.tool.answers = ["v", "y"]
        code, _, _ = self.tool.run("startup", "--all")
        question = ("The startup will operate on 21 instances.\n"
                    "Do you want to continue?")
        listing = "".join("\n  web%02d" % i for i in range(21))
        self.assertEqual(self.tool.questions, [
            question, question + "\nAffected instances:" + listing])
        self.assertEqual(self.tool.keys, [["y", "v", "n"], ["y", "n"]])
        self.assertEqual((code, len(self.client.jobs)), (0, 21))

    def test_view_then_no(self):
        """Viewing the list and then saying no submits nothing."""
        self.instances = {"web%02d" % i: [] for i in range(21)}
        self.tool.answers = ["v", "n"]
        self.assertEqual(self.tool.run("startup", "--all")[0], 1)
        self.assertEqual(self.client.jobs, [])

    def test_submit(self):
        """--submit prints each job id with its instance and does not wait."""
        code, out, err = self.tool.run("startup", "--submit",
                                       "--force-multiple", "inst2", "inst1")
        self.assertEqual((code, out, err), (0, "1: inst2\n2: inst1\n", ""))
        self.assertNotIn("WaitForJobChange",
                         [call[0] for call in self.client.calls])
        self.assertEqual(self.client.calls[-1][0], "SubmitManyJobs")

    def test_submit_one(self):
        """One instance with --submit is shown the same way."""
        self.assertEqual(self.tool.run("shutdown", "--submit", "inst1"),
                         (0, "1: inst1\n", ""))

    def test_failures(self):
        """A failed job is reported by instance; the others run; exit 1."""
        def shutdown(op):
            if op["instance_name"] == "inst2":
                return errors.OpExecError("Could not shutdown instance inst2")
            return None
        self.client.op_results["OP_INSTANCE_SHUTDOWN"] = shutdown
        code, out, err = self.tool.run("shutdown", "--force-multiple",
                                       "--primary", "node1")
        self.assertEqual((code, err), (
            1, "Job 2 for inst2 has failed: Failure: command execution"
               " error:\nCould not shutdown instance inst2\n"))
        self.assertEqual(out.splitlines(), [
            "Submitted jobs 1, 2", "Waiting for job 1 for inst1 ...",
            "Waiting for job 2 for inst2 ..."])

    def test_dry_run_and_priority(self):
        """The generic job options reach every job."""
        self.tool.run("startup", "--dry-run", "--priority", "low",
                      "--force-multiple", "inst1", "inst2")
        self.assertEqual([(op["dry_run"], op["priority"])
                          for op in self.client.submitted()],
                         [(True, 10), (True, 10)])


class ReinstallTests(ManyToolTestCase):
    """``gnt-instance reinstall``: its own questions."""

    def test_one(self):
        """One instance: a question naming it and the OS change."""
        code, out, _ = self.tool.run("reinstall", "-o", "debootstrap+min",
                                     "-O", "dhcp=yes", "inst1")
        self.assertEqual(self.tool.questions, [
            "This will reinstall the instance 'inst1' (and change the OS to"
            " 'debootstrap+min') which removes all data. Continue?"])
        self.assertEqual((code, out), (0, "Waiting for job 1 for inst1 ...\n"))
        self.assertEqual(self.client.submitted(), [{
            "OP_ID": "OP_INSTANCE_REINSTALL", "instance_name": "inst1",
            "os_type": "debootstrap+min", "force_variant": False,
            "osparams": {"dhcp": "yes"}}])

    def test_one_forced(self):
        """-f (or --force-multiple) skips the question for one instance."""
        for option in ("-f", "--force-multiple"):
            self.tool.run("reinstall", option, "inst1")
        self.assertEqual(self.tool.questions, [])
        self.assertEqual(self.names(), ["inst1", "inst1"])

    def test_one_refused(self):
        """No: exit 1, no job."""
        self.tool.confirm = False
        self.assertEqual(self.tool.run("reinstall", "inst1"), (1, "", ""))
        self.assertEqual(self.client.jobs, [])

    def test_many_ignore_force(self):
        """Several instances: -f is not enough, the list is shown."""
        self.tool.run("reinstall", "-f", "--tags", "web")
        self.assertEqual(self.tool.questions, [
            "The reinstall will operate on 2 instances.\n"
            "Note: this will remove *all* data for the below instances! It"
            " will keep the same OS.\n"
            "Do you want to continue?\n"
            "Affected instances:\n  inst1\n  inst3"])
        self.assertEqual(self.names(), ["inst1", "inst3"])

    def test_many_forced(self):
        """--force-multiple skips it."""
        code, out, _ = self.tool.run("reinstall", "--force-multiple",
                                     "--submit", "inst1", "inst2")
        self.assertEqual((code, out, self.tool.questions),
                         (0, "1: inst1\n2: inst2\n", []))

    def os_list(self):
        self.client.op_results["OP_OS_DIAGNOSE"] = [
            ["debootstrap", ["buster", "bullseye"]], ["image", []]]

    def test_select_os(self):
        """--select-os lists the OS variants and takes the one chosen."""
        self.os_list()
        self.tool.answers = ["1", "y"]
        code, out, _ = self.tool.run("reinstall", "--select-os", "inst1")
        self.assertEqual(out.splitlines()[:4], [
            "Available OS templates:", "  0: debootstrap+buster",
            "  1: debootstrap+bullseye", "  2: image"])
        self.assertEqual(self.tool.keys[0], ["0", "1", "2", "x"])
        self.assertEqual(self.tool.questions, [
            "Enter OS template number (or x to abort):",
            "This will reinstall the instance 'inst1' (and change the OS to"
            " 'debootstrap+bullseye') which removes all data. Continue?"])
        self.assertEqual((code, self.client.submitted()[-1]["os_type"]),
                         (0, "debootstrap+bullseye"))

    def test_select_os_abort(self):
        """``x`` gives up, exit 1, no reinstall."""
        self.os_list()
        self.tool.answers = ["x"]
        code, _, err = self.tool.run("reinstall", "--select-os", "inst1")
        self.assertEqual((code, err), (1, "User aborted reinstall, exiting\n"))
        self.assertEqual([op["OP_ID"] for op in self.client.submitted()],
                         ["OP_OS_DIAGNOSE"])


class AskUserTests(SynchronousTestCase):
    """L{base.ask_user} on a terminal, as Ganeti asks."""

    def ask(self, typed, text, choices=None):
        """:return: (the answer, what the terminal showed)."""
        tty = _FakeTty(typed)
        self.patch(base, "_open_tty", lambda: tty)
        return ASK_USER(text, choices), tty.shown.getvalue()

    def test_yes_no(self):
        """``y/[n]/?: `` after the question; y is True."""
        self.assertEqual(self.ask("y\n", "Continue?"),
                         (True, "Continue?\ny/[n]/?: "))

    def test_help_and_retry(self):
        """``?`` lists the choices; an unknown answer asks again."""
        answer, shown = self.ask("?\nmaybe\nn\n", "Go?")
        prompt = "Go?\ny/[n]/?: "
        self.assertEqual((answer, shown), (False, prompt + (
            " y - Perform the operation\n n - Do not perform the operation\n"
            "\n") + prompt + prompt))

    def test_choices(self):
        """Other choices: their keys, the last one the default."""
        choices = [("y", True, "Yes"), ("v", "v", "View"), ("n", False, "No")]
        self.assertEqual(self.ask("V\n", "Sure?", choices),
                         ("v", "Sure?\ny/v/[n]/?: "))

    def test_end_of_input(self):
        """A closed terminal answers the default."""
        self.assertEqual(self.ask("", "Continue?")[0], False)

    def test_wraps(self):
        """Long lines are wrapped at 70 columns, line by line."""
        text = "word " * 20 + "\n  kept"
        _, shown = self.ask("y\n", text)
        self.assertEqual(shown.splitlines(), [
            ("word " * 14).strip(), ("word " * 6).strip(), "  kept",
            "y/[n]/?: "])

    def test_no_terminal(self):
        """Without a terminal the default answers."""
        def no_tty():
            raise OSError(6, "No such device or address")
        self.patch(base, "_open_tty", no_tty)
        self.assertIs(ASK_USER("Continue?"), False)


#: The real question, before a L{FakeTool} replaces it.
ASK_USER = base.ask_user


class _FakeTty:
    """A terminal: reads what the user typed, records what it showed."""

    def __init__(self, typed):
        self._typed = io.StringIO(typed)
        self.shown = io.StringIO()

    def readline(self):
        return self._typed.readline()

    def write(self, text):
        self.shown.write(text)

    def flush(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


class BatchCreateTests(ManyToolTestCase):
    """``gnt-instance batch-create`` from a JSON definition file."""

    DEFINITIONS = [
        {"mode": "create", "instance_name": "new1.example.com",
         "disk_template": "file", "os_type": "debootstrap",
         "disks": [{"size": "1024"}], "nics": [{}]},
        {"mode": "create", "instance_name": "new2.example.com",
         "disk_template": "file", "os_type": "debootstrap",
         "disks": [{"size": 4096}], "nics": [{}],
         "beparams": {"maxmem": 512, "minmem": 256}},
    ]

    def write(self, content):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(content if isinstance(content, str)
                    else json.dumps(content))
        return path

    def hand_back(self, fail=None):
        """The allocation job hands back one creation job per instance."""
        def allocate(op):
            return {"jobs": [[True, self.client.add_job([dict(inst)])]
                             for inst in op["instances"]]}
        self.client.op_results["OP_INSTANCE_MULTI_ALLOC"] = allocate
        self.client.op_results["OP_INSTANCE_CREATE"] = lambda op: (
            errors.OpPrereqError("Not enough memory", "insufficient_resources")
            if op["instance_name"] == fail else op["instance_name"])

    def test_create(self):
        """One allocation job with every definition; each creation followed."""
        self.hand_back()
        code, out, err = self.tool.run("batch-create", "-I", "hail",
                                       self.write(self.DEFINITIONS))
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out.splitlines(), [
            "Submitted jobs 2, 3", "Waiting for job 2 ...",
            "Waiting for job 3 ...", "All instances created successfully."])
        [alloc] = self.client.submitted()[:1]
        self.assertEqual(alloc, {
            "OP_ID": "OP_INSTANCE_MULTI_ALLOC", "iallocator": "hail",
            "instances": [dict(d, OP_ID="OP_INSTANCE_CREATE")
                          for d in self.DEFINITIONS]})

    def test_failure(self):
        """A failed creation is counted; exit 1."""
        self.hand_back(fail="new2.example.com")
        code, out, err = self.tool.run("batch-create",
                                       self.write(self.DEFINITIONS))
        self.assertEqual(code, 1)
        self.assertEqual(out.splitlines()[-1],
                         "There were 1 errors during the creation.")
        self.assertIn("Job 3 has failed: Failure: prerequisites not met",
                      err)

    def test_submit(self):
        """--submit: the allocation job's id only."""
        code, out, err = self.tool.run("batch-create", "--submit",
                                       self.write(self.DEFINITIONS))
        self.assertEqual((code, out, err), (0, "", "JobID: 1\n"))

    def test_unreadable(self):
        """A missing file, bad JSON or another shape: a message, exit 1."""
        missing = self.mktemp()
        for path, message in [
                (missing, "Can't parse the instance definition file: [Errno"
                          " 2] No such file or directory: '%s'" % missing),
                (self.write("[{"), "Can't parse the instance definition"
                                   " file: Expecting property name enclosed"
                                   " in double quotes: line 1 column 3"
                                   " (char 2)"),
                (self.write({"instances": []}), "The instance definition"
                                                " file is not List of"
                                                " Dictionary")]:
            self.assertEqual(self.tool.run("batch-create", path),
                             (1, "", message + "\n"))
        self.assertEqual(self.client.jobs, [])

    def test_bad_definitions(self):
        """Unknown or ill-typed parameters are refused before any job."""
        unknown = dict(self.DEFINITIONS[0], memory=512, colour="blue")
        wrong = dict(self.DEFINITIONS[0], start="yes")
        for definitions, message in [
                ([self.DEFINITIONS[0], unknown],
                 "Unknown fields in definition 1: colour, memory"),
                ([wrong], "Parameter 'OP_INSTANCE_CREATE.start' fails"
                          " validation: expected a boolean, got str 'yes'")]:
            code, _, err = self.tool.run("batch-create",
                                         self.write(definitions))
            self.assertEqual((code, err), (1, (
                "Failure: prerequisites not met for this operation:\n"
                "error type: wrong_input, error details:\n%s\n" % message)))
        self.assertEqual(self.client.jobs, [])


class ChangeGroupTests(ManyToolTestCase):
    """``gnt-instance change-group``."""

    def hand_back(self, *results):
        self.client.op_results["OP_INSTANCE_CHANGE_GROUP"] = lambda op: {
            "jobs": [[True, self.client.add_job([{"OP_ID": "OP_TEST_DUMMY",
                                                  "result": result}])]
                     for result in results]}
        self.client.op_results["OP_TEST_DUMMY"] = lambda op: op["result"]

    def test_change_group(self):
        """The options reach the opcode; the planned jobs are followed."""
        self.hand_back(None)
        code, out, _ = self.tool.run("change-group", "-I", "hail", "--to",
                                     "rack2", "--to", "rack3",
                                     "--early-release", "inst1")
        self.assertEqual(self.client.submitted()[0], {
            "OP_ID": "OP_INSTANCE_CHANGE_GROUP", "instance_name": "inst1",
            "iallocator": "hail", "target_groups": ["rack2", "rack3"],
            "early_release": True})
        self.assertEqual((code, out.splitlines()), (0, [
            "Submitted jobs 2", "Waiting for job 2 ...",
            "Instance 'inst1' changed group successfully."]))

    def test_defaults(self):
        """Without options: the default allocator, every other group."""
        self.hand_back()
        self.assertEqual(self.tool.opcode("change-group", "inst1"), {
            "OP_ID": "OP_INSTANCE_CHANGE_GROUP", "instance_name": "inst1",
            "iallocator": None, "target_groups": None,
            "early_release": False})

    def test_failed_move(self):
        """A failed planned job: counted, exit 1."""
        self.hand_back(None, errors.OpExecError("Could not migrate"))
        code, out, _ = self.tool.run("change-group", "inst1")
        self.assertEqual((code, out.splitlines()[-1]), (
            1, "There were 1 errors while changing group of instance"
               " 'inst1'."))

    def test_submit(self):
        """--submit prints the planning job's id."""
        self.assertEqual(self.tool.run("change-group", "--submit", "inst1"),
                         (0, "", "JobID: 1\n"))


class MoveTests(SynchronousTestCase):
    """``gnt-instance move``: its options, question and exit codes."""

    def setUp(self):
        self.tool = FakeTool(self, instance)
        self.client = self.tool.client

    def test_options(self):
        """Every option reaches OP_INSTANCE_MOVE, as Ganeti's tool sends it."""
        op = self.tool.opcode("move", "-f", "-n", "node2", "--compress",
                              "gzip", "--shutdown-timeout", "30",
                              "--ignore-consistency", "--ignore-ipolicy",
                              "--dry-run", "--priority", "low", "inst1")
        self.assertEqual(op, {
            "OP_ID": "OP_INSTANCE_MOVE", "instance_name": "inst1",
            "target_node": "node2", "compress": "gzip",
            "shutdown_timeout": 30, "ignore_consistency": True,
            "ignore_ipolicy": True, "dry_run": True, "priority": 10})

    def test_defaults(self):
        """No compression, Ganeti's two minutes to shut down."""
        op = self.tool.opcode("move", "-f", "--node", "node2", "inst1")
        self.assertEqual(op, {
            "OP_ID": "OP_INSTANCE_MOVE", "instance_name": "inst1",
            "target_node": "node2", "compress": "none",
            "shutdown_timeout": 120, "ignore_consistency": False,
            "ignore_ipolicy": False})

    def test_question(self):
        """Without -f it asks first; no is exit 1 and no job."""
        self.tool.confirm = False
        self.assertEqual(self.tool.run("move", "-n", "node2", "inst1"),
                         (1, "", ""))
        self.assertEqual(self.tool.questions, [
            "Instance inst1 will be moved. This requires a shutdown of the"
            " instance. Continue?"])
        self.assertEqual(self.client.jobs, [])

    def test_submit(self):
        """--submit prints the job id and does not wait."""
        self.assertEqual(self.tool.run("move", "-f", "-n", "node2",
                                       "--submit", "inst1"),
                         (0, "", "JobID: 1\n"))
