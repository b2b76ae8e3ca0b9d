# -*- test-case-name: tests.test_noderpc -*-
"""
What a node does when the master asks: one method per node RPC method.

The providers (hypervisors, storage, OS definitions) are imported when
first used, which keeps the node daemon's start light.

The node trusts the master's decisions (it checked prerequisites) but
not its arithmetic on this node's state: it reports what really is, and
every failure travels back as a Ganeti error with its message.
"""

import functools
import os

from twisted.internet.defer import (
    Deferred, inlineCallbacks, maybeDeferred, returnValue)
from twisted.internet.task import deferLater

from ganeti import constants, errors, exportinfo, hooks, netutils, ssconf
from ganeti.node.hooks import HooksRunner, LocalHooks
from ganeti.process import run_command
from ganeti.protocols.node import ANCILLARY_FILES

#: Where Linux keeps the random id it draws at every boot; the watcher
#: compares it between runs to see which nodes rebooted.
BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"


def _master_ip_hooks(opcode, hpath):
    """
    Run the master IP hooks of this node around the decorated method
    (Ganeti's node daemon does so wherever the master IP changes): a
    failed pre script stops the change, post scripts only warn.
    """
    def decorate(method):
        @functools.wraps(method)
        @inlineCallbacks
        def wrapper(self, *args, **kwargs):
            local = self._local_hooks(opcode, hpath)
            yield local.run(hooks.PHASE_PRE)
            result = yield method(self, *args, **kwargs)
            yield local.run(hooks.PHASE_POST)
            returnValue(result)
        return wrapper
    return decorate


def _repeated_keys(path, node_names):
    """
    :return: ``{user@host: [line numbers]}`` for the entries of the
        ``authorized_keys`` file C{path} whose comment names one of
        C{node_names} on more than one line (what a failed key change
        leaves behind); an unreadable file has none.
    """
    lines = {}
    try:
        with open(path, errors="replace") as f:
            for number, line in enumerate(f, 1):
                owners = [w for w in line.split() if "@" in w]
                if owners and not line.startswith("#"):
                    lines.setdefault(owners[-1], []).append(number)
    except OSError:
        return {}
    names = set(node_names)
    return {owner: numbers for owner, numbers in lines.items()
            if len(numbers) > 1 and owner.split("@", 1)[1] in names}


