"""Lock summaries: what calling a function does to its caller's lock state.

A function's summary is decided from its own paths, never from its name:

* every path that takes a lock returns holding it: an acquiring helper
  (like ``__acquires``); every path drops a lock it did not take: a releasing
  helper (like ``__releases``);
* the paths disagree, and the return value tells the caller which happened:
  a conditional (trylock-style) helper, applied at the call site exactly like
  ``spin_trylock()``;
* the paths disagree on a condition the caller controls (a parameter): the
  caller sees "maybe held" and nothing is reported on either side;
* otherwise the paths that still hold the lock are a leak (``Outcome`` with
  verdict "leak", reported by lock-unbalanced / rcu-unbalanced).

Sparse annotations (``__acquires``, ``__releases``, ``__cond_acquires``) are
the function's own word and override what its paths say.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from patchlint.analysis.calls import call_args, text
from patchlint.analysis.facts import FileFacts, FunctionFacts, inner_annotated
from patchlint.analysis.identity import canonical, typed_shape
from patchlint.analysis.inputs import (
    VALUE_NAMES,
    body_statement,
    input_branch,
    input_values,
)

# sleep.py asks for this one through here.
from patchlint.analysis.inputs import under_parameter_test as under_parameter_test
from patchlint.analysis.lockstate import FunctionContext
from patchlint.analysis.purity import reads_only
from patchlint.analysis.returns import (
    Key,
    conditional_release,
    guarded_cycle,
    passed_releases,
    passing_release,
    return_value,
    returned_key,
    returns_pointer,
    value_alternatives,
)
from patchlint.analysis.state import OWN, LockState, state_order
from patchlint.source import FunctionDef


@dataclass(frozen=True)
class EffectTemplate:
    """An effect over argument slots ("{0}->lock"), instantiated at each call site."""

    # acquire, release, try, try_release (drops it when the result says so), maybe,
    # unsure, cycle (takes and releases it)
    op: str
    kind: str
    lock: str
    mode: str = ""
    irq: str = ""
    flags: str = ""
    success: str = "nonzero"
    # The lock named through the returned pointer ("*{ret}"): the function takes the
    # lock and returns its address, so the caller's variable names it too.
    returned: str = ""
    # For op "release_like": a lock the function releases on every path but names
    # through a local of its own (`dev = obj->dev;` with ``obj`` assigned again): its
    # struct type and field (identity.typed_shape), matched against the caller's locks.
    shape: str = ""
    # An alternative (choices.py): applies where the slot ("{ret}", "{1}") has this truth.
    when: str = ""
    when_value: bool = True


@dataclass(frozen=True)
class LockSummary:
    effects: tuple[EffectTemplate, ...] = ()
    declared: bool = False  # from sparse annotations
    returns: bool = True  # False: no path returns (it loops forever or panics)


EMPTY = LockSummary()


@dataclass
class Outcome:
    """How one lock ends up across a function's returns."""

    kind: str
    lock: str
    verdict: str  # acquire, release, try, try-release, input, leak, unsure, balanced
    # Returns still holding it (node id, a state) and returns where it was released.
    holding: list[tuple[int, LockState]] = field(default_factory=list)
    released: list[tuple[int, LockState]] = field(default_factory=list)
    dropped_at: list[tuple[int, LockState]] = field(default_factory=list)  # the caller's
    success: str = "nonzero"


def _nets(facts: FunctionFacts, node_id: int, state: LockState) -> dict[Key, int]:
    """Per lock, what this return leaves: +1 taken, -1 the caller's dropped, 0 neither.

    A kind that does not count (interrupts: disabling twice needs one enable) is in
    the state its last operation left, whatever happened before."""
    nets: dict[Key, int] = {}
    kb = facts.analysis.kb
    for held in state.held:
        if held.how in OWN and not held.detached:
            key = (held.kind, held.lock)
            nets[key] = nets.get(key, 0) + 1
    for dropped in state.dropped:
        key = (dropped.kind, dropped.lock)
        kind = kb.kind(dropped.kind)
        if kind is not None and not kind.counting and nets.get(key, 0) > 0:
            continue  # enabled, then disabled again: disabled is what is left
        nets[key] = nets.get(key, 0) - 1
    return {key: max(-1, min(1, value)) for key, value in nets.items()}


