"""The lock state along one path: the analysis stage's typed hand-off to the rules.

A ``LockState`` is an immutable value; the analysis keeps a *set* of them per
CFG node (paths are not merged), so a rule can tell "held on every path" from
"held on some".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

# How a held entry came to be held.
TAKEN = "lock"  # acquired by this function
GUARD = "guard"  # acquired by guard()/scoped_guard(), dropped at scope end
ASSERTED = "assert"  # proved by an assertion (held by the caller)
ENTRY = "entry"  # held on entry by annotation (__must_hold, __releases)
HELPER = "helper"  # acquired inside a callee (its summary)
MAYBE = "maybe"  # held or not depending on data we do not track

OWN = frozenset({TAKEN, HELPER})
CALLERS = frozenset({ASSERTED, ENTRY})


class Held(NamedTuple):
    """One lock held on a path."""

    kind: str  # a [kind.<id>] of locks.toml, or "any"
    lock: str  # canonical identity; "" for unkeyed kinds (RCU, preemption...)
    mode: str  # "", "read", "write"
    line: int
    how: str  # TAKEN, GUARD, ASSERTED, ENTRY, HELPER, MAYBE
    via: str  # the call that took it (spin_lock_irqsave, a helper's name)
    irq: str = ""  # "", "disable", "bh", "save:<flags variable>"
    # A variable its name is computed from changed while it was held: it is
    # some other object's lock now, so it is never matched by name again.
    detached: bool = False
    shown: str = ""  # the lock as the code wrote it, for messages
    # A call the analysis knows nothing about ran since: it may have dropped and
    # retaken the lock, so taking it again is not claimed to deadlock.
    opaque: bool = False
    # A second name for the same lock after a copy (`p = parent;` while holding
    # parent->d_lock: p->d_lock).
    alias: str = ""
    # Passed (or its owner) to a call the analysis knows nothing about, which may
    # have dropped it (`task_rq_unlock(rq, p, rf)`): not claimed held any more.
    handed: bool = False

    @property
    def definite(self) -> bool:
        """Held for sure (whatever object its name now denotes)."""
        return self.how != MAYBE and not self.handed

    @property
    def matchable(self) -> bool:
        """Held for sure, and its name still denotes the object that was locked."""
        return self.how != MAYBE and not self.detached

    def same_lock(self, kind: str, lock: str) -> bool:
        named = self.lock == lock or (bool(self.alias) and self.alias == lock)
        return named and (self.kind == kind or "any" in (self.kind, kind))


class Pending(NamedTuple):
    """A try-acquire, or a conditional release, whose outcome the code has not tested yet."""

    key: str  # the variable holding the result, or "#<byte>" of the call
    held: Held
    success: str  # "nonzero", "zero", "nonnull": the result that says it happened
    release: bool = False  # a callee that drops the lock exactly when it says so


class Dropped(NamedTuple):
    """A lock released on this path that this path did not take: the caller's."""

    kind: str
    lock: str
    line: int
    irq: str = ""  # how the release treated interrupts ("restore", "enable", "bh")
    flags: str = ""
    maybe: bool = False  # by a callee that drops it on some of its paths only


class LockState(NamedTuple):
    held: tuple[Held, ...] = ()
    pending: tuple[Pending, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    # Locks this function took and released again on this path (a later release
    # of the same lock is then a double unlock, not the caller's lock).
    released: frozenset[tuple[str, str]] = frozenset()
    # Locks this function took on this path at some point (held or not now).
    taken: frozenset[tuple[str, str]] = frozenset()
    # Outcomes of conditions tested more than once (conditions.py).
    facts: frozenset[tuple[str, bool]] = frozenset()
    # rcu-task-escape: task pointers valid only inside the RCU section (var, line),
    # and those whose section ended (var, found line, unlock line).
    taint: frozenset[tuple[str, int]] = frozenset()
    dangling: frozenset[tuple[str, int, int]] = frozenset()
    # A call the analysis knows nothing about ran on this path: it may have taken
    # any lock, so a release is not claimed to find the lock free.
    opaque: bool = False
    # Only calls the analysis knows nothing about that could not reach the function's
    # locks ran (reach.py): a release is still claimed to find the lock as it was,
    # unless a branch decides it (the branch may test what such a call returned).
    unknown_ran: bool = False
    # Locks whose try-acquire failed on this path: releasing one is releasing a lock
    # this path knows it does not hold.
    failed: frozenset[tuple[str, str]] = frozenset()

    def definite(self) -> tuple[Held, ...]:
        return tuple(h for h in self.held if h.definite)

    def holds_kind(self, kind: str) -> bool:
        return any(h.kind == kind and h.definite for h in self.held)

    def holding(self, kind: str, lock: str) -> Held | None:
        for held in reversed(self.held):
            if held.matchable and held.same_lock(kind, lock):
                return held
        return None


class Effect(NamedTuple):
    """What one call does to the lock state, with the lock named at the call site."""

    op: str  # "acquire", "release", "try", "assert", "maybe", "unsure", "release_like"...
    kind: str
    lock: str
    mode: str = ""
    irq: str = ""  # acquire: "disable", "save", "bh"; release: "enable", "restore", "bh"
    flags: str = ""
    success: str = "nonzero"
    via: str = ""
    helper: bool = False  # the effect comes from a callee's summary, not the data
    shown: str = ""  # the lock as the call site writes it
    # The same lock named through the pointer the call returned (`m = lock_it(kn);`
    # then `mutex_unlock(m)`), for a helper that takes a lock and returns it.
    alias: str = ""
    # op "release_like": the lock as a typed shape ("drm_device:?->object_name_lock"),
    # for a callee's release named through its own local (identity.typed_shape).
    shape: str = ""
    # An alternative of a conditional summary (choices.py): applies on the paths where
    # the atom ``when`` (an argument, or with ``when_result`` the variable the result
    # is stored in) has the truth ``when_value``.
    when: str = ""
    when_value: bool = True
    when_result: bool = False


def state_order(state: LockState) -> str:
    """A key that orders states the same way in every run: a set of states iterates
    in an order that follows the hash seed, and a summary read off the first
    matching state would change between runs."""
    return repr(
        tuple(sorted(map(repr, part)) if isinstance(part, frozenset) else part for part in state)
    )


def in_order(states: Iterable[LockState]) -> list[LockState]:
    """States in a fixed order, by what they hold (lines as numbers: the first
    acquisition first), then by ``state_order``: where the first one is shown as
    evidence, a set's order would follow the hash seed, and a lock taken at two lines on
    the way (before a loop and again inside it) gave either line."""
    return sorted(states, key=lambda state: (state.held, state_order(state)))
