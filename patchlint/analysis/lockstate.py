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

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tree_sitter import Node

from patchlint.analysis.calls import Call, Store, calls_in, stores_in, uses_in
from patchlint.analysis.calls import text
from patchlint.analysis.cfg import CASE, FALSE, NO_CASE, TRUE, Cfg, CfgNode, GuardInfo
from patchlint.analysis.conditions import (
    Formula,
    assume,
    case_formula,
    constant_condition,
    constant_truth,
    forget,
    formula,
    switch_subject,
    truths,
)
from patchlint.analysis.identity import Resolver, fill, pointee, pointer_roots, shape
from patchlint.analysis.kb import ANY_KIND, Knowledge, LockOp
from patchlint.analysis.state import (
    ASSERTED,
    CALLERS,
    GUARD,
    HELPER,
    MAYBE,
    OWN,
    TAKEN,
    Dropped,
    Effect,
    Held,
    LockState,
    Pending,
)
from patchlint.source import Construct

MAX_STATES = 64
MAX_DEPTH = 3  # entries of one lock kept per path (nesting deeper is folded)
MAX_DROPPED = 4
_PREDICATE = re.compile(r"^(!?)([A-Za-z_]\w*)\((.*)\)$")

# Callee effects from summaries (same file or tree-wide); None when unknown.
EffectsHook = Callable[[Call], "tuple[Effect, ...] | None"]
IterVarHook = Callable[[CfgNode], "str | None"]


@dataclass
class FunctionContext:
    """What the analysis of one function needs besides its CFG."""

    name: str
    resolver: Resolver
    tracked: frozenset[str] = frozenset()  # condition atoms worth remembering
    kinds_by_lock: dict[str, str] = field(default_factory=dict)  # for lockdep_assert_held
    kinds_by_shape: dict[str, str] = field(default_factory=dict)  # the file's, see facts.py
    entry: LockState = LockState()
    pinning: tuple[str, ...] = ()  # protections that keep a found task alive (tasklist...)
    pure_calls: frozenset[str] = frozenset()
    finds_tasks: bool = False  # the function calls a task lookup (rcu-task-escape)


@dataclass
class CallSite:
    call: Call
    node: int
    states: set[LockState] = field(default_factory=set)


@dataclass
class Anomaly:
    """Something a balance rule may report: what, where, and the states it happened in."""

    what: str  # "underflow", "double", "irq-mismatch", "flags-reuse"
    call: Call
    node: int
    effect: Effect
    other: Held | None = None  # the entry it clashed with
    states: set[LockState] = field(default_factory=set)


@dataclass
class Events:
    """What the replay pass saw, for the rules."""

    calls: dict[int, CallSite] = field(default_factory=dict)
    anomalies: dict[tuple[str, int], Anomaly] = field(default_factory=dict)
    # (kind, lock) -> CFG nodes acquiring it while the path had not dropped it (proof
    # the callers do not hold it, when the acquisition does not depend on an input).
    clean_acquires: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    iters: dict[int, set[LockState]] = field(default_factory=dict)
    returns: dict[int, set[LockState]] = field(default_factory=dict)
    escapes: list[tuple[int, str, int, int, int, str]] = field(default_factory=list)


def _push(held: tuple[Held, ...], entry: Held) -> tuple[Held, ...]:
    same = [h for h in held if h.kind == entry.kind and h.lock == entry.lock]
    if len(same) >= MAX_DEPTH:
        oldest = same[0]
        index = held.index(oldest)
        held = held[:index] + held[index + 1 :]
    return (*held, entry)


def _without(held: tuple[Held, ...], entry: Held) -> tuple[Held, ...]:
    for index in range(len(held) - 1, -1, -1):
        if held[index] is entry or held[index] == entry:
            return held[:index] + held[index + 1 :]
    return held


