"""Kernel iterator macros and scoped guards, run over the modelled world.

The normaliser turns ``for_each_thread(p, t) {`` into a ``for`` head and records
the macro; here the macro's meaning comes from ``[iterators]`` in
primitives.toml (which world list it walks, which locks make the walk safe).
A walk with none of its protecting locks held is recorded as a violation, not
refused: the point is to report it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from patchlint.simulate.world import Obj, Ptr, Stop

if TYPE_CHECKING:
    from patchlint.simulate.interpreter import Frame, Interpreter
    from patchlint.simulate.primitives import Primitives

Node = Any


def _task(value: Any, what: str) -> Obj:
    obj = value.obj if isinstance(value, Ptr) else value
    if not isinstance(obj, Obj) or obj.type != "task_struct":
        raise Stop(f"{what}: not a task", kind="error")
    return obj


def _protected(prims: Primitives, interp: Interpreter, locks: list[str], task: Obj | None) -> bool:
    world = interp.world
    for lock in locks:
        if lock == "rcu" and world.holds("rcu"):
            return True
        if lock == "tasklist_lock":
            tasklist = world.globals.get("tasklist_lock")
            if isinstance(tasklist, Obj) and world.holds(Ptr(tasklist)):
                return True
        if lock == "siglock" and task is not None:
            sighand = task.fields.get("sighand")
            if isinstance(sighand, Ptr | Obj):
                owner = sighand.obj if isinstance(sighand, Ptr) else sighand
                siglock = owner.fields.get("siglock")
                if isinstance(siglock, Obj) and world.holds(Ptr(siglock)):
                    return True
    return False


def run_iterator(
    prims: Primitives, interp: Interpreter, frame: Frame, node: Node, construct: Any
) -> None:
    spec = prims.iterators.get(construct.name)
    if spec is None:
        raise Stop(f"unmodelled iterator {construct.name}()")
    args = [interp.parse_snippet(a) for a in construct.args]
    world = interp.world
    walk = spec["walk"]
    frame.record.path.append(("call", construct.name))
    owner: Obj | None = None
    if walk in ("threads", "other_threads"):
        if len(args) != 2:
            raise Stop(f"{construct.name} takes 2 arguments", kind="error")
        owner = _task(interp.eval(args[0], frame), construct.name)
        threads = world.threads_of(owner)
        if walk == "other_threads":
            start = threads.index(owner)
            threads = threads[start + 1 :] + threads[:start]
        items = [(args[1], t) for t in threads]
    elif walk == "signal_threads":
        signal = interp.eval(args[0], frame)
        sig = signal.obj if isinstance(signal, Ptr) else signal
        if not isinstance(sig, Obj):
            raise Stop(f"{construct.name}: not a signal struct", kind="error")
        threads = [t.obj if isinstance(t, Ptr) else t for t in sig.get("thread_list")]
        owner = threads[0] if threads else None
        items = [(args[1], t) for t in threads]
    elif walk == "leaders":
        items = [(args[0], t) for t in world.leaders()]
    elif walk == "all_threads":
        if len(args) != 2:
            raise Stop(f"{construct.name} takes 2 arguments", kind="error")
        items = []
        for leader in world.leaders():
            for thread in world.threads_of(leader):
                items.append((args[0], leader))
                items.append((args[1], thread))
    else:
        raise Stop(f"iterator walk {walk} not modelled", kind="error")
    if not _protected(prims, interp, list(spec.get("protected_by", [])), owner):
        locks = " or ".join(spec.get("protected_by", []))
        world.record(
            "violation",
            None,
            f"{construct.name}() walk without {locks} held",
            frame.function,
            node.start_point[0] + 1,
        )
    body = node.child_by_field_name("body")
    pairs = walk == "all_threads"
    index = 0
    while index < len(items):
        interp.tick(frame, node)
        step = items[index : index + 2] if pairs else items[index : index + 1]
        for target, task in step:
            interp.store(interp.lvalue(target, frame), Ptr(task), frame)
        interp.branch(frame, node, f"{construct.name} -> {step[-1][1].label}")
        index += len(step)
        if not interp.loop_body(body, frame):
            return
    interp.branch(frame, node, f"{construct.name} done")


def _do_construct(src: Any, node: Node, kind: str) -> Any:
    """The iterator construct recorded at the `do` (kind "do") or the `while` of a do loop."""
    finder = getattr(src, "constructs_in", None)
    if finder is None:
        return None
    anchor = (
        node.children[0]
        if kind == "do"
        else next((c for c in node.children if c.type == "while"), None)
    )
    if anchor is None:
        return None
    for construct in finder(node):
        if construct.kind == "iterator" and construct.start == anchor.start_byte:
            return construct
    return None


def run_do_iterator(prims: Primitives, interp: Interpreter, frame: Frame, node: Node) -> bool:
    """``do_each_thread ... while_each_thread`` and ``do { } while_each_thread(p, t)``."""
    from patchlint.simulate.interpreter import Break, Continue

    head = _do_construct(frame.src, node, "do")
    tail = _do_construct(frame.src, node, "while")
    construct = head or tail
    if construct is None:
        return False
    spec = prims.iterators.get(construct.name)
    if spec is None or len(construct.args) != 2:
        raise Stop(f"unmodelled iterator {construct.name}()")
    first, second = (interp.parse_snippet(a) for a in construct.args)
    world = interp.world
    if spec["walk"] == "do_all_threads":
        groups = [(leader, world.threads_of(leader)) for leader in world.leaders()]
        owner = None
    elif spec["walk"] == "do_rest_of_group":
        owner = _task(interp.eval(first, frame), construct.name)
        start = _task(interp.eval(second, frame), construct.name)
        threads = world.threads_of(owner)
        if start not in threads:
            raise Stop(
                f"{construct.name}: {start.label} is not a thread of {owner.label}", kind="error"
            )
        index = threads.index(start)
        rest = threads[index:] + threads[:index]
        stop_at = threads.index(owner)
        # The loop ends when next_thread() comes back round to p.
        rest = rest[: (stop_at - index) % len(threads) or len(threads)]
        groups = [(owner, rest)]
    else:
        raise Stop(f"iterator walk {spec['walk']} not modelled", kind="error")
    if not _protected(prims, interp, list(spec.get("protected_by", [])), owner):
        world.record(
            "violation",
            None,
            f"{construct.name}() walk without {' or '.join(spec.get('protected_by', []))} held",
            frame.function,
            node.start_point[0] + 1,
        )
    frame.record.path.append(("call", construct.name))
    body = node.child_by_field_name("body")
    for leader, threads in groups:
        if head is not None:
            interp.store(interp.lvalue(first, frame), Ptr(leader), frame)
        for thread in threads:
            interp.tick(frame, node)
            interp.store(interp.lvalue(second, frame), Ptr(thread), frame)
            interp.branch(frame, node, f"{construct.name} -> {thread.label}")
            try:
                interp.exec_stmt(body, frame)
            except Break:
                break
            except Continue:
                pass
    return True


def run_scoped_guard(
    prims: Primitives, interp: Interpreter, frame: Frame, node: Node, construct: Any
) -> None:
    if not construct.args:
        raise Stop("scoped_guard without a lock kind", kind="error")
    kind = construct.args[0].strip()
    mode = prims.guards.get(kind)
    if mode is None:
        raise Stop(f"scoped_guard({kind}) not modelled")
    values = [interp.eval(interp.parse_snippet(a), frame) for a in construct.args[1:]]
    key = "rcu" if mode == "rcu" else prims.lock_key(interp, frame, kind, {}, values)
    prims.acquire(interp, frame, key, mode)
    frame.record.path.append(("call", f"scoped_guard({kind})"))
    try:
        interp.loop_body(node.child_by_field_name("body"), frame)
    finally:
        prims.release(interp, frame, key)
