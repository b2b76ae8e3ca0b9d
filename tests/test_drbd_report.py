"""
What an operator sees of mirrored (``drbd``) instances: list fields
(``snodes``, ``sinst_cnt``, ``sinst_list``), ``gnt-node list-drbd``,
``gnt-instance info`` with both sides' state, and what ``gnt-cluster
verify`` and ``verify-disks`` find.

Two nodes on one Clock (L{tests.util.two_node_cluster}); the instance's
mirror is put in the config as ``gnt-instance add -t drbd`` leaves it,
and each node's DRBD state is the ``/proc/drbd`` text the test gives it
(real mirrors run in tests/vm/test_drbd_report.py).
"""

import io
import os
import sys

import attrs
from twisted.internet.defer import maybeDeferred, succeed
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from ganeti import constants, errors
from ganeti.cli import base, instance as instance_cli, node as node_cli
from ganeti.cmdlib.instance import drbd
from ganeti.master.luxi import LuxiHandler
from ganeti.node import handler as handler_module
from ganeti.objects import Disk, Instance
from ganeti.storage import drbd as drbd_storage
from tests.util import NODE2_NAME, SETTINGS, two_node_cluster

NODE1 = SETTINGS["node_name"]

#: Both sides of minor 0 connected and up to date, as the primary sees it.
SYNCED = """\
version: 8.4.11 (api:1/proto:86-101)
 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----
    ns:65536 nr:0 dw:0 dr:66544 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
"""

#: The secondary's side of minor 0 during the first sync.
SYNCING = """\
version: 8.4.11 (api:1/proto:86-101)
 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----
    ns:0 nr:29696 dw:29696 dr:0 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:35840
\t[=======>............] sync'ed: 45.3% (35840/65536)K
\tfinish: 0:00:12 speed: 2,968 (2,968) want: 3,000 K/sec
"""

#: The primary's side after its peer went away.
DISCONNECTED = """\
version: 8.4.11 (api:1/proto:86-101)
 0: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C r-----
    ns:65536 nr:0 dw:0 dr:66544 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
"""

#: DRBD loaded, no minor configured.
EMPTY = "version: 8.4.11 (api:1/proto:86-101)\n"


class SyncClient:
    """
    The tools' LUXI client calling a master's handler directly; every
    answer must be there at once (the cluster runs on a Clock and its
    nodes answer without waiting).
    """

    def __init__(self, handler):
        self._handler = handler

    def call(self, method, *args):
        results = []
        maybeDeferred(getattr(self._handler, method), *args).addBoth(
            results.append)
        [result] = results
        if isinstance(result, Failure):
            result.raiseException()
        return result


def add_drbd_instance(master, name="inst1.example.com", size=64):
    """
    Put a one-disk ``drbd`` instance with node 1 as primary and node 2
    as secondary in the config, as ``gnt-instance add -t drbd`` would.

    :return: the instance.
    """
    cfg = master.config.config
    node1 = cfg.cluster.master_node
    plain = Disk(uuid="disk-" + name, dev_type="plain", size=size,
                 logical_id=["xenvg", "%s.disk0" % name], iv_name="disk/0")
    disk = drbd.drbd_disk(drbd.Allocation(cfg), plain, node1, "node2-uuid")
    inst = Instance(name=name, uuid="uuid-" + name, primary_node=node1,
                    os="noop", hypervisor="fake", disk_template="drbd",
                    disks=[disk.uuid], admin_state=constants.ADMINST_UP,
                    disks_active=True, ctime=1000.0, mtime=1000.0)

    def add(cfg):
        cluster = attrs.evolve(cfg.cluster, enabled_disk_templates=[
            "file", "diskless", "drbd", "plain"])
        return attrs.evolve(cfg, cluster=cluster,
                            disks=dict(cfg.disks, **{disk.uuid: disk}),
                            instances=dict(cfg.instances, **{inst.uuid: inst}))
    master.config.update(add)
    return inst


