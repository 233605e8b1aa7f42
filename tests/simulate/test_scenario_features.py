"""Per-thread actions, counters, invariants, wait queues, ranges and the loader's errors.

Fast tier: small C files in a mini tree, no kernel tree needed.
"""

from __future__ import annotations

import copy

import pytest
from simhelpers import CONFIG

from patchlint.simulate import (
    Scenario,
    ScenarioError,
    format_simulation_text,
    make_resolver,
    run_scenario,
    simulate_patch,
)
from patchlint.simulate.world import TomlTable

# `leave()` runs as each exiting thread; only the leader drops the count before,
# every thread after (the shape of the TIF_MEMDIE-on-every-thread bug).
BEFORE = """
#include <linux/sched.h>
static int live;

void start(struct task_struct *p)
{
	live += 1;
}

void leave(void)
{
	if (current->pid == current->tgid)
		live -= 1;
	if (!live)
		__wake_up(&waiters, TASK_NORMAL, 0, 0);
}
"""
AFTER = BEFORE.replace("\tif (current->pid == current->tgid)\n\t\tlive -= 1;", "\tlive -= 1;")

BASE: TomlTable = {
    "name": "unit-exit",
    "question": "waiters woken",
    "action": "start(T0);",
    "action_file": "kernel/test.c",
    "observe": "woken(t)",
    "observe_tasks": ["W"],
    "current": "W0",
    "context_files": ["include/linux/sched.h"],
    "invariants": ["live >= 0"],
    "each_thread": [{"tasks": ["P0"], "action": "leave();"}],
    "counter": [{"name": "live", "value": "live"}],
    "globals": {"waiters": {"struct": "wait_queue_head"}},
    "wait_queues": {"waiters": ["W0"]},
    "process": [
        {"name": "P0", "threads": 3, "names": ["T0", "T1", "T2"], "state": "TASK_RUNNING"},
        {"name": "W", "threads": 1, "names": ["W0"], "state": "TASK_INTERRUPTIBLE"},
    ],
}


def _scenario(**changes: object) -> Scenario:
    data = copy.deepcopy(BASE)
    data.update(changes)  # type: ignore[arg-type]
    return Scenario.from_data(data, "unit.toml")


def test_every_thread_runs_the_action_as_current(mini_tree):
    run = run_scenario(mini_tree({"kernel/test.c": BEFORE}), _scenario())
    assert run.stopped is None, run.warnings
    assert [(c.name, c.steps, c.values) for c in run.counters] == [
        ("live", ["the action", "T0", "T1", "T2"], [1, 0, 0, 0])
    ]
    assert run.violated == []
    assert (run.holds, run.total) == (1, 1)  # the count reached 0: W0 was woken


def test_a_counter_going_negative_breaks_the_invariant(mini_tree):
    before = mini_tree({"kernel/test.c": BEFORE})
    after = make_resolver(before.index, {"kernel/test.c": AFTER}, CONFIG)
    result = simulate_patch(before, after, _scenario())
    assert [c.values for c in result.after.counters] == [[1, 0, -1, -2]]
    assert [(v.invariant, v.step) for v in result.after.violated] == [("live >= 0", "T1")]
    assert "the patch breaks an invariant: live >= 0 fails first after T1 (live = -1)" in (
        result.verdict
    )
    # Before, the non-leaders leave the count at 0 and wake the waiters again.
    assert "T1, T2: leave() calls __wake_up before, not after" in result.explanation
    text = format_simulation_text(result)
    assert "counter live after the action, T0, T1, T2: 1 -> 0 -> 0 -> 0 before, " in text


def test_ranges_list_the_worlds_that_differ(mini_tree):
    before = mini_tree({"kernel/test.c": BEFORE})
    after = make_resolver(before.index, {"kernel/test.c": AFTER}, CONFIG)
    axis = {"name": "threads", "key": "process.P0.threads", "values": [1, 2, 3]}
    result = simulate_patch(before, after, _scenario(range=[axis]))
    search = result.search
    assert search is not None
    assert (search.worlds, search.explored, search.excluded, search.unknown) == (3, 3, 0, 0)
    assert [d.description() for d in search.differing] == ["threads: 2", "threads: 3"]
    assert search.differing[0].after.counters == (("live", (1, 0, -1)),)
    # A world the assumption rules out is not run after the patch, nor reported.
    assumed = _scenario(range=[axis], assume="t->pid < 101", observe_tasks=["P0"])
    search = simulate_patch(before, after, assumed).search
    assert search is not None
    assert (search.excluded, len(search.differing)) == (2, 0)


