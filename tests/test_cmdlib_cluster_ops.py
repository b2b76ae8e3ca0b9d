"""
Tests for the cluster operations behind ``gnt-cluster verify-disks``,
``repair-disk-sizes``, ``activate-master-ip``/``deactivate-master-ip``
and ``renew-crypto`` (L{ganeti.cmdlib.cluster_disks},
L{ganeti.cmdlib.cluster}, L{ganeti.master.renew_crypto}).
"""

import os

import attrs
import OpenSSL.crypto
from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks, succeed
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti import crypto, errors
from ganeti.master import renew_crypto
from ganeti.master.replication import Replicator, read_ancillary_files
from ganeti.testing.process import ProcessClock
from tests.util import (
    NODE2_NAME, SETTINGS, finished_job, local_cluster, two_node_cluster)

NAME = "inst1.example.com"
NODE1 = SETTINGS["node_name"]

#: Generating keys is slow: one of each for the whole run.
_PEMS = {}


def pem(name, bits=1024):
    """:return: a key and self-signed certificate for C{name} (cached)."""
    if (name, bits) not in _PEMS:
        _PEMS[name, bits] = crypto.generate_self_signed_pem(name, bits=bits)
    return _PEMS[name, bits]


def create(name=NAME, pnode=NODE1, **params):
    return dict({"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name,
                 "disk_template": "file", "disks": [{"size": 1}],
                 "nics": [{}], "pnode": pnode, "no_install": True,
                 "hypervisor": "fake", "start": False}, **params)


class _JobCase:
    """Runs jobs on a two-node master whose nodes use the real reactor."""

    def setUp(self):
        self.master = two_node_cluster(self, reactor=reactor)
        self.queue = self.master.queue

    def run_job(self, *ops):
        return finished_job(self.queue, ops)

    @inlineCallbacks
    def result(self, *ops):
        """:return: (Deferred) the last opcode's result; the job succeeded."""
        job = yield self.run_job(*ops)
        self.assertEqual(job.status, "success", job.ops[-1].result)
        return job.ops[-1].result

    @inlineCallbacks
    def assert_error(self, op, kind, text):
        job = yield self.run_job(op)
        self.assertEqual(job.status, "error")
        self.assertEqual(job.ops[0].result[0], kind.__name__)
        self.assertIn(text, job.ops[0].result[1][0])

    def disk(self, name=NAME):
        cfg = self.master.config.config
        return cfg.disks[cfg.instance_by_name(name).disks[0]]

    def set_instance(self, name=NAME, **changes):
        def change(cfg):
            inst = cfg.instance_by_name(name)
            instances = dict(cfg.instances)
            instances[inst.uuid] = attrs.evolve(inst, **changes)
            return attrs.evolve(cfg, instances=instances)
        self.master.config.update(change)

    @inlineCallbacks
    def verify_group(self):
        group = next(iter(self.master.config.config.nodegroups.values()))
        result = yield self.result({"OP_ID": "OP_GROUP_VERIFY_DISKS",
                                    "group_name": group.name})
        return result


class VerifyDisksTests(_JobCase, TestCase):
    """The disks of instances that should use them are looked for."""

    @inlineCallbacks
    def test_all_present(self):
        """Existing disks of active instances give an empty report."""
        yield self.result(create())
        self.assertEqual((yield self.verify_group()), [{}, [], {}])

    @inlineCallbacks
    def test_cluster_op_submits_group_jobs(self):
        """OP_CLUSTER_VERIFY_DISKS hands back one group job per group."""
        result = yield self.result({"OP_ID": "OP_CLUSTER_VERIFY_DISKS"})
        [[ok, job_id]] = result["jobs"]
        self.assertTrue(ok)
        yield self.queue.when_finalized(job_id)
        job = self.queue.get(job_id)
        self.assertEqual(job.ops[0].input["OP_ID"], "OP_GROUP_VERIFY_DISKS")
        self.assertEqual(job.ops[0].result, [{}, [], {}])

    @inlineCallbacks
    def test_unknown_group(self):
        """An unknown group is refused before any job is handed back."""
        yield self.assert_error({"OP_ID": "OP_CLUSTER_VERIFY_DISKS",
                                 "group_name": "nope"},
                                errors.OpPrereqError, "Node group 'nope'")

    @inlineCallbacks
    def test_missing_disk(self):
        """A disk whose file is gone is reported with node and path."""
        yield self.result(create())
        path = self.disk().logical_id[1]
        os.unlink(path)
        self.assertEqual((yield self.verify_group()),
                         [{}, [], {NAME: [[NODE1, path]]}])

    @inlineCallbacks
    def test_inactive_disks_not_checked(self):
        """Instances down with inactive disks are not looked at."""
        yield self.result(create())
        self.set_instance(disks_active=False)
        os.unlink(self.disk().logical_id[1])
        self.assertEqual((yield self.verify_group()), [{}, [], {}])

    @inlineCallbacks
    def test_needs_activation(self):
        """An instance marked up without active disks needs activation."""
        yield self.result(create())
        self.set_instance(disks_active=False, admin_state="up")
        self.assertEqual((yield self.verify_group()), [{}, [NAME], {}])

    @inlineCallbacks
    def test_node_error(self):
        """A node that does not answer is named with its error."""
        yield self.result(create(pnode=NODE2_NAME))
        self.master.handlers[NODE2_NAME] = None
        [node_errors, inactive, missing] = yield self.verify_group()
        self.assertEqual((list(node_errors), inactive, missing),
                         ([NODE2_NAME], [], {}))


