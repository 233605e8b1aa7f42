"""Mutation analysis on the real kernel/freezer.c: the simulator runs the tree's code.

Every single operator flip in kernel/freezer.c (``&&``/``||``, ``==``/``!=``,
``return true``/``return false``, a dropped ``!``) is overlaid on the tree in
turn, and the worlds of the freezer-states scenario with a two-thread victim
(PM, cgroup, thread state and flags all varied) are run on it.  Two properties
must hold:

* a flip inside a function no world ever entered cannot change any outcome (so
  an outcome never comes from anything but the code that ran);
* flips inside the functions that ran change some world's outcome, nearly all
  of them: a simulator that re-implemented freezing() in Python, or assumed
  its result, would miss them.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from simhelpers import index_for

from patchlint.simulate import Scenario, load_scenarios, make_resolver, run_scenario
from patchlint.simulate.resolve import Resolver
from patchlint.source import parse_c

pytestmark = pytest.mark.kernel

FLIPS = [
    ("&&", "||"),
    ("||", "&&"),
    ("!=", "=="),
    ("==", "!="),
    ("return false", "return true"),
    ("return true", "return false"),
    ("if (!", "if ("),
]
PATH = "kernel/freezer.c"
# Each term is compared separately, so any change of state is seen.
OBSERVE = "running(t) && woken(t) && frozen(t) && freezing(t)"


def _mutants(text: str) -> list[tuple[int, str]]:
    """(offset, mutated text) for every single flip."""
    out = []
    for old, new in FLIPS:
        for match in re.finditer(re.escape(old), text):
            at = match.start()
            out.append((at, text[:at] + new + text[at + len(old) :]))
    return out


def _worlds() -> list[Scenario]:
    scenario = next(s for s in load_scenarios() if s.name == "oom-victim-freezer-states")
    return [
        dataclasses.replace(world, observe=OBSERVE)
        for where, world in scenario.worlds()
        if where["victim threads"] == "2" and isinstance(world, Scenario)
    ]


def _outcome(resolver: Resolver, world: Scenario) -> tuple[object, ...]:
    run = run_scenario(resolver, world)
    assert run.steps <= world.budget + 1
    return (run.stopped, tuple(tuple(t.terms) for t in run.per_task))


def test_flips_in_code_that_ran_change_the_outcome(kernel_tree: Path) -> None:
    index = index_for(kernel_tree)
    worlds = _worlds()
    assert len(worlds) == 72
    tree = make_resolver(index, {})
    entered: set[str] = set()
    original = []
    for world in worlds:
        run = run_scenario(tree, world, trace=True)
        assert run.stopped is None
        entered |= {step.function for step in run.trace}
        original.append((run.stopped, tuple(tuple(t.terms) for t in run.per_task)))
    text = (kernel_tree / PATH).read_text()
    functions = parse_c(text, PATH).functions
    assert {"freezing_slow_path", "__thaw_task", "__restore_freezer_state", "frozen"} <= entered

    killed: list[int] = []
    survived: list[int] = []
    idle_changed: list[int] = []
    idle = 0
    for at, mutated in _mutants(text):
        offset = len(text[:at].encode())
        owner = next((f for f in functions if f.start_byte <= offset < f.end_byte), None)
        if owner is None:
            continue
        resolver = make_resolver(index, {PATH: mutated})
        changed = any(_outcome(resolver, w) != o for w, o in zip(worlds, original, strict=True))
        line = text.count("\n", 0, at) + 1
        if owner.name not in entered:
            idle += 1
            if changed:
                idle_changed.append(line)
        else:
            (killed if changed else survived).append(line)
    assert idle >= 10 and not idle_changed, idle_changed
    # On 6.12: 9 flips in the functions that ran, all 9 change an outcome; 15 in
    # functions no world entered, none does.
    assert len(killed) + len(survived) >= 9
    assert not survived, (killed, survived)
