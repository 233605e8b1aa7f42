"""Glue from applied patches (``patchlint.source.apply_series``) to simulation runs.

The before view overlays every touched file's pre-image on the tree and the
after view its post-image, so both runs see the same tree apart from the patch.
"""

from __future__ import annotations

from collections.abc import Iterable

from patchlint.simulate.compare import SimulationResult, simulate_patch
from patchlint.simulate.resolve import Resolver, make_resolver
from patchlint.simulate.scenario import Scenario, load_scenarios
from patchlint.simulate.select import select_scenarios
from patchlint.source import AppliedFile, FunctionIndex, parse_c

_C_SUFFIXES = (".c", ".h")


def overlays(files: Iterable[AppliedFile]) -> tuple[dict[str, str], dict[str, str]]:
    """(pre, post) overlays from ``AppliedFile``s; a deleted file is empty after."""
    pre: dict[str, str] = {}
    post: dict[str, str] = {}
    for applied in files:
        if not applied.ok:
            continue
        old_path = applied.old_path or applied.path
        if applied.pre is not None:
            pre[old_path] = applied.pre
        post[applied.path] = applied.post if applied.post is not None else ""
        if old_path != applied.path:
            post.setdefault(old_path, "")
    return pre, post


def touched_functions(files: Iterable[AppliedFile]) -> set[str]:
    """Names of the C functions whose text differs between pre- and post-image."""
    touched: set[str] = set()
    for applied in files:
        if not applied.path.endswith(_C_SUFFIXES) or not applied.ok:
            continue
        before = _bodies(applied.pre or "", applied.old_path or applied.path)
        after = _bodies(applied.post or "", applied.path)
        for name in set(before) | set(after):
            if before.get(name) != after.get(name):
                touched.add(name)
    return touched


def _bodies(text: str, path: str) -> dict[str, tuple[str, ...]]:
    if not text:
        return {}
    source = parse_c(text, path)
    out: dict[str, tuple[str, ...]] = {}
    for fn in source.functions:
        # Whitespace-insensitive, so a re-indented function is not "touched".
        body = " ".join(source.node_text(fn.node).split())
        out[fn.name] = out.get(fn.name, ()) + (body,)
    return out


def views(
    index: FunctionIndex, files: Iterable[AppliedFile], defined: frozenset[str] | None = None
) -> tuple[Resolver, Resolver]:
    """(before, after) resolvers for a patch's applied files."""
    pre, post = overlays(list(files))
    return make_resolver(index, pre, defined), make_resolver(index, post, defined)


def simulate_applied(
    index: FunctionIndex,
    files: Iterable[AppliedFile],
    names: Iterable[str] = (),
    trace: bool = False,
    scenarios: list[Scenario] | None = None,
) -> list[SimulationResult]:
    """Simulate every scenario the patch selects (or the ``names`` given) before/after.

    ``files`` are the ``AppliedFile``s of one patch, or of a whole series to
    simulate its cumulative effect.
    """
    applied = list(files)
    before, after = views(index, applied)
    available = scenarios if scenarios is not None else load_scenarios()
    wanted = set(names)
    if wanted:
        chosen = [s for s in available if s.name in wanted]
    else:
        chosen = select_scenarios(touched_functions(applied), [before, after], available)
    return [simulate_patch(before, after, scenario, trace=trace) for scenario in chosen]
