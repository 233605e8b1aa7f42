"""The interpreter on small C files in a mini tree (no kernel tree needed)."""

from __future__ import annotations

from simhelpers import scenario

from patchlint.simulate import run_scenario

FLAGS = """
#include <linux/sched.h>
int calc(int a, int b)
{
	int x = a * 3 + b;
	unsigned int u = 0;
	bool flag = x & 4;
	u -= 1;
	x <<= 2;
	x |= 1;
	x = x > 40 ? x : -x;
	return flag + (u == 0xffffffff) + x / 7 + (x % 7) * 100 + !b;
}

int loops(int n)
{
	int i, total = 0;
	for (i = 0; i < n; i++) {
		if (i == 2)
			continue;
		if (i == 6)
			break;
		total += i;
	}
	while (n > 0)
		n--;
	do {
		total++;
	} while (0);
	return total + n;
}

int sw(int v)
{
	int r = 0;
	switch (v) {
	case 1:
		r = 10;
	case 2:
		r += 5;
		break;
	case TASK_FROZEN:
		r = 99;
		break;
	default:
		r = -1;
	}
	return r;
}

int jump(int v)
{
	int r = 0;
again:
	r++;
	if (r < v)
		goto again;
#ifdef CONFIG_FREEZER
	r += 1000;
#else
	r += 2000;
#endif
	return r;
}

void mark(struct task_struct *p)
{
	p->flags |= PF_KTHREAD;
	p->saved_state = sw(1) + sw(2) + sw(TASK_FROZEN) + sw(7) + calc(5, 0) + loops(10) + jump(3);
}
"""


def test_arithmetic_control_flow_and_constants(mini_tree):
    resolver = mini_tree({"kernel/test.c": FLAGS})
    # calc(5, 0): x = 15 -> flag 1; u wraps; x = 61 -> 61/7=8, 61%7=5 -> 1+1+8+500+1
    # loops(10): 0+1+3+4+5 = 13, +1 from do/while, n ends 0 -> 14
    # sw: 15 + 5 + 99 - 1 = 118 ; jump(3) = 1003
    expected = 118 + 511 + 14 + 1003
    run = run_scenario(
        resolver,
        scenario(
            "mark(T0);",
            observe=f"t->saved_state == {expected} && (t->flags & PF_KTHREAD)",
            observe_tasks=["T0"],
        ),
    )
    assert run.stopped is None, run.warnings
    assert (run.holds, run.total) == (1, 1), run.per_task


def test_unmodelled_call_stops_and_is_reported(mini_tree):
    resolver = mini_tree({"kernel/test.c": "void f(struct task_struct *p) { mystery(p); }\n"})
    run = run_scenario(resolver, scenario("f(T0);", observe="1"))
    assert run.stopped is not None and "mystery" in run.stopped
    assert run.unknown == run.total == 2
    assert any("mystery" in w for w in run.warnings)


def test_step_budget_stops_an_endless_loop(mini_tree):
    resolver = mini_tree({"kernel/test.c": "void f(void) { for (;;) ; }\n"})
    run = run_scenario(resolver, scenario("f();", budget=500))
    assert run.stopped is not None and "budget" in run.stopped
    assert any(w.startswith("budget") for w in run.warnings)


def test_recursion_limit(mini_tree):
    resolver = mini_tree({"kernel/test.c": "int f(int n) { return f(n + 1); }\n"})
    run = run_scenario(resolver, scenario("f(0);"))
    assert run.stopped is not None and "recursion" in run.stopped


def test_iterator_walks_group_and_reports_missing_lock(mini_tree):
    code = """
void wake_all(struct task_struct *p)
{
	struct task_struct *t;

	for_each_thread(p, t)
		wake_up_state(t, TASK_NORMAL);
}

void wake_all_locked(struct task_struct *p)
{
	rcu_read_lock();
	wake_all(p);
	rcu_read_unlock();
}
"""
    resolver = mini_tree({"kernel/test.c": code})
    bare = run_scenario(resolver, scenario("wake_all(T1);", observe="woken(t)"))
    assert (bare.holds, bare.total) == (2, 2)
    assert any("for_each_thread() walk without" in w for w in bare.warnings)
    locked = run_scenario(resolver, scenario("wake_all_locked(T1);", observe="woken(t)"))
    assert locked.holds == 2 and not locked.warnings