class RepairDiskSizesTests(_JobCase, TestCase):
    """Recorded disk sizes are set to what the nodes measure."""

    @inlineCallbacks
    def test_repairs_wrong_size(self):
        """A wrong size is corrected, reported and logged; then all is well."""
        yield self.result(create())
        disk = self.disk()
        self.master.config.update(lambda cfg: attrs.evolve(cfg, disks=dict(
            cfg.disks, **{disk.uuid: attrs.evolve(disk, size=5)})))
        job = yield self.run_job({"OP_ID": "OP_CLUSTER_REPAIR_DISK_SIZES"})
        self.assertEqual(job.ops[0].result, [[NAME, 0, "size", 1]])
        self.assertIn("recorded 5, actual 1", job.ops[0].log[0][3])
        self.assertEqual(self.disk().size, 1)
        self.assertEqual((yield self.result(
            {"OP_ID": "OP_CLUSTER_REPAIR_DISK_SIZES", "instances": [NAME]})),
            [])

    @inlineCallbacks
    def test_unknown_instance(self):
        """An unknown instance is refused and nothing changes."""
        yield self.result(create())
        serial = self.master.config.config.serial_no
        yield self.assert_error({"OP_ID": "OP_CLUSTER_REPAIR_DISK_SIZES",
                                 "instances": [NAME, "nope"]},
                                errors.OpPrereqError, "Instance 'nope'")
        self.assertEqual(self.master.config.config.serial_no, serial)

    @inlineCallbacks
    def test_node_down_skipped(self):
        """A node that cannot answer is skipped with a warning."""
        yield self.result(create(pnode=NODE2_NAME))
        self.master.handlers[NODE2_NAME] = None
        job = yield self.run_job({"OP_ID": "OP_CLUSTER_REPAIR_DISK_SIZES"})
        self.assertEqual(job.ops[0].result, [])
        self.assertIn("did not return size information", job.ops[0].log[0][3])


class MasterIpTests(SynchronousTestCase):
    """The master node is asked to add or remove the cluster IP."""

    def setUp(self):
        self.clock = ProcessClock()
        self.master = local_cluster(self, clock=self.clock)

    def submit(self, op_id):
        job_id = self.master.queue.submit([{"OP_ID": op_id}])
        [ip] = self.clock.processes
        return job_id, ip

    def status(self, job_id):
        return self.master.queue.get(job_id).status

    def test_activate(self):
        """``ip address add`` with the cluster's IP, netdev and label."""
        job_id, ip = self.submit("OP_CLUSTER_ACTIVATE_MASTER_IP")
        self.assertEqual(ip.argv, ["ip", "address", "add", "192.0.2.1/32",
                                   "dev", "lo", "label", "lo:0"])
        ip.exit(0)
        self.assertEqual(self.status(job_id), "success")

    def test_activate_already_there(self):
        """An address that is already there is what was wanted."""
        job_id, ip = self.submit("OP_CLUSTER_ACTIVATE_MASTER_IP")
        ip.feed_stderr(b"RTNETLINK answers: File exists\n")
        ip.exit(2)
        self.assertEqual(self.status(job_id), "success")

    def test_activate_fails(self):
        """Any other failure fails the job with ip's message."""
        job_id, ip = self.submit("OP_CLUSTER_ACTIVATE_MASTER_IP")
        ip.feed_stderr(b"Cannot find device \"lo\"\n")
        ip.exit(1)
        job = self.master.queue.get(job_id)
        self.assertEqual(job.status, "error")
        self.assertIn("Could not activate the master IP 192.0.2.1",
                      job.ops[0].result[1][0])

    def test_deactivate(self):
        """``ip address del`` with the cluster's IP and netdev."""
        job_id, ip = self.submit("OP_CLUSTER_DEACTIVATE_MASTER_IP")
        self.assertEqual(ip.argv, ["ip", "address", "del", "192.0.2.1/32",
                                   "dev", "lo"])
        ip.exit(0)
        self.assertEqual(self.status(job_id), "success")