def outcomes(facts: FunctionFacts) -> list[Outcome]:
    """Per lock the function takes or drops, how its returns end up."""
    returns = [
        (node_id, state)
        for node_id, states in sorted(facts.events.returns.items())
        for state in sorted(states, key=state_order)
    ]
    keys: set[Key] = set()
    per_return: list[tuple[int, LockState, dict[Key, int]]] = []
    for node_id, state in returns:
        nets = _nets(facts, node_id, state)
        per_return.append((node_id, state, nets))
        keys |= set(nets)
        keys |= set(state.taken)
        key = returned_key(facts, node_id)
        for pending in state.pending:
            if key is not None and pending.key == key:
                keys.add((pending.held.kind, pending.held.lock))
    found: list[Outcome] = []
    for kind, lock in sorted(keys):
        found.append(_classify(facts, kind, lock, per_return))
    return found


def _classify(
    facts: FunctionFacts,
    kind: str,
    lock: str,
    per_return: list[tuple[int, LockState, dict[Key, int]]],
) -> Outcome:
    key = (kind, lock)
    outcome = Outcome(kind, lock, "balanced")
    values = {nets.get(key, 0) for _, _, nets in per_return}
    tries = set()
    for node_id, state, nets in per_return:
        value = nets.get(key, 0)
        if value > 0:
            outcome.holding.append((node_id, state))
        elif value == 0 and key in state.taken:
            outcome.released.append((node_id, state))
        elif value < 0:
            outcome.dropped_at.append((node_id, state))
        returned = returned_key(facts, node_id)
        for pending in state.pending:
            if pending.release:
                continue
            if returned is not None and pending.key == returned and pending.held.lock == lock:
                tries.add(pending.success)
    if any(
        d.maybe and (d.kind, d.lock) == key
        for _n, state, _nets in per_return
        for d in state.dropped
    ):
        outcome.verdict = "unsure"  # a callee drops it on some paths only
        return outcome
    passed = passed_releases(facts, lock, per_return)
    if passed:
        outcome.verdict, outcome.success = passing_release(facts, key, per_return, passed)
        return outcome
    if tries and len(tries) == 1 and values <= {0}:
        outcome.verdict, outcome.success = "try", tries.pop()
        return outcome
    if values == {1}:
        # An unknown call after taking it may be what drops it again (a helper in
        # another file): then callers only learn "maybe held".
        opaque = any(
            h.opaque
            for _n, state, nets in per_return
            for h in state.held
            if (h.kind, h.lock) == key
        )
        outcome.verdict = "input" if opaque else "acquire"
    elif values == {-1}:
        outcome.verdict = "release"
    elif values <= {0}:
        outcome.verdict = "balanced"
    elif values == {0, 1}:
        outcome.verdict = _conditional(facts, key, per_return, outcome)
    elif values == {-1, 0}:
        outcome.verdict, success = conditional_release(facts, key, per_return)
        outcome.success = success or outcome.success
    else:
        outcome.verdict = "unsure"
    return outcome


def _conditional(
    facts: FunctionFacts,
    key: Key,
    per_return: list[tuple[int, LockState, dict[Key, int]]],
    outcome: Outcome,
) -> str:
    """Paths disagree on holding ``key``: a trylock-style helper, input-driven, or a leak.

    Trylock style means the kernel's conventions: the lock is held exactly when the
    function returns 1/true or a non-NULL pointer (and 0/NULL otherwise), or exactly
    when it returns 0 (and an error otherwise, like mutex_lock_interruptible()). A path
    returning an error code with the lock held is a leak, whatever the others return.
    """
    holding = {return_value(facts, n, s) for n, s, nets in per_return if nets.get(key, 0) > 0}
    free = {return_value(facts, n, s) for n, s, nets in per_return if nets.get(key, 0) <= 0}
    if holding and free:
        if holding <= {"positive", "nonnull"} and free <= {"zero"}:
            outcome.success = "nonzero"
            return "try"
        pointer = returns_pointer(facts.fn)
        if pointer and holding <= {"nonnull", "unknown"} and free <= {"zero", "error"}:
            # Returns the object locked, or NULL / ERR_PTR() without the lock.
            outcome.success = "nonnull"
            return "try"
        known = free - {"unknown"}  # an error code a callee computed is unknown here
        if holding <= {"zero", "nonneg"} and known and known <= {"error", "nonzero", "positive"}:
            outcome.success = "zero"
            return "try"
    if not outcome.released:
        # No path takes and drops it: it is taken on some paths and kept on all of
        # them (a helper whose other paths never take it). Not a leak by itself.
        return "input"
    if _acquired_on_input(facts, key, fields=False) or _flag_locking(facts, key):
        return "input"
    if "error" in holding:
        return "leak"  # an error returned with the lock held: the kernel's classic leak
    if _acquired_on_input(facts, key, fields=True):
        return "input"
    if _returns_its_object_locked(facts, key, per_return):
        return "input"
    return "leak"