def test_function_pointer_callback_and_guard(mini_tree):
    code = """
static int set_state(struct task_struct *p, void *arg)
{
	p->saved_state = TASK_FROZEN;
	return 1;
}

int poke(struct task_struct *p)
{
	guard(spinlock_irqsave)(&my_lock);
	return task_call_func(p, set_state, NULL);
}

void sleeper(void)
{
	spin_lock(&my_lock);
	schedule();
	spin_unlock(&my_lock);
}
"""
    resolver = mini_tree({"kernel/test.c": code})
    extra = {"globals": {"my_lock": {"struct": "spinlock"}}}
    run = run_scenario(
        resolver, scenario("poke(T1);", observe="t->saved_state == TASK_FROZEN", **extra)
    )
    assert [t.holds for t in run.per_task] == [False, True]
    assert not run.warnings
    sleep = run_scenario(resolver, scenario("sleeper();", **extra))
    assert any("may sleep while holding my_lock" in w for w in sleep.warnings)


def test_macros_and_config_branches(mini_tree):
    header = """
#define is_frozen_task(p) (((p)->__state & TASK_FROZEN) != 0)
#define FROZEN_OR_NORMAL (TASK_FROZEN | TASK_NORMAL)
#ifdef CONFIG_FREEZER
static inline int frozen_count(struct task_struct *p) { return is_frozen_task(p); }
#else
static inline int frozen_count(struct task_struct *p) { return 42; }
#endif
"""
    code = """
#include <linux/freezer_test.h>
void f(struct task_struct *p) { p->saved_state = frozen_count(p) + FROZEN_OR_NORMAL; }
"""
    resolver = mini_tree({"kernel/test.c": code, "include/linux/freezer_test.h": header})
    procs = [{"name": "P0", "threads": 1, "names": ["T0"], "state": "TASK_FROZEN"}]
    run = run_scenario(
        resolver, scenario("f(T0);", observe="t->saved_state == 0x8004", processes=procs)
    )
    assert run.holds == 1, (run.per_task, run.warnings)


def test_warn_on_is_recorded(mini_tree):
    resolver = mini_tree({"kernel/test.c": "void f(int x) { WARN_ON(x > 1); }\n"})
    run = run_scenario(resolver, scenario("f(2);"))
    assert any("WARN_ON(x > 1)" in w for w in run.warnings)


def test_do_while_iterators(mini_tree):
    code = """
void all(void)
{
	struct task_struct *g, *t;

	read_lock(&tasklist_lock);
	do_each_thread(g, t) {
		if (t->pid == 101)
			break;
		t->saved_state = 1;
	} while_each_thread(g, t);
	read_unlock(&tasklist_lock);
}

void rest(struct task_struct *p, struct task_struct *start)
{
	struct task_struct *t = start;

	rcu_read_lock();
	do {
		t->saved_state = 2;
	} while_each_thread(p, t);
	rcu_read_unlock();
}
"""
    resolver = mini_tree({"kernel/test.c": code})
    procs = [
        {"name": "P0", "threads": 3, "names": ["T0", "T1", "T2"]},
        {"name": "P1", "threads": 1, "names": ["U0"]},
    ]
    run = run_scenario(resolver, scenario("all();", observe="t->saved_state == 1", processes=procs))
    # pids 100..103: the break at T1 (pid 101) leaves only P0's walk; P1 is still visited
    assert [t.holds for t in run.per_task] == [True, False, False, True], run.warnings
    assert not run.warnings
    run = run_scenario(
        resolver, scenario("rest(T0, T1);", observe="t->saved_state == 2", processes=procs)
    )
    assert [t.holds for t in run.per_task] == [False, True, True, False], run.warnings
