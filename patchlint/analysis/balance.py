"""Lock imbalances of one function: what lock-unbalanced and rcu-unbalanced report.

* leak: some paths return still holding a lock the function took, while other
  paths that took it released it, and neither the return value nor a condition
  the caller controls tells the caller which happened (``summaries.outcomes``);
* underflow: a release of a lock this path already released, or of a lock the
  function takes itself elsewhere (so its callers cannot be holding it);
* double: a second acquisition of a non-recursive lock this path holds;
* irq-mismatch: ``spin_lock_irqsave()`` ended by ``spin_unlock_irq()`` (or a
  restore from other flags): the saved interrupt state is lost;
* flags-reuse: a nested irqsave into flags that still hold an outer save.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from tree_sitter import Node

from patchlint.analysis.calls import INDIRECT, Call, squash, text
from patchlint.analysis.facts import FileFacts, FunctionFacts
from patchlint.analysis.identity import owners, pointer_roots, roots
from patchlint.analysis.inlines import lock_free_inline
from patchlint.analysis.lockstate import Anomaly
from patchlint.analysis.paths import describe, held_evidence, how_taken, witness_path
from patchlint.analysis.returns import return_value, returned_key
from patchlint.analysis.sections import closes_section
from patchlint.analysis.state import OWN, Held, LockState
from patchlint.analysis.summaries import (
    Outcome,
    declared_summary,
    lock_summary,
    outcomes,
)
from patchlint.findings import Confidence, Evidence
from patchlint.source import FunctionDef

_BRANCHES = (
    "if_statement",
    "switch_statement",
    "conditional_expression",
    "while_statement",
    "for_statement",
    "do_statement",
)


@dataclass
class Imbalance:
    what: str  # leak, underflow, double, irq-mismatch, flags-reuse
    kind: str
    lock: str
    rule: str
    line: int
    message: str
    label: str  # stable part of the finding key
    column: int | None = None
    evidence: list[Evidence] = field(default_factory=list)
    confidence: Confidence = "high"


def _counting_resource(ff: FileFacts, kind: str) -> bool:
    """A counting semaphore: downed here and upped elsewhere (a completion, a
    begin/end pair across functions) as often as it is a lock; not judged."""
    lock_kind = ff.kb.kind(kind)
    return lock_kind is not None and lock_kind.recursive and lock_kind.keyed


def _reachable(facts: FunctionFacts, start: int, goals: set[int]) -> bool:
    """Whether a CFG path leads from node ``start`` to one of ``goals``."""
    seen = {start}
    stack = [start]
    while stack:
        node = stack.pop()
        if node in goals and node != start:
            return True
        for succ, _label in facts.node(node).succ:
            if succ not in seen:
                seen.add(succ)
                stack.append(succ)
    return False


def _rule(ff: FileFacts, kind: str) -> str:
    lock_kind = ff.kb.kind(kind)
    return lock_kind.balance_rule if lock_kind is not None else "lock-unbalanced"


def _name(ff: FileFacts, kind: str, lock: str, shown: str = "") -> str:
    return describe(Held(kind, lock, "", 0, "", "", shown=shown), ff.kb)


def imbalances(ff: FileFacts, fn: FunctionDef, facts: FunctionFacts) -> list[Imbalance]:
    found = list(_leaks(ff, fn, facts))
    for anomaly in sorted(facts.events.anomalies.values(), key=lambda a: a.call.start):
        report = _anomaly(ff, facts, anomaly)
        if report is not None:
            found.append(report)
    return found


# ---------------------------------------------------------------- leaks


def _leaks(ff: FileFacts, fn: FunctionDef, facts: FunctionFacts) -> Iterator[Imbalance]:
    declared = declared_summary(ff, fn) is not None
    for outcome in outcomes(facts):
        if outcome.verdict != "leak" or declared:
            continue
        if _counting_resource(ff, outcome.kind) and not closes_section(facts, outcome):
            continue
        if _owner_handoff(ff, outcome) or _handed_off(ff, facts, outcome):
            continue
        if _returned_decides(facts, outcome):
            continue
        holding = outcome.holding
        values = {return_value(facts, n, s) for n, s in holding}
        if "error" in values and values - {"error"}:
            # Some paths return an error with the lock held, others a success value
            # with it (the helper's convention): the error paths are the leak.
            holding = [(n, s) for n, s in holding if return_value(facts, n, s) == "error"]
        seen: set[int] = set()
        for node_id, state in sorted(holding, key=lambda item: facts.node(item[0]).line):
            if node_id in seen:
                continue
            seen.add(node_id)
            yield _leak(ff, fn, facts, outcome, node_id, state)


def _leak(
    ff: FileFacts,
    fn: FunctionDef,
    facts: FunctionFacts,
    outcome: Outcome,
    node_id: int,
    state: LockState,
) -> Imbalance:
    node = facts.node(node_id)
    key = (outcome.kind, outcome.lock)
    entry = next(h for h in reversed(state.held) if (h.kind, h.lock) == key)
    name = describe(entry, ff.kb)
    label = squash(text(node.ast)) if node.ast is not None else "end of function"
    evidence = held_evidence([entry], ff.path, ff.kb)
    evidence += witness_path(
        facts,
        node_id,
        ff.path,
        lambda s: any((h.kind, h.lock) == key and h.how in OWN for h in s.held),
    )
    released_at = sorted({facts.node(n).line for n, _s in outcome.released})
    if released_at:
        evidence.append(
            Evidence(
                "counterpart",
                f"the paths returning at line {released_at[0]} release it",
                ff.path,
                released_at[0],
            )
        )
    evidence.append(
        Evidence(
            "unlock", f"no release of {name} on this path before it returns", ff.path, node.line
        )
    )
    where = "returns" if node.ast is not None else "falls off its end"
    states = facts.events.returns.get(node_id, set())
    holding = [s for s in states if any((h.kind, h.lock) == key and h.how in OWN for h in s.held)]
    return Imbalance(
        what="leak",
        kind=outcome.kind,
        lock=outcome.lock,
        rule=_rule(ff, outcome.kind),
        line=node.line,
        message=f"{fn.name}() {where} with the {name} {how_taken(entry)} at line {entry.line} "
        "still held, while its other paths release it",
        label=f"{outcome.kind}:{outcome.lock}:{label}",
        evidence=evidence,
        confidence="high" if len(holding) == len(states) else "medium",
    )


def _owner_handoff(ff: FileFacts, outcome: Outcome) -> bool:
    """Every path keeping the lock took it by an owner hand-off (`down_read_non_owner()`,
    locks.toml `handoff`): another context releases it (the async completion), so
    returning with it held is the point, not a leak."""
    takers = {
        held.via
        for _node, state in outcome.holding
        for held in state.held
        if (held.kind, held.lock) == (outcome.kind, outcome.lock) and held.how in OWN
    }
    return bool(takers) and all(ff.kb.handoff(via) for via in takers)


def _handed_off(ff: FileFacts, facts: FunctionFacts, outcome: Outcome) -> bool:
    """A path holding the lock hands it over: it passes the lock (or its owner) to a
    callee we know nothing about (`kfree(obj)`, `obj_put(obj)`), calls a helper that
    drops a lock of the same kind and field reached another way, or stores the owner
    where its caller will find it (`dst->wb = &wb->flushing;`, the lock released by the
    matching _end() function)."""
    lock = outcome.lock
    reaching = owners(lock)
    field_name = _field(lock)
    params = set(facts.fn.params)
    keeping = {node for node, _state in outcome.holding}
    for site in facts.events.calls.values():
        if not any(_holds_own(state, outcome) for state in site.states):
            continue
        if site.node not in keeping and not _reachable(facts, site.node, keeping):
            continue  # only on paths that release it: it was not handed over there
        call = site.call
        callee = ff.source.function(call.name)
        if callee is not None and callee is not facts.fn and lock_summary(ff, callee) is None:
            return True  # a helper we could not analyse may be what releases it
        for effect in facts.analysis.effects(call):
            if (
                effect.op in ("release", "unsure", "maybe")
                and effect.kind == outcome.kind
                and effect.lock != lock
                and _field(effect.lock) == field_name
            ):
                return True
        if not _unknown_callee(ff, facts, call.name, call.start):
            continue
        if not lock:
            if call.name == INDIRECT or call.name in ff.opaque_macros():
                return True
            continue
        resolve = facts.context.resolver.expression
        if reaching & {resolve(arg) for arg in call.args}:
            return True
    releasing = _release_nodes(facts, outcome)
    kind = ff.kb.kind(outcome.kind)
    for site in facts.events.calls.values():
        # A global lock (rtnl_mutex) is reached by callees without being passed; an
        # RCU read-side section is not (a callee ending it is data: locks.toml).
        if kind is not None and kind.rcu:
            break
        if pointer_roots(lock) or not any(_holds_own(state, outcome) for state in site.states):
            continue
        if _unknown_callee(ff, facts, site.call.name, site.call.start) and not _reachable(
            facts, site.node, releasing
        ):
            # The paths that keep the lock are the ones calling something the analysis
            # does not know: that call may be what releases it.
            return True
        if _unknown_callee(ff, facts, site.call.name, site.call.start) and _result_decides(
            facts, site.node, site.call.name, outcome
        ):
            # The paths that keep the lock are told apart by what an unknown callee
            # returned: it drops and retakes the lock and says whether it still holds
            # it (ipoib_set_mode()'s -EBUSY).
            return True
    if lock and params:
        for node in facts.cfg.nodes:
            if not any(_holds_own(state, outcome) for state in facts.states(node.id)):
                continue
            for store in facts.analysis.node_stores(node):
                if store.simple or not params & roots(store.target):
                    continue
                if reaching & {facts.context.resolver.expression(store.value)}:
                    return True
    return False


def _result_decides(facts: FunctionFacts, node_id: int, name: str, outcome: Outcome) -> bool:
    """A test of the call's stored result decides whether the lock is released."""
    results = {
        store.target
        for store in facts.analysis.node_stores(facts.node(node_id))
        if store.simple and store.value.startswith(f"{name}(")
    }
    return _value_decides(facts, results, outcome, node_id)


