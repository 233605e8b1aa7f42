"""The seed patch on linux 6.12: the executed path and scenario selection.

The counts each scenario gives for the seed and its halves are its ``[[expect]]``
entries, checked by test_scenario_expectations.py.
"""

from __future__ import annotations

import pytest
from simhelpers import resolvers

from patchlint.simulate import (
    format_simulation_text,
    load_scenarios,
    select_scenarios,
    simulate_patch,
)

pytestmark = pytest.mark.kernel


def _scenario(name: str):
    return next(s for s in load_scenarios() if s.name == name)


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


def test_selection_follows_touched_functions(kernel_tree, tmp_path):
    pre, post = resolvers(kernel_tree, "seed-thaw-half.diff", tmp_path)
    names = {s.name for s in select_scenarios({"mark_oom_victim", "thaw_process"}, [pre, post])}
    assert {"oom-victim-frozen-group", "oom-victim-cgroup-freezing"} <= names
    assert "group-kill-wakes-all-threads" not in names
    # A callee of an exercised function selects too (test_tsk_thread_flag under
    # freezing_slow_path), through the resolver.
    callee = {s.name for s in select_scenarios({"test_ti_thread_flag"}, [pre])}
    assert "oom-victim-frozen-group" in callee


def test_selection_reaches_the_exit_path(kernel_tree, tmp_path):
    """Scenarios are chosen by the functions they exercise, per-thread actions included."""
    pre, post = resolvers(kernel_tree, "oom-memdie-all-threads.patch", tmp_path)
    for touched in ({"mark_oom_victim"}, {"exit_oom_victim"}, {"exit_mm"}, {"mmput"}):
        names = {s.name for s in select_scenarios(touched, [pre, post])}
        assert "oom-victim-threads-exit" in names, touched
        assert "group-kill-wakes-all-threads" not in names, touched
    names = {s.name for s in select_scenarios({"complete_signal"}, [pre, post])}
    assert "oom-victim-threads-exit" not in names
