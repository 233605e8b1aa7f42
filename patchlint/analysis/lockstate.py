"""Path-sensitive lock state over a function's CFG.

Each CFG node holds the *set* of distinct states that reach it (paths are kept
apart, not merged), which is what lets "unlocked on the error path only" be told
from "unlocked on every path". Sets are bounded: a function whose paths multiply
past the bound is marked imprecise, and the rules say "not analysed" about it.

What a call does comes from the data (kernel/locks.toml) or from the callee's
summary; this module only applies effects (``Effect``) to states and records what
the rules report on: releases of locks not held, second acquisitions, interrupt
state restored from the wrong place, the state before every call.
"""

from __future__ import annotations

from collections.abc import Callable

from patchlint.analysis.calls import Call, Store, calls_in, stores_in, text
from patchlint.analysis.cfg import FALSE, TRUE, Cfg, CfgNode, GuardInfo
from patchlint.analysis.choices import Fact, alternatives, fatal_condition, refuted
from patchlint.analysis.conditions import (
    Formula,
    assume,
    atom_text,
    bit_atom,
    constant_condition,
    constant_truth,
    forget,
    formula,
    truths,
)
from patchlint.analysis.constant_returns import constant_call_truth
from patchlint.analysis.effects import MAX_DROPPED, LockEffects, after_unknown
from patchlint.analysis.escapes import TaskEscapes
from patchlint.analysis.events import (
    Anomaly,
    CallSite,
    Events,
    FunctionContext,
    push,
    without,
)
from patchlint.analysis.identity import dereferenced, pointer_roots, rename_root
from patchlint.analysis.kb import Knowledge
from patchlint.analysis.reach import LockReach
from patchlint.analysis.state import (
    MAYBE,
    TAKEN,
    Dropped,
    Effect,
    Held,
    LockState,
    Pending,
)
from patchlint.analysis.switches import SwitchFacts
from patchlint.source import Construct

MAX_STATES = 64

# Callee effects from summaries (same file or tree-wide); None when unknown.
EffectsHook = Callable[[Call], "tuple[Effect, ...] | None"]
IterVarHook = Callable[[CfgNode], "str | None"]