def set_proc(master, node_name, text):
    """Make C{node_name}'s DRBD state be the ``/proc/drbd`` C{text}."""
    handler = master.handlers[node_name]
    handler._disks("drbd")._minors = lambda: drbd_storage.parse_proc(text)
    handler._read_drbd_proc = lambda: text


class DrbdClusterTestCase(SynchronousTestCase):
    """A two-node cluster with one mirrored instance, and its tools."""

    #: What the cluster is initialised with.
    settings = {}

    def setUp(self):
        self.master = two_node_cluster(self, **self.settings)
        self.inst = add_drbd_instance(self.master)
        self.patch(base, "_client", SyncClient(LuxiHandler(self.master)))
        set_proc(self.master, NODE1, SYNCED)
        set_proc(self.master, NODE2_NAME, SYNCED.replace(
            "ro:Primary/Secondary", "ro:Secondary/Primary"))

    def run_tool(self, commands, name, *argv):
        """:return: exit code, stdout and stderr of a ``gnt-*`` run."""
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", out)
        self.patch(sys, "stderr", err)
        code = base.main(commands.COMMANDS, commands.ALIASES,
                         [name] + list(argv))
        return code, out.getvalue(), err.getvalue()

    def gnt_instance(self, *argv):
        return self.run_tool(instance_cli, "gnt-instance", *argv)

    def gnt_node(self, *argv):
        return self.run_tool(node_cli, "gnt-node", *argv)


class ListTests(DrbdClusterTestCase):
    """The list fields name the secondary node and its instances."""

    def test_instance_snodes(self):
        """``gnt-instance list -o +snodes`` shows the secondary."""
        code, out, _ = self.gnt_instance(
            "list", "--no-headers", "--separator", "|", "-o",
            "name,pnode,snodes,snodes.group,snodes.group.uuid")
        group = self.master.config.config.nodes["node2-uuid"].group
        self.assertEqual((code, out), (0, "inst1.example.com|%s|%s|default|%s\n"
                                       % (NODE1, NODE2_NAME, group)))

    def test_node_sinst(self):
        """
        ``gnt-node list`` counts the instance as primary on node 1 and
        as secondary on node 2 (the default fields' Pinst and Sinst).
        """
        code, out, _ = self.gnt_node(
            "list", "--no-headers", "--separator", "|", "-o",
            "name,pinst_cnt,pinst_list,sinst_cnt,sinst_list")
        self.assertEqual(out.splitlines(), [
            "%s|1|inst1.example.com|0|" % NODE1,
            "%s|0||1|inst1.example.com" % NODE2_NAME])


class ListDrbdTests(DrbdClusterTestCase):
    """``gnt-node list-drbd``: the minors the config gives a node."""

    def test_both_sides(self):
        """Each node lists its side: minor, instance, disk, role, peer."""
        add_drbd_instance(self.master, "inst2.example.com")
        code, out, _ = self.gnt_node("list-drbd", NODE2_NAME)
        self.assertEqual((code, out.splitlines()), (0, [
            "Node              Minor Instance          Disk   Role"
            "      PeerNode",
            "node2.example.com     0 inst1.example.com disk/0 secondary"
            " node1.example.com",
            "node2.example.com     1 inst2.example.com disk/0 secondary"
            " node1.example.com"]))
        code, out, _ = self.gnt_node("list-drbd", "--no-headers",
                                     "--separator", ",", NODE1)
        self.assertEqual(out.splitlines(), [
            "node1.example.com,0,inst1.example.com,disk/0,primary,"
            "node2.example.com",
            "node1.example.com,1,inst2.example.com,disk/0,primary,"
            "node2.example.com"])

    def test_unknown_node(self):
        """An unknown node is an error status and exit code 1."""
        code, out, err = self.gnt_node("list-drbd", "node9.example.com")
        self.assertEqual((code, out, err), (
            1, "", "Query gave non-ok status '1': Node name"
            " node9.example.com not found\n"))

    def test_one_node(self):
        """Exactly one node is asked for."""
        self.assertEqual(self.gnt_node("list-drbd")[0], 1)
        self.assertEqual(self.gnt_node("list-drbd", NODE1, NODE2_NAME)[0], 1)


