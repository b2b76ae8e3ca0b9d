# -*- test-case-name: tests.test_storage -*-
"""
Which backend serves which disk template, and what a node reports about
its storage units and may change in them.  (How the master names new disks
is L{ganeti.disk_templates}.)
"""

from twisted.internet.defer import Deferred, fail
from zope.interface import implementer

from ganeti.errors import BlockDeviceError, StorageError
from ganeti.storage import blockdev, drbd, extstorage, lvm
from ganeti.storage.filestorage import (
    FileStorage,
    describe_storage_dir,
    run_blocking,
)
from ganeti.storage.interfaces import INodeStorage
from ganeti.storage_units import (
    MODIFIABLE_STORAGE_FIELDS, SF_ALLOCATABLE, SO_FIX_CONSISTENCY, ST_FILE,
    ST_LVM_PV, ST_LVM_VG, ST_SHARED_FILE)


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
            extstorage.TEMPLATE: extstorage.ExtStorage(
                reactor, paths.extstorage_search_path,
                paths.extstorage_log_dir),
        }
        volumes = self._providers[lvm.TEMPLATE] = \
            lvm.LogicalVolumeStorage(reactor)
        self._providers[drbd.TEMPLATE] = drbd.DrbdStorage(reactor, volumes)

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
            (``diskless`` has no disks; ``rbd``, ``gluster`` are not
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