def _returns_its_object_locked(
    facts: FunctionFacts, key: Key, per_return: list[tuple[int, LockState, dict[Key, int]]]
) -> bool:
    """Every path keeping the lock returns its object (`return s;` holding s->s_umount)
    and no path returning that object drops it: the caller gets the object locked, the
    other paths return an error or another object (`sget_fc()`'s superblock)."""
    if not returns_pointer(facts.fn):
        return False
    kept: set[str] = set()
    for node_id, state, nets in per_return:
        if nets.get(key, 0) <= 0:
            continue
        returned = returned_key(facts, node_id)
        if returned is None or returned.startswith("#"):
            return False
        names = {n for h in state.held if (h.kind, h.lock) == key for n in (h.lock, h.alias)}
        value = facts.context.resolver.expression(returned)
        owners = tuple(f"{o}->" for o in {returned, f"({returned})", value, f"({value})"})
        if not any(n.startswith(owners) for n in names):
            return False
        kept.add(returned)
    return bool(kept) and not any(
        nets.get(key, 0) <= 0 and returned_key(facts, node_id) in kept
        for node_id, _state, nets in per_return
    )


def _lock_sites(facts: FunctionFacts, key: Key) -> list[tuple[Node, str]]:
    """(AST node, "acquire" or "release") of every call taking or dropping ``key``."""
    sites: list[tuple[Node, str]] = []
    for site in facts.events.calls.values():
        for effect in facts.analysis.effects(site.call):
            if (effect.kind, effect.lock) != key or effect.op not in ("acquire", "try", "release"):
                continue
            node = facts.fn.node.descendant_for_byte_range(site.call.start, site.call.start)
            if node is not None:
                sites.append((node, "release" if effect.op == "release" else "acquire"))
    return sites


_NOT_FLAGS = frozenset({"NULL", "true", "false", "likely", "unlikely"})


def _flag_locking(facts: FunctionFacts, key: Key) -> bool:
    """`if (need) lock(); ... if (need) unlock();`: a lock and an unlock each standing
    alone under a branch that tests the same variable. The function locks exactly when
    that variable says so, which ties its paths together in ways it does not spell out
    (`need = needs_lock(op); ... switch (op)`); its paths are not judged."""
    sites = _lock_sites(facts, key)
    tested: dict[str, set[str]] = {"acquire": set(), "release": set()}
    for node, side in sites:
        current: Node | None = node
        while current is not None and current.type != "function_definition":
            parent = current.parent
            if parent is not None and parent.type == "if_statement":
                condition = parent.child_by_field_name("condition")
                if condition is not None and condition != current:
                    others = [
                        other
                        for other, other_side in sites
                        if other_side != side
                        and parent.start_byte <= other.start_byte < parent.end_byte
                    ]
                    if not others:
                        tested[side] |= set(VALUE_NAMES.findall(text(condition))) - _NOT_FLAGS
                    break
            current = parent
    return bool(tested["acquire"] & tested["release"])


def _acquired_on_input(facts: FunctionFacts, key: Key, fields: bool) -> bool:
    """A lock or unlock of ``key`` stands alone under a branch on an input value (with
    ``fields``, or on a field of an input: state its callers or other code set up).

    `if (flags & LOOKUP_RCU) rcu_read_lock();` or `if (!keep) { unlock; return 1; }`:
    whether the function returns holding the lock is the caller's choice. A lock and
    its unlock inside the same branch are an ordinary section and do not count.
    """
    inputs = input_values(facts.fn.params, facts.context.resolver.aliases)
    if not inputs:
        return False
    sites = _lock_sites(facts, key)
    branches = [(node, side, input_branch(node, inputs, fields)) for node, side in sites]
    # A release outside any such branch is the function's own: a path that keeps the
    # lock while another releases it early under an input test (`if (!netif_running
    # (dev)) { up(l); return; } ... up(l);`) is one the function forgot.
    body = facts.fn.body
    releases_anyway = any(
        side == "release" and body_statement(node, body) for node, side, _b in branches
    )
    for _node, side, branch in branches:
        if branch is None or (side == "release" and releases_anyway):
            continue
        counterparts = [
            other
            for other, other_side in sites
            if other_side != side and branch.start_byte <= other.start_byte < branch.end_byte
        ]
        if not counterparts:
            return True
    return False