class LockAnalysis:
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
        for call in self.node_calls(node):
            after = self.call(node, call, state, events)
            if after is None:
                return []  # a call that does not return ends the path
            if after.pending != state.pending and call.assigned_to:
                fresh.add(call.assigned_to)
            state = after
        state = self.stores(node, state, fresh)
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

    def case_values(self, node: CfgNode) -> list[tuple[int, str | None]]:
        """(case label node, its value text or None for default) of a switch head."""
        found: list[tuple[int, str | None]] = []
        for target, label in node.succ:
            if label is not None and label.startswith(CASE):
                value = self.cfg.nodes[target].ast
                found.append((target, text(value) if value is not None else None))
        return found

    def refine_switch(self, node: CfgNode, state: LockState, label: str) -> LockState | None:
        subject = switch_subject(node.cond, self.kb.transparent)
        if not subject:
            return state
        cases = self.case_values(node)
        facts: frozenset[tuple[str, bool]] | None = state.facts
        if label.startswith(CASE):
            target = int(label[len(CASE) :])
            value = next((v for t, v in cases if t == target), None)
            if value is not None:
                facts = assume(case_formula(subject, value), True, state.facts, self.context.tracked)
            else:
                facts = self._no_case(subject, cases, state.facts)
        elif label == NO_CASE:
            facts = self._no_case(subject, cases, state.facts)
        if facts is None:
            return None
        return state._replace(facts=facts) if facts != state.facts else state

    def _no_case(
        self, subject: str, cases: list[tuple[int, str | None]], facts: frozenset[tuple[str, bool]]
    ) -> frozenset[tuple[str, bool]] | None:
        current: frozenset[tuple[str, bool]] | None = facts
        for _target, value in cases:
            if value is None or current is None:
                continue
            current = assume(case_formula(subject, value), False, current, self.context.tracked)
        return current

    def call(
        self, node: CfgNode, call: Call, state: LockState, events: Events | None
    ) -> LockState | None:
        if events is not None:
            site = events.calls.get(call.start)
            if site is None:
                site = events.calls[call.start] = CallSite(call, node.id)
            site.states.add(state)
        if call.name in self.kb.noreturn:
            return None
        for effect in self.effects(call):
            state = self.apply(effect, call, node, state, events)
        if call.start in self._unknown:
            state = self.unknown_call(state)
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

    def unknown_call(self, state: LockState) -> LockState:
        """A callee we know nothing about ran: it may have taken or dropped any lock."""
        if state.opaque and not state.released and all(h.opaque for h in state.held):
            return state
        held = tuple(h if h.opaque else h._replace(opaque=True) for h in state.held)
        return state._replace(opaque=True, released=frozenset(), held=held)

    def lock_name(self, kind: str, ref: int | str | None, args: tuple[str, ...]) -> str | None:
        lock_kind = self.kb.kind(kind)
        if lock_kind is not None and not lock_kind.keyed:
            return ""
        if isinstance(ref, int):
            return self.context.resolver.lock_at(args[ref]) if ref < len(args) else None
        if isinstance(ref, str):
            filled = fill(ref, args)
            return self.context.resolver.resolve(filled) if filled is not None else None
        return ""

    def shown_name(self, ref: int | str | None, args: tuple[str, ...]) -> str:
        if isinstance(ref, int) and ref < len(args):
            return pointee(args[ref])
        if isinstance(ref, str):
            return fill(ref, args) or ""
        return ""

    def op_effect(self, op: LockOp, args: tuple[str, ...]) -> Effect | None:
        lock = self.lock_name(op.kind, op.lock, args)
        if lock is None:
            return None
        kind = op.kind
        if kind == ANY_KIND:
            kind = self.kind_of(lock)
        flags = ""
        if op.flags is not None:
            if op.flags >= len(args):
                return None
            flags = self.context.resolver.expression(args[op.flags]).lstrip("&")
        shown = self.shown_name(op.lock, args) if lock else ""
        return Effect(
            op.op, kind, lock, op.mode, op.irq, flags, op.success, op.name, shown=shown
        )

    def predicate_effects(self, call: Call) -> tuple[Effect, ...]:
        if not call.args:
            return ()
        match = _PREDICATE.match(call.args[0].replace(" ", ""))
        if match is None:
            return ()
        negated, name, inner = match.groups()
        if bool(negated) != (call.name in self.kb.negated_asserts):
            return ()
        predicate = self.kb.predicates.get(name)
        if predicate is None:
            return ()
        args = tuple(part for part in _split_args(inner))
        lock = self.lock_name(predicate.kind, predicate.lock, args)
        if lock is None:
            return ()
        kind = predicate.kind
        if kind == ANY_KIND:
            kind = self.kind_of(lock)
        return (Effect("assert", kind, lock, via=call.name, shown=lock),)

    def kind_of(self, lock: str) -> str:
        """The kind of a lock named without one (lockdep_assert_held): how this function
        takes it, else how the file takes the same field, else unknown ("any")."""
        found = self.context.kinds_by_lock.get(lock)
        if found is None:
            found = self.context.kinds_by_shape.get(shape(lock), ANY_KIND)
        return found

    # ---- applying one effect ----
    def apply(
        self, effect: Effect, call: Call, node: CfgNode, state: LockState, events: Events | None
    ) -> LockState:
        how = HELPER if effect.helper else TAKEN
        if effect.op == "acquire":
            return self.acquire(effect, call, node, state, events, how)
        if effect.op == "release":
            return self.release(effect, call, node, state, events)
        if effect.op == "assert":
            if state.holding(effect.kind, effect.lock) is not None:
                return state
            entry = Held(
                effect.kind,
                effect.lock,
                effect.mode,
                call.line,
                ASSERTED,
                effect.via,
                shown=effect.shown,
            )
            return state._replace(held=_push(state.held, entry))
        if effect.op == "try":
            key = call.assigned_to or f"#{call.start}"
            entry = Held(
                effect.kind,
                effect.lock,
                effect.mode,
                call.line,
                how,
                effect.via,
                _irq_tag(effect),
                shown=effect.shown,
            )
            pending = tuple(p for p in state.pending if p.key != key)
            return state._replace(pending=(*pending, Pending(key, entry, effect.success)))
        if effect.op == "maybe":
            entry = Held(
                effect.kind, effect.lock, effect.mode, call.line, MAYBE, effect.via, shown=effect.shown
            )
            return state._replace(held=_push(state.held, entry))
        if effect.op == "unsure":
            # The callee drops the lock on some paths only: held or not, we cannot tell.
            match = state.holding(effect.kind, effect.lock)
            if match is not None:
                held = _without(state.held, match) + (match._replace(how=MAYBE),)
                return state._replace(held=held)
        return state

    def acquire(
        self,
        effect: Effect,
        call: Call,
        node: CfgNode,
        state: LockState,
        events: Events | None,
        how: str,
    ) -> LockState:
        kind = self.kb.kind(effect.kind)
        held = state.holding(effect.kind, effect.lock)
        if held is not None and held.opaque and kind is not None and kind.keyed:
            # An unknown call since it was taken may have dropped it: taking it
            # again is read as that, not as a deadlock.
            state = state._replace(held=_without(state.held, held))
            held = None
        if events is not None:
            if not any(d.lock == effect.lock and d.kind == effect.kind for d in state.dropped):
                events.clean_acquires.setdefault((effect.kind, effect.lock), set()).add(node.id)
            if (
                held is not None
                and kind is not None
                and kind.keyed
                and not (kind.may_nest(effect.mode) and kind.may_nest(held.mode))
            ):
                self.note(events, "double", call, node, effect, held, state)
            if effect.irq == "save" and effect.flags:
                tag = f"save:{effect.flags}"
                for other in state.held:
                    if other.irq == tag and other.definite:
                        self.note(events, "flags-reuse", call, node, effect, other, state)
                        break
        entry = Held(
            effect.kind,
            effect.lock,
            effect.mode,
            call.line,
            how,
            effect.via,
            _irq_tag(effect),
            shown=effect.shown,
        )
        taken = state.taken
        if (effect.kind, effect.lock) not in taken:
            taken = taken | {(effect.kind, effect.lock)}
        return state._replace(held=_push(state.held, entry), taken=taken)

    def release(
        self, effect: Effect, call: Call, node: CfgNode, state: LockState, events: Events | None
    ) -> LockState:
        lock_kind = self.kb.kind(effect.kind)
        if lock_kind is not None and not lock_kind.keyed and effect.irq in ("restore", "enable"):
            return self.restore_irq(effect, call, node, state, events)
        match = state.holding(effect.kind, effect.lock)
        if match is None:
            # A try whose outcome was never tested, or a maybe: released without a word.
            for pending in reversed(state.pending):
                if pending.held.same_lock(effect.kind, effect.lock):
                    return state._replace(pending=tuple(p for p in state.pending if p != pending))
            for held in reversed(state.held):
                if held.same_lock(effect.kind, effect.lock) or (
                    held.detached and held.kind == effect.kind and held.lock == effect.lock
                ):
                    return state._replace(held=_without(state.held, held))
            if events is not None:
                self.note(events, "underflow", call, node, effect, None, state)
            dropped = (*state.dropped, Dropped(effect.kind, effect.lock, call.line))
            return state._replace(dropped=dropped[-MAX_DROPPED:])
        held_list = _without(state.held, match)
        if events is not None and match.irq.startswith("save:"):
            restored = effect.irq == "restore" and f"save:{effect.flags}" == match.irq
            if effect.irq == "enable" or (effect.irq == "restore" and not restored):
                self.note(events, "irq-mismatch", call, node, effect, match, state)
        if match.irq and not effect.irq:
            # spin_unlock() after spin_lock_irqsave(): interrupts stay off until a
            # local_irq_restore(); the obligation outlives the lock.
            leftover_kind = "bh" if match.irq == "bh" else "irq"
            leftover = Held(
                leftover_kind, "", "", match.line, match.how, match.via, match.irq, match.detached
            )
            held_list = _push(held_list, leftover)
        elif not match.irq and effect.irq in ("enable", "restore", "bh"):
            held_list = self._drop_standalone(held_list, effect)
        state = state._replace(held=held_list)
        if match.how in CALLERS:
            dropped = (*state.dropped, Dropped(effect.kind, effect.lock, call.line))
            state = state._replace(dropped=dropped[-MAX_DROPPED:])
        elif match.how in OWN:
            state = state._replace(released=state.released | {(match.kind, match.lock)})
        if lock_kind is not None and lock_kind.rcu:
            state = self.section_ended(state, call.line)
        return state

    def _drop_standalone(self, held: tuple[Held, ...], effect: Effect) -> tuple[Held, ...]:
        """spin_unlock_irq() after local_irq_disable(); spin_lock(): the irq-off ends too."""
        wanted = "bh" if effect.irq == "bh" else "irq"
        for entry in reversed(held):
            if entry.kind == wanted and not entry.lock:
                if effect.irq == "restore" and entry.irq not in ("", f"save:{effect.flags}"):
                    continue
                return _without(held, entry)
        return held

    def restore_irq(
        self, effect: Effect, call: Call, node: CfgNode, state: LockState, events: Events | None
    ) -> LockState:
        """local_irq_restore(flags) / local_irq_enable(): end the matching irq-off."""
        tag = f"save:{effect.flags}" if effect.irq == "restore" else ""
        candidates = [h for h in state.held if h.kind == effect.kind and not h.lock]
        exact = [h for h in candidates if tag and h.irq == tag]
        if exact:
            return state._replace(held=_without(state.held, exact[-1]))
        if tag:
            # The flags saved together with a lock still held: restoring them first.
            for held in reversed(state.held):
                if held.irq == tag:
                    return state._replace(
                        held=_without(state.held, held) + (held._replace(irq=""),)
                    )
        if candidates:
            match = candidates[-1]
            if events is not None and match.irq.startswith("save:") and match.how in OWN:
                self.note(events, "irq-mismatch", call, node, effect, match, state)
            state = state._replace(held=_without(state.held, match))
            if match.how in CALLERS:
                dropped = (*state.dropped, Dropped(effect.kind, "", call.line))
                state = state._replace(dropped=dropped[-MAX_DROPPED:])
            return state
        if events is not None:
            self.note(events, "underflow", call, node, effect, None, state)
        dropped = (*state.dropped, Dropped(effect.kind, "", call.line))
        return state._replace(dropped=dropped[-MAX_DROPPED:])

    def note(
        self,
        events: Events,
        what: str,
        call: Call,
        node: CfgNode,
        effect: Effect,
        other: Held | None,
        state: LockState,
    ) -> None:
        key = (what, call.start)
        anomaly = events.anomalies.get(key)
        if anomaly is None:
            anomaly = events.anomalies[key] = Anomaly(what, call, node.id, effect, other)
        anomaly.states.add(state)

    # ---- scope guards ----
    def guard(
        self,
        node: CfgNode,
        state: LockState,
        guard: GuardInfo,
        acquire: bool,
        events: Events | None,
    ) -> LockState:
        if guard.cleanup:
            if acquire:
                return state
            cleanup = Call(guard.kind, guard.args, node.line, 0, -guard.scope.start_byte - 1)
            return self.call(node, cleanup, state, events) or state
        spec = self.kb.guards.get(guard.kind)
        if spec is None:
            return state
        name = spec.acquire if acquire else spec.release
        args = guard.args
        call = Call(name, args, guard.line, 0, -guard.scope.start_byte - 1 - int(acquire))
        for op in self.kb.ops.get(name, ()):
            effect = self.op_effect(op, _guard_args(op, args, guard.line))
            if effect is None:
                continue
            if acquire:
                state = self.acquire(effect, call, node, state, events, GUARD)
            else:
                state = self.release(effect, call, node, state, events)
        return state

    # ---- writes ----
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
        target = store.target
        facts = forget(state.facts, target)
        truth = constant_truth(store.value)
        if truth is not None and target in self.context.tracked:
            facts = facts | {(target, truth)}
        if facts != state.facts:
            state = state._replace(facts=facts)
        if not store.simple:
            return state
        held = state.held
        if any(h.lock and not h.detached and target in pointer_roots(h.lock) for h in held):
            held = tuple(
                h._replace(detached=True) if h.lock and target in pointer_roots(h.lock) else h
                for h in held
            )
        pending = state.pending
        if target not in fresh and any(p.key == target for p in pending):
            # The try's result is overwritten untested: held or not, we cannot tell.
            for entry in pending:
                if entry.key == target:
                    held = _push(held, entry.held._replace(how=MAYBE))
            pending = tuple(p for p in pending if p.key != target)
        if held is not state.held or pending is not state.pending:
            state = state._replace(held=held, pending=pending)
        if state.taint or state.dangling:
            state = self.taint_store(state, store)
        return state

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

    def iterate(self, node: CfgNode, state: LockState, label: str | None) -> LockState:
        construct = node.info
        var = self.iter_task_var(node)
        if isinstance(construct, Construct):
            # The walk assigns its cursor variables: locks named by them are new ones.
            cursors = [var] if var is not None else [a.strip() for a in construct.args]
            for name in cursors:
                if name.isidentifier():
                    state = self.store(state, Store(name, "?", node.line, -1, True), set())
        if var is None:
            return state
        taint = frozenset(t for t in state.taint if t[0] != var)
        dangling = frozenset(d for d in state.dangling if d[0] != var)
        if label == TRUE and self.in_rcu(state) and not self.pinned(state):
            taint = taint | {(var, node.line)}
        return state._replace(taint=taint, dangling=dangling)

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

    # ---- branches ----
    def refine(self, node: CfgNode, state: LockState, positive: bool) -> LockState | None:
        if node.cond is None:
            return state
        if node.id in self._constants:
            constant = self._constants[node.id]
        else:
            constant = self._constants[node.id] = constant_condition(
                node.cond, self.kb.transparent
            )
        if constant is not None and constant != positive:
            return None  # `while (1)` never exits through its condition
        if self.context.tracked:
            facts = assume(self.node_formula(node), positive, state.facts, self.context.tracked)
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
                if took:
                    key_taken = (pending.held.kind, pending.held.lock)
                    state = state._replace(
                        held=_push(state.held, pending.held), taken=state.taken | {key_taken}
                    )
        return state


def _irq_tag(effect: Effect) -> str:
    if effect.irq == "save":
        return f"save:{effect.flags}"
    if effect.irq in ("disable", "bh"):
        return effect.irq
    return ""


def _guard_args(op: LockOp, args: tuple[str, ...], line: int) -> tuple[str, ...]:
    """A guard has no flags variable of its own: give it one per guard."""
    if op.flags is not None and op.flags >= len(args):
        return (*args, *(["?"] * (op.flags - len(args))), f"guard@{line}")
    return args


def _split_args(inner: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in inner:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1, "[": 1, "]": -1}.get(char, 0)
        current += char
    if current:
        parts.append(current)
    return parts


__all__ = [
    "ASSERTED",
    "GUARD",
    "MAX_STATES",
    "Anomaly",
    "CallSite",
    "Events",
    "FunctionContext",
    "LockAnalysis",
    "LockState",
    "Node",
]
