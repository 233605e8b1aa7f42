"""The reviewer report's view of one changed function's verdict: its witness table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patchlint.report.views import BehaviourView, WitnessRow

if TYPE_CHECKING:
    from patchlint.behaviour import FunctionVerdict


def behaviour_view(verdict: FunctionVerdict, anchor: str) -> BehaviourView:
    explored = verdict.explored
    view = BehaviourView(
        anchor,
        verdict.function,
        verdict.file,
        verdict.verdict,
        f"{explored.paths} paths, {'complete' if explored.complete else 'incomplete'}",
        verdict.reason,
    )
    witness = verdict.witness
    if witness is None:
        return view
    view.inputs = [(name, str(value)) for name, value in witness.inputs]
    view.first_difference = witness.first_difference
    before, after = witness.before, witness.after
    pairs = [
        ("returns", _value_text(before.returns), _value_text(after.returns)),
        ("calls", "; ".join(before.calls), "; ".join(after.calls)),
        ("writes", _writes(before.writes), _writes(after.writes)),
        ("locks held", "; ".join(before.locks), "; ".join(after.locks)),
        ("crash", before.fault or "", after.fault or ""),
        ("log output", "; ".join(before.logs), "; ".join(after.logs)),
    ]
    view.rows = [WitnessRow(what, b or "-", a or "-") for what, b, a in pairs if b or a]
    return view


def _value_text(value: object) -> str:
    return "" if value is None else str(value)


def _writes(writes: tuple[tuple[str, object], ...]) -> str:
    return "; ".join(f"{name} = {value}" for name, value in writes)
