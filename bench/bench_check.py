"""Benchmark `patchlint check` against the kernel's own checkpatch.pl, side by side, in one run.

Usage: python bench/bench_check.py TREE [--patches 200] [--jobs J] [--repeat N] [--bytecode]
       [--json OUT.json]

(a) throughput: `patchlint check --tree TREE corpus.mbox --format json` on a generated
    corpus (bench/make_patch_corpus.py) against `scripts/checkpatch.pl` run once per
    patch from the tree root with the flags b4's `prep --check` uses;
(b) start-up: one small patch end to end as a process, both tools (median of 3);
(c) memory: peak RSS of `patchlint check` on a ~200 MB mbox built from the real
    cgroups archive repeated with unique Message-IDs, plus the generated patches.

Wall time, CPU time (os.wait4 rusage of each child), peak RSS (ru_maxrss of that
child) and findings are printed with the ratios the issue sets as targets. Every file
is written to a temporary directory; the tree is only read.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import make_patch_corpus  # noqa: E402

# What b4 runs per patch when the tree has scripts/checkpatch.pl (b4 ez.py defaults).
CHECKPATCH_FLAGS = ["-q", "--terse", "--no-summary", "--mailback", "--showfile", "-"]
REAL_CORPUS = Path("/work/shared/corpus/cgroups-recent.mbox.gz")
_FROM_SHA = re.compile(rb"^From [0-9a-f]{40} ", re.M)
_ID_HEADER = re.compile(rb"^(Message-I[Dd]|In-Reply-To|References):(.*)$", re.M | re.I)
_ANGLE = re.compile(rb"<([^<>\s]+)>")


@dataclass
class Run:
    wall: float = 0.0
    user: float = 0.0
    system: float = 0.0
    maxrss_mb: float = 0.0
    returncode: int | None = None
    timed_out: bool = False
    processes: int = 0

    @property
    def cpu(self) -> float:
        return self.user + self.system

    def add(self, other: Run) -> None:
        self.wall += other.wall
        self.user += other.user
        self.system += other.system
        self.maxrss_mb = max(self.maxrss_mb, other.maxrss_mb)
        self.timed_out = self.timed_out or other.timed_out
        self.processes += other.processes
        self.returncode = other.returncode if self.returncode in (None, 0, 1) else self.returncode


@dataclass
class Figures:
    machine: dict[str, object] = field(default_factory=dict)
    throughput: dict[str, object] = field(default_factory=dict)
    small_patch: dict[str, object] = field(default_factory=dict)
    memory: dict[str, object] = field(default_factory=dict)


def measure(
    cmd: list[str],
    *,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    stdout: Path | None = None,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """Run one process; its own rusage comes from wait4, so runs never blur together."""
    out_handle = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=out_handle,
        stderr=subprocess.DEVNULL,
    )
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        proc.kill()

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.start()
    if stdin is not None and proc.stdin is not None:
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except BrokenPipeError:
            pass
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if timer:
        timer.cancel()
    if stdout:
        out_handle.close()  # type: ignore[union-attr]
    return Run(
        wall,
        usage.ru_utime,
        usage.ru_stime,
        usage.ru_maxrss / 1024,
        proc.returncode,
        killed.is_set(),
        1,
    )


def machine() -> dict[str, object]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "perl": subprocess.run(["perl", "-e", "print $^V"], capture_output=True, text=True).stdout,
    }


def split_mails(mbox: bytes) -> list[bytes]:
    starts = [m.start() for m in _FROM_SHA.finditer(mbox)]
    return [mbox[a:b] for a, b in zip(starts, starts[1:] + [len(mbox)], strict=True)]


def patchlint_cmd(
    tree: Path,
    inputs: list[Path],
    out: Path,
    jobs: int | None,
    supports_jobs: bool,
    extra: list[str],
) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "patchlint",
        "check",
        "--tree",
        str(tree),
        "--format",
        "json",
        "-o",
        str(out),
        "--fail-on",
        "never",
        *extra,
    ]
    if jobs is not None and supports_jobs:
        cmd += ["--jobs", str(jobs)]
    return cmd + [str(p) for p in inputs]


def check_supports_jobs() -> bool:
    help_text = subprocess.run(
        [sys.executable, "-m", "patchlint", "check", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
    ).stdout
    return "--jobs" in help_text


def patchlint_findings(out: Path, index: dict[str, object] | None) -> dict[str, object]:
    try:
        data = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return {"error": f"no JSON output: {error}"}
    introduced = 0
    found: dict[str, set[str]] = {}
    skipped = 0
    for patch in data.get("patches", []):
        if patch.get("skipped"):
            skipped += 1
        for finding in patch.get("findings", []):
            if finding.get("status") in ("introduced", "found"):
                introduced += 1
                found.setdefault(patch.get("message_id", ""), set()).add(finding.get("rule"))
    result: dict[str, object] = {
        "messages": len(data.get("messages", [])),
        "patches": len(data.get("patches", [])),
        "findings_introduced": introduced,
        "skipped": skipped,
        "errors": len(data.get("errors", [])),
    }
    if index is not None:
        expected = [p for p in index["patches"] if p["expected"]]  # type: ignore[index]
        hits = [p for p in expected if p["expected"] in found.get(p["message_id"], set())]
        result["recall"] = f"{len(hits)}/{len(expected)}"
        result["missed"] = [
            f"{p['file']}:{p['function']} ({p['expected']})" for p in expected if p not in hits
        ]
    return result


def run_checkpatch(tree: Path, mails: list[bytes]) -> tuple[Run, int]:
    total = Run()
    findings = 0
    with tempfile.NamedTemporaryFile() as out:
        for mail in mails:
            run = measure(
                ["perl", "scripts/checkpatch.pl", *CHECKPATCH_FLAGS],
                stdin=mail,
                cwd=tree,
                stdout=Path(out.name),
            )
            total.add(run)
            text = Path(out.name).read_text(errors="replace")
            findings += len(re.findall(r": (?:ERROR|WARNING|CHECK):", text))
    return total, findings


def build_big_mbox(target: Path, generated: Path, megabytes: int) -> dict[str, object]:
    """The real archive repeated, ids rewritten per copy so threads stay within a copy."""
    written = copies = 0
    limit = megabytes * 1024 * 1024
    extra = generated.read_bytes()
    with open(target, "wb") as out:
        while written < limit:
            copies += 1
            tag = f"c{copies}.".encode()

            def unique(match: re.Match[bytes], tag: bytes = tag) -> bytes:
                ids = _ANGLE.sub(lambda m: b"<" + tag + m.group(1) + b">", match.group(2))
                return match.group(1) + b":" + ids

            for chunk in _chunks(REAL_CORPUS):
                data = _ID_HEADER.sub(unique, chunk)
                out.write(data)
                written += len(data)
            data = _ID_HEADER.sub(unique, extra)
            out.write(data)
            written += len(data)
    return {"bytes": written, "copies": copies}


def _chunks(path: Path) -> Iterator[bytes]:
    """Whole lines in ~8 MB pieces, so header rewriting never straddles a boundary."""
    with gzip.open(path, "rb") as handle:
        rest = b""
        while True:
            block = handle.read(8 << 20)
            if not block:
                if rest:
                    yield rest
                return
            block = rest + block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            yield block[:cut]


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def print_row(label: str, run: Run, per: int = 1) -> None:
    flag = " (TIMED OUT)" if run.timed_out else ""
    print(
        f"  {label:<28} wall {run.wall:8.2f}s  cpu {run.cpu:8.2f}s  "
        f"per item {run.wall / max(per, 1):7.3f}s  peak {run.maxrss_mb:7.1f} MB  "
        f"rc {run.returncode}{flag}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("tree", type=Path)
    parser.add_argument("--patches", type=int, default=200)
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="passed to `patchlint check --jobs` when it has the option",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mbox-mb", type=int, default=200, help="size of the memory mbox")
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        help="per patchlint run; a killed run reports its figures so far",
    )
    parser.add_argument(
        "--skip", action="append", default=[], choices=["throughput", "small", "memory"]
    )
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        help="extra argument for every patchlint run (e.g. --no-simulate)",
    )
    parser.add_argument(
        "--bytecode",
        action="store_true",
        help="let patchlint's processes use compiled bytecode (as a pip install has), in a "
        "temporary PYTHONPYCACHEPREFIX warmed by one run, even where the environment sets "
        "PYTHONDONTWRITEBYTECODE (then every run compiles every module first)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of the throughput comparison (medians)"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    tree = args.tree.resolve()
    if not (tree / "scripts" / "checkpatch.pl").is_file():
        parser.error(f"{tree}: no scripts/checkpatch.pl")
    figures = Figures(machine=machine())
    supports_jobs = check_supports_jobs()
    figures.machine["patchlint_jobs_option"] = supports_jobs
    figures.machine["extra_args"] = args.extra
    print(f"machine: {figures.machine}")
    with tempfile.TemporaryDirectory(prefix="patchlint-bench-") as scratch:
        work = Path(scratch)
        corpus = work / "corpus.mbox"
        make_patch_corpus.main(
            [str(tree), str(corpus), "--count", str(args.patches), "--seed", str(args.seed)]
        )
        index = json.loads(corpus.with_suffix(".json").read_text())
        mails = split_mails(corpus.read_bytes())
        env: dict[str, str] | None = None
        if args.bytecode:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            env["PYTHONPYCACHEPREFIX"] = str(work / "pyc")
            warm = work / "warm.patch"
            warm.write_bytes(min(mails, key=len))
            measure(
                patchlint_cmd(tree, [warm], work / "warm.json", 1, True, args.extra),
                cwd=REPO,
                env=env,
            )
        figures.machine["bytecode"] = args.bytecode

        if "throughput" not in args.skip:
            print(f"(a) throughput on {len(mails)} patches, {args.repeat} round(s)")
            out = work / "check.json"
            pl_runs: list[Run] = []
            cp_runs: list[Run] = []
            cp_findings = 0
            loads: list[tuple[float, float]] = []
            for _ in range(args.repeat):
                # Each round runs both tools back to back: on a shared machine the load
                # changes over minutes, and the medians compare rounds run alike.
                load_before = os.getloadavg()[0]
                pl = measure(
                    patchlint_cmd(tree, [corpus], out, args.jobs, supports_jobs, args.extra),
                    cwd=REPO,
                    timeout=args.timeout,
                    env=env,
                )
                print_row("patchlint check --tree", pl, len(mails))
                cp, cp_findings = run_checkpatch(tree, mails)
                print_row("checkpatch.pl per patch", cp, len(mails))
                pl_runs.append(pl)
                cp_runs.append(cp)
                loads.append((load_before, os.getloadavg()[0]))
                print(f"  load average (1 min) {loads[-1][0]:.1f} -> {loads[-1][1]:.1f}")
            pl_findings = patchlint_findings(out, index)
            print(f"  patchlint findings: {pl_findings}")
            print(f"  checkpatch findings (ERROR/WARNING/CHECK lines): {cp_findings}")
            walls = [ratio(c.wall, p.wall) or 0.0 for p, c in zip(pl_runs, cp_runs, strict=True)]
            cpus = [ratio(c.cpu, p.cpu) or 0.0 for p, c in zip(pl_runs, cp_runs, strict=True)]
            figures.throughput = {
                "patches": len(mails),
                "rounds": args.repeat,
                "patchlint": [asdict(run) for run in pl_runs],
                "checkpatch": [asdict(run) for run in cp_runs],
                "patchlint_wall_median": round(statistics.median(r.wall for r in pl_runs), 2),
                "checkpatch_wall_median": round(statistics.median(r.wall for r in cp_runs), 2),
                "patchlint_cpu_median": round(statistics.median(r.cpu for r in pl_runs), 2),
                "checkpatch_cpu_median": round(statistics.median(r.cpu for r in cp_runs), 2),
                "patchlint_findings": pl_findings,
                "checkpatch_findings": cp_findings,
                "load_average_per_round": [[round(a, 1), round(b, 1)] for a, b in loads],
                "speedup_wall_per_round": walls,
                "speedup_cpu_per_round": cpus,
                "speedup_wall": round(statistics.median(walls), 2),
                "speedup_cpu": round(statistics.median(cpus), 2),
                "target": ">= 10x",
            }
            print(
                f"  speed-up, median of {args.repeat} round(s): wall "
                f"{figures.throughput['speedup_wall']}x {walls}, cpu "
                f"{figures.throughput['speedup_cpu']}x {cpus} (target >= 10x)"
            )

        if "small" not in args.skip:
            small = work / "small.patch"
            small.write_bytes(min(mails, key=len))
            pl_runs = [
                measure(
                    patchlint_cmd(
                        tree, [small], work / "small.json", args.jobs, supports_jobs, args.extra
                    ),
                    cwd=REPO,
                    timeout=args.timeout,
                    env=env,
                )
                for _ in range(3)
            ]
            cp_runs = [
                measure(["perl", "scripts/checkpatch.pl", str(small)], cwd=tree) for _ in range(3)
            ]
            pl_wall = statistics.median(r.wall for r in pl_runs)
            cp_wall = statistics.median(r.wall for r in cp_runs)
            print("(b) one small patch end to end (median of 3)")
            print_row("patchlint check --tree", pl_runs[0])
            print_row("checkpatch.pl", cp_runs[0])
            figures.small_patch = {
                "patchlint_wall": round(pl_wall, 3),
                "checkpatch_wall": round(cp_wall, 3),
                "patchlint_peak_mb": max(r.maxrss_mb for r in pl_runs),
                "ratio": ratio(pl_wall, cp_wall),
                "target": "<= 1.0 (no slower)",
            }
            print(f"  patchlint/checkpatch wall: {figures.small_patch['ratio']} (target <= 1)")

        if "memory" not in args.skip:
            big = work / "big.mbox"
            built = build_big_mbox(big, corpus, args.mbox_mb)
            out = work / "big.json"
            print(f"(c) memory on {built['bytes'] / 2**20:.0f} MB mbox ({built['copies']} copies)")
            mem = measure(
                patchlint_cmd(tree, [big], out, args.jobs, supports_jobs, args.extra),
                cwd=REPO,
                timeout=args.timeout,
                env=env,
            )
            print_row("patchlint check --tree", mem)
            figures.memory = {
                "mbox_mb": round(built["bytes"] / 2**20, 1),  # type: ignore[operator]
                "run": asdict(mem),
                "peak_mb": round(mem.maxrss_mb, 1),
                "findings": patchlint_findings(out, None) if not mem.timed_out else None,
                "target": "<= 500 MB",
            }
            print(
                f"  peak RSS {mem.maxrss_mb:.0f} MB (target <= 500 MB)"
                + (" - killed at the timeout, peak so far" if mem.timed_out else "")
            )

    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
