"""Thread-group rules on a miniature kernel (fixtures/taskscope/model.h): what is
inferred from it, and the findings, silences, keys and diffs that follow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import patchlint.knowledge as knowledge_module
from patchlint.findings import Finding
from patchlint.rules import AnalysisUnit, diff_findings, run_rules, select_rules
from patchlint.rules.taskscope.cache import (
    StoredSummaries,
    _summary,
    knowledge_from_json,
    knowledge_to_json,
    load_or_infer,
)
from patchlint.rules.taskscope.infer import Knowledge, infer
from patchlint.rules.taskscope.treefiles import TreeFiles
from patchlint.source import parse_c

REPO = Path(__file__).resolve().parents[2]
MODEL = (REPO / "fixtures" / "taskscope" / "model.h").read_text(encoding="utf-8")
FLAG = "thread-flag-as-group"
ACTION = "thread-action-on-group"
GROUP = "group-state-as-thread"


def run(
    text: str, path: str = "kernel/example.c", functions: set[str] | None = None
) -> list[Finding]:
    unit = AnalysisUnit(source=parse_c(MODEL + text, path), path=path, functions=functions)
    return run_rules(unit, select_rules(enabled=[FLAG, ACTION]))


def keys(findings: list[Finding]) -> set[tuple[str, str | None, str]]:
    return {(f.rule, f.function, f.key) for f in findings}


@pytest.fixture(scope="module")
def model() -> Knowledge:
    return infer(TreeFiles.virtual({"kernel/model.c": MODEL}))


def test_scopes_come_from_the_declarations(model: Knowledge) -> None:
    scopes = {name: info.scope for name, info in model.structs.items()}
    assert scopes == {
        "task_struct": "thread",
        "thread_info": "thread",
        "signal_struct": "group",
        "sighand_struct": "group",
        "mm_struct": "mm",
    }
    assert model.structs["task_struct"].fields["signal"].target == "signal_struct"
    assert model.bits["PF_EXITING"].holder == "task_struct"
    assert model.bits["TIF_MEMDIE"].holder == "thread_info"
    assert model.bits["SIGNAL_GROUP_EXIT"].scope == "group"


def test_counterparts_markers_and_owners_are_inferred(model: Knowledge) -> None:
    memdie = model.thread_facts["TIF_MEMDIE"]
    assert memdie.counterpart.group.name == "signal_struct->oom_mm"
    assert memdie.marker  # set on one chosen task together with the group fact
    assert [e.where.function for e in memdie.counterpart.evidence] == ["mark_oom_victim"]
    assert memdie.counterpart.replacement == "tsk_is_oom_victim({task})"
    assert {w.function for w in memdie.writers} == {"mark_oom_victim", "exit_oom_victim"}
    assert memdie.clearers_on_current == ["exit_oom_victim"]
    exiting = model.thread_facts["PF_EXITING"]
    assert exiting.counterpart.group.name == "SIGNAL_GROUP_EXIT"
    assert not exiting.marker  # each thread sets it for itself
    kinds = {e.kind: e.where.function for e in exiting.counterpart.evidence}
    assert kinds == {"set-after-test": "exit_signals", "tested-together": "task_will_free_mm"}
    assert "TIF_SIGPENDING" not in model.thread_facts  # no group fact answers its question


def test_predicates_actions_and_forms_are_inferred(model: Knowledge) -> None:
    assert model.predicates["tsk_is_oom_victim"].scope == "group"
    assert model.predicates["thread_group_leader"].scope == "thread"
    assert {"wake_up_process", "wake_up_state", "__thaw_task", "signal_wake_up"} <= set(
        model.actions
    )
    select = model.actions["do_send_sig_info"].select
    assert select is not None and (select.constant, select.when_equal) == ("PIDTYPE_PID", "thread")
    assert model.group_constants == {"PIDTYPE_PID": "PIDTYPE_TGID"}
    assert model.shape == ["signal_struct->thread_head"]


FREEZER = """
bool freezing_slow_path(struct task_struct *p)
{
	if (p->flags & PF_DUMPCORE)
		return false;
	if (test_tsk_thread_flag(p, TIF_MEMDIE))
		return false;
	return pm_nosig_freezing || cgroup_freezing(p);
}
"""
FREEZER_LINE = MODEL.count("\n") + 6


def test_freezer_memdie_names_the_replacement_and_the_inference() -> None:
    (finding,) = run(FREEZER, "kernel/freezer.c")
    assert finding.rule == FLAG
    assert finding.key == "test_tsk_thread_flag(p, TIF_MEMDIE)"
    assert "tsk_is_oom_victim(p)" in finding.message
    assert finding.line == FREEZER_LINE
    lines = [e.message for e in finding.evidence if e.kind == "inference"]
    assert lines[0].startswith("TIF_MEMDIE: per-thread (declared in kernel/freezer.c:")
    assert "as a thread_info->flags bit" in lines[0]
    assert any(
        "counterpart signal_struct->oom_mm (written-together): mark_oom_victim()" in x
        for x in lines
    )
    assert any("marks a group event on one chosen thread" in x for x in lines)


def test_fix_is_resolved_and_nothing_introduced() -> None:
    pre = run(FREEZER, "kernel/freezer.c")
    post = run(
        FREEZER.replace("test_tsk_thread_flag(p, TIF_MEMDIE)", "tsk_is_oom_victim(p)"),
        "kernel/freezer.c",
    )
    assert [f.status for f in diff_findings(pre, post)] == ["resolved"]


def test_key_survives_moving_lines() -> None:
    pre = run(FREEZER, "kernel/freezer.c")
    post = run(
        "/* a new comment */\n\n" + FREEZER.replace("\tif (test", "\n\tif ( test"),
        "kernel/freezer.c",
    )
    assert [f.status for f in diff_findings(pre, post)] == ["unchanged"]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(["\n", "/* x */\n", "static int unrelated;\n"]), max_size=5))
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
    assert run(text, functions={"drop_mm", "reserves"}) == []
    reverted = text.replace("!tsk_is_oom_victim(tsk)", "!test_tsk_thread_flag(tsk, TIF_MEMDIE)")
    assert {f.function for f in run(reverted, functions={"reserves"})} == {"reserves"}


def test_thread_walk_cursor_is_per_thread_on_purpose() -> None:
    text = """
