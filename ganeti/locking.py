# -*- test-case-name: tests.test_locks -*-
"""
The names of locks: the levels in their order, the Big Ganeti Lock and
"the whole level".

Logical units declare the locks they need in these words and the job
runner's lock manager (L{ganeti.jobs.locks}) grants them; both import this
module, so the units need nothing of the job queue.
"""

LEVEL_CLUSTER = "cluster"
LEVEL_INSTANCE = "instance"
LEVEL_NODEGROUP = "nodegroup"
LEVEL_NODE = "node"
LEVEL_NODE_RES = "node-res"
LEVEL_NETWORK = "network"

#: All levels, in the order an owner must acquire them.
LEVELS = (
    LEVEL_CLUSTER,
    LEVEL_INSTANCE,
    LEVEL_NODEGROUP,
    LEVEL_NODE,
    LEVEL_NODE_RES,
    LEVEL_NETWORK,
)

#: The only lock at L{LEVEL_CLUSTER}, the Big Ganeti Lock.
BGL = "BGL"

#: How the level-wide lock is shown by L{ganeti.jobs.locks.LockManager.describe}; the
#: same text Ganeti shows.
LOCKSET_NAME = "[lockset]"


class _AllSet:
    """
    The type of L{ALL_SET}.

    Ganeti uses ``None`` for "the whole level"; a distinct object keeps that
    apart from ``names=None`` ("whatever I hold") in
    L{ganeti.jobs.locks.LockManager.release}.
    """

    __slots__ = ()

    def __repr__(self):
        return "ALL_SET"


#: Pass as ``names`` to ask for (or release) a whole level.
ALL_SET = _AllSet()
