# -*- test-case-name: tests.test_locks -*-
"""Tests for :mod:`ganeti.jobs.locks`."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.defer import CancelledError
from twisted.trial.unittest import SynchronousTestCase

from ganeti.errors import LockError
from ganeti.jobs.locks import LockManager
from ganeti.locking import (
    ALL_SET,
    BGL,
    LEVEL_CLUSTER,
    LEVEL_INSTANCE,
    LEVEL_NETWORK,
    LEVEL_NODE,
    LEVEL_NODEGROUP,
    LEVELS,
)


class ModeTests(SynchronousTestCase):
    """Shared and exclusive modes on single named locks."""

    def setUp(self):
        self.manager = LockManager()

    def test_levels(self):
        """The levels are Ganeti's, in Ganeti's acquisition order."""
        self.assertEqual(
            LEVELS,
            ("cluster", "instance", "nodegroup", "node", "node-res", "network"),
        )

    def test_free_lock_granted_at_once(self):
        """A free lock is granted synchronously; the result is sorted."""
        d = self.manager.acquire(1, LEVEL_INSTANCE, ["web2", "web1", "web2"])
        self.assertEqual(self.successResultOf(d), ["web1", "web2"])
        self.assertEqual(self.manager.owned(1, LEVEL_INSTANCE), {"web1", "web2"})
        self.assertFalse(self.manager.is_waiting(1))

    def test_exclusive_blocks_exclusive_and_shared(self):
        """Nobody else gets a lock held exclusively until it is released."""
        self.successResultOf(self.manager.acquire(1, LEVEL_INSTANCE, ["web1"]))
        exclusive = self.manager.acquire(2, LEVEL_INSTANCE, ["web1"])
        shared = self.manager.acquire(3, LEVEL_INSTANCE, ["web1"], shared=True)
        self.assertNoResult(exclusive)
        self.assertNoResult(shared)
        self.assertTrue(self.manager.is_waiting(2))
        self.assertTrue(self.manager.is_waiting(3))

    def test_shared_holders_concurrent(self):
        """Any number of owners hold a lock shared at the same time."""
        for owner in (1, 2, 3):
            d = self.manager.acquire(owner, LEVEL_NODE, ["n1"], shared=True)
            self.assertEqual(self.successResultOf(d), ["n1"])
        [entry] = [e for e in self.manager.describe() if e["name"] == "node/n1"]
        self.assertEqual(entry["owner"], [1, 2, 3])
        self.assertEqual(entry["mode"], "shared")

    def test_shared_blocks_exclusive(self):
        """An exclusive request waits for every shared holder to leave."""
        self.manager.acquire(1, LEVEL_NODE, ["n1"], shared=True)
        self.manager.acquire(2, LEVEL_NODE, ["n1"], shared=True)
        d = self.manager.acquire(3, LEVEL_NODE, ["n1"])
        self.manager.release(1, LEVEL_NODE)
        self.assertNoResult(d)
        self.manager.release(2, LEVEL_NODE)
        self.assertEqual(self.successResultOf(d), ["n1"])

    def test_waiting_exclusive_blocks_later_shared(self):
        """
        A shared request does not overtake a queued exclusive one, although
        it would fit beside the current shared holder: writers never starve.
        """
        self.manager.acquire(1, LEVEL_NODE, ["n1"], shared=True)
        writer = self.manager.acquire(2, LEVEL_NODE, ["n1"])
        reader = self.manager.acquire(3, LEVEL_NODE, ["n1"], shared=True)
        self.assertNoResult(writer)
        self.assertNoResult(reader)
        self.manager.release(1, LEVEL_NODE)
        self.successResultOf(writer)
        self.assertNoResult(reader)
        self.manager.release(2, LEVEL_NODE)
        self.successResultOf(reader)

    def test_shared_head_granted_together(self):
        """
        Consecutive shared waiters at the head are let in together; the
        exclusive waiter after them and the shared one behind it are not.
        """
        self.manager.acquire(1, LEVEL_NODE, ["n1"])
        shared_a = self.manager.acquire(2, LEVEL_NODE, ["n1"], shared=True)
        shared_b = self.manager.acquire(3, LEVEL_NODE, ["n1"], shared=True)
        exclusive = self.manager.acquire(4, LEVEL_NODE, ["n1"])
        shared_c = self.manager.acquire(5, LEVEL_NODE, ["n1"], shared=True)
        self.manager.release(1, LEVEL_NODE)
        self.successResultOf(shared_a)
        self.successResultOf(shared_b)
        self.assertNoResult(exclusive)
        self.assertNoResult(shared_c)
        self.manager.release(2, LEVEL_NODE)
        self.manager.release(3, LEVEL_NODE)
        self.successResultOf(exclusive)
        self.assertNoResult(shared_c)
        self.manager.release(4, LEVEL_NODE)
        self.successResultOf(shared_c)

    def test_priority_order(self):
        """
        Waiters are served by priority, lower numbers first, and in arrival
        order within one priority.
        """
        self.manager.acquire(0, LEVEL_NODE, ["n1"])
        order = []
        for owner, priority in [(1, 10), (2, 0), (3, -5), (4, 0)]:
            d = self.manager.acquire(owner, LEVEL_NODE, ["n1"], priority=priority)
            d.addCallback(lambda _, owner=owner: order.append(owner))
        for holder in [0, 3, 2, 4]:
            self.manager.release(holder, LEVEL_NODE)
        self.assertEqual(order, [3, 2, 4, 1])

    def test_reacquire_is_noop(self):
        """
        Asking again for held locks succeeds at once and changes nothing,
        even though the level is not above the held ones; an exclusive hold
        also covers a shared request.
        """
        self.manager.acquire(1, LEVEL_INSTANCE, ["a", "b"])
        self.manager.acquire(1, LEVEL_NODE, ["n1"], shared=True)
        again = self.manager.acquire(1, LEVEL_INSTANCE, ["b"])
        self.assertEqual(self.successResultOf(again), ["b"])
        covered = self.manager.acquire(1, LEVEL_INSTANCE, ["a"], shared=True)
        self.assertEqual(self.successResultOf(covered), ["a"])
        self.manager.release(1, LEVEL_INSTANCE, ["b"])
        self.assertEqual(self.manager.owned(1, LEVEL_INSTANCE), {"a"})

    def test_nothing_is_noop(self):
        """Asking for no names at all succeeds with an empty list."""
        self.manager.acquire(1, LEVEL_NODE, ["n1"])
        d = self.manager.acquire(1, LEVEL_INSTANCE, [])
        self.assertEqual(self.successResultOf(d), [])

    def test_upgrade_refused(self):
        """A shared hold cannot be turned into an exclusive one."""
        self.manager.acquire(1, LEVEL_NODE, ["n1"], shared=True)
        d = self.manager.acquire(1, LEVEL_NODE, ["n1"])
        failure = self.failureResultOf(d, LockError)
        self.assertIn("upgrad", str(failure.value))

    def test_cluster_level(self):
        """The cluster level has just the BGL; asking for all of it is the BGL."""
        d = self.manager.acquire(1, LEVEL_CLUSTER, ALL_SET, shared=True)
        self.assertEqual(self.successResultOf(d), [BGL])
        self.assertEqual(self.manager.owned(1, LEVEL_CLUSTER), {BGL})
        self.failureResultOf(
            self.manager.acquire(2, LEVEL_CLUSTER, ["other"]), LockError
        )
        self.assertEqual(
            [e["name"] for e in self.manager.describe()], ["cluster/BGL"]
        )

    def test_bad_names(self):
        """Names that are not non-empty strings are refused."""
        for names in ([1], [""], 5):
            self.failureResultOf(
                self.manager.acquire(1, LEVEL_NODE, names), LockError
            )
        self.assertEqual(self.manager.describe(), [])


class OrderTests(SynchronousTestCase):
    """Levels are taken in order, one acquire at a time per owner."""

    def setUp(self):
        self.manager = LockManager()

    def test_lower_level_refused(self):
        """Asking for a level below a held one fails at once, naming both."""
        self.manager.acquire(1, LEVEL_NODE, ["n1"])
        d = self.manager.acquire(1, LEVEL_INSTANCE, ["web1"])
        message = str(self.failureResultOf(d, LockError).value)
        self.assertIn("'instance'", message)
        self.assertIn("'node'", message)
        self.assertEqual(self.manager.owned(1, LEVEL_INSTANCE), set())

    def test_same_level_refused(self):
        """More names at an already held level are refused too."""
        self.manager.acquire(1, LEVEL_NODE, ["n1"])
        d = self.manager.acquire(1, LEVEL_NODE, ["n2"])
        self.failureResultOf(d, LockError)

    def test_higher_level_allowed(self):
        """Levels above every held one are fine, even skipping some."""
        self.manager.acquire(1, LEVEL_CLUSTER, [BGL], shared=True)
        self.successResultOf(self.manager.acquire(1, LEVEL_NODE, ["n1"]))

    def test_after_release_allowed(self):
        """Once the higher level is released, a lower one may be taken."""
        self.manager.acquire(1, LEVEL_NODE, ["n1"])
        self.manager.release(1, LEVEL_NODE)
        self.successResultOf(self.manager.acquire(1, LEVEL_INSTANCE, ["i"]))

    def test_unknown_level(self):
        """An unknown level is refused by every method."""
        self.failureResultOf(self.manager.acquire(1, "disk", ["d"]), LockError)
        self.assertRaises(LockError, self.manager.release, 1, "disk")
        self.assertRaises(LockError, self.manager.owned, 1, "disk")

    def test_one_acquire_at_a_time(self):
        """An owner still waiting cannot start another acquire."""
        self.manager.acquire(1, LEVEL_NODE, ["n1"])
        self.manager.acquire(2, LEVEL_NODE, ["n1"])
        d = self.manager.acquire(2, LEVEL_NETWORK, ["x"])
        self.failureResultOf(d, LockError)

    def test_names_taken_in_sorted_order(self):
        """
        Names are taken one by one in sorted order, so two owners asking
        for the same names in different orders cannot deadlock.
        """
        self.manager.acquire(9, LEVEL_NODE, ["b"])
        first = self.manager.acquire(1, LEVEL_NODE, ["c", "b", "a"])
        second = self.manager.acquire(2, LEVEL_NODE, ["a", "c"])
        # Owner 1 took "a" and waits for "b", so owner 2 waits for "a".
        self.assertEqual(self.manager.owned(1, LEVEL_NODE), {"a"})
        self.assertEqual(self.manager.owned(2, LEVEL_NODE), set())
        self.manager.release(9, LEVEL_NODE)
        self.assertEqual(self.successResultOf(first), ["a", "b", "c"])
        self.manager.release_all(1)
        self.assertEqual(self.successResultOf(second), ["a", "c"])


class AllSetTests(SynchronousTestCase):
    """Whole-level requests (``ALL_SET``)."""

    def setUp(self):
        self.manager = LockManager()

    def test_exclusive_all_waits_for_any_name(self):
        """An exclusive whole level waits until no name there is held."""
        self.manager.acquire(1, LEVEL_INSTANCE, ["a"], shared=True)
        d = self.manager.acquire(2, LEVEL_INSTANCE, ALL_SET)
        self.assertNoResult(d)
        self.manager.release(1, LEVEL_INSTANCE)
        self.assertIs(self.successResultOf(d), ALL_SET)
        self.assertEqual(self.manager.owned(2, LEVEL_INSTANCE), {ALL_SET})

    def test_exclusive_all_blocks_everything(self):
        """While a level is held exclusively, nothing at it is granted."""
        self.manager.acquire(1, LEVEL_INSTANCE, ALL_SET)
        waiting = [
            self.manager.acquire(2, LEVEL_INSTANCE, ["a"], shared=True),
            self.manager.acquire(3, LEVEL_INSTANCE, ["b"]),
            self.manager.acquire(4, LEVEL_INSTANCE, ALL_SET, shared=True),
        ]
        for d in waiting:
            self.assertNoResult(d)
        self.manager.release(1, LEVEL_INSTANCE, ALL_SET)
        self.successResultOf(waiting[0])
        self.successResultOf(waiting[1])
        # A shared whole level still conflicts with owner 3's exclusive "b".
        self.assertNoResult(waiting[2])
        self.manager.release(3, LEVEL_INSTANCE)
        self.successResultOf(waiting[2])

    def test_shared_all_with_shared_names(self):
        """A shared whole level coexists with shared names, both ways."""
        self.manager.acquire(1, LEVEL_NODE, ["n1"], shared=True)
        self.successResultOf(
            self.manager.acquire(2, LEVEL_NODE, ALL_SET, shared=True)
        )
        self.successResultOf(
            self.manager.acquire(3, LEVEL_NODE, ["n2"], shared=True)
        )

    def test_shared_all_conflicts_with_exclusive_names(self):
        """A shared whole level and an exclusive name exclude each other."""
        self.manager.acquire(1, LEVEL_NODE, ["n1"])
        shared_all = self.manager.acquire(2, LEVEL_NODE, ALL_SET, shared=True)
        self.assertNoResult(shared_all)
        self.manager.release(1, LEVEL_NODE)
        self.successResultOf(shared_all)
        exclusive_name = self.manager.acquire(3, LEVEL_NODE, ["n2"])
        self.assertNoResult(exclusive_name)
        self.manager.release(2, LEVEL_NODE)
        self.successResultOf(exclusive_name)

    def test_queued_all_not_starved(self):
        """
        Once an exclusive whole-level request waits, later requests for
        other names at that level queue behind it.
        """
        self.manager.acquire(1, LEVEL_NODE, ["n1"])
        whole = self.manager.acquire(2, LEVEL_NODE, ALL_SET)
        later = self.manager.acquire(3, LEVEL_NODE, ["n2"])
        self.assertNoResult(later)
        self.manager.release(1, LEVEL_NODE)
        self.successResultOf(whole)
        self.assertNoResult(later)
        self.manager.release(2, LEVEL_NODE)
        self.successResultOf(later)

    def test_levels_independent(self):
        """Holding a whole level does not affect other levels."""
        self.manager.acquire(1, LEVEL_NODE, ALL_SET)
        self.successResultOf(self.manager.acquire(2, LEVEL_INSTANCE, ["a"]))
        self.successResultOf(self.manager.acquire(3, LEVEL_NODEGROUP, ALL_SET))

    def test_all_covers_names(self):
        """Names asked for under a held whole level are a no-op."""
        self.manager.acquire(1, LEVEL_NODE, ALL_SET)
        d = self.manager.acquire(1, LEVEL_NODE, ["n2", "n1"])
        self.assertEqual(self.successResultOf(d), ["n1", "n2"])
        self.assertIs(
            self.successResultOf(self.manager.acquire(1, LEVEL_NODE, ALL_SET)),
            ALL_SET,
        )

    def test_names_then_all_refused(self):
        """Holding names, the same owner cannot ask for the whole level."""
        self.manager.acquire(1, LEVEL_NODE, ["n1"])
        self.failureResultOf(self.manager.acquire(1, LEVEL_NODE, ALL_SET), LockError)


class CancelReleaseTests(SynchronousTestCase):
    """Giving locks back, by release or by cancelling an acquire."""

    def setUp(self):
        self.manager = LockManager()

    def test_cancel_returns_only_this_call(self):
        """
        Cancelling a half-done acquire gives back what it took and withdraws
        what it waits for; locks from the owner's earlier calls stay held.
        """
        self.manager.acquire(1, LEVEL_INSTANCE, ["web1"])
        self.manager.acquire(2, LEVEL_NODE, ["n2"])
        d = self.manager.acquire(1, LEVEL_NODE, ["n1", "n2"])
        self.assertEqual(self.manager.owned(1, LEVEL_NODE), {"n1"})
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertFalse(self.manager.is_waiting(1))
        self.assertEqual(self.manager.owned(1, LEVEL_INSTANCE), {"web1"})
        self.assertEqual(self.manager.owned(1, LEVEL_NODE), set())
        self.successResultOf(self.manager.acquire(3, LEVEL_NODE, ["n1"]))
        self.manager.release(2, LEVEL_NODE)
        self.assertEqual(self.manager.owned(1, LEVEL_NODE), set())
        self.assertNoResult(self.manager.acquire(4, LEVEL_INSTANCE, ["web1"]))
        # The owner may try the level again afterwards.
        self.successResultOf(self.manager.acquire(1, LEVEL_NODE, ["n2"]))

    def test_cancel_unblocks_queue(self):
        """Withdrawing a blocked head waiter lets compatible waiters in."""
        self.manager.acquire(1, LEVEL_NODE, ["n1"], shared=True)
        writer = self.manager.acquire(2, LEVEL_NODE, ["n1"])
        reader = self.manager.acquire(3, LEVEL_NODE, ["n1"], shared=True)
        writer.cancel()
        self.failureResultOf(writer, CancelledError)
        self.successResultOf(reader)

    def test_cancel_after_fire_noop(self):
        """Cancelling a fired acquire changes nothing."""
        d = self.manager.acquire(1, LEVEL_NODE, ["n1"])
        self.successResultOf(d)
        d.cancel()
        self.assertEqual(self.manager.owned(1, LEVEL_NODE), {"n1"})

    def test_release_wakes_next(self):
        """Releasing a lock grants it to the next waiter."""
        self.manager.acquire(1, LEVEL_NODE, ["n1", "n2"])
        d = self.manager.acquire(2, LEVEL_NODE, ["n2"])
        self.manager.release(1, LEVEL_NODE, ["n1"])
        self.assertNoResult(d)
        self.manager.release(1, LEVEL_NODE, ["n2"])
        self.assertEqual(self.successResultOf(d), ["n2"])

    def test_release_level(self):
        """Releasing with no names gives back the whole held level."""
        self.manager.acquire(1, LEVEL_INSTANCE, ["a", "b"])
        self.manager.acquire(1, LEVEL_NODE, ["n1"])
        self.manager.release(1, LEVEL_NODE)
        self.assertEqual(self.manager.owned(1, LEVEL_NODE), set())
        self.assertEqual(self.manager.owned(1, LEVEL_INSTANCE), {"a", "b"})

    def test_release_not_held(self):
        """Releasing a lock the owner does not hold is an error."""
        self.manager.acquire(1, LEVEL_NODE, ["n1"])
        self.assertRaises(LockError, self.manager.release, 1, LEVEL_NODE, ["n2"])
        self.assertRaises(LockError, self.manager.release, 1, LEVEL_NODE, ALL_SET)
        self.assertEqual(self.manager.owned(1, LEVEL_NODE), {"n1"})

    def test_release_while_acquiring_level(self):
        """The level an owner is still acquiring cannot be released."""
        self.manager.acquire(2, LEVEL_NODE, ["n2"])
        self.manager.acquire(1, LEVEL_NODE, ["n1", "n2"])
        self.assertRaises(LockError, self.manager.release, 1, LEVEL_NODE)

    def test_release_all_cancels(self):
        """
        ``release_all`` fails a pending acquire with CancelledError and
        gives everything back, waking the waiters.
        """
        self.manager.acquire(1, LEVEL_INSTANCE, ["a"])
        self.manager.acquire(2, LEVEL_NODE, ["n1"])
        pending = self.manager.acquire(1, LEVEL_NODE, ["n1"])
        other = self.manager.acquire(3, LEVEL_INSTANCE, ["a"])
        self.manager.release_all(1)
        self.failureResultOf(pending, CancelledError)
        self.successResultOf(other)
        self.assertFalse(self.manager.is_waiting(1))
        self.manager.release_all(2)
        self.manager.release_all(3)
        self.assertEqual(self.manager.describe(), [])

    def test_unused_locks_forgotten(self):
        """Locks nobody holds or waits for disappear."""
        for i in range(50):
            name = "web%d" % (i,)
            self.manager.acquire(i, LEVEL_INSTANCE, [name])
            self.manager.acquire(i, LEVEL_NODE, ALL_SET, shared=True)
            self.manager.release_all(i)
        self.assertEqual(self.manager.describe(), [])

    def test_reentrant_callbacks(self):
        """
        A callback on a granted acquire may release and acquire again; the
        effects are applied before the outer call returns.
        """
        self.manager.acquire(1, LEVEL_NODE, ["n1"])
        steps = []

        def granted(_):
            steps.append("got n1")
            self.manager.release(2, LEVEL_NODE)
            d = self.manager.acquire(2, LEVEL_NODE, ["n2"])
            d.addCallback(lambda _: steps.append("got n2"))

        self.manager.acquire(2, LEVEL_NODE, ["n1"]).addCallback(granted)
        third = self.manager.acquire(3, LEVEL_NODE, ["n1"])
        self.manager.release(1, LEVEL_NODE)
        self.assertEqual(steps, ["got n1", "got n2"])
        self.successResultOf(third)


class DescribeTests(SynchronousTestCase):
    """The ``gnt-debug locks`` view."""

    def test_describe(self):
        """
        Every lock in use is listed by name with its mode, sorted holders
        and queue; consecutive shared waiters are grouped, and named locks
        show the level-wide ``[lockset]`` held shared.
        """
        manager = LockManager()
        manager.acquire(1, LEVEL_CLUSTER, [BGL], shared=True)
        manager.acquire(2, LEVEL_CLUSTER, [BGL], shared=True)
        manager.acquire(1, LEVEL_INSTANCE, ["web1"])
        manager.acquire(3, LEVEL_INSTANCE, ["web1"], shared=True)
        manager.acquire(2, LEVEL_INSTANCE, ["web1"], shared=True)
        manager.acquire(4, LEVEL_INSTANCE, ["web1"])
        manager.acquire(5, LEVEL_NODE, ALL_SET)
        self.assertEqual(
            manager.describe(),
            [
                {"name": "cluster/BGL", "mode": "shared", "owner": [1, 2],
                 "pending": []},
                {"name": "instance/[lockset]", "mode": "shared",
                 "owner": [1, 2, 3, 4], "pending": []},
                {"name": "instance/web1", "mode": "exclusive", "owner": [1],
                 "pending": [["shared", [2, 3]], ["exclusive", [4]]]},
                {"name": "node/[lockset]", "mode": "exclusive", "owner": [5],
                 "pending": []},
            ],
        )

    def test_describe_mixed_owner_types(self):
        """Owners that do not compare are listed in ``repr`` order."""
        manager = LockManager()
        manager.acquire("job", LEVEL_NODE, ["n1"], shared=True)
        manager.acquire(7, LEVEL_NODE, ["n1"], shared=True)
        [_, entry] = manager.describe()
        self.assertEqual(entry["owner"], ["job", 7])


# Few names, so requests collide often.
_NAMES = ["a", "b", "c"]


@st.composite
def _plans(draw):
    """
    One owner's plan: acquisitions at strictly increasing levels, each
    ``(level, names or ALL_SET, shared, priority)``.
    """
    levels = draw(
        st.lists(st.sampled_from(LEVELS[:4]), min_size=1, max_size=3, unique=True)
    )
    plan = []
    for level in sorted(levels, key=LEVELS.index):
        if level == LEVEL_CLUSTER:
            names = draw(st.sampled_from([[BGL], ALL_SET]))
        else:
            names = draw(
                st.one_of(
                    st.just(ALL_SET),
                    st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3),
                )
            )
        plan.append((level, names, draw(st.booleans()), draw(st.integers(-1, 1))))
    return plan


def _overlap(first, second):
    """
    :param first: ``(level, name, shared)``, ``name`` maybe ``ALL_SET``.
    :param second: the same.
    :return: whether two different owners may not hold both at once.
    """
    (level_a, name_a, shared_a), (level_b, name_b, shared_b) = first, second
    if level_a != level_b or (shared_a and shared_b):
        return False
    return name_a == name_b or name_a is ALL_SET or name_b is ALL_SET


class ConcurrencyTests(SynchronousTestCase):
    """Many owners at once, checked against an independent model."""

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        plans=st.lists(_plans(), min_size=1, max_size=8),
        data=st.data(),
    )
    def test_many_acquirers(self, plans, data):
        """
        Owners working through random plans, released in random order once
        they have everything (some cancelled midway), all finish: no
        deadlock, no conflicting holders at any time, and the manager ends
        empty.
        """
        manager = LockManager()
        holdings = {}  # owner -> list of (level, name, shared)
        finished = []  # owners holding all they planned, not yet released
        outcome = {}
        pending = {}  # owner -> (Deferred it waits on, level asked for)
        # Callbacks cannot fail the test directly: a failed assertion there
        # would only become an unhandled error in a Deferred.
        problems = []

        def start(owner, step):
            if step == len(plans[owner]):
                finished.append(owner)
                return
            level, names, shared, priority = plans[owner][step]
            d = manager.acquire(owner, level, names, shared=shared, priority=priority)
            pending[owner] = (d, level)
            d.addCallbacks(got, cancelled, (owner, step), None, (owner,))
            d.addErrback(problems.append)

        def got(result, owner, step):
            del pending[owner]
            level, _, shared, _ = plans[owner][step]
            names = [ALL_SET] if result is ALL_SET else result
            new = [(level, name, shared) for name in names]
            for other, held in holdings.items():
                for mine in new:
                    for theirs in held:
                        if other != owner and _overlap(mine, theirs):
                            problems.append((owner, mine, other, theirs))
            holdings.setdefault(owner, []).extend(new)
            start(owner, step + 1)

        def cancelled(failure, owner):
            failure.trap(CancelledError)
            del pending[owner]
            outcome[owner] = "cancelled"

        for owner in range(len(plans)):
            start(owner, 0)
        while finished or pending:
            self.assertEqual(problems, [])
            self.assertTrue(finished, "deadlock: %r wait forever" % (pending,))
            if pending and data.draw(st.integers(0, 9)) == 0:
                victim = data.draw(st.sampled_from(sorted(pending)))
                # Forget its holdings first: releasing wakes other owners.
                holdings.pop(victim, None)
                d, level = pending[victim]
                earlier = {lvl: manager.owned(victim, lvl) for lvl in LEVELS}
                earlier[level] = set()
                d.cancel()
                # Only the locks of the cancelled call are given back.
                self.assertEqual(
                    {lvl: manager.owned(victim, lvl) for lvl in LEVELS}, earlier
                )
                manager.release_all(victim)
                continue
            owner = finished.pop(data.draw(st.integers(0, len(finished) - 1)))
            self.assertFalse(manager.is_waiting(owner))
            outcome[owner] = "done"
            holdings.pop(owner, None)
            manager.release_all(owner)
            for entry in manager.describe():
                if entry["mode"] == "exclusive":
                    self.assertEqual(len(entry["owner"]), 1, entry)

        self.assertEqual(problems, [])
        self.assertEqual(sorted(outcome), list(range(len(plans))))
        self.assertEqual(manager.describe(), [])
        for owner in outcome:
            self.assertFalse(manager.is_waiting(owner))