static bool any_thread_marked(struct task_struct *p)
{
	struct task_struct *t;
	bool ret = false;

	for_each_thread(p, t) {
		if (test_tsk_thread_flag(t, TIF_MEMDIE) || (t->flags & PF_EXITING))
			ret = true;
	}
	return ret;
}
"""
    assert run(text, functions={"any_thread_marked"}) == []


def test_scoped_by_the_group_shape_is_silent_unscoped_is_reported() -> None:
    text = """
static bool frees(struct task_struct *task)
{
	if (task->signal->flags & SIGNAL_GROUP_EXIT)
		return true;
	return thread_group_empty(task) && (task->flags & PF_EXITING);
}
"""
    assert run(text, functions={"frees"}) == []
    (finding,) = run(text.replace("thread_group_empty(task) && ", ""), functions={"frees"})
    assert finding.rule == FLAG and finding.confidence == "medium"
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
    assert run(text, functions={"stat"}) == []


def test_group_write_then_single_thaw() -> None:
    text = """
static void mark(struct task_struct *tsk, struct mm_struct *mm)
{
	if (!cmpxchg(&tsk->signal->oom_mm, NULL, mm))
		mm->mm_count++;
	__thaw_task(tsk);
}
"""
    (finding,) = run(text, functions={"mark"})
    assert finding.rule == ACTION
    assert finding.key == "__thaw_task(tsk) with signal_struct->oom_mm"
    assert "for_each_thread walk calling __thaw_task()" in finding.message
    assert finding.confidence == "medium"
    defined = (
        text
        + """
void thaw_process(struct task_struct *p)
{
	struct task_struct *t;

	for_each_thread(p, t)
		__thaw_task(t);
}
"""
    )
    (finding,) = run(defined, functions={"mark"})
    assert "use thaw_process(tsk)" in finding.message and finding.confidence == "high"
    assert run(defined.replace("__thaw_task(tsk)", "thaw_process(tsk)"), functions={"mark"}) == []


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

static void either(struct task_struct *p, bool stop)
{
	if (stop)
		p->signal->flags = SIGNAL_GROUP_EXIT;
	else
		wake_up_process(p);
}

static void not_the_same_task(struct task_struct *p, struct task_struct *t)
{
	p->signal->flags = SIGNAL_GROUP_EXIT;
	wake_up_process(t);
}
"""
    assert run(text, functions={"deliver", "either", "not_the_same_task"}) == []


def test_thread_directed_kill_of_the_victim() -> None:
    text = """
static void kill_victim(struct task_struct *victim)
{
	do_send_sig_info(SIGKILL, SEND_SIG_PRIV, victim, PIDTYPE_PID);
	mark_oom_victim(victim);
}
"""
    (finding,) = run(text, functions={"kill_victim"})
    assert finding.rule == ACTION
    assert "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, victim, PIDTYPE_TGID)" in finding.message
    assert run(text.replace("PIDTYPE_PID", "PIDTYPE_TGID"), functions={"kill_victim"}) == []


