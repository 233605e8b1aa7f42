"""Thread-group rules on the real linux 6.12 tree: what is inferred, the seed patch,
reverts of group questions, owners, and the same results with the overrides deleted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import patchlint.knowledge as knowledge_module
from patchlint.findings import Finding
from patchlint.rules import AnalysisUnit, diff_findings, run_rules, select_rules
from patchlint.rules.taskscope import view as view_module
from patchlint.rules.taskscope.infer import Knowledge
from patchlint.rules.taskscope.view import tree_knowledge
from patchlint.source import FunctionIndex, parse_c

pytestmark = pytest.mark.kernel

FLAG = "thread-flag-as-group"
ACTION = "thread-action-on-group"
GROUP = "group-state-as-thread"
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


@pytest.fixture(scope="module")
def index(kernel_tree: Path) -> FunctionIndex:
    return FunctionIndex(kernel_tree)


@pytest.fixture(scope="module")
def inferred(kernel_tree: Path) -> Knowledge:
    return tree_knowledge(kernel_tree)


def run(
    text: str, path: str, index: FunctionIndex, functions: set[str] | None = None
) -> list[Finding]:
    unit = AnalysisUnit(source=parse_c(text, path), path=path, functions=functions, index=index)
    return run_rules(unit, select_rules(enabled=[FLAG, ACTION, GROUP]))


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


def test_inferred_from_the_tree(inferred: Knowledge) -> None:
    facts = inferred.thread_facts
    assert facts["TIF_MEMDIE"].counterpart.group.name == "signal_struct->oom_mm"
    assert facts["TIF_MEMDIE"].marker
    assert facts["TIF_MEMDIE"].counterpart.replacement == "tsk_is_oom_victim({task})"
    assert {w.function for w in facts["TIF_MEMDIE"].writers} >= {
        "mark_oom_victim",
        "exit_oom_victim",
    }
    where = facts["TIF_MEMDIE"].declared
    assert where is not None and where.file == "arch/x86/include/asm/thread_info.h"
    assert facts["PF_EXITING"].counterpart.group.name == "SIGNAL_GROUP_EXIT"
    assert not facts["PF_EXITING"].marker
    assert facts["PF_EXITING"].declared is not None
    assert facts["PF_EXITING"].declared.file == "include/linux/sched.h"
    kinds = {e.kind for e in facts["PF_EXITING"].counterpart.evidence}
    assert {"tested-together", "set-after-test"} <= kinds
    scopes = {n: s.scope for n, s in inferred.structs.items()}
    assert scopes["task_struct"] == "thread" and scopes["signal_struct"] == "group"
    assert scopes["mm_struct"] == "mm"
    assert inferred.bits["MMF_OOM_SKIP"].scope == "mm"
    assert inferred.predicates["tsk_is_oom_victim"].scope == "group"
    assert {"wake_up_process", "__thaw_task", "signal_wake_up", "send_sig_info"} <= set(
        inferred.actions
    )
    assert inferred.group_constants["PIDTYPE_PID"] == "PIDTYPE_TGID"
    assert "zap_other_threads" in {f.name for f in inferred.group_forms["signal_wake_up"]}
    # For the other direction and the other sends: the pid types' order, a send to the
    # task a pid names, the thread stepper, callees working on a task's own state.
    assert inferred.pid_levels[:4] == ["PIDTYPE_PID", "PIDTYPE_TGID", "PIDTYPE_PGID", "PIDTYPE_SID"]
    assert inferred.actions["send_sigqueue"].task_param == 1
    assert inferred.shape == ["signal_struct->thread_head"]
    assert inferred.summaries["next_thread"].returns_struct == "task_struct"
    assert 0 in inferred.summaries["try_get_task_stack"].thread_params


def test_seed_patch_findings_are_resolved(kernel_tree: Path, index: FunctionIndex) -> None:
    pre: list[Finding] = []
    post: list[Finding] = []
    for path, text in seed_post(kernel_tree).items():
        pre += run(read(kernel_tree, path), path, index)
        post += run(text, path, index)
    assert {(f.rule, f.file, f.function) for f in pre} == {
        (FLAG, "kernel/freezer.c", "freezing_slow_path"),
        (ACTION, "mm/oom_kill.c", "mark_oom_victim"),
    }
    assert post == []
    assert sorted(f.status for f in diff_findings(pre, post)) == ["resolved", "resolved"]


def test_seed_finding_says_which_inference_decided(kernel_tree: Path, index: FunctionIndex) -> None:
    (finding,) = run(read(kernel_tree, "kernel/freezer.c"), "kernel/freezer.c", index)
    assert finding.line == 43 and finding.confidence == "high"
    inference = [e.message for e in finding.evidence if e.kind == "inference"]
    assert inference[0].startswith(
        "TIF_MEMDIE: per-thread (declared in arch/x86/include/asm/thread_info.h:"
    )
    assert any(
        "mark_oom_victim() sets TIF_MEMDIE and signal_struct->oom_mm" in m for m in inference
    )
    walk = [e for e in finding.evidence if e.kind == "caller"]
    assert walk and "hands each thread of a for_each_process_thread() walk" in walk[0].message
    assert walk[0].message.endswith("freeze_task() > freezing() > freezing_slow_path()")


REVERTS = [
    # (file, the group-wide form in 6.12, a per-thread spelling, function expected)
    ("mm/oom_kill.c", "!is_sysrq_oom(oc) && tsk_is_oom_victim(task)",
     "!is_sysrq_oom(oc) && test_tsk_thread_flag(task, TIF_MEMDIE)", "oom_evaluate_task"),
    ("mm/memcontrol.c", "return tsk_is_oom_victim(current) ||",
     "return test_thread_flag(TIF_MEMDIE) ||", "task_is_dying"),
    ("kernel/cgroup/cpuset.c", "if (unlikely(tsk_is_oom_victim(current)))",
     "if (unlikely(test_thread_flag(TIF_MEMDIE)))", "cpuset_node_allowed"),
    ("mm/page_alloc.c", "if (tsk_is_oom_victim(current) &&",
     "if (test_thread_flag(TIF_MEMDIE) &&", "__alloc_pages_slowpath"),
    ("mm/oom_kill.c", "if (thread_group_empty(task) && (task->flags & PF_EXITING))",
     "if (task->flags & PF_EXITING)", "__task_will_free_mem"),
    ("mm/oom_kill.c", "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, victim, PIDTYPE_TGID);",
     "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, victim, PIDTYPE_PID);", "__oom_kill_process"),
    ("mm/oom_kill.c", "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, p, PIDTYPE_TGID);",
     "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, p, PIDTYPE_PID);", "__oom_kill_process"),
]  # fmt: skip


def check_reverts(tree: Path, index: FunctionIndex) -> None:
    for path, group, thread, function in REVERTS:
        text = read(tree, path)
        assert group in text
        pre = run(text, path, index, {function})
        post = run(text.replace(group, thread, 1), path, index, {function})
        statuses = diff_findings(pre, post)
        assert [f.function for f in statuses if f.status == "introduced"] == [function], path
        assert not [f for f in statuses if f.status == "resolved"]


def test_reverting_a_group_question_is_introduced(kernel_tree: Path, index: FunctionIndex) -> None:
    check_reverts(kernel_tree, index)


class Overlay:
    """A FunctionIndex reader that sees the patched files over the tree."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def __call__(self, path: str) -> str | None:
        return self.files.get(path)

    def paths(self) -> list[str]:
        return list(self.files)


