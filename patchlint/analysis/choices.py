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

from patchlint.analysis.conditions import atom_text, constant_truth
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