def test_restricted_to_touched_functions_by_engine() -> None:
    assert run(FREEZER, "kernel/freezer.c", functions={"something_else"}) == []


def test_a_file_that_declares_no_task_state_is_not_analysed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "cache"))  # no tree cached
    unit = AnalysisUnit(source=parse_c(FREEZER, "kernel/freezer.c"), path="kernel/freezer.c")
    assert run_rules(unit, select_rules(enabled=[FLAG, ACTION, GROUP])) == []
    assert unit.notes() == ["thread-group rules: no tree to infer task-state scope from"]


def write_kernel(root: Path, version: str) -> None:
    """A tree the registry accepts: a Makefile naming the version, the miniature."""
    write_tree(root, MODEL)
    major, minor, sub = version.split(".")
    (root / "Makefile").write_text(
        f"VERSION = {major}\nPATCHLEVEL = {minor}\nSUBLEVEL = {sub}\nEXTRAVERSION =\n"
    )


def test_patch_only_borrows_the_cached_tree_of_one_kernel_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "cache"))
    tree = tmp_path / "linux-6.12"
    write_kernel(tree, "6.12.117")
    load_or_infer(tree)  # a run with the tree registers it
    unit = AnalysisUnit(source=parse_c(FREEZER, "kernel/freezer.c"), path="kernel/freezer.c")
    (finding,) = run_rules(unit, select_rules(enabled=[FLAG, ACTION, GROUP]))
    assert finding.rule == FLAG and unit.notes() == []
    assert any("cached linux 6.12.117 tree at" in e.message for e in finding.evidence)
    # A second version cached: which one the patch is for is unknown, so no guess.
    other = tmp_path / "linux-6.13"
    write_kernel(other, "6.13.0")
    load_or_infer(other)
    again = AnalysisUnit(source=parse_c(FREEZER, "kernel/freezer.c"), path="kernel/freezer.c")
    assert run_rules(again, select_rules(enabled=[FLAG, ACTION, GROUP])) == []
    (note,) = again.notes()
    assert "6.12.117, 6.13.0" in note and "unknown" in note
    # A tree removed from disk is forgotten.
    (other / "Makefile").unlink()
    third = AnalysisUnit(source=parse_c(FREEZER, "kernel/freezer.c"), path="kernel/freezer.c")
    assert len(run_rules(third, select_rules(enabled=[FLAG, ACTION, GROUP]))) == 1


# ------------------------------------------------------------------ cache


def test_knowledge_survives_the_json_round_trip(model: Knowledge) -> None:
    first = knowledge_to_json(model)
    again = knowledge_to_json(knowledge_from_json(json.loads(json.dumps(first))))
    assert again == first


def test_cached_summaries_are_built_when_first_asked_for(model: Knowledge) -> None:
    data = json.loads(json.dumps(knowledge_to_json(model)))
    name = sorted(model.summaries)[0]
    data["summaries"].append({"n": "corrupt_entry"})
    loaded = knowledge_from_json(data).summaries
    assert isinstance(loaded, StoredSummaries)
    assert not loaded._built  # nothing built by the load itself
    stored = next(entry for entry in data["summaries"] if entry["n"] == name)
    assert _summary(loaded[name]) == stored
    assert set(loaded._built) == {name}
    # An entry that does not read as a summary is an unknown function, not a crash.
    assert loaded.get("corrupt_entry") is None and "corrupt_entry" not in loaded


def write_tree(root: Path, text: str) -> None:
    (root / "kernel").mkdir(parents=True, exist_ok=True)
    (root / "kernel" / "model.c").write_text(text, encoding="utf-8")


def test_tree_knowledge_is_cached_and_dropped_when_a_file_read_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "cache"))
    tree = tmp_path / "linux"
    write_tree(tree, MODEL)
    cold, hit = load_or_infer(tree)
    assert not hit and "TIF_MEMDIE" in cold.thread_facts
    warm, hit = load_or_infer(tree)
    assert hit and knowledge_to_json(warm) == knowledge_to_json(cold)
    # The writer that pairs TIF_MEMDIE with oom_mm is gone: inferred again, no pairing.
    write_tree(tree, MODEL.replace("test_and_set_tsk_thread_flag(tsk, TIF_MEMDIE)", "0"))
    changed, hit = load_or_infer(tree)
    assert not hit and "TIF_MEMDIE" not in changed.thread_facts


