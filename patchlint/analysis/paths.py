"""Evidence helpers: where a lock was taken, and a witness path to a program point."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from patchlint.analysis.calls import squash, text
from patchlint.analysis.cfg import FALSE, TRUE
from patchlint.analysis.facts import FunctionFacts
from patchlint.analysis.kb import Knowledge
from patchlint.analysis.state import ASSERTED, ENTRY, GUARD, HELPER, Held, LockState
from patchlint.findings import Evidence

MAX_PATH_STEPS = 6


def describe(held: Held, kb: Knowledge) -> str:
    """`spinlock dev->lock`, `RCU read lock`, `interrupts disabled`."""
    kind = kb.kind(held.kind)
    title = kind.title if kind is not None else "lock"
    if not held.lock:
        return title
    name = held.shown or held.lock
    return f"{title} {name}" if kind is not None else name


def how_taken(held: Held) -> str:
    if held.how == HELPER:
        return f"taken inside {held.via}()"
    if held.how == GUARD:
        return f"{held.via}() by a scope guard"
    if held.how == ASSERTED:
        return f"asserted by {held.via}()"
    if held.how == ENTRY:
        return f"held on entry ({held.via})"
    return f"taken by {held.via}()"


def held_evidence(entries: Iterable[Held], path: str, kb: Knowledge) -> list[Evidence]:
    """One evidence line per lock held."""
    return [
        Evidence("lock", f"{describe(h, kb)} {how_taken(h)} at line {h.line}", path, h.line)
        for h in entries
    ]


def witness_path(
    facts: FunctionFacts,
    target: int,
    path: str,
    ok: Callable[[LockState], bool],
    limit: int = 20000,
) -> list[Evidence]:
    """Branches taken on one path from entry to ``target`` arriving in a state ``ok``.

    A breadth-first search over (node, state) pairs replaying the transfer
    function, so the path shown is one the analysis really followed.
    """
    cfg = facts.cfg
    analysis = facts.analysis
    start = (cfg.entry, facts.context.entry)
    parent: dict[tuple[int, LockState], tuple[tuple[int, LockState], str | None] | None] = {
        start: None
    }
    queue = deque([start])
    goal = None
    while queue and limit > 0:
        limit -= 1
        node_id, state = queue.popleft()
        if node_id == target and ok(state):
            goal = (node_id, state)
            break
        node = cfg.nodes[node_id]
        for succ, label in node.succ:
            for out in analysis.transfer(node, state, label, None):
                key = (succ, out)
                if key not in parent:
                    parent[key] = ((node_id, state), label)
                    queue.append(key)
    if goal is None:
        return []
    steps: list[Evidence] = []
    current = goal
    while True:
        link = parent[current]
        if link is None:
            break
        previous, label = link
        node = cfg.nodes[previous[0]]
        if node.kind == "cond" and label in (TRUE, FALSE) and node.cond is not None:
            taken = "true" if label == TRUE else "false"
            condition = squash(text(node.cond))[:80]
            steps.append(
                Evidence("path", f"line {node.line}: {condition} is {taken}", path, node.line)
            )
        elif node.kind == "case":
            what = squash(text(node.ast))[:40] if node.ast is not None else "default"
            steps.append(Evidence("path", f"line {node.line}: case {what}", path, node.line))
        elif node.kind == "jump" and node.ast is not None:
            steps.append(
                Evidence(
                    "path", f"line {node.line}: {squash(text(node.ast))[:60]}", path, node.line
                )
            )
        current = previous
    steps.reverse()
    return steps[-MAX_PATH_STEPS:]
