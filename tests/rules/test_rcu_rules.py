"""rcu-sleep, rcu-unbalanced, rcu-task-escape: evidence, keys and hard negatives."""

from __future__ import annotations

from patchlint.rules import AnalysisUnit
from patchlint.rules.rcu_sleep import check as check_rcu_sleep
from patchlint.rules.rcu_task_escape import check as check_rcu_task_escape
from patchlint.rules.rcu_unbalanced import check as check_rcu_unbalanced
from patchlint.source.parse import parse_c


def _run(check, code: str):
    source = parse_c(code, "t.c")
    return list(check(AnalysisUnit(source=source, path="t.c")))


def test_sleep_evidence_names_lock_site_and_chain() -> None:
    code = """
static void nap(void) { msleep(1); }
static void doze(void) { nap(); }
void f(void) { rcu_read_lock(); doze(); rcu_read_unlock(); }
"""
    (finding,) = _run(check_rcu_sleep, code)
    assert finding.line == 4 and finding.key == "doze()#0"
    messages = [e.message for e in finding.evidence]
    assert any("line 4" in m and "RCU" in m for m in messages)
    assert any("doze() -> nap() -> msleep()" in m for m in messages)


def test_helper_sleeping_only_on_request_is_not_a_sleeper() -> None:
    code = """
static void maybe_sync(int sync) { if (sync) synchronize_net(); }
void f(void) { rcu_read_lock(); maybe_sync(0); rcu_read_unlock(); }
"""
    assert _run(check_rcu_sleep, code) == []


def test_helper_dropping_rcu_around_sleep_is_fine() -> None:
    code = """
static void breather(void) { rcu_read_unlock(); cond_resched(); rcu_read_lock(); }
void f(void) { rcu_read_lock(); breather(); rcu_read_unlock(); }
"""
    assert _run(check_rcu_sleep, code) == []


def test_atomic_gfp_does_not_sleep() -> None:
    code = (
        "void f(void) { void *p; rcu_read_lock(); p = kmalloc(8, GFP_ATOMIC); "
        "rcu_read_unlock(); kfree(p); }"
    )
    assert _run(check_rcu_sleep, code) == []


def test_unbalanced_error_path_with_path_evidence() -> None:
    code = """
int f(int *p) {
	rcu_read_lock();
	if (!p)
		return -EINVAL;
	rcu_read_unlock();
	return 0;
}"""
    (finding,) = _run(check_rcu_unbalanced, code)
    assert finding.line == 5 and finding.key == "leak:rcu::return -EINVAL;#0"
    assert any(e.kind == "path" and "(!p) is true" in e.message for e in finding.evidence)


def test_conditional_lock_helper_is_not_a_leak() -> None:
    code = """
struct x *get_locked(int k) {
	struct x *it;
	rcu_read_lock();
	it = lookup(k);
	if (!it) {
		rcu_read_unlock();
		return NULL;
	}
	return it;
}"""
    assert _run(check_rcu_unbalanced, code) == []


def test_release_handed_to_callee_is_not_a_leak() -> None:
    code = """
void f(struct obj *o) {
	if (!o)
		return;
	rcu_read_lock();
	obj_lock(o);
	o->ops->destroy(o);
}"""
    assert _run(check_rcu_unbalanced, code) == []


def test_annotated_lock_helper() -> None:
    code = "void f(void) __acquires(RCU) { rcu_read_lock(); if (x) return; }"
    assert _run(check_rcu_unbalanced, code) == []


def test_escape_through_alias_and_null_checks() -> None:
    code = """
int f(int nr) {
	struct task_struct *p, *q;
	rcu_read_lock();
	p = find_task_by_vpid(nr);
	q = p;
	rcu_read_unlock();
	if (!q)
		return -1;
	return q->prio;
}"""
    (finding,) = _run(check_rcu_task_escape, code)
    assert finding.line == 10 and finding.key == "q:deref#0"


def test_get_pid_task_is_safe() -> None:
    code = """
int f(struct pid *pid) {
	struct task_struct *p;
	rcu_read_lock();
	p = get_pid_task(pid, PIDTYPE_PID);
	rcu_read_unlock();
	return p ? p->prio : 0;
}"""
    assert _run(check_rcu_task_escape, code) == []
