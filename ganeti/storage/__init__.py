# -*- test-case-name: tests.test_storage -*-
"""
Node-side storage: instance disks and the storage units that hold them.

One L{IBlockStorage} provider exists per disk template (L{filestorage} for
``file`` and ``sharedfile``, L{blockdev} for ``blockdev``, L{lvm} for
``plain``); L{registry} picks the provider for a template, computes new
disks' ``logical_id`` on the master, and reports node storage units
(``gnt-node list-storage``, ``gnt-node volumes``) and modifies or repairs
them (``modify-storage``, ``repair-storage``).
"""