def test_max_worlds_makes_the_search_incomplete(mini_tree):
    resolver = mini_tree({"kernel/test.c": BEFORE})
    axis = {"name": "threads", "key": "process.P0.threads", "values": [1, 2, 3]}
    search = simulate_patch(resolver, resolver, _scenario(range=[axis], max_worlds=2)).search
    assert search is not None and not search.complete and search.explored == 2


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"colour": "red"}, "colour", "unknown key"),
        ({"each_thread": [{"tasks": ["P9"], "action": "f();"}]}, "each_thread[0].tasks", "P9"),
        ({"counter": [{"name": "live count", "value": "live"}]}, "counter[0].name", "C identifier"),
        (
            {"range": [{"key": "process.P7.threads", "values": [1]}]},
            "range[0].key",
            "no entry named 'P7'",
        ),
        ({"range": [{"key": "globals.x", "values": []}]}, "range[0].values", "non-empty"),
        ({"current": "Z0"}, "current", "no task"),
        ({"expect": [{"before": 1, "aftr": 2}]}, "expect[0].aftr", "unknown key"),
    ],
)
def test_bad_scenarios_name_file_and_key(change, key, message):
    with pytest.raises(ScenarioError) as error:
        _scenario(**change)
    assert error.value.path == "unit.toml" and error.value.key == key
    assert message in str(error.value)


def test_scenario_error_gives_the_line():
    text = 'name = "x"\naction = "f();"\n\n[[counter]]\nname = "c"\nvalue = "c"\ninvariants = []\n'
    data: TomlTable = {
        "name": "x",
        "action": "f();",
        "counter": [{"name": "c", "value": "c", "invariants": []}],
    }
    with pytest.raises(ScenarioError) as error:
        Scenario.from_data(data, "rules/scenarios/x.toml", text)
    assert str(error.value).startswith("rules/scenarios/x.toml:7: counter[0].invariants:")


def test_the_primitives_schema_names_every_model():
    import json

    from patchlint.simulate.primitive_call import MODELS
    from patchlint.validate import schema_dir

    schema = json.loads((schema_dir() / "simulate/primitives.schema.json").read_text())
    entry = schema["properties"]["primitives"]["additionalProperties"]
    assert set(entry["properties"]["model"]["enum"]) == set(MODELS)


def test_the_schema_rejects_a_misplaced_key(tmp_path):
    from patchlint.validate import DataError, validate_data

    text = 'name = "x"\naction = "f();"\n\n[[counter]]\nname = "c"\nvalue = "c"\ninvariants = []\n'
    path = tmp_path / "x.toml"
    path.write_text(text)
    import tomllib

    with pytest.raises(DataError) as error:
        validate_data(tomllib.loads(text), "scenarios", path)
    assert str(error.value).startswith(f"{path}:7: counter[0].invariants: unknown key")


def test_a_range_value_that_gives_no_scenario_is_refused_at_load():
    axis = {"name": "threads", "key": "process.P0.threads", "values": [1, 0]}
    with pytest.raises(ScenarioError) as error:
        _scenario(range=[axis])
    assert error.value.key == "range[0].values"
    assert "value 2" in str(error.value) and "between 1 and 64" in str(error.value)


def test_a_combination_that_gives_no_scenario_is_unknown(mini_tree):
    # Each value alone is fine, but the current task T1 exists only with 2 threads.
    resolver = mini_tree({"kernel/test.c": BEFORE})
    threads = {"name": "threads", "key": "process.P0.threads", "values": [2, 1]}
    current = {"name": "current", "key": "current", "values": ["W0", "T1"]}
    search = simulate_patch(resolver, resolver, _scenario(range=[threads, current])).search
    assert search is not None
    assert (search.explored, search.unknown) == (4, 1)
    assert search.notes[0].startswith("threads: 1, current: T1: ")
    assert "no task 'T1'" in search.notes[0]
