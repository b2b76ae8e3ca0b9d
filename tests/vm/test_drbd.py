# -*- test-case-name: tests.vm.test_drbd -*-
"""
The ``drbd`` disk template under faults, for real: a three-node cluster
on the VM bed's guests (real kernels, the real DRBD 8.4 module and
drbd-utils, replication over the guests' secondary network, ``eth2``),
driven through the ``gnt-*`` tools as an operator would, with guests
powered off hard (qemu killed) and the replication network cut.

Every test checks the data too: random chunks are written through the
device ``gnt-instance activate-disks`` prints (``oflag=direct``, so they
reach DRBD and not a page cache) and read back, byte for byte, on the
other node once the instance has moved there.  The master runs on node1,
so the instances whose primary or secondary is powered off live on
node2 and node3 (or node1 keeps its primary role).

Instances are started with the fake hypervisor inside the guests (no OS
is installed: ``--no-install``, which also leaves a new instance down, so
the tests that want it running start it).

The bed is this module's own, booted once for all its tests; each test
removes its instance and powers its guests back on, even when it fails.
"""

import re
import time

from twisted.trial.unittest import SynchronousTestCase

from ganeti.testing import vmbed
from tests.vm.beds import GuestCommandsMixin, module_bed

VG = vmbed.VG_NAME
#: Each instance's disk: small, so creation's first sync is quick.
DISK_SIZE = "64m"
#: Size of each chunk of data the tests write, MiB.
CHUNK_MIB = 4
#: How long a mirror may take to reconnect and resync after a fault.
RESYNC_TIMEOUT = 180.0

#: One device of /proc/drbd: its minor, connection, roles and disk states.
_PROC_LINE = re.compile(r"^\s*(\d+):\s+cs:(\S+)\s+ro:(\S+)\s+ds:(\S+)",
                        re.MULTILINE)

#: A mirror with both sides up to date and talking, from either side.
IN_SYNC = ("Connected", "UpToDate/UpToDate")

_shared = {}


def drbd_bed():
    """
    :return: the three-guest bed with its cluster, booted on first use and
        removed when the test run ends.
    """
    return module_bed(_shared, "drbd-", count=3)