def _returned_decides(facts: FunctionFacts, outcome: Outcome) -> bool:
    """The returned variable decides it: `if (ret != nfs_ok) mutex_unlock(m); return ret;`
    tells callers by its value whether the lock is held (a trylock by another name)."""
    keys = {returned_key(facts, node) for node, _state in outcome.holding}
    if len(keys) != 1:
        return False
    key = keys.pop()
    return key is not None and key.isidentifier() and _value_decides(facts, {key}, outcome, None)


def _value_decides(
    facts: FunctionFacts, names: set[str], outcome: Outcome, after: int | None
) -> bool:
    """A test of one of ``names`` (after node ``after``) decides whether the lock is
    released: one branch leads to a release, the other to the same return still holding
    it. Both branches meet again at that return (`if (ret != -EBUSY) rtnl_unlock();
    return ...;`), unlike an error path returning early that forgot the unlock."""
    if not names or not outcome.holding:
        return False
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(v) for v in sorted(names)) + r")\b")
    releases = _release_nodes(facts, outcome)
    keeping = {node for node, _state in outcome.holding} & {n for n, _s in outcome.released}
    if not keeping or {node for node, _state in outcome.holding} - keeping:
        return False
    starts = {site.call.start for site in facts.events.calls.values() if site.node in releases}
    for node in facts.cfg.nodes:
        if node.kind != "cond" or (after is not None and not _reachable(facts, after, {node.id})):
            continue
        if not any(pattern.search(atom) for atom in facts.analysis.node_formula(node).atoms()):
            continue
        # The release is the body of that test's if statement, not code a jump skips.
        statement = node.cond.parent if node.cond is not None else None
        while statement is not None and statement.type == "parenthesized_expression":
            statement = statement.parent
        body = statement.child_by_field_name("consequence") if statement is not None else None
        if statement is None or statement.type != "if_statement" or body is None:
            continue
        if not any(body.start_byte <= start < body.end_byte for start in starts):
            continue
        if any(_reachable_avoiding(facts, b, keeping, releases) for b, _label in node.succ):
            return True
    return False


