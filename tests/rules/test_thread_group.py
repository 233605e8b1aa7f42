"""Thread-group rules on small kernel-style snippets: evidence, silence, keys, diffing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from patchlint.findings import Finding
from patchlint.rules import AnalysisUnit, diff_findings
from patchlint.rules.taskstate import knowledge
from patchlint.rules.thread_group import (
    ACTION_RULE,
    FLAG_RULE,
    check_thread_action_on_group,
    check_thread_flag_as_group,
)
from patchlint.source import parse_c


def run(text: str, path: str = "kernel/example.c") -> list[Finding]:
    unit = AnalysisUnit(source=parse_c(text, path), path=path)
    return list(check_thread_flag_as_group(unit)) + list(check_thread_action_on_group(unit))


def keys(findings: list[Finding]) -> set[tuple[str, str | None, str]]:
    return {(f.rule, f.function, f.key) for f in findings}


def test_knowledge_base_is_consistent() -> None:
    kb = knowledge()
    assert kb.per_thread["TIF_MEMDIE"].replacement("p") == "tsk_is_oom_victim(p)"
    for concept in kb.reportable.values():
        assert concept.counterpart, concept.name
        assert "{task}" in concept.counterpart, concept.name
    for accessor in kb.accessors.values():
        assert accessor.family == "tif"
    assert kb.actions["__thaw_task"].group_function == "thaw_process"
    assert {"for_each_thread", "__for_each_thread"} <= set(kb.thread_walks)
    assert "for_each_process" in kb.process_walks


FREEZER = """
bool freezing_slow_path(struct task_struct *p)
{
	if (p->flags & (PF_NOFREEZE | PF_SUSPEND_TASK))
		return false;
	if (test_tsk_thread_flag(p, TIF_MEMDIE))
		return false;
	return pm_nosig_freezing || cgroup_freezing(p);
}
"""


def test_freezer_memdie_is_high_confidence_and_names_replacement() -> None:
    (finding,) = run(FREEZER, "kernel/freezer.c")
    assert finding.rule == FLAG_RULE
    assert finding.confidence == "high"
    assert finding.key == "test_tsk_thread_flag(p, TIF_MEMDIE)"
    assert "tsk_is_oom_victim(p)" in finding.message
    assert finding.line == 6


def test_fix_is_resolved_and_nothing_introduced() -> None:
    pre = run(FREEZER, "kernel/freezer.c")
    post = run(
        FREEZER.replace("test_tsk_thread_flag(p, TIF_MEMDIE)", "tsk_is_oom_victim(p)"),
        "kernel/freezer.c",
    )
    statuses = [f.status for f in diff_findings(pre, post)]
    assert statuses == ["resolved"]


def test_key_survives_moving_lines() -> None:
    pre = run(FREEZER, "kernel/freezer.c")
    post = run(
        "/* a new comment */\n\n" + FREEZER.replace("\tif (test", "\n\tif ( test"),
        "kernel/freezer.c",
    )
    assert [f.status for f in diff_findings(pre, post)] == ["unchanged"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["\n", "/* x */\n", "static int unrelated;\n"]), max_size=6))
def test_keys_do_not_depend_on_position(prefix: list[str]) -> None:
    assert keys(run("".join(prefix) + FREEZER)) == keys(run(FREEZER))


def test_owner_guard_and_refinement_are_silent() -> None:
    text = """
static void drop_mm(void)
{
	mmput(current->mm);
	if (test_thread_flag(TIF_MEMDIE))
		exit_oom_victim();
}

static bool reserves(struct task_struct *tsk)
{
	if (!tsk_is_oom_victim(tsk))
		return false;
	if (!IS_ENABLED(CONFIG_MMU) && !test_thread_flag(TIF_MEMDIE))
		return false;
	return true;
}
"""
    assert run(text) == []


def test_thread_walk_cursor_is_per_thread_on_purpose() -> None:
    text = """
