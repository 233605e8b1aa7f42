"""Which locks a call the analysis knows nothing about could reach (analysis/reach.py)."""

from __future__ import annotations

from patchlint.analysis.calls import Store
from patchlint.analysis.reach import LockReach


def _same(expression: str) -> str:
    return expression


def _reach(locks: list[str], stores: list[Store] | None = None) -> LockReach:
    return LockReach(
        ("tbl", "dev", "page"), frozenset({"n", "pas", "i"}), stores or [], locks, _same
    )


def _store(target: str, value: str) -> Store:
    return Store(target, value, 1, 0, True)


def test_a_lock_of_a_parameter_is_reached_only_through_its_owner() -> None:
    reach = _reach(["tbl->lock"])
    assert reach.reached_by(["tbl"], _same)
    assert reach.reached_by(["&tbl->lock"], _same)
    assert not reach.reached_by(["dev", "&n->tracker"], _same)
    # What a call computed from the owner is another object.
    assert not reach.reached_by(["neigh_alloc(tbl, dev)"], _same)


def test_a_lock_computed_from_a_variable_is_reached_through_that_variable() -> None:
    reach = _reach(["pas->lock"], [_store("pas", "page_slot(page)")])
    assert reach.reached_by(["page"], _same)
    assert reach.reached_by(["pas"], _same)
    assert not reach.reached_by(["dev"], _same)


def test_globals_and_unkeyed_state_are_in_every_callees_reach() -> None:
    assert _reach(["table_lock"]).reached_by([], _same)
    assert _reach([""]).reached_by([], _same)
    # A local set in a way the code does not spell out may stand for anything.
    assert _reach(["n->lock"]).reached_by([], _same)
    assert _reach(["n->lock"], [_store("n", "?")]).reached_by([], _same)