def _release_nodes(facts: FunctionFacts, outcome: Outcome) -> set[int]:
    """The nodes calling something that releases this lock."""
    return {
        site.node
        for site in facts.events.calls.values()
        if any(
            effect.op == "release" and (effect.kind, effect.lock) == (outcome.kind, outcome.lock)
            for effect in facts.analysis.effects(site.call)
        )
    }


def _reachable_avoiding(facts: FunctionFacts, start: int, goals: set[int], avoid: set[int]) -> bool:
    if start in avoid:
        return False
    seen = {start}
    stack = [start]
    while stack:
        node = stack.pop()
        if node in goals:
            return True
        for succ, _label in facts.node(node).succ:
            if succ not in seen and succ not in avoid:
                seen.add(succ)
                stack.append(succ)
    return False


def _field(lock: str) -> str:
    return lock.rsplit("->", 1)[-1].rsplit(".", 1)[-1]


def _holds_own(state: LockState, outcome: Outcome) -> bool:
    return any(
        h.kind == outcome.kind and h.lock == outcome.lock and h.how in OWN for h in state.held
    )


def _unknown_callee(ff: FileFacts, facts: FunctionFacts, name: str, start: int) -> bool:
    kb = ff.kb
    if name in kb.ops or name in kb.predicates or name in kb.noreturn:
        return False
    if name in kb.positive_asserts or name in kb.negated_asserts or kb.neutral(name):
        return False
    callee = ff.source.function(name)
    if callee is not None:
        return lock_summary(ff, callee) is None
    return True


