"""
How a node reads DRBD's state and which options it gives drbdsetup; the
devices themselves run in the VM bed (tests/vm/test_drbd.py).
"""

from twisted.trial.unittest import TestCase

from ganeti.errors import BlockDeviceError
from ganeti.storage import drbd

#: /proc/drbd of DRBD 8.4.11 on the VM bed's kernel: minor 0 resyncing as
#: the source, 1 waiting for its peer, 2 unconfigured, 3 standalone and
#: diskless.
PROC = """\
version: 8.4.11 (api:1/proto:86-101)
srcversion: F73C670A7EC572DB9CF3E5B 
 0: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----
    ns:94900 nr:0 dw:0 dr:94900 al:8 bm:0 lo:0 pe:7 ua:0 ap:0 ep:1 wo:f oos:169828
\t[======>.............] sync'ed: 37.0% (169828/262144)K
\tfinish: 0:01:05 speed: 30,772 (30,772) K/sec
 1: cs:WFConnection ro:Secondary/Unknown ds:UpToDate/DUnknown C r-----
    ns:0 nr:262144 dw:262144 dr:0 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
 2: cs:Unconfigured
 3: cs:StandAlone ro:Secondary/Unknown ds:Diskless/DUnknown   r-----
    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
 4: cs:Connected ro:Secondary/Primary ds:UpToDate/UpToDate C r-----
    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
"""

SHOW = """\
resource resource0 {
    options {
    }
    net {
        cram-hmac-alg   \t"md5";
        shared-secret   \t"abc";
    }
    _remote_host {
        address\t\t\tipv4 198.51.100.12:11000;
    }
    _this_host {
        address\t\t\tipv4 198.51.100.11:11000;
        volume 0 {
            device\t\t\tminor 0;
            disk\t\t\t"/dev/xenvg/d0";
            meta-disk\t\t\t"/dev/xenvg/m0";
            disk {
                size            \t524288s; # bytes
            }
        }
    }
}
"""


class ProcTests(TestCase):
    """
    ``/proc/drbd`` as the node reads it.
    """

    def test_version(self):
        """
        The module's version is the first line's.
        """
        self.assertEqual(drbd.parse_version(PROC), (8, 4, 11))
        self.assertRaises(BlockDeviceError, drbd.parse_version, "junk")

    def test_minors(self):
        """
        Every configured minor is read with its roles, disk states and,
        while resyncing, progress and estimate; unconfigured ones are
        absent.
        """
        minors = drbd.parse_proc(PROC)
        self.assertEqual(sorted(minors), [0, 1, 3, 4])
        self.assertEqual(minors[0], {
            "cstate": "SyncSource", "role": "Primary",
            "peer_role": "Secondary", "disk": "UpToDate",
            "peer_disk": "Inconsistent", "sync_percent": 37.0,
            "estimated_time": 65})
        self.assertEqual(minors[1]["sync_percent"], None)
        self.assertEqual(minors[3]["disk"], "Diskless")

    def test_status(self):
        """
        Ganeti's status: degraded unless connected and up to date (a
        resync source is not); the
        local disk ok, syncing, or faulty when diskless, standalone or
        not configured.
        """
        minors = drbd.parse_proc(PROC)
        source = drbd.sync_status(0, minors[0])
        self.assertEqual((source["is_degraded"], source["ldisk_status"],
                          source["dev_path"], source["major"]),
                         (False, "ok", "/dev/drbd0", 147))
        waiting = drbd.sync_status(1, minors[1])
        self.assertEqual((waiting["is_degraded"], waiting["ldisk_status"]),
                         (True, "ok"))
        diskless = drbd.sync_status(3, minors[3])
        self.assertEqual(diskless["ldisk_status"], "faulty")
        healthy = drbd.sync_status(4, minors[4])
        self.assertEqual((healthy["is_degraded"], healthy["ldisk_status"]),
                         (False, "ok"))
        missing = drbd.sync_status(2, None)
        self.assertEqual((missing["is_degraded"], missing["ldisk_status"],
                          missing["cstate"]), (True, "faulty", "Unconfigured"))

    def test_syncing_target(self):
        """
        The side being written by a resync is reported syncing.
        """
        text = PROC.replace("cs:SyncSource ro:Primary/Secondary"
                            " ds:UpToDate/Inconsistent",
                            "cs:SyncTarget ro:Secondary/Primary"
                            " ds:Inconsistent/UpToDate")
        status = drbd.sync_status(0, drbd.parse_proc(text)[0])
        self.assertEqual(status["ldisk_status"], "syncing")

    def test_show(self):
        """
        ``drbdsetup show`` gives the volumes and both addresses.
        """
        self.assertEqual(drbd.parse_show(SHOW), {
            "disk": "/dev/xenvg/d0", "meta": "/dev/xenvg/m0",
            "local": "ipv4:198.51.100.11:11000",
            "remote": "ipv4:198.51.100.12:11000"})
        self.assertEqual(drbd.parse_show(""), {
            "disk": None, "meta": None, "local": None, "remote": None})


class OptionTests(TestCase):
    """
    Ganeti's disk parameters as drbdsetup options.
    """

    def test_barriers(self):
        """
        Each letter of ``disk-barriers`` disables one mechanism; ``n``
        none; ``meta-barriers`` the metadata flushes.
        """
        self.assertEqual(drbd.barrier_options("n", False), [])
        self.assertEqual(drbd.barrier_options("bfd", True),
                         ["--md-flushes=no", "--disk-flushes=no",
                          "--disk-drain=no", "--disk-barrier=no"])
        self.assertRaises(BlockDeviceError, drbd.barrier_options, "x", False)

    def test_sync(self):
        """
        A fixed resync rate, or the dynamic controller's parameters;
        c-plan-ahead 0 with the controller is refused.
        """
        self.assertEqual(drbd.sync_options({"resync-rate": 1024}),
                         ["--resync-rate", "1024"])
        dynamic = {"dynamic-resync": True, "c-plan-ahead": 20,
                   "c-fill-target": 0, "c-delay-target": 1,
                   "c-max-rate": 61440, "c-min-rate": 4096}
        self.assertEqual(drbd.sync_options(dynamic)[:2],
                         ["--c-plan-ahead", "20"])
        self.assertRaises(BlockDeviceError, drbd.sync_options,
                          dict(dynamic, **{"c-plan-ahead": 0}))

    def test_device(self):
        """
        A disk annotated for a node gives that node's minor and both
        endpoints; one without its side is refused.
        """
        disk = {"uuid": "u", "dev_type": "drbd", "size": 256,
                "logical_id": ["a", "b", 11000, 0, 1, "s3cret"],
                "children": [{"dev_type": "plain", "logical_id": ["vg", "d"],
                              "size": 256},
                             {"dev_type": "plain", "logical_id": ["vg", "m"],
                              "size": 128}],
                "dynamic_params": {"local-minor": 1, "remote-minor": 0,
                                   "local-ip": "fd00::2",
                                   "remote-ip": "fd00::1"}}
        device = drbd.DrbdDevice(disk)
        self.assertEqual((device.path, device.resource),
                         ("/dev/drbd1", "resource1"))
        self.assertEqual(device.local_endpoint(), "ipv6:[fd00::2]:11000")
        self.assertEqual(device.remote_endpoint(), "ipv6:[fd00::1]:11000")
        del disk["dynamic_params"]
        self.assertRaises(BlockDeviceError, drbd.DrbdDevice, disk)
