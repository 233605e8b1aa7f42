"""Lock identity: canonical names, locals resolved, argument slots for summaries."""

from __future__ import annotations

from patchlint.analysis.identity import (
    Resolver,
    canonical,
    computed_from,
    fill,
    function_resolver,
    local_names,
    pointee,
    pointer_roots,
    shape,
)
from patchlint.source.parse import parse_c


def test_pointee_of_address_and_pointer() -> None:
    assert pointee("&dev->lock") == "dev->lock"
    assert pointee("& (dev)->lock") == "dev->lock"
    assert pointee("(spinlock_t *)&p->l") == "p->l"
    assert pointee("lock") == "*lock"
    assert pointee("&(*p).lock") == "p->lock"


def test_template_slots_fill_back() -> None:
    assert fill("{0}->sighand->siglock", ("current",)) == "current->sighand->siglock"
    assert fill("{0}->sighand->siglock", ("&tsk",)) == "tsk.sighand->siglock"
    assert fill("*{0}", ("&d->lock",)) == "d->lock"
    assert fill("{1}->x", ("a",)) is None
    assert canonical("*(&d->lock)") == "d->lock"


def test_locals_set_once_resolve_to_their_value() -> None:
    source = parse_c(
        "void f(struct priv *priv, int n) { struct dev *dev = priv->dev; struct dev *o;"
        " o = priv->other; o = priv->third; }",
        "t.c",
    )
    fn = source.functions[0]
    resolver = function_resolver(fn.params, fn.body)
    assert resolver.lock_at("&dev->lock") == "priv->dev->lock"
    assert resolver.lock_at("&priv->dev->lock") == "priv->dev->lock"
    # Assigned twice: it names whatever it points at when used.
    assert resolver.lock_at("&o->lock") == "o->lock"
    assert resolver.template("priv->dev->lock") == "{0}->dev->lock"
    assert resolver.template("o->lock") is None  # a local: callers cannot name it


def test_global_locks_stay_literal() -> None:
    resolver = Resolver(("d",))
    assert resolver.template("tasklist_lock") == "tasklist_lock"


def test_pointer_roots_and_shapes() -> None:
    assert pointer_roots("tasklist_lock") == frozenset()
    assert pointer_roots("p->lock") == {"p"}
    assert pointer_roots("locks[i]") == {"locks", "i"}
    assert shape("dev->lock") == shape("d->lock") == "?->lock"


def test_container_of_a_member_address_is_the_object() -> None:
    lock = "(container_of((&zhdr->refcount),struct z3fold_header,refcount))->page_lock"
    assert canonical(lock) == "zhdr->page_lock"
    # Another member than the one addressed: not the object.
    assert canonical("container_of(&p->ref, struct x, other)->l") != "p->l"


def test_lock_computed_from_the_arguments_of_a_call() -> None:
    lock = "*(group_lock_ptr(sb,b->group))"
    assert computed_from(lock, {"sb", "b->group"}, "group_unlock")
    assert not computed_from(lock, {"sb"}, "group_stats")
    # The computing function only names the lock.
    assert not computed_from(lock, {"sb", "b->group"}, "group_lock_ptr")
    assert computed_from("(slot_of(page))->lock", {"page"}, "put_slot")
    assert not computed_from("dev->lock", {"dev"}, "helper")


LOCALS = """
int demo(struct dev *dev, int (*op)(int))
{
	int (*read)(void) = dev->read, ret;
	extern void demo_hook(int);
	struct item *items[4], *it;
	u32 flags;

	for (int i = 0; i < 4; i++) {
		unsigned long saved = i;
		ret = read() + op(i) + saved;
	}
	{
		spinlock_t *lock = &dev->lock;
		spin_lock(lock);
	}
	this is not C = ;
	return ret;
}
"""


def test_local_names_are_the_resolvers() -> None:
    (fn,) = parse_c(LOCALS, "demo.c").functions
    found = local_names(fn.body)
    assert found == function_resolver(fn.params, fn.body).local_names
    assert {"read", "ret", "demo_hook", "items", "it", "flags", "i", "saved", "lock"} <= found
    assert not found & {"dev", "op", "spin_lock"}
    assert local_names(None) == frozenset()
