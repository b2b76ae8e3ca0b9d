# -*- test-case-name: tests.test_storage -*-
"""
Which backend serves which disk template, how the master names new disks,
and what a node reports about its storage units and may change in them.
"""

import os

from twisted.internet.defer import Deferred, fail
from zope.interface import implementer

from ganeti.errors import (
    BlockDeviceError,
    OpPrereqError,
    ProgrammerError,
    StorageError,
)
from ganeti.storage import blockdev, lvm
from ganeti.storage.filestorage import (
    FILE_DRIVERS,
    FileStorage,
    describe_storage_dir,
    run_blocking,
)
from ganeti.storage.interfaces import (
    MODIFIABLE_STORAGE_FIELDS,
    SF_ALLOCATABLE,
    SO_FIX_CONSISTENCY,
    ST_FILE,
    ST_LVM_PV,
    ST_LVM_VG,
    ST_SHARED_FILE,
    INodeStorage,
)

#: Templates whose disks are image files.
FILE_TEMPLATES = (ST_FILE, ST_SHARED_FILE)

#: Templates this node can create disks for.
SUPPORTED_TEMPLATES = (ST_FILE, ST_SHARED_FILE, blockdev.TEMPLATE,
                       lvm.TEMPLATE)


class BlockStorageRegistry:
    """
    One L{IBlockStorage} provider per supported disk template.
    """

    def __init__(self, reactor, paths, threadpool=None):
        """
        :param reactor: an L{IReactorProcess} and L{IReactorTime}.
        :param paths: the node's L{ganeti.paths.Paths}.
        :param threadpool: passed to the file backends (see
            L{FileStorage}).
        """
        self._providers = {
            ST_FILE: FileStorage(reactor, paths, ST_FILE, threadpool),
            ST_SHARED_FILE: FileStorage(reactor, paths, ST_SHARED_FILE,
                                        threadpool),
            blockdev.TEMPLATE: blockdev.AdoptedBlockDevice(reactor),
            lvm.TEMPLATE: lvm.LogicalVolumeStorage(reactor),
        }

    @property
    def templates(self):
        """
        The templates served, sorted.
        """
        return tuple(sorted(self._providers))

    def get(self, template):
        """
        :return: the provider for C{template}.
        :raise BlockDeviceError: if this node cannot handle C{template}
            (``diskless`` has no disks; ``drbd``, ``rbd``... are not
            implemented).
        """
        try:
            return self._providers[template]
        except KeyError:
            raise BlockDeviceError("Disk template %r is not supported on"
                                   " this node" % (template,))

    def for_disk(self, disk):
        """
        :return: the provider for the template of C{disk} (its
            C{dev_type}).
        """
        dev_type = disk["dev_type"] if isinstance(disk, dict) \
            else disk.dev_type
        return self.get(dev_type)


def _setting(cluster, key):
    if isinstance(cluster, dict):
        return cluster.get(key)
    return getattr(cluster, key, None)


def file_storage_dir_for(template, cluster, instance_name, subdir=None):
    """
    Compute an instance's file storage directory, as the master does.

    :param cluster: an L{ganeti.objects.Cluster} or a dict with
        C{file_storage_dir} / C{shared_file_storage_dir}.
    :param subdir: an optional directory below the cluster's (the
        ``--file-storage-dir`` option of ``gnt-instance add``).
    :return: ``<cluster dir>[/<subdir>]/<instance_name>``.
    :raise OpPrereqError: if the cluster has no such directory, or
        C{subdir} or C{instance_name} would leave it.
    """
    key = ("file_storage_dir" if template == ST_FILE
           else "shared_file_storage_dir")
    base = _setting(cluster, key)
    if not base:
        raise OpPrereqError("Cluster file storage dir for %r storage type"
                            " not defined" % (template,), "wrong_state")
    parts = [base]
    for part in ([subdir] if subdir else []) + [instance_name]:
        if (os.path.isabs(part) or ".." in part.split("/")
                or part in ("", ".")):
            raise OpPrereqError("Invalid file storage directory component"
                                " %r" % (part,), "wrong_input")
        parts.append(part)
    return os.path.normpath(os.path.join(*parts))


def logical_id_for(template, cluster, instance_name, disk_uuid, index,
                   adopt=None, vg=None, file_driver="loop",
                   file_storage_subdir=None):
    """
    Compute the C{logical_id} of a new disk (run on the master).

    :param template: the disk template.
    :param cluster: an L{ganeti.objects.Cluster} or a dict with its
        C{file_storage_dir}, C{shared_file_storage_dir} and
        C{volume_group_name}.
    :param instance_name: the instance's name.
    :param disk_uuid: the new disk's uuid.
    :param index: the disk's index in the instance (the ``N`` of
        ``disk/N``).
    :param adopt: for ``blockdev``, the device to adopt.
    :param vg: for ``plain``, a volume group other than the cluster's.
    :param file_driver: for file templates, one of L{FILE_DRIVERS}.
    :param file_storage_subdir: for file templates, a directory below the
        cluster's.
    :return: a list: ``[driver, "<dir>/<instance>/<uuid>.file.disk<N>"]``,
        ``["manual", adopt]`` or ``[vg, "<uuid>.disk<N>"]``.
    :raise OpPrereqError: if a needed setting or argument is missing.
    """
    if template in FILE_TEMPLATES:
        if file_driver not in FILE_DRIVERS:
            raise OpPrereqError("Invalid file driver %r" % (file_driver,),
                                "wrong_input")
        directory = file_storage_dir_for(template, cluster, instance_name,
                                         file_storage_subdir)
        return [file_driver,
                "%s/%s.file.disk%d" % (directory, disk_uuid, index)]
    if template == blockdev.TEMPLATE:
        if not adopt:
            raise OpPrereqError("Disk template 'blockdev' requires an"
                                " existing device to adopt", "wrong_input")
        return [blockdev.DRIVER_MANUAL, adopt]
    if template == lvm.TEMPLATE:
        vg = vg or _setting(cluster, "volume_group_name")
        if not vg:
            raise OpPrereqError("Disk template 'plain' needs a volume group"
                                " and the cluster has none", "wrong_state")
        return lvm.logical_id(vg, disk_uuid, index)
    raise ProgrammerError("No logical_id for disk template %r" % (template,))


