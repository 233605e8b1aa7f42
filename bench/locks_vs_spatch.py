#!/usr/bin/env python3
"""The lock rules against the kernel's own Coccinelle lock scripts, in one run.

Runs, over the same directories of a kernel tree (read-only):
  * `grep -r -F` for the lock rules' candidate tokens (the floor: reads every file);
  * `patchlint scan` with every rule, cold (empty result cache) and warm;
  * spatch (Debian's coccinelle) with each of scripts/coccinelle/locks/*.cocci in
    report mode (as `make coccicheck MODE=report` runs them);
and prints wall time, CPU time and peak RSS of each, then matches the findings:
found by both, only by patchlint, only by spatch, per script. The matching keys:

  mini_lock.cocci    the return a lock leaks through     -> lock-unbalanced leak
  double_lock.cocci  the second acquisition              -> lock-unbalanced double
  flags.cocci        the nested irqsave reusing flags    -> lock-unbalanced flags-reuse
  call_kern.cocci    the call, under a lock, of a function using GFP_KERNEL
                                                         -> sleep-in-atomic at that call

Usage: python bench/locks_vs_spatch.py [TREE] [--dirs d1,d2] [--jobs N] [--json OUT]
       [--skip-spatch] [--skip-scan]
Everything written goes to a temporary directory or to --json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RULES = ["sleep-in-atomic", "lock-unbalanced", "rcu-sleep", "rcu-unbalanced"]
SCRIPTS = ["mini_lock", "double_lock", "flags", "call_kern"]
_REPORT = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):\d+-\d+: (?P<message>.*)$")
_CALL_KERN = re.compile(r"function (?P<fn>\w+) called on line (?P<line>\d+) inside lock")

_MEASURE = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True, errors="replace")
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "maxrss_kb": usage.ru_maxrss, "rc": proc.returncode,
                  "stdout": proc.stdout, "stderr": proc.stderr[-3000:]}))
"""

_SCAN = r"""
import json, sys
from pathlib import Path
from patchlint.scan import scan_tree
result = scan_tree(Path(sys.argv[1]), None, jobs=int(sys.argv[2]), use_cache=True)
print(json.dumps({"candidates": result.files_candidate, "errors": result.errors,
                  "findings": [{"rule": f.rule, "file": f.file, "line": f.line,
                                "key": f.key, "message": f.message,
                                "function": f.function, "confidence": f.confidence}
                               for f in result.findings]}))
"""


@dataclass
class Run:
    label: str
    wall: float = 0.0
    cpu: float = 0.0
    maxrss_mb: float = 0.0
    findings: int = 0
    note: str = ""


@dataclass
class Match:
    script: str
    both: list[str] = field(default_factory=list)
    only_patchlint: list[str] = field(default_factory=list)
    only_spatch: list[str] = field(default_factory=list)


def measure(label: str, command: list[str], env: dict[str, str] | None = None) -> tuple[Run, str]:
    # spatch --jobs leaves per-worker output directories in its working directory.
    with tempfile.TemporaryDirectory(prefix="patchlint-bench-run-") as scratch:
        proc = subprocess.run(
            [sys.executable, "-c", _MEASURE, *command],
            capture_output=True,
            text=True,
            env=env,
            cwd=scratch,
        )
    data = json.loads(proc.stdout)
    run = Run(label, data["wall"], data["cpu"], data["maxrss_kb"] / 1024)
    if data["rc"] not in (0, 1):
        run.note = f"exit {data['rc']}: {data['stderr'][-300:]}"
    return run, data["stdout"]


def scan(tree: Path, jobs: int, cache: Path, label: str) -> tuple[Run, list[dict[str, object]]]:
    env = {**os.environ, "PATCHLINT_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    run, out = measure(
        label, [sys.executable, "-c", _SCAN, str(tree), str(jobs), ",".join(RULES)], env
    )
    data = json.loads(out) if out.strip() else {"findings": []}
    run.findings = len(data["findings"])
    run.note = (
        f"{data.get('candidates', '?')} candidate files, {len(data.get('errors', []))} errors"
    )
    return run, data["findings"]


def spatch(
    tree: Path, dirs: list[str], script: str, jobs: int
) -> tuple[Run, list[tuple[str, int, str]]]:
    cocci = tree / "scripts" / "coccinelle" / "locks" / f"{script}.cocci"
    found: list[tuple[str, int, str]] = []
    total = Run(f"spatch {script}.cocci")
    for directory in dirs:
        command = [
            "spatch",
            "-D",
            "report",
            "--no-show-diff",
            "--very-quiet",
            "--no-includes",
            "--include-headers",
            "--jobs",
            str(jobs),
            "--chunksize",
            "1",
            "--sp-file",
            str(cocci),
            "--dir",
            str(tree / directory),
        ]
        run, out = measure(total.label, command)
        total.wall += run.wall
        total.cpu += run.cpu
        total.maxrss_mb = max(total.maxrss_mb, run.maxrss_mb)
        total.note = run.note or total.note
        for line in out.splitlines():
            match = _REPORT.match(line.strip())
            if match:
                path = os.path.relpath(match["path"], tree)
                found.append((path, int(match["line"]), match["message"]))
    total.findings = len(found)
    return total, found


