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
    for owner, line, how in state.siglock:
        found.append(Evidence("lock", f"{owner}->sighand->siglock ({_how(how)}) at line {line}",
                              path, line))
    return found


def _how(how: str) -> str:
    if how.startswith("helper:"):
        return f"taken inside {how[7:]}()"
    return {"lock": "taken", "guard": "guard", "assert": "asserted",
            "lock_task_sighand": "lock_task_sighand() succeeded"}.get(how, how)


def witness_path(facts: FunctionFacts, target: int, path: str,
                 ok: Callable[[LockState], bool]) -> list[Evidence]:
    """Branches taken on one path from entry to ``target`` along states satisfying ``ok``.

    A breadth-first search over CFG nodes whose incoming states include one
    that satisfies ``ok``; the branch conditions on the way are the evidence.
    """
    cfg = facts.cfg
    allowed = {node.id for node in cfg.nodes if any(ok(s) for s in facts.states(node.id))}
    allowed.add(cfg.entry)
    parent: dict[int, tuple[int, str | None]] = {cfg.entry: (-1, None)}
    queue = deque([cfg.entry])
    while queue and target not in parent:
        current = queue.popleft()
        for succ, label in cfg.nodes[current].succ:
            if succ not in parent and succ in allowed:
                parent[succ] = (current, label)
                queue.append(succ)
    if target not in parent:
        return []
    steps: list[Evidence] = []
    node_id = target
    while node_id != cfg.entry:
        previous, label = parent[node_id]
        node = cfg.nodes[previous]
        if node.kind == "cond" and label in (TRUE, FALSE) and node.cond is not None:
            taken = "true" if label == TRUE else "false"
            condition = squash(text(node.cond))[:80]
            steps.append(Evidence("path", f"line {node.line}: {condition} is {taken}",
                                  path, node.line))
        elif node.kind == "case":
            steps.append(Evidence("path", f"line {node.line}: case {squash(text(node.ast))[:40]}",
                                  path, node.line))
        elif node.kind == "jump" and node.ast is not None:
            steps.append(Evidence("path", f"line {node.line}: {squash(text(node.ast))[:60]}",
                                  path, node.line))
        node_id = previous
    steps.reverse()
    return steps[-MAX_PATH_STEPS:]
