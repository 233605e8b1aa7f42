"""Task pointers found under RCU (rcu-task-escape): which are valid only inside the
read-side section, and their uses after it ended. Part of ``LockAnalysis``
(lockstate.py)."""

from __future__ import annotations

from patchlint.analysis.calls import Call, Store, uses_in
from patchlint.analysis.cfg import CfgNode
from patchlint.analysis.events import Events, FunctionContext
from patchlint.analysis.kb import Knowledge
from patchlint.analysis.state import LockState


class TaskEscapes:
    """The part of the analysis that follows RCU-found task pointers."""

    kb: Knowledge
    context: FunctionContext

    def node_calls(self, node: CfgNode) -> list[Call]:
        raise NotImplementedError

    def taint_store(self, state: LockState, store: Store) -> LockState:
        var = store.target
        taint = {t for t in state.taint if t[0] != var}
        dangling = {d for d in state.dangling if d[0] != var}
        if self.in_rcu(state):
            found = [line for name, line in state.taint if name == store.value]
            if found:
                taint.add((var, found[0]))
        return state._replace(taint=frozenset(taint), dangling=frozenset(dangling))

    # ---- RCU-found task pointers (rcu-task-escape) ----
    def in_rcu(self, state: LockState) -> bool:
        return any(h.definite and self._is_rcu(h.kind) for h in state.held)

    def _is_rcu(self, kind: str) -> bool:
        lock_kind = self.kb.kind(kind)
        return lock_kind is not None and lock_kind.rcu

    def pinned(self, state: LockState) -> bool:
        for held in state.held:
            for name in self.context.pinning:
                protection = self.kb.protections.get(name)
                if protection is not None and protection.lock is not None:
                    if held.definite and protection.lock.search(held.lock):
                        return True
        return False

    def section_ended(self, state: LockState, line: int) -> LockState:
        if self.in_rcu(state) or not state.taint or self.pinned(state):
            return state
        moved = frozenset((var, found, line) for var, found in state.taint)
        return state._replace(taint=frozenset(), dangling=state.dangling | moved)

    def found_task(self, state: LockState, node: CfgNode) -> LockState:
        calls = self.node_calls(node)
        if not calls or not self.in_rcu(state):
            return state
        taint = set(state.taint)
        for call in calls:
            if call.name in self.kb.task_lookup and call.assigned_to:
                taint = {t for t in taint if t[0] != call.assigned_to}
                taint.add((call.assigned_to, call.line))
        if taint == set(state.taint):
            return state
        return state._replace(taint=frozenset(taint))

    def record_escapes(self, node: CfgNode, state: LockState, events: Events) -> None:
        if self.in_rcu(state) or self.pinned(state) or node.kind in ("iter", "guard"):
            return
        names = {var for var, _, _ in state.dangling}
        for use in uses_in(node.ast, names):
            if use.callee in self.kb.task_get_ref:
                continue
            for var, found, unlocked in state.dangling:
                if var == use.name:
                    events.escapes.append((node.id, var, found, unlocked, use.line, use.how))
