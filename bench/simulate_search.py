"""Benchmark: the simulator's scenarios and divergence search on the fixture patches.

Usage: python bench/simulate_search.py [KERNEL_TREE] [--repeat 3] [--json OUT]

For every patch of fixtures/simulate/ (the seed, its two halves, TIF_MEMDIE on every
thread) it applies the patch in memory, selects the scenarios the patch exercises and
simulates each one (fixed world and divergence search), reporting the worlds explored,
excluded and differing, the runs made and their time.  Side by side, in the same run,
it times `patchlint check` on the same patch with and without the simulation, which is
what the simulation costs a user.  The tree is only read.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from patchlint.patch import parse_patch  # noqa: E402
from patchlint.simulate import (  # noqa: E402
    load_scenarios,
    select_scenarios,
    simulate_patch,
    touched_functions,
    views,
)
from patchlint.source import FunctionIndex, apply_series, open_tree  # noqa: E402

FIXTURES = REPO / "fixtures" / "simulate"
PATCHES = [
    "seed-full.diff",
    "seed-freezing-half.diff",
    "seed-thaw-half.diff",
    "oom-memdie-all-threads.patch",
]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def simulate_rows(tree_dir: Path, repeat: int) -> list[dict[str, object]]:
    tree = open_tree(tree_dir)
    index = FunctionIndex(tree.root, reader=tree.read)
    scenarios = load_scenarios()
    rows: list[dict[str, object]] = []
    for name in PATCHES:
        patch = parse_patch((FIXTURES / name).read_text(), name)
        files = apply_series([patch], tree)[0].files
        before, after = views(index, files)
        chosen = select_scenarios(touched_functions(files), [before, after], scenarios)
        for scenario in chosen:
            walls, cpus = [], []
            result = None
            for _ in range(repeat):
                start, cpu = time.perf_counter(), _cpu()
                result = simulate_patch(before, after, scenario)
                walls.append(time.perf_counter() - start)
                cpus.append(_cpu() - cpu)
            assert result is not None
            search = result.search
            runs = 2 + (0 if search is None else search.explored * 2 - search.excluded)
            rows.append(
                {
                    "patch": name,
                    "scenario": scenario.name,
                    "before": result.before.holds,
                    "after": result.after.holds,
                    "worlds": search.explored if search else 0,
                    "excluded": search.excluded if search else 0,
                    "differing": len(search.differing) if search else 0,
                    "runs": runs,
                    "wall_first": round(walls[0], 3),
                    "wall_median": round(statistics.median(walls[1:] or walls), 3),
                    "cpu_median": round(statistics.median(cpus[1:] or cpus), 3),
                }
            )
    return rows


def check_times(tree_dir: Path, repeat: int) -> list[dict[str, object]]:
    """`patchlint check` wall time with and without the simulation, fresh processes."""
    rows: list[dict[str, object]] = []
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for name in ("seed-full.diff", "oom-memdie-all-threads.patch"):
        times: dict[str, float] = {}
        for label, extra in (("with", []), ("without", ["--no-simulate"])):
            walls = []
            for _ in range(repeat):
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "patchlint", "check", "--tree", str(tree_dir)]
                    + extra
                    + ["--format", "json", str(FIXTURES / name)],
                    env=env,
                    capture_output=True,
                    check=False,
                )
                walls.append(time.perf_counter() - start)
            times[label] = statistics.median(walls)
        rows.append(
            {
                "patch": name,
                "check_with_simulation": round(times["with"], 2),
                "check_without": round(times["without"], 2),
                "simulation_adds": round(times["with"] - times["without"], 2),
            }
        )
    return rows


def main() -> int:
    default = os.environ.get("PATCHLINT_KERNEL_TREE") or os.path.expanduser(
        "~/.cache/patchlint/linux-6.12"
    )
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tree", nargs="?", default=default)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    tree = Path(args.tree)
    rows = simulate_rows(tree, args.repeat)
    checks = check_times(tree, args.repeat)
    print(
        "| patch | scenario | holds before/after | worlds | excluded | differing | runs |"
        " first wall s | median wall s | median CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['patch']} | {row['scenario']} | {row['before']}/{row['after']} |"
            f" {row['worlds']} | {row['excluded']} | {row['differing']} | {row['runs']} |"
            f" {row['wall_first']} | {row['wall_median']} | {row['cpu_median']} |"
        )
    print()
    print("| patch | check with simulation s | check --no-simulate s | simulation adds s |")
    print("|---|---|---|---|")
    for row in checks:
        print(
            f"| {row['patch']} | {row['check_with_simulation']} | {row['check_without']} |"
            f" {row['simulation_adds']} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"scenarios": rows, "check": checks}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
