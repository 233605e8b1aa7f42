#!/usr/bin/env python3
"""Benchmark: warm whole-tree `patchlint scan` side by side with `grep -r` (issue 13 item 9).

    python3 bench/scan_warm.py [TREE] [--repeat 5] [--jobs J] [--cache DIR]
                               [--fill] [--compare COLD.json] [--one-changed PATH]
                               [--json OUT]

The anchor is what the scan's prefilter has to beat: one `grep -r -l -F` over every
*.c/*.h file of the tree for the union of the candidate tokens of every C rule
(the same tokens `scan` greps for). Both run as the user runs them, as separate
processes: `python3 -m patchlint scan TREE --format json -o FILE` (Python's start,
the imports and the report included), with the result cache of ``--cache`` (default:
the user's cache folder, or PATCHLINT_CACHE), which must already hold a scan of the
same code; ``--fill`` fills it first with one cold scan (minutes). One untimed warm
scan primes the page cache, then each round runs grep and the scan back to back;
medians over the rounds are reported, with each side's CPU time (user + system of
the process and its workers, from os.wait4) and the 1-minute load average around
every run (the machine may be shared). ``--compare`` checks that the warm scan's
findings and errors equal those of a cold scan's JSON output. ``--one-changed PATH``
then times one more scan after making the cache believe that PATH changed (its
recorded stat is altered in the cache's index; the tree is never written): the
cost of a scan after editing one file. Python's bytecode is compiled once into a
temporary folder (PYTHONPYCACHEPREFIX), as an installed package has it, even where
PYTHONDONTWRITEBYTECODE is set.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def run(command: list[str], env: dict[str, str], cwd: Path | None = None) -> dict[str, float]:
    """Wall and CPU seconds of one child process (and everything it waited for)."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        error = errors.read().decode(errors="replace")
    if process.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({process.returncode}): {error[-500:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "load": max(load, os.getloadavg()[0]),
    }


def comparable(path: Path) -> dict[str, object]:
    """A scan's JSON output without what may differ between two runs (its duration)."""
    data = json.loads(path.read_text())
    data.pop("seconds", None)
    return data


def pretend_changed(relative: str) -> None:
    """Alter the recorded stat of one file in the index the last scan wrote."""
    import pickle

    from patchlint.cachedir import cache_path
    from patchlint.scan_cache import INDEX

    folder = cache_path("scan")
    if folder is None:
        raise SystemExit("caching is off")
    index = max(folder.glob(f"*/{INDEX}"), key=lambda path: path.stat().st_mtime_ns)
    data = list(pickle.loads(index.read_bytes()))
    stats = data[2]
    mtime, ctime, size, inode = stats[relative]
    stats[relative] = (mtime - 1, ctime, size, inode)
    index.write_bytes(pickle.dumps(tuple(data)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    from patchlint.cachedir import cache_dir

    default_tree = Path(os.environ.get("PATCHLINT_KERNEL_TREE") or cache_dir() / "linux-6.12")
    parser.add_argument("tree", nargs="?", type=Path, default=default_tree)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cache", type=Path, help="PATCHLINT_CACHE for the scans")
    parser.add_argument("--fill", action="store_true", help="one cold scan first")
    parser.add_argument("--compare", type=Path, help="a cold scan's JSON output")
    parser.add_argument("--one-changed", help="a file of the tree (relative path)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    tree = args.tree.resolve()

    from patchlint.rules import select_rules
    from patchlint.scan import candidate_tokens

    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if args.cache is not None:
        env["PATCHLINT_CACHE"] = str(args.cache.resolve())
        os.environ["PATCHLINT_CACHE"] = env["PATCHLINT_CACHE"]
    ids = [rule.id for rule in select_rules()]
    tokens = sorted({t for value in candidate_tokens(ids, tree).values() for t in value or ()})
    grep = ["grep", "-r", "-l", "-F", "--include=*.c", "--include=*.h"]
    for token in tokens:
        grep += ["-e", token]
    grep.append(".")
    grep_env = dict(env, LC_ALL="C")  # grep's fastest byte matching: the strictest anchor

    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "scan.json"
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / "bytecode")
        scan = [sys.executable, "-m", "patchlint", "scan", str(tree), "--jobs", str(args.jobs)]
        scan += ["--format", "json", "-o", str(output)]
        figures: dict[str, object] = {"tokens": len(tokens), "jobs": args.jobs}
        if args.fill:
            figures["cold"] = run(scan, env)
        figures["prime"] = run(scan, env)
        greps: list[dict[str, float]] = []
        scans: list[dict[str, float]] = []
        for _round in range(args.repeat):
            greps.append(run(grep, grep_env, cwd=tree))
            scans.append(run(scan, env))
        result = json.loads(output.read_text())
        figures["findings"] = len(result["findings"])
        figures["candidates"] = result["files_candidate"]
        figures["errors"] = len(result["errors"])
        if args.compare is not None:
            figures["same_as_cold"] = comparable(output) == comparable(args.compare)
        if args.one_changed:
            pretend_changed(args.one_changed)
            figures["one_changed"] = run(scan, env)
            if args.compare is not None:
                figures["one_changed_same"] = comparable(output) == comparable(args.compare)

    def median(runs: list[dict[str, float]], key: str) -> float:
        return round(statistics.median(run[key] for run in runs), 2)

    for name, runs in (("grep", greps), ("scan", scans)):
        for key in ("wall", "cpu"):
            figures[f"{name}_{key}"] = median(runs, key)
        figures[f"{name}_walls"] = [round(r["wall"], 2) for r in runs]
    figures["ratio_wall"] = round(
        float(figures["scan_wall"]) / max(float(figures["grep_wall"]), 1e-3), 2
    )
    figures["ratio_cpu"] = round(
        float(figures["scan_cpu"]) / max(float(figures["grep_cpu"]), 1e-3), 2
    )
    figures["load_1min"] = [round(r["load"], 1) for r in greps + scans]
    print(f"tree {tree}, {figures['tokens']} tokens, jobs {args.jobs}, cpus {os.cpu_count()}")
    for key, value in figures.items():
        print(f"{key:16} {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