#: (storage type, field) -> f(reactor, unit name, new value) -> Deferred.
STORAGE_MODIFIERS = {(ST_LVM_PV, SF_ALLOCATABLE): lvm.set_pv_allocatable}

#: (storage type, operation) -> f(reactor, unit name) -> Deferred.
STORAGE_OPERATIONS = {(ST_LVM_VG, SO_FIX_CONSISTENCY): lvm.repair_vg}


@implementer(INodeStorage)
class NodeStorage:
    """
    The storage units of this node: file storage directories and LVM.
    """

    def __init__(self, reactor, paths, node_name=None, threadpool=None,
                 file_storage_dir=None, shared_file_storage_dir=None):
        """
        :param reactor: an L{IReactorProcess} and L{IReactorTime}.
        :param paths: the node's L{ganeti.paths.Paths}.
        :param node_name: added as C{node} to every unit, if given.
        :param threadpool: runs the C{statvfs} and directory walks (a
            shared file system may hang); C{None} runs them inline.
        :param file_storage_dir: overrides C{paths.file_storage_dir} (the
            cluster's ``ssconf_file_storage_dir``).
        :param shared_file_storage_dir: likewise for ``sharedfile``.
        """
        self._reactor = reactor
        self._threadpool = threadpool
        self._node_name = node_name
        self._dirs = {
            ST_FILE: file_storage_dir or paths.file_storage_dir,
            ST_SHARED_FILE: (shared_file_storage_dir
                             or paths.shared_file_storage_dir),
        }

    def _tag(self, units):
        if self._node_name is not None:
            for unit in units:
                unit["node"] = self._node_name
        return units

    def list_storage(self, storage_type, name=None):
        """
        Describe storage units; see L{INodeStorage.list_storage}.

        File storage: C{size}/C{free} of the file system holding the
        directory, C{used} the total size of the files in it.  LVM: as
        ``vgs``/``pvs`` report them.
        """
        if storage_type in self._dirs:
            d = Deferred.fromCoroutine(
                self._list_dirs(storage_type, name))
        elif storage_type == ST_LVM_VG:
            d = lvm.list_vgs(self._reactor, name)
        elif storage_type == ST_LVM_PV:
            d = lvm.list_pvs(self._reactor, name)
            d.addCallback(lambda pvs: [
                {k: v for k, v in pv.items() if k != "vg"} for pv in pvs])
        else:
            return fail(StorageError("Unknown storage type %r"
                                     % (storage_type,)))
        return d.addCallback(self._tag)

    async def _list_dirs(self, storage_type, name):
        directory = name or self._dirs[storage_type]
        try:
            unit = await run_blocking(self._reactor, self._threadpool,
                                      describe_storage_dir, directory,
                                      storage_type)
        except OSError as e:
            raise StorageError("Failed to retrieve file system information"
                               " about path: %s - %s"
                               % (directory, e.strerror))
        return [unit]

    def modify_storage(self, storage_type, name, changes):
        """
        Change a storage unit; see L{INodeStorage.modify_storage}.

        Every field is checked before anything runs, so a request with one
        bad field changes nothing.
        """
        if storage_type not in MODIFIABLE_STORAGE_FIELDS:
            return fail(StorageError("Storage units of type '%s' can not be"
                                     " modified" % (storage_type,)))
        unknown = sorted(set(changes) - MODIFIABLE_STORAGE_FIELDS[storage_type])
        if unknown:
            return fail(StorageError(
                "The following fields can not be modified for storage units"
                " of type '%s': %r" % (storage_type, unknown)))
        return Deferred.fromCoroutine(
            self._modify(storage_type, name, changes))

    async def _modify(self, storage_type, name, changes):
        for field, value in sorted(changes.items()):
            await STORAGE_MODIFIERS[storage_type, field](self._reactor, name,
                                                         value)

    def execute_storage(self, storage_type, name, operation):
        """
        Run an operation on a storage unit; see
        L{INodeStorage.execute_storage}.
        """
        run = STORAGE_OPERATIONS.get((storage_type, operation))
        if run is None:
            return fail(StorageError("Operation '%s' is not supported on"
                                     " storage units of type '%s'"
                                     % (operation, storage_type)))
        return run(self._reactor, name)

    def list_volumes(self):
        """
        List logical volumes; see L{INodeStorage.list_volumes}.
        """
        return lvm.list_volumes(self._reactor)
