"""The simulator runs the tree's own functions: mutating one changes the outcome.

Each case overlays a mutated copy of one kernel file (the tree is never written)
and compares against the unmodified tree, so a Python re-implementation of any of
these functions would make the test fail.
"""

from __future__ import annotations

import pytest
from simhelpers import SIM_FIXTURES, index_for, overlays

from patchlint.simulate import load_scenarios, make_resolver, simulate_patch

pytestmark = pytest.mark.kernel

FROZEN_GROUP = "oom-victim-frozen-group"


def _scenario():
    return next(s for s in load_scenarios() if s.name == FROZEN_GROUP)


def _mutate(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("path", "old", "new", "after"),
    [
        # __restore_freezer_state: inverted test of saved_state -> no wake-up at all
        ("kernel/freezer.c", "if (state != TASK_RUNNING) {", "if (state == TASK_RUNNING) {", 0),
        # freezing_slow_path: inverted TIF_MEMDIE exemption -> T0 keeps freezing
        (
            "kernel/freezer.c",
            "if (test_tsk_thread_flag(p, TIF_MEMDIE))",
            "if (!test_tsk_thread_flag(p, TIF_MEMDIE))",
            0,
        ),
        # frozen(): never frozen -> __thaw_task() wakes nobody
        (
            "kernel/freezer.c",
            "return READ_ONCE(p->__state) & TASK_FROZEN;",
            "return READ_ONCE(p->__state) & ~TASK_FROZEN;",
            0,
        ),
        # __thaw_task: wake only when the state was restored
        (
            "kernel/freezer.c",
            "if (frozen(p) && !task_call_func(",
            "if (frozen(p) && task_call_func(",
            0,
        ),
        # freezing(): the static inline in the header
        (
            "include/linux/freezer.h",
            "return freezing_slow_path(p);",
            "return !freezing_slow_path(p);",
            0,
        ),
        # mark_oom_victim: drop the thaw
        (
            "mm/oom_kill.c",
            "\t__thaw_task(tsk);\n\tatomic_inc(&oom_victims);",
            "\tatomic_inc(&oom_victims);",
            0,
        ),
        # freezing_slow_path: a PM-freezing test that exempts user threads -> all can run
        (
            "kernel/freezer.c",
            "if (pm_freezing && !(p->flags & PF_KTHREAD))",
            "if (pm_freezing && (p->flags & PF_KTHREAD))",
            1,
        ),
    ],
)
def test_mutating_the_tree_changes_the_result(kernel_tree, path, old, new, after):
    index = index_for(kernel_tree)
    original = (kernel_tree / path).read_text()
    mutated = {path: _mutate(original, old, new)}
    result = simulate_patch(make_resolver(index, {}), make_resolver(index, mutated), _scenario())
    assert result.before.holds == 1
    assert result.after.holds == after, result.after.per_task
    assert result.after.stopped is None


def test_mutating_patched_functions(kernel_tree, tmp_path):
    """thaw_process (added by the patch) and tsk_is_oom_victim are run, not assumed."""
    diff = (SIM_FIXTURES / "seed-full.diff").read_text()
    pre, post = overlays(kernel_tree, diff, tmp_path)
    index = index_for(kernel_tree)
    thaw_one = dict(post)
    thaw_one["kernel/freezer.c"] = _mutate(
        post["kernel/freezer.c"],
        "\t\t__thaw_task(t);\n",
        "\t\tif (t == p)\n\t\t\t__thaw_task(t);\n",
    )
    result = simulate_patch(make_resolver(index, pre), make_resolver(index, thaw_one), _scenario())
    assert (result.before.holds, result.after.holds) == (1, 1)
    oom_h = (kernel_tree / "include/linux/oom.h").read_text()
    not_victim = dict(post)
    not_victim["include/linux/oom.h"] = _mutate(
        oom_h, "return tsk->signal->oom_mm;", "return !tsk->signal->oom_mm;"
    )
    result = simulate_patch(
        make_resolver(index, pre), make_resolver(index, not_victim), _scenario()
    )
    assert result.after.holds == 0
