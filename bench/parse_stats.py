"""Benchmark: raw tree-sitter-c against the normalised front end, per top-level directory.

Usage: python bench/parse_stats.py [KERNEL_TREE] [--dirs drivers fs ...] [--sample N]
                                   [--rounds R] [--once DIR ...] [--json OUT.json]

For every directory (by default the eleven of issue 13: drivers/, fs/, net/, sound/,
arch/x86/, kernel/, mm/, block/, security/, lib/, io_uring/) it runs
`patchlint parse-stats --format json DIR` in a child process: raw tree-sitter-c and
the kernel-aware front end (normalise, parse, repair) on the same files, side by side
in one run, the two alternating file by file.  It prints one Markdown table row per
directory and a total:

* function definitions found (raw / normalised) and the functions the parse lost
  (raw / normalised: a body's ``{`` at column 0 after a head, outside every
  definition found);
* the share of functions misparsed (ERROR or MISSING nodes inside, or lost);
* seconds and MB/s of each side and their ratio (issue 13: at least 0.7);
* the machine's 1-minute load average before and after each directory.

``--sample N`` parses every N-th file only (sorted, so the same files each time),
for iteration on the large drivers/; the figures in the README are full runs.
``--rounds R`` repeats the measurement R times and keeps the median ratio: the
machine is shared, so one run can be slowed by others (``--once DIR`` measures a
directory once, for the 1 GB of drivers/).  Parse quality is the same in every
round.  Run it under ``nice``.  The tree is only read.

The tree defaults to $PATCHLINT_KERNEL_TREE or linux-6.12 in patchlint's cache folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from patchlint.cachedir import cache_dir  # noqa: E402
from patchlint.source.stats import iter_c_files  # noqa: E402

DIRECTORIES = (
    "drivers",
    "fs",
    "net",
    "sound",
    "arch/x86",
    "kernel",
    "mm",
    "block",
    "security",
    "lib",
    "io_uring",
)


def run_parse_stats(paths: list[Path]) -> dict[str, object]:
    """`patchlint parse-stats --format json PATHS` in a child process."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-m", "patchlint", "parse-stats", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def measure(tree: Path, directory: str, sample: int, rounds: int) -> dict[str, object]:
    if sample > 1:
        paths = iter_c_files([tree / directory])[::sample]
    else:
        paths = [tree / directory]
    runs = [run_parse_stats(paths) for _ in range(rounds)]
    ratios = [float(str(run["throughput_ratio"])) for run in runs]
    median = statistics.median(ratios)
    chosen = min(runs, key=lambda run: abs(float(str(run["throughput_ratio"])) - median))
    return {"directory": directory, "sample": sample, "ratios": ratios, **chosen}


def _side(row: dict[str, object], side: str) -> dict[str, float]:
    figures = row[side]
    assert isinstance(figures, dict)
    return {key: float(value) for key, value in figures.items()}


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| directory | files | MB | functions (raw / normalised) | lost "
        "(raw / norm.) | misparsed raw | misparsed normalised | time raw / norm. (s) "
        "| raw MB/s | normalised MB/s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    totals = {"files": 0.0, "bytes": 0.0, "raw_s": 0.0, "norm_s": 0.0}
    bad = {"raw": 0.0, "norm": 0.0}
    functions = {"raw": 0.0, "norm": 0.0}
    lost = {"raw": 0.0, "norm": 0.0}
    for row in rows:
        raw, norm = _side(row, "raw"), _side(row, "normalized")
        name = str(row["directory"]) + "/"
        if int(str(row["sample"])) > 1:
            name += f" (every {row['sample']}th file)"
        ratios = row["ratios"]
        assert isinstance(ratios, list)
        ratio = f"{statistics.median(ratios):.2f}"
        if len(ratios) > 1:
            ratio += f" ({min(ratios):.2f}-{max(ratios):.2f})"
        lines.append(
            f"| {name} | {raw['files']:.0f} | {raw['bytes'] / 1e6:.1f} "
            f"| {raw['functions']:.0f} / {norm['functions']:.0f} "
            f"| {raw['functions_lost']:.0f} / {norm['functions_lost']:.0f} "
            f"| {raw['functions_with_errors_pct']:.2f} % "
            f"| {norm['functions_with_errors_pct']:.2f} % "
            f"| {raw['seconds']:.1f} / {norm['seconds']:.1f} "
            f"| {raw['mb_per_s']:.2f} | {norm['mb_per_s']:.2f} | {ratio} |"
        )
        totals["files"] += raw["files"]
        totals["bytes"] += raw["bytes"]
        totals["raw_s"] += raw["seconds"]
        totals["norm_s"] += norm["seconds"]
        for side, figures in (("raw", raw), ("norm", norm)):
            bad[side] += figures["functions_with_errors"]
            functions[side] += figures["functions"]
            lost[side] += figures["functions_lost"]
    if len(rows) > 1:

        def pct(side: str) -> str:
            whole = functions[side] + lost[side]
            return f"{100 * bad[side] / whole:.2f} %" if whole else "-"

        raw_rate = totals["bytes"] / max(totals["raw_s"], 1e-9) / 1e6
        norm_rate = totals["bytes"] / max(totals["norm_s"], 1e-9) / 1e6
        lines.append(
            f"| **all** | {totals['files']:.0f} | {totals['bytes'] / 1e6:.1f} "
            f"| {functions['raw']:.0f} / {functions['norm']:.0f} "
            f"| {lost['raw']:.0f} / {lost['norm']:.0f} | {pct('raw')} | {pct('norm')} "
            f"| {totals['raw_s']:.1f} / {totals['norm_s']:.1f} "
            f"| {raw_rate:.2f} | {norm_rate:.2f} | {norm_rate / raw_rate:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    default = os.environ.get("PATCHLINT_KERNEL_TREE") or str(cache_dir() / "linux-6.12")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tree", nargs="?", default=default)
    parser.add_argument("--dirs", nargs="+", default=list(DIRECTORIES))
    parser.add_argument("--sample", type=int, default=1, help="every N-th file only")
    parser.add_argument("--rounds", type=int, default=1, help="median ratio of R runs")
    parser.add_argument("--once", nargs="*", default=[], help="directories measured once")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args()
    tree = Path(args.tree)
    started = time.time()
    loads = [os.getloadavg()[0]]
    rows = []
    for directory in args.dirs:
        if not (tree / directory).is_dir():
            parser.error(f"{tree / directory}: no such directory")
        rounds = 1 if directory in args.once else args.rounds
        rows.append(measure(tree, directory, args.sample, rounds))
        loads.append(os.getloadavg()[0])
        print(f"{directory}: done ({time.time() - started:.0f} s)", file=sys.stderr, flush=True)
    print(
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{tree}, {time.strftime('%Y-%m-%d')}, {time.time() - started:.0f} s, "
        f"1-minute load average {min(loads):.1f}-{max(loads):.1f} "
        "(sampled before and after each directory)\n"
    )
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
