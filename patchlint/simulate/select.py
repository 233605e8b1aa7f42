"""Which scenarios a patch selects: those whose exercised functions (or callees) it touches."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from patchlint.cachedir import cache_dir, cache_enabled
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
    """Scenarios whose exercised functions intersect ``touched_functions``.

    The exercised set of a scenario is a property of the tree, not of the patch, so
    it is computed once per tree (see ``_closure``) rather than once per patch; a
    function the patch itself adds is still seen through the scenario's declared
    names and the patch's own views.
    """
    chosen = []
    resolvers = list(resolvers)
    if not touched_functions:
        return chosen
    for scenario in scenarios if scenarios is not None else load_scenarios():
        declared = set(scenario.exercises)
        if declared & touched_functions:
            chosen.append(scenario)
            continue
        index = getattr(resolvers[0], "index", None) if resolvers else None
        closure = (
            _closure(scenario, index)
            if index is not None
            else exercised_functions(scenario, resolvers)
        )
        if closure & touched_functions:
            chosen.append(scenario)
    return chosen


_CLOSURES: dict[tuple[int, str], set[str]] = {}


def _closure(scenario: Scenario, index: Any) -> set[str]:
    """Exercised functions on the unpatched tree, kept in memory for the run and on
    disk per tree, so a one-patch hook run does not search the tree again."""
    key = (id(index), scenario.name)
    if key in _CLOSURES:
        return _CLOSURES[key]
    cache_file = _cache_file(scenario, index)
    if cache_file is not None and cache_file.is_file():
        try:
            names = set(json.loads(cache_file.read_text()))
            _CLOSURES[key] = names
            return names
        except (OSError, ValueError):
            pass
    from patchlint.simulate.resolve import make_resolver

    names = exercised_functions(scenario, [make_resolver(index, {})])
    _CLOSURES[key] = names
    if cache_file is not None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            cache_file.write_text(json.dumps(sorted(names)))
        except OSError:
            pass  # a read-only cache only costs speed
    return names


def _cache_file(scenario: Scenario, index: Any) -> Path | None:
    root = Path(getattr(index, "root", ""))
    if not root.is_dir() or not cache_enabled():
        return None
    identity = [
        str(root.resolve()),
        scenario.name,
        repr(sorted(scenario.exercises)),
        scenario.action,
        scenario.observe,
    ]
    # The tree's identity: a release's Makefile (version), a checkout's HEAD.
    for marker in ("Makefile", ".git/HEAD"):
        try:
            stat = (root / marker).stat()
            identity.append(f"{marker}:{stat.st_mtime_ns}:{stat.st_size}")
            if marker == ".git/HEAD":
                identity.append((root / marker).read_text(errors="replace"))
        except OSError:
            continue
    digest = hashlib.sha256("\0".join(identity).encode()).hexdigest()[:24]
    return cache_dir() / "scenario-closures" / f"{digest}.json"