# ---------------------------------------------------------------- summaries


def lock_summary(ff: FileFacts, fn: FunctionDef) -> LockSummary | None:
    """The summary of a function of this file; None when it could not be analysed."""
    key = f"summary:{fn.name}@{fn.start_byte}"
    if key in ff.memo:
        cached = ff.memo[key]
        return cached if isinstance(cached, LockSummary) else None
    ff.memo[key] = None  # a recursive call sees "unknown"
    declared = declared_summary(ff, fn)
    computed: LockSummary | None = EMPTY
    opaque = ff.opaque_macros()
    if opaque and any(
        callee in opaque and ff.opaque_macro(callee) for callee, _node in ff.calls_in_function(fn)
    ):
        computed = None  # a macro of this file may take or drop locks we do not see
    elif relevant(ff, fn):
        facts = ff.facts(fn)
        computed = summarise(facts, ff) if facts is not None and facts.precise else None
    result = _merge(computed, declared)
    ff.memo[key] = result
    return result


def _merge(computed: LockSummary | None, declared: LockSummary | None) -> LockSummary | None:
    """What the paths say, completed by the annotations for locks the paths do not name.

    The paths win where both speak: `__releases(&ip->lock)` on a function that keeps
    the lock on its -EAGAIN path is a conditional release for its callers.
    """
    if declared is None:
        return computed
    if computed is None:
        return declared
    named = {(effect.kind, effect.lock) for effect in computed.effects}
    named_locks = {effect.lock for effect in computed.effects}
    extra = tuple(
        effect
        for effect in declared.effects
        if (effect.kind, effect.lock) not in named and effect.lock not in named_locks
    )
    return LockSummary(computed.effects + extra, declared=True, returns=computed.returns)


def relevant(ff: FileFacts, fn: FunctionDef) -> bool:
    """Whether the function touches locks: directly, or through same-file helpers."""
    key = f"relevant:{fn.name}@{fn.start_byte}"
    cached = ff.memo.get(key)
    if isinstance(cached, bool):
        return cached
    ff.memo[key] = False
    found = ff.mentions_locks(fn)
    if not found:
        for callee, node in ff.calls_in_function(fn):
            other = ff.source.function(callee)
            if other is None and _hands_a_releasing_callback(ff, fn, node):
                found = True
                break
            if other is None or other is fn:
                continue
            summary = lock_summary(ff, other)
            if summary is not None and summary.effects:
                found = True
                break
    ff.memo[key] = found
    return found


def _hands_a_releasing_callback(ff: FileFacts, fn: FunctionDef, call: Node) -> bool:
    """A call passing a function of this file that drops a lock (instantiate.py)."""
    from patchlint.analysis.instantiate import callback_releases

    return any(callback_releases(ff, fn, argument) is not None for argument in call_args(call))


def _cycles(outcome: Outcome, returning: int) -> bool:
    """Every path takes the lock and releases it again: calling the function with the
    lock held deadlocks (``cycle``: checked at the call, changes nothing). A function
    taking it on some paths only is not one: which paths run is the caller's business
    (`if (rv == 1) write_lock(l)` after computing ``rv`` from the arguments)."""
    key = (outcome.kind, outcome.lock)
    return (
        outcome.verdict == "balanced"
        and not outcome.holding
        and not outcome.dropped_at
        and returning > 0
        and len(outcome.released) == returning
        # Dropping the caller's lock and taking it again (`spin_unlock(l); wait();
        # spin_lock(l);`) is the opposite: it expects the lock held.
        and not any(
            (d.kind, d.lock) == key for _n, state in outcome.released for d in state.dropped
        )
    )


def _acquire_mode(facts: FunctionFacts, key: Key) -> str:
    for site in facts.events.calls.values():
        for effect in facts.analysis.effects(site.call):
            if effect.op == "acquire" and (effect.kind, effect.lock) == key:
                return effect.mode
    return ""


