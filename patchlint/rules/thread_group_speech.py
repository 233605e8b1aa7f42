"""How the thread-group rules name a fact's other level: the per-thread form of a group
fact (``t->flags & PF_EXITING`` for ``SIGNAL_GROUP_EXIT``), spelled the way the tree
spells it, and the evidence lines saying why the two are counterparts."""

from __future__ import annotations

from patchlint.findings import Evidence
from patchlint.rules.taskscope.model import Fact, ThreadFact
from patchlint.rules.taskscope.view import TaskView

_KIND_ORDER = ("written-together", "sequence", "tested-together", "set-after-test", "override")


def thread_forms(view: TaskView) -> dict[Fact, list[ThreadFact]]:
    """Each group fact that has per-thread counterparts, with them: inferred ones before
    overrides, then those each thread sets for itself before markers."""
    forms: dict[Fact, list[ThreadFact]] = {}
    for thread in view.knowledge.thread_facts.values():
        forms.setdefault(thread.counterpart.group, []).append(thread)
    for threads in forms.values():
        threads.sort(
            key=lambda t: (
                all(e.kind == "override" for e in t.counterpart.evidence),
                t.marker,
                t.fact.name,
            )
        )
    return forms


def thread_spelling(view: TaskView, fact: Fact, subject: str) -> str:
    """``(t->flags & PF_EXITING)``, or the accessor the tree tests the bit with
    (``test_tsk_thread_flag(t, TIF_MEMDIE)``)."""
    task = view.model.roots.task
    if fact.holder == task and fact.bit:
        return f"({subject}->{fact.member} & {fact.bit})"
    if fact.bit:
        for summary in sorted(view.knowledge.summaries.values(), key=lambda s: s.name):
            if (
                summary.value
                and len(summary.params) == 2
                and summary.param_structs[0] == task
                and summary.breadth <= 1
                and any(
                    a.op == "read"
                    and a.bit == "$1"
                    and a.loc.holder == fact.holder
                    and a.loc.member == fact.member
                    for a in summary.accesses
                )
            ):
                return f"{summary.name}({subject}, {fact.bit})"
    return f"{subject}->{fact.member}"


def counterpart_lines(view: TaskView, thread: ThreadFact, group: Fact) -> list[Evidence]:
    """Which inference made the decision, as evidence lines."""
    source = view.origin_note()
    lines = [
        Evidence(
            "inference",
            f"{group.name}: group state ({group.describe()}), one value shared by every "
            f"thread of the process{source}",
        )
    ]
    ranked = sorted(
        thread.counterpart.evidence,
        key=lambda e: _KIND_ORDER.index(e.kind) if e.kind in _KIND_ORDER else len(_KIND_ORDER),
    )
    for item in ranked[:2]:
        lines.append(
            Evidence(
                "inference",
                f"per-thread counterpart {thread.fact.name} ({item.kind}): {item.text}",
                item.where.file if item.where.line else None,
                item.where.line or None,
            )
        )
    writers = ", ".join(sorted({f"{w.function}()" for w in thread.writers if w.function}))
    if thread.marker:
        lines.append(
            Evidence(
                "inference",
                f"{thread.fact.name} marks one chosen thread (writers: {writers or 'none'})",
            )
        )
    else:
        lines.append(
            Evidence(
                "inference",
                f"each thread sets its own {thread.fact.name} (writers: "
                f"{writers or 'none seen'}): it is the thread's answer",
            )
        )
    return lines
