"""Run the scenarios a patch selects, before and after, on the applied images."""

from __future__ import annotations

from typing import Any


def image_overlays(applied: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Pre and post file texts of an applied patch, keyed by path (deleted files are empty)."""
    pre: dict[str, str] = {}
    post: dict[str, str] = {}
    for file in applied.files:
        if file.state not in ("applied", "added", "deleted"):
            continue
        if file.pre is not None:
            pre[file.old_path or file.path] = file.pre
        post[file.path] = file.post or ""
    return pre, post


def simulate_applied(
    applied: Any, touched_functions: set[str], index: Any, scenario_names: list[str] | None = None,
    trace: bool = False,
) -> list[dict[str, Any]]:
    results = [result.to_dict() for result in
               simulate_results(applied, touched_functions, index, scenario_names, trace)]
    return results


def simulate_results(
    applied: Any, touched_functions: set[str], index: Any, scenario_names: list[str] | None = None,
    trace: bool = False,
) -> list[Any]:
    from patchlint.simulate import load_scenarios, make_resolver, select_scenarios, simulate_patch

    if index is None:
        return []
    pre_overlay, post_overlay = image_overlays(applied)
    pre = make_resolver(index, pre_overlay)
    post = make_resolver(index, post_overlay)
    scenarios = load_scenarios()
    if scenario_names:
        chosen = [s for s in scenarios if s.name in scenario_names]
    else:
        chosen = select_scenarios(touched_functions, [pre, post], scenarios)
    return [simulate_patch(pre, post, scenario, trace=trace) for scenario in chosen]