def test_no_cache_when_caching_is_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATCHLINT_NO_CACHE", "1")
    tree = tmp_path / "linux"
    write_tree(tree, MODEL)
    assert not load_or_infer(tree)[1] and not load_or_infer(tree)[1]
    assert not (tmp_path / "cache").exists()


# -------------------------------------------------------------- overrides


@pytest.fixture
def extensions() -> Iterator[None]:
    yield
    knowledge_module.set_extensions({})


def test_overrides_add_and_remove_counterparts_and_owners(extensions: None) -> None:
    text = """
static bool signalled(struct task_struct *task)
{
	if (task->signal->oom_mm)
		return false;
	return task->flags & PF_DUMPCORE;
}
"""
    assert run(text + FREEZER, functions={"signalled", "freezing_slow_path"}) != []
    knowledge_module.set_extensions(
        {
            "kernel/task-state.toml": {
                "overrides": {
                    "counterparts": [
                        {"thread": "PF_DUMPCORE", "group": "signal_struct->oom_mm", "why": "test"}
                    ],
                    "owners": [
                        {"fact": "TIF_MEMDIE", "function": "freezing_slow_path", "why": "test"}
                    ],
                }
            }
        }
    )
    found = run(text + FREEZER, functions={"signalled", "freezing_slow_path"})
    assert [(f.function, f.key) for f in found] == [("signalled", "task->flags & PF_DUMPCORE")]
    assert any(
        e.kind == "inference" and "task-state.toml: test" in e.message for e in found[0].evidence
    )
    knowledge_module.set_extensions(
        {"kernel/task-state.toml": {"overrides": {"ignore": ["TIF_MEMDIE"]}}}
    )
    assert run(FREEZER, "kernel/freezer.c") == []


def test_the_shipped_data_is_roots_primitives_and_overrides() -> None:
    data = knowledge_module.load_toml("kernel/task-state.toml")
    assert set(data) == {"roots", "primitives", "overrides"}
    overrides = data["overrides"]
    # Overrides only: a handful at most, each with its reason.
    assert sum(len(v) for v in overrides.values()) <= 5
    assert all(entry["why"] for entry in overrides.get("counterparts", []))


# ------------------------------------------------- steppers, pid types, thread work

MINIATURE = (REPO / "fixtures/rules/thread-action-on-group/process_signals.c").read_text(
    encoding="utf-8"
)
MINIATURE = MINIATURE[: MINIATURE.index("/* end of the miniature kernel */")]


def test_steppers_pid_types_and_thread_work_are_inferred() -> None:
    from patchlint.rules.taskscope.loops import is_stepper
    from patchlint.rules.taskscope.scopes import ScopeModel, roots

    known = infer(TreeFiles.virtual({"kernel/miniature.c": MINIATURE}))
    model = ScopeModel(roots(), known.structs)
    members = frozenset((h, m) for h, _, m in (s.partition("->") for s in known.shape))
    assert known.shape == ["signal_struct->thread_head"]
    assert is_stepper(known.summaries["next_thread"], model, members)
    assert not is_stepper(known.summaries["get_task_struct"], model, members)
    # The order of the pid types, from the enum that declares the thread-directed one.
    assert known.pid_levels[:3] == ["PIDTYPE_PID", "PIDTYPE_TGID", "PIDTYPE_PGID"]
    # A task found from a pid parameter: the send acts on the task the pid names.
    action = known.actions["send_sigqueue"]
    assert action.task_param == 1 and action.select is not None
    # Which callees work on their task parameter's own state (not through its links).
    assert known.summaries["exit_signals"].thread_params == (0,)
    assert known.summaries["get_task_struct"].thread_params == (0,)
    assert known.summaries["tsk_is_oom_victim"].thread_params == ()


def test_a_parameter_replaced_by_its_leader_is_a_process() -> None:
    from patchlint.rules.taskscope.extract import Reader
    from patchlint.rules.taskscope.scopes import ScopeModel, roots

    known = infer(TreeFiles.virtual({"kernel/miniature.c": MINIATURE}))
    source = parse_c(
        MINIATURE
        + """
static bool is_descendant(struct task_struct *parent, struct task_struct *child)
{
	if (!thread_group_leader(parent))
		parent = rcu_dereference(parent->group_leader);
	return child->group_leader == parent;
}
""",
        "kernel/yama.c",
    )
    fn = source.function("is_descendant")
    assert fn is not None and fn.body is not None
    reader = Reader(ScopeModel(roots(), known.structs), known.summaries.get)
    reading = reader.read(fn.node, fn.body, fn.name, source.path)
    assert reading.as_process == {0}
