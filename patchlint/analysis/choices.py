"""Which of a helper's conditional effects a call site gets.

A summary may hold alternatives chosen by a value (summaries.py, ``when``): a
helper takes its lock with ``spin_lock()`` or ``spin_lock_bh()`` as ``in_softirq()``
says and returns which, and its partner releases it one way or the other as its
``bool`` parameter says:

```c
in_softirq = page_pool_producer_lock(pool);    /* returns the case it took */
page_pool_producer_unlock(pool, in_softirq);   /* releases by its flag */
```

An alternative chosen by the call's own result splits the caller's path in two,
each remembering the value it got (a fact on the variable the result is stored
in). One chosen by an argument takes the side the path's facts say; when they
say nothing, the call keeps the first alternative (what a summary without
alternatives would have said), so nothing changes for callers that do not tell.
"""

from __future__ import annotations

from tree_sitter import Node

from patchlint.analysis.conditions import Formula, assume, atom_text, constant_truth
from patchlint.analysis.state import Effect

Fact = tuple[str, bool]


def alternatives(
    effects: tuple[Effect, ...], facts: frozenset[Fact], assigned_to: str | None
) -> list[tuple[tuple[Effect, ...], Fact | None]]:
    """The effects a call has on each path it splits into, with the fact each path
    learns about the result (None when it learns nothing)."""
    if not any(effect.when for effect in effects):
        return [(effects, None)]
    plain = tuple(effect for effect in effects if not effect.when)
    chosen: dict[tuple[str, bool], list[Effect]] = {}
    for effect in effects:
        if effect.when:
            chosen.setdefault((effect.when, effect.when_value), []).append(effect)
    atoms = list(dict.fromkeys(atom for atom, _value in chosen))
    if len(atoms) != 1:
        return [(_fallback(effects), None)]
    atom = atoms[0]
    value = constant_truth(atom)
    if value is None and ((atom, True) in facts or (atom, False) in facts):
        value = (atom, True) in facts
    if value is not None:
        return [(plain + tuple(chosen.get((atom, value), ())), None)]
    if len({value for _atom, value in chosen}) == 1:
        # One-sided (`takes it when C`): nothing unless the path knows C.
        return [(plain, None)]
    result = any(effect.when_result for effect in effects if effect.when)
    target = atom_text(assigned_to) if assigned_to else ""
    if result and target == atom and (atom, True) in chosen and (atom, False) in chosen:
        return [(plain + tuple(chosen[(atom, value)]), (atom, value)) for value in (False, True)]
    return [(_fallback(effects), None)]


def _fallback(effects: tuple[Effect, ...]) -> tuple[Effect, ...]:
    """Without the value: the unconditional effects and the first alternative."""
    first = next((effect for effect in effects if effect.when), None)
    return tuple(
        effect
        for effect in effects
        if not effect.when
        or (
            first is not None and (effect.when, effect.when_value) == (first.when, first.when_value)
        )
    )


def fatal_condition(fragment: Node | None, start: int) -> Node | None:
    """The condition of the `BUG_ON(c)` call starting at byte ``start``."""
    if fragment is None:
        return None
    current: Node | None = fragment.descendant_for_byte_range(start, start)
    while current is not None and not (
        current.type == "call_expression" and current.start_byte == start
    ):
        current = current.parent
    args = current.child_by_field_name("arguments") if current is not None else None
    return args.named_children[0] if args is not None and args.named_children else None


def refuted(condition: Formula, facts: frozenset[Fact]) -> frozenset[Fact] | None:
    """The facts of a path on which ``condition`` is false (None: it cannot be). Its
    atoms are remembered whether or not the function tests them: what a callee does
    may depend on them (`BUG_ON(!PageHighMem(page))` before `page_address(page)`)."""
    return assume(condition, False, facts, frozenset(condition.atoms()))