def test_reverting_the_seed_fix_names_the_new_group_form(kernel_tree: Path) -> None:
    post = seed_post(kernel_tree)
    index = FunctionIndex(kernel_tree, reader=Overlay(post))
    oom = post["mm/oom_kill.c"]
    reverted = oom.replace(SEED_OOM[1], SEED_OOM[0])
    statuses = diff_findings(
        run(oom, "mm/oom_kill.c", index, {"mark_oom_victim"}),
        run(reverted, "mm/oom_kill.c", index, {"mark_oom_victim"}),
    )
    (introduced,) = [f for f in statuses if f.status == "introduced"]
    assert (introduced.rule, introduced.function) == (ACTION, "mark_oom_victim")
    # The patched tree defines thaw_process(): found among __thaw_task()'s callers.
    assert "use thaw_process(tsk)" in introduced.message
    assert introduced.confidence == "high"


OWNERS = {
    "mm/oom_kill.c": {"mark_oom_victim", "exit_oom_victim", "__task_will_free_mem"},
    "kernel/exit.c": {"exit_mm", "do_exit"},
    "mm/page_alloc.c": {"oom_reserves_allowed"},
    "kernel/signal.c": {"exit_signals", "complete_signal", "force_sig_info_to_task"},
}


def test_owners_and_per_thread_uses_stay_silent(kernel_tree: Path, index: FunctionIndex) -> None:
    for path, functions in OWNERS.items():
        findings = run(read(kernel_tree, path), path, index)
        assert not {f.function for f in findings} & (functions - {"mark_oom_victim"}), path
        # The only finding in these files is the seed's mark_oom_victim() thaw.
        assert {(f.rule, f.function) for f in findings} <= {(ACTION, "mark_oom_victim")}


@pytest.fixture
def overrides_deleted(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """rules/kernel/task-state.toml without its [overrides] lists."""
    shipped = knowledge_module.load_shipped("kernel/task-state.toml")
    stripped = {k: v for k, v in shipped.items() if k != "overrides"}
    real = knowledge_module.load_toml

    def load(relative: str) -> dict[str, object]:
        return dict(stripped) if relative == "kernel/task-state.toml" else real(relative)

    monkeypatch.setattr(knowledge_module, "load_toml", load)
    monkeypatch.setattr("patchlint.rules.taskstate.load_toml", load)
    view_module._trees.clear()
    yield
    view_module._trees.clear()


def test_seed_and_reverts_work_with_the_overrides_deleted(
    kernel_tree: Path, index: FunctionIndex, overrides_deleted: None
) -> None:
    knowledge = tree_knowledge(kernel_tree)
    assert "PF_SIGNALED" not in knowledge.thread_facts  # the one override is gone
    test_seed_patch_findings_are_resolved(kernel_tree, index)
    check_reverts(kernel_tree, index)


@pytest.mark.slow
def test_whole_tree_scan_matches_triage(kernel_tree: Path, tmp_path: Path) -> None:
    from patchlint.scan import scan_tree

    result = scan_tree(kernel_tree, rule_ids=[FLAG, ACTION, GROUP], jobs=os.cpu_count() or 1)
    found = {(f.rule, f.file, f.function) for f in result.findings}
    # docs/triage/linux-6.12-thread-group.md triages each of these.
    assert found == {
        (FLAG, "kernel/freezer.c", "freezing_slow_path"),
        (ACTION, "mm/oom_kill.c", "mark_oom_victim"),
    }
    assert not result.errors
