"""Modelled primitives: what is not C in the tree, declared in rules/simulate/primitives.toml.

Each entry of the data names a ``model``; this module implements the models
(bit operations, loads and stores, locks, wake-ups, static keys, warnings, the
world's ``current``).  A name the data does not list is never modelled here,
so the interpreter either runs the tree's own C for it or stops.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from patchlint.knowledge import load_toml
from patchlint.simulate.world import (
    ElemLoc,
    FieldLoc,
    FuncRef,
    Obj,
    Ptr,
    Stop,
    VarLoc,
    describe,
    truth,
)

if TYPE_CHECKING:
    from patchlint.simulate.interpreter import Frame, Interpreter

Node = Any
_SLEEP_FORBIDDEN = ("spin", "read", "write", "rcu")


def _loc(value: Any, what: str) -> Any:
    if isinstance(value, FieldLoc | ElemLoc | VarLoc):
        return value
    if isinstance(value, Ptr) and value.obj.parent is not None:
        owner, name = value.obj.parent
        return FieldLoc(owner, name)
    raise Stop(f"{what} on {describe(value)}", kind="unsupported")


def _obj(value: Any, what: str) -> Obj:
    if isinstance(value, Ptr):
        return value.obj
    if isinstance(value, Obj):
        return value
    raise Stop(f"{what} on {describe(value)}", kind="unsupported")


class Primitives:
    """The primitive table plus the helpers the interpreter calls for kernel constructs."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data = data if data is not None else load_toml("simulate/primitives.toml")
        table = self.data.get("primitives", {})
        self.exact = {k: v for k, v in table.items() if "*" not in k}
        self.globs = {k: v for k, v in table.items() if "*" in k}
        self.iterators: dict[str, dict[str, Any]] = self.data.get("iterators", {})
        self.guards: dict[str, str] = self.data.get("guards", {})

    # -- lookup ---------------------------------------------------------------
    def spec(self, name: str) -> dict[str, Any] | None:
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
        return spec is not None and spec["model"] == "current"

    def identifier(self, interp: Interpreter, name: str, frame: Frame) -> Any:
        if interp.world.current is None:
            raise Stop("the scenario has no current task")
        return Ptr(interp.world.current)

    def call(
        self, interp: Interpreter, frame: Frame, name: str, args: list[Node], line: int
    ) -> Any:
        spec = self.spec(name) or {}
        handler = getattr(self, "_m_" + spec.get("model", ""), None)
        if handler is None:
            raise Stop(f"primitive {name} has unknown model {spec.get('model')}", kind="error")
        from patchlint.simulate.interpreter import CallRecord

        record = CallRecord(name, (), line, primitive=True)
        # Handlers decide themselves which arguments to evaluate (lazy tracing,
        # lvalues for stores); the values they did evaluate are left here so the
        # record can show them without each handler building it.
        self._last_args: list[Any] = []
        frame.record.children.append(record)
        frame.record.path.append(("call", name))
        result = handler(interp, frame, name, spec, args)
        record.args = tuple(describe(a) for a in getattr(self, "_last_args", ()))
        record.result = describe(result) if result is not None else None
        return result

    def _eval_all(self, interp: Interpreter, frame: Frame, args: list[Node]) -> list[Any]:
        values = [interp.eval(a, frame) for a in args]
        self._last_args = values
        return values

    def _need(self, name: str, values: list[Any], count: int) -> None:
        if len(values) < count:
            raise Stop(f"{name}() needs {count} arguments", kind="error")

    # -- value models ---------------------------------------------------------
    def _m_noop(self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list) -> Any:
        if not spec.get("lazy"):
            self._eval_all(interp, frame, args)
        else:
            self._last_args = []
        return 0

    def _m_false(self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list) -> Any:
        self._eval_all(interp, frame, args)
        return 0

    def _m_identity(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 1)
        return values[0]

    def _m_load(self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 1)
        return _loc(values[0], name).load()

    def _m_store(self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list) -> Any:
        if len(args) != 2:
            raise Stop(f"{name}() needs 2 arguments", kind="error")
        loc = interp.lvalue(args[0], frame)
        value = interp.eval(args[1], frame)
        self._last_args = [loc, value]
        interp.store(loc, value, frame)
        return None

    def _m_store_pointer(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 2)
        _loc(values[0], name).store(values[1])
        return None

    def _m_field(self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 1)
        return _obj(values[0], name).get(spec["field"])

    def _m_field_address(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 1)
        inner = _obj(values[0], name).get(spec["field"])
        return (
            Ptr(inner) if isinstance(inner, Obj) else FieldLoc(_obj(values[0], name), spec["field"])
        )

    def _bit_args(self, interp: Interpreter, frame: Frame, name: str, args: list) -> tuple:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 2)
        nr, where = values[0], _loc(values[1], name)
        if not isinstance(nr, int) or not 0 <= nr < 512:
            raise Stop(f"{name}: bit number {describe(nr)}", kind="error")
        word = where.load()
        if not isinstance(word, int):
            raise Stop(f"{name}: word {describe(word)}", kind="error")
        return nr, where, word

    def _m_bit_test(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        nr, _, word = self._bit_args(interp, frame, name, args)
        return (word >> nr) & 1

    def _m_bit_set(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        nr, where, word = self._bit_args(interp, frame, name, args)
        where.store(word | (1 << nr))
        return None

    def _m_bit_clear(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        nr, where, word = self._bit_args(interp, frame, name, args)
        where.store(word & ~(1 << nr))
        return None

    def _m_bit_test_and_set(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        nr, where, word = self._bit_args(interp, frame, name, args)
        where.store(word | (1 << nr))
        return (word >> nr) & 1

    def _m_bit_test_and_clear(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        nr, where, word = self._bit_args(interp, frame, name, args)
        where.store(word & ~(1 << nr))
        return (word >> nr) & 1

    def _m_cmpxchg(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        from patchlint.simulate.interpreter_expr import same

        values = self._eval_all(interp, frame, args)
        self._need(name, values, 3)
        where = _loc(values[0], name)
        old = where.load()
        if same(old, values[1]):
            where.store(values[2])
        return old

    def _m_xchg(self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 2)
        where = _loc(values[0], name)
        old = where.load()
        where.store(values[1])
        return old

    def _m_atomic(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 1)
        atomic = _obj(values[0], name)
        op = spec["op"]
        if op == "read":
            return atomic.get("counter")
        if op == "set":
            self._need(name, values, 2)
            atomic.set("counter", values[1])
            return None
        delta = 1 if op.startswith("inc") else -1
        atomic.set("counter", atomic.get("counter") + delta)
        if op.endswith("return"):
            return atomic.get("counter")
        if op == "dec_and_test":
            return int(atomic.get("counter") == 0)
        return None

    def _m_static_key(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 1)
        key = _obj(values[0], name)
        enabled = key.get("enabled")
        op = spec["op"]
        if op == "read":
            return int(truth(enabled))
        key.set("enabled", {"inc": enabled + 1, "dec": enabled - 1, "enable": 1, "disable": 0}[op])
        return None

    def _m_warn(self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list) -> Any:
        if not args:
            raise Stop(f"{name}() needs a condition", kind="error")
        value = interp.eval(args[0], frame)
        self._last_args = [value]
        hit = truth(value)
        if hit:
            text = args[0].text.decode("utf-8", "replace")
            interp.world.record(
                "warn", None, f"{name}({text}) fired", frame.function, interp.line_of(args[0])
            )
        return int(hit)

    # -- tasks ----------------------------------------------------------------
    def _task(self, value: Any, name: str) -> Obj:
        task = _obj(value, name)
        if task.type != "task_struct":
            raise Stop(f"{name}() on a {task.type}", kind="error")
        return task

    def _m_current(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        self._last_args = []
        return self.identifier(interp, name, frame)

    def _m_wake_up_state(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 1)
        task = self._task(values[0], name)
        if "state" in spec:
            state = interp.constants.value(spec["state"], [frame.src.path])
        else:
            self._need(name, values, 2)
            state = values[1]
        if not task.get("__state") & state:
            return 0
        task.set("__state", 0)  # TASK_RUNNING
        interp.world.woken.add(task.label)
        interp.world.record("wake", task, f"{name} woke {task.label}", frame.function)
        return 1

    def _m_task_call_func(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 3)
        task, func = self._task(values[0], name), values[1]
        if not isinstance(func, FuncRef):
            raise Stop(f"{name}: callback {describe(func)} is not a function", kind="error")
        lock = Ptr(task.get("pi_lock"))
        self.acquire(interp, frame, lock, "spin")
        try:
            return interp.call(func.name, [Ptr(task), values[2]], frame, interp.line_of(args[1]))
        finally:
            self.release(interp, frame, lock)

    def _m_next_thread(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 1)
        task = self._task(values[0], name)
        threads = interp.world.threads_of(task)
        return Ptr(threads[(threads.index(task) + 1) % len(threads)])

    def _m_thread_group_empty(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 1)
        return int(len(interp.world.threads_of(self._task(values[0], name))) == 1)

    def _m_task_css(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        # The subsystem id is generated by token pasting (freezer_cgrp_id); only
        # the freezer hierarchy is modelled, so it is not evaluated.
        values = self._eval_all(interp, frame, args[:1])
        self._need(name, values, 1)
        freezer = self._task(values[0], name).get("freezer")
        return Ptr(_obj(freezer, name).get("css"))

    def _m_container_of(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        if len(args) != 3:
            raise Stop("container_of() needs 3 arguments", kind="error")
        inner = interp.eval(args[0], frame)
        self._last_args = [inner]
        if inner in (0, None):
            return 0
        member = args[2].text.decode().strip()
        obj = _obj(inner, name)
        if obj.parent is None or obj.parent[1] != member:
            raise Stop(f"container_of: {describe(inner)} is not embedded as {member}", kind="error")
        return Ptr(obj.parent[0])

    def _m_is_enabled(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        self._last_args = []
        return int(bool(args) and args[0].text.decode().strip() in interp.world.config)

    def _m_woken(self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 1)
        return int(self._task(values[0], name).label in interp.world.woken)

    def _m_running(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        self._need(name, values, 1)
        return int(self._task(values[0], name).get("__state") == 0)

    # -- locks ----------------------------------------------------------------
    def lock_key(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, values: list[Any]
    ) -> Any:
        if "key" in spec:
            return spec["key"]
        if not values:
            raise Stop(f"{name}() without a lock", kind="error")
        if "field" in spec:
            return Ptr(_obj(self._task(values[0], name).get(spec["field"]), name))
        target = values[0]
        return Ptr(target) if isinstance(target, Obj) else target

    def acquire(self, interp: Interpreter, frame: Frame, key: Any, mode: str) -> None:
        label = key if isinstance(key, str) else describe(key)
        if mode == "mutex":
            self.check_sleep(interp, frame, f"taking {label}")
        interp.world.held.append((key, label, mode))
        interp.world.record("lock", None, f"lock {label}", frame.function)

    def release(self, interp: Interpreter, frame: Frame, key: Any) -> None:
        for index in range(len(interp.world.held) - 1, -1, -1):
            if interp.world.held[index][0] == key:
                del interp.world.held[index]
                return
        label = key if isinstance(key, str) else describe(key)
        interp.world.record(
            "violation", None, f"unlock of {label}, which is not held", frame.function
        )

    def check_sleep(self, interp: Interpreter, frame: Frame, what: str) -> None:
        atomic = [label for _, label, mode in interp.world.held if mode in _SLEEP_FORBIDDEN]
        if atomic:
            interp.world.record(
                "violation",
                None,
                f"{what} may sleep while holding {', '.join(atomic)}",
                frame.function,
            )

    def _m_lock(self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list) -> Any:
        values = self._eval_all(interp, frame, args)
        self.acquire(interp, frame, self.lock_key(interp, frame, name, spec, values), spec["kind"])
        if "flags_arg" in spec and len(args) > spec["flags_arg"]:
            interp.store(interp.lvalue(args[spec["flags_arg"]], frame), 0, frame)
        return None

    def _m_unlock(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        self.release(interp, frame, self.lock_key(interp, frame, name, spec, values))
        return None

    def _m_lock_task_sighand(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        sighand = self._task(values[0], name).get("sighand")
        self.acquire(interp, frame, Ptr(_obj(sighand, name).get("siglock")), "spin")
        return sighand

    def _m_unlock_task_sighand(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        sighand = self._task(values[0], name).get("sighand")
        self.release(interp, frame, Ptr(_obj(sighand, name).get("siglock")))
        return None

    def _m_assert_held(
        self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list
    ) -> Any:
        values = self._eval_all(interp, frame, args)
        key = self.lock_key(interp, frame, name, spec, values)
        if not interp.world.holds(key):
            interp.world.record(
                "violation", None, f"{name}({describe(key)}) failed: lock not held", frame.function
            )
        return None

    def _m_sleep(self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list) -> Any:
        self._eval_all(interp, frame, args)
        self.check_sleep(interp, frame, f"{name}()")
        return 0

    def _m_guard(self, interp: Interpreter, frame: Frame, name: str, spec: dict, args: list) -> Any:
        raise Stop(f"{name} used outside guard(kind)(lock) form", kind="unsupported")

    def guard(self, interp: Interpreter, frame: Frame, guard_call: Node, lock_args: list) -> Any:
        """``guard(kind)(lock)``: acquire now, release when the enclosing scope ends."""
        kind_args = guard_call.child_by_field_name("arguments")
        kind = kind_args.named_children[0].text.decode() if kind_args.named_children else ""
        mode = self.guards.get(kind)
        if mode is None:
            raise Stop(f"guard({kind}) not modelled")
        values = [interp.eval(a, frame) for a in lock_args]
        key = "rcu" if mode == "rcu" else self.lock_key(interp, frame, kind, {}, values)
        self.acquire(interp, frame, key, mode)
        frame.record.path.append(("call", f"guard({kind})"))
        if frame.scopes:
            frame.scopes[-1].append(lambda: self.release(interp, frame, key))
        return None

    def file_global(self, interp: Interpreter, frame: Frame, name: str) -> Any:
        """A zero-initialised file-scope variable of the running function's own file."""
        text = getattr(frame.src, "text", "") or ""
        pattern = re.compile(
            rf"^(?:static\s+)?(?:[A-Za-z_][\w ]*?\s)\**\s*{re.escape(name)}"
            rf"(?:\s+__\w+)*\s*;",
            re.M,
        )
        match = pattern.search(text)
        if match is None or "(" in match.group(0) or "extern" in match.group(0):
            return None
        words = match.group(0).split()
        if "struct" in words:
            return interp.world.new(words[words.index("struct") + 1], name)
        return 0

    # -- iterators and scoped guards ----------------------------------------------
    def construct_for(self, src: Any, node: Node) -> Any:
        finder: Callable[[Node], list] | None = getattr(src, "constructs_in", None)
        if finder is None:
            return None
        for construct in finder(node):
            if construct.start == node.start_byte and construct.kind in (
                "iterator",
                "scoped_guard",
            ):
                return construct
        return None

    def run_construct(self, interp: Interpreter, frame: Frame, node: Node, construct: Any) -> None:
        from patchlint.simulate.iterators import run_iterator, run_scoped_guard

        if construct.kind == "scoped_guard":
            run_scoped_guard(self, interp, frame, node, construct)
        else:
            run_iterator(self, interp, frame, node, construct)