class InfoTests(DrbdClusterTestCase):
    """``gnt-instance info`` of a mirrored instance."""

    def disk_lines(self, *argv):
        code, out, err = self.gnt_instance("info", *argv)
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        return lines, lines[lines.index("  Disks: ") + 1:]

    def test_both_sides(self):
        """
        The nodes section names the secondary; the disk shows both
        nodes with their minors, the port, each side's device and sync
        state, and the data and metadata volumes.
        """
        cfg = self.master.config.config
        disk = cfg.disks[self.inst.disks[0]]
        data, meta = disk.children
        group = cfg.nodes["node2-uuid"].group
        lines, disk_lines = self.disk_lines("inst1.example.com")
        self.assertEqual(lines[0], "- Instance name: inst1.example.com")
        nodes = lines.index("  Nodes: ")
        self.assertEqual(lines[nodes + 1:nodes + 4], [
            "    - primary: %s" % NODE1,
            "      group: default (UUID %s)" % group,
            "    - secondaries: %s (group default, group UUID %s)"
            % (NODE2_NAME, group)])
        self.assertEqual(disk_lines, [
            "    - disk/0: drbd, size 64M",
            "      access mode: rw",
            "      nodeA: %s, minor=0" % NODE1,
            "      nodeB: %s, minor=0" % NODE2_NAME,
            "      port: 11000",
            "      on primary: /dev/drbd0 (147:0) in sync, status ok",
            "      on secondary: /dev/drbd0 (147:0) in sync, status ok",
            "      name: None",
            "      UUID: %s" % disk.uuid,
            "      child devices: ",
            "        - child 0: plain, size 64M",
            "          logical_id: xenvg/inst1.example.com.disk0_data",
            "          name: None",
            "          UUID: %s" % data.uuid,
            "        - child 1: plain, size 128M",
            "          logical_id: xenvg/inst1.example.com.disk0_meta",
            "          name: None",
            "          UUID: %s" % meta.uuid])

    def test_syncing_and_degraded(self):
        """
        A resyncing side shows its progress and ETA, a side whose peer
        is gone shows DEGRADED; a side not set up has no line.
        """
        set_proc(self.master, NODE1, DISCONNECTED)
        set_proc(self.master, NODE2_NAME, SYNCING)
        _, disk_lines = self.disk_lines("inst1.example.com")
        self.assertEqual(disk_lines[5:7], [
            "      on primary: /dev/drbd0 (147:0) in sync, status *DEGRADED*",
            "      on secondary: /dev/drbd0 (147:0) *RECOVERING* 45.30%,"
            " ETA 12s, status *DEGRADED*"])
        set_proc(self.master, NODE2_NAME, EMPTY)
        _, disk_lines = self.disk_lines("inst1.example.com")
        self.assertEqual(disk_lines[5:7], [
            "      on primary: /dev/drbd0 (147:0) in sync, status *DEGRADED*",
            "      name: None"])

    def test_static(self):
        """--static asks no node: no run state, no device lines."""
        def refuse(disks):
            raise AssertionError("a node was asked")
        for handler in self.master.handlers.values():
            handler.blockdev_find_all = refuse
        lines, disk_lines = self.disk_lines("--static", "inst1.example.com")
        self.assertIn("  State: configured to be up", lines)
        self.assertEqual(disk_lines[5], "      name: None")

    def test_selection(self):
        """Without names it needs --all; --all with names is refused."""
        code, _, err = self.gnt_instance("info")
        self.assertEqual(code, 1)
        self.assertIn("No instance selected", err)
        code, _, err = self.gnt_instance("info", "--all", "inst1.example.com")
        self.assertEqual((code, err), (1, "Cannot use --all if you specify"
                                          " instance names.\n"))
        lines, _ = self.disk_lines("--all")
        self.assertEqual(lines[0], "- Instance name: inst1.example.com")


