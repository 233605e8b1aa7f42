"""The seed patch and its two halves on linux 6.12: counts follow from the code."""

from __future__ import annotations

import pytest
from simhelpers import index_for, resolvers

from patchlint.simulate import (
    format_simulation_text,
    load_scenarios,
    make_resolver,
    select_scenarios,
    simulate_patch,
)

pytestmark = pytest.mark.kernel


def _scenario(name: str):
    return next(s for s in load_scenarios() if s.name == name)


@pytest.mark.parametrize(
    ("fixture", "before", "after", "named"),
    [
        ("seed-full.diff", 1, 4, "freezing_slow_path returned false for T1..T3 after"),
        ("seed-freezing-half.diff", 1, 1, "woken(t) stays false for T1..T3"),
        ("seed-thaw-half.diff", 1, 1, "freezing_slow_path still returned true for T1..T3"),
    ],
)
def test_oom_victim_frozen_group(kernel_tree, tmp_path, fixture, before, after, named):
    pre, post = resolvers(kernel_tree, fixture, tmp_path)
    result = simulate_patch(pre, post, _scenario("oom-victim-frozen-group"))
    assert (result.before.holds, result.before.total) == (before, 4)
    assert (result.after.holds, result.after.total) == (after, 4)
    assert result.before.stopped is None and result.after.stopped is None
    assert not [w for w in result.warnings if "unmodelled" in w or "violation" in w]
    assert named in result.difference
    text = format_simulation_text(result)
    assert f"{before} of 4 before, {after} of 4 after" in text
    assert named in text


def test_thaw_half_names_thaw_process_in_the_action(kernel_tree, tmp_path):
    pre, post = resolvers(kernel_tree, "seed-thaw-half.diff", tmp_path)
    result = simulate_patch(pre, post, _scenario("oom-victim-frozen-group"))
    assert "calls thaw_process after instead of __thaw_task before" in result.difference
    assert [t.holds for t in result.after.per_task] == [True, False, False, False]


def test_cgroup_freezing_scenario(kernel_tree, tmp_path):
    pre, post = resolvers(kernel_tree, "seed-full.diff", tmp_path)
    result = simulate_patch(pre, post, _scenario("oom-victim-cgroup-freezing"))
    assert (result.before.holds, result.after.holds, result.after.total) == (1, 4, 4)
    pre, post = resolvers(kernel_tree, "seed-thaw-half.diff", tmp_path / "thaw")
    result = simulate_patch(pre, post, _scenario("oom-victim-cgroup-freezing"))
    assert result.after.holds == 1
    # The real legacy_freezer.c code decides: the cgroup keeps T1..T3 freezing.
    assert "cgroup_freezing still returned true for T1..T3" in result.difference


def test_trace_shows_the_executed_path(kernel_tree, tmp_path):
    pre, post = resolvers(kernel_tree, "seed-full.diff", tmp_path)
    result = simulate_patch(pre, post, _scenario("oom-victim-frozen-group"), trace=True)
    assert result.trace_after is not None
    functions = {step.function for step in result.trace_after}
    assert {
        "mark_oom_victim",
        "thaw_process",
        "__thaw_task",
        "__restore_freezer_state",
        "frozen",
        "freezing",
        "freezing_slow_path",
        "tsk_is_oom_victim",
    } <= functions
    text = format_simulation_text(result, trace=True)
    assert "trace after:" in text and "thaw_process" in text
    assert result.to_dict()["after"]["holds"] == 4


def test_scenarios_run_clean_on_the_tree(kernel_tree):
    index = index_for(kernel_tree)
    view = make_resolver(index, {})
    expected = {
        "oom-victim-frozen-group": (1, 4),
        "oom-victim-cgroup-freezing": (1, 4),
        "group-kill-wakes-all-threads": (3, 3),
        "thaw-processes-task-list-walk": (3, 3),
    }
    for scenario in load_scenarios():
        result = simulate_patch(view, view, scenario)
        assert (result.before.holds, result.before.total) == expected[scenario.name], (
            scenario.name,
            result.warnings,
        )
        assert not result.warnings, (scenario.name, result.warnings)


def test_selection_follows_touched_functions(kernel_tree, tmp_path):
    pre, post = resolvers(kernel_tree, "seed-thaw-half.diff", tmp_path)
    names = {s.name for s in select_scenarios({"mark_oom_victim", "thaw_process"}, [pre, post])}
    assert {"oom-victim-frozen-group", "oom-victim-cgroup-freezing"} <= names
    assert "group-kill-wakes-all-threads" not in names
    # A callee of an exercised function selects too (test_tsk_thread_flag under
    # freezing_slow_path), through the resolver.
    callee = {s.name for s in select_scenarios({"test_ti_thread_flag"}, [pre])}
    assert "oom-victim-frozen-group" in callee
