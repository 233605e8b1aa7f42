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


EXIT = "oom-victim-threads-exit"


@pytest.mark.parametrize(
    ("path", "old", "new", "woken", "counter"),
    [
        # exit_oom_victim(): wake the waiters while victims remain
        (
            "mm/oom_kill.c",
            "if (!atomic_dec_return(&oom_victims))",
            "if (atomic_dec_return(&oom_victims))",
            0,
            [1, 0, 0, 0, 0],
        ),
        # exit_mm(): the TIF_MEMDIE test inverted
        (
            "kernel/exit.c",
            "\tif (test_thread_flag(TIF_MEMDIE))\n\t\texit_oom_victim();",
            "\tif (!test_thread_flag(TIF_MEMDIE))\n\t\texit_oom_victim();",
            1,
            [1, 1, 0, -1, -2],
        ),
        # the tree's test_thread_flag() macro, expanded where exit_mm() uses it
        (
            "include/linux/thread_info.h",
            "#define test_thread_flag(flag) \\\n\ttest_ti_thread_flag(",
            "#define test_thread_flag(flag) \\\n\t!test_ti_thread_flag(",
            1,
            [1, 1, 0, -1, -2],
        ),
        # the tree's wake_up_all() macro: waking only uninterruptible sleepers
        (
            "include/linux/wait.h",
            "#define wake_up_all(x)\t\t\t__wake_up(x, TASK_NORMAL, 0, NULL)",
            "#define wake_up_all(x)\t\t\t__wake_up(x, TASK_UNINTERRUPTIBLE, 0, NULL)",
            0,
            [1, 0, 0, 0, 0],
        ),
        # mark_oom_victim(): the victim never counted
        (
            "mm/oom_kill.c",
            "\t__thaw_task(tsk);\n\tatomic_inc(&oom_victims);",
            "\t__thaw_task(tsk);",
            0,
            [0, -1, -1, -1, -1],
        ),
    ],
)
def test_mutating_the_exit_path_changes_the_result(kernel_tree, path, old, new, woken, counter):
    """exit_mm(), exit_oom_victim() and the macros they use are the tree's own code."""
    index = index_for(kernel_tree)
    original = (kernel_tree / path).read_text()
    scenario = next(s for s in load_scenarios() if s.name == EXIT)
    result = simulate_patch(
        make_resolver(index, {}),
        make_resolver(index, {path: _mutate(original, old, new)}),
        scenario,
        search=False,
    )
    assert result.before.stopped is None and result.after.stopped is None
    assert (result.before.holds, [c.values for c in result.before.counters]) == (
        1,
        [[1, 0, 0, 0, 0]],
    )
    assert result.after.holds == woken
    assert [c.values for c in result.after.counters] == [counter]
