#!/usr/bin/env python3
"""Benchmark: `patchlint scan` (all rules, whole tree) vs spatch vs `grep -r`.

One run, same machine, warm page cache:
  * grep -r for_each_thread over the tree: the floor (reads every file once);
  * spatch (Debian's coccinelle) with the naive for_each_thread-without-lock rule
    (bench/for_each_thread_unlocked.cocci) over the files containing for_each_thread;
  * patchlint's whole-tree scan with every C rule, without its result cache
    (everything analysed) and then again with the result cache warm.
For each: wall time, peak RSS of the largest process, and the number of findings.

Usage: python bench/scan_vs_spatch.py [TREE] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
COCCI = HERE / "for_each_thread_unlocked.cocci"

# Runs one command and reports its wall time and its descendants' peak RSS.
# RUSAGE_CHILDREN's maxrss is the largest single waited-for descendant, which
# for patchlint is the biggest of its worker processes.
_MEASURE = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True, errors="replace")
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "maxrss_kb": usage.ru_maxrss, "rc": proc.returncode,
                  "stdout": proc.stdout, "stderr": proc.stderr[-2000:]}))
"""

_SCAN = r"""
import json, sys
from pathlib import Path
from patchlint.scan import scan_tree
result = scan_tree(Path(sys.argv[1]), None, jobs=int(sys.argv[2]), use_cache=sys.argv[3] == "1")
by_rule = {}
for finding in result.findings:
    by_rule[finding.rule] = by_rule.get(finding.rule, 0) + 1
print(json.dumps({"findings": len(result.findings), "by_rule": by_rule,
                  "candidates": result.files_candidate, "errors": len(result.errors)}))
"""


def measure(command: list[str], env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, env=env
    )
    return json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    from patchlint.cachedir import cache_dir

    default_tree = Path(os.environ.get("PATCHLINT_KERNEL_TREE") or cache_dir() / "linux-6.12")
    parser.add_argument("tree", nargs="?", type=Path, default=default_tree)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    tree = args.tree.resolve()
    rows: list[tuple[str, float, int, str]] = []

    # Warm the page cache so every tool reads from memory.
    subprocess.run(
        ["grep", "-r", "-q", "a_token_that_is_nowhere_xyzzy", str(tree)], capture_output=True
    )

    grep = measure(["grep", "-r", "for_each_thread", str(tree)])
    grep = min(
        grep, measure(["grep", "-r", "for_each_thread", str(tree)]), key=lambda run: run["wall"]
    )
    grep_hits = len(grep["stdout"].splitlines())
    rows.append(
        ("grep -r for_each_thread", grep["wall"], grep["maxrss_kb"], f"{grep_hits} matching lines")
    )

    listed = subprocess.run(
        ["grep", "-rlw", "--include=*.c", "for_each_thread", "."],
        cwd=tree,
        capture_output=True,
        text=True,
    ).stdout.split()
    if shutil.which("spatch"):
        cocci = measure(
            [
                "spatch",
                "--sp-file",
                str(COCCI),
                "--no-includes",
                "--very-quiet",
                *[str(tree / name) for name in listed],
            ]
        )
        findings = [line for line in cocci["stdout"].splitlines() if line.startswith("FINDING")]
        rows.append(
            (
                f"spatch naive rule ({len(listed)} files)",
                cocci["wall"],
                cocci["maxrss_kb"],
                f"{len(findings)} findings",
            )
        )
    else:
        rows.append(("spatch (not installed: apt-get install coccinelle)", 0.0, 0, "-"))

    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as cache:
        env["PATCHLINT_CACHE"] = cache
        for label, use_cache in (
            ("patchlint scan, all rules, no result cache", "0"),
            ("patchlint scan, all rules, filling result cache", "1"),
            ("patchlint scan, all rules, result cache warm", "1"),
        ):
            run = measure(
                [sys.executable, "-c", _SCAN, str(tree), str(args.jobs), use_cache], env=env
            )
            try:
                info = json.loads(run["stdout"].strip().splitlines()[-1])
                detail = (
                    f"{info['findings']} findings {info['by_rule']}, "
                    f"{info['candidates']} candidate files, {info['errors']} errors"
                )
            except (IndexError, ValueError):
                detail = "failed: " + run["stderr"][-300:]
            rows.append((label, run["wall"], run["maxrss_kb"], detail))

    floor = rows[0][1] or 1e-9
    print(
        f"tree: {tree}  jobs: {args.jobs}  cpus: {os.cpu_count()}  "
        f"date: {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(f"{'tool':52} {'wall s':>8} {'x grep':>7} {'peak MB':>8}  findings")
    for label, wall, rss, detail in rows:
        print(f"{label:52} {wall:8.2f} {wall / floor:7.1f} {rss / 1024:8.0f}  {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
