"""task-iter-unlocked and iter-double-loop-break: keys, evidence, callers, kernel files."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchlint.rules import AnalysisUnit
from patchlint.rules.iter_double_loop_break import check as check_iter_double_loop_break
from patchlint.rules.task_iter_unlocked import check as check_task_iter_unlocked
from patchlint.source.parse import parse_c


def _run(code: str, check=check_task_iter_unlocked, path: str = "t.c", functions=None):
    source = parse_c(code, path)
    return list(check(AnalysisUnit(source=source, path=path, functions=functions)))


def test_key_is_construct_and_occurrence_not_line() -> None:
    code = (
        "void f(void) { struct task_struct *p;\n for_each_process(p) a(p);\n"
        " for_each_process(p) b(p); }"
    )
    keys = [f.key for f in _run(code)]
    assert keys == ["for_each_process(p)#0", "for_each_process(p)#1"]
    shifted = [f.key for f in _run("\n\n\n" + code)]
    assert shifted == keys


def test_caller_chain_is_inherited() -> None:
    code = """
static int walk(void) { struct task_struct *p; int n = 0; for_each_process(p) n++; return n; }
static int middle(void) { return walk(); }
int top(void) { int n; rcu_read_lock(); n = middle(); rcu_read_unlock(); return n; }
"""
    assert _run(code) == []


def test_unprotected_caller_is_named_in_evidence() -> None:
    code = """
static int walk(void) { struct task_struct *p; int n = 0; for_each_process(p) n++; return n; }
int good(void) { int n; rcu_read_lock(); n = walk(); rcu_read_unlock(); return n; }
int bad(void) { return walk(); }
"""
    (finding,) = _run(code)
    assert finding.function == "walk"
    assert any(e.kind == "caller" and "bad()" in e.message for e in finding.evidence)


def test_siglock_note_for_process_walk() -> None:
    code = (
        "void f(struct task_struct *t) { struct task_struct *p;"
        " spin_lock_irq(&t->sighand->siglock); for_each_process(p) a(p);"
        " spin_unlock_irq(&t->sighand->siglock); }"
    )
    (finding,) = _run(code)
    assert any("siglock" in e.message for e in finding.evidence)


def test_spinlock_region_is_an_implicit_rcu_section() -> None:
    code = (
        "void f(struct rq *rq) { struct task_struct *g, *p; raw_spin_lock(&rq->lock);"
        " for_each_process_thread(g, p) a(p); raw_spin_unlock(&rq->lock); }"
    )
    assert _run(code) == []


def test_debugger_code_is_exclusive_context() -> None:
    code = "void f(void) { struct task_struct *p; for_each_process(p) a(p); }"
    assert _run(code, path="kernel/debug/kdb/kdb_x.c") == []
    assert len(_run(code, path="kernel/x.c")) == 1


def test_unwanted_functions_are_skipped() -> None:
    code = "void f(void) { struct task_struct *p; for_each_process(p) a(p); }"
    assert _run(code, functions={"other"}) == []


def test_double_loop_break_only_direct() -> None:
    code = """
void f(void) { struct task_struct *g, *t;
 for_each_process_thread(g, t) { if (t) break; switch (t->prio) { case 0: break; } }
}"""
    findings = _run(code, check_iter_double_loop_break)
    assert [f.line for f in findings] == [3]
    assert findings[0].key == "for_each_process_thread(g, t) break#0"


# Files the issue names; every finding here is triaged in docs/triage/linux-6.12-rcu.md.
KERNEL_FILES = [
    "kernel/signal.c",
    "kernel/exit.c",
    "kernel/freezer.c",
    "mm/oom_kill.c",
    "kernel/sys.c",
    "kernel/fork.c",
    "kernel/sched/autogroup.c",
    "fs/exec.c",
    "fs/coredump.c",
    "kernel/cgroup/cgroup.c",
    "kernel/cgroup/freezer.c",
    "kernel/cgroup/cgroup-v1.c",
    "arch/mips/kernel/process.c",
]
# (file, line): the true positives found there; see the triage document.
EXPECTED = {("arch/mips/kernel/process.c", 824), ("arch/mips/kernel/process.c", 851)}


@pytest.mark.kernel
def test_kernel_files_match_triage(kernel_tree: Path) -> None:
    from patchlint.rules import run_rules, select_rules
    from patchlint.source import FunctionIndex

    rules = select_rules(
        enabled=[
            "task-iter-unlocked",
            "rcu-sleep",
            "rcu-unbalanced",
            "rcu-task-escape",
            "iter-double-loop-break",
        ]
    )
    index = FunctionIndex(kernel_tree)
    found = set()
    for relative in KERNEL_FILES:
        source = index.source(relative)
        assert source is not None
        unit = AnalysisUnit(source=source, path=relative, index=index)
        found |= {(f.file, f.line) for f in run_rules(unit, rules)}
    assert found == EXPECTED
