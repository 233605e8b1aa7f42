"""task-iter-unlocked: a task-list walk with none of the locks that protect it held
(RCU, tasklist_lock, for one group's threads its siglock; kernel/iterators.toml).

Why is this bad: tasks exit and are freed concurrently; a walk without the lock can
step onto a task_struct that was unlinked and freed.

Example:
    for_each_process(p)             /* needs rcu_read_lock() or tasklist_lock */
        n++;
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from patchlint.analysis.assumptions import declared_assumptions, leading_comment
from patchlint.analysis.callers import CallerVerdict, caller_protection, protecting
from patchlint.analysis.facts import FileFacts, FunctionFacts, file_facts
from patchlint.analysis.kb import IteratorSpec
from patchlint.analysis.paths import held_evidence, witness_path
from patchlint.analysis.state import LockState
from patchlint.findings import Confidence, Evidence, Finding
from patchlint.source import Construct, FunctionDef
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "lock-state", "iterators", "callers")
RULE = "task-iter-unlocked"


def _exclusive_context(ff: FileFacts, fn: FunctionDef) -> bool:
    """Debugger or stop_machine code: every other CPU is stopped, no lock is needed."""
    path = ff.path.replace("\\", "/")
    if any(pattern.search(path) for pattern in ff.kb.exclusive_paths):
        return True
    comment, _line = leading_comment(ff, fn)
    flat = " ".join(comment.replace("*", " ").split())
    return any(pattern.search(flat) for pattern in ff.kb.exclusive_comments)


def _protected(ff: FileFacts, state: LockState, locks: tuple[str, ...]) -> bool:
    return protecting(state, locks, ff.kb) is not None


def check(unit: AnalysisUnit) -> Iterator[Finding]:
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
        facts = ff.facts(fn) if ff.verdict(fn).analysed else None
        if facts is None or not facts.precise:
            continue
        yield from _check_function(ff, fn, facts)


def _check_function(ff: FileFacts, fn: FunctionDef, facts: FunctionFacts) -> Iterator[Finding]:
    occurrences: Counter[str] = Counter()
    for node_id in sorted(facts.events.iters, key=lambda n: facts.node(n).line):
        node = facts.node(node_id)
        construct = node.info
        if not isinstance(construct, Construct):
            continue
        spec = ff.kb.iterators.get(construct.name)
        if spec is None:
            continue
        label = f"{construct.name}({', '.join(a.strip() for a in construct.args)})"
        key = f"{label}#{occurrences[label]}"
        occurrences[label] += 1
        states = facts.events.iters[node_id]
        bad = [s for s in states if not _protected(ff, s, spec.protected_by)]
        if not bad:
            continue
        locks = set(spec.protected_by)
        declared = [a for a in declared_assumptions(ff, fn) if a.lock in locks]
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
    fn: FunctionDef,
    facts: FunctionFacts,
    node_id: int,
    construct: Construct,
    spec: IteratorSpec,
    key: str,
    bad: list[LockState],
    states: set[LockState],
    verdict: CallerVerdict,
) -> Finding:
    node = facts.node(node_id)
    kb = ff.kb
    needs = " or ".join(
        kb.protections[name].title
        for name in spec.protected_by
        if name in kb.protections and not kb.protections[name].atomic
    )
    evidence: list[Evidence] = [
        Evidence("note", f"{construct.name}() needs {needs}", ff.path, node.line)
    ]
    partial = len(bad) < len(states)
    if partial:
        good = next(s for s in states if _protected(ff, s, spec.protected_by))
        evidence += held_evidence(good.definite(), ff.path, kb)
        evidence.append(
            Evidence(
                "note", "held on some paths to the loop but not on this one", ff.path, node.line
            )
        )
        evidence += witness_path(
            facts, node_id, ff.path, lambda s: not _protected(ff, s, spec.protected_by)
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
    # A lock that protects other walks is held here: name it, it is the wrong one.
    others = tuple(name for name in kb.protections if name not in spec.protected_by)
    wrong = [h for s in bad for h in s.definite() if protecting(LockState(held=(h,)), others, kb)]
    if wrong:
        evidence += held_evidence(wrong[:1], ff.path, kb)
        evidence.append(
            Evidence(
                "note",
                f"{wrong[0].lock or wrong[0].kind} is held, but it does not protect "
                f"{construct.name}()",
                ff.path,
                node.line,
            )
        )
    confidence: Confidence = "high"
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
