# -*- test-case-name: tests.test_locks -*-
"""
The lock manager that keeps concurrent jobs from changing the same objects.

Ganeti serialises opcodes with a hierarchy of shared/exclusive locks held by
threads.  The master here runs every job as a Deferred chain on the reactor
thread, so a lock is held by an *owner* (normally the job id) and waiting for
a lock means holding a Deferred that has not fired yet.  Nothing blocks.

Deadlocks are impossible because every owner takes locks in one total order:
levels in the order of :data:`LEVELS`, and inside a level first the
level-wide lock, then the named locks one at a time in sorted order.  An
owner that asks for a level at or below one it already holds is refused.

Asking for a whole level (:data:`ALL_SET`) cannot enumerate names, because
locks are made on demand.  It takes the level's ``[lockset]`` lock instead,
and every request for named locks first takes that same lock in an
*intention* mode (the classic multi-granularity scheme).  The intention modes
are compatible with each other, so named requests do not contend on it, but
an exclusive whole-level request conflicts with every named holder, and a
shared one only with exclusive named holders.

Each lock grants strictly from the head of a queue ordered by (priority,
arrival), lower priority numbers first as in Ganeti, so a stream of shared
requests cannot starve an exclusive one that is already queued.
"""

import itertools
from bisect import insort
from collections import deque

from twisted.internet.defer import Deferred, fail, succeed

from ganeti.errors import LockError
from ganeti.locking import ALL_SET, BGL, LEVEL_CLUSTER, LEVELS, LOCKSET_NAME

_LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}

# Modes a lock can be held or requested in.  The intention modes are only
# ever used on a level's [lockset] lock.
_INTENT_SHARED = "intent-shared"
_INTENT_EXCLUSIVE = "intent-exclusive"
_SHARED = "shared"
_EXCLUSIVE = "exclusive"

# Pairs of modes that two different owners may hold on one lock at once.
_COMPATIBLE = frozenset(
    [
        (_INTENT_SHARED, _INTENT_SHARED),
        (_INTENT_SHARED, _INTENT_EXCLUSIVE),
        (_INTENT_EXCLUSIVE, _INTENT_SHARED),
        (_INTENT_EXCLUSIVE, _INTENT_EXCLUSIVE),
        (_INTENT_SHARED, _SHARED),
        (_SHARED, _INTENT_SHARED),
        (_SHARED, _SHARED),
    ]
)

# Ganeti takes the lockset lock shared when named locks are acquired, so
# operators are used to seeing intention holders as "shared".
_SHOWN_MODE = {
    _INTENT_SHARED: "shared",
    _INTENT_EXCLUSIVE: "shared",
    _SHARED: "shared",
    _EXCLUSIVE: "exclusive",
}

# States of an acquire() call.
_WAITING = "waiting"
_DONE = "done"  # everything taken; the Deferred is about to fire
_FIRED = "fired"
_CANCELLED = "cancelled"


def _check_level(level):
    """
    Refuse an unknown level early, before any state changes.

    :param level: one of :data:`LEVELS`.
    :raise LockError: if it is not.
    """
    if level not in _LEVEL_RANK:
        raise LockError(
            "Unknown lock level %r (known: %s)" % (level, ", ".join(LEVELS))
        )


def _normalise(level, names):
    """
    Turn the ``names`` argument into a canonical form.

    The cluster level holds a single lock, so asking for all of it is the
    same as asking for the BGL; that avoids a pointless level-wide lock.

    :param level: one of :data:`LEVELS`.
    :param names: :data:`ALL_SET`, a lock name, or an iterable of names.
    :return: ``(whole, names)``: ``whole`` is true for the entire level, in
        which case ``names`` is empty; otherwise ``names`` is a sorted list
        without duplicates.
    :raise LockError: on names of the wrong type or unknown cluster locks.
    """
    if names is ALL_SET:
        if level == LEVEL_CLUSTER:
            return False, [BGL]
        return True, []
    if isinstance(names, str):
        names = [names]
    try:
        wanted = set(names)
    except TypeError:
        raise LockError("Lock names must be strings or ALL_SET, not %r" % (names,))
    bad = [name for name in wanted if not isinstance(name, str) or not name]
    if bad:
        raise LockError("Lock names must be non-empty strings, not %r" % (bad,))
    if level == LEVEL_CLUSTER and wanted - {BGL}:
        raise LockError(
            "Level %r only has the lock %r, not %s"
            % (LEVEL_CLUSTER, BGL, ", ".join(sorted(wanted - {BGL})))
        )
    return False, sorted(wanted)


def _sorted_owners(owners):
    """
    Order owners for display, whatever hashable type they are.

    :param owners: an iterable of owners.
    :return: a sorted list; by ``repr`` when the owners do not compare.
    """
    owners = list(owners)
    try:
        return sorted(owners)
    except TypeError:
        return sorted(owners, key=repr)