class LockAnalysis(SwitchFacts, TaskEscapes, LockEffects):
    def __init__(
        self,
        cfg: Cfg,
        kb: Knowledge,
        context: FunctionContext,
        callee_effects: EffectsHook,
        iter_task_var: IterVarHook,
    ) -> None:
        self.cfg = cfg
        self.kb = kb
        self.context = context
        self.callee_effects = callee_effects
        self.iter_task_var = iter_task_var
        self.states: list[set[LockState]] = [set() for _ in cfg.nodes]
        self.precise = cfg.complete
        self.reason = "" if cfg.complete else "constructs the control-flow graph cannot model"
        self.events = Events()
        self._calls: dict[int, list[Call]] = {}
        self._stores: dict[int, list[Store]] = {}
        self._formulas: dict[int, Formula] = {}
        self._constants: dict[int, bool | None] = {}
        self._effects: dict[int, tuple[Effect, ...]] = {}
        self._unknown: set[int] = set()  # calls whose effect on locks is unknown
        self._conditional: dict[int, bool] = {}
        self._reach: LockReach | None = None
        self._tracked: frozenset[str] | None = None

    # ---- per-node facts, computed once ----
    def node_calls(self, node: CfgNode) -> list[Call]:
        found = self._calls.get(node.id)
        if found is None:
            fragment = None if node.kind in ("iter", "guard") else node.ast
            found = self._calls[node.id] = calls_in(fragment)
        return found

    def node_stores(self, node: CfgNode) -> list[Store]:
        found = self._stores.get(node.id)
        if found is None:
            fragment = None if node.kind in ("iter", "guard") else node.ast
            found = self._stores[node.id] = stores_in(fragment)
        return found

    def node_formula(self, node: CfgNode) -> Formula:
        found = self._formulas.get(node.id)
        if found is None:
            found = self._formulas[node.id] = formula(
                node.cond, self.kb.transparent, self.context.pure_calls
            )
        return found

    def tracked(self) -> frozenset[str]:
        """Condition atoms worth remembering: the function's (facts.py), and those a
        callee's conditional summary is chosen by (choices.py)."""
        if self._tracked is None:
            chosen = {
                effect.when
                for node in self.cfg.nodes
                for call in self.node_calls(node)
                for effect in self.effects(call)
                if effect.when
            }
            self._tracked = self.context.tracked | chosen
        return self._tracked

    # ---- the fixpoint ----
    def run(self) -> None:
        entry = self.cfg.entry
        self.states[entry].add(self.context.entry)
        work = [entry]
        done: list[set[LockState]] = [set() for _ in self.cfg.nodes]
        budget = 40 * len(self.cfg.nodes) + 200
        while work:
            budget -= 1
            if budget < 0:
                self._give_up("too many paths for the analysis budget")
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
                                self._give_up(f"more than {MAX_STATES} lock states at one point")
                                continue
                            bucket.add(out)
                            work.append(target)

    def _give_up(self, reason: str) -> None:
        if self.precise:
            self.precise = False
            self.reason = reason

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
            state = self.guard(node, state, node.info, True, events)
        if events is not None and state.dangling:
            self.record_escapes(node, state, events)
        fresh: set[str] = set()
        paths: list[tuple[LockState, frozenset[Fact]]] = [(state, frozenset())]
        for call in self.node_calls(node):
            forked: list[tuple[LockState, frozenset[Fact]]] = []
            for before, learnt in paths:
                # A call that does not return ends the path (no outcome).
                for after, fact in self.call_outcomes(node, call, before, events):
                    if after.pending != before.pending and call.assigned_to:
                        fresh.add(call.assigned_to)
                    forked.append((after, learnt | {fact} if fact is not None else learnt))
            paths = forked
        found: list[LockState] = []
        for after, learnt in paths:
            found += self.after_calls(node, after, learnt, fresh, label, events)
        return found

    def after_calls(
        self,
        node: CfgNode,
        state: LockState,
        learnt: frozenset[Fact],
        fresh: set[str],
        label: str | None,
        events: Events | None,
    ) -> list[LockState]:
        state = self.stores(node, state, fresh)
        if learnt:
            # What a conditional helper's result said on this path (choices.py).
            state = state._replace(facts=state.facts | learnt)
        if self.context.finds_tasks:
            state = self.found_task(state, node)
        for guard in node.releases:
            state = self.guard(node, state, guard, False, events)
        if node.kind == "iter":
            state = self.iterate(node, state, label)
        elif node.kind == "cond" and label in (TRUE, FALSE):
            refined = self.refine(node, state, label == TRUE)
            if refined is None:
                return []
            state = refined
        elif node.kind == "switch" and label is not None and self.context.tracked:
            refined = self.refine_switch(node, state, label)
            if refined is None:
                return []
            state = refined
        return [state]

    def call(
        self, node: CfgNode, call: Call, state: LockState, events: Events | None
    ) -> LockState | None:
        outcomes = self.call_outcomes(node, call, state, events)
        return outcomes[0][0] if outcomes else None

    def call_outcomes(
        self, node: CfgNode, call: Call, state: LockState, events: Events | None
    ) -> list[tuple[LockState, Fact | None]]:
        """The states after the call (none if it does not return), each with what the
        path learnt from the call's result, when a conditional summary splits it."""
        if events is not None:
            site = events.calls.get(call.start)
            if site is None:
                site = events.calls[call.start] = CallSite(call, node.id)
            site.states.add(state)
        if call.name in self.kb.noreturn or call.name in self.context.noreturn:
            return []
        if call.name in self.kb.fatal_asserts:
            # `BUG_ON(c)` does not return when c holds: from here on c is false.
            condition = fatal_condition(node.ast, call.start)
            # Its calls are taken as readers: the fact is only used where a callee's
            # summary, which checked that they are (purity.py), names the same atom.
            called = frozenset(c.name for c in calls_in(condition))
            proved = refuted(
                formula(condition, self.kb.transparent, self.context.pure_calls | called),
                state.facts,
            )
            if proved is None:
                return []
            state = state._replace(facts=proved) if proved != state.facts else state
        return [
            (after, fact)
            for chosen, fact in alternatives(self.effects(call), state.facts, call.assigned_to)
            if (after := self.call_effects(node, call, state, chosen, events)) is not None
        ]

    def call_effects(
        self,
        node: CfgNode,
        call: Call,
        state: LockState,
        effects: tuple[Effect, ...],
        events: Events | None,
    ) -> LockState | None:
        if effects and self.conditional_call(node, call):
            effects = tuple(_maybe(effect) for effect in effects)
        for effect in effects:
            if effect.op == "noreturn":
                return None
            state = self.apply(effect, call, node, state, events)
        if call.start in self._unknown:
            state = self.unknown_call(state, call)
        if self.context.tracked and (
            call.name in self.kb.bit_sets or call.name in self.kb.bit_clears
        ):
            atom = bit_atom(self.kb.bit_tests, call.args)
            if atom in self.context.tracked:
                value = call.name in self.kb.bit_sets
                state = state._replace(facts=forget(state.facts, atom) | {(atom, value)})
        if call.name in self.kb.task_get_ref and call.args:
            var = call.args[0]
            state = state._replace(taint=frozenset(t for t in state.taint if t[0] != var))
        return state

    # ---- effects of a call ----
    def effects(self, call: Call) -> tuple[Effect, ...]:
        found = self._effects.get(call.start)
        if found is None:
            found = self._effects[call.start] = self._compute_effects(call)
        return found

    def _compute_effects(self, call: Call) -> tuple[Effect, ...]:
        kb = self.kb
        name = call.name
        ops = kb.ops.get(name)
        if ops:
            return tuple(e for e in (self.op_effect(op, call.args) for op in ops) if e is not None)
        if name in kb.positive_asserts or name in kb.negated_asserts:
            return self.predicate_effects(call)
        if kb.neutral(name) or name in kb.drops or name in kb.noreturn:
            return ()
        found = self.callee_effects(call)
        if found is None:
            self._unknown.add(call.start)
            return ()
        return found

    def is_unknown(self, call: Call) -> bool:
        """Whether the analysis knows nothing of what the call does to locks."""
        self.effects(call)
        return call.start in self._unknown

    def conditional_call(self, node: CfgNode, call: Call) -> bool:
        """A call in one arm of `c ? f() : g()` or on the right of `&&` / `||`: it may
        not run on this path (the graph does not split expressions)."""
        found = self._conditional.get(call.start)
        if found is not None:
            return found
        found = False
        if node.ast is not None and call.start >= 0:
            current = node.ast.descendant_for_byte_range(call.start, call.start)
            while current is not None and current != node.ast and not found:
                parent = current.parent
                if parent is None:
                    break
                if parent.type == "conditional_expression":
                    found = parent.child_by_field_name("condition") != current
                elif parent.type == "binary_expression" and text(
                    parent.child_by_field_name("operator")
                ) in ("&&", "||"):
                    found = parent.child_by_field_name("right") == current
                current = parent
        self._conditional[call.start] = found
        return found

    def unknown_call(self, state: LockState, call: Call) -> LockState:
        """A callee we know nothing about ran: it may have taken or dropped any lock
        within its reach (one it was handed, the lock or an object on its path, or a
        global); see reach.py."""
        args = {self.context.resolver.expression(arg) for arg in call.args} if call.args else set()
        releasing = self.kb.annotations.release
        drops = self.context.drops_callers
        held = tuple(after_unknown(h, args, releasing, drops, call.name) for h in state.held)
        if self.reach().reached_by(call.args, self.context.resolver.resolve):
            if state.opaque and not state.released and held == state.held:
                return state
            return state._replace(opaque=True, released=frozenset(), held=held)
        if state.unknown_ran and not state.released and held == state.held:
            return state
        return state._replace(unknown_ran=True, released=frozenset(), held=held)

    def reach(self) -> LockReach:
        """What an unknown callee must be handed to reach this function's locks."""
        if self._reach is None:
            locks = {h.lock for h in self.context.entry.held}
            stores: list[Store] = []
            for node in self.cfg.nodes:
                if node.kind == "guard" or node.releases:
                    locks.add("")  # a guard's lock: not followed here, assume reachable
                for call in self.node_calls(node):
                    locks |= {e.lock for e in self.effects(call) if e.op != "noreturn"}
                stores += self.node_stores(node)
            resolver = self.context.resolver
            self._reach = LockReach(
                resolver.params, resolver.local_names, stores, locks, resolver.resolve
            )
        return self._reach

    def stores(self, node: CfgNode, state: LockState, fresh: set[str]) -> LockState:
        if node.kind in ("iter", "guard"):
            return state
        stores = self.node_stores(node)
        if not stores:
            return state
        for store in stores:
            state = self.store(state, store, fresh)
        return state

    def store(self, state: LockState, store: Store, fresh: set[str]) -> LockState:
        target = store.target if store.simple else atom_text(store.target)
        facts = forget(state.facts, target)
        truth = constant_truth(store.value)
        if truth is None and self.context.constant_calls:
            truth = constant_call_truth(store.value, self.context.constant_calls)
        if truth is None and target in self.context.tracked and store.value.isidentifier():
            # A copy: `ret = key;` is as NULL as key is, and a locked `key->lock`
            # says key is not.
            source = store.value
            if (source, True) in state.facts or any(
                source in dereferenced(h.lock) for h in state.held if h.lock
            ):
                truth = True
            elif (source, False) in state.facts:
                truth = False
        if truth is not None and target in self.context.tracked:
            facts = facts | {(target, truth)}
        error = self.context.error_atoms.get(target)
        if error is not None:
            # `p = ERR_PTR(-ENOKEY);`: what a later `return p;` tells the caller.
            facts = forget(facts, error)
            if _is_error_value(store.value, self.kb.error_values):
                facts = facts | {(error, True)}
            elif truth is not None:
                facts = facts | {(error, False)}
        if facts != state.facts:
            state = state._replace(facts=facts)
        if not store.simple:
            return state
        source = store.value if store.value.isidentifier() else ""
        held = tuple(_renamed(h, target, source) for h in state.held)
        if held == state.held:
            held = state.held
        released = state.released
        if any(target in pointer_roots(lock) for _kind, lock in released):
            released = frozenset(r for r in released if target not in pointer_roots(r[1]))
        pending = state.pending
        if target not in fresh and any(p.key == target for p in pending):
            # The try's result is overwritten untested: held or not, we cannot tell.
            for entry in pending:
                if entry.key == target:
                    held = push(held, entry.held._replace(how=MAYBE))
            pending = tuple(p for p in pending if p.key != target)
        if held is not state.held or pending is not state.pending or released is not state.released:
            state = state._replace(held=held, pending=pending, released=released)
        if state.taint or state.dangling:
            state = self.taint_store(state, store)
        return state

    def iterate(self, node: CfgNode, state: LockState, label: str | None) -> LockState:
        construct = node.info
        var = self.iter_task_var(node)
        if isinstance(construct, Construct):
            # The walk assigns its cursor variables: locks named by them are new ones.
            cursors = [var] if var is not None else [a.strip() for a in construct.args]
            for name in cursors:
                if name.isidentifier():
                    state = self.store(state, Store(name, "?", node.line, -1, True), set())
            cursor = construct.args[0].strip() if construct.args else ""
            if label == FALSE and construct.name in self.kb.null_at_end and cursor:
                # Ran out: the cursor is NULL (only a break leaves it set).
                facts = assume(Formula("atom", cursor), False, state.facts, self.context.tracked)
                if facts is not None and facts != state.facts:
                    state = state._replace(facts=facts)
        if var is None:
            return state
        taint = frozenset(t for t in state.taint if t[0] != var)
        dangling = frozenset(d for d in state.dangling if d[0] != var)
        if label == TRUE and self.in_rcu(state) and not self.pinned(state):
            taint = taint | {(var, node.line)}
        return state._replace(taint=taint, dangling=dangling)

    # ---- branches ----
    def refine(self, node: CfgNode, state: LockState, positive: bool) -> LockState | None:
        if node.cond is None:
            return state
        if node.id in self._constants:
            constant = self._constants[node.id]
        else:
            constant = self._constants[node.id] = constant_condition(node.cond, self.kb.transparent)
        if constant is not None and constant != positive:
            return None  # `while (1)` never exits through its condition
        tracked = self.tracked()
        if tracked:
            facts = assume(self.node_formula(node), positive, state.facts, tracked)
            if facts is None:
                return None  # contradicts what an earlier test of the same condition said
            if facts != state.facts:
                state = state._replace(facts=facts)
        if not (state.pending or state.taint or state.dangling):
            return state
        for key, nonzero in truths(node.cond, positive, self.kb.transparent, self.kb.error_tests):
            if not nonzero and (state.taint or state.dangling):
                # A NULL pointer on this branch cannot be used after the section.
                state = state._replace(
                    taint=frozenset(t for t in state.taint if t[0] != key),
                    dangling=frozenset(d for d in state.dangling if d[0] != key),
                )
            for pending in state.pending:
                if pending.key != key:
                    continue
                state = state._replace(pending=tuple(p for p in state.pending if p != pending))
                took = nonzero if pending.success in ("nonzero", "nonnull") else not nonzero
                key_taken = (pending.held.kind, pending.held.lock)
                if pending.release:
                    if took:
                        state = _released_by_callee(state, pending)
                    continue
                if took:
                    state = state._replace(
                        held=push(state.held, pending.held), taken=state.taken | {key_taken}
                    )
                elif pending.held.lock and pending.held.how == TAKEN:
                    state = state._replace(failed=state.failed | {key_taken})
        return state