class ExternalMasterIpScriptTests(SynchronousTestCase):
    """
    With ``--use-external-mip-script`` the operator's
    ``etc/ganeti/scripts/master-ip-setup`` moves the cluster IP, with
    Ganeti's arguments and environment.
    """

    def setUp(self):
        self.clock = ProcessClock()
        self.master = local_cluster(self, clock=self.clock,
                                    use_external_mip_script=True)

    def run_script(self, op_id, exit_code):
        job_id = self.master.queue.submit([{"OP_ID": op_id}])
        [script] = self.clock.processes
        script.feed_stderr(b"no such device\n")
        script.exit(exit_code)
        return script, self.master.queue.get(job_id)

    def test_start(self):
        """activate-master-ip runs ``master-ip-setup start``."""
        script, job = self.run_script("OP_CLUSTER_ACTIVATE_MASTER_IP", 0)
        self.assertEqual(script.argv, [
            self.master.paths.external_master_setup_script, "start"])
        self.assertEqual({k: script.env[k] for k in (
            "MASTER_NETDEV", "MASTER_IP", "MASTER_NETMASK",
            "CLUSTER_IP_VERSION")}, {
            "MASTER_NETDEV": "lo", "MASTER_IP": "192.0.2.1",
            "MASTER_NETMASK": "32", "CLUSTER_IP_VERSION": "4"})
        self.assertEqual(job.status, "success")

    def test_stop(self):
        """deactivate-master-ip runs ``master-ip-setup stop``."""
        script, job = self.run_script("OP_CLUSTER_DEACTIVATE_MASTER_IP", 0)
        self.assertEqual(script.argv[1:], ["stop"])
        self.assertEqual(job.status, "success")

    def test_failure(self):
        """A script that fails fails the job with its message."""
        _, job = self.run_script("OP_CLUSTER_ACTIVATE_MASTER_IP", 1)
        self.assertEqual(job.status, "error")
        self.assertIn("Could not activate the master IP 192.0.2.1: no such"
                      " device", job.ops[0].result[1][0])


