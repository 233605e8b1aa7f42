"""Sleeps in atomic context inherited from the callers: a function that sleeps by
itself (not on its own lock's section, not after dropping its caller's lock) while
every one of its callers calls it holding a spinlock, a raw spinlock, an rwlock, RCU,
or with preemption, interrupts or bottom halves off.

Only static functions are judged (by their callers in the same file); a caller
without the lock, on any path, or one we cannot analyse clears the function. A
function nobody visibly calls is never reported: it may be a callback run in
process context.
"""

from __future__ import annotations

from dataclasses import dataclass

from patchlint.analysis.callers import call_sites, callers_holding
from patchlint.analysis.calls import Call, call_args
from patchlint.analysis.facts import Assumption, FileFacts
from patchlint.analysis.faults import fault_only, faults_disabled
from patchlint.analysis.guards import NEVER, constant_argument, decide
from patchlint.analysis.sleep import (
    SleepSummary,
    file_flag_values,
    forbidding,
    scan_calls,
    sleep_summary,
)
from patchlint.analysis.state import Held, LockState
from patchlint.source import FunctionDef


@dataclass(frozen=True)
class InheritedSleep:
    """``fn`` sleeps at ``call`` (through ``chain``) and every caller holds ``held``."""

    fn: FunctionDef
    call: Call
    chain: tuple[str, ...]
    rule: str  # sleep-in-atomic, or rcu-sleep when the callers hold RCU only
    held: Held
    callers: Assumption


def inherited_sleep(ff: FileFacts, fn: FunctionDef) -> InheritedSleep | None:
    """The function's unconditional sleep, if all its callers are atomic at the call."""
    key = f"inherited-sleep:{fn.name}@{fn.start_byte}"
    if key in ff.memo:
        cached = ff.memo[key]
        return cached if isinstance(cached, InheritedSleep) else None
    ff.memo[key] = None
    # Global functions' callers are all over the tree: asking for them for every
    # sleeping function would cost a whole-tree scan a second pass over most files.
    if not fn.is_static or fn.body is None:
        return None
    sites = call_sites(ff, fn, False)
    if not sites:
        # Nobody here calls it (a callback of an ops table): nothing is inherited. Asked
        # before its sleep summary, which may need the tree's table of other files.
        return None
    early = sleep_summary(ff, fn)
    if not isinstance(early, SleepSummary) or early.gfp_param is not None:
        return None
    # A sleep its arguments choose is judged per call: a caller whose constants keep
    # it off the sleeping path is not one of those that must hold the lock; one whose
    # constants cannot be judged clears the function.
    kept_off: set[int] = set()
    if early.guarded:
        for _file, caller, node in sites:
            args = call_args(node)
            outcome = decide(early.when, args, caller, file_flag_values(ff))
            if outcome == NEVER:
                kept_off.add(node.start_byte)
            elif outcome is None and constant_argument(args):
                return None
    scanned = scan_calls(ff, fn)
    summary = scanned.summary
    if summary is None or scanned.site is None or summary.gfp_param is not None or summary.drops:
        return None
    kb = ff.kb
    kinds: set[str] = set()
    seen: list[Held] = []
    # A user access faulting is no sleep for a caller with page faults disabled.
    faulting = fault_only(summary.chain, summary.gfp_param, kb)

    def holder(state: LockState) -> Held | None:
        # A lock whose owner a caller passed to a function we do not know may have
        # been dropped there; every caller holding it at the call still says the
        # callee runs under it (callers that drop and retake are rare, and all agree).
        held = forbidding(
            state._replace(held=tuple(h._replace(handed=False) for h in state.held)), kb
        )
        if not held or (faulting and faults_disabled(state, kb) is not None):
            return None
        atomic = [h for h in held if (k := kb.kind(h.kind)) is not None and k.atomic]
        kinds.add("atomic" if atomic else "rcu")
        seen.append((atomic or list(held))[0])
        return seen[-1]

    verdict = callers_holding(ff, fn, holder, skip=lambda node: node.start_byte in kept_off)
    if verdict.protected is None or not seen:
        return None
    node = scanned.site
    call = Call(
        summary.chain[0],
        call_args(node),
        node.start_point[0] + 1,
        node.start_point[1] + 1,
        node.start_byte,
    )
    rule = "sleep-in-atomic" if "atomic" in kinds else "rcu-sleep"
    found = InheritedSleep(fn, call, summary.chain, rule, seen[0], verdict.protected)
    ff.memo[key] = found
    return found
