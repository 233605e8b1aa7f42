"""Scenarios beyond the seed: signal delivery to a group and a task-list walk."""

from __future__ import annotations

import dataclasses

import pytest
from simhelpers import SIM_FIXTURES, index_for

from patchlint.patch import parse_patch
from patchlint.simulate import (
    load_scenarios,
    make_resolver,
    run_scenario,
    simulate_applied,
    simulate_patch,
    touched_functions,
)
from patchlint.source import apply_series, open_tree

pytestmark = pytest.mark.kernel


def _scenario(name: str):
    return next(s for s in load_scenarios() if s.name == name)


def test_group_kill_needs_the_siglock(kernel_tree):
    view = make_resolver(index_for(kernel_tree), {})
    locked = run_scenario(view, _scenario("group-kill-wakes-all-threads"))
    assert (locked.holds, locked.total) == (3, 3) and not locked.warnings
    unlocked = dataclasses.replace(_scenario("group-kill-wakes-all-threads"), held=[])
    run = run_scenario(view, unlocked)
    assert run.holds == 3
    assert any("lockdep_assert_held" in w and "not held" in w for w in run.warnings)


def test_group_kill_sees_a_per_thread_mutation(kernel_tree):
    """complete_signal() waking only the chosen thread: 1 of 3 would die."""
    index = index_for(kernel_tree)
    text = (kernel_tree / "kernel/signal.c").read_text()
    old = "\t\t\t__for_each_thread(signal, t) {\n"
    assert text.count(old) == 1
    mutated = text.replace(old, "\t\t\t__for_each_thread(signal, t) if (t == p) {\n")
    result = simulate_patch(
        make_resolver(index, {}),
        make_resolver(index, {"kernel/signal.c": mutated}),
        _scenario("group-kill-wakes-all-threads"),
    )
    assert (result.before.holds, result.after.holds) == (3, 1)
    # Every world differs except those where the threads sleep uninterruptibly (no
    # thread dies there, before or after).
    search = result.search
    assert search is not None and (search.explored, search.unknown) == (12, 0)
    assert len(search.differing) == 9
    assert search.profile_text() == "state interruptible, killable, running (never uninterruptible)"


def test_thaw_processes_walk_reports_a_dropped_tasklist_lock(kernel_tree):
    index = index_for(kernel_tree)
    text = (kernel_tree / "kernel/power/process.c").read_text()
    start = text.index("void thaw_processes(void)")
    body = text[start:]
    unlocked = body.replace("\tread_lock(&tasklist_lock);\n", "", 1).replace(
        "\tread_unlock(&tasklist_lock);\n", "", 1
    )
    mutated = text[:start] + unlocked
    result = simulate_patch(
        make_resolver(index, {}),
        make_resolver(index, {"kernel/power/process.c": mutated}),
        _scenario("thaw-processes-task-list-walk"),
    )
    assert (result.before.holds, result.after.holds, result.after.total) == (3, 3, 3)
    assert any("for_each_process_thread() walk without" in w for w in result.warnings)
    assert not result.before.warnings


def test_simulate_applied_from_apply_series(kernel_tree):
    tree = open_tree(kernel_tree)
    patch = parse_patch((SIM_FIXTURES / "seed-full.diff").read_text(), "seed-full.diff")
    applied = apply_series([patch], tree)[0]
    assert touched_functions(applied.files) == {
        "mark_oom_victim",
        "thaw_process",
        "freezing_slow_path",
    }
    results = {r.scenario: r for r in simulate_applied(index_for(kernel_tree), applied.files)}
    frozen = results["oom-victim-frozen-group"]
    assert (frozen.before.holds, frozen.after.holds) == (1, 4)
    assert "group-kill-wakes-all-threads" not in results
