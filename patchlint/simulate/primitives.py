"""Modelled primitives: what is not C in the tree, declared in rules/simulate/primitives.toml.

Each entry of the data names a ``model``; this module implements the models
(bit operations, loads and stores, atomics, wake-ups, static keys, warnings, the
world's ``current``) and ``locks`` the lock models.  A name the data does not
list is never modelled here, so the interpreter either runs the tree's own C for
it or stops.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from patchlint.knowledge import data_path, load_toml
from patchlint.simulate import locks
from patchlint.simulate.frames import CallRecord, Engine, Frame, Node, text_of
from patchlint.simulate.interpreter_expr import same
from patchlint.simulate.primitive_call import MODELS, PrimitiveCall, PrimitiveSpec, model
from patchlint.simulate.world import (
    FieldLoc,
    FuncRef,
    Location,
    Obj,
    Ptr,
    Stop,
    TomlTable,
    Value,
    as_int,
    as_location,
    as_obj,
    describe,
    truth,
)
from patchlint.validate import validate_data


@dataclass(frozen=True)
class IteratorSpec:
    """One ``[iterators]`` entry: the world list a macro walks and the locks it needs."""

    walk: str
    protected_by: tuple[str, ...]


Tables = tuple[
    dict[str, PrimitiveSpec], dict[str, PrimitiveSpec], dict[str, "IteratorSpec"], dict[str, str]
]
_PARSED: dict[int, Tables] = {}


def _parse(data: TomlTable) -> Tables:
    """(exact primitives, glob primitives, iterators, guards) of the data."""
    exact: dict[str, PrimitiveSpec] = {}
    globs: dict[str, PrimitiveSpec] = {}
    for name, entry in _table(data, "primitives").items():
        if isinstance(entry, dict):
            (globs if "*" in name else exact)[name] = PrimitiveSpec.from_table(name, entry)
    iterators: dict[str, IteratorSpec] = {}
    for name, entry in _table(data, "iterators").items():
        if isinstance(entry, dict):
            needed = entry.get("protected_by", [])
            iterators[name] = IteratorSpec(
                str(entry.get("walk", "")),
                tuple(str(lock) for lock in needed) if isinstance(needed, list) else (),
            )
    guards = {name: str(mode) for name, mode in _table(data, "guards").items()}
    return exact, globs, iterators, guards


def _table(data: TomlTable, key: str) -> TomlTable:
    value = data.get(key, {})
    return value if isinstance(value, dict) else {}


class Primitives:
    """The primitive table plus the helpers the interpreter calls for kernel constructs."""

    def __init__(self, data: TomlTable | None = None) -> None:
        if data is None:
            data = load_toml("simulate/primitives.toml")
            if id(data) not in _PARSED:  # load_toml returns one object per content
                validate_data(data, "simulate/primitives", data_path("simulate/primitives.toml"))
        self.data: TomlTable = data
        if id(data) not in _PARSED:
            _PARSED.clear()  # only the current data is worth keeping
            _PARSED[id(data)] = _parse(data)
        self.exact, self.globs, self.iterators, self.guards = _PARSED[id(data)]

    # -- data -----------------------------------------------------------------
    def headers(self) -> list[str]:
        listed = _table(self.data, "constants").get("headers", [])
        return [str(h) for h in listed] if isinstance(listed, list) else []

    def config(self) -> frozenset[str]:
        listed = _table(self.data, "config").get("defined", [])
        return frozenset(str(s) for s in listed) if isinstance(listed, list) else frozenset()

    def types(self) -> dict[str, TomlTable]:
        return {k: v for k, v in _table(self.data, "types").items() if isinstance(v, dict)}

    def globals(self) -> TomlTable:
        return _table(self.data, "globals")

    # -- lookup ---------------------------------------------------------------
    def spec(self, name: str) -> PrimitiveSpec | None:
        if name in self.exact:
            return self.exact[name]
        for pattern, spec in self.globs.items():
            if fnmatch.fnmatchcase(name, pattern):
                return spec
        return None

    def has(self, name: str) -> bool:
        return self.spec(name) is not None

    def is_identifier(self, name: str) -> bool:
        spec = self.exact.get(name)
        return spec is not None and spec.model == "current"

    def identifier(self, engine: Engine) -> Value:
        if engine.world.current is None:
            raise Stop("the scenario has no current task")
        return Ptr(engine.world.current)

    def call(self, engine: Engine, frame: Frame, name: str, args: list[Node], line: int) -> Value:
        spec = self.spec(name) or PrimitiveSpec(name, "")
        handler = MODELS.get(spec.model)
        if handler is None:
            raise Stop(f"primitive {name} has unknown model {spec.model or None}", kind="error")
        record = CallRecord(name, (), line, primitive=True)
        frame.record.children.append(record)
        frame.record.path.append(("call", name))
        call = PrimitiveCall(engine, frame, spec, args, line)
        result = handler(call)
        record.args = tuple(describe(a) for a in call.evaluated)
        record.result = describe(result) if result is not None else None
        return result

    def file_global(self, engine: Engine, frame: Frame, name: str) -> Value:
        """A zero-initialised file-scope variable of the running function's own file."""
        pattern = re.compile(
            rf"^(?:static\s+)?(?:[A-Za-z_][\w ]*?\s)\**\s*{re.escape(name)}"
            rf"(?:\s+__\w+)*\s*;",
            re.M,
        )
        match = pattern.search(frame.src.text or "")
        if match is None or "(" in match.group(0) or "extern" in match.group(0):
            return None
        words = match.group(0).split()
        if "struct" in words:
            return engine.world.new(words[words.index("struct") + 1], name)
        return 0