class DrbdFaultTests(GuestCommandsMixin, SynchronousTestCase):
    """Mirrored instances across failovers, migrations and faults."""

    def setUp(self):
        self.bed = drbd_bed()
        self.names = {i: self.bed[i].name for i in (1, 2, 3)}

    # --- helpers ---------------------------------------------------------

    def add(self, name, primary, secondary, start=False):
        """
        Create a ``drbd`` instance on guests C{primary}:C{secondary}
        (``add`` waits for the first sync); started if C{start}.  It is
        removed when the test ends.
        """
        self.addCleanup(self.bed[1].run, ["gnt-instance", "remove", "-f",
                                          name])
        out = self.gnt("gnt-instance", "add", "-t", "drbd", "-o", "none",
                       "--no-install", "--disk", "0:size=" + DISK_SIZE,
                       "-n", "%s:%s" % (self.names[primary],
                                        self.names[secondary]),
                       "--no-name-check", "--no-ip-check", name)
        self.assertIn("* Instance %s's disks are in sync." % name, out)
        if start:
            self.gnt("gnt-instance", "startup", name)

    def device(self, name, index):
        """
        :return: the instance's disk on guest C{index}, which must be its
            primary, as ``gnt-instance activate-disks`` prints it
            (``node:disk/0:/dev/drbdN``).
        """
        out = self.gnt("gnt-instance", "activate-disks", name)
        [line] = [l for l in out.splitlines() if ":disk/0:" in l]
        node, _, path = line.split(":", 2)
        self.assertEqual(node, self.names[index])
        self.assertRegex(path, r"^/dev/drbd\d+$")
        return path.strip()

    def minor_device(self, name, index):
        """
        :return: the instance's DRBD device on guest C{index} as ``gnt-node
            list-drbd`` gives it (the config's view: no node is asked, so
            this works while the instance's other node is down).
        """
        out = self.gnt("gnt-node", "list-drbd", "--no-headers",
                       self.names[index])
        [minor] = [line.split()[1] for line in out.splitlines()
                   if line.split()[2:3] == [name]]
        return "/dev/drbd" + minor

    def write(self, index, device, seek_mib):
        """
        Write a chunk of random data to C{device} in guest C{index} at
        C{seek_mib}, bypassing the page cache.

        :return: the chunk's sha256.
        """
        return self.run_ok(
            index, "set -e; f=$(mktemp); head -c %d /dev/urandom > $f;"
                   " dd if=$f of=%s bs=1M seek=%d oflag=direct conv=fsync"
                   " status=none; sha256sum < $f; rm -f $f"
                   % (CHUNK_MIB << 20, device, seek_mib),
            timeout=120).split()[0]

    def read(self, index, device, skip_mib):
        """:return: the sha256 of the chunk at C{skip_mib} of C{device}."""
        return self.run_ok(
            index, "set -o pipefail; dd if=%s bs=1M skip=%d count=%d"
                   " iflag=direct status=none | sha256sum"
                   % (device, skip_mib, CHUNK_MIB), timeout=120).split()[0]

    def drbd_state(self, index, device):
        """
        :return: C{(connection state, disk states)} of C{device} in
            guest C{index}'s /proc/drbd, and its roles; None for a minor
            that is not configured there.
        """
        minor = device[len("/dev/drbd"):]
        for found in _PROC_LINE.findall(self.run_ok(index,
                                                    "cat /proc/drbd")):
            if found[0] == minor:
                return (found[1], found[3]), found[2]
        return None, None

    def wait_in_sync(self, index, device, roles):
        """
        Poll guest C{index}'s /proc/drbd until C{device} is connected and
        up to date on both sides in C{roles} (``Primary/Secondary`` from
        the primary), failing after L{RESYNC_TIMEOUT} with the last state.
        """
        deadline = time.monotonic() + RESYNC_TIMEOUT
        while True:
            state = self.drbd_state(index, device)
            if state == (IN_SYNC, roles):
                return
            if time.monotonic() > deadline:
                self.fail("%s on %s never got %s %s; last %s"
                          % (device, self.names[index], IN_SYNC, roles,
                             state))
            time.sleep(1)

    def placement(self, name):
        """:return: C{[primary, secondary, status]} of instance C{name}."""
        return self.gnt("gnt-instance", "list", "--no-headers", "-o",
                        "pnode,snodes,status", name).split()

    def volumes(self, index):
        """:return: the names of the logical volumes in guest C{index}."""
        return self.run_ok(index, "lvs --noheadings -o lv_name " + VG).split()

    # --- tests -----------------------------------------------------------

    def test_failover_keeps_data(self):
        """
        Data written through ``activate-disks`` on the primary is on the
        secondary byte for byte: after ``failover`` the secondary is the
        primary, ``activate-disks`` prints its device, and the data
        written at the start and in the middle reads back there; the old
        primary is the secondary now and the mirror is in sync.
        """
        name = "failover.example.com"
        self.add(name, 1, 2)
        device = self.device(name, 1)
        chunks = {0: self.write(1, device, 0),
                  32: self.write(1, device, 32)}
        self.assertEqual(self.placement(name),
                         [self.names[1], self.names[2], "ADMIN_down"])
        out = self.gnt("gnt-instance", "failover", "-f", name)
        self.assertIn("Failover instance %s" % name, out)
        self.assertEqual(self.placement(name),
                         [self.names[2], self.names[1], "ADMIN_down"])
        device2 = self.device(name, 2)
        for seek, digest in chunks.items():
            self.assertEqual(self.read(2, device2, seek), digest)
        self.wait_in_sync(2, device2, "Primary/Secondary")

    def test_migrate_running_instance(self):
        """
        A running instance migrates live to its secondary (both sides
        primary during the move, the old one secondary again after it);
        it runs there, and the data written on the old primary reads back
        on the new one.
        """
        name = "migrate.example.com"
        self.add(name, 1, 2, start=True)
        device = self.device(name, 1)
        digest = self.write(1, device, 8)
        out = self.gnt("gnt-instance", "migrate", "-f", name)
        self.assertIn("Migrating instance %s" % name, out)
        self.assertIn("* done", out)
        self.assertEqual(self.placement(name),
                         [self.names[2], self.names[1], "running"])
        device2 = self.device(name, 2)
        self.assertEqual(self.read(2, device2, 8), digest)
        self.wait_in_sync(2, device2, "Primary/Secondary")
        self.wait_in_sync(1, self.minor_device(name, 1), "Secondary/Primary")

    def test_secondary_power_off(self):
        """
        With the secondary powered off under a running instance, writes
        on the primary go on; ``gnt-cluster verify`` reports the disk
        degraded on the primary and the secondary unreachable.  Once the
        secondary is back, ``activate-disks`` reconnects the mirror, which
        resyncs: verify is clean, and the data written while the
        secondary was away reads back there after a failover.
        """
        name = "secondary-off.example.com"
        node2, node3 = self.names[2], self.names[3]
        self.add(name, 2, 3, start=True)
        device = self.device(name, 2)
        before = self.write(2, device, 0)
        self.power_off(3)
        # The first write waits out DRBD's peer timeout, then the primary
        # goes on alone.
        during = self.write(2, device, 16)
        self.assertEqual(self.drbd_state(2, device),
                         (("WFConnection", "UpToDate/DUnknown"),
                          "Primary/Unknown"))
        status, findings = self.verify_findings()
        self.assertEqual(status, 1, findings)
        self.assertIn("WARNING:EINSTANCEFAULTYDISK:instance:%s:disk/0 on %s"
                      " is degraded; local disk state is 'ok'"
                      % (name, node2), findings)
        self.assertIn("ERROR:ENODERPC:node:%s:instance %s, connection to"
                      " secondary node failed" % (node3, name), findings)

        self.power_on(3)
        self.assertEqual(self.device(name, 2), device)
        self.wait_in_sync(2, device, "Primary/Secondary")
        self.assertEqual(self.verify_findings(), (0, []))
        self.gnt("gnt-instance", "failover", "-f", name)
        self.assertEqual(self.placement(name), [node3, node2, "running"])
        device3 = self.device(name, 3)
        self.assertEqual(self.read(3, device3, 0), before)
        self.assertEqual(self.read(3, device3, 16), during)

    def test_primary_power_off(self):
        """
        With the primary powered off, ``failover --ignore-consistency``
        brings the instance up on the secondary (warning that the old
        primary could not be reached) with the data written before the
        crash; the old primary, powered on again, becomes the secondary
        with ``activate-disks`` and resyncs.
        """
        name = "primary-off.example.com"
        node2, node3 = self.names[2], self.names[3]
        self.add(name, 2, 3, start=True)
        device = self.device(name, 2)
        chunks = {0: self.write(2, device, 0), 40: self.write(2, device, 40)}
        self.power_off(2)
        out = self.gnt("gnt-instance", "failover", "-f",
                       "--ignore-consistency", name)
        self.assertIn("Could not shutdown instance %s on node %s, proceeding"
                      " anyway; please make sure node %s is down"
                      % (name, node2, node2), out)
        self.assertEqual(self.placement(name), [node3, node2, "running"])
        device3 = self.minor_device(name, 3)
        self.assertEqual(self.drbd_state(3, device3),
                         (("WFConnection", "UpToDate/DUnknown"),
                          "Primary/Unknown"))
        for seek, digest in chunks.items():
            self.assertEqual(self.read(3, device3, seek), digest)

        self.power_on(2)
        self.assertEqual(self.device(name, 3), device3)
        self.wait_in_sync(3, device3, "Primary/Secondary")
        self.assertEqual(self.verify_findings(), (0, []))

    def test_replication_partition(self):
        """
        Cutting the replication network (the secondary's ``eth2`` down)
        leaves both sides waiting for their peer, which verify reports
        as degraded on both nodes (warnings: each local disk is fine);
        writes go on.  With the link up again the mirror reconnects by
        itself and resyncs, and the data written meanwhile reads back on
        the secondary after a failover.  A side that gave up on its peer
        (StandAlone) is reconnected by ``activate-disks``.
        """
        name = "partition.example.com"
        node2, node3 = self.names[2], self.names[3]
        self.add(name, 2, 3, start=True)
        device = self.device(name, 2)
        self.addCleanup(self.bed[3].run, "ip link set eth2 up")
        self.run_ok(3, "ip link set eth2 down")
        digest = self.write(2, device, 24)
        self.assertEqual(self.drbd_state(2, device)[0],
                         ("WFConnection", "UpToDate/DUnknown"))
        status, findings = self.verify_findings()
        self.assertEqual(status, 0, findings)
        self.assertEqual(sorted(findings), sorted(
            "WARNING:EINSTANCEFAULTYDISK:instance:%s:disk/0 on %s is"
            " degraded; local disk state is 'ok'" % (name, node)
            for node in (node2, node3)))

        self.run_ok(3, "ip link set eth2 up")
        self.wait_in_sync(2, device, "Primary/Secondary")
        self.assertEqual(self.verify_findings(), (0, []))

        secondary = self.minor_device(name, 3)
        # drbdsetup 8.4 names a connection by its two endpoints: the
        # nodes' secondary addresses and the disk's port.
        [port] = re.findall(r"^\s*port: (\d+)$", self.gnt(
            "gnt-instance", "info", name), re.MULTILINE)
        self.run_ok(3, "drbdsetup disconnect ipv4:%s:%s ipv4:%s:%s"
                    % (self.bed[3].secondary_ip, port,
                       self.bed[2].secondary_ip, port))
        self.assertEqual(self.drbd_state(3, secondary),
                         (("StandAlone", "UpToDate/DUnknown"),
                          "Secondary/Unknown"))
        self.assertEqual(self.device(name, 2), device)
        self.wait_in_sync(3, secondary, "Secondary/Primary")

        self.gnt("gnt-instance", "failover", "-f", name)
        self.assertEqual(self.read(3, self.device(name, 3), 24), digest)

    def test_replace_dead_secondary(self):
        """
        After the secondary died, ``replace-disks -n node3`` gives the
        instance a new secondary (warning that the old one's device and
        volumes could not be removed) and resyncs it; the data, written
        before and after the death, reads back on node3 after a failover.
        The old secondary, powered on again, holds orphan volumes that
        verify reports until the operator removes them.
        """
        name = "replace.example.com"
        node1, node2, node3 = (self.names[i] for i in (1, 2, 3))
        self.add(name, 1, 2, start=True)
        old = self.volumes(2)
        self.assertEqual(len(old), 2)
        self.addCleanup(self.bed[2].run, ["lvremove", "-qf"] +
                        ["%s/%s" % (VG, lv) for lv in old])
        device = self.device(name, 1)
        before = self.write(1, device, 0)
        self.power_off(2)
        after = self.write(1, device, 60)

        out = self.gnt("gnt-instance", "replace-disks", "-n", node3, name)
        self.assertIn("STEP 6/6 Removing old storage", out)
        self.assertIn("manually remove unused LVs", out)
        self.assertEqual(self.placement(name), [node1, node3, "running"])
        self.assertEqual(self.drbd_state(1, device),
                         (IN_SYNC, "Primary/Secondary"))

        self.gnt("gnt-instance", "failover", "-f", name)
        self.assertEqual(self.placement(name), [node3, node1, "running"])
        device3 = self.device(name, 3)
        self.assertEqual(self.read(3, device3, 0), before)
        self.assertEqual(self.read(3, device3, 60), after)

        self.power_on(2)
        status, findings = self.verify_findings()
        self.assertEqual(sorted(findings), [
            "WARNING:ENODEORPHANLV:node:%s:volume %s/%s is unknown"
            % (node2, VG, lv) for lv in sorted(old)])
        self.run_ok(2, ["lvremove", "-qf"] + ["%s/%s" % (VG, lv)
                                              for lv in old])
        self.assertEqual(self.verify_findings(), (0, []))
