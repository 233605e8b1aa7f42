"""Which scenarios a patch selects: those whose exercised functions it touches.

A scenario exercises the functions its runs enter on the unpatched tree (its
base world and every world of its ranges: per-thread actions, counters and
observations included), the functions its C text names and their callees in
the same files, and the functions it declares in ``exercises`` (for a function
a patch adds, such as the seed's ``thaw_process``).  Nothing here names a patch.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable
from pathlib import Path

from patchlint.simulate.primitives import Primitives
from patchlint.simulate.resolve import Resolver, make_resolver
from patchlint.simulate.runner import run_scenario
from patchlint.simulate.scenario import Scenario, load_scenarios
from patchlint.source import FunctionIndex, calls_in
from patchlint.treecache import read_json, tree_cache_file, write_json

_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def scenario_texts(scenario: Scenario) -> list[str]:
    """Every piece of C a scenario runs: actions, observation, counters, assumption."""
    texts = [scenario.action, scenario.observe, scenario.assume, *scenario.invariants]
    texts += [each.action for each in scenario.each_thread]
    texts += [counter.value for counter in scenario.counters]
    return [t for t in texts if t]


def exercised_functions(
    scenario: Scenario, resolvers: Iterable[Resolver] = (), depth: int = 2
) -> set[str]:
    """The scenario's declared functions, those its C text calls, and their callees.

    Declared functions are found tree-wide through each resolver (pre and post
    views both, so a function a patch adds is seen); their callees are followed
    ``depth`` levels through the caller's own file and includes only, which needs
    no tree-wide search.  Modelled primitives are skipped.
    """
    prims = Primitives()
    names = set(scenario.exercises)
    for text in scenario_texts(scenario):
        names.update(n for n in _CALLED.findall(text) if not prims.has(n))
    for resolver in resolvers:
        frontier: set[tuple[str, str | None]] = {(n, None) for n in names}
        for level in range(depth + 1):
            found: set[tuple[str, str | None]] = set()
            for name, caller in frontier:
                hit = resolver(name) if level == 0 else resolver.local(name, caller)
                if hit is None:
                    continue
                source, fn = hit
                names.add(name)
                for site in calls_in(source, fn):
                    if not prims.has(site.name) and site.name not in names:
                        found.add((site.name, source.path))
                # Callbacks handed to task_call_func() and friends are static
                # functions of the same file.
                defined_here = {f.name for f in source.functions}
                body = source.node_text(fn.body) if fn.body is not None else ""
                found.update(
                    (n, source.path)
                    for n in re.findall(r"[,(]\s*([A-Za-z_]\w*)\s*[,)]", body)
                    if n in defined_here and n not in names
                )
            frontier = found
    return names


def entered_functions(scenario: Scenario, resolver: Resolver) -> set[str]:
    """The C functions the scenario's runs enter on ``resolver``'s view."""
    primitives = Primitives()
    worlds = [scenario]
    worlds += [
        world
        for _, world in itertools.islice(scenario.worlds(), scenario.max_worlds)
        if isinstance(world, Scenario)
    ]
    names: set[str] = set()
    for world in worlds:
        run = run_scenario(resolver, world, primitives=primitives)
        pending = [run.record] if run.record is not None else []
        while pending:
            record = pending.pop()
            if not record.primitive and not record.function.startswith("<"):
                names.add(record.function)
            pending.extend(record.children)
    return names


def select_scenarios(
    touched_functions: set[str],
    resolvers: Iterable[Resolver] = (),
    scenarios: list[Scenario] | None = None,
) -> list[Scenario]:
    """Scenarios whose exercised functions intersect ``touched_functions``.

    The exercised set of a scenario is a property of the tree, not of the patch, so
    it is computed once per tree (see ``_closure``) rather than once per patch; a
    function the patch itself adds is still seen through the scenario's declared
    names and the patch's own views.
    """
    chosen: list[Scenario] = []
    views = list(resolvers)
    if not touched_functions:
        return chosen
    for scenario in scenarios if scenarios is not None else load_scenarios():
        declared = set(scenario.exercises)
        if declared & touched_functions:
            chosen.append(scenario)
            continue
        closure = _closure(scenario, views[0].index) if views else set()
        if closure & touched_functions:
            chosen.append(scenario)
    return chosen


_CLOSURES: dict[tuple[int, str], set[str]] = {}


def _closure(scenario: Scenario, index: FunctionIndex) -> set[str]:
    """Exercised functions on the unpatched tree, kept in memory for the run and on
    disk per tree, so a one-patch hook run does not search the tree again."""
    key = (id(index), scenario.name)
    if key in _CLOSURES:
        return _CLOSURES[key]
    cache_file = tree_cache_file(
        "scenario-closures",
        Path(index.root),
        scenario.name,
        # A series view (earlier patches applied) is its own tree.
        str(getattr(index, "state", "")),
        repr(sorted(scenario.exercises)),
        *scenario_texts(scenario),
        scenario.text,
        # What the runs enter depends on the models too.
        json.dumps(Primitives().data, sort_keys=True, default=str),
    )
    cached = read_json(cache_file)
    if isinstance(cached, list) and all(isinstance(n, str) for n in cached):
        _CLOSURES[key] = set(cached)
        return _CLOSURES[key]
    tree = make_resolver(index, {})
    names = exercised_functions(scenario, [tree]) | entered_functions(scenario, tree)
    _CLOSURES[key] = names
    write_json(cache_file, sorted(names))
    return names