class _Request:
    """One entry in a lock's wait queue."""

    __slots__ = ("owner", "mode", "sort_key", "call")

    def __init__(self, owner, mode, sort_key, call):
        self.owner = owner
        self.mode = mode
        # (priority, arrival): lower priority numbers first, then FIFO.
        self.sort_key = sort_key
        self.call = call


class _Lock:
    """
    One lock: who holds it in which mode, and who waits for it.

    :ivar holders: owner -> mode.
    :ivar queue: waiting :class:`_Request`, ordered by ``sort_key``.
    """

    __slots__ = ("level", "name", "holders", "queue")

    def __init__(self, level, name):
        self.level = level
        self.name = name
        self.holders = {}
        self.queue = []

    @property
    def display_name(self):
        """The ``<level>/<name>`` text ``gnt-debug locks`` shows."""
        name = LOCKSET_NAME if self.name is ALL_SET else self.name
        return "%s/%s" % (self.level, name)

    def admits(self, owner, mode):
        """
        :return: whether ``owner`` may take the lock in ``mode`` alongside
            the current holders, ignoring the queue.
        """
        return all(
            (mode, held) in _COMPATIBLE
            for other, held in self.holders.items()
            if other != owner
        )

    def idle(self):
        """:return: whether nobody holds or waits for the lock."""
        return not self.holders and not self.queue


class _Call:
    """
    One :meth:`LockManager.acquire` in progress.

    :ivar steps: ``(name, mode)`` to take, in order; ``name`` is
        :data:`ALL_SET` for the level-wide lock.
    :ivar obtained: names of the steps taken so far, so a cancel gives
        back exactly these and nothing the owner held before.
    :ivar waiting: ``(lock, request)`` while queued, else ``None``.
    """

    __slots__ = (
        "owner",
        "level",
        "steps",
        "priority",
        "result",
        "obtained",
        "waiting",
        "state",
        "deferred",
    )

    def __init__(self, owner, level, steps, priority, result):
        self.owner = owner
        self.level = level
        self.steps = steps
        self.priority = priority
        self.result = result
        self.obtained = []
        self.waiting = None
        self.state = _WAITING
        self.deferred = None


