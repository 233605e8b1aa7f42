"""Which scenarios a patch selects: those whose exercised functions (or callees) it touches."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from patchlint.simulate.primitives import Primitives
from patchlint.simulate.scenario import Scenario, load_scenarios
from patchlint.source import calls_in

_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def exercised_functions(
    scenario: Scenario, resolvers: Iterable[Any] = (), depth: int = 2
) -> set[str]:
    """The scenario's declared functions, those its C text calls, and their callees.

    Declared functions are found tree-wide through each resolver (pre and post
    views both, so a function a patch adds is seen); their callees are followed
    ``depth`` levels through the caller's own file and includes only, which needs
    no tree-wide search.  Modelled primitives are skipped.
    """
    prims = Primitives()
    names = set(scenario.exercises)
    for text in (scenario.action, scenario.observe):
        names.update(n for n in _CALLED.findall(text) if not prims.has(n))
    for resolver in resolvers:
        local = getattr(resolver, "local", None)
        frontier: set[tuple[str, str | None]] = {(n, None) for n in names}
        for level in range(depth + 1):
            found: set[tuple[str, str | None]] = set()
            for name, caller in frontier:
                if level == 0 or local is None:
                    hit = resolver(name)
                else:
                    hit = local(name, caller)
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


def select_scenarios(
    touched_functions: set[str],
    resolvers: Iterable[Any] = (),
    scenarios: list[Scenario] | None = None,
) -> list[Scenario]:
    """Scenarios whose exercised functions intersect ``touched_functions``."""
    chosen = []
    resolvers = list(resolvers)
    for scenario in scenarios if scenarios is not None else load_scenarios():
        declared = set(scenario.exercises)
        if (
            declared & touched_functions
            or exercised_functions(scenario, resolvers) & touched_functions
        ):
            chosen.append(scenario)
    return chosen