class NodeHandler:
    """
    :param paths: this node's L{ganeti.paths.Paths}.
    :param reactor: the reactor.
    :param roles: the node's L{ganeti.roles.RoleManager} (master role).
    :param hooks_timeout: seconds one hook script may run.
    :ivar boot_id_file: the file read for the node's boot id (tests point
        it elsewhere to fake a reboot).
    :ivar hooks: the L{HooksRunner} of this node's hooks directory.
    """

    def __init__(self, paths, reactor, roles=None, write=None,
                 hooks_timeout=hooks.DEFAULT_SCRIPT_TIMEOUT):
        self.boot_id_file = BOOT_ID_FILE
        self.hooks = HooksRunner(reactor, paths.hooks_dir, paths.data_dir,
                                 timeout=hooks_timeout)
        self._paths = paths
        self._reactor = reactor
        self._roles = roles
        # The node service passes one writer thread: the master's pushes
        # land in the order they came and no disk flush stalls the reactor.
        self._write = write or maybeDeferred
        self._hypervisors = {}
        self._storage = None
        # Disks being sent and received (gnt-instance move), by the
        # master's transfer id.
        self._disk_sends = {}
        self._disk_receives = {}

    # --- providers ----------------------------------------------------------

    def _hv(self, name):
        if name not in self._hypervisors:
            if name not in constants.HYPERVISORS:
                raise errors.HypervisorError("Unknown hypervisor '%s'" % name)
            from ganeti.hypervisor.registry import get_hypervisor
            self._hypervisors[name] = get_hypervisor(name, self._paths,
                                                     self._reactor)
        return self._hypervisors[name]

    def _disks(self, template):
        if self._storage is None:
            from ganeti.storage.registry import BlockStorageRegistry
            self._storage = BlockStorageRegistry(self._reactor, self._paths)
        return self._storage.get(template)

    # --- node ----------------------------------------------------------------

    def version(self):
        return constants.PROTOCOL_VERSION

    def master_node_name(self):
        return ssconf.read(self._paths, "master_node")

    @inlineCallbacks
    def node_info(self, hypervisors):
        """
        Memory and CPU facts of the first hypervisor given (as Ganeti), and
        the boot id (``bootid``, None if unreadable); with no hypervisor
        only the boot id, which is cheap.
        """
        info = {}
        if hypervisors:
            info = yield self._hv(hypervisors[0]).get_node_info()
        try:
            with open(self.boot_id_file) as f:
                boot_id = f.read().strip() or None
        except OSError:
            boot_id = None
        returnValue(dict(info, bootid=boot_id))

    def hooks_runner(self, hpath, phase, env):
        """
        Run the hook scripts of C{hpath}'s C{phase} with C{env}.

        :return: (Deferred) ``[script, HKR_*, output]`` per script.
        """
        return self.hooks.run(hpath, phase, env)

    def _local_hooks(self, opcode, hpath):
        """
        :return: the L{LocalHooks} of a master IP change, from this node's
            config copy (only the master's changes its IP).
        """
        from ganeti import config as configmod
        cfg = configmod.load(self._paths.config_data)
        cluster = cfg.cluster
        master = cfg.nodes.get(cluster.master_node)
        master_name = master.name if master is not None else None
        variables = {
            "MASTER_NETDEV": cluster.master_netdev,
            "MASTER_IP": cluster.master_ip,
            "MASTER_NETMASK": cluster.master_netmask,
            "CLUSTER_IP_VERSION": 6 if cluster.primary_ip_family == 10 else 4,
        }
        return LocalHooks(self.hooks, opcode, hpath, cluster.cluster_name,
                          master_name, master_name or "localhost", variables)

    def test_delay(self, duration):
        if duration < 0:
            raise errors.OpExecError("Negative delay %s" % duration)
        return deferLater(self._reactor, duration, lambda: True)

    def hypervisor_check(self, hypervisor, hvparams):
        # Syntax and what only this node can tell (files, binaries).
        self._hv(hypervisor).validate_parameters(hvparams)
        return True

    # --- instances ------------------------------------------------------------

    def instance_info(self, name, hypervisor):
        return self._hv(hypervisor).get_instance_info(name)

    @inlineCallbacks
    def all_instances_info(self, hypervisors):
        result = {}
        for name in hypervisors:
            infos = yield self._hv(name).get_all_instances_info()
            for info in infos:
                result[info["name"]] = dict(info, hypervisor=name)
        returnValue(result)

    def instance_start(self, instance, block_devices, startup_paused):
        return self._hv(instance["hypervisor"]).start_instance(
            instance, block_devices, startup_paused)

    def instance_shutdown(self, name, hypervisor, timeout, force):
        return self._hv(hypervisor).stop_instance(name, force=force,
                                                  timeout=timeout)

    def instance_reboot(self, name, hypervisor):
        return self._hv(hypervisor).reboot_instance(name)

    def instance_resize_disk(self, name, hypervisor, index, size):
        return self._hv(hypervisor).resize_disk(name, index, size)

    def instance_console(self, instance):
        return self._hv(instance["hypervisor"]).get_console(instance)

    def console_open(self, instance, kind, address):
        """
        Connect to an instance's serial console or VNC display and listen
        once on C{address} for the master to relay it (see
        L{ganeti.node.console}).

        :return: (Deferred) C{{"port": port}}.
        """
        from ganeti.node import console
        return console.open_console(self._reactor, self._cluster_pem(),
                                    address, self._hv(instance["hypervisor"]),
                                    instance, kind)

    def hotplug_supported(self, instance):
        return self._hv(instance["hypervisor"]).hotplug_supported(instance)

    def hotplug_device(self, instance, action, dev_type, device, extra, seq):
        return self._hv(instance["hypervisor"]).hotplug_device(
            instance, action, dev_type, device, extra, seq)

    # --- migration (the master drives the steps; see IHypervisor) ------------

    def migration_info(self, name, hypervisor):
        return self._hv(hypervisor).migration_info(name)

    def accept_instance(self, instance, info, block_devices, target_address):
        return self._hv(instance["hypervisor"]).accept_instance(
            instance, info, block_devices, target_address)

    def instance_migrate(self, instance, target_address, live):
        return self._hv(instance["hypervisor"]).migrate_instance(
            instance, target_address, live)

    def instance_finalize_migration_dst(self, instance, info, success):
        return self._hv(instance["hypervisor"]).finalize_migration_target(
            instance, info, success)

    def instance_finalize_migration_src(self, name, hypervisor, success):
        return self._hv(hypervisor).finalize_migration_source(name, success)

    # --- OS definitions -------------------------------------------------------

    def _find_os(self, full_name):
        from ganeti import osdef
        name, variant = osdef.split_name(full_name)
        definition = osdef.find_os(self._paths.os_search_path, name)
        if definition is None or not definition.valid:
            reason = definition.error if definition is not None else (
                "OS dir not found in search path")
            raise errors.OpPrereqError("OS '%s' not valid on this node: %s"
                                       % (name, reason), "wrong_input")
        osdef.check_variant(definition, full_name)
        return definition, variant

    @inlineCallbacks
    def os_check(self, name, osparams):
        from ganeti import osdef, osscripts
        definition, _ = self._find_os(name)
        osdef.check_parameters(definition, osparams)
        if osparams:
            yield osscripts.verify_parameters(self._reactor, definition, osparams)
        returnValue(True)

    def os_diagnose(self):
        from ganeti import osdef
        return [definition.to_dict()
                for definition in osdef.diagnose(self._paths.os_search_path)]

    # --- ExtStorage providers ---------------------------------------------

    def extstorage_diagnose(self):
        """
        :return: every ExtStorage provider of this node's search path,
            valid or not (``gnt-storage diagnose``).
        """
        from ganeti.storage import extstorage
        return [provider.to_dict() for provider in
                extstorage.diagnose(self._paths.extstorage_search_path)]

    def _run_os(self, script, instance, block_devices, debug, disk_index=None,
                stdin_path=None, stdout_path=None, **extra):
        from ganeti import osenv, osscripts
        definition, variant = self._find_os(instance["os"])
        env = osenv.build_environment(
            definition, variant, instance, block_devices, instance["nics"],
            instance.get("osparams", {}), instance["hypervisor"], debug)
        if disk_index is not None:
            env = osenv.script_environment(env, script, disk_index=disk_index)
        env.update(extra)
        return osscripts.run_script(self._reactor, definition, script, env,
                                self._paths.os_log_dir, instance["name"],
                                timeout=None, stdin_path=stdin_path,
                                stdout_path=stdout_path)

    def instance_os_add(self, instance, block_devices, reinstall, debug):
        extra = {"INSTANCE_REINSTALL": "1"} if reinstall else {}
        return self._run_os("create", instance, block_devices, debug, **extra)

    def instance_run_rename(self, instance, block_devices, old_name, debug):
        return self._run_os("rename", instance, block_devices, debug,
                            OLD_INSTANCE_NAME=old_name)

    # --- exports (gnt-backup) ----------------------------------------------

    def _export_path(self, name):
        """
        :return: the path of one entry of the export directory (an
            export, or a hidden staging directory).
        :raise OpExecError: for a name that would leave the directory.
        """
        if not name or "/" in name or name in (".", ".."):
            raise errors.OpExecError("Invalid export name %r" % (name,))
        return os.path.join(self._paths.export_dir, name)

    def _staging_dir(self, staging):
        """
        :return: a hidden staging directory of the export directory
            (created if need be), where exports and imports keep dumps
            until they are complete.
        """
        directory = self._export_path(staging)
        if not staging.startswith("."):
            raise errors.OpExecError("Not a staging directory: %r" % (staging,))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        return directory

    def _staging_path(self, staging, file_name):
        return os.path.join(self._staging_dir(staging),
                            os.path.basename(file_name))

    def _in_thread(self, function, *args):
        from twisted.internet import threads
        return threads.deferToThreadPool(
            self._reactor, self._reactor.getThreadPool(), function, *args)

    def export_list(self):
        """:return: the names of the finished exports on this node."""
        try:
            names = os.listdir(self._paths.export_dir)
        except FileNotFoundError:
            return []
        return sorted(
            name for name in names if not name.startswith(".") and
            os.path.isfile(os.path.join(self._paths.export_dir, name,
                                        exportinfo.CONFIG_FILE)))

    def export_info(self, path):
        """
        :param path: an export's directory, absolute or relative to the
            export directory.
        :return: C{{"path": absolute directory, "config": config.ini text}}.
        """
        directory = os.path.join(self._paths.export_dir, path)
        config = os.path.join(directory, exportinfo.CONFIG_FILE)
        try:
            with open(config, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise errors.OpExecError("Cannot read export %s: %s"
                                     % (config, e.strerror))
        return {"path": directory, "config": text}

    @inlineCallbacks
    def export_remove(self, name):
        """Remove an export (or a staging directory) and all its files."""
        import shutil
        path = self._export_path(name)
        if not os.path.isdir(path):
            raise errors.OpExecError("Export %s not found" % (name,))
        yield self._in_thread(shutil.rmtree, path)
        returnValue(True)

    @inlineCallbacks
    def instance_export_disk(self, instance, block_devices, index, staging,
                             debug):
        """
        Dump one disk with the OS's export script into a staging directory.

        :return: (Deferred) the dump's path on this node.
        """
        dump = self._staging_path(staging, exportinfo.dump_name(index))
        yield self._run_os("export", instance, block_devices, debug,
                           disk_index=index, stdout_path=dump)
        returnValue(dump)

    def instance_import_disk(self, instance, block_devices, index, dump,
                             debug):
        """Restore one disk from a dump with the OS's import script."""
        if not os.path.isfile(dump):
            raise errors.OpExecError("Disk image %s not found" % (dump,))
        return self._run_os("import", instance, block_devices, debug,
                            disk_index=index, stdin_path=dump)

    @inlineCallbacks
    def export_finalize(self, name, staging, config):
        """
        Write the export's ``config.ini`` into the staging directory and
        put it in place of any older export of the same name.
        """
        import shutil
        import uuid
        from ganeti.utils.io import atomic_write
        directory = self._staging_dir(staging)
        atomic_write(os.path.join(directory, exportinfo.CONFIG_FILE),
                     config.encode("utf-8"), mode=0o600)
        final = self._export_path(name)
        old = None
        if os.path.exists(final):
            # Directories cannot be renamed over one another: the older
            # export steps aside first, and goes once the new one is in.
            old = self._export_path(".old-%s-%s" % (name, uuid.uuid4().hex))
            os.rename(final, old)
        os.rename(directory, final)
        if old is not None:
            yield self._in_thread(shutil.rmtree, old, True)
        returnValue(True)

    def transfer_receive(self, staging, file_name, address):
        """
        Listen once on C{address} for a file to store in a staging
        directory (see L{ganeti.node.transfer}).

        :return: (Deferred) C{{"port": port, "path": where it will be}}.
        """
        from ganeti.node import transfer
        path = self._staging_path(staging, file_name)
        with open(self._paths.server_pem, "rb") as f:
            pem = f.read()
        d = transfer.receive_file(self._reactor, pem, address, path)
        return d.addCallback(lambda port: {"port": port, "path": path})

    def transfer_send(self, path, host, port):
        """
        Stream a file to a node listening after L{transfer_receive}.

        :return: (Deferred) the byte count, once the receiver stored it.
        """
        from ganeti.node import transfer
        with open(self._paths.server_pem, "rb") as f:
            pem = f.read()
        return transfer.send_file(self._reactor, pem, host, port, path)

    # --- copying disks between nodes (gnt-instance move) -----------------

    def _cluster_pem(self):
        with open(self._paths.server_pem, "rb") as f:
            return f.read()

    @inlineCallbacks
    def disk_receive(self, disk, address, transfer_id):
        """
        Listen once on C{address} for the contents of C{disk}, which the
        master just created here (see L{ganeti.node.diskstream}).

        :return: (Deferred) C{{"port": port, "path": device or file}}.
        """
        from ganeti.node import diskstream
        path = yield self._disks(disk["dev_type"]).assemble(disk)
        receive = diskstream.DiskReceive(self._reactor, self._cluster_pem(),
                                         address, path)
        port = yield receive.listen()
        self._disk_receives[transfer_id] = receive
        receive.ended.addCallback(
            lambda _: self._disk_receives.pop(transfer_id, None) and None)
        returnValue({"port": port, "path": path})

    def disk_receive_stop(self, transfer_ids):
        """
        Give up receiving: listeners stop, copies in progress are cut off
        (a move whose other side failed).

        :return: (Deferred) True once they are all over.
        """
        from twisted.internet.defer import gatherResults
        ended = []
        for tid in transfer_ids:
            receive = self._disk_receives.get(tid)
            if receive is not None:
                receive.stop()
                ended.append(receive.ended)
        return gatherResults(ended).addCallback(lambda _: True)

    @inlineCallbacks
    def disk_send(self, disk, host, port, compress, transfer_id):
        """
        Stream C{disk} to a node listening after L{disk_receive}; while
        it goes, L{disk_transfer_status} tells how far it got.

        :return: (Deferred) the final figures (see L{disk_transfer_status})
            once the receiver has written and synced everything.
        """
        from ganeti.node import diskstream
        path = yield self._disks(disk["dev_type"]).assemble(disk)
        send = diskstream.DiskSend(self._reactor, self._cluster_pem(), host,
                                   port, path, compress)
        self._disk_sends[transfer_id] = send
        try:
            result = yield send.run()
        finally:
            self._disk_sends.pop(transfer_id, None)
        returnValue(result)

    def disk_transfer_status(self, transfer_ids):
        """
        :return: for each of C{transfer_ids} still being sent from here,
            its progress: bytes C{done} of C{total}, of which C{data} sent
            and C{zero} skipped, C{wire} bytes sent, C{seconds} so far.
        """
        return {tid: self._disk_sends[tid].progress() for tid in transfer_ids
                if tid in self._disk_sends}

    # --- disks ----------------------------------------------------------------

    def blockdev_create(self, disk, instance_name, excl_stor=False):
        """
        Create a disk; C{excl_stor} is the node's exclusive storage flag,
        which only ``plain`` disks can honour (the master refuses others).
        A ``drbd`` disk gets its volumes and metadata here; the device is
        set up when assembled.
        """
        storage = self._disks(disk["dev_type"])
        if excl_stor:
            if disk["dev_type"] != "plain":
                raise errors.BlockDeviceError(
                    "Disk template %s not supported with exclusive storage"
                    % disk["dev_type"])
            return storage.create(disk, instance_name, excl_stor=True)
        return storage.create(disk, instance_name)

    @inlineCallbacks
    def blockdev_remove(self, disk):
        storage = self._disks(disk["dev_type"])
        yield storage.remove(disk)
        if disk["dev_type"] in ("file", "sharedfile"):
            # The instance's directory goes with its last disk.
            directory = os.path.dirname(disk["logical_id"][1])
            try:
                yield storage.remove_directory(directory)
            except errors.GenericError:
                pass

    def blockdev_get_size(self, disk):
        return self._disks(disk["dev_type"]).get_size(disk)

    def blockdev_grow(self, disk, amount, dryrun=False, excl_stor=False,
                      backingstore=False):
        """
        Grow a disk by C{amount} MiB; a dry run only checks that it would
        work (``plain`` only: other templates have nothing to check and
        change nothing); C{excl_stor} as for L{blockdev_create}.  A
        ``drbd`` disk grows its data volume with C{backingstore}, else
        the device (see L{ganeti.storage.drbd.DrbdStorage.grow}).
        """
        storage = self._disks(disk["dev_type"])
        if disk["dev_type"] == "drbd":
            return storage.grow(disk, amount, dryrun=dryrun,
                                backingstore=backingstore)
        if disk["dev_type"] == "plain":
            return storage.grow(disk, amount, dryrun=dryrun,
                                excl_stor=excl_stor)
        if dryrun:
            return storage.get_size(disk)
        return storage.grow(disk, amount)

    def blockdev_snapshot(self, disk, snap_name=None, snap_size=None):
        """
        Snapshot a ``plain`` or ``ext`` disk, or a ``drbd`` disk's data
        volume here (exports of running instances).

        :return: (Deferred) the snapshot's C{logical_id}: ``[vg, lv]``, or
            ``[provider, volume]`` for ``ext``.
        """
        if disk["dev_type"] == "drbd":
            disk = disk["children"][0]
        if disk["dev_type"] not in ("plain", "ext"):
            raise errors.BlockDeviceError(
                "Cannot snapshot block device '%s' of type '%s'"
                % ("/".join(map(str, disk["logical_id"])), disk["dev_type"]))
        return self._disks(disk["dev_type"]).snapshot(disk, snap_name,
                                                      snap_size)

    @inlineCallbacks
    def blockdev_rename(self, devlist):
        """
        Rename disks: C{devlist} is ``[[disk, new logical_id], ...]``
        (``plain`` only: LVs are renamed within their volume group).

        :return: (Deferred) the new paths, in order.
        """
        paths = []
        for disk, new_id in devlist:
            if disk["dev_type"] != "plain":
                raise errors.BlockDeviceError(
                    "Can't rename a disk of type '%s'" % disk["dev_type"])
            path = yield self._disks("plain").rename(disk, new_id)
            paths.append(path)
        returnValue(paths)

    def blockdev_get_spindles(self, disk):
        """
        :return: (Deferred) how many PVs a ``plain`` disk uses; None for
            other templates, which have no spindles.
        """
        if disk["dev_type"] != "plain":
            return None
        return self._disks("plain").spindles(disk)

    def lvm_vg_space(self, vg_name, excl_stor=False):
        """
        Size and free space of a volume group and its spindles (node info:
        ``gnt-node list`` dtotal, dfree, sptotal, spfree).
        """
        from ganeti.storage import lvm
        return lvm.vg_space(self._reactor, vg_name, excl_stor)

    @inlineCallbacks
    def blockdev_assemble_all(self, disks, instance_name, as_primary=True,
                              exclusive=True):
        """
        Make the disks usable here; mirrored (``drbd``) ones become primary
        here only with C{as_primary} (the secondary's side is assembled
        without); ``ext`` volumes are opened shared unless C{exclusive}
        (both sides of a live migration).

        :return: (Deferred) the disks with their node C{path}.
        """
        devices = []
        for disk in disks:
            storage = self._disks(disk["dev_type"])
            if disk["dev_type"] == "drbd":
                path = yield storage.assemble(disk, primary=as_primary)
            elif disk["dev_type"] == "ext":
                path = yield storage.assemble(disk, exclusive=exclusive)
            else:
                path = yield storage.assemble(disk)
            devices.append(dict(disk, path=path))
        returnValue(devices)

    @inlineCallbacks
    def blockdev_open(self, disks, exclusive):
        """
        Open ``ext`` volumes (mapped before) for I/O here, shared or
        exclusive (Ganeti's C{blockdev_open}, around migrations); other
        disks have nothing to open.
        """
        for disk in disks:
            if disk["dev_type"] == "ext":
                yield self._disks("ext").open(disk, bool(exclusive))
        returnValue(True)

    @inlineCallbacks
    def blockdev_close_all(self, disks):
        """
        Make this node's side of mirrored disks secondary and close
        ``ext`` volumes (before another node becomes primary); other
        disks have nothing to close.
        """
        for disk in disks:
            if disk["dev_type"] in ("drbd", "ext"):
                yield self._disks(disk["dev_type"]).close(disk)
        returnValue(True)

    def _drbd_each(self, disks, method, *args):
        async def run():
            storage = self._disks("drbd")
            return [await getattr(storage, method)(disk, *args)
                    for disk in disks]
        return Deferred.fromCoroutine(run())

    def drbd_status(self, disks):
        """
        :return: (Deferred) the mirror status of each ``drbd`` disk here
            (see L{ganeti.storage.drbd.sync_status}).
        """
        return self._drbd_each(disks, "status")

    def drbd_open(self, disks, force=False):
        """
        Make this node's side of the disks primary; C{force} takes this
        side's data as the good one even when DRBD does not (a new mirror,
        or a failover from a dead primary with C{--ignore-consistency}).
        """
        return self._drbd_each(disks, "open", bool(force))

    def drbd_disconnect_net(self, disks):
        """Cut the replication links of the disks here (StandAlone)."""
        return self._drbd_each(disks, "disconnect")

    def drbd_attach_net(self, disks, multimaster=False):
        """
        (Re)connect the disks here to their peers, allowing two primaries
        with C{multimaster} (live migration).
        """
        return self._drbd_each(disks, "connect", bool(multimaster))

    def drbd_replace_children(self, disk, new_children, old_suffix):
        """
        Put this node's side of a ``drbd`` disk on new volumes (created
        before); the peer resyncs them.

        :return: (Deferred) the old volumes' C{logical_id}s (renamed with
            C{old_suffix}).
        """
        return self._disks("drbd").replace_children(disk, new_children,
                                                    old_suffix)

    @inlineCallbacks
    def blockdev_find_all(self, disks):
        """
        Where each disk is here and its state (Ganeti's ``blockdev_find``,
        for ``gnt-instance info``): ``drbd`` disks from ``/proc/drbd``,
        ``plain`` volumes from their device node; other kinds are not
        looked at.

        :return: (Deferred) per disk None (not active here, or not looked
            at) or C{{"dev_path", "major", "minor", "sync_percent",
            "estimated_time", "is_degraded", "ldisk_status"}}.
        """
        found = []
        for disk in disks:
            status = None
            if disk["dev_type"] == "drbd":
                status = yield self._disks("drbd").status(disk)
                if status["cstate"] == "Unconfigured":
                    status = None
            elif disk["dev_type"] == "plain":
                status = _volume_status(disk)
            found.append(status)
        returnValue(found)

    def drbd_minors(self):
        """
        :return: the DRBD minors configured here with their state (JSON
            keys are strings); an empty map where DRBD is not loaded.
        """
        from ganeti.storage import drbd
        try:
            text = drbd.read_proc()
        except errors.BlockDeviceError:
            return {}
        return {str(minor): status
                for minor, status in drbd.parse_proc(text).items()}

    @inlineCallbacks
    def blockdev_shutdown_all(self, disks):
        for disk in disks:
            yield self._disks(disk["dev_type"]).shutdown(disk)
        returnValue(True)

    @inlineCallbacks
    def blockdev_exists_all(self, disks):
        """
        Whether each disk's data exists here (``gnt-cluster verify-disks``).
        A disk whose template this node cannot serve fails the whole call:
        the master cannot tell its state, so the node counts as broken.

        :return: (Deferred) one boolean per disk, in order.
        """
        found = []
        for disk in disks:
            exists = yield self._disks(disk["dev_type"]).exists(disk)
            found.append(bool(exists))
        returnValue(found)

    def file_storage_dir_rename(self, old_dir, new_dir):
        """Move an instance's file storage directory (instance rename)."""
        from ganeti.storage.filestorage import check_file_storage_path
        allowed = os.path.join(self._paths.conf_dir, "file-storage-paths")
        for path in (old_dir, new_dir):
            check_file_storage_path(path, allowed)
        if os.path.exists(new_dir):
            raise errors.OpExecError("Cannot rename %s to %s: the target exists"
                                     % (old_dir, new_dir))
        if os.path.isdir(old_dir):
            os.rename(old_dir, new_dir)
        return True

    # --- replication from the master ----------------------------------------

    def write_ssconf_files(self, values):
        from ganeti import ssconf as ssconfmod
        d = self._write(ssconfmod.write, self._paths, values)
        return d.addCallback(lambda _: True)

    def _store(self, path, text, mode=0o644):
        """Keep a file the master pushes; :return: a Deferred."""
        return self._write(_store_file, path, text.encode("utf-8"), mode)

    def upload_config(self, data, serial):
        """Keep a copy of the configuration (master candidates)."""
        d = self._store(self._paths.config_data, data, mode=0o600)
        return d.addCallback(lambda _: serial)

    def upload_ancillary_file(self, key, data):
        """
        Keep a copy of one of the master's files every node needs to be
        able to take over (the RAPI certificate and users).  Only the
        files named in L{ANCILLARY_FILES} may be written.
        """
        if key not in ANCILLARY_FILES:
            raise errors.ProgrammerError("Not an ancillary file: %r" % (key,))
        d = self._store(getattr(self._paths, key), data,
                        mode=ANCILLARY_FILES[key])
        return d.addCallback(lambda _: True)

    def jobqueue_update(self, job_id, data):
        """Keep a copy of a job file (master candidates)."""
        d = self._store(self._paths.job_file(job_id), data)
        return d.addCallback(lambda _: True)

    def jobqueue_archive(self, job_id):
        # Through the writer too, so it follows the job's last update.
        d = self._write(_archive_job_file, self._paths, job_id)
        return d.addCallback(lambda _: True)

    @inlineCallbacks
    def node_verify(self, hypervisors, storage_dirs, ssh_clutter_nodes=None,
                    lvm=None, drbd=None):
        """
        What cluster verify needs to know about this node: its clock, the
        digest of its config copy, its ssconf values, hypervisor and storage
        health, with C{ssh_clutter_nodes} (node names) which of them
        have more than one key in root's ``authorized_keys``, and with
        C{lvm} (C{{"vg_name", "exclusive_storage"}}) its LVM state (see
        L{_verify_lvm}), with C{drbd} (C{{}}) its DRBD state (see
        L{_verify_drbd}).
        """
        import hashlib
        from ganeti import ssconf as ssconfmod
        try:
            with open(self._paths.config_data, "rb") as f:
                config_digest = hashlib.sha1(f.read()).hexdigest()
        except OSError:
            config_digest = None
        hv_problems = {}
        for name in hypervisors:
            try:
                hv_problems[name] = yield maybeDeferred(self._hv(name).verify)
            except errors.GenericError as e:
                hv_problems[name] = str(e)
        storage = {}
        for path in storage_dirs:
            usable = os.path.isdir(path) and os.access(path, os.W_OK)
            storage[path] = None if usable else "not a writable directory"
        try:
            keys = [name[len("ssconf_"):] for name in os.listdir(self._paths.data_dir)
                    if name.startswith("ssconf_")]
        except OSError:
            keys = []
        lvm_report = None
        if lvm is not None:
            lvm_report = yield self._verify_lvm(lvm["vg_name"],
                                                lvm.get("exclusive_storage"))
        returnValue({
            "lvm": lvm_report,
            "drbd": None if drbd is None else self._verify_drbd(),
            "time": self._reactor.seconds(),
            "config_digest": config_digest,
            "ssconf": {key: ssconfmod.read(self._paths, key) for key in keys},
            "hypervisors": hv_problems,
            "storage": storage,
            "ssh_clutter": (None if ssh_clutter_nodes is None else
                            _repeated_keys(self._paths.authorized_keys,
                                           ssh_clutter_nodes)),
        })

    def _read_drbd_proc(self):
        """:return: the text of ``/proc/drbd`` (one place to play it)."""
        from ganeti.storage import drbd
        return drbd.read_proc()

    def _verify_drbd(self):
        """
        The DRBD part of L{node_verify} (Ganeti's NV_DRBDHELPER,
        NV_DRBDLIST and NV_DRBDVERSION), from kernel files (no command):
        C{{"helper": [True, path] or [False, message], "minors": [minor,
        ...] in use or a message, "version": "8.4.11" or None}}.
        """
        from ganeti.storage import drbd
        try:
            with open(DRBD_HELPER_FILE) as f:
                helper = [True, f.read().strip()]
        except OSError as e:
            helper = [False, "Can't read the DRBD usermode helper: %s"
                      % e.strerror]
        try:
            text = self._read_drbd_proc()
        except errors.BlockDeviceError as e:
            return {"helper": helper, "minors": str(e), "version": None}
        try:
            version = "%d.%d.%d" % drbd.parse_version(text)
        except errors.BlockDeviceError:
            version = None
        return {"helper": helper, "minors": sorted(drbd.parse_proc(text)),
                "version": version}

    @inlineCallbacks
    def _verify_lvm(self, vg_name, exclusive_storage):
        """
        The LVM part of L{node_verify} (Ganeti's NV_VGLIST, NV_LVLIST,
        NV_PVLIST and NV_EXCLUSIVEPVS): C{{"vgs": {vg: size MiB},
        "lvs": {"vg/lv": [size, inactive, online]} or an error message,
        "pvs": [pv_info entries] or None, "pv_problems": [message, ...],
        "pv_extremes": [smallest, biggest] or None}}.
        """
        from ganeti.storage import lvm
        vgs = yield lvm.vg_sizes(self._reactor)
        try:
            lvs = yield lvm.list_lvs(self._reactor, sorted(vgs))
        except errors.GenericError as e:
            lvs = str(e)
        try:
            pvs = yield lvm.pv_info(self._reactor, [vg_name],
                                    filter_allocatable=False,
                                    include_lvs=bool(exclusive_storage))
        except errors.GenericError:
            pvs = None
        problems, extremes = lvm.check_node_pvs(pvs or [], exclusive_storage)
        returnValue({"vgs": vgs, "lvs": lvs, "pvs": pvs,
                     "pv_problems": problems,
                     "pv_extremes": list(extremes) if extremes else None})

    @_master_ip_hooks(hooks.FAKE_OP_MASTER_TURNUP, hooks.HPATH_MASTER_TURNUP)
    @inlineCallbacks
    def node_activate_master_ip(self):
        """
        Put the cluster IP on the master netdev (``gnt-cluster
        activate-master-ip``, and the first step of taking the master
        role).  The parameters come from this node's config copy: only
        the master, whose copy is the current one, is asked.
        """
        from ganeti import config as configmod
        cluster = configmod.load(self._paths.config_data).cluster
        argv, env = netutils.master_ip_command(cluster, "add", self._paths)
        result = yield run_command(self._reactor, argv, env=env, timeout=30)
        problem = netutils.master_ip_add_error(
            result.exit_code, result.stderr.decode("utf-8", "replace"))
        if problem:
            raise errors.OpExecError("Could not activate the master IP %s: %s"
                                     % (cluster.master_ip, problem))
        returnValue(True)

    @_master_ip_hooks(hooks.FAKE_OP_MASTER_TURNDOWN,
                      hooks.HPATH_MASTER_TURNDOWN)
    @inlineCallbacks
    def node_deactivate_master_ip(self):
        """
        Take the cluster IP off the master netdev.  An IP that is not
        there is what was wanted, so only an unreadable config fails.
        """
        from ganeti import config as configmod
        cluster = configmod.load(self._paths.config_data).cluster
        argv, env = netutils.master_ip_command(cluster, "del", self._paths)
        yield run_command(self._reactor, argv, env=env, timeout=30)
        returnValue(True)

    @inlineCallbacks
    def node_start_master(self):
        """Take the master role: master IP up, master service started."""
        yield self.node_activate_master_ip()
        if self._roles is None:
            raise errors.OpExecError("This node cannot take the master role")
        yield self._roles.start_master()
        returnValue(True)

    @inlineCallbacks
    def node_stop_master(self):
        """Give up the master role: master service stopped, master IP down."""
        if self._roles is not None:
            yield self._roles.stop_master()
        try:
            yield self.node_deactivate_master_ip()
        except errors.ConfigurationError:
            # A node without a readable config has no IP to give up.
            pass
        returnValue(True)

    def node_leave_cluster(self):
        """
        Forget the cluster: its files go, and the daemon stops shortly
        after answering (so the answer still reaches the master).
        """
        from ganeti import ssconf as ssconfmod
        from ganeti.utils.io import remove_file
        ssconfmod.remove_all(self._paths)
        for path in [self._paths.config_data, self._paths.server_pem] + [
                getattr(self._paths, key) for key in ANCILLARY_FILES]:
            remove_file(path)
        self._reactor.callLater(0.5, self._reactor.stop)
        return True

    def _node_storage(self):
        from ganeti.storage.registry import NodeStorage
        return NodeStorage(
            self._reactor, self._paths,
            file_storage_dir=ssconf.read(self._paths, "file_storage_dir"),
            shared_file_storage_dir=ssconf.read(self._paths,
                                                "shared_file_storage_dir"))

    def storage_list(self, storage_type, name):
        return self._node_storage().list_storage(storage_type, name)

    def storage_modify(self, storage_type, name, changes):
        """``gnt-node modify-storage``: e.g. a PV's allocatable flag."""
        return self._node_storage().modify_storage(storage_type, name,
                                                   changes)

    def storage_execute(self, storage_type, name, operation):
        """``gnt-node repair-storage``: e.g. ``vgreduce --removemissing``."""
        return self._node_storage().execute_storage(storage_type, name,
                                                    operation)

    def node_volumes(self):
        return self._node_storage().list_volumes()


#: Where the DRBD module says which program it calls on state changes.
DRBD_HELPER_FILE = "/sys/module/drbd/parameters/usermode_helper"


def _volume_status(disk):
    """
    A logical volume's device node and numbers (a stat: does not block),
    or None when the volume is not active here.
    """
    from ganeti.storage.lvm import LogicalVolumeStorage
    path = "/dev/%s/%s" % LogicalVolumeStorage.volume(disk)
    try:
        rdev = os.stat(path).st_rdev
    except OSError:
        return None
    return {"dev_path": path, "major": os.major(rdev),
            "minor": os.minor(rdev), "sync_percent": None,
            "estimated_time": None, "is_degraded": False,
            "ldisk_status": "ok"}


def _store_file(path, data, mode):
    """Write one pushed file atomically, its directory made if needed."""
    from ganeti.utils.io import atomic_write
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write(path, data, mode=mode)


def _archive_job_file(paths, job_id):
    """Move a job's copy to the archive (gone already is fine)."""
    target = paths.archived_job_file(job_id)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        os.rename(paths.job_file(job_id), target)
    except FileNotFoundError:
        pass
