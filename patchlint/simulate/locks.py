"""Lock models: locks are tracked, not simulated, so runs can report misuse.

A run records every acquisition in ``World.held``; iterators check their
protecting locks there, ``lockdep_assert_held()`` records a violation when the
lock is missing, and sleeping under a spinlock or RCU is recorded too.
"""

from __future__ import annotations

from patchlint.simulate.frames import Engine, Frame, Node, text_of
from patchlint.simulate.primitive_call import PrimitiveCall, model
from patchlint.simulate.world import HeldLock, Obj, Ptr, Stop, Value, as_obj, describe

_SLEEP_FORBIDDEN = ("spin", "read", "write", "rcu")


def lock_key(call_name: str, key: str, task_field: str, values: list[Value]) -> Value:
    """What identifies a lock: a fixed name, a task's lock field, or the lock object."""
    if key:
        return key
    if not values:
        raise Stop(f"{call_name}() without a lock", kind="error")
    if task_field:
        task = as_obj(values[0], call_name)
        return Ptr(task.child(task_field))
    target = values[0]
    return Ptr(target) if isinstance(target, Obj) else target


def _label(key: Value) -> str:
    return key if isinstance(key, str) else describe(key)


def acquire(engine: Engine, frame: Frame, key: Value, mode: str) -> None:
    label = _label(key)
    if mode == "mutex":
        check_sleep(engine, frame, f"taking {label}")
    engine.world.held.append(HeldLock(key, label, mode))
    engine.world.record("lock", None, f"lock {label}", frame.function)


def release(engine: Engine, frame: Frame, key: Value) -> None:
    held = engine.world.held
    for index in range(len(held) - 1, -1, -1):
        if held[index].key == key:
            del held[index]
            return
    engine.world.record(
        "violation", None, f"unlock of {_label(key)}, which is not held", frame.function
    )


def check_sleep(engine: Engine, frame: Frame, what: str) -> None:
    atomic = [entry.label for entry in engine.world.held if entry.mode in _SLEEP_FORBIDDEN]
    if atomic:
        engine.world.record(
            "violation", None, f"{what} may sleep while holding {', '.join(atomic)}", frame.function
        )


def _key(call: PrimitiveCall, values: list[Value]) -> Value:
    return lock_key(call.name, call.spec.key, call.spec.field, values)


@model("lock")
def _lock(call: PrimitiveCall) -> Value:
    values = call.values()
    acquire(call.engine, call.frame, _key(call, values), call.spec.kind)
    flags_arg = call.spec.flags_arg
    if 0 <= flags_arg < len(call.args):
        engine = call.engine
        engine.store(engine.lvalue(call.args[flags_arg], call.frame), 0, call.frame)
    return None


@model("unlock")
def _unlock(call: PrimitiveCall) -> Value:
    release(call.engine, call.frame, _key(call, call.values()))
    return None


def _siglock(call: PrimitiveCall) -> tuple[Value, Value]:
    sighand = call.task(call.values(1)[0]).get("sighand")
    return sighand, Ptr(as_obj(sighand, call.name).child("siglock"))


@model("lock_task_sighand")
def _lock_task_sighand(call: PrimitiveCall) -> Value:
    sighand, siglock = _siglock(call)
    acquire(call.engine, call.frame, siglock, "spin")
    return sighand


@model("unlock_task_sighand")
def _unlock_task_sighand(call: PrimitiveCall) -> Value:
    release(call.engine, call.frame, _siglock(call)[1])
    return None


@model("assert_held")
def _assert_held(call: PrimitiveCall) -> Value:
    key = _key(call, call.values())
    if not call.engine.world.holds(key):
        call.engine.world.record(
            "violation",
            None,
            f"{call.name}({describe(key)}) failed: lock not held",
            call.frame.function,
        )
    return None


@model("sleep")
def _sleep(call: PrimitiveCall) -> Value:
    call.values()
    check_sleep(call.engine, call.frame, f"{call.name}()")
    return 0


@model("guard")
def _guard(call: PrimitiveCall) -> Value:
    raise Stop(f"{call.name} used outside guard(kind)(lock) form", kind="unsupported")


def guard(engine: Engine, frame: Frame, guard_call: Node, lock_args: list[Node]) -> Value:
    """``guard(kind)(lock)``: acquire now, release when the enclosing scope ends."""
    kind_args = guard_call.child_by_field_name("arguments")
    named = kind_args.named_children if kind_args is not None else []
    kind = text_of(named[0]) if named else ""
    mode = engine.primitives.guards.get(kind)
    if mode is None:
        raise Stop(f"guard({kind}) not modelled")
    values = [engine.eval(a, frame) for a in lock_args]
    key = "rcu" if mode == "rcu" else lock_key(kind, "", "", values)
    acquire(engine, frame, key, mode)
    frame.record.path.append(("call", f"guard({kind})"))
    if frame.scopes:
        frame.scopes[-1].append(lambda: release(engine, frame, key))
    return None
