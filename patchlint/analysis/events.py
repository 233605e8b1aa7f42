"""What the lock analysis records for the rules, and what it needs per function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from patchlint.analysis.calls import Call
from patchlint.analysis.identity import Resolver
from patchlint.analysis.state import Effect, Held, LockState

MAX_DEPTH = 3  # entries of one lock kept per path (nesting deeper is folded)


@dataclass
class FunctionContext:
    """What the analysis of one function needs besides its CFG."""

    name: str
    resolver: Resolver
    tracked: frozenset[str] = frozenset()  # condition atoms worth remembering
    kinds_by_lock: dict[str, str] = field(default_factory=dict)  # for lockdep_assert_held
    kinds_by_shape: dict[str, str] = field(default_factory=dict)  # the file's, see facts.py
    struct_types: Mapping[str, str] = field(default_factory=dict)  # pointer -> struct declared
    entry: LockState = LockState()
    pinning: tuple[str, ...] = ()  # protections that keep a found task alive (tasklist...)
    pure_calls: frozenset[str] = frozenset()
    noreturn: frozenset[str] = frozenset()  # this file's functions declared not to return
    # Returned variables and the atom that says they hold an error (`IS_ERR(p)`).
    error_atoms: dict[str, str] = field(default_factory=dict)
    finds_tasks: bool = False  # the function calls a task lookup (rcu-task-escape)
    # The function's annotations say it releases a lock its caller holds (`__releases`,
    # `__releases(x) __acquires(x)` to drop and retake it): a caller's lock it asserts is
    # one a callee handed that lock may drop.
    drops_callers: bool = False


@dataclass
class CallSite:
    call: Call
    node: int
    states: set[LockState] = field(default_factory=set)


@dataclass
class Anomaly:
    """Something a balance rule may report: what, where, and the states it happened in."""

    what: str  # "underflow", "double", "irq-mismatch", "flags-reuse"
    call: Call
    node: int
    effect: Effect
    other: Held | None = None  # the entry it clashed with
    states: set[LockState] = field(default_factory=set)


@dataclass
class Events:
    """What the replay pass saw, for the rules."""

    calls: dict[int, CallSite] = field(default_factory=dict)
    # Acquisitions by scope guards (`scoped_guard(mutex, &m)`), keyed by their
    # negative pseudo-start: no AST call node stands for them.
    guards: dict[int, CallSite] = field(default_factory=dict)
    anomalies: dict[tuple[str, int], Anomaly] = field(default_factory=dict)
    # (kind, lock) -> CFG nodes acquiring it while the path had not dropped it (proof
    # the callers do not hold it, when the acquisition does not depend on an input).
    clean_acquires: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    iters: dict[int, set[LockState]] = field(default_factory=dict)
    returns: dict[int, set[LockState]] = field(default_factory=dict)
    escapes: list[tuple[int, str, int, int, int, str]] = field(default_factory=list)


def push(held: tuple[Held, ...], entry: Held) -> tuple[Held, ...]:
    """``held`` with ``entry`` added, keeping at most MAX_DEPTH entries of one lock."""
    same = [h for h in held if h.kind == entry.kind and h.lock == entry.lock]
    if len(same) >= MAX_DEPTH:
        index = held.index(same[0])
        held = held[:index] + held[index + 1 :]
    return (*held, entry)


def without(held: tuple[Held, ...], entry: Held) -> tuple[Held, ...]:
    """``held`` without its last occurrence of ``entry``."""
    for index in range(len(held) - 1, -1, -1):
        if held[index] is entry or held[index] == entry:
            return held[:index] + held[index + 1 :]
    return held
