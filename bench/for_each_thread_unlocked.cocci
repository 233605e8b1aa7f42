// The naive rule patchlint is measured against: a for_each_thread() reached
// from the start of its function on some path that takes neither RCU,
// tasklist_lock nor a siglock first.  No callers, no assertions, no helpers.
@r exists@
iterator name for_each_thread;
expression g, t;
statement S;
identifier fn;
position p;
@@
fn(...) {
... when != rcu_read_lock()
    when != read_lock(&tasklist_lock)
    when != read_lock_irq(&tasklist_lock)
    when != write_lock_irq(&tasklist_lock)
    when != spin_lock(&g->sighand->siglock)
    when != spin_lock_irq(&g->sighand->siglock)
    when != spin_lock_irqsave(&g->sighand->siglock, ...)
    when != lock_task_sighand(g, ...)
for_each_thread@p(g, t) S
... when any
}

@script:python@
p << r.p;
fn << r.fn;
@@
print("FINDING %s:%s %s" % (p[0].file, p[0].line, fn))