def _lvm_report(lvs):
    """A node's LVM report (L{NodeHandler._verify_lvm}) with C{lvs}."""
    return {"vgs": {"xenvg": 24572}, "pvs": [], "pv_problems": [],
            "pv_extremes": None,
            "lvs": {name: [64, False, True] for name in lvs}}


#: The volumes of inst1's mirror, on each of its nodes.
VOLUMES = ["xenvg/inst1.example.com.disk0_data",
           "xenvg/inst1.example.com.disk0_meta"]


class VerifyTests(DrbdClusterTestCase):
    """
    ``gnt-cluster verify`` of a group with a mirrored instance: the DRBD
    helper, the minors in use, the mirrors' state, the volumes on both
    nodes and N+1 memory, each reported with Ganeti's code and words.
    """

    settings = {"vg_name": "xenvg",
                "enabled_disk_templates": ["drbd", "plain", "diskless"]}

    def setUp(self):
        DrbdClusterTestCase.setUp(self)
        helper = self.mktemp()
        with open(helper, "w") as f:
            f.write("/bin/true\n")
        self.patch(handler_module, "DRBD_HELPER_FILE", helper)
        self.helper = helper
        self.lvs = {NODE1: list(VOLUMES), NODE2_NAME: list(VOLUMES)}
        for name, handler in self.master.handlers.items():
            handler._verify_lvm = (lambda vg, exclusive, name=name:
                                   succeed(_lvm_report(self.lvs[name])))

    def verify(self, *codes, **options):
        """
        :return: the job's result and its findings with one of C{codes}
            (``--error-codes`` form), in order (this bed's nodes are not
            replicated to nor running the instance: only the findings
            asked for are looked at).
        """
        group = next(iter(self.master.config.config.nodegroups.values()))
        job = self.master.queue.get(self.master.queue.submit([dict({
            "OP_ID": "OP_CLUSTER_VERIFY_GROUP", "group_name": group.name,
            "error_codes": True}, **options)]))
        self.assertEqual(job.status, "success", job.ops[0].result)
        lines = [entry[3].strip() for entry in job.ops[0].log]
        self.lines = lines
        return job.ops[0].result, [line for line in lines if any(
            ":%s:" % code in line for code in codes)]

    def disk_uuid(self):
        return self.inst.disks[0]

    def test_healthy(self):
        """
        Both sides in sync, minors and volumes where the config says:
        no finding, and the mirrored instance is not counted as
        non-redundant.
        """
        _, found = self.verify("ENODEDRBD", "ENODEDRBDHELPER",
                                    "EINSTANCEFAULTYDISK", "ENODEORPHANLV",
                                    "EINSTANCEMISSINGDISK", "ENODEN1")
        self.assertEqual(found, [])
        self.assertIn("* Gathering disk information (2 nodes)", self.lines)
        self.assertIn("* Verifying N+1 Memory redundancy", self.lines)
        self.assertNotIn("- NOTICE: 1 non-redundant instance(s) found.",
                         self.lines)

    def test_minors(self):
        """
        A minor of an instance with active disks missing on a node and a
        minor no disk has in use are errors.
        """
        text = SYNCED.replace(" 0: cs:", " 5: cs:")
        for name in (NODE1, NODE2_NAME):
            set_proc(self.master, name, text)
        _, found = self.verify("ENODEDRBD")
        self.assertEqual(found, [
            "- ERROR:ENODEDRBD:node:%s:drbd minor 0 of disk %s (attached in"
            " instance 'inst1.example.com') is not active"
            % (NODE1, self.disk_uuid()),
            "- ERROR:ENODEDRBD:node:%s:unallocated drbd minor 5 is in use"
            % NODE1,
            "- ERROR:ENODEDRBD:node:%s:drbd minor 0 of disk %s (attached in"
            " instance 'inst1.example.com') is not active"
            % (NODE2_NAME, self.disk_uuid()),
            "- ERROR:ENODEDRBD:node:%s:unallocated drbd minor 5 is in use"
            % NODE2_NAME])

    def test_no_drbd_module(self):
        """A node without DRBD cannot have its minors checked."""
        def missing():
            raise errors.BlockDeviceError("DRBD is not available")
        self.master.handlers[NODE2_NAME]._read_drbd_proc = missing
        _, found = self.verify("ENODEDRBD")
        self.assertEqual(found, [
            "- ERROR:ENODEDRBD:node:%s:cannot parse drbd status file: DRBD"
            " is not available" % NODE2_NAME])

    def test_helper(self):
        """The nodes' usermode helper must be the cluster's."""
        with open(self.helper, "w") as f:
            f.write("/usr/sbin/other-helper\n")
        _, found = self.verify("ENODEDRBDHELPER")
        self.assertEqual(found, [
            "- ERROR:ENODEDRBDHELPER:node:%s:wrong drbd usermode helper:"
            " /usr/sbin/other-helper" % name for name in (NODE1, NODE2_NAME)])
        os.remove(self.helper)
        _, found = self.verify("ENODEDRBDHELPER")
        self.assertEqual(found[0], (
            "- ERROR:ENODEDRBDHELPER:node:%s:drbd usermode helper check"
            " unsuccessful: Can't read the DRBD usermode helper: No such file"
            " or directory" % NODE1))

    def test_degraded(self):
        """
        A side whose peer is gone is degraded with a good local disk (a
        warning); a side not set up at all is an error.
        """
        set_proc(self.master, NODE1, DISCONNECTED)
        set_proc(self.master, NODE2_NAME, EMPTY)
        _, found = self.verify("EINSTANCEFAULTYDISK")
        self.assertEqual(found, [
            "- WARNING:EINSTANCEFAULTYDISK:instance:inst1.example.com:disk/0"
            " on %s is degraded; local disk state is 'ok'" % NODE1,
            "- ERROR:EINSTANCEFAULTYDISK:instance:inst1.example.com:couldn't"
            " retrieve status for disk/0 on %s: Can't find device /dev/drbd0"
            % NODE2_NAME])

    def test_syncing_is_a_warning(self):
        """A resyncing secondary is degraded but syncing: a warning."""
        set_proc(self.master, NODE2_NAME, SYNCING)
        _, found = self.verify("EINSTANCEFAULTYDISK")
        self.assertEqual(found, [
            "- WARNING:EINSTANCEFAULTYDISK:instance:inst1.example.com:disk/0"
            " on %s is degraded; local disk state is 'syncing'" % NODE2_NAME])

    def test_volumes_on_both_nodes(self):
        """
        The mirror's data and metadata volumes are expected on both
        nodes: one missing on the secondary is reported, the others are
        not orphans; a stray volume is.
        """
        self.lvs[NODE2_NAME] = [VOLUMES[0], "xenvg/stray"]
        _, found = self.verify("EINSTANCEMISSINGDISK", "ENODEORPHANLV")
        self.assertEqual(found, [
            "- ERROR:EINSTANCEMISSINGDISK:instance:inst1.example.com:volume"
            " %s missing on node %s" % (VOLUMES[1], NODE2_NAME),
            "- WARNING:ENODEORPHANLV:node:%s:volume xenvg/stray is unknown"
            % NODE2_NAME])

    def test_n_plus_one(self):
        """
        The secondary must have the memory to start the instance should
        its primary fail; the check can be skipped.
        """
        def change(cfg):
            inst = attrs.evolve(self.inst, beparams={"minmem": 1 << 30,
                                                     "maxmem": 1 << 30})
            return attrs.evolve(cfg, instances=dict(cfg.instances,
                                                    **{inst.uuid: inst}))
        self.master.config.update(change)
        _, found = self.verify("ENODEN1")
        [line] = found
        self.assertTrue(line.startswith(
            "- ERROR:ENODEN1:node:%s:not enough memory to accomodate instance"
            " failovers should node %s fail (1073741824MiB needed, "
            % (NODE2_NAME, NODE1)), line)
        _, found = self.verify("ENODEN1", skip_checks=["nplusone_mem"])
        self.assertEqual(found, [])
        self.assertNotIn("* Verifying N+1 Memory redundancy", self.lines)


