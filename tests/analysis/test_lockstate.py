"""Lock state along paths: kinds and identities from the data, helpers, guards, tries."""

from __future__ import annotations

from patchlint.analysis.facts import FileFacts, FunctionFacts
from patchlint.analysis.state import LockState
from patchlint.analysis.summaries import lock_summary
from patchlint.source.parse import parse_c


def _facts(code: str, name: str) -> tuple[FileFacts, FunctionFacts]:
    source = parse_c(code, "t.c")
    ff = FileFacts(source, "t.c")
    fn = source.function(name)
    assert fn is not None
    facts = ff.facts(fn)
    assert facts is not None and facts.precise, facts and facts.analysis.reason
    return ff, facts


def _iter_states(code: str, name: str) -> set[LockState]:
    _, facts = _facts(code, name)
    (states,) = facts.events.iters.values()
    return states


def _returns(facts: FunctionFacts) -> list[LockState]:
    return [s for states in facts.events.returns.values() for s in states]


def test_rcu_held_on_all_paths() -> None:
    states = _iter_states(
        "void f(void) { struct task_struct *p; rcu_read_lock(); for_each_process(p) a(p);"
        " rcu_read_unlock(); }",
        "f",
    )
    assert all(s.holds_kind("rcu") for s in states)


def test_lock_on_one_branch_keeps_paths_apart() -> None:
    states = _iter_states(
        "void f(int x) { struct task_struct *p; if (x) rcu_read_lock();"
        " for_each_process(p) a(p); }",
        "f",
    )
    assert {s.holds_kind("rcu") for s in states} == {True, False}


def test_lock_task_sighand_holds_only_on_success() -> None:
    states = _iter_states(
        "int f(struct task_struct *p) { unsigned long fl; struct task_struct *t;"
        " if (!lock_task_sighand(p, &fl)) return -1; for_each_thread(p, t) a(t);"
        " unlock_task_sighand(p, &fl); return 0; }",
        "f",
    )
    assert all(s.holding("spinlock", "p->sighand->siglock") for s in states)


def test_identity_resolves_locals_set_once() -> None:
    _, facts = _facts(
        "void f(struct priv *priv) { struct dev *dev = priv->dev;"
        " spin_lock(&dev->lock); spin_unlock(&priv->dev->lock); }",
        "f",
    )
    (state,) = _returns(facts)
    assert state.held == () and not facts.events.anomalies


def test_reassigned_variable_detaches_its_locks() -> None:
    _, facts = _facts(
        "void f(struct node *p) { spin_lock(&p->lock); p = p->next; spin_lock(&p->lock);"
        " spin_unlock(&p->lock); }",
        "f",
    )
    assert not [a for a in facts.events.anomalies.values() if a.what == "double"]


def test_trylock_holds_only_on_its_success_branch() -> None:
    _, facts = _facts(
        "int f(spinlock_t *l) { if (!spin_trylock(l)) return -EBUSY; a(); spin_unlock(l);"
        " return 0; }",
        "f",
    )
    assert all(not s.held and not s.pending for s in _returns(facts))
    assert not facts.events.anomalies


def test_interruptible_lock_succeeds_on_zero() -> None:
    _, facts = _facts(
        "int f(struct mutex *m) { int ret = mutex_lock_interruptible(m); if (ret) return ret;"
        " a(); mutex_unlock(m); return 0; }",
        "f",
    )
    assert all(not s.held for s in _returns(facts)) and not facts.events.anomalies


def test_irqsave_flags_follow_the_lock() -> None:
    _, facts = _facts(
        "void f(spinlock_t *l) { unsigned long flags; spin_lock_irqsave(l, flags);"
        " spin_unlock_irq(l); }",
        "f",
    )
    assert [a.what for a in facts.events.anomalies.values()] == ["irq-mismatch"]


def test_unlock_then_irq_restore_is_balanced() -> None:
    _, facts = _facts(
        "void f(spinlock_t *l) { unsigned long flags; spin_lock_irqsave(l, flags);"
        " spin_unlock(l); local_irq_restore(flags); }",
        "f",
    )
    assert all(not s.held for s in _returns(facts)) and not facts.events.anomalies


def test_helper_summary_applies_at_call() -> None:
    code = (
        "static void enter(struct dev *d) { spin_lock(&d->lock); }\n"
        "void f(struct dev *x) { struct task_struct *p; enter(x); for_each_process(p) a(p);"
        " spin_unlock(&x->lock); }"
    )
    ff, facts = _facts(code, "f")
    enter = ff.source.function("enter")
    assert enter is not None
    summary = lock_summary(ff, enter)
    assert summary is not None and [(e.op, e.lock) for e in summary.effects] == [
        ("acquire", "{0}->lock")
    ]
    (states,) = facts.events.iters.values()
    assert all(s.holding("spinlock", "x->lock") for s in states)
    assert all(not s.held for s in _returns(facts))


def test_double_unlock_is_recorded() -> None:
    _, facts = _facts(
        "void f(int x) { rcu_read_lock(); if (x) rcu_read_unlock(); rcu_read_unlock(); }", "f"
    )
    assert [a.what for a in facts.events.anomalies.values()] == ["underflow"]


def test_correlated_conditions_prune_impossible_paths() -> None:
    _, facts = _facts(
        "void f(spinlock_t *l, int need) { if (need) spin_lock(l); a(); if (need)"
        " spin_unlock(l); }",
        "f",
    )
    assert all(not s.held for s in _returns(facts)) and not facts.events.anomalies


def test_noreturn_call_ends_the_path() -> None:
    _, facts = _facts(
        "void f(spinlock_t *l, int x) { spin_lock(l); if (x) BUG(); spin_unlock(l); }", "f"
    )
    assert len(facts.events.returns) == 1
    assert all(not s.held for s in _returns(facts))


def test_assertions_prove_protection() -> None:
    states = _iter_states(
        "void f(void) { struct task_struct *p; lockdep_assert_held(&tasklist_lock);"
        " for_each_process(p) a(p); }",
        "f",
    )
    assert all(s.holding("any", "tasklist_lock") for s in states)
    states = _iter_states(
        'void f(void) { struct task_struct *p; RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "x");'
        " for_each_process(p) a(p); }",
        "f",
    )
    assert all(s.holds_kind("rcu") for s in states)


def test_task_pointer_dangles_after_unlock() -> None:
    _, facts = _facts(
        "int f(int nr) { struct task_struct *p; rcu_read_lock();"
        " p = find_task_by_vpid(nr); rcu_read_unlock(); return p->prio; }",
        "f",
    )
    assert [e[1] for e in facts.events.escapes] == ["p"]


def test_loop_reaches_fixpoint_with_bounded_depth() -> None:
    _, facts = _facts("void f(int n) { while (n--) rcu_read_lock(); }", "f")
    assert all(len(s.held) <= 3 for s in _returns(facts))
