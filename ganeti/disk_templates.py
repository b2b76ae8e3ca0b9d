# -*- test-case-name: tests.test_storage -*-
"""
What a disk template means on both sides: the template names, the file
drivers, and how the master names a new disk (its C{logical_id}, which
the node's storage backend then reads).

The master computes names and the nodes read them, so both import this
module; it needs nothing but the standard library and L{ganeti.errors}.
"""

import os

from ganeti.errors import OpPrereqError, ProgrammerError

DT_FILE = "file"
DT_SHARED_FILE = "sharedfile"
DT_BLOCK = "blockdev"
DT_PLAIN = "plain"
DT_DRBD = "drbd"
DT_EXT = "ext"

#: MiB of a ``drbd`` disk's metadata volume (Ganeti's DRBD_META_SIZE).
DRBD_META_SIZE = 128
#: The range DRBD ports (and consoles' ports) come from when the
#: cluster's pool is empty.
FIRST_DRBD_PORT = 11000
LAST_DRBD_PORT = 14999

#: Templates whose disks are image files.
FILE_TEMPLATES = (DT_FILE, DT_SHARED_FILE)

#: Templates whose disks the master can name (and the nodes create).
SUPPORTED_TEMPLATES = (DT_FILE, DT_SHARED_FILE, DT_BLOCK, DT_PLAIN, DT_DRBD,
                       DT_EXT)

#: Templates mirrored to a secondary node.
MIRRORED_TEMPLATES = (DT_DRBD,)

#: Ways a hypervisor may attach an image file; the first is the default.
FILE_DRIVERS = ("loop", "blktap", "blktap2")

#: The only driver Ganeti knows for adopted devices.
DRIVER_MANUAL = "manual"

#: The keys of a ``--disk`` specification that are Ganeti's own (its
#: IDISK_PARAMS); on an ``ext`` disk every other key is a parameter of
#: the provider.
DISK_SPEC_KEYS = frozenset(["size", "spindles", "mode", "adopt", "vg",
                            "metavg", "provider", "name", "access", "type"])

#: Templates whose disks take the ``access`` parameter (Ganeti's
#: DTS_HAVE_ACCESS).
ACCESS_TEMPLATES = ("rbd", DT_EXT, "gluster")


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
    key = ("file_storage_dir" if template == DT_FILE
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


def plain_logical_id(vg, unique_id, index):
    """
    :return: the C{logical_id} of a new ``plain`` disk:
        ``[vg, "<unique id>.disk<index>"]`` (``[vg, unique_id]`` for
        index C{None}).
    :raise ProgrammerError: without a volume group.
    """
    if not vg:
        raise ProgrammerError("no volume group for a plain disk")
    if index is None:
        return [vg, unique_id]
    return [vg, "%s.disk%d" % (unique_id, index)]


def drbd_children_ids(vg, meta_vg, name):
    """
    :param name: the volume name a ``plain`` disk would have
        (``<unique id>.disk<index>``).
    :return: the C{logical_id}s of a new ``drbd`` disk's data and
        metadata volumes: ``[vg, name + "_data"]`` and
        ``[meta_vg, name + "_meta"]``.
    """
    return (plain_logical_id(vg, name + "_data", None),
            plain_logical_id(meta_vg or vg, name + "_meta", None))


def check_ext_provider(template, spec):
    """
    Ganeti's C{CheckDiskExtProvider}: ``provider`` is needed by, and only
    allowed for, ``ext`` disks.

    :param spec: a ``--disk`` specification (dict).
    :raise OpPrereqError: when it is missing or misplaced.
    """
    provider = spec.get("provider")
    if provider and template != DT_EXT:
        raise OpPrereqError("The 'provider' option is only valid for the %s"
                            " disk template, not %s" % (DT_EXT, template),
                            "wrong_input")
    if provider is None and template == DT_EXT:
        raise OpPrereqError("Missing provider for template '%s'" % (DT_EXT,),
                            "wrong_input")


def disk_spec_params(template, spec):
    """
    The disk parameters a new disk keeps in the configuration, as Ganeti's
    C{GenerateDiskTemplate} does: for ``ext`` the provider and every key
    that is not Ganeti's own (the provider's parameters, ``EXTP_*`` on the
    nodes); ``access`` for the templates that have it.

    :raise OpPrereqError: as L{check_ext_provider}.
    :return: a dict (empty for most templates).
    """
    check_ext_provider(template, spec)
    params = {}
    if template == DT_EXT:
        params["provider"] = spec["provider"]
        params.update((key, value) for key, value in spec.items()
                      if key not in DISK_SPEC_KEYS)
    if template in ACCESS_TEMPLATES and "access" in spec:
        params["access"] = spec["access"]
    return params


def ext_volume_name(unique_id, index):
    """
    :return: Ganeti's name of an ``ext`` volume, ``<unique id>.ext.disk<N>``.
    """
    return "%s.ext.disk%d" % (unique_id, index)


def logical_id_for(template, cluster, instance_name, unique_id, index,
                   adopt=None, vg=None, file_driver="loop",
                   file_storage_subdir=None, provider=None):
    """
    Compute the C{logical_id} of a new disk (run on the master).

    :param template: the disk template.
    :param cluster: an L{ganeti.objects.Cluster} or a dict with its
        C{file_storage_dir}, C{shared_file_storage_dir} and
        C{volume_group_name}.
    :param instance_name: the instance's name.
    :param unique_id: a fresh unique id naming the new volume or file
        (Ganeti generates one per disk, apart from the disk's uuid).
    :param index: the disk's index in the instance (the ``N`` of
        ``disk/N``).
    :param adopt: for ``blockdev``, the device to adopt.
    :param vg: for ``plain``, a volume group other than the cluster's.
    :param file_driver: for file templates, one of L{FILE_DRIVERS}.
    :param file_storage_subdir: for file templates, a directory below the
        cluster's.
    :param provider: for ``ext``, the ExtStorage provider.
    :return: a list: ``[driver, "<dir>/<instance>/<uuid>.file.disk<N>"]``,
        ``["manual", adopt]``, ``[vg, "<uuid>.disk<N>"]`` or
        ``[provider, "<uuid>.ext.disk<N>"]``.
    :raise OpPrereqError: if a needed setting or argument is missing.
    """
    if template in FILE_TEMPLATES:
        if file_driver not in FILE_DRIVERS:
            raise OpPrereqError("Invalid file driver %r" % (file_driver,),
                                "wrong_input")
        directory = file_storage_dir_for(template, cluster, instance_name,
                                         file_storage_subdir)
        return [file_driver,
                "%s/%s.file.disk%d" % (directory, unique_id, index)]
    if template == DT_BLOCK:
        if not adopt:
            raise OpPrereqError("Disk template 'blockdev' requires an"
                                " existing device to adopt", "wrong_input")
        return [DRIVER_MANUAL, adopt]
    if template == DT_PLAIN:
        vg = vg or _setting(cluster, "volume_group_name")
        if not vg:
            raise OpPrereqError("Disk template 'plain' needs a volume group"
                                " and the cluster has none", "wrong_state")
        return plain_logical_id(vg, unique_id, index)
    if template == DT_EXT:
        if not provider:
            raise OpPrereqError("Missing provider for template '%s'"
                                % (DT_EXT,), "wrong_input")
        return [provider, ext_volume_name(unique_id, index)]
    raise ProgrammerError("No logical_id for disk template %r" % (template,))