# ---------------------------------------------------------------- anomalies


def _anomaly(ff: FileFacts, facts: FunctionFacts, anomaly: Anomaly) -> Imbalance | None:
    if anomaly.what == "underflow":
        return _underflow(ff, facts, anomaly)
    if anomaly.what == "double":
        return _double(ff, facts, anomaly)
    if anomaly.what in ("irq-mismatch", "flags-reuse"):
        return _irq(ff, facts, anomaly)
    return None


def _underflow(ff: FileFacts, facts: FunctionFacts, anomaly: Anomaly) -> Imbalance | None:
    effect, call = anomaly.effect, anomaly.call
    key = (effect.kind, effect.lock)
    lock_kind = ff.kb.kind(effect.kind)
    # A counting semaphore may be released more often than taken (it signals).
    counting_resource = _counting_resource(ff, effect.kind)
    again = [] if counting_resource else [s for s in anomaly.states if key in s.released]
    acquiring = facts.events.clean_acquires.get(key, set())
    under_branch = _under_branch(facts, call)
    callers_cannot_hold = (
        lock_kind is not None
        and lock_kind.keyed
        and not lock_kind.recursive
        and (
            any(not s.opaque and not (s.unknown_ran and under_branch) for s in anomaly.states)
            or (not under_branch and _reaching_calls_lock_free(ff, facts, anomaly.node))
        )
        and _acquired_unconditionally(facts, acquiring)
        # Dropping the caller's lock to take it again (say read, then write) is a choice.
        and not _reachable(facts, anomaly.node, _acquiring_nodes(facts, key))
    )
    failed: list[LockState] = []
    if not again and not counting_resource and not _under_branch(facts, call):
        # A semaphore is also signalled without being taken; a release under a test
        # (`if (vn) spin_unlock(...)`) may be what tells the failed try apart.
        failed = [s for s in anomaly.states if key in s.failed]
    if not again and not callers_cannot_hold and not failed:
        return None
    if not again and ff.kb.handoff(call.name):
        # A release for another owner (`up_read_non_owner()`): the lock this path does
        # not hold may be the one another context took and handed over.
        return None
    name = _name(ff, effect.kind, effect.lock, effect.shown)
    evidence = witness_path(
        facts,
        anomaly.node,
        ff.path,
        (lambda s: key in s.released)
        if again
        else (lambda s: key in s.failed)
        if failed and not callers_cannot_hold
        else (lambda s: s.holding(*key) is None),
    )
    if again:
        detail = f"{name} was already released on this path"
        message = f"{call.name}() releases the {name} a second time on this path"
    elif failed and not callers_cannot_hold:
        detail = f"the attempt to take {name} failed on this path"
        message = f"{call.name}() releases the {name} after failing to take it on this path"
    else:
        detail = f"{name} is not taken on this path; the function takes it itself elsewhere"
        message = f"{call.name}() releases the {name}, which is not held on this path"
    evidence.append(Evidence("unlock", detail, ff.path, call.line))
    return Imbalance(
        "underflow",
        effect.kind,
        effect.lock,
        _rule(ff, effect.kind),
        call.line,
        message,
        f"{call.name}({effect.lock})",
        call.column,
        evidence,
        "high" if again else "medium",
    )


def _reaching_calls_lock_free(ff: FileFacts, facts: FunctionFacts, node_id: int) -> bool:
    """Every unknown call within the locks' reach that may run before ``node_id`` turns
    out to be a header inline taking no lock (inlines.py): asked only here, where a
    finding waits on the answer."""
    analysis = facts.analysis
    resolve = facts.context.resolver.resolve
    names: set[str] = set()
    for site in facts.events.calls.values():
        call = site.call
        if not analysis.is_unknown(call) or not analysis.reach().reached_by(call.args, resolve):
            continue
        if site.node == node_id or _reachable(facts, site.node, {node_id}):
            if call.name == INDIRECT:
                return False
            names.add(call.name)
    return bool(names) and all(lock_free_inline(ff, name) for name in sorted(names))


