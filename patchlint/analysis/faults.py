"""User accesses with page faults disabled: not sleeps.

A user accessor (`get_user()`, `copy_from_user()`: sleeping.toml's `faulting`) sleeps
only to fault the user page in. Where page faults are disabled (a lock kind with
`faults_disabled` in locks.toml: `pagefault_disable()`) the fault fails the access
with -EFAULT instead, so the call does not sleep. Disabling page faults does not
make the context atomic: every other sleep still counts, and it is no finding by
itself.

Page faults are disabled at a call when they are on every path of the function to
it, or when every caller of the function, tree-wide (also a static function of a
header, through the header's renaming macros, up to callers.MAX_DEPTH links), calls
it with page faults disabled: the futex helpers of the arch headers run under
kernel/futex's `pagefault_disable()`. A function nobody visibly calls inherits
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from patchlint.analysis.callers import callers_holding
from patchlint.analysis.facts import Assumption, FileFacts
from patchlint.analysis.kb import Knowledge
from patchlint.analysis.state import Held, LockState
from patchlint.source import FunctionDef


def fault_only(chain: tuple[str, ...], gfp_param: int | None, kb: Knowledge) -> bool:
    """The sleep of this chain of calls is a user access faulting, nothing else."""
    return gfp_param is None and bool(chain) and chain[-1] in kb.faulting


def faults_disabled(state: LockState, kb: Knowledge) -> Held | None:
    """What disables page faults on this path, if anything does for sure."""
    for held in state.held:
        kind = kb.kind(held.kind)
        if held.definite and kind is not None and kind.faults_disabled:
            return held
    return None


def faults_disabled_on_every_path(states: Iterable[LockState], kb: Knowledge) -> bool:
    found = list(states)
    return bool(found) and all(faults_disabled(state, kb) is not None for state in found)


def callers_disable_faults(ff: FileFacts, fn: FunctionDef) -> Assumption | None:
    """Whether every caller of ``fn`` calls it with page faults disabled (cached)."""
    key = f"callers-disable-faults:{fn.name}@{fn.start_byte}"
    if key in ff.memo:
        cached = ff.memo[key]
        return cached if isinstance(cached, Assumption) else None
    ff.memo[key] = None  # a cycle of callers decides nothing
    kb = ff.kb
    verdict = callers_holding(ff, fn, lambda state: faults_disabled(state, kb), tree_wide=True)
    ff.memo[key] = verdict.protected
    return verdict.protected


def user_access_cannot_sleep(
    ff: FileFacts,
    fn: FunctionDef,
    chain: tuple[str, ...],
    gfp_param: int | None,
    states: Iterable[LockState],
) -> bool:
    """A sleep that is only a user access faulting, made with page faults disabled
    on every path of ``fn`` to it, or by every caller of ``fn``."""
    kb = ff.kb
    if not fault_only(chain, gfp_param, kb):
        return False
    if faults_disabled_on_every_path(states, kb):
        return True
    return callers_disable_faults(ff, fn) is not None
