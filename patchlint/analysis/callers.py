"""Protection inherited from callers: every caller holds the lock at the call.

A protection is a predicate over held locks, named in kernel/locks.toml
[protection.<id>] (a kind, a lock name pattern, or any atomic context). Static
functions are judged by their callers in the same file; global ones by their
callers tree-wide when a function index is available. A function with no visible
caller inherits nothing (it may be a callback whose caller we cannot see, which
the rules report with lower confidence).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tree_sitter import Node

from patchlint.analysis.assumptions import declared_assumptions
from patchlint.analysis.facts import Assumption, FileFacts
from patchlint.analysis.kb import Knowledge, Protection
from patchlint.analysis.state import MAYBE, Held, LockState, in_order
from patchlint.source import FunctionDef

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


def protects(protection: Protection, held: Held, kb: Knowledge) -> bool:
    # Handed to an unknown callee, the lock may have been dropped there; for a walk
    # right after, held is still the better guess than not held.
    if held.how == MAYBE:
        return False
    if protection.kind is not None and held.kind == protection.kind:
        return True
    if protection.lock is not None and held.lock and protection.lock.search(held.lock):
        return True
    if protection.atomic:
        kind = kb.kind(held.kind)
        excluded = protection.exclude_lock is not None and bool(
            held.lock and protection.exclude_lock.search(held.lock)
        )
        return kind is not None and kind.atomic and not excluded
    return False


def protecting(state: LockState, names: Iterable[str], kb: Knowledge) -> Held | None:
    """The first held lock that is one of the named protections, or None."""
    wanted = [kb.protections[name] for name in names if name in kb.protections]
    for held in state.held:
        if any(protects(protection, held, kb) for protection in wanted):
            return held
    return None


def _facts_for(ff: FileFacts, path: str) -> FileFacts | None:
    if path == ff.path:
        return ff
    # The same path reads differently in each state of a series (pipeline.SeriesView).
    key = f"{path}\0{getattr(ff.index, 'state', '')}"
    cached = _OTHER_FILES.get(key)
    if cached is not None:
        _OTHER_FILES.move_to_end(key)
        return cached
    if ff.index is None:
        return None
    try:
        source = ff.index.source(path)
    except (OSError, ValueError):  # an unreadable file is a caller we cannot judge
        return None
    if source is None:
        return None
    other = FileFacts(source, path, ff.index)
    _OTHER_FILES[key] = other
    if len(_OTHER_FILES) > _OTHER_FILES_MAX:
        _OTHER_FILES.popitem(last=False)
    return other


def call_sites(
    ff: FileFacts, fn: FunctionDef, remote: bool = True, tree_wide: bool = False
) -> list[tuple[FileFacts, FunctionDef, Node]] | None:
    """(facts of the caller's file, caller FunctionDef, call node) for each call.

    ``tree_wide`` also asks the tree about a static function of a header (the files
    including it call it) and counts the calls of a macro of its file that only
    renames it (`#define alias(a, b) fn(a, b)`) as calls of it."""
    names = [fn.name, *(renaming_macros(ff, fn.name) if tree_wide else ())]
    sites: list[tuple[FileFacts, FunctionDef, Node]] = []
    for name in names:
        for node in ff.call_index.calls_of(name):
            caller = ff.function_containing(node.start_byte)
            if caller is not None and caller.name != fn.name:
                sites.append((ff, caller, node))
    shared = not fn.is_static or (tree_wide and ff.path.endswith(".h"))
    # Tree-wide callers are asked for only about the function itself (unless
    # ``tree_wide``): following global chains across files costs a tree search per
    # link and rarely decides.
    if shared and ff.index is not None and remote:
        for name in names:
            try:
                found = ff.index.callers(name)
            except (OSError, ValueError, RuntimeError):
                found = []
            for path, caller, site in found:
                if path == ff.path or caller is None or caller.name == fn.name:
                    continue
                other = _facts_for(ff, path)
                if other is None:
                    return None
                sites.append((other, other.source.function(caller.name) or caller, site.node))
            if len(sites) > MAX_CALLERS:
                return None
    return sites


# `#define name(params) body`, with continued lines.
_MACRO = re.compile(
    r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\(([^)]*)\)((?:[^\n]*\\\n)*[^\n]*)", re.M
)


def renaming_macros(ff: FileFacts, name: str) -> tuple[str, ...]:
    """Macros of the file whose whole expansion is one call of ``name``
    (`#define arch_op(a, b) op_local(a, b)`): calling them calls it."""
    key = f"renaming-macros:{name}"
    cached = ff.memo.get(key)
    if isinstance(cached, tuple):
        return cached
    found: list[str] = []
    text = ff.source.text
    if name in text:
        for match in _MACRO.finditer(text):
            body = match.group(3).replace("\\\n", " ").strip()
            if match.group(1) != name and _one_call(body, name):
                found.append(match.group(1))
    result = tuple(found)
    ff.memo[key] = result
    return result


def _one_call(body: str, name: str) -> bool:
    """``body`` is `name(...)` and nothing else (its parentheses close at the end)."""
    rest = body[len(name) :].lstrip() if body.startswith(name) else ""
    if not rest.startswith("("):
        return False
    depth = 0
    for position, char in enumerate(rest):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return position == len(rest) - 1
    return False


def caller_protection(
    ff: FileFacts,
    fn: FunctionDef,
    locks: set[str],
    depth: int = 0,
    seen: frozenset[str] = frozenset(),
) -> CallerVerdict:
    """Whether every caller of ``fn`` holds one of the protections ``locks``."""
    kb = ff.kb
    return callers_holding(
        ff,
        fn,
        lambda state: protecting(state, locks, kb),
        lambda facts_file, caller: [
            a for a in declared_assumptions(facts_file, caller) if a.lock in locks
        ],
        depth,
        seen,
    )


# What a caller's state at the call holds that answers the question, if anything.
Holder = Callable[[LockState], "Held | None"]
# What a caller's own declarations (annotations, comments) say its callers hold.
Declared = Callable[[FileFacts, FunctionDef], list[Assumption]]


def callers_holding(
    ff: FileFacts,
    fn: FunctionDef,
    holder: Holder,
    declared_by: Declared | None = None,
    depth: int = 0,
    seen: frozenset[str] = frozenset(),
    skip: Callable[[Node], bool] | None = None,
    tree_wide: bool = False,
) -> CallerVerdict:
    """Whether every caller of ``fn`` calls it holding what ``holder`` looks for, on
    every path to the call (or, up to MAX_DEPTH, is itself called so). Calls ``skip``
    accepts (the arguments keep the callee off the path in question) do not count.
    ``tree_wide``: callers are looked for in the whole tree at every depth (see
    ``call_sites``), and the first caller without it decides."""
    verdict = CallerVerdict(None)
    if depth >= MAX_DEPTH or fn.name in seen:
        return verdict
    sites = call_sites(ff, fn, remote=depth == 0 or tree_wide, tree_wide=tree_wide)
    if sites and skip is not None:
        sites = [site for site in sites if not skip(site[2])]
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
            states = entry.states if entry is not None else None
        if states and all(holder(state) is not None for state in states):
            if not chain_example:
                chain_example = [(facts_file.path, caller.name, line)]
                held = holder(in_order(states)[0])
                lock_example = f"{held.lock or held.kind} taken at line {held.line}" if held else ""
            continue
        # The caller itself may be protected on entry.
        declared = declared_by(facts_file, caller) if declared_by is not None else []
        if declared:
            if not chain_example:
                chain_example = [(facts_file.path, caller.name, line)]
                lock_example = declared[0].message
            continue
        inner = callers_holding(
            facts_file, caller, holder, declared_by, depth + 1, seen, tree_wide=tree_wide
        )
        if inner.protected is not None:
            if not chain_example:
                chain_example = [(facts_file.path, caller.name, line), *inner.protected.chain]
                lock_example = inner.protected.lock
            continue
        verdict.unprotected.append((facts_file.path, caller.name, line))
        if tree_wide:
            return verdict  # asking the tree about the others would decide nothing
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
