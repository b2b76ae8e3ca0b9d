# -*- test-case-name: tests.test_backup -*-
"""
The description of an instance export: Ganeti's ``config.ini``.

An export is a directory (``/srv/ganeti/export/<instance>``) holding one
dump per disk and this file, which says what the instance was so that
``gnt-backup import`` can rebuild it.  Exports written by Ganeti and by
this implementation are meant to be interchangeable, so the sections and
keys are Ganeti's: ``[export]`` (version, timestamp, source node, OS,
compression), ``[instance]`` (name, memory, vcpus, template, hypervisor,
tags, then ``nic_count``/``nicN_*`` and ``disk_count``/``diskN_*``), and
``[hypervisor]``, ``[backend]`` and ``[os]`` with the parameters.

The master writes it, nodes only store and hand it back; so it lives
below both, and has no I/O of its own.
"""

import configparser
import io

from ganeti import errors

#: The file name of the description inside an export directory.
CONFIG_FILE = "config.ini"

#: Ganeti's export format version.
EXPORT_VERSION = 0

SECTION_EXPORT = "export"
SECTION_INSTANCE = "instance"
SECTION_HYPERVISOR = "hypervisor"
SECTION_BACKEND = "backend"
SECTION_OS = "os"

#: NIC keys written per NIC (``nicN_<key>``).
NIC_KEYS = ("mac", "ip", "mode", "link", "vlan", "network", "name", "uuid")

#: Disk keys read back per disk (besides ``dump`` and ``size``).
_DISK_KEYS = ("ivname", "mode", "name", "uuid")


def dump_name(index):
    """:return: the file name of disk C{index}'s dump inside an export."""
    return "disk%d.snap" % (index,)


def _parser():
    parser = configparser.ConfigParser(interpolation=None)
    # Parameter names are case-sensitive for hypervisors and OSes.
    parser.optionxform = str
    return parser


def _text(value):
    # Ganeti writes Python's spelling of None and of booleans.
    return "%s" % (value,)


def build(instance, disks, source_node, timestamp, compression="none"):
    """
    Describe an export.

    :param instance: the instance as a node gets it
        (L{ganeti.cmdlib.common.node_instance_dict}: parameters filled).
    :param disks: per disk, C{(disk dict, dump file name)}.
    :param source_node: the name of the node the instance lived on.
    :param timestamp: seconds since the epoch.
    :return: the ``config.ini`` text.
    """
    parser = _parser()
    parser[SECTION_EXPORT] = {
        "version": _text(EXPORT_VERSION), "timestamp": "%d" % (timestamp,),
        "source": source_node, "os": instance["os"],
        "compression": compression,
    }
    beparams = instance["beparams"]
    section = {
        "name": instance["name"], "maxmem": _text(beparams["maxmem"]),
        "minmem": _text(beparams["minmem"]),
        "memory": _text(beparams["maxmem"]),
        "vcpus": _text(beparams["vcpus"]),
        "disk_template": instance["disk_template"],
        "hypervisor": instance["hypervisor"],
        "tags": " ".join(instance.get("tags") or []),
    }
    for index, nic in enumerate(instance["nics"]):
        for key in NIC_KEYS:
            section["nic%d_%s" % (index, key)] = _text(nic.get(key))
    section["nic_count"] = _text(len(instance["nics"]))
    for index, (disk, dump) in enumerate(disks):
        prefix = "disk%d_" % (index,)
        section[prefix + "ivname"] = disk.get("iv_name") or "disk/%d" % index
        section[prefix + "dump"] = dump
        section[prefix + "size"] = _text(disk["size"])
        section[prefix + "mode"] = disk.get("mode") or "rw"
        section[prefix + "name"] = _text(disk.get("name"))
        section[prefix + "uuid"] = _text(disk.get("uuid"))
    section["disk_count"] = _text(len(disks))
    parser[SECTION_INSTANCE] = section
    for name, params in ((SECTION_HYPERVISOR, instance["hvparams"]),
                         (SECTION_BACKEND, beparams),
                         (SECTION_OS, instance.get("osparams") or {})):
        parser[name] = {key: _text(value) for key, value in params.items()}
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def _none(value):
    """Ganeti spells a missing value ``None`` (or ``none``)."""
    if value is None or value.lower() == "none" or value == "":
        return None
    return value


class ExportInfo:
    """
    A parsed ``config.ini``.

    :ivar os: the instance's OS (with variant).
    :ivar disks: per disk, a dict with ``size`` (MiB), ``dump`` (file
        name inside the export), ``mode``, ``name``.
    :ivar nics: per NIC, a ``--net`` style dict (``mac``, ``ip``,
        ``mode``, ``link``, ``vlan``, ``network``, ``name``).
    """

    def __init__(self, text):
        parser = _parser()
        try:
            parser.read_string(text)
            self._parser = parser
            version = int(parser.get(SECTION_EXPORT, "version"))
            instance = parser[SECTION_INSTANCE]
            self.disk_count = int(instance.get("disk_count", "0"))
            self.nic_count = int(instance.get("nic_count", "0"))
        except (configparser.Error, KeyError, ValueError) as e:
            raise errors.OpPrereqError("Invalid export information: %s" % (e,),
                                       "wrong_input")
        if version != EXPORT_VERSION:
            raise errors.OpPrereqError("Wrong export version %s (wanted %d)"
                                       % (version, EXPORT_VERSION),
                                       "wrong_input")
        export = parser[SECTION_EXPORT]
        self.os = export.get("os")
        self.source = export.get("source")
        self.name = instance.get("name")
        self.disk_template = _none(instance.get("disk_template"))
        self.hypervisor = _none(instance.get("hypervisor"))
        self.tags = (instance.get("tags") or "").split()
        self.disks = [self._disk(instance, index)
                      for index in range(self.disk_count)]
        self.nics = [self._nic(instance, index)
                     for index in range(self.nic_count)]
        self.hvparams = self._section(SECTION_HYPERVISOR)
        self.beparams = self._section(SECTION_BACKEND)
        self.osparams = self._section(SECTION_OS)

    @staticmethod
    def _disk(section, index):
        prefix = "disk%d_" % (index,)
        try:
            disk = {"size": int(section[prefix + "size"]),
                    "dump": section[prefix + "dump"]}
        except (KeyError, ValueError) as e:
            raise errors.OpPrereqError("Invalid export information for disk"
                                       " %d: %s" % (index, e), "wrong_input")
        for key in _DISK_KEYS:
            value = _none(section.get(prefix + key))
            if value is not None:
                disk[key] = value
        return disk

    @staticmethod
    def _nic(section, index):
        nic = {}
        for key in NIC_KEYS:
            value = _none(section.get("nic%d_%s" % (index, key)))
            if value is not None and key != "uuid":
                nic[key] = value
        return nic

    def _section(self, name):
        if not self._parser.has_section(name):
            return {}
        return dict(self._parser[name])