class LockManager:
    """
    Shared/exclusive locks at Ganeti's levels, granted through Deferreds.

    Locks are created when first asked for and forgotten as soon as nobody
    holds or waits for them, so the names of every instance ever seen do
    not pile up.
    """

    def __init__(self):
        # (level, name) -> _Lock; name is ALL_SET for a level-wide lock.
        self._locks = {}
        # owner -> {level: {name: mode}}, only _SHARED/_EXCLUSIVE locks; the
        # intention holds live only in the lockset lock's holders.
        self._held = {}
        # owner -> the _Call not yet fired (one per owner at most).
        self._calls = {}
        self._arrivals = itertools.count()
        # Calls whose current step was granted and must move on.
        self._runnable = deque()
        # Calls that have everything, waiting for their Deferred to fire.
        self._to_fire = deque()
        # Set while _drive runs: Deferred callbacks may call back into us,
        # and their work must join the running loop instead of nesting.
        self._driving = False

    def acquire(self, owner, level, names, shared=False, priority=0):
        """
        Take locks at one level for ``owner``.

        Names are taken one at a time in sorted order, each waiting its turn
        in that lock's queue.  Cancelling the returned Deferred withdraws the
        waiting request and gives back the locks this call already took,
        but nothing the owner held from earlier calls.

        Asking again for locks the owner holds (exclusively, or in the same
        mode) is a no-op; a shared holder asking for exclusive is refused,
        as upgrades are not supported.

        :param owner: any hashable, normally the job id.
        :param level: one of :data:`LEVELS`; must be above every level the
            owner holds.
        :param names: a list of lock names, or :data:`ALL_SET` for the whole
            level.
        :param shared: take the locks in shared rather than exclusive mode.
        :param priority: lower numbers are served first (Ganeti's opcode
            priorities); equal priorities are served in arrival order.
        :return: a Deferred that fires with the sorted list of names (or
            :data:`ALL_SET`) once all of them are held; it fails with
            :class:`LockError` straight away if the request is not allowed
            (unknown level, wrong order, upgrade, another acquire of the
            same owner still in progress), and with ``CancelledError`` if
            cancelled.
        """
        try:
            planned = self._plan(owner, level, names, shared)
        except LockError:
            return fail()
        steps, result = planned
        if not steps:
            return succeed(result)
        call = _Call(owner, level, steps, priority, result)
        call.deferred = Deferred(lambda _: self._cancel(call))
        self._calls[owner] = call
        self._runnable.append(call)
        self._drive()
        return call.deferred

    def release(self, owner, level, names=None):
        """
        Give back locks and let their waiters in.

        :param owner: the owner that holds them.
        :param level: one of :data:`LEVELS`.
        :param names: ``None`` for everything held at ``level``,
            :data:`ALL_SET` for a whole level taken with it, or a list of
            names.
        :raise LockError: if a named lock is not held by ``owner``, or the
            owner is still acquiring at this level (cancel that instead).
        """
        _check_level(level)
        call = self._calls.get(owner)
        if call is not None and call.level == level:
            raise LockError(
                "Owner %r is still acquiring locks at level %r; cancel the"
                " acquire instead of releasing" % (owner, level)
            )
        held = self._held.get(owner, {}).get(level, {})
        if names is None:
            targets = list(held)
        else:
            whole, wanted = _normalise(level, names)
            targets = [ALL_SET] if whole else wanted
            missing = [target for target in targets if target not in held]
            if missing:
                raise LockError(
                    "Owner %r does not hold %s at level %r"
                    % (owner, ", ".join(map(str, missing)), level)
                )
        for target in targets:
            self._drop(owner, level, target)
        self._drop_intention(owner, level)
        self._drive()

    def release_all(self, owner):
        """
        Give back everything ``owner`` holds, for a finished or dead job.

        An acquire still in progress is cancelled first: its Deferred fails
        with ``CancelledError``.

        :param owner: the owner.
        """
        call = self._calls.get(owner)
        if call is not None:
            self._withdraw(call)
        for level in reversed(LEVELS):
            for name in list(self._held.get(owner, {}).get(level, {})):
                self._drop(owner, level, name)
            self._drop_intention(owner, level)
        self._drive()
        if call is not None:
            # The canceller sees the call withdrawn and does nothing more;
            # this only makes the Deferred fail with CancelledError.
            call.deferred.cancel()

    def owned(self, owner, level):
        """
        :param owner: the owner.
        :param level: one of :data:`LEVELS`.
        :return: a new set of the names ``owner`` holds at ``level``,
            including those taken so far by an acquire still in progress;
            ``{ALL_SET}`` if it holds the whole level.
        """
        _check_level(level)
        return set(self._held.get(owner, {}).get(level, {}))

    def is_waiting(self, owner):
        """
        :param owner: the owner.
        :return: whether an acquire of ``owner`` is waiting for a lock; the
            job queue shows such jobs as "waiting".
        """
        call = self._calls.get(owner)
        return call is not None and call.state == _WAITING

    def describe(self):
        """
        Report every lock in use, for ``gnt-debug locks``.

        Consecutive shared waiters are grouped, as they will be let in
        together.

        :return: a list sorted by name of dicts with the keys ``name``
            (``"<level>/<name>"``), ``mode`` (``"exclusive"``,
            ``"shared"`` or ``None``), ``owner`` (sorted list of holders)
            and ``pending`` (list of ``[mode, [owners]]`` in queue order).
        """
        report = []
        for lock in self._locks.values():
            modes = set(lock.holders.values())
            if not modes:
                mode = None
            elif _EXCLUSIVE in modes:
                mode = "exclusive"
            else:
                mode = "shared"
            pending = []
            for request in lock.queue:
                shown = _SHOWN_MODE[request.mode]
                if shown == "shared" and pending and pending[-1][0] == shown:
                    pending[-1][1].append(request.owner)
                else:
                    pending.append([shown, [request.owner]])
            for entry in pending:
                entry[1] = _sorted_owners(entry[1])
            report.append(
                {
                    "name": lock.display_name,
                    "mode": mode,
                    "owner": _sorted_owners(lock.holders),
                    "pending": pending,
                }
            )
        report.sort(key=lambda entry: entry["name"])
        return report

    def _plan(self, owner, level, names, shared):
        """
        Check a request and work out the locks it needs.

        :return: ``(steps, result)``; no steps means the owner already has
            all it asks for.
        :raise LockError: if the request is not allowed.
        """
        _check_level(level)
        whole, wanted = _normalise(level, names)
        mode = _SHARED if shared else _EXCLUSIVE
        if owner in self._calls:
            raise LockError(
                "Owner %r already has an acquire in progress at level %r"
                % (owner, self._calls[owner].level)
            )
        result = ALL_SET if whole else wanted
        held = self._held.get(owner, {}).get(level, {})
        # Modes already held that would cover the request.
        if ALL_SET in held:
            have = [held[ALL_SET]]
        elif not whole and wanted and all(name in held for name in wanted):
            have = [held[name] for name in wanted]
        else:
            have = None
        if have is not None:
            if mode == _SHARED or all(m == _EXCLUSIVE for m in have):
                return [], result
            raise LockError(
                "Owner %r holds %s locks at level %r shared; upgrading to"
                " exclusive is not supported" % (owner, result, level)
            )
        if not whole and not wanted:
            return [], result
        rank = _LEVEL_RANK[level]
        blocking = [
            other
            for other in self._held.get(owner, {})
            if _LEVEL_RANK[other] >= rank
        ]
        if blocking:
            raise LockError(
                "Owner %r cannot acquire level %r while holding level %s;"
                " levels must be acquired in the order %s"
                % (
                    owner,
                    level,
                    ", ".join(repr(b) for b in sorted(blocking, key=_LEVEL_RANK.get)),
                    ", ".join(LEVELS),
                )
            )
        if whole:
            steps = [(ALL_SET, mode)]
        else:
            steps = [(name, mode) for name in wanted]
            if level != LEVEL_CLUSTER:
                intention = _INTENT_SHARED if shared else _INTENT_EXCLUSIVE
                steps.insert(0, (ALL_SET, intention))
        return steps, result

    def _drive(self):
        """
        Move granted calls on and fire the Deferreds of finished ones.

        Deferreds fire only here, after the manager's state is consistent,
        because their callbacks may acquire or release locks re-entrantly.
        """
        if self._driving:
            return
        self._driving = True
        try:
            while self._runnable or self._to_fire:
                if self._runnable:
                    call = self._runnable.popleft()
                    if call.state == _WAITING and call.waiting is None:
                        self._advance(call)
                    continue
                call = self._to_fire.popleft()
                if call.state == _DONE:
                    call.state = _FIRED
                    del self._calls[call.owner]
                    call.deferred.callback(call.result)
        finally:
            self._driving = False

    def _advance(self, call):
        """
        Queue the call for its next lock, or finish it if it has them all.

        A lock that is free is granted at once by :meth:`_grant`, which puts
        the call back on the runnable list for the following step.
        """
        if len(call.obtained) == len(call.steps):
            call.state = _DONE
            self._to_fire.append(call)
            return
        name, mode = call.steps[len(call.obtained)]
        key = (call.level, name)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = _Lock(call.level, name)
        request = _Request(
            call.owner, mode, (call.priority, next(self._arrivals)), call
        )
        insort(lock.queue, request, key=lambda r: r.sort_key)
        call.waiting = (lock, request)
        self._grant(lock)

    def _grant(self, lock):
        """
        Let in waiters from the head of the queue while they fit.

        Stopping at the first one that does not fit is what keeps later
        shared requests from overtaking a queued exclusive one.
        """
        while lock.queue:
            request = lock.queue[0]
            if not lock.admits(request.owner, request.mode):
                return
            del lock.queue[0]
            lock.holders[request.owner] = request.mode
            if request.mode in (_SHARED, _EXCLUSIVE):
                levels = self._held.setdefault(request.owner, {})
                levels.setdefault(lock.level, {})[lock.name] = request.mode
            call = request.call
            call.waiting = None
            call.obtained.append(lock.name)
            self._runnable.append(call)

    def _drop(self, owner, level, name):
        """
        Remove one hold and let the lock's waiters in.

        :param name: a lock name or :data:`ALL_SET`.
        """
        lock = self._locks[(level, name)]
        mode = lock.holders.pop(owner)
        if mode in (_SHARED, _EXCLUSIVE):
            levels = self._held[owner]
            del levels[level][name]
            if not levels[level]:
                del levels[level]
            if not levels:
                del self._held[owner]
        self._grant(lock)
        self._forget_if_idle(lock)

    def _drop_intention(self, owner, level):
        """
        Give back the intention on a level once no names there are held.
        """
        if level in self._held.get(owner, {}):
            return
        lockset = self._locks.get((level, ALL_SET))
        if lockset is not None and owner in lockset.holders:
            self._drop(owner, level, ALL_SET)

    def _forget_if_idle(self, lock):
        """Drop a lock nobody uses, so memory stays bounded."""
        if lock.idle():
            del self._locks[(lock.level, lock.name)]

    def _withdraw(self, call):
        """
        Undo a call that has not fired: leave the queue, return its locks.

        :return: whether there was anything to undo.
        """
        if call.state not in (_WAITING, _DONE):
            return False
        call.state = _CANCELLED
        del self._calls[call.owner]
        if call.waiting is not None:
            lock, request = call.waiting
            call.waiting = None
            lock.queue.remove(request)
            # The withdrawn request may have been what held the others back.
            self._grant(lock)
            self._forget_if_idle(lock)
        for name in reversed(call.obtained):
            self._drop(call.owner, call.level, name)
        return True

    def _cancel(self, call):
        """
        The canceller of an acquire's Deferred.

        Not firing the Deferred here lets Twisted fail it with
        ``CancelledError``.
        """
        if self._withdraw(call):
            self._drive()
