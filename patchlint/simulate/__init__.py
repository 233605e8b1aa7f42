"""Simulate a patch: run the real kernel functions before and after on modelled worlds.

Public entry points::

    pre = make_resolver(index, {path: applied.pre ...})     # before view
    post = make_resolver(index, {path: applied.post ...})   # after view
    scenarios = select_scenarios(touched, [pre, post])
    result = simulate_patch(pre, post, scenario, trace=False)   # + result.search
    print(format_simulation_text(result))

or, from ``apply_series`` output, ``simulate_applied(index, applied.files)``.
"""

from __future__ import annotations

from patchlint.simulate.compare import SimulationResult, simulate_patch
from patchlint.simulate.frames import CallRecord, TraceStep
from patchlint.simulate.interpreter import Interpreter
from patchlint.simulate.patches import simulate_applied, touched_functions, views
from patchlint.simulate.primitives import Primitives
from patchlint.simulate.report import format_simulation_text, search_lines
from patchlint.simulate.resolve import Resolver, make_resolver
from patchlint.simulate.runner import (
    CounterSeries,
    CounterSummary,
    InvariantFailure,
    InvariantSummary,
    RunOutcome,
    TaskOutcome,
    run_scenario,
)
from patchlint.simulate.scenario import Scenario, ScenarioError, load_scenarios
from patchlint.simulate.search import (
    ObservationSummary,
    SearchResult,
    SearchSummary,
    WorldDifference,
    WorldObservation,
    WorldSummary,
    search_divergences,
)
from patchlint.simulate.select import exercised_functions, select_scenarios
from patchlint.simulate.world import Obj, Stop, World

__all__ = [
    "CallRecord",
    "CounterSeries",
    "CounterSummary",
    "InvariantFailure",
    "InvariantSummary",
    "Interpreter",
    "Obj",
    "ObservationSummary",
    "Primitives",
    "Resolver",
    "RunOutcome",
    "Scenario",
    "ScenarioError",
    "SearchResult",
    "SearchSummary",
    "SimulationResult",
    "Stop",
    "TaskOutcome",
    "TraceStep",
    "World",
    "WorldDifference",
    "WorldObservation",
    "WorldSummary",
    "exercised_functions",
    "format_simulation_text",
    "load_scenarios",
    "make_resolver",
    "run_scenario",
    "search_divergences",
    "search_lines",
    "select_scenarios",
    "simulate_applied",
    "simulate_patch",
    "touched_functions",
    "views",
]
