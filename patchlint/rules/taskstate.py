"""Overrides of the inferred task-state knowledge (``[overrides]`` of
rules/kernel/task-state.toml) and the evidence lines that explain an inference.

The inference (patchlint.rules.taskscope) decides from the tree; this data only adds
what it cannot see or corrects it: a counterpart the tree does not show, an owner
that uses a per-thread fact on purpose, a fact never to report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from patchlint.findings import Evidence
from patchlint.knowledge import load_toml
from patchlint.rules.taskscope.infer import Knowledge, replacement
from patchlint.rules.taskscope.model import Counterpart, Fact, ThreadFact, Where
from patchlint.rules.taskscope.model import Evidence as Inferred
from patchlint.rules.taskscope.scopes import ScopeModel

if TYPE_CHECKING:
    from patchlint.rules.taskscope.view import TaskView

_SPACE = re.compile(r"\s+")
_KIND_ORDER = ("written-together", "sequence", "tested-together", "set-after-test")


def squash(text: str) -> str:
    """Canonical spelling of an expression: keys must not change with reformatting."""
    text = _SPACE.sub(" ", text).strip()
    text = re.sub(r"\s*(->|\.)\s*", r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    return re.sub(r"\s+\)", ")", text)


@dataclass(frozen=True)
class Overrides:
    counterparts: tuple[tuple[str, str, bool, str], ...]  # thread, group, marker, why
    owners: tuple[tuple[str, str, str], ...]  # fact, function, why
    ignore: frozenset[str]


def overrides() -> Overrides:
    table = load_toml("kernel/task-state.toml").get("overrides", {})
    return Overrides(
        counterparts=tuple(
            (str(e["thread"]), str(e["group"]), bool(e.get("marker", False)), str(e.get("why", "")))
            for e in table.get("counterparts", [])
        ),
        owners=tuple(
            (str(e["fact"]), str(e["function"]), str(e.get("why", "")))
            for e in table.get("owners", [])
        ),
        ignore=frozenset(str(n) for n in table.get("ignore", [])),
    )


def _fact(name: str, knowledge: Knowledge, model: ScopeModel) -> Fact | None:
    if name in knowledge.bits:
        return knowledge.bits[name]
    holder, _, member = name.partition("->")
    scope = model.scope_of(holder)
    if scope is None or not member:
        return None
    return Fact(scope, holder, member)


def apply_overrides(knowledge: Knowledge, model: ScopeModel) -> None:
    data = overrides()
    for thread_name, group_name, marker, why in data.counterparts:
        thread, group = _fact(thread_name, knowledge, model), _fact(group_name, knowledge, model)
        if thread is None or group is None:
            continue  # the tree does not have these: nothing to say about them
        spelled, predicate = replacement(group, knowledge.predicates, model)
        item = Inferred("override", f"rules/kernel/task-state.toml: {why}", Where("rules", 0))
        existing = knowledge.thread_facts.get(thread.name)
        writers = existing.writers if existing is not None else []
        knowledge.thread_facts[thread.name] = ThreadFact(
            fact=thread,
            declared=existing.declared if existing is not None else None,
            counterpart=Counterpart(thread, group, [item], spelled, predicate),
            marker=marker,
            marker_evidence=item if marker else None,
            writers=writers,
            clearers_on_current=existing.clearers_on_current if existing is not None else [],
        )
    for fact_name, function, _why in data.owners:
        found = knowledge.thread_facts.get(fact_name)
        if found is not None and all(w.function != function for w in found.writers):
            found.writers.append(Where("rules/kernel/task-state.toml", 0, function))
    for name in data.ignore:
        knowledge.thread_facts.pop(name, None)


# ----------------------------------------------------------------- explanations


def _place(where: Where | None) -> str:
    if where is None or not where.file:
        return "the tree"
    return f"{where.file}:{where.line}" if where.line else where.file


def inference_lines(view: TaskView, thread: ThreadFact, subject: str) -> list[Evidence]:
    """Which inference made the decision, as evidence lines of the finding."""
    fact = thread.fact
    declared = thread.declared
    what = f"a {fact.holder}->{fact.member} bit" if fact.bit else f"a member of {fact.holder}"
    source = view.origin_note()
    lines = [
        Evidence(
            "inference",
            f"{fact.name}: per-thread (declared in {_place(declared)} as {what}){source}",
            declared.file if declared is not None and declared.line else None,
            declared.line if declared is not None and declared.line else None,
        )
    ]
    counterpart = thread.counterpart
    ranked = sorted(
        counterpart.evidence,
        key=lambda e: _KIND_ORDER.index(e.kind) if e.kind in _KIND_ORDER else len(_KIND_ORDER),
    )
    for item in ranked[:3]:
        lines.append(
            Evidence(
                "inference",
                f"counterpart {counterpart.group.name} ({item.kind}): {item.text}",
                item.where.file if item.where.line else None,
                item.where.line or None,
            )
        )
    writers = ", ".join(sorted({f"{w.function}()" for w in thread.writers if w.function}))
    if thread.marker:
        marker = thread.marker_evidence
        how = f" ({marker.text})" if marker is not None else ""
        lines.append(
            Evidence(
                "inference",
                f"{fact.name} marks a group event on one chosen thread{how}: outside its "
                f"writers ({writers or 'none'}) any test of it asks about the process",
            )
        )
    else:
        lines.append(
            Evidence(
                "inference",
                f"each thread has its own {fact.name} (writers: {writers or 'none seen'}): "
                f"a test of it on {subject} asks about the process only when {subject} "
                "stands for one",
            )
        )
    return lines