# -- value models ---------------------------------------------------------
@model("noop")
def _noop(call: PrimitiveCall) -> Value:
    if not call.spec.lazy:
        call.values()
    return 0


@model("false")
def _false(call: PrimitiveCall) -> Value:
    call.values()
    return 0


@model("identity")
def _identity(call: PrimitiveCall) -> Value:
    return call.values(1)[0]


@model("load")
def _load(call: PrimitiveCall) -> Value:
    return as_location(call.values(1)[0], call.name).load()


@model("store")
def _store(call: PrimitiveCall) -> Value:
    if len(call.args) != 2:
        raise Stop(f"{call.name}() needs 2 arguments", kind="error")
    loc = call.engine.lvalue(call.args[0], call.frame)
    value = call.engine.eval(call.args[1], call.frame)
    call.evaluated = [loc, value]
    call.engine.store(loc, value, call.frame)
    return None


@model("store_pointer")
def _store_pointer(call: PrimitiveCall) -> Value:
    values = call.values(2)
    as_location(values[0], call.name).store(values[1])
    return None


@model("field")
def _field(call: PrimitiveCall) -> Value:
    return as_obj(call.values(1)[0], call.name).get(call.spec.field)


@model("field_address")
def _field_address(call: PrimitiveCall) -> Value:
    return _address(as_obj(call.values(1)[0], call.name), call.spec.field)


@model("current_field_address")
def _current_field_address(call: PrimitiveCall) -> Value:
    call.values()
    current = call.engine.primitives.identifier(call.engine)
    return _address(as_obj(current, call.name), call.spec.field)


def _bit_args(call: PrimitiveCall) -> tuple[int, Location, int]:
    values = call.values(2)
    nr, where = values[0], as_location(values[1], call.name)
    if not isinstance(nr, int) or not 0 <= nr < 512:
        raise Stop(f"{call.name}: bit number {describe(nr)}", kind="error")
    word = where.load()
    if not isinstance(word, int):
        raise Stop(f"{call.name}: word {describe(word)}", kind="error")
    return nr, where, word


@model("bit_test")
def _bit_test(call: PrimitiveCall) -> Value:
    nr, _, word = _bit_args(call)
    return (word >> nr) & 1


@model("bit_set")
def _bit_set(call: PrimitiveCall) -> Value:
    nr, where, word = _bit_args(call)
    where.store(word | (1 << nr))
    return None


@model("bit_clear")
def _bit_clear(call: PrimitiveCall) -> Value:
    nr, where, word = _bit_args(call)
    where.store(word & ~(1 << nr))
    return None


@model("bit_test_and_set")
def _bit_test_and_set(call: PrimitiveCall) -> Value:
    nr, where, word = _bit_args(call)
    where.store(word | (1 << nr))
    return (word >> nr) & 1


@model("bit_test_and_clear")
def _bit_test_and_clear(call: PrimitiveCall) -> Value:
    nr, where, word = _bit_args(call)
    where.store(word & ~(1 << nr))
    return (word >> nr) & 1


@model("cmpxchg")
def _cmpxchg(call: PrimitiveCall) -> Value:
    values = call.values(3)
    where = as_location(values[0], call.name)
    old = where.load()
    if same(old, values[1]):
        where.store(values[2])
    return old


@model("xchg")
def _xchg(call: PrimitiveCall) -> Value:
    values = call.values(2)
    where = as_location(values[0], call.name)
    old = where.load()
    where.store(values[1])
    return old


@model("atomic")
def _atomic(call: PrimitiveCall) -> Value:
    op = call.spec.op
    values = call.values(2 if op == "set" else 1)
    atomic = as_obj(values[0], call.name)
    if op == "read":
        return atomic.get("counter")
    if op == "set":
        atomic.set("counter", values[1])
        return None
    delta = 1 if op.startswith("inc") else -1
    counter = as_int(atomic.get("counter"), call.name) + delta
    atomic.set("counter", counter)
    if op.endswith("return"):
        return counter
    if op == "dec_and_test":
        return int(counter == 0)
    return None


@model("static_key")
def _static_key(call: PrimitiveCall) -> Value:
    key = as_obj(call.values(1)[0], call.name)
    enabled = key.get("enabled")
    op = call.spec.op
    if op == "read":
        return int(truth(enabled))
    count = as_int(enabled, call.name)
    updated = {"inc": count + 1, "dec": count - 1, "enable": 1, "disable": 0}.get(op)
    if updated is None:
        raise Stop(f"{call.name}: static key operation {op}", kind="error")
    key.set("enabled", updated)
    return None