def _under_branch(facts: FunctionFacts, call: Call) -> bool:
    if call.start < 0:
        return False
    node = facts.fn.node.descendant_for_byte_range(call.start, call.start)
    while node is not None and node != facts.fn.body:
        if node.type in ("if_statement", "conditional_expression", "switch_statement"):
            return True
        node = node.parent
    return False


def _acquiring_nodes(facts: FunctionFacts, key: tuple[str, str]) -> set[int]:
    return {
        site.node
        for site in facts.events.calls.values()
        if any(
            e.op in ("acquire", "try") and (e.kind, e.lock) == key
            for e in facts.analysis.effects(site.call)
        )
    }


def _acquired_unconditionally(facts: FunctionFacts, nodes: set[int]) -> bool:
    """Some acquisition of the lock does not depend on anything the caller passed in:
    if the callers held the lock, that acquisition would deadlock."""
    params = set(facts.fn.params)
    resolve = facts.context.resolver.resolve
    for node_id in nodes:
        ast = facts.node(node_id).ast
        if ast is None:
            continue
        dependent = False
        current: Node | None = ast
        while current is not None and current.type != "function_definition":
            parent = current.parent
            if parent is not None and parent.type in _BRANCHES:
                condition = parent.child_by_field_name("condition")
                if condition is not None and condition != current:
                    if params & roots(resolve(text(condition))):
                        dependent = True
                        break
            current = parent
        if not dependent:
            return True
    return False


def _double(ff: FileFacts, facts: FunctionFacts, anomaly: Anomaly) -> Imbalance | None:
    other = anomaly.other
    effect, call = anomaly.effect, anomaly.call
    if other is None or not other.definite:
        return None
    key = (effect.kind, effect.lock)
    name = _name(ff, effect.kind, effect.lock, effect.shown)
    evidence = held_evidence([other], ff.path, ff.kb)
    evidence += witness_path(facts, anomaly.node, ff.path, lambda s: s.holding(*key) is not None)
    evidence.append(
        Evidence("call", f"{call.name}() takes it again: a self-deadlock", ff.path, call.line)
    )
    site = facts.events.calls.get(call.start)
    every = site is not None and all(s.holding(*key) is not None for s in site.states)
    return Imbalance(
        "double",
        effect.kind,
        effect.lock,
        _rule(ff, effect.kind),
        call.line,
        f"{call.name}() takes the {name} already held since line {other.line} ({how_taken(other)})",
        f"{call.name}({effect.lock}) again",
        call.column,
        evidence,
        "high" if every else "medium",
    )


def _irq(ff: FileFacts, facts: FunctionFacts, anomaly: Anomaly) -> Imbalance | None:
    other = anomaly.other
    effect, call = anomaly.effect, anomaly.call
    if other is None:
        return None
    saved = other.irq.partition(":")[2]
    name = describe(other, ff.kb)
    evidence = held_evidence([other], ff.path, ff.kb)
    if anomaly.what == "flags-reuse":
        message = (
            f"{call.name}() saves the interrupt state into {effect.flags}, which still holds "
            f"the state saved at line {other.line} for the {name}"
        )
        evidence.append(
            Evidence(
                "call", f"the state saved at line {other.line} is overwritten", ff.path, call.line
            )
        )
        label = f"{call.name}({effect.lock}, {effect.flags}) reuses flags"
    else:
        if effect.irq == "restore":
            how = f"restores the interrupt state from {effect.flags}, not from {saved}"
        elif effect.irq == "enable":
            how = "enables interrupts unconditionally"
        else:
            how = "leaves interrupts as they are"
        message = (
            f"{call.name}() {how}: the {name} was taken with the interrupt state saved in "
            f"{saved} at line {other.line}"
        )
        evidence.append(
            Evidence("unlock", f"the state saved in {saved} is lost", ff.path, call.line)
        )
        label = f"{call.name}({effect.lock}) after irqsave"
    return Imbalance(
        anomaly.what,
        other.kind,
        other.lock,
        _rule(ff, other.kind),
        call.line,
        message,
        label,
        call.column,
        evidence,
        "high",
    )
