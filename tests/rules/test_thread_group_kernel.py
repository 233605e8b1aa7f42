"""Thread-group rules on the real linux 6.12 tree: the seed patch, reverts, owners."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from patchlint.findings import Finding
from patchlint.rules import AnalysisUnit, diff_findings
from patchlint.rules.taskstate import knowledge
from patchlint.rules.thread_group import (
    ACTION_RULE,
    FLAG_RULE,
    check_thread_action_on_group,
    check_thread_flag_as_group,
)
from patchlint.source import FunctionIndex, parse_c

pytestmark = pytest.mark.kernel

SEED_FREEZER_TEST = ("if (test_tsk_thread_flag(p, TIF_MEMDIE))", "if (tsk_is_oom_victim(p))")
SEED_THAW_PROCESS = """
void thaw_process(struct task_struct *p)
{
	struct task_struct *t;

	rcu_read_lock();
	for_each_thread(p, t) {
		__thaw_task(t);
	}
	rcu_read_unlock();
}
"""
SEED_OOM = (
    "\t__thaw_task(tsk);\n\tatomic_inc(&oom_victims);",
    "\tthaw_process(tsk);\n\tatomic_inc(&oom_victims);",
)


def run(text: str, path: str, index: object = None) -> list[Finding]:
    unit = AnalysisUnit(source=parse_c(text, path), path=path, index=index)
    return list(check_thread_flag_as_group(unit)) + list(check_thread_action_on_group(unit))


def read(tree: Path, path: str) -> str:
    return (tree / path).read_text(encoding="utf-8")


def seed_post(tree: Path) -> dict[str, str]:
    """The seed patch's two changed C files, applied by string replacement."""
    freezer = read(tree, "kernel/freezer.c")
    assert freezer.count(SEED_FREEZER_TEST[0]) == 1
    freezer = freezer.replace(*SEED_FREEZER_TEST)
    anchor = "\n/**\n * set_freezable - make %current freezable"
    assert anchor in freezer
    freezer = freezer.replace(anchor, SEED_THAW_PROCESS + anchor, 1)
    oom = read(tree, "mm/oom_kill.c")
    assert oom.count(SEED_OOM[0]) == 1
    return {"kernel/freezer.c": freezer, "mm/oom_kill.c": oom.replace(*SEED_OOM)}


def test_seed_patch_findings_are_resolved(kernel_tree: Path) -> None:
    pre: list[Finding] = []
    post: list[Finding] = []
    for path, text in seed_post(kernel_tree).items():
        pre += run(read(kernel_tree, path), path)
        post += run(text, path)
    found = {(f.rule, f.file, f.function) for f in pre}
    assert found == {
        (FLAG_RULE, "kernel/freezer.c", "freezing_slow_path"),
        (ACTION_RULE, "mm/oom_kill.c", "mark_oom_victim"),
    }
    assert post == []
    assert sorted(f.status for f in diff_findings(pre, post)) == ["resolved", "resolved"]


def test_seed_patch_with_index(kernel_tree: Path) -> None:
    post = seed_post(kernel_tree)
    index = FunctionIndex(kernel_tree)
    pre = run(read(kernel_tree, "kernel/freezer.c"), "kernel/freezer.c", index)
    (finding,) = pre
    assert finding.confidence == "high"
    assert any(e.kind == "caller" and "freezing()" in e.message for e in finding.evidence)
    assert any(
        e.kind == "counterpart" and e.file and e.file.startswith(("mm/", "kernel/"))
        for e in finding.evidence
    )
    for path, text in post.items():
        assert run(text, path, index) == []


REVERTS = [
    # (file, the group-wide form in 6.12, a per-thread spelling, function expected)
    (
        "mm/oom_kill.c",
        "!is_sysrq_oom(oc) && tsk_is_oom_victim(task)",
        "!is_sysrq_oom(oc) && test_tsk_thread_flag(task, TIF_MEMDIE)",
        "oom_evaluate_task",
    ),
    (
        "mm/memcontrol.c",
        "return tsk_is_oom_victim(current) ||",
        "return test_thread_flag(TIF_MEMDIE) ||",
        "task_is_dying",
    ),
    (
        "kernel/cgroup/cpuset.c",
        "if (unlikely(tsk_is_oom_victim(current)))",
        "if (unlikely(test_thread_flag(TIF_MEMDIE)))",
        "cpuset_node_allowed",
    ),
    (
        "mm/page_alloc.c",
        "if (tsk_is_oom_victim(current) &&",
        "if (test_thread_flag(TIF_MEMDIE) &&",
        "__alloc_pages_slowpath",
    ),
    (
        "mm/oom_kill.c",
        "if (thread_group_empty(task) && (task->flags & PF_EXITING))",
        "if (task->flags & PF_EXITING)",
        "__task_will_free_mem",
    ),
    (
        "mm/oom_kill.c",
        "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, victim, PIDTYPE_TGID);",
        "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, victim, PIDTYPE_PID);",
        "__oom_kill_process",
    ),
    (
        "mm/oom_kill.c",
        "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, p, PIDTYPE_TGID);",
        "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, p, PIDTYPE_PID);",
        "__oom_kill_process",
    ),
]


