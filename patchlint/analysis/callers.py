"""Protection inherited from callers: every caller holds the lock at the call.

Static functions are judged by their callers in the same file; global ones by
their callers tree-wide when a ``FunctionIndex`` is available. A function with
no visible caller inherits nothing (it may be a callback whose caller we
cannot see, which the rules report with lower confidence).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from patchlint.analysis.facts import Assumption, FileFacts
from patchlint.analysis.lockstate import LockState

MAX_DEPTH = 3
MAX_CALLERS = 40
_OTHER_FILES: OrderedDict[str, FileFacts] = OrderedDict()
_OTHER_FILES_MAX = 64


@dataclass
class CallerVerdict:
    protected: Assumption | None
    # Call sites found without the protection: (file, function, line).
    unprotected: list[tuple[str, str, int]] = field(default_factory=list)
    callers: int = 0


def state_has(state: LockState, locks: set[str]) -> bool:
    return any(state.holds(lock) for lock in locks)


def _facts_for(ff: FileFacts, path: str) -> FileFacts | None:
    if path == ff.path:
        return ff
    # The same path reads differently in each state of a series (pipeline.SeriesView).
    key = f"{path}\0{getattr(ff.index, 'state', '')}"
    cached = _OTHER_FILES.get(key)
    if cached is not None:
        _OTHER_FILES.move_to_end(key)
        return cached
    try:
        source = ff.index.source(path)
    except Exception:  # an unreadable file is a caller we cannot judge
        return None
    if source is None:
        return None
    other = FileFacts(source, path, ff.index)
    _OTHER_FILES[key] = other
    if len(_OTHER_FILES) > _OTHER_FILES_MAX:
        _OTHER_FILES.popitem(last=False)
    return other


def _call_sites(
    ff: FileFacts, fn: Any, remote: bool = True
) -> list[tuple[FileFacts, Any, Any]] | None:
    """(facts of the caller's file, caller FunctionDef, call node) for each call."""
    sites: list[tuple[FileFacts, Any, Any]] = []
    for node in ff.calls_by_name().get(fn.name, []):
        caller = ff.function_containing(node.start_byte)
        if caller is not None and caller.name != fn.name:
            sites.append((ff, caller, node))
    # Tree-wide callers are asked for only about the function itself: following
    # global chains across files costs a tree search per link and rarely decides.
    if not fn.is_static and ff.index is not None and remote:
        try:
            remote = ff.index.callers(fn.name)
        except Exception:
            remote = []
        for path, caller, site in remote:
            if path == ff.path or caller is None or caller.name == fn.name:
                continue
            other = _facts_for(ff, path)
            if other is None:
                return None
            node = getattr(site, "node", None)
            if node is None:
                return None
            sites.append((other, other.source.function(caller.name) or caller, node))
        if len(sites) > MAX_CALLERS:
            return None
    return sites


def caller_protection(
    ff: FileFacts, fn: Any, locks: set[str], depth: int = 0, seen: frozenset[str] = frozenset()
) -> CallerVerdict:
    """Whether every caller of ``fn`` holds one of ``locks`` when it calls."""
    verdict = CallerVerdict(None)
    if depth >= MAX_DEPTH or fn.name in seen:
        return verdict
    sites = _call_sites(ff, fn, remote=depth == 0)
    if not sites:
        return verdict
    verdict.callers = len(sites)
    seen = seen | {fn.name}
    chain_example: list[tuple[str, str, int]] = []
    lock_example = ""
    for facts_file, caller, node in sites:
        line = node.start_point[0] + 1
        facts = facts_file.facts(caller)
        states = None
        if facts is not None and facts.precise:
            entry = facts.events.calls.get(node.start_byte)
            states = entry[1] if entry is not None else None
        if states and all(state_has(state, locks) for state in states):
            if not chain_example:
                chain_example = [(facts_file.path, caller.name, line)]
                lock_example = _held_name(next(iter(states)), locks)
            continue
        # The caller itself may be protected on entry.
        declared = [a for a in facts_file.declared_assumptions(caller) if a.lock in locks]
        if declared:
            if not chain_example:
                chain_example = [(facts_file.path, caller.name, line)]
                lock_example = declared[0].message
            continue
        inner = caller_protection(facts_file, caller, locks, depth + 1, seen)
        if inner.protected is not None:
            if not chain_example:
                chain_example = [(facts_file.path, caller.name, line), *inner.protected.chain]
                lock_example = inner.protected.lock
            continue
        verdict.unprotected.append((facts_file.path, caller.name, line))
    if verdict.unprotected:
        return verdict
    names = " <- ".join(f"{name}() at {path}:{line}" for path, name, line in chain_example)
    verdict.protected = Assumption(
        lock=lock_example or "caller",
        how="caller",
        message=f"all {len(sites)} caller(s) hold it, e.g. {names} ({lock_example})",
        chain=chain_example,
        confidence="high" if fn.is_static else "medium",
    )
    return verdict


def _held_name(state: LockState, locks: set[str]) -> str:
    for lock in ("rcu", "tasklist", "siglock"):
        if lock in locks and state.holds(lock):
            entries = getattr(state, lock)
            line = entries[-1][1] if lock == "siglock" else entries[-1][0]
            return f"{lock} taken at line {line}"
    return ""
