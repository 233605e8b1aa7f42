"""Every scenario's ``[[expect]]`` entries, checked on linux 6.12.

The expected results live in the scenario files (rules/scenarios/*.toml) next to
the world they describe; this test only runs them.  A patch fixture is applied
with GNU patch in a scratch copy of the touched files (the tree is never
written), the scenario is simulated before and after, and every field the
expectation gives is compared exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from simhelpers import SIM_FIXTURES, index_for, resolvers

from patchlint.simulate import (
    Scenario,
    SimulationResult,
    format_simulation_text,
    load_scenarios,
    make_resolver,
    simulate_patch,
)
from patchlint.simulate.scenario import Expectation

CASES = [
    pytest.param(scenario, expect, id=f"{scenario.name}:{expect.patch or 'tree'}")
    for scenario in load_scenarios()
    for expect in scenario.expectations
]


def _counters(run_counters: list, wanted: dict[str, tuple[int, ...]]) -> dict:
    return {c.name: tuple(c.values) for c in run_counters if c.name in wanted}


def check(result: SimulationResult, expect: Expectation) -> None:
    before, after = result.before, result.after
    assert before.stopped is None and after.stopped is None, (before.stopped, after.stopped)
    if expect.before is not None:
        assert before.holds == expect.before
    if expect.after is not None:
        assert after.holds == expect.after
    if expect.total is not None:
        assert before.total == after.total == expect.total
    if expect.warnings is not None:
        assert len(result.warnings) == expect.warnings, result.warnings
    if expect.holding_before is not None:
        assert [t.task for t in before.per_task if t.holds] == list(expect.holding_before)
    if expect.holding_after is not None:
        assert [t.task for t in after.per_task if t.holds] == list(expect.holding_after)
    text = format_simulation_text(result)
    for wanted in expect.difference:
        assert wanted in result.difference or wanted in result.explanation_text(), text
    if expect.counters_before:
        assert _counters(before.counters, expect.counters_before) == expect.counters_before
    if expect.counters_after:
        assert _counters(after.counters, expect.counters_after) == expect.counters_after
    if expect.violated_before is not None:
        assert [v.invariant for v in before.violated] == list(expect.violated_before)
    if expect.violated_after is not None:
        assert [v.invariant for v in after.violated] == list(expect.violated_after)
    search = result.search
    if expect.explored is not None or expect.differing is not None or expect.differing_worlds:
        assert search is not None
        if expect.explored is not None:
            assert search.explored == expect.explored and search.complete
        if expect.excluded is not None:
            assert search.excluded == expect.excluded
        assert search.unknown == 0
        if expect.differing is not None:
            assert len(search.differing) == expect.differing, text
        descriptions = [d.description() for d in search.differing]
        for world in expect.differing_worlds:
            assert sum(world in d for d in descriptions) == 1, (world, descriptions)


@pytest.mark.kernel
@pytest.mark.parametrize(("scenario", "expect"), CASES)
def test_scenario_expectation(
    kernel_tree: Path, tmp_path: Path, scenario: Scenario, expect: Expectation
) -> None:
    if expect.patch:
        pre, post = resolvers(kernel_tree, expect.patch, tmp_path)
    else:
        pre = post = make_resolver(index_for(kernel_tree), {})
    check(simulate_patch(pre, post, scenario), expect)


def test_every_expectation_names_a_fixture() -> None:
    """Fast tier: the files load, and each names a patch that exists."""
    assert CASES
    for scenario in load_scenarios():
        assert scenario.expectations, f"{scenario.path} has no [[expect]]"
        for expect in scenario.expectations:
            assert not expect.patch or (SIM_FIXTURES / expect.patch).is_file(), expect.patch
