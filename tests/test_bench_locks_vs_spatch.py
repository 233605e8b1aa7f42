"""bench/locks_vs_spatch.py: reading spatch's log and pairing its reports with findings.

The lines are in the shapes spatch 1.1.1 prints with `--quiet --dir` (no spatch needed).
"""

from __future__ import annotations

import json
from pathlib import Path

import bench.locks_vs_spatch as harness

TREE = Path("/t/linux")

LOG = """init_defs_builtins: /usr/lib/coccinelle/standard.h
HANDLING: /t/linux/kernel/exit.c
Skipping: /t/linux/kernel/bounds.c
HANDLING: /t/linux/kernel/bpf/verifier.c
EXN: Coccinelle_modules.Common.Timeout in /t/linux/kernel/bpf/verifier.c
HANDLING: /t/linux/mm/odd.c
EXN: Failure("bad") in /t/linux/mm/odd.c
Note: processing took    18.6s: /t/linux/kernel/events/core.c
"""


def _finding(file: str, line: int, key: str, rule: str = "lock-unbalanced") -> dict[str, object]:
    return {
        "rule": rule,
        "file": file,
        "line": line,
        "key": key,
        "function": "f",
        "message": "m",
    }


def test_log_names_files_read_timeouts_and_failures() -> None:
    files, timeouts, failures = harness.read_spatch_log(LOG, TREE)
    assert files == {"kernel/exit.c", "kernel/bounds.c", "kernel/bpf/verifier.c", "mm/odd.c"}
    assert timeouts == ["kernel/bpf/verifier.c"]
    assert failures == ['mm/odd.c: Failure("bad")']


def test_places_in_a_timed_out_file_are_not_compared() -> None:
    findings = [
        _finding("kernel/exit.c", 536, "leak:spinlock:x:return;#0"),
        _finding("kernel/bpf/verifier.c", 10, "leak:mutex:y:return 0;#0"),
        _finding("kernel/a.c", 7, "leak:mutex:z:return 1;#0"),
    ]
    reports = {
        "mini_lock": [
            ("kernel/exit.c", 536, "preceding lock on line 502"),
            ("kernel/bpf/verifier.c", 99, "preceding lock on line 90"),
            ("kernel/b.c", 3, "preceding lock on line 1"),
        ]
    }
    result = {
        m.script: m
        for m in harness.match(findings, reports, {"mini_lock": ["kernel/bpf/verifier.c"]})
    }
    mini = result["mini_lock"]
    assert [line.split()[0] for line in mini.both] == ["kernel/exit.c:536"]
    assert [line.split()[0] for line in mini.only_patchlint] == ["kernel/a.c:7"]
    assert [line.split()[0] for line in mini.only_spatch] == ["kernel/b.c:3"]
    assert sorted(line.split()[0] for line in mini.not_compared) == [
        "kernel/bpf/verifier.c:10",
        "kernel/bpf/verifier.c:99",
    ]


def test_call_kern_report_is_placed_at_the_call() -> None:
    findings = [_finding("mm/p.c", 2218, "k()#0", rule="sleep-in-atomic")]
    message = "ERROR: function k called on line 2218 inside lock on line 2214 but uses GFP_KERNEL"
    result = {
        m.script: m for m in harness.match(findings, {"call_kern": [("mm/p.c", 2011, message)]})
    }
    assert len(result["call_kern"].both) == 1
    assert not result["call_kern"].only_spatch


def test_joined_runs_add_up(tmp_path: Path) -> None:
    def run_file(name: str, directory: str, stopped: list[str]) -> Path:
        run = harness.Run("spatch mini_lock.cocci", wall=2.0, cpu=1.0, findings=1, files=5)
        run.timeouts = stopped
        run.parts = [f"{directory}: 5 files"]
        path = tmp_path / name
        path.write_text(
            json.dumps(
                {
                    "runs": [vars(run)],
                    "spatch": {"mini_lock": [[f"{directory}/x.c", 4, "preceding lock on line 2"]]},
                    "timeouts": {"mini_lock": stopped},
                }
            )
        )
        return path

    reports: dict[str, list[tuple[str, int, str]]] = {}
    timeouts: dict[str, list[str]] = {}
    runs = harness.merge_spatch_runs(
        [run_file("a.json", "kernel", ["kernel/v.c"]), run_file("b.json", "mm", [])],
        reports,
        timeouts,
    )
    assert len(runs) == 1
    assert (runs[0].wall, runs[0].cpu, runs[0].files, runs[0].findings) == (4.0, 2.0, 10, 2)
    assert runs[0].note == "10 files, 1 timed out, 0 failed"
    assert reports["mini_lock"] == [
        ("kernel/x.c", 4, "preceding lock on line 2"),
        ("mm/x.c", 4, "preceding lock on line 2"),
    ]
    assert timeouts == {"mini_lock": ["kernel/v.c"]}