class RenewRapiCertificateTests(SynchronousTestCase):
    """rapi.pem is replaced on the master and pushed to every node."""

    def setUp(self):
        self.master = two_node_cluster(self)
        self.paths = self.master.paths
        self.node2_paths = self.master.node_paths[NODE2_NAME]
        with open(self.paths.rapi_pem, "wb") as f:
            f.write(pem("old.example.com"))
        self.replicator = Replicator(
            self.master.context.rpc, lambda: self.master.config.config,
            ancillary_files=lambda: read_ancillary_files(self.paths))

    def renew(self, **kwargs):
        return renew_crypto.renew_rapi_certificate(
            self.paths, SETTINGS["cluster_name"], self.replicator,
            lambda f, *a, **kw: succeed(f(*a, **kw)), **kwargs)

    def read(self, paths):
        with open(paths.rapi_pem, "rb") as f:
            return f.read()

    def test_new_certificate(self):
        """A new certificate for the cluster name, the same on every node."""
        self.assertEqual(self.successResultOf(
            self.renew(new_rapi_certificate=True)), {})
        new = self.read(self.paths)
        self.assertNotEqual(new, pem("old.example.com"))
        self.assertEqual(self.read(self.node2_paths), new)
        name = crypto.load_certificate(new).getSubject().commonName
        self.assertEqual(name, SETTINGS["cluster_name"].encode())
        self.assertEqual(os.stat(self.paths.rapi_pem).st_mode & 0o777, 0o400)
        # A new RAPI certificate has an ECDSA key (crypto.RAPI_KEY_TYPE).
        self.assertIn(b"-----BEGIN PRIVATE KEY-----", new)
        self.assertEqual(crypto.load_private_certificate(new).privateKey
                         .original.type(), OpenSSL.crypto.TYPE_EC)

    def test_given_certificate(self):
        """A given key and certificate are used as they are."""
        given = pem("rapi.example.com", bits=2048)
        self.successResultOf(self.renew(rapi_certificate=given.decode()))
        self.assertEqual(self.read(self.paths), given)
        self.assertEqual(self.read(self.node2_paths), given)

    def test_node_down_reported(self):
        """A node that misses the file is named, and retried later."""
        self.master.handlers[NODE2_NAME] = None
        behind = self.successResultOf(self.renew(new_rapi_certificate=True))
        self.assertEqual(list(behind), [NODE2_NAME])

    def assert_refused(self, text, **kwargs):
        failure = self.failureResultOf(self.renew(**kwargs),
                                       errors.OpPrereqError)
        self.assertIn(text, str(failure.value))
        self.assertEqual(self.read(self.paths), pem("old.example.com"))
        self.assertFalse(os.path.exists(self.node2_paths.rapi_pem))

    def test_certificate_without_key(self):
        """A certificate alone is refused; nothing changes."""
        text = pem("rapi.example.com").decode()
        certificate = text[text.index("-----BEGIN CERTIFICATE"):]
        self.assert_refused("Unable to load private key",
                            rapi_certificate=certificate)

    def test_key_of_another_certificate(self):
        """A key with someone else's certificate is refused."""
        key = pem("a.example.com").decode().split("-----BEGIN CERTIFICATE")[0]
        other = pem("rapi.example.com").decode()
        certificate = other[other.index("-----BEGIN CERTIFICATE"):]
        self.assert_refused("does not belong",
                            rapi_certificate=key + certificate)

    def test_short_key(self):
        """A key OpenSSL would not serve is refused up front."""
        self.assert_refused("key too small",
                            rapi_certificate=pem("x.example.com").decode())

    def test_garbage(self):
        """Text that is no PEM at all is refused."""
        self.assert_refused("Invalid RAPI certificate",
                            rapi_certificate="hello\n")

    def test_both_or_nothing(self):
        """Asking for a new one and giving one, or neither, is refused."""
        self.assert_refused("not both", new_rapi_certificate=True,
                            rapi_certificate=pem("x.example.com").decode())
        self.assert_refused("Nothing to renew")


class SshClutterTests(_JobCase, TestCase):
    """``gnt-cluster verify --verify-ssh-clutter`` reads root's keys."""

    @inlineCallbacks
    def verify(self, clutter):
        keys = self.master.paths.authorized_keys
        os.makedirs(os.path.dirname(keys), exist_ok=True)
        with open(keys, "w") as f:
            f.write("ssh-ed25519 AAAA1 root@%s\n"
                    "# ssh-ed25519 AAAA0 root@%s\n"
                    "ssh-ed25519 AAAA2 root@%s\n"
                    "ssh-ed25519 AAAA3 root@elsewhere\n"
                    "ssh-ed25519 AAAA4 root@elsewhere\n"
                    % (NODE2_NAME, NODE2_NAME, NODE2_NAME))
        group = next(iter(self.master.config.config.nodegroups.values()))
        job = yield self.run_job({"OP_ID": "OP_CLUSTER_VERIFY_GROUP",
                                  "group_name": group.name,
                                  "verify_clutter": clutter})
        lines = [entry[3] for entry in job.ops[0].log]
        return job.ops[0].result, [l for l in lines if "SSH key" in l]

    @inlineCallbacks
    def test_repeated_key_reported(self):
        """A node with two keys in the file is an ENODESSH error."""
        result, errors_ = yield self.verify(True)
        self.assertFalse(result)
        self.assertIn("root@%s in lines 1, 3" % NODE2_NAME, errors_[0])
        self.assertNotIn("elsewhere", errors_[0])

    @inlineCallbacks
    def test_not_asked(self):
        """Without the option the file is not read."""
        _, errors_ = yield self.verify(False)
        self.assertEqual(errors_, [])