@model("warn")
def _warn(call: PrimitiveCall) -> Value:
    if not call.args:
        raise Stop(f"{call.name}() needs a condition", kind="error")
    value = call.engine.eval(call.args[0], call.frame)
    call.evaluated = [value]
    hit = truth(value)
    if hit:
        call.engine.world.record(
            "warn",
            None,
            f"{call.name}({text_of(call.args[0])}) fired",
            call.frame.function,
            call.line,
        )
    return int(hit)


# -- tasks ----------------------------------------------------------------
@model("current")
def _current(call: PrimitiveCall) -> Value:
    return call.engine.primitives.identifier(call.engine)


def wake(call: PrimitiveCall, task: Obj, state: int) -> bool:
    """``try_to_wake_up()``'s effect: a task in one of ``state``'s states runs again."""
    current = as_int(task.get("__state"), call.name)
    if not current & state:
        return False
    task.set("__state", 0)  # TASK_RUNNING
    world = call.engine.world
    world.woken.add(task.label)
    world.record("wake", task, f"{call.name} woke {task.label}", call.frame.function)
    return True


def _state(call: PrimitiveCall) -> int:
    return call.engine.constants.value(call.spec.state, [call.frame.src.path])


@model("wake_up_state")
def _wake_up_state(call: PrimitiveCall) -> Value:
    values = call.values(1)
    task = call.task(values[0])
    if call.spec.state:
        state = _state(call)
    else:
        state = as_int(call.values(2)[1], call.name)
    return int(wake(call, task, state))


@model("wake_queue")
def _wake_queue(call: PrimitiveCall) -> Value:
    # __wake_up(wq_head, mode, nr, key): every waiter of the queue in one of
    # `mode`'s states is woken.  Waiters are the tasks a scenario puts on the
    # queue; they wait non-exclusively (wait_event*()), so `nr` limits nothing.
    values = call.values(2)
    queue = as_obj(values[0], call.name)
    mode = as_int(values[1], call.name)
    waiters = queue.get("waiters")
    if not isinstance(waiters, list):
        raise Stop(f"{call.name}: {queue.label} has no waiter list", kind="error")
    woken = 0
    for waiter in waiters:
        woken += wake(call, call.task(waiter), mode)
    return woken


@model("task_call_func")
def _task_call_func(call: PrimitiveCall) -> Value:
    values = call.values(3)
    task, func = call.task(values[0]), values[1]
    if not isinstance(func, FuncRef):
        raise Stop(f"{call.name}: callback {describe(func)} is not a function", kind="error")
    lock = Ptr(task.child("pi_lock"))
    engine, frame = call.engine, call.frame
    locks.acquire(engine, frame, lock, "spin")
    try:
        return engine.call(func.name, [Ptr(task), values[2]], frame, call.line)
    finally:
        locks.release(engine, frame, lock)


@model("next_thread")
def _next_thread(call: PrimitiveCall) -> Value:
    task = call.task(call.values(1)[0])
    threads = call.engine.world.threads_of(task)
    return Ptr(threads[(threads.index(task) + 1) % len(threads)])


@model("thread_group_empty")
def _thread_group_empty(call: PrimitiveCall) -> Value:
    task = call.task(call.values(1)[0])
    return int(len(call.engine.world.threads_of(task)) == 1)


@model("task_css")
def _task_css(call: PrimitiveCall) -> Value:
    # The subsystem id is generated by token pasting (freezer_cgrp_id); only
    # the freezer hierarchy is modelled, so it is not evaluated.
    if not call.args:
        raise Stop(f"{call.name}() needs a task", kind="error")
    task = call.task(call.engine.eval(call.args[0], call.frame))
    call.evaluated = [Ptr(task)]
    return Ptr(task.child("freezer").child("css"))


@model("container_of")
def _container_of(call: PrimitiveCall) -> Value:
    if len(call.args) != 3:
        raise Stop("container_of() needs 3 arguments", kind="error")
    inner = call.engine.eval(call.args[0], call.frame)
    call.evaluated = [inner]
    if inner in (0, None):
        return 0
    member = text_of(call.args[2]).strip()
    obj = as_obj(inner, call.name)
    if obj.parent is None or obj.parent[1] != member:
        raise Stop(f"container_of: {describe(inner)} is not embedded as {member}", kind="error")
    return Ptr(obj.parent[0])


@model("is_enabled")
def _is_enabled(call: PrimitiveCall) -> Value:
    return int(bool(call.args) and text_of(call.args[0]).strip() in call.engine.world.config)


@model("woken")
def _woken(call: PrimitiveCall) -> Value:
    return int(call.task(call.values(1)[0]).label in call.engine.world.woken)


@model("running")
def _running(call: PrimitiveCall) -> Value:
    return int(call.task(call.values(1)[0]).get("__state") == 0)


def _address(obj: Obj, name: str) -> Value:
    inner = obj.get(name)
    return Ptr(inner) if isinstance(inner, Obj) else FieldLoc(obj, name)
