"""Lock state along paths: RCU depth, tasklist_lock, siglock, helpers, guards."""

from __future__ import annotations

from patchlint.analysis.facts import FileFacts
from patchlint.source.parse import parse_c


def _facts(code: str, name: str):
    source = parse_c(code, "t.c")
    ff = FileFacts(source, "t.c")
    return ff, ff.facts(source.function(name))


def _iter_states(code: str, name: str):
    _, facts = _facts(code, name)
    assert facts is not None and facts.precise
    (states,) = facts.events.iters.values()
    return states


def test_rcu_held_on_all_paths() -> None:
    states = _iter_states(
        "void f(void) { struct task_struct *p; rcu_read_lock(); for_each_process(p) a(p);"
        " rcu_read_unlock(); }",
        "f",
    )
    assert all(s.holds("rcu") for s in states)


def test_lock_on_one_branch_keeps_paths_apart() -> None:
    states = _iter_states(
        "void f(int x) { struct task_struct *p; if (x) rcu_read_lock();"
        " for_each_process(p) a(p); }",
        "f",
    )
    assert {s.holds("rcu") for s in states} == {True, False}


def test_lock_task_sighand_holds_only_on_success() -> None:
    states = _iter_states(
        "int f(struct task_struct *p) { unsigned long fl; struct task_struct *t;"
        " if (!lock_task_sighand(p, &fl)) return -1; for_each_thread(p, t) a(t);"
        " unlock_task_sighand(p, &fl); return 0; }",
        "f",
    )
    assert all(s.siglock for s in states)


def test_tasklist_only_for_tasklist_lock_argument() -> None:
    states = _iter_states(
        "void f(void) { struct task_struct *p; read_lock(&other_lock);"
        " for_each_process(p) a(p); read_unlock(&other_lock); }",
        "f",
    )
    assert not any(s.tasklist for s in states)


def test_helper_summary_applies_at_call() -> None:
    code = (
        "static void enter(void) { rcu_read_lock(); }\n"
        "void f(void) { struct task_struct *p; enter(); for_each_process(p) a(p);"
        " rcu_read_unlock(); }"
    )
    ff, facts = _facts(code, "f")
    assert ff.summary("enter") == {"rcu": 1}
    (states,) = facts.events.iters.values()
    assert all(s.holds("rcu") for s in states)


def test_double_unlock_is_an_underflow() -> None:
    _, facts = _facts(
        "void f(int x) { rcu_read_lock(); if (x) rcu_read_unlock(); rcu_read_unlock(); }", "f"
    )
    assert facts.events.underflows


def test_assertions_prove_protection() -> None:
    states = _iter_states(
        "void f(void) { struct task_struct *p; lockdep_assert_held(&tasklist_lock);"
        " for_each_process(p) a(p); }",
        "f",
    )
    assert all(s.tasklist for s in states)
    states = _iter_states(
        'void f(void) { struct task_struct *p; RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "x");'
        " for_each_process(p) a(p); }",
        "f",
    )
    assert all(s.holds("rcu") for s in states)


def test_task_pointer_dangles_after_unlock() -> None:
    _, facts = _facts(
        "int f(int nr) { struct task_struct *p; rcu_read_lock();"
        " p = find_task_by_vpid(nr); rcu_read_unlock(); return p->prio; }",
        "f",
    )
    assert [e[1] for e in facts.events.escapes] == ["p"]


def test_loop_reaches_fixpoint_with_bounded_depth() -> None:
    _, facts = _facts("void f(int n) { while (n--) rcu_read_lock(); }", "f")
    assert facts is not None
    assert all(len(s.rcu) <= 3 for states in facts.events.returns.values() for s in states)
