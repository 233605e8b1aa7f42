"""Kernel iterator macros and scoped guards, run over the modelled world.

The normaliser turns ``for_each_thread(p, t) {`` into a ``for`` head and records
the macro; here the macro's meaning comes from ``[iterators]`` in
primitives.toml (which world list it walks, which locks make the walk safe).
A walk with none of its protecting locks held is recorded as a violation, not
refused: the point is to report it.
"""

from __future__ import annotations

from patchlint.simulate import locks
from patchlint.simulate.frames import Break, Continue, Engine, Frame, Node, child, line_of
from patchlint.simulate.world import Obj, Ptr, Stop, Value, as_obj
from patchlint.source import Construct, SourceFile


def _task(value: Value, what: str) -> Obj:
    obj = value.obj if isinstance(value, Ptr) else value
    if not isinstance(obj, Obj) or obj.type != "task_struct":
        raise Stop(f"{what}: not a task", kind="error")
    return obj


def _protected(engine: Engine, locks: tuple[str, ...], task: Obj | None) -> bool:
    world = engine.world
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


def _check_protection(
    engine: Engine, frame: Frame, node: Node, name: str, locks: tuple[str, ...], owner: Obj | None
) -> None:
    if not _protected(engine, locks, owner):
        engine.world.record(
            "violation",
            None,
            f"{name}() walk without {' or '.join(locks)} held",
            frame.function,
            line_of(node),
        )


def construct_at(
    src: SourceFile, node: Node, anchor: int, kinds: tuple[str, ...]
) -> Construct | None:
    """The normaliser's record of the macro rewritten at byte ``anchor`` inside ``node``."""
    for construct in src.constructs_in(node):
        if construct.start == anchor and construct.kind in kinds:
            return construct
    return None


def run_construct(engine: Engine, frame: Frame, node: Node) -> bool:
    """Run a ``for`` statement that is a rewritten iterator or scoped guard; False if not one."""
    construct = construct_at(frame.src, node, node.start_byte, ("iterator", "scoped_guard"))
    if construct is None:
        return False
    if construct.kind == "scoped_guard":
        run_scoped_guard(engine, frame, node, construct)
    else:
        run_iterator(engine, frame, node, construct)
    return True


def run_iterator(engine: Engine, frame: Frame, node: Node, construct: Construct) -> None:
    spec = engine.primitives.iterators.get(construct.name)
    if spec is None:
        raise Stop(f"unmodelled iterator {construct.name}()")
    args = [engine.parse_snippet(a) for a in construct.args]
    world = engine.world
    walk = spec.walk
    frame.record.path.append(("call", construct.name))
    owner: Obj | None = None
    items: list[tuple[Node, Obj]]
    if walk in ("threads", "other_threads"):
        if len(args) != 2:
            raise Stop(f"{construct.name} takes 2 arguments", kind="error")
        owner = _task(engine.eval(args[0], frame), construct.name)
        threads = world.threads_of(owner)
        if walk == "other_threads":
            start = threads.index(owner)
            threads = threads[start + 1 :] + threads[:start]
        items = [(args[1], t) for t in threads]
    elif walk == "signal_threads":
        if len(args) != 2:
            raise Stop(f"{construct.name} takes 2 arguments", kind="error")
        sig = as_obj(engine.eval(args[0], frame), construct.name)
        listed = sig.get("thread_list")
        if not isinstance(listed, list):
            raise Stop(f"{construct.name}: {sig.label} has no thread list", kind="error")
        threads = [as_obj(t, construct.name) for t in listed]
        owner = threads[0] if threads else None
        items = [(args[1], t) for t in threads]
    elif walk == "leaders":
        if not args:
            raise Stop(f"{construct.name} takes 1 argument", kind="error")
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
    _check_protection(engine, frame, node, construct.name, spec.protected_by, owner)
    body = child(node, "body")
    width = 2 if walk == "all_threads" else 1
    index = 0
    while index < len(items):
        engine.tick(frame)
        step = items[index : index + width]
        for target, task in step:
            engine.store(engine.lvalue(target, frame), Ptr(task), frame)
        engine.branch(frame, node, f"{construct.name} -> {step[-1][1].label}")
        index += len(step)
        if not engine.loop_body(body, frame):
            return
    engine.branch(frame, node, f"{construct.name} done")


def _do_construct(src: SourceFile, node: Node, kind: str) -> Construct | None:
    """The iterator construct recorded at the `do` (kind "do") or the `while` of a do loop."""
    if kind == "do":
        anchor: Node | None = node.children[0] if node.children else None
    else:
        anchor = next((c for c in node.children if c.type == "while"), None)
    if anchor is None:
        return None
    return construct_at(src, node, anchor.start_byte, ("iterator",))


def run_do_iterator(engine: Engine, frame: Frame, node: Node) -> bool:
    """``do_each_thread ... while_each_thread`` and ``do { } while_each_thread(p, t)``."""
    head = _do_construct(frame.src, node, "do")
    tail = _do_construct(frame.src, node, "while")
    construct = head or tail
    if construct is None:
        return False
    spec = engine.primitives.iterators.get(construct.name)
    if spec is None or len(construct.args) != 2:
        raise Stop(f"unmodelled iterator {construct.name}()")
    first, second = (engine.parse_snippet(a) for a in construct.args)
    world = engine.world
    owner: Obj | None = None
    if spec.walk == "do_all_threads":
        groups = [(leader, world.threads_of(leader)) for leader in world.leaders()]
    elif spec.walk == "do_rest_of_group":
        owner = _task(engine.eval(first, frame), construct.name)
        start = _task(engine.eval(second, frame), construct.name)
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
        raise Stop(f"iterator walk {spec.walk} not modelled", kind="error")
    _check_protection(engine, frame, node, construct.name, spec.protected_by, owner)
    frame.record.path.append(("call", construct.name))
    body = child(node, "body")
    for leader, threads in groups:
        if head is not None:
            engine.store(engine.lvalue(first, frame), Ptr(leader), frame)
        for thread in threads:
            engine.tick(frame)
            engine.store(engine.lvalue(second, frame), Ptr(thread), frame)
            engine.branch(frame, node, f"{construct.name} -> {thread.label}")
            try:
                engine.exec_stmt(body, frame)
            except Break:
                break
            except Continue:
                pass
    return True


def run_scoped_guard(engine: Engine, frame: Frame, node: Node, construct: Construct) -> None:
    if not construct.args:
        raise Stop("scoped_guard without a lock kind", kind="error")
    prims = engine.primitives
    kind = construct.args[0].strip()
    mode = prims.guards.get(kind)
    if mode is None:
        raise Stop(f"scoped_guard({kind}) not modelled")
    values = [engine.eval(engine.parse_snippet(a), frame) for a in construct.args[1:]]
    key = "rcu" if mode == "rcu" else locks.lock_key(kind, "", "", values)
    locks.acquire(engine, frame, key, mode)
    frame.record.path.append(("call", f"scoped_guard({kind})"))
    try:
        engine.loop_body(child(node, "body"), frame)
    finally:
        locks.release(engine, frame, key)
