"""A scenario before and after a patch: the two runs, why they differ, the divergence search."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from patchlint.simulate.difference import explain
from patchlint.simulate.frames import TraceStep
from patchlint.simulate.primitives import Primitives
from patchlint.simulate.resolve import Resolver
from patchlint.simulate.runner import RunOutcome, run_scenario
from patchlint.simulate.scenario import Scenario
from patchlint.simulate.search import SearchResult, search_divergences


@dataclass
class SimulationResult:
    scenario: str
    before: RunOutcome
    after: RunOutcome
    warnings: list[str]
    verdict: str
    difference: str
    explanation: list[str] = field(default_factory=list)
    question: str = ""
    trace_before: list[TraceStep] | None = None
    trace_after: list[TraceStep] | None = None
    search: SearchResult | None = None

    def explanation_text(self) -> str:
        return "\n".join(self.explanation)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "scenario": self.scenario,
            "question": self.question,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "warnings": list(self.warnings),
            "verdict": self.verdict,
            "difference": self.difference,
            "explanation": list(self.explanation),
        }
        if self.search is not None:
            out["search"] = self.search.to_dict()
        for key, steps in (("trace_before", self.trace_before), ("trace_after", self.trace_after)):
            if steps is not None:
                out[key] = [asdict(s) for s in steps]
        return out


def simulate_patch(
    pre_resolver: Resolver,
    post_resolver: Resolver,
    scenario: Scenario,
    trace: bool = False,
    search: bool = True,
) -> SimulationResult:
    """Run ``scenario`` on the before and after views and explain the difference.

    With ``search`` (the default) a scenario with ranges also explores every
    world of its ranges (``SimulationResult.search``).
    """
    primitives = Primitives()
    before = run_scenario(pre_resolver, scenario, trace=trace, primitives=primitives)
    after = run_scenario(post_resolver, scenario, trace=trace, primitives=primitives)
    verdict, difference, explanation = explain(scenario, before, after)
    warnings = [f"before: {w}" for w in before.warnings if w not in after.warnings]
    warnings += [f"after: {w}" for w in after.warnings if w not in before.warnings]
    warnings += [w for w in after.warnings if w in before.warnings]
    explored = None
    if search and scenario.ranges:
        explored = search_divergences(pre_resolver, post_resolver, scenario, primitives)
    return SimulationResult(
        scenario=scenario.name,
        before=before,
        after=after,
        warnings=warnings,
        verdict=verdict,
        difference=difference,
        explanation=explanation,
        question=scenario.question,
        trace_before=before.trace if trace else None,
        trace_after=after.trace if trace else None,
        search=explored,
    )