@pytest.mark.parametrize(
    "path,group,thread,function", REVERTS, ids=[f"{r[0]}:{r[3]}" for r in REVERTS]
)
def test_reverting_a_group_question_is_introduced(
    kernel_tree: Path, path: str, group: str, thread: str, function: str
) -> None:
    text = read(kernel_tree, path)
    assert group in text
    pre = run(text, path)
    post = run(text.replace(group, thread, 1), path)
    introduced = [f for f in diff_findings(pre, post) if f.status == "introduced"]
    assert [(f.function) for f in introduced] == [function]
    assert not [f for f in diff_findings(pre, post) if f.status == "resolved"]


class Overlay:
    """A FunctionIndex reader that sees the patched files over the tree."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def __call__(self, path: str) -> str | None:
        return self.files.get(path)

    def paths(self) -> list[str]:
        return list(self.files)


def test_reverting_the_seed_fix_is_introduced(kernel_tree: Path) -> None:
    post = seed_post(kernel_tree)
    index = FunctionIndex(kernel_tree, reader=Overlay(post))
    oom = post["mm/oom_kill.c"]
    reverted = oom.replace(SEED_OOM[1], SEED_OOM[0])
    introduced = [
        f
        for f in diff_findings(
            run(oom, "mm/oom_kill.c", index), run(reverted, "mm/oom_kill.c", index)
        )
        if f.status == "introduced"
    ]
    assert [(f.rule, f.function) for f in introduced] == [(ACTION_RULE, "mark_oom_victim")]
    # The patched tree defines thaw_process(): the message names it.
    assert "use thaw_process(tsk)" in introduced[0].message
    assert introduced[0].confidence == "high"


OWNERS = {
    "mm/oom_kill.c": {"mark_oom_victim", "exit_oom_victim", "__task_will_free_mem"},
    "kernel/exit.c": {"exit_mm", "do_exit"},
    "mm/page_alloc.c": {"oom_reserves_allowed"},
    "kernel/signal.c": {"exit_signals", "complete_signal", "force_sig_info_to_task"},
}


def test_owners_and_per_thread_uses_stay_silent(kernel_tree: Path) -> None:
    for path, functions in OWNERS.items():
        findings = run(read(kernel_tree, path), path)
        flagged = {f.function for f in findings if f.rule == FLAG_RULE}
        assert not flagged & functions, path
        # The only finding in these files is the seed's mark_oom_victim() thaw.
        assert {(f.rule, f.function) for f in findings} <= {(ACTION_RULE, "mark_oom_victim")}


def test_freezing_slow_path_is_found(kernel_tree: Path) -> None:
    findings = run(read(kernel_tree, "kernel/freezer.c"), "kernel/freezer.c")
    assert [(f.rule, f.function, f.line) for f in findings] == [
        (FLAG_RULE, "freezing_slow_path", 43)
    ]


def scan(tree: Path) -> list[Finding]:
    """The rules over every .c/.h file mentioning a knowledge-base token."""
    words = re.compile("|".join(re.escape(t) for t in knowledge().prefilter_tokens()))
    findings: list[Finding] = []
    for directory, subdirs, files in os.walk(tree):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            full = Path(directory) / name
            text = full.read_text(encoding="utf-8", errors="replace")
            if words.search(text):
                findings += run(text, str(full.relative_to(tree)))
    return findings


@pytest.mark.slow
def test_whole_tree_scan_matches_triage(kernel_tree: Path) -> None:
    found = {(f.rule, f.file, f.function) for f in scan(kernel_tree)}
    # docs/triage/linux-6.12-thread-group.md triages each of these.
    assert found == {
        (FLAG_RULE, "kernel/freezer.c", "freezing_slow_path"),
        (ACTION_RULE, "mm/oom_kill.c", "mark_oom_victim"),
    }