class VerifyDisksTests(DrbdClusterTestCase):
    """
    ``OP_GROUP_VERIFY_DISKS`` (``gnt-cluster verify-disks``, the watcher)
    of a mirrored instance: its volumes on both nodes, and mirrors a
    node does not run, which need their disks activated again.
    """

    def setUp(self):
        DrbdClusterTestCase.setUp(self)
        self.present = {NODE1: set(VOLUMES), NODE2_NAME: set(VOLUMES)}
        for name, handler in self.master.handlers.items():
            handler.blockdev_exists_all = (
                lambda disks, name=name: succeed(
                    ["%s/%s" % tuple(d["logical_id"]) in self.present[name]
                     for d in disks]))

    def verify_disks(self):
        """:return: the group check's result (errors, inactive, missing)."""
        group = next(iter(self.master.config.config.nodegroups.values()))
        job = self.master.queue.get(self.master.queue.submit([{
            "OP_ID": "OP_GROUP_VERIFY_DISKS", "group_name": group.name}]))
        self.assertEqual(job.status, "success", job.ops[0].result)
        return job.ops[0].result

    def test_healthy(self):
        """Both sides connected, all volumes there: nothing to do."""
        self.assertEqual(self.verify_disks(), [{}, [], {}])

    def test_mirror_not_running(self):
        """
        A side that is not set up (the node rebooted) or StandAlone (its
        link was cut) needs the instance's disks activated; a side only
        waiting for its peer does not.
        """
        set_proc(self.master, NODE2_NAME, EMPTY)
        self.assertEqual(self.verify_disks(), [{}, ["inst1.example.com"], {}])
        set_proc(self.master, NODE2_NAME, SYNCED.replace(
            "cs:Connected ro:Primary/Secondary", "cs:StandAlone"
            " ro:Secondary/Unknown"))
        self.assertEqual(self.verify_disks()[1], ["inst1.example.com"])
        set_proc(self.master, NODE2_NAME, SYNCED)
        set_proc(self.master, NODE1, DISCONNECTED)
        self.assertEqual(self.verify_disks()[1], [])

    def test_missing_volume_on_secondary(self):
        """A volume gone on the secondary is named with its node."""
        self.present[NODE2_NAME] = {VOLUMES[0]}
        self.assertEqual(self.verify_disks(), [
            {}, [], {"inst1.example.com": [[NODE2_NAME, VOLUMES[1]]]}])

    def test_node_error(self):
        """A secondary that cannot answer is a node error."""
        self.master.handlers[NODE2_NAME] = None
        errors_, inactive, missing = self.verify_disks()
        self.assertEqual((list(errors_), inactive, missing),
                         ([NODE2_NAME], [], {}))


class WatcherTests(DrbdClusterTestCase):
    """The watcher re-activates a mirror whose secondary rebooted."""

    def test_secondary_rebooted(self):
        """
        When only the secondary's boot id changes, the instance (stopped,
        its disks active) gets an OP_INSTANCE_ACTIVATE_DISKS job.
        """
        from ganeti.master.watcher import Watcher
        self.master.config.update(lambda cfg: attrs.evolve(
            cfg, instances={self.inst.uuid: attrs.evolve(
                self.inst, admin_state=constants.ADMINST_DOWN)}))
        boot_ids = {}
        for name, handler in self.master.handlers.items():
            boot_ids[name] = self.mktemp()
            with open(boot_ids[name], "w") as f:
                f.write("boot-1\n")
            handler.boot_id_file = boot_ids[name]
        watcher = Watcher(self.master.context)
        self.successResultOf(watcher.run())
        with open(boot_ids[NODE2_NAME], "w") as f:
            f.write("boot-2\n")
        report = self.successResultOf(watcher.run())
        activations = [what for _, what, _ in report["jobs"]
                       if what.startswith("activate disks")]
        self.assertEqual(activations,
                         ["activate disks of instance inst1.example.com"])