def grep(tree: Path, dirs: list[str]) -> Run:
    sys.path.insert(0, str(REPO))
    from patchlint.scan import candidate_tokens

    tokens = sorted({t for values in candidate_tokens(RULES).values() for t in values or ()})
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(tokens))
    run, out = measure(
        "grep -r -l -F (candidate tokens)",
        [
            "grep",
            "-r",
            "-l",
            "-F",
            "-f",
            handle.name,
            "--include=*.c",
            "--include=*.h",
            *[str(tree / d) for d in dirs],
        ],
    )
    run.findings = len(out.splitlines())
    run.note = f"{len(tokens)} tokens, {run.findings} files"
    os.unlink(handle.name)
    return run


def _key(finding: dict[str, object]) -> str:
    return str(finding.get("key", ""))


def match(
    findings: list[dict[str, object]], reports: dict[str, list[tuple[str, int, str]]]
) -> list[Match]:
    """Pair each script's reports with the patchlint findings that say the same thing."""
    by_kind: dict[str, set[tuple[str, int]]] = {script: set() for script in SCRIPTS}
    described: dict[tuple[str, str, int], str] = {}
    for finding in findings:
        file, line, key = str(finding["file"]), int(str(finding["line"])), _key(finding)
        rule = str(finding["rule"])
        script = None
        if rule in ("lock-unbalanced", "rcu-unbalanced"):
            if key.startswith("leak:"):
                script = "mini_lock"
            elif key.startswith("double:"):
                script = "double_lock"
            elif key.startswith("flags-reuse:"):
                script = "flags"
        elif rule in ("sleep-in-atomic", "rcu-sleep"):
            script = "call_kern"
        if script is None:
            continue
        by_kind[script].add((file, line))
        described[(script, file, line)] = (
            f"{file}:{line} {finding['function']}: {finding['message']}"
        )
    result: list[Match] = []
    for script in SCRIPTS:
        ours = by_kind[script]
        theirs: dict[tuple[str, int], str] = {}
        for path, line, message in reports.get(script, []):
            if script == "call_kern":
                call = _CALL_KERN.search(message)
                line = int(call["line"]) if call else line
            theirs[(path, line)] = f"{path}:{line} {message}"
        item = Match(script)
        for place in sorted(ours | set(theirs)):
            if place in ours and place in theirs:
                item.both.append(described[(script, *place)])
            elif place in ours:
                item.only_patchlint.append(described[(script, *place)])
            else:
                item.only_spatch.append(theirs[place])
        result.append(item)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_tree = Path(
        os.environ.get("PATCHLINT_KERNEL_TREE", Path.home() / ".cache/patchlint/linux-6.12")
    )
    parser.add_argument("tree", nargs="?", type=Path, default=default_tree)
    parser.add_argument("--dirs", default=".", help="comma-separated directories of the tree")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-spatch", action="store_true")
    parser.add_argument("--skip-scan", action="store_true")
    parser.add_argument(
        "--scan-json",
        type=Path,
        help="match against this `patchlint scan --format json` output instead of scanning",
    )
    args = parser.parse_args(argv)
    tree = args.tree.resolve()
    dirs = [d.strip() for d in args.dirs.split(",") if d.strip()]
    runs: list[Run] = []
    load = os.getloadavg()
    subprocess.run(
        ["grep", "-r", "-q", "a_token_that_is_nowhere_xyzzy", str(tree)], capture_output=True
    )
    runs.append(grep(tree, dirs))
    findings: list[dict[str, object]] = []
    if args.scan_json is not None:
        loaded = json.loads(args.scan_json.read_text(encoding="utf-8"))
        findings = [f for f in loaded["findings"] if f.get("rule") in RULES]
        args.skip_scan = True
    with tempfile.TemporaryDirectory(prefix="patchlint-bench-") as cache:
        if not args.skip_scan:
            # The scan covers the whole tree (its summaries need every file); only the
            # findings in the compared directories are matched.
            cold, every = scan(tree, args.jobs, Path(cache), "patchlint scan, cold cache")
            warm, _ = scan(tree, args.jobs, Path(cache), "patchlint scan, warm cache")
            runs += [cold, warm]
            findings = [f for f in every if f.get("rule") in RULES]
    if dirs != ["."]:
        prefixes = tuple(d.rstrip("/") + "/" for d in dirs)
        findings = [f for f in findings if str(f["file"]).startswith(prefixes)]
    reports: dict[str, list[tuple[str, int, str]]] = {}
    if not args.skip_spatch:
        for script in SCRIPTS:
            run, found = spatch(tree, dirs, script, args.jobs)
            runs.append(run)
            reports[script] = found
    print(f"tree {tree}, directories {', '.join(dirs)}, {args.jobs} jobs, load before {load}")
    print(f"{'tool':42} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'found':>6}  note")
    for run in runs:
        figures = f"{run.wall:8.1f} {run.cpu:8.1f} {run.maxrss_mb:8.0f} {run.findings:6}"
        print(f"{run.label:42} {figures}  {run.note}")
    matches = match(findings, reports) if reports else []
    for item in matches:
        print(
            f"{item.script}: both {len(item.both)}, only patchlint {len(item.only_patchlint)}, "
            f"only spatch {len(item.only_spatch)}"
        )
        for line in item.only_spatch:
            print(f"  only spatch: {line}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "tree": str(tree),
                    "dirs": dirs,
                    "jobs": args.jobs,
                    "load_before": load,
                    "load_after": os.getloadavg(),
                    "runs": [asdict(run) for run in runs],
                    "matches": [asdict(item) for item in matches],
                    "findings": findings,
                    "spatch": reports,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
