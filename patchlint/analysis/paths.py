"""Evidence helpers: where a lock was taken, and a witness path to a program point."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from patchlint.analysis.calls import squash, text
from patchlint.analysis.cfg import FALSE, TRUE
from patchlint.analysis.facts import FunctionFacts
from patchlint.analysis.lockstate import LockState
from patchlint.findings import Evidence

MAX_PATH_STEPS = 6


def held_evidence(state: LockState, path: str) -> list[Evidence]:
    """One evidence line per protection held in ``state``."""
    found: list[Evidence] = []
    for line, how in state.rcu:
        found.append(Evidence("lock", f"RCU read lock ({_how(how)}) at line {line}", path, line))
    for line, how in state.tasklist:
        found.append(Evidence("lock", f"tasklist_lock ({_how(how)}) at line {line}", path, line))
    for line, how in state.atomic:
        found.append(
            Evidence(
                "lock",
                f"preemption disabled by {how}() at line {line}: an implicit RCU read-side section",
                path,
                line,
            )
        )
    for owner, line, how in state.siglock:
        found.append(
            Evidence("lock", f"{owner}->sighand->siglock ({_how(how)}) at line {line}", path, line)
        )
    return found


def _how(how: str) -> str:
    if how.startswith("helper:"):
        return f"taken inside {how[7:]}()"
    return {
        "lock": "taken",
        "guard": "guard",
        "assert": "asserted",
        "lock_task_sighand": "lock_task_sighand() succeeded",
    }.get(how, how)


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
    start = (cfg.entry, LockState())
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
    while parent[current] is not None:
        previous, label = parent[current]
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
