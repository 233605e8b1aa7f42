"""Applying lock effects to a lock state: acquire, release, try, assert, scope guards,
and the interrupt state an irqsave saved. Part of ``LockAnalysis`` (lockstate.py)."""

from __future__ import annotations

import re

from patchlint.analysis.calls import Call
from patchlint.analysis.cfg import CfgNode, GuardInfo
from patchlint.analysis.events import Anomaly, CallSite, Events, FunctionContext, push, without
from patchlint.analysis.identity import (
    computed_from,
    dereferenced,
    fill,
    kind_by_shape,
    owners,
    pointee,
    typed_shape,
)
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

MAX_DROPPED = 4
_PREDICATE = re.compile(r"^(!?)([A-Za-z_]\w*)\((.*)\)$")


class LockEffects:
    """The part of the analysis that changes lock state; see ``LockAnalysis``."""

    kb: Knowledge
    context: FunctionContext

    def call(
        self, node: CfgNode, call: Call, state: LockState, events: Events | None
    ) -> LockState | None:
        raise NotImplementedError

    def section_ended(self, state: LockState, line: int) -> LockState:
        return state

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
        return Effect(op.op, kind, lock, op.mode, op.irq, flags, op.success, op.name, shown=shown)

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
            found = kind_by_shape(
                self.context.kinds_by_shape, lock, self.context.struct_types, ANY_KIND
            )
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
        if effect.op == "release_like":
            return self.release_like(effect, call, node, state, events)
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
            return state._replace(held=push(state.held, entry))
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
                alias=effect.alias,
            )
            pending = tuple(p for p in state.pending if p.key != key)
            return state._replace(pending=(*pending, Pending(key, entry, effect.success)))
        if effect.op == "try_release":
            # Drops the lock on the paths its result names (`/* drops tasklist_lock if
            # succeeds */`): nothing changes until the caller tests the result.
            key = call.assigned_to or f"#{call.start}"
            entry = Held(effect.kind, effect.lock, effect.mode, call.line, how, effect.via)
            pending = tuple(p for p in state.pending if p.key != key)
            return state._replace(
                pending=(*pending, Pending(key, entry, effect.success, release=True))
            )
        if effect.op == "maybe":
            match = state.holding(effect.kind, effect.lock)
            if match is not None and match.how in OWN:
                # Held already: the callee may be what drops it (the unlock of a
                # helper that locks only for some inputs); held or not, we cannot tell.
                held = without(state.held, match) + (match._replace(how=MAYBE),)
                return state._replace(held=held)
            entry = Held(
                effect.kind,
                effect.lock,
                effect.mode,
                call.line,
                MAYBE,
                effect.via,
                shown=effect.shown,
            )
            return state._replace(held=push(state.held, entry))
        if effect.op == "cycle":
            # The callee takes and releases the lock: fine unless it is held here.
            holder = state.holding(effect.kind, effect.lock)
            kind = self.kb.kind(effect.kind)
            if (
                events is not None
                and holder is not None
                and holder.definite
                and not holder.opaque
                and kind is not None
                and kind.keyed
                and not (kind.may_nest(effect.mode) and kind.may_nest(holder.mode))
            ):
                self.note(events, "double", call, node, effect, holder, state)
            return state
        if effect.op == "unsure":
            # The callee drops the lock on some paths only: held or not, we cannot tell.
            match = state.holding(effect.kind, effect.lock)
            if match is not None:
                held = without(state.held, match) + (match._replace(how=MAYBE),)
                return state._replace(held=held)
            if not any(h.same_lock(effect.kind, effect.lock) for h in state.held):
                # Our caller's lock: this function may drop it too (its summary says so).
                maybe = Dropped(effect.kind, effect.lock, call.line, maybe=True)
                return state._replace(dropped=(*state.dropped, maybe)[-MAX_DROPPED:])
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
        if held is not None and kind is not None and not kind.counting and effect.irq != "save":
            return state  # interrupts already off: disabling them again changes nothing
        if held is not None and held.opaque and kind is not None and kind.keyed:
            # An unknown call since it was taken may have dropped it: taking it
            # again is read as that, not as a deadlock.
            state = state._replace(held=without(state.held, held))
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
            if effect.irq == "save" and effect.flags and not effect.helper:
                tag = f"save:{effect.flags}"
                for other in state.held:
                    if other.irq == tag and other.matchable and not other.opaque:
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
            alias=effect.alias,
        )
        taken = state.taken
        if (effect.kind, effect.lock) not in taken:
            taken = taken | {(effect.kind, effect.lock)}
        return self.not_null(state._replace(held=push(state.held, entry), taken=taken), effect)

    def not_null(self, state: LockState, effect: Effect) -> LockState:
        """A path that locks `p->lock` knows `p` is not NULL (`if (p) unlock(&p->lock)`)."""
        names = dereferenced(effect.lock) & self.context.tracked
        if not names:
            return state
        facts = frozenset(f for f in state.facts if f[0] not in names)
        return state._replace(facts=facts | {(name, True) for name in names})

    def release(
        self, effect: Effect, call: Call, node: CfgNode, state: LockState, events: Events | None
    ) -> LockState:
        lock_kind = self.kb.kind(effect.kind)
        if lock_kind is not None and not lock_kind.keyed and effect.irq in ("restore", "enable"):
            return self.restore_irq(effect, call, node, state, events)
        match = state.holding(effect.kind, effect.lock)
        if match is None:
            # A try whose outcome was never tested, or a maybe: released without a word,
            # unless the outcome went into a variable that nothing tested before the
            # release (`locked = spin_trylock(l); ...; spin_unlock(l);`): the release
            # does not depend on the try having succeeded.
            for pending in reversed(state.pending):
                if not pending.release and pending.held.same_lock(effect.kind, effect.lock):
                    rest = tuple(p for p in state.pending if p != pending)
                    if (
                        events is not None
                        and not pending.key.startswith("#")
                        and pending.held.how == TAKEN
                    ):
                        key = (pending.held.kind, pending.held.lock)
                        failed = state._replace(failed=state.failed | {key})
                        self.note(events, "underflow", call, node, effect, None, failed)
                    return state._replace(pending=rest)
            for held in reversed(state.held):
                if held.same_lock(effect.kind, effect.lock) or (
                    held.detached and held.kind == effect.kind and held.lock == effect.lock
                ):
                    state = state._replace(held=without(state.held, held))
                    if held.how in CALLERS:
                        dropped = (
                            *state.dropped,
                            Dropped(effect.kind, effect.lock, call.line, effect.irq, effect.flags),
                        )
                        state = state._replace(dropped=dropped[-MAX_DROPPED:])
                    return state
            if events is not None:
                self.note(events, "underflow", call, node, effect, None, state)
            dropped = (
                *state.dropped,
                Dropped(effect.kind, effect.lock, call.line, effect.irq, effect.flags),
            )
            return state._replace(dropped=dropped[-MAX_DROPPED:])
        held_list = without(state.held, match)
        if (
            events is not None
            and match.irq.startswith("save:")
            and not effect.helper
            and match.how == TAKEN
        ):
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
            held_list = push(held_list, leftover)
        elif not match.irq and effect.irq in ("enable", "restore", "bh"):
            held_list = self._drop_standalone(held_list, effect)
        state = state._replace(held=held_list)
        if match.how in CALLERS:
            dropped = (
                *state.dropped,
                Dropped(effect.kind, effect.lock, call.line, effect.irq, effect.flags),
            )
            state = state._replace(dropped=dropped[-MAX_DROPPED:])
        elif match.how in OWN:
            state = state._replace(released=state.released | {(match.kind, match.lock)})
        if lock_kind is not None and lock_kind.rcu:
            state = self.section_ended(state, call.line)
        return state

    def release_like(
        self, effect: Effect, call: Call, node: CfgNode, state: LockState, events: Events | None
    ) -> LockState:
        """A callee releases a lock of this struct type and field that it names in a way
        the caller's names cannot be related to (summaries._release_by_shape): it is the
        caller's lock when the caller holds exactly one lock of that kind and shape.
        Several candidates, or none: nothing is claimed either way."""
        types = self.context.struct_types
        candidates = {
            held.lock
            for held in state.held
            if held.kind == effect.kind
            and held.matchable
            and typed_shape(held.lock, types) == effect.shape
        }
        if len(candidates) != 1:
            return state
        (lock,) = candidates
        return self.release(effect._replace(op="release", lock=lock), call, node, state, events)

    def _drop_standalone(self, held: tuple[Held, ...], effect: Effect) -> tuple[Held, ...]:
        """spin_unlock_irq() after local_irq_disable(); spin_lock(): the irq-off ends too."""
        wanted = "bh" if effect.irq == "bh" else "irq"
        for entry in reversed(held):
            if entry.kind == wanted and not entry.lock:
                if effect.irq == "restore" and entry.irq not in ("", f"save:{effect.flags}"):
                    continue
                return without(held, entry)
        return held

    def restore_irq(
        self, effect: Effect, call: Call, node: CfgNode, state: LockState, events: Events | None
    ) -> LockState:
        """local_irq_restore(flags) / local_irq_enable(): end the matching irq-off."""
        tag = f"save:{effect.flags}" if effect.irq == "restore" else ""
        candidates = [h for h in state.held if h.kind == effect.kind and not h.lock]
        exact = [h for h in candidates if tag and h.irq == tag]
        if exact:
            return state._replace(held=without(state.held, exact[-1]))
        if tag:
            # The flags saved together with a lock still held: restoring them first.
            for held in reversed(state.held):
                if held.irq == tag:
                    return state._replace(held=without(state.held, held) + (held._replace(irq=""),))
        if candidates:
            lock_kind = self.kb.kind(effect.kind)
            if lock_kind is not None and not lock_kind.counting and effect.irq == "enable":
                # local_irq_enable() ends every irq-off at once, a "maybe" one included.
                definite = [h for h in candidates if h.definite] or candidates
                for other in candidates:
                    if other is not definite[-1]:
                        state = state._replace(held=without(state.held, other))
                candidates = [definite[-1]]
            definite_first = [h for h in candidates if h.definite] or candidates
            match = definite_first[-1]
            if (
                events is not None
                and match.irq.startswith("save:")
                and match.how == TAKEN
                and not effect.helper
            ):
                self.note(events, "irq-mismatch", call, node, effect, match, state)
            state = state._replace(held=without(state.held, match))
            if match.how in CALLERS:
                dropped = (
                    *state.dropped,
                    Dropped(effect.kind, "", call.line, effect.irq, effect.flags),
                )
                state = state._replace(dropped=dropped[-MAX_DROPPED:])
            return state
        if events is not None:
            self.note(events, "underflow", call, node, effect, None, state)
        dropped = (*state.dropped, Dropped(effect.kind, "", call.line, effect.irq, effect.flags))
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
        if acquire and events is not None:
            site = events.guards.get(call.start)
            if site is None:
                site = events.guards[call.start] = CallSite(call, node.id)
            site.states.add(state)
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


def after_unknown(
    held: Held, args: set[str], releasing: frozenset[str], drops_callers: bool, callee: str
) -> Held:
    """A held lock after a call the analysis knows nothing about (lockstate.unknown_call):
    opaque, and handed over when the call can reach it and may drop it."""
    # A caller's lock (asserted, annotated) is not the callee's to drop, unless the
    # function says it releases it (`__releases(p->pi_lock)`: task_rq_unlock(rq, p, rf)).
    ours = held.how not in CALLERS or held.via in releasing or drops_callers
    reaches = bool(held.lock and args & owners(held.lock))
    if not reaches and drops_callers and held.how in CALLERS:
        # Such a function drops its caller's lock through helpers handed what the lock
        # is computed from: `ext4_unlock_group(sb, group)` for `ext4_group_lock_ptr(sb,
        # group)`. Not extended to the function's own locks (`spin_lock(pmd_lockptr(mm,
        # pmd)); set_pmd_at(mm, addr, pmd, v);` keeps the lock).
        reaches = computed_from(held.lock, args, callee)
    handed = held.handed or (ours and reaches)
    if held.opaque and handed == held.handed:
        return held
    return held._replace(opaque=True, handed=handed)


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