static bool any_thread_memdie(struct task_struct *p)
{
	struct task_struct *t;
	bool ret = false;

	rcu_read_lock();
	for_each_thread(p, t) {
		if (test_tsk_thread_flag(t, TIF_MEMDIE) || (t->flags & PF_EXITING))
			ret = true;
	}
	rcu_read_unlock();
	return ret;
}
"""
    assert run(text) == []


def test_current_alias_of_pf_exiting_is_silent() -> None:
    text = """
static void check(void)
{
	struct task_struct *tsk = current;

	if (tsk->flags & PF_EXITING)
		return;
	if (tsk->signal->flags & SIGNAL_GROUP_EXIT)
		return;
}
"""
    assert run(text) == []


def test_pf_exiting_scoped_by_thread_group_empty_is_silent() -> None:
    text = """
static bool frees(struct task_struct *task)
{
	if (task->signal->flags & SIGNAL_GROUP_EXIT)
		return true;
	return thread_group_empty(task) && (task->flags & PF_EXITING);
}
"""
    assert run(text) == []
    unscoped = text.replace("thread_group_empty(task) && ", "")
    (finding,) = run(unscoped)
    assert finding.rule == FLAG_RULE and finding.confidence == "medium"
    assert "SIGNAL_GROUP_EXIT" in finding.message


def test_pf_mask_with_unpaired_bits_is_this_threads_state() -> None:
    text = """
static void stat(struct task_struct *task)
{
	if (task->signal->flags & SIGNAL_GROUP_EXIT)
		code = task->signal->group_exit_code;
	if (task->flags & (PF_EXITING | PF_DUMPCORE))
		read_regs(task);
}
"""
    assert run(text) == []


def test_group_write_then_single_thaw() -> None:
    text = """
static void mark(struct task_struct *tsk, struct mm_struct *mm)
{
	if (!cmpxchg(&tsk->signal->oom_mm, NULL, mm))
		mmgrab(tsk->signal->oom_mm);
	__thaw_task(tsk);
}
"""
    (finding,) = run(text)
    assert finding.rule == ACTION_RULE
    assert finding.key == "__thaw_task(tsk) with tsk->signal->oom_mm"
    assert "for_each_thread walk calling __thaw_task()" in finding.message
    # With thaw_process() defined in the file, the message names it.
    defined = (
        text
        + """
void thaw_process(struct task_struct *p)
{
	struct task_struct *t;

	rcu_read_lock();
	for_each_thread(p, t)
		__thaw_task(t);
	rcu_read_unlock();
}
"""
    )
    (finding,) = run(defined)
    assert "thaw_process(tsk)" in finding.message and finding.confidence == "high"
    assert run(text.replace("__thaw_task(tsk)", "thaw_process(tsk)")) == []


def test_unreachable_and_permission_writes_are_silent() -> None:
    text = """
static void deliver(struct task_struct *p, int sig, bool fatal)
{
	struct signal_struct *signal = p->signal;

	if (fatal) {
		signal->flags = SIGNAL_GROUP_EXIT;
		return;
	}
	signal_wake_up(p, 0);
}

static void force(struct task_struct *t)
{
	t->signal->flags &= ~SIGNAL_UNKILLABLE;
	signal_wake_up(t, 0);
}

static void either(struct task_struct *p, bool stop)
{
	if (stop)
		p->signal->flags = SIGNAL_STOP_STOPPED;
	else
		wake_up_process(p);
}
"""
    assert run(text) == []


def test_thread_directed_kill_of_the_victim() -> None:
    text = """
static void kill_victim(struct task_struct *victim)
{
	do_send_sig_info(SIGKILL, SEND_SIG_PRIV, victim, PIDTYPE_PID);
	mark_oom_victim(victim);
}
"""
    (finding,) = run(text)
    assert finding.rule == ACTION_RULE
    assert "PIDTYPE_TGID" in finding.message
    assert run(text.replace("PIDTYPE_PID", "PIDTYPE_TGID")) == []


def test_restricted_to_touched_functions_by_engine() -> None:
    unit = AnalysisUnit(
        source=parse_c(FREEZER, "kernel/freezer.c"),
        path="kernel/freezer.c",
        functions={"something_else"},
    )
    assert list(check_thread_flag_as_group(unit)) == []
