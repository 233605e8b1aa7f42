"""What a `switch` says on each of its arms: the subject equals this case's value,
and (C makes case values distinct) none of the others'. Part of ``LockAnalysis``
(lockstate.py)."""

from __future__ import annotations

from patchlint.analysis.calls import text
from patchlint.analysis.cfg import CASE, NO_CASE, Cfg, CfgNode
from patchlint.analysis.conditions import assume, case_formula, switch_subject
from patchlint.analysis.events import FunctionContext
from patchlint.analysis.kb import Knowledge
from patchlint.analysis.state import LockState


class SwitchFacts:
    """The part of the analysis that refines a path's facts at a switch."""

    cfg: Cfg
    kb: Knowledge
    context: FunctionContext

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
                facts = assume(
                    case_formula(subject, value), True, state.facts, self.context.tracked
                )
                # C makes a switch's case values distinct: on this case the subject
                # equals none of the others (a later switch on it cannot take them).
                others: list[tuple[int, str | None]] = [
                    (t, v) for t, v in cases if v is not None and v != value
                ]
                if facts is not None:
                    facts = self._no_case(subject, others, facts)
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