def _released_by_callee(state: LockState, pending: Pending) -> LockState:
    """The branch on which a conditional-release callee said it dropped the lock."""
    dropped = pending.held
    match = state.holding(dropped.kind, dropped.lock)
    if match is not None:
        released = state.released | {(match.kind, match.lock)}
        return state._replace(held=without(state.held, match), released=released)
    gone = Dropped(dropped.kind, dropped.lock, dropped.line)
    return state._replace(dropped=(*state.dropped, gone)[-MAX_DROPPED:])


def _is_error_value(value: str, error_values: frozenset[str]) -> bool:
    called = value.split("(", 1)[0].strip()
    return called in error_values or value.replace(" ", "").startswith("-E")


def _maybe(effect: Effect) -> Effect:
    """The effect of a call that may not run: held or not afterwards."""
    if effect.op == "acquire":
        return effect._replace(op="maybe")
    if effect.op == "release":
        return effect._replace(op="unsure")
    if effect.op == "assert":
        return effect._replace(op="none")
    return effect


def _renamed(held: Held, target: str, source: str) -> Held:
    """The entry after `target = source;` (source a variable, or "" for anything else):
    a name through ``target`` now denotes another lock; one through ``source`` gains
    the copy's name too."""
    if not held.lock or held.detached:
        return held
    lock, alias = held.lock, held.alias
    if alias and target in pointer_roots(alias):
        alias = ""
    if target in pointer_roots(lock):
        if not alias:
            return held._replace(detached=True, alias="")
        lock, alias = alias, ""
    if source and source in pointer_roots(lock):
        alias = rename_root(lock, source, target)
    if lock == held.lock and alias == held.alias:
        return held
    return held._replace(lock=lock, alias=alias)


__all__ = ["MAX_STATES", "Anomaly", "CallSite", "Events", "FunctionContext", "LockAnalysis"]