def summarise(facts: FunctionFacts, ff: FileFacts | None = None) -> LockSummary:
    effects: list[EffectTemplate] = []
    resolver = facts.context.resolver
    returning = sum(len(states) for states in facts.events.returns.values())
    for outcome in outcomes(facts):
        if _cycles(outcome, returning):
            template = resolver.template(outcome.lock, None)
            if template is not None:
                mode = _acquire_mode(facts, (outcome.kind, outcome.lock))
                effects.append(EffectTemplate("cycle", outcome.kind, template, mode))
            continue
        guard = guarded_cycle(facts, outcome, lambda name: ff is not None and reads_only(ff, name))
        template = resolver.template(outcome.lock, None) if guard is not None else None
        if guard is not None and template is not None:  # unless an early exit's test says
            mode = _acquire_mode(facts, (outcome.kind, outcome.lock))
            when, value = guard
            effects.append(
                EffectTemplate("cycle", outcome.kind, template, mode, when=when, when_value=value)
            )
            continue
        op = {
            "acquire": "acquire",
            "release": "release",
            "try": "try",
            "try-release": "try_release",
            "input": "maybe",
            "leak": "maybe",
            "unsure": "unsure",
        }.get(outcome.verdict)
        if op is None:
            continue
        returned = None
        if outcome.holding:
            returned = returned_key(facts, outcome.holding[0][0])
        template = resolver.template(outcome.lock, returned)
        if template is None:
            if op == "release":
                effects.extend(_release_by_shape(facts, outcome))
            continue
        # Taken or dropped on every path, interrupts as a value says (returns.py).
        chosen = value_alternatives(facts, outcome)
        effects += [
            EffectTemplate(
                op, outcome.kind, template, a.mode, a.irq, when=a.when, when_value=a.value
            )
            for a in chosen
        ]
        if chosen:
            continue
        through_return = ""
        if op in ("acquire", "try") and returned is not None:
            through_return = resolver.named_through(outcome.lock, returned) or ""
        sample = outcome.holding[0][1] if outcome.holding else None
        entry = None
        if sample is not None:
            entry = next(
                (h for h in sample.held if (h.kind, h.lock) == (outcome.kind, outcome.lock)), None
            )
        irq, flags = "", ""
        if entry is not None and entry.irq:
            irq, _, flags = entry.irq.partition(":")
            flags = resolver.template(flags, returned) or "" if flags else ""
        elif outcome.verdict == "release":
            # How the release treats interrupts, from one path's own release.
            drop = next(
                (
                    d
                    for _n, state in outcome.dropped_at
                    for d in state.dropped
                    if (d.kind, d.lock) == (outcome.kind, outcome.lock)
                ),
                None,
            )
            if drop is not None and drop.irq:
                irq = drop.irq
                flags = (resolver.template(drop.flags) or "") if drop.flags else ""
        effects.append(
            EffectTemplate(
                op,
                outcome.kind,
                template,
                entry.mode if entry is not None else "",
                irq,
                flags,
                outcome.success,
                through_return,
            )
        )
    return LockSummary(tuple(effects), returns=bool(facts.events.returns))


def _release_by_shape(facts: FunctionFacts, outcome: Outcome) -> tuple[EffectTemplate, ...]:
    """A lock every path releases, named through a local the summary cannot put in
    argument slots (`struct drm_device *dev = obj->dev; ... mutex_unlock(&dev->l)` where
    ``obj`` is assigned again later): the release as "a lock of this struct type and
    field", which the caller applies only to the one lock it holds of that shape."""
    shape = typed_shape(outcome.lock, facts.context.struct_types)
    if shape is None:
        return ()
    return (EffectTemplate("release_like", outcome.kind, "", shape=shape),)


def declared_summary(ff: FileFacts, fn: FunctionDef) -> LockSummary | None:
    notes = ff.kb.annotations
    effects: list[EffectTemplate] = []
    inner = inner_annotated(fn, notes.acquire, notes.release)
    for note in fn.annotations:
        if note.name in notes.acquire:
            op = "acquire"
        elif note.name in notes.release:
            op = "release"
        elif note.name in notes.conditional_acquire:
            op = "try"
        elif note.name in notes.conditional_release:
            op = "unsure"
        else:
            continue
        for arg in note.args:
            if canonical(arg) in inner:
                continue
            kind = notes.kind_names.get(arg.strip())
            if kind is not None:
                effects.append(EffectTemplate(op, kind, ""))
                continue
            context = _context_for(ff, fn)
            kind, lock = ff.annotated_lock(arg, fn, context)
            if not kind:
                continue
            template = context.resolver.template(lock)
            if template is not None:
                effects.append(EffectTemplate(op, kind, template))
    return LockSummary(tuple(effects), declared=True) if effects else None


def _context_for(ff: FileFacts, fn: FunctionDef) -> FunctionContext:
    facts = ff.facts(fn)
    if facts is not None:
        return facts.context
    from patchlint.analysis.identity import function_resolver

    return FunctionContext(fn.name, function_resolver(fn.params, fn.body))
