"""One process per patch, as b4 runs its per-patch check command: patchlint against
checkpatch.pl on the same patches, side by side in one run.

    python3 bench/b4_per_patch.py [--tree DIR] [--runs N] [--no-tree-only] PATCH...

b4 runs `checkpatch.pl -q --terse --no-summary --mailback` (am-perpatch-check-cmd)
with the patch on stdin from the top of the kernel checkout; patchlint is run the same
way (`patchlint check --format checkpatch -q --terse --no-summary -`), once as a plain
process (PATCHLINT_SERVER=off) and once handed to a `patchlint server` started for the
bench. Every command runs N times per patch, the commands taking turns so that a change
in the machine's load reaches all of them; the medians are reported (wall clock, and
CPU time of the process where it does all the work), with their ratios.

Python's own start-up is part of every patchlint figure, so it is measured too:
`python -c pass` as this machine's interpreter starts (site-packages .pth files
included) and `python -S -c pass` (no site). The package is byte-compiled first, as
an installed package is.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _run(command: list[str], data: bytes, cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, input=data, cwd=cwd, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("patches", nargs="+", type=Path)
    sys.path.insert(0, str(REPO))
    from patchlint.cachedir import cache_dir

    default_tree = os.environ.get("PATCHLINT_KERNEL_TREE") or cache_dir() / "linux-6.12"
    parser.add_argument("--tree", type=Path, default=Path(default_tree))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-tree-only", action="store_true", help="skip the in-tree modes")
    args = parser.parse_args()
    tree = args.tree.resolve()
    compileall.compile_dir(str(REPO / "patchlint"), quiet=1)
    runtime = Path(tempfile.mkdtemp(prefix="patchlint-bench-"))
    env = dict(os.environ, PYTHONPATH=str(REPO), XDG_RUNTIME_DIR=str(runtime))
    plain = dict(env, PATCHLINT_SERVER="off")
    served = dict(env, PATCHLINT_SERVER="on")
    python = [sys.executable]
    checkpatch = ["perl", str(tree / "scripts/checkpatch.pl"), "-q", "--terse", "--no-summary"]
    patchlint = [*python, "-m", "patchlint", "check", "--format", "checkpatch", "-q"]
    patchlint += ["--terse", "--no-summary"]
    modes: dict[str, tuple[list[str], Path, dict[str, str]]] = {
        "python -c pass": ([*python, "-c", "pass"], Path("/"), plain),
        "python -S -c pass": ([*python, "-S", "-c", "pass"], Path("/"), plain),
        "checkpatch.pl --no-tree": (
            [*checkpatch, "--no-tree", "--mailback", "-"],
            Path("/"),
            plain,
        ),
        "patchlint --no-tree": ([*patchlint, "--no-tree", "-"], Path("/"), plain),
        "patchlint --no-tree, server": ([*patchlint, "--no-tree", "-"], Path("/"), served),
    }
    if not args.no_tree_only:
        modes["checkpatch.pl in the tree"] = ([*checkpatch, "--mailback", "-"], tree, plain)
        modes["patchlint in the tree"] = ([*patchlint, "-"], tree, plain)
        modes["patchlint in the tree, server"] = ([*patchlint, "-"], tree, served)
    subprocess.run([*python, "-m", "patchlint", "server", "start", "--idle", "60"], env=plain)
    report: dict[str, object] = {
        "runs": args.runs,
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
    }
    results: dict[str, dict[str, float]] = {}
    try:
        for patch in args.patches:
            data = patch.read_bytes()
            walls: dict[str, list[float]] = {name: [] for name in modes}
            cpus: dict[str, list[float]] = {name: [] for name in modes}
            for _ in range(args.runs):
                for name, (command, cwd, environment) in modes.items():
                    wall, cpu = _run(command, data, cwd, environment)
                    walls[name].append(wall)
                    cpus[name].append(cpu)
            figures: dict[str, float] = {}
            for name in modes:
                figures[f"{name}: wall s"] = round(statistics.median(walls[name]), 3)
                if "server" not in name:  # a served check's work is done by the server
                    figures[f"{name}: cpu s"] = round(statistics.median(cpus[name]), 3)
            for where in ("--no-tree", "in the tree"):
                anchor = figures.get(f"checkpatch.pl {where}: wall s")
                for suffix in ("", ", server"):
                    ours = figures.get(f"patchlint {where}{suffix}: wall s")
                    if anchor and ours:
                        figures[f"ratio patchlint{suffix or ''} / checkpatch.pl {where}"] = round(
                            ours / anchor, 2
                        )
            results[str(patch)] = figures
    finally:
        subprocess.run([*python, "-m", "patchlint", "server", "stop"], env=plain)
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["patches"] = results
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