def _lvm_report(vgs=None, lvs=None, pvs=(), problems=(), extremes=None):
    """:return: a node's LVM report as L{NodeHandler._verify_lvm} makes it."""
    return {"vgs": {"xenvg": 24572} if vgs is None else vgs,
            "lvs": {} if lvs is None else lvs,
            "pvs": None if pvs is None else list(pvs),
            "pv_problems": list(problems), "pv_extremes": extremes}


class LvmVerifyTests(_JobCase, TestCase):
    """
    ``gnt-cluster verify`` on LVM: what the nodes report of their volume
    group, PVs and LVs becomes Ganeti's ENODELVM, EINSTANCEMISSINGDISK,
    ENODEORPHANLV and EGROUPDIFFERENTPVSIZE findings (the nodes' reports
    are played here; tests.vm.test_plain gets them from real LVM).
    """

    def setUp(self):
        self.master = two_node_cluster(
            self, reactor=reactor, vg_name="xenvg",
            enabled_disk_templates=["plain", "file", "diskless"])
        self.queue = self.master.queue
        self.reports = {NODE1: _lvm_report(), NODE2_NAME: _lvm_report()}
        self.asked = {}
        for name, handler in self.master.handlers.items():
            def verify_lvm(vg_name, exclusive, name=name):
                self.asked[name] = (vg_name, exclusive)
                return succeed(self.reports[name])
            handler._verify_lvm = verify_lvm

    def add_plain_instance(self, name=NAME, lv="lv1.disk0", node=NODE1,
                           spindles=None):
        """Put a stopped ``plain`` instance into the configuration."""
        from ganeti.objects import Disk, Instance

        def change(cfg):
            node_uuid = cfg.node_by_name(node).uuid
            disk = Disk(uuid="d-" + name, dev_type="plain", size=64,
                        logical_id=["xenvg", lv], iv_name="disk/0",
                        spindles=spindles)
            inst = Instance(name=name, uuid="i-" + name,
                            primary_node=node_uuid, os="none",
                            hypervisor="fake", disk_template="plain",
                            disks=[disk.uuid])
            return attrs.evolve(cfg, disks=dict(cfg.disks, **{disk.uuid: disk}),
                                instances=dict(cfg.instances,
                                               **{inst.uuid: inst}))
        self.master.config.update(change)

    @inlineCallbacks
    def verify(self, *codes):
        """
        :return: (Deferred) the job's result and its findings with one of
            C{codes} (``--error-codes`` form).
        """
        group = next(iter(self.master.config.config.nodegroups.values()))
        job = yield self.run_job({"OP_ID": "OP_CLUSTER_VERIFY_GROUP",
                                  "group_name": group.name,
                                  "error_codes": True})
        lines = [entry[3] for entry in job.ops[0].log]
        return job.ops[0].result, [l.strip() for l in lines
                                   if any(":%s:" % c in l or "- %s:" % c in l
                                          for c in codes)]

    @inlineCallbacks
    def test_healthy(self):
        """A big enough VG and the instance's volume: nothing to say."""
        self.add_plain_instance()
        self.reports[NODE1]["lvs"] = {"xenvg/lv1.disk0": [64, False, True]}
        # (This two-node bed's nodes are not replicated to, nor in time:
        # only the LVM findings are looked at.)
        _, found = yield self.verify("ENODELVM", "EINSTANCEMISSINGDISK",
                                     "ENODEORPHANLV", "EGROUPDIFFERENTPVSIZE")
        self.assertEqual(found, [])
        self.assertEqual(self.asked, {NODE1: ("xenvg", False),
                                      NODE2_NAME: ("xenvg", False)})

    @inlineCallbacks
    def test_vg_too_small_or_missing(self):
        """
        A VG below Ganeti's 20 GiB is an error; a missing one is reported
        twice, as Ganeti does (size check and node info).
        """
        self.reports[NODE1]["vgs"] = {"xenvg": 8188}
        self.reports[NODE2_NAME]["vgs"] = {"other": 30000}
        result, found = yield self.verify("ENODELVM")
        self.assertFalse(result)
        self.assertEqual(found, [
            "- ERROR:ENODELVM:node:%s:volume group 'xenvg' too small (20480"
            " MiB required, 8188 MiB found)" % NODE1,
            "- ERROR:ENODELVM:node:%s:volume group 'xenvg' missing"
            % NODE2_NAME,
            "- ERROR:ENODELVM:node:%s:node didn't return data for the volume"
            " group 'xenvg' - it is either missing or broken" % NODE2_NAME])

    @inlineCallbacks
    def test_lvm_failures(self):
        """Failing ``vgs``, ``pvs`` or ``lvs`` and bad PVs are errors."""
        self.reports[NODE1] = _lvm_report(vgs={}, lvs="lvs said no",
                                          pvs=None)
        self.reports[NODE2_NAME]["pv_problems"] = [
            "Invalid character ':' in PV '/dev/x:1' of VG 'xenvg'"]
        result, found = yield self.verify("ENODELVM")
        self.assertFalse(result)
        self.assertEqual([line.split(":", 4)[4] for line in found], [
            "unable to check volume groups", "Can't get PV list from node",
            "LVM problem on node: lvs said no",
            "node didn't return data for the volume group 'xenvg' - it is"
            " either missing or broken",
            "Invalid character ':' in PV '/dev/x:1' of VG 'xenvg'"])

    @inlineCallbacks
    def test_missing_volume(self):
        """An instance's volume its node does not have is an error."""
        self.add_plain_instance()
        result, found = yield self.verify("EINSTANCEMISSINGDISK")
        self.assertFalse(result)
        self.assertEqual(found, [
            "- ERROR:EINSTANCEMISSINGDISK:instance:%s:volume xenvg/lv1.disk0"
            " missing on node %s" % (NAME, NODE1)])

    @inlineCallbacks
    def test_missing_volume_unknown_when_lvm_failed(self):
        """A node whose ``lvs`` failed says nothing about volumes."""
        self.add_plain_instance()
        self.reports[NODE1]["lvs"] = "broken"
        _, found = yield self.verify("EINSTANCEMISSINGDISK", "ENODEORPHANLV")
        self.assertEqual(found, [])

    @inlineCallbacks
    def test_orphan_volumes(self):
        """
        Volumes of the cluster's VG that no instance owns are warnings,
        unless ``reserved_lvs`` matches them; other VGs are not looked at.
        """
        self.add_plain_instance()

        def reserve(cfg):
            return attrs.evolve(cfg, cluster=attrs.evolve(
                cfg.cluster, reserved_lvs=["xenvg/root", "xenvg/swap.*"]))
        self.master.config.update(reserve)
        self.reports[NODE1]["lvs"] = {
            "xenvg/lv1.disk0": [64, False, True],
            "xenvg/root": [1024, False, True],
            "xenvg/swap1": [1024, False, True],
            "xenvg/rootx": [8, False, True],
            "other/stray": [8, False, True]}
        self.reports[NODE2_NAME]["lvs"] = {
            "xenvg/lv1.disk0": [64, False, True]}
        _, found = yield self.verify("ENODEORPHANLV")
        self.assertEqual(found, [
            "- WARNING:ENODEORPHANLV:node:%s:volume xenvg/rootx is unknown"
            % NODE1,
            "- WARNING:ENODEORPHANLV:node:%s:volume xenvg/lv1.disk0 is"
            " unknown" % NODE2_NAME])

    @inlineCallbacks
    def test_exclusive_storage(self):
        """
        With exclusive storage the nodes are asked about their PVs' LVs;
        PV sizes too different across the group are an error, and so are
        disks without spindles.
        """
        def exclusive(cfg):
            cluster = cfg.cluster
            return attrs.evolve(cfg, cluster=attrs.evolve(
                cluster, ndparams=dict(cluster.ndparams,
                                       exclusive_storage=True)))
        self.master.config.update(exclusive)
        self.add_plain_instance()
        self.reports[NODE1]["lvs"] = {"xenvg/lv1.disk0": [64, False, True]}
        self.reports[NODE1]["pv_extremes"] = [1000.0, 1010.0]
        self.reports[NODE2_NAME]["pv_extremes"] = [1100.0, 1100.0]
        result, found = yield self.verify("EGROUPDIFFERENTPVSIZE",
                                          "EINSTANCEMISSINGCFGPARAMETER")
        self.assertFalse(result)
        self.assertEqual(self.asked[NODE1], ("xenvg", True))
        self.assertEqual(found, [
            "- ERROR:EGROUPDIFFERENTPVSIZE:group:default:PV sizes differ too"
            " much in the group; smallest (1000.0 MB) is on %s, biggest"
            " (1100.0 MB) is on %s" % (NODE1, NODE2_NAME),
            "- ERROR:EINSTANCEMISSINGCFGPARAMETER:instance:%s:number of"
            " spindles not configured for disk 0 while exclusive storage is"
            " enabled, try running gnt-cluster repair-disk-sizes" % NAME])

    @inlineCallbacks
    def test_repair_spindles(self):
        """
        ``repair-disk-sizes`` records the spindles a disk really uses on
        nodes with exclusive storage (what verify tells to run), and only
        there.
        """
        self.add_plain_instance()
        handler = self.master.handlers[NODE1]
        handler.blockdev_get_size = lambda disk: succeed(64)
        handler.blockdev_get_spindles = lambda disk: succeed(2)
        repair = {"OP_ID": "OP_CLUSTER_REPAIR_DISK_SIZES"}
        self.assertEqual((yield self.result(repair)), [])

        def exclusive(cfg):
            node = cfg.node_by_name(NODE1)
            return attrs.evolve(cfg, nodes=dict(cfg.nodes, **{
                node.uuid: attrs.evolve(node, ndparams={
                    "exclusive_storage": True})}))
        self.master.config.update(exclusive)
        job = yield self.run_job(repair)
        self.assertEqual(job.ops[0].result, [[NAME, 0, "spindles", 2]])
        self.assertIn("mismatched spindles, correcting: recorded None,"
                      " actual 2", job.ops[0].log[0][3])
        self.assertEqual(self.disk().spindles, 2)
        self.assertEqual((yield self.result(repair)), [])

    @inlineCallbacks
    def test_modify_vg_name(self):
        """
        ``gnt-cluster modify --vg-name`` wants the VG on every node with
        Ganeti's 20 GiB; it cannot be unset while LVM templates are
        enabled or plain disks exist.
        """
        sizes = {NODE1: 24572, NODE2_NAME: 8188}
        for name, handler in self.master.handlers.items():
            handler.storage_list = lambda storage_type, name, node=name: (
                succeed([{"name": "bigvg", "size": sizes[node]}]))
        modify = {"OP_ID": "OP_CLUSTER_SET_PARAMS"}
        yield self.assert_error(dict(modify, vg_name="bigvg"),
                                errors.OpPrereqError,
                                "Error on node '%s': volume group 'bigvg' too"
                                " small (20480 MiB required, 8188 MiB found)"
                                % NODE2_NAME)
        yield self.assert_error(dict(modify, vg_name="other"),
                                errors.OpPrereqError,
                                "Error on node '%s': volume group 'other'"
                                " missing" % NODE1)
        sizes[NODE2_NAME] = 30000
        yield self.result(dict(modify, vg_name="bigvg"))
        self.assertEqual(self.master.config.config.cluster.volume_group_name,
                         "bigvg")
        yield self.assert_error(dict(modify, vg_name=""),
                                errors.OpPrereqError,
                                "Cannot unset volume group if lvm-based disk"
                                " templates are or get enabled.")
        self.add_plain_instance()
        yield self.assert_error(dict(modify, vg_name="",
                                     enabled_disk_templates=["file"]),
                                errors.OpPrereqError,
                                "Cannot disable lvm storage while lvm-based"
                                " instances exist")


class NodeVerifyFailureTests(SynchronousTestCase):
    """A node whose verify call fails is an error, not a clean node."""

    def test_reported(self):
        """The failure's message is an ENODERPC error; the group fails."""
        from ganeti.node.handler import NodeHandler

        def broken(self, *args, **kwargs):
            raise errors.OpExecError("verify broke")
        self.patch(NodeHandler, "node_verify", broken)
        master = local_cluster(self)
        job = master.queue.get(master.queue.submit([{
            "OP_ID": "OP_CLUSTER_VERIFY_GROUP", "group_name": "default"}]))
        self.assertEqual(job.status, "success", job.ops[0].result)
        self.assertIs(job.ops[0].result, False)
        self.assertIn("  - ERROR: node %s: while contacting node: verify broke"
                      % NODE1, [entry[3] for entry in job.ops[0].log])
