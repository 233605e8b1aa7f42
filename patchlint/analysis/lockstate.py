"""Path-sensitive lock state over a function's CFG.

A state is a small immutable tuple; each CFG node holds the *set* of distinct
states that reach it (a join that keeps paths apart instead of merging them),
which is what lets "unlocked on the error path only" be told from "unlocked
on every path". Sets are bounded: a function whose paths multiply past the
bound is marked imprecise and the rules stay silent on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from tree_sitter import Node

from patchlint.analysis.calls import Call, assignments_in, calls_in, text, uses_in
from patchlint.analysis.cfg import FALSE, TRUE, Cfg, CfgNode, GuardInfo
from patchlint.analysis.kb import Knowledge

MAX_STATES = 64
MAX_DEPTH = 3
MAYBE = 99  # summary value of a conditional lock helper (mirrors facts.MAYBE)

# (line, how): how is "lock", "guard", "assert", "helper:NAME", "lock_task_sighand" ...
Held = tuple[int, str]


class LockState(NamedTuple):
    rcu: tuple[Held, ...] = ()
    rcu_under: int = 0  # unlocks without a matching lock on this path
    tasklist: tuple[Held, ...] = ()
    siglock: tuple[tuple[str, int, str], ...] = ()  # (owner, line, how)
    atomic: tuple[Held, ...] = ()  # preemption/irqs disabled: spinlocks, preempt_disable()
    pending: tuple[tuple[str, str, int], ...] = ()  # lock_task_sighand result: (var, owner, line)
    taint: frozenset[tuple[str, int]] = frozenset()  # task pointers valid only under RCU
    dangling: frozenset[tuple[str, int, int]] = frozenset()  # (var, found line, unlock line)
    # A call that may drop the RCU lock this function took (free(), ops->fn()).
    handoff: bool = False

    def holds(self, lock: str) -> bool:
        if lock == "rcu":
            return any(not how.startswith("maybe:") for _, how in self.rcu)
        return bool(getattr(self, lock))

    def acquired_rcu(self) -> tuple[Held, ...]:
        """RCU entries this function took itself (not asserted, not guard-scoped)."""
        return tuple(h for h in self.rcu if h[1] == "lock" or h[1].startswith("helper:"))


# name -> {lock id: net depth change}; None when the callee is not summarised.
SummaryHook = Callable[[str], "dict[str, int] | None"]


@dataclass
class Events:
    """What the replay pass saw, for the rules."""

    calls: dict[int, tuple[Call, set[LockState], int]] = field(default_factory=dict)
    underflows: dict[int, tuple[Call, set[LockState], int]] = field(default_factory=dict)
    iters: dict[int, set[LockState]] = field(default_factory=dict)
    returns: dict[int, set[LockState]] = field(default_factory=dict)
    escapes: list[tuple[int, str, int, int, int, str]] = field(default_factory=list)


class LockAnalysis:
    def __init__(
        self,
        cfg: Cfg,
        kb: Knowledge,
        summary: SummaryHook,
        iter_task_var: Callable[[CfgNode], str | None],
    ) -> None:
        self.cfg = cfg
        self.kb = kb
        self.summary = summary
        self.iter_task_var = iter_task_var
        self.states: list[set[LockState]] = [set() for _ in cfg.nodes]
        self.precise = cfg.complete
        self.events = Events()
        self._calls: dict[int, list[Call]] = {}
        self._assigns: dict[int, list[tuple[str, str, int]]] = {}

    # ---- per-node facts, computed once ----
    def node_calls(self, node: CfgNode) -> list[Call]:
        if node.id not in self._calls:
            fragment = None if node.kind in ("iter", "guard") else node.ast
            self._calls[node.id] = calls_in(fragment)
        return self._calls[node.id]

    def node_assigns(self, node: CfgNode) -> list[tuple[str, str, int]]:
        if node.id not in self._assigns:
            fragment = None if node.kind in ("iter", "guard") else node.ast
            self._assigns[node.id] = assignments_in(fragment)
        return self._assigns[node.id]

    # ---- the fixpoint ----
    def run(self) -> None:
        entry = self.cfg.entry
        self.states[entry].add(LockState())
        work = [entry]
        done: list[set[LockState]] = [set() for _ in self.cfg.nodes]
        budget = 40 * len(self.cfg.nodes) + 200
        while work:
            budget -= 1
            if budget < 0:
                self.precise = False
                break
            node_id = work.pop()
            node = self.cfg.nodes[node_id]
            fresh = self.states[node_id] - done[node_id]
            done[node_id] |= fresh
            for state in fresh:
                for target, label in node.succ:
                    for out in self.transfer(node, state, label, None):
                        bucket = self.states[target]
                        if out not in bucket:
                            if len(bucket) >= MAX_STATES:
                                self.precise = False
                                continue
                            bucket.add(out)
                            work.append(target)

    def replay(self) -> Events:
        for node in self.cfg.nodes:
            for state in self.states[node.id]:
                labels = {label for _, label in node.succ} or {None}
                for label in sorted(labels, key=str):
                    self.transfer(node, state, label, self.events)
                if node.kind == "iter":
                    self.events.iters.setdefault(node.id, set()).add(state)
                if node.kind == "return":
                    self.events.returns.setdefault(node.id, set()).update(
                        self.transfer(node, state, None, None)
                    )
        return self.events

    # ---- transfer ----
    def transfer(
        self, node: CfgNode, state: LockState, label: str | None, events: Events | None
    ) -> list[LockState]:
        if node.kind in ("entry", "exit", "case", "label"):
            return [state]
        if node.kind == "guard" and isinstance(node.info, GuardInfo):
            state = self.guard(state, node.info, acquire=True)
        if events is not None and state.dangling:
            self.record_escapes(node, state, events)
        for call in self.node_calls(node):
            state = self.call(node, call, state, events)
        state = self.assignments(node, state)
        for guard in node.releases:
            state = self.guard(state, guard, acquire=False)
        if node.kind == "iter":
            state = self.iterate(node, state, label)
        elif (
            node.kind == "cond"
            and label in (TRUE, FALSE)
            and (state.pending or state.taint or state.dangling)
        ):
            state = self.refine(node.cond, state, label == TRUE)
        return [state]

    def lock_of_arg(self, lock: str, args: tuple[str, ...], assertion: bool = False):
        spec = self.kb.locks[lock]
        pattern = spec.assert_arg if assertion else spec.arg
        if pattern is None:
            return None
        return pattern.match(args[0]) if args else None

    def call(self, node: CfgNode, call: Call, state: LockState, events: Events | None) -> LockState:
        kb, name, line = self.kb, call.name, call.line
        if events is not None and call.start not in events.calls:
            events.calls[call.start] = (call, set(), node.id)
        if events is not None:
            events.calls[call.start][1].add(state)
        rcu, tasklist, siglock = kb.locks["rcu"], kb.locks["tasklist"], kb.locks["siglock"]
        atomic = kb.locks["atomic"]
        # The siglock and tasklist_lock have their own fields: a siglock protects
        # one group's threads, and is deliberately not counted as the implicit
        # RCU section its irq-disabling would give (walking the process list
        # under it relies on the wrong lock).
        own_field = (
            (name in siglock.acquire or name in siglock.release)
            and bool(self.lock_of_arg("siglock", call.args))
            or bool(
                (name in tasklist.acquire or name in tasklist.release)
                and self.lock_of_arg("tasklist", call.args)
            )
        )
        if own_field:
            pass
        elif name in atomic.acquire:
            state = state._replace(atomic=(state.atomic + ((line, name),))[-MAX_DEPTH:])
        elif name in atomic.release and state.atomic:
            state = state._replace(atomic=state.atomic[:-1])
        elif name in atomic.asserts:
            state = state._replace(atomic=(state.atomic + ((line, "assert"),))[-MAX_DEPTH:])
        if name in rcu.acquire:
            return state._replace(rcu=(state.rcu + ((line, "lock"),))[-MAX_DEPTH:])
        if name in rcu.release:
            return self.rcu_release(state, call, node, events)
        if name in rcu.asserts or self.rcu_warning(name, call.args):
            return state._replace(rcu=(state.rcu + ((line, "assert"),))[-MAX_DEPTH:])
        if name in tasklist.acquire and self.lock_of_arg("tasklist", call.args):
            return state._replace(tasklist=(state.tasklist + ((line, "lock"),))[-MAX_DEPTH:])
        if name in tasklist.release and self.lock_of_arg("tasklist", call.args):
            return state._replace(tasklist=state.tasklist[:-1])
        if name in tasklist.asserts and self.lock_of_arg("tasklist", call.args, True):
            return state._replace(tasklist=(state.tasklist + ((line, "assert"),))[-MAX_DEPTH:])
        if name in siglock.acquire or name in siglock.asserts:
            match = self.lock_of_arg("siglock", call.args, name not in siglock.acquire)
            if match:
                how = "lock" if name in siglock.acquire else "assert"
                held = (match.group("owner"), line, how)
                return state._replace(siglock=(state.siglock + (held,))[-MAX_DEPTH:])
            return state
        if name in siglock.release and self.lock_of_arg("siglock", call.args):
            return state._replace(siglock=state.siglock[:-1])
        if name in siglock.conditional_acquire:
            owner = call.args[0] if call.args else "?"
            if call.assigned_to or node.kind == "cond":
                var = call.assigned_to or f"#{call.start}"
                pending = tuple(p for p in state.pending if p[0] != var) + ((var, owner, line),)
                return state._replace(pending=pending[-MAX_DEPTH:])
            held = (owner, line, "lock_task_sighand")
            return state._replace(siglock=(state.siglock + (held,))[-MAX_DEPTH:])
        if name in siglock.conditional_release:
            return state._replace(siglock=state.siglock[:-1])
        if name in kb.task_get_ref and call.args:
            var = call.args[0]
            return state._replace(taint=frozenset(t for t in state.taint if t[0] != var))
        delta = self.summary(name)
        if delta:
            return self.apply_summary(state, call, delta, node, events)
        if (
            not state.handoff
            and state.acquired_rcu()
            and kb.release_like_calls is not None
            and kb.release_like_calls.search(name)
        ):
            state = state._replace(handoff=True)
        return state

    def rcu_warning(self, name: str, args: tuple[str, ...]) -> bool:
        spec = self.kb.locks["rcu"]
        if name not in spec.warn_macros or not args:
            return False
        condition = args[0].replace(" ", "")
        if name == "lockdep_assert":
            return condition.rstrip("()") in spec.assert_predicates
        return (
            condition.startswith("!")
            and condition[1:].rstrip("()") in spec.assert_predicates
            and condition.endswith("()")
        )

    def rcu_release(
        self, state: LockState, call: Call, node: CfgNode, events: Events | None
    ) -> LockState:
        if not state.rcu:
            if events is not None:
                entry = events.underflows.setdefault(call.start, (call, set(), node.id))
                entry[1].add(state)
            return state._replace(rcu_under=min(state.rcu_under + 1, MAX_DEPTH))
        state = state._replace(rcu=state.rcu[:-1])
        if not state.rcu and state.taint and not state.tasklist and not state.siglock:
            # The section ended: what it found is no longer safe to touch.
            moved = frozenset((var, found, call.line) for var, found in state.taint)
            state = state._replace(taint=frozenset(), dangling=state.dangling | moved)
        return state

    def apply_summary(
        self,
        state: LockState,
        call: Call,
        delta: dict[str, int],
        node: CfgNode,
        events: Events | None,
    ) -> LockState:
        for lock, change in delta.items():
            if lock not in ("rcu", "tasklist"):
                continue
            if change == MAYBE:
                # Held or not depending on the helper's result: remember it so a
                # later unlock is not an underflow, without claiming protection.
                held = state.rcu + ((call.line, f"maybe:{call.name}"),)
                state = state._replace(rcu=held[-MAX_DEPTH:])
                continue
            for _ in range(abs(change)):
                if change > 0:
                    held = getattr(state, lock) + ((call.line, f"helper:{call.name}"),)
                    state = state._replace(**{lock: held[-MAX_DEPTH:]})
                elif lock == "rcu":
                    state = self.rcu_release(state, call, node, events)
                else:
                    state = state._replace(tasklist=state.tasklist[:-1])
        return state

    def guard(self, state: LockState, guard: GuardInfo, acquire: bool) -> LockState:
        rcu, tasklist, siglock = (self.kb.locks[k] for k in ("rcu", "tasklist", "siglock"))
        if guard.kind in rcu.guards:
            if acquire:
                return state._replace(rcu=(state.rcu + ((guard.line, "guard"),))[-MAX_DEPTH:])
            return self.rcu_release(
                state, Call("rcu_read_unlock", (), guard.line, 0, -1), CfgNode(-1, "stmt"), None
            )
        if guard.kind in tasklist.guards and self.lock_of_arg("tasklist", guard.args):
            if acquire:
                held = (state.tasklist + ((guard.line, "guard"),))[-MAX_DEPTH:]
                return state._replace(tasklist=held)
            return state._replace(tasklist=state.tasklist[:-1])
        own_field = bool(
            self.lock_of_arg("siglock", guard.args) or self.lock_of_arg("tasklist", guard.args)
        )
        if (
            guard.kind.startswith(
                ("spinlock", "raw_spinlock", "preempt", "irq", "read_lock", "write_lock")
            )
            and not own_field
        ):
            if acquire:
                held = (state.atomic + ((guard.line, f"guard({guard.kind})"),))[-MAX_DEPTH:]
                state = state._replace(atomic=held)
            elif state.atomic:
                state = state._replace(atomic=state.atomic[:-1])
        if guard.kind in siglock.guards:
            match = self.lock_of_arg("siglock", guard.args)
            if match and acquire:
                held = (match.group("owner"), guard.line, "guard")
                return state._replace(siglock=(state.siglock + (held,))[-MAX_DEPTH:])
            if match:
                return state._replace(siglock=state.siglock[:-1])
        return state

    def assignments(self, node: CfgNode, state: LockState) -> LockState:
        if node.kind in ("iter", "guard"):
            return state
        assigns = self.node_assigns(node)
        if not assigns:
            return state
        calls = {call.assigned_to: call for call in self.node_calls(node) if call.assigned_to}
        taint, dangling = set(state.taint), set(state.dangling)
        tainted = {var for var, _ in taint}
        for var, expr, line in assigns:
            taint = {t for t in taint if t[0] != var}
            dangling = {d for d in dangling if d[0] != var}
            call = calls.get(var)
            in_section = bool(state.rcu)
            if call is not None and call.name in self.kb.task_lookup and in_section:
                taint.add((var, line))
            elif expr in tainted and in_section:
                taint.add((var, next(found for v, found in state.taint if v == expr)))
        if taint == set(state.taint) and dangling == set(state.dangling):
            return state
        return state._replace(taint=frozenset(taint), dangling=frozenset(dangling))

    def iterate(self, node: CfgNode, state: LockState, label: str | None) -> LockState:
        var = self.iter_task_var(node)
        if var is None:
            return state
        taint = frozenset(t for t in state.taint if t[0] != var)
        dangling = frozenset(d for d in state.dangling if d[0] != var)
        if label == TRUE and state.rcu and not state.tasklist:
            taint = taint | {(var, node.line)}
        return state._replace(taint=taint, dangling=dangling)

    def record_escapes(self, node: CfgNode, state: LockState, events: Events) -> None:
        if state.rcu or state.tasklist or state.siglock or node.kind in ("iter", "guard"):
            return
        names = {var for var, _, _ in state.dangling}
        for use in uses_in(node.ast, names):
            if use.callee in self.kb.task_get_ref or use.callee == "put_task_struct":
                continue
            for var, found, unlocked in state.dangling:
                if var == use.name:
                    events.escapes.append((node.id, var, found, unlocked, use.line, use.how))

    # ---- branch refinement (lock_task_sighand succeeded or not) ----
    def refine(self, cond: Node | None, state: LockState, positive: bool) -> LockState:
        if cond is None:
            return state
        for key, holds in _truths(cond, positive):
            if not holds and (state.taint or state.dangling):
                # A NULL pointer on this branch cannot be used after the section.
                state = state._replace(
                    taint=frozenset(t for t in state.taint if t[0] != key),
                    dangling=frozenset(d for d in state.dangling if d[0] != key),
                )
            for var, owner, line in state.pending:
                if var == key:
                    pending = tuple(p for p in state.pending if p[0] != var)
                    state = state._replace(pending=pending)
                    if holds:
                        held = (owner, line, "lock_task_sighand")
                        state = state._replace(siglock=(state.siglock + (held,))[-MAX_DEPTH:])
        return state


def _truths(cond: Node, positive: bool) -> list[tuple[str, bool]]:
    """(pending key, is non-NULL) facts implied by ``cond`` being ``positive``."""
    node = cond
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    if node.type == "unary_expression" and text(node.child_by_field_name("operator")) == "!":
        return _truths(node.child_by_field_name("argument"), not positive)
    if node.type == "call_expression":
        function = node.child_by_field_name("function")
        name = text(function)
        # These return their condition's truth value.
        if name in ("likely", "unlikely", "WARN_ON", "WARN_ON_ONCE"):
            args = node.child_by_field_name("arguments")
            if args is not None and args.named_children:
                return _truths(args.named_children[0], positive)
        return [(f"#{node.start_byte}", positive)]
    if node.type == "identifier":
        return [(text(node), positive)]
    if node.type == "assignment_expression":
        left = node.child_by_field_name("left")
        return [(text(left), positive)]
    if node.type == "binary_expression":
        operator = text(node.child_by_field_name("operator"))
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if operator in ("==", "!=") and right is not None and text(right) in ("NULL", "0"):
            return _truths(left, positive == (operator == "!="))
        if operator == "&&" and positive or operator == "||" and not positive:
            return _truths(left, positive) + _truths(right, positive)
    return []
