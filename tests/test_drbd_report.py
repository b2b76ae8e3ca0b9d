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
import sys

import attrs
from twisted.internet.defer import maybeDeferred
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from ganeti import constants
from ganeti.cli import base, instance as instance_cli, node as node_cli
from ganeti.cmdlib.instance import drbd
from ganeti.master.luxi import LuxiHandler
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
    storage = master.handlers[node_name]._disks("drbd")
    storage._minors = lambda: drbd_storage.parse_proc(text)


class DrbdClusterTestCase(SynchronousTestCase):
    """A two-node cluster with one mirrored instance, and its tools."""

    def setUp(self):
        self.master = two_node_cluster(self)
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
