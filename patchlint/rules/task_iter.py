"""task-iter-unlocked: a task-list walk with neither RCU, tasklist_lock nor siglock held."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from patchlint.analysis.callers import caller_protection
from patchlint.analysis.facts import FileFacts, FunctionFacts, file_facts
from patchlint.analysis.lockstate import LockState
from patchlint.analysis.paths import held_evidence, witness_path
from patchlint.findings import Evidence, Finding

RULE = "task-iter-unlocked"
_LOCK_NAMES = {
    "rcu": "RCU (rcu_read_lock)",
    "tasklist": "tasklist_lock",
    "siglock": "the group's siglock",
    "atomic": "preemption disabled",
}


def _exclusive_context(ff: FileFacts, fn) -> bool:
    """Debugger or stop_machine code: every other CPU is stopped, no lock is needed."""
    path = ff.path.replace("\\", "/")
    if any(pattern.search(path) for pattern in ff.kb.exclusive_paths):
        return True
    comment, _line = ff.leading_comment(fn)
    flat = " ".join(comment.replace("*", " ").split())
    return any(pattern.search(flat) for pattern in ff.kb.exclusive_comments)


def _protected(state: LockState, locks: tuple[str, ...]) -> bool:
    return any(state.holds(lock) for lock in locks)


def check_task_iter_unlocked(unit) -> Iterable[Finding]:
    ff = file_facts(unit)
    for fn in unit.source.functions:
        if not unit.wants(fn.name) or fn.body is None:
            continue
        loops = [
            c
            for start, c in ff.loops.items()
            if fn.start_byte <= start < fn.end_byte
            and c.kind == "iterator"
            and c.name in ff.kb.iterators
        ]
        if not loops or _exclusive_context(ff, fn):
            continue
        facts = ff.facts(fn)
        if facts is None or not facts.precise:
            continue
        yield from _check_function(ff, fn, facts)


def _check_function(ff: FileFacts, fn, facts: FunctionFacts) -> Iterator[Finding]:
    occurrences: Counter[str] = Counter()
    for node_id in sorted(facts.events.iters, key=lambda n: facts.node(n).line):
        node = facts.node(node_id)
        construct = node.info
        spec = ff.kb.iterators.get(getattr(construct, "name", ""))
        if spec is None:
            continue
        label = f"{construct.name}({', '.join(a.strip() for a in construct.args)})"
        key = f"{label}#{occurrences[label]}"
        occurrences[label] += 1
        states = facts.events.iters[node_id]
        bad = [s for s in states if not _protected(s, spec.protected_by)]
        if not bad:
            continue
        locks = set(spec.protected_by)
        declared = [a for a in ff.declared_assumptions(fn) if a.lock in locks]
        if declared:
            continue
        verdict = caller_protection(ff, fn, locks)
        if verdict.protected is not None:
            continue
        if fn.is_static and verdict.callers == 0 and not ff.address_taken(fn.name):
            # Neither called nor referenced here: dead or #ifdef'd-out code, or an
            # excerpt; its calling context is unknown, so say nothing.
            continue
        yield _finding(ff, fn, facts, node_id, construct, spec, key, bad, states, verdict)


def _finding(
    ff: FileFacts,
    fn,
    facts: FunctionFacts,
    node_id: int,
    construct,
    spec,
    key: str,
    bad: list[LockState],
    states: set[LockState],
    verdict,
) -> Finding:
    node = facts.node(node_id)
    needs = " or ".join(_LOCK_NAMES[lock] for lock in spec.protected_by if lock != "atomic")
    evidence: list[Evidence] = [
        Evidence("note", f"{construct.name}() needs {needs}", ff.path, node.line)
    ]
    partial = len(bad) < len(states)
    if partial:
        good = next(s for s in states if _protected(s, spec.protected_by))
        evidence += held_evidence(good, ff.path)
        evidence.append(
            Evidence(
                "note", "held on some paths to the loop but not on this one", ff.path, node.line
            )
        )
        evidence += witness_path(
            facts, node_id, ff.path, lambda s: not _protected(s, spec.protected_by)
        )
    else:
        evidence.append(
            Evidence(
                "note",
                f"no such lock is taken on any path to the loop in {fn.name}()",
                ff.path,
                node.line,
            )
        )
    for path, caller, line in verdict.unprotected[:3]:
        evidence.append(Evidence("caller", f"{caller}() calls {fn.name}() without it", path, line))
    other = [s for s in bad if s.siglock]
    if other:
        evidence += held_evidence(other[0], ff.path)
        evidence.append(
            Evidence(
                "note",
                "a siglock protects one thread group, not the process list",
                ff.path,
                node.line,
            )
        )
    confidence = "high"
    if verdict.callers == 0 and fn.is_static:
        # Static with no direct caller: called through a pointer we cannot follow.
        confidence = "medium"
    if partial:
        confidence = "medium"
    return Finding(
        rule="task-iter-unlocked",
        severity="error",
        message=f"{construct.name}() walks the task list without {needs} held",
        file=ff.path,
        line=node.line,
        column=(node.ast.start_point[1] + 1) if node.ast is not None else None,
        function=fn.name,
        confidence=confidence,
        key=key,
        evidence=evidence,
    )
