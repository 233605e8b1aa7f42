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

spatch runs with its own per-file limit, `--timeout SEC`: spatch arms a virtual-time
timer (SIGVTALRM), so the limit is CPU seconds of the process, not wall clock, and a
loaded machine does not make more files time out. A file that times out for a script
is "not compared" for that script: listed with the count, and patchlint's findings in
it are left out of that script's both / only-patchlint counts (listed as not compared).
The other spatch options are the scripts' own (`// Options: --no-includes
--include-headers`, as coccicheck passes them) with `--jobs N --chunksize 1`;
`--max-width` is not used: it only sets the column limit of generated code, and report
mode generates none.

The documented run (docs/triage/linux-6.12-locks.md, "Side by side with the kernel's
Coccinelle lock scripts") is the default directory list, under `nice -n 10`:

  nice -n 10 python bench/locks_vs_spatch.py TREE --jobs 2 --timeout 30 \
      --scan-json SCAN.json --json OUT.json

It may be run in parts (`--dirs ... --skip-scan --json PART.json` each), then matched
once: `--spatch-json PART1.json --spatch-json PART2.json --scan-json SCAN.json`.

Usage: python bench/locks_vs_spatch.py [TREE] [--dirs d1,d2] [--jobs N] [--timeout SEC]
       [--json OUT] [--skip-spatch] [--skip-scan] [--scan-json SCAN.json]
       [--spatch-json EARLIER.json ...]
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
# The directories of the documented comparison (see the module docstring).
DEFAULT_DIRS = ["drivers/usb", "fs/ext4", "net/core", "drivers/tty", "kernel", "mm"]
_REPORT = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):\d+-\d+: (?P<message>.*)$")
_CALL_KERN = re.compile(r"function (?P<fn>\w+) called on line (?P<line>\d+) inside lock")
# spatch --quiet names every file it reads ("HANDLING") or rules out by its tokens
# ("Skipping"), and in --dir mode each one it gave up on, with the exception: its
# --timeout is `Common.Timeout`.
_HANDLED = re.compile(r"^(?:HANDLING|Skipping): (?P<path>\S+)")
_STOPPED = re.compile(r"^EXN: (?P<exception>\S+) in (?P<path>\S+)")

_MEASURE = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True, errors="replace")
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "maxrss_kb": usage.ru_maxrss, "rc": proc.returncode,
                  "stdout": proc.stdout, "stderr": proc.stderr}))
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
    files: int = 0
    timeouts: list[str] = field(default_factory=list)
    # Files spatch gave up on for another reason: "path: exception".
    failures: list[str] = field(default_factory=list)
    # spatch, per directory: "dir: files, timed out, wall s, cpu s, reports".
    parts: list[str] = field(default_factory=list)


@dataclass
class Match:
    script: str
    both: list[str] = field(default_factory=list)
    only_patchlint: list[str] = field(default_factory=list)
    only_spatch: list[str] = field(default_factory=list)
    # Findings in the files where spatch ran out of time for this script.
    not_compared: list[str] = field(default_factory=list)


def measure(
    label: str, command: list[str], env: dict[str, str] | None = None
) -> tuple[Run, str, str]:
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
    return run, data["stdout"], data["stderr"]


def scan(tree: Path, jobs: int, cache: Path, label: str) -> tuple[Run, list[dict[str, object]]]:
    env = {**os.environ, "PATCHLINT_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    run, out, _ = measure(
        label, [sys.executable, "-c", _SCAN, str(tree), str(jobs), ",".join(RULES)], env
    )
    data = json.loads(out) if out.strip() else {"findings": []}
    run.findings = len(data["findings"])
    run.note = (
        f"{data.get('candidates', '?')} candidate files, {len(data.get('errors', []))} errors"
    )
    return run, data["findings"]


def read_spatch_log(err: str, tree: Path) -> tuple[set[str], list[str], list[str]]:
    """The files spatch --quiet read, those its --timeout stopped, those it failed on."""
    files: set[str] = set()
    timeouts: list[str] = []
    failures: list[str] = []
    for line in err.splitlines():
        handled = _HANDLED.match(line.strip())
        if handled:
            files.add(os.path.relpath(handled["path"], tree))
        stopped = _STOPPED.match(line.strip())
        if stopped:
            path = os.path.relpath(stopped["path"], tree)
            if stopped["exception"].endswith("Timeout"):
                timeouts.append(path)
            else:
                failures.append(f"{path}: {stopped['exception']}")
    return files, timeouts, failures


def spatch(
    tree: Path, dirs: list[str], script: str, jobs: int, timeout: int
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
            "--quiet",
            "--no-includes",
            "--include-headers",
            "--timeout",
            str(timeout),
            "--jobs",
            str(jobs),
            "--chunksize",
            "1",
            "--sp-file",
            str(cocci),
            "--dir",
            str(tree / directory),
        ]
        run, out, err = measure(total.label, command)
        files, timeouts, failures = read_spatch_log(err, tree)
        total.files += len(files)
        total.timeouts += timeouts
        total.failures += failures
        stopped_here = len(timeouts)
        reported = sum(1 for line in out.splitlines() if _REPORT.match(line.strip()))
        total.parts.append(
            f"{directory}: {len(files)} files, {stopped_here} timed out, "
            f"{run.wall:.1f} s wall, {run.cpu:.1f} s cpu, {reported} reports"
        )
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
    total.timeouts = sorted(set(total.timeouts))
    total.failures = sorted(set(total.failures))
    total.note = (
        f"{total.files} files, {len(total.timeouts)} timed out, "
        f"{len(total.failures)} failed; {total.note}"
    ).rstrip("; ")
    return total, found


def grep(tree: Path, dirs: list[str]) -> Run:
    sys.path.insert(0, str(REPO))
    from patchlint.scan import candidate_tokens

    tokens = sorted({t for values in candidate_tokens(RULES).values() for t in values or ()})
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(tokens))
    run, out, _ = measure(
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
    findings: list[dict[str, object]],
    reports: dict[str, list[tuple[str, int, str]]],
    timeouts: dict[str, list[str]] | None = None,
) -> list[Match]:
    """Pair each script's reports with the patchlint findings that say the same thing.

    Places in a file that spatch gave up on for a script (`timeouts`) are not compared.
    """
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
        stopped = set((timeouts or {}).get(script, ()))
        for place in sorted(ours | set(theirs)):
            if place[0] in stopped:
                item.not_compared.append(described.get((script, *place)) or theirs[place])
            elif place in ours and place in theirs:
                item.both.append(described[(script, *place)])
            elif place in ours:
                item.only_patchlint.append(described[(script, *place)])
            else:
                item.only_spatch.append(theirs[place])
        result.append(item)
    return result


def merge_spatch_runs(
    paths: list[Path],
    reports: dict[str, list[tuple[str, int, str]]],
    timeouts: dict[str, list[str]],
) -> list[Run]:
    """Join the spatch part of earlier --json outputs into `reports` and `timeouts`."""
    joined: dict[str, Run] = {}
    for path in paths:
        earlier = json.loads(path.read_text(encoding="utf-8"))
        for script, found in earlier["spatch"].items():
            reports.setdefault(script, []).extend((p, int(n), m) for p, n, m in found)
        for script, stopped in earlier.get("timeouts", {}).items():
            timeouts.setdefault(script, []).extend(stopped)
        for data in earlier["runs"]:
            if not data["label"].startswith("spatch"):
                continue
            run = Run(**data)
            total = joined.setdefault(run.label, Run(run.label))
            total.wall += run.wall
            total.cpu += run.cpu
            total.maxrss_mb = max(total.maxrss_mb, run.maxrss_mb)
            total.findings += run.findings
            total.files += run.files
            total.timeouts += run.timeouts
            total.failures += run.failures
            total.parts += run.parts
    for total in joined.values():
        total.note = (
            f"{total.files} files, {len(total.timeouts)} timed out, {len(total.failures)} failed"
        )
    return list(joined.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_tree = Path(
        os.environ.get("PATCHLINT_KERNEL_TREE", Path.home() / ".cache/patchlint/linux-6.12")
    )
    parser.add_argument("tree", nargs="?", type=Path, default=default_tree)
    parser.add_argument(
        "--dirs",
        default=",".join(DEFAULT_DIRS),
        help="comma-separated directories of the tree ('.' for all of it)",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--timeout",
        type=int,
        default=30,
        help="spatch's limit per file, CPU seconds (0: none)",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-spatch", action="store_true")
    parser.add_argument("--skip-scan", action="store_true")
    parser.add_argument(
        "--scan-json",
        type=Path,
        help="match against this `patchlint scan --format json` output instead of scanning",
    )
    parser.add_argument(
        "--spatch-json",
        type=Path,
        action="append",
        help="take spatch's reports and limits from earlier --json outputs instead of "
        "running it (repeat to join runs over different directories)",
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
        args.skip_scan = True
    with tempfile.TemporaryDirectory(prefix="patchlint-bench-") as cache:
        if not args.skip_scan:
            # The scan covers the whole tree (its summaries need every file); only the
            # findings in the compared directories are matched.
            cold, every = scan(tree, args.jobs, Path(cache), "patchlint scan, cold cache")
            warm, _ = scan(tree, args.jobs, Path(cache), "patchlint scan, warm cache")
            runs += [cold, warm]
            findings = [f for f in every if f.get("rule") in RULES]
    reports: dict[str, list[tuple[str, int, str]]] = {}
    timeouts: dict[str, list[str]] = {}
    if args.spatch_json:
        runs += merge_spatch_runs(args.spatch_json, reports, timeouts)
    elif not args.skip_spatch:
        for script in SCRIPTS:
            run, found = spatch(tree, dirs, script, args.jobs, args.timeout)
            runs.append(run)
            reports[script] = found
            timeouts[script] = run.timeouts + [f.split(": ")[0] for f in run.failures]
    # Read after spatch ran, so that a scan still running when this run started can be used.
    if args.scan_json is not None:
        loaded = json.loads(args.scan_json.read_text(encoding="utf-8"))
        findings = [f for f in loaded["findings"] if f.get("rule") in RULES]
    if dirs != ["."]:
        prefixes = tuple(d.rstrip("/") + "/" for d in dirs)
        findings = [f for f in findings if str(f["file"]).startswith(prefixes)]
    print(f"tree {tree}, directories {', '.join(dirs)}, {args.jobs} jobs, load before {load}")
    print(f"{'tool':42} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'found':>6}  note")
    for run in runs:
        figures = f"{run.wall:8.1f} {run.cpu:8.1f} {run.maxrss_mb:8.0f} {run.findings:6}"
        print(f"{run.label:42} {figures}  {run.note}")
        for part in run.parts:
            print(f"    {part}")
    matches = match(findings, reports, timeouts) if reports else []
    for item in matches:
        print(
            f"{item.script}: both {len(item.both)}, only patchlint {len(item.only_patchlint)}, "
            f"only spatch {len(item.only_spatch)}, not compared {len(item.not_compared)} "
            f"({len(timeouts.get(item.script, []))} files spatch stopped on)"
        )
        for line in item.only_spatch:
            print(f"  only spatch: {line}")
        for line in item.only_patchlint:
            print(f"  only patchlint: {line}")
        for path in timeouts.get(item.script, []):
            print(f"  not compared (spatch stopped): {path}")
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
                    "timeouts": timeouts,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
