# -*- test-case-name: tests.test_storage -*-
"""
The contracts every storage backend of a node fulfils.

A disk reaches the node as a plain dict, the form it has in
``config.data`` (or an L{ganeti.objects.Disk}; see L{disk_dict}):

``uuid``
    the disk's unique id.
``dev_type``
    its disk template (``file``, ``plain``, ...).
``size``
    its size in MiB.
``mode``
    ``rw`` or ``ro``.
``logical_id``
    where the data lives, in a template-specific form: ``[driver, path]``
    for ``file``/``sharedfile``, ``["manual", "/dev/..."]`` for
    ``blockdev``, ``[vg, lv]`` for ``plain``.
``params``
    the disk parameters (``stripes`` for ``plain``...).

Every operation may run external programs, so every one returns a
Deferred; none blocks the reactor for longer than a C{stat}.
"""

from zope.interface import Attribute, Interface

from ganeti.errors import ProgrammerError

MIB = 1024 * 1024


class IBlockStorage(Interface):
    """
    The disks of one disk template on this node.

    Sizes are MiB.  Errors are L{ganeti.errors.BlockDeviceError} (or
    L{ganeti.errors.FileStoragePathError} for a file path this node does
    not allow), delivered through the returned Deferred.
    """

    template = Attribute("The disk template served, e.g. C{'file'}.")

    def create(disk, instance_name):
        """
        Make a new disk of C{disk["size"]} MiB for instance C{instance_name}.

        :return: a Deferred firing with the node path of the new disk.
        """

    def remove(disk):
        """
        Delete a disk's data.  Removing a disk that does not exist succeeds,
        so a half-finished removal can simply be retried.

        :return: a Deferred firing with C{None}.
        """

    def grow(disk, amount_mib):
        """
        Enlarge a disk by C{amount_mib}.

        :return: a Deferred firing with the new size in MiB.
        """

    def assemble(disk):
        """
        Make an existing disk usable by a hypervisor on this node.

        :return: a Deferred firing with the disk's node path.
        """

    def shutdown(disk):
        """
        Undo L{assemble} where that means anything (never loses data).

        :return: a Deferred firing with C{None}.
        """

    def get_size(disk):
        """
        :return: a Deferred firing with the disk's actual size in MiB
            (rounded down), or failing if the disk does not exist.
        """

    def exists(disk):
        """
        :return: a Deferred firing with C{True} if the disk's data exists.
        """


class INodeStorage(Interface):
    """
    The storage units of a node, for ``gnt-node list-storage`` and
    ``gnt-node volumes``.
    """

    def list_storage(storage_type, name=None):
        """
        Describe the storage units of one type.

        :param storage_type: one of L{ganeti.storage_units.STORAGE_TYPES}.
        :param name: only this unit (a directory, VG or PV name).
        :return: a Deferred firing with a list of dicts with the keys of
            L{ganeti.storage_units.STORAGE_FIELDS} (C{node} only if the
            node's name is known), sizes in MiB; failing with
            L{ganeti.errors.StorageError}.
        """

    def modify_storage(storage_type, name, changes):
        """
        Change fields of one storage unit.

        :param changes: field -> new value; only the fields that
            L{ganeti.storage_units.MODIFIABLE_STORAGE_FIELDS} lists for
            C{storage_type}.
        :return: a Deferred firing with C{None}; failing with
            L{ganeti.errors.StorageError}, having changed nothing, for a
            type or field that cannot be modified.
        """

    def execute_storage(storage_type, name, operation):
        """
        Run an operation (one of
        L{ganeti.storage_units.VALID_STORAGE_OPERATIONS}) on one storage
        unit.

        :return: a Deferred firing with C{None}; failing with
            L{ganeti.errors.StorageError}.
        """

    def list_volumes():
        """
        List the logical volumes of this node, one entry per LV and PV.

        :return: a Deferred firing with a list of dicts
            C{{"name", "size", "dev", "vg"}} (size in MiB, C{dev} the PV).
        """


def disk_dict(disk):
    """
    Accept a disk as a dict or as an L{ganeti.objects.Disk}.

    :return: a dict with at least C{uuid}, C{dev_type}, C{size}, C{mode},
        C{logical_id} (a list) and C{params}.
    :raise ProgrammerError: if C{disk} has no C{logical_id}.
    """
    if not isinstance(disk, dict):
        disk = disk.to_dict()
    result = {"mode": "rw", "params": {}, "size": 0}
    result.update(disk)
    if not result.get("logical_id"):
        raise ProgrammerError("disk %r has no logical_id"
                              % (result.get("uuid"),))
    result["logical_id"] = list(result["logical_id"])
    return result
