# -*- test-case-name: tests.test_storage -*-
"""
The names of node storage units: their types, fields and operations, as
``gnt-node list-storage``, ``modify-storage`` and ``repair-storage`` use
them.

The tools check options against them, the master checks opcodes and the
nodes report and change units by them, so all three import this module;
it holds names only.
"""

#: Storage unit types reported by L{ganeti.storage.interfaces.INodeStorage.list_storage}.
ST_FILE = "file"
ST_SHARED_FILE = "sharedfile"
ST_LVM_VG = "lvm-vg"
ST_LVM_PV = "lvm-pv"
STORAGE_TYPES = (ST_FILE, ST_SHARED_FILE, ST_LVM_VG, ST_LVM_PV)

#: Storage type -> the disk templates that use it; a cluster with none of
#: them enabled has no business with such units (an ``lvm-pv`` belongs to
#: its volume group).
STORAGE_TYPE_TEMPLATES = {
    ST_FILE: ("file",),
    ST_SHARED_FILE: ("sharedfile",),
    ST_LVM_VG: ("plain", "drbd"),
    ST_LVM_PV: ("plain", "drbd"),
}

#: The fields of one storage unit, as ``gnt-node list-storage`` names them.
STORAGE_FIELDS = ("node", "type", "name", "size", "used", "free",
                  "allocatable")

#: The field ``gnt-node modify-storage --allocatable`` changes.
SF_ALLOCATABLE = "allocatable"

#: Storage type -> the fields L{ganeti.storage.interfaces.INodeStorage.modify_storage} may change;
#: a type not listed cannot be modified at all.
MODIFIABLE_STORAGE_FIELDS = {ST_LVM_PV: frozenset([SF_ALLOCATABLE])}

#: The operation behind ``gnt-node repair-storage``.
SO_FIX_CONSISTENCY = "fix-consistency"

#: Storage type -> the operations L{ganeti.storage.interfaces.INodeStorage.execute_storage} runs.
VALID_STORAGE_OPERATIONS = {ST_LVM_VG: frozenset([SO_FIX_CONSISTENCY])}
