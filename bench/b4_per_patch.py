"""One process per patch, as b4 runs its per-patch check command: patchlint against
checkpatch.pl on the same patches, side by side in one run.

    python3 bench/b4_per_patch.py [--tree DIR] [--runs N] PATCH...

b4 runs `checkpatch.pl -q --terse --no-summary --mailback` (am-perpatch-check-cmd)
with the patch on stdin from the top of the kernel checkout; patchlint is run the same
way (`patchlint check --format checkpatch -q --terse --no-summary -`). Each command is
timed N times per patch (wall clock); the medians are reported, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _time(command: list[str], data: bytes, cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, input=data, cwd=cwd, env=env, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("patches", nargs="+", type=Path)
    from patchlint.cachedir import cache_dir

    default_tree = os.environ.get("PATCHLINT_KERNEL_TREE") or cache_dir() / "linux-6.12"
    parser.add_argument("--tree", type=Path, default=Path(default_tree))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tree = args.tree.resolve()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    checkpatch = ["perl", str(tree / "scripts/checkpatch.pl"), "-q", "--terse", "--no-summary"]
    patchlint = [sys.executable, "-m", "patchlint", "check", "--format", "checkpatch", "-q"]
    patchlint += ["--terse", "--no-summary"]
    modes = {
        "checkpatch.pl --no-tree": (checkpatch + ["--no-tree", "--mailback", "-"], Path("/")),
        "checkpatch.pl in the tree": (checkpatch + ["--mailback", "-"], tree),
        "patchlint --no-tree": (patchlint + ["--no-tree", "-"], Path("/")),
        "patchlint in the tree": (patchlint + ["-"], tree),
    }
    report: dict[str, object] = {"runs": args.runs, "patches": {}}
    for patch in args.patches:
        data = patch.read_bytes()
        medians = {}
        for name, (command, cwd) in modes.items():
            times = [_time(command, data, cwd, env) for _ in range(args.runs)]
            medians[name] = round(statistics.median(times), 3)
        medians["ratio patchlint/checkpatch --no-tree"] = round(
            medians["patchlint --no-tree"] / medians["checkpatch.pl --no-tree"], 2
        )
        medians["ratio patchlint/checkpatch in the tree"] = round(
            medians["patchlint in the tree"] / medians["checkpatch.pl in the tree"], 2
        )
        report["patches"][str(patch)] = medians  # type: ignore[index]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
